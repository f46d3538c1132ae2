//! The per-pool event cache: every Deposit leaf in `leafIndex` order, the block the cache
//! is synced to with that block's hash (to notice reorgs and restarted dev chains), and a
//! checksum over all of it (to notice a damaged or hand-edited file).

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::error::{OpsError, Result};
use crate::mixer::MixerError;

/// Version of the cache file format.
const CACHE_VERSION: u32 = 1;

/// Domain separator of the checksum.
const CHECKSUM_DOMAIN: &[u8] = b"taonado-mixer-cache-v1";

/// The Deposit leaves of one pool, as far as they were synced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventCache {
    pub chain_id: u64,
    pub pool: Address,
    /// Commitments, index = `leafIndex`.
    pub leaves: Vec<B256>,
    /// The last block scanned and its hash; `None` before the first sync.
    pub synced_to: Option<(u64, B256)>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    chain_id: u64,
    pool: Address,
    synced_block: Option<u64>,
    synced_block_hash: Option<B256>,
    leaves: Vec<B256>,
    checksum: B256,
}

impl EventCache {
    /// An empty cache for `pool` on `chain_id`.
    pub fn empty(chain_id: u64, pool: Address) -> Self {
        Self {
            chain_id,
            pool,
            leaves: Vec::new(),
            synced_to: None,
        }
    }

    /// The cache file of `pool` inside `dir`.
    pub fn path(dir: &Path, chain_id: u64, pool: Address) -> PathBuf {
        dir.join(format!("pool-{chain_id}-{pool:#x}.json"))
    }

    /// The checksum over everything the file holds.
    pub fn checksum(&self) -> B256 {
        let mut bytes = Vec::with_capacity(CHECKSUM_DOMAIN.len() + 80 + 32 * self.leaves.len());
        bytes.extend_from_slice(CHECKSUM_DOMAIN);
        bytes.extend_from_slice(&self.chain_id.to_be_bytes());
        bytes.extend_from_slice(self.pool.as_slice());
        match self.synced_to {
            Some((block, hash)) => {
                bytes.push(1);
                bytes.extend_from_slice(&block.to_be_bytes());
                bytes.extend_from_slice(hash.as_slice());
            }
            None => bytes.push(0),
        }
        for leaf in &self.leaves {
            bytes.extend_from_slice(leaf.as_slice());
        }
        keccak256(&bytes)
    }

    /// Reads the cache of `pool`; `Ok(None)` when there is none yet. A file that does not
    /// parse, fails its checksum or belongs to another pool is [`MixerError::CacheCorrupt`].
    pub fn load(path: &Path, chain_id: u64, pool: Address) -> Result<Option<Self>> {
        let Some(text) = crate::fs::read_optional(path)? else {
            return Ok(None);
        };
        let corrupt = |reason: String| -> OpsError {
            MixerError::CacheCorrupt {
                path: path.to_path_buf(),
                reason,
            }
            .into()
        };
        let file: CacheFile = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("it is not a valid cache file ({e})")))?;
        if file.version != CACHE_VERSION {
            return Err(corrupt(format!(
                "format version {} is not the supported {CACHE_VERSION}",
                file.version
            )));
        }
        if file.chain_id != chain_id || file.pool != pool {
            return Err(corrupt(format!(
                "it belongs to pool {} on chain {}, not pool {pool} on chain {chain_id}",
                file.pool, file.chain_id
            )));
        }
        let synced_to = match (file.synced_block, file.synced_block_hash) {
            (Some(block), Some(hash)) => Some((block, hash)),
            (None, None) => None,
            _ => return Err(corrupt("the synced block lacks its hash".to_owned())),
        };
        let cache = Self {
            chain_id,
            pool,
            leaves: file.leaves,
            synced_to,
        };
        if cache.checksum() != file.checksum {
            return Err(corrupt(
                "its checksum does not match its contents".to_owned(),
            ));
        }
        Ok(Some(cache))
    }

    /// Writes the cache atomically (temporary file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = CacheFile {
            version: CACHE_VERSION,
            chain_id: self.chain_id,
            pool: self.pool,
            synced_block: self.synced_to.map(|(block, _)| block),
            synced_block_hash: self.synced_to.map(|(_, hash)| hash),
            leaves: self.leaves.clone(),
            checksum: self.checksum(),
        };
        let mut json = serde_json::to_vec(&file).map_err(|e| MixerError::CacheCorrupt {
            path: path.to_path_buf(),
            reason: format!("cannot serialize it ({e})"),
        })?;
        json.push(b'\n');
        crate::fs::write_atomic(path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EventCache {
        EventCache {
            chain_id: 42,
            pool: Address::repeat_byte(7),
            leaves: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            synced_to: Some((12, B256::repeat_byte(9))),
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let cache = sample();
        let path = EventCache::path(dir.path(), cache.chain_id, cache.pool);
        assert_eq!(EventCache::load(&path, 42, cache.pool).unwrap(), None);
        cache.save(&path).unwrap();
        assert_eq!(
            EventCache::load(&path, 42, cache.pool).unwrap(),
            Some(cache)
        );
    }

    #[test]
    fn edited_garbled_or_foreign_files_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = sample();
        let path = EventCache::path(dir.path(), cache.chain_id, cache.pool);
        cache.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let is_corrupt = |result: Result<Option<EventCache>>| {
            matches!(
                result,
                Err(OpsError::Mixer(error)) if matches!(*error, MixerError::CacheCorrupt { .. })
            )
        };

        // One leaf swapped for another: the checksum no longer matches.
        let leaf = format!("{}", B256::repeat_byte(2));
        std::fs::write(
            &path,
            text.replace(&leaf, &format!("{}", B256::repeat_byte(3))),
        )
        .unwrap();
        assert!(is_corrupt(EventCache::load(&path, 42, cache.pool)));

        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(is_corrupt(EventCache::load(&path, 42, cache.pool)));

        std::fs::write(&path, &text).unwrap();
        assert!(is_corrupt(EventCache::load(&path, 43, cache.pool)));
        assert!(is_corrupt(EventCache::load(
            &path,
            42,
            Address::repeat_byte(8)
        )));
        assert!(EventCache::load(&path, 42, cache.pool).is_ok());
    }
}
