//! `taonado deploy`: build a `DeployPlan` from the resolved network and run the ops deploy.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use serde::Serialize;
use taonado_config::NetworkConfig;
use taonado_ops::{
    DeployPlan, DeploymentRecord, EvmValidatorSettings, FamilyPolicy, VerifyingKeyFile, WtaoSource,
};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::{DeployBar, StepCounts};
use crate::signer::SignerOpts;

/// The verifying key used on dev chains when `--verifying-key` is not given.
pub const LOCAL_VERIFYING_KEY: &str = "keys/local/withdraw.vk.json";

#[derive(Args)]
pub struct DeployArgs {
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
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
    #[arg(long, value_name = "TAO", default_value = "1000", value_parser = parse_tao_arg)]
    pub deposit_goal: U256,
    /// Groth16 verification key of the withdraw circuit (snarkjs verification_key.json)
    /// [default on dev chains: keys/local/withdraw.vk.json].
    #[arg(long, value_name = "FILE")]
    pub verifying_key: Option<PathBuf>,
    /// EvmValidator bounty paid to a public setWeights caller, in TAO.
    #[arg(long, value_name = "TAO", default_value = "0.001", value_parser = parse_tao_arg)]
    pub set_weights_bounty: U256,
    /// Blocks between public setWeights calls (the deployed default of 0 lets the bounty
    /// be drained every block).
    #[arg(long, value_name = "BLOCKS", default_value_t = 113)]
    pub set_weights_interval: u64,
    /// Top the EvmValidator's balance up to this, in TAO [default: 10 on dev chains, else 0].
    #[arg(long, value_name = "TAO", value_parser = parse_tao_arg)]
    pub validator_funding: Option<U256>,
}

fn parse_tao_arg(s: &str) -> Result<U256, String> {
    taonado_types::parse_tao(s).map_err(|e| e.to_string())
}

/// Which node software answers, which decides the dev-only wiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    TaonadoDevnet,
    Anvil,
    Other,
}

pub async fn node_kind(provider: &DynProvider) -> NodeKind {
    match provider.get_client_version().await {
        Ok(version) => {
            let version = version.to_ascii_lowercase();
            if version.starts_with("anvil") {
                NodeKind::Anvil
            } else if version.contains("taonado") {
                NodeKind::TaonadoDevnet
            } else {
                NodeKind::Other
            }
        }
        // Nodes may refuse web3_clientVersion; only dev conveniences depend on it.
        Err(_) => NodeKind::Other,
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

/// The plan for `network`, as reached through a node of `kind`.
pub fn build_plan(
    network: &NetworkConfig,
    kind: NodeKind,
    protocol: &ProtocolArgs,
    verifying_key: VerifyingKeyFile,
    record_path: PathBuf,
) -> Result<DeployPlan, CliError> {
    let wtao = if network.wtao_owned {
        WtaoSource::Deploy
    } else {
        let address = network.addresses.wtao.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "network {} uses an existing WTAO but has no address for it; set networks.{}.addresses.wtao",
                network.name,
                network.name
            ))
        })?;
        WtaoSource::Existing(address)
    };
    let funding = protocol.validator_funding.unwrap_or_else(|| {
        if network.dev_chain {
            U256::from(10u64) * taonado_types::WEI_PER_TAO
        } else {
            U256::ZERO
        }
    });
    // Presets' chain ids say which verifier family they need; anvil (an Ethereum EVM even
    // when started with a Bittensor chain id) and unknown networks are probed instead.
    let verifier_family =
        if kind != NodeKind::Anvil && taonado_config::preset(&network.name).is_some() {
            FamilyPolicy::ChainId
        } else {
            FamilyPolicy::Detect
        };
    Ok(DeployPlan {
        network: network.name.clone(),
        chain_id: network.chain_id,
        netuid: network.netuid,
        wtao,
        deposit_goal: protocol.deposit_goal,
        pool_denominations: DeployPlan::default_denominations(),
        verifying_key,
        verifier_family,
        record_path,
        local_subnet: kind == NodeKind::TaonadoDevnet,
        anvil_mocks: kind == NodeKind::Anvil,
        evm_validator: EvmValidatorSettings {
            set_weights_bounty: protocol.set_weights_bounty,
            set_weights_block_interval: protocol.set_weights_interval,
            refund_overhead: U256::from(15_000u64),
            metagraph_boost: 0,
            version_key: 0,
            funding,
        },
    })
}

/// Run the deploy with a progress display on stderr.
pub async fn run_deploy(
    context: &Context,
    provider: &DynProvider,
    deployer: Address,
    plan: &DeployPlan,
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
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let signer = match self.signer.source(&network, context.home.as_deref())? {
            Some(source) => crate::signer::load(&source)?,
            None if network.dev_chain => dev_account_signer(0)?,
            None => {
                return Err(taonado_client::ClientError::NoSigner {
                    network: network.name.clone(),
                }
                .into());
            }
        };
        let verifying_key = load_verifying_key(self.protocol.verifying_key.as_deref(), &network)?;
        let deployer = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let kind = node_kind(&provider).await;
        let record_path = taonado_client::deployments_path(&self.deployments_dir, &network.name);
        let plan = build_plan(
            &network,
            kind,
            &self.protocol,
            verifying_key,
            record_path.clone(),
        )?;
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
