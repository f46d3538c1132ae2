//! Errors of the deployment model: every one names the file and says what to do.

use std::path::PathBuf;

/// Result alias for taonado-deployment.
pub type Result<T, E = DeploymentError> = std::result::Result<T, E>;

/// The underlying error is part of each message and deliberately not a `source`: an error
/// chain printed in full would otherwise say the same cause twice.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error("cannot {action} {path}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("the deployment record {path} is not valid json ({error}); fix or move it aside")]
    Format {
        path: PathBuf,
        error: serde_json::Error,
    },

    #[error(
        "the deployment record {path} is for chain {record_chain_id} but network {network} is \
         chain {network_chain_id}; move the record aside or fix the network's chain_id"
    )]
    ChainMismatch {
        path: PathBuf,
        network: String,
        network_chain_id: u64,
        record_chain_id: u64,
    },

    #[error("the {name} contract is not in the deployment record; run `taonado deploy` first")]
    MissingContract { name: String },

    #[error(
        "pool key `{key}` is not a TAO amount ({reason}); pools are keyed by their denomination \
         in TAO, e.g. \"0.1\" or \"1\""
    )]
    PoolKey { key: String, reason: String },
}

impl DeploymentError {
    /// An `Io` error constructor for `map_err`: `.map_err(DeploymentError::io("read", path))`.
    pub fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self + use<> {
        let path = path.to_path_buf();
        move |error| Self::Io {
            action,
            path,
            error,
        }
    }
}
