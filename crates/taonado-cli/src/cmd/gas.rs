//! `taonado gas-report`: gas used per contract function, from the receipts of the chain's
//! blocks, with contracts and functions named by the deployment record and the committed
//! artifacts' ABIs (scanned by `ops::gas_report`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use taonado_ops::gas_report::GasRow;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Args)]
pub struct GasReportArgs {
    /// First block to scan.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub from_block: u64,
    /// Last block to scan [default: the latest].
    #[arg(long, value_name = "N")]
    pub to_block: Option<u64>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

#[derive(Serialize)]
pub struct GasReport {
    pub network: String,
    pub from_block: u64,
    pub to_block: u64,
    pub transactions: usize,
    /// One row per contract and function, sorted by contract then function.
    pub rows: Vec<GasRow>,
}

impl Report for GasReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "gas used on {} in blocks {}..={} ({} transactions)",
            self.network, self.from_block, self.to_block, self.transactions
        )?;
        let mut table = crate::output::table(&[
            "contract", "function", "calls", "reverted", "min", "avg", "max",
        ]);
        for r in &self.rows {
            table.add_row(vec![
                r.contract.clone(),
                r.function.clone(),
                r.calls.to_string(),
                r.reverted.to_string(),
                r.min_gas.to_string(),
                r.avg_gas.to_string(),
                r.max_gas.to_string(),
            ]);
        }
        writeln!(out, "{table}")
    }
}

impl GasReportArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let provider = taonado_client::connect(&network, &config).await?;
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        let usage = taonado_ops::gas_report::gas_usage(
            &provider,
            &record_path,
            self.from_block,
            self.to_block,
        )
        .await?;
        context.output.report(&GasReport {
            network: network.name,
            from_block: usage.from_block,
            to_block: usage.to_block,
            transactions: usage.transactions,
            rows: usage.rows,
        })
    }
}
