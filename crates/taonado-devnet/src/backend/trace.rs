//! `debug_traceTransaction`, `debug_traceCall` and `eth_createAccessList`: re-execution
//! under revm-inspectors' geth tracers (struct logger, `callTracer`, `prestateTracer`, …)
//! and its access-list inspector, on the state of the block before (archive reads, see
//! [`super::history`]), with the block's earlier transactions replayed first.
//!
//! The replay uses the subtensor state after the parent block when it is still kept (the
//! last 256 blocks), else today's; a trace of an older transaction that called the
//! subtensor precompiles can differ from what happened.

use alloy_eips::eip2930::AccessList;
use alloy_primitives::B256;
use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};
use revm::{
    DatabaseCommit,
    context::{BlockEnv, TxEnv},
    context_interface::result::ExecResultAndState,
    database::CacheDB,
};
use revm_inspectors::{
    access_list::AccessListInspector,
    tracing::{DebugInspector, TransactionContext},
};

use super::{
    chain::Chain,
    exec::{self, CallRequest, Executed},
    history::StateAt,
    precompiles::SubtensorSlot,
};
use crate::{
    error::{DevnetError, Result},
    subtensor::Subtensor,
};

fn tracer_error(error: impl std::fmt::Display) -> DevnetError {
    DevnetError::InvalidParams(format!("tracer: {error}"))
}

/// The subtensor state after block `number`, when kept, else the current one.
fn subtensor_after(chain: &Chain, number: u64) -> Subtensor {
    chain
        .block(number)
        .and_then(|b| b.subtensor_after.clone())
        .map_or_else(|| chain.subtensor.clone(), |s| (*s).clone())
}

/// The trace of a mined transaction, as geth's `debug_traceTransaction` gives it.
pub(crate) fn trace_transaction(
    chain: &Chain,
    hash: B256,
    opts: GethDebugTracingOptions,
) -> Result<GethTrace> {
    let (number, index) = chain
        .tx_locations
        .get(&hash)
        .copied()
        .ok_or_else(|| DevnetError::InvalidParams(format!("transaction {hash} not found")))?;
    let block = chain
        .block(number)
        .ok_or_else(|| DevnetError::BlockNotFound(number.to_string()))?;
    let parent = number.saturating_sub(1);
    let mut overlay = CacheDB::new(chain.state_at(parent)?);
    let mut subtensor = subtensor_after(chain, parent);
    let block_env = chain.rules.block_env(
        block.header.number,
        block.header.timestamp,
        block.header.mix_hash,
    );
    for earlier in &block.txs[..index] {
        let tx_env = exec::tx_env_from_envelope(&earlier.envelope, earlier.from);
        let slot = SubtensorSlot::Exclusive {
            state: &mut subtensor,
            backup: None,
        };
        let (Executed { state, .. }, _) = exec::execute(
            &overlay,
            chain.rules.cfg(false),
            block_env.clone(),
            tx_env,
            slot,
            &chain.mirrors,
        )?;
        overlay.commit(state);
    }
    let target = &block.txs[index];
    let tx_env = exec::tx_env_from_envelope(&target.envelope, target.from);
    let context = TransactionContext {
        block_hash: Some(block.hash),
        tx_index: Some(index),
        tx_hash: Some(hash),
    };
    traced(
        chain,
        &mut overlay,
        &mut subtensor,
        block_env,
        tx_env,
        false,
        opts,
        Some(context),
    )
}

/// The trace of a call at block `number`, as geth's `debug_traceCall` gives it.
pub(crate) fn trace_call(
    chain: &Chain,
    request: &CallRequest,
    gas_limit: u64,
    number: u64,
    opts: GethDebugTracingOptions,
) -> Result<GethTrace> {
    let state = chain.state_at(number)?;
    let (block_env, tx_env) = call_env(chain, &state, request, gas_limit, number)?;
    let mut overlay = CacheDB::new(state);
    let mut subtensor = subtensor_after(chain, number);
    traced(
        chain,
        &mut overlay,
        &mut subtensor,
        block_env,
        tx_env,
        true,
        opts,
        None,
    )
}

/// `eth_createAccessList`: the storage a call touches (caller, callee and precompiles
/// excluded, as geth does), and the gas it uses with that list.
pub(crate) fn create_access_list(
    chain: &Chain,
    request: &CallRequest,
    gas_limit: u64,
    number: u64,
) -> Result<(AccessList, u64)> {
    let state = chain.state_at(number)?;
    let (block_env, mut tx_env) = call_env(chain, &state, request, gas_limit, number)?;
    let inspector = AccessListInspector::new(request.access_list.clone());
    let mut subtensor = subtensor_after(chain, number);
    let slot = SubtensorSlot::Exclusive {
        state: &mut subtensor,
        backup: None,
    };
    let (_, inspector) = exec::execute_inspected(
        &state,
        chain.rules.cfg(true),
        block_env.clone(),
        tx_env.clone(),
        slot,
        &chain.mirrors,
        inspector,
    )?;
    let access_list = inspector.into_access_list();
    // The gas with the list in place (warm slots cost less, the list itself costs more).
    tx_env.access_list = access_list.clone();
    let mut subtensor = subtensor_after(chain, number);
    let slot = SubtensorSlot::Exclusive {
        state: &mut subtensor,
        backup: None,
    };
    let (executed, _) = exec::execute(
        &state,
        chain.rules.cfg(true),
        block_env,
        tx_env,
        slot,
        &chain.mirrors,
    )?;
    Ok((access_list, executed.result.tx_gas_used()))
}

/// The environment of a read-only call at block `number` (no base fee, the caller's
/// nonce of then).
fn call_env(
    chain: &Chain,
    state: &StateAt<'_>,
    request: &CallRequest,
    gas_limit: u64,
    number: u64,
) -> Result<(BlockEnv, TxEnv)> {
    use revm::DatabaseRef;
    let block = chain.block(number).unwrap_or_else(|| chain.latest());
    let mut block_env = chain.rules.block_env(
        block.header.number,
        block.header.timestamp,
        block.header.mix_hash,
    );
    block_env.basefee = 0;
    let nonce = match request.nonce {
        Some(nonce) => nonce,
        None => state
            .basic_ref(request.from.unwrap_or_default())?
            .map_or(0, |a| a.nonce),
    };
    Ok((
        block_env,
        request.tx_env(gas_limit, nonce, chain.rules.chain_id),
    ))
}

#[allow(clippy::too_many_arguments)]
fn traced(
    chain: &Chain,
    overlay: &mut CacheDB<StateAt<'_>>,
    subtensor: &mut Subtensor,
    block_env: BlockEnv,
    tx_env: TxEnv,
    for_call: bool,
    opts: GethDebugTracingOptions,
    context: Option<TransactionContext>,
) -> Result<GethTrace> {
    let inspector = DebugInspector::new(opts).map_err(tracer_error)?;
    let slot = SubtensorSlot::Exclusive {
        state: subtensor,
        backup: None,
    };
    let (executed, mut inspector) = exec::execute_inspected(
        &*overlay,
        chain.rules.cfg(for_call),
        block_env.clone(),
        tx_env.clone(),
        slot,
        &chain.mirrors,
        inspector,
    )?;
    let outcome = ExecResultAndState::new(executed.result, executed.state);
    inspector
        .get_result(context, &tx_env, &block_env, &outcome, overlay)
        .map_err(tracer_error)
}
