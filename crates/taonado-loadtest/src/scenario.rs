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
use crate::report::{
    BlockPoint, BlockStats, LoadReport, MethodStats, NotesBackup, Percentiles, WalletStats,
};
use crate::rpc::{Rpc, parse_quantity};
use crate::wallets::{self, TxTemplate};
use crate::workload::{self, DepositPrep, Kind, Workload};
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
    /// `DepositTracker.associate(hotkey)`, each from a fresh one-shot wallet (an address
    /// associates once, ever).
    Associate,
    /// A mixer pool's `deposit(commitment)` of a fresh note, from the children (WTAO
    /// wrapped and the pool approved beforehand; the notes backed up first).
    MixerDeposit,
    /// Transfers, wraps, associations and mixer deposits, in rotation.
    Mixed,
    /// Transfers and wraps with the validator loop setting weights alongside
    /// ([`crate::weights`]).
    Weights,
}

impl Scenario {
    pub const NAMES: [&'static str; 7] = [
        "calls",
        "transfer",
        "wrap",
        "associate",
        "mixer-deposit",
        "mixed",
        "weights",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Calls => "calls",
            Self::Transfer => "transfer",
            Self::Wrap => "wrap",
            Self::Associate => "associate",
            Self::MixerDeposit => "mixer-deposit",
            Self::Mixed => "mixed",
            Self::Weights => "weights",
        }
    }

    /// What slot i sends: `kinds()[i % len]` (empty for `calls`).
    pub fn kinds(self) -> Vec<Kind> {
        match self {
            Self::Calls => Vec::new(),
            Self::Transfer => vec![Kind::Transfer],
            Self::Wrap => vec![Kind::Wrap],
            Self::Associate => vec![Kind::Associate],
            Self::MixerDeposit => vec![Kind::MixerDeposit],
            Self::Mixed => vec![
                Kind::Transfer,
                Kind::Wrap,
                Kind::Associate,
                Kind::MixerDeposit,
            ],
            // The load the validator loop runs under.
            Self::Weights => vec![Kind::Transfer, Kind::Wrap],
        }
    }

    /// Whether it calls WTAO (and so needs its address).
    pub fn needs_wtao(self) -> bool {
        self.kinds()
            .iter()
            .any(|k| matches!(k, Kind::Wrap | Kind::MixerDeposit))
    }

    /// Whether it associates (and so needs the DepositTracker).
    pub fn needs_tracker(self) -> bool {
        self.kinds().contains(&Kind::Associate)
    }

    /// Whether it deposits into a mixer pool.
    pub fn needs_pool(self) -> bool {
        self.kinds().contains(&Kind::MixerDeposit)
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
            "associate" => Ok(Self::Associate),
            "mixer-deposit" => Ok(Self::MixerDeposit),
            "mixed" => Ok(Self::Mixed),
            "weights" => Ok(Self::Weights),
            other => Err(format!(
                "unknown scenario `{other}` (one of: {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}

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
        notes: None,
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
    /// The ticket: what [`Workload::slot`] built it from.
    slot: u64,
    /// Sent from the slot's one-shot wallet, not the worker's child.
    one_shot: bool,
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
    workload: Arc<Workload>,
    /// Sends this child is funded for (its share of the count).
    budget: u64,
    /// At most this many of its transactions sent and not yet seen in a block.
    window: u64,
    /// How long to wait for the window to open before giving up.
    window_wait: Duration,
    /// Wei this child can still spend, counted down by each send's most (gas limit × price
    /// + value); below the next send's cost it asks for a top-up.
    spendable: U256,
    /// WTAO this child holds for its mixer deposits, counted down by each deposit.
    wtao: U256,
    /// (WTAO, pool, denomination) when the run deposits.
    deposits: Option<(Address, Address, U256)>,
    /// Wraps this child sent during the run to refill its WTAO.
    refills: u64,
    /// The funder's top-up service.
    top_ups: TopUps,
    /// A top-up covers this many of the dearest sends.
    fund_ahead: u64,
    gas_price: u128,
    chain_id: u64,
}

struct SenderResult {
    address: Address,
    nonce: NonceTracker,
    refills: u64,
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

    /// Before a mixer deposit: with less WTAO than one denomination left, wraps enough for
    /// `fund_ahead` more deposits (at most what its budget still needs) in this child's own
    /// nonce order, so the deposit after it finds the WTAO. Counts one deposit's WTAO as
    /// spent. The error is the reason, for the error table.
    async fn refill_wtao(&mut self) -> Result<(), String> {
        let Some((wtao, pool, denomination)) = self.deposits else {
            return Ok(());
        };
        if self.wtao < denomination {
            let deposits = (self.budget + 1).min(self.fund_ahead);
            let prep = DepositPrep {
                wrap: denomination * U256::from(deposits) - self.wtao,
                approve: false,
            };
            let Some(wrap) = prep.transactions(wtao, pool).pop() else {
                return Ok(());
            };
            self.afford(&wrap).await.map_err(|e| e.to_string())?;
            if self.nonce.needs_resync() {
                return Err("nonce resync needed before a WTAO refill".into());
            }
            let nonce = self.nonce.take();
            let (_, raw) = wallets::sign(&self.signer, self.chain_id, nonce, self.gas_price, &wrap)
                .map_err(|e| e.to_string())?;
            self.spendable = self.spendable.saturating_sub(
                U256::from(wrap.gas_limit) * U256::from(self.gas_price) + wrap.value,
            );
            if let Err(failure) = self.rpc.call("eth_sendRawTransaction", json!([raw])).await {
                self.nonce.failed();
                return Err(format!("WTAO refill: {}", failure.reason()));
            }
            self.wtao += prep.wrap;
            self.refills += 1;
        }
        self.wtao = self.wtao.saturating_sub(denomination);
        Ok(())
    }

    /// Makes sure this child can pay for `tx`: below its cost, asks the funder for enough
    /// for `fund_ahead` of the dearest sends (at most what its budget still needs).
    async fn afford(&mut self, tx: &TxTemplate) -> Result<(), LoadTestError> {
        let cost = U256::from(tx.gas_limit) * U256::from(self.gas_price) + tx.value;
        if self.spendable >= cost {
            return Ok(());
        }
        let Some(dearest) = self.workload.dearest_child_template() else {
            return Ok(());
        };
        let sends = (self.budget + 1).min(self.fund_ahead);
        let amount = wallets::need_per_child(sends, dearest, self.gas_price).max(cost);
        let added = self.top_ups.request(self.signer.address(), amount).await?;
        self.spendable += added;
        Ok(())
    }
}

async fn send_loop(
    mut sender: Sender,
    chain_id: u64,
    tickets: Arc<Tickets>,
    shared: Arc<Shared>,
    progress: Arc<dyn Progress>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SenderResult, LoadTestError> {
    let address = sender.signer.address();
    let gas_price = sender.gas_price;
    let mut submissions = Vec::new();
    let mut errors = BTreeMap::<String, u64>::new();
    let mut resyncs = 0;
    let workload = sender.workload.clone();
    while sender.budget > 0 {
        if !sender
            .wait_for_window(&shared, Instant::now() + sender.window_wait, &mut shutdown)
            .await
        {
            // Not a shutdown: the chain stopped including this sender's transactions, and
            // what it was to send is not sent. That is a failure, not a shorter run.
            if !*shutdown.borrow() {
                *errors
                    .entry(format!(
                        "a sender stopped: its window stayed full for {} s (earlier transactions not included)",
                        sender.window_wait.as_secs()
                    ))
                    .or_default() += 1;
                shared.counters.failed.fetch_add(1, Ordering::Relaxed);
            }
            break;
        }
        let Some(index) = tickets.take(&mut shutdown).await else {
            break;
        };
        sender.budget -= 1;
        let slot = workload.slot(index);
        let (signer, nonce) = match slot.one_shot {
            // A fresh wallet, funded for this one transaction.
            Some(one_shot) => (one_shot, 0),
            None => {
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
                        // The node cannot be asked: this slot fails too, and the next one
                        // retries.
                        _ => {
                            *errors.entry("nonce resync failed".into()).or_default() += 1;
                            shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                }
                if workload.kinds[slot.template] == Kind::MixerDeposit
                    && let Err(reason) = sender.refill_wtao().await
                {
                    *errors.entry(reason).or_default() += 1;
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if let Err(error) = sender.afford(&slot.tx).await {
                    *errors.entry(error.to_string()).or_default() += 1;
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                sender.spendable = sender.spendable.saturating_sub(
                    U256::from(slot.tx.gas_limit) * U256::from(gas_price) + slot.tx.value,
                );
                (&sender.signer, sender.nonce.take())
            }
        };
        let (hash, raw) = wallets::sign(signer, chain_id, nonce, gas_price, &slot.tx)?;
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
                template: slot.template,
                slot: index,
                one_shot: slot.one_shot.is_some(),
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
                    let reason = failure.reason();
                    // The local count was wrong: ask for a top-up before the next send.
                    if reason.contains("insufficient funds") {
                        sender.spendable = U256::ZERO;
                    }
                    *errors.entry(reason).or_default() += 1;
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                if slot.one_shot.is_none() {
                    sender.nonce.failed();
                }
            }
        }
        progress.update(shared.counters.snapshot(tickets.total));
    }
    Ok(SenderResult {
        address,
        refills: sender.refills,
        nonce: sender.nonce,
        submissions,
        errors,
        resyncs,
    })
}

/// One top-up asked of the funder during the run.
struct TopUpRequest {
    to: Address,
    amount: U256,
    done: tokio::sync::oneshot::Sender<Result<U256, LoadTestError>>,
}

/// The funder's top-ups during a run: the only sender from the funder's key once the load
/// has started, so its nonces stay in order. Requests that arrive together go out together.
#[derive(Clone)]
struct TopUps {
    requests: tokio::sync::mpsc::Sender<TopUpRequest>,
}

#[derive(Default)]
struct TopUpTotals {
    count: u64,
    wei: U256,
}

impl TopUps {
    /// Asks for `amount` wei to `to` and waits until it is included; returns what was sent.
    async fn request(&self, to: Address, amount: U256) -> Result<U256, LoadTestError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.requests
            .send(TopUpRequest { to, amount, done })
            .await
            .map_err(|_| LoadTestError::TopUp("the top-up service has stopped".into()))?;
        answer
            .await
            .map_err(|_| LoadTestError::TopUp("the top-up service has stopped".into()))?
    }

    /// Starts the service; it ends when every [`TopUps`] handle is dropped.
    fn start(
        plan: &Plan,
        gas_price: u128,
    ) -> Result<(Self, tokio::task::JoinHandle<TopUpTotals>), LoadTestError> {
        let (requests, mut inbox) = tokio::sync::mpsc::channel::<TopUpRequest>(1024);
        let rpc = Rpc::new(&plan.rpc_url, plan.request_timeout)?;
        let plan = plan.clone();
        let service = tokio::spawn(async move {
            let mut totals = TopUpTotals::default();
            while let Some(first) = inbox.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = inbox.try_recv() {
                    batch.push(more);
                }
                let top_ups: Vec<(Address, U256)> =
                    batch.iter().map(|r| (r.to, r.amount)).collect();
                let result = fund(&plan, &rpc, gas_price, &top_ups).await;
                if result.is_ok() {
                    totals.count += top_ups.len() as u64;
                    totals.wei += top_ups.iter().map(|(_, v)| *v).sum::<U256>();
                }
                for request in batch {
                    let answer = match &result {
                        Ok(()) => Ok(request.amount),
                        Err(error) => Err(LoadTestError::TopUp(error.to_string())),
                    };
                    let _ = request.done.send(answer);
                }
            }
            totals
        });
        Ok((Self { requests }, service))
    }
}

/// Every transaction scenario: `transfer`, `wrap`, `associate`, `mixer-deposit`, `mixed`.
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
    // The funder's nonce moves every run that funds anything, so this run's one-shot
    // wallets are new (an address associates once, ever).
    let salt = rpc
        .quantity("eth_getTransactionCount", json!([funder, "pending"]))
        .await? as u64;
    progress.phase("preparing");
    let workload = Arc::new(workload::build(plan, &rpc, salt).await?);
    let dearest = workload.dearest_child_template().cloned();

    progress.phase("funding wallets");
    let per_child = plan.transactions.div_ceil(plan.concurrency as u64);
    let funded_for = per_child.min(plan.fund_ahead);
    // Mixer deposits: each child wraps and approves for the most deposits it may send
    // before a refill (it wraps more during the run when it runs low).
    let deposits_per_child = workload
        .slots_of(Kind::MixerDeposit, plan.transactions)
        .min(funded_for);
    let deposit_target = plan
        .pool
        .as_ref()
        .zip(plan.wtao)
        .filter(|_| deposits_per_child > 0);
    let mut children = Vec::with_capacity(plan.concurrency);
    let mut preps = Vec::with_capacity(plan.concurrency);
    // WTAO each child holds once prepared.
    let mut wtao_held = Vec::with_capacity(plan.concurrency);
    let mut top_ups = Vec::new();
    for index in 0..plan.concurrency as u64 {
        let child = wallets::child(&plan.funder, index)?;
        let balance = U256::from(
            rpc.quantity("eth_getBalance", json!([child.address(), "latest"]))
                .await?,
        );
        let (prep, held) = match deposit_target {
            Some((pool, wtao)) => {
                let held = erc20_read(&rpc, wtao, balance_of(child.address())).await?;
                let allowed =
                    erc20_read(&rpc, wtao, allowance(child.address(), pool.address)).await?;
                let prep = DepositPrep::of(deposits_per_child, pool.denomination, held, allowed);
                (prep, held)
            }
            None => (DepositPrep::default(), U256::ZERO),
        };
        wtao_held.push(held + prep.wrap);
        let prep_cost = deposit_target.map_or(U256::ZERO, |(pool, wtao)| {
            prep.cost(wtao, pool.address, gas_price)
        });
        let need = dearest.as_ref().map_or(U256::ZERO, |t| {
            wallets::need_per_child(funded_for, t, gas_price)
        }) + prep_cost;
        if balance < need {
            top_ups.push((child.address(), need - balance));
        }
        children.push(child);
        preps.push(prep);
    }
    let children_funded = top_ups.len() as u64;
    let one_shot_top_ups = workload.one_shot_top_ups(gas_price);
    top_ups.extend(one_shot_top_ups.iter().copied());
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
    if let Some((pool, wtao)) = deposit_target {
        progress.phase("wrapping and approving for the deposits");
        prepare_deposits(plan, &rpc, gas_price, &children, &preps, wtao, pool.address).await?;
    }
    let (top_up_service, top_up_task) = TopUps::start(plan, gas_price)?;

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
        let spendable = U256::from(
            rpc.quantity("eth_getBalance", json!([signer.address(), "latest"]))
                .await?,
        );
        let sender = Sender {
            index,
            signer: signer.clone(),
            rpc: Rpc::new(&plan.rpc_url, plan.request_timeout)?,
            nonce: NonceTracker::new(start as u64),
            workload: workload.clone(),
            budget: per_child,
            window: plan.window.max(1),
            window_wait: plan.inclusion_timeout,
            spendable,
            wtao: wtao_held.get(index).copied().unwrap_or_default(),
            deposits: deposit_target.map(|(pool, wtao)| (wtao, pool.address, pool.denomination)),
            refills: 0,
            top_ups: top_up_service.clone(),
            fund_ahead: plan.fund_ahead,
            gas_price,
            chain_id: plan.chain_id,
        };
        workers.push(tokio::spawn(send_loop(
            sender,
            plan.chain_id,
            tickets.clone(),
            shared.clone(),
            progress.clone(),
            shutdown.clone(),
        )));
    }
    // The service stops when the last sender drops its handle.
    drop(top_up_service);
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
            &workload,
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
    let top_ups_during_run = top_up_task
        .await
        .map_err(|e| LoadTestError::Client(format!("the top-up service panicked: {e}")))?;
    // What the one-shot wallets still hold goes back to the funder: they are this run's
    // alone (a later run derives new ones), so anything left there would be lost.
    let swept = if *shutdown.borrow() {
        Sweep {
            left: workload.one_shot_count(),
            ..Sweep::default()
        }
    } else {
        sweep_one_shots(plan, &rpc, gas_price, &workload.one_shot_signers()).await
    };
    let reverted = reverted_by_kind(&rpc, &inclusions.hashes, &workload.templates).await?;
    // Deposits in a block and not reverted: the notes that can be withdrawn (a run ended by
    // its duration leaves the notes of its later slots unused).
    let deposits_made = inclusions
        .hashes
        .iter()
        .filter(|(_, template)| workload.kinds.get(*template) == Some(&Kind::MixerDeposit))
        .count() as u64
        - reverted
            .get(&format!("reverted: {}", Kind::MixerDeposit.name()))
            .copied()
            .unwrap_or(0);
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
    let mut wtao_refills = 0;
    for result in results {
        wtao_refills += result.refills;
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
            funded: children_funded,
            funding_wei: funding_wei.to_string(),
            one_shot_wallets: workload.one_shot_count(),
            one_shot_swept: swept.swept,
            one_shot_swept_wei: swept.wei.to_string(),
            one_shot_left: swept.left,
            topped_up_during_run: top_ups_during_run.count,
            wtao_refills,
            top_up_wei: top_ups_during_run.wei.to_string(),
            nonce_gaps,
            resyncs,
            leftover_nonces_cleared: leftovers,
            dropped,
            replaced,
        }),
        interrupted,
        notes: workload.notes.as_ref().map(|(path, count)| NotesBackup {
            path: path.display().to_string(),
            notes: *count,
            deposited: deposits_made,
        }),
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
    workload: &Workload,
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
        let slot = workload.slot(tx.slot);
        let signer = match (tx.one_shot, slot.one_shot) {
            (true, Some(one_shot)) => one_shot,
            (false, _) => match signers.get(tx.sender) {
                Some(child) => child,
                None => continue,
            },
            (true, None) => continue,
        };
        let price = tx.gas_price.saturating_mul(2);
        let Ok((new_hash, raw)) = wallets::sign(signer, plan.chain_id, tx.nonce, price, &slot.tx)
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

/// What [`sweep_one_shots`] did.
#[derive(Default)]
struct Sweep {
    /// Wallets whose balance went back to the funder.
    swept: u64,
    wei: U256,
    /// Wallets that still hold something worth a transfer: not swept (a transaction of
    /// theirs still pending, or the sweep itself failed).
    left: u64,
}

/// Sends each one-shot wallet's balance, less the transfer's fee, back to the funder, and
/// waits (bounded) for the receipts. A wallet with a transaction still pending, or holding
/// less than two transfers' fees, is left alone. Never fails the run: what could not be
/// swept is counted in `left`.
async fn sweep_one_shots(
    plan: &Plan,
    rpc: &Rpc,
    gas_price: u128,
    wallets: &[&PrivateKeySigner],
) -> Sweep {
    let fee = U256::from(21_000u64) * U256::from(gas_price);
    let mut sweep = Sweep::default();
    for chunk in wallets.chunks(FUND_CHUNK) {
        let addresses: Vec<Address> = chunk.iter().map(|s| s.address()).collect();
        let query = |method: &'static str, tag: &'static str| {
            let params = addresses.iter().map(|a| json!([a, tag])).collect();
            async move { rpc.batch(method, params).await.ok() }
        };
        let (Some(balances), Some(latest), Some(pending)) = (
            query("eth_getBalance", "latest").await,
            query("eth_getTransactionCount", "latest").await,
            query("eth_getTransactionCount", "pending").await,
        ) else {
            sweep.left += chunk.len() as u64;
            continue;
        };
        let mut sent = Vec::new();
        for (i, signer) in chunk.iter().enumerate() {
            let read = |answers: &[Option<Value>]| {
                answers
                    .get(i)
                    .and_then(Option::as_ref)
                    .and_then(parse_quantity)
            };
            let (Some(balance), Some(latest), Some(pending)) =
                (read(&balances), read(&latest), read(&pending))
            else {
                sweep.left += 1;
                continue;
            };
            let balance = U256::from(balance);
            if balance <= fee * U256::from(2) {
                continue;
            }
            if pending != latest {
                sweep.left += 1;
                continue;
            }
            let back = TxTemplate {
                to: plan.funder.address(),
                value: balance - fee,
                input: Bytes::new(),
                gas_limit: 21_000,
                kind: "sweep",
            };
            let signed = wallets::sign(signer, plan.chain_id, latest as u64, gas_price, &back);
            match signed {
                Ok((hash, raw))
                    if rpc
                        .call("eth_sendRawTransaction", json!([raw]))
                        .await
                        .is_ok() =>
                {
                    sent.push((hash, back.value));
                }
                _ => sweep.left += 1,
            }
        }
        let hashes: Vec<B256> = sent.iter().map(|(hash, _)| *hash).collect();
        if await_receipts(plan, rpc, &hashes, "sweep").await.is_ok() {
            sweep.swept += sent.len() as u64;
            sweep.wei += sent.iter().map(|(_, value)| *value).sum::<U256>();
        } else {
            sweep.left += sent.len() as u64;
        }
    }
    sweep
}

/// Top-ups per round of [`fund`]: sent together, then every receipt awaited, so that a
/// chain that mines on arrival never holds a long run of one sender's nonces.
const FUND_CHUNK: usize = 100;

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
    for chunk in top_ups.chunks(FUND_CHUNK) {
        let mut hashes = Vec::new();
        for (to, value) in chunk {
            let tx = TxTemplate {
                to: *to,
                value: *value,
                input: Bytes::new(),
                gas_limit: 21_000,
                kind: "top-up",
            };
            let (hash, raw) =
                wallets::sign(&plan.funder, plan.chain_id, nonce.take(), gas_price, &tx)?;
            rpc.must("eth_sendRawTransaction", json!([raw])).await?;
            hashes.push(hash);
        }
        await_receipts(plan, rpc, &hashes, "top-up").await?;
    }
    Ok(())
}

/// Waits (bounded by the inclusion timeout) until every one of `hashes` has a successful
/// receipt.
async fn await_receipts(
    plan: &Plan,
    rpc: &Rpc,
    hashes: &[B256],
    what: &str,
) -> Result<(), LoadTestError> {
    let deadline = Instant::now() + plan.inclusion_timeout;
    for hash in hashes {
        loop {
            let receipt = rpc.must("eth_getTransactionReceipt", json!([hash])).await?;
            if !receipt.is_null() {
                if receipt.get("status").and_then(parse_quantity) != Some(1) {
                    return Err(LoadTestError::Funding(format!("{what} {hash} reverted")));
                }
                break;
            }
            if Instant::now() >= deadline {
                return Err(LoadTestError::Funding(format!(
                    "{what} {hash} not included within {} s",
                    plan.inclusion_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// Each child's wrap and approve before mixer deposits: sent from all children at once
/// (each in nonce order), then every receipt awaited.
async fn prepare_deposits(
    plan: &Plan,
    rpc: &Rpc,
    gas_price: u128,
    children: &[PrivateKeySigner],
    preps: &[DepositPrep],
    wtao: Address,
    pool: Address,
) -> Result<(), LoadTestError> {
    let mut hashes = Vec::new();
    for (child, prep) in children.iter().zip(preps) {
        let txs = prep.transactions(wtao, pool);
        if txs.is_empty() {
            continue;
        }
        let start = rpc
            .quantity(
                "eth_getTransactionCount",
                json!([child.address(), "pending"]),
            )
            .await?;
        for (offset, tx) in txs.iter().enumerate() {
            let (hash, raw) = wallets::sign(
                child,
                plan.chain_id,
                start as u64 + offset as u64,
                gas_price,
                tx,
            )?;
            rpc.must("eth_sendRawTransaction", json!([raw])).await?;
            hashes.push(hash);
        }
    }
    await_receipts(plan, rpc, &hashes, "deposit preparation").await
}

/// `balanceOf(owner)` calldata.
fn balance_of(owner: Address) -> Bytes {
    use alloy::sol_types::SolCall;
    Bytes::from(taonado_contracts::bindings::WTAO::balanceOfCall(owner).abi_encode())
}

/// `allowance(owner, spender)` calldata.
fn allowance(owner: Address, spender: Address) -> Bytes {
    use alloy::sol_types::SolCall;
    Bytes::from(
        taonado_contracts::bindings::WTAO::allowanceCall {
            _0: owner,
            _1: spender,
        }
        .abi_encode(),
    )
}

/// A uint256 view of an ERC-20 at `token`.
async fn erc20_read(rpc: &Rpc, token: Address, input: Bytes) -> Result<U256, LoadTestError> {
    let value = rpc
        .must("eth_call", json!([{"to": token, "data": input}, "latest"]))
        .await?;
    value
        .as_str()
        .and_then(|hex| alloy::hex::decode(hex).ok())
        .filter(|bytes| bytes.len() >= 32)
        .map(|bytes| U256::from_be_slice(&bytes[..32]))
        .ok_or_else(|| LoadTestError::Rpc {
            method: "eth_call",
            message: format!("{token} answered {value} to an ERC-20 view"),
        })
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
            deposit_tracker: None,
            pool: None,
            notes: None,
            fund_ahead: 200,
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
        assert_eq!(Scenario::Mixed.kinds().len(), 4);
        assert!(Scenario::Mixed.needs_tracker() && Scenario::Mixed.needs_pool());
        assert!(!Scenario::Transfer.needs_wtao());
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
        let mut deposits = plan(5);
        deposits.scenario = Scenario::MixerDeposit;
        deposits.wtao = Some(Address::repeat_byte(1));
        assert!(
            deposits
                .validate()
                .unwrap_err()
                .to_string()
                .contains("pool")
        );
        deposits.pool = Some(crate::PoolTarget {
            address: Address::repeat_byte(2),
            denomination: U256::from(1),
            amount: "0.1".into(),
        });
        assert!(
            deposits
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--notes")
        );
        deposits.notes = Some("notes.txt".into());
        assert!(deposits.validate().is_ok());
        let mut associate = plan(5);
        associate.scenario = Scenario::Associate;
        assert!(
            associate
                .validate()
                .unwrap_err()
                .to_string()
                .contains("DepositTracker")
        );
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
