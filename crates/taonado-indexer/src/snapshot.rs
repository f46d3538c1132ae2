//! State snapshots: WTAO supply and balances, pool holdings, the EvmValidator's balance,
//! normalized weights and the metagraph, all read at one block with `eth_call`.

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use taonado_contracts::METAGRAPH_PRECOMPILE;
use taonado_contracts::bindings::{DepositTracker, IMetagraph, WTAO, WeightsV3};
use taonado_store::{Association, AssociationSource, NeuronRow, Snapshot, SnapshotBalance, Store};

use crate::error::{IndexerError, Result};
use crate::rpc::Rpc;
use taonado_deployment::ProtocolContracts;

/// Calls `call` on `to` at `block` and decodes its return value.
async fn view<C: SolCall>(rpc: &Rpc, to: Address, call: C, block: u64) -> Result<C::Return> {
    let input = call.abi_encode();
    let bytes = rpc
        .call(
            || format!("eth_call {} on {to} at block {block}", C::SIGNATURE),
            |p| {
                let tx = TransactionRequest::default()
                    .to(to)
                    .input(input.clone().into());
                async move { p.call(tx).block(BlockId::number(block)).await }
            },
        )
        .await?;
    C::abi_decode_returns(&bytes).map_err(|e| IndexerError::Decode {
        what: C::SIGNATURE,
        address: to,
        message: e.to_string(),
    })
}

/// A revert means "not available here" (no subnet, a weights defect): record nothing for
/// that part instead of failing the snapshot.
fn optional<T>(part: &str, result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e @ (IndexerError::Reverted { .. } | IndexerError::Decode { .. })) => {
            tracing::warn!(part, error = %e, "snapshot part unavailable");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn take(
    rpc: &Rpc,
    store: &Store,
    contracts: &ProtocolContracts,
    netuid: u16,
    block: u64,
    timestamp: u64,
) -> Result<Snapshot> {
    let mut balances = Vec::new();
    let mut wtao_supply = U256::ZERO;
    if let Some(wtao) = contracts.wtao {
        wtao_supply = view(rpc, wtao, WTAO::totalSupplyCall {}, block).await?;
        for holder in store.wtao_holders()? {
            let amount = view(rpc, wtao, WTAO::balanceOfCall(holder), block).await?;
            balances.push(SnapshotBalance {
                kind: "wtao".into(),
                holder,
                amount,
            });
        }
        for pool in contracts.pools.values() {
            let amount = view(rpc, wtao, WTAO::balanceOfCall(*pool), block).await?;
            balances.push(SnapshotBalance {
                kind: "pool".into(),
                holder: *pool,
                amount,
            });
        }
    }
    let validator_balance = match contracts.evm_validator {
        Some(validator) => {
            rpc.call(
                || format!("eth_getBalance {validator} at block {block}"),
                |p| async move {
                    p.get_balance(validator)
                        .block_id(BlockId::number(block))
                        .await
                },
            )
            .await?
        }
        None => U256::ZERO,
    };
    let weights = match contracts.weights {
        Some(weights) => optional(
            "weights",
            view(rpc, weights, WeightsV3::getNormalizedWeightsCall {}, block).await,
        )?
        .map(|w| w.dests.into_iter().zip(w.normalized).collect())
        .unwrap_or_default(),
        None => Vec::new(),
    };
    let neurons = optional("metagraph", metagraph(rpc, netuid, block).await)?.unwrap_or_default();
    if let Some(tracker) = contracts.deposit_tracker {
        reconcile_associations(rpc, store, tracker, &neurons, block).await?;
    }
    Ok(Snapshot {
        block,
        timestamp,
        wtao_supply,
        validator_balance,
        balances,
        weights,
        neurons,
    })
}

async fn metagraph(rpc: &Rpc, netuid: u16, block: u64) -> Result<Vec<NeuronRow>> {
    let m = METAGRAPH_PRECOMPILE;
    let count = view(rpc, m, IMetagraph::getUidCountCall { netuid }, block).await?;
    let mut neurons = Vec::with_capacity(usize::from(count));
    for uid in 0..count {
        let hotkey: B256 = view(rpc, m, IMetagraph::getHotkeyCall { netuid, uid }, block).await?;
        let coldkey: B256 = view(rpc, m, IMetagraph::getColdkeyCall { netuid, uid }, block).await?;
        neurons.push(NeuronRow {
            uid,
            hotkey,
            coldkey,
            stake_rao: view(rpc, m, IMetagraph::getStakeCall { netuid, uid }, block).await?,
            emission_rao: view(rpc, m, IMetagraph::getEmissionCall { netuid, uid }, block).await?,
            incentive: view(rpc, m, IMetagraph::getIncentiveCall { netuid, uid }, block).await?,
            is_active: view(rpc, m, IMetagraph::getIsActiveCall { netuid, uid }, block).await?,
            validator_permit: view(
                rpc,
                m,
                IMetagraph::getValidatorStatusCall { netuid, uid },
                block,
            )
            .await?,
            last_update: view(rpc, m, IMetagraph::getLastUpdateCall { netuid, uid }, block).await?,
        });
    }
    Ok(neurons)
}

/// Reads the tracker's association lists of the metagraph's hotkeys and stores addresses
/// not seen in events or calldata (associations made through another contract on a
/// tracker that emits no event). Only hotkeys whose list is longer than what is stored are
/// read in full.
async fn reconcile_associations(
    rpc: &Rpc,
    store: &Store,
    tracker: Address,
    neurons: &[NeuronRow],
    block: u64,
) -> Result<()> {
    let mut found = Vec::new();
    for neuron in neurons {
        let hotkey = neuron.hotkey;
        let Some(length) = optional(
            "associations",
            view(
                rpc,
                tracker,
                DepositTracker::associationSetLengthCall(hotkey),
                block,
            )
            .await,
        )?
        else {
            return Ok(());
        };
        let length = u64::try_from(length).unwrap_or(u64::MAX);
        if length <= store.association_count(hotkey)? {
            continue;
        }
        for index in 0..length {
            let call = DepositTracker::associationsCall {
                _0: hotkey,
                _1: U256::from(index),
            };
            let address = view(rpc, tracker, call, block).await?;
            found.push(Association {
                address,
                hotkey,
                block_number: block,
                tx_hash: B256::ZERO,
                source: AssociationSource::State,
            });
        }
    }
    let added = store.add_associations(&found)?;
    if added > 0 {
        tracing::info!(added, block, "associations found in the tracker's storage");
    }
    Ok(())
}
