//! The CLI's error: anything a command can fail with, classified once into an exit code.

use taonado_client::ClientError;
use taonado_config::ConfigError;
use taonado_deployment::DeploymentError;
use taonado_devnet::DevnetError;
use taonado_monitor::MonitorError;
use taonado_ops::OpsError;
use taonado_ops::deploy::plan::PlanError;
use taonado_ops::deploy::preflight::PreflightError;
use taonado_ops::gas_report::GasReportError;
use taonado_store::StoreError;

/// Why a command failed, which decides the exit code.
#[derive(Debug)]
pub enum CliError {
    /// The invocation or the configuration must change (exit 2).
    Usage(anyhow::Error),
    /// The command ran but a check or an operation failed (exit 1).
    Failed(anyhow::Error),
    /// Checks ran and some failed (exit 1): the report of every check, serialized, so the
    /// JSON envelope can carry it as `data` next to the error.
    CheckFailed {
        error: anyhow::Error,
        report: serde_json::Value,
    },
}

impl CliError {
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self::Usage(error.into())
    }

    pub fn failed(error: impl Into<anyhow::Error>) -> Self {
        Self::Failed(error.into())
    }

    /// A failed check whose serialized `report` goes into the envelope's `data`.
    pub fn check_failed(error: impl Into<anyhow::Error>, report: serde_json::Value) -> Self {
        Self::CheckFailed {
            error: error.into(),
            report,
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            Self::Usage(error) | Self::Failed(error) | Self::CheckFailed { error, .. } => error,
        }
    }

    /// The report of a failed check, for the envelope's `data`.
    pub fn report(&self) -> Option<&serde_json::Value> {
        match self {
            Self::CheckFailed { report, .. } => Some(report),
            Self::Usage(_) | Self::Failed(_) => None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) | CliError::CheckFailed { .. } => 1,
        }
    }

    /// `usage` or `failed`, as written in the JSON envelope.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Failed(_) | CliError::CheckFailed { .. } => "failed",
        }
    }

    /// The error chain on one line, with every URL cut to `scheme://host:port` (a node's
    /// or a webhook's URL may hold a credential, and node errors quote it).
    pub fn message(&self) -> String {
        taonado_types::redact_urls(&chain_once(self.error())).into_owned()
    }

    /// Writing to a closed stdout (`taonado networks | head -1`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        self.error().chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

/// `outer: cause: cause's cause`, each cause once: many library errors already write their
/// source into their own message (`binding 127.0.0.1:8545: Address already in use`) and
/// keep it as `source()` too, so anyhow's `{:#}` would print it twice.
fn chain_once(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

impl From<ConfigError> for CliError {
    fn from(error: ConfigError) -> Self {
        Self::usage(error)
    }
}

impl From<ClientError> for CliError {
    fn from(error: ClientError) -> Self {
        match error {
            // The node is down or answered badly: the command could not do its job.
            ClientError::Unreachable { .. } | ClientError::NoEndpointAnswered { .. } => {
                Self::failed(error)
            }
            // Everything else needs a different flag, key, password, file or config.
            _ => Self::usage(error),
        }
    }
}

impl From<taonado_backup::BackupError> for CliError {
    /// `BackupError::is_usage` decides: another network or schema, a target that exists
    /// without `--force`, a bad date are usage; a corrupt set or a failed check is 1.
    fn from(error: taonado_backup::BackupError) -> Self {
        if error.is_usage() {
            Self::usage(error)
        } else {
            Self::failed(error)
        }
    }
}

impl From<OpsError> for CliError {
    /// The one classification of the procedures' errors: `OpsError::is_usage` says which
    /// ones mean the command line or config must change; the chain's or the funds' state and
    /// every failure of the node or a transaction exit 1.
    fn from(error: OpsError) -> Self {
        match error {
            OpsError::Deployment(inner) => Self::from(inner),
            error if error.is_usage() => Self::usage(error),
            error => Self::failed(error),
        }
    }
}

impl From<taonado_ops::multisig::MultisigError> for CliError {
    fn from(error: taonado_ops::multisig::MultisigError) -> Self {
        Self::from(OpsError::from(error))
    }
}

impl From<taonado_relayer::RelayerError> for CliError {
    fn from(error: taonado_relayer::RelayerError) -> Self {
        match error {
            taonado_relayer::RelayerError::Ops(inner) => Self::from(*inner),
            error if error.is_usage() => Self::usage(error),
            error => Self::failed(error),
        }
    }
}

impl From<DeploymentError> for CliError {
    fn from(error: DeploymentError) -> Self {
        match error {
            // The record needs fixing or moving aside before anything can use it.
            DeploymentError::Format { .. }
            | DeploymentError::ChainMismatch { .. }
            | DeploymentError::PoolKey { .. } => Self::usage(error),
            DeploymentError::Io { .. } | DeploymentError::MissingContract { .. } => {
                Self::failed(error)
            }
        }
    }
}

impl From<PlanError> for CliError {
    fn from(error: PlanError) -> Self {
        // A missing or unreadable key or address: a flag, a file or the config must change.
        Self::usage(error)
    }
}

impl From<PreflightError> for CliError {
    fn from(error: PreflightError) -> Self {
        match error {
            PreflightError::MaxGasPrice => Self::usage(error),
            PreflightError::Ops(error) => (*error).into(),
        }
    }
}

impl From<GasReportError> for CliError {
    fn from(error: GasReportError) -> Self {
        match error {
            GasReportError::EmptyRange { .. } | GasReportError::TooManyBlocks { .. } => {
                Self::usage(error)
            }
            GasReportError::Ops(error) => (*error).into(),
            _ => Self::failed(error),
        }
    }
}

impl From<DevnetError> for CliError {
    fn from(error: DevnetError) -> Self {
        match error {
            DevnetError::TooManyAccounts { .. } => Self::usage(error),
            _ => Self::failed(error),
        }
    }
}

impl From<taonado_stack::StackError> for CliError {
    fn from(error: taonado_stack::StackError) -> Self {
        use taonado_stack::StackError;
        match error {
            StackError::Devnet(e) => e.into(),
            StackError::Client(e) => e.into(),
            StackError::Ops(e) => (*e).into(),
            StackError::Monitor(e) if e.is_usage() => Self::usage(e),
            e => Self::failed(e),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        Self::failed(anyhow::Error::new(error).context("writing output"))
    }
}

/// Store errors: a database that needs a different binary, chain or path is a usage error.
pub fn store_error(e: StoreError) -> CliError {
    if e.is_usage() {
        CliError::usage(e)
    } else {
        CliError::failed(e)
    }
}

pub fn monitor_error(e: MonitorError) -> CliError {
    if e.is_usage() {
        CliError::usage(e)
    } else {
        CliError::failed(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_map_to_exit_codes() {
        let unreachable = ClientError::Unreachable {
            network: "local".into(),
            url: "http://127.0.0.1:9".parse().unwrap(),
            source: Box::new(alloy::transports::TransportErrorKind::custom_str("refused")),
        };
        assert_eq!(CliError::from(unreachable).exit_code(), 1);
        let mismatch = ClientError::ChainIdMismatch {
            network: "mainnet".into(),
            expected: 964,
            actual: 945,
            hint: String::new(),
        };
        assert_eq!(CliError::from(mismatch).exit_code(), 2);
        assert_eq!(
            CliError::from(ClientError::InvalidPrivateKey).exit_code(),
            2
        );
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed");
        assert!(CliError::from(io).is_broken_pipe());
        let other = std::io::Error::other("disk full");
        assert!(!CliError::from(other).is_broken_pipe());
    }

    #[test]
    fn message_is_the_whole_chain_on_one_line() {
        let error = CliError::usage(anyhow::anyhow!("inner").context("outer"));
        assert_eq!(error.message(), "outer: inner");
        assert_eq!(error.kind(), "usage");
        assert_eq!(error.report(), None);
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        /// As thiserror's `#[error("binding 127.0.0.1:8545: {source}")]` with `#[source]`.
        #[derive(Debug)]
        struct Bind {
            source: std::io::Error,
        }
        impl std::fmt::Display for Bind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "binding 127.0.0.1:8545: {}", self.source)
            }
        }
        impl std::error::Error for Bind {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let io = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let cause = io.to_string();
        let error = CliError::failed(anyhow::Error::new(Bind { source: io }).context("devnet"));
        let message = error.message();
        assert_eq!(message.matches(&cause).count(), 1, "{message}");
        assert_eq!(message, format!("devnet: binding 127.0.0.1:8545: {cause}"));
    }

    #[test]
    fn a_failed_check_keeps_its_report_and_exits_1() {
        let report = serde_json::json!({"checks": [{"name": "rpc", "ok": false}]});
        let error = CliError::check_failed(anyhow::anyhow!("unhealthy: rpc"), report.clone());
        assert_eq!(error.exit_code(), 1);
        assert_eq!(error.kind(), "failed");
        assert_eq!(error.message(), "unhealthy: rpc");
        assert_eq!(error.report(), Some(&report));
    }
}
