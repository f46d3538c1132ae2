//! `taonado loadtest`: load against a chain's JSON-RPC endpoint, and what it measured.
//!
//! - `calls`: read-only `eth_blockNumber`/`eth_getBalance`/`eth_call`, latency per method
//!   (as paradigm's flood reports it);
//! - `transfer`, `wrap`, `associate`, `mixer-deposit`, `mixed`: real transactions from
//!   child wallets funded from one key (and topped up during the run), signed locally,
//!   nonces counted locally and resynced from the node after a failed send (as spamoor
//!   does); inclusion is seen by following new blocks; what each slot sends is
//!   [`workload`]'s;
//! - `weights`: transfers and wraps with the real validator loop running alongside, and
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
pub mod workload;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;

pub use report::{LoadReport, Percentiles};
pub use scenario::Scenario;
pub use weights::{WeightsPlan, WeightsReport};
pub use workload::{Kind, PoolTarget};

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
    #[error("backing up the mixer notes: {0}")]
    Notes(String),
    #[error("topping up a child wallet: {0}")]
    TopUp(String),
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
    /// WTAO, for `wrap` and `mixer-deposit`.
    pub wtao: Option<Address>,
    /// The DepositTracker, for `associate`.
    pub deposit_tracker: Option<Address>,
    /// The pool `mixer-deposit` deposits into.
    pub pool: Option<PoolTarget>,
    /// The file the notes of `mixer-deposit` are appended to before the first deposit.
    pub notes: Option<std::path::PathBuf>,
    /// Each child is funded for at most this many transactions at a time and topped up by
    /// the funder during the run when it runs low (at least 1).
    pub fund_ahead: u64,
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
        if self.fund_ahead == 0 {
            return invalid("--fund-ahead must be at least 1".into());
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
        if self.scenario.needs_tracker() && self.deposit_tracker.is_none() {
            return invalid(format!(
                "--scenario {} needs the DepositTracker: deploy first or pass --tracker ADDRESS",
                self.scenario.name()
            ));
        }
        if self.scenario.needs_pool() {
            if self.pool.is_none() {
                return invalid(format!(
                    "--scenario {} needs a mixer pool: deploy first or pass --pool ADDRESS",
                    self.scenario.name()
                ));
            }
            if self.notes.is_none() {
                return invalid(format!(
                    "--scenario {} needs a file for the deposit notes (--notes FILE)",
                    self.scenario.name()
                ));
            }
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
                Scenario::Transfer
                | Scenario::Wrap
                | Scenario::Associate
                | Scenario::MixerDeposit
                | Scenario::Mixed
                | Scenario::Weights => scenario::transactions(&plan, shutdown, progress).await,
            }
        };
        // The loops stop on their own before; this is the backstop.
        let backstop = limit + plan.inclusion_timeout * 2 + Duration::from_secs(30);
        tokio::time::timeout(backstop, run)
            .await
            .map_err(|_| LoadTestError::TimedOut(limit.as_secs()))?
    }

    /// What a transaction scenario may spend at most at `gas_price`, before the chain is
    /// asked for its estimates (each kind at [`Kind::estimated_gas`]).
    pub fn estimated_spend(plan: &Plan, gas_price: u128) -> Spend {
        let kinds = plan.scenario.kinds();
        let price = U256::from(gas_price);
        let mut gas = U256::ZERO;
        for kind in &kinds {
            let slots = workload::count_slots(&kinds, *kind, plan.transactions);
            gas += U256::from(slots) * U256::from(kind.estimated_gas());
        }
        // Funding: a top-up per child (and per refill), one per one-shot wallet; the
        // deposits' wrap and approve.
        let one_shots = workload::count_slots(&kinds, Kind::Associate, plan.transactions);
        let refills = plan
            .transactions
            .div_ceil(plan.concurrency as u64)
            .div_ceil(plan.fund_ahead);
        let top_ups = plan.concurrency as u64 * refills + one_shots;
        gas += U256::from(top_ups * 21_000);
        let deposits = workload::count_slots(&kinds, Kind::MixerDeposit, plan.transactions);
        if deposits > 0 {
            gas += U256::from(plan.concurrency as u64 * 200_000);
        }
        let deposited = plan
            .pool
            .as_ref()
            .map_or(U256::ZERO, |p| p.denomination * U256::from(deposits));
        // `weights`: the validator loop's wallet holds this while it runs (each round is
        // refunded its gas and paid the bounty, so it comes back, less a top-up's fee).
        let working_capital = if plan.scenario == Scenario::Weights {
            gas += U256::from(21_000);
            U256::from(weights::ROUND_GAS * weights::FUNDED_ROUNDS) * price
        } else {
            U256::ZERO
        };
        Spend {
            fees: gas * price,
            deposited,
            working_capital,
        }
    }
}

/// What a run may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spend {
    /// Fees at most (the values sent are 1 wei each and stay in the test's wallets or go
    /// back to the funder).
    pub fees: U256,
    /// WTAO put into mixer pools: withdrawable with the notes the run backs up.
    pub deposited: U256,
    /// TAO the validator loop's wallet holds during `weights` (refunded round by round).
    pub working_capital: U256,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;

    fn plan(scenario: Scenario, transactions: u64, concurrency: usize) -> Plan {
        Plan {
            rpc_url: "http://127.0.0.1:9".into(),
            chain_id: 945,
            scenario,
            transactions,
            concurrency,
            duration: None,
            rate: None,
            time_limit: Duration::from_secs(60),
            inclusion_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(1),
            funder: PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap(),
            wtao: Some(Address::repeat_byte(1)),
            deposit_tracker: Some(Address::repeat_byte(2)),
            pool: Some(PoolTarget {
                address: Address::repeat_byte(3),
                denomination: U256::from(100u64),
                amount: "0.1".into(),
            }),
            notes: Some("notes.txt".into()),
            fund_ahead: 200,
            window: 1,
            weights: None,
        }
    }

    #[test]
    fn the_spend_counts_every_kind_the_funding_and_the_deposits() {
        let transfers = LoadTest::estimated_spend(&plan(Scenario::Transfer, 100, 10), 1);
        // 100 transfers and 10 child top-ups.
        assert_eq!(transfers.fees, U256::from(110 * 21_000));
        assert_eq!(transfers.deposited, U256::ZERO);

        let mixed = LoadTest::estimated_spend(&plan(Scenario::Mixed, 1000, 50), 2);
        let kinds = 250
            * (Kind::Transfer.estimated_gas()
                + Kind::Wrap.estimated_gas()
                + Kind::Associate.estimated_gas()
                + Kind::MixerDeposit.estimated_gas());
        // 50 child top-ups and 250 one-shot wallets; each child's wrap and approve.
        let funding = (50 + 250) * 21_000 + 50 * 200_000;
        assert_eq!(mixed.fees, U256::from((kinds + funding) * 2));
        assert_eq!(mixed.deposited, U256::from(250 * 100u64));

        // Funded 5 sends ahead: each of the 10 children is topped up 4 times for its 20.
        let mut ahead = plan(Scenario::Transfer, 200, 10);
        ahead.fund_ahead = 5;
        let spend = LoadTest::estimated_spend(&ahead, 1);
        assert_eq!(spend.fees, U256::from((200 + 40) * 21_000));
        assert_eq!(spend.working_capital, U256::ZERO);

        // `weights`: transfers and wraps, and the loop's wallet funded for its rounds.
        let spend = LoadTest::estimated_spend(&plan(Scenario::Weights, 100, 10), 1);
        let kinds = 50 * (Kind::Transfer.estimated_gas() + Kind::Wrap.estimated_gas());
        assert_eq!(spend.fees, U256::from(kinds + (10 + 1) * 21_000));
        assert_eq!(
            spend.working_capital,
            U256::from(weights::ROUND_GAS * weights::FUNDED_ROUNDS)
        );
    }
}
