//! What the indexer follows and how: [`IndexerConfig::new`] takes what only the caller
//! knows (the chain, the endpoints, the contracts, the first block) and fills the tuning
//! with the named defaults below; the caller may override any field. The contracts are
//! the deployment model's [`ProtocolContracts`].

use std::time::Duration;

use alloy::primitives::Address;
use taonado_deployment::ProtocolContracts;
use taonado_store::ContractKind;
use url::Url;

/// Which of the watched contracts `address` is, if it is one of ours.
pub fn kind_of(contracts: &ProtocolContracts, address: Address) -> Option<ContractKind> {
    let singles = [
        (contracts.wtao, ContractKind::Wtao),
        (contracts.deposit_tracker, ContractKind::DepositTracker),
        (contracts.weights, ContractKind::Weights),
        (contracts.evm_validator, ContractKind::EvmValidator),
    ];
    singles
        .into_iter()
        .find_map(|(a, kind)| (a == Some(address)).then_some(kind))
        .or_else(|| {
            contracts
                .pools
                .values()
                .any(|pool| *pool == address)
                .then_some(ContractKind::Pool)
        })
}

/// Retries of one RPC request: exponential backoff, rotating through the endpoints (the
/// client's failover policy).
pub use taonado_client::RetryPolicy;

/// How the indexer paces its work. `Default` is `taonado index`'s tuning; the monitor
/// has its own defaults (`taonado_monitor::MonitorTuning`) for following a live head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexerTuning {
    /// Blocks fetched and written per transaction.
    pub batch_blocks: u64,
    /// Blocks fetched in parallel within a batch.
    pub concurrency: usize,
    /// How far back a reorg can be followed; blocks this deep are kept for comparison.
    pub reorg_depth: u64,
    /// Take a state snapshot every this many blocks once caught up; `None` disables them.
    pub snapshot_interval: Option<u64>,
    /// How often `run` asks for a new head once caught up.
    pub poll_interval: Duration,
    /// Retries of one request, over all endpoints.
    pub retry: RetryPolicy,
    /// Upper bound for one HTTP request.
    pub request_timeout: Duration,
}

impl IndexerTuning {
    /// Blocks fetched and written per transaction.
    pub const BATCH_BLOCKS: u64 = 100;
    /// Blocks fetched in parallel.
    pub const CONCURRENCY: usize = 4;
    /// Deepest reorg followed.
    pub const REORG_DEPTH: u64 = 64;
    /// Blocks between state snapshots once caught up.
    pub const SNAPSHOT_INTERVAL: u64 = 100;
    /// Time between head polls once caught up.
    pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
    /// Retries of one request, over all endpoints.
    pub const RETRY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        initial_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(15),
    };
    /// Upper bound of one HTTP request.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for IndexerTuning {
    fn default() -> Self {
        Self {
            batch_blocks: Self::BATCH_BLOCKS,
            concurrency: Self::CONCURRENCY,
            reorg_depth: Self::REORG_DEPTH,
            snapshot_interval: Some(Self::SNAPSHOT_INTERVAL),
            poll_interval: Self::POLL_INTERVAL,
            retry: Self::RETRY,
            request_timeout: Self::REQUEST_TIMEOUT,
        }
    }
}

/// Everything the indexer needs: what only the caller knows, and the tuning.
#[derive(Clone, Debug)]
pub struct IndexerConfig {
    /// The chain every endpoint must serve.
    pub chain_id: u64,
    /// JSON-RPC endpoints in order of preference; failures move to the next one.
    pub endpoints: Vec<Url>,
    pub contracts: ProtocolContracts,
    /// The subnet whose metagraph snapshots record.
    pub netuid: u16,
    /// The first block to index on an empty database (the deployment block).
    pub start_block: u64,
    pub tuning: IndexerTuning,
}

impl IndexerConfig {
    /// Follows `contracts` on `chain_id` through `endpoints` (in order of preference) from
    /// `start_block`, with the default tuning.
    pub fn new(
        chain_id: u64,
        endpoints: Vec<Url>,
        contracts: ProtocolContracts,
        netuid: u16,
        start_block: u64,
    ) -> Self {
        Self {
            chain_id,
            endpoints,
            contracts,
            netuid,
            start_block,
            tuning: IndexerTuning::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_are_classified() {
        let a = |b: u8| Address::repeat_byte(b);
        let contracts = ProtocolContracts {
            wtao: Some(a(1)),
            deposit_tracker: Some(a(2)),
            weights: None,
            weights_name: None,
            evm_validator: Some(a(4)),
            pools: [("0.1".to_owned(), a(5)), ("1".to_owned(), a(6))].into(),
            wtao_fully_indexed: false,
        };
        assert_eq!(kind_of(&contracts, a(1)), Some(ContractKind::Wtao));
        assert_eq!(kind_of(&contracts, a(6)), Some(ContractKind::Pool));
        assert_eq!(kind_of(&contracts, a(3)), None);
        assert_eq!(contracts.addresses(), vec![a(1), a(2), a(4), a(5), a(6)]);
    }
}
