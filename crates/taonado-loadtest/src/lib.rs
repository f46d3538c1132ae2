//! `taonado loadtest`: load against a chain's JSON-RPC endpoint, and what it measured.
//!
//! - `calls`: read-only `eth_blockNumber`/`eth_getBalance`/`eth_call`, latency per method
//!   (as paradigm's flood reports it);
//! - `transfer`, `wrap`: real transactions from child wallets funded from one key, signed
//!   locally, nonces counted locally and resynced from the node after a failed send (as
//!   spamoor does); inclusion is seen by following new blocks;
//! - `weights`: the `mixed` load with the real validator loop running alongside it, and
//!   how far the weight-setting interval drifts and what the bounty balance does
//!   ([`weights`]).
//!
//! [`LoadTest::run`] is the one entry point; every loop is bounded by the plan's count
//! and by its time limit, and stops early when `shutdown` turns true.

pub mod bottleneck;
pub mod nonce;
pub mod report;
mod rpc;
pub mod scenario;
pub mod wallets;
pub mod weights;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;

pub use report::{LoadReport, Percentiles};
pub use scenario::Scenario;
pub use weights::{WeightsPlan, WeightsReport};

/// The Bittensor EVM mainnet: transactions there cost real TAO.
pub const MAINNET_CHAIN_ID: u64 = 964;

#[derive(Debug, thiserror::Error)]
pub enum LoadTestError {
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
    #[error("the funding key {address} holds {have} wei; this test needs {need} wei")]
    Unfunded {
        address: Address,
        have: U256,
        need: U256,
    },
    #[error("{method} failed: {message}")]
    Rpc {
        method: &'static str,
        message: String,
    },
    #[error("funding the child wallets: {0}")]
    Funding(String),
    #[error("signing: {0}")]
    Signing(String),
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("bottleneck stage: {0}")]
    Stage(String),
    #[error("stuck transactions: {0}")]
    Stuck(String),
    #[error("the validator loop: {0}")]
    Validator(String),
    #[error("the run did not finish within its time limit of {0} s")]
    TimedOut(u64),
}

impl LoadTestError {
    /// The operator asked for something that cannot run (exit 2), rather than the chain
    /// failing it.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::InvalidPlan(_) | Self::Unfunded { .. })
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub rpc_url: String,
    pub chain_id: u64,
    pub scenario: Scenario,
    /// At most this many transactions (or calls).
    pub transactions: u64,
    /// Workers; under a transaction scenario also the number of child wallets.
    pub concurrency: usize,
    /// Stop sending after this long.
    pub duration: Option<Duration>,
    /// At most this many sends per second, all workers together.
    pub rate: Option<f64>,
    /// Hard bound on sending; funding and the wait for inclusion add at most
    /// `inclusion_timeout` each.
    pub time_limit: Duration,
    /// How long to wait for inclusion after the last send.
    pub inclusion_timeout: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// The funding key (transaction scenarios); under `calls` only its address is read.
    pub funder: PrivateKeySigner,
    /// WTAO, for `wrap`.
    pub wtao: Option<Address>,
    /// Per sender, at most this many transactions sent and not yet seen in a block
    /// (at least 1). Nonces always reach the node in order; a small window keeps a chain
    /// that mines on arrival (anvil's automine) from leaving later ones pending.
    pub window: u64,
    /// The EvmValidator and the validator loop's settings, for `weights`.
    pub weights: Option<WeightsPlan>,
}

impl Plan {
    /// Checks what needs no chain: counts, concurrency, rate.
    pub fn validate(&self) -> Result<(), LoadTestError> {
        let invalid = |m: String| Err(LoadTestError::InvalidPlan(m));
        if self.concurrency == 0 {
            return invalid("--concurrent must be at least 1".into());
        }
        if self.transactions == 0 {
            return invalid("--transactions must be at least 1".into());
        }
        if self.concurrency as u64 > self.transactions {
            return invalid(format!(
                "--concurrent {} is more than --transactions {}: some workers would have nothing to send",
                self.concurrency, self.transactions
            ));
        }
        let day = Duration::from_secs(24 * 3600);
        let longest = [
            Some(self.time_limit),
            self.duration,
            Some(self.inclusion_timeout),
        ];
        if longest.iter().flatten().any(|d| *d > day || d.is_zero()) {
            return invalid("durations must be positive and at most 24 h".into());
        }
        if self.window == 0 {
            return invalid("--window must be at least 1".into());
        }
        if self.concurrency > 1024 {
            return invalid("--concurrent is at most 1024".into());
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return invalid("--rate must be a positive number of sends per second".into());
        }
        if self.scenario == Scenario::Weights {
            match &self.weights {
                None => {
                    return invalid(
                        "--scenario weights needs the EvmValidator: deploy first or pass --evm-validator ADDRESS".into(),
                    );
                }
                Some(w) if w.poll.is_zero() || w.poll > day => {
                    return invalid("--validator-poll must be positive and at most 24 h".into());
                }
                Some(_) => {}
            }
        }
        if self.scenario.needs_wtao() && self.wtao.is_none() {
            return invalid(format!(
                "--scenario {} needs WTAO: deploy first or pass --wtao ADDRESS",
                self.scenario.name()
            ));
        }
        Ok(())
    }
}

/// A snapshot of progress, for a progress bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub total: u64,
    pub sent: u64,
    pub included: u64,
    pub failed: u64,
}

/// Told what the test is doing; called from many tasks, often.
pub trait Progress: Send + Sync {
    fn phase(&self, _phase: &str) {}
    fn update(&self, _snapshot: Snapshot) {}
}

/// No progress display.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The load test as a library.
pub struct LoadTest;

impl LoadTest {
    /// Runs `plan` until its count, its duration or `shutdown`, and reports.
    pub async fn run(
        plan: Plan,
        shutdown: watch::Receiver<bool>,
        progress: Arc<dyn Progress>,
    ) -> Result<LoadReport, LoadTestError> {
        plan.validate()?;
        let limit = plan.time_limit;
        let run = async {
            match plan.scenario {
                Scenario::Calls => scenario::calls(&plan, shutdown, progress).await,
                Scenario::Transfer | Scenario::Wrap | Scenario::Mixed | Scenario::Weights => {
                    scenario::transactions(&plan, shutdown, progress).await
                }
            }
        };
        // The loops stop on their own before; this is the backstop.
        let backstop = limit + plan.inclusion_timeout * 2 + Duration::from_secs(30);
        tokio::time::timeout(backstop, run)
            .await
            .map_err(|_| LoadTestError::TimedOut(limit.as_secs()))?
    }

    /// Wei a transaction scenario may spend at most at `gas_price` (fees only: the values
    /// sent are 1 wei each and stay in the test's wallets or go back to the funder).
    pub fn estimated_spend(plan: &Plan, gas_limit: u64, gas_price: u128) -> U256 {
        let funding = U256::from(plan.concurrency as u64 * 21_000);
        (U256::from(plan.transactions) * U256::from(gas_limit) + funding) * U256::from(gas_price)
    }
}
