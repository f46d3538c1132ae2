//! `taonado deploy check`: the prerequisites of a deployment, each one a [`Check`] line.
//!
//! [`run`] is the whole check. The caller gathers what only it can know (which signer was
//! named and whether it unlocks, whether the node answered) and hands in a [`DevChain`] for
//! the dry run; every rule lives here, in one tested place.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use serde::{Deserialize, Serialize};
use taonado_config::NetworkConfig;

use super::family::{self, FamilyPolicy};
use super::plan::{self, NodeKind, ProtocolSettings};
use super::verify::{Check, CheckStatus};
use crate::error::{OpsError, Result};
use crate::verifying_key::VerifyingKeyFile;
use taonado_contracts::Contract;
use taonado_deployment::DeploymentRecord;
use taonado_deployment::fs;

/// The verifying-key setup label of the insecure local development keys.
pub const LOCAL_DEV_SETUP: &str = "local-dev-insecure";

/// Whether a deployment may embed a verifying key from the insecure local setup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InsecureKeyPolicy {
    /// Dev chains: the local key is the normal choice.
    Allow,
    /// Live networks: refused before anything is sent.
    Refuse,
    /// Live network, explicitly overridden by the operator (a rehearsal): allowed and logged.
    AllowOnLiveNetwork,
}

/// Refuses a key that must not secure a live network (see
/// [`VerifyingKeyFile::live_network_objection`]) unless explicitly overridden.
pub fn check_key_policy(
    policy: InsecureKeyPolicy,
    key: &VerifyingKeyFile,
    network: &str,
) -> Result<()> {
    let Some(reason) = key.live_network_objection() else {
        return Ok(());
    };
    match policy {
        InsecureKeyPolicy::Allow => Ok(()),
        InsecureKeyPolicy::AllowOnLiveNetwork => {
            tracing::warn!(%network, %reason, "deploying an INSECURE verifying key to a live network (explicitly allowed)");
            Ok(())
        }
        InsecureKeyPolicy::Refuse => Err(OpsError::InsecureVerifyingKey {
            network: network.to_owned(),
            reason,
        }),
    }
}

/// The verifying key's setup, checked for the target network.
pub fn verifying_key_check(key: &VerifyingKeyFile, live_network: bool) -> Check {
    let subject = "verifying key";
    let setup = key.setup_label();
    match key.live_network_objection() {
        Some(reason) if live_network => Check::new(
            subject,
            "setup",
            CheckStatus::Fail,
            format!("{setup}: {reason}"),
        ),
        Some(_) => Check::new(
            subject,
            "setup",
            CheckStatus::Pass,
            format!("{setup} (dev chain only)"),
        ),
        None => Check::new(subject, "setup", CheckStatus::Pass, setup.to_owned()),
    }
}

/// The verifier variant the deploy would choose, or why it would refuse.
pub async fn verifier_family_check(
    provider: &DynProvider,
    policy: FamilyPolicy,
    chain_id: u64,
) -> Result<Check> {
    let probe = family::probe(provider).await?;
    Ok(match family::decide(policy, chain_id, probe) {
        Ok(family) => Check::new(
            "verifier",
            "variant",
            CheckStatus::Pass,
            format!(
                "{family} (bn256 add at 0x6: {}, at 0x9: {}; policy {policy:?})",
                probe.add_at_0x6, probe.add_at_0x9
            ),
        ),
        Err(e) => Check::new("verifier", "variant", CheckStatus::Fail, e.to_string()),
    })
}

/// The node's gas price against an operator bound.
pub async fn gas_price_check(provider: &DynProvider, max_wei: u128) -> Result<(Check, u128)> {
    let price = provider
        .get_gas_price()
        .await
        .map_err(OpsError::rpc("reading the gas price"))?;
    let shown = format!("{} gwei", format_gwei(price));
    let check = if price <= max_wei {
        Check::new(
            "gas price",
            "within bound",
            CheckStatus::Pass,
            format!("{shown} <= {} gwei", format_gwei(max_wei)),
        )
    } else {
        Check::new(
            "gas price",
            "within bound",
            CheckStatus::Fail,
            format!(
                "{shown} > {} gwei; wait or raise --max-gas-price",
                format_gwei(max_wei)
            ),
        )
    };
    Ok((check, price))
}

/// Whether `deployer` can pay `gas` at `gas_price` plus `extra` wei (e.g. validator funding),
/// with a 20 % margin on the gas.
pub async fn funding_check(
    provider: &DynProvider,
    deployer: Address,
    gas: u64,
    gas_price: u128,
    extra: U256,
) -> Result<Check> {
    let balance = provider
        .get_balance(deployer)
        .await
        .map_err(OpsError::rpc(format!("reading the balance of {deployer}")))?;
    let need = required_funds(gas, gas_price, extra);
    let detail = format!(
        "{deployer} has {} TAO, needs {} TAO (~{gas} gas at {} gwei + 20 %, plus {} TAO funding)",
        taonado_types::format_tao(balance),
        taonado_types::format_tao(need),
        format_gwei(gas_price),
        taonado_types::format_tao(extra)
    );
    let status = if balance >= need {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    Ok(Check::new("deployer", "funded", status, detail))
}

/// Wei needed for `gas` at `gas_price` with a 20 % margin, plus `extra`.
pub fn required_funds(gas: u64, gas_price: u128, extra: U256) -> U256 {
    U256::from(gas) * U256::from(gas_price) * U256::from(6u8) / U256::from(5u8) + extra
}

fn format_gwei(wei: u128) -> String {
    let whole = wei / 1_000_000_000;
    let frac = wei % 1_000_000_000;
    if frac == 0 {
        whole.to_string()
    } else {
        let frac = format!("{frac:09}");
        format!("{whole}.{}", frac.trim_end_matches('0'))
    }
}

/// Gas a deployment recorded (contracts and pools with a receipt).
pub fn recorded_gas(record: &DeploymentRecord) -> u64 {
    record
        .contracts
        .values()
        .chain(record.pools.iter().map(|p| &p.contract))
        .filter_map(|c| c.gas_used)
        .sum()
}

/// Each recorded contract's artifact hash against the artifact this binary carries: a
/// difference means the artifacts changed since the deployment (a re-run would redeploy).
pub fn record_artifact_checks(record: &DeploymentRecord) -> Vec<Check> {
    let rows = record
        .contracts
        .iter()
        .map(|(name, c)| (name.clone(), c))
        .chain(
            record
                .pools
                .iter()
                .map(|p| (super::verify::pool_name(p.denomination), &p.contract)),
        );
    rows.filter_map(|(name, c)| {
        let recorded = c.artifact_sha256?;
        let current = c.artifact.parse::<Contract>().ok()?.artifact().sha256;
        Some(if recorded == current {
            Check::new(
                name,
                "artifact current",
                CheckStatus::Pass,
                format!("{} sha256 {}", c.artifact, short(current)),
            )
        } else {
            Check::new(
                name,
                "artifact current",
                CheckStatus::Warn,
                format!(
                    "{} changed since deployment (recorded {}, now {}); a re-run redeploys it",
                    c.artifact,
                    short(recorded),
                    short(current)
                ),
            )
        })
    })
    .collect()
}

#[derive(Deserialize)]
struct BuildInfo {
    artifacts: BTreeMap<String, String>,
    #[serde(default)]
    sources: Vec<String>,
}

/// The committed artifacts in `artifacts_dir` (a checkout's `crates/taonado-contracts/artifacts`)
/// against `build-info.json` and against the artifacts embedded in this binary; and the sources
/// `build-info.json` lists, present under `contracts_dir`.
pub fn committed_artifact_checks(artifacts_dir: &Path, contracts_dir: &Path) -> Result<Vec<Check>> {
    let info_path = artifacts_dir.join("build-info.json");
    let Some(text) = fs::read_optional(&info_path)? else {
        return Ok(vec![Check::new(
            "artifacts",
            "build-info.json",
            CheckStatus::Skip,
            format!(
                "{} not found (not run from a checkout); checked against the embedded artifacts only",
                info_path.display()
            ),
        )]);
    };
    let info: BuildInfo = serde_json::from_str(&text).map_err(|source| OpsError::RecordFormat {
        path: info_path.clone(),
        source,
    })?;
    let mut stale = Vec::new();
    let mut differs_from_binary = Vec::new();
    for &contract in Contract::ALL {
        let file = format!("{}.json", contract.name());
        let path = artifacts_dir.join(&file);
        let Some(on_disk) = fs::read_optional(&path)? else {
            stale.push(format!("{file} missing"));
            continue;
        };
        let digest = sha256_hex(on_disk.as_bytes());
        if info.artifacts.get(&file) != Some(&digest) {
            stale.push(format!("{file} not as listed"));
        }
        if B256::from_slice(&hex_bytes(&digest)) != contract.artifact().sha256 {
            differs_from_binary.push(file);
        }
    }
    let mut checks = vec![
        if stale.is_empty() {
            Check::new(
                "artifacts",
                "match build-info.json",
                CheckStatus::Pass,
                format!("{} artifacts", info.artifacts.len()),
            )
        } else {
            Check::new(
                "artifacts",
                "match build-info.json",
                CheckStatus::Fail,
                format!("{}; run `node contracts/build.mjs`", stale.join(", ")),
            )
        },
        if differs_from_binary.is_empty() {
            Check::new(
                "artifacts",
                "embedded in this binary",
                CheckStatus::Pass,
                "the binary carries the committed artifacts".to_owned(),
            )
        } else {
            Check::new(
                "artifacts",
                "embedded in this binary",
                CheckStatus::Fail,
                format!(
                    "{} differ from this binary's; rebuild taonado",
                    differs_from_binary.join(", ")
                ),
            )
        },
    ];
    let missing: Vec<&String> = info
        .sources
        .iter()
        .filter(|s| !contracts_dir.join(s).is_file())
        .collect();
    checks.push(if missing.is_empty() {
        Check::new(
            "artifacts",
            "sources present",
            CheckStatus::Pass,
            format!(
                "{} sources; `node contracts/build.mjs --check` proves they compile to these artifacts",
                info.sources.len()
            ),
        )
    } else {
        Check::new(
            "artifacts",
            "sources present",
            CheckStatus::Fail,
            format!(
                "missing under {}: {}",
                contracts_dir.display(),
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    });
    Ok(checks)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    alloy::primitives::hex::encode(sha2::Sha256::digest(bytes))
}

fn hex_bytes(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    // `text` is our own 64-digit sha256 rendering; a failure leaves zeros, which compare unequal.
    let _ = alloy::primitives::hex::decode_to_slice(text, &mut out);
    out
}

fn short(hash: B256) -> String {
    let text = hash.to_string();
    text.chars().take(12).collect()
}

/// Who would sign the deployment, as far as the caller could tell.
#[derive(Clone, Debug)]
pub enum DeployerKey {
    /// The signer flags or configuration could not be resolved (the reason).
    Unresolved(String),
    /// Nothing names a signer: on a dev chain its dev account 0 signs.
    Missing,
    /// A raw private key, and its address or why it could not be read.
    RawKey { unlocked: Result<Address, String> },
    /// An encrypted keystore, and its address or why it did not unlock.
    Keystore {
        path: Option<PathBuf>,
        unlocked: Result<Address, String>,
    },
}

/// The node could not be used; `chain_id_mismatch` when it answered another chain.
#[derive(Clone, Debug)]
pub struct ChainUnavailable {
    pub chain_id_mismatch: bool,
    pub message: String,
}

/// A throwaway dev chain the caller provides (ops runs no chain itself). The dry run
/// deploys the whole protocol on one to measure its gas.
pub trait DevChain {
    /// The dev chains' account 0 (a public test key): the deployer on a dev chain when no key
    /// is given.
    fn dev_account(&self) -> Option<Address>;
    /// Starts a fresh chain with `chain_id`: a provider that signs as a funded account, and
    /// that account. The error is shown in the check line.
    fn start(&mut self, chain_id: u64) -> impl Future<Output = Result<DevChainNode, String>>;
    /// Stops the chain [`DevChain::start`] started.
    fn stop(&mut self) -> impl Future<Output = ()>;
}

/// A running dev chain: a signing provider and the account it signs as.
pub struct DevChainNode {
    pub provider: DynProvider,
    pub deployer: Address,
}

/// What `deploy check` looks at.
pub struct PreflightRequest<'a> {
    pub network: &'a NetworkConfig,
    pub deployer: DeployerKey,
    /// The verifying key that would be deployed.
    pub verifying_key: plan::KeyChoice,
    /// Highest acceptable gas price, gwei.
    pub max_gas_price_gwei: f64,
    /// The committed artifacts (with build-info.json).
    pub artifacts_dir: &'a Path,
    /// The contract sources.
    pub contracts_dir: &'a Path,
    /// The network's deployment record.
    pub record_path: &'a Path,
    /// The network's node, or why it is unusable.
    pub chain: Result<DynProvider, ChainUnavailable>,
}

/// The check lines, in the order they were made.
#[derive(Clone, Debug, Serialize)]
pub struct PreflightReport {
    pub checks: Vec<Check>,
}

impl PreflightReport {
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .count()
    }
}

/// Why `deploy check` could not finish (a failing check is a line, not an error).
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("--max-gas-price must be a non-negative number of gwei")]
    MaxGasPrice,
    #[error(transparent)]
    Ops(Box<OpsError>),
}

impl From<OpsError> for PreflightError {
    fn from(error: OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

/// Every prerequisite of a deployment: config, deployer key, verifying key, artifacts, the
/// record, and on the node the gas price, the verifier variant and the deployer's funds
/// (measured with a dry run on `dev_chain`).
pub async fn run(
    request: PreflightRequest<'_>,
    dev_chain: &mut impl DevChain,
) -> std::result::Result<PreflightReport, PreflightError> {
    let network = request.network;
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

    let deployer = deployer_checks(request.deployer, network, &*dev_chain, &mut checks);

    let verifying_key = match plan::resolve_verifying_key(&request.verifying_key, network) {
        Ok(key) => {
            checks.push(verifying_key_check(&key, live));
            Some(key)
        }
        Err(e) => {
            checks.push(Check::new(
                "verifying key",
                "setup",
                CheckStatus::Fail,
                error_chain(&e),
            ));
            None
        }
    };

    match committed_artifact_checks(request.artifacts_dir, request.contracts_dir) {
        Ok(found) => checks.extend(found),
        Err(e) => checks.push(Check::new(
            "artifacts",
            "build-info.json",
            CheckStatus::Fail,
            e.to_string(),
        )),
    }
    checks.extend(record_checks(request.record_path)?);

    match request.chain {
        Ok(provider) => {
            checks.push(Check::new(
                "rpc",
                "chain id",
                CheckStatus::Pass,
                format!("{} answers chain {}", network.rpc_url, network.chain_id),
            ));
            let max_wei =
                gwei_to_wei(request.max_gas_price_gwei).ok_or(PreflightError::MaxGasPrice)?;
            let chain = ChainFacts {
                provider: &provider,
                network,
                max_wei,
            };
            chain
                .checks(deployer, verifying_key, dev_chain, &mut checks)
                .await?;
        }
        Err(e) => {
            let check = if e.chain_id_mismatch {
                "chain id"
            } else {
                "reachable"
            };
            checks.push(Check::new("rpc", check, CheckStatus::Fail, e.message));
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
    Ok(PreflightReport { checks })
}

/// The record's artifacts against this binary's, and an interrupted deploy.
fn record_checks(record_path: &Path) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let Some(record) = DeploymentRecord::load(record_path)? else {
        return Ok(checks);
    };
    checks.extend(record_artifact_checks(&record));
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
    Ok(checks)
}

/// Key present and encrypted; returns the deployer address when the key could be read.
fn deployer_checks(
    key: DeployerKey,
    network: &NetworkConfig,
    dev_chain: &impl DevChain,
    checks: &mut Vec<Check>,
) -> Option<Address> {
    let subject = "deployer key";
    let unlocked = match key {
        DeployerKey::Unresolved(reason) => {
            checks.push(Check::new(subject, "present", CheckStatus::Fail, reason));
            return None;
        }
        DeployerKey::Missing if network.dev_chain => {
            checks.push(Check::new(
                subject,
                "present",
                CheckStatus::Pass,
                "dev account 0 (a public test key; dev chains only)".to_owned(),
            ));
            return dev_chain.dev_account();
        }
        DeployerKey::Missing => {
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
        }
        DeployerKey::RawKey { unlocked } if !network.dev_chain => {
            checks.push(Check::new(
                subject,
                "encrypted",
                CheckStatus::Fail,
                "a raw private key (--private-key or TAONADO_PRIVATE_KEY) on a live network; import it into an encrypted keystore (`cast wallet import`) and pass --account".to_owned(),
            ));
            unlocked
        }
        DeployerKey::RawKey { unlocked } => {
            checks.push(Check::new(
                subject,
                "encrypted",
                CheckStatus::Pass,
                "raw private key (acceptable on a dev chain)".to_owned(),
            ));
            unlocked
        }
        DeployerKey::Keystore { path, unlocked } => {
            let detail = path.as_ref().map_or_else(String::new, |p| {
                format!("encrypted keystore {}", p.display())
            });
            checks.push(Check::new(subject, "encrypted", CheckStatus::Pass, detail));
            if let Some(path) = path {
                checks.push(keystore_permissions(&path));
            }
            unlocked
        }
    };
    match unlocked {
        Ok(address) => Some(address),
        Err(reason) => {
            checks.push(Check::new(subject, "unlocks", CheckStatus::Fail, reason));
            None
        }
    }
}

/// The node's side of the check.
struct ChainFacts<'a> {
    provider: &'a DynProvider,
    network: &'a NetworkConfig,
    max_wei: u128,
}

impl ChainFacts<'_> {
    async fn checks(
        &self,
        deployer: Option<Address>,
        verifying_key: Option<VerifyingKeyFile>,
        dev_chain: &mut impl DevChain,
        checks: &mut Vec<Check>,
    ) -> Result<()> {
        let (gas_check, gas_price) = gas_price_check(self.provider, self.max_wei).await?;
        checks.push(gas_check);
        let kind = plan::node_kind(self.provider).await;
        let policy = plan::family_policy(self.network, kind);
        checks.push(verifier_family_check(self.provider, policy, self.network.chain_id).await?);

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
        let gas = match dry_run_gas(dev_chain, self.network.chain_id, key).await {
            Ok(gas) => gas,
            Err(e) => {
                checks.push(Check::new(
                    "deployer",
                    "funded",
                    CheckStatus::Fail,
                    format!("cannot estimate the deployment's gas on the embedded dev chain: {e}"),
                ));
                return Ok(());
            }
        };
        let funding = plan::default_validator_funding(self.network);
        checks.push(funding_check(self.provider, deployer, gas, gas_price, funding).await?);
        Ok(())
    }
}

/// `--max-gas-price` in wei; `None` unless a non-negative finite number.
pub fn gwei_to_wei(gwei: f64) -> Option<u128> {
    if !gwei.is_finite() || gwei < 0.0 {
        return None;
    }
    // Gas prices are far below 2^53 gwei, where f64 stays exact to the wei we need.
    Some((gwei * 1e9).round() as u128)
}

/// A keystore readable by others is a key shared with them.
pub fn keystore_permissions(path: &Path) -> Check {
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

/// The gas of a full deployment, measured by deploying it on a fresh dev chain with the
/// network's chain id (a dry run: own WTAO included, so an upper bound where WTAO exists).
async fn dry_run_gas(
    dev_chain: &mut impl DevChain,
    chain_id: u64,
    key: VerifyingKeyFile,
) -> std::result::Result<u64, String> {
    use tracing::instrument::WithSubscriber;
    tracing::info!("estimating the deployment's gas with a dry run on an embedded dev chain");
    // The dry run's own "deployed ..." logs would read like a real deployment: keep them quiet.
    async {
        let result = match dev_chain.start(chain_id).await {
            Ok(node) => dry_run(&node, chain_id, key).await,
            Err(e) => Err(e),
        };
        // Also after a failed start: whatever was started is stopped.
        dev_chain.stop().await;
        result
    }
    .with_subscriber(tracing::subscriber::NoSubscriber::default())
    .await
}

async fn dry_run(
    node: &DevChainNode,
    chain_id: u64,
    key: VerifyingKeyFile,
) -> std::result::Result<u64, String> {
    let mut local = taonado_config::Config::builtin()
        .network("local")
        .map_err(|e| error_chain(&e))?;
    local.chain_id = chain_id;
    let dir = std::env::temp_dir().join(format!("taonado-dry-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let settings = ProtocolSettings {
        deposit_goal: U256::from(1000u64) * taonado_types::WEI_PER_TAO,
        set_weights_bounty: U256::ZERO,
        set_weights_interval: 113,
        validator_funding: Some(U256::ZERO),
    };
    let mut plan = plan::build_plan(
        &local,
        NodeKind::Other,
        &settings,
        key,
        dir.join("dry-run.json"),
    )
    .map_err(|e| error_chain(&e))?;
    plan.verifier_family = FamilyPolicy::Detect;
    plan.insecure_key = InsecureKeyPolicy::Allow;
    let record = super::deploy(&node.provider, node.deployer, &plan, &super::NoProgress).await;
    let _ = std::fs::remove_dir_all(&dir);
    let record = record.map_err(|e| error_chain(&e))?;
    let mut gas = recorded_gas(&record);
    for tx in record.wiring.values() {
        let receipt = node
            .provider
            .get_transaction_receipt(*tx)
            .await
            .map_err(|e| format!("reading a dry-run receipt: {e}"))?;
        gas += receipt.map_or(0, |r| r.gas_used);
    }
    Ok(gas)
}

/// An error and its sources on one line, `outer: inner: ...`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifying_key::UNKNOWN_SETUP;

    /// The committed local development key, optionally with its `taonado` object rewritten.
    fn local_key(provenance: Option<serde_json::Value>) -> VerifyingKeyFile {
        key_file(false, provenance)
    }

    /// A key that is not the local one: the local key with `alpha` moved to the generator.
    fn other_key(provenance: serde_json::Value) -> VerifyingKeyFile {
        key_file(true, Some(provenance))
    }

    fn key_file(move_alpha: bool, provenance: Option<serde_json::Value>) -> VerifyingKeyFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/local/withdraw.vk.json");
        let text = std::fs::read_to_string(&path).expect("the committed local key");
        let mut json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        if let Some(provenance) = provenance {
            json["taonado"] = provenance;
        }
        if move_alpha {
            json["vk_alpha_1"] = serde_json::json!(["1", "2", "1"]);
        }
        VerifyingKeyFile::parse(&json.to_string()).expect("a valid key")
    }

    fn refused_on_testnet(key: &VerifyingKeyFile) -> Option<String> {
        check_key_policy(InsecureKeyPolicy::Refuse, key, "testnet")
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn insecure_keys_are_refused_on_live_networks_only() {
        let local = local_key(None);
        assert!(check_key_policy(InsecureKeyPolicy::Allow, &local, "local").is_ok());
        let err = refused_on_testnet(&local).unwrap_or_default();
        assert!(
            err.contains("testnet")
                && err.contains("local development key")
                && err.contains("--allow-insecure-dev-key"),
            "{err}"
        );
        assert!(check_key_policy(InsecureKeyPolicy::AllowOnLiveNetwork, &local, "testnet").is_ok());
        assert_eq!(verifying_key_check(&local, true).status, CheckStatus::Fail);
        assert_eq!(verifying_key_check(&local, false).status, CheckStatus::Pass);
    }

    #[test]
    fn the_key_is_judged_by_its_points_and_provenance_not_its_label_alone() {
        // The local key relabelled as a ceremony key with a real-looking phase 1.
        let relabelled = local_key(Some(
            serde_json::json!({"setup": "ceremony:taonado", "phase1": "ppot-0080"}),
        ));
        assert!(
            refused_on_testnet(&relabelled).is_some_and(|e| e.contains("local development key"))
        );
        // A key from elsewhere: unlabelled, a ceremony on a local phase 1, a ceremony that
        // does not name its phase 1, and finally one with nothing against it.
        let unlabelled = VerifyingKeyFile::generator_placeholder(UNKNOWN_SETUP);
        assert!(
            refused_on_testnet(&unlabelled)
                .is_some_and(|e| e.contains("not a multi-party ceremony"))
        );
        let unnamed = other_key(serde_json::json!({"setup": "ceremony:taonado"}));
        assert!(refused_on_testnet(&unnamed).is_some_and(|e| e.contains("phase 1")));
        let local_phase1 =
            other_key(serde_json::json!({"setup": "ceremony:taonado", "phase1": "local-insecure"}));
        assert!(refused_on_testnet(&local_phase1).is_some_and(|e| e.contains("local-insecure")));
        let unrecognised =
            other_key(serde_json::json!({"setup": "ceremony:taonado", "phase1": "ppot-0080"}));
        assert!(refused_on_testnet(&unrecognised).is_some_and(|e| e.contains("ppot-0080")));
        let ceremony = other_key(
            serde_json::json!({"setup": "ceremony:taonado", "phase1": "hermez-ppot-final-15"}),
        );
        assert_eq!(refused_on_testnet(&ceremony), None);
        assert_eq!(
            verifying_key_check(&ceremony, true).status,
            CheckStatus::Pass
        );
        // Tornado Cash's ceremony key (1,114 contributors) is a trusted setup.
        let tornado = VerifyingKeyFile::tornado();
        assert_eq!(refused_on_testnet(&tornado), None);
        let check = verifying_key_check(&tornado, true);
        assert_eq!(check.status, CheckStatus::Pass);
        assert_eq!(check.detail, "tornado-ceremony");
    }

    #[test]
    fn funds_cover_gas_with_a_margin() {
        let need = required_funds(1_000_000, 10_000_000_000, U256::from(7u8));
        assert_eq!(need, U256::from(12_000_000_000_000_000u64 + 7));
        assert_eq!(format_gwei(20_000_000_000), "20");
        assert_eq!(format_gwei(1_500_000_000), "1.5");
    }

    #[test]
    fn committed_artifacts_of_this_checkout_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let checks = committed_artifact_checks(
            &root.join("crates/taonado-contracts/artifacts"),
            &root.join("contracts"),
        )
        .unwrap();
        assert_eq!(checks.len(), 3);
        assert!(
            checks.iter().all(|c| c.status == CheckStatus::Pass),
            "{checks:?}"
        );

        let dir = tempfile::tempdir().unwrap();
        let checks = committed_artifact_checks(dir.path(), dir.path()).unwrap();
        assert_eq!(checks[0].status, CheckStatus::Skip);
    }

    #[test]
    fn a_tampered_artifact_copy_fails_both_artifact_checks() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let src = root.join("crates/taonado-contracts/artifacts");
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            // Our artifacts only: `safe/` holds Safe's, which build.mjs pins separately.
            if entry.path().is_file() {
                std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
            }
        }
        let wtao = dir.path().join("WTAO.json");
        let text = std::fs::read_to_string(&wtao).unwrap();
        std::fs::write(&wtao, text.replace("\"WTAO\"", "\"WTAO\" ")).unwrap();
        let checks = committed_artifact_checks(dir.path(), &root.join("contracts")).unwrap();
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert!(
            checks[0].detail.contains("WTAO.json not as listed"),
            "{:?}",
            checks[0]
        );
        assert_eq!(checks[1].status, CheckStatus::Fail);
    }
}
