//! Errors of [`crate::explorer`].

use std::path::PathBuf;

/// Why a verification step failed.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    #[error("cannot read source {path}: {source}; run from the repository root after `npm ci`")]
    Source {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{unit} imports {import}, which cannot be resolved; check node_modules (`npm ci`)")]
    Import { unit: String, import: String },
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
