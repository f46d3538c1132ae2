//! The monitor's one error type.

use alloy::primitives::Address;

/// Everything that can go wrong in the monitor.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Store(#[from] taonado_store::StoreError),
    #[error("invalid monitor config: {0}; see `taonado monitor --help` for the file format")]
    Config(String),
    #[error(
        "channel `{channel}` is not configured; add it under [[channels]] in the monitor config"
    )]
    UnknownChannel { channel: String },
    #[error(
        "rpc call {what} failed: {message}; check that the node at the network's rpc_url is up"
    )]
    Rpc { what: String, message: String },
    #[error(
        "contract call {call} at {address} failed: {message}; is the protocol deployed at that address?"
    )]
    Call {
        address: Address,
        call: &'static str,
        message: String,
    },
    #[error("delivery to channel `{channel}` failed: {message}")]
    Delivery { channel: String, message: String },
    #[error("cannot bind {addr}: {source}; pick another --listen address")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "lost the leader lock on the shared database (its session ended); restart this monitor to rejoin as a follower"
    )]
    LeadershipLost,
    #[error("the dashboard server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("corrupt outbox payload for message {id}: {message}")]
    Payload { id: i64, message: String },
    #[error("reading {path}")]
    ReadConfig {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("in {path}")]
    InConfig {
        path: std::path::PathBuf,
        #[source]
        source: Box<MonitorError>,
    },
    #[error("creating {path}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the indexer")]
    IndexerStart(#[source] Box<taonado_indexer::IndexerError>),
    #[error("the indexer stopped")]
    IndexerStopped(#[source] Box<taonado_indexer::IndexerError>),
    #[error("dashboard task: {0}")]
    DashboardTask(String),
    /// A compliance command asked for something that cannot be (a future month, a policy
    /// below the legal minimum).
    #[error("{0}")]
    ComplianceUsage(String),
    #[error("{0}")]
    ComplianceFailed(String),
    #[error(transparent)]
    Admin(Box<taonado_ops::OpsError>),
    #[error("stop-automation: {0}")]
    StopAutomation(String),
    #[error("mitigation step {step} failed")]
    Mitigation {
        step: &'static str,
        #[source]
        source: Box<taonado_ops::OpsError>,
    },
}

impl MonitorError {
    /// Whether the invocation or the configuration must change (a usage error), as
    /// opposed to a failure while running.
    pub fn is_usage(&self) -> bool {
        match self {
            Self::Config(_)
            | Self::UnknownChannel { .. }
            | Self::Bind { .. }
            | Self::ReadConfig { .. }
            | Self::InConfig { .. }
            | Self::ComplianceUsage(_) => true,
            Self::Store(e) => e.is_usage(),
            Self::Admin(e) => e.is_usage(),
            _ => false,
        }
    }
}

/// The monitor's result type.
pub type Result<T, E = MonitorError> = std::result::Result<T, E>;
