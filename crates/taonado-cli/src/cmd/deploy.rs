//! `taonado deploy`: map the flags onto an `ops::deploy::plan` and run the ops deploy;
//! `deploy check` runs `ops::deploy::preflight` with an embedded dev chain for the dry run.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use clap::Args;
use serde::Serialize;
use taonado_config::NetworkConfig;
use taonado_ops::InsecureKeyPolicy;
use taonado_ops::deploy::plan;
use taonado_ops::deploy::preflight::{
    ChainUnavailable, DeployerKey, DevChain, DevChainNode, PreflightRequest,
};

use taonado_ops::deploy::verify::{AddressSource, Check, CheckStatus, ExpectedDeployment};

use crate::args::SignerOpts;
use crate::args::{ProtocolArgs, PublishedSetup};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::run_deploy;
use crate::reports::DeployReport;
use crate::signer::dev_account_signer;

#[derive(Args)]
pub struct DeployArgs {
    /// Checks around a deployment; without one, deploy.
    #[command(subcommand)]
    pub action: Option<DeployAction>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Deploy the INSECURE local-dev verifying key (anyone can forge withdrawals with it) to a
    /// live network anyway: for rehearsals only. Dev chains never need this.
    #[arg(long)]
    pub allow_insecure_dev_key: bool,
    // Flattened groups come last: their help headings apply to the arguments after them.
    #[command(flatten)]
    pub signer: SignerOpts,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
}

impl DeployArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self.action {
            Some(DeployAction::Check(args)) => return args.run(context).await,
            Some(DeployAction::Verify(args)) => return args.run(context).await,
            Some(DeployAction::Docs(args)) => return args.run(context),
            None => {}
        }
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let verifying_key = plan::resolve_verifying_key(&self.protocol.key_choice(), &network)?;
        let deployer = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let kind = plan::node_kind(&provider).await;
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        let mut plan = plan::build_plan(
            &network,
            kind,
            &self.protocol.settings(),
            verifying_key,
            record_path.clone(),
        )?;
        if self.allow_insecure_dev_key && !network.dev_chain {
            plan.insecure_key = InsecureKeyPolicy::AllowOnLiveNetwork;
        }
        tracing::info!(network = %network.name, %deployer, ?kind, "deploying");
        let (record, counts) = run_deploy(context, &provider, deployer, &plan).await?;
        context
            .output
            .report(&DeployReport::new(&record, record_path, counts))
    }
}

/// `taonado deploy check|verify|docs`.
#[derive(clap::Subcommand)]
pub enum DeployAction {
    /// Prerequisites of a deployment: config and chain id, an encrypted and funded deployer
    /// key, current artifacts, gas price, verifier variant, verifying key (exit 1 on a failure).
    Check(DeployCheckArgs),
    /// After a deployment: code at each address equals its artifact, the wiring, the owners
    /// and the proxy's implementation slot (exit 1 on a failure).
    Verify(DeployVerifyArgs),
    /// Write a human-readable deployments page (markdown) from deployments/*.json.
    Docs(DeployDocsArgs),
}

/// One table of check lines, shared by `deploy check` and `deploy verify`.
#[derive(Serialize)]
pub struct CheckReport {
    pub network: String,
    pub chain_id: u64,
    /// Where the expected addresses came from (`deploy verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<AddressSource>,
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
    pub checks: Vec<Check>,
}

impl CheckReport {
    fn new(network: &NetworkConfig, addresses: Option<AddressSource>, checks: Vec<Check>) -> Self {
        let count = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
        Self {
            network: network.name.clone(),
            chain_id: network.chain_id,
            addresses,
            passed: count(CheckStatus::Pass),
            warnings: count(CheckStatus::Warn),
            failed: count(CheckStatus::Fail),
            checks,
        }
    }

    /// The failing lines, one per check, as the table prints them.
    pub fn failing_lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| format!("{} {}: {}", c.subject, c.check, c.detail))
            .collect()
    }

    /// Prints the report, then turns failures into exit 1 (the envelope's error lists them).
    fn finish(self, context: &Context, what: &str) -> Result<(), CliError> {
        if self.failed == 0 {
            return context.output.report(&self);
        }
        let error = anyhow::anyhow!(
            "{what}: {} of {} checks failed: {}",
            self.failed,
            self.checks.len(),
            self.failing_lines().join("; ")
        );
        Err(context.output.report_failed(&self, error))
    }
}

impl Report for CheckReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let source = match &self.addresses {
            Some(AddressSource::Record(path)) => format!(", addresses from {}", path.display()),
            Some(AddressSource::Config) => ", addresses from the network config".to_owned(),
            None => String::new(),
        };
        writeln!(
            out,
            "network {} (chain {}){source}",
            self.network, self.chain_id
        )?;
        let mut table = crate::output::table(&["status", "subject", "check", "detail"]);
        for c in &self.checks {
            table.add_row(vec![
                c.status.label().to_owned(),
                c.subject.clone(),
                c.check.clone(),
                c.detail.clone(),
            ]);
        }
        writeln!(out, "{table}")?;
        writeln!(
            out,
            "{} passed, {} warnings, {} failed",
            self.passed, self.warnings, self.failed
        )
    }
}

#[derive(Args)]
pub struct DeployCheckArgs {
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Groth16 verification key that would be deployed [default: the local dev key built
    /// into the binary on dev chains, `--setup tornado` on live networks].
    #[arg(long, value_name = "FILE", conflicts_with = "setup")]
    pub verifying_key: Option<PathBuf>,
    /// A published setup's key that would be deployed instead of a file: `tornado`.
    #[arg(long, value_enum, value_name = "SETUP")]
    pub setup: Option<PublishedSetup>,
    /// Highest acceptable gas price, in gwei.
    #[arg(long, value_name = "GWEI", default_value_t = 100.0)]
    pub max_gas_price: f64,
    /// The committed artifacts (with build-info.json).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "crates/taonado-contracts/artifacts"
    )]
    pub artifacts_dir: PathBuf,
    /// The contract sources (`contracts/`, holding `src/`).
    #[arg(long, value_name = "DIR", default_value = "contracts")]
    pub contracts_dir: PathBuf,
    #[command(flatten)]
    pub signer: SignerOpts,
}

impl DeployCheckArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let deployer = self.deployer_key(context, &network);
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        let chain = taonado_client::connect(&network, &config)
            .await
            .map_err(|e| ChainUnavailable {
                chain_id_mismatch: matches!(e, taonado_client::ClientError::ChainIdMismatch { .. }),
                message: e.to_string(),
            });
        let request = PreflightRequest {
            network: &network,
            deployer,
            verifying_key: plan::KeyChoice::from_flags(
                self.verifying_key.as_deref(),
                self.setup == Some(PublishedSetup::Tornado),
            ),
            max_gas_price_gwei: self.max_gas_price,
            artifacts_dir: &self.artifacts_dir,
            contracts_dir: &self.contracts_dir,
            record_path: &record_path,
            chain,
        };
        let report =
            taonado_ops::deploy::preflight::run(request, &mut EmbeddedDevnet::default()).await?;
        CheckReport::new(&network, None, report.checks).finish(context, "deploy check")
    }

    /// The signer the flags and config name, and whether it unlocks.
    fn deployer_key(&self, context: &Context, network: &NetworkConfig) -> DeployerKey {
        let source = match self.signer.source(network, context.home.as_deref()) {
            Ok(Some(source)) => source,
            Ok(None) => return DeployerKey::Missing,
            Err(e) => return DeployerKey::Unresolved(e.message()),
        };
        let unlocked = crate::signer::load(&source)
            .map(|signer| signer.address())
            .map_err(|e| e.message());
        match source {
            taonado_client::SignerSource::PrivateKey(_) => DeployerKey::RawKey { unlocked },
            _ => DeployerKey::Keystore {
                path: source.keystore_path(),
                unlocked,
            },
        }
    }
}

/// The dry run's throwaway chain: an embedded devnet on a free port, signed for by dev
/// account 0.
#[derive(Default)]
struct EmbeddedDevnet {
    handle: Option<taonado_devnet::DevnetHandle>,
}

impl DevChain for EmbeddedDevnet {
    fn dev_account(&self) -> Option<Address> {
        dev_account_signer(0).ok().map(|s| s.address())
    }

    async fn start(&mut self, chain_id: u64) -> Result<DevChainNode, String> {
        let mut devnet = taonado_devnet::DevnetConfig::local();
        devnet.port = 0;
        devnet.chain_id = chain_id;
        let handle = taonado_devnet::spawn(devnet)
            .await
            .map_err(|e| CliError::from(e).message())?;
        let node = connect_dev_account(&handle).await;
        self.handle = Some(handle);
        node.map_err(|e| e.message())
    }

    async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.shutdown().await;
        }
    }
}

async fn connect_dev_account(
    handle: &taonado_devnet::DevnetHandle,
) -> Result<DevChainNode, CliError> {
    let builtin = taonado_config::Config::builtin();
    let mut local = builtin.network("local")?;
    local.rpc_url = handle
        .rpc_url()
        .parse()
        .map_err(|e| CliError::failed(anyhow::anyhow!("devnet url {}: {e}", handle.rpc_url())))?;
    local.chain_id = handle.chain_id();
    let signer = dev_account_signer(0)?;
    let deployer = signer.address();
    let provider = taonado_client::connect_with_signer(&local, &builtin, signer).await?;
    Ok(DevChainNode { provider, deployer })
}

#[derive(Args)]
pub struct DeployVerifyArgs {
    /// Directory of deployment records (`<network>.json`); without a record the network
    /// config's addresses (the built-in presets) are verified.
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Expected owner of WeightsV2/V3 and the EvmValidator [default: the record's deployer].
    #[arg(long, value_name = "ADDRESS")]
    pub owner: Option<Address>,
}

impl DeployVerifyArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        // The record is checked against the network's chain id on load.
        let deployment = network.deployment(&self.deployments_dir)?;
        let (mut expected, source) = match deployment.record {
            Some(record) => (
                ExpectedDeployment::from_record(&record),
                AddressSource::Record(deployment.record_path),
            ),
            None if network.addresses.is_empty() => {
                return Err(CliError::usage(anyhow::anyhow!(
                    "nothing to verify on {}: no {} and no configured addresses; run `taonado deploy` first",
                    network.name,
                    deployment.record_path.display()
                )));
            }
            None => (
                ExpectedDeployment::from_addresses(
                    network.chain_id,
                    network.netuid,
                    &network.addresses,
                )?,
                AddressSource::Config,
            ),
        };
        if self.owner.is_some() {
            expected.owner = self.owner;
        }
        let provider = taonado_client::connect(&network, &config).await?;
        let checks = taonado_ops::deploy::verify::verify_deployment(&provider, &expected).await?;
        CheckReport::new(&network, Some(source), checks).finish(context, "deploy verify")
    }
}

#[derive(Args)]
pub struct DeployDocsArgs {
    /// Directory of deployment records (`*.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Where to write the page (`-` for stdout).
    #[arg(long, value_name = "FILE", default_value = "docs/deployments.md")]
    pub output: PathBuf,
}

/// What `deploy docs` reports.
#[derive(Serialize)]
pub struct DocsReport {
    pub output: PathBuf,
    pub networks: Vec<String>,
    pub bytes: usize,
}

impl Report for DocsReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "wrote {} ({} bytes) for {}",
            self.output.display(),
            self.bytes,
            self.networks.join(", ")
        )
    }
}

impl DeployDocsArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let records = taonado_ops::deploy::docs::load_records(&self.deployments_dir)?;
        if records.is_empty() {
            return Err(CliError::usage(anyhow::anyhow!(
                "no deployment records in {}; run `taonado deploy` first or pass --deployments-dir",
                self.deployments_dir.display()
            )));
        }
        let page = taonado_ops::deploy::docs::render_markdown(&records);
        let networks = records.iter().map(|r| r.network.clone()).collect();
        if self.output == Path::new("-") {
            print!("{page}");
            return Ok(());
        }
        taonado_ops::deploy::docs::write_page(&self.output, &page)?;
        context.output.report(&DocsReport {
            output: self.output,
            networks,
            bytes: page.len(),
        })
    }
}
