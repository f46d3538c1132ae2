//! `taonado dashboard export`: a Grafana dashboard for the monitor's Prometheus metrics.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum DashboardCommand {
    /// Write a Grafana dashboard JSON (import it with a Prometheus data source scraping
    /// the monitor's /metrics).
    Export(DashboardExportArgs),
}

#[derive(Args)]
pub struct DashboardExportArgs {
    /// Output file; `-` writes the JSON to stdout.
    #[arg(
        long,
        short,
        value_name = "FILE",
        default_value = "taonado-grafana.json"
    )]
    pub output: PathBuf,
    /// Dashboard title.
    #[arg(long, default_value = "Taonado")]
    pub title: String,
}

#[derive(Serialize)]
pub struct ExportReport {
    pub path: Option<PathBuf>,
    pub panels: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<serde_json::Value>,
}

impl Report for ExportReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match (&self.path, &self.dashboard) {
            (Some(path), _) => writeln!(out, "wrote {} panels to {}", self.panels, path.display()),
            (None, Some(d)) => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(d).map_err(std::io::Error::other)?
            ),
            (None, None) => Ok(()),
        }
    }
}

impl DashboardCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let DashboardCommand::Export(args) = self;
        let dashboard = taonado_monitor::grafana::dashboard(&args.title);
        let panels = dashboard["panels"].as_array().map_or(0, Vec::len);
        if args.output.as_os_str() == "-" {
            return context.output.report(&ExportReport {
                path: None,
                panels,
                dashboard: Some(dashboard),
            });
        }
        let text = serde_json::to_string_pretty(&dashboard).map_err(|e| {
            CliError::failed(anyhow::Error::new(e).context("encoding the dashboard"))
        })?;
        std::fs::write(&args.output, text + "\n").map_err(|e| {
            CliError::failed(
                anyhow::Error::new(e).context(format!("writing {}", args.output.display())),
            )
        })?;
        context.output.report(&ExportReport {
            path: Some(args.output),
            panels,
            dashboard: None,
        })
    }
}
