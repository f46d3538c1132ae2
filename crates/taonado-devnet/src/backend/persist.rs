//! `--state-dir` persistence: one JSON snapshot (`chain.json`) of EVM state, blocks with
//! receipts and logs, subtensor state and time controls.
//!
//! Written on clean shutdown (and by `taonado_dumpState`), atomically: a temp file is
//! fsynced then renamed over the old one, so a crash during the write keeps the previous
//! snapshot. Blocks mined after the last write are lost on a crash (kill -9 / power loss);
//! nothing acknowledged is lost after a clean stop.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use super::{
    chain::{Chain, StoredBlock, TimeState},
    exec::{ChainRules, StateDb},
    precompiles::MirrorMap,
};
use crate::{
    config::DevAccount,
    error::{DevnetError, Result},
    subtensor::Subtensor,
};

const FILE: &str = "chain.json";
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

pub(crate) fn save(chain: &Chain, dir: &Path) -> Result<()> {
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
