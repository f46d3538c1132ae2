//! `taonado bottleneck`: parse → `taonado_loadtest::bottleneck::run` → render (ranked
//! table with advice, `--json`, `--report FILE.md` + `.html`). It sends a few 0-value
//! self-transfers (the inclusion stage), so live chains are refused as `loadtest` does.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use clap::Args;
use serde::Serialize;
use taonado_loadtest::bottleneck::{self, BottleneckPlan, BottleneckReport};

use crate::cmd::loadtest::{PlanView, refuse_live_chain, write_report};
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Report, table};
use crate::signer::SignerOpts;

#[derive(Args)]
pub struct BottleneckArgs {
    /// Timings per stage (proof generation and the tree rebuild at most 3, inclusion at
    /// most 20).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub rounds: u32,
    /// Leaves in the tree the Merkle stages work on (at least the pool's deposits).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub tree_leaves: usize,
    /// The mixer pool whose deposits the event sync reads [default: the deployment's
    /// first pool, if any].
    #[arg(long, value_name = "ADDRESS")]
    pub pool: Option<Address>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Also write the report as markdown to FILE.md and as HTML beside it.
    #[arg(long, value_name = "FILE.md")]
    pub report: Option<PathBuf>,
    /// Run against a live chain other than mainnet (a few 0-value transfers are sent).
    #[arg(long)]
    pub yes: bool,
    /// Run against mainnet (chain 964): the inclusion stage spends real TAO on fees.
    #[arg(long)]
    pub i_understand_this_costs_tao: bool,
    #[command(flatten)]
    pub signer: SignerOpts,
}

#[derive(Serialize)]
#[serde(transparent)]
struct View(BottleneckReport);

impl Report for View {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "bottleneck on chain {}: {} rounds per stage, end to end (sum of medians) {:.1} ms",
            r.chain_id, r.rounds, r.end_to_end_ms
        )?;
        let mut t = table(&["#", "stage", "p50 ms", "p95 ms", "share", "flow"]);
        for (i, s) in r.stages.iter().enumerate() {
            t.add_row(vec![
                (i + 1).to_string(),
                s.name.clone(),
                format!("{:.3}", s.latency.p50_ms),
                format!("{:.3}", s.latency.p95_ms),
                format!("{:.1} %", s.share * 100.0),
                s.flow.clone(),
            ]);
        }
        writeln!(out, "{t}")?;
        for s in r.stages.iter().take(3) {
            writeln!(out, "advice for {}: {}", s.name, s.advice)?;
        }
        Ok(())
    }
}

impl BottleneckArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        if self.rounds == 0 || self.rounds > 1000 {
            return Err(CliError::usage(anyhow::anyhow!(
                "--rounds must be between 1 and 1000"
            )));
        }
        if self.tree_leaves > 100_000 {
            return Err(CliError::usage(anyhow::anyhow!(
                "--tree-leaves is at most 100000"
            )));
        }
        let funder = self.signer.signer_or_dev_account(context, &network)?;
        let pool = self.pool.or_else(|| {
            network
                .deployment(&self.deployments_dir)
                .ok()
                .and_then(|d| d.addresses.pools.values().next().copied())
        });
        // Checks the endpoint's chain id against the network's.
        let _provider = taonado_client::connect(&network, &config).await?;
        let view = PlanView {
            network: network.name.clone(),
            chain_id: network.chain_id,
            dev_chain: network.dev_chain,
            rpc_url: taonado_client::endpoint_label(&network.rpc_url),
            scenario: "bottleneck".into(),
            transactions: u64::from(self.rounds.min(20)),
            concurrent: 1,
            duration_secs: None,
            rate: None,
            funder: funder.address(),
            estimated_spend_wei: Some("21000 gas per round".into()),
            estimated_spend_tao: None,
            deposited_tao: None,
            working_capital_tao: None,
        };
        refuse_live_chain(&view, self.yes, self.i_understand_this_costs_tao)?;
        let plan = BottleneckPlan {
            rpc_url: network.rpc_url.to_string(),
            chain_id: network.chain_id,
            rounds: self.rounds,
            funder,
            pool,
            tree_leaves: self.tree_leaves,
            request_timeout: Duration::from_secs(30),
            inclusion_timeout: Duration::from_secs(60),
        };
        let mut report = bottleneck::run(&plan).await.map_err(|e| {
            if e.is_usage() {
                CliError::usage(e)
            } else {
                CliError::failed(e)
            }
        })?;
        report.rpc_url = view.rpc_url;
        if let Some(path) = &self.report {
            write_report(path, &report.to_document())?;
        }
        context.output.report(&View(report))
    }
}
