//! What a load test measured: counts, errors grouped by reason, throughput, latency
//! percentiles (p50, p95, p99, max) and gas per block; as JSON (serde) and markdown.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use taonado_report::{Document, Plot, PlotKind, fmt_fixed};

/// Nearest-rank percentile `p` (0..=1) of sorted samples; the default (zero) when there
/// are none.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((sorted.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Latency percentiles of a set of samples, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// `None` for no samples. Sorts `samples` in place.
    pub fn of(samples: &mut [Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let ms = |d: Duration| d.as_nanos() as f64 / 1e6;
        Some(Self {
            count: samples.len() as u64,
            p50_ms: ms(percentile(samples, 0.50)),
            p95_ms: ms(percentile(samples, 0.95)),
            p99_ms: ms(percentile(samples, 0.99)),
            max_ms: ms(samples[samples.len() - 1]),
        })
    }
}

/// One JSON-RPC method under `--scenario calls`.
#[derive(Clone, Debug, Serialize)]
pub struct MethodStats {
    pub method: String,
    pub ok: u64,
    pub failed: u64,
    pub per_sec: f64,
    pub latency: Option<Percentiles>,
}

/// The blocks that included the test's transactions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BlockStats {
    pub blocks: u64,
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub gas_used_total: u64,
    pub gas_per_block_mean: f64,
    pub gas_per_block_max: u64,
    pub txs_per_block_max: u64,
}

/// The child wallets of a transaction scenario.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WalletStats {
    pub children: u64,
    /// Wallets topped up by the funder in this run: children, and under `weights` the
    /// validator loop's.
    pub funded: u64,
    /// Wei the funder sent to children.
    pub funding_wei: String,
    /// Senders whose nonce on chain did not end where the local count did.
    pub nonce_gaps: u64,
    /// Resyncs from the node after a failed send.
    pub resyncs: u64,
    /// Nonces a previous run left in the node's pool (sent, never included: a run killed
    /// mid-way), replaced at the start by a bumped-fee no-op so this run starts clean.
    pub leftover_nonces_cleared: u64,
    /// Transactions the node no longer knew while waiting for inclusion (dropped from its
    /// pool), sent again with the same nonce.
    pub dropped: u64,
    /// Transactions stuck in the pool past half the inclusion timeout, replaced by the same
    /// transaction at a bumped fee (same nonce).
    pub replaced: u64,
    /// Fresh wallets funded for one association each (`associate`).
    pub one_shot_wallets: u64,
    /// One-shot wallets whose balance went back to the funder after the run, and how much.
    pub one_shot_swept: u64,
    pub one_shot_swept_wei: String,
    /// One-shot wallets that still hold more than two transfers' fees (not swept: a
    /// transaction still pending, an interrupted run, or a failed sweep).
    pub one_shot_left: u64,
    /// Children topped up by the funder while the load ran (they ran low).
    pub topped_up_during_run: u64,
    /// Wei those top-ups sent.
    pub top_up_wei: String,
    /// Wraps the children sent during the run to refill their WTAO for mixer deposits.
    pub wtao_refills: u64,
}

/// Where the notes of the run's mixer deposits were backed up (before the first deposit).
#[derive(Clone, Debug, Serialize)]
pub struct NotesBackup {
    pub path: String,
    /// Notes backed up: one per `mixer-deposit` slot of the plan.
    pub notes: u64,
    /// Of them, deposited (included, not reverted); the others were never sent.
    pub deposited: u64,
}

/// One block that included transactions of the test (for the tx-per-block plot).
#[derive(Clone, Debug, Serialize)]
pub struct BlockPoint {
    pub number: u64,
    /// Seconds from the start of the load phase to when the block was seen.
    pub at_secs: f64,
    pub txs: u64,
    pub gas_used: u64,
}

/// The result of [`crate::LoadTest::run`].
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub scenario: String,
    pub rpc_url: String,
    pub chain_id: u64,
    pub concurrency: usize,
    /// The count bound (`--transactions`).
    pub planned: u64,
    /// Wall time of the load phase (after funding), in seconds.
    pub elapsed_secs: f64,
    pub sent: u64,
    pub included: u64,
    /// Included, but the receipt's status is 0 (a subset of `included`).
    pub reverted: u64,
    pub failed: u64,
    /// Sent, but neither included nor failed when the test stopped waiting.
    pub in_flight: u64,
    /// Failures grouped by reason.
    pub errors: BTreeMap<String, u64>,
    /// Included transactions (or answered calls) per second.
    pub per_sec: f64,
    /// Time for `eth_sendRawTransaction` (or each call) to answer.
    pub submission: Option<Percentiles>,
    /// From sending to seeing the transaction in a block.
    pub inclusion: Option<Percentiles>,
    pub methods: Vec<MethodStats>,
    pub blocks: Option<BlockStats>,
    pub wallets: Option<WalletStats>,
    /// Stopped early by a signal.
    pub interrupted: bool,
    /// The notes of `mixer-deposit`: the deposited WTAO is withdrawable with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<NotesBackup>,
    /// Each block with transactions of the test.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_block: Vec<BlockPoint>,
    /// (seconds from the start when sent, inclusion latency in ms) of each transaction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latency_over_time: Vec<(f64, f64)>,
    /// `--scenario weights`: the validator loop under the load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<crate::weights::WeightsReport>,
}

impl LoadReport {
    /// Whether everything sent was included (or answered) and nothing failed.
    pub fn succeeded(&self) -> bool {
        self.failed == 0
            && self.reverted == 0
            && self.in_flight == 0
            && !self.interrupted
            && self
                .weights
                .as_ref()
                .is_none_or(crate::weights::WeightsReport::managed_a_round)
    }

    /// The report as a markdown document (`--report FILE.md`).
    pub fn to_markdown(&self) -> String {
        self.to_document().to_markdown()
    }

    /// The report as a document: summary, latency percentiles, latency over time and
    /// transactions per block (plots), errors by reason.
    pub fn to_document(&self) -> Document {
        let mut doc = Document::new(
            format!("taonado loadtest: {}", self.scenario),
            format!(
                "loadtest --scenario {} against {} (chain {}), {} workers",
                self.scenario, self.rpc_url, self.chain_id, self.concurrency
            ),
        );
        let mut summary = vec![
            (
                "endpoint".to_owned(),
                format!("{} (chain {})", self.rpc_url, self.chain_id),
            ),
            ("concurrency".to_owned(), self.concurrency.to_string()),
            ("planned".to_owned(), self.planned.to_string()),
            (
                "elapsed".to_owned(),
                format!("{} s", fmt_fixed(self.elapsed_secs, 2)),
            ),
            ("sent".to_owned(), self.sent.to_string()),
            ("included".to_owned(), self.included.to_string()),
            ("reverted".to_owned(), self.reverted.to_string()),
            ("failed".to_owned(), self.failed.to_string()),
            ("in flight".to_owned(), self.in_flight.to_string()),
            ("per second".to_owned(), fmt_fixed(self.per_sec, 1)),
        ];
        if self.interrupted {
            summary.push(("interrupted".into(), "yes: the counts are partial".into()));
        }
        if let Some(w) = &self.wallets {
            summary.push((
                "wallets".into(),
                format!(
                    "{} children, {} funded ({} wei), {} resyncs, {} nonce gaps",
                    w.children, w.funded, w.funding_wei, w.resyncs, w.nonce_gaps
                ),
            ));
            if w.one_shot_wallets + w.topped_up_during_run + w.wtao_refills > 0 {
                summary.push((
                    "more wallets".into(),
                    format!(
                        "{} one-shot wallets (one association each; {} swept back to the funder, {} wei; {} left holding funds), {} top-ups during the run ({} wei), {} WTAO refills",
                        w.one_shot_wallets,
                        w.one_shot_swept,
                        w.one_shot_swept_wei,
                        w.one_shot_left,
                        w.topped_up_during_run,
                        w.top_up_wei,
                        w.wtao_refills
                    ),
                ));
            }
            summary.push((
                "stuck transactions".into(),
                format!(
                    "{} leftover nonces cleared, {} dropped and resent, {} replaced at a bumped fee",
                    w.leftover_nonces_cleared, w.dropped, w.replaced
                ),
            ));
        }
        if let Some(n) = &self.notes {
            summary.push((
                "mixer notes".into(),
                format!(
                    "{} deposited; {} backed up to {} before the first deposit",
                    n.deposited, n.notes, n.path
                ),
            ));
        }
        if let Some(b) = &self.blocks {
            summary.push((
                "blocks".into(),
                format!(
                    "{} ({}..{}), gas/block mean {} max {}, txs/block max {}",
                    b.blocks,
                    b.first.unwrap_or_default(),
                    b.last.unwrap_or_default(),
                    fmt_fixed(b.gas_per_block_mean, 0),
                    b.gas_per_block_max,
                    b.txs_per_block_max
                ),
            ));
        }
        doc.section("Summary").key_values(summary);

        let mut rows = Vec::new();
        let mut row = |name: &str, p: &Option<Percentiles>| {
            if let Some(p) = p {
                rows.push(vec![
                    name.to_owned(),
                    p.count.to_string(),
                    fmt_fixed(p.p50_ms, 2),
                    fmt_fixed(p.p95_ms, 2),
                    fmt_fixed(p.p99_ms, 2),
                    fmt_fixed(p.max_ms, 2),
                ]);
            }
        };
        row("submission", &self.submission);
        row("inclusion", &self.inclusion);
        for m in &self.methods {
            row(&m.method, &m.latency);
        }
        doc.section("Latency (ms)")
            .table(["what", "count", "p50", "p95", "p99", "max"], rows);

        if !self.latency_over_time.is_empty() || !self.per_block.is_empty() {
            let plots = doc.section("Over time");
            if !self.latency_over_time.is_empty() {
                plots.plot(
                    Plot::new(
                        PlotKind::Scatter,
                        "Inclusion latency by send time",
                        "seconds from the start",
                        "ms",
                    )
                    .series("inclusion", thin(&self.latency_over_time, PLOT_POINTS)),
                );
            }
            if !self.per_block.is_empty() {
                let points: Vec<(f64, f64)> = self
                    .per_block
                    .iter()
                    .map(|b| (b.number as f64, b.txs as f64))
                    .collect();
                plots.plot(
                    Plot::new(
                        PlotKind::Line,
                        "Transactions of the test per block",
                        "block",
                        "transactions",
                    )
                    .series("txs", thin(&points, PLOT_POINTS)),
                );
                let per_sec = per_second(&self.per_block);
                plots.plot(
                    Plot::new(PlotKind::Line, "Included per second", "second", "tx/s")
                        .series("tx/s", thin(&per_sec, PLOT_POINTS)),
                );
            }
        }
        if let Some(weights) = &self.weights {
            weights.add_to(&mut doc);
        }
        if !self.errors.is_empty() {
            doc.section("Errors by reason").table(
                ["reason", "count"],
                self.errors
                    .iter()
                    .map(|(reason, count)| vec![reason.clone(), count.to_string()]),
            );
        }
        doc
    }
}

/// Points per plot at most (the markdown rendering is a table of them).
const PLOT_POINTS: usize = 120;

/// At most `max` points: the mean of consecutive runs of equal length.
pub fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let run = points.len().div_ceil(max);
    points
        .chunks(run)
        .map(|chunk| {
            let n = chunk.len() as f64;
            let (x, y) = chunk
                .iter()
                .fold((0.0, 0.0), |(x, y), (px, py)| (x + px, y + py));
            (x / n, y / n)
        })
        .collect()
}

/// Transactions included in each whole second of the run (by when their block was seen).
pub fn per_second(blocks: &[BlockPoint]) -> Vec<(f64, f64)> {
    let mut seconds = BTreeMap::<u64, u64>::new();
    for b in blocks {
        *seconds.entry(b.at_secs.max(0.0) as u64).or_default() += b.txs;
    }
    let last = seconds.keys().next_back().copied().unwrap_or(0);
    (0..=last)
        .map(|s| (s as f64, seconds.get(&s).copied().unwrap_or(0) as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentiles_of_a_hundred_samples() {
        let mut samples = ms(&(1..=100).rev().collect::<Vec<_>>());
        let p = Percentiles::of(&mut samples).unwrap();
        assert_eq!(p.count, 100);
        assert_eq!(p.p50_ms, 51.0); // rank round(99 * 0.5) = 50 → the 51st
        assert_eq!(p.p95_ms, 95.0);
        assert_eq!(p.p99_ms, 99.0);
        assert_eq!(p.max_ms, 100.0);
    }

    #[test]
    fn percentiles_of_one_and_none() {
        assert_eq!(Percentiles::of(&mut []), None);
        let p = Percentiles::of(&mut ms(&[7])).unwrap();
        assert_eq!((p.p50_ms, p.p99_ms, p.max_ms), (7.0, 7.0, 7.0));
        assert_eq!(percentile::<Duration>(&[], 0.5), Duration::ZERO);
        assert_eq!(percentile(&[-3i64, 1, 4], 0.5), 1);
    }

    proptest::proptest! {
        #[test]
        fn percentiles_are_ordered_samples(values in proptest::collection::vec(0u64..10_000, 1..300)) {
            let mut samples = ms(&values);
            let p = Percentiles::of(&mut samples).unwrap();
            proptest::prop_assert!(p.p50_ms <= p.p95_ms && p.p95_ms <= p.p99_ms && p.p99_ms <= p.max_ms);
            let max = *values.iter().max().unwrap() as f64;
            proptest::prop_assert_eq!(p.max_ms, max);
            proptest::prop_assert!(values.iter().any(|&v| v as f64 == p.p50_ms));
        }
    }

    #[test]
    fn plots_are_thinned_and_seconds_counted() {
        let points: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, 1.0)).collect();
        let thinned = thin(&points, 120);
        assert!(
            thinned.len() <= 120 && thinned.len() >= 100,
            "{}",
            thinned.len()
        );
        assert!(thinned.iter().all(|(_, y)| *y == 1.0));
        let blocks = [(0.2, 3), (0.9, 2), (2.5, 4)].map(|(at_secs, txs)| BlockPoint {
            number: 1,
            at_secs,
            txs,
            gas_used: 0,
        });
        assert_eq!(per_second(&blocks), [(0.0, 5.0), (1.0, 0.0), (2.0, 4.0)]);
    }

    #[test]
    fn markdown_has_the_table_and_errors() {
        let report = LoadReport {
            scenario: "transfer".into(),
            rpc_url: "http://127.0.0.1:8545/".into(),
            chain_id: 31337,
            concurrency: 2,
            planned: 3,
            elapsed_secs: 1.0,
            sent: 3,
            included: 2,
            reverted: 0,
            failed: 1,
            in_flight: 0,
            errors: BTreeMap::from([("nonce too low".to_owned(), 1)]),
            per_sec: 2.0,
            submission: Percentiles::of(&mut ms(&[1, 2, 3])),
            inclusion: None,
            methods: Vec::new(),
            blocks: None,
            wallets: None,
            interrupted: false,
            notes: None,
            per_block: Vec::new(),
            latency_over_time: Vec::new(),
            weights: None,
        };
        let md = report.to_markdown();
        assert!(md.contains("| submission | 3 | 2"), "{md}");
        assert!(md.contains("| nonce too low | 1 |"), "{md}");
        assert!(md.contains("**included:** 2"), "{md}");
        assert!(report.to_document().to_html().contains("<html"));
        assert!(!report.succeeded());
        // Everything included, but under `weights` a loop that never set weights fails it.
        let mut weights = LoadReport {
            failed: 0,
            errors: BTreeMap::new(),
            weights: Some(crate::weights::WeightsReport::default()),
            ..report
        };
        assert!(!weights.succeeded());
        if let Some(w) = weights.weights.as_mut() {
            w.validator_loop.rounds = 2;
        }
        assert!(weights.succeeded());
        assert!(weights.to_markdown().contains("Weight setting under load"));
    }
}
