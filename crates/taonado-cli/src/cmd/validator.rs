//! `taonado validator …`: set the subnet's weights through the EvmValidator, once or in a
//! loop, as the owner (`operatorSetWeights`) or as anyone (`setWeights`, paid the bounty).

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};
use taonado_ops::validator::{
    BountyTotals, StopReason, ValidatorEvent, ValidatorLoop, ValidatorMode, ValidatorObserver,
    ValidatorPlan, ValidatorReport, WeightsRound,
};
use taonado_types::{Hotkey, format_tao};

use crate::args::{DeploymentsArgs, resolve};
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Output, Report};
use crate::signer::SignerOpts;

#[derive(Subcommand)]
pub enum ValidatorCommand {
    /// The weight-setting loop: every time the interval allows, until Ctrl-C/SIGTERM or a limit.
    Run(RunArgs),
    /// Set weights once; refuses (exit 1, nothing sent) while the interval has not passed.
    SetWeights(SetWeightsArgs),
}

impl ValidatorCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Run(args) => args.run(context).await,
            Self::SetWeights(args) => args.run(context).await,
        }
    }
}

/// Which path sets the weights.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Mode")]
pub struct ModeArgs {
    /// Use the owner's operatorSetWeights (no interval, no bounty, no boost); the signer
    /// must own the EvmValidator. Default: the public setWeights, paid gas plus the bounty.
    #[arg(long, conflicts_with = "boost_hotkey")]
    pub operator: bool,
    /// Name this hotkey (SS58) in setWeights so its uid gets the contract's boost
    /// (normally your own miner hotkey).
    #[arg(long, value_name = "SS58")]
    pub boost_hotkey: Option<Hotkey>,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

impl ModeArgs {
    fn mode(&self) -> ValidatorMode {
        if self.operator {
            ValidatorMode::Operator
        } else {
            ValidatorMode::Public {
                boost_hotkey: self.boost_hotkey,
            }
        }
    }
}

fn describe_round(round: &WeightsRound) -> String {
    let paid = if round.refunded_wei.is_zero() {
        "no refund".to_owned()
    } else {
        format!(
            "refunded {} TAO (bounty {})",
            format_tao(round.refunded_wei),
            format_tao(round.bounty_wei)
        )
    };
    let estimated = round.estimate.as_ref().map_or_else(String::new, |e| {
        let sign = if e.net_wei.is_negative() { "-" } else { "" };
        format!(
            " (estimated before sending: cost {} TAO, refund {} TAO, net {sign}{} TAO)",
            format_tao(e.cost_wei),
            format_tao(e.refund_wei),
            format_tao(e.net_wei.unsigned_abs())
        )
    });
    format!(
        "weights set at block {} tx {}: gas {} ({} TAO), {paid}{estimated}; weights {:?}",
        round.block,
        round.tx,
        round.gas_used,
        format_tao(round.gas_spent_wei),
        round.weights
    )
}

fn describe_totals(totals: &BountyTotals) -> String {
    let net = totals.net_wei();
    let sign = if net.is_negative() { "-" } else { "" };
    format!(
        "{} round(s), {} failure(s): gas spent {} TAO, refunded {} TAO (bounties {}), net {sign}{} TAO",
        totals.rounds,
        totals.failures,
        format_tao(totals.gas_spent_wei),
        format_tao(totals.refunded_wei),
        format_tao(totals.bounty_wei),
        format_tao(net.unsigned_abs())
    )
}

#[derive(Args)]
pub struct SetWeightsArgs {
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub signer: SignerOpts,
}

impl Report for WeightsRound {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", describe_round(self))
    }
}

impl SetWeightsArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (config, network, validator) =
            resolve(context, &self.mode.deployments, "EvmValidator", |a| {
                a.evm_validator
            })?;
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let caller = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let round =
            taonado_ops::validator::set_weights(&provider, caller, validator, self.mode.mode())
                .await?;
        context.output.report(&round)
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// Stop after N weight settings.
    #[arg(long, value_name = "N")]
    pub max_rounds: Option<u64>,
    /// Stop once N blocks have passed since the start.
    #[arg(long, value_name = "N")]
    pub exit_after_blocks: Option<u64>,
    /// Seconds between two looks at the chain while waiting for the allowed block.
    #[arg(long, value_name = "SECS", default_value_t = ValidatorPlan::POLL.as_secs_f64())]
    pub poll: f64,
    /// Longest wait after repeated errors, in seconds (the wait starts at 2 s and doubles).
    #[arg(long, value_name = "SECS", default_value_t = ValidatorPlan::BACKOFF_MAX.as_secs())]
    pub max_backoff: u64,
    /// Dev chains only: mine the blocks the loop waits for (`anvil_mine`), for chains that
    /// only produce a block per transaction.
    #[arg(long)]
    pub mine_blocks: bool,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub signer: SignerOpts,
}

/// Logs the loop's events: a line per round with the running bounty totals.
struct EventLog {
    output: Output,
}

impl ValidatorObserver for EventLog {
    fn event(&self, event: &ValidatorEvent) {
        let line = match event {
            ValidatorEvent::Waiting { block, until } => {
                tracing::info!(block, until, "waiting for the weight set interval");
                return;
            }
            ValidatorEvent::Round { round, totals } => {
                tracing::info!(block = round.block, tx = %round.tx, "weights set");
                format!(
                    "{}\n  totals: {}",
                    describe_round(round),
                    describe_totals(totals)
                )
            }
            ValidatorEvent::Failed {
                block,
                error,
                retry_in_ms,
            } => {
                tracing::warn!(block, retry_in_ms, "setting weights failed: {error}");
                format!(
                    "setting weights failed at block {block}: {error}; retrying in {:.1} s",
                    *retry_in_ms as f64 / 1000.0
                )
            }
        };
        // A closed stdout must not stop the loop; the final report notices it.
        let _ = self.output.line(&line);
    }
}

impl Report for ValidatorReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let why = match self.stopped {
            StopReason::Requested => "stop requested",
            StopReason::MaxRounds => "--max-rounds reached",
            StopReason::BlockLimit => "--exit-after-blocks reached",
        };
        writeln!(
            out,
            "stopped ({why}) at block {} after blocks {}..{}: {}",
            self.last_block,
            self.first_block,
            self.last_block,
            describe_totals(&self.totals)
        )
    }
}

impl RunArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        if !(self.poll.is_finite() && self.poll > 0.0) || self.max_backoff == 0 {
            return Err(CliError::usage(anyhow::anyhow!(
                "--poll and --max-backoff must be positive numbers of seconds"
            )));
        }
        let (config, network, validator) =
            resolve(context, &self.mode.deployments, "EvmValidator", |a| {
                a.evm_validator
            })?;
        if self.mine_blocks && !network.dev_chain {
            return Err(CliError::usage(anyhow::anyhow!(
                "--mine-blocks only works on a dev chain; network {} is not one",
                network.name
            )));
        }
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let caller = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let mut plan = ValidatorPlan::new(validator, self.mode.mode())
            .with_max_backoff(Duration::from_secs(self.max_backoff));
        plan.max_rounds = self.max_rounds;
        plan.exit_after_blocks = self.exit_after_blocks;
        plan.poll = Duration::from_secs_f64(self.poll);
        plan.mine_while_waiting = self.mine_blocks;
        let signals = crate::shutdown::StopSignals::install()?;
        let _registration = context.register_run("validator run", Some(&network.name));
        let log = EventLog {
            output: context.output.clone(),
        };
        context.output.line(&format!(
            "validator loop: {caller} on {validator} ({}); Ctrl-C stops",
            match plan.mode {
                ValidatorMode::Operator => "operatorSetWeights".to_owned(),
                ValidatorMode::Public { boost_hotkey: None } => "setWeights".to_owned(),
                ValidatorMode::Public {
                    boost_hotkey: Some(h),
                } => format!("setWeights, boost to {h}"),
            }
        ))?;
        // The loop stops itself at a limit; a signal flips the stop flag and the loop ends
        // after its current step (a transaction already sent is still awaited).
        let report = ValidatorLoop::new(provider, caller, &log)
            .run(&plan, signals.into_watch())
            .await?;
        context.output.report(&report)
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        mode: ModeArgs,
    }

    const DAVE: &str = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";

    #[test]
    fn mode_flags() {
        let public = Wrapper::try_parse_from(["x", "--boost-hotkey", DAVE]).unwrap();
        assert!(matches!(
            public.mode.mode(),
            ValidatorMode::Public { boost_hotkey: Some(h) } if h.to_string() == DAVE
        ));
        let operator = Wrapper::try_parse_from(["x", "--operator"]).unwrap();
        assert_eq!(operator.mode.mode(), ValidatorMode::Operator);
        assert!(Wrapper::try_parse_from(["x", "--operator", "--boost-hotkey", DAVE]).is_err());
        assert!(Wrapper::try_parse_from(["x", "--boost-hotkey", "5NotAnAddress"]).is_err());
    }

    #[test]
    fn totals_show_a_negative_net() {
        let totals = BountyTotals {
            rounds: 1,
            gas_spent_wei: U256::from(3) * taonado_types::WEI_PER_TAO,
            refunded_wei: U256::from(1) * taonado_types::WEI_PER_TAO,
            ..BountyTotals::default()
        };
        assert!(
            describe_totals(&totals).ends_with("net -2 TAO"),
            "{}",
            describe_totals(&totals)
        );
    }
}
