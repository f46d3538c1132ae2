//! `--state-dir` persistence: a JSON snapshot (`chain.json`) of EVM state, blocks with
//! receipts and logs, subtensor state and time controls, plus a write-ahead log
//! (`chain.wal`, one JSON line per sealed block: the block, the accounts it changed and the
//! subtensor state when it changed).
//!
//! The snapshot is written at start (if missing), on clean shutdown, by
//! `taonado_dumpState`, and after changes the log cannot express (dev methods, reorgs,
//! snapshot reverts); atomically (temp file, fsync, rename), and then the log is emptied.
//! Loading reads the snapshot and replays the log. Log lines are not fsynced per block: a
//! killed process loses nothing, a power loss can lose the last blocks.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use super::{
    chain::{AccountDiff, Chain, StoredBlock, TimeState},
    exec::{ChainRules, StateDb},
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

#[derive(Serialize)]
struct SavedRef<'a> {
    format: u32,
    chain_id: u64,
    time: TimeState,
    db: &'a StateDb,
    subtensor: &'a Subtensor,
    mirrors: Vec<(&'a [u8; 32], &'a Address)>,
    blocks: &'a [StoredBlock],
}

#[derive(Deserialize)]
struct Saved {
    format: u32,
    chain_id: u64,
    time: TimeState,
    db: StateDb,
    subtensor: Subtensor,
    mirrors: Vec<([u8; 32], Address)>,
    blocks: Vec<StoredBlock>,
}

/// One line of the write-ahead log (owned, for replay).
#[derive(Deserialize)]
struct WalRecord {
    /// None for a change outside blocks (`subtensor_*` dev methods).
    block: Option<StoredBlock>,
    diffs: Vec<AccountDiff>,
    subtensor: Option<Subtensor>,
}

/// Append-only log of sealed blocks since the last snapshot.
#[derive(Debug)]
pub(crate) struct Wal {
    path: PathBuf,
    file: fs::File,
    /// Subtensor JSON of the last record that carried it (unchanged state is not repeated).
    last_subtensor: String,
}

impl Wal {
    pub(crate) fn open(dir: &Path, subtensor: &Subtensor) -> Result<Self> {
        let path = dir.join(WAL_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path))?;
        Ok(Self {
            last_subtensor: serde_json::to_string(subtensor).unwrap_or_default(),
            path,
            file,
        })
    }

    /// Log a sealed block, or (`block` = None) a change made outside blocks; a change that
    /// changed nothing is not written.
    pub(crate) fn append(
        &mut self,
        block: Option<&StoredBlock>,
        diffs: &[AccountDiff],
        subtensor: &Subtensor,
    ) -> Result<()> {
        let corrupt = |source| DevnetError::StateCorrupt {
            path: self.path.clone(),
            source,
        };
        let subtensor_json = serde_json::to_string(subtensor).map_err(corrupt)?;
        if block.is_none() && diffs.is_empty() && subtensor_json == self.last_subtensor {
            return Ok(());
        }
        let mut line = String::with_capacity(1024);
        line.push_str("{\"block\":");
        line.push_str(&serde_json::to_string(&block).map_err(corrupt)?);
        line.push_str(",\"diffs\":");
        line.push_str(&serde_json::to_string(diffs).map_err(corrupt)?);
        line.push_str(",\"subtensor\":");
        if subtensor_json == self.last_subtensor {
            line.push_str("null");
        } else {
            line.push_str(&subtensor_json);
            self.last_subtensor = subtensor_json;
        }
        line.push_str("}\n");
        self.file
            .write_all(line.as_bytes())
            .map_err(io_error(&self.path))
    }

    /// Empty the log (its blocks are in a fresh snapshot now).
    fn clear(&mut self) -> Result<()> {
        self.file.set_len(0).map_err(io_error(&self.path))
    }
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
    let saved = SavedRef {
        format: FORMAT,
        chain_id: chain.rules.chain_id,
        time: chain.time,
        db: &chain.db,
        subtensor: &chain.subtensor,
        mirrors: chain.mirrors.iter().collect(),
        blocks: &chain.blocks,
    };
    let bytes = serde_json::to_vec(&saved).map_err(|source| DevnetError::StateCorrupt {
        path: path.clone(),
        source,
    })?;
    let mut file = fs::File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(&bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    if let Some(wal) = &mut chain.wal {
        wal.clear()?;
    }
    chain.snapshot_needed = false;
    tracing::info!(path = %path.display(), blocks = chain.blocks.len(), "chain state saved");
    Ok(())
}

/// Load the chain saved in `dir`, or `None` when there is none yet.
pub(crate) fn load(
    dir: &Path,
    rules: ChainRules,
    dev_accounts: Vec<DevAccount>,
) -> Result<Option<Chain>> {
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
    replay_wal(dir, &mut saved)?;
    let mirrors: MirrorMap = saved.mirrors.into_iter().collect();
    tracing::info!(path = %path.display(), blocks = saved.blocks.len(), "chain state loaded");
    Ok(Some(Chain::from_parts(
        rules,
        saved.db,
        saved.subtensor,
        saved.blocks,
        dev_accounts,
        saved.time,
        mirrors,
    )))
}

/// Apply the log's blocks that follow the snapshot. A torn last line (crash mid-write) ends
/// the replay.
fn replay_wal(dir: &Path, saved: &mut Saved) -> Result<()> {
    let path = dir.join(WAL_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(DevnetError::StateIo { path, source }),
    };
    let mut replayed = 0usize;
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<WalRecord>(line) else {
            tracing::warn!(path = %path.display(), "ignoring a torn write-ahead log line");
            break;
        };
        let next = saved.blocks.len() as u64;
        if let Some(block) = &record.block {
            let number = block.header.number;
            if number < next {
                continue;
            }
            if number > next {
                break;
            }
        }
        for diff in record.diffs {
            saved.db.insert_account_info(diff.address, diff.info);
            if let Some(account) = saved.db.cache.accounts.get_mut(&diff.address) {
                account.account_state = diff.account_state;
                account.storage.extend(diff.slots);
            }
        }
        if let Some(subtensor) = record.subtensor {
            saved.subtensor = subtensor;
        }
        if let Some(block) = record.block {
            saved.blocks.push(block);
        }
        replayed += 1;
    }
    if replayed > 0 {
        tracing::info!(path = %path.display(), records = replayed, "write-ahead log replayed");
    }
    Ok(())
}
