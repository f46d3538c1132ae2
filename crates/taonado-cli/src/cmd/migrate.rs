//! `taonado migrate`: move the EvmValidator to a new weights contract, and check the result.

use std::io::Write;
use std::path::PathBuf;

use alloy::primitives::U256;
use clap::{Args, Subcommand};
use taonado_ops::DeploymentRecord;
use taonado_ops::migrate::{self, MigrateReport, MigrateVerifyReport};

use crate::args::SignerOpts;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum MigrateCommand {
    /// Deploy the new weights contract wired like the live one and point the EvmValidator at it
    /// (resumable; recorded in deployments/<network>.json).
    Weights(Box<WeightsArgs>),
    /// Check that the new weights contract gives the old one's weights on the same state.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct WeightsArgs {
    /// The weights contract to migrate to.
    #[arg(long, value_name = "ARTIFACT", value_parser = parse_target)]
    pub to: taonado_contracts::Contract,
    /// The new contract's deposit goal, in TAO [default: the live contract's].
    #[arg(long, value_name = "TAO", value_parser = crate::args::parse_tao)]
    pub deposit_goal: Option<U256>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    #[command(flatten)]
    pub signer: SignerOpts,
    #[command(flatten)]
    pub multisig: crate::via_multisig::ViaMultisigArgs,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

fn parse_target(s: &str) -> Result<taonado_contracts::Contract, String> {
    migrate::parse_target(s).map_err(|e| e.to_string())
}

impl MigrateCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            MigrateCommand::Weights(args) => args.run(context).await,
            MigrateCommand::Verify(args) => args.run(context).await,
        }
    }
}

impl WeightsArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        let via = self.multisig.via_multisig;
        if via {
            // Checked before anything is sent: without a Safe there is no one to propose to.
            crate::via_multisig::safe_address(&network, &self.deployments_dir, self.multisig.safe)?;
        }
        let report =
            migrate::migrate_weights_via(&provider, from, record_path, self.deposit_goal, via)
                .await?;
        let Some(call) = report.proposed.clone() else {
            return context.output.report(&report);
        };
        let prepared = crate::via_multisig::Prepared::of(&report)?;
        crate::via_multisig::propose(
            context,
            &provider,
            &network,
            &self.deployments_dir,
            &self.multisig,
            vec![call],
            Some(prepared),
        )
        .await
    }
}

impl VerifyArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        let record = DeploymentRecord::load(&record_path)?.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no deployment record at {}; run `taonado deploy` and `taonado migrate weights` first",
                record_path.display()
            ))
        })?;
        let provider = taonado_client::connect(&network, &config).await?;
        let report = migrate::verify_migration(&provider, &record).await?;
        if report.ok() {
            return context.output.report(&report);
        }
        let error = anyhow::anyhow!(
            "the migration does not check out: {}",
            report.failing().join("; ")
        );
        Err(context.output.report_failed(&report, error))
    }
}

impl Report for MigrateReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for step in &self.steps {
            let tx = step.tx.map(|t| format!(" (tx {t})")).unwrap_or_default();
            writeln!(out, "{:7} {}: {}{tx}", step.state, step.name, step.detail)?;
        }
        writeln!(
            out,
            "EvmValidator {} now reads WeightsV4 {} (was WeightsV3 {}); deposit goal {} TAO",
            self.evm_validator,
            self.weights_v4,
            self.weights_v3,
            taonado_types::format_tao(self.deposit_goal)
        )?;
        writeln!(
            out,
            "record: {}; check with `taonado migrate verify`",
            self.record_path.display()
        )
    }
}

impl Report for MigrateVerifyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "WeightsV3 {} vs WeightsV4 {} at block {}",
            self.weights_v3, self.weights_v4, self.block
        )?;
        let mark = |ok: bool| if ok { "ok  " } else { "FAIL" };
        writeln!(
            out,
            "{} EvmValidator reads WeightsV4",
            mark(self.validator_points_at_v4)
        )?;
        for c in &self.config {
            writeln!(
                out,
                "{} {}: V3 {} / V4 {}",
                mark(c.equal),
                c.name,
                c.v3,
                c.v4
            )?;
        }
        match &self.v3_undefined {
            Some(reason) => writeln!(
                out,
                "V3 is undefined on this state ({reason}); V4 gives {:?}",
                self.v4_weights
            )?,
            None => {
                let mut table = crate::output::table(&["uid", "v3", "v4", ""]);
                for i in 0..self.v3_weights.len().max(self.v4_weights.len()) {
                    let (a, b) = (self.v3_weights.get(i), self.v4_weights.get(i));
                    let show = |w: Option<&(u16, u16)>| {
                        w.map(|(d, w)| format!("{d}: {w}"))
                            .unwrap_or_else(|| "-".into())
                    };
                    table.add_row(vec![
                        i.to_string(),
                        show(a),
                        show(b),
                        if a == b { "" } else { "DIFFERS" }.to_owned(),
                    ]);
                }
                writeln!(out, "{table}")?;
            }
        }
        writeln!(out, "{} difference(s)", self.differences.len())
    }
}
