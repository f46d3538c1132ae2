//! The one error type of taonado-ops. Every variant carries the context an operator needs
//! (which step, which address, which file) and says what to do next.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use alloy::providers::PendingTransactionError;
use alloy::transports::TransportError;

use taonado_contracts::verifier::ChainFamily;

// Each domain's error lives here, below the domain modules, so that `error` imports none of
// them: the domain modules re-export their own (`crate::miner::MinerError`, ...).
pub mod admin;
pub mod explorer;
pub mod migrate;
pub mod miner;
pub mod mixer;
pub mod multisig;
pub mod upgrade;
pub mod validator;
pub mod weights;
pub mod wtao;

/// Result alias for taonado-ops.
pub type Result<T, E = OpsError> = std::result::Result<T, E>;

/// Everything that can go wrong while deploying, wiring or simulating.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("rpc call failed while {action}: {source}; check that the node is reachable")]
    Rpc {
        action: String,
        #[source]
        source: TransportError,
    },

    #[error("transaction {tx} for {action} was sent but not confirmed: {source}")]
    Confirmation {
        action: String,
        tx: B256,
        #[source]
        source: PendingTransactionError,
    },

    #[error(
        "transaction {tx} for {action} reverted{}; inspect it with `cast run {tx}`",
        match .reason { Some(reason) => format!(": {reason}"), None => " (reason unknown)".to_owned() }
    )]
    Reverted {
        action: String,
        tx: B256,
        /// Recovered by re-running the transaction (`crate::tx::revert_reason`); `None` when
        /// the node could not tell it.
        reason: Option<String>,
    },

    #[error("{action} would revert{}; nothing was sent", match .reason { Some(reason) => format!(": {reason}"), None => String::new() })]
    WouldRevert {
        action: String,
        /// Decoded from the node's revert data, else its message.
        reason: Option<String>,
    },

    #[error("deployment of {step} (tx {tx}) created no contract; inspect the receipt")]
    NoContractCreated { step: String, tx: B256 },

    #[error(
        "the node reports chain id {actual} but network {network} expects {expected}; \
         point the rpc url at the right chain"
    )]
    ChainIdMismatch {
        network: String,
        expected: u64,
        actual: u64,
    },

    #[error(
        "the deployment record at {path} belongs to chain {record_chain_id} but the node is chain \
         {chain_id}; move the record aside or use the right network"
    )]
    RecordChainMismatch {
        path: PathBuf,
        record_chain_id: u64,
        chain_id: u64,
    },

    #[error(
        "chain id {chain_id} implies the {by_chain_id} verifier but the chain's precompiles behave \
         like {by_probe} (bn256 add at 0x6: {add_at_0x6}, at 0x9: {add_at_0x9}); refusing to deploy \
         a verifier that could never verify a withdrawal"
    )]
    VerifierFamilyMismatch {
        chain_id: u64,
        by_chain_id: ChainFamily,
        by_probe: ChainFamily,
        add_at_0x6: bool,
        add_at_0x9: bool,
    },

    #[error(
        "no bn256 add precompile answered the probe (0x6: {add_at_0x6}, 0x9: {add_at_0x9}); \
         this chain cannot verify Groth16 proofs, refusing to deploy a verifier"
    )]
    VerifierProbeInconclusive { add_at_0x6: bool, add_at_0x9: bool },

    #[error(
        "{step} at {address} (from {record}) has code that does not match the current artifact; \
         move the record aside to redeploy, or rebuild the artifacts that were deployed"
    )]
    CodeMismatch {
        step: String,
        address: Address,
        record: PathBuf,
    },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the deployment record {path} is not valid json: {source}; fix or move it aside")]
    RecordFormat {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("the verification key is invalid: {field}: {reason}; export it again with snarkjs")]
    VerifyingKey { field: String, reason: String },

    /// Reading or writing the deployment record (or another file through its atomic I/O).
    #[error(transparent)]
    Deployment(#[from] taonado_deployment::DeploymentError),

    #[error(
        "dev rpc method {method} failed: {source}; is this the taonado devnet (or anvil for anvil_*)?"
    )]
    DevRpc {
        method: String,
        #[source]
        source: TransportError,
    },

    #[error("dev rpc method {method} returned an unexpected result: {reason}")]
    DevRpcResult { method: String, reason: String },

    #[error("{action} failed: {source}")]
    Contract {
        action: String,
        /// Boxed: alloy's contract error is large and this enum travels in every `Result`.
        #[source]
        source: Box<alloy::contract::Error>,
    },

    #[error(
        "the deployment record {path} was made by {recorded}, not by {deployer}; deploy with the \
         recorded key or move the record aside"
    )]
    RecordDeployerMismatch {
        path: PathBuf,
        recorded: Address,
        deployer: Address,
    },

    #[error(
        "the plan has no pool denominations; WeightsV3 needs a pool to count lifetime deposits"
    )]
    NoPools,

    #[error(
        "{name} at {address} has no code on this chain; check the address in the network config"
    )]
    NoCode { name: String, address: Address },

    #[error(
        "the {network} deployment has no local subnet (devnet or anvil mocks) to simulate on; deploy with a local subnet"
    )]
    NoLocalSubnet { network: String },

    #[error(
        "network {network} uses an existing WTAO but has no address for it; set networks.{network}.addresses.wtao"
    )]
    NoWtaoAddress { network: String },

    #[error("the simulation needs at least one miner and a non-zero tick")]
    SimulationConfig,

    #[error(transparent)]
    Mixer(#[from] Box<mixer::MixerError>),

    #[error(
        "refusing to deploy this verifying key to {network}: {reason}; pass a ceremony key \
         with --verifying-key (a rehearsal may pass --allow-insecure-dev-key)"
    )]
    InsecureVerifyingKey { network: String, reason: String },

    #[error(transparent)]
    Explorer(#[from] explorer::ExplorerError),

    #[error(transparent)]
    Miner(#[from] miner::MinerError),

    #[error(transparent)]
    Validator(#[from] validator::ValidatorError),

    #[error(transparent)]
    Weights(#[from] weights::WeightsError),

    #[error(transparent)]
    LiveWeights(#[from] weights::LiveWeightsError),

    #[error(transparent)]
    Wtao(#[from] wtao::WtaoError),

    #[error(transparent)]
    Upgrade(#[from] upgrade::UpgradeError),

    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),

    #[error(transparent)]
    Multisig(#[from] multisig::MultisigError),

    #[error(transparent)]
    Admin(#[from] admin::AdminError),
}

/// `taonado-zk` parses verifying key files; its refusal keeps this crate's message, which
/// tells the operator to export the key again.
impl From<taonado_zk::VerifyingKeyError> for OpsError {
    fn from(error: taonado_zk::VerifyingKeyError) -> Self {
        Self::VerifyingKey {
            field: error.field,
            reason: error.reason,
        }
    }
}

impl OpsError {
    /// Whether the command line or the configuration must change (the CLI's exit 2). The
    /// state of the chain or of funds, and failures of the node, a transaction or the
    /// prover, are failed checks (exit 1). [`OpsError::Deployment`] is left to the caller,
    /// which classifies `taonado-deployment`'s errors in one place.
    pub fn is_usage(&self) -> bool {
        match self {
            Self::VerifyingKey { .. }
            | Self::NoWtaoAddress { .. }
            | Self::SimulationConfig
            | Self::ChainIdMismatch { .. }
            | Self::RecordChainMismatch { .. }
            | Self::RecordDeployerMismatch { .. }
            | Self::RecordFormat { .. }
            | Self::LiveWeights(weights::LiveWeightsError::NotDeployed) => true,
            Self::Mixer(error) => error.is_usage(),
            Self::Wtao(error) => error.is_usage(),
            Self::Multisig(error) => error.is_usage(),
            Self::Admin(error) => error.is_usage(),
            _ => false,
        }
    }

    pub fn rpc(action: impl Into<String>) -> impl FnOnce(TransportError) -> Self {
        let action = action.into();
        move |source| Self::Rpc { action, source }
    }

    pub fn contract(action: impl Into<String>) -> impl FnOnce(alloy::contract::Error) -> Self {
        let action = action.into();
        move |source| Self::Contract {
            action,
            source: Box::new(source),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_verifying_key_names_its_field() {
        let error = OpsError::from(
            crate::VerifyingKeyFile::parse(r#"{"protocol": "plonk"}"#)
                .expect_err("not a groth16 key"),
        );
        assert!(
            matches!(&error, OpsError::VerifyingKey { field, .. } if field == "protocol"),
            "{error}"
        );
        assert!(error.to_string().contains("export it again"), "{error}");
    }
}
