//! The per-pool event cache: every Deposit leaf in `leafIndex` order with the block it was
//! made in, every Withdrawal, the block the cache is synced to with that block's hash (to
//! notice reorgs and restarted dev chains), and a checksum over all of it (to notice a
//! damaged or hand-edited file).
//!
//! Format versions: 1 held Deposit leaves only. A version 1 file is read as outdated and
//! rebuilt by the next sync (its Withdrawals were never fetched); a version newer than
//! [`CACHE_VERSION`] is refused rather than overwritten.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};

use crate::error::{OpsError, Result};
use crate::mixer::MixerError;

/// Version of the cache file format.
pub const CACHE_VERSION: u32 = 2;

/// Domain separator of the checksum.
const CHECKSUM_DOMAIN: &[u8] = b"taonado-mixer-cache-v2";

/// One Withdrawal event of a pool, as cached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedWithdrawal {
    pub nullifier_hash: B256,
    pub recipient: Address,
    pub relayer: Address,
    /// WTAO wei paid to the relayer.
    pub fee: U256,
    pub block: u64,
    pub tx_hash: B256,
    pub log_index: u64,
}

impl CachedWithdrawal {
    /// Where the event sits in the chain's log order.
    pub fn position(&self) -> (u64, u64) {
        (self.block, self.log_index)
    }
}

/// The Deposit leaves and Withdrawals of one pool, as far as they were synced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventCache {
    pub chain_id: u64,
    pub pool: Address,
    /// Commitments, index = `leafIndex`.
    pub leaves: Vec<B256>,
    /// The block of each leaf's Deposit event, index = `leafIndex`.
    pub leaf_blocks: Vec<u64>,
    /// Withdrawal events in chain order.
    pub withdrawals: Vec<CachedWithdrawal>,
    /// The last block scanned and its hash; `None` before the first sync.
    pub synced_to: Option<(u64, B256)>,
}

/// What [`EventCache::read`] found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheRead {
    /// No cache file yet.
    Missing,
    Current(EventCache),
    /// A readable file of an older format that lacks data this version keeps: rebuild it.
    Outdated {
        version: u32,
    },
}

/// Only the version, to pick the layout before parsing the rest.
#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    version: u32,
    chain_id: u64,
    pool: Address,
    synced_block: Option<u64>,
    synced_block_hash: Option<B256>,
    leaves: Vec<B256>,
    leaf_blocks: Vec<u64>,
    withdrawals: Vec<CachedWithdrawal>,
    checksum: B256,
}

impl EventCache {
    /// An empty cache for `pool` on `chain_id`.
    pub fn empty(chain_id: u64, pool: Address) -> Self {
        Self {
            chain_id,
            pool,
            leaves: Vec::new(),
            leaf_blocks: Vec::new(),
            withdrawals: Vec::new(),
            synced_to: None,
        }
    }

    /// The cache file of `pool` inside `dir`.
    pub fn path(dir: &Path, chain_id: u64, pool: Address) -> PathBuf {
        dir.join(format!("pool-{chain_id}-{pool:#x}.json"))
    }

    /// Deposits not withdrawn yet: the set a new withdrawal hides in.
    pub fn anonymity_set(&self) -> u64 {
        (self.leaves.len() as u64).saturating_sub(self.withdrawals.len() as u64)
    }

    /// The checksum over everything the file holds. Every list is length-prefixed, so no
    /// two different caches hash the same bytes.
    pub fn checksum(&self) -> B256 {
        let mut bytes = Vec::with_capacity(
            CHECKSUM_DOMAIN.len() + 100 + 40 * self.leaves.len() + 160 * self.withdrawals.len(),
        );
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
        bytes.extend_from_slice(&(self.leaves.len() as u64).to_be_bytes());
        for leaf in &self.leaves {
            bytes.extend_from_slice(leaf.as_slice());
        }
        bytes.extend_from_slice(&(self.leaf_blocks.len() as u64).to_be_bytes());
        for block in &self.leaf_blocks {
            bytes.extend_from_slice(&block.to_be_bytes());
        }
        bytes.extend_from_slice(&(self.withdrawals.len() as u64).to_be_bytes());
        for w in &self.withdrawals {
            bytes.extend_from_slice(w.nullifier_hash.as_slice());
            bytes.extend_from_slice(w.recipient.as_slice());
            bytes.extend_from_slice(w.relayer.as_slice());
            bytes.extend_from_slice(&w.fee.to_be_bytes::<32>());
            bytes.extend_from_slice(&w.block.to_be_bytes());
            bytes.extend_from_slice(w.tx_hash.as_slice());
            bytes.extend_from_slice(&w.log_index.to_be_bytes());
        }
        keccak256(&bytes)
    }

    /// What a sync may rely on beyond the checksum: one block per leaf, Withdrawals in
    /// chain order up to the synced block, each nullifier hash spent once, and never more
    /// Withdrawals than Deposits. `Err` says which does not hold.
    pub fn check_consistency(&self) -> std::result::Result<(), String> {
        if self.leaf_blocks.len() != self.leaves.len() {
            return Err(format!(
                "it has {} leaves but {} leaf blocks",
                self.leaves.len(),
                self.leaf_blocks.len()
            ));
        }
        if self.withdrawals.len() > self.leaves.len() {
            return Err(format!(
                "it has {} withdrawals but only {} deposits",
                self.withdrawals.len(),
                self.leaves.len()
            ));
        }
        let synced = self.synced_to.map(|(block, _)| block);
        let beyond = |block: u64| synced.is_none_or(|synced| block > synced);
        if let Some(block) = self.leaf_blocks.iter().copied().find(|b| beyond(*b)) {
            return Err(format!(
                "a deposit in block {block} lies beyond its synced block"
            ));
        }
        let mut spent = HashSet::with_capacity(self.withdrawals.len());
        let mut previous = None;
        for w in &self.withdrawals {
            if beyond(w.block) {
                return Err(format!(
                    "the withdrawal in block {} lies beyond its synced block",
                    w.block
                ));
            }
            if previous.is_some_and(|p| p >= w.position()) {
                return Err(format!(
                    "the withdrawal at block {} log {} is out of chain order",
                    w.block, w.log_index
                ));
            }
            previous = Some(w.position());
            if !spent.insert(w.nullifier_hash) {
                return Err(format!(
                    "nullifier hash {} is withdrawn twice",
                    w.nullifier_hash
                ));
            }
        }
        Ok(())
    }

    /// Reads the cache file of `pool`. A file that does not parse, fails its checksum or
    /// consistency, belongs to another pool, or has an unknown version is
    /// [`MixerError::CacheCorrupt`]; a version 1 file is [`CacheRead::Outdated`].
    pub fn read(path: &Path, chain_id: u64, pool: Address) -> Result<CacheRead> {
        let Some(text) = taonado_deployment::fs::read_optional(path)? else {
            return Ok(CacheRead::Missing);
        };
        let corrupt = |reason: String| -> OpsError {
            MixerError::CacheCorrupt {
                path: path.to_path_buf(),
                reason,
            }
            .into()
        };
        let probe: VersionProbe = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("it is not a valid cache file ({e})")))?;
        match probe.version {
            CACHE_VERSION => {}
            1 => return Ok(CacheRead::Outdated { version: 1 }),
            other => {
                return Err(corrupt(format!(
                    "format version {other} is not the supported {CACHE_VERSION} (written by another taonado version?)"
                )));
            }
        }
        let file: CacheFile = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("it is not a valid cache file ({e})")))?;
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
            leaf_blocks: file.leaf_blocks,
            withdrawals: file.withdrawals,
            synced_to,
        };
        if cache.checksum() != file.checksum {
            return Err(corrupt(
                "its checksum does not match its contents".to_owned(),
            ));
        }
        cache.check_consistency().map_err(corrupt)?;
        Ok(CacheRead::Current(cache))
    }

    /// Reads the cache of `pool`; `Ok(None)` when there is none yet. Corrupt files are
    /// [`MixerError::CacheCorrupt`] (see [`EventCache::read`]); an outdated one is
    /// [`MixerError::CacheStale`], which `sync` repairs by itself.
    pub fn load(path: &Path, chain_id: u64, pool: Address) -> Result<Option<Self>> {
        match Self::read(path, chain_id, pool)? {
            CacheRead::Missing => Ok(None),
            CacheRead::Current(cache) => Ok(Some(cache)),
            CacheRead::Outdated { version } => Err(MixerError::CacheStale {
                path: path.to_path_buf(),
                reason: outdated_reason(version),
            }
            .into()),
        }
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
            leaf_blocks: self.leaf_blocks.clone(),
            withdrawals: self.withdrawals.clone(),
            checksum: self.checksum(),
        };
        let mut json = serde_json::to_vec(&file).map_err(|e| MixerError::CacheCorrupt {
            path: path.to_path_buf(),
            reason: format!("cannot serialize it ({e})"),
        })?;
        json.push(b'\n');
        Ok(taonado_deployment::fs::write_atomic(path, &json)?)
    }
}

/// Why a file of an older format is rebuilt.
pub(crate) fn outdated_reason(version: u32) -> String {
    format!(
        "it is in format version {version}, which lacks the Withdrawal events of version {CACHE_VERSION}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withdrawal(byte: u8, block: u64, log_index: u64) -> CachedWithdrawal {
        CachedWithdrawal {
            nullifier_hash: B256::repeat_byte(byte),
            recipient: Address::repeat_byte(byte),
            relayer: Address::ZERO,
            fee: U256::from(byte),
            block,
            tx_hash: B256::repeat_byte(byte.wrapping_add(1)),
            log_index,
        }
    }

    fn sample() -> EventCache {
        EventCache {
            chain_id: 42,
            pool: Address::repeat_byte(7),
            leaves: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            leaf_blocks: vec![10, 11],
            withdrawals: vec![withdrawal(0x51, 12, 0)],
            synced_to: Some((12, B256::repeat_byte(9))),
        }
    }

    fn is_corrupt(result: Result<Option<EventCache>>) -> bool {
        matches!(
            result,
            Err(OpsError::Mixer(error)) if matches!(*error, MixerError::CacheCorrupt { .. })
        )
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
            Some(cache.clone())
        );
        assert_eq!(cache.anonymity_set(), 1);
    }

    #[test]
    fn edited_garbled_or_foreign_files_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = sample();
        let path = EventCache::path(dir.path(), cache.chain_id, cache.pool);
        cache.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();

        // One leaf swapped for another: the checksum no longer matches.
        let leaf = format!("{}", B256::repeat_byte(2));
        std::fs::write(
            &path,
            text.replace(&leaf, &format!("{}", B256::repeat_byte(3))),
        )
        .unwrap();
        assert!(is_corrupt(EventCache::load(&path, 42, cache.pool)));

        // A withdrawal's recipient redirected: the checksum covers withdrawals too.
        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["withdrawals"][0]["recipient"] = serde_json::json!(Address::repeat_byte(0x52));
        std::fs::write(&path, file.to_string()).unwrap();
        assert!(is_corrupt(EventCache::load(&path, 42, cache.pool)));

        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(is_corrupt(EventCache::load(&path, 42, cache.pool)));

        std::fs::write(&path, text.replace("\"version\":2", "\"version\":3")).unwrap();
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

    #[test]
    fn inconsistent_caches_are_corrupt_even_with_a_valid_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let mut twice = sample();
        twice.withdrawals.push(CachedWithdrawal {
            block: 12,
            log_index: 1,
            ..twice.withdrawals[0].clone()
        });
        let mut unordered = sample();
        unordered.withdrawals = vec![withdrawal(0x52, 12, 3), withdrawal(0x53, 11, 0)];
        let mut beyond = sample();
        beyond.withdrawals[0].block = 13;
        let mut short = sample();
        short.leaf_blocks.pop();
        for cache in [twice, unordered, beyond, short] {
            assert!(cache.check_consistency().is_err(), "{cache:?}");
            cache.save(&path).unwrap();
            assert!(is_corrupt(EventCache::load(&path, 42, cache.pool)));
        }
    }

    #[test]
    fn a_version_1_file_is_outdated_not_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        // The layout version 1 wrote (deposit leaves only).
        let v1 = serde_json::json!({
            "version": 1,
            "chain_id": 42,
            "pool": Address::repeat_byte(7),
            "synced_block": 12,
            "synced_block_hash": B256::repeat_byte(9),
            "leaves": [B256::repeat_byte(1)],
            "checksum": B256::repeat_byte(4),
        });
        std::fs::write(&path, v1.to_string()).unwrap();
        assert_eq!(
            EventCache::read(&path, 42, Address::repeat_byte(7)).unwrap(),
            CacheRead::Outdated { version: 1 }
        );
        let error = EventCache::load(&path, 42, Address::repeat_byte(7)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("format version 1"), "{message}");
        assert!(
            message.contains("taonado mixer sync --rebuild"),
            "{message}"
        );
    }

    #[test]
    fn checksums_separate_leaves_from_withdrawals() {
        // Same bytes moved between lists must not collide.
        let mut a = sample();
        a.withdrawals.clear();
        let mut b = a.clone();
        b.leaf_blocks.clear();
        b.leaves.clear();
        assert_ne!(a.checksum(), b.checksum());
        assert_ne!(sample().checksum(), a.checksum());
    }
}
