//! What a load test measured: counts, errors grouped by reason, throughput, latency
//! percentiles (p50, p95, p99, max) and gas per block; as JSON (serde) and markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// Nearest-rank percentile `p` (0..=1) of sorted samples; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
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
    /// Children topped up by the funder in this run.
    pub funded: u64,
    /// Wei the funder sent to children.
    pub funding_wei: String,
    /// Senders whose nonce on chain did not end where the local count did.
    pub nonce_gaps: u64,
    /// Resyncs from the node after a failed send.
    pub resyncs: u64,
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
}

impl LoadReport {
    /// Whether everything sent was included (or answered) and nothing failed.
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.in_flight == 0 && !self.interrupted
    }

    /// The report as a markdown document (`--report FILE.md`).
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_markdown(&mut md);
        md
    }

    fn write_markdown(&self, md: &mut String) -> std::fmt::Result {
        writeln!(md, "# taonado loadtest: `{}`\n", self.scenario)?;
        writeln!(md, "| | |\n|---|---|")?;
        writeln!(
            md,
            "| endpoint | {} (chain {}) |",
            self.rpc_url, self.chain_id
        )?;
        writeln!(md, "| concurrency | {} |", self.concurrency)?;
        writeln!(md, "| planned | {} |", self.planned)?;
        writeln!(md, "| elapsed | {:.2} s |", self.elapsed_secs)?;
        writeln!(md, "| sent | {} |", self.sent)?;
        writeln!(md, "| included | {} |", self.included)?;
        writeln!(md, "| failed | {} |", self.failed)?;
        writeln!(md, "| in flight | {} |", self.in_flight)?;
        writeln!(md, "| per second | {:.1} |", self.per_sec)?;
        if self.interrupted {
            writeln!(md, "| interrupted | yes |")?;
        }
        if let Some(w) = &self.wallets {
            writeln!(
                md,
                "| wallets | {} children, {} funded ({} wei), {} resyncs, {} nonce gaps |",
                w.children, w.funded, w.funding_wei, w.resyncs, w.nonce_gaps
            )?;
        }
        if let Some(b) = &self.blocks {
            writeln!(
                md,
                "| blocks | {} ({}..{}), gas/block mean {:.0} max {}, txs/block max {} |",
                b.blocks,
                b.first.unwrap_or_default(),
                b.last.unwrap_or_default(),
                b.gas_per_block_mean,
                b.gas_per_block_max,
                b.txs_per_block_max
            )?;
        }
        writeln!(md, "\n## Latency (ms)\n")?;
        writeln!(
            md,
            "| what | count | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|"
        )?;
        let mut row = |name: &str, p: &Option<Percentiles>| match p {
            Some(p) => writeln!(
                md,
                "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                p.count, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms
            ),
            None => Ok(()),
        };
        row("submission", &self.submission)?;
        row("inclusion", &self.inclusion)?;
        for m in &self.methods {
            row(&m.method, &m.latency)?;
        }
        if !self.errors.is_empty() {
            writeln!(md, "\n## Errors\n\n| reason | count |\n|---|---|")?;
            for (reason, count) in &self.errors {
                writeln!(md, "| {} | {count} |", reason.replace('|', "\\|"))?;
            }
        }
        Ok(())
    }
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
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
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
        };
        let md = report.to_markdown();
        assert!(md.contains("| submission | 3 | 2.00 |"), "{md}");
        assert!(md.contains("| nonce too low | 1 |"), "{md}");
        assert!(!report.succeeded());
    }
}
