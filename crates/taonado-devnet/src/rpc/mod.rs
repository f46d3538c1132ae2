//! JSON-RPC: method parsing and dispatch onto the backend. Knows JSON, not HTTP.

pub(crate) mod convert;
pub mod error;

use std::time::Duration;

use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{FeeHistory, Filter, Log, TransactionRequest};
use alloy_rpc_types_trace::geth::GethDebugTracingOptions;
use revm::DatabaseRef;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{
    backend::{
        Backend, FilterKind, PolledFilter, budget::InlineBudget, chain::Chain, decode_raw,
        exec::CallRequest, trace,
    },
    error::{DevnetError, Result},
};

/// Name reported by web3_clientVersion.
const CLIENT_VERSION: &str = concat!("taonado-devnet/v", env!("CARGO_PKG_VERSION"));
/// Upper bound of anvil_mine's block count, so one request cannot stall the chain for hours.
const MAX_MINE_BLOCKS: u64 = 100_000;
/// Suggested priority fee (1 gwei); the base fee is constant.
const PRIORITY_FEE: u128 = 1_000_000_000;

/// Positional JSON-RPC params.
struct Params(Vec<Value>);

impl Params {
    fn new(value: Value) -> Result<Self> {
        match value {
            Value::Null => Ok(Self(Vec::new())),
            Value::Array(items) => Ok(Self(items)),
            other => Err(DevnetError::InvalidParams(format!(
                "params must be an array, got {other}"
            ))),
        }
    }

    fn opt<T: DeserializeOwned>(&self, index: usize) -> Result<Option<T>> {
        match self.0.get(index) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|e| DevnetError::InvalidParams(format!("param {index}: {e}"))),
        }
    }

    fn req<T: DeserializeOwned>(&self, index: usize) -> Result<T> {
        self.opt(index)?
            .ok_or_else(|| DevnetError::InvalidParams(format!("missing param {index}")))
    }

    /// A quantity given as hex string, decimal string or JSON number.
    fn quantity(&self, index: usize) -> Result<Option<U256>> {
        let bad =
            |v: &Value| DevnetError::InvalidParams(format!("param {index}: {v} is not a quantity"));
        match self.0.get(index) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(|n| Some(U256::from(n)))
                .ok_or_else(|| bad(&self.0[index])),
            Some(Value::String(s)) => {
                let parsed = match s.strip_prefix("0x") {
                    Some(hex) => U256::from_str_radix(hex, 16),
                    None => U256::from_str_radix(s, 10),
                };
                parsed.map(Some).map_err(|_| bad(&self.0[index]))
            }
            Some(other) => Err(bad(other)),
        }
    }

    fn quantity_u64(&self, index: usize) -> Result<Option<u64>> {
        self.quantity(index)?
            .map(|q| {
                u64::try_from(q)
                    .map_err(|_| DevnetError::InvalidParams(format!("param {index} is too large")))
            })
            .transpose()
    }
}

fn to_json<T: serde::Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| DevnetError::Internal(e.to_string()))
}

fn hex_u64(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

fn hex_u128(n: u128) -> Value {
    Value::String(format!("{n:#x}"))
}

fn call_request(request: TransactionRequest) -> CallRequest {
    CallRequest {
        from: request.from,
        to: request.to.and_then(|kind| kind.to().copied()),
        gas: request.gas,
        gas_price: request.gas_price,
        max_fee_per_gas: request.max_fee_per_gas,
        max_priority_fee_per_gas: request.max_priority_fee_per_gas,
        value: request.value,
        data: request.input.input().cloned().unwrap_or_default(),
        nonce: request.nonce,
        access_list: request.access_list.unwrap_or_default(),
    }
}

fn tag_number(chain: &Chain, tag: BlockNumberOrTag) -> u64 {
    match tag {
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Number(n) => n,
        _ => chain.latest_number(),
    }
}

/// The block a state query asks for (tags other than `earliest` and numbers mean the
/// latest); a block the chain does not have is an error.
fn state_block(chain: &Chain, block: Option<BlockId>) -> Result<u64> {
    let latest = chain.latest_number();
    let number = match block {
        None => return Ok(latest),
        Some(BlockId::Number(tag)) => match tag {
            BlockNumberOrTag::Number(n) => n,
            BlockNumberOrTag::Earliest => 0,
            _ => return Ok(latest),
        },
        Some(BlockId::Hash(hash)) => chain
            .block_by_hash(&hash.block_hash)
            .map(|b| b.header.number)
            .ok_or_else(|| DevnetError::BlockNotFound(hash.block_hash.to_string()))?,
    };
    if number > latest {
        return Err(DevnetError::BlockNotFound(format!("{number:#x}")));
    }
    Ok(number)
}

fn find_block(chain: &Chain, id: BlockId) -> Option<&crate::backend::chain::StoredBlock> {
    match id {
        BlockId::Hash(hash) => chain.block_by_hash(&hash.block_hash),
        BlockId::Number(tag) => chain.block(tag_number(chain, tag)),
    }
}

/// The logs of one block that match `filter` (also a dropped block's, for subscribers).
pub(crate) fn logs_of_block(
    block: &crate::backend::chain::StoredBlock,
    filter: &Filter,
) -> Vec<Log> {
    if !filter.matches_bloom(block.header.logs_bloom) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (index, tx) in block.txs.iter().enumerate() {
        if tx.receipt.logs.iter().any(|log| filter.matches(log)) {
            out.extend(
                convert::logs_of(block, index, tx)
                    .into_iter()
                    .filter(|log| filter.matches(&log.inner)),
            );
        }
    }
    out
}

/// Logs of blocks `from..=to` (clamped to the chain) that match `filter`.
pub(crate) fn collect_logs(chain: &Chain, filter: &Filter, from: u64, to: u64) -> Vec<Log> {
    let to = to.min(chain.latest_number());
    (from..=to)
        .map_while(|number| chain.block(number))
        .flat_map(|block| logs_of_block(block, filter))
        .collect()
}

fn filter_range(chain: &Chain, filter: &Filter) -> Result<(u64, u64)> {
    if let Some(hash) = filter.get_block_hash() {
        let number = chain
            .block_by_hash(&hash)
            .map(|b| b.header.number)
            .ok_or_else(|| DevnetError::BlockNotFound(hash.to_string()))?;
        return Ok((number, number));
    }
    let latest = chain.latest_number();
    let from = filter
        .block_option
        .get_from_block()
        .map_or(latest, |tag| tag_number(chain, *tag));
    let to = filter
        .block_option
        .get_to_block()
        .map_or(latest, |tag| tag_number(chain, *tag));
    if from > to {
        return Err(DevnetError::InvalidParams(format!(
            "fromBlock {from:#x} is after toBlock {to:#x}"
        )));
    }
    Ok((from, to))
}

fn subtensor_error(method: &str, error: crate::subtensor::SubtensorRpcError) -> DevnetError {
    match error.code() {
        error::INVALID_PARAMS => DevnetError::SubtensorParams(error.to_string()),
        error::METHOD_NOT_FOUND => DevnetError::MethodNotFound(method.to_owned()),
        _ => DevnetError::Subtensor(error.to_string()),
    }
}

/// Execute one JSON-RPC method.
pub(crate) fn dispatch(backend: &Backend, method: &str, params: Value) -> Result<Value> {
    let result = dispatch_method(backend, method, params);
    // Only dev methods change state outside blocks; keep the standard ones lock-light.
    let standard = ["eth_", "net_", "web3_"]
        .iter()
        .any(|p| method.starts_with(p));
    if !standard && let Err(error) = backend.persist_if_needed() {
        tracing::warn!(%error, "cannot write the state snapshot");
    }
    result
}

/// `eth_call` within `budget` (see `backend::budget`): `None` when it ran out and the
/// request must go through [`dispatch`] on the blocking pool.
pub(crate) fn eth_call_within(
    backend: &Backend,
    params: Value,
    budget: InlineBudget,
) -> Option<Result<Value>> {
    match Params::new(params) {
        Ok(p) => eth_call(backend, &p, Some(budget)).transpose(),
        Err(error) => Some(Err(error)),
    }
}

/// The `[request, block]` params of `eth_call` and `eth_estimateGas`: the request, the block
/// whose state it runs on, and the sender's mirror credit claimed first.
fn call_params(backend: &Backend, p: &Params) -> Result<(CallRequest, u64)> {
    let request = call_request(p.req::<TransactionRequest>(0)?);
    let block: Option<BlockId> = p.opt(1)?;
    let number = state_block(&backend.chain.read(), block)?;
    if let Some(from) = request.from {
        backend.claim_mirror_credit(from)?;
    }
    Ok((request, number))
}

fn eth_call(backend: &Backend, p: &Params, budget: Option<InlineBudget>) -> Result<Option<Value>> {
    let (request, number) = call_params(backend, p)?;
    match backend.call_within(&request, number, budget)? {
        Some(output) => to_json(output).map(Some),
        None => Ok(None),
    }
}

fn dispatch_method(backend: &Backend, method: &str, params: Value) -> Result<Value> {
    if method.starts_with("subtensor_") {
        let mut chain = backend.chain.write();
        let mark = chain.undo_len();
        // Kept to undo the change if it cannot be logged.
        let before = chain.is_logged().then(|| chain.subtensor.clone());
        let (mut host, subtensor, number) = chain.rpc_host_and_subtensor();
        let result = subtensor
            .handle_rpc(&mut host, method, params, number)
            .map_err(|e| subtensor_error(method, e));
        chain.log_dev_change(mark, before)?;
        return result;
    }
    let p = Params::new(params)?;
    match method {
        "eth_chainId" => Ok(hex_u64(backend.chain_id)),
        "net_version" => Ok(Value::String(backend.chain_id.to_string())),
        "net_listening" => Ok(Value::Bool(true)),
        "net_peerCount" => Ok(hex_u64(0)),
        "web3_clientVersion" => Ok(Value::String(CLIENT_VERSION.into())),
        "web3_sha3" => {
            let data: Bytes = p.req(0)?;
            Ok(to_json(alloy_primitives::keccak256(&data))?)
        }
        "eth_syncing" => Ok(Value::Bool(false)),
        "eth_mining" => Ok(Value::Bool(true)),
        "eth_hashrate" => Ok(hex_u64(0)),
        "eth_coinbase" => Ok(to_json(Address::ZERO)?),
        "eth_accounts" => {
            let chain = backend.chain.read();
            to_json(
                chain
                    .dev_accounts
                    .iter()
                    .map(|a| a.address)
                    .collect::<Vec<_>>(),
            )
        }
        "eth_blockNumber" => Ok(hex_u64(backend.chain.read().latest_number())),
        "eth_gasPrice" => Ok(hex_u128(backend.chain.read().rules.base_fee)),
        "eth_maxPriorityFeePerGas" => Ok(hex_u128(PRIORITY_FEE)),
        "eth_blobBaseFee" => Ok(hex_u64(1)),
        "eth_feeHistory" => {
            let count = p.quantity_u64(0)?.unwrap_or(1).clamp(1, 1024);
            let newest: BlockNumberOrTag = p.opt(1)?.unwrap_or(BlockNumberOrTag::Latest);
            let percentiles: Vec<f64> = p.opt(2)?.unwrap_or_default();
            let chain = backend.chain.read();
            let newest = tag_number(&chain, newest).min(chain.latest_number());
            let oldest = newest.saturating_sub(count - 1);
            let blocks = (oldest..=newest)
                .filter_map(|n| chain.block(n))
                .collect::<Vec<_>>();
            let base_fee = chain.rules.base_fee;
            let history = FeeHistory {
                base_fee_per_gas: vec![base_fee; blocks.len() + 1],
                gas_used_ratio: blocks
                    .iter()
                    .map(|b| b.header.gas_used as f64 / b.header.gas_limit as f64)
                    .collect(),
                base_fee_per_blob_gas: vec![0; blocks.len() + 1],
                blob_gas_used_ratio: vec![0.0; blocks.len()],
                oldest_block: oldest,
                reward: (!percentiles.is_empty())
                    .then(|| vec![vec![PRIORITY_FEE; percentiles.len()]; blocks.len()]),
            };
            to_json(history)
        }
        "eth_getBalance" | "eth_getTransactionCount" | "eth_getCode" => {
            let address: Address = p.req(0)?;
            let block: Option<BlockId> = p.opt(1)?;
            if method == "eth_getBalance" {
                backend.claim_mirror_credit(address)?;
            }
            let chain = backend.chain.read();
            if method == "eth_getTransactionCount"
                && matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending)))
            {
                return Ok(hex_u64(chain.pending_nonce(address)));
            }
            let state = chain.state_at(state_block(&chain, block)?)?;
            let info = state.basic_ref(address)?.unwrap_or_default();
            match method {
                "eth_getBalance" => to_json(info.balance),
                "eth_getTransactionCount" => Ok(hex_u64(info.nonce)),
                _ => {
                    let code = match info.code {
                        Some(code) => code,
                        None => state.code_by_hash_ref(info.code_hash)?,
                    };
                    to_json(code.original_bytes())
                }
            }
        }
        "eth_getStorageAt" => {
            let address: Address = p.req(0)?;
            let slot: U256 = p.req(1)?;
            let block: Option<BlockId> = p.opt(2)?;
            let chain = backend.chain.read();
            let state = chain.state_at(state_block(&chain, block)?)?;
            to_json(B256::from(state.storage_ref(address, slot)?))
        }
        "eth_call" => eth_call(backend, &p, None).map(|answer| answer.unwrap_or(Value::Null)),
        "eth_estimateGas" => {
            let (request, number) = call_params(backend, &p)?;
            Ok(hex_u64(backend.estimate_gas(&request, number)?))
        }
        "debug_traceTransaction" => {
            let hash: B256 = p.req(0)?;
            let opts: GethDebugTracingOptions = p.opt(1)?.unwrap_or_default();
            let chain = backend.chain.read();
            to_json(trace::trace_transaction(&chain, hash, opts)?)
        }
        "debug_traceCall" => {
            let request = call_request(p.req::<TransactionRequest>(0)?);
            let block: Option<BlockId> = p.opt(1)?;
            let opts: GethDebugTracingOptions = p.opt(2)?.unwrap_or_default();
            let chain = backend.chain.read();
            let number = state_block(&chain, block)?;
            let gas = request
                .gas
                .unwrap_or(backend.call_gas_cap)
                .min(backend.call_gas_cap);
            to_json(trace::trace_call(&chain, &request, gas, number, opts)?)
        }
        "eth_createAccessList" => {
            let request = call_request(p.req::<TransactionRequest>(0)?);
            let block: Option<BlockId> = p.opt(1)?;
            let chain = backend.chain.read();
            let number = state_block(&chain, block)?;
            let gas = request
                .gas
                .unwrap_or(backend.call_gas_cap)
                .min(backend.call_gas_cap);
            let (access_list, gas_used) = trace::create_access_list(&chain, &request, gas, number)?;
            Ok(json!({"accessList": access_list, "gasUsed": hex_u64(gas_used)}))
        }
        "eth_sendRawTransaction" => {
            let raw: Bytes = p.req(0)?;
            let tx = decode_raw(&raw)?;
            backend.claim_mirror_credit(tx.from)?;
            to_json(backend.submit(tx)?)
        }
        "eth_sendTransaction" => {
            let request = call_request(p.req::<TransactionRequest>(0)?);
            if let Some(from) = request.from {
                backend.claim_mirror_credit(from)?;
            }
            to_json(backend.send_unsigned(request)?)
        }
        "eth_getBlockByNumber" | "eth_getBlockByHash" => {
            let id: BlockId = if method == "eth_getBlockByHash" {
                BlockId::from(p.req::<B256>(0)?)
            } else {
                BlockId::Number(p.req(0)?)
            };
            let full: bool = p.opt(1)?.unwrap_or(false);
            let chain = backend.chain.read();
            match find_block(&chain, id) {
                Some(block) => to_json(convert::block(block, full)),
                None => Ok(Value::Null),
            }
        }
        "eth_getBlockTransactionCountByNumber" | "eth_getBlockTransactionCountByHash" => {
            let id: BlockId = if method.ends_with("ByHash") {
                BlockId::from(p.req::<B256>(0)?)
            } else {
                BlockId::Number(p.req(0)?)
            };
            let chain = backend.chain.read();
            Ok(find_block(&chain, id).map_or(Value::Null, |b| hex_u64(b.txs.len() as u64)))
        }
        "eth_getUncleCountByBlockNumber" | "eth_getUncleCountByBlockHash" => Ok(hex_u64(0)),
        "eth_getTransactionByHash" => {
            let hash: B256 = p.req(0)?;
            let chain = backend.chain.read();
            if let Some((block, index, tx)) = chain.tx(&hash) {
                return to_json(convert::transaction(block, index, tx));
            }
            match chain.pool.iter().find(|tx| tx.hash == hash) {
                Some(tx) => to_json(alloy_rpc_types_eth::Transaction {
                    inner: alloy_consensus::transaction::Recovered::new_unchecked(
                        tx.envelope.clone(),
                        tx.from,
                    ),
                    block_hash: None,
                    block_number: None,
                    transaction_index: None,
                    effective_gas_price: None,
                    block_timestamp: None,
                }),
                None => Ok(Value::Null),
            }
        }
        "eth_getTransactionByBlockNumberAndIndex" | "eth_getTransactionByBlockHashAndIndex" => {
            let id: BlockId = if method.contains("Hash") {
                BlockId::from(p.req::<B256>(0)?)
            } else {
                BlockId::Number(p.req(0)?)
            };
            let index = p.quantity_u64(1)?.unwrap_or(0) as usize;
            let chain = backend.chain.read();
            match find_block(&chain, id).and_then(|b| b.txs.get(index).map(|tx| (b, tx))) {
                Some((block, tx)) => to_json(convert::transaction(block, index, tx)),
                None => Ok(Value::Null),
            }
        }
        "eth_getTransactionReceipt" => {
            let hash: B256 = p.req(0)?;
            let chain = backend.chain.read();
            match chain.tx(&hash) {
                Some((block, index, tx)) => to_json(convert::receipt(block, index, tx)),
                None => Ok(Value::Null),
            }
        }
        "eth_getBlockReceipts" => {
            let id: BlockId = p.req(0)?;
            let chain = backend.chain.read();
            match find_block(&chain, id) {
                Some(block) => to_json(
                    block
                        .txs
                        .iter()
                        .enumerate()
                        .map(|(i, tx)| convert::receipt(block, i, tx))
                        .collect::<Vec<_>>(),
                ),
                None => Ok(Value::Null),
            }
        }
        "eth_getLogs" => {
            let filter: Filter = p.req(0)?;
            let chain = backend.chain.read();
            let (from, to) = filter_range(&chain, &filter)?;
            to_json(collect_logs(&chain, &filter, from, to))
        }
        "eth_newFilter" | "eth_newBlockFilter" | "eth_newPendingTransactionFilter" => {
            let kind = match method {
                "eth_newFilter" => FilterKind::Logs(Box::new(p.req(0)?)),
                "eth_newBlockFilter" => FilterKind::Blocks,
                _ => FilterKind::PendingTransactions,
            };
            let last_block = backend.chain.read().latest_number();
            let now = std::time::Instant::now();
            let mut filters = backend.filters.lock();
            crate::backend::make_room_for_a_filter(&mut filters.1, now);
            let id = U256::from(filters.0);
            filters.0 += 1;
            filters.1.insert(
                id,
                PolledFilter {
                    kind,
                    last_block,
                    last_used: now,
                },
            );
            to_json(id)
        }
        "eth_uninstallFilter" => {
            let id: U256 = p.req(0)?;
            Ok(Value::Bool(backend.filters.lock().1.remove(&id).is_some()))
        }
        "eth_getFilterChanges" | "eth_getFilterLogs" => {
            let id: U256 = p.req(0)?;
            let filter = backend
                .filters
                .lock()
                .1
                .get(&id)
                .cloned()
                .ok_or(DevnetError::FilterNotFound(id))?;
            let chain = backend.chain.read();
            let latest = chain.latest_number();
            let since = filter.last_block.min(latest) + 1;
            let value = match (&filter.kind, method) {
                (FilterKind::Logs(log_filter), "eth_getFilterLogs") => {
                    let (from, to) = filter_range(&chain, log_filter)?;
                    to_json(collect_logs(&chain, log_filter, from, to))?
                }
                (FilterKind::Logs(log_filter), _) => {
                    // Only blocks not reported yet, within the filter's explicit bounds.
                    let bound = |tag: Option<&BlockNumberOrTag>, default: u64| {
                        tag.map_or(default, |tag| tag_number(&chain, *tag))
                    };
                    let (from, to) = match log_filter.get_block_hash() {
                        Some(_) => filter_range(&chain, log_filter)?,
                        None => (
                            bound(log_filter.block_option.get_from_block(), since),
                            bound(log_filter.block_option.get_to_block(), latest),
                        ),
                    };
                    let from = from.max(since);
                    if from > to {
                        json!([])
                    } else {
                        to_json(collect_logs(&chain, log_filter, from, to))?
                    }
                }
                (FilterKind::Blocks, _) => to_json(
                    (since..=latest)
                        .filter_map(|n| chain.block(n).map(|b| b.hash))
                        .collect::<Vec<_>>(),
                )?,
                (FilterKind::PendingTransactions, _) => {
                    to_json(chain.pool.iter().map(|tx| tx.hash).collect::<Vec<_>>())?
                }
            };
            drop(chain);
            if let Some(stored) = backend.filters.lock().1.get_mut(&id) {
                stored.last_used = std::time::Instant::now();
                if method == "eth_getFilterChanges" {
                    stored.last_block = latest;
                }
            }
            Ok(value)
        }

        // ---- dev methods (anvil names, evm_/hardhat_ aliases) ----
        "anvil_mine" | "hardhat_mine" => {
            let blocks = p.quantity_u64(0)?.unwrap_or(1).max(1);
            if blocks > MAX_MINE_BLOCKS {
                return Err(DevnetError::InvalidParams(format!(
                    "cannot mine {blocks} blocks in one call; at most {MAX_MINE_BLOCKS}"
                )));
            }
            let interval = p.quantity_u64(1)?;
            backend.mine(blocks, interval, None)?;
            Ok(Value::Null)
        }
        "evm_mine" => {
            let timestamp = match p.0.first() {
                Some(Value::Object(options)) => options
                    .get("timestamp")
                    .map(|v| Params(vec![v.clone()]).quantity_u64(0))
                    .transpose()?
                    .flatten(),
                _ => p.quantity_u64(0)?,
            };
            backend.mine(1, None, timestamp)?;
            Ok(Value::String("0x0".into()))
        }
        "anvil_setBalance" | "hardhat_setBalance" => {
            let address: Address = p.req(0)?;
            let balance = p
                .quantity(1)?
                .ok_or_else(|| DevnetError::InvalidParams("missing balance".into()))?;
            backend.chain.write().set_balance(address, balance)?;
            Ok(Value::Null)
        }
        "anvil_setCode" | "hardhat_setCode" => {
            let address: Address = p.req(0)?;
            let code: Bytes = p.req(1)?;
            backend.chain.write().set_code(address, code)?;
            Ok(Value::Null)
        }
        "anvil_setNonce" | "hardhat_setNonce" => {
            let address: Address = p.req(0)?;
            let nonce = p
                .quantity_u64(1)?
                .ok_or_else(|| DevnetError::InvalidParams("missing nonce".into()))?;
            backend.chain.write().set_nonce(address, nonce)?;
            Ok(Value::Null)
        }
        "anvil_setStorageAt" | "hardhat_setStorageAt" => {
            let address: Address = p.req(0)?;
            let slot = p
                .quantity(1)?
                .ok_or_else(|| DevnetError::InvalidParams("missing slot".into()))?;
            let value: B256 = p.req(2)?;
            backend
                .chain
                .write()
                .set_storage(address, slot, value.into())?;
            Ok(Value::Bool(true))
        }
        "evm_snapshot" | "anvil_snapshot" => Ok(hex_u64(backend.chain.write().snapshot())),
        "evm_revert" | "anvil_revert" => {
            let id = p
                .quantity_u64(0)?
                .ok_or_else(|| DevnetError::InvalidParams("missing snapshot id".into()))?;
            Ok(Value::Bool(backend.chain.write().revert(id)))
        }
        "evm_increaseTime" | "anvil_increaseTime" => {
            let seconds = p.quantity_u64(0)?.unwrap_or(0);
            let mut chain = backend.chain.write();
            let mut time = chain.time;
            time.offset_secs = time
                .offset_secs
                .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
            chain.set_time(time)?;
            Ok(hex_u64(time.offset_secs.max(0) as u64))
        }
        "evm_setNextBlockTimestamp" | "anvil_setNextBlockTimestamp" => {
            let timestamp = p
                .quantity_u64(0)?
                .ok_or_else(|| DevnetError::InvalidParams("missing timestamp".into()))?;
            let mut chain = backend.chain.write();
            let latest = chain.latest().header.timestamp;
            if timestamp < latest {
                return Err(DevnetError::InvalidParams(format!(
                    "timestamp {timestamp} is before the latest block's {latest}"
                )));
            }
            let mut time = chain.time;
            time.next_timestamp = Some(timestamp);
            chain.set_time(time)?;
            Ok(Value::Null)
        }
        "anvil_impersonateAccount" | "hardhat_impersonateAccount" => {
            let address: Address = p.req(0)?;
            backend.chain.write().impersonated.insert(address);
            Ok(Value::Null)
        }
        "anvil_stopImpersonatingAccount" | "hardhat_stopImpersonatingAccount" => {
            let address: Address = p.req(0)?;
            backend.chain.write().impersonated.remove(&address);
            Ok(Value::Null)
        }
        "anvil_setAutomine" | "evm_setAutomine" => {
            let enabled: bool = p.req(0)?;
            backend.set_automine(enabled)?;
            Ok(Value::Null)
        }
        "anvil_getAutomine" | "hardhat_getAutomine" => {
            Ok(Value::Bool(backend.chain.read().automine))
        }
        "evm_setIntervalMining" | "anvil_setIntervalMining" => {
            let seconds = p.quantity_u64(0)?.unwrap_or(0);
            backend.set_interval((seconds > 0).then(|| Duration::from_secs(seconds)));
            Ok(Value::Null)
        }
        "taonado_reorg" => {
            let depth = p
                .quantity_u64(0)?
                .ok_or_else(|| DevnetError::InvalidParams("missing depth".into()))?;
            Ok(hex_u64(backend.chain.write().reorg(depth)?))
        }
        "taonado_dumpState" => {
            backend.flush()?;
            Ok(Value::Bool(backend.state_dir.is_some()))
        }
        other => Err(DevnetError::MethodNotFound(other.to_owned())),
    }
}
