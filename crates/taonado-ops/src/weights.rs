//! WeightsV3, computed off chain: the algorithm of protocol.md ("Weights") as pure functions,
//! and a comparison of the contract's `getNormalizedWeights()` with that algorithm applied to
//! the same block's state (metagraph hotkeys, associations, WTAO balances, lifetime deposits).
//! `taonado weights show` renders the comparison.

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use taonado_types::{AccountId32, Hotkey};

use crate::error::{OpsError, Result};
use taonado_contracts::bindings::{
    DepositTracker, ERC20Taonado, EvmValidator, IMetagraph, WTAO, WeightsV3,
};
use taonado_deployment::ProtocolAddresses;

pub use crate::error::weights::{LiveWeightsError, WeightsError};

/// Associations of one hotkey that WeightsV3 counts (`MAX_ASSOCIATIONS_PER_HOTKEY`).
pub const MAX_ASSOCIATIONS_PER_HOTKEY: usize = 100;
/// The uid that receives the part of the deposit goal nobody has deposited (`burn_uid`).
pub const BURN_UID: usize = 0;

/// `getWeights()`: `deposits[uid]` is the sum of a uid's counted associations' WTAO balances
/// and lifetime pool deposits (index [`BURN_UID`] is ignored); the burn uid gets what is
/// missing to the goal.
pub fn raw_weights(goal: U256, deposits: &[U256]) -> Result<Vec<U256>, WeightsError> {
    if deposits.is_empty() {
        return Err(WeightsError::NoUids);
    }
    let mut weights = deposits.to_vec();
    weights[BURN_UID] = U256::ZERO;
    let total = sum_from_one(&weights)?;
    if total < goal {
        weights[BURN_UID] = goal - total;
    }
    Ok(weights)
}

/// `getNormalizedWeights()` from `getWeights()`'s output: each weight times 65535 over
/// `max(goal, Σ weights[1..])`, truncated to uint16 as Solidity does.
pub fn normalize(goal: U256, weights: &[U256]) -> Result<Vec<u16>, WeightsError> {
    let sum = sum_from_one(weights)?;
    let denominator = goal.max(sum);
    if denominator.is_zero() {
        return Err(WeightsError::DivisionByZero);
    }
    let scale = U256::from(u16::MAX);
    weights
        .iter()
        .map(|w| {
            let scaled = w.checked_mul(scale).ok_or(WeightsError::Overflow)? / denominator;
            // `uint16(x)` keeps the low 16 bits; every value here is <= 65535 anyway.
            Ok(scaled.as_limbs()[0] as u16)
        })
        .collect()
}

/// Both steps: per-uid deposits to the normalized weights the contract returns.
pub fn normalized_weights(goal: U256, deposits: &[U256]) -> Result<Vec<u16>, WeightsError> {
    normalize(goal, &raw_weights(goal, deposits)?)
}

fn sum_from_one(values: &[U256]) -> Result<U256, WeightsError> {
    values.iter().skip(1).try_fold(U256::ZERO, |acc, v| {
        acc.checked_add(*v).ok_or(WeightsError::Overflow)
    })
}

/// One associated EVM address of a hotkey, as WeightsV3 counts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssociationState {
    pub address: Address,
    pub wtao_balance: U256,
    pub lifetime_deposits: U256,
}

/// One uid's inputs to the weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UidDeposits {
    pub uid: u16,
    pub hotkey: Hotkey,
    /// All associations of the hotkey (only the first [`MAX_ASSOCIATIONS_PER_HOTKEY`] count).
    pub association_count: u64,
    pub counted: Vec<AssociationState>,
    /// Σ over `counted` of balance + lifetime deposits.
    pub deposits: U256,
}

/// The weights contract the protocol uses. Every command that reads weights takes it from
/// [`live_weights`], so none can show another contract than the EvmValidator reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveWeights {
    /// What the deployment calls the address: `WeightsV4`, `WeightsV3` or `WeightsV2`.
    pub name: &'static str,
    pub address: Address,
    /// True when the address was read from the EvmValidator on chain; false when the
    /// deployment names no EvmValidator and its newest weights contract is taken.
    pub read_from_evm_validator: bool,
    /// Set when the deployment names a newer weights contract than the one the EvmValidator
    /// reads (a migration deployed but not switched over).
    pub newer_unused: Option<String>,
}

/// The weights contract the EvmValidator reads at `at` (latest when `None`), named by and
/// cross-checked with the deployment's addresses (the record laid over the config): an
/// address the deployment does not name is an error, never shown under an old name. Without
/// an EvmValidator, the deployment's newest weights contract.
pub async fn live_weights(
    provider: &DynProvider,
    addresses: &ProtocolAddresses,
    at: Option<BlockId>,
) -> Result<LiveWeights> {
    let recorded = addresses.live_weights();
    let Some(evm_validator) = addresses.evm_validator else {
        let (name, address) = recorded.ok_or(LiveWeightsError::NotDeployed)?;
        return Ok(LiveWeights {
            name,
            address,
            read_from_evm_validator: false,
            newer_unused: None,
        });
    };
    let reads = EvmValidator::new(evm_validator, provider)
        .weights()
        .block(at.unwrap_or(BlockId::latest()))
        .call()
        .await
        .map_err(OpsError::contract("reading EvmValidator.weights"))?;
    let known = [
        ("WeightsV4", addresses.weights_v4),
        ("WeightsV3", addresses.weights_v3),
        ("WeightsV2", addresses.weights_v2),
    ];
    let name = known
        .iter()
        .find_map(|(name, address)| (*address == Some(reads)).then_some(*name))
        .ok_or_else(|| LiveWeightsError::Unrecorded {
            evm_validator,
            reads,
            known: describe(&known),
        })?;
    let newer_unused = recorded
        .filter(|(_, address)| *address != reads)
        .map(|(newest, address)| {
            format!(
                "the deployment also names {newest} {address}, which the EvmValidator does not read; finish the migration with `taonado migrate weights`"
            )
        });
    if let Some(note) = &newer_unused {
        tracing::warn!("{note}");
    }
    Ok(LiveWeights {
        name,
        address: reads,
        read_from_evm_validator: true,
        newer_unused,
    })
}

fn describe(known: &[(&str, Option<Address>)]) -> String {
    let named: Vec<String> = known
        .iter()
        .filter_map(|(name, address)| address.map(|a| format!("{name} {a}")))
        .collect();
    if named.is_empty() {
        "no weights contract".to_owned()
    } else {
        named.join(", ")
    }
}

/// A uid whose on-chain and recomputed weights differ (`None`: the vector is shorter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeightMismatch {
    pub uid: usize,
    pub onchain: Option<u16>,
    pub offchain: Option<u16>,
}

/// The contract's weights next to the recomputation from the same block.
#[derive(Clone, Debug, Serialize)]
pub struct WeightsComparison {
    pub block: u64,
    /// The weights contract compared: the one the EvmValidator reads ([`live_weights`]).
    pub weights: LiveWeights,
    pub weights_contract: Address,
    pub netuid: u16,
    pub deposit_goal: U256,
    pub uids: Vec<UidDeposits>,
    pub onchain: Vec<u16>,
    pub offchain: Vec<u16>,
    pub mismatches: Vec<WeightMismatch>,
}

impl WeightsComparison {
    pub fn is_equal(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Per-uid differences between two weight vectors.
pub fn mismatches(onchain: &[u16], offchain: &[u16]) -> Vec<WeightMismatch> {
    (0..onchain.len().max(offchain.len()))
        .filter_map(|uid| {
            let (a, b) = (onchain.get(uid).copied(), offchain.get(uid).copied());
            (a != b).then_some(WeightMismatch {
                uid,
                onchain: a,
                offchain: b,
            })
        })
        .collect()
}

/// Reads of the contracts WeightsV3 reads, all pinned to one block.
#[derive(Clone)]
pub(crate) struct WeightsReader {
    provider: DynProvider,
    pub(crate) block: BlockId,
    pub(crate) weights: Address,
    pub(crate) netuid: u16,
    pub(crate) wtao: Address,
    pub(crate) tracker: Address,
    pub(crate) metagraph: Address,
    pub(crate) pool: Address,
}

impl WeightsReader {
    /// Reads WeightsV3's wiring (netuid, tracker, metagraph, WTAO, pool) at `block`.
    pub(crate) async fn new(provider: &DynProvider, weights: Address, block: u64) -> Result<Self> {
        let at = BlockId::number(block);
        let contract = WeightsV3::new(weights, provider);
        let read = |what: &'static str| OpsError::contract(format!("reading WeightsV3.{what}"));
        Ok(Self {
            provider: provider.clone(),
            block: at,
            weights,
            netuid: contract
                .netuid()
                .block(at)
                .call()
                .await
                .map_err(read("netuid"))?,
            wtao: contract
                .wtao()
                .block(at)
                .call()
                .await
                .map_err(read("wtao"))?,
            tracker: contract
                .depositTracker()
                .block(at)
                .call()
                .await
                .map_err(read("depositTracker"))?,
            metagraph: contract
                .metagraph()
                .block(at)
                .call()
                .await
                .map_err(read("metagraph"))?,
            pool: contract
                .taonado()
                .block(at)
                .call()
                .await
                .map_err(read("taonado"))?,
        })
    }

    pub(crate) async fn deposit_goal(&self) -> Result<U256> {
        WeightsV3::new(self.weights, &self.provider)
            .depositGoal()
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract("reading WeightsV3.depositGoal"))
    }

    pub(crate) async fn onchain_normalized(&self) -> Result<Vec<u16>> {
        Ok(WeightsV3::new(self.weights, &self.provider)
            .getNormalizedWeights()
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract("calling WeightsV3.getNormalizedWeights"))?
            .normalized)
    }

    pub(crate) async fn uid_count(&self) -> Result<u16> {
        IMetagraph::new(self.metagraph, &self.provider)
            .getUidCount(self.netuid)
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract("reading getUidCount from the metagraph"))
    }

    pub(crate) async fn hotkey(&self, uid: u16) -> Result<B256> {
        IMetagraph::new(self.metagraph, &self.provider)
            .getHotkey(self.netuid, uid)
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract(format!(
                "reading the hotkey of uid {uid} from the metagraph"
            )))
    }

    /// Every uid's hotkey, uid 0 first.
    pub(crate) async fn hotkeys(&self) -> Result<Vec<B256>> {
        let reads = (0..self.uid_count().await?).map(|uid| {
            let reader = self.clone();
            async move { reader.hotkey(uid).await }
        });
        in_order(reads).await
    }

    /// What WeightsV3 adds up for each of `uids` (with their hotkeys).
    pub(crate) async fn all_uid_deposits(&self, uids: &[(u16, B256)]) -> Result<Vec<UidDeposits>> {
        // Collected first: a borrowing iterator held across the await would keep callers'
        // futures from being provably Send.
        let reads: Vec<_> = uids
            .iter()
            .map(|&(uid, hotkey)| {
                let reader = self.clone();
                async move { reader.uid_deposits(uid, hotkey).await }
            })
            .collect();
        in_order(reads).await
    }

    pub(crate) async fn association_count(&self, hotkey: B256) -> Result<u64> {
        let count = DepositTracker::new(self.tracker, &self.provider)
            .associationSetLength(hotkey)
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract(
                "reading DepositTracker.associationSetLength",
            ))?;
        Ok(count.saturating_to())
    }

    /// The hotkey's associations in order, at most `limit`.
    pub(crate) async fn associations(&self, hotkey: B256, limit: u64) -> Result<Vec<Address>> {
        let tracker = DepositTracker::new(self.tracker, &self.provider);
        let count = self.association_count(hotkey).await?.min(limit);
        let mut out = Vec::new();
        for index in 0..count {
            out.push(
                tracker
                    .associations(hotkey, U256::from(index))
                    .block(self.block)
                    .call()
                    .await
                    .map_err(OpsError::contract("reading DepositTracker.associations"))?,
            );
        }
        Ok(out)
    }

    pub(crate) async fn association_state(&self, address: Address) -> Result<AssociationState> {
        let wtao_balance = WTAO::new(self.wtao, &self.provider)
            .balanceOf(address)
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract("reading the WTAO balance"))?;
        let lifetime_deposits = ERC20Taonado::new(self.pool, &self.provider)
            .totalLifetimeDeposits(address)
            .block(self.block)
            .call()
            .await
            .map_err(OpsError::contract(
                "reading the pool's totalLifetimeDeposits",
            ))?;
        Ok(AssociationState {
            address,
            wtao_balance,
            lifetime_deposits,
        })
    }

    /// What WeightsV3 adds up for one uid.
    pub(crate) async fn uid_deposits(&self, uid: u16, hotkey: B256) -> Result<UidDeposits> {
        let association_count = self.association_count(hotkey).await?;
        let mut counted = Vec::new();
        for address in self
            .associations(hotkey, MAX_ASSOCIATIONS_PER_HOTKEY as u64)
            .await?
        {
            counted.push(self.association_state(address).await?);
        }
        let deposits = counted.iter().fold(U256::ZERO, |acc, a| {
            acc + a.wtao_balance + a.lifetime_deposits
        });
        Ok(UidDeposits {
            uid,
            hotkey: Hotkey(AccountId32(hotkey.0)),
            association_count,
            counted,
            deposits,
        })
    }
}

/// Concurrent reads at most: fast on a remote node (a 256-uid metagraph is hundreds of
/// calls) without flooding it.
const READ_CONCURRENCY: usize = 16;

/// Runs the reads concurrently (at most [`READ_CONCURRENCY`] at a time); results in order.
async fn in_order<T, F>(reads: impl IntoIterator<Item = F>) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let mut pending = reads.into_iter().enumerate();
    let mut results: Vec<Option<T>> = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < READ_CONCURRENCY {
            let Some((index, read)) = pending.next() else {
                break;
            };
            results.push(None);
            running.spawn(async move { (index, read.await) });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        // Tasks are never aborted, so a join error is a panic in a read: pass it on.
        let (index, result) =
            joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        results[index] = Some(result?);
    }
    // Every spawned read stored its result before the set ran empty.
    Ok(results.into_iter().flatten().collect())
}

/// The latest block number, or `block` checked against it.
pub(crate) async fn resolve_block(provider: &DynProvider, block: Option<u64>) -> Result<u64> {
    match block {
        Some(block) => Ok(block),
        None => provider
            .get_block_number()
            .await
            .map_err(OpsError::rpc("reading the block number")),
    }
}

/// Reads `getNormalizedWeights()` of the weights contract the EvmValidator reads at that
/// block ([`live_weights`]: WeightsV3, or WeightsV4 after a migration, whose weights are V3's
/// where V3 is defined) and recomputes it from the state of the same block (the latest when `block` is `None`). A node without that block's state (the devnet
/// keeps only the latest; public nodes prune) fails with an RPC error.
pub async fn compare(
    provider: &DynProvider,
    addresses: &ProtocolAddresses,
    block: Option<u64>,
) -> Result<WeightsComparison> {
    let block = resolve_block(provider, block).await?;
    let weights = live_weights(provider, addresses, Some(BlockId::number(block))).await?;
    compare_with(provider, weights, block).await
}

/// [`compare`] for a weights contract the caller already resolved (the monitor follows the
/// one its deployment names), at `block`.
pub async fn compare_with(
    provider: &DynProvider,
    weights: LiveWeights,
    block: u64,
) -> Result<WeightsComparison> {
    let reader = WeightsReader::new(provider, weights.address, block).await?;
    let deposit_goal = reader.deposit_goal().await?;
    let onchain = reader.onchain_normalized().await?;
    let hotkeys = reader.hotkeys().await?;
    // uid 0 is the burn uid: WeightsV3 never reads its associations.
    // uid < uid_count <= u16::MAX.
    let miners: Vec<(u16, B256)> = (1..hotkeys.len()).map(|u| (u as u16, hotkeys[u])).collect();
    let uids = reader.all_uid_deposits(&miners).await?;
    let mut deposits = vec![U256::ZERO; hotkeys.len()];
    for u in &uids {
        deposits[usize::from(u.uid)] = u.deposits;
    }
    let offchain = normalized_weights(deposit_goal, &deposits)?;
    Ok(WeightsComparison {
        block,
        weights_contract: weights.address,
        weights,
        netuid: reader.netuid,
        deposit_goal,
        mismatches: mismatches(&onchain, &offchain),
        uids,
        onchain,
        offchain,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tao(n: u64) -> U256 {
        U256::from(n) * taonado_types::WEI_PER_TAO
    }

    /// protocol.md's reference results: goal 1000 TAO, uids [burn, 1, 2].
    #[test]
    fn reference_vectors() {
        let goal = tao(1000);
        let cases: [([u64; 2], [u16; 3]); 5] = [
            ([0, 0], [65535, 0, 0]),
            ([1, 1], [65403, 65, 65]),
            ([450, 450], [6553, 29490, 29490]),
            ([550, 450], [0, 36044, 29490]),
            ([9000, 1000], [0, 58981, 6553]),
        ];
        for ([a, b], expected) in cases {
            let deposits = [U256::ZERO, tao(a), tao(b)];
            assert_eq!(
                normalized_weights(goal, &deposits).unwrap(),
                expected,
                "{a} + {b} TAO"
            );
        }
    }

    #[test]
    fn burn_uid_gets_the_rest_of_the_goal() {
        let weights = raw_weights(tao(1000), &[tao(5), tao(300), tao(200)]).unwrap();
        assert_eq!(weights, vec![tao(500), tao(300), tao(200)]);
        let above = raw_weights(tao(1000), &[U256::ZERO, tao(900), tao(200)]).unwrap();
        assert_eq!(above[BURN_UID], U256::ZERO);
    }

    #[test]
    fn v3_defects_are_errors() {
        assert_eq!(
            normalized_weights(tao(1000), &[]),
            Err(WeightsError::NoUids)
        );
        assert_eq!(
            normalized_weights(U256::ZERO, &[U256::ZERO, U256::ZERO]),
            Err(WeightsError::DivisionByZero)
        );
        assert_eq!(
            normalized_weights(U256::ZERO, &[U256::ZERO, U256::MAX, U256::from(1)]),
            Err(WeightsError::Overflow)
        );
    }

    #[test]
    fn mismatches_are_reported_per_uid() {
        assert!(mismatches(&[1, 2, 3], &[1, 2, 3]).is_empty());
        assert_eq!(
            mismatches(&[1, 2], &[1, 5, 7]),
            vec![
                WeightMismatch {
                    uid: 1,
                    onchain: Some(2),
                    offchain: Some(5)
                },
                WeightMismatch {
                    uid: 2,
                    onchain: None,
                    offchain: Some(7)
                },
            ]
        );
    }

    proptest! {
        /// Every weight fits 16 bits, the sum never exceeds 65535, and with the goal reached
        /// nothing is burnt.
        #[test]
        fn normalized_weights_are_a_distribution(
            goal in 0u64..10_000,
            deposits in proptest::collection::vec(0u64..10_000, 1..20),
        ) {
            let goal = tao(goal);
            let deposits: Vec<U256> = deposits.into_iter().map(tao).collect();
            match normalized_weights(goal, &deposits) {
                Ok(w) => {
                    prop_assert_eq!(w.len(), deposits.len());
                    let total: u64 = w.iter().map(|x| u64::from(*x)).sum();
                    prop_assert!(total <= 65535);
                    let deposited = deposits.iter().skip(1).fold(U256::ZERO, |a, b| a + b);
                    if deposited >= goal {
                        prop_assert_eq!(w[BURN_UID], 0);
                    }
                }
                Err(e) => prop_assert_eq!(e, WeightsError::DivisionByZero),
            }
        }
    }
}
