//! `--state-dir` persistence: a JSON snapshot (`chain.json`) of EVM state, blocks with
//! receipts and logs, subtensor state, time controls and the pool, plus a write-ahead log
//! (`chain.wal`) of every change since that snapshot.
//!
//! The log starts with a header naming the snapshot it extends (`id`), then holds framed
//! records: `[u32 length][u32 crc32c][JSON]`, little-endian. A record is a sealed block
//! (with the accounts it changed), a dev method's change (`anvil_set*`, `subtensor_*`,
//! time), a pooled transaction, or a reorg/revert (blocks dropped, accounts restored).
//! So no dev method rewrites the snapshot (that took 2.2 s at 300k blocks).
//!
//! Invariants:
//! - A record is appended before its change is acknowledged; a failed append undoes the
//!   change and fails the request ("no acknowledged transaction lost"). A partly written
//!   record is cut off again at once.
//! - Replay stops at the first record whose length or checksum does not hold (a tear from
//!   a kill mid-write), and the file is truncated there before anything is appended, so a
//!   torn tail never swallows later records.
//! - The snapshot is written at start (if missing), on clean shutdown and by
//!   `taonado_dumpState`, atomically (temp file, fsync, rename), with a new id; then the log
//!   restarts with that id. A log whose header names another snapshot is stale (a kill
//!   between the rename and the restart) and is ignored: its records are in the snapshot.
//! - Records are not fsynced: a killed process loses nothing, a power loss can lose the
//!   last records.

use std::{
    fs,
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, B256};
use crc::{CRC_32_ISCSI, Crc, Table};
use serde::{Deserialize, Serialize};

use super::{
    chain::{AccountDiff, Chain, PoolTx, StoredBlock, TimeState, UndoEntry},
    exec::{self, ChainRules, StateDb},
    precompiles::MirrorMap,
};
use crate::{
    config::DevAccount,
    error::{DevnetError, Result},
    subtensor::Subtensor,
};

const FILE: &str = "chain.json";
const WAL_FILE: &str = "chain.wal";
const FORMAT: u32 = 1;
/// First bytes of a framed log; followed by the snapshot id (u64 LE).
const WAL_MAGIC: &[u8; 8] = b"TAOWAL02";
const WAL_HEADER_LEN: u64 = 16;
/// Length + checksum before each record.
const FRAME_LEN: usize = 8;
/// A record longer than this is a corrupt length, not a record (blocks are < 64 MiB).
const MAX_RECORD: u32 = 1 << 30;
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

#[derive(Serialize)]
struct SavedRef<'a> {
    format: u32,
    id: u64,
    chain_id: u64,
    time: TimeState,
    db: &'a StateDb,
    subtensor: &'a Subtensor,
    mirrors: Vec<(&'a [u8; 32], &'a Address)>,
    blocks: &'a [StoredBlock],
    pool: Vec<SavedPoolTx>,
    /// The history of the state (previous values), so old blocks stay readable.
    undo: &'a [UndoEntry],
    history_floor: u64,
}

#[derive(Deserialize)]
struct Saved {
    format: u32,
    /// Absent in snapshots written before the framed log (they pair with a JSON-lines log).
    #[serde(default)]
    id: u64,
    chain_id: u64,
    time: TimeState,
    db: StateDb,
    subtensor: Subtensor,
    mirrors: Vec<([u8; 32], Address)>,
    blocks: Vec<StoredBlock>,
    #[serde(default)]
    pool: Vec<SavedPoolTx>,
    #[serde(default)]
    undo: Vec<UndoEntry>,
    /// Absent in snapshots without history: then it starts at their last block.
    #[serde(default)]
    history_floor: Option<u64>,
}

/// A pending transaction as stored (the execution environment is derived again).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SavedPoolTx {
    hash: B256,
    from: Address,
    envelope: TxEnvelope,
    impersonated: bool,
}

impl From<&PoolTx> for SavedPoolTx {
    fn from(tx: &PoolTx) -> Self {
        Self {
            hash: tx.hash,
            from: tx.from,
            envelope: tx.envelope.clone(),
            impersonated: tx.impersonated,
        }
    }
}

impl From<SavedPoolTx> for PoolTx {
    fn from(saved: SavedPoolTx) -> Self {
        let tx_env = exec::tx_env_from_envelope(&saved.envelope, saved.from);
        Self {
            hash: saved.hash,
            from: saved.from,
            envelope: saved.envelope,
            impersonated: saved.impersonated,
            tx_env,
        }
    }
}

/// One change to log. Built by the chain with [`WalChange::new`] and the fields it needs.
pub(crate) struct WalChange<'a> {
    /// Drop the blocks above this number first (reorg, `evm_revert`).
    pub truncate_to: Option<u64>,
    pub block: Option<&'a StoredBlock>,
    pub diffs: &'a [AccountDiff],
    /// Accounts that no longer exist (a revert of their creation).
    pub removed: &'a [Address],
    pub mirrors: &'a [([u8; 32], Address)],
    pub pooled: Option<&'a PoolTx>,
    /// A pending transaction taken out of the pool (replaced by `pooled`).
    pub unpooled: Option<B256>,
    pub pool_cleared: bool,
    pub subtensor: &'a Subtensor,
    pub time: TimeState,
}

impl<'a> WalChange<'a> {
    pub(crate) fn new(subtensor: &'a Subtensor, time: TimeState) -> Self {
        Self {
            truncate_to: None,
            block: None,
            diffs: &[],
            removed: &[],
            mirrors: &[],
            pooled: None,
            unpooled: None,
            pool_cleared: false,
            subtensor,
            time,
        }
    }
}

/// The record as written, minus the subtensor state (spliced in as raw JSON, and only when
/// it changed).
#[derive(Serialize)]
struct RecordRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    truncate_to: Option<u64>,
    block: Option<&'a StoredBlock>,
    diffs: &'a [AccountDiff],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    removed: &'a [Address],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    mirrors: &'a [([u8; 32], Address)],
    #[serde(skip_serializing_if = "Option::is_none")]
    pooled: Option<SavedPoolTx>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unpooled: Option<B256>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pool_cleared: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<TimeState>,
}

/// One record of the log (owned, for replay). Every field is optional so that the
/// JSON-lines records of the previous format read as well.
#[derive(Deserialize)]
struct WalRecord {
    #[serde(default)]
    truncate_to: Option<u64>,
    #[serde(default)]
    block: Option<StoredBlock>,
    #[serde(default)]
    diffs: Vec<AccountDiff>,
    #[serde(default)]
    removed: Vec<Address>,
    #[serde(default)]
    mirrors: Vec<([u8; 32], Address)>,
    #[serde(default)]
    pooled: Option<SavedPoolTx>,
    #[serde(default)]
    unpooled: Option<B256>,
    #[serde(default)]
    pool_cleared: bool,
    #[serde(default)]
    subtensor: Option<Subtensor>,
    #[serde(default)]
    time: Option<TimeState>,
}

/// Append-only log of every change since the last snapshot.
#[derive(Debug)]
pub(crate) struct Wal {
    path: PathBuf,
    file: fs::File,
    /// Bytes of whole records (and the header): where the next record goes.
    len: u64,
    /// A failed append could not be cut off again: the file's end is unknown, so nothing
    /// more may be appended (every change fails until a restart).
    broken: bool,
    /// Subtensor JSON of the last record that carried it (unchanged state is not repeated).
    last_subtensor: String,
    last_time: TimeState,
}

impl Wal {
    /// Open the log that extends `chain`'s snapshot, or start one.
    pub(crate) fn open(dir: &Path, chain: &Chain) -> Result<Self> {
        let path = dir.join(WAL_FILE);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        let len = file.metadata().map_err(io_error(&path))?.len();
        let mut header = [0u8; WAL_HEADER_LEN as usize];
        let extends_snapshot = len >= WAL_HEADER_LEN
            && file.read_exact(&mut header).is_ok()
            && parse_header(&header) == Some(chain.snapshot_id);
        let mut wal = Self {
            last_subtensor: serde_json::to_string(&chain.subtensor).unwrap_or_default(),
            last_time: chain.time,
            path,
            file,
            len,
            broken: false,
        };
        if !extends_snapshot {
            wal.restart(chain.snapshot_id)?;
        }
        Ok(wal)
    }

    /// Empty the log and name the snapshot it now extends.
    fn restart(&mut self, snapshot_id: u64) -> Result<()> {
        let path = self.path.clone();
        self.file.set_len(0).map_err(io_error(&path))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_error(&path))?;
        let mut header = Vec::with_capacity(WAL_HEADER_LEN as usize);
        header.extend_from_slice(WAL_MAGIC);
        header.extend_from_slice(&snapshot_id.to_le_bytes());
        self.file.write_all(&header).map_err(io_error(&path))?;
        self.len = WAL_HEADER_LEN;
        self.broken = false;
        Ok(())
    }

    /// Log one change; a change that changed nothing is not written. On error nothing of
    /// the record stays in the file (or the log refuses every later append).
    pub(crate) fn append(&mut self, change: &WalChange<'_>) -> Result<()> {
        if self.broken {
            return Err(DevnetError::StateIo {
                path: self.path.clone(),
                source: std::io::Error::other(
                    "an earlier write failed and could not be undone; restart the devnet",
                ),
            });
        }
        let corrupt = |source| DevnetError::StateCorrupt {
            path: self.path.clone(),
            source,
        };
        let subtensor_json = serde_json::to_string(change.subtensor).map_err(corrupt)?;
        let subtensor_changed = subtensor_json != self.last_subtensor;
        let time_changed = change.time != self.last_time;
        if change.truncate_to.is_none()
            && change.block.is_none()
            && change.diffs.is_empty()
            && change.removed.is_empty()
            && change.mirrors.is_empty()
            && change.pooled.is_none()
            && change.unpooled.is_none()
            && !change.pool_cleared
            && !subtensor_changed
            && !time_changed
        {
            return Ok(());
        }
        let record = RecordRef {
            truncate_to: change.truncate_to,
            block: change.block,
            diffs: change.diffs,
            removed: change.removed,
            mirrors: change.mirrors,
            pooled: change.pooled.map(SavedPoolTx::from),
            unpooled: change.unpooled,
            pool_cleared: change.pool_cleared,
            time: time_changed.then_some(change.time),
        };
        let mut frame = vec![0u8; FRAME_LEN];
        serde_json::to_writer(&mut frame, &record).map_err(corrupt)?;
        // `{...}` → `{...,"subtensor":...}`
        frame.pop();
        frame.extend_from_slice(b",\"subtensor\":");
        if subtensor_changed {
            frame.extend_from_slice(subtensor_json.as_bytes());
        } else {
            frame.extend_from_slice(b"null");
        }
        frame.push(b'}');
        let payload_len = frame.len() - FRAME_LEN;
        let length = u32::try_from(payload_len)
            .ok()
            .filter(|n| *n < MAX_RECORD)
            .ok_or_else(|| DevnetError::StateIo {
                path: self.path.clone(),
                source: std::io::Error::other(format!(
                    "a record of {payload_len} bytes is too large to log"
                )),
            })?;
        let checksum = CRC32C.checksum(&frame[FRAME_LEN..]);
        frame[..4].copy_from_slice(&length.to_le_bytes());
        frame[4..FRAME_LEN].copy_from_slice(&checksum.to_le_bytes());
        self.write_record(&frame)?;
        if subtensor_changed {
            self.last_subtensor = subtensor_json;
        }
        self.last_time = change.time;
        Ok(())
    }

    fn write_record(&mut self, frame: &[u8]) -> Result<()> {
        // Progress for the kill test, which kills on this line to land inside a write.
        tracing::debug!(bytes = frame.len(), "write-ahead log append");
        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(frame));
        match written {
            Ok(()) => {
                self.len += frame.len() as u64;
                Ok(())
            }
            Err(source) => {
                // Cut off whatever part was written, or a later record would follow garbage
                // and be lost at the next replay.
                if self.file.set_len(self.len).is_err() {
                    self.broken = true;
                }
                Err(DevnetError::StateIo {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// A log whose writes fail (tests of the failed-append path).
    #[cfg(test)]
    pub(crate) fn failing(dir: &Path, chain: &Chain) -> Result<Self> {
        let mut wal = Self::open(dir, chain)?;
        let path = wal.path.clone();
        wal.file = fs::File::open(&path).map_err(io_error(&path))?;
        Ok(wal)
    }
}

fn parse_header(header: &[u8]) -> Option<u64> {
    let (magic, id) = header.split_at_checked(WAL_MAGIC.len())?;
    (magic == WAL_MAGIC)
        .then(|| id.try_into().ok().map(u64::from_le_bytes))
        .flatten()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DevnetError + '_ {
    move |source| DevnetError::StateIo {
        path: path.to_path_buf(),
        source,
    }
}

/// Path of the snapshot file in `dir`.
pub(crate) fn state_file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

pub(crate) fn save(chain: &mut Chain, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let path = state_file(dir);
    let tmp = dir.join(format!("{FILE}.tmp"));
    let id = chain.snapshot_id + 1;
    let saved = SavedRef {
        format: FORMAT,
        id,
        chain_id: chain.rules.chain_id,
        time: chain.time,
        db: &chain.db,
        subtensor: &chain.subtensor,
        mirrors: chain.mirrors.iter().collect(),
        blocks: &chain.blocks,
        pool: chain.pool.iter().map(SavedPoolTx::from).collect(),
        undo: &chain.undo,
        history_floor: chain.history_floor,
    };
    let bytes = serde_json::to_vec(&saved).map_err(|source| DevnetError::StateCorrupt {
        path: path.clone(),
        source,
    })?;
    let mut file = fs::File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(&bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    if let Ok(folder) = fs::File::open(dir) {
        // The rename must survive before the log that it replaces is emptied.
        let _ = folder.sync_all();
    }
    chain.snapshot_id = id;
    if let Some(wal) = &mut chain.wal {
        wal.restart(id)?;
        wal.last_subtensor = serde_json::to_string(&chain.subtensor).unwrap_or_default();
        wal.last_time = chain.time;
    }
    chain.snapshot_needed = false;
    tracing::info!(path = %path.display(), blocks = chain.blocks.len(), "chain state saved");
    Ok(())
}

/// A chain read back from a state dir.
pub(crate) struct Loaded {
    pub chain: Chain,
    /// The log could not be extended as it is (old format): write a new snapshot.
    pub compact: bool,
}

/// Load the chain saved in `dir`, or `None` when there is none yet.
pub(crate) fn load(
    dir: &Path,
    rules: ChainRules,
    dev_accounts: Vec<DevAccount>,
) -> Result<Option<Loaded>> {
    let path = state_file(dir);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(DevnetError::StateIo { path, source }),
    };
    let saved: Saved =
        serde_json::from_slice(&bytes).map_err(|source| DevnetError::StateCorrupt {
            path: path.clone(),
            source,
        })?;
    if saved.format != FORMAT || saved.blocks.is_empty() {
        return Err(DevnetError::StateCorrupt {
            path,
            source: serde::de::Error::custom(format!(
                "unsupported format {} or no blocks",
                saved.format
            )),
        });
    }
    if saved.chain_id != rules.chain_id {
        return Err(DevnetError::StateChainMismatch {
            path,
            found: saved.chain_id,
            expected: rules.chain_id,
        });
    }
    let mut saved = saved;
    let compact = replay_wal(dir, &mut saved)?;
    let mirrors: MirrorMap = saved.mirrors.into_iter().collect();
    tracing::info!(path = %path.display(), blocks = saved.blocks.len(), "chain state loaded");
    let mut chain = Chain::from_parts(
        rules,
        saved.db,
        saved.subtensor,
        saved.blocks,
        dev_accounts,
        saved.time,
        mirrors,
    );
    chain.snapshot_id = saved.id;
    chain.pool = saved.pool.into_iter().map(PoolTx::from).collect();
    chain.history_floor = saved.history_floor.unwrap_or_else(|| chain.latest_number());
    chain.undo = saved.undo;
    Ok(Some(Loaded { chain, compact }))
}

/// Apply the log's records that follow the snapshot, and cut a torn tail off the file.
/// Returns whether the log is of the old format (then the caller compacts).
fn replay_wal(dir: &Path, saved: &mut Saved) -> Result<bool> {
    let path = dir.join(WAL_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(DevnetError::StateIo { path, source }),
    };
    if bytes.first() == Some(&b'{') {
        // The JSON-lines log of the previous format: replay up to its first torn line.
        let mut replayed = 0usize;
        for line in bytes.split(|b| *b == b'\n') {
            let Ok(record) = serde_json::from_slice::<WalRecord>(line) else {
                break;
            };
            if !apply(saved, record) {
                break;
            }
            replayed += 1;
        }
        tracing::info!(path = %path.display(), records = replayed, "old-format write-ahead log replayed; writing a new snapshot");
        return Ok(true);
    }
    let Some(header) = bytes.get(..WAL_HEADER_LEN as usize) else {
        // Empty, or torn inside its header: nothing was logged yet.
        return Ok(false);
    };
    match parse_header(header) {
        Some(id) if id == saved.id => {}
        Some(id) => {
            tracing::info!(path = %path.display(), log = id, snapshot = saved.id, "ignoring a write-ahead log of an older snapshot (its changes are in the snapshot)");
            return Ok(false);
        }
        None => {
            return Err(DevnetError::StateIo {
                path,
                source: std::io::Error::other(
                    "not a taonado write-ahead log; move it away to start from the snapshot",
                ),
            });
        }
    }
    let (records, good_len) = framed_records(&bytes[WAL_HEADER_LEN as usize..]);
    let mut replayed = 0usize;
    let mut good_len = WAL_HEADER_LEN as usize + good_len;
    let mut offset = WAL_HEADER_LEN as usize;
    for payload in records {
        let applied = serde_json::from_slice::<WalRecord>(payload)
            .ok()
            .is_some_and(|record| apply(saved, record));
        if !applied {
            // A checksummed record that does not apply: stop here, as for a tear.
            good_len = offset;
            break;
        }
        offset += FRAME_LEN + payload.len();
        replayed += 1;
    }
    if good_len < bytes.len() {
        tracing::warn!(
            path = %path.display(),
            kept = good_len,
            dropped = bytes.len() - good_len,
            "the write-ahead log ends in a torn record (the devnet was killed mid-write); cutting it off"
        );
        let file = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.set_len(good_len as u64).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
    }
    if replayed > 0 {
        tracing::info!(path = %path.display(), records = replayed, "write-ahead log replayed");
    }
    Ok(false)
}

/// The whole records at the start of `bytes` (their payloads) and how many bytes they
/// span; stops at the first length or checksum that does not hold.
fn framed_records(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut records = Vec::new();
    let mut offset = 0usize;
    while let Some(frame) = bytes.get(offset..offset + FRAME_LEN) {
        let length = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let checksum = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if length >= MAX_RECORD {
            break;
        }
        let start = offset + FRAME_LEN;
        let Some(payload) = bytes.get(start..start + length as usize) else {
            break;
        };
        if CRC32C.checksum(payload) != checksum {
            break;
        }
        records.push(payload);
        offset = start + length as usize;
    }
    (records, offset)
}

/// Apply one record; false when it does not follow the chain (a gap), which ends replay.
/// The undo log (the state's history) is rebuilt as the records are applied: one entry
/// per changed account, holding what it was before.
fn apply(saved: &mut Saved, mut record: WalRecord) -> bool {
    let truncation = record.truncate_to.is_some();
    if let Some(target) = record.truncate_to {
        let Some(dropped) = saved.blocks.get(target as usize + 1) else {
            return false;
        };
        let mark = dropped.undo_mark;
        saved.undo.truncate(mark);
        saved.blocks.truncate(target as usize + 1);
    }
    if let Some(block) = &mut record.block {
        let next = saved.blocks.len() as u64;
        let number = block.header.number;
        if number < next {
            // Old-format logs may repeat blocks the snapshot already has.
            return true;
        }
        if number > next {
            return false;
        }
        block.undo_mark = saved.undo.len();
    }
    if !truncation {
        // (a truncation's diffs restore what the dropped entries held: nothing to keep)
        let changed = record
            .diffs
            .iter()
            .map(|diff| {
                (
                    diff.address,
                    diff.slots.iter().map(|(key, _)| *key).collect(),
                )
            })
            .chain(record.removed.iter().map(|address| (*address, Vec::new())));
        for (address, keys) in changed.collect::<Vec<(Address, Vec<_>)>>() {
            let account = saved.db.cache.accounts.get(&address);
            let prior = account.map(|a| {
                let mut info = a.info.clone();
                info.code = None;
                (info, a.account_state.clone())
            });
            let slots = keys
                .into_iter()
                .map(|key| {
                    let value = account
                        .and_then(|a| a.storage.get(&key).copied())
                        .unwrap_or_default();
                    (key, value)
                })
                .collect();
            saved.undo.push(UndoEntry::Account {
                address,
                prior,
                slots,
            });
        }
    }
    for diff in record.diffs {
        saved.db.insert_account_info(diff.address, diff.info);
        if let Some(account) = saved.db.cache.accounts.get_mut(&diff.address) {
            account.account_state = diff.account_state;
            account.storage.extend(diff.slots);
        }
    }
    for address in record.removed {
        saved.db.cache.accounts.remove(&address);
    }
    saved.mirrors.extend(record.mirrors);
    if let Some(subtensor) = record.subtensor {
        saved.subtensor = subtensor;
    }
    if let Some(time) = record.time {
        saved.time = time;
    }
    if record.pool_cleared {
        saved.pool.clear();
    }
    if let Some(hash) = record.unpooled {
        saved.pool.retain(|pending| pending.hash != hash);
    }
    if let Some(tx) = record.pooled {
        saved.pool.push(tx);
    }
    if let Some(block) = record.block {
        saved
            .pool
            .retain(|pending| block.txs.iter().all(|mined| mined.hash != pending.hash));
        saved.blocks.push(block);
    }
    true
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&CRC32C.checksum(payload).to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn framed_records_stop_at_a_tear_or_a_flipped_bit() {
        let mut log = frame(b"{\"a\":1}");
        log.extend(frame(b"{\"b\":2}"));
        let whole = log.len();
        let (records, len) = framed_records(&log);
        assert_eq!((records.len(), len), (2, whole));

        let (records, len) = framed_records(&log[..whole - 1]);
        assert_eq!((records.len(), len), (1, 15));

        let mut flipped = log.clone();
        flipped[whole - 2] ^= 1;
        assert_eq!(framed_records(&flipped).0.len(), 1);
    }

    proptest! {
        /// Whatever follows whole records (a tear, garbage), the whole records are found and
        /// nothing past them is taken for one.
        #[test]
        fn garbage_after_whole_records_is_never_a_record(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..6),
            garbage in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut log = Vec::new();
            for payload in &payloads {
                log.extend(frame(payload));
            }
            let whole = log.len();
            log.extend_from_slice(&garbage);
            let (records, len) = framed_records(&log);
            prop_assert!(records.len() >= payloads.len());
            prop_assert!(len >= whole);
            prop_assert_eq!(&records[..payloads.len()], &payloads.iter().map(Vec::as_slice).collect::<Vec<_>>()[..]);
        }
    }
}
