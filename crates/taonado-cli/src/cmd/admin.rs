//! `taonado admin …`: the owner-only settings of the EvmValidator and the Weights contracts
//! (`taonado_ops::admin`), each checked against `owner()` before sending and read back after.

use std::io::Write;

use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use taonado_ops::admin::{self, AdminCall, AdminReport, WeightsVersion};

use crate::args::parse_tao;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// EvmValidator.setSetWeightsBounty: TAO paid on top of gas to each public setWeights
    /// caller (0 stops the bounty).
    SetBounty {
        /// TAO, e.g. `0.01` or `0`.
        #[arg(value_parser = parse_tao, value_name = "TAO")]
        amount: U256,
        #[command(flatten)]
        common: AdminArgs,
    },
    /// EvmValidator.setSetWeightsBlockInterval: the least blocks between public setWeights.
    SetInterval {
        #[arg(value_name = "BLOCKS")]
        blocks: u64,
        #[command(flatten)]
        common: AdminArgs,
    },
    /// EvmValidator.setRefundOverhead: gas added to each refund.
    SetRefundOverhead {
        #[arg(value_name = "GAS")]
        gas: u64,
        #[command(flatten)]
        common: AdminArgs,
    },
    /// EvmValidator.setMetagraphBoostValue.
    SetBoost {
        #[arg(value_name = "BOOST")]
        boost: u16,
        #[command(flatten)]
        common: AdminArgs,
    },
    /// EvmValidator.setVersionKey.
    SetVersionKey {
        #[arg(value_name = "KEY")]
        key: u64,
        #[command(flatten)]
        common: AdminArgs,
    },
    /// EvmValidator.setWeightsContract: which Weights contract the EvmValidator reads.
    SetWeightsContract {
        #[arg(value_name = "ADDRESS")]
        weights: Address,
        #[command(flatten)]
        common: AdminArgs,
    },
    /// EvmValidator.rescueFunds: its whole balance (the bounty reserve) to the owner.
    RescueFunds {
        #[command(flatten)]
        common: AdminArgs,
    },
    /// Weights.setDepositGoal on WeightsV2, V3 or V4.
    SetDepositGoal {
        #[arg(value_parser = parse_tao, value_name = "TAO")]
        goal: U256,
        /// Which Weights contract.
        #[arg(long, value_enum, default_value = "v3")]
        weights: WeightsArg,
        #[command(flatten)]
        common: AdminArgs,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WeightsArg {
    V2,
    V3,
    V4,
}

#[derive(Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub send: crate::args::SendArgs,
    #[command(flatten)]
    pub multisig: crate::via_multisig::ViaMultisigArgs,
}

impl AdminCommand {
    /// The setting and the flags common to every subcommand.
    pub fn into_parts(self) -> (AdminCall, AdminArgs) {
        match self {
            Self::SetBounty { amount, common } => (AdminCall::SetBounty(amount), common),
            Self::SetInterval { blocks, common } => {
                (AdminCall::SetInterval(U256::from(blocks)), common)
            }
            Self::SetRefundOverhead { gas, common } => {
                (AdminCall::SetRefundOverhead(U256::from(gas)), common)
            }
            Self::SetBoost { boost, common } => (AdminCall::SetBoost(boost), common),
            Self::SetVersionKey { key, common } => (AdminCall::SetVersionKey(key), common),
            Self::SetWeightsContract { weights, common } => {
                (AdminCall::SetWeightsContract(weights), common)
            }
            Self::RescueFunds { common } => (AdminCall::RescueFunds, common),
            Self::SetDepositGoal {
                goal,
                weights,
                common,
            } => (
                AdminCall::SetDepositGoal {
                    weights: match weights {
                        WeightsArg::V2 => WeightsVersion::V2,
                        WeightsArg::V3 => WeightsVersion::V3,
                        WeightsArg::V4 => WeightsVersion::V4,
                    },
                    goal,
                },
                common,
            ),
        }
    }

    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (call, args) = self.into_parts();
        let config = context.config()?;
        let network = context.network(&config, true)?;
        if !network.dev_chain && !args.send.yes && !args.send.dry_run && !args.multisig.via_multisig
        {
            return Err(CliError::usage(anyhow::anyhow!(
                "network {} is live: this changes the protocol's settings; pass --yes (or --dry-run to check it first)",
                network.name
            )));
        }
        let deployment = network.deployment(&args.send.deployments.deployments_dir)?;
        let action = admin::action(&call, &deployment.addresses)?;
        if args.multisig.via_multisig {
            let provider = taonado_client::connect(&network, &config).await?;
            let proposal = taonado_ops::multisig::ProposedCall {
                to: action.address,
                value: U256::ZERO,
                data: action.calldata.clone(),
                operation: taonado_ops::multisig::Operation::Call,
                description: action.describe(),
                origin: "admin --via-multisig".to_owned(),
            };
            return crate::via_multisig::propose(
                context,
                &provider,
                &network,
                &args.send.deployments.deployments_dir,
                &args.multisig,
                vec![proposal],
                None,
            )
            .await;
        }
        let signer = args.send.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let report = admin::execute(&provider, from, &action, args.send.dry_run).await?;
        context.output.report(&AdminOutput(report))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct AdminOutput(pub AdminReport);

impl Report for AdminOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        match r.tx {
            Some(tx) => writeln!(out, "{} sent (tx {tx})", r.call)?,
            None => writeln!(
                out,
                "dry run: {} would succeed from {}; nothing sent",
                r.call, r.signer
            )?,
        }
        if r.dry_run {
            return writeln!(
                out,
                "{}.{}: {} now, would become {}",
                r.action.contract, r.action.getter, r.before.display, r.action.expected.display
            );
        }
        writeln!(
            out,
            "{}.{}: {} -> {}",
            r.action.contract, r.action.getter, r.before.display, r.after.display
        )
    }
}
