//! Contract state at a pinned block: what a backup records of the chain (WTAO balances of
//! every address the token's logs name, the DepositTracker's associations of the subnet's
//! hotkeys, each pool's leaves, roots and spent nullifiers, the EvmValidator's settings and
//! balance, the weights), and its restore into a dev chain through the dev methods
//! (`anvil_setStorageAt`, `anvil_setBalance`), so an outage can be rehearsed on a copy.

use std::collections::{BTreeMap, BTreeSet};

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use serde::{Deserialize, Serialize};
use taonado_contracts::bindings::{
    DepositTracker, ERC20Taonado, EvmValidator, IMetagraph, WTAO, WeightsV3,
};
use taonado_deployment::ProtocolAddresses;

use crate::error::{BackupError, Result};

/// `eth_getLogs` ranges, small enough for hosted nodes' caps.
const LOG_CHUNK: u64 = 5_000;

/// Where to read contract state from.
pub struct StateSource<'a> {
    pub provider: &'a DynProvider,
    pub addresses: &'a ProtocolAddresses,
    pub netuid: u16,
    /// The first block with protocol logs (the deployment's).
    pub from_block: u64,
}

/// The protocol's state at one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractState {
    pub block: u64,
    pub block_hash: String,
    pub wtao: Option<WtaoState>,
    pub deposit_tracker: Option<TrackerState>,
    pub pools: BTreeMap<String, PoolState>,
    pub evm_validator: Option<ValidatorState>,
    pub weights: Option<WeightsState>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WtaoState {
    pub address: Address,
    pub total_supply: U256,
    /// Non-zero balances of every address WTAO's logs name.
    pub balances: BTreeMap<Address, U256>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerState {
    pub address: Address,
    /// Hotkey → associated addresses, in the tracker's order.
    pub associations: BTreeMap<B256, Vec<Address>>,
    /// Addresses the tracker marks as unique depositors (of those the logs name).
    pub unique_depositors: Vec<Address>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolState {
    pub address: Address,
    pub denomination: U256,
    pub levels: u32,
    pub next_index: u32,
    pub current_root_index: u32,
    pub last_root: B256,
    /// `roots(i)` for every i of the root history.
    pub roots: Vec<B256>,
    pub filled_subtrees: Vec<B256>,
    /// Commitments by leaf index.
    pub leaves: Vec<B256>,
    pub spent_nullifiers: Vec<B256>,
    /// Non-zero `totalLifetimeDeposits` of the addresses WTAO's logs name.
    pub lifetime_deposits: BTreeMap<Address, U256>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorState {
    pub address: Address,
    pub owner: Address,
    pub weights: Address,
    pub netuid: u16,
    pub version_key: u64,
    pub set_weights_bounty: U256,
    pub set_weights_block_interval: U256,
    pub last_set_weights_block: U256,
    pub refund_overhead: U256,
    pub balance: U256,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsState {
    pub address: Address,
    pub uids: Vec<u16>,
    pub weights: Vec<u16>,
}

fn chain_err(what: impl Into<String>, block: u64) -> impl FnOnce(String) -> BackupError {
    let what = what.into();
    move |message| BackupError::Chain {
        what,
        block,
        message,
    }
}

/// Reads the state at the latest block, then checks that block is still the chain's (a
/// reorg while reading is an error, the caller runs again).
pub async fn capture(source: &StateSource<'_>) -> Result<ContractState> {
    let provider = source.provider;
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| BackupError::Rpc {
            what: "reading the head".into(),
            message: e.to_string(),
        })?;
    let hash = block_hash(provider, head).await?;
    let at = BlockId::number(head);
    let a = source.addresses;
    let mut known: BTreeSet<Address> = BTreeSet::new();
    let wtao = match a.wtao {
        None => None,
        Some(token) => {
            for log in logs(provider, token, source.from_block, head).await? {
                for topic in log.topics().iter().skip(1) {
                    if topic[..12].iter().all(|b| *b == 0) {
                        known.insert(Address::from_slice(&topic[12..]));
                    }
                }
            }
            known.extend(a.pools.values().copied());
            known.extend(a.evm_validator);
            let contract = WTAO::new(token, provider);
            let total_supply = contract
                .totalSupply()
                .block(at)
                .call()
                .await
                .map_err(|e| chain_err("WTAO.totalSupply", head)(e.to_string()))?;
            let mut balances = BTreeMap::new();
            for holder in &known {
                let b = contract
                    .balanceOf(*holder)
                    .block(at)
                    .call()
                    .await
                    .map_err(|e| chain_err("WTAO.balanceOf", head)(e.to_string()))?;
                if !b.is_zero() {
                    balances.insert(*holder, b);
                }
            }
            Some(WtaoState {
                address: token,
                total_supply,
                balances,
            })
        }
    };
    let deposit_tracker = match a.deposit_tracker {
        None => None,
        Some(address) => Some(tracker_state(provider, address, source.netuid, &known, head).await?),
    };
    let mut pools = BTreeMap::new();
    for (name, address) in &a.pools {
        pools.insert(
            name.clone(),
            pool_state(provider, *address, source.from_block, &known, head).await?,
        );
    }
    let evm_validator = match a.evm_validator {
        None => None,
        Some(address) => Some(validator_state(provider, address, head).await?),
    };
    let weights = match &evm_validator {
        Some(v) if v.weights != Address::ZERO => {
            let out = WeightsV3::new(v.weights, provider)
                .getNormalizedWeights()
                .block(at)
                .call()
                .await
                .map_err(|e| chain_err("getNormalizedWeights", head)(e.to_string()))?;
            Some(WeightsState {
                address: v.weights,
                uids: out.dests,
                weights: out.normalized,
            })
        }
        _ => None,
    };
    if block_hash(provider, head).await? != hash {
        return Err(BackupError::Reorged { number: head });
    }
    Ok(ContractState {
        block: head,
        block_hash: format!("{hash:#x}"),
        wtao,
        deposit_tracker,
        pools,
        evm_validator,
        weights,
    })
}

async fn block_hash(provider: &DynProvider, number: u64) -> Result<B256> {
    let block = provider
        .get_block_by_number(number.into())
        .await
        .map_err(|e| chain_err("the block", number)(e.to_string()))?
        .ok_or_else(|| chain_err("the block", number)("not found".into()))?;
    Ok(block.header.hash)
}

async fn logs(
    provider: &DynProvider,
    address: Address,
    from: u64,
    to: u64,
) -> Result<Vec<alloy::rpc::types::Log>> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(LOG_CHUNK - 1));
        let filter = Filter::new()
            .address(address)
            .from_block(start)
            .to_block(end);
        out.extend(
            provider
                .get_logs(&filter)
                .await
                .map_err(|e| chain_err(format!("the logs of {address}"), end)(e.to_string()))?,
        );
        start = end + 1;
    }
    Ok(out)
}

async fn tracker_state(
    provider: &DynProvider,
    address: Address,
    netuid: u16,
    known: &BTreeSet<Address>,
    head: u64,
) -> Result<TrackerState> {
    let at = BlockId::number(head);
    let metagraph = IMetagraph::new(taonado_contracts::METAGRAPH_PRECOMPILE, provider);
    let count = metagraph
        .getUidCount(netuid)
        .block(at)
        .call()
        .await
        .map_err(|e| chain_err("getUidCount", head)(e.to_string()))?;
    let tracker = DepositTracker::new(address, provider);
    let mut associations = BTreeMap::new();
    for uid in 0..count {
        let hotkey = metagraph
            .getHotkey(netuid, uid)
            .block(at)
            .call()
            .await
            .map_err(|e| chain_err("getHotkey", head)(e.to_string()))?;
        if associations.contains_key(&hotkey) {
            continue;
        }
        let n = tracker
            .associationSetLength(hotkey)
            .block(at)
            .call()
            .await
            .map_err(|e| chain_err("associationSetLength", head)(e.to_string()))?;
        let mut list = Vec::new();
        let mut i = U256::ZERO;
        while i < n {
            list.push(
                tracker
                    .associations(hotkey, i)
                    .block(at)
                    .call()
                    .await
                    .map_err(|e| chain_err("associations", head)(e.to_string()))?,
            );
            i += U256::from(1);
        }
        if !list.is_empty() {
            associations.insert(hotkey, list);
        }
    }
    let mut unique_depositors = Vec::new();
    for holder in known {
        if tracker
            .uniqueDepositors(*holder)
            .block(at)
            .call()
            .await
            .map_err(|e| chain_err("uniqueDepositors", head)(e.to_string()))?
        {
            unique_depositors.push(*holder);
        }
    }
    Ok(TrackerState {
        address,
        associations,
        unique_depositors,
    })
}

async fn pool_state(
    provider: &DynProvider,
    address: Address,
    from: u64,
    known: &BTreeSet<Address>,
    head: u64,
) -> Result<PoolState> {
    let at = BlockId::number(head);
    let pool = ERC20Taonado::new(address, provider);
    let e = |what: &'static str| chain_err(format!("{what} of pool {address}"), head);
    let mut leaves: BTreeMap<u32, B256> = BTreeMap::new();
    let mut spent = Vec::new();
    for log in logs(provider, address, from, head).await? {
        // Both Deposit signatures (the testnet pool's lacks `user`), as the mixer reads them.
        if let Some(d) = taonado_ops::mixer::decode_deposit(&log) {
            let index = u32::try_from(d.leaf_index).map_err(|_| {
                e("the Deposit logs")(format!("leaf index {} out of range", d.leaf_index))
            })?;
            leaves.insert(index, d.commitment);
        } else if log.topics().first() == Some(&ERC20Taonado::Withdrawal::SIGNATURE_HASH) {
            let w = ERC20Taonado::Withdrawal::decode_log_data(log.data())
                .map_err(|x| e("a Withdrawal log")(x.to_string()))?;
            spent.push(w.nullifierHash);
        }
    }
    let levels = pool
        .levels()
        .block(at)
        .call()
        .await
        .map_err(|x| e("levels")(x.to_string()))?;
    let next_index = pool
        .nextIndex()
        .block(at)
        .call()
        .await
        .map_err(|x| e("nextIndex")(x.to_string()))?;
    let current_root_index = pool
        .currentRootIndex()
        .block(at)
        .call()
        .await
        .map_err(|x| e("currentRootIndex")(x.to_string()))?;
    let history = pool
        .ROOT_HISTORY_SIZE()
        .block(at)
        .call()
        .await
        .map_err(|x| e("ROOT_HISTORY_SIZE")(x.to_string()))?;
    let last_root = pool
        .getLastRoot()
        .block(at)
        .call()
        .await
        .map_err(|x| e("getLastRoot")(x.to_string()))?;
    let denomination = pool
        .denomination()
        .block(at)
        .call()
        .await
        .map_err(|x| e("denomination")(x.to_string()))?;
    let mut roots = Vec::new();
    for i in 0..history {
        roots.push(
            pool.roots(U256::from(i))
                .block(at)
                .call()
                .await
                .map_err(|x| e("roots")(x.to_string()))?,
        );
    }
    let mut filled_subtrees = Vec::new();
    for i in 0..levels {
        filled_subtrees.push(
            pool.filledSubtrees(U256::from(i))
                .block(at)
                .call()
                .await
                .map_err(|x| e("filledSubtrees")(x.to_string()))?,
        );
    }
    let mut lifetime_deposits = BTreeMap::new();
    for holder in known {
        let v = pool
            .totalLifetimeDeposits(*holder)
            .block(at)
            .call()
            .await
            .map_err(|x| e("totalLifetimeDeposits")(x.to_string()))?;
        if !v.is_zero() {
            lifetime_deposits.insert(*holder, v);
        }
    }
    let leaves: Vec<B256> = leaves.into_values().collect();
    if u32::try_from(leaves.len()).ok() != Some(next_index) {
        return Err(e("the Deposit logs")(format!(
            "{} leaves in the logs but nextIndex is {next_index}",
            leaves.len()
        )));
    }
    Ok(PoolState {
        address,
        denomination,
        levels,
        next_index,
        current_root_index,
        last_root,
        roots,
        filled_subtrees,
        leaves,
        spent_nullifiers: spent,
        lifetime_deposits,
    })
}

async fn validator_state(
    provider: &DynProvider,
    address: Address,
    head: u64,
) -> Result<ValidatorState> {
    let at = BlockId::number(head);
    let v = EvmValidator::new(address, provider);
    let e = |what: &'static str| chain_err(format!("EvmValidator.{what}"), head);
    Ok(ValidatorState {
        address,
        owner: v
            .owner()
            .block(at)
            .call()
            .await
            .map_err(|x| e("owner")(x.to_string()))?,
        weights: v
            .weights()
            .block(at)
            .call()
            .await
            .map_err(|x| e("weights")(x.to_string()))?,
        netuid: v
            .netuid()
            .block(at)
            .call()
            .await
            .map_err(|x| e("netuid")(x.to_string()))?,
        version_key: v
            .versionKey()
            .block(at)
            .call()
            .await
            .map_err(|x| e("versionKey")(x.to_string()))?,
        set_weights_bounty: v
            .setWeightsBounty()
            .block(at)
            .call()
            .await
            .map_err(|x| e("setWeightsBounty")(x.to_string()))?,
        set_weights_block_interval: v
            .setWeightsBlockInterval()
            .block(at)
            .call()
            .await
            .map_err(|x| e("setWeightsBlockInterval")(x.to_string()))?,
        last_set_weights_block: v
            .lastSetWeightsBlock()
            .block(at)
            .call()
            .await
            .map_err(|x| e("lastSetWeightsBlock")(x.to_string()))?,
        refund_overhead: v
            .refundOverhead()
            .block(at)
            .call()
            .await
            .map_err(|x| e("refundOverhead")(x.to_string()))?,
        balance: provider
            .get_balance(address)
            .block_id(at)
            .await
            .map_err(|x| e("balance")(x.to_string()))?,
    })
}

/// Storage slots of the contracts' state variables (solc's layout, checked against the
/// committed artifacts by a test).
mod slots {
    pub const WTAO_BALANCE_OF: u64 = 3;
    pub const TRACKER_UNIQUE_DEPOSITORS: u64 = 0;
    pub const TRACKER_ASSOCIATION_SET: u64 = 1;
    pub const TRACKER_ASSOCIATIONS: u64 = 2;
    pub const TRACKER_ASSOCIATION_SET_LENGTH: u64 = 3;
    pub const POOL_FILLED_SUBTREES: u64 = 1;
    pub const POOL_ROOTS: u64 = 2;
    /// `currentRootIndex` (offset 0) and `nextIndex` (offset 4), both uint32.
    pub const POOL_INDICES: u64 = 3;
    pub const POOL_NULLIFIERS: u64 = 5;
    pub const POOL_COMMITMENTS: u64 = 6;
    pub const POOL_LIFETIME_DEPOSITS: u64 = 7;
    pub const VALIDATOR_BOUNTY: u64 = 2;
    pub const VALIDATOR_LAST_SET_WEIGHTS_BLOCK: u64 = 4;
    pub const VALIDATOR_INTERVAL: u64 = 5;
    pub const VALIDATOR_REFUND_OVERHEAD: u64 = 6;
}

/// `keccak256(key ‖ slot)`: a mapping entry's slot.
fn mapping_slot(key: B256, slot: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(key.as_slice());
    buf[32..].copy_from_slice(slot.as_slice());
    keccak256(buf)
}

fn word(n: u64) -> B256 {
    B256::from(U256::from(n))
}

fn addr_word(a: Address) -> B256 {
    a.into_word()
}

/// What a restore into a dev chain wrote and what it reads back.
#[derive(Clone, Debug, Serialize)]
pub struct LocalRestoreReport {
    pub block: u64,
    pub slots_written: u64,
    /// Pool name → the restored pool's last root equals the backup's.
    pub roots_equal: BTreeMap<String, bool>,
    /// The EvmValidator's weights on the dev chain equal the backup's.
    pub weights_equal: Option<bool>,
    /// Its numeric settings (bounty, interval, last set-weights block, refund overhead) and
    /// balance equal the backup's.
    pub validator_equal: Option<bool>,
}

/// Writes `state` into the protocol deployed at `target` on a dev chain (chain id `chain_id`
/// must be a dev chain's): balances, associations, each pool's tree, roots, nullifiers,
/// commitments and lifetime deposits, then reads back roots and weights.
pub async fn restore_local(
    provider: &DynProvider,
    target: &ProtocolAddresses,
    state: &ContractState,
) -> Result<LocalRestoreReport> {
    let mut writes: Vec<(Address, B256, B256)> = Vec::new();
    let need = |what: &str, a: Option<Address>| {
        a.ok_or_else(|| BackupError::NotDeployed {
            what: what.to_owned(),
        })
    };
    let mut native: Vec<(Address, U256)> = Vec::new();
    if let Some(w) = &state.wtao {
        let token = need("WTAO", target.wtao)?;
        // WETH-style: totalSupply is the token's own balance.
        native.push((token, w.total_supply));
        for (holder, amount) in &w.balances {
            let holder = map_address(state, target, *holder);
            writes.push((
                token,
                mapping_slot(addr_word(holder), word(slots::WTAO_BALANCE_OF)),
                B256::from(*amount),
            ));
        }
    }
    if let Some(t) = &state.deposit_tracker {
        let tracker = need("DepositTracker", target.deposit_tracker)?;
        for depositor in &t.unique_depositors {
            let depositor = map_address(state, target, *depositor);
            writes.push((
                tracker,
                mapping_slot(addr_word(depositor), word(slots::TRACKER_UNIQUE_DEPOSITORS)),
                word(1),
            ));
        }
        for (hotkey, list) in &t.associations {
            let set = mapping_slot(*hotkey, word(slots::TRACKER_ASSOCIATION_SET));
            let array = mapping_slot(*hotkey, word(slots::TRACKER_ASSOCIATIONS));
            let first = U256::from_be_bytes(keccak256(array.as_slice()).0);
            writes.push((tracker, array, word(list.len() as u64)));
            writes.push((
                tracker,
                mapping_slot(*hotkey, word(slots::TRACKER_ASSOCIATION_SET_LENGTH)),
                word(list.len() as u64),
            ));
            for (i, a) in list.iter().enumerate() {
                let a = map_address(state, target, *a);
                writes.push((tracker, mapping_slot(addr_word(a), set), word(1)));
                writes.push((tracker, B256::from(first + U256::from(i)), addr_word(a)));
            }
        }
    }
    for (name, p) in &state.pools {
        let pool = target
            .pools
            .get(name)
            .copied()
            .ok_or_else(|| BackupError::NotDeployed {
                what: format!("pool {name}"),
            })?;
        for (i, root) in p.roots.iter().enumerate() {
            writes.push((
                pool,
                mapping_slot(word(i as u64), word(slots::POOL_ROOTS)),
                *root,
            ));
        }
        for (i, sub) in p.filled_subtrees.iter().enumerate() {
            writes.push((
                pool,
                mapping_slot(word(i as u64), word(slots::POOL_FILLED_SUBTREES)),
                *sub,
            ));
        }
        let indices = U256::from(p.current_root_index) | (U256::from(p.next_index) << 32);
        writes.push((pool, word(slots::POOL_INDICES), B256::from(indices)));
        for leaf in &p.leaves {
            writes.push((
                pool,
                mapping_slot(*leaf, word(slots::POOL_COMMITMENTS)),
                word(1),
            ));
        }
        for n in &p.spent_nullifiers {
            writes.push((
                pool,
                mapping_slot(*n, word(slots::POOL_NULLIFIERS)),
                word(1),
            ));
        }
        for (holder, amount) in &p.lifetime_deposits {
            let holder = map_address(state, target, *holder);
            writes.push((
                pool,
                mapping_slot(addr_word(holder), word(slots::POOL_LIFETIME_DEPOSITS)),
                B256::from(*amount),
            ));
        }
    }
    if let Some(v) = &state.evm_validator {
        // Its numeric settings and balance; its weights and metagraph addresses stay the
        // target's own (the same contracts of the target's deployment).
        let validator = need("EvmValidator", target.evm_validator)?;
        native.push((validator, v.balance));
        for (slot, value) in [
            (slots::VALIDATOR_BOUNTY, v.set_weights_bounty),
            (
                slots::VALIDATOR_LAST_SET_WEIGHTS_BLOCK,
                v.last_set_weights_block,
            ),
            (slots::VALIDATOR_INTERVAL, v.set_weights_block_interval),
            (slots::VALIDATOR_REFUND_OVERHEAD, v.refund_overhead),
        ] {
            writes.push((validator, word(slot), B256::from(value)));
        }
    }
    let rpc = |what: &'static str| {
        move |e: alloy::transports::TransportError| BackupError::Rpc {
            what: what.into(),
            message: e.to_string(),
        }
    };
    for (address, slot, value) in &writes {
        provider
            .raw_request::<_, serde_json::Value>(
                "anvil_setStorageAt".into(),
                (address, slot, value),
            )
            .await
            .map_err(rpc("anvil_setStorageAt"))?;
    }
    for (address, amount) in &native {
        provider
            .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (address, amount))
            .await
            .map_err(rpc("anvil_setBalance"))?;
    }
    let block = provider
        .get_block_number()
        .await
        .map_err(rpc("eth_blockNumber"))?;
    let mut roots_equal = BTreeMap::new();
    for (name, p) in &state.pools {
        let Some(pool) = target.pools.get(name) else {
            continue;
        };
        let root = ERC20Taonado::new(*pool, provider)
            .getLastRoot()
            .call()
            .await
            .map_err(|e| chain_err(format!("getLastRoot of pool {pool}"), block)(e.to_string()))?;
        roots_equal.insert(name.clone(), root == p.last_root);
    }
    let weights_equal = match (&state.weights, target.evm_validator) {
        (Some(w), Some(validator)) => {
            let live = EvmValidator::new(validator, provider)
                .weights()
                .call()
                .await
                .map_err(|e| chain_err("EvmValidator.weights", block)(e.to_string()))?;
            let out = WeightsV3::new(live, provider)
                .getNormalizedWeights()
                .call()
                .await
                .map_err(|e| chain_err("getNormalizedWeights", block)(e.to_string()))?;
            Some(out.dests == w.uids && out.normalized == w.weights)
        }
        _ => None,
    };
    let validator_equal = match (&state.evm_validator, target.evm_validator) {
        (Some(v), Some(address)) => {
            let now = validator_state(provider, address, block).await?;
            Some(
                now.set_weights_bounty == v.set_weights_bounty
                    && now.set_weights_block_interval == v.set_weights_block_interval
                    && now.last_set_weights_block == v.last_set_weights_block
                    && now.refund_overhead == v.refund_overhead
                    && now.balance == v.balance,
            )
        }
        _ => None,
    };
    Ok(LocalRestoreReport {
        block,
        slots_written: writes.len() as u64,
        roots_equal,
        weights_equal,
        validator_equal,
    })
}

/// A backed-up address as the target knows it: a protocol contract of the backup becomes
/// the target's same contract (the deployments' addresses may differ), anything else stays.
fn map_address(state: &ContractState, target: &ProtocolAddresses, a: Address) -> Address {
    for (name, p) in &state.pools {
        if p.address == a
            && let Some(t) = target.pools.get(name)
        {
            return *t;
        }
    }
    match &state.evm_validator {
        Some(v) if v.address == a => target.evm_validator.unwrap_or(a),
        _ => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot_of(contract: taonado_contracts::Contract, label: &str) -> (u64, u64) {
        let entry = contract.artifact().storage(label).unwrap();
        (entry.slot.to::<u64>(), u64::from(entry.offset))
    }

    #[test]
    fn slots_match_the_committed_layouts() {
        use taonado_contracts::Contract;
        let wtao = Contract::WTAO;
        assert_eq!(slot_of(wtao, "balanceOf"), (slots::WTAO_BALANCE_OF, 0));
        let tracker = Contract::DepositTracker;
        assert_eq!(
            slot_of(tracker, "uniqueDepositors"),
            (slots::TRACKER_UNIQUE_DEPOSITORS, 0)
        );
        assert_eq!(
            slot_of(tracker, "associationSet"),
            (slots::TRACKER_ASSOCIATION_SET, 0)
        );
        assert_eq!(
            slot_of(tracker, "associations"),
            (slots::TRACKER_ASSOCIATIONS, 0)
        );
        assert_eq!(
            slot_of(tracker, "associationSetLength"),
            (slots::TRACKER_ASSOCIATION_SET_LENGTH, 0)
        );
        let pool = Contract::ERC20Taonado;
        assert_eq!(
            slot_of(pool, "filledSubtrees"),
            (slots::POOL_FILLED_SUBTREES, 0)
        );
        assert_eq!(slot_of(pool, "roots"), (slots::POOL_ROOTS, 0));
        assert_eq!(slot_of(pool, "currentRootIndex"), (slots::POOL_INDICES, 0));
        assert_eq!(slot_of(pool, "nextIndex"), (slots::POOL_INDICES, 4));
        assert_eq!(
            slot_of(pool, "nullifierHashes"),
            (slots::POOL_NULLIFIERS, 0)
        );
        assert_eq!(slot_of(pool, "commitments"), (slots::POOL_COMMITMENTS, 0));
        assert_eq!(
            slot_of(pool, "totalLifetimeDeposits"),
            (slots::POOL_LIFETIME_DEPOSITS, 0)
        );
        let validator = Contract::EvmValidator;
        assert_eq!(
            slot_of(validator, "setWeightsBounty"),
            (slots::VALIDATOR_BOUNTY, 0)
        );
        assert_eq!(
            slot_of(validator, "lastSetWeightsBlock"),
            (slots::VALIDATOR_LAST_SET_WEIGHTS_BLOCK, 0)
        );
        assert_eq!(
            slot_of(validator, "setWeightsBlockInterval"),
            (slots::VALIDATOR_INTERVAL, 0)
        );
        assert_eq!(
            slot_of(validator, "refundOverhead"),
            (slots::VALIDATOR_REFUND_OVERHEAD, 0)
        );
    }
}
