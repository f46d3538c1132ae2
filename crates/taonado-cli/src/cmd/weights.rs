//! `taonado weights show`: the normalized weights of the contract the EvmValidator reads
//! (WeightsV3, or WeightsV4 after a migration) next to the same algorithm recomputed in Rust
//! from the same block's state. Exit 1 on any difference.

use std::io::Write;

use clap::{Args, Subcommand};
use taonado_ops::weights::WeightsComparison;
use taonado_types::format_tao;

use crate::args::{DeploymentsArgs, resolve_addresses};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum WeightsCommand {
    /// On-chain normalized weights (of the contract the EvmValidator reads) vs an off-chain
    /// recomputation (exit 1 if they differ).
    Show(ShowArgs),
}

impl WeightsCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Show(args) => args.run(context).await,
        }
    }
}

#[derive(Args)]
pub struct ShowArgs {
    /// Block whose state to read [default: the latest]; older blocks need an archive node.
    #[arg(long, value_name = "N")]
    pub block: Option<u64>,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

/// The comparison, rendered as one table.
struct ShowReport(WeightsComparison);

impl serde::Serialize for ShowReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Report for ShowReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let c = &self.0;
        writeln!(
            out,
            "{} {} on subnet {} at block {}; deposit goal {} TAO",
            c.weights.name,
            c.weights.address,
            c.netuid,
            c.block,
            format_tao(c.deposit_goal)
        )?;
        if let Some(note) = &c.weights.newer_unused {
            writeln!(out, "note: {note}")?;
        }
        let mut table = crate::output::table(&[
            "uid",
            "hotkey",
            "associations",
            "deposits (TAO)",
            "on-chain",
            "off-chain",
            "",
        ]);
        for uid in 0..c.onchain.len().max(c.offchain.len()) {
            let deposits = c.uids.iter().find(|u| usize::from(u.uid) == uid);
            let cell = |v: Option<&u16>| v.map_or_else(|| "-".to_owned(), u16::to_string);
            let differs = c.mismatches.iter().any(|m| m.uid == uid);
            table.add_row(vec![
                uid.to_string(),
                deposits.map_or_else(|| "(burn)".to_owned(), |d| d.hotkey.to_string()),
                deposits.map_or_else(String::new, |d| d.association_count.to_string()),
                deposits.map_or_else(String::new, |d| format_tao(d.deposits)),
                cell(c.onchain.get(uid)),
                cell(c.offchain.get(uid)),
                if differs { "DIFFERS" } else { "" }.to_owned(),
            ]);
        }
        writeln!(out, "{table}")?;
        if c.is_equal() {
            writeln!(out, "on-chain and off-chain weights are equal")?;
        }
        Ok(())
    }
}

impl ShowArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (config, network, addresses) = resolve_addresses(context, &self.deployments)?;
        let provider = taonado_client::connect(&network, &config).await?;
        let comparison = taonado_ops::weights::compare(&provider, &addresses, self.block).await?;
        if comparison.is_equal() {
            return context.output.report(&ShowReport(comparison));
        }
        // The error lists every difference; the table (or `data` under --json) shows them all.
        let differences: Vec<String> = comparison
            .mismatches
            .iter()
            .map(|m| {
                let show = |v: Option<u16>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
                format!(
                    "uid {} on-chain {} vs off-chain {}",
                    m.uid,
                    show(m.onchain),
                    show(m.offchain)
                )
            })
            .collect();
        let error = anyhow::anyhow!(
            "on-chain and recomputed weights differ at block {}: {}",
            comparison.block,
            differences.join("; ")
        );
        Err(context.output.report_failed(&ShowReport(comparison), error))
    }
}
