//! Mining as a miner does it: wrap TAO into WTAO and associate the EVM address with a hotkey
//! registered on the subnet (`taonado miner register`), and read back what the weights and
//! the last epoch made of it (`taonado miner status`).
//!
//! Associations are permanent, so every refusal is decided from chain state before anything
//! is sent.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use taonado_types::{AccountId32, Hotkey};

use crate::error::{OpsError, Result};
use crate::tx;
use crate::weights::{
    AssociationState, WeightsReader, live_weights, normalized_weights, resolve_block,
};
use alloy::eips::BlockId;
use taonado_contracts::bindings::{DepositTracker, IMetagraph, WTAO, WeightsV3};
use taonado_deployment::ProtocolAddresses;

pub use crate::error::miner::MinerError;

/// What `register` did.
#[derive(Clone, Debug, Serialize)]
pub struct RegisterReport {
    pub address: Address,
    pub hotkey: Hotkey,
    pub netuid: u16,
    pub uid: u16,
    /// The address was already associated with this hotkey: no association was sent.
    pub already_associated: bool,
    pub associate_tx: Option<B256>,
    pub wrapped_wei: U256,
    pub wrap_tx: Option<B256>,
    pub wtao_balance: U256,
    pub gas_spent_wei: U256,
    /// What the operator should know (said on stderr before anything was sent too): the
    /// hotkey holds the burn uid.
    pub warnings: Vec<String>,
}

/// A miner's view of the protocol at one block.
#[derive(Clone, Debug, Serialize)]
pub struct MinerStatus {
    pub block: u64,
    pub netuid: u16,
    pub hotkey: Hotkey,
    /// `None` when the hotkey is not registered on the subnet.
    pub uid: Option<u16>,
    pub association_count: u64,
    /// The associations WeightsV3 counts, with their balances.
    pub associations: Vec<AssociationState>,
    pub wtao_balance: U256,
    pub lifetime_deposits: U256,
    /// This uid's entry of `getNormalizedWeights()` (u16 fixed point).
    pub normalized_weight: Option<u16>,
    /// The same, recomputed off chain from the same block's state.
    pub recomputed_weight: Option<u16>,
    /// Last epoch's incentive (u16 fixed point) and emission (rao).
    pub incentive: Option<u16>,
    pub emission: Option<u64>,
}

/// The uid of `hotkey` on the subnet WeightsV3 reads, by scanning the metagraph precompile.
pub(crate) fn find_uid(hotkeys: &[B256], hotkey: &Hotkey) -> Option<u16> {
    let wanted = hotkey.account().to_b256();
    // uids are < getUidCount, a u16.
    hotkeys.iter().position(|h| *h == wanted).map(|u| u as u16)
}

/// Associates `from` with `hotkey` (unless it already is) and wraps `amount` TAO.
///
/// Order of checks: the hotkey is registered on the subnet; `from` is not associated with
/// another hotkey; `from` can pay `amount` plus gas. When `from` is already associated with
/// `hotkey`, nothing is sent unless `top_up` asks to wrap `amount` anyway.
pub async fn register(
    provider: &DynProvider,
    from: Address,
    addresses: &ProtocolAddresses,
    hotkey: Hotkey,
    amount: U256,
    top_up: bool,
) -> Result<RegisterReport> {
    let block = resolve_block(provider, None).await?;
    let weights = live_weights(provider, addresses, Some(BlockId::number(block))).await?;
    let reader = WeightsReader::new(provider, weights.address, block).await?;
    let hotkeys = reader.hotkeys().await?;
    let uid = find_uid(&hotkeys, &hotkey).ok_or(MinerError::HotkeyNotRegistered {
        hotkey,
        netuid: reader.netuid,
    })?;
    let mut warnings = Vec::new();
    if usize::from(uid) == crate::weights::BURN_UID {
        let warning = format!(
            "hotkey {hotkey} holds uid {uid}, the burn uid: the weights never count its associations, so what {from} wraps under it earns this miner no weight; register a hotkey with another uid"
        );
        // Said before anything is sent, and kept in the report.
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    let key = hotkey.account().to_b256();
    let tracker = DepositTracker::new(reader.tracker, provider);
    let associated = tracker
        .uniqueDepositors(from)
        .call()
        .await
        .map_err(OpsError::contract(
            "reading DepositTracker.uniqueDepositors",
        ))?;
    let already_associated = if associated {
        let with_this = tracker
            .associationSet(key, from)
            .call()
            .await
            .map_err(OpsError::contract("reading DepositTracker.associationSet"))?;
        if !with_this {
            let mut other = None;
            for h in &hotkeys {
                let set = tracker
                    .associationSet(*h, from)
                    .call()
                    .await
                    .map_err(OpsError::contract("reading DepositTracker.associationSet"))?;
                if set {
                    other = Some(Hotkey(AccountId32(h.0)));
                    break;
                }
            }
            return Err(MinerError::AssociatedElsewhere {
                address: from,
                hotkey,
                other,
            }
            .into());
        }
        true
    } else {
        false
    };
    let wrap = if already_associated && !top_up {
        U256::ZERO
    } else {
        amount
    };

    let wtao = WTAO::new(reader.wtao, provider);
    let balance = provider
        .get_balance(from)
        .await
        .map_err(OpsError::rpc("reading the TAO balance"))?;
    let insufficient = |needed: U256| MinerError::InsufficientBalance {
        address: from,
        balance,
        amount: wrap,
        needed,
    };
    if balance < wrap {
        return Err(insufficient(wrap).into());
    }
    let mut gas = 0u64;
    if !already_associated {
        gas += tracker
            .associate(key)
            .from(from)
            .estimate_gas()
            .await
            .map_err(OpsError::contract("estimating DepositTracker.associate"))?;
    }
    if !wrap.is_zero() {
        gas += wtao
            .deposit()
            .value(wrap)
            .from(from)
            .estimate_gas()
            .await
            .map_err(OpsError::contract("estimating WTAO.deposit"))?;
    }
    let fees = provider
        .estimate_eip1559_fees()
        .await
        .map_err(OpsError::rpc("estimating gas fees"))?;
    let needed = wrap + U256::from(gas) * U256::from(fees.max_fee_per_gas);
    if balance < needed {
        return Err(insufficient(needed).into());
    }

    let mut gas_spent = U256::ZERO;
    let mut associate_tx = None;
    if !already_associated {
        let call = tracker.associate(key).from(from);
        let pending = tx::send_call(&call, "sending DepositTracker.associate").await?;
        let receipt = tx::confirm(pending, "associating the hotkey").await?;
        gas_spent += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        associate_tx = Some(receipt.transaction_hash);
    }
    let mut wrap_tx = None;
    if !wrap.is_zero() {
        let call = wtao.deposit().value(wrap).from(from);
        let pending = tx::send_call(&call, "sending WTAO.deposit").await?;
        let receipt = tx::confirm(pending, "wrapping TAO").await?;
        gas_spent += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        wrap_tx = Some(receipt.transaction_hash);
    }
    let wtao_balance = wtao
        .balanceOf(from)
        .call()
        .await
        .map_err(OpsError::contract("reading the WTAO balance"))?;
    Ok(RegisterReport {
        address: from,
        hotkey,
        netuid: reader.netuid,
        uid,
        already_associated,
        associate_tx,
        wrapped_wei: wrap,
        wrap_tx,
        wtao_balance,
        gas_spent_wei: gas_spent,
        warnings,
    })
}

/// Reads a miner's state at the latest block: uid, associations with their WTAO balances and
/// lifetime deposits, the normalized weight (on chain and recomputed), and the last epoch's
/// incentive and emission.
pub async fn status(
    provider: &DynProvider,
    addresses: &ProtocolAddresses,
    hotkey: Hotkey,
) -> Result<MinerStatus> {
    let block = resolve_block(provider, None).await?;
    let weights = live_weights(provider, addresses, Some(BlockId::number(block))).await?;
    let reader = WeightsReader::new(provider, weights.address, block).await?;
    let hotkeys = reader.hotkeys().await?;
    let uid = find_uid(&hotkeys, &hotkey);
    let key = hotkey.account().to_b256();
    let association_count = reader.association_count(key).await?;
    let mut associations = Vec::new();
    for address in reader
        .associations(key, crate::weights::MAX_ASSOCIATIONS_PER_HOTKEY as u64)
        .await?
    {
        associations.push(reader.association_state(address).await?);
    }
    let wtao_balance = associations
        .iter()
        .fold(U256::ZERO, |a, s| a + s.wtao_balance);
    let lifetime_deposits = associations
        .iter()
        .fold(U256::ZERO, |a, s| a + s.lifetime_deposits);

    let (mut normalized_weight, mut recomputed_weight, mut incentive, mut emission) =
        (None, None, None, None);
    if let Some(uid) = uid {
        let index = usize::from(uid);
        let onchain = reader.onchain_normalized().await?;
        normalized_weight = onchain.get(index).copied();
        let mut deposits = vec![U256::ZERO; hotkeys.len()];
        // u < uid_count <= u16::MAX.
        let miners: Vec<(u16, B256)> = (1..hotkeys.len()).map(|u| (u as u16, hotkeys[u])).collect();
        for d in reader.all_uid_deposits(&miners).await? {
            deposits[usize::from(d.uid)] = d.deposits;
        }
        let goal = reader.deposit_goal().await?;
        recomputed_weight = normalized_weights(goal, &deposits)?.get(index).copied();
        let metagraph = IMetagraph::new(reader.metagraph, provider);
        incentive = Some(
            metagraph
                .getIncentive(reader.netuid, uid)
                .block(reader.block)
                .call()
                .await
                .map_err(OpsError::contract(
                    "reading getIncentive from the metagraph",
                ))?,
        );
        emission = Some(
            metagraph
                .getEmission(reader.netuid, uid)
                .block(reader.block)
                .call()
                .await
                .map_err(OpsError::contract("reading getEmission from the metagraph"))?,
        );
    }
    Ok(MinerStatus {
        block,
        netuid: reader.netuid,
        hotkey,
        uid,
        association_count,
        associations,
        wtao_balance,
        lifetime_deposits,
        normalized_weight,
        recomputed_weight,
        incentive,
        emission,
    })
}

/// Checks that `weights` is a WeightsV3 (answers `depositGoal`), for a clear error early.
pub async fn check_weights_contract(provider: &DynProvider, weights: Address) -> Result<()> {
    let code = provider
        .get_code_at(weights)
        .await
        .map_err(OpsError::rpc("reading the WeightsV3 code"))?;
    if code.is_empty() {
        return Err(OpsError::NoCode {
            name: "WeightsV3".into(),
            address: weights,
        });
    }
    WeightsV3::new(weights, provider)
        .depositGoal()
        .call()
        .await
        .map_err(OpsError::contract("reading WeightsV3.depositGoal"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_the_position_of_the_hotkey() {
        let hotkeys = [B256::ZERO, B256::repeat_byte(1), B256::repeat_byte(2)];
        let two = Hotkey(AccountId32([2; 32]));
        assert_eq!(find_uid(&hotkeys, &two), Some(2));
        assert_eq!(find_uid(&hotkeys, &Hotkey(AccountId32([9; 32]))), None);
    }

    #[test]
    fn insufficient_balance_is_one_line_with_the_numbers() {
        let tao = taonado_types::WEI_PER_TAO;
        let error = MinerError::InsufficientBalance {
            address: Address::ZERO,
            balance: tao,
            amount: tao * U256::from(5),
            needed: tao * U256::from(6),
        };
        let text = error.to_string();
        assert!(!text.contains('\n'));
        assert!(
            text.contains("has 1 TAO but needs 6 TAO (5 to wrap + 1 for gas)"),
            "{text}"
        );
    }
}
