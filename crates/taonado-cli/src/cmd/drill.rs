//! `taonado drill --scenario complete-failure|database-loss|rpc-outage`: a recovery
//! rehearsal on a throwaway dev chain with a running monitor; measures RTO and RPO against
//! the manual's targets and writes a markdown report.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use taonado_backup::drill::{self, DrillObserver, DrillPlan, DrillReport, Scenario};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::Spinner;

#[derive(Clone, Copy, ValueEnum)]
pub enum ScenarioArg {
    CompleteFailure,
    DatabaseLoss,
    RpcOutage,
}

#[derive(Args)]
pub struct DrillArgs {
    /// What breaks.
    #[arg(long, value_enum)]
    pub scenario: ScenarioArg,
    /// Keep the environment (chain, database, backups) in this folder [default: a
    /// temporary folder, removed afterwards].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Write the markdown report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// WTAO wraps before the backup.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub activity_before: u32,
    /// WTAO wraps after the backup (what it lacks).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub activity_after: u32,
    /// Replicate the database continuously (`backup continuous`) beside the monitor and
    /// recover from the replica, not from the dated set.
    #[arg(long)]
    pub continuous: bool,
    /// With --continuous: ship WAL frames (`backup continuous --wal`) instead of copying
    /// the database each round.
    #[arg(long, requires = "continuous")]
    pub wal: bool,
}

struct Steps<'a>(&'a Spinner);

impl DrillObserver for Steps<'_> {
    fn step(&self, what: &str) {
        self.0.set_message(what.to_owned());
        tracing::info!("drill: {what}");
    }
}

impl Report for DrillReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write!(out, "{}", self.markdown())
    }
}

impl DrillArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let plan = DrillPlan {
            scenario: match self.scenario {
                ScenarioArg::CompleteFailure => Scenario::CompleteFailure,
                ScenarioArg::DatabaseLoss => Scenario::DatabaseLoss,
                ScenarioArg::RpcOutage => Scenario::RpcOutage,
            },
            work_dir: self.work_dir,
            activity_before: self.activity_before,
            activity_after: self.activity_after,
            continuous: self.continuous,
            wal: self.wal,
        };
        let spinner = Spinner::for_context(context);
        let report = drill::run(&plan, &Steps(&spinner)).await?;
        drop(spinner);
        if let Some(path) = &self.report {
            taonado_deployment::fs::write_atomic(path, report.markdown().as_bytes())
                .map_err(CliError::usage)?;
        }
        if report.passed {
            context.output.report(&report)
        } else {
            Err(context.output.report_failed(
                &report,
                anyhow::anyhow!("the {} drill failed", plan.scenario.as_str()),
            ))
        }
    }
}
