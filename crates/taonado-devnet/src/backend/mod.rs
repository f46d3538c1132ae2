//! The chain backend: state behind one `RwLock`, filters, persistence. Never knows HTTP.
//!
//! Locking: the chain sits behind a `parking_lot::RwLock`. Transactions and dev methods take
//! the write lock for the time of one execution and a seal; eth_call / estimateGas take the
//! read lock, so they run in parallel with each other. Signature recovery and JSON work
//! happen outside the lock.

pub(crate) mod budget;
pub(crate) mod chain;
pub(crate) mod exec;
pub mod fork;
pub(crate) mod history;
pub(crate) mod mirror;
pub(crate) mod persist;
pub mod precompiles;
pub(crate) mod trace;

use std::{collections::HashMap, path::PathBuf, time::Duration};

use alloy_consensus::{Signed, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Signature, TxKind, U256, keccak256};
use alloy_rpc_types_eth::Filter;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use self::{
    chain::{Chain, PoolTx},
    exec::{CallRequest, Executed},
};
use crate::error::{DevnetError, Result};

/// A polled filter (eth_newFilter / eth_newBlockFilter).
#[derive(Clone, Debug)]
pub(crate) enum FilterKind {
    Logs(Box<Filter>),
    Blocks,
    PendingTransactions,
}

#[derive(Clone, Debug)]
pub(crate) struct PolledFilter {
    pub kind: FilterKind,
    /// Last block whose changes were returned.
    pub last_block: u64,
    /// When it was installed or last polled: idle filters expire.
    pub last_used: std::time::Instant,
}

/// A filter nobody polled for this long is dropped, as geth does (5 minutes).
pub(crate) const FILTER_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// At most this many filters live at once; a new one beyond it evicts the least recently
/// used. Without a bound, 100k `eth_newFilter` calls held 174 MB.
pub(crate) const MAX_FILTERS: usize = 10_000;

/// Drops the filters idle past [`FILTER_IDLE_TIMEOUT`] at `now`, then the least recently
/// used ones until one more fits under [`MAX_FILTERS`].
pub(crate) fn make_room_for_a_filter(
    filters: &mut HashMap<U256, PolledFilter>,
    now: std::time::Instant,
) {
    filters.retain(|_, f| now.saturating_duration_since(f.last_used) < FILTER_IDLE_TIMEOUT);
    while filters.len() >= MAX_FILTERS {
        let Some(oldest) = filters
            .iter()
            .min_by_key(|(_, f)| f.last_used)
            .map(|(id, _)| *id)
        else {
            break;
        };
        filters.remove(&oldest);
    }
}

pub(crate) struct Backend {
    pub chain: RwLock<Chain>,
    pub filters: Mutex<(u64, HashMap<U256, PolledFilter>)>,
    pub state_dir: Option<PathBuf>,
    pub chain_id: u64,
    /// Fork mode: state lookups may block on the remote node.
    pub forked: bool,
    /// Interval-mining period; the miner task follows changes.
    pub interval: watch::Sender<Option<Duration>>,
    /// Gas of one eth_call / eth_estimateGas (at most the block gas limit).
    pub call_gas_cap: u64,
    /// What an `eth_call` may run on the async worker that received it before it moves to
    /// the blocking pool (see `budget`); `None` in fork mode, where any state read may wait
    /// on the remote node.
    pub inline_budget: Option<budget::InlineBudget>,
}

impl Backend {
    pub(crate) fn new(
        chain: Chain,
        state_dir: Option<PathBuf>,
        interval: Option<Duration>,
    ) -> Self {
        let chain_id = chain.rules.chain_id;
        let forked = chain.db.db.fork().is_some();
        let call_gas_cap = chain.rules.gas_limit;
        Self {
            call_gas_cap,
            inline_budget: (!forked).then_some(budget::InlineBudget::SERVER),
            forked,
            chain: RwLock::new(chain),
            filters: Mutex::new((1, HashMap::new())),
            state_dir,
            chain_id,
            interval: watch::channel(interval).0,
        }
    }

    /// See [`Chain::claim_mirror_credit`]; the common case (nothing credited) only reads.
    pub(crate) fn claim_mirror_credit(&self, address: Address) -> Result<()> {
        let mirror = taonado_types::evm_mirror(address);
        if self.chain.read().subtensor.native_balance(&mirror).0 == 0 {
            return Ok(());
        }
        self.chain.write().claim_mirror_credit(address)
    }

    /// Submit a transaction: mined at once in automine mode, pooled otherwise.
    pub(crate) fn submit(&self, tx: PoolTx) -> Result<B256> {
        let hash = tx.hash;
        let mut chain = self.chain.write();
        chain.precheck(&tx)?;
        if chain.automine {
            let mut block = chain.start_block();
            chain.execute_into(&mut block, &tx)?;
            chain.seal(block)?;
        } else {
            let pending = chain.pending_nonce(tx.from);
            let nonce = tx.tx_env.nonce;
            if nonce < pending && nonce >= chain.account(tx.from).nonce {
                // A pending transaction with this nonce: a replacement (or underpriced).
                chain.validate(&tx)?;
                if chain.replace_in_pool(tx)? {
                    return Ok(hash);
                }
                return Err(DevnetError::NonceTooLow {
                    tx: nonce,
                    state: pending,
                });
            }
            if nonce < pending {
                return Err(DevnetError::NonceTooLow {
                    tx: nonce,
                    state: pending,
                });
            }
            if nonce > pending {
                return Err(DevnetError::NonceTooHigh {
                    tx: nonce,
                    state: pending,
                });
            }
            // Validate against the latest state (intrinsic gas, funds) without keeping it.
            chain.validate(&tx)?;
            chain.add_to_pool(tx)?;
        }
        Ok(hash)
    }

    /// Mine `blocks` blocks (pool first), `interval` seconds apart when given.
    pub(crate) fn mine(
        &self,
        blocks: u64,
        interval: Option<u64>,
        timestamp: Option<u64>,
    ) -> Result<u64> {
        let mut chain = self.chain.write();
        let mut last = chain.latest_number();
        for i in 0..blocks {
            if i == 0 {
                if let Some(ts) = timestamp {
                    chain.time.next_timestamp = Some(ts);
                }
            } else if let Some(step) = interval {
                let ts = chain.latest().header.timestamp.saturating_add(step);
                chain.time.next_timestamp = Some(ts);
            }
            last = chain.mine_pool_block()?;
        }
        Ok(last)
    }

    /// eth_call, within `budget` when one is given (`Ok(None)`: it ran out, see
    /// `budget`), unwatched otherwise.
    pub(crate) fn call_within(
        &self,
        request: &CallRequest,
        number: u64,
        budget: Option<budget::InlineBudget>,
    ) -> Result<Option<alloy_primitives::Bytes>> {
        let chain = self.chain.read();
        let gas = request
            .gas
            .unwrap_or(self.call_gas_cap)
            .min(self.call_gas_cap);
        let executed = match budget {
            Some(budget) => chain.call_within(request, gas, number, budget),
            None => chain.call(request, gas, number).map(Some),
        };
        let Some(executed) = executed.map_err(|error| match error {
            DevnetError::InsufficientFunds { balance, cost, .. } => {
                DevnetError::InsufficientFunds {
                    address: request.from.unwrap_or_default(),
                    balance,
                    cost,
                }
            }
            other => other,
        })?
        else {
            return Ok(None);
        };
        outcome_to_result(executed).map(|(_, output)| Some(output))
    }

    /// eth_estimateGas: the smallest gas limit with which the call succeeds (binary search).
    pub(crate) fn estimate_gas(&self, request: &CallRequest, number: u64) -> Result<u64> {
        let chain = self.chain.read();
        let cap = request
            .gas
            .unwrap_or(self.call_gas_cap)
            .min(self.call_gas_cap);
        let (used, _) = outcome_to_result(chain.call(request, cap, number)?)?;
        let succeeds = |gas: u64| -> Result<bool> {
            match chain.call(request, gas, number) {
                Ok(executed) => Ok(executed.result.is_success()),
                // Too little gas to even start (intrinsic cost): not enough.
                Err(DevnetError::IntrinsicGasTooLow { .. }) => Ok(false),
                Err(error) => Err(error),
            }
        };
        let mut lo = used.saturating_sub(1).max(20_999);
        let mut hi = cap;
        // Most calls need just a little more than they use (63/64 rule, refunds).
        let guess = (used + 2_300).saturating_mul(64) / 63;
        if guess < hi && succeeds(guess)? {
            hi = guess;
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if succeeds(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    /// Build and submit a transaction for an unlocked (dev) or impersonated account. It
    /// carries a placeholder signature; its hash also covers the sender.
    pub(crate) fn send_unsigned(&self, mut request: CallRequest) -> Result<B256> {
        let from = request.from.ok_or_else(|| {
            DevnetError::InvalidParams("eth_sendTransaction needs a `from` address".into())
        })?;
        let (chain_id, nonce, base_fee) = {
            let chain = self.chain.read();
            let unlocked = chain.dev_accounts.iter().any(|a| a.address == from)
                || chain.impersonated.contains(&from);
            if !unlocked {
                return Err(DevnetError::UnknownAccount(from));
            }
            (
                chain.rules.chain_id,
                request.nonce.unwrap_or_else(|| chain.pending_nonce(from)),
                chain.rules.base_fee,
            )
        };
        let gas_limit = match request.gas {
            Some(gas) => gas,
            None => self.estimate_gas(&request, u64::MAX)?,
        };
        let max_fee_per_gas = request
            .max_fee_per_gas
            .or(request.gas_price)
            .unwrap_or(base_fee * 2);
        let max_priority_fee_per_gas = request
            .max_priority_fee_per_gas
            .unwrap_or(0)
            .min(max_fee_per_gas);
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            to: request.to.map_or(TxKind::Create, TxKind::Call),
            value: request.value.unwrap_or_default(),
            access_list: request.access_list.clone(),
            input: request.data.clone(),
        };
        let signature = Signature::new(U256::ONE, U256::ONE, false);
        let unhashed =
            TxEnvelope::Eip1559(Signed::new_unchecked(tx.clone(), signature, B256::ZERO));
        let mut preimage = unhashed.encoded_2718();
        preimage.extend_from_slice(from.as_slice());
        let hash = keccak256(&preimage);
        let envelope = TxEnvelope::Eip1559(Signed::new_unchecked(tx, signature, hash));
        request.nonce = Some(nonce);
        request.max_fee_per_gas = Some(max_fee_per_gas);
        request.max_priority_fee_per_gas = Some(max_priority_fee_per_gas);
        let tx_env = exec::tx_env_from_envelope(&envelope, from);
        self.submit(PoolTx {
            hash,
            from,
            envelope,
            impersonated: true,
            tx_env,
        })
    }

    /// Write the chain to `state_dir` (no-op without one).
    pub(crate) fn flush(&self) -> Result<()> {
        if let Some(dir) = &self.state_dir {
            let mut chain = self.chain.write();
            persist::save(&mut chain, dir)?;
        }
        Ok(())
    }

    /// Rewrite the snapshot when a request changed what the write-ahead log cannot replay.
    pub(crate) fn persist_if_needed(&self) -> Result<()> {
        if let Some(dir) = &self.state_dir {
            let mut chain = self.chain.write();
            if chain.snapshot_needed {
                persist::save(&mut chain, dir)?;
            }
        }
        Ok(())
    }

    /// Set interval mining (None = off). Turning it on disables automine, like anvil.
    pub(crate) fn set_interval(&self, interval: Option<Duration>) {
        if interval.is_some() {
            self.chain.write().automine = false;
        }
        self.interval.send_replace(interval);
    }

    pub(crate) fn set_automine(&self, enabled: bool) -> Result<()> {
        let mut chain = self.chain.write();
        chain.automine = enabled;
        if enabled {
            self.interval.send_replace(None);
            if !chain.pool.is_empty() {
                chain.mine_pool_block()?;
            }
        }
        Ok(())
    }
}

/// Success → (gas used, output); failures → the error eth_call reports.
pub(crate) fn outcome_to_result(executed: Executed) -> Result<(u64, alloy_primitives::Bytes)> {
    use revm::context_interface::result::ExecutionResult;
    if !executed.result.is_success()
        && let Some(message) = executed.dispatch_error
    {
        return Err(DevnetError::DispatchFailed(message));
    }
    match executed.result {
        ExecutionResult::Success { gas, output, .. } => Ok((gas.tx_gas_used(), output.into_data())),
        ExecutionResult::Revert { output, .. } => Err(DevnetError::Reverted { output }),
        ExecutionResult::Halt { reason, .. } => Err(DevnetError::Halted(format!("{reason:?}"))),
    }
}

/// Who sent a signed transaction.
pub(crate) fn recover(envelope: &TxEnvelope) -> Result<Address> {
    use alloy_consensus::transaction::SignerRecoverable;
    envelope
        .recover_signer()
        .map_err(|e| DevnetError::TxSignature(e.to_string()))
}

/// Decode raw bytes from eth_sendRawTransaction into a pool transaction (no lock held).
pub(crate) fn decode_raw(raw: &[u8]) -> Result<PoolTx> {
    use alloy_eips::eip2718::Decodable2718;
    let envelope =
        TxEnvelope::decode_2718(&mut &raw[..]).map_err(|e| DevnetError::TxDecode(e.to_string()))?;
    if !matches!(
        envelope,
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_)
    ) {
        return Err(DevnetError::UnsupportedTxType(envelope.tx_type() as u8));
    }
    let from = recover(&envelope)?;
    let tx_env = exec::tx_env_from_envelope(&envelope, from);
    Ok(PoolTx {
        hash: *envelope.tx_hash(),
        from,
        envelope,
        impersonated: false,
        tx_env,
    })
}

#[cfg(test)]
mod filter_bounds {
    use std::time::{Duration, Instant};

    use super::*;

    fn filter(last_used: Instant) -> PolledFilter {
        PolledFilter {
            kind: FilterKind::Blocks,
            last_block: 0,
            last_used,
        }
    }

    #[test]
    fn idle_filters_expire_and_the_count_is_bounded() {
        let start = Instant::now();
        let mut filters = HashMap::new();
        filters.insert(U256::from(1), filter(start));
        filters.insert(U256::from(2), filter(start + Duration::from_secs(200)));
        // At start + 301 s the first is idle past 5 minutes; the second is not.
        make_room_for_a_filter(&mut filters, start + Duration::from_secs(301));
        assert_eq!(
            filters.keys().copied().collect::<Vec<_>>(),
            vec![U256::from(2)]
        );

        let mut full: HashMap<U256, PolledFilter> = (0..MAX_FILTERS)
            .map(|i| {
                (
                    U256::from(i),
                    filter(start + Duration::from_millis(i as u64)),
                )
            })
            .collect();
        make_room_for_a_filter(&mut full, start + Duration::from_secs(20));
        assert_eq!(full.len(), MAX_FILTERS - 1);
        assert!(
            !full.contains_key(&U256::ZERO),
            "the least recently used goes first"
        );
    }
}

#[cfg(test)]
mod failed_log_writes {
    use alloy_primitives::address;

    use super::*;
    use crate::{
        backend::{exec::ChainRules, persist},
        config::{DEV_ACCOUNTS, DevnetConfig},
        subtensor::Subtensor,
    };

    /// A chain with a state dir whose write-ahead log refuses writes (a full disk).
    fn backend_with(dir: &std::path::Path, failing: bool) -> Backend {
        let config = DevnetConfig::test();
        let rules = ChainRules {
            chain_id: config.chain_id,
            gas_limit: config.gas_limit,
            base_fee: config.base_fee,
        };
        let mut chain = Chain::genesis(
            rules,
            Subtensor::new(config.subtensor, 0),
            DEV_ACCOUNTS.to_vec(),
            config.balance_wei,
        );
        persist::save(&mut chain, dir).unwrap();
        chain.wal = Some(if failing {
            persist::Wal::failing(dir, &chain).unwrap()
        } else {
            persist::Wal::open(dir, &chain).unwrap()
        });
        Backend::new(chain, Some(dir.to_path_buf()), None)
    }

    fn transfer(value: u64) -> CallRequest {
        CallRequest {
            from: Some(DEV_ACCOUNTS[0].address),
            to: Some(address!("abababababababababababababababababababab")),
            value: Some(U256::from(value)),
            gas: Some(21_000),
            ..CallRequest::default()
        }
    }

    #[test]
    fn a_change_the_log_cannot_take_is_refused_and_undone() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_with(dir.path(), true);
        let to = address!("abababababababababababababababababababab");
        let sender_before = backend.chain.read().account(DEV_ACCOUNTS[0].address);

        let error = backend.send_unsigned(transfer(5)).unwrap_err();
        assert!(matches!(error, DevnetError::StateIo { .. }), "{error}");
        let chain = backend.chain.read();
        assert_eq!(chain.latest_number(), 0, "no block was kept");
        assert_eq!(chain.account(to).balance, U256::ZERO);
        assert_eq!(
            chain.account(DEV_ACCOUNTS[0].address).nonce,
            sender_before.nonce
        );
        drop(chain);

        let error = backend.chain.write().set_balance(to, U256::from(9));
        assert!(error.is_err());
        assert_eq!(backend.chain.read().account(to).balance, U256::ZERO);
        let mut time = backend.chain.read().time;
        time.offset_secs = 1_000;
        assert!(backend.chain.write().set_time(time).is_err());
        assert_eq!(backend.chain.read().time.offset_secs, 0);

        // With interval mining the pool keeps what it acknowledged when a block fails.
        backend.chain.write().automine = false;
        assert!(
            backend.send_unsigned(transfer(6)).is_err(),
            "not pooled either"
        );
        assert!(backend.chain.read().pool.is_empty());
    }

    #[test]
    fn a_block_that_cannot_be_logged_leaves_the_pool_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_with(dir.path(), false);
        backend.chain.write().automine = false;
        backend.send_unsigned(transfer(7)).unwrap();
        let good = backend.chain.write().wal.take().unwrap();
        let chain_ref = backend.chain.read();
        let failing = persist::Wal::failing(dir.path(), &chain_ref).unwrap();
        drop(chain_ref);
        drop(good);
        backend.chain.write().wal = Some(failing);
        assert!(backend.chain.write().mine_pool_block().is_err());
        let chain = backend.chain.read();
        assert_eq!(chain.latest_number(), 0);
        assert_eq!(chain.pool.len(), 1, "the acknowledged transaction waits");
    }
}
