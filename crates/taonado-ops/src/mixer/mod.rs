//! The privacy mixer from a user's side: deposit into a WTAO pool, sync its Deposit events
//! into a local cache, prove and submit a withdrawal, pool statistics, and a compliance
//! report for a note holder who chooses to disclose. Every function returns a typed report
//! and never prints; notes and secrets never reach logs or errors.

mod cache;
mod deposit;
mod query;
mod sync;
mod withdraw;

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use taonado_contracts::bindings::ERC20Taonado;
use taonado_zk::{Note, fr_to_b256};

pub use crate::error::mixer::MixerError;
pub use cache::{CACHE_VERSION, CacheRead, CachedWithdrawal, EventCache};
pub use deposit::{DepositReport, DepositRequest, append_note_backup, append_note_backups};
pub use query::{
    ComplianceReport, DepositDisclosure, PoolStats, StatsReport, WithdrawalDisclosure,
};
pub use sync::{PoolSync, SyncReport};
pub use withdraw::{
    LoadedProver, VerifierKey, WithdrawDryRun, WithdrawKeys, WithdrawReport, WithdrawRequest,
    load_prover, verifier_key_in_code,
};

use crate::error::{OpsError, Result};
use taonado_deployment::{DeploymentRecord, names};

/// The currency every pool of this protocol holds, as written in notes.
pub const CURRENCY: &str = "wtao";

/// Blocks per `eth_getLogs` request: small enough for public endpoints' range limits.
pub const LOG_BATCH_BLOCKS: u64 = 5_000;

/// What a long mixer operation is doing, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MixerStage {
    /// Scanning Deposit events of the pool with `amount` WTAO.
    Syncing {
        amount: String,
        block: u64,
        head: u64,
        leaves: usize,
    },
    /// The cache no longer matched the chain and is being rebuilt from the pool's first block.
    Resyncing { amount: String, reason: String },
    /// Loading the proving key.
    LoadingKey,
    /// Generating the Groth16 proof.
    Proving,
    /// Sending a transaction (`wrap`, `approve`, `deposit`, `withdraw`).
    Sending { action: &'static str },
}

/// Receives [`MixerStage`]s.
pub trait MixerProgress: Send + Sync {
    fn stage(&self, stage: MixerStage);
}

/// A progress sink that shows nothing.
pub struct NoMixerProgress;

impl MixerProgress for NoMixerProgress {
    fn stage(&self, _stage: MixerStage) {}
}

/// One pool of the deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// Wei of WTAO per note.
    pub denomination: U256,
    /// The denomination as written in notes (`0.1`, `1`, …).
    pub amount: String,
    pub address: Address,
    /// The block the pool was deployed in: event scans start there.
    pub deployed_block: u64,
}

/// The deployment's mixer, reached through `provider`, with its event caches in `cache_dir`.
pub struct Mixer {
    provider: DynProvider,
    record: DeploymentRecord,
    chain_id: u64,
    cache_dir: PathBuf,
}

impl Mixer {
    /// Checks that the node serves the record's chain.
    pub async fn new(
        provider: DynProvider,
        record: DeploymentRecord,
        cache_dir: &Path,
    ) -> Result<Self> {
        let node = provider
            .get_chain_id()
            .await
            .map_err(OpsError::rpc("reading the chain id"))?;
        if node != record.chain_id {
            return Err(MixerError::ChainMismatch {
                record: record.chain_id,
                node,
            }
            .into());
        }
        Ok(Self {
            provider,
            chain_id: node,
            record,
            cache_dir: cache_dir.to_path_buf(),
        })
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    pub fn record(&self) -> &DeploymentRecord {
        &self.record
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The cache file of `pool`.
    pub fn cache_path(&self, pool: &Pool) -> PathBuf {
        EventCache::path(&self.cache_dir, self.chain_id, pool.address)
    }

    /// Every pool of the deployment, ascending by denomination.
    pub fn pools(&self) -> Vec<Pool> {
        self.record
            .pools
            .iter()
            .map(|p| Pool {
                denomination: p.denomination,
                amount: taonado_types::format_tao(p.denomination),
                address: p.contract.address,
                deployed_block: p.contract.block.unwrap_or(0),
            })
            .collect()
    }

    /// The pool of `amount` WTAO (`0.1`, `1`, …).
    pub fn pool(&self, amount: &str) -> Result<Pool> {
        let no_pool = || MixerError::NoPool {
            amount: amount.to_owned(),
            available: self.pool_amounts(),
        };
        let denomination = taonado_types::parse_tao(amount).map_err(|_| no_pool())?;
        self.pools()
            .into_iter()
            .find(|p| p.denomination == denomination)
            .ok_or_else(|| no_pool().into())
    }

    fn pool_amounts(&self) -> String {
        let amounts: Vec<String> = self.pools().into_iter().map(|p| p.amount).collect();
        if amounts.is_empty() {
            "none".to_owned()
        } else {
            amounts.join(", ")
        }
    }

    /// Checks a note against this chain and these pools and returns its pool. A legacy
    /// `taonado-wtao-1-964-` note names no real pool: it is found by its commitment.
    pub async fn note_pool(&self, note: &Note) -> Result<Pool> {
        let pools = self.pools();
        let amounts: Vec<(&str, &str)> = pools
            .iter()
            .map(|p| (CURRENCY, p.amount.as_str()))
            .collect();
        note.check_network(self.chain_id, &amounts)
            .map_err(MixerError::from)?;
        if !note.is_legacy() {
            return self.pool(note.amount());
        }
        let commitment = fr_to_b256(note.commitment());
        for pool in pools {
            let contract = ERC20Taonado::new(pool.address, &self.provider);
            let known = contract
                .commitments(commitment)
                .call()
                .await
                .map_err(OpsError::contract("reading commitments"))?;
            if known {
                return Ok(pool);
            }
        }
        Err(MixerError::LegacyPoolNotFound { commitment }.into())
    }

    /// The WTAO token the pools hold.
    pub fn wtao(&self) -> Result<Address> {
        Ok(self.record.address(names::WTAO)?)
    }
}

/// A Deposit event, decoded from topics and data so that the testnet pool's event without
/// `user` (same data layout, one topic less) decodes too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositLog {
    pub commitment: B256,
    pub leaf_index: u64,
    pub timestamp: u64,
    pub user: Option<Address>,
    pub block: u64,
    pub log_index: u64,
    pub tx_hash: Option<B256>,
}

alloy::sol! {
    /// The testnet pool's Deposit event, which lacks `user`.
    event DepositWithoutUser(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);
}

/// Both Deposit event signatures.
pub fn deposit_topics() -> Vec<B256> {
    use alloy::sol_types::SolEvent;
    vec![
        ERC20Taonado::Deposit::SIGNATURE_HASH,
        DepositWithoutUser::SIGNATURE_HASH,
    ]
}

pub fn decode_deposit(log: &alloy::rpc::types::Log) -> Option<DepositLog> {
    let topics = log.topics();
    let data = &log.data().data;
    if topics.len() < 2 || data.len() < 64 || !deposit_topics().contains(&topics[0]) {
        return None;
    }
    let word = |i: usize| U256::from_be_slice(&data[32 * i..32 * (i + 1)]);
    Some(DepositLog {
        commitment: topics[1],
        leaf_index: u64::try_from(word(0)).ok()?,
        timestamp: u64::try_from(word(1)).ok()?,
        user: topics.get(2).map(|t| Address::from_word(*t)),
        block: log.block_number?,
        log_index: log.log_index.unwrap_or(0),
        tx_hash: log.transaction_hash,
    })
}
