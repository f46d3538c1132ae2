//! The scenarios: what each worker sends, and the follower that sees inclusion.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::nonce::NonceTracker;
use crate::report::{BlockPoint, BlockStats, LoadReport, MethodStats, Percentiles, WalletStats};
use crate::rpc::{Rpc, parse_quantity};
use crate::wallets::{self, TxTemplate};
use crate::{LoadTestError, Plan, Progress, Snapshot, weights};

/// What a load test sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Read-only JSON-RPC: `eth_blockNumber`, `eth_getBalance`, `eth_call`.
    Calls,
    /// 1 wei native transfers from each child back to the funder.
    Transfer,
    /// `WTAO.deposit()` of 1 wei from each child.
    Wrap,
    /// Transfers and wraps, alternating (the other kinds are not in it yet).
    Mixed,
    /// Transfers and wraps with the validator loop setting weights alongside
    /// ([`crate::weights`]).
    Weights,
}

impl Scenario {
    pub const NAMES: [&'static str; 5] = ["calls", "transfer", "wrap", "mixed", "weights"];

    pub fn name(self) -> &'static str {
        match self {
            Self::Calls => "calls",
            Self::Transfer => "transfer",
            Self::Wrap => "wrap",
            Self::Mixed => "mixed",
            Self::Weights => "weights",
        }
    }

    /// Whether it calls WTAO (and so needs its address).
    pub fn needs_wtao(self) -> bool {
        matches!(self, Self::Wrap | Self::Mixed | Self::Weights)
    }

    /// Whether it sends transactions (and so spends).
    pub fn sends_transactions(self) -> bool {
        self != Self::Calls
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "calls" => Ok(Self::Calls),
            "transfer" => Ok(Self::Transfer),
            "wrap" => Ok(Self::Wrap),
            "mixed" => Ok(Self::Mixed),
            "weights" => Ok(Self::Weights),
            planned @ ("associate" | "mixer-deposit") => Err(format!(
                "scenario `{planned}` is not implemented yet (one of: {})",
                Self::NAMES.join(", ")
            )),
            other => Err(format!(
                "unknown scenario `{other}` (one of: {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// `deposit()`.
const DEPOSIT_SELECTOR: [u8; 4] = [0xd0, 0xe3, 0x0d, 0xb0];
const CALL_METHODS: [&str; 3] = ["eth_blockNumber", "eth_getBalance", "eth_call"];

/// Hands out send slots: at most `total`, none after `deadline` or a shutdown, and at
/// `--rate` if set (slot i is due at start + i / rate).
struct Tickets {
    next: AtomicU64,
    total: u64,
    start: Instant,
    deadline: Instant,
    rate: Option<f64>,
}

impl Tickets {
    fn new(plan: &Plan) -> Self {
        let start = Instant::now();
        let budget = plan
            .duration
            .unwrap_or(plan.time_limit)
            .min(plan.time_limit);
        Self {
            next: AtomicU64::new(0),
            total: plan.transactions,
            start,
            deadline: start + budget,
            rate: plan.rate,
        }
    }

    /// The next slot's index, after waiting for its time; `None` when the run is over.
    async fn take(&self, shutdown: &mut watch::Receiver<bool>) -> Option<u64> {
        if *shutdown.borrow() || Instant::now() >= self.deadline {
            return None;
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        if index >= self.total {
            return None;
        }
        if let Some(rate) = self.rate {
            let due = self.start + Duration::from_secs_f64(index as f64 / rate);
            if due >= self.deadline {
                return None;
            }
            tokio::select! {
                () = tokio::time::sleep_until(due.into()) => {}
                _ = shutdown.wait_for(|stop| *stop) => return None,
            }
        }
        Some(index)
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    included: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn snapshot(&self, total: u64) -> Snapshot {
        Snapshot {
            total,
            sent: self.sent.load(Ordering::Relaxed),
            included: self.included.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (reason, count) in from {
        *into.entry(reason).or_default() += count;
    }
}

/// `--scenario calls`.
pub async fn calls(
    plan: &Plan,
    shutdown: watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
) -> Result<LoadReport, LoadTestError> {
    let target = plan.funder.address();
    let params = [
        json!([]),
        json!([target, "latest"]),
        json!([{"to": target, "data": "0x"}, "latest"]),
    ];
    // One warm-up round, which also checks that every method answers.
    let probe = Rpc::new(&plan.rpc_url, plan.request_timeout)?;
    for (method, params) in CALL_METHODS.iter().zip(&params) {
        probe.must(method, params.clone()).await?;
    }
    progress.phase("calls");
    let tickets = Arc::new(Tickets::new(plan));
    let counters = Arc::new(Counters::default());
    let params = Arc::new(params);
    let mut workers = Vec::new();
    for _ in 0..plan.concurrency {
        let rpc = Rpc::new(&plan.rpc_url, plan.request_timeout)?;
        let (tickets, counters, params, progress) = (
            tickets.clone(),
            counters.clone(),
            params.clone(),
            progress.clone(),
        );
        let mut shutdown = shutdown.clone();
        let total = plan.transactions;
        workers.push(tokio::spawn(async move {
            let mut latencies: [Vec<Duration>; 3] = Default::default();
            let mut failures = [0u64; 3];
            let mut errors = BTreeMap::<String, u64>::new();
            while let Some(index) = tickets.take(&mut shutdown).await {
                let m = (index % 3) as usize;
                let sent = Instant::now();
                counters.sent.fetch_add(1, Ordering::Relaxed);
                match rpc.call(CALL_METHODS[m], params[m].clone()).await {
                    Ok(_) => {
                        latencies[m].push(sent.elapsed());
                        counters.included.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(failure) => {
                        failures[m] += 1;
                        *errors.entry(failure.reason()).or_default() += 1;
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                progress.update(counters.snapshot(total));
            }
            (latencies, failures, errors)
        }));
    }
    let mut latencies: [Vec<Duration>; 3] = Default::default();
    let mut failures = [0u64; 3];
    let mut errors = BTreeMap::new();
    for worker in workers {
        let (l, f, e) = worker
            .await
            .map_err(|e| LoadTestError::Client(format!("a worker panicked: {e}")))?;
        for m in 0..3 {
            latencies[m].extend(l[m].iter().copied());
            failures[m] += f[m];
        }
        merge(&mut errors, e);
    }
    let elapsed = tickets.start.elapsed().as_secs_f64().max(1e-9);
    let mut all: Vec<Duration> = latencies.iter().flatten().copied().collect();
    let methods = CALL_METHODS
        .iter()
        .zip(latencies.iter_mut())
        .zip(failures)
        .map(|((method, samples), failed)| MethodStats {
            method: (*method).to_owned(),
            ok: samples.len() as u64,
            failed,
            per_sec: samples.len() as f64 / elapsed,
            latency: Percentiles::of(samples),
        })
        .collect();
    let snapshot = counters.snapshot(plan.transactions);
    Ok(LoadReport {
        scenario: plan.scenario.name().to_owned(),
        rpc_url: plan.rpc_url.clone(),
        chain_id: plan.chain_id,
        concurrency: plan.concurrency,
        planned: plan.transactions,
        elapsed_secs: elapsed,
        sent: snapshot.sent,
        included: snapshot.included,
        failed: snapshot.failed,
        in_flight: 0,
        errors,
        per_sec: snapshot.included as f64 / elapsed,
        submission: Percentiles::of(&mut all),
        inclusion: None,
        methods,
        blocks: None,
        wallets: None,
        interrupted: *shutdown.borrow(),
        reverted: 0,
        per_block: Vec::new(),
        latency_over_time: Vec::new(),
        weights: None,
    })
}

/// How often the block follower asks for the head: the resolution of inclusion latency
/// (a sender waiting on its window wakes the follower at once).
pub const FOLLOW_POLL: Duration = Duration::from_millis(10);

/// One transaction sent and not yet seen in a block.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    sent: Instant,
    sender: usize,
    nonce: u64,
    template: usize,
    gas_price: u128,
    /// The other transaction with the same nonce: its replacement, or what it replaced.
    /// Whichever is included takes both out.
    twin: Option<B256>,
}

/// Sent and not yet seen in a block.
type Pending = Arc<Mutex<HashMap<B256, InFlight>>>;

/// What the senders and the block follower share.
struct Shared {
    pending: Pending,
    counters: Counters,
    /// Per sender: sent and not yet seen in a block (its window).
    unincluded: Vec<AtomicU64>,
    /// The follower saw new blocks.
    included: tokio::sync::Notify,
    /// A sender waits on its window: look for blocks now.
    kick: tokio::sync::Notify,
    start: Instant,
}

/// What the block follower saw.
#[derive(Default)]
struct Inclusions {
    latencies: Vec<Duration>,
    blocks: BlockStats,
    /// (hash, template) of every included transaction, for the receipts.
    hashes: Vec<(B256, usize)>,
    per_block: Vec<BlockPoint>,
    over_time: Vec<(f64, f64)>,
}

impl Inclusions {
    /// Takes block `number`'s transactions of ours out of `pending`.
    fn record(&mut self, block: &Value, number: u64, now: Instant, shared: &Shared) {
        let mut ours = 0u64;
        if let Some(hashes) = block.get("transactions").and_then(Value::as_array) {
            let mut pending = lock(&shared.pending);
            for hash in hashes
                .iter()
                .filter_map(|h| h.as_str()?.parse::<B256>().ok())
            {
                if let Some(tx) = pending.remove(&hash) {
                    if let Some(twin) = tx.twin {
                        pending.remove(&twin);
                    }
                    let latency = now.duration_since(tx.sent);
                    self.latencies.push(latency);
                    self.over_time.push((
                        tx.sent.duration_since(shared.start).as_secs_f64(),
                        latency.as_secs_f64() * 1e3,
                    ));
                    self.hashes.push((hash, tx.template));
                    if let Some(count) = shared.unincluded.get(tx.sender) {
                        count.fetch_sub(1, Ordering::Relaxed);
                    }
                    ours += 1;
                }
            }
        }
        if ours == 0 {
            return;
        }
        shared.counters.included.fetch_add(ours, Ordering::Relaxed);
        let gas = block
            .get("gasUsed")
            .and_then(parse_quantity)
            .unwrap_or_default() as u64;
        self.per_block.push(BlockPoint {
            number,
            at_secs: now.duration_since(shared.start).as_secs_f64(),
            txs: ours,
            gas_used: gas,
        });
        let b = &mut self.blocks;
        b.blocks += 1;
        b.first.get_or_insert(number);
        b.last = Some(number);
        b.gas_used_total += gas;
        b.gas_per_block_max = b.gas_per_block_max.max(gas);
        b.txs_per_block_max = b.txs_per_block_max.max(ours);
    }
}

/// Blocks per `eth_getBlockByNumber` batch.
const FOLLOW_BATCH: u64 = 100;

/// Follows new blocks from `from + 1` and takes the test's transactions out of `pending`,
/// until `done` and nothing is pending, or `stop_at`, or a shutdown.
async fn follow_blocks(
    rpc: Rpc,
    from: u64,
    shared: Arc<Shared>,
    mut done: watch::Receiver<Option<Instant>>,
    mut shutdown: watch::Receiver<bool>,
) -> Inclusions {
    let mut seen = Inclusions::default();
    let mut next = from + 1;
    loop {
        let head = match rpc.call("eth_blockNumber", json!([])).await {
            Ok(v) => parse_quantity(&v).map_or(next.saturating_sub(1), |h| h as u64),
            Err(_) => next.saturating_sub(1),
        };
        let before = next;
        while next <= head {
            // Up to FOLLOW_BATCH blocks per request: one request per block would let the
            // follower fall behind a chain that makes a block per transaction.
            let last = head.min(next + FOLLOW_BATCH - 1);
            let params = (next..=last)
                .map(|n| json!([format!("0x{n:x}"), false]))
                .collect();
            let Ok(blocks) = rpc.batch("eth_getBlockByNumber", params).await else {
                break;
            };
            let now = Instant::now();
            for block in blocks {
                // A missing block is asked for again on the next round.
                let Some(block) = block.filter(|b| !b.is_null()) else {
                    break;
                };
                seen.record(&block, next, now, &shared);
                next += 1;
            }
            if next <= last {
                break;
            }
        }
        if next > before {
            shared.included.notify_waiters();
        }
        let finished = *done.borrow();
        if let Some(stop_at) = finished
            && (lock(&shared.pending).is_empty() || Instant::now() >= stop_at)
        {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(FOLLOW_POLL) => {}
            () = shared.kick.notified() => {}
            _ = done.changed() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    if seen.blocks.blocks > 0 {
        seen.blocks.gas_per_block_mean =
            seen.blocks.gas_used_total as f64 / seen.blocks.blocks as f64;
    }
    seen
}

/// One child's sending loop.
struct Sender {
    index: usize,
    signer: PrivateKeySigner,
    rpc: Rpc,
    nonce: NonceTracker,
    /// Slot i sends `templates[i % len]`.
    templates: Arc<Vec<TxTemplate>>,
    /// Sends this child is funded for (its share of the count).
    budget: u64,
    /// At most this many of its transactions sent and not yet seen in a block.
    window: u64,
    /// How long to wait for the window to open before giving up.
    window_wait: Duration,
}

struct SenderResult {
    address: Address,
    nonce: NonceTracker,
    submissions: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    resyncs: u64,
}

impl Sender {
    /// Waits until fewer than `window` of this sender's transactions are unincluded:
    /// nonces reach the node in order and each one is mined before the sender runs
    /// `window` ahead (anvil's automine leaves transactions pending when a sender runs
    /// ahead of its blocks). False when the run ends first.
    async fn wait_for_window(
        &self,
        shared: &Shared,
        deadline: Instant,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let Some(count) = shared.unincluded.get(self.index) else {
            return true;
        };
        loop {
            let notified = shared.included.notified();
            if count.load(Ordering::Relaxed) < self.window {
                return true;
            }
            if Instant::now() >= deadline || *shutdown.borrow() {
                return false;
            }
            shared.kick.notify_one();
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = shutdown.wait_for(|stop| *stop) => return false,
            }
        }
    }
}

async fn send_loop(
    mut sender: Sender,
    chain_id: u64,
    gas_price: u128,
    tickets: Arc<Tickets>,
    shared: Arc<Shared>,
    progress: Arc<dyn Progress>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SenderResult, LoadTestError> {
    let address = sender.signer.address();
    let mut submissions = Vec::new();
    let mut errors = BTreeMap::<String, u64>::new();
    let mut resyncs = 0;
    while sender.budget > 0 {
        if !sender
            .wait_for_window(&shared, Instant::now() + sender.window_wait, &mut shutdown)
            .await
        {
            break;
        }
        let Some(index) = tickets.take(&mut shutdown).await else {
            break;
        };
        sender.budget -= 1;
        if sender.nonce.needs_resync() {
            match sender
                .rpc
                .call("eth_getTransactionCount", json!([address, "pending"]))
                .await
                .map(|v| parse_quantity(&v))
            {
                Ok(Some(pending)) => {
                    sender.nonce.resync(pending as u64);
                    resyncs += 1;
                }
                // The node cannot be asked: this slot fails too, and the next one retries.
                _ => {
                    *errors.entry("nonce resync failed".into()).or_default() += 1;
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let nonce = sender.nonce.take();
        let template = (index % sender.templates.len() as u64) as usize;
        let (hash, raw) = wallets::sign(
            &sender.signer,
            chain_id,
            nonce,
            gas_price,
            &sender.templates[template],
        )?;
        let sent = Instant::now();
        // Registered before sending: a fast chain can include it before the answer.
        let unincluded = &shared.unincluded[sender.index];
        unincluded.fetch_add(1, Ordering::Relaxed);
        lock(&shared.pending).insert(
            hash,
            InFlight {
                sent,
                sender: sender.index,
                nonce,
                template,
                gas_price,
                twin: None,
            },
        );
        match sender
            .rpc
            .call("eth_sendRawTransaction", json!([raw]))
            .await
        {
            Ok(_) => {
                submissions.push(sent.elapsed());
                shared.counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => {
                let included = lock(&shared.pending).remove(&hash).is_none();
                if included {
                    // The answer was lost, but the block follower saw it.
                    shared.counters.sent.fetch_add(1, Ordering::Relaxed);
                } else {
                    unincluded.fetch_sub(1, Ordering::Relaxed);
                    *errors.entry(failure.reason()).or_default() += 1;
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                sender.nonce.failed();
            }
        }
        progress.update(shared.counters.snapshot(tickets.total));
    }
    Ok(SenderResult {
        address,
        nonce: sender.nonce,
        submissions,
        errors,
        resyncs,
    })
}

/// `--scenario transfer|wrap|mixed`.
pub async fn transactions(
    plan: &Plan,
    shutdown: watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
) -> Result<LoadReport, LoadTestError> {
    let rpc = Rpc::new(&plan.rpc_url, plan.request_timeout)?;
    let node_price = rpc.quantity("eth_gasPrice", json!([])).await?;
    // Headroom for a rising base fee during the run.
    let gas_price = node_price.saturating_mul(2).max(1);
    let funder = plan.funder.address();
    let transfer = TxTemplate {
        to: funder,
        value: U256::from(1),
        input: Bytes::new(),
        gas_limit: 21_000,
        kind: "transfer",
    };
    let templates = match plan.scenario {
        Scenario::Wrap => vec![wrap_template(plan, &rpc).await?],
        Scenario::Mixed => vec![transfer, wrap_template(plan, &rpc).await?],
        Scenario::Weights => vec![transfer, wrap_template(plan, &rpc).await?],
        _ => vec![transfer],
    };
    // Funded for the dearest of them.
    let template = templates
        .iter()
        .max_by_key(|t| t.gas_limit)
        .cloned()
        .ok_or_else(|| LoadTestError::InvalidPlan("no transaction to send".into()))?;
    let templates = Arc::new(templates);

    progress.phase("funding wallets");
    let per_child = plan.transactions.div_ceil(plan.concurrency as u64);
    let need = wallets::need_per_child(per_child, &template, gas_price);
    let mut children = Vec::with_capacity(plan.concurrency);
    let mut top_ups = Vec::new();
    for index in 0..plan.concurrency as u64 {
        let child = wallets::child(&plan.funder, index)?;
        let balance = rpc
            .quantity("eth_getBalance", json!([child.address(), "latest"]))
            .await?;
        let balance = U256::from(balance);
        if balance < need {
            top_ups.push((child.address(), need - balance));
        }
        children.push(child);
    }
    // `weights`: the validator loop's own wallet, funded in the same step.
    let alongside = weights::Alongside::prepare(plan, &rpc, gas_price).await?;
    top_ups.extend(alongside.as_ref().and_then(weights::Alongside::top_up));
    let funding_wei: U256 = top_ups.iter().map(|(_, v)| *v).sum();
    let funding_fees = U256::from(top_ups.len() as u64 * 21_000) * U256::from(gas_price);
    let have = U256::from(
        rpc.quantity("eth_getBalance", json!([funder, "latest"]))
            .await?,
    );
    if have < funding_wei + funding_fees {
        return Err(LoadTestError::Unfunded {
            address: funder,
            have,
            need: funding_wei + funding_fees,
        });
    }
    // A killed run may have left the funder's own top-ups in the pool too.
    let mut leftovers =
        clear_leftovers(plan, &rpc, std::slice::from_ref(&plan.funder), gas_price).await?;
    fund(plan, &rpc, gas_price, &top_ups).await?;
    progress.phase("clearing stuck nonces");
    leftovers += clear_leftovers(plan, &rpc, &children, gas_price).await?;
    if let Some(alongside) = &alongside {
        let signer = std::slice::from_ref(alongside.signer());
        leftovers += clear_leftovers(plan, &rpc, signer, gas_price).await?;
    }

    progress.phase(plan.scenario.name());
    let start_block = rpc.quantity("eth_blockNumber", json!([])).await? as u64;
    let shared = Arc::new(Shared {
        pending: Arc::default(),
        counters: Counters::default(),
        unincluded: (0..children.len()).map(|_| AtomicU64::new(0)).collect(),
        included: tokio::sync::Notify::new(),
        kick: tokio::sync::Notify::new(),
        start: Instant::now(),
    });
    let (done_tx, done_rx) = watch::channel(None);
    let follower = tokio::spawn(follow_blocks(
        Rpc::new(&plan.rpc_url, plan.request_timeout)?,
        start_block,
        shared.clone(),
        done_rx,
        shutdown.clone(),
    ));
    let alongside = alongside
        .map(|a| a.start(plan, shutdown.clone(), shared.start))
        .transpose()?;
    let tickets = Arc::new(Tickets::new(plan));
    let mut workers = Vec::new();
    for (index, signer) in children.iter().enumerate() {
        let start = rpc
            .quantity(
                "eth_getTransactionCount",
                json!([signer.address(), "pending"]),
            )
            .await?;
        let sender = Sender {
            index,
            signer: signer.clone(),
            rpc: Rpc::new(&plan.rpc_url, plan.request_timeout)?,
            nonce: NonceTracker::new(start as u64),
            templates: templates.clone(),
            budget: per_child,
            window: plan.window.max(1),
            window_wait: plan.inclusion_timeout,
        };
        workers.push(tokio::spawn(send_loop(
            sender,
            plan.chain_id,
            gas_price,
            tickets.clone(),
            shared.clone(),
            progress.clone(),
            shutdown.clone(),
        )));
    }
    let mut results = Vec::new();
    let mut first_error = None;
    for worker in workers {
        match worker.await {
            Ok(Ok(result)) => results.push(result),
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Err(join) => {
                first_error
                    .get_or_insert(LoadTestError::Client(format!("a sender panicked: {join}")));
            }
        }
    }
    // Senders are done: the follower waits for the rest, at most `inclusion_timeout`.
    let _ = done_tx.send(Some(Instant::now() + plan.inclusion_timeout));
    // Half-way through that wait, what is still pending is stuck or was dropped.
    let (dropped, replaced) = if *shutdown.borrow() {
        (0, 0)
    } else {
        unstick(
            plan,
            &rpc,
            &children,
            &templates,
            &shared,
            Instant::now() + plan.inclusion_timeout / 2,
        )
        .await
    };
    let mut inclusions = follower
        .await
        .map_err(|e| LoadTestError::Client(format!("the block follower panicked: {e}")))?;
    if let Some(error) = first_error {
        return Err(error);
    }
    let elapsed = shared.start.elapsed().as_secs_f64().max(1e-9);
    // The load is done and waited for: the validator loop stops.
    let weights = match alongside {
        Some(running) => Some(running.finish(plan).await?),
        None => None,
    };

    let mut errors = BTreeMap::new();
    let reverted = reverted_by_kind(&rpc, &inclusions.hashes, &templates).await?;
    let reverted_total = reverted.values().sum();
    merge(&mut errors, reverted);
    let mut submissions = Vec::new();
    let mut resyncs = 0;
    let mut nonce_gaps = 0;
    let interrupted = *shutdown.borrow();
    // A transaction and its replacement count once.
    let in_flight = {
        let pending = lock(&shared.pending);
        let twins = pending.values().filter(|tx| tx.twin.is_some()).count() as u64;
        pending.len() as u64 - twins / 2
    };
    for result in results {
        merge(&mut errors, result.errors);
        submissions.extend(result.submissions);
        resyncs += result.resyncs;
        // With everything included, the chain's nonce must be where the local count is
        // (after a failed last send, where the node says).
        if in_flight == 0 && !interrupted {
            let latest = rpc
                .quantity("eth_getTransactionCount", json!([result.address, "latest"]))
                .await? as u64;
            let pending_nonce = rpc
                .quantity(
                    "eth_getTransactionCount",
                    json!([result.address, "pending"]),
                )
                .await? as u64;
            let expected = if result.nonce.needs_resync() {
                pending_nonce
            } else {
                result.nonce.expected()
            };
            if latest != expected {
                nonce_gaps += 1;
            }
        }
    }
    if in_flight > 0 {
        errors.insert(
            format!(
                "not included within {} s of the last send",
                plan.inclusion_timeout.as_secs()
            ),
            in_flight,
        );
    }
    let snapshot = shared.counters.snapshot(plan.transactions);
    progress.update(snapshot);
    Ok(LoadReport {
        scenario: plan.scenario.name().to_owned(),
        rpc_url: plan.rpc_url.clone(),
        chain_id: plan.chain_id,
        concurrency: plan.concurrency,
        planned: plan.transactions,
        elapsed_secs: elapsed,
        sent: snapshot.sent,
        included: snapshot.included,
        reverted: reverted_total,
        failed: snapshot.failed,
        in_flight,
        errors,
        per_sec: snapshot.included as f64 / elapsed,
        submission: Percentiles::of(&mut submissions),
        inclusion: Percentiles::of(&mut inclusions.latencies),
        methods: Vec::new(),
        blocks: Some(inclusions.blocks),
        wallets: Some(WalletStats {
            children: plan.concurrency as u64,
            funded: top_ups.len() as u64,
            funding_wei: funding_wei.to_string(),
            nonce_gaps,
            resyncs,
            leftover_nonces_cleared: leftovers,
            dropped,
            replaced,
        }),
        interrupted,
        per_block: inclusions.per_block,
        latency_over_time: inclusions.over_time,
        weights,
    })
}

/// Receipts per batch.
const RECEIPT_BATCH: usize = 100;

/// Reads the receipt of every included transaction: the reverted ones, by kind.
async fn reverted_by_kind(
    rpc: &Rpc,
    included: &[(B256, usize)],
    templates: &[TxTemplate],
) -> Result<BTreeMap<String, u64>, LoadTestError> {
    let mut reverted = BTreeMap::new();
    for chunk in included.chunks(RECEIPT_BATCH) {
        let params = chunk.iter().map(|(hash, _)| json!([hash])).collect();
        let receipts = rpc
            .batch("eth_getTransactionReceipt", params)
            .await
            .map_err(|failure| LoadTestError::Rpc {
                method: "eth_getTransactionReceipt",
                message: failure.reason(),
            })?;
        for ((_, template), receipt) in chunk.iter().zip(receipts) {
            let status = receipt
                .as_ref()
                .and_then(|r| r.get("status"))
                .and_then(parse_quantity);
            if status == Some(0) {
                let kind = templates.get(*template).map_or("transaction", |t| t.kind);
                *reverted.entry(format!("reverted: {kind}")).or_default() += 1;
            }
        }
    }
    Ok(reverted)
}

/// What to do about one sender's nonces at the start of a run.
#[derive(Debug, PartialEq, Eq)]
pub enum Leftovers {
    /// Nothing in the pool: start at the node's nonce.
    Clean,
    /// `latest..pending` were sent by an earlier run and are still in the pool: replace
    /// them (same nonces, bumped fee) before this run counts on its own nonces.
    Replace(std::ops::Range<u64>),
}

impl Leftovers {
    /// From the node's `latest` and `pending` nonces of the sender.
    pub fn of(latest: u64, pending: u64) -> Self {
        if pending > latest {
            Self::Replace(latest..pending)
        } else {
            Self::Clean
        }
    }
}

/// Replaces, for each of `signers`, the nonces an earlier run left in the pool by a
/// 0-value self-transfer at twice `gas_price` (the earlier run's price), and waits
/// (bounded) until the node's latest nonce has caught up. Returns how many it replaced.
async fn clear_leftovers(
    plan: &Plan,
    rpc: &Rpc,
    signers: &[PrivateKeySigner],
    gas_price: u128,
) -> Result<u64, LoadTestError> {
    let mut cleared = 0;
    let mut waiting = Vec::new();
    for signer in signers {
        let address = signer.address();
        let latest = rpc
            .quantity("eth_getTransactionCount", json!([address, "latest"]))
            .await? as u64;
        let pending = rpc
            .quantity("eth_getTransactionCount", json!([address, "pending"]))
            .await? as u64;
        let Leftovers::Replace(nonces) = Leftovers::of(latest, pending) else {
            continue;
        };
        let noop = TxTemplate {
            to: address,
            value: U256::ZERO,
            input: Bytes::new(),
            gas_limit: 21_000,
            kind: "replacement",
        };
        for nonce in nonces {
            let (_, raw) = wallets::sign(
                signer,
                plan.chain_id,
                nonce,
                gas_price.saturating_mul(2),
                &noop,
            )?;
            // Refused when the original was mined meanwhile, or is priced higher: either
            // way the nonce is used, which is all that matters here.
            let _ = rpc.call("eth_sendRawTransaction", json!([raw])).await;
            cleared += 1;
        }
        waiting.push((address, pending));
    }
    let deadline = Instant::now() + plan.inclusion_timeout;
    for (address, target) in waiting {
        loop {
            let latest = rpc
                .quantity("eth_getTransactionCount", json!([address, "latest"]))
                .await? as u64;
            if latest >= target {
                break;
            }
            if Instant::now() >= deadline {
                return Err(LoadTestError::Stuck(format!(
                    "{address}: nonces {latest}..{target} left by an earlier run are still not mined after {} s, even replaced at a bumped fee",
                    plan.inclusion_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(cleared)
}

/// Waits until nothing is pending or `until`; then asks the node about each transaction
/// still pending: one it no longer knows was dropped, one it holds is stuck. Both are sent
/// again with the same nonce at twice their fee (once). Returns (dropped, replaced).
async fn unstick(
    plan: &Plan,
    rpc: &Rpc,
    signers: &[PrivateKeySigner],
    templates: &[TxTemplate],
    shared: &Shared,
    until: Instant,
) -> (u64, u64) {
    while !lock(&shared.pending).is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stuck: Vec<(B256, InFlight)> = lock(&shared.pending)
        .iter()
        .filter(|(_, tx)| tx.twin.is_none())
        .map(|(hash, tx)| (*hash, *tx))
        .collect();
    let (mut dropped, mut replaced) = (0, 0);
    for (hash, tx) in stuck {
        let known = match rpc.call("eth_getTransactionByHash", json!([hash])).await {
            Ok(found) => !found.is_null(),
            Err(_) => continue,
        };
        let (Some(signer), Some(template)) = (signers.get(tx.sender), templates.get(tx.template))
        else {
            continue;
        };
        let price = tx.gas_price.saturating_mul(2);
        let Ok((new_hash, raw)) = wallets::sign(signer, plan.chain_id, tx.nonce, price, template)
        else {
            continue;
        };
        {
            let mut pending = lock(&shared.pending);
            // Included meanwhile: nothing to do.
            let Some(old) = pending.get_mut(&hash) else {
                continue;
            };
            old.twin = Some(new_hash);
            pending.insert(
                new_hash,
                InFlight {
                    gas_price: price,
                    twin: Some(hash),
                    ..tx
                },
            );
        }
        if rpc
            .call("eth_sendRawTransaction", json!([raw]))
            .await
            .is_ok()
        {
            if known {
                replaced += 1;
            } else {
                dropped += 1;
            }
        } else {
            let mut pending = lock(&shared.pending);
            pending.remove(&new_hash);
            if let Some(old) = pending.get_mut(&hash) {
                old.twin = None;
            }
        }
    }
    (dropped, replaced)
}

/// `WTAO.deposit()` of 1 wei, with half again the node's gas estimate.
async fn wrap_template(plan: &Plan, rpc: &Rpc) -> Result<TxTemplate, LoadTestError> {
    let wtao = plan
        .wtao
        .ok_or_else(|| LoadTestError::InvalidPlan("this scenario needs a WTAO address".into()))?;
    let input = Bytes::from(DEPOSIT_SELECTOR.to_vec());
    let from = plan.funder.address();
    let estimate = rpc
        .quantity(
            "eth_estimateGas",
            json!([{"from": from, "to": wtao, "value": "0x1", "data": input}]),
        )
        .await?;
    Ok(TxTemplate {
        to: wtao,
        value: U256::from(1),
        input,
        gas_limit: (estimate as u64).saturating_mul(3) / 2,
        kind: "wrap",
    })
}

/// Sends the top-ups from the funder and waits (bounded) for every receipt.
async fn fund(
    plan: &Plan,
    rpc: &Rpc,
    gas_price: u128,
    top_ups: &[(Address, U256)],
) -> Result<(), LoadTestError> {
    if top_ups.is_empty() {
        return Ok(());
    }
    let funder = plan.funder.address();
    let start = rpc
        .quantity("eth_getTransactionCount", json!([funder, "pending"]))
        .await?;
    let mut nonce = NonceTracker::new(start as u64);
    let mut hashes = Vec::new();
    for (to, value) in top_ups {
        let tx = TxTemplate {
            to: *to,
            value: *value,
            input: Bytes::new(),
            gas_limit: 21_000,
            kind: "top-up",
        };
        let (hash, raw) = wallets::sign(&plan.funder, plan.chain_id, nonce.take(), gas_price, &tx)?;
        rpc.must("eth_sendRawTransaction", json!([raw])).await?;
        hashes.push(hash);
    }
    let deadline = Instant::now() + plan.inclusion_timeout;
    for hash in hashes {
        loop {
            let receipt = rpc.must("eth_getTransactionReceipt", json!([hash])).await?;
            if !receipt.is_null() {
                if receipt.get("status").and_then(parse_quantity) != Some(1) {
                    return Err(LoadTestError::Funding(format!("top-up {hash} reverted")));
                }
                break;
            }
            if Instant::now() >= deadline {
                return Err(LoadTestError::Funding(format!(
                    "top-up {hash} not included within {} s",
                    plan.inclusion_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(transactions: u64) -> Plan {
        Plan {
            rpc_url: "http://127.0.0.1:9".into(),
            chain_id: 42,
            scenario: Scenario::Transfer,
            transactions,
            concurrency: 1,
            duration: None,
            rate: None,
            time_limit: Duration::from_secs(60),
            inclusion_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(1),
            funder: PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap(),
            wtao: None,
            window: 1,
            weights: None,
        }
    }

    #[tokio::test]
    async fn tickets_stop_at_the_count_and_on_shutdown() {
        let (stop, mut shutdown) = watch::channel(false);
        let tickets = Tickets::new(&plan(5));
        let mut taken = Vec::new();
        while let Some(i) = tickets.take(&mut shutdown).await {
            taken.push(i);
            assert!(taken.len() <= 5, "unbounded");
        }
        assert_eq!(taken, [0, 1, 2, 3, 4]);

        let tickets = Tickets::new(&plan(5));
        assert_eq!(tickets.take(&mut shutdown).await, Some(0));
        stop.send(true).unwrap();
        assert_eq!(tickets.take(&mut shutdown).await, None);
    }

    #[test]
    fn leftover_nonces_are_those_between_latest_and_pending() {
        assert_eq!(Leftovers::of(5, 5), Leftovers::Clean);
        assert_eq!(Leftovers::of(5, 8), Leftovers::Replace(5..8));
        // A node whose pending count lags its latest (some do) has nothing to replace.
        assert_eq!(Leftovers::of(9, 8), Leftovers::Clean);
    }

    #[test]
    fn scenarios_parse_by_name() {
        for name in Scenario::NAMES {
            assert_eq!(name.parse::<Scenario>().unwrap().name(), name);
        }
        assert!(
            "nonsense"
                .parse::<Scenario>()
                .unwrap_err()
                .contains("unknown scenario")
        );
    }

    #[test]
    fn plans_are_checked_before_anything_is_sent() {
        assert!(plan(5).validate().is_ok());
        let mut bad = plan(5);
        bad.concurrency = 6;
        assert!(bad.validate().unwrap_err().is_usage());
        bad.concurrency = 0;
        assert!(bad.validate().is_err());
        let mut wrap = plan(5);
        wrap.scenario = Scenario::Mixed;
        assert!(wrap.validate().unwrap_err().to_string().contains("WTAO"));
        let mut rate = plan(5);
        rate.rate = Some(0.0);
        assert!(rate.validate().is_err());
        let mut weights = plan(5);
        weights.scenario = Scenario::Weights;
        weights.wtao = Some(Address::repeat_byte(1));
        assert!(
            weights
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--evm-validator")
        );
    }
}
