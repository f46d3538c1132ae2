//! `taonado deploy`: build a `DeployPlan` from the resolved network and run the ops deploy.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use serde::Serialize;
use taonado_config::NetworkConfig;
use taonado_ops::deploy::plan::{NodeKind, ProtocolSettings, build_plan, node_kind};
use taonado_ops::{DeploymentRecord, FamilyPolicy, InsecureKeyPolicy, VerifyingKeyFile};

use taonado_ops::deploy::verify::{AddressSource, Check, CheckStatus, ExpectedDeployment};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::{DeployBar, StepCounts};
use crate::signer::SignerOpts;

/// The verifying key used on dev chains when `--verifying-key` is not given.
pub const LOCAL_VERIFYING_KEY: &str = "keys/local/withdraw.vk.json";

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

/// What the protocol is deployed with.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Protocol")]
pub struct ProtocolArgs {
    /// WeightsV3 deposit goal, in TAO.
    #[arg(long, value_name = "TAO", default_value = "1000", value_parser = super::parse_tao_arg)]
    pub deposit_goal: U256,
    /// Groth16 verification key of the withdraw circuit (snarkjs verification_key.json)
    /// [default on dev chains: keys/local/withdraw.vk.json].
    #[arg(long, value_name = "FILE")]
    pub verifying_key: Option<PathBuf>,
    /// EvmValidator bounty paid to a public setWeights caller, in TAO.
    #[arg(long, value_name = "TAO", default_value = "0.001", value_parser = super::parse_tao_arg)]
    pub set_weights_bounty: U256,
    /// Blocks between public setWeights calls (the deployed default of 0 lets the bounty
    /// be drained every block).
    #[arg(long, value_name = "BLOCKS", default_value_t = 113)]
    pub set_weights_interval: u64,
    /// Top the EvmValidator's balance up to this, in TAO [default: 10 on dev chains, else 0].
    #[arg(long, value_name = "TAO", value_parser = super::parse_tao_arg)]
    pub validator_funding: Option<U256>,
}

impl ProtocolArgs {
    /// The settings these flags describe.
    pub fn settings(&self) -> ProtocolSettings {
        ProtocolSettings {
            deposit_goal: self.deposit_goal,
            set_weights_bounty: self.set_weights_bounty,
            set_weights_interval: self.set_weights_interval,
            validator_funding: self.validator_funding,
        }
    }
}

/// Read the verifying key: the given file, or the local dev key on dev chains.
pub fn load_verifying_key(
    given: Option<&Path>,
    network: &NetworkConfig,
) -> Result<VerifyingKeyFile, CliError> {
    let path = match given {
        Some(path) => path.to_owned(),
        None if network.dev_chain => {
            let path = PathBuf::from(LOCAL_VERIFYING_KEY);
            if !path.is_file() {
                return Err(CliError::usage(anyhow::anyhow!(
                    "no verifying key at {LOCAL_VERIFYING_KEY} (the local dev key of the withdraw circuit, relative to the working directory); run from the repository root or pass --verifying-key FILE (a snarkjs verification_key.json)"
                )));
            }
            path
        }
        None => {
            return Err(CliError::usage(anyhow::anyhow!(
                "network {} needs --verifying-key FILE (the withdraw circuit's ceremony verification_key.json); the local dev key is never deployed to a live network",
                network.name
            )));
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::usage(
            anyhow::Error::new(e).context(format!("reading verifying key {}", path.display())),
        )
    })?;
    VerifyingKeyFile::parse(&text).map_err(|e| {
        CliError::usage(anyhow::Error::new(e).context(format!("verifying key {}", path.display())))
    })
}

/// Run the deploy with a progress display on stderr.
pub async fn run_deploy(
    context: &Context,
    provider: &DynProvider,
    deployer: Address,
    plan: &taonado_ops::DeployPlan,
) -> Result<(DeploymentRecord, StepCounts), CliError> {
    let visible = !context.output.is_json() && !context.global.quiet;
    let bar = DeployBar::new(visible);
    let result = taonado_ops::deploy(provider, deployer, plan, &bar).await;
    let counts = bar.finish();
    Ok((result?, counts))
}

/// What `taonado deploy` prints.
#[derive(Serialize)]
pub struct DeployReport {
    pub network: String,
    pub chain_id: u64,
    pub netuid: u16,
    pub deployer: Address,
    pub record_path: PathBuf,
    /// Steps that sent something in this run (0 when everything was already in place).
    pub sent: usize,
    /// Steps found already in place.
    pub skipped: usize,
    pub verifier_family: Option<String>,
    pub verifier_key_setup: Option<String>,
    pub contracts: Vec<ContractRow>,
    /// The full `deployments/<network>.json` record, as written.
    pub record: DeploymentRecord,
}

#[derive(Serialize)]
pub struct ContractRow {
    pub name: String,
    pub address: Address,
    pub artifact: String,
    pub tx_hash: Option<B256>,
}

impl DeployReport {
    pub fn new(record: &DeploymentRecord, record_path: PathBuf, counts: StepCounts) -> Self {
        let mut contracts: Vec<ContractRow> = record
            .contracts
            .iter()
            .map(|(name, c)| ContractRow {
                name: name.clone(),
                address: c.address,
                artifact: c.artifact.clone(),
                tx_hash: c.tx_hash,
            })
            .collect();
        contracts.extend(record.pools.iter().map(|p| ContractRow {
            name: format!("Pool {} WTAO", taonado_types::format_tao(p.denomination)),
            address: p.contract.address,
            artifact: p.contract.artifact.clone(),
            tx_hash: p.contract.tx_hash,
        }));
        Self {
            network: record.network.clone(),
            chain_id: record.chain_id,
            netuid: record.netuid,
            deployer: record.deployer,
            record_path,
            sent: counts.sent,
            skipped: counts.skipped,
            verifier_family: record.verifier.as_ref().map(|v| v.family.clone()),
            verifier_key_setup: record.verifier.as_ref().map(|v| v.key_setup.clone()),
            contracts,
            record: record.clone(),
        }
    }

    pub fn render_contracts(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = super::table(&["contract", "address", "artifact"]);
        for c in &self.contracts {
            table.add_row(vec![
                c.name.clone(),
                c.address.to_string(),
                c.artifact.clone(),
            ]);
        }
        writeln!(out, "{table}")
    }
}

impl Report for DeployReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "network {} (chain {}, netuid {}), deployer {}",
            self.network, self.chain_id, self.netuid, self.deployer
        )?;
        self.render_contracts(out)?;
        if let (Some(family), Some(setup)) = (&self.verifier_family, &self.verifier_key_setup) {
            writeln!(out, "verifier: {family} family, key setup {setup}")?;
        }
        let what = if self.sent == 0 {
            "nothing to do: everything was already deployed".to_owned()
        } else {
            format!(
                "{} step(s) sent, {} already in place",
                self.sent, self.skipped
            )
        };
        writeln!(out, "{what}; record: {}", self.record_path.display())
    }
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
        let verifying_key = load_verifying_key(self.protocol.verifying_key.as_deref(), &network)?;
        let deployer = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let kind = node_kind(&provider).await;
        let record_path = taonado_client::deployments_path(&self.deployments_dir, &network.name);
        let mut plan = build_plan(
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

/// Dev account `index` of the dev chain: the well-known public test keys.
pub fn dev_account_signer(index: usize) -> Result<PrivateKeySigner, CliError> {
    let account = taonado_devnet::DEV_ACCOUNTS
        .get(index)
        .ok_or_else(|| CliError::usage(anyhow::anyhow!("there is no dev account {index}")))?;
    tracing::info!(address = %account.address, "signing with dev account {index} (a public test key)");
    PrivateKeySigner::from_bytes(&account.private_key)
        .map_err(|e| CliError::failed(anyhow::anyhow!("dev account key is invalid: {e}")))
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
        let mut table = super::table(&["status", "subject", "check", "detail"]);
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
    /// Groth16 verification key that would be deployed [default on dev chains: keys/local/withdraw.vk.json].
    #[arg(long, value_name = "FILE")]
    pub verifying_key: Option<PathBuf>,
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
        let live = !network.dev_chain;
        let mut checks = vec![Check::new(
            "config",
            "valid",
            CheckStatus::Pass,
            format!(
                "network {}, chain {}, netuid {}, rpc {}",
                network.name, network.chain_id, network.netuid, network.rpc_url
            ),
        )];

        let deployer = self.deployer_checks(context, &network, &mut checks);

        let verifying_key = match load_verifying_key(self.verifying_key.as_deref(), &network) {
            Ok(key) => {
                checks.push(taonado_ops::deploy::preflight::verifying_key_check(
                    &key, live,
                ));
                Some(key)
            }
            Err(e) => {
                checks.push(Check::new(
                    "verifying key",
                    "setup",
                    CheckStatus::Fail,
                    e.message(),
                ));
                None
            }
        };

        match taonado_ops::deploy::preflight::committed_artifact_checks(
            &self.artifacts_dir,
            &self.contracts_dir,
        ) {
            Ok(found) => checks.extend(found),
            Err(e) => checks.push(Check::new(
                "artifacts",
                "build-info.json",
                CheckStatus::Fail,
                e.to_string(),
            )),
        }
        let record_path = taonado_client::deployments_path(&self.deployments_dir, &network.name);
        let record = DeploymentRecord::load(&record_path)?;
        if let Some(record) = &record {
            checks.extend(taonado_ops::deploy::preflight::record_artifact_checks(
                record,
            ));
            if let Some(pending) = &record.pending {
                checks.push(Check::new(
                    "record",
                    "interrupted deploy",
                    CheckStatus::Warn,
                    format!(
                        "{} was being deployed (nonce {}); `taonado deploy` resumes there",
                        pending.step, pending.nonce
                    ),
                ));
            }
        }

        match taonado_client::connect(&network, &config).await {
            Ok(provider) => {
                checks.push(Check::new(
                    "rpc",
                    "chain id",
                    CheckStatus::Pass,
                    format!("{} answers chain {}", network.rpc_url, network.chain_id),
                ));
                self.chain_checks(&provider, &network, deployer, verifying_key, &mut checks)
                    .await?;
            }
            Err(e) => {
                let check = if matches!(e, taonado_client::ClientError::ChainIdMismatch { .. }) {
                    "chain id"
                } else {
                    "reachable"
                };
                checks.push(Check::new("rpc", check, CheckStatus::Fail, e.to_string()));
                for subject in ["gas price", "verifier", "deployer"] {
                    checks.push(Check::new(
                        subject,
                        "on chain",
                        CheckStatus::Skip,
                        "the node is not usable".to_owned(),
                    ));
                }
            }
        }
        CheckReport::new(&network, None, checks).finish(context, "deploy check")
    }

    /// Key present and encrypted; returns the deployer address when the key could be read.
    fn deployer_checks(
        &self,
        context: &Context,
        network: &NetworkConfig,
        checks: &mut Vec<Check>,
    ) -> Option<Address> {
        let subject = "deployer key";
        let source = match self.signer.source(network, context.home.as_deref()) {
            Ok(source) => source,
            Err(e) => {
                checks.push(Check::new(
                    subject,
                    "present",
                    CheckStatus::Fail,
                    e.message(),
                ));
                return None;
            }
        };
        let Some(source) = source else {
            if network.dev_chain {
                checks.push(Check::new(
                    subject,
                    "present",
                    CheckStatus::Pass,
                    "dev account 0 (a public test key; dev chains only)".to_owned(),
                ));
                return dev_account_signer(0).ok().map(|s| s.address());
            }
            checks.push(Check::new(
                subject,
                "present",
                CheckStatus::Fail,
                format!(
                    "no deployer key: pass --keystore FILE or --account NAME, or set networks.{}.signer",
                    network.name
                ),
            ));
            return None;
        };
        match &source {
            taonado_client::SignerSource::PrivateKey(_) if !network.dev_chain => {
                checks.push(Check::new(
                    subject,
                    "encrypted",
                    CheckStatus::Fail,
                    "a raw private key (--private-key or TAONADO_PRIVATE_KEY) on a live network; import it into an encrypted keystore (`cast wallet import`) and pass --account".to_owned(),
                ));
            }
            taonado_client::SignerSource::PrivateKey(_) => checks.push(Check::new(
                subject,
                "encrypted",
                CheckStatus::Pass,
                "raw private key (acceptable on a dev chain)".to_owned(),
            )),
            _ => {
                let path = source.keystore_path();
                let detail = path.as_ref().map_or_else(String::new, |p| {
                    format!("encrypted keystore {}", p.display())
                });
                checks.push(Check::new(subject, "encrypted", CheckStatus::Pass, detail));
                if let Some(path) = path {
                    checks.push(keystore_permissions(&path));
                }
            }
        }
        match crate::signer::load(&source) {
            Ok(signer) => Some(signer.address()),
            Err(e) => {
                checks.push(Check::new(
                    subject,
                    "unlocks",
                    CheckStatus::Fail,
                    e.message(),
                ));
                None
            }
        }
    }

    async fn chain_checks(
        &self,
        provider: &DynProvider,
        network: &NetworkConfig,
        deployer: Option<Address>,
        verifying_key: Option<VerifyingKeyFile>,
        checks: &mut Vec<Check>,
    ) -> Result<(), CliError> {
        use taonado_ops::deploy::preflight;
        let max_wei = gwei_to_wei(self.max_gas_price).ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "--max-gas-price must be a non-negative number of gwei"
            ))
        })?;
        let (gas_check, gas_price) = preflight::gas_price_check(provider, max_wei).await?;
        checks.push(gas_check);
        let kind = node_kind(provider).await;
        let policy = if kind != NodeKind::Anvil && taonado_config::preset(&network.name).is_some() {
            FamilyPolicy::ChainId
        } else {
            FamilyPolicy::Detect
        };
        checks.push(preflight::verifier_family_check(provider, policy, network.chain_id).await?);

        let Some(deployer) = deployer else {
            checks.push(Check::new(
                "deployer",
                "funded",
                CheckStatus::Skip,
                "no deployer key to check".to_owned(),
            ));
            return Ok(());
        };
        let key = verifying_key
            .unwrap_or_else(|| VerifyingKeyFile::generator_placeholder("gas-estimate"));
        let gas = match dry_run_gas(network, key).await {
            Ok(gas) => gas,
            Err(e) => {
                checks.push(Check::new(
                    "deployer",
                    "funded",
                    CheckStatus::Fail,
                    format!(
                        "cannot estimate the deployment's gas on the embedded dev chain: {}",
                        e.message()
                    ),
                ));
                return Ok(());
            }
        };
        let funding = if network.dev_chain {
            U256::from(10u64) * taonado_types::WEI_PER_TAO
        } else {
            U256::ZERO
        };
        checks.push(preflight::funding_check(provider, deployer, gas, gas_price, funding).await?);
        Ok(())
    }
}

fn gwei_to_wei(gwei: f64) -> Option<u128> {
    if !gwei.is_finite() || gwei < 0.0 {
        return None;
    }
    // Gas prices are far below 2^53 gwei, where f64 stays exact to the wei we need.
    Some((gwei * 1e9).round() as u128)
}

/// A keystore readable by others is a key shared with them.
fn keystore_permissions(path: &Path) -> Check {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 == 0 => Check::new(
                "deployer key",
                "file mode",
                CheckStatus::Pass,
                format!("{:o}", meta.permissions().mode() & 0o777),
            ),
            Ok(meta) => Check::new(
                "deployer key",
                "file mode",
                CheckStatus::Warn,
                format!(
                    "{:o}: readable by others; chmod 600 {}",
                    meta.permissions().mode() & 0o777,
                    path.display()
                ),
            ),
            Err(e) => Check::new(
                "deployer key",
                "file mode",
                CheckStatus::Fail,
                e.to_string(),
            ),
        }
    }
    #[cfg(not(unix))]
    {
        Check::new(
            "deployer key",
            "file mode",
            CheckStatus::Skip,
            path.display().to_string(),
        )
    }
}

/// The gas of a full deployment, measured by deploying it on an embedded dev chain with the
/// network's chain id (a dry run: own WTAO included, so an upper bound where WTAO exists).
async fn dry_run_gas(network: &NetworkConfig, key: VerifyingKeyFile) -> Result<u64, CliError> {
    use tracing::instrument::WithSubscriber;
    tracing::info!("estimating the deployment's gas with a dry run on an embedded dev chain");
    // The dry run's own "deployed ..." logs would read like a real deployment: keep them quiet.
    dry_run(network, key)
        .with_subscriber(tracing::subscriber::NoSubscriber::default())
        .await
}

async fn dry_run(network: &NetworkConfig, key: VerifyingKeyFile) -> Result<u64, CliError> {
    let mut devnet = taonado_devnet::DevnetConfig::local();
    devnet.port = 0;
    devnet.chain_id = network.chain_id;
    let handle = taonado_devnet::spawn(devnet).await?;
    let result = async {
        let mut local = taonado_config::Config::builtin().network("local")?;
        local.rpc_url = handle.rpc_url().parse().map_err(|e| {
            CliError::failed(anyhow::anyhow!("devnet url {}: {e}", handle.rpc_url()))
        })?;
        local.chain_id = handle.chain_id();
        let signer = dev_account_signer(0)?;
        let deployer = signer.address();
        let provider =
            taonado_client::connect_with_signer(&local, &taonado_config::Config::builtin(), signer)
                .await?;
        let dir = tempfile_dir()?;
        let mut plan = build_plan(
            &local,
            NodeKind::Other,
            &ProtocolSettings {
                deposit_goal: U256::from(1000u64) * taonado_types::WEI_PER_TAO,
                set_weights_bounty: U256::ZERO,
                set_weights_interval: 113,
                validator_funding: Some(U256::ZERO),
            },
            key,
            dir.join("dry-run.json"),
        )?;
        plan.verifier_family = FamilyPolicy::Detect;
        plan.insecure_key = InsecureKeyPolicy::Allow;
        let record =
            taonado_ops::deploy(&provider, deployer, &plan, &taonado_ops::NoProgress).await;
        let _ = std::fs::remove_dir_all(&dir);
        let record = record?;
        let mut gas = taonado_ops::deploy::preflight::recorded_gas(&record);
        for tx in record.wiring.values() {
            let receipt = provider
                .get_transaction_receipt(*tx)
                .await
                .map_err(|e| CliError::failed(anyhow::anyhow!("reading a dry-run receipt: {e}")))?;
            gas += receipt.map_or(0, |r| r.gas_used);
        }
        Ok::<u64, CliError>(gas)
    }
    .await;
    let _ = handle.shutdown().await;
    result
}

fn tempfile_dir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("taonado-dry-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::failed(anyhow::Error::new(e).context(format!("creating {}", dir.display())))
    })?;
    Ok(dir)
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
        let record_path = taonado_client::deployments_path(&self.deployments_dir, &network.name);
        let (mut expected, source) = match DeploymentRecord::load(&record_path)? {
            Some(record) => {
                if record.chain_id != network.chain_id {
                    return Err(CliError::usage(anyhow::anyhow!(
                        "{} is a chain {} record but network {} is chain {}",
                        record_path.display(),
                        record.chain_id,
                        network.name,
                        network.chain_id
                    )));
                }
                (
                    ExpectedDeployment::from_record(&record),
                    AddressSource::Record(record_path),
                )
            }
            None if network.addresses.is_empty() => {
                return Err(CliError::usage(anyhow::anyhow!(
                    "nothing to verify on {}: no {} and no configured addresses; run `taonado deploy` first",
                    network.name,
                    record_path.display()
                )));
            }
            None => (expected_from_config(&network)?, AddressSource::Config),
        };
        if self.owner.is_some() {
            expected.owner = self.owner;
        }
        let provider = taonado_client::connect(&network, &config).await?;
        let checks = taonado_ops::deploy::verify::verify_deployment(&provider, &expected).await?;
        CheckReport::new(&network, Some(source), checks).finish(context, "deploy verify")
    }
}

/// The configured addresses (presets or taonado.toml) as an expected deployment.
fn expected_from_config(network: &NetworkConfig) -> Result<ExpectedDeployment, CliError> {
    let a = &network.addresses;
    let mut pools = Vec::new();
    for (denomination, address) in &a.pools {
        let wei = taonado_types::parse_tao(denomination).map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "networks.{}.addresses.pools key `{denomination}` is not a TAO amount: {e}",
                network.name
            ))
        })?;
        pools.push((wei, *address));
    }
    pools.sort();
    let denominations: Vec<U256> = pools.iter().map(|(d, _)| *d).collect();
    let weights_pool = taonado_ops::deploy::weights_pool_denomination(&denominations)
        .and_then(|d| pools.iter().find(|(p, _)| *p == d).map(|(_, a)| *a));
    Ok(ExpectedDeployment {
        chain_id: network.chain_id,
        netuid: network.netuid,
        wtao: a.wtao,
        deposit_tracker: a.deposit_tracker,
        weights_v2: a.weights_v2,
        weights_v3: a.weights_v3,
        weights_v4: None,
        evm_validator: a.evm_validator,
        evm_validator_implementation: None,
        hasher: a.hasher,
        verifier: a.verifier,
        verifier_family: Some(taonado_ops::ChainFamily::from_chain_id(network.chain_id)),
        pools,
        weights_pool,
        owner: None,
    })
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
