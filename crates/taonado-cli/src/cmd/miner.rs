//! `taonado miner …`: join the subnet's mining as a miner (wrap TAO, associate the EVM address
//! with the hotkey) and read back what it earns.

use std::io::Write;

use alloy::primitives::U256;
use alloy::providers::DynProvider;
use clap::{Args, Subcommand};
use taonado_ops::miner::{MinerStatus, RegisterReport};
use taonado_types::format_tao;

use crate::args::{DeploymentsArgs, resolve_addresses};
use crate::args::{HotkeyOpts, SignerOpts, parse_tao};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum MinerCommand {
    /// Wrap TAO into WTAO and associate this EVM address with the hotkey (permanent).
    Register(RegisterArgs),
    /// Uid, associations, WTAO, lifetime pool deposits, weight, last incentive and emission.
    Status(StatusArgs),
}

impl MinerCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Register(args) => args.run(context).await,
            Self::Status(args) => args.run(context).await,
        }
    }
}

#[derive(Args)]
pub struct RegisterArgs {
    /// TAO to wrap into WTAO (what the weights count).
    #[arg(long, value_name = "TAO", value_parser = parse_tao)]
    pub amount: U256,
    /// Wrap `--amount` even when the address is already associated with this hotkey
    /// (otherwise a repeated register sends nothing).
    #[arg(long)]
    pub top_up: bool,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
    #[command(flatten)]
    pub hotkey: HotkeyOpts,
    #[command(flatten)]
    pub signer: SignerOpts,
}

impl Report for RegisterReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match (self.already_associated, self.associate_tx) {
            (true, _) => writeln!(
                out,
                "{} was already associated with hotkey {} (uid {} on subnet {}); no association sent",
                self.address, self.hotkey, self.uid, self.netuid
            )?,
            (false, tx) => writeln!(
                out,
                "associated {} with hotkey {} (uid {} on subnet {}){}",
                self.address,
                self.hotkey,
                self.uid,
                self.netuid,
                tx.map(|t| format!(", tx {t}")).unwrap_or_default()
            )?,
        }
        match self.wrap_tx {
            Some(tx) => writeln!(out, "wrapped {} TAO, tx {tx}", format_tao(self.wrapped_wei))?,
            None if self.already_associated => {
                writeln!(out, "nothing wrapped (pass --top-up to wrap more)")?
            }
            None => writeln!(out, "nothing wrapped")?,
        }
        writeln!(
            out,
            "WTAO balance {} TAO; gas spent {} TAO",
            format_tao(self.wtao_balance),
            format_tao(self.gas_spent_wei)
        )
    }
}

impl RegisterArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let hotkey = self.hotkey.public()?;
        let (config, network, addresses) = resolve_addresses(context, &self.deployments)?;
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider: DynProvider =
            taonado_client::connect_with_signer(&network, &config, signer).await?;
        tracing::info!(%from, %hotkey, amount = %format_tao(self.amount), "registering");
        let report = taonado_ops::miner::register(
            &provider,
            from,
            &addresses,
            hotkey,
            self.amount,
            self.top_up,
        )
        .await?;
        context.output.report(&report)
    }
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
    #[command(flatten)]
    pub hotkey: HotkeyOpts,
}

impl Report for MinerStatus {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let uid = self
            .uid
            .map_or_else(|| "not registered".to_owned(), |u| format!("uid {u}"));
        writeln!(
            out,
            "hotkey {} on subnet {}: {uid} (block {})",
            self.hotkey, self.netuid, self.block
        )?;
        writeln!(out, "associations: {}", self.association_count)?;
        if !self.associations.is_empty() {
            let mut table = crate::output::table(&["address", "wtao", "lifetime deposits"]);
            for a in &self.associations {
                table.add_row(vec![
                    a.address.to_string(),
                    format_tao(a.wtao_balance),
                    format_tao(a.lifetime_deposits),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        writeln!(
            out,
            "WTAO balance {} TAO, lifetime pool deposits {} TAO",
            format_tao(self.wtao_balance),
            format_tao(self.lifetime_deposits)
        )?;
        let u16_frac = |v: u16| format!("{v} ({:.4}%)", f64::from(v) / 65535.0 * 100.0);
        if let Some(w) = self.normalized_weight {
            let recomputed = match self.recomputed_weight {
                Some(r) if r == w => "matches the off-chain recomputation".to_owned(),
                Some(r) => format!("off-chain recomputation says {r}"),
                None => "no off-chain value".to_owned(),
            };
            writeln!(out, "normalized weight {} ({recomputed})", u16_frac(w))?;
        }
        if let (Some(incentive), Some(emission)) = (self.incentive, self.emission) {
            writeln!(
                out,
                "last epoch: incentive {}, emission {} rao",
                u16_frac(incentive),
                emission
            )?;
        }
        Ok(())
    }
}

impl StatusArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let hotkey = self.hotkey.public()?;
        let (config, network, addresses) = resolve_addresses(context, &self.deployments)?;
        let provider = taonado_client::connect(&network, &config).await?;
        let status = taonado_ops::miner::status(&provider, &addresses, hotkey).await?;
        context.output.report(&status)
    }
}
