//! The [`DeployPlan`] of a configured network: what `taonado deploy` and `taonado up`
//! deploy, decided from the network's config and the node that answers.

use std::path::PathBuf;

use alloy::primitives::U256;
use alloy::providers::{DynProvider, Provider};
use taonado_config::NetworkConfig;

use super::{DeployPlan, EvmValidatorSettings, FamilyPolicy, InsecureKeyPolicy, WtaoSource};
use crate::error::{OpsError, Result};
use crate::verifying_key::VerifyingKeyFile;

/// Which node software answers, which decides the dev-only wiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    TaonadoDevnet,
    Anvil,
    Other,
}

/// Asks the node who it is (`web3_clientVersion`).
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

/// The protocol's parameters chosen by the operator.
#[derive(Clone, Debug)]
pub struct ProtocolSettings {
    /// WeightsV3 deposit goal, in wei.
    pub deposit_goal: U256,
    /// EvmValidator bounty paid to a public setWeights caller, in wei.
    pub set_weights_bounty: U256,
    /// Blocks between public setWeights calls.
    pub set_weights_interval: u64,
    /// Top the EvmValidator's balance up to this [default: 10 TAO on dev chains, else 0].
    pub validator_funding: Option<U256>,
}

/// The plan for `network`, as reached through a node of `kind`.
pub fn build_plan(
    network: &NetworkConfig,
    kind: NodeKind,
    protocol: &ProtocolSettings,
    verifying_key: VerifyingKeyFile,
    record_path: PathBuf,
) -> Result<DeployPlan> {
    let wtao = if network.wtao_owned {
        WtaoSource::Deploy
    } else {
        let address = network
            .addresses
            .wtao
            .ok_or_else(|| OpsError::NoWtaoAddress {
                network: network.name.clone(),
            })?;
        WtaoSource::Existing(address)
    };
    let funding = protocol.validator_funding.unwrap_or_else(|| {
        if network.dev_chain {
            U256::from(10u64) * taonado_types::WEI_PER_TAO
        } else {
            U256::ZERO
        }
    });
    // Presets' chain ids say which verifier family they need; anvil (an Ethereum EVM even
    // when started with a Bittensor chain id) and unknown networks are probed instead.
    let verifier_family =
        if kind != NodeKind::Anvil && taonado_config::preset(&network.name).is_some() {
            FamilyPolicy::ChainId
        } else {
            FamilyPolicy::Detect
        };
    Ok(DeployPlan {
        network: network.name.clone(),
        chain_id: network.chain_id,
        netuid: network.netuid,
        wtao,
        deposit_goal: protocol.deposit_goal,
        pool_denominations: DeployPlan::default_denominations(),
        verifying_key,
        verifier_family,
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
