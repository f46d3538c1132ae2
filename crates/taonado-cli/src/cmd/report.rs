//! `taonado report daily|weekly|monthly|gas|mining|ops`: documents built from the monitor's
//! database by `taonado_monitor::reports::build`, rendered as markdown, a self-contained
//! HTML page (SVG plots) or `--json`. The same database gives byte-identical output.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use taonado_deployment::unix_now;
use taonado_monitor::reports::{self, PeriodArgs, ReportError, ReportKind, ReportRequest};
use taonado_report::Document;

use crate::context::Context;
use crate::error::{CliError, store_error};
use crate::output::Report;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// The daily health check, gas price analysis and mining performance review (--date).
    Daily(PeriodOpts),
    /// The weekly audit summary: the Monday-to-Sunday week holding --date.
    Weekly(PeriodOpts),
    /// The monthly performance review (--month YYYY-MM).
    Monthly(MonthOpts),
    /// Gas per contract function (calls, mean and p95 gas, cost), trends and spikes over
    /// the last --days; --from-tests: the gas used on a test chain's blocks instead.
    Gas(GasOpts),
    /// Per miner over time: associations, deposits, weight, incentive, emission.
    Mining(DaysOpts),
    /// The monthly operations report: uptime, transaction volume and success rate, gas
    /// cost, incidents (--month YYYY-MM).
    Ops(MonthOpts),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// GitHub markdown (plots as tables of their points).
    #[default]
    Md,
    /// One self-contained HTML page with SVG plots.
    Html,
}

#[derive(Args)]
pub struct Common {
    /// The monitor's SQLite database [default: data/<network>.db].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct PeriodOpts {
    /// A UTC day, YYYY-MM-DD [default: the day of the newest stored block].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct MonthOpts {
    /// YYYY-MM [default: the month of the newest stored block].
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// A day of the month instead of --month.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "month")]
    pub date: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct DaysOpts {
    /// Days covered, ending with the day of the newest stored block (or --date).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub days: u32,
    /// The last day covered, YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct GasOpts {
    #[command(flatten)]
    pub days: DaysOpts,
    /// The gas report of the contract tests (the manual's REPORT_GAS): the receipts of every
    /// block of the network the tests ran on (`--network`, e.g. a dev chain), named by its
    /// deployment record, instead of the database.
    #[arg(long)]
    pub from_tests: bool,
    /// Directory of deployment records, with --from-tests.
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

/// What `--json` prints, and what a file written with `--out` holds.
#[derive(Serialize)]
struct ReportOutput {
    /// The file written, if any.
    out: Option<PathBuf>,
    format: &'static str,
    /// The rendering written to `out` (or that would be printed), in bytes.
    bytes: usize,
    document: Document,
    #[serde(skip)]
    rendered: String,
}

impl Report for ReportOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match &self.out {
            Some(path) => writeln!(
                out,
                "wrote {} ({} bytes, {})",
                path.display(),
                self.bytes,
                self.format
            ),
            None => out.write_all(self.rendered.as_bytes()),
        }
    }
}

fn report_error(e: ReportError) -> CliError {
    match e {
        ReportError::Period(_) => CliError::usage(e),
        ReportError::Store(e) => store_error(e),
    }
}

impl ReportCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (kind, period, common) = match self {
            Self::Daily(o) => (
                ReportKind::Daily,
                PeriodArgs {
                    date: o.date,
                    ..PeriodArgs::default()
                },
                o.common,
            ),
            Self::Weekly(o) => (
                ReportKind::Weekly,
                PeriodArgs {
                    date: o.date,
                    ..PeriodArgs::default()
                },
                o.common,
            ),
            Self::Monthly(o) => (
                ReportKind::Monthly,
                PeriodArgs {
                    date: o.date,
                    month: o.month,
                    days: None,
                },
                o.common,
            ),
            Self::Ops(o) => (
                ReportKind::Ops,
                PeriodArgs {
                    date: o.date,
                    month: o.month,
                    days: None,
                },
                o.common,
            ),
            Self::Mining(o) => (
                ReportKind::Mining,
                PeriodArgs {
                    date: o.date,
                    month: None,
                    days: Some(o.days),
                },
                o.common,
            ),
            Self::Gas(o) if o.from_tests => {
                let document = gas_from_tests(context, &o).await?;
                return emit(context, document, o.days.common);
            }
            Self::Gas(o) => (
                ReportKind::Gas,
                PeriodArgs {
                    date: o.days.date,
                    month: None,
                    days: Some(o.days.days),
                },
                o.days.common,
            ),
        };
        let db = match &common.db {
            Some(p) => p.clone(),
            None => {
                let config = context.config()?;
                taonado_store::default_path(&context.network_name(&config))
            }
        };
        let store = taonado_monitor::files::existing_store(&db)
            .map_err(crate::error::monitor_error)?
            .ok_or_else(|| {
                CliError::usage(anyhow::anyhow!(
                    "no database at {}: pass --db, or run `taonado monitor` (or `taonado index`) first",
                    db.display()
                ))
            })?;
        let request = ReportRequest {
            kind,
            period,
            source: format!("database {}", db.display()),
        };
        let document = reports::build(&store, &request, unix_now()).map_err(report_error)?;
        emit(context, document, common)
    }
}

async fn gas_from_tests(context: &Context, o: &GasOpts) -> Result<Document, CliError> {
    let config = context.config()?;
    let network = context.network(&config, true)?;
    let provider = taonado_client::connect(&network, &config).await?;
    let record = taonado_deployment::record_path(&o.deployments_dir, &network.name);
    let usage = taonado_ops::gas_report::gas_usage(&provider, &record, 0, None).await?;
    Ok(reports::gas_usage_document(&usage, &network.name))
}

fn emit(context: &Context, document: Document, common: Common) -> Result<(), CliError> {
    let (format, rendered) = match common.format {
        Format::Md => ("md", document.to_markdown()),
        Format::Html => ("html", document.to_html()),
    };
    if let Some(path) = &common.out {
        std::fs::write(path, &rendered).map_err(|e| {
            CliError::failed(anyhow::Error::new(e).context(format!("writing {}", path.display())))
        })?;
    }
    context.output.report(&ReportOutput {
        out: common.out,
        format,
        bytes: rendered.len(),
        document,
        rendered,
    })
}
