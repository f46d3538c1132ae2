//! The reports' sections, each from data read once per report ([`Data::load`]). Maps are
//! BTreeMaps and every list is in chain or key order, so a section is a function of the
//! data alone.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, U256};
use taonado_report::{AxisFormat, Document, Plot, PlotKind, fmt_fixed, fmt_percent, fmt_unix_time};
use taonado_store::alerts::AlertRecord;
use taonado_store::reports::{CheckMinute, MinerSample, PoolDeposit, TimedAssociation};
use taonado_store::{Store, TxRow, Window};
use taonado_types::{AccountId32, format_tao};

use super::{Period, ReportError};

/// Rows a table shows at most (the rest is counted in a line below it).
const MAX_ROWS: usize = 25;
/// Series a plot shows at most (the miners with the highest latest weight).
const MAX_SERIES: usize = 8;
/// A transaction is a price spike at this multiple of the period's median gas price, a gas
/// spike at this multiple of its function's median gas.
const SPIKE_FACTOR: f64 = 2.0;

pub(super) struct Data<'a> {
    store: &'a Store,
    period: Period,
    txs: Vec<TxRow>,
    alerts: Vec<AlertRecord>,
    checks: Vec<CheckMinute>,
    check_extent: Option<(u64, u64)>,
    miners: Vec<MinerSample>,
    deposits: Vec<PoolDeposit>,
    associations: Vec<TimedAssociation>,
}

fn tao(wei: u128) -> String {
    format_tao(U256::from(wei))
}

fn gwei(wei: f64) -> String {
    fmt_fixed(wei / 1e9, 3)
}

fn cost(tx: &TxRow) -> u128 {
    u128::from(tx.gas_used).saturating_mul(tx.effective_gas_price)
}

fn ss58(hotkey: B256) -> String {
    AccountId32(hotkey.0).to_ss58()
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median_f(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

/// `+12.5%` from `a` to `b`.
fn change(a: f64, b: f64) -> String {
    if a == 0.0 {
        return "n/a".to_owned();
    }
    let pct = 100.0 * (b - a) / a;
    let sign = if pct > 0.0 { "+" } else { "" };
    format!("{sign}{}%", fmt_fixed(pct, 1))
}

fn more_line(total: usize) -> Option<String> {
    (total > MAX_ROWS).then(|| format!("{} more not shown.", total - MAX_ROWS))
}

impl<'a> Data<'a> {
    pub(super) fn load(store: &'a Store, period: &Period) -> Result<Self, ReportError> {
        Ok(Self {
            store,
            period: period.clone(),
            txs: store.transactions_between(period.from, period.to)?,
            alerts: store.alerts_fired_between(period.from, period.to)?,
            checks: store.check_minutes(period.from, period.to)?,
            check_extent: store.check_extent()?,
            miners: store.miner_samples(period.from, period.to)?,
            deposits: store.pool_deposits_between(period.from, period.to)?,
            associations: store.timed_associations()?,
        })
    }

    fn time_plot(&self, kind: PlotKind, title: &str, y_label: &str) -> Plot {
        let x_axis = if self.period.bucket < 86_400 {
            AxisFormat::UnixTime
        } else {
            AxisFormat::UnixDate
        };
        let x_label = if self.period.bucket < 86_400 {
            "hour (UTC)"
        } else {
            "day (UTC)"
        };
        Plot::new(kind, title, x_label, y_label).x_axis(x_axis)
    }

    /// Transactions, success rate, failures and gas totals.
    pub(super) fn health(&self, doc: &mut Document) {
        let total = self.txs.len();
        let ok = self.txs.iter().filter(|t| t.success).count();
        let gas: u64 = self.txs.iter().map(|t| t.gas_used).sum();
        let spent: u128 = self.txs.iter().map(cost).sum();
        let mean_price = if total == 0 {
            "n/a".to_owned()
        } else {
            gwei(
                self.txs
                    .iter()
                    .map(|t| t.effective_gas_price as f64)
                    .sum::<f64>()
                    / total as f64,
            )
        };
        let s = doc.section("Transactions and health");
        s.key_values([
            ("protocol transactions", total.to_string()),
            ("succeeded", ok.to_string()),
            ("failed", (total - ok).to_string()),
            ("success rate", fmt_percent(ok as f64, total as f64)),
            ("gas used", gas.to_string()),
            ("gas cost (TAO)", tao(spent)),
            ("mean gas price (gwei)", mean_price),
            ("alerts fired", self.alerts.len().to_string()),
        ]);
        let mut by_contract: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for t in &self.txs {
            let e = by_contract.entry(t.contract.to_string()).or_default();
            e.0 += 1;
            e.1 += u64::from(!t.success);
        }
        s.table(
            ["contract", "transactions", "failed", "success rate"],
            by_contract.iter().map(|(c, (n, f))| {
                vec![
                    c.clone(),
                    n.to_string(),
                    f.to_string(),
                    fmt_percent((n - f) as f64, *n as f64),
                ]
            }),
        );
        let mut per_bucket: BTreeMap<u64, (f64, f64)> = self
            .period
            .buckets()
            .into_iter()
            .map(|b| (b, (0.0, 0.0)))
            .collect();
        for t in &self.txs {
            let e = per_bucket
                .entry(self.period.bucket_of(t.timestamp))
                .or_default();
            if t.success {
                e.0 += 1.0;
            } else {
                e.1 += 1.0;
            }
        }
        s.plot(
            self.time_plot(PlotKind::Bar, "Transactions", "transactions")
                .series(
                    "succeeded",
                    per_bucket.iter().map(|(&b, v)| (b as f64, v.0)).collect(),
                )
                .series(
                    "failed",
                    per_bucket.iter().map(|(&b, v)| (b as f64, v.1)).collect(),
                ),
        );
        let failed: Vec<&TxRow> = self.txs.iter().filter(|t| !t.success).collect();
        s.paragraph(format!("Failed transactions: {}.", failed.len()));
        if !failed.is_empty() {
            s.table(
                [
                    "time (UTC)",
                    "block",
                    "contract",
                    "function",
                    "gas used",
                    "transaction",
                ],
                failed.iter().take(MAX_ROWS).map(|t| {
                    vec![
                        fmt_unix_time(t.timestamp),
                        t.block_number.to_string(),
                        t.contract.to_string(),
                        t.function.clone(),
                        t.gas_used.to_string(),
                        format!("{:#x}", t.hash),
                    ]
                }),
            );
            if let Some(line) = more_line(failed.len()) {
                s.paragraph(line);
            }
        }
    }

    /// Uptime of the monitor and of each network, from the monitor's minutes.
    pub(super) fn uptime(&self, doc: &mut Document) {
        let s = doc.section("Uptime");
        let Some((first, last)) = self.check_extent else {
            s.paragraph("No monitor checks recorded: this database has never been written by a running `taonado monitor` (it records one row per network and minute while it runs).");
            return;
        };
        let from = self.period.from.max(first);
        let to = self.period.to.min(last + 60);
        if from >= to {
            s.paragraph(format!(
                "The monitor's records ({} to {}) do not overlap this period.",
                fmt_unix_time(first),
                fmt_unix_time(last + 60)
            ));
            return;
        }
        let minutes = (to - from) / 60;
        let any: BTreeSet<u64> = self.checks.iter().map(|c| c.minute).collect();
        s.key_values([
            ("observed", format!("{} to {} ({} minutes; before the first and after the last record of the monitor is not counted)", fmt_unix_time(from), fmt_unix_time(to), minutes)),
            ("monitor running", format!("{} ({} of {} minutes)", fmt_percent(any.len() as f64, minutes as f64), any.len(), minutes)),
        ]);
        let mut networks: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for c in &self.checks {
            let e = networks.entry(c.network.as_str()).or_default();
            e.0 += 1;
            e.1 += u64::from(c.ok_rounds > 0);
        }
        s.table(
            [
                "network",
                "minutes checked",
                "minutes reachable",
                "availability",
            ],
            networks.iter().map(|(n, (checked, ok))| {
                vec![
                    (*n).to_owned(),
                    checked.to_string(),
                    ok.to_string(),
                    fmt_percent(*ok as f64, *checked as f64),
                ]
            }),
        );
        let mut plot = self.time_plot(
            PlotKind::Line,
            "Network availability",
            "% of checked minutes reachable",
        );
        for network in networks.keys() {
            let mut buckets: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
            for c in self.checks.iter().filter(|c| c.network == *network) {
                let e = buckets.entry(self.period.bucket_of(c.minute)).or_default();
                e.0 += 1;
                e.1 += u64::from(c.ok_rounds > 0);
            }
            plot = plot.series(
                *network,
                buckets
                    .iter()
                    .map(|(&b, (n, ok))| (b as f64, 100.0 * *ok as f64 / *n as f64))
                    .collect(),
            );
        }
        s.plot(plot);
    }

    /// Alerts fired in the period.
    pub(super) fn alerts(&self, doc: &mut Document) {
        let s = doc.section("Alerts");
        if self.alerts.is_empty() {
            s.paragraph("No alert fired in this period.");
            return;
        }
        let mut by_rule: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for a in &self.alerts {
            *by_rule
                .entry((a.rule.as_str(), a.severity.as_str()))
                .or_default() += 1;
        }
        s.table(
            ["rule", "severity", "fired"],
            by_rule
                .iter()
                .map(|((r, sev), n)| vec![(*r).to_owned(), (*sev).to_owned(), n.to_string()]),
        );
        s.table(
            [
                "fired (UTC)",
                "severity",
                "rule",
                "summary",
                "resolved after",
            ],
            self.alerts.iter().take(MAX_ROWS).map(|a| {
                vec![
                    fmt_unix_time(a.fired_at),
                    a.severity.as_str().to_owned(),
                    a.rule.clone(),
                    a.summary.clone(),
                    a.resolved_at.map_or("still firing".to_owned(), |r| {
                        duration(r.saturating_sub(a.fired_at))
                    }),
                ]
            }),
        );
        if let Some(line) = more_line(self.alerts.len()) {
            s.paragraph(line);
        }
    }

    /// Gas per function, trends and spikes.
    pub(super) fn gas(&self, doc: &mut Document) {
        let mut by_fn: BTreeMap<(String, String), Vec<&TxRow>> = BTreeMap::new();
        for t in &self.txs {
            by_fn
                .entry((t.contract.to_string(), t.function.clone()))
                .or_default()
                .push(t);
        }
        let s = doc.section("Gas by contract function");
        s.table(
            [
                "contract",
                "function",
                "calls",
                "reverted",
                "mean gas",
                "p95 gas",
                "mean price (gwei)",
                "cost (TAO)",
            ],
            by_fn.iter().map(|((c, f), txs)| {
                let mut gas: Vec<u64> = txs.iter().map(|t| t.gas_used).collect();
                gas.sort_unstable();
                let n = txs.len() as f64;
                vec![
                    c.clone(),
                    f.clone(),
                    txs.len().to_string(),
                    txs.iter().filter(|t| !t.success).count().to_string(),
                    fmt_fixed(gas.iter().sum::<u64>() as f64 / n, 0),
                    percentile(&gas, 0.95).to_string(),
                    gwei(
                        txs.iter()
                            .map(|t| t.effective_gas_price as f64)
                            .sum::<f64>()
                            / n,
                    ),
                    tao(txs.iter().map(|t| cost(t)).sum()),
                ]
            }),
        );

        let s = doc.section("Gas trends");
        let mut buckets: BTreeMap<u64, Vec<&TxRow>> = BTreeMap::new();
        for t in &self.txs {
            buckets
                .entry(self.period.bucket_of(t.timestamp))
                .or_default()
                .push(t);
        }
        let mean = |txs: &[&TxRow], f: &dyn Fn(&TxRow) -> f64| {
            txs.iter().map(|t| f(t)).sum::<f64>() / txs.len().max(1) as f64
        };
        let half = self.period.from + (self.period.to - self.period.from) / 2;
        let (early, late): (Vec<&TxRow>, Vec<&TxRow>) =
            self.txs.iter().partition(|t| t.timestamp < half);
        let price = |t: &TxRow| t.effective_gas_price as f64;
        let used = |t: &TxRow| t.gas_used as f64;
        if early.is_empty() || late.is_empty() {
            s.paragraph("Trend: not enough data (transactions in only one half of the period).");
        } else {
            s.key_values([
                (
                    "mean gas per transaction, first half → second half",
                    format!(
                        "{} → {} ({})",
                        fmt_fixed(mean(&early, &used), 0),
                        fmt_fixed(mean(&late, &used), 0),
                        change(mean(&early, &used), mean(&late, &used))
                    ),
                ),
                (
                    "mean gas price (gwei), first half → second half",
                    format!(
                        "{} → {} ({})",
                        gwei(mean(&early, &price)),
                        gwei(mean(&late, &price)),
                        change(mean(&early, &price), mean(&late, &price))
                    ),
                ),
            ]);
        }
        s.plot(
            self.time_plot(PlotKind::Line, "Gas price", "gwei")
                .series(
                    "mean",
                    buckets
                        .iter()
                        .map(|(&b, txs)| (b as f64, mean(txs, &price) / 1e9))
                        .collect(),
                )
                .series(
                    "max",
                    buckets
                        .iter()
                        .map(|(&b, txs)| {
                            (
                                b as f64,
                                txs.iter().map(|t| price(t)).fold(0.0, f64::max) / 1e9,
                            )
                        })
                        .collect(),
                ),
        );
        s.plot(
            self.time_plot(PlotKind::Bar, "Gas used", "gas").series(
                "gas used",
                buckets
                    .iter()
                    .map(|(&b, txs)| (b as f64, txs.iter().map(|t| used(t)).sum()))
                    .collect(),
            ),
        );

        let s = doc.section("Gas spikes");
        let mut prices: Vec<f64> = self.txs.iter().map(price).collect();
        let median_price = median_f(&mut prices);
        let medians: BTreeMap<(String, String), u64> = by_fn
            .iter()
            .map(|(k, txs)| {
                let mut gas: Vec<u64> = txs.iter().map(|t| t.gas_used).collect();
                gas.sort_unstable();
                (k.clone(), percentile(&gas, 0.5))
            })
            .collect();
        let mut spikes: Vec<(f64, &str, &TxRow)> = Vec::new();
        for t in &self.txs {
            if median_price > 0.0 && price(t) >= SPIKE_FACTOR * median_price {
                spikes.push((price(t) / median_price, "gas price", t));
            }
            let m = medians
                .get(&(t.contract.to_string(), t.function.clone()))
                .copied()
                .unwrap_or(0);
            if m > 0 && used(t) >= SPIKE_FACTOR * m as f64 {
                spikes.push((used(t) / m as f64, "gas used", t));
            }
        }
        spikes.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.2.block_number.cmp(&b.2.block_number))
                .then(a.1.cmp(b.1))
        });
        s.paragraph(format!(
            "A spike is a transaction at {}x or more the period's median gas price ({} gwei), or its function's median gas used. Found: {}.",
            fmt_fixed(SPIKE_FACTOR, 0),
            gwei(median_price),
            spikes.len()
        ));
        if !spikes.is_empty() {
            s.table(
                [
                    "kind",
                    "x median",
                    "time (UTC)",
                    "block",
                    "function",
                    "gas used",
                    "price (gwei)",
                    "transaction",
                ],
                spikes.iter().take(MAX_ROWS).map(|(factor, kind, t)| {
                    vec![
                        (*kind).to_owned(),
                        fmt_fixed(*factor, 1),
                        fmt_unix_time(t.timestamp),
                        t.block_number.to_string(),
                        format!("{}.{}", t.contract, t.function),
                        t.gas_used.to_string(),
                        gwei(price(t)),
                        format!("{:#x}", t.hash),
                    ]
                }),
            );
            if let Some(line) = more_line(spikes.len()) {
                s.paragraph(line);
            }
        }
    }

    /// Gas cost per contract (the operations report's "gas cost").
    pub(super) fn gas_cost(&self, doc: &mut Document) {
        let mut by_contract: BTreeMap<String, (u64, u64, u128)> = BTreeMap::new();
        for t in &self.txs {
            let e = by_contract.entry(t.contract.to_string()).or_default();
            e.0 += 1;
            e.1 += t.gas_used;
            e.2 += cost(t);
        }
        let s = doc.section("Gas cost");
        s.key_values([("total (TAO)", tao(self.txs.iter().map(cost).sum()))]);
        s.table(
            ["contract", "transactions", "gas used", "cost (TAO)"],
            by_contract
                .iter()
                .map(|(c, (n, g, w))| vec![c.clone(), n.to_string(), g.to_string(), tao(*w)]),
        );
        let mut per_bucket: BTreeMap<u64, u128> =
            self.period.buckets().into_iter().map(|b| (b, 0)).collect();
        for t in &self.txs {
            *per_bucket
                .entry(self.period.bucket_of(t.timestamp))
                .or_default() += cost(t);
        }
        s.plot(
            self.time_plot(PlotKind::Bar, "Gas cost", "TAO").series(
                "cost",
                per_bucket
                    .iter()
                    .map(|(&b, &w)| (b as f64, w as f64 / 1e18))
                    .collect(),
            ),
        );
    }

    /// Per miner: associations, deposits, weight, incentive, emission.
    pub(super) fn mining(&self, doc: &mut Document) {
        let s = doc.section("Mining performance");
        let Some(last) = self.miners.last().map(|m| m.block) else {
            s.paragraph("No metagraph snapshot in this period (the indexer takes one every few blocks while it follows the chain).");
            return;
        };
        let latest: Vec<&MinerSample> = self.miners.iter().filter(|m| m.block == last).collect();
        // addresses associated (up to the period's end) per hotkey
        let mut addresses: BTreeMap<B256, BTreeSet<Address>> = BTreeMap::new();
        for a in self
            .associations
            .iter()
            .filter(|a| a.timestamp < self.period.to)
        {
            addresses.entry(a.hotkey).or_default().insert(a.address);
        }
        let owner: BTreeMap<Address, B256> = addresses
            .iter()
            .flat_map(|(h, set)| set.iter().map(move |a| (*a, *h)))
            .collect();
        let mut deposits: BTreeMap<B256, u64> = BTreeMap::new();
        for d in &self.deposits {
            if let Some(h) = d.user.and_then(|u| owner.get(&u)) {
                *deposits.entry(*h).or_default() += 1;
            }
        }
        let snapshots: BTreeSet<u64> = self.miners.iter().map(|m| m.block).collect();
        s.paragraph(format!(
            "{} snapshots in the period; the table is the last one (block {last}). Weight and incentive are shares of 65535; emission is per epoch at the snapshot. Deposits count pool deposits in the period by the hotkey's associated addresses.",
            snapshots.len()
        ));
        s.table(
            [
                "uid",
                "hotkey",
                "associations",
                "deposits",
                "weight",
                "incentive",
                "emission (TAO)",
            ],
            latest.iter().map(|m| {
                vec![
                    m.uid.to_string(),
                    ss58(m.hotkey),
                    addresses
                        .get(&m.hotkey)
                        .map_or(0, BTreeSet::len)
                        .to_string(),
                    deposits.get(&m.hotkey).copied().unwrap_or(0).to_string(),
                    m.weight
                        .map_or("n/a".to_owned(), |w| fmt_percent(f64::from(w), 65535.0)),
                    fmt_percent(f64::from(m.incentive), 65535.0),
                    format_tao(U256::from(m.emission_rao) * U256::from(1_000_000_000u64)),
                ]
            }),
        );
        // the miners plotted: highest latest weight first, then uid
        let mut ranked: Vec<&MinerSample> = latest.clone();
        ranked.sort_by(|a, b| {
            b.weight
                .unwrap_or(0)
                .cmp(&a.weight.unwrap_or(0))
                .then(a.uid.cmp(&b.uid))
        });
        let shown: Vec<u16> = ranked.iter().take(MAX_SERIES).map(|m| m.uid).collect();
        let series = |f: &dyn Fn(&MinerSample) -> Option<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
            shown
                .iter()
                .map(|uid| {
                    let points = self
                        .miners
                        .iter()
                        .filter(|m| m.uid == *uid)
                        .filter_map(|m| f(m).map(|y| (m.timestamp as f64, y)))
                        .collect();
                    (format!("uid {uid}"), points)
                })
                .collect()
        };
        let x_axis = if self.period.to - self.period.from <= 86_400 {
            AxisFormat::UnixTime
        } else {
            AxisFormat::UnixDate
        };
        for (title, y, f) in [
            (
                "Weight",
                "% of 65535",
                &(|m: &MinerSample| m.weight.map(|w| 100.0 * f64::from(w) / 65535.0))
                    as &dyn Fn(&MinerSample) -> Option<f64>,
            ),
            ("Incentive", "% of 65535", &|m: &MinerSample| {
                Some(100.0 * f64::from(m.incentive) / 65535.0)
            }),
            ("Emission", "TAO per epoch", &|m: &MinerSample| {
                Some(m.emission_rao as f64 / 1e9)
            }),
        ] {
            let mut plot =
                Plot::new(PlotKind::Line, title, "snapshot time (UTC)", y).x_axis(x_axis);
            for (name, points) in series(f) {
                plot = plot.series(name, points);
            }
            s.plot(plot);
        }
        // pool deposits per bucket: by the plotted miners' addresses, and all of them
        let buckets = self.period.buckets();
        let mut plot = self.time_plot(PlotKind::Bar, "Pool deposits", "deposits");
        let count = |keep: &dyn Fn(&PoolDeposit) -> bool| -> Vec<(f64, f64)> {
            let mut per: BTreeMap<u64, f64> = buckets.iter().map(|&b| (b, 0.0)).collect();
            for d in self.deposits.iter().filter(|d| keep(d)) {
                *per.entry(self.period.bucket_of(d.timestamp)).or_default() += 1.0;
            }
            per.into_iter().map(|(b, n)| (b as f64, n)).collect()
        };
        plot = plot.series("all", count(&|_| true));
        for m in ranked
            .iter()
            .take(MAX_SERIES)
            .filter(|m| deposits.contains_key(&m.hotkey))
        {
            let hotkey = m.hotkey;
            plot = plot.series(
                format!("uid {}", m.uid),
                count(&|d| d.user.and_then(|u| owner.get(&u)) == Some(&hotkey)),
            );
        }
        s.plot(plot);
    }

    /// Associations made in the period and the running count.
    pub(super) fn associations(&self, doc: &mut Document) {
        let s = doc.section("Associations");
        let new: Vec<&TimedAssociation> = self
            .associations
            .iter()
            .filter(|a| a.timestamp >= self.period.from && a.timestamp < self.period.to)
            .collect();
        let before = self
            .associations
            .iter()
            .filter(|a| a.timestamp < self.period.from)
            .count();
        s.key_values([
            ("associations before the period", before.to_string()),
            ("new in the period", new.len().to_string()),
        ]);
        if !new.is_empty() {
            s.table(
                ["time (UTC)", "block", "address", "hotkey"],
                new.iter().take(MAX_ROWS).map(|a| {
                    vec![
                        fmt_unix_time(a.timestamp),
                        a.block.to_string(),
                        format!("{:#x}", a.address),
                        ss58(a.hotkey),
                    ]
                }),
            );
            if let Some(line) = more_line(new.len()) {
                s.paragraph(line);
            }
            let mut running = before as f64;
            let points = new
                .iter()
                .map(|a| {
                    running += 1.0;
                    (a.timestamp as f64, running)
                })
                .collect();
            let plot = Plot::new(PlotKind::Line, "Associations", "time (UTC)", "associations")
                .x_axis(AxisFormat::UnixTime)
                .series("total", points);
            s.plot(plot);
        }
    }

    /// Weight settings in the period (the bounty the automation is paid).
    pub(super) fn weight_sets(&self, doc: &mut Document) -> Result<(), ReportError> {
        let sets: Vec<_> = self
            .store
            .weight_sets(Window::SinceUnix(self.period.from))?
            .into_iter()
            .filter(|w| w.timestamp < self.period.to)
            .collect();
        let bounty = sets
            .iter()
            .filter_map(|w| w.bounty_wei)
            .fold(U256::ZERO, |a, b| a.saturating_add(b));
        let s = doc.section("Weight settings");
        s.key_values([
            ("weight settings", sets.len().to_string()),
            (
                "by the operator",
                sets.iter().filter(|w| w.operator).count().to_string(),
            ),
            ("bounties paid (TAO)", format_tao(bounty)),
        ]);
        if !sets.is_empty() {
            s.table(
                ["time (UTC)", "block", "caller", "kind", "bounty (TAO)"],
                sets.iter().take(MAX_ROWS).map(|w| {
                    vec![
                        fmt_unix_time(w.timestamp),
                        w.block.to_string(),
                        format!("{:#x}", w.caller),
                        if w.operator { "operator" } else { "public" }.to_owned(),
                        w.bounty_wei.map_or("-".to_owned(), format_tao),
                    ]
                }),
            );
        }
        Ok(())
    }

    /// Incidents opened in the period and their time to resolve, from the `incidents`
    /// table when this database has one.
    pub(super) fn incidents(&self, doc: &mut Document) {
        let s = doc.section("Incidents");
        match self.store.has_table("incidents") {
            Ok(true) => {}
            Ok(false) => {
                s.paragraph("No incident data: this database has no incidents table.");
                return;
            }
            Err(e) => {
                s.paragraph(format!("Incident data unreadable: {e}"));
                return;
            }
        }
        type Row = (i64, String, String, String, u64, Option<u64>, Option<u64>);
        let rows: Result<Vec<Row>, _> = self.store.read_raw(
            "SELECT id, title, severity, status, opened_at, acknowledged_at, resolved_at FROM incidents
             WHERE opened_at >= ?1 AND opened_at < ?2 ORDER BY opened_at, id",
            &[&(self.period.from as i64), &(self.period.to as i64)],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, i64>(4)?.cast_unsigned(),
                    r.get::<_, Option<i64>>(5)?.map(i64::cast_unsigned),
                    r.get::<_, Option<i64>>(6)?.map(i64::cast_unsigned),
                ))
            },
        );
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                s.paragraph(format!("Incident data unreadable (the incidents table is not the one this version knows): {e}"));
                return;
            }
        };
        let resolved: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.6.map(|t| t.saturating_sub(r.4)))
            .collect();
        let mut by_sev: BTreeMap<&str, u64> = BTreeMap::new();
        for r in &rows {
            *by_sev.entry(r.2.as_str()).or_default() += 1;
        }
        s.key_values([
            ("opened in the period", rows.len().to_string()),
            ("resolved", resolved.len().to_string()),
            (
                "mean time to resolve",
                if resolved.is_empty() {
                    "n/a".to_owned()
                } else {
                    duration(resolved.iter().sum::<u64>() / resolved.len() as u64)
                },
            ),
            (
                "by severity",
                if by_sev.is_empty() {
                    "none".to_owned()
                } else {
                    by_sev
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
        ]);
        if !rows.is_empty() {
            s.table(
                [
                    "id",
                    "opened (UTC)",
                    "severity",
                    "status",
                    "title",
                    "acknowledged after",
                    "resolved after",
                ],
                rows.iter().take(MAX_ROWS).map(|r| {
                    vec![
                        r.0.to_string(),
                        fmt_unix_time(r.4),
                        r.2.clone(),
                        r.3.clone(),
                        r.1.clone(),
                        r.5.map_or("-".to_owned(), |t| duration(t.saturating_sub(r.4))),
                        r.6.map_or("-".to_owned(), |t| duration(t.saturating_sub(r.4))),
                    ]
                }),
            );
        }
    }
}

/// `1h 05m`, `12m 30s`, `3d 4h`.
fn duration(secs: u64) -> String {
    match secs {
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}
