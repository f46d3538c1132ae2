//! The chain: state, blocks, receipts, the pool, mining, undo log (snapshots and reorgs).
//!
//! Hot-path choices (see ARCHITECTURE notes in the report):
//! - no state trie: `state_root`, `transactions_root` and `receipts_root` are deterministic
//!   keccak chains over the block contents, not Merkle-Patricia roots;
//! - no state clones per transaction: every commit appends the previous values of the
//!   accounts and slots it touches to an undo log; `evm_revert` and `taonado_reorg` replay it
//!   backwards;
//! - subtensor state is cloned lazily (only when a tx calls a subtensor precompile) and once
//!   per sealed block for the last [`SUBTENSOR_HISTORY`] blocks (reorg depth limit).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header, Transaction as _, TxEnvelope,
};
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, Log, TxKind, U256, keccak256};
use revm::{
    DatabaseCommit, DatabaseRef,
    context::TxEnv,
    database::{AccountState, DbAccount},
    state::{AccountInfo, Bytecode, EvmState},
};
use serde::{Deserialize, Serialize};
use taonado_types::evm_mirror;

use super::{
    budget::{BudgetInspector, InlineBudget},
    exec::{self, CallRequest, ChainRules, Executed, StateDb},
    history::StateAt,
    mirror::MirrorCredits,
    persist::WalChange,
    precompiles::{MirrorMap, SubtensorSlot},
};
use crate::{
    config::DevAccount,
    error::{DevnetError, Result},
    subtensor::{EvmHost, Subtensor},
};

/// How many recent blocks keep a subtensor snapshot; `taonado_reorg` can go this deep.
pub const SUBTENSOR_HISTORY: u64 = 256;

/// A transaction waiting in the pool (or about to be mined).
#[derive(Clone, Debug)]
pub(crate) struct PoolTx {
    pub hash: B256,
    pub from: Address,
    pub envelope: TxEnvelope,
    pub impersonated: bool,
    pub tx_env: TxEnv,
}

/// A mined transaction with its receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredTx {
    pub hash: B256,
    pub from: Address,
    pub envelope: TxEnvelope,
    pub impersonated: bool,
    pub receipt: StoredReceipt,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredReceipt {
    pub status: bool,
    pub gas_used: u64,
    pub cumulative_gas_used: u64,
    pub effective_gas_price: u128,
    pub contract_address: Option<Address>,
    pub logs: Vec<Log>,
    pub logs_bloom: Bloom,
    /// Block-wide index of this receipt's first log.
    pub first_log_index: u64,
    /// Set when a Bittensor precompile halted the transaction exceptionally.
    pub dispatch_error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredBlock {
    pub header: Header,
    pub hash: B256,
    pub txs: Vec<StoredTx>,
    /// Undo-log length before this block's transactions (what a reorg rolls back to, and
    /// where the history of the state after the previous block starts).
    #[serde(default)]
    pub undo_mark: usize,
    /// Subtensor state after this block (recent blocks only).
    #[serde(skip)]
    pub subtensor_after: Option<Arc<Subtensor>>,
}

/// Previous value of something a commit or dev method changed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum UndoEntry {
    Account {
        address: Address,
        prior: Option<(AccountInfo, AccountState)>,
        slots: Vec<(U256, U256)>,
    },
}

/// Block time control (evm_increaseTime, evm_setNextBlockTimestamp).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimeState {
    pub offset_secs: i64,
    pub next_timestamp: Option<u64>,
}

#[derive(Clone, Debug)]
struct Snapshot {
    block: u64,
    undo_mark: usize,
    subtensor: Subtensor,
    time: TimeState,
}

/// A block being assembled.
pub(crate) struct BlockBuilder {
    number: u64,
    timestamp: u64,
    prevrandao: B256,
    txs: Vec<StoredTx>,
    cumulative_gas: u64,
    log_index: u64,
    undo_mark: usize,
    /// Account changes of this block, kept only when a write-ahead log is open.
    diffs: Vec<AccountDiff>,
    /// Mirror addresses this block added (with what they replaced), for the log and for
    /// undoing the block when the log cannot take it.
    mirrors: Vec<([u8; 32], Address, Option<Address>)>,
    /// Subtensor state before the block, kept only when a write-ahead log is open.
    subtensor_before: Option<Subtensor>,
}

/// (address, created in this tx, changed slots with their new values).
type TouchedAccount = (Address, bool, Vec<(U256, U256)>);

/// The new value of an account a block changed (write-ahead log record).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AccountDiff {
    pub address: Address,
    pub info: AccountInfo,
    pub account_state: AccountState,
    pub slots: Vec<(U256, U256)>,
}

/// What WebSocket subscribers hear about (see `server::subscriptions`).
#[derive(Clone, Debug)]
pub(crate) enum ChainEvent {
    /// A block was sealed.
    Block(u64),
    /// Blocks were dropped (reorg, `evm_revert`), newest first: their logs are removed.
    Dropped(Arc<Vec<StoredBlock>>),
    /// A transaction entered the pool.
    Pending(B256),
}

/// Events a subscriber may fall behind by before it is dropped.
const EVENT_BUFFER: usize = 4_096;

/// With `--prune-history`, how often (in blocks) old history is dropped.
const PRUNE_EVERY: u64 = 64;

/// Snapshots kept at once (`evm_snapshot`); each holds a copy of the subtensor state.
pub(crate) const MAX_SNAPSHOTS: usize = 10_000;

pub(crate) struct Chain {
    pub rules: ChainRules,
    pub db: StateDb,
    pub subtensor: Subtensor,
    pub blocks: Vec<StoredBlock>,
    pub block_numbers: HashMap<B256, u64>,
    pub tx_locations: HashMap<B256, (u64, usize)>,
    pub pool: Vec<PoolTx>,
    pub mirrors: MirrorMap,
    pub time: TimeState,
    pub impersonated: HashSet<Address>,
    pub automine: bool,
    pub dev_accounts: Vec<DevAccount>,
    pub undo: Vec<UndoEntry>,
    /// Blocks at or below this height cannot be dropped (state before a restart is not kept).
    reorg_floor: u64,
    snapshots: BTreeMap<u64, Snapshot>,
    next_snapshot: u64,
    /// Per-block append log next to the state snapshot (with `--state-dir`).
    pub wal: Option<super::persist::Wal>,
    /// The log could not take a reorg or revert: the snapshot must be rewritten.
    pub snapshot_needed: bool,
    /// Id of the snapshot the write-ahead log extends.
    pub snapshot_id: u64,
    /// The oldest block whose state can be read (the undo log starts there).
    pub history_floor: u64,
    /// Keep the state of only this many recent blocks (`--prune-history`); all when None.
    pub keep_history: Option<u64>,
    /// New blocks, dropped blocks and pooled transactions, for WebSocket subscriptions.
    pub events: tokio::sync::broadcast::Sender<ChainEvent>,
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Chain {
    /// A fresh chain (tests; `spawn` goes through [`Chain::genesis_on`]).
    #[cfg(test)]
    pub(crate) fn genesis(
        rules: ChainRules,
        subtensor: Subtensor,
        dev_accounts: Vec<DevAccount>,
        balance: U256,
    ) -> Self {
        Self::genesis_on(rules, subtensor, dev_accounts, balance, Default::default())
    }

    /// Genesis over `base`: empty for a fresh chain, a remote chain in fork mode (the dev
    /// accounts' balances are set on top of whatever the remote has for them).
    pub(crate) fn genesis_on(
        rules: ChainRules,
        subtensor: Subtensor,
        dev_accounts: Vec<DevAccount>,
        balance: U256,
        base: super::fork::ForkDb,
    ) -> Self {
        // A fork keeps the remote's nonce and code of a dev account (a dev key may have deployed
        // the remote's contracts: resetting its nonce would re-create at their addresses).
        let remote: Vec<AccountInfo> = dev_accounts
            .iter()
            .map(|a| base.basic_ref(a.address).ok().flatten().unwrap_or_default())
            .collect();
        let mut db = StateDb::new(base);
        let mut mirrors = MirrorMap::new();
        for (account, remote) in dev_accounts.iter().zip(remote) {
            db.insert_account_info(account.address, AccountInfo { balance, ..remote });
            mirrors.insert(evm_mirror(account.address).0, account.address);
        }
        let timestamp = now_secs();
        let header = Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            state_root: keccak256(b"taonado-devnet genesis"),
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            gas_limit: rules.gas_limit,
            timestamp,
            base_fee_per_gas: Some(rules.base_fee as u64),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Header::default()
        };
        let hash = header.hash_slow();
        db.cache.block_hashes.insert(U256::ZERO, hash);
        let block = StoredBlock {
            header,
            hash,
            txs: Vec::new(),
            undo_mark: 0,
            subtensor_after: Some(Arc::new(subtensor.clone())),
        };
        Self::from_parts(
            rules,
            db,
            subtensor,
            vec![block],
            dev_accounts,
            TimeState::default(),
            mirrors,
        )
    }

    /// Rebuild indexes around restored state (genesis or a state-dir load).
    pub(crate) fn from_parts(
        rules: ChainRules,
        db: StateDb,
        subtensor: Subtensor,
        blocks: Vec<StoredBlock>,
        dev_accounts: Vec<DevAccount>,
        time: TimeState,
        mirrors: MirrorMap,
    ) -> Self {
        let mut chain = Self {
            rules,
            db,
            subtensor,
            blocks: Vec::new(),
            block_numbers: HashMap::new(),
            tx_locations: HashMap::new(),
            pool: Vec::new(),
            mirrors,
            time,
            impersonated: HashSet::new(),
            automine: true,
            dev_accounts,
            undo: Vec::new(),
            reorg_floor: 0,
            snapshots: BTreeMap::new(),
            next_snapshot: 0,
            wal: None,
            snapshot_needed: false,
            snapshot_id: 0,
            history_floor: 0,
            keep_history: None,
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
        };
        for block in blocks {
            chain.index_block(&block);
            chain.blocks.push(block);
        }
        chain.reorg_floor = chain.latest_number();
        if let Some(last) = chain.blocks.last_mut() {
            last.subtensor_after = Some(Arc::new(chain.subtensor.clone()));
        }
        chain
    }

    fn index_block(&mut self, block: &StoredBlock) {
        let number = block.header.number;
        self.block_numbers.insert(block.hash, number);
        for (index, tx) in block.txs.iter().enumerate() {
            self.tx_locations.insert(tx.hash, (number, index));
        }
        self.db
            .cache
            .block_hashes
            .insert(U256::from(number), block.hash);
    }

    pub(crate) fn latest(&self) -> &StoredBlock {
        // Invariant: genesis is always present.
        self.blocks
            .last()
            .expect("chain always has a genesis block")
    }

    pub(crate) fn latest_number(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    pub(crate) fn block(&self, number: u64) -> Option<&StoredBlock> {
        self.blocks.get(usize::try_from(number).ok()?)
    }

    pub(crate) fn block_by_hash(&self, hash: &B256) -> Option<&StoredBlock> {
        self.block_numbers.get(hash).and_then(|n| self.block(*n))
    }

    pub(crate) fn tx(&self, hash: &B256) -> Option<(&StoredBlock, usize, &StoredTx)> {
        let (number, index) = *self.tx_locations.get(hash)?;
        let block = self.block(number)?;
        Some((block, index, block.txs.get(index)?))
    }

    pub(crate) fn account(&self, address: Address) -> AccountInfo {
        // Only a fork fetch can fail; the failure reads as an empty account here and is
        // reported by the execution that needs the account.
        self.db
            .basic_ref(address)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub(crate) fn storage(&self, address: Address, slot: U256) -> U256 {
        self.db.storage_ref(address, slot).unwrap_or_default()
    }

    /// Nonce including the transactions waiting in the pool.
    pub(crate) fn pending_nonce(&self, address: Address) -> u64 {
        let queued = self.pool.iter().filter(|tx| tx.from == address).count() as u64;
        self.account(address).nonce + queued
    }

    /// Checks the EVM cannot word the way clients expect (the rest comes from revm).
    pub(crate) fn precheck(&self, tx: &PoolTx) -> Result<()> {
        let chain = self.rules.chain_id;
        if let Some(id) = tx.tx_env.chain_id
            && id != chain
        {
            return Err(DevnetError::WrongChainId {
                tx: Some(id),
                chain,
            });
        }
        if tx.tx_env.gas_limit > self.rules.gas_limit {
            return Err(DevnetError::GasLimitExceedsBlock {
                gas_limit: tx.tx_env.gas_limit,
                block_gas_limit: self.rules.gas_limit,
            });
        }
        if tx.tx_env.gas_price < self.rules.base_fee {
            return Err(DevnetError::FeeCapTooLow {
                max_fee: tx.tx_env.gas_price,
                base_fee: self.rules.base_fee,
            });
        }
        // geth's wording: "already known" only while the transaction waits in the pool;
        // once mined, its nonce is used, and clients map "nonce too low" to a typed error.
        if self.pool.iter().any(|p| p.hash == tx.hash) {
            return Err(DevnetError::AlreadyKnown(tx.hash));
        }
        if self.tx_locations.contains_key(&tx.hash) {
            return Err(DevnetError::NonceTooLow {
                tx: tx.tx_env.nonce,
                state: self.account(tx.from).nonce,
            });
        }
        Ok(())
    }

    fn next_timestamp(&self) -> u64 {
        if let Some(ts) = self.time.next_timestamp {
            return ts;
        }
        let now = now_secs().saturating_add_signed(self.time.offset_secs);
        now.max(self.latest().header.timestamp)
    }

    pub(crate) fn start_block(&self) -> BlockBuilder {
        let number = self.latest_number() + 1;
        BlockBuilder {
            number,
            timestamp: self.next_timestamp(),
            prevrandao: keccak256(number.to_be_bytes()),
            txs: Vec::new(),
            cumulative_gas: 0,
            log_index: 0,
            undo_mark: self.undo.len(),
            diffs: Vec::new(),
            mirrors: Vec::new(),
            subtensor_before: self.wal.as_ref().map(|_| self.subtensor.clone()),
        }
    }

    /// Execute `tx` on top of the state and append it to `block`. On error nothing changed.
    pub(crate) fn execute_into(&mut self, block: &mut BlockBuilder, tx: &PoolTx) -> Result<()> {
        let block_env = self
            .rules
            .block_env(block.number, block.timestamp, block.prevrandao);
        let gas_limit = tx.tx_env.gas_limit;
        // The EVM sees each account with its mirror's native rao (see `mirror`).
        let ledger = self.subtensor.take_native_ledger();
        let credits = MirrorCredits::new(&self.db, &ledger);
        let slot = SubtensorSlot::Exclusive {
            state: &mut self.subtensor,
            backup: None,
        };
        let outcome = exec::execute(
            &credits,
            self.rules.cfg(false),
            block_env,
            tx.tx_env.clone(),
            slot,
            &self.mirrors,
        );
        let claimed = credits.claimed();
        let (executed, mut slot) = match outcome {
            Ok(done) => done,
            Err(error) => {
                self.subtensor.return_native_ledger(ledger, &[]);
                return Err(match error {
                    DevnetError::InsufficientFunds { balance, cost, .. } => {
                        DevnetError::InsufficientFunds {
                            address: tx.from,
                            balance,
                            cost,
                        }
                    }
                    DevnetError::WrongChainId { .. } => DevnetError::WrongChainId {
                        tx: tx.tx_env.chain_id,
                        chain: self.rules.chain_id,
                    },
                    other => other,
                });
            }
        };
        let Executed {
            result,
            mut state,
            dispatch_error,
            new_mirrors,
        } = executed;
        let success = result.is_success();
        if !success {
            slot.restore();
        }
        drop(slot);
        let effective_gas_price = tx
            .envelope
            .effective_gas_price(Some(self.rules.base_fee as u64));
        let mut gas_used = result.tx_gas_used();
        let dispatch_error = if success { None } else { dispatch_error };
        if dispatch_error.is_some() && gas_used < gas_limit {
            // Subtensor consumes the whole gas limit of a transaction halted by a pallet
            // error; revm only consumed the precompile frame's share, so charge the rest.
            let extra = U256::from(gas_limit - gas_used) * U256::from(effective_gas_price);
            if let Some(sender) = state.get_mut(&tx.from) {
                sender.info.balance = sender.info.balance.saturating_sub(extra);
            }
            gas_used = gas_limit;
        }
        let logs = result.logs().to_vec();
        self.record_undo(&state);
        let touched: Vec<TouchedAccount> = if self.wal.is_some() {
            state
                .iter()
                .filter(|(_, account)| account.is_touched())
                .map(|(address, account)| {
                    let slots = account
                        .storage
                        .iter()
                        .filter(|(_, slot)| slot.is_changed())
                        .map(|(key, slot)| (*key, slot.present_value()))
                        .collect();
                    (*address, account.is_created(), slots)
                })
                .collect()
        } else {
            Vec::new()
        };
        // A committed account now holds its mirror's rao; one that was only read keeps the
        // credit pending in the ledger.
        let settled: Vec<taonado_types::AccountId32> = claimed
            .iter()
            .filter(|(address, _)| state.get(address).is_some_and(|a| a.is_touched()))
            .map(|(_, mirror)| *mirror)
            .collect();
        self.db.commit(state);
        self.subtensor.return_native_ledger(ledger, &settled);
        for (address, created, slots) in touched {
            if let Some(account) = self.db.cache.accounts.get(&address) {
                let mut info = account.info.clone();
                if !created {
                    // Code only changes at creation; the log carries it once, by hash after.
                    info.code = None;
                }
                block.diffs.push(AccountDiff {
                    address,
                    info,
                    account_state: account.account_state.clone(),
                    slots,
                });
            }
        }
        for (mirror, address) in new_mirrors {
            let replaced = self.mirrors.insert(mirror, address);
            if replaced != Some(address) {
                block.mirrors.push((mirror, address, replaced));
            }
        }
        let mut known = |address: Address| {
            let mirror = evm_mirror(address).0;
            if let std::collections::hash_map::Entry::Vacant(entry) = self.mirrors.entry(mirror) {
                entry.insert(address);
                block.mirrors.push((mirror, address, None));
            }
        };
        known(tx.from);
        if let TxKind::Call(to) = tx.tx_env.kind {
            known(to);
        }
        let contract_address = match tx.tx_env.kind {
            TxKind::Create => Some(tx.from.create(tx.tx_env.nonce)),
            TxKind::Call(_) => None,
        };
        let mut logs_bloom = Bloom::default();
        for log in &logs {
            logs_bloom.accrue_log(log);
        }
        block.cumulative_gas += gas_used;
        let receipt = StoredReceipt {
            status: success,
            gas_used,
            cumulative_gas_used: block.cumulative_gas,
            effective_gas_price,
            contract_address,
            first_log_index: block.log_index,
            logs,
            logs_bloom,
            dispatch_error,
        };
        block.log_index += receipt.logs.len() as u64;
        block.txs.push(StoredTx {
            hash: tx.hash,
            from: tx.from,
            envelope: tx.envelope.clone(),
            impersonated: tx.impersonated,
            receipt,
        });
        Ok(())
    }

    /// Seal `block`, run the subtensor block hook, return its number.
    pub(crate) fn seal(&mut self, block: BlockBuilder) -> Result<u64> {
        let parent = self.latest();
        let mut logs_bloom = Bloom::default();
        for tx in &block.txs {
            logs_bloom.accrue_bloom(&tx.receipt.logs_bloom);
        }
        let (transactions_root, receipts_root) = if block.txs.is_empty() {
            (EMPTY_ROOT_HASH, EMPTY_ROOT_HASH)
        } else {
            let mut tx_bytes = Vec::with_capacity(block.txs.len() * 32);
            let mut receipt_bytes = Vec::with_capacity(block.txs.len() * 41);
            for tx in &block.txs {
                tx_bytes.extend_from_slice(tx.hash.as_slice());
                receipt_bytes.extend_from_slice(tx.hash.as_slice());
                receipt_bytes.push(tx.receipt.status as u8);
                receipt_bytes.extend_from_slice(&tx.receipt.cumulative_gas_used.to_be_bytes());
            }
            (keccak256(tx_bytes), keccak256(receipt_bytes))
        };
        let mut state_seed = parent.header.state_root.to_vec();
        state_seed.extend_from_slice(transactions_root.as_slice());
        state_seed.extend_from_slice(&(self.undo.len() as u64).to_be_bytes());
        let header = Header {
            parent_hash: parent.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root: keccak256(state_seed),
            transactions_root,
            receipts_root,
            logs_bloom,
            difficulty: U256::ZERO,
            number: block.number,
            gas_limit: self.rules.gas_limit,
            gas_used: block.cumulative_gas,
            timestamp: block.timestamp,
            extra_data: Bytes::new(),
            mix_hash: block.prevrandao,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(self.rules.base_fee as u64),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: None,
            ..Header::default()
        };
        let hash = header.hash_slow();
        let number = block.number;
        let time_before = self.time;
        self.time.next_timestamp = None;
        self.subtensor.on_block(number);
        let stored = StoredBlock {
            header,
            hash,
            txs: block.txs,
            undo_mark: block.undo_mark,
            subtensor_after: Some(Arc::new(self.subtensor.clone())),
        };
        if let Some(wal) = &mut self.wal {
            let mirrors: Vec<_> = block.mirrors.iter().map(|(m, a, _)| (*m, *a)).collect();
            let change = WalChange {
                block: Some(&stored),
                diffs: &block.diffs,
                mirrors: &mirrors,
                ..WalChange::new(&self.subtensor, self.time)
            };
            if let Err(error) = wal.append(&change) {
                // Not on disk, so not acknowledged: undo the block and fail the request.
                self.rollback_to(block.undo_mark);
                for (mirror, _, replaced) in block.mirrors.into_iter().rev() {
                    match replaced {
                        Some(previous) => self.mirrors.insert(mirror, previous),
                        None => self.mirrors.remove(&mirror),
                    };
                }
                if let Some(subtensor) = block.subtensor_before {
                    self.subtensor = subtensor;
                }
                self.time = time_before;
                tracing::error!(%error, number, "cannot log the block; its transactions are not accepted");
                return Err(error);
            }
        }
        self.index_block(&stored);
        self.blocks.push(stored);
        // No subscriber is not an error.
        let _ = self.events.send(ChainEvent::Block(number));
        if let Some(old) = number
            .checked_sub(SUBTENSOR_HISTORY)
            .and_then(|n| self.blocks.get_mut(n as usize))
        {
            old.subtensor_after = None;
        }
        if let Some(keep) = self.keep_history
            && number.is_multiple_of(PRUNE_EVERY)
        {
            self.prune_history(keep);
        }
        Ok(number)
    }

    /// Drop the history older than the last `keep` blocks (never less than a reorg can
    /// reach): the undo entries before it, and the snapshots that would need them.
    pub(crate) fn prune_history(&mut self, keep: u64) {
        let latest = self.latest_number();
        let floor = latest.saturating_sub(keep.max(SUBTENSOR_HISTORY));
        if floor <= self.history_floor {
            return;
        }
        let Some(mark) = self.blocks.get(floor as usize + 1).map(|b| b.undo_mark) else {
            return;
        };
        let mark = mark.min(self.undo.len());
        self.undo.drain(..mark);
        for block in &mut self.blocks[floor as usize + 1..] {
            block.undo_mark -= mark;
        }
        self.snapshots
            .retain(|_, snapshot| snapshot.undo_mark >= mark);
        for snapshot in self.snapshots.values_mut() {
            snapshot.undo_mark -= mark;
        }
        self.reorg_floor = self.reorg_floor.max(floor);
        self.history_floor = floor;
        tracing::debug!(floor, dropped = mark, "history pruned");
    }

    /// Mine one block from the pool (in order; what does not fit waits, invalid txs are
    /// dropped with a warning). Returns the block number. When the block cannot be logged,
    /// the pool is left as it was.
    pub(crate) fn mine_pool_block(&mut self) -> Result<u64> {
        let mut block = self.start_block();
        let pool = std::mem::take(&mut self.pool);
        let mut left = Vec::new();
        for tx in &pool {
            if block.cumulative_gas + tx.tx_env.gas_limit > self.rules.gas_limit {
                left.push(tx.clone());
                continue;
            }
            if let Err(error) = self.execute_into(&mut block, tx) {
                tracing::warn!(hash = %tx.hash, %error, "dropping pooled transaction");
            }
        }
        match self.seal(block) {
            Ok(number) => {
                self.pool = left;
                Ok(number)
            }
            Err(error) => {
                self.pool = pool;
                Err(error)
            }
        }
    }

    fn record_undo(&mut self, state: &EvmState) {
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            let prior = prior_of(&self.db, *address);
            let slots = account
                .storage
                .iter()
                .filter(|(_, slot)| slot.is_changed())
                .map(|(key, slot)| (*key, slot.original_value()))
                .collect();
            self.undo.push(UndoEntry::Account {
                address: *address,
                prior,
                slots,
            });
        }
    }

    /// Remember an account before a dev method changes it; returns the undo mark before.
    fn record_account_undo(&mut self, address: Address, slots: Vec<(U256, U256)>) -> usize {
        let mark = self.undo.len();
        let prior = prior_of(&self.db, address);
        self.undo.push(UndoEntry::Account {
            address,
            prior,
            slots,
        });
        mark
    }

    /// Undo the log back to `mark`; returns the accounts (and slots) it restored.
    fn rollback_to(&mut self, mark: usize) -> HashMap<Address, Vec<U256>> {
        let mut touched: HashMap<Address, Vec<U256>> = HashMap::new();
        while self.undo.len() > mark {
            let Some(UndoEntry::Account {
                address,
                prior,
                slots,
            }) = self.undo.pop()
            else {
                break;
            };
            touched
                .entry(address)
                .or_default()
                .extend(slots.iter().map(|(key, _)| *key));
            match prior {
                None => {
                    self.db.cache.accounts.remove(&address);
                }
                Some((info, account_state)) => {
                    let account = self
                        .db
                        .cache
                        .accounts
                        .entry(address)
                        .or_insert_with(DbAccount::new_not_existing);
                    account.info = info;
                    account.account_state = account_state;
                    for (key, value) in slots {
                        account.storage.insert(key, value);
                    }
                }
            }
        }
        touched
    }

    /// The current values of `touched` accounts and slots, as log records: the accounts
    /// that exist, and those that do not.
    fn current_values(
        &self,
        touched: HashMap<Address, Vec<U256>>,
    ) -> (Vec<AccountDiff>, Vec<Address>) {
        let mut diffs = Vec::new();
        let mut removed = Vec::new();
        for (address, keys) in touched {
            match self.db.cache.accounts.get(&address) {
                None => removed.push(address),
                Some(account) => diffs.push(AccountDiff {
                    address,
                    info: account.info.clone(),
                    account_state: account.account_state.clone(),
                    slots: keys
                        .into_iter()
                        .map(|key| (key, account.storage.get(&key).copied().unwrap_or_default()))
                        .collect(),
                }),
            }
        }
        (diffs, removed)
    }

    /// Log what undo entries since `mark` changed (a dev method); when the log cannot
    /// take it, undo the change and fail.
    fn log_change_since(&mut self, mark: usize, subtensor_before: Option<Subtensor>) -> Result<()> {
        self.log_change_since_with(mark, subtensor_before, &[])
    }

    /// [`Self::log_change_since`], with mirror addresses the change taught the chain.
    fn log_change_since_with(
        &mut self,
        mark: usize,
        subtensor_before: Option<Subtensor>,
        mirrors: &[([u8; 32], Address)],
    ) -> Result<()> {
        if self.wal.is_none() {
            return Ok(());
        }
        let mut touched: HashMap<Address, Vec<U256>> = HashMap::new();
        for entry in &self.undo[mark.min(self.undo.len())..] {
            let UndoEntry::Account { address, slots, .. } = entry;
            touched
                .entry(*address)
                .or_default()
                .extend(slots.iter().map(|(key, _)| *key));
        }
        let (diffs, removed) = self.current_values(touched);
        let change = WalChange {
            diffs: &diffs,
            removed: &removed,
            mirrors,
            ..WalChange::new(&self.subtensor, self.time)
        };
        let appended = match &mut self.wal {
            Some(wal) => wal.append(&change),
            None => Ok(()),
        };
        if let Err(error) = appended {
            self.rollback_to(mark);
            if let Some(subtensor) = subtensor_before {
                self.subtensor = subtensor;
            }
            return Err(error);
        }
        Ok(())
    }

    /// Log a reorg or revert to `target` (blocks dropped, `touched` restored). The change
    /// cannot be undone, so a log that refuses it makes the next dev call rewrite the
    /// snapshot instead.
    fn log_truncation(
        &mut self,
        target: u64,
        touched: HashMap<Address, Vec<U256>>,
        pool_cleared: bool,
    ) {
        if self.wal.is_none() {
            return;
        }
        let (diffs, removed) = self.current_values(touched);
        let change = WalChange {
            truncate_to: Some(target),
            diffs: &diffs,
            removed: &removed,
            pool_cleared,
            ..WalChange::new(&self.subtensor, self.time)
        };
        if let Some(wal) = &mut self.wal
            && let Err(error) = wal.append(&change)
        {
            tracing::warn!(%error, "cannot log the reorg; the snapshot will be rewritten");
            self.snapshot_needed = true;
        }
    }

    /// Move TAO that a 0x800 transfer credited to `address`'s SS58 mirror (while the chain
    /// did not yet know `address`, so it went to the native ledger) onto its EVM balance:
    /// on Bittensor the two are one account. Later transfers to that mirror credit the EVM
    /// balance directly.
    pub(crate) fn claim_mirror_credit(&mut self, address: Address) -> Result<()> {
        let mirror = evm_mirror(address);
        if self.subtensor.native_balance(&mirror).0 == 0 {
            return Ok(());
        }
        let before = self.wal.as_ref().map(|_| self.subtensor.clone());
        let mark = self.record_account_undo(address, Vec::new());
        let credit = self.subtensor.take_native_balance(&mirror);
        let mut info = self.account(address);
        info.balance = info
            .balance
            .saturating_add(taonado_types::rao_to_wei(credit));
        self.db.insert_account_info(address, info);
        let learned = self.mirrors.insert(mirror.0, address).is_none();
        let mirrors = if learned {
            vec![(mirror.0, address)]
        } else {
            Vec::new()
        };
        if let Err(error) = self.log_change_since_with(mark, before, &mirrors) {
            if learned {
                self.mirrors.remove(&mirror.0);
            }
            return Err(error);
        }
        tracing::debug!(%address, rao = credit.0, "mirror credit moved to the EVM balance");
        Ok(())
    }

    /// Log a time control change; when the log cannot take it, keep the old time and fail.
    pub(crate) fn set_time(&mut self, time: TimeState) -> Result<()> {
        let before = self.time;
        self.time = time;
        if let Some(wal) = &mut self.wal
            && let Err(error) = wal.append(&WalChange::new(&self.subtensor, self.time))
        {
            self.time = before;
            return Err(error);
        }
        Ok(())
    }

    /// Put a validated transaction in the pool, logged first.
    pub(crate) fn add_to_pool(&mut self, tx: PoolTx) -> Result<()> {
        self.pool_with(tx, None)
    }

    /// Replace the pending transaction of the same sender and nonce, as geth does: only
    /// when both fee caps are at least 10% higher ("replacement transaction underpriced"
    /// otherwise). Returns false when there is no such pending transaction.
    pub(crate) fn replace_in_pool(&mut self, tx: PoolTx) -> Result<bool> {
        let Some(pending) = self
            .pool
            .iter()
            .find(|p| p.from == tx.from && p.tx_env.nonce == tx.tx_env.nonce)
        else {
            return Ok(false);
        };
        let bumped = |new: u128, old: u128| new.saturating_mul(100) >= old.saturating_mul(110);
        let new_tip = tx.tx_env.gas_priority_fee.unwrap_or(tx.tx_env.gas_price);
        let old_tip = pending
            .tx_env
            .gas_priority_fee
            .unwrap_or(pending.tx_env.gas_price);
        if !bumped(tx.tx_env.gas_price, pending.tx_env.gas_price) || !bumped(new_tip, old_tip) {
            return Err(DevnetError::ReplacementUnderpriced);
        }
        let replaced = pending.hash;
        self.pool_with(tx, Some(replaced))?;
        Ok(true)
    }

    fn pool_with(&mut self, tx: PoolTx, replaced: Option<B256>) -> Result<()> {
        let hash = tx.hash;
        if let Some(wal) = &mut self.wal {
            wal.append(&WalChange {
                pooled: Some(&tx),
                unpooled: replaced,
                ..WalChange::new(&self.subtensor, self.time)
            })?;
        }
        match replaced.and_then(|hash| self.pool.iter().position(|p| p.hash == hash)) {
            // Same place in the queue: the nonce order of the pool is kept.
            Some(index) => self.pool[index] = tx,
            None => self.pool.push(tx),
        }
        let _ = self.events.send(ChainEvent::Pending(hash));
        Ok(())
    }

    /// Drop every block above `target`.
    fn truncate_to(&mut self, target: u64) {
        let mut dropped = Vec::new();
        while self.latest_number() > target {
            let Some(block) = self.blocks.pop() else {
                break;
            };
            self.block_numbers.remove(&block.hash);
            self.db
                .cache
                .block_hashes
                .remove(&U256::from(block.header.number));
            for tx in &block.txs {
                self.tx_locations.remove(&tx.hash);
            }
            dropped.push(block);
        }
        self.snapshots
            .retain(|_, snapshot| snapshot.block <= target);
        if !dropped.is_empty() {
            let _ = self.events.send(ChainEvent::Dropped(Arc::new(dropped)));
        }
    }

    /// `taonado_reorg(depth)`: drop the last `depth` blocks and their state changes.
    pub(crate) fn reorg(&mut self, depth: u64) -> Result<u64> {
        let latest = self.latest_number();
        let floor = self
            .reorg_floor
            .max(latest.saturating_sub(SUBTENSOR_HISTORY - 1));
        let target = latest
            .checked_sub(depth)
            .filter(|t| *t >= floor)
            .ok_or(DevnetError::ReorgTooDeep { depth, floor })?;
        if depth == 0 {
            return Ok(latest);
        }
        let subtensor = self
            .block(target)
            .and_then(|b| b.subtensor_after.clone())
            .ok_or(DevnetError::ReorgTooDeep { depth, floor })?;
        let mark = self.blocks[target as usize + 1].undo_mark;
        let touched = self.rollback_to(mark);
        self.truncate_to(target);
        self.subtensor = (*subtensor).clone();
        self.log_truncation(target, touched, false);
        Ok(target)
    }

    pub(crate) fn snapshot(&mut self) -> u64 {
        // Each snapshot keeps a copy of the subtensor state: bound them (100k took 472 MB).
        // The oldest goes first; reverting to it then answers false, as for a used one.
        while self.snapshots.len() >= MAX_SNAPSHOTS {
            self.snapshots.pop_first();
        }
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.insert(
            id,
            Snapshot {
                block: self.latest_number(),
                undo_mark: self.undo.len(),
                subtensor: self.subtensor.clone(),
                time: self.time,
            },
        );
        id
    }

    /// `evm_revert`: false when the snapshot is unknown (already used or dropped).
    pub(crate) fn revert(&mut self, id: u64) -> bool {
        let Some(snapshot) = self.snapshots.remove(&id) else {
            return false;
        };
        self.snapshots.retain(|other, _| *other < id);
        let touched = self.rollback_to(snapshot.undo_mark);
        self.truncate_to(snapshot.block);
        self.subtensor = snapshot.subtensor;
        self.time = snapshot.time;
        self.pool.clear();
        self.log_truncation(snapshot.block, touched, true);
        true
    }

    pub(crate) fn set_balance(&mut self, address: Address, balance: U256) -> Result<()> {
        let mark = self.record_account_undo(address, Vec::new());
        let mut info = self.account(address);
        info.balance = balance;
        self.db.insert_account_info(address, info);
        self.log_change_since(mark, None)
    }

    pub(crate) fn set_nonce(&mut self, address: Address, nonce: u64) -> Result<()> {
        let mark = self.record_account_undo(address, Vec::new());
        let mut info = self.account(address);
        info.nonce = nonce;
        self.db.insert_account_info(address, info);
        self.log_change_since(mark, None)
    }

    pub(crate) fn set_code(&mut self, address: Address, code: Bytes) -> Result<()> {
        let mark = self.record_account_undo(address, Vec::new());
        let mut info = self.account(address);
        let bytecode = Bytecode::new_raw(code);
        info.code_hash = bytecode.hash_slow();
        info.code = Some(bytecode);
        self.db.insert_account_info(address, info);
        self.log_change_since(mark, None)
    }

    pub(crate) fn set_storage(&mut self, address: Address, slot: U256, value: U256) -> Result<()> {
        let old = self.storage(address, slot);
        let mark = self.record_account_undo(address, vec![(slot, old)]);
        let _ = self.db.insert_account_storage(address, slot, value);
        self.log_change_since(mark, None)
    }

    /// The state at the end of block `number` (the latest when `number` is the head or
    /// beyond), read through the undo log.
    pub(crate) fn state_at(&self, number: u64) -> Result<StateAt<'_>> {
        let latest = self.latest_number();
        if number >= latest {
            return Ok(StateAt {
                db: &self.db,
                later: &[],
            });
        }
        if number < self.history_floor {
            return Err(DevnetError::HistoricalState {
                requested: number,
                floor: self.history_floor,
            });
        }
        let mark = self.blocks[number as usize + 1].undo_mark;
        Ok(StateAt {
            db: &self.db,
            later: &self.undo[mark.min(self.undo.len())..],
        })
    }

    /// Run a read-only call against the state at block `number` (and a throwaway clone of
    /// the subtensor state of then, when it is still kept, else of now).
    pub(crate) fn call(
        &self,
        request: &CallRequest,
        gas_limit: u64,
        number: u64,
    ) -> Result<Executed> {
        self.call_with(
            request,
            gas_limit,
            number,
            |state, cfg, block, tx, slot, mirrors| {
                exec::execute(state, cfg, block, tx, slot, mirrors).map(|(executed, _)| executed)
            },
        )
    }

    /// [`Chain::call`] within `budget` (see `backend::budget`): `None` when the budget ran
    /// out, and the call must run again unwatched.
    pub(crate) fn call_within(
        &self,
        request: &CallRequest,
        gas_limit: u64,
        number: u64,
        budget: InlineBudget,
    ) -> Result<Option<Executed>> {
        self.call_with(
            request,
            gas_limit,
            number,
            |state, cfg, block, tx, slot, mirrors| {
                let (executed, inspector) = exec::execute_inspected(
                    state,
                    cfg,
                    block,
                    tx,
                    slot,
                    mirrors,
                    BudgetInspector::new(budget),
                )?;
                Ok((!inspector.exhausted()).then_some(executed))
            },
        )
    }

    /// The environment of a call at block `number` (its state, block, the sender's nonce,
    /// the subtensor state then), handed to `run`.
    fn call_with<T>(
        &self,
        request: &CallRequest,
        gas_limit: u64,
        number: u64,
        run: impl FnOnce(
            &MirrorCredits<'_, StateAt<'_>>,
            revm::context::CfgEnv,
            revm::context::BlockEnv,
            revm::context::TxEnv,
            SubtensorSlot<'_>,
            &MirrorMap,
        ) -> Result<T>,
    ) -> Result<T> {
        let state = self.state_at(number)?;
        let block = self.block(number).unwrap_or_else(|| self.latest());
        let mut block_env = self.rules.block_env(
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
        let tx = request.tx_env(gas_limit, nonce, self.rules.chain_id);
        let subtensor = match &block.subtensor_after {
            Some(then) if number < self.latest_number() => then.as_ref(),
            _ => &self.subtensor,
        };
        let slot = SubtensorSlot::Shared {
            base: subtensor,
            scratch: None,
        };
        run(
            &MirrorCredits::new(&state, subtensor.native_ledger()),
            self.rules.cfg(true),
            block_env,
            tx,
            slot,
            &self.mirrors,
        )
    }

    /// Check a pooled transaction would execute on the latest state (ignoring the pool).
    pub(crate) fn validate(&self, tx: &PoolTx) -> Result<()> {
        let latest = self.latest();
        let block_env = self.rules.block_env(
            latest.header.number + 1,
            self.next_timestamp(),
            latest.header.mix_hash,
        );
        let mut tx_env = tx.tx_env.clone();
        tx_env.nonce = self.account(tx.from).nonce;
        let slot = SubtensorSlot::Shared {
            base: &self.subtensor,
            scratch: None,
        };
        exec::execute(
            &self.db,
            self.rules.cfg(false),
            block_env,
            tx_env,
            slot,
            &self.mirrors,
        )
        .map(|_| ())
        .map_err(|error| match error {
            DevnetError::InsufficientFunds { balance, cost, .. } => {
                DevnetError::InsufficientFunds {
                    address: tx.from,
                    balance,
                    cost,
                }
            }
            other => other,
        })
    }

    pub(crate) fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Log what a `subtensor_*` dev method changed (EVM balances since undo entry `mark`,
    /// and the subtensor state) to the write-ahead log.
    pub(crate) fn log_dev_change(
        &mut self,
        mark: usize,
        subtensor_before: Option<Subtensor>,
    ) -> Result<()> {
        self.log_change_since(mark, subtensor_before)
    }

    /// Whether changes are logged (then callers keep what they need to undo one).
    pub(crate) fn is_logged(&self) -> bool {
        self.wal.is_some()
    }

    /// A host for `subtensor_*` dev methods: changes the latest EVM state directly.
    pub(crate) fn rpc_host_and_subtensor(&mut self) -> (DbHost<'_>, &mut Subtensor, u64) {
        let number = self.latest_number();
        (
            DbHost {
                db: &mut self.db,
                undo: &mut self.undo,
                mirrors: &self.mirrors,
            },
            &mut self.subtensor,
            number,
        )
    }
}

/// An account as the undo log keeps it: without its code, which stays in the code table
/// (so a long history does not repeat contract code).
fn prior_of(db: &StateDb, address: Address) -> Option<(AccountInfo, AccountState)> {
    db.cache.accounts.get(&address).map(|a| {
        let mut info = a.info.clone();
        info.code = None;
        (info, a.account_state.clone())
    })
}

/// [`EvmHost`] over the committed state, for dev methods outside any transaction.
pub(crate) struct DbHost<'a> {
    db: &'a mut StateDb,
    undo: &'a mut Vec<UndoEntry>,
    mirrors: &'a MirrorMap,
}

impl DbHost<'_> {
    /// Set `address`'s balance, recording the old account for undo.
    fn set_balance(&mut self, address: Address, balance: U256) {
        let prior = prior_of(self.db, address);
        self.undo.push(UndoEntry::Account {
            address,
            prior,
            slots: Vec::new(),
        });
        let mut info = self
            .db
            .basic_ref(address)
            .ok()
            .flatten()
            .unwrap_or_default();
        info.balance = balance;
        self.db.insert_account_info(address, info);
    }
}

impl EvmHost for DbHost<'_> {
    fn balance(&mut self, address: Address) -> U256 {
        self.db
            .basic_ref(address)
            .ok()
            .flatten()
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    fn transfer(&mut self, from: Address, to: Address, amount: U256) -> Result<(), String> {
        if self.balance(from) < amount {
            return Err(format!(
                "insufficient balance in {from} to move {amount} wei"
            ));
        }
        self.burn(from, amount)?;
        self.mint(to, amount);
        Ok(())
    }

    fn burn(&mut self, from: Address, amount: U256) -> Result<(), String> {
        if self.balance(from) < amount {
            return Err(format!(
                "insufficient balance in {from} to burn {amount} wei"
            ));
        }
        let balance = self.balance(from) - amount;
        self.set_balance(from, balance);
        Ok(())
    }

    fn mint(&mut self, to: Address, amount: U256) {
        let balance = self.balance(to).saturating_add(amount);
        self.set_balance(to, balance);
    }

    fn h160_for_mirror(&self, account: &[u8; 32]) -> Option<Address> {
        self.mirrors.get(account).copied()
    }
}
