//! `--scenario weights`: the manual's "weight setting under load".
//!
//! The real validator loop ([`taonado_ops::validator::ValidatorLoop`], public `setWeights`)
//! runs in-process with its own wallet (a child of the funder, funded in the load's funding
//! step) while the senders saturate the chain. Meanwhile a sampler reads the head and the
//! EvmValidator's balance every `poll`. At the end the EvmValidator's `BountyPaid` events
//! of the run give every public weight set (ours and anyone else's); from them:
//!
//! - the **drift**: blocks between successive sets minus the expected gap (the interval,
//!   at least 1: the loop never sets twice in a block), and in seconds the time from the
//!   block at which the next set was allowed to the block that holds it (both as first
//!   seen by the sampler);
//! - the **bounty balance**: start, end, min, max, net change, what the sets were paid,
//!   and what moved it besides them (should be 0).
//!
//! The loop is stopped when the load is done (or on shutdown) and awaited at most the
//! plan's inclusion timeout, then aborted: it never outlives [`crate::LoadTest::run`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use serde::Serialize;
use serde_json::json;
use taonado_contracts::bindings::EvmValidator;
use taonado_ops::validator::{
    self, ValidatorEvent, ValidatorLoop, ValidatorMode, ValidatorObserver, ValidatorPlan,
    ValidatorReport, ValidatorState,
};
use taonado_report::{Document, Plot, PlotKind, fmt_fixed};
use taonado_types::{Hotkey, format_tao};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::report::{percentile, thin};
use crate::rpc::{Rpc, parse_quantity, short_reason};
use crate::{LoadTestError, Plan, wallets};

/// The child index of the validator loop's wallet (the load's children are `0..1024`).
pub const LOOP_CHILD: u64 = 1 << 32;
/// Gas one weight-setting round may need (`setWeights` pushes every uid's weight through
/// the neuron precompile: about 150,000 gas on the devnet's subnet).
pub const ROUND_GAS: u64 = 500_000;
/// The loop's wallet is funded for this many rounds at the load's gas price (each round
/// is refunded its gas and paid the bounty, so this is working capital, not spend).
pub const FUNDED_ROUNDS: u64 = 10;
/// Longest wait between two attempts after errors (the loop's own backoff, capped so a
/// failing round is retried within a load test).
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Balance samples kept at most: past this, every other one is dropped and the sampling
/// period doubles.
pub const MAX_SAMPLES: usize = 1000;
/// Blocks per `eth_getLogs` request.
const LOG_RANGE: u64 = 2_000;

/// What `--scenario weights` needs besides the load.
#[derive(Clone, Debug)]
pub struct WeightsPlan {
    /// The EvmValidator proxy.
    pub validator: Address,
    /// The hotkey the loop names in `setWeights` (its uid gets the contract's boost);
    /// `None` names none.
    pub boost_hotkey: Option<Hotkey>,
    /// How often the loop looks at the chain while it waits, and the balance is sampled.
    pub poll: Duration,
}

/// One balance sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BalanceSample {
    /// Seconds from the start of the load phase.
    pub at_secs: f64,
    pub block: u64,
    pub balance_wei: String,
}

/// One weight set seen on chain during the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeightSet {
    pub block: u64,
    /// Seconds from the start of the load phase to when its block was first seen.
    pub at_secs: Option<f64>,
    /// `BountyPaid.who`: the caller paid.
    pub who: Address,
    /// Set by this test's validator loop.
    pub ours: bool,
    /// `BountyPaid.weiRefunded`: gas refund plus bounty.
    pub refunded_wei: String,
    /// The bounty part of it (`setWeightsBounty`, at most the refund).
    pub bounty_wei: String,
    /// For the loop's own sets: gas used and what it cost at the effective price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gas_used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gas_spent_wei: Option<String>,
    /// Blocks since the previous set minus the expected gap (`None` for the first).
    pub drift_blocks: Option<i64>,
    /// Seconds from the block the set was allowed at to its block (`None` for the first,
    /// or when the sampler did not see those blocks).
    pub drift_secs: Option<f64>,
}

/// How far successive sets were from the interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DriftStats {
    /// Blocks a set is expected after the previous one: the interval, at least 1.
    pub expected_blocks: u64,
    /// Pairs of successive sets measured.
    pub gaps: u64,
    pub blocks_p50: i64,
    pub blocks_max: i64,
    pub blocks_min: i64,
    pub secs_p50: Option<f64>,
    pub secs_max: Option<f64>,
    /// Seconds between successive sets (as first seen).
    pub gap_secs_p50: Option<f64>,
    pub gap_secs_max: Option<f64>,
}

/// The EvmValidator's balance over the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BalanceStats {
    pub start_wei: String,
    pub end_wei: String,
    pub min_wei: String,
    pub max_wei: String,
    /// End minus start (negative: it paid out more than it received).
    pub change_wei: String,
    /// Σ `BountyPaid.weiRefunded` of the run.
    pub paid_wei: String,
    /// End minus (start minus paid): what moved the balance besides the sets (funding,
    /// rescue); 0 when only weight sets did.
    pub unexplained_wei: String,
    pub samples: u64,
}

impl BalanceStats {
    /// From the balance at the start and at the end, the samples in between and what the
    /// sets were paid.
    pub fn of(start: u128, end: u128, samples: &[u128], paid: u128) -> Self {
        let all = samples.iter().copied().chain([start, end]);
        let min = all.clone().min().unwrap_or(start);
        let max = all.max().unwrap_or(start);
        let signed = |a: u128, b: u128| {
            if a >= b {
                (a - b).to_string()
            } else {
                format!("-{}", b - a)
            }
        };
        Self {
            start_wei: start.to_string(),
            end_wei: end.to_string(),
            min_wei: min.to_string(),
            max_wei: max.to_string(),
            change_wei: signed(end, start),
            paid_wei: paid.to_string(),
            unexplained_wei: signed(end.saturating_add(paid), start),
            samples: samples.len() as u64,
        }
    }
}

/// What the validator loop did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoopStats {
    pub caller: Address,
    /// Weight sets it got mined.
    pub rounds: u64,
    /// Attempts that failed (retried after a backoff), grouped by reason.
    pub failures: u64,
    pub failed: BTreeMap<String, u64>,
    /// Times it found the interval not yet passed and waited (skipped a look).
    pub waits: u64,
    pub gas_spent_wei: String,
    pub refunded_wei: String,
    pub bounty_wei: String,
    /// Refunds minus gas spent.
    pub net_wei: String,
    /// How it ended: `stop requested`, or why not.
    pub stopped: String,
    /// Funding sent to its wallet in this run.
    pub funded_wei: String,
}

/// `--scenario weights`: the weight setting under load.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WeightsReport {
    pub validator: Address,
    /// `setWeightsBlockInterval` at the start (and at the end if it changed).
    pub interval_blocks: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_blocks_end: Option<u64>,
    pub bounty_wei: String,
    pub first_block: u64,
    pub last_block: u64,
    /// `lastSetWeightsBlock` at the end.
    pub last_set_block: u64,
    pub sets: Vec<WeightSet>,
    pub drift: DriftStats,
    pub balance: BalanceStats,
    #[serde(rename = "loop")]
    pub validator_loop: LoopStats,
    pub balance_over_time: Vec<BalanceSample>,
    /// What the numbers need to be read with (interval 0, fewer than two sets, …).
    pub notes: Vec<String>,
}

impl WeightsReport {
    /// Whether the loop managed at least one round.
    pub fn managed_a_round(&self) -> bool {
        self.validator_loop.rounds > 0
    }

    /// The summary, as (what, value) lines: the document's key-values and the CLI's text.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let (d, l, b) = (&self.drift, &self.validator_loop, &self.balance);
        vec![
            ("EvmValidator", self.validator.to_string()),
            (
                "interval",
                format!(
                    "{} blocks (expected gap {}), bounty {} TAO",
                    self.interval_blocks,
                    d.expected_blocks,
                    tao_text(&self.bounty_wei)
                ),
            ),
            (
                "weight sets",
                format!(
                    "{} in blocks {}..{} ({} by the loop)",
                    self.sets.len(),
                    self.first_block,
                    self.last_block,
                    self.sets.iter().filter(|s| s.ours).count()
                ),
            ),
            (
                "drift (blocks)",
                format!(
                    "p50 {:+}, max {:+}, min {:+} over {} gaps",
                    d.blocks_p50, d.blocks_max, d.blocks_min, d.gaps
                ),
            ),
            (
                "drift (seconds)",
                format!(
                    "p50 {}, max {} after the allowed block; between sets p50 {}, max {}",
                    secs(d.secs_p50),
                    secs(d.secs_max),
                    secs(d.gap_secs_p50),
                    secs(d.gap_secs_max)
                ),
            ),
            (
                "validator loop",
                format!(
                    "{} from {}: {} rounds, {} failed, {} waits; gas {} TAO, refunded {} TAO (bounties {}), net {} TAO",
                    l.stopped,
                    l.caller,
                    l.rounds,
                    l.failures,
                    l.waits,
                    tao_text(&l.gas_spent_wei),
                    tao_text(&l.refunded_wei),
                    tao_text(&l.bounty_wei),
                    tao_text(&l.net_wei)
                ),
            ),
            (
                "bounty balance",
                format!(
                    "start {} TAO, end {}, min {}, max {}, change {} (paid {} to setters, {} unexplained; {} samples)",
                    tao_text(&b.start_wei),
                    tao_text(&b.end_wei),
                    tao_text(&b.min_wei),
                    tao_text(&b.max_wei),
                    tao_text(&b.change_wei),
                    tao_text(&b.paid_wei),
                    tao_text(&b.unexplained_wei),
                    b.samples
                ),
            ),
        ]
    }

    /// The columns of [`Self::set_rows`].
    pub const SET_COLUMNS: [&'static str; 6] = [
        "set block",
        "seconds",
        "who",
        "refunded (TAO)",
        "drift (blocks)",
        "drift (s)",
    ];

    /// One row per weight set.
    pub fn set_rows(&self) -> Vec<Vec<String>> {
        self.sets
            .iter()
            .map(|s| {
                vec![
                    s.block.to_string(),
                    secs(s.at_secs),
                    format!("{}{}", s.who, if s.ours { " (loop)" } else { "" }),
                    tao_text(&s.refunded_wei),
                    s.drift_blocks
                        .map_or_else(|| "-".into(), |d| format!("{d:+}")),
                    secs(s.drift_secs),
                ]
            })
            .collect()
    }

    /// The report's section: summary, notes, the sets, failures and the plots.
    pub fn add_to(&self, doc: &mut Document) {
        let (d, l) = (&self.drift, &self.validator_loop);
        let section = doc.section("Weight setting under load");
        section.key_values(self.summary());
        if !self.notes.is_empty() {
            section.list(self.notes.iter().cloned());
        }
        section.table(Self::SET_COLUMNS, self.set_rows());
        if !l.failed.is_empty() {
            section.table(
                ["loop failure", "count"],
                l.failed.iter().map(|(r, c)| vec![r.clone(), c.to_string()]),
            );
        }
        let balance: Vec<(f64, f64)> = self
            .balance_over_time
            .iter()
            .filter_map(|s| Some((s.at_secs, wei_f64(&s.balance_wei)?)))
            .collect();
        if !balance.is_empty() {
            section.plot(
                Plot::new(
                    PlotKind::Line,
                    "EvmValidator balance",
                    "seconds from the start",
                    "TAO",
                )
                .series("balance", thin(&balance, 240)),
            );
        }
        if let Some(first) = self.sets.first() {
            let expected = d.expected_blocks as f64;
            let actual: Vec<(f64, f64)> = self
                .sets
                .iter()
                .enumerate()
                .map(|(i, s)| (i as f64, s.block as f64))
                .collect();
            let planned: Vec<(f64, f64)> = (0..self.sets.len())
                .map(|i| (i as f64, first.block as f64 + i as f64 * expected))
                .collect();
            section.plot(
                Plot::new(
                    PlotKind::Line,
                    "Weight-set blocks against the interval",
                    "set",
                    "block",
                )
                .series("actual", actual)
                .series("every interval from the first", planned),
            );
        }
    }
}

/// Seconds with two decimals, `-` for none.
fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |s| fmt_fixed(s, 2))
}

/// A wei amount (decimal, maybe negative) as TAO.
pub fn tao_text(wei: &str) -> String {
    let (sign, digits) = wei.strip_prefix('-').map_or(("", wei), |d| ("-", d));
    digits
        .parse::<U256>()
        .map_or_else(|_| wei.to_owned(), |w| format!("{sign}{}", format_tao(w)))
}

/// A wei amount as TAO, for plots.
fn wei_f64(wei: &str) -> Option<f64> {
    wei.parse::<u128>().ok().map(|w| w as f64 / 1e18)
}

/// Blocks between successive sets minus `expected` (one per pair).
pub fn drift_blocks(blocks: &[u64], expected: u64) -> Vec<i64> {
    blocks
        .windows(2)
        .map(|w| w[1] as i64 - w[0] as i64 - expected as i64)
        .collect()
}

/// When the sampler first saw the chain at `block` or later.
pub fn first_seen(samples: &[(f64, u64)], block: u64) -> Option<f64> {
    samples.iter().find(|(_, b)| *b >= block).map(|(at, _)| *at)
}

/// Per pair of successive sets: seconds from when the next set was allowed (the previous
/// set's block plus `expected`) to when its block was seen.
pub fn drift_secs(blocks: &[u64], expected: u64, samples: &[(f64, u64)]) -> Vec<Option<f64>> {
    blocks
        .windows(2)
        .map(|w| {
            let allowed = first_seen(samples, w[0].saturating_add(expected))?;
            let set = first_seen(samples, w[1])?;
            Some(set - allowed)
        })
        .collect()
}

impl DriftStats {
    /// From the set blocks (ascending), the expected gap and the sampled (time, block).
    pub fn of(blocks: &[u64], expected: u64, samples: &[(f64, u64)]) -> Self {
        let mut drift = drift_blocks(blocks, expected);
        drift.sort_unstable();
        let mut secs: Vec<f64> = drift_secs(blocks, expected, samples)
            .into_iter()
            .flatten()
            .collect();
        secs.sort_by(f64::total_cmp);
        let seen: Vec<f64> = blocks
            .iter()
            .filter_map(|b| first_seen(samples, *b))
            .collect();
        let mut gaps: Vec<f64> = seen.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_by(f64::total_cmp);
        let spread = |v: &[f64]| {
            (
                (!v.is_empty()).then(|| percentile(v, 0.5)),
                v.last().copied(),
            )
        };
        let (secs_p50, secs_max) = spread(&secs);
        let (gap_secs_p50, gap_secs_max) = spread(&gaps);
        Self {
            expected_blocks: expected,
            gaps: drift.len() as u64,
            blocks_p50: percentile(&drift, 0.5),
            blocks_max: drift.last().copied().unwrap_or_default(),
            blocks_min: drift.first().copied().unwrap_or_default(),
            secs_p50,
            secs_max,
            gap_secs_p50,
            gap_secs_max,
        }
    }
}

/// Samples of (seconds, block, balance), at most [`MAX_SAMPLES`]: when full, every other
/// one is dropped and the caller doubles its period.
#[derive(Debug, Default)]
pub struct Samples(pub Vec<(f64, u64, u128)>);

impl Samples {
    /// Adds one; true when the samples were halved (the period should double).
    pub fn push(&mut self, at: f64, block: u64, balance: u128) -> bool {
        self.0.push((at, block, balance));
        if self.0.len() < MAX_SAMPLES {
            return false;
        }
        let kept: Vec<_> = self.0.iter().copied().step_by(2).collect();
        self.0 = kept;
        true
    }
}

/// What the loop's observer saw.
#[derive(Default)]
struct Observed {
    /// Our rounds: (seconds from the start, round).
    rounds: Vec<(f64, validator::WeightsRound)>,
    waits: u64,
    failed: BTreeMap<String, u64>,
}

struct Recorder {
    observed: Arc<Mutex<Observed>>,
    start: Instant,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ValidatorObserver for Recorder {
    fn event(&self, event: &ValidatorEvent) {
        let mut observed = lock(&self.observed);
        match event {
            ValidatorEvent::Waiting { .. } => observed.waits += 1,
            ValidatorEvent::Round { round, .. } => {
                let at = self.start.elapsed().as_secs_f64();
                observed.rounds.push((at, (**round).clone()));
            }
            ValidatorEvent::Failed { error, .. } => {
                *observed.failed.entry(short_reason(error, 240)).or_default() += 1;
            }
        }
    }
}

/// A spawned task aborted when dropped: a run that ends early (an error, the backstop)
/// leaves nothing running.
struct Task<T>(JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn ops_error(what: &str) -> impl FnOnce(taonado_ops::OpsError) -> LoadTestError + '_ {
    move |e| LoadTestError::Validator(format!("{what}: {e}"))
}

/// The loop's wallet and the EvmValidator's state, before the load.
pub(crate) struct Alongside {
    weights: WeightsPlan,
    signer: PrivateKeySigner,
    provider: DynProvider,
    state: ValidatorState,
    top_up: Option<(Address, U256)>,
}

impl Alongside {
    /// Under `--scenario weights`: derives the loop's wallet, reads the EvmValidator and
    /// what the wallet needs at `gas_price`. `None` under other scenarios.
    pub(crate) async fn prepare(
        plan: &Plan,
        rpc: &Rpc,
        gas_price: u128,
    ) -> Result<Option<Self>, LoadTestError> {
        let Some(weights) = plan.weights.clone() else {
            return Ok(None);
        };
        if plan.scenario != crate::Scenario::Weights {
            return Ok(None);
        }
        let signer = wallets::child(&plan.funder, LOOP_CHILD)?;
        let url = plan
            .rpc_url
            .parse()
            .map_err(|e| LoadTestError::InvalidPlan(format!("RPC URL: {e}")))?;
        let provider = taonado_client::ProviderSpec {
            chain_id: Some(plan.chain_id),
            request_timeout: plan.request_timeout,
            signer: Some(signer.clone()),
            ..taonado_client::ProviderSpec::new(vec![url])
        }
        .build()
        .map_err(|e| LoadTestError::Client(e.to_string()))?
        .into_provider();
        let state = validator::read_state(&provider, weights.validator)
            .await
            .map_err(ops_error("reading the EvmValidator"))?;
        let need = U256::from(ROUND_GAS * FUNDED_ROUNDS) * U256::from(gas_price);
        let balance = U256::from(
            rpc.quantity("eth_getBalance", json!([signer.address(), "latest"]))
                .await?,
        );
        let top_up = (balance < need).then(|| (signer.address(), need - balance));
        Ok(Some(Self {
            weights,
            signer,
            provider,
            state,
            top_up,
        }))
    }

    /// The loop's wallet (its leftover nonces are cleared with the children's).
    pub(crate) fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// What the funder sends the loop's wallet in the funding step, if it is short.
    pub(crate) fn top_up(&self) -> Option<(Address, U256)> {
        self.top_up
    }

    /// Starts the loop and the balance sampler; `start` is the load phase's start.
    pub(crate) fn start(
        self,
        plan: &Plan,
        shutdown: watch::Receiver<bool>,
        start: Instant,
    ) -> Result<Running, LoadTestError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (finish_tx, finish_rx) = oneshot::channel::<()>();
        let mut signal = shutdown;
        let forward = tokio::spawn(async move {
            let signalled = async {
                // A dropped sender is no stop request.
                if signal.wait_for(|stop| *stop).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = signalled => {}
                _ = finish_rx => {}
            }
            let _ = stop_tx.send(true);
        });
        let observed = Arc::new(Mutex::new(Observed::default()));
        let mut loop_plan = ValidatorPlan::new(
            self.weights.validator,
            ValidatorMode::Public {
                boost_hotkey: self.weights.boost_hotkey,
            },
        )
        .with_max_backoff(MAX_BACKOFF);
        loop_plan.poll = self.weights.poll;
        let recorder = Recorder {
            observed: observed.clone(),
            start,
        };
        let (provider, caller, loop_stop) = (
            self.provider.clone(),
            self.signer.address(),
            stop_rx.clone(),
        );
        let task = tokio::spawn(async move {
            ValidatorLoop::new(provider, caller, &recorder)
                .run(&loop_plan, loop_stop)
                .await
                .map_err(|e| e.to_string())
        });
        let sampler = tokio::spawn(sample(
            Rpc::new(&plan.rpc_url, plan.request_timeout)?,
            self.weights.validator,
            self.weights.poll,
            start,
            stop_rx,
        ));
        Ok(Running {
            prepared: self,
            start,
            observed,
            finish: Some(finish_tx),
            forward: Task(forward),
            task: Task(task),
            sampler: Task(sampler),
        })
    }
}

/// Reads the head and the balance every `period` (doubling when the samples are halved)
/// until `stop`.
async fn sample(
    rpc: Rpc,
    validator: Address,
    mut period: Duration,
    start: Instant,
    mut stop: watch::Receiver<bool>,
) -> Samples {
    let mut samples = Samples::default();
    loop {
        let read = async {
            let head = parse_quantity(&rpc.call("eth_blockNumber", json!([])).await.ok()?)?;
            let balance = rpc
                .call("eth_getBalance", json!([validator, format!("0x{head:x}")]))
                .await
                .ok()?;
            Some((head as u64, parse_quantity(&balance)?))
        };
        // A failed read is a missing sample, not a failed test.
        if let Some((block, balance)) = read.await
            && samples.push(start.elapsed().as_secs_f64(), block, balance)
        {
            period *= 2;
        }
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    samples
}

/// The loop and the sampler, running.
pub(crate) struct Running {
    prepared: Alongside,
    start: Instant,
    observed: Arc<Mutex<Observed>>,
    finish: Option<oneshot::Sender<()>>,
    forward: Task<()>,
    task: Task<Result<ValidatorReport, String>>,
    sampler: Task<Samples>,
}

impl Running {
    /// Stops the loop (awaited at most the inclusion timeout, then aborted) and the
    /// sampler, reads what the chain recorded and reports.
    pub(crate) async fn finish(mut self, plan: &Plan) -> Result<WeightsReport, LoadTestError> {
        if let Some(finish) = self.finish.take() {
            let _ = finish.send(());
        }
        let stopped = match tokio::time::timeout(plan.inclusion_timeout, &mut self.task.0).await {
            Ok(Ok(Ok(report))) => Ok(report),
            Ok(Ok(Err(error))) => Err(format!("ended with an error: {error}")),
            Ok(Err(join)) => Err(format!("panicked: {join}")),
            Err(_) => {
                self.task.0.abort();
                Err(format!(
                    "did not stop within {} s and was aborted",
                    plan.inclusion_timeout.as_secs()
                ))
            }
        };
        let _ = (&mut self.forward.0).await;
        let mut samples =
            match tokio::time::timeout(plan.inclusion_timeout, &mut self.sampler.0).await {
                Ok(Ok(samples)) => samples,
                _ => Samples::default(),
            };
        let prepared = &self.prepared;
        let validator = prepared.weights.validator;
        let end = validator::read_state(&prepared.provider, validator)
            .await
            .map_err(ops_error("reading the EvmValidator after the run"))?;
        // The last sample is the end state.
        samples.push(
            self.start.elapsed().as_secs_f64(),
            end.block,
            end.balance_wei.saturating_to(),
        );
        let observed = std::mem::take(&mut *lock(&self.observed));
        let paid = bounties(
            &prepared.provider,
            validator,
            prepared.state.block + 1,
            end.block,
        )
        .await;
        Ok(assemble(Assembly {
            prepared,
            end: &end,
            stopped,
            observed,
            samples,
            paid,
        }))
    }
}

/// One `BountyPaid` of the run.
struct Paid {
    block: u64,
    tx: Option<B256>,
    who: Address,
    refunded: U256,
}

/// Every `BountyPaid` of `validator` in `from..=to`, or why they could not be read.
async fn bounties(
    provider: &DynProvider,
    validator: Address,
    from: u64,
    to: u64,
) -> Result<Vec<Paid>, String> {
    let mut paid = Vec::new();
    let mut next = from;
    while next <= to {
        let last = to.min(next + LOG_RANGE - 1);
        let filter = Filter::new()
            .address(validator)
            .event_signature(EvmValidator::BountyPaid::SIGNATURE_HASH)
            .from_block(next)
            .to_block(last);
        let logs = provider
            .get_logs(&filter)
            .await
            .map_err(|e| format!("eth_getLogs failed: {e}"))?;
        for log in logs {
            let Ok(event) = EvmValidator::BountyPaid::decode_log_data(log.data()) else {
                continue;
            };
            paid.push(Paid {
                block: log.block_number.unwrap_or_default(),
                tx: log.transaction_hash,
                who: event.who,
                refunded: event.weiRefunded,
            });
        }
        next = last + 1;
    }
    Ok(paid)
}

struct Assembly<'a> {
    prepared: &'a Alongside,
    end: &'a ValidatorState,
    stopped: Result<ValidatorReport, String>,
    observed: Observed,
    samples: Samples,
    paid: Result<Vec<Paid>, String>,
}

fn assemble(a: Assembly<'_>) -> WeightsReport {
    let state = &a.prepared.state;
    let caller = a.prepared.signer.address();
    let expected = state.interval.max(1);
    let mut notes = Vec::new();
    let at_block: Vec<(f64, u64)> = a.samples.0.iter().map(|(t, b, _)| (*t, *b)).collect();
    let ours: BTreeMap<B256, &(f64, validator::WeightsRound)> =
        a.observed.rounds.iter().map(|r| (r.1.tx, r)).collect();
    let paid = match a.paid {
        Ok(paid) => paid,
        Err(why) => {
            notes.push(format!(
                "the BountyPaid events could not be read ({why}): only the loop's own sets are listed"
            ));
            a.observed
                .rounds
                .iter()
                .map(|(_, r)| Paid {
                    block: r.block,
                    tx: Some(r.tx),
                    who: caller,
                    refunded: r.refunded_wei,
                })
                .collect()
        }
    };
    let mut sets: Vec<WeightSet> = paid
        .iter()
        .map(|p| {
            let round = p.tx.and_then(|tx| ours.get(&tx));
            WeightSet {
                block: p.block,
                at_secs: first_seen(&at_block, p.block).or(round.map(|r| r.0)),
                who: p.who,
                ours: p.who == caller,
                refunded_wei: p.refunded.to_string(),
                bounty_wei: state.bounty_wei.min(p.refunded).to_string(),
                gas_used: round.map(|r| r.1.gas_used),
                gas_spent_wei: round.map(|r| r.1.gas_spent_wei.to_string()),
                drift_blocks: None,
                drift_secs: None,
            }
        })
        .collect();
    sets.sort_by_key(|s| s.block);
    let blocks: Vec<u64> = sets.iter().map(|s| s.block).collect();
    for ((set, blocks), secs) in sets
        .iter_mut()
        .skip(1)
        .zip(drift_blocks(&blocks, expected))
        .zip(drift_secs(&blocks, expected, &at_block))
    {
        set.drift_blocks = Some(blocks);
        set.drift_secs = secs;
    }
    let drift = DriftStats::of(&blocks, expected, &at_block);

    let paid_total: u128 = paid
        .iter()
        .map(|p| p.refunded.saturating_to::<u128>())
        .sum();
    let start_balance: u128 = state.balance_wei.saturating_to();
    let end_balance: u128 = a.end.balance_wei.saturating_to();
    let sampled: Vec<u128> = a.samples.0.iter().map(|(_, _, b)| *b).collect();
    let balance = BalanceStats::of(start_balance, end_balance, &sampled, paid_total);

    let rounds = a.observed.rounds.len() as u64;
    let (totals, stopped) = match &a.stopped {
        Ok(report) => (report.totals.clone(), "stop requested".to_owned()),
        Err(why) => {
            let mut totals = validator::BountyTotals::default();
            for (_, r) in &a.observed.rounds {
                totals.rounds += 1;
                totals.gas_spent_wei += r.gas_spent_wei;
                totals.refunded_wei += r.refunded_wei;
                totals.bounty_wei += r.bounty_wei;
            }
            notes.push(format!("the validator loop {why}"));
            (totals, why.clone())
        }
    };
    let failures: u64 = a.observed.failed.values().sum();
    let net = totals.net_wei();
    let validator_loop = LoopStats {
        caller,
        rounds,
        failures,
        failed: a.observed.failed,
        waits: a.observed.waits,
        gas_spent_wei: totals.gas_spent_wei.to_string(),
        refunded_wei: totals.refunded_wei.to_string(),
        bounty_wei: totals.bounty_wei.to_string(),
        net_wei: net.to_string(),
        stopped,
        funded_wei: a.prepared.top_up.map_or(U256::ZERO, |(_, v)| v).to_string(),
    };

    if state.interval == 0 {
        notes.push(
            "setWeightsBlockInterval is 0: anyone may set weights, and take the bounty, every block; the drift is measured against 1 block (the loop never sets twice in one). The owner can raise it with `taonado admin set-interval BLOCKS`".into(),
        );
    }
    if a.end.interval != state.interval {
        notes.push(format!(
            "setWeightsBlockInterval changed during the run: {} at the start, {} at the end",
            state.interval, a.end.interval
        ));
    }
    if sets.len() < 2 {
        let why = if failures > 0 {
            "the loop's attempts failed: see its failures".to_owned()
        } else {
            format!(
                "the load ended before the interval of {} blocks passed again? more --transactions or a lower --rate give the loop more blocks",
                state.interval
            )
        };
        notes.push(format!(
            "{} weight set(s) seen: no drift to measure ({why})",
            sets.len()
        ));
    }
    if rounds == 0 {
        notes.push("the validator loop managed no round".into());
    }
    if let Some(last) = blocks.last()
        && a.end.last_set_block > *last
    {
        notes.push(format!(
            "lastSetWeightsBlock is {} but the last BountyPaid is in block {last}: weights were also set without a bounty (the owner's operatorSetWeights)",
            a.end.last_set_block
        ));
    }
    if balance.unexplained_wei != "0" {
        notes.push(format!(
            "the balance moved by {} wei besides the bounties paid: someone funded or rescued the EvmValidator during the run",
            balance.unexplained_wei
        ));
    }
    let balance_over_time = a
        .samples
        .0
        .iter()
        .map(|(at, block, wei)| BalanceSample {
            at_secs: *at,
            block: *block,
            balance_wei: wei.to_string(),
        })
        .collect();
    WeightsReport {
        validator: state.validator,
        interval_blocks: state.interval,
        interval_blocks_end: (a.end.interval != state.interval).then_some(a.end.interval),
        bounty_wei: state.bounty_wei.to_string(),
        first_block: state.block,
        last_block: a.end.block,
        last_set_block: a.end.last_set_block,
        sets,
        drift,
        balance,
        validator_loop,
        balance_over_time,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn drift_is_the_gap_minus_the_interval() {
        assert_eq!(drift_blocks(&[100, 105, 113, 118], 5), [0, 3, 0]);
        assert_eq!(drift_blocks(&[7], 5), Vec::<i64>::new());
        // Another caller may set before the loop would have: negative drift is possible
        // only if the interval changed; the arithmetic allows it.
        assert_eq!(drift_blocks(&[10, 12], 5), [-3]);
    }

    #[test]
    fn drift_in_seconds_runs_from_the_allowed_block_to_the_set() {
        let samples = [(0.0, 100), (0.5, 104), (1.0, 105), (1.5, 109), (2.0, 112)];
        assert_eq!(first_seen(&samples, 105), Some(1.0));
        assert_eq!(first_seen(&samples, 106), Some(1.5));
        assert_eq!(first_seen(&samples, 200), None);
        // Allowed at 105 (seen at 1.0), set at 109 (seen at 1.5); allowed at 114: unseen.
        assert_eq!(drift_secs(&[100, 109, 112], 5, &samples), [Some(0.5), None]);
        let stats = DriftStats::of(&[100, 109, 112], 5, &samples);
        assert_eq!(stats.gaps, 2);
        assert_eq!((stats.blocks_min, stats.blocks_max), (-2, 4));
        assert_eq!(stats.secs_max, Some(0.5));
        // Seen at 0.0, 1.5 and 2.0: gaps of 1.5 and 0.5 s.
        assert_eq!(stats.gap_secs_max, Some(1.5));
        let none = DriftStats::of(&[100], 5, &samples);
        assert_eq!(
            (none.gaps, none.secs_p50, none.gap_secs_max),
            (0, None, None)
        );
    }

    #[test]
    fn balance_explains_itself_by_the_bounties() {
        let b = BalanceStats::of(1_000, 900, &[990, 950, 900], 100);
        assert_eq!((b.min_wei.as_str(), b.max_wei.as_str()), ("900", "1000"));
        assert_eq!(b.change_wei, "-100");
        assert_eq!(b.unexplained_wei, "0");
        // Funded by 50 during the run.
        let funded = BalanceStats::of(1_000, 950, &[1_050], 100);
        assert_eq!(funded.unexplained_wei, "50");
        assert_eq!(funded.max_wei, "1050");
        assert_eq!(tao_text("-1000000000000000000"), "-1");
        assert_eq!(tao_text("1500000000000000000"), "1.5");
    }

    #[test]
    fn a_run_whose_loop_managed_no_round_fails() {
        let mut weights = WeightsReport::default();
        assert!(!weights.managed_a_round());
        let mut doc = Document::new("t", "t");
        weights.add_to(&mut doc);
        assert!(doc.to_markdown().contains("Weight setting under load"));
        weights.validator_loop.rounds = 1;
        assert!(weights.managed_a_round());
    }

    #[test]
    fn samples_are_bounded_and_thinned_evenly() {
        let mut samples = Samples::default();
        let mut halvings = 0;
        for i in 0..10 * MAX_SAMPLES as u64 {
            if samples.push(i as f64, i, 1) {
                halvings += 1;
            }
            assert!(samples.0.len() < MAX_SAMPLES);
        }
        assert!(halvings >= 3, "{halvings}");
        assert_eq!(samples.0[0].1, 0);
        assert!(samples.0.windows(2).all(|w| w[0].0 < w[1].0));
    }

    proptest! {
        #[test]
        fn drift_adds_up_to_the_span(
            start in 0u64..1_000_000,
            gaps in proptest::collection::vec(1u64..500, 0..50),
            expected in 1u64..200,
        ) {
            let mut blocks = vec![start];
            for g in &gaps {
                blocks.push(blocks.last().unwrap() + g);
            }
            let drift = drift_blocks(&blocks, expected);
            prop_assert_eq!(drift.len(), gaps.len());
            let total: i64 = drift.iter().sum::<i64>() + (expected * gaps.len() as u64) as i64;
            prop_assert_eq!(total as u64, blocks.last().unwrap() - start);
            let stats = DriftStats::of(&blocks, expected, &[]);
            prop_assert!(stats.blocks_min <= stats.blocks_p50 && stats.blocks_p50 <= stats.blocks_max);
        }

        #[test]
        fn balance_bounds_hold(
            start in 0u128..u64::MAX as u128,
            end in 0u128..u64::MAX as u128,
            samples in proptest::collection::vec(0u128..u64::MAX as u128, 0..50),
            paid in 0u128..u64::MAX as u128,
        ) {
            let b = BalanceStats::of(start, end, &samples, paid);
            let n = |s: &str| s.parse::<i128>().unwrap();
            prop_assert!(n(&b.min_wei) <= n(&b.end_wei) && n(&b.end_wei) <= n(&b.max_wei));
            prop_assert!(n(&b.min_wei) <= n(&b.start_wei) && n(&b.start_wei) <= n(&b.max_wei));
            prop_assert_eq!(n(&b.change_wei), end as i128 - start as i128);
            prop_assert_eq!(n(&b.unexplained_wei), end as i128 + paid as i128 - start as i128);
        }
    }
}
