//! `taonado report`: documents built from the monitor's store alone (indexed blocks,
//! transactions, events, snapshots, alerts, the monitor's own checks), so they work offline
//! and the same database gives the same document. [`build`] is the one entry point; the
//! CLI renders the [`Document`] as markdown, HTML or JSON.
//!
//! Periods are UTC calendar periods (a day, the Monday-to-Sunday week, a month) or the last
//! `n` days before the newest stored block. A period left out defaults to the one holding
//! the newest stored block, never to the clock, so the output depends on the data only;
//! the clock (`now`) is used only to refuse periods in the future.

#[cfg(any(test, feature = "test-utils"))]
pub mod fixture;
mod period;
mod sections;
#[cfg(test)]
mod tests;

use taonado_report::Document;
use taonado_store::{Store, StoreError};

pub use period::{Period, parse_date, parse_month};

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// The manual's daily health check, gas price analysis and mining performance review.
    Daily,
    /// The weekly audit summary.
    Weekly,
    /// The monthly performance review.
    Monthly,
    /// Gas per contract function, trends and spikes.
    Gas,
    /// Per miner over time: associations, deposits, weight, incentive, emission.
    Mining,
    /// The monthly operations report: uptime, volume, success rate, gas cost, incidents.
    Ops,
}

impl ReportKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Gas => "gas",
            Self::Mining => "mining",
            Self::Ops => "ops",
        }
    }
}

/// What period a report covers, as given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeriodArgs {
    /// `YYYY-MM-DD`: the day, the week holding it, or its month.
    pub date: Option<String>,
    /// `YYYY-MM`.
    pub month: Option<String>,
    /// The last `n` days before the newest stored block (gas, mining).
    pub days: Option<u32>,
}

/// One report to build.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    pub kind: ReportKind,
    pub period: PeriodArgs,
    /// What the data is, for the document's `generated_from` (e.g. the database's path).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The period asked for is malformed, impossible or in the future (exit 2).
    #[error("{0}")]
    Period(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds the report `request` asks for from `store`. `now` (unix seconds) only refuses
/// periods that have not started.
pub fn build(store: &Store, request: &ReportRequest, now: u64) -> Result<Document, ReportError> {
    let latest = store.latest_block_time()?;
    let period = Period::resolve(request.kind, &request.period, latest, now)?;
    let span = store.block_span(period.from, period.to)?;
    let from = match span {
        Some(s) => format!(
            "{}, blocks {}..={} ({} stored), {}",
            request.source, s.first, s.last, s.stored, period.label
        ),
        None => format!("{}, no stored block, {}", request.source, period.label),
    };
    let title = match request.kind {
        ReportKind::Daily => format!("Daily report {}", period.label),
        ReportKind::Weekly => format!("Weekly audit summary {}", period.label),
        ReportKind::Monthly => format!("Monthly performance review {}", period.label),
        ReportKind::Gas => format!("Gas report {}", period.label),
        ReportKind::Mining => format!("Mining report {}", period.label),
        ReportKind::Ops => format!("Operations report {}", period.label),
    };
    let mut doc = Document::new(title, from);
    let data = sections::Data::load(store, &period)?;
    match request.kind {
        ReportKind::Daily => {
            data.health(&mut doc);
            data.uptime(&mut doc);
            data.alerts(&mut doc);
            data.gas(&mut doc);
            data.mining(&mut doc);
        }
        ReportKind::Weekly => {
            data.health(&mut doc);
            data.alerts(&mut doc);
            data.weight_sets(&mut doc)?;
            data.associations(&mut doc);
            data.incidents(&mut doc);
        }
        ReportKind::Monthly => {
            data.health(&mut doc);
            data.uptime(&mut doc);
            data.gas(&mut doc);
            data.mining(&mut doc);
            data.incidents(&mut doc);
        }
        ReportKind::Gas => data.gas(&mut doc),
        ReportKind::Mining => {
            data.mining(&mut doc);
            data.associations(&mut doc);
        }
        ReportKind::Ops => {
            data.uptime(&mut doc);
            data.health(&mut doc);
            data.gas_cost(&mut doc);
            data.incidents(&mut doc);
        }
    }
    Ok(doc)
}

/// The gas report of a chain's blocks (`taonado_ops::gas_report`, the contract tests' gas
/// report when that chain ran them) as a document.
pub fn gas_usage_document(usage: &taonado_ops::gas_report::GasUsage, network: &str) -> Document {
    let mut doc = Document::new(
        format!("Gas report of the contract tests on {network}"),
        format!(
            "receipts of {network} blocks {}..={} ({} transactions)",
            usage.from_block, usage.to_block, usage.transactions
        ),
    );
    doc.section("Gas by contract function").table(
        [
            "contract",
            "function",
            "calls",
            "reverted",
            "min gas",
            "mean gas",
            "max gas",
            "total gas",
        ],
        usage.rows.iter().map(|r| {
            vec![
                r.contract.clone(),
                r.function.clone(),
                r.calls.to_string(),
                r.reverted.to_string(),
                r.min_gas.to_string(),
                r.avg_gas.to_string(),
                r.max_gas.to_string(),
                r.total_gas.to_string(),
            ]
        }),
    );
    doc
}
