//! Setting weights through the EvmValidator, once (`taonado validator set-weights`) or in a
//! loop ([`ValidatorLoop`], behind `taonado validator run`), by the owner (`operatorSetWeights`: no interval, no bounty)
//! or by anyone (`setWeights(hotkey)`: interval-gated, paid back for gas plus the bounty,
//! optionally boosting the named hotkey's uid).
//!
//! Nothing is sent that the contract would refuse for the interval: the state is read first,
//! the loop waits for the allowed block, and every transaction is checked with `eth_call`
//! before it is sent. Rounds report gas spent against what the contract paid back.

use std::time::Duration;

use alloy::primitives::{Address, B256, I256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolEvent;
use serde::Serialize;
use taonado_types::Hotkey;
use tokio::sync::watch;

use crate::error::{OpsError, Result};
use crate::tx;
use taonado_contracts::bindings::{EvmValidator, WeightsV3};

pub use crate::error::validator::ValidatorError;
pub use estimate::RefundEstimate;

mod estimate;

/// The revert string of the interval check (`intervalPassed` modifier).
pub const INTERVAL_REVERT: &str = "Weight set interval has not passed";

/// Pallet errors that mean "too soon for the subnet", not "wrong call".
const RATE_LIMITED: [&str; 1] = ["SettingWeightsTooFast"];

/// Who sets the weights, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum ValidatorMode {
    /// The owner's `operatorSetWeights()`.
    Operator,
    /// Anyone's `setWeights(hotkey)`; the boost goes to `boost_hotkey`'s uid if given.
    Public { boost_hotkey: Option<Hotkey> },
}

/// The EvmValidator's settings and interval state at one block.
#[derive(Clone, Debug, Serialize)]
pub struct ValidatorState {
    pub validator: Address,
    pub owner: Address,
    pub weights: Address,
    pub netuid: u16,
    pub block: u64,
    pub last_set_block: u64,
    pub interval: u64,
    pub bounty_wei: U256,
    pub boost: u16,
    pub balance_wei: U256,
}

impl ValidatorState {
    /// The first block at which `setWeights` passes the interval check.
    pub fn allowed_at(&self) -> u64 {
        self.last_set_block.saturating_add(self.interval)
    }

    /// The first block at which `mode` should set weights again. `eth_call` runs at the
    /// latest block, so "allowed" means the latest block has reached it. The owner's path
    /// has no interval in the contract; the loop still keeps at least one block between
    /// rounds (and the contract's interval when set) so it does not spam the subnet.
    pub fn next_round_at(&self, mode: &ValidatorMode) -> u64 {
        match mode {
            _ if self.last_set_block == 0 => self.allowed_at(),
            ValidatorMode::Public { .. } => {
                self.allowed_at().max(self.last_set_block.saturating_add(1))
            }
            ValidatorMode::Operator => self.last_set_block.saturating_add(self.interval.max(1)),
        }
    }
}

/// One weight setting that was mined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeightsRound {
    pub tx: B256,
    pub block: u64,
    pub mode: ValidatorMode,
    /// `getNormalizedWeights()` just before the call (before any boost).
    pub weights: Vec<u16>,
    pub gas_used: u64,
    pub gas_spent_wei: U256,
    /// `BountyPaid.weiRefunded` (gas refund plus bounty); 0 for the owner.
    pub refunded_wei: U256,
    /// The bounty part of the refund.
    pub bounty_wei: U256,
    /// For a public call: its cost against the refund, estimated before it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<RefundEstimate>,
    /// Said before the transaction was sent (a call that costs more than it pays back).
    pub warnings: Vec<String>,
}

/// Reads the EvmValidator's state at the latest block.
pub async fn read_state(provider: &DynProvider, validator: Address) -> Result<ValidatorState> {
    let block = provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))?;
    let at = alloy::eips::BlockId::number(block);
    let c = EvmValidator::new(validator, provider);
    let read = |what: &'static str| OpsError::contract(format!("reading EvmValidator.{what}"));
    Ok(ValidatorState {
        validator,
        owner: c.owner().block(at).call().await.map_err(read("owner"))?,
        weights: c
            .weights()
            .block(at)
            .call()
            .await
            .map_err(read("weights"))?,
        netuid: c.netuid().block(at).call().await.map_err(read("netuid"))?,
        block,
        last_set_block: c
            .lastSetWeightsBlock()
            .block(at)
            .call()
            .await
            .map_err(read("lastSetWeightsBlock"))?
            .saturating_to(),
        interval: c
            .setWeightsBlockInterval()
            .block(at)
            .call()
            .await
            .map_err(read("setWeightsBlockInterval"))?
            .saturating_to(),
        bounty_wei: c
            .setWeightsBounty()
            .block(at)
            .call()
            .await
            .map_err(read("setWeightsBounty"))?,
        boost: c
            .metagraph_boost_value()
            .block(at)
            .call()
            .await
            .map_err(read("metagraph_boost_value"))?,
        balance_wei: provider
            .get_balance(validator)
            .block_id(at)
            .await
            .map_err(OpsError::rpc("reading the EvmValidator balance"))?,
    })
}

/// Sets weights once as `caller` (the provider's signer), after checking the interval or
/// ownership and an `eth_call` of the exact call.
pub async fn set_weights(
    provider: &DynProvider,
    caller: Address,
    validator: Address,
    mode: ValidatorMode,
) -> Result<WeightsRound> {
    let state = read_state(provider, validator).await?;
    set_weights_with(provider, caller, &state, mode).await
}

async fn set_weights_with(
    provider: &DynProvider,
    caller: Address,
    state: &ValidatorState,
    mode: ValidatorMode,
) -> Result<WeightsRound> {
    match mode {
        ValidatorMode::Operator if state.owner != caller => {
            return Err(ValidatorError::NotOwner {
                caller,
                owner: state.owner,
            }
            .into());
        }
        ValidatorMode::Public { .. } if state.block < state.allowed_at() => {
            return Err(ValidatorError::IntervalNotPassed {
                current: state.block,
                allowed_at: state.allowed_at(),
            }
            .into());
        }
        _ => {}
    }
    let weights = WeightsV3::new(state.weights, provider)
        .getNormalizedWeights()
        .call()
        .await
        .map_err(OpsError::contract("reading the normalized weights"))?
        .normalized;
    let contract = EvmValidator::new(state.validator, provider);
    let (call, name) = match mode {
        ValidatorMode::Operator => (
            contract
                .operatorSetWeights()
                .from(caller)
                .into_transaction_request(),
            "operatorSetWeights",
        ),
        ValidatorMode::Public { boost_hotkey } => {
            let hotkey = boost_hotkey.map_or(B256::ZERO, |h| h.account().to_b256());
            (
                contract
                    .setWeights(hotkey)
                    .from(caller)
                    .into_transaction_request(),
                "setWeights",
            )
        }
    };
    if let Err(error) = provider.call(call.clone()).await {
        let reason = tx::transport_error_reason(&error);
        if reason.contains(INTERVAL_REVERT) {
            return Err(ValidatorError::IntervalNotPassed {
                current: state.block,
                allowed_at: state.allowed_at(),
            }
            .into());
        }
        let reason = match RATE_LIMITED.iter().find(|e| reason.contains(*e)) {
            Some(_) => format!(
                "{reason} (the subnet's WeightsSetRateLimit: the EvmValidator set weights or registered too recently; retry later)"
            ),
            None => reason,
        };
        return Err(ValidatorError::WouldRevert { call: name, reason }.into());
    }
    let (estimate, warnings) = match mode {
        ValidatorMode::Operator => (None, Vec::new()),
        ValidatorMode::Public { .. } => {
            let estimate = estimate::estimate(
                provider,
                state.validator,
                &call,
                state.last_set_block,
                state.bounty_wei,
            )
            .await?;
            let mut warnings = Vec::new();
            if estimate.loses() {
                let warning = format!(
                    "{name} should cost about {} TAO ({} gas at {} wei) and pay back {} TAO: {} TAO more than it refunds, because {} gas fall outside what the contract refunds (its refundOverhead covers {}) and the bounty is {} TAO; the overhead is {}",
                    taonado_types::format_tao(estimate.cost_wei),
                    estimate.gas_estimate,
                    estimate.gas_price_wei,
                    taonado_types::format_tao(estimate.refund_wei),
                    taonado_types::format_tao(estimate.net_wei.unsigned_abs()),
                    estimate.overhead_gas,
                    estimate.refund_overhead_gas,
                    taonado_types::format_tao(estimate.bounty_wei),
                    estimate.basis
                );
                // Said before anything is sent, and kept in the report.
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
            (Some(estimate), warnings)
        }
    };
    let receipt = tx::send_and_confirm(provider, call, &format!("EvmValidator.{name}")).await?;
    let paid = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == state.validator)
        .find_map(|log| EvmValidator::BountyPaid::decode_log_data(log.data()).ok());
    let (refunded_wei, bounty_wei) = match paid {
        Some(p) => (p.weiRefunded, state.bounty_wei.min(p.weiRefunded)),
        None => (U256::ZERO, U256::ZERO),
    };
    Ok(WeightsRound {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        mode,
        weights,
        gas_used: receipt.gas_used,
        gas_spent_wei: U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price),
        refunded_wei,
        bounty_wei,
        estimate,
        warnings,
    })
}

/// What the validator loop does: which EvmValidator, which path, when to stop and how it
/// paces itself. [`ValidatorPlan::new`] fills the pacing with the defaults below.
#[derive(Clone, Debug)]
pub struct ValidatorPlan {
    /// The EvmValidator proxy.
    pub validator: Address,
    pub mode: ValidatorMode,
    /// Stop after this many weight settings.
    pub max_rounds: Option<u64>,
    /// Stop once this many blocks have passed since the start.
    pub exit_after_blocks: Option<u64>,
    /// Time between two looks at the chain while waiting for a block.
    pub poll: Duration,
    /// First wait after an error; doubles on each further error up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Mine the blocks it waits for with `anvil_mine` (dev chains that only mine on demand).
    pub mine_while_waiting: bool,
}

impl ValidatorPlan {
    /// Time between two looks at the chain while waiting (a block is ~12 s on subtensor).
    pub const POLL: Duration = Duration::from_secs(6);
    /// First wait after an error.
    pub const BACKOFF_INITIAL: Duration = Duration::from_secs(2);
    /// Longest wait after repeated errors.
    pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

    /// Sets weights on `validator` by `mode` until stopped, with the default pacing.
    pub fn new(validator: Address, mode: ValidatorMode) -> Self {
        Self {
            validator,
            mode,
            max_rounds: None,
            exit_after_blocks: None,
            poll: Self::POLL,
            backoff_initial: Self::BACKOFF_INITIAL,
            backoff_max: Self::BACKOFF_MAX,
            mine_while_waiting: false,
        }
    }

    /// Caps the wait after repeated errors (the first wait is capped too).
    pub fn with_max_backoff(mut self, max: Duration) -> Self {
        self.backoff_max = max;
        self.backoff_initial = Self::BACKOFF_INITIAL.min(max);
        self
    }
}

/// Running totals of the loop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BountyTotals {
    pub rounds: u64,
    pub failures: u64,
    pub gas_spent_wei: U256,
    pub refunded_wei: U256,
    pub bounty_wei: U256,
}

impl BountyTotals {
    /// Refunds minus gas spent (negative for the owner, who is never paid).
    pub fn net_wei(&self) -> I256 {
        I256::from_raw(self.refunded_wei).wrapping_sub(I256::from_raw(self.gas_spent_wei))
    }

    fn add(&mut self, round: &WeightsRound) {
        self.rounds += 1;
        self.gas_spent_wei += round.gas_spent_wei;
        self.refunded_wei += round.refunded_wei;
        self.bounty_wei += round.bounty_wei;
    }
}

/// What the loop reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum ValidatorEvent {
    Waiting {
        block: u64,
        until: u64,
    },
    /// Boxed: a round is much larger than the other events.
    Round {
        round: Box<WeightsRound>,
        totals: BountyTotals,
    },
    Failed {
        block: u64,
        error: String,
        retry_in_ms: u64,
    },
}

/// Receives [`ValidatorEvent`]s (the CLI logs them).
pub trait ValidatorObserver: Send + Sync {
    fn event(&self, event: &ValidatorEvent);
}

/// Why the loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    Requested,
    MaxRounds,
    BlockLimit,
}

/// The loop's final summary.
#[derive(Clone, Debug, Serialize)]
pub struct ValidatorReport {
    pub validator: Address,
    pub caller: Address,
    pub mode: ValidatorMode,
    pub totals: BountyTotals,
    pub net_wei: I256,
    pub first_block: u64,
    pub last_block: u64,
    pub last_round: Option<WeightsRound>,
    pub stopped: StopReason,
}

/// The weight-setting loop of one caller: `provider` signs as `caller`; `observer` hears
/// of every round, wait and failure.
pub struct ValidatorLoop<'a> {
    provider: DynProvider,
    caller: Address,
    observer: &'a dyn ValidatorObserver,
}

impl<'a> ValidatorLoop<'a> {
    pub fn new(
        provider: DynProvider,
        caller: Address,
        observer: &'a dyn ValidatorObserver,
    ) -> Self {
        Self {
            provider,
            caller,
            observer,
        }
    }

    /// Sets weights every time the interval allows until `shutdown` flips, `max_rounds`
    /// rounds are done or `exit_after_blocks` blocks have passed. Errors are reported and
    /// retried with exponential backoff; only a caller that can never succeed (not the
    /// owner in operator mode) ends the loop with an error. A stop request ends the loop
    /// after its current step (a transaction already sent is still awaited).
    pub async fn run(
        &self,
        plan: &ValidatorPlan,
        shutdown: watch::Receiver<bool>,
    ) -> Result<ValidatorReport> {
        run(
            &self.provider,
            self.caller,
            plan.validator,
            plan,
            shutdown,
            self.observer,
        )
        .await
    }
}

async fn run(
    provider: &DynProvider,
    caller: Address,
    validator: Address,
    config: &ValidatorPlan,
    mut shutdown: watch::Receiver<bool>,
    observer: &dyn ValidatorObserver,
) -> Result<ValidatorReport> {
    let first_block = provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))?;
    let end_block = config
        .exit_after_blocks
        .map(|n| first_block.saturating_add(n));
    let mut totals = BountyTotals::default();
    let mut last_round = None;
    let mut backoff = config.backoff_initial;
    let mut block = first_block;
    let stopped = loop {
        if *shutdown.borrow() {
            break StopReason::Requested;
        }
        if config.max_rounds.is_some_and(|max| totals.rounds >= max) {
            break StopReason::MaxRounds;
        }
        if end_block.is_some_and(|end| block >= end) {
            break StopReason::BlockLimit;
        }
        let attempt = async {
            let state = read_state(provider, validator).await?;
            let next = state.next_round_at(&config.mode);
            if state.block < next {
                return Ok(Err((state.block, next)));
            }
            set_weights_with(provider, caller, &state, config.mode)
                .await
                .map(Ok)
        };
        match attempt.await {
            Ok(Ok(round)) => {
                backoff = config.backoff_initial;
                block = round.block;
                totals.add(&round);
                observer.event(&ValidatorEvent::Round {
                    round: Box::new(round.clone()),
                    totals: totals.clone(),
                });
                last_round = Some(round);
            }
            Ok(Err((current, until))) => {
                let until = end_block.map_or(until, |end| until.min(end));
                observer.event(&ValidatorEvent::Waiting {
                    block: current,
                    until,
                });
                match wait_for_block(provider, config, until, &mut shutdown).await? {
                    Some(now) => block = now,
                    None => break StopReason::Requested,
                }
            }
            // Another caller set weights between our read and our call: wait again.
            Err(OpsError::Validator(ValidatorError::IntervalNotPassed { .. })) => {}
            Err(error @ OpsError::Validator(ValidatorError::NotOwner { .. })) => return Err(error),
            Err(error) => {
                totals.failures += 1;
                observer.event(&ValidatorEvent::Failed {
                    block,
                    error: error.to_string(),
                    retry_in_ms: u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                });
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(config.backoff_max);
            }
        }
    };
    let last_block = provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))?;
    Ok(ValidatorReport {
        validator,
        caller,
        mode: config.mode,
        net_wei: totals.net_wei(),
        totals,
        first_block,
        last_block,
        last_round,
        stopped,
    })
}

/// Waits until the latest block is at least `until`; `None` when a stop was requested.
async fn wait_for_block(
    provider: &DynProvider,
    config: &ValidatorPlan,
    until: u64,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Option<u64>> {
    let mut ticker = tokio::time::interval(config.poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = provider
            .get_block_number()
            .await
            .map_err(OpsError::rpc("reading the block number"))?;
        if now >= until {
            return Ok(Some(now));
        }
        if *shutdown.borrow() {
            return Ok(None);
        }
        if config.mine_while_waiting {
            crate::subnet::mine(provider, until - now).await?;
            continue;
        }
        tokio::select! {
            _ = ticker.tick() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return Ok(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(last: u64, interval: u64, block: u64) -> ValidatorState {
        ValidatorState {
            validator: Address::ZERO,
            owner: Address::ZERO,
            weights: Address::ZERO,
            netuid: 2,
            block,
            last_set_block: last,
            interval,
            bounty_wei: U256::ZERO,
            boost: 0,
            balance_wei: U256::ZERO,
        }
    }

    #[test]
    fn public_rounds_wait_for_the_interval() {
        let public = ValidatorMode::Public { boost_hotkey: None };
        assert_eq!(state(100, 10, 105).next_round_at(&public), 110);
        assert_eq!(state(0, 10, 5).next_round_at(&public), 10);
        assert_eq!(state(100, 0, 100).next_round_at(&public), 101);
    }

    #[test]
    fn operator_rounds_keep_a_block_apart() {
        let operator = ValidatorMode::Operator;
        assert_eq!(state(0, 0, 5).next_round_at(&operator), 0);
        assert_eq!(state(100, 0, 100).next_round_at(&operator), 101);
        assert_eq!(state(100, 10, 100).next_round_at(&operator), 110);
    }

    #[test]
    fn net_is_refunds_minus_gas() {
        let totals = BountyTotals {
            gas_spent_wei: U256::from(30),
            refunded_wei: U256::from(100),
            ..BountyTotals::default()
        };
        assert_eq!(totals.net_wei(), I256::try_from(70).unwrap());
        let owner = BountyTotals {
            gas_spent_wei: U256::from(30),
            ..BountyTotals::default()
        };
        assert_eq!(owner.net_wei(), I256::try_from(-30).unwrap());
    }

    #[test]
    fn interval_error_names_the_allowed_block() {
        let text = ValidatorError::IntervalNotPassed {
            current: 7,
            allowed_at: 10,
        }
        .to_string();
        assert!(
            text.contains("allowed from block 10 (now 7, 3 to go)"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }
}
