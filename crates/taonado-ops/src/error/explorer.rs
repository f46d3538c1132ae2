//! Errors of [`crate::explorer`].

use std::path::PathBuf;

/// Why a verification step failed.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    #[error(
        "cannot read source {}: {source}; check --contracts-dir and --node-modules (`npm ci`), or leave them out to submit the sources the artifacts were compiled from",
        .path.display()
    )]
    Source {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{unit} imports {import}, which cannot be resolved; check node_modules (`npm ci`)")]
    Import { unit: String, import: String },
    #[error(
        "refusing to submit: source {unit} is not in the standard-JSON input, but {contract} was compiled from it"
    )]
    SourceMissing { unit: String, contract: String },
    #[error(
        "refusing to submit: source {unit} has keccak256 {found}, but {contract} was compiled from a file with {expected} (its metadata); submit the sources the artifacts were built from (leave out --contracts-dir)"
    )]
    SourceMismatch {
        unit: String,
        contract: String,
        expected: alloy::primitives::B256,
        found: alloy::primitives::B256,
    },
    #[error("the standard-JSON input built into the binary is malformed: {message}")]
    EmbeddedInput { message: String },
    #[error("explorer request to {url} failed: {message}; check --explorer and the network")]
    Http { url: String, message: String },
    #[error("explorer {url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("explorer answered {action} with something that is not its API's json: {body}")]
    Response { action: String, body: String },
    #[error("cannot build the http client: {message}")]
    Client { message: String },
    #[error("verification result file {path} is not valid json: {source}")]
    ResultFormat {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}
