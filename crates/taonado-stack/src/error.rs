//! The local stack's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while the local stack starts, runs or stops.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Devnet(#[from] taonado_devnet::DevnetError),
    #[error(transparent)]
    Client(#[from] taonado_client::ClientError),
    /// Boxed: the procedures' error is large.
    #[error(transparent)]
    Ops(Box<taonado_ops::OpsError>),
    #[error(transparent)]
    Monitor(#[from] taonado_monitor::MonitorError),
    #[error(transparent)]
    Deployment(#[from] taonado_deployment::DeploymentError),
    #[error("the relayer: {0}")]
    Relayer(#[from] taonado_relayer::RelayerError),
    #[error(transparent)]
    Plan(#[from] taonado_ops::deploy::plan::PlanError),
    #[error("devnet url {url}: {message}")]
    DevnetUrl { url: String, message: String },
    #[error("the devnet has no dev account {index}")]
    NoDevAccount { index: usize },
    #[error("dev account key is invalid: {0}")]
    DevAccountKey(String),
    #[error("removing stale record {path}")]
    StaleRecord {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<taonado_ops::OpsError> for StackError {
    fn from(error: taonado_ops::OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

/// The stack's result type.
pub type Result<T, E = StackError> = std::result::Result<T, E>;
