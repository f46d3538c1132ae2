//! The per-miner view of the dashboard: for each uid of the latest snapshot's metagraph,
//! its hotkey, the EVM addresses associated with it, their WTAO and lifetime pool deposits,
//! the normalized weight on chain next to the one recomputed off chain (the `weights show`
//! computation, [`taonado_ops::weights::compare_with`], at the snapshot's block), and the
//! last epoch's incentive and emission (the snapshot's metagraph).

use alloy::primitives::U256;
use alloy::providers::DynProvider;
use serde::Serialize;
use taonado_deployment::ProtocolContracts;
use taonado_ops::weights::{LiveWeights, compare_with};
use taonado_store::Snapshot;
use taonado_types::AccountId32;

use crate::units::tao;

/// Wei per rao (the metagraph's emission unit is rao, 1e-9 TAO).
const WEI_PER_RAO: u64 = 1_000_000_000;

/// One EVM address counted for a miner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressView {
    pub address: String,
    pub wtao_tao: String,
    pub lifetime_deposits_tao: String,
}

/// One uid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MinerView {
    pub uid: u16,
    /// SS58 (prefix 42).
    pub hotkey: String,
    /// uid 0: gets what nobody deposited towards the goal; its associations never count.
    pub burn: bool,
    /// Associations of the hotkey (only the first 100 count).
    pub association_count: u64,
    pub addresses: Vec<AddressView>,
    pub wtao_tao: String,
    pub lifetime_deposits_tao: String,
    /// `getNormalizedWeights()` on chain (of 65535).
    pub weight_onchain: Option<u16>,
    /// The same recomputed off chain from the state of the block.
    pub weight_recomputed: Option<u16>,
    /// Last epoch's incentive (of 65535).
    pub incentive: u16,
    /// Last epoch's emission, in TAO.
    pub emission_tao: String,
}

/// Every miner at one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MinersView {
    pub block: u64,
    /// The weights contract read (`WeightsV3`, `WeightsV4`).
    pub weights_contract: String,
    pub deposit_goal_tao: String,
    /// Uids whose weight on chain differs from the recomputed one.
    pub mismatches: usize,
    pub miners: Vec<MinerView>,
}

/// Reads the miners at `snapshot`'s block; `None` when the deployment names no weights
/// contract. An error is a chain read that failed (a node without that block's state).
pub async fn read(
    provider: &DynProvider,
    contracts: &ProtocolContracts,
    snapshot: &Snapshot,
) -> Result<Option<MinersView>, String> {
    let Some(address) = contracts.weights else {
        return Ok(None);
    };
    let name = contracts.weights_name.unwrap_or("Weights");
    let weights = LiveWeights {
        name,
        address,
        read_from_evm_validator: false,
        newer_unused: None,
    };
    let comparison = compare_with(provider, weights, snapshot.block)
        .await
        .map_err(|e| format!("miners at block {}: {e}", snapshot.block))?;
    let miners = snapshot
        .neurons
        .iter()
        .map(|n| {
            let uid = comparison.uids.iter().find(|u| u.uid == n.uid);
            let counted = uid.map(|u| u.counted.as_slice()).unwrap_or_default();
            let (wtao, lifetime) = counted.iter().fold((U256::ZERO, U256::ZERO), |(w, l), a| {
                (
                    w.saturating_add(a.wtao_balance),
                    l.saturating_add(a.lifetime_deposits),
                )
            });
            MinerView {
                uid: n.uid,
                hotkey: AccountId32(n.hotkey.0).to_ss58(),
                burn: usize::from(n.uid) == taonado_ops::weights::BURN_UID,
                association_count: uid.map_or(0, |u| u.association_count),
                addresses: counted
                    .iter()
                    .map(|a| AddressView {
                        address: format!("{:#x}", a.address),
                        wtao_tao: tao(a.wtao_balance),
                        lifetime_deposits_tao: tao(a.lifetime_deposits),
                    })
                    .collect(),
                wtao_tao: tao(wtao),
                lifetime_deposits_tao: tao(lifetime),
                weight_onchain: comparison.onchain.get(usize::from(n.uid)).copied(),
                weight_recomputed: comparison.offchain.get(usize::from(n.uid)).copied(),
                incentive: n.incentive,
                emission_tao: tao(U256::from(n.emission_rao) * U256::from(WEI_PER_RAO)),
            }
        })
        .collect();
    Ok(Some(MinersView {
        block: snapshot.block,
        weights_contract: format!("{name} {address:#x}"),
        deposit_goal_tao: tao(comparison.deposit_goal),
        mismatches: comparison.mismatches.len(),
        miners,
    }))
}
