//! Taonado's operational procedures as a library: deploying and wiring the protocol
//! ([`deploy`]), the local subnet it runs against ([`subnet`]), and the live demo behind
//! `taonado up` ([`simulation`]), mining ([`miner`]), weight setting ([`validator`]) and the
//! off-chain weights ([`weights`]). Every procedure returns a typed report and never prints;
//! the CLI renders.

pub mod admin;
pub mod deploy;
pub mod error;
pub mod explorer;
pub mod gas_report;
pub mod migrate;
pub mod miner;
pub mod mixer;
pub mod multisig;
pub mod netcheck;
pub mod progress;
pub mod simulation;
pub mod subnet;
pub mod tx;
pub mod upgrade;
pub mod validator;
pub mod weights;
pub mod wtao;
pub mod zk_keys;

/// The verifying key file, parsed by `taonado-zk` (the one parser of the format); kept under
/// this path so `taonado_ops::verifying_key::VerifyingKeyFile` keeps naming it.
pub use taonado_zk::verifying_key_file as verifying_key;

pub use deploy::{
    ChainFamily, DeployPlan, DeployProgress, EvmValidatorSettings, FamilyPolicy, InsecureKeyPolicy,
    NoProgress, StepState, WtaoSource, deploy,
};
pub use error::{OpsError, Result};
// The record is the deployment model's (taonado-deployment); re-exported for callers of
// `deploy`, which returns it.
pub use simulation::{
    MixerTraffic, SimulationConfig, SimulationEvent, SimulationObserver, SimulationReport,
    run_simulation,
};
pub use subnet::{LocalSubnet, SubnetKind};
pub use taonado_deployment::{ContractRecord, DeploymentRecord, PoolRecord, VerifierRecord};
pub use verifying_key::VerifyingKeyFile;
