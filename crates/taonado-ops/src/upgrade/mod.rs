//! `taonado upgrade`: the EvmValidator's UUPS upgrade, checked before anything is sent.
//!
//! - [`dry_run`] identifies the artifact of the implementation the proxy runs now (by code),
//!   checks the target's storage layout against it ([`taonado_contracts::storage_layout`]), and
//!   works out the exact `upgradeToAndCall` calldata and who must send it. Nothing is sent.
//! - [`execute`] refuses unless every dry-run check passes and the signer is the owner, writes a
//!   [`StateSnapshot`] of every state variable and the balance, deploys the implementation
//!   (resumable through the deployment record) and sends the upgrade.
//! - [`verify`] checks the implementation slot and that every variable of the old layout and the
//!   balance are what the snapshot (or the state at a block before the upgrade) says.

use std::path::{Path, PathBuf};

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};
use taonado_contracts::bindings::EvmValidator;
use taonado_contracts::storage_layout::{self, Layout, LayoutReport};
use taonado_contracts::{CodeMatch, Contract};

use crate::error::{OpsError, Result};
use crate::tx;
use taonado_deployment::{ContractRecord, DeploymentRecord, unix_now};

pub use crate::error::upgrade::UpgradeError;

pub use crate::deploy::verify::IMPLEMENTATION_SLOT;

/// The EvmValidator implementations the tooling knows (and so can identify on chain).
pub const KNOWN_IMPLEMENTATIONS: &[Contract] = &[Contract::EvmValidator, Contract::EvmValidatorV2];

/// The record entry of an implementation deployed by an upgrade, e.g. `EvmValidatorV2Implementation`.
pub fn implementation_record_name(target: Contract) -> String {
    format!("{}Implementation", target.name())
}

/// What the upgrade is: which proxy, to which artifact.
#[derive(Clone, Debug)]
pub struct UpgradePlan {
    pub proxy: Address,
    pub target: Contract,
    /// Who will deploy the implementation and send the upgrade (predicts the address);
    /// `None`: the proxy's owner.
    pub sender: Option<Address>,
}

/// One dry-run check.
#[derive(Clone, Debug, Serialize)]
pub struct UpgradeCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The layout verdict, as printed.
#[derive(Clone, Debug, Serialize)]
pub struct LayoutSummary {
    pub compatible: bool,
    /// One line per incompatible variable.
    pub problems: Vec<String>,
    pub appended: Vec<String>,
    pub new_namespaces: Vec<String>,
}

impl From<&LayoutReport> for LayoutSummary {
    fn from(r: &LayoutReport) -> Self {
        Self {
            compatible: r.is_compatible(),
            problems: r.problems.iter().map(ToString::to_string).collect(),
            appended: r.appended.clone(),
            new_namespaces: r.new_namespaces.clone(),
        }
    }
}

/// Everything known before an upgrade; nothing was sent.
#[derive(Clone, Debug, Serialize)]
pub struct DryRunReport {
    pub chain_id: u64,
    pub block: u64,
    pub proxy: Address,
    pub current_implementation: Address,
    /// The artifact whose code the current implementation has.
    pub current_artifact: Option<String>,
    pub target_artifact: String,
    /// keccak256 of the target's runtime code (what the chain will hold at the new address).
    pub runtime_code_hash: B256,
    /// keccak256 of the creation code that will be sent.
    pub creation_code_hash: B256,
    pub layout: LayoutSummary,
    pub owner: Address,
    /// The owner is a contract (a multisig): the upgrade must be proposed to it.
    pub owner_is_contract: bool,
    /// Who deploys the implementation, at which nonce, and the address that gives.
    pub deployer: Address,
    pub deployer_nonce: u64,
    pub predicted_implementation: Address,
    /// The calldata the owner sends to the proxy: `upgradeToAndCall(predicted, "")`.
    pub upgrade_calldata: Bytes,
    /// Already running the target: nothing to upgrade.
    pub already_current: bool,
    pub checks: Vec<UpgradeCheck>,
}

impl DryRunReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn failing(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        lines.extend(self.layout.problems.iter().cloned());
        lines
    }
}

/// The artifact whose runtime code `code` is, among `known`.
pub fn identify(code: &[u8], known: &[Contract]) -> Option<Contract> {
    known
        .iter()
        .copied()
        .find(|c| !matches!(c.artifact().compare_code(code), CodeMatch::Mismatch))
}

/// The implementation address in a proxy's ERC-1967 slot, at `block`.
pub async fn implementation_at(
    provider: &DynProvider,
    proxy: Address,
    block: BlockId,
) -> Result<Address> {
    let word = provider
        .get_storage_at(proxy, IMPLEMENTATION_SLOT.into())
        .block_id(block)
        .await
        .map_err(OpsError::rpc(format!(
            "reading the implementation slot of {proxy}"
        )))?;
    Ok(Address::from_word(B256::from(word)))
}

async fn code_at(provider: &DynProvider, address: Address, block: BlockId) -> Result<Bytes> {
    provider
        .get_code_at(address)
        .block_id(block)
        .await
        .map_err(OpsError::rpc(format!("reading the code at {address}")))
}

/// The artifact the proxy runs at `block`, identified by code.
pub async fn current_artifact(
    provider: &DynProvider,
    proxy: Address,
    block: BlockId,
) -> Result<(Address, Contract)> {
    let implementation = implementation_at(provider, proxy, block).await?;
    if implementation == Address::ZERO {
        return Err(UpgradeError::NotAProxy { proxy }.into());
    }
    let code = code_at(provider, implementation, block).await?;
    let artifact = identify(&code, KNOWN_IMPLEMENTATIONS).ok_or_else(|| {
        UpgradeError::UnknownImplementation {
            proxy,
            implementation,
            known: KNOWN_IMPLEMENTATIONS
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", "),
        }
    })?;
    Ok((implementation, artifact))
}

/// Checks an upgrade and prepares its calldata without sending anything.
pub async fn dry_run(provider: &DynProvider, plan: &UpgradePlan) -> Result<DryRunReport> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(OpsError::rpc("reading the chain id"))?;
    let block = provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))?;
    // Latest rather than `block`: dev chains keep no historical state, and nothing here needs
    // more consistency than one block of reads gives.
    let at = BlockId::latest();
    let (current_implementation, current) = current_artifact(provider, plan.proxy, at).await?;
    let target = plan.target.artifact();
    let mut checks = Vec::new();

    let uups = target.selector("upgradeToAndCall(address,bytes)").is_some()
        && target.selector("proxiableUUID()").is_some();
    checks.push(UpgradeCheck {
        name: "target is UUPS".into(),
        ok: uups,
        detail: if uups {
            format!("{} has upgradeToAndCall and proxiableUUID", target.name())
        } else {
            UpgradeError::NotUups {
                artifact: target.name().into(),
            }
            .to_string()
        },
    });

    let layout = storage_layout::check(&Layout::of(current.artifact()), &Layout::of(target));
    checks.push(UpgradeCheck {
        name: "storage layout".into(),
        ok: layout.is_compatible(),
        detail: if layout.is_compatible() {
            format!(
                "{} -> {}: compatible, appended [{}]",
                current.name(),
                target.name(),
                layout.appended.join(", ")
            )
        } else {
            format!(
                "{} -> {}: {} incompatible variable(s)",
                current.name(),
                target.name(),
                layout.problems.len()
            )
        },
    });

    let owner = EvmValidator::new(plan.proxy, provider)
        .owner()
        .block(at)
        .call()
        .await
        .map_err(OpsError::contract("reading EvmValidator.owner"))?;
    let owner_code = code_at(provider, owner, at).await?;
    let deployer = plan.sender.unwrap_or(owner);
    let deployer_nonce = provider
        .get_transaction_count(deployer)
        .block_id(at)
        .await
        .map_err(OpsError::rpc("reading the deployer nonce"))?;
    let predicted_implementation = deployer.create(deployer_nonce);
    let upgrade_calldata: Bytes = EvmValidator::upgradeToAndCallCall {
        newImplementation: predicted_implementation,
        data: Bytes::new(),
    }
    .abi_encode()
    .into();
    let already_current = current == plan.target;

    Ok(DryRunReport {
        chain_id,
        block,
        proxy: plan.proxy,
        current_implementation,
        current_artifact: Some(current.name().to_owned()),
        target_artifact: target.name().to_owned(),
        runtime_code_hash: keccak256(&target.deployed_bytecode),
        creation_code_hash: keccak256(&target.bytecode),
        layout: LayoutSummary::from(&layout),
        owner,
        owner_is_contract: !owner_code.is_empty(),
        deployer,
        deployer_nonce,
        predicted_implementation,
        upgrade_calldata,
        already_current,
        checks,
    })
}

/// One storage word of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotWord {
    /// The variable (or `namespace.member`) the word belongs to.
    pub variable: String,
    pub slot: B256,
    pub value: B256,
}

/// The proxy's state before an upgrade: every word of every state variable, and the balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    pub chain_id: u64,
    pub block: u64,
    pub proxy: Address,
    pub implementation: Address,
    pub artifact: String,
    pub balance: U256,
    pub words: Vec<SnapshotWord>,
    /// The same words and the balance read at the upgrade's block, written by [`execute`]
    /// once the upgrade is mined: what the upgrade kept, whatever ordinary operation
    /// (setWeights, owner setters, bounty payments) changes later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_upgrade: Option<PostUpgradeState>,
}

/// The proxy's state at the block of its upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostUpgradeState {
    pub block: u64,
    pub balance: U256,
    pub words: Vec<SnapshotWord>,
}

/// The values of `words`' slots and the balance of `proxy` at `block`.
async fn state_at(
    provider: &DynProvider,
    proxy: Address,
    words: &[SnapshotWord],
    block: u64,
) -> Result<PostUpgradeState> {
    let at = BlockId::number(block);
    let mut read = Vec::with_capacity(words.len());
    for word in words {
        let value = provider
            .get_storage_at(proxy, word.slot.into())
            .block_id(at)
            .await
            .map_err(OpsError::rpc(format!(
                "reading {} of {proxy}",
                word.variable
            )))?;
        read.push(SnapshotWord {
            variable: word.variable.clone(),
            slot: word.slot,
            value: B256::from(value),
        });
    }
    let balance = provider
        .get_balance(proxy)
        .block_id(at)
        .await
        .map_err(OpsError::rpc(format!("reading the balance of {proxy}")))?;
    Ok(PostUpgradeState {
        block,
        balance,
        words: read,
    })
}

impl StateSnapshot {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(OpsError::io("read", path))?;
        serde_json::from_str(&text).map_err(|source| {
            UpgradeError::SnapshotFormat {
                path: path.to_path_buf(),
                source,
            }
            .into()
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(|source| {
            OpsError::from(UpgradeError::SnapshotFormat {
                path: path.to_path_buf(),
                source,
            })
        })?;
        json.push(b'\n');
        Ok(taonado_deployment::fs::write_atomic(path, &json)?)
    }
}

/// The slots a layout's values occupy: every slot of in-place variables (mappings and dynamic
/// arrays keep only their length or nothing at their own slot, which is read too), and each
/// namespace's words, one per member (over-approximated: packed members share one word).
pub fn layout_slots(layout: &Layout) -> Vec<(String, B256)> {
    let mut slots = Vec::new();
    for v in &layout.variables {
        let count = if v.ty.encoding == "inplace" {
            v.ty.slots().saturating_to::<u64>()
        } else {
            1
        };
        for i in 0..count {
            let label = if count > 1 {
                format!("{}[{i}]", v.label)
            } else {
                v.label.clone()
            };
            slots.push((label, B256::from(v.slot + U256::from(i))));
        }
    }
    for n in &layout.namespaces {
        let base = U256::from_be_bytes(n.slot.0);
        for (i, (member, _)) in n.members.iter().enumerate() {
            slots.push((
                format!("{}.{member}", n.contract),
                B256::from(base + U256::from(i)),
            ));
        }
    }
    slots
}

/// Reads every word of the proxy's state at `block` (`None`: the latest), in the layout of the
/// artifact it runs then. A past block needs a node that keeps historical state.
pub async fn snapshot(
    provider: &DynProvider,
    proxy: Address,
    block: Option<u64>,
) -> Result<StateSnapshot> {
    let (at, block) = match block {
        Some(n) => (BlockId::number(n), n),
        None => (
            BlockId::latest(),
            provider
                .get_block_number()
                .await
                .map_err(OpsError::rpc("reading the block number"))?,
        ),
    };
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(OpsError::rpc("reading the chain id"))?;
    let (implementation, artifact) = current_artifact(provider, proxy, at).await?;
    let mut words = Vec::new();
    for (variable, slot) in layout_slots(&Layout::of(artifact.artifact())) {
        let value = provider
            .get_storage_at(proxy, slot.into())
            .block_id(at)
            .await
            .map_err(OpsError::rpc(format!("reading {variable} of {proxy}")))?;
        words.push(SnapshotWord {
            variable,
            slot,
            value: B256::from(value),
        });
    }
    let balance = provider
        .get_balance(proxy)
        .block_id(at)
        .await
        .map_err(OpsError::rpc(format!("reading the balance of {proxy}")))?;
    Ok(StateSnapshot {
        chain_id,
        block,
        proxy,
        implementation,
        artifact: artifact.name().to_owned(),
        balance,
        words,
        after_upgrade: None,
    })
}

/// What [`execute`] did.
#[derive(Clone, Debug, Serialize)]
pub struct ExecuteReport {
    pub dry_run: DryRunReport,
    pub snapshot_path: PathBuf,
    pub implementation: Address,
    /// `None` when the implementation was already deployed (resumed run).
    pub deploy_tx: Option<B256>,
    /// `None` when the proxy already ran the target.
    pub upgrade_tx: Option<B256>,
    pub record_path: PathBuf,
}

/// Where [`execute`] keeps its state.
#[derive(Clone, Debug)]
pub struct ExecutePaths {
    pub record: PathBuf,
    pub snapshot: PathBuf,
}

/// The dry run with `deployer` deploying the implementation; refuses failed checks and a
/// proxy whose owner is not `owner` (who sends, or whose Safe makes, `upgradeToAndCall`).
async fn checked_dry_run(
    provider: &DynProvider,
    plan: &UpgradePlan,
    deployer: Address,
    owner: Address,
) -> Result<(UpgradePlan, DryRunReport)> {
    let plan = UpgradePlan {
        sender: Some(deployer),
        ..plan.clone()
    };
    let dry = dry_run(provider, &plan).await?;
    if !dry.ok() {
        return Err(UpgradeError::ChecksFailed {
            problems: dry.failing(),
        }
        .into());
    }
    if owner != dry.owner {
        return Err(UpgradeError::NotOwner {
            owner: dry.owner,
            signer: owner,
        }
        .into());
    }
    Ok((plan, dry))
}

/// Deploys the implementation and upgrades the proxy, as `signer` (who must be the owner).
pub async fn execute(
    provider: &DynProvider,
    signer: Address,
    plan: &UpgradePlan,
    paths: &ExecutePaths,
) -> Result<ExecuteReport> {
    let (plan, dry) = checked_dry_run(provider, plan, signer, signer).await?;
    let mut record = DeploymentRecord::load(&paths.record)?;
    if dry.already_current {
        return Ok(ExecuteReport {
            implementation: dry.current_implementation,
            snapshot_path: paths.snapshot.clone(),
            record_path: paths.record.clone(),
            dry_run: dry,
            deploy_tx: None,
            upgrade_tx: None,
        });
    }
    // The snapshot is of the last block before anything is sent.
    let mut before = snapshot(provider, plan.proxy, None).await?;
    before.save(&paths.snapshot)?;

    let (implementation, deploy_tx) =
        deploy_implementation(provider, signer, plan.target, &mut record, &paths.record).await?;

    let call = EvmValidator::upgradeToAndCallCall {
        newImplementation: implementation,
        data: Bytes::new(),
    };
    let tx = TransactionRequest::default()
        .from(signer)
        .to(plan.proxy)
        .with_input(call.abi_encode());
    let pending = tx::send(provider, tx, "sending upgradeToAndCall").await?;
    let upgrade_tx = *pending.tx_hash();
    let receipt = tx::confirm(pending, "EvmValidator.upgradeToAndCall").await?;
    // What the upgrade kept is read at its own block, so `verify` can tell it from what
    // ordinary operation changes afterwards.
    let upgrade_block = match receipt.block_number {
        Some(block) => block,
        None => provider
            .get_block_number()
            .await
            .map_err(OpsError::rpc("reading the block number"))?,
    };
    before.after_upgrade =
        Some(state_at(provider, plan.proxy, &before.words, upgrade_block).await?);
    before.save(&paths.snapshot)?;
    if let Some(r) = record.as_mut() {
        r.wiring
            .insert("EvmValidator.upgradeToAndCall".into(), upgrade_tx);
        r.touch();
        r.save(&paths.record)?;
    }
    tracing::info!(%implementation, tx = %upgrade_tx, "upgraded the EvmValidator");
    Ok(ExecuteReport {
        dry_run: dry,
        snapshot_path: paths.snapshot.clone(),
        implementation,
        deploy_tx,
        upgrade_tx: Some(upgrade_tx),
        record_path: paths.record.clone(),
    })
}

/// The target's implementation: the recorded one when its code is the artifact's, else a
/// fresh deployment by `signer`, recorded. Returns it and the deployment's hash when sent.
async fn deploy_implementation(
    provider: &DynProvider,
    signer: Address,
    target_contract: Contract,
    record: &mut Option<DeploymentRecord>,
    record_path: &Path,
) -> Result<(Address, Option<B256>)> {
    let name = implementation_record_name(target_contract);
    let target = target_contract.artifact();
    let recorded = record
        .as_ref()
        .and_then(|r| r.contracts.get(&name))
        .map(|c| c.address);
    let reusable = match recorded {
        Some(address) => {
            let code = code_at(provider, address, BlockId::latest()).await?;
            (!matches!(target.compare_code(&code), CodeMatch::Mismatch)).then_some(address)
        }
        None => None,
    };
    let deployed = match reusable {
        Some(address) => (address, None),
        None => {
            let tx = TransactionRequest::default()
                .from(signer)
                .with_deploy_code(target.bytecode.clone());
            let sending = format!("sending the {} deployment", target.name());
            let pending = tx::send(provider, tx, &sending).await?;
            let tx_hash = *pending.tx_hash();
            let receipt = tx::confirm(pending, &format!("deploying {}", target.name())).await?;
            let created = receipt
                .contract_address
                .ok_or(OpsError::NoContractCreated {
                    step: name.clone(),
                    tx: tx_hash,
                })?;
            if let Some(r) = record.as_mut() {
                r.contracts.insert(
                    name.clone(),
                    ContractRecord {
                        address: created,
                        tx_hash: Some(tx_hash),
                        block: receipt.block_number,
                        gas_used: Some(receipt.gas_used),
                        artifact: target.name().to_owned(),
                        artifact_sha256: Some(target.sha256),
                        constructor_args: Bytes::new(),
                        deployed_at: unix_now(),
                    },
                );
                r.touch();
                r.save(record_path)?;
            }
            (created, Some(tx_hash))
        }
    };
    Ok(deployed)
}

/// What [`propose`] prepared: the checks, the implementation (deployed now if needed) and
/// the call the Safe must make.
#[derive(Clone, Debug, Serialize)]
pub struct ProposeReport {
    pub dry_run: DryRunReport,
    pub snapshot_path: PathBuf,
    pub implementation: Address,
    pub deploy_tx: Option<B256>,
    pub record_path: PathBuf,
}

/// `upgrade evm-validator --execute --via-multisig`: the checks of [`execute`] with the Safe
/// `safe` as the owner, the pre-upgrade snapshot, and the implementation deployed by
/// `signer` (anyone may deploy it); instead of sending `upgradeToAndCall` it returns that
/// call for a proposal. `None` as the call when the proxy already runs the target.
pub async fn propose(
    provider: &DynProvider,
    signer: Address,
    safe: Address,
    plan: &UpgradePlan,
    paths: &ExecutePaths,
) -> Result<(ProposeReport, Option<crate::multisig::ProposedCall>)> {
    let (plan, dry) = checked_dry_run(provider, plan, signer, safe).await?;
    if dry.already_current {
        return Ok((
            ProposeReport {
                implementation: dry.current_implementation,
                snapshot_path: paths.snapshot.clone(),
                record_path: paths.record.clone(),
                dry_run: dry,
                deploy_tx: None,
            },
            None,
        ));
    }
    let mut record = DeploymentRecord::load(&paths.record)?;
    snapshot(provider, plan.proxy, None)
        .await?
        .save(&paths.snapshot)?;
    let (implementation, deploy_tx) =
        deploy_implementation(provider, signer, plan.target, &mut record, &paths.record).await?;
    let call = crate::multisig::ProposedCall {
        to: plan.proxy,
        value: U256::ZERO,
        data: EvmValidator::upgradeToAndCallCall {
            newImplementation: implementation,
            data: Bytes::new(),
        }
        .abi_encode()
        .into(),
        operation: crate::multisig::Operation::Call,
        description: format!(
            "upgrade the EvmValidator proxy {} to {} at {implementation}",
            plan.proxy,
            plan.target.name()
        ),
        origin: "upgrade evm-validator --execute --via-multisig".to_owned(),
    };
    Ok((
        ProposeReport {
            dry_run: dry,
            snapshot_path: paths.snapshot.clone(),
            implementation,
            deploy_tx,
            record_path: paths.record.clone(),
        },
        Some(call),
    ))
}

/// The state before the upgrade that [`verify`] compares with.
#[derive(Clone, Debug)]
pub enum Baseline {
    /// A snapshot file written by [`execute`].
    Snapshot(StateSnapshot),
    /// The chain at this block (before the upgrade).
    Block(u64),
}

/// One verification line.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyCheck {
    pub name: String,
    pub ok: bool,
    pub expected: String,
    pub actual: String,
}

/// The verdict of [`verify`].
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub proxy: Address,
    pub block: u64,
    pub baseline_block: u64,
    /// The block whose state was compared with the baseline: the upgrade's (from the
    /// snapshot `execute` completed), else the latest.
    pub state_block: u64,
    /// What was compared with what, in words (printed with a failure).
    pub compared: String,
    pub checks: Vec<VerifyCheck>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn failing(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: expected {}, found {}", c.name, c.expected, c.actual))
            .collect()
    }
}

/// Checks a finished upgrade: the implementation slot holds `expected` (with the target's code),
/// it changed, and every word of the old layout and the balance are as in the baseline.
pub async fn verify(
    provider: &DynProvider,
    proxy: Address,
    expected: Address,
    target: Contract,
    baseline: Baseline,
) -> Result<VerifyReport> {
    let block = provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))?;
    let before = match baseline {
        Baseline::Snapshot(s) => s,
        Baseline::Block(n) => snapshot(provider, proxy, Some(n)).await?,
    };
    let at = BlockId::latest();
    let mut checks = Vec::new();
    let mut push = |name: String, ok: bool, expected: String, actual: String| {
        checks.push(VerifyCheck {
            name,
            ok,
            expected,
            actual,
        })
    };
    let implementation = implementation_at(provider, proxy, at).await?;
    push(
        "implementation slot".into(),
        implementation == expected,
        expected.to_string(),
        implementation.to_string(),
    );
    push(
        "implementation changed".into(),
        implementation != before.implementation,
        format!("not {} (before)", before.implementation),
        implementation.to_string(),
    );
    let code = code_at(provider, implementation, at).await?;
    let verdict = target.artifact().compare_code(&code);
    push(
        "implementation code".into(),
        !matches!(verdict, CodeMatch::Mismatch),
        target.name().to_owned(),
        format!("{verdict:?}"),
    );
    // The kept state: at the upgrade's block when `execute` recorded it there, else now.
    let (state, compared) = match before.after_upgrade.clone() {
        Some(after) => {
            let compared = format!(
                "state at the upgrade's block {} against block {} before it (the implementation now); later operation does not count",
                after.block, before.block
            );
            (after, compared)
        }
        None => {
            let after = state_at(provider, proxy, &before.words, block).await?;
            let compared = format!(
                "state now (block {block}) against block {} before the upgrade: what ordinary operation changed since the upgrade (setWeights, owner setters, bounty payments) shows as a difference; run it right after the upgrade, or use the snapshot `upgrade evm-validator --execute` writes",
                before.block
            );
            (after, compared)
        }
    };
    for (word, now) in before.words.iter().zip(&state.words) {
        push(
            format!("state {} (slot {})", word.variable, word.slot),
            now.value == word.value,
            word.value.to_string(),
            now.value.to_string(),
        );
    }
    push(
        "balance".into(),
        state.balance == before.balance,
        before.balance.to_string(),
        state.balance.to_string(),
    );
    Ok(VerifyReport {
        proxy,
        block,
        baseline_block: before.block,
        state_block: state.block,
        compared,
        checks,
    })
}

/// The proxy and the expected implementation from a deployment record.
pub fn from_record(record: &DeploymentRecord, target: Contract) -> Result<(Address, Address)> {
    let proxy = record.address(taonado_deployment::names::EVM_VALIDATOR)?;
    let name = implementation_record_name(target);
    let implementation = record
        .contracts
        .get(&name)
        .map(|c| c.address)
        .ok_or(UpgradeError::NoExpectedImplementation { name })?;
    Ok((proxy, implementation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implementation_slot_is_the_eip1967_one() {
        let slot = U256::from_be_bytes(keccak256("eip1967.proxy.implementation").0) - U256::from(1);
        assert_eq!(B256::from(slot), IMPLEMENTATION_SLOT);
    }

    #[test]
    fn code_identifies_the_implementation_artifact() {
        for &c in KNOWN_IMPLEMENTATIONS {
            assert_eq!(
                identify(&c.artifact().deployed_bytecode, KNOWN_IMPLEMENTATIONS),
                Some(c)
            );
        }
        let other = &Contract::WTAO.artifact().deployed_bytecode;
        assert_eq!(identify(other, KNOWN_IMPLEMENTATIONS), None);
    }

    #[test]
    fn snapshot_slots_cover_v1_variables_and_namespaces() {
        let slots = layout_slots(&Layout::of(Contract::EvmValidator.artifact()));
        let names: Vec<&str> = slots.iter().map(|(n, _)| n.as_str()).collect();
        // Packed variables share a word; each is listed so a change names the variable.
        assert_eq!(
            names,
            [
                "weights",
                "metagraph",
                "metagraph_boost_value",
                "setWeightsBounty",
                "netuid",
                "versionKey",
                "lastSetWeightsBlock",
                "setWeightsBlockInterval",
                "refundOverhead",
                "Initializable._initialized",
                "Initializable._initializing",
                "OwnableUpgradeable._owner",
            ]
        );
        assert_eq!(
            slots[1].1, slots[2].1,
            "metagraph and the boost share slot 1"
        );
    }

    #[test]
    fn snapshots_round_trip_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        let snap = StateSnapshot {
            chain_id: 42,
            block: 7,
            proxy: Address::repeat_byte(1),
            implementation: Address::repeat_byte(2),
            artifact: "EvmValidator".into(),
            balance: U256::from(5),
            words: vec![SnapshotWord {
                variable: "weights".into(),
                slot: B256::ZERO,
                value: B256::repeat_byte(3),
            }],
            after_upgrade: None,
        };
        snap.save(&path).unwrap();
        assert_eq!(StateSnapshot::load(&path).unwrap(), snap);
    }
}

/// How the rehearsal set weights after the upgrade.
#[derive(Clone, Debug, Serialize)]
pub struct RehearsedWeights {
    /// `setWeights` (the public path, after mining past the interval) or `operatorSetWeights`
    /// (when the interval is out of a fork's reach: its block numbers restart at 0).
    pub call: String,
    pub tx: B256,
    pub blocks_mined: u64,
}

/// What [`rehearse`] did on the fork.
#[derive(Clone, Debug, Serialize)]
pub struct RehearsalReport {
    pub dry_run: DryRunReport,
    pub implementation: Address,
    pub upgrade_tx: B256,
    pub verify: VerifyReport,
    pub post_checks: Vec<UpgradeCheck>,
    pub weights: Option<RehearsedWeights>,
}

impl RehearsalReport {
    pub fn ok(&self) -> bool {
        self.dry_run.ok()
            && self.verify.ok()
            && self.post_checks.iter().all(|c| c.ok)
            && self.weights.is_some()
    }

    pub fn failing(&self) -> Vec<String> {
        let mut out = self.dry_run.failing();
        out.extend(self.verify.failing());
        out.extend(
            self.post_checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.name, c.detail)),
        );
        if self.weights.is_none() {
            out.push("no weights were set after the upgrade".into());
        }
        out
    }
}

/// The most blocks a rehearsal mines to let the public `setWeights` interval pass.
const REHEARSAL_MAX_MINED: u64 = 2_000;

async fn send_as(
    provider: &DynProvider,
    from: Address,
    tx: TransactionRequest,
    action: &str,
) -> Result<alloy::rpc::types::TransactionReceipt> {
    let pending = tx::send(
        provider,
        tx.from(from),
        &format!("sending {action} on the fork"),
    )
    .await?;
    tx::confirm(pending, action).await
}

/// Rehearses the upgrade on `fork`, a taonado devnet forked from the target chain: the owner
/// is impersonated (`anvil_impersonateAccount`), the implementation deployed and the proxy
/// upgraded, then everything [`verify`] checks, the post-upgrade getters, and a weight setting
/// through the upgraded proxy. The target chain itself only serves reads to the fork.
pub async fn rehearse(fork: &DynProvider, plan: &UpgradePlan) -> Result<RehearsalReport> {
    use crate::subnet::dev_rpc;
    use serde_json::json;

    let dry = dry_run(fork, plan).await?;
    if !dry.ok() {
        return Err(UpgradeError::ChecksFailed {
            problems: dry.failing(),
        }
        .into());
    }
    let owner = dry.owner;
    let before = snapshot(fork, plan.proxy, None).await?;
    dev_rpc(fork, "anvil_impersonateAccount", json!([owner])).await?;
    // Gas money for the owner on the fork only.
    let funds = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18u64));
    let balance = fork
        .get_balance(owner)
        .await
        .map_err(OpsError::rpc("reading the owner's balance on the fork"))?;
    if balance < funds {
        dev_rpc(fork, "anvil_setBalance", json!([owner, funds])).await?;
    }

    let target = plan.target.artifact();
    let deploy = TransactionRequest::default().with_deploy_code(target.bytecode.clone());
    let receipt = send_as(fork, owner, deploy, &format!("deploying {}", target.name())).await?;
    let implementation = receipt
        .contract_address
        .ok_or(OpsError::NoContractCreated {
            step: target.name().to_owned(),
            tx: receipt.transaction_hash,
        })?;
    let call = EvmValidator::upgradeToAndCallCall {
        newImplementation: implementation,
        data: Bytes::new(),
    };
    let upgrade = TransactionRequest::default()
        .to(plan.proxy)
        .with_input(call.abi_encode());
    let receipt = send_as(fork, owner, upgrade, "EvmValidator.upgradeToAndCall").await?;
    let upgrade_tx = receipt.transaction_hash;

    let verify_report = verify(
        fork,
        plan.proxy,
        implementation,
        plan.target,
        Baseline::Snapshot(before),
    )
    .await?;

    let proxy = EvmValidator::new(plan.proxy, fork);
    let mut post_checks = Vec::new();
    let now_owner = proxy
        .owner()
        .call()
        .await
        .map_err(OpsError::contract("reading EvmValidator.owner"))?;
    post_checks.push(UpgradeCheck {
        name: "owner kept".into(),
        ok: now_owner == owner,
        detail: now_owner.to_string(),
    });
    if plan.target == Contract::EvmValidatorV2 {
        let version = taonado_contracts::bindings::EvmValidatorV2::new(plan.proxy, fork)
            .version()
            .call()
            .await
            .map_err(OpsError::contract("reading EvmValidatorV2.version"))?;
        post_checks.push(UpgradeCheck {
            name: "version()".into(),
            ok: version == U256::from(2),
            detail: version.to_string(),
        });
    }

    // The emulated subtensor of the fork knows nothing of the remote's neurons: register the
    // proxy's mirror as a validator there first.
    let netuid = proxy
        .netuid()
        .call()
        .await
        .map_err(OpsError::contract("reading EvmValidator.netuid"))?;
    crate::subnet::wire_devnet_validator(fork, netuid, plan.proxy, owner).await?;
    let last: U256 = proxy
        .lastSetWeightsBlock()
        .call()
        .await
        .map_err(OpsError::contract(
            "reading EvmValidator.lastSetWeightsBlock",
        ))?;
    let interval = match plan.target {
        Contract::EvmValidatorV2 => {
            taonado_contracts::bindings::EvmValidatorV2::new(plan.proxy, fork)
                .effectiveInterval()
                .call()
                .await
                .map_err(OpsError::contract(
                    "reading EvmValidatorV2.effectiveInterval",
                ))?
        }
        _ => proxy
            .setWeightsBlockInterval()
            .call()
            .await
            .map_err(OpsError::contract(
                "reading EvmValidator.setWeightsBlockInterval",
            ))?,
    };
    let block = fork
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the fork's block number"))?;
    // Gas estimation runs against the latest block, so that one must already be past the interval.
    let allowed_at = last.saturating_add(interval);
    let needed = allowed_at.saturating_sub(U256::from(block));
    let weights = if needed <= U256::from(REHEARSAL_MAX_MINED) {
        let blocks = needed.to::<u64>();
        if blocks > 0 {
            crate::subnet::mine(fork, blocks).await?;
        }
        let call = EvmValidator::setWeightsCall { hotkey: B256::ZERO };
        let tx = TransactionRequest::default()
            .to(plan.proxy)
            .with_input(call.abi_encode());
        let receipt = send_as(fork, owner, tx, "EvmValidator.setWeights").await?;
        RehearsedWeights {
            call: "setWeights".into(),
            tx: receipt.transaction_hash,
            blocks_mined: blocks,
        }
    } else {
        let call = EvmValidator::operatorSetWeightsCall {};
        let tx = TransactionRequest::default()
            .to(plan.proxy)
            .with_input(call.abi_encode());
        let receipt = send_as(fork, owner, tx, "EvmValidator.operatorSetWeights").await?;
        RehearsedWeights {
            call: "operatorSetWeights".into(),
            tx: receipt.transaction_hash,
            blocks_mined: 0,
        }
    };
    Ok(RehearsalReport {
        dry_run: dry,
        implementation,
        upgrade_tx,
        verify: verify_report,
        post_checks,
        weights: Some(weights),
    })
}
