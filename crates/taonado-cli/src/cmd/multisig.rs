//! `taonado multisig`: a Safe (v1.4.1) that owns the protocol. `setup` creates it,
//! `take-ownership` moves the EvmValidator and the Weights contracts to it, `propose`
//! writes a proposal file, `sign` adds an owner's signature to it, `execute` sends it once
//! enough owners signed, `list` and `show` read the folder of proposals.

use std::io::Write;
use std::path::PathBuf;

use alloy::primitives::{Address, Bytes, U256, hex};
use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_config::NetworkConfig;
use taonado_ops::multisig::{
    self, ExecuteReport, OwnerSignature, OwnershipReport, ProposedCall, SetupPlan, SetupReport,
    SignatureKind,
};

use crate::args::{DeploymentsArgs, parse_tao};
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Report, table};
use crate::signer::SignerOpts;
use crate::via_multisig::{ProposalOutput, ViaMultisigArgs, proposal_dir, safe_address};

#[derive(Subcommand)]
pub enum MultisigCommand {
    /// Create a Safe with these signers and threshold (deploying Safe's contracts first on a
    /// chain without Safe's canonical deployment) and record it in deployments/<network>.json.
    Setup(SetupArgs),
    /// Transfer ownership of the EvmValidator proxy and every Weights contract to the Safe,
    /// reading owner() after each.
    TakeOwnership(TakeOwnershipArgs),
    /// Write a proposal: a Safe transaction for the owners to sign (nothing is sent).
    Propose(ProposeArgs),
    /// Recompute a proposal's hash, show its call, and add a signature to it.
    Sign(SignArgs),
    /// Send a proposal's execTransaction once enough owners signed.
    Execute(ExecuteArgs),
    /// The proposals in the folder.
    List(ListArgs),
    /// One proposal.
    Show(ShowArgs),
}

#[derive(Args, Clone, Debug)]
pub struct FolderArgs {
    /// The folder of proposals (default: ~/.taonado/multisig/<network>).
    #[arg(long, value_name = "DIR")]
    pub proposals_dir: Option<PathBuf>,
}

pub use crate::args::SendArgs;

#[derive(Args)]
pub struct SetupArgs {
    /// The owners, comma-separated.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',', required = true)]
    pub signers: Vec<Address>,
    /// How many owners must sign each transaction.
    #[arg(long, value_name = "N")]
    pub threshold: u64,
    /// CREATE2 salt of the Safe proxy (default: the current Unix time).
    #[arg(long, value_name = "N")]
    pub salt_nonce: Option<U256>,
    /// Record a new Safe even though the record already has one.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub send: SendArgs,
}

#[derive(Args)]
pub struct TakeOwnershipArgs {
    /// The Safe (default: the deployment record's).
    #[arg(long, value_name = "ADDRESS")]
    pub safe: Option<Address>,
    #[command(flatten)]
    pub send: SendArgs,
}

#[derive(Args)]
pub struct ProposeArgs {
    /// The contract the Safe calls.
    #[arg(long, value_name = "ADDRESS")]
    pub to: Address,
    /// The function, as `name(types)`; its arguments follow.
    #[arg(long, value_name = "SIGNATURE", conflicts_with = "data")]
    pub sig: Option<String>,
    /// The arguments of --sig.
    #[arg(value_name = "ARGS", requires = "sig", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Raw calldata instead of --sig.
    #[arg(long, value_name = "HEX")]
    pub data: Option<Bytes>,
    /// TAO sent with the call.
    #[arg(long, value_name = "TAO", value_parser = parse_tao)]
    pub value: Option<U256>,
    /// One line for the signers.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The Safe nonce (default: the next one after the proposals waiting).
    #[arg(long, value_name = "N")]
    pub nonce: Option<U256>,
    /// The Safe (default: the deployment record's).
    #[arg(long, value_name = "ADDRESS")]
    pub safe: Option<Address>,
    #[command(flatten)]
    pub folder: FolderArgs,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

#[derive(Args)]
pub struct SignArgs {
    /// The proposal: its id (or a prefix of its hash), or a proposal file.
    #[arg(long, value_name = "ID")]
    pub proposal: String,
    /// Add this 65-byte Safe signature (made elsewhere: Safe's tools, a hardware wallet)
    /// instead of signing with a key.
    #[arg(long, value_name = "HEX")]
    pub signature: Option<String>,
    /// Sign with eth_sign (personal_sign, v 31/32) instead of EIP-712.
    #[arg(long)]
    pub eth_sign: bool,
    /// Do not read the Safe's owners from the chain (an offline signer).
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub signer: SignerOpts,
    #[command(flatten)]
    pub folder: FolderArgs,
}

#[derive(Args)]
pub struct ExecuteArgs {
    /// The proposal: its id (or a prefix of its hash), or a proposal file.
    #[arg(long, value_name = "ID")]
    pub proposal: String,
    /// Check everything and estimate the gas, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Required on a live chain.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub signer: SignerOpts,
    #[command(flatten)]
    pub folder: FolderArgs,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub folder: FolderArgs,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The proposal: its id (or a prefix of its hash), or a proposal file.
    #[arg(long, value_name = "ID")]
    pub proposal: String,
    #[command(flatten)]
    pub folder: FolderArgs,
}

impl MultisigCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Setup(args) => args.run(context).await,
            Self::TakeOwnership(args) => args.run(context).await,
            Self::Propose(args) => args.run(context).await,
            Self::Sign(args) => args.run(context).await,
            Self::Execute(args) => args.run(context).await,
            Self::List(args) => args.run(context),
            Self::Show(args) => args.run(context),
        }
    }
}

fn require_yes(
    network: &NetworkConfig,
    yes: bool,
    dry_run: bool,
    what: &str,
) -> Result<(), CliError> {
    if !network.dev_chain && !yes && !dry_run {
        return Err(CliError::usage(anyhow::anyhow!(
            "network {} is live: {what}; pass --yes (or --dry-run to see the plan)",
            network.name
        )));
    }
    Ok(())
}

impl SetupArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        // The signer set is checked before anything else: bad input sends nothing.
        multisig::validate_owners(&self.signers, self.threshold)?;
        let config = context.config()?;
        let network = context.network(&config, true)?;
        require_yes(
            &network,
            self.send.yes,
            self.send.dry_run,
            "setting up a Safe sends transactions",
        )?;
        let record_path =
            taonado_deployment::record_path(&self.send.deployments.deployments_dir, &network.name);
        let mut record = taonado_ops::DeploymentRecord::load(&record_path)?.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no deployment record at {}: deploy first (the Safe is recorded beside the protocol)",
                record_path.display()
            ))
        })?;
        if let Some(existing) = record.contracts.get(taonado_deployment::names::SAFE)
            && !self.replace
        {
            return Err(CliError::usage(anyhow::anyhow!(
                "{} already records the Safe {}; pass --replace to create and record another",
                record_path.display(),
                existing.address
            )));
        }
        let signer = self.send.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let plan = SetupPlan {
            owners: self.signers,
            threshold: self.threshold,
            salt_nonce: self
                .salt_nonce
                .unwrap_or_else(|| U256::from(taonado_deployment::unix_now())),
            dry_run: self.send.dry_run,
        };
        let report = multisig::setup(&provider, from, &plan, &mut record, &record_path).await?;
        context.output.report(&SetupOutput(report))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct SetupOutput(SetupReport);

impl Report for SetupOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        for (name, address, tx) in &r.deployed {
            writeln!(out, "deployed {name} at {address} (tx {tx})")?;
        }
        let origin = if r.contracts.canonical {
            "Safe's canonical deployment"
        } else {
            "deployed here"
        };
        writeln!(
            out,
            "Safe {} singleton {} ({origin})",
            r.version, r.contracts.singleton
        )?;
        let owners = r
            .owners
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if r.dry_run {
            return writeln!(
                out,
                "dry run, nothing sent: a {}-of-{} Safe of {owners} would be created{}",
                r.threshold,
                r.owners.len(),
                if r.safe.is_zero() {
                    String::new()
                } else {
                    format!(" at {}", r.safe)
                }
            );
        }
        writeln!(
            out,
            "created the Safe {} ({}-of-{}: {owners})",
            r.safe,
            r.threshold,
            r.owners.len()
        )?;
        if let Some(tx) = r.tx {
            writeln!(out, "tx {tx}; recorded as `Safe` in the deployment record")?;
        }
        Ok(())
    }
}

impl TakeOwnershipArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        require_yes(
            &network,
            self.send.yes,
            self.send.dry_run,
            "this moves ownership of the protocol",
        )?;
        let safe = safe_address(&network, &self.send.deployments.deployments_dir, self.safe)?;
        let owned = network
            .deployment(&self.send.deployments.deployments_dir)?
            .addresses
            .owned();
        if owned.is_empty() {
            return Err(CliError::usage(anyhow::anyhow!(
                "network {} has no EvmValidator or Weights address; deploy first or pass --deployments-dir",
                network.name
            )));
        }
        let signer = self.send.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let report =
            multisig::take_ownership(&provider, from, safe, &owned, self.send.dry_run).await?;
        context.output.report(&OwnershipOutput(report))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct OwnershipOutput(OwnershipReport);

impl Report for OwnershipOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        for s in &r.steps {
            let tx = s.tx.map_or_else(String::new, |tx| format!(" (tx {tx})"));
            writeln!(
                out,
                "{} {}: {}{tx}; owner() {}",
                s.name, s.address, s.outcome, s.owner_after
            )?;
        }
        if r.dry_run {
            writeln!(out, "dry run, nothing sent")
        } else {
            writeln!(
                out,
                "the Safe {} owns {} contract(s)",
                r.safe,
                r.steps.len()
            )
        }
    }
}

impl ProposeArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let data = match (&self.sig, &self.data) {
            (Some(sig), _) => multisig::proposal::encode_call(sig, &self.args)?,
            (None, Some(data)) => data.clone(),
            (None, None) => {
                return Err(CliError::usage(anyhow::anyhow!(
                    "say what the Safe calls: --sig 'name(types)' ARGS… or --data 0x…"
                )));
            }
        };
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let provider = taonado_client::connect(&network, &config).await?;
        let decoded = multisig::proposal::decode_call(&data);
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| format!("call {} on {}", decoded.summary(&data), self.to));
        let call = ProposedCall {
            to: self.to,
            value: self.value.unwrap_or_default(),
            data,
            operation: multisig::Operation::Call,
            description,
            origin: "multisig propose".to_owned(),
        };
        let via = ViaMultisigArgs {
            via_multisig: true,
            safe: self.safe,
            proposals_dir: self.folder.proposals_dir.clone(),
            nonce: self.nonce,
        };
        crate::via_multisig::propose(
            context,
            &provider,
            &network,
            &self.deployments.deployments_dir,
            &via,
            vec![call],
            None,
        )
        .await
    }
}

impl SignArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let dir = proposal_dir(context, &network, self.folder.proposals_dir.as_deref())?;
        let (mut proposal, path) = dir.find(&self.proposal)?;
        // The hash is recomputed from the transaction, never taken from the file.
        let hash = proposal.verify_integrity().map_err(CliError::from)?;
        if !context.output.is_json() {
            eprintln!(
                "signing proposal {} for Safe {} (chain {}, nonce {}):\n  {}\n  to {}: {}\n  hash {hash}",
                proposal.id,
                proposal.safe,
                proposal.chain_id,
                proposal.tx.nonce,
                proposal.description,
                proposal.tx.to,
                proposal.call.summary(&proposal.tx.data)
            );
        }
        let signature = match &self.signature {
            Some(text) => {
                let bytes = hex::decode(text.trim()).map_err(|e| {
                    CliError::from(multisig::MultisigError::MalformedSignature {
                        reason: format!("not hex: {e}"),
                    })
                })?;
                OwnerSignature::parse(&bytes, hash)?
            }
            None => {
                let signer = self.signer.signer_or_dev_account(context, &network)?;
                let kind = if self.eth_sign {
                    SignatureKind::EthSign
                } else {
                    SignatureKind::Eip712
                };
                OwnerSignature::sign(&signer, hash, kind)?
            }
        };
        let (owners, threshold) = if self.offline {
            (None, None)
        } else {
            let provider = taonado_client::connect(&network, &config).await?;
            let state = multisig::safe_state(&provider, proposal.safe).await?;
            (Some(state.owners), Some(state.threshold))
        };
        let owner = signature.owner;
        multisig::add_signature(&mut proposal, signature, owners.as_deref())?;
        dir_save(&dir, &path, &proposal)?;
        context.output.report(&ProposalOutput {
            proposal,
            path,
            action: format!("signed by {owner}"),
            threshold,
            prepared: None,
        })
    }
}

/// Saves a proposal where it was read: in the folder, or back to the file given.
fn dir_save(
    dir: &taonado_ops::multisig::ProposalDir,
    path: &std::path::Path,
    proposal: &taonado_ops::multisig::Proposal,
) -> Result<(), CliError> {
    if path.parent() == Some(dir.path.as_path()) {
        dir.save(proposal)?;
    } else {
        let parent = path.parent().unwrap_or(std::path::Path::new("."));
        let temp = taonado_ops::multisig::ProposalDir::new(parent);
        let written = temp.save(proposal)?;
        if written != path {
            std::fs::rename(&written, path).map_err(|e| {
                CliError::failed(
                    anyhow::Error::new(e).context(format!("writing {}", path.display())),
                )
            })?;
        }
    }
    Ok(())
}

impl ExecuteArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        require_yes(
            &network,
            self.yes,
            self.dry_run,
            "executing sends the Safe transaction",
        )?;
        let dir = proposal_dir(context, &network, self.folder.proposals_dir.as_deref())?;
        let (mut proposal, path) = dir.find(&self.proposal)?;
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let report = multisig::execute(&provider, from, &mut proposal, self.dry_run).await?;
        if !self.dry_run {
            dir_save(&dir, &path, &proposal)?;
        }
        context.output.report(&ExecuteOutput(report))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct ExecuteOutput(ExecuteReport);

impl Report for ExecuteOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "proposal {} ({}) has {} owner signature(s) of {} needed; gas estimate {}",
            r.id, r.safe_tx_hash, r.signatures, r.threshold, r.gas_estimate
        )?;
        match r.tx {
            Some(tx) => writeln!(out, "executed by the Safe {}: tx {tx}", r.safe),
            None => writeln!(out, "dry run, nothing sent"),
        }
    }
}

impl ListArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let dir = proposal_dir(context, &network, self.folder.proposals_dir.as_deref())?;
        let rows = dir
            .list()?
            .into_iter()
            .map(|(p, path)| ListRow {
                id: p.id.clone(),
                nonce: p.tx.nonce,
                safe: p.safe,
                signatures: p.signatures.len(),
                executed: p.executed.as_ref().map(|e| e.tx),
                description: p.description.clone(),
                path,
            })
            .collect();
        context.output.report(&ProposalList {
            dir: dir.path,
            proposals: rows,
        })
    }
}

#[derive(Serialize)]
struct ListRow {
    id: String,
    nonce: U256,
    safe: Address,
    signatures: usize,
    executed: Option<alloy::primitives::B256>,
    description: String,
    path: PathBuf,
}

#[derive(Serialize)]
struct ProposalList {
    dir: PathBuf,
    proposals: Vec<ListRow>,
}

impl Report for ProposalList {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.proposals.is_empty() {
            return writeln!(out, "no proposals in {}", self.dir.display());
        }
        let mut t = table(&["id", "nonce", "signatures", "state", "description"]);
        for r in &self.proposals {
            t.add_row(vec![
                r.id.clone(),
                r.nonce.to_string(),
                r.signatures.to_string(),
                if r.executed.is_some() {
                    "executed".into()
                } else {
                    "pending".to_owned()
                },
                r.description.clone(),
            ]);
        }
        writeln!(out, "{t}")
    }
}

impl ShowArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let dir = proposal_dir(context, &network, self.folder.proposals_dir.as_deref())?;
        let (proposal, path) = dir.find(&self.proposal)?;
        proposal.verify_integrity()?;
        context.output.report(&ProposalOutput {
            proposal,
            path,
            action: "shown".to_owned(),
            threshold: None,
            prepared: None,
        })
    }
}
