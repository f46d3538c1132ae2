//! `taonado upgrade`: the EvmValidator's UUPS upgrade (dry run, rehearsal on a fork, execution)
//! and its verification.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use clap::{Args, Subcommand};
use taonado_config::NetworkConfig;
use taonado_contracts::Contract;
use taonado_ops::DeploymentRecord;
use taonado_ops::upgrade::{
    self, Baseline, DryRunReport, ExecutePaths, ExecuteReport, StateSnapshot, UpgradePlan,
    VerifyReport,
};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::signer::SignerOpts;
use crate::via_multisig::ViaMultisigArgs;
use taonado_stack::RehearsalOutput;

#[derive(Subcommand)]
pub enum UpgradeCommand {
    /// Upgrade the EvmValidator proxy to a new implementation (layout-checked first).
    EvmValidator(EvmValidatorArgs),
    /// Check a finished upgrade: implementation slot, every state variable and the balance.
    Verify(VerifyArgs),
}

/// Where the proxy and the record are.
#[derive(Args, Clone, Debug)]
pub struct Target {
    /// The EvmValidator proxy [default: the deployment record's, else the network's].
    #[arg(long, value_name = "ADDRESS")]
    pub proxy: Option<Address>,
    /// The implementation artifact to upgrade to.
    #[arg(long, value_name = "ARTIFACT", default_value = "EvmValidatorV2")]
    pub implementation: Contract,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Pre-upgrade snapshot file [default: <deployments-dir>/<network>.upgrade-snapshot.json].
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

#[derive(Args)]
pub struct EvmValidatorArgs {
    /// Check and print the upgrade without sending anything.
    #[arg(long, group = "mode")]
    pub dry_run: bool,
    /// Rehearse the upgrade on an in-process fork of the network (owner impersonated).
    #[arg(long, group = "mode")]
    pub rehearse: bool,
    /// Deploy the implementation and upgrade, signed by the owner.
    #[arg(long, group = "mode")]
    pub execute: bool,
    /// Fork at this block [default: the latest] (with --rehearse).
    #[arg(long, value_name = "N", requires = "rehearse")]
    pub fork_block: Option<u64>,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub signer: SignerOpts,
    #[command(flatten)]
    pub multisig: ViaMultisigArgs,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Compare with the proxy's state at this block (before the upgrade) instead of a snapshot.
    #[arg(long, value_name = "N")]
    pub before_block: Option<u64>,
    /// The implementation the proxy must point at [default: the record's].
    #[arg(long, value_name = "ADDRESS")]
    pub expected_implementation: Option<Address>,
    #[command(flatten)]
    pub target: Target,
}

impl UpgradeCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            UpgradeCommand::EvmValidator(args) => args.run(context).await,
            UpgradeCommand::Verify(args) => args.run(context).await,
        }
    }
}

impl Target {
    fn record_path(&self, network: &NetworkConfig) -> PathBuf {
        taonado_deployment::record_path(&self.deployments_dir, &network.name)
    }

    fn snapshot_path(&self, network: &NetworkConfig) -> PathBuf {
        self.snapshot.clone().unwrap_or_else(|| {
            self.deployments_dir
                .join(format!("{}.upgrade-snapshot.json", network.name))
        })
    }

    fn record(&self, network: &NetworkConfig) -> Result<Option<DeploymentRecord>, CliError> {
        Ok(DeploymentRecord::load(&self.record_path(network))?)
    }

    fn proxy(&self, network: &NetworkConfig) -> Result<Address, CliError> {
        if let Some(proxy) = self.proxy {
            return Ok(proxy);
        }
        let addresses = network.deployment(&self.deployments_dir)?.addresses;
        addresses.evm_validator.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "network {} has no EvmValidator address: pass --proxy ADDRESS, deploy first, or set networks.{}.addresses.evm_validator",
                network.name,
                network.name
            ))
        })
    }
}

impl EvmValidatorArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let proxy = self.target.proxy(&network)?;
        let plan = UpgradePlan {
            proxy,
            target: self.target.implementation,
            sender: None,
        };
        if self.execute {
            let signer = self.signer.signer_or_dev_account(context, &network)?;
            let from = signer.address();
            let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
            let paths = ExecutePaths {
                record: self.target.record_path(&network),
                snapshot: self.target.snapshot_path(&network),
            };
            if self.multisig.via_multisig {
                let deployments_dir = &self.target.deployments_dir;
                let safe = crate::via_multisig::safe_address(
                    &network,
                    deployments_dir,
                    self.multisig.safe,
                )?;
                let (prepared, call) =
                    upgrade::propose(&provider, from, safe, &plan, &paths).await?;
                let Some(call) = call else {
                    return context.output.report(&prepared.dry_run);
                };
                let prepared = crate::via_multisig::Prepared::of(&prepared)?;
                return crate::via_multisig::propose(
                    context,
                    &provider,
                    &network,
                    deployments_dir,
                    &self.multisig,
                    vec![call],
                    Some(prepared),
                )
                .await;
            }
            let report = upgrade::execute(&provider, from, &plan, &paths).await?;
            return context.output.report(&report);
        }
        if self.rehearse {
            return rehearse(context, &network, &plan, self.fork_block).await;
        }
        // --dry-run is the default: nothing is ever sent without --execute.
        let provider = taonado_client::connect(&network, &config).await?;
        let plan = UpgradePlan {
            sender: signer_address(&self.signer, context, &network)?,
            ..plan
        };
        let report = upgrade::dry_run(&provider, &plan).await?;
        finish_dry_run(context, report)
    }
}

/// The signer's address if one is configured (it deploys the implementation), without
/// requiring one: a dry run needs no key.
fn signer_address(
    opts: &SignerOpts,
    context: &Context,
    network: &NetworkConfig,
) -> Result<Option<Address>, CliError> {
    match opts.source(network, context.home.as_deref())? {
        Some(source) => Ok(Some(crate::signer::load(&source)?.address())),
        None => Ok(None),
    }
}

fn finish_dry_run(context: &Context, report: DryRunReport) -> Result<(), CliError> {
    if report.ok() {
        return context.output.report(&report);
    }
    let error = anyhow::anyhow!(
        "the upgrade to {} is not safe:\n  {}",
        report.target_artifact,
        report.failing().join("\n  ")
    );
    Err(context.output.report_failed(&report, error))
}

/// Rehearses on an in-process fork of the network (`taonado_stack::rehearse_upgrade`): the
/// real chain only serves reads.
async fn rehearse(
    context: &Context,
    network: &NetworkConfig,
    plan: &UpgradePlan,
    fork_block: Option<u64>,
) -> Result<(), CliError> {
    let report = taonado_stack::rehearse_upgrade(network, plan, fork_block).await?;
    if report.rehearsal.ok() {
        return context.output.report(&report);
    }
    let error = anyhow::anyhow!(
        "the rehearsal failed:\n  {}",
        report.rehearsal.failing().join("\n  ")
    );
    Err(context.output.report_failed(&report, error))
}

impl Report for RehearsalOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.rehearsal;
        writeln!(
            out,
            "rehearsed on a fork of {} (fetched {} accounts, {} storage slots)",
            self.fork_url, self.fetched_accounts, self.fetched_storage_slots
        )?;
        r.dry_run.render(out)?;
        writeln!(
            out,
            "upgraded on the fork to {} (tx {})",
            r.implementation, r.upgrade_tx
        )?;
        r.verify.render(out)?;
        for c in &r.post_checks {
            writeln!(
                out,
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            )?;
        }
        if let Some(w) = &r.weights {
            writeln!(
                out,
                "{} through the upgraded proxy succeeded (tx {}, {} blocks mined first)",
                w.call, w.tx, w.blocks_mined
            )?;
        }
        writeln!(out, "nothing was sent to {}", self.fork_url)
    }
}

impl VerifyArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let proxy = self.target.proxy(&network)?;
        let provider: DynProvider = taonado_client::connect(&network, &config).await?;
        let expected = match self.expected_implementation {
            Some(address) => address,
            None => {
                let record = self.target.record(&network)?.ok_or_else(|| {
                    CliError::usage(anyhow::anyhow!(
                        "no deployment record at {}: pass --expected-implementation ADDRESS",
                        self.target.record_path(&network).display()
                    ))
                })?;
                upgrade::from_record(&record, self.target.implementation)?.1
            }
        };
        let baseline = match self.before_block {
            Some(block) => Baseline::Block(block),
            None => Baseline::Snapshot(load_snapshot(&self.target.snapshot_path(&network))?),
        };
        let report = upgrade::verify(
            &provider,
            proxy,
            expected,
            self.target.implementation,
            baseline,
        )
        .await?;
        finish_verify(context, report)
    }
}

fn load_snapshot(path: &Path) -> Result<StateSnapshot, CliError> {
    if !path.is_file() {
        return Err(CliError::usage(anyhow::anyhow!(
            "no pre-upgrade snapshot at {}: `upgrade evm-validator --execute` writes it; or pass --before-block N (a block before the upgrade)",
            path.display()
        )));
    }
    Ok(StateSnapshot::load(path)?)
}

pub(crate) fn finish_verify(context: &Context, report: VerifyReport) -> Result<(), CliError> {
    if report.ok() {
        return context.output.report(&report);
    }
    let error = anyhow::anyhow!(
        "upgrade verification failed ({}): {}",
        report.compared,
        report.failing().join("; ")
    );
    Err(context.output.report_failed(&report, error))
}

impl Report for DryRunReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "EvmValidator proxy {} on chain {} at block {}",
            self.proxy, self.chain_id, self.block
        )?;
        writeln!(
            out,
            "current implementation {} ({})",
            self.current_implementation,
            self.current_artifact.as_deref().unwrap_or("unknown")
        )?;
        writeln!(
            out,
            "target {}: runtime code keccak {}, creation code keccak {}",
            self.target_artifact, self.runtime_code_hash, self.creation_code_hash
        )?;
        if self.already_current {
            // No plan follows: printing the steps of an upgrade that is not needed would
            // contradict this line.
            return writeln!(
                out,
                "the proxy already runs {}: nothing to upgrade",
                self.target_artifact
            );
        }
        for check in &self.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            writeln!(out, "{mark} {}: {}", check.name, check.detail)?;
        }
        for problem in &self.layout.problems {
            writeln!(out, "     - {problem}")?;
        }
        let who = if self.owner_is_contract {
            format!(
                "the owner {} (a contract: propose it to the multisig)",
                self.owner
            )
        } else {
            format!("the owner {}", self.owner)
        };
        writeln!(
            out,
            "1. {} deploys {} (nonce {}) -> {}",
            self.deployer, self.target_artifact, self.deployer_nonce, self.predicted_implementation
        )?;
        writeln!(out, "2. {who} sends to {}:", self.proxy)?;
        writeln!(
            out,
            "   upgradeToAndCall({}, 0x)",
            self.predicted_implementation
        )?;
        writeln!(out, "   calldata {}", self.upgrade_calldata)
    }
}

impl Report for upgrade::ProposeReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.deploy_tx {
            Some(tx) => writeln!(
                out,
                "deployed {} at {} (tx {tx})",
                self.dry_run.target_artifact, self.implementation
            )?,
            None => writeln!(
                out,
                "reused {} at {} from the record",
                self.dry_run.target_artifact, self.implementation
            )?,
        }
        writeln!(
            out,
            "pre-upgrade state of {} saved to {} (for `upgrade verify` after the Safe executes)",
            self.dry_run.proxy,
            self.snapshot_path.display()
        )
    }
}

impl Report for ExecuteReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.upgrade_tx {
            None => writeln!(
                out,
                "the proxy {} already runs {} at {}: nothing sent",
                self.dry_run.proxy, self.dry_run.target_artifact, self.implementation
            ),
            Some(tx) => {
                if let Some(deploy) = self.deploy_tx {
                    writeln!(
                        out,
                        "deployed {} at {} (tx {deploy})",
                        self.dry_run.target_artifact, self.implementation
                    )?;
                } else {
                    writeln!(
                        out,
                        "reused {} at {} from the record",
                        self.dry_run.target_artifact, self.implementation
                    )?;
                }
                writeln!(out, "upgraded {} (tx {tx})", self.dry_run.proxy)?;
                writeln!(
                    out,
                    "pre-upgrade snapshot: {}",
                    self.snapshot_path.display()
                )?;
                writeln!(
                    out,
                    "record: {}; check with `taonado upgrade verify`",
                    self.record_path.display()
                )
            }
        }
    }
}

impl Report for VerifyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "EvmValidator proxy {} at block {}: {}",
            self.proxy, self.block, self.compared
        )?;
        let mut table = crate::output::table(&["", "check", "expected", "found"]);
        for c in &self.checks {
            table.add_row(vec![
                if c.ok { "ok" } else { "FAIL" }.to_owned(),
                c.name.clone(),
                c.expected.clone(),
                c.actual.clone(),
            ]);
        }
        writeln!(out, "{table}")?;
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        writeln!(out, "{} checks, {failed} failed", self.checks.len())
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, Bytes};
    use taonado_ops::upgrade::LayoutSummary;

    use super::*;

    fn dry_run(already_current: bool) -> String {
        let report = DryRunReport {
            chain_id: 42,
            block: 7,
            proxy: Address::repeat_byte(1),
            current_implementation: Address::repeat_byte(2),
            current_artifact: Some("EvmValidatorV2".into()),
            target_artifact: "EvmValidatorV2".into(),
            runtime_code_hash: B256::ZERO,
            creation_code_hash: B256::ZERO,
            layout: LayoutSummary {
                compatible: true,
                problems: Vec::new(),
                appended: Vec::new(),
                new_namespaces: Vec::new(),
            },
            owner: Address::repeat_byte(3),
            owner_is_contract: false,
            deployer: Address::repeat_byte(3),
            deployer_nonce: 9,
            predicted_implementation: Address::repeat_byte(4),
            upgrade_calldata: Bytes::new(),
            already_current,
            checks: Vec::new(),
        };
        let mut out = Vec::new();
        report.render(&mut out).expect("renders");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_proxy_already_on_the_target_gets_no_upgrade_plan() {
        let current = dry_run(true);
        assert!(current.contains("nothing to upgrade"), "{current}");
        assert!(!current.contains("upgradeToAndCall"), "{current}");
        let pending = dry_run(false);
        assert!(pending.contains("upgradeToAndCall"), "{pending}");
        assert!(!pending.contains("nothing to upgrade"), "{pending}");
    }
}
