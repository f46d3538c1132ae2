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
use crate::report::{BlockStats, LoadReport, MethodStats, Percentiles, WalletStats};
use crate::rpc::{Rpc, RpcFailure, parse_quantity};
use crate::wallets::{self, TxTemplate};
use crate::{LoadTestError, Plan, Progress, Snapshot};

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
}

impl Scenario {
    pub const NAMES: [&'static str; 4] = ["calls", "transfer", "wrap", "mixed"];

    pub fn name(self) -> &'static str {
        match self {
            Self::Calls => "calls",
            Self::Transfer => "transfer",
            Self::Wrap => "wrap",
            Self::Mixed => "mixed",
        }
    }

    /// Whether it calls WTAO (and so needs its address).
    pub fn needs_wtao(self) -> bool {
        matches!(self, Self::Wrap | Self::Mixed)
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
    })
}

/// How often the block follower asks for the head: the resolution of inclusion latency.
pub const FOLLOW_POLL: Duration = Duration::from_millis(10);

/// Sent and not yet seen in a block: hash → when it was sent.
type Pending = Arc<Mutex<HashMap<B256, Instant>>>;

/// What the block follower saw.
#[derive(Default)]
struct Inclusions {
    latencies: Vec<Duration>,
    blocks: BlockStats,
}

impl Inclusions {
    /// Takes block `number`'s transactions of ours out of `pending`.
    fn record(
        &mut self,
        block: &Value,
        number: u64,
        now: Instant,
        pending: &Pending,
        counters: &Counters,
    ) {
        let mut ours = 0u64;
        if let Some(hashes) = block.get("transactions").and_then(Value::as_array) {
            let mut pending = lock(pending);
            for hash in hashes
                .iter()
                .filter_map(|h| h.as_str()?.parse::<B256>().ok())
            {
                if let Some(sent) = pending.remove(&hash) {
                    self.latencies.push(now.duration_since(sent));
                    ours += 1;
                }
            }
        }
        if ours == 0 {
            return;
        }
        counters.included.fetch_add(ours, Ordering::Relaxed);
        let gas = block
            .get("gasUsed")
            .and_then(parse_quantity)
            .unwrap_or_default() as u64;
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
    pending: Pending,
    counters: Arc<Counters>,
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
                seen.record(&block, next, now, &pending, &counters);
                next += 1;
            }
            if next <= last {
                break;
            }
        }
        let finished = *done.borrow();
        if let Some(stop_at) = finished
            && (lock(&pending).is_empty() || Instant::now() >= stop_at)
        {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(FOLLOW_POLL) => {}
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
    signer: PrivateKeySigner,
    rpc: Rpc,
    nonce: NonceTracker,
    /// Slot i sends `templates[i % len]`.
    templates: Arc<Vec<TxTemplate>>,
    /// Sends this child is funded for (its share of the count).
    budget: u64,
}

struct SenderResult {
    address: Address,
    nonce: NonceTracker,
    submissions: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    resyncs: u64,
}

#[allow(clippy::too_many_arguments)]
async fn send_loop(
    mut sender: Sender,
    chain_id: u64,
    gas_price: u128,
    tickets: Arc<Tickets>,
    pending: Pending,
    counters: Arc<Counters>,
    progress: Arc<dyn Progress>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SenderResult, LoadTestError> {
    let address = sender.signer.address();
    let mut submissions = Vec::new();
    let mut errors = BTreeMap::<String, u64>::new();
    let mut resyncs = 0;
    while sender.budget > 0
        && let Some(index) = tickets.take(&mut shutdown).await
    {
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
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let nonce = sender.nonce.take();
        let (hash, raw) = wallets::sign(
            &sender.signer,
            chain_id,
            nonce,
            gas_price,
            &sender.templates[(index % sender.templates.len() as u64) as usize],
        )?;
        let sent = Instant::now();
        // Registered before sending: a fast chain can include it before the answer.
        lock(&pending).insert(hash, sent);
        match sender
            .rpc
            .call("eth_sendRawTransaction", json!([raw]))
            .await
        {
            Ok(_) => {
                submissions.push(sent.elapsed());
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => {
                let included = lock(&pending).remove(&hash).is_none();
                if included {
                    // The answer was lost, but the block follower saw it.
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                } else {
                    *errors.entry(failure_reason(&failure)).or_default() += 1;
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                sender.nonce.failed();
            }
        }
        progress.update(counters.snapshot(tickets.total));
    }
    Ok(SenderResult {
        address,
        nonce: sender.nonce,
        submissions,
        errors,
        resyncs,
    })
}

fn failure_reason(failure: &RpcFailure) -> String {
    failure.reason()
}

/// `--scenario transfer|wrap`.
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
    };
    let templates = match plan.scenario {
        Scenario::Wrap => vec![wrap_template(plan, &rpc).await?],
        Scenario::Mixed => vec![transfer, wrap_template(plan, &rpc).await?],
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
    fund(plan, &rpc, gas_price, &top_ups).await?;

    progress.phase(plan.scenario.name());
    let start_block = rpc.quantity("eth_blockNumber", json!([])).await? as u64;
    let pending: Pending = Arc::default();
    let counters = Arc::new(Counters::default());
    let (done_tx, done_rx) = watch::channel(None);
    let follower = tokio::spawn(follow_blocks(
        Rpc::new(&plan.rpc_url, plan.request_timeout)?,
        start_block,
        pending.clone(),
        counters.clone(),
        done_rx,
        shutdown.clone(),
    ));
    let tickets = Arc::new(Tickets::new(plan));
    let mut workers = Vec::new();
    for signer in children {
        let start = rpc
            .quantity(
                "eth_getTransactionCount",
                json!([signer.address(), "pending"]),
            )
            .await?;
        let sender = Sender {
            signer,
            rpc: Rpc::new(&plan.rpc_url, plan.request_timeout)?,
            nonce: NonceTracker::new(start as u64),
            templates: templates.clone(),
            budget: per_child,
        };
        workers.push(tokio::spawn(send_loop(
            sender,
            plan.chain_id,
            gas_price,
            tickets.clone(),
            pending.clone(),
            counters.clone(),
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
    let mut inclusions = follower
        .await
        .map_err(|e| LoadTestError::Client(format!("the block follower panicked: {e}")))?;
    if let Some(error) = first_error {
        return Err(error);
    }
    let elapsed = tickets.start.elapsed().as_secs_f64().max(1e-9);

    let mut errors = BTreeMap::new();
    let mut submissions = Vec::new();
    let mut resyncs = 0;
    let mut nonce_gaps = 0;
    let interrupted = *shutdown.borrow();
    let in_flight = lock(&pending).len() as u64;
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
    let snapshot = counters.snapshot(plan.transactions);
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
        }),
        interrupted,
    })
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
    fn scenarios_parse_by_name() {
        for name in Scenario::NAMES {
            assert_eq!(name.parse::<Scenario>().unwrap().name(), name);
        }
        assert!(
            "weights"
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
    }
}
