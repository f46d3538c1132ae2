//! `--via-multisig` on admin commands, and the proposal folder every `multisig` command
//! shares: the one place where "target + calldata + description" becomes a Safe proposal
//! instead of a transaction.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use clap::Args;
use serde::Serialize;
use taonado_config::NetworkConfig;
use taonado_ops::multisig::{self, Proposal, ProposalDir, ProposalTarget, ProposedCall};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

/// `--via-multisig` and where its proposal goes.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Multisig")]
pub struct ViaMultisigArgs {
    /// Write a Safe proposal of the call (for the owners to sign with `taonado multisig sign`)
    /// instead of sending it.
    #[arg(long)]
    pub via_multisig: bool,
    /// The Safe that owns the contracts (default: the deployment record's `Safe`).
    #[arg(long, value_name = "ADDRESS")]
    pub safe: Option<Address>,
    /// The folder of proposals (default: ~/.taonado/multisig/<network>).
    #[arg(long, value_name = "DIR")]
    pub proposals_dir: Option<PathBuf>,
    /// A fixed Safe nonce (`multisig propose --nonce`); `None` takes the next one.
    #[arg(skip)]
    pub nonce: Option<U256>,
}

/// The proposal folder: `explicit`, else `~/.taonado/multisig/<network>`.
pub fn proposal_dir(
    context: &Context,
    network: &NetworkConfig,
    explicit: Option<&Path>,
) -> Result<ProposalDir, CliError> {
    Ok(ProposalDir::new(match explicit {
        Some(dir) => dir.to_path_buf(),
        None => context.data_subdir(&["multisig", &network.name])?,
    }))
}

/// The Safe: `explicit`, else the deployment record's, else an error saying to set one up.
pub fn safe_address(
    network: &NetworkConfig,
    deployments_dir: &Path,
    explicit: Option<Address>,
) -> Result<Address, CliError> {
    if let Some(safe) = explicit {
        return Ok(safe);
    }
    let path = taonado_deployment::record_path(deployments_dir, &network.name);
    taonado_ops::DeploymentRecord::load(&path)?
        .and_then(|record| {
            record
                .contracts
                .get(taonado_deployment::names::SAFE)
                .map(|c| c.address)
        })
        .ok_or_else(|| {
            CliError::from(multisig::MultisigError::NoSafe {
                network: network.name.clone(),
            })
        })
}

/// What a command did before it proposed (a deployment anyone may send, such as the new
/// implementation of an upgrade), printed with the proposal.
#[derive(Serialize)]
pub struct Prepared {
    #[serde(flatten)]
    pub json: serde_json::Value,
    #[serde(skip)]
    pub text: String,
}

impl Prepared {
    /// `report` as both its JSON and its human rendering.
    pub fn of<R: Report + Serialize>(report: &R) -> Result<Self, CliError> {
        let json = serde_json::to_value(report)
            .map_err(|e| CliError::failed(anyhow::anyhow!("serializing the report: {e}")))?;
        let mut text = Vec::new();
        report.render(&mut text)?;
        Ok(Self {
            json,
            text: String::from_utf8_lossy(&text).into_owned(),
        })
    }
}

/// A proposal as the commands print it.
#[derive(Serialize)]
pub struct ProposalOutput {
    pub proposal: Proposal,
    pub path: PathBuf,
    /// What happened now (`proposed`, `signed by 0x…`, …).
    pub action: String,
    /// The Safe's threshold, when the chain was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<U256>,
    /// What the command sent before proposing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared: Option<Prepared>,
}

impl Report for ProposalOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let p = &self.proposal;
        if let Some(prepared) = &self.prepared {
            write!(out, "{}", prepared.text)?;
        }
        writeln!(
            out,
            "{}: proposal {} ({})",
            self.action,
            p.id,
            self.path.display()
        )?;
        writeln!(
            out,
            "  safe        {} (chain {}, nonce {})",
            p.safe, p.chain_id, p.tx.nonce
        )?;
        writeln!(out, "  hash        {}", p.safe_tx_hash)?;
        writeln!(out, "  description {}", p.description)?;
        let target = p
            .call
            .target
            .as_deref()
            .map_or_else(String::new, |t| format!(" ({t})"));
        writeln!(
            out,
            "  to          {}{target}, value {} wei, {:?}",
            p.tx.to, p.tx.value, p.tx.operation
        )?;
        writeln!(out, "  call        {}", p.call.summary(&p.tx.data))?;
        let needed = self
            .threshold
            .map_or_else(String::new, |t| format!(" of {t} needed"));
        writeln!(out, "  signatures  {}{needed}", p.signatures.len())?;
        for s in &p.signatures {
            writeln!(out, "    {} ({:?})", s.owner, s.kind)?;
        }
        if let Some(done) = &p.executed {
            writeln!(out, "  executed    tx {} by {}", done.tx, done.executor)?;
        }
        Ok(())
    }
}

/// Writes `calls` as one proposal of the Safe (several calls become one MultiSendCallOnly
/// batch) and prints it. Nothing is sent.
pub async fn propose(
    context: &Context,
    provider: &DynProvider,
    network: &NetworkConfig,
    deployments_dir: &Path,
    args: &ViaMultisigArgs,
    mut calls: Vec<ProposedCall>,
    prepared: Option<Prepared>,
) -> Result<(), CliError> {
    let safe = safe_address(network, deployments_dir, args.safe)?;
    let deployment = network.deployment(deployments_dir)?;
    let call = match calls.len() {
        0 => {
            return Err(CliError::failed(anyhow::anyhow!(
                "nothing to propose: the contracts are already in the requested state"
            )));
        }
        1 => calls.remove(0),
        _ => {
            let record = deployment.record.as_ref();
            let contracts = multisig::safe_contracts(provider, record)
                .await?
                .ok_or_else(|| {
                    CliError::failed(anyhow::anyhow!(
                        "no Safe MultiSendCallOnly on {}: run `taonado multisig setup`",
                        network.name
                    ))
                })?;
            let description = calls
                .iter()
                .map(|c| c.description.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let origin = calls[0].origin.clone();
            let batch: Vec<_> = calls
                .iter()
                .map(|c| (c.to, c.value, c.data.clone()))
                .collect();
            multisig::batch(&batch, contracts.multi_send_call_only, description, origin)
        }
    };
    let target = ProposalTarget {
        network: network.name.clone(),
        safe,
        dir: proposal_dir(context, network, args.proposals_dir.as_deref())?,
        named: deployment.addresses.named(),
        nonce: args.nonce,
    };
    let (proposal, path) = multisig::propose(provider, &target, call).await?;
    let threshold = multisig::safe_state(provider, safe).await?.threshold;
    context.output.report(&ProposalOutput {
        proposal,
        path,
        action: "proposed (nothing sent)".to_owned(),
        threshold: Some(threshold),
        prepared,
    })
}
