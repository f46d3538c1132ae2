//! From a network's configuration to a [`DeployPlan`]: which node answers (it decides the
//! dev-only wiring), which verifying key is deployed and with which protocol settings.

use std::path::{Path, PathBuf};

use alloy::primitives::U256;
use alloy::providers::{DynProvider, Provider};
use taonado_config::NetworkConfig;

use super::{DeployPlan, EvmValidatorSettings, FamilyPolicy, InsecureKeyPolicy, WtaoSource};
use crate::error::OpsError;
use crate::verifying_key::VerifyingKeyFile;

/// Why no plan could be made: each one is fixed by a flag, a file or the config.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "network {network} needs --verifying-key FILE (the withdraw circuit's ceremony verification_key.json); the local dev key is never deployed to a live network"
    )]
    VerifyingKeyRequired { network: String },

    #[error("reading verifying key {}", path.display())]
    ReadVerifyingKey {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("verifying key {}", path.display())]
    InvalidVerifyingKey {
        path: PathBuf,
        #[source]
        source: Box<OpsError>,
    },

    #[error(
        "network {network} uses an existing WTAO but has no address for it; set networks.{network}.addresses.wtao"
    )]
    NoWtaoAddress { network: String },
}

/// What the protocol is deployed with (the operator's choices; the rest follows from the
/// network).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolSettings {
    /// WeightsV3 deposit goal, wei.
    pub deposit_goal: U256,
    /// EvmValidator bounty paid to a public setWeights caller, wei.
    pub set_weights_bounty: U256,
    /// Blocks between public setWeights calls.
    pub set_weights_interval: u64,
    /// Top the EvmValidator's balance up to this, wei [default: see
    /// [`default_validator_funding`]].
    pub validator_funding: Option<U256>,
}

/// Which node software answers, which decides the dev-only wiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    TaonadoDevnet,
    Anvil,
    Other,
}

/// The node software behind `provider`, from its `web3_clientVersion`.
pub async fn node_kind(provider: &DynProvider) -> NodeKind {
    match provider.get_client_version().await {
        Ok(version) => {
            let version = version.to_ascii_lowercase();
            if version.starts_with("anvil") {
                NodeKind::Anvil
            } else if version.contains("taonado") {
                NodeKind::TaonadoDevnet
            } else {
                NodeKind::Other
            }
        }
        // Nodes may refuse web3_clientVersion; only dev conveniences depend on it.
        Err(_) => NodeKind::Other,
    }
}

/// Which verifying key a deployment's Verifier embeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChoice {
    /// A snarkjs `verification_key.json` (`--verifying-key FILE`).
    File(PathBuf),
    /// Tornado Cash's ceremony key, the live pool's `Verifier.sol` key (`--setup tornado`):
    /// withdrawals prove with Tornado's circuit and proving key.
    Tornado,
    /// Nothing chosen: the local dev key on dev chains, Tornado's ceremony key on live
    /// networks (the one public trusted setup of this circuit family; the live pool uses it).
    NetworkDefault,
}

impl KeyChoice {
    /// The choice `--verifying-key` and `--setup tornado` make (clap keeps them exclusive).
    pub fn from_flags(file: Option<&Path>, tornado: bool) -> Self {
        match (file, tornado) {
            (_, true) => Self::Tornado,
            (Some(path), false) => Self::File(path.to_owned()),
            (None, false) => Self::NetworkDefault,
        }
    }
}

/// The verifying key of `choice` for `network`.
pub fn resolve_verifying_key(
    choice: &KeyChoice,
    network: &NetworkConfig,
) -> Result<VerifyingKeyFile, PlanError> {
    match choice {
        KeyChoice::Tornado => Ok(VerifyingKeyFile::tornado()),
        KeyChoice::File(path) => load_verifying_key(Some(path), network),
        KeyChoice::NetworkDefault if network.dev_chain => load_verifying_key(None, network),
        KeyChoice::NetworkDefault => Ok(VerifyingKeyFile::tornado()),
    }
}

/// Read the verifying key: the given file, or on dev chains the local dev key compiled
/// into the binary (so `deploy` and `up` work from any directory).
pub fn load_verifying_key(
    given: Option<&Path>,
    network: &NetworkConfig,
) -> Result<VerifyingKeyFile, PlanError> {
    let path = match given {
        Some(path) => path.to_owned(),
        None if network.dev_chain => {
            return VerifyingKeyFile::parse(taonado_zk::keys::LOCAL_DEV_VERIFYING_KEY_JSON)
                .map_err(|source| PlanError::InvalidVerifyingKey {
                    path: PathBuf::from(taonado_zk::keys::EMBEDDED_LOCAL_KEYS),
                    source: Box::new(source.into()),
                });
        }
        None => {
            return Err(PlanError::VerifyingKeyRequired {
                network: network.name.clone(),
            });
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|source| PlanError::ReadVerifyingKey {
        path: path.clone(),
        source,
    })?;
    VerifyingKeyFile::parse(&text).map_err(|source| PlanError::InvalidVerifyingKey {
        path,
        source: Box::new(source.into()),
    })
}

/// How the verifier variant is chosen: presets' chain ids say which family they need; anvil
/// (an Ethereum EVM even when started with a Bittensor chain id) and unknown networks are
/// probed instead.
pub fn family_policy(network: &NetworkConfig, kind: NodeKind) -> FamilyPolicy {
    if kind != NodeKind::Anvil && taonado_config::preset(&network.name).is_some() {
        FamilyPolicy::ChainId
    } else {
        FamilyPolicy::Detect
    }
}

/// The EvmValidator's funding when none is given: 10 TAO on dev chains, else nothing.
pub fn default_validator_funding(network: &NetworkConfig) -> U256 {
    if network.dev_chain {
        U256::from(10u64) * taonado_types::WEI_PER_TAO
    } else {
        U256::ZERO
    }
}

/// The plan for `network`, as reached through a node of `kind`.
pub fn build_plan(
    network: &NetworkConfig,
    kind: NodeKind,
    protocol: &ProtocolSettings,
    verifying_key: VerifyingKeyFile,
    record_path: PathBuf,
) -> Result<DeployPlan, PlanError> {
    let wtao = if network.wtao_owned {
        WtaoSource::Deploy
    } else {
        let address = network
            .addresses
            .wtao
            .ok_or_else(|| PlanError::NoWtaoAddress {
                network: network.name.clone(),
            })?;
        WtaoSource::Existing(address)
    };
    let funding = protocol
        .validator_funding
        .unwrap_or_else(|| default_validator_funding(network));
    Ok(DeployPlan {
        network: network.name.clone(),
        chain_id: network.chain_id,
        netuid: network.netuid,
        wtao,
        deposit_goal: protocol.deposit_goal,
        pool_denominations: DeployPlan::default_denominations(),
        verifying_key,
        verifier_family: family_policy(network, kind),
        record_path,
        local_subnet: kind == NodeKind::TaonadoDevnet,
        anvil_mocks: kind == NodeKind::Anvil,
        evm_validator: EvmValidatorSettings {
            set_weights_bounty: protocol.set_weights_bounty,
            set_weights_block_interval: protocol.set_weights_interval,
            refund_overhead: U256::from(15_000u64),
            metagraph_boost: 0,
            version_key: 0,
            funding,
        },
        insecure_key: if network.dev_chain {
            InsecureKeyPolicy::Allow
        } else {
            InsecureKeyPolicy::Refuse
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProtocolSettings {
        ProtocolSettings {
            deposit_goal: U256::from(1000u64) * taonado_types::WEI_PER_TAO,
            set_weights_bounty: U256::ZERO,
            set_weights_interval: 113,
            validator_funding: None,
        }
    }

    fn key() -> VerifyingKeyFile {
        VerifyingKeyFile::generator_placeholder("test")
    }

    #[test]
    fn dev_chains_get_funding_dev_wiring_and_the_insecure_key() {
        let local = taonado_config::Config::builtin()
            .network("local")
            .expect("the local preset");
        let plan = build_plan(
            &local,
            NodeKind::TaonadoDevnet,
            &settings(),
            key(),
            "x.json".into(),
        )
        .expect("a plan");
        assert_eq!(plan.wtao, WtaoSource::Deploy);
        assert!(plan.local_subnet && !plan.anvil_mocks);
        assert_eq!(plan.verifier_family, FamilyPolicy::ChainId);
        assert_eq!(plan.insecure_key, InsecureKeyPolicy::Allow);
        assert_eq!(
            plan.evm_validator.funding,
            U256::from(10u64) * taonado_types::WEI_PER_TAO
        );
        let anvil = build_plan(&local, NodeKind::Anvil, &settings(), key(), "x.json".into())
            .expect("a plan");
        // No file is read: the compiled-in local key, whatever the working directory.
        let local_key = load_verifying_key(None, &local).expect("the embedded local dev key");
        assert_eq!(local_key.setup_label(), taonado_zk::keys::LOCAL_DEV_SETUP);
        assert!(anvil.anvil_mocks && !anvil.local_subnet);
        assert_eq!(anvil.verifier_family, FamilyPolicy::Detect);
    }

    #[test]
    fn live_networks_need_a_key_and_refuse_the_insecure_one() {
        let mut mainnet = taonado_config::Config::builtin()
            .network("mainnet")
            .expect("the mainnet preset");
        let err = load_verifying_key(None, &mainnet).expect_err("no key given");
        assert!(err.to_string().contains("needs --verifying-key"), "{err}");
        // Without a choice, a live network gets Tornado's ceremony key, which its checks
        // accept.
        let default =
            resolve_verifying_key(&KeyChoice::NetworkDefault, &mainnet).expect("Tornado's key");
        assert_eq!(default.setup_label(), taonado_zk::tornado::SETUP_NAME);
        assert_eq!(default.live_network_objection(), None);
        assert_eq!(
            resolve_verifying_key(&KeyChoice::Tornado, &mainnet).expect("Tornado's key"),
            default
        );
        let plan = build_plan(
            &mainnet,
            NodeKind::Other,
            &settings(),
            key(),
            "x.json".into(),
        )
        .expect("a plan");
        assert_eq!(plan.insecure_key, InsecureKeyPolicy::Refuse);
        assert_eq!(plan.evm_validator.funding, U256::ZERO);
        if !mainnet.wtao_owned {
            mainnet.addresses.wtao = None;
            let err = build_plan(
                &mainnet,
                NodeKind::Other,
                &settings(),
                key(),
                "x.json".into(),
            )
            .expect_err("no WTAO address");
            assert!(err.to_string().contains("addresses.wtao"), "{err}");
        }
    }
}
