//! `keys rotate --role owner --to ADDR`: ownership of every owned contract moves from the
//! current owner key to `to`, then the old key's TAO is swept to it.
//!
//! Each step reads `owner()` first and again after: a contract already owned by `to` is
//! skipped, so a run killed between two steps resumes without sending a second transfer.
//! The rotation record (`rotations/<network>.json` in the data folder) is rewritten after
//! every step; it keeps each rotation's time, which is how old the owner key is.

use std::path::PathBuf;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use serde::{Deserialize, Serialize};
use taonado_contracts::bindings::EvmValidator;

/// What to rotate.
#[derive(Clone, Debug)]
pub struct RotationPlan {
    pub network: String,
    /// Name and address of each owned contract (the EvmValidator proxy, every Weights).
    pub owned: Vec<(String, Address)>,
    /// The current owner: the signer of `provider`.
    pub from: Address,
    pub to: Address,
    /// Send the old key's TAO, minus the transfer's gas, to `to` at the end.
    pub sweep: bool,
    /// Read and report, send nothing.
    pub dry_run: bool,
    /// The rotation record.
    pub record: PathBuf,
    /// Unix seconds, for the record.
    pub now: u64,
}

/// One contract's step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationStep {
    pub contract: String,
    pub address: Address,
    /// `transferred`, `already-owned` (by `to`: nothing sent) or `planned` (dry run).
    pub outcome: String,
    pub tx: Option<B256>,
    /// `owner()` read after the step.
    pub owner_after: Address,
}

/// A rotation, as reported and as kept in the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationReport {
    pub network: String,
    pub role: String,
    pub from: Address,
    pub to: Address,
    pub steps: Vec<RotationStep>,
    /// Wei swept to `to`, and the transaction.
    pub swept: Option<(U256, B256)>,
    pub dry_run: bool,
    pub at: u64,
    pub complete: bool,
}

/// Why a rotation stopped (the record keeps the steps done before).
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(
        "{contract} {address} is owned by {owner}, neither the signing key {from} nor the new owner {to}; sign with its owner"
    )]
    NotOwner {
        contract: String,
        address: Address,
        owner: Address,
        from: Address,
        to: Address,
    },
    #[error("after transferring {contract} {address}, owner() is {owner}, not {to}")]
    NotTransferred {
        contract: String,
        address: Address,
        owner: Address,
        to: Address,
    },
    #[error("the new owner is the current one ({0}); nothing to rotate")]
    SameOwner(Address),
    #[error(transparent)]
    Ops(Box<taonado_ops::OpsError>),
    #[error("cannot write the rotation record {path}: {reason}")]
    Record { path: PathBuf, reason: String },
}

impl From<taonado_ops::OpsError> for RotationError {
    fn from(error: taonado_ops::OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

/// Runs the rotation with `provider`, which signs as `plan.from`.
pub async fn rotate(
    provider: &DynProvider,
    plan: &RotationPlan,
) -> Result<RotationReport, RotationError> {
    if plan.from == plan.to {
        return Err(RotationError::SameOwner(plan.to));
    }
    let mut report = RotationReport {
        network: plan.network.clone(),
        role: "owner".to_owned(),
        from: plan.from,
        to: plan.to,
        steps: Vec::new(),
        swept: None,
        dry_run: plan.dry_run,
        at: plan.now,
        complete: false,
    };
    for (name, address) in &plan.owned {
        let contract = EvmValidator::new(*address, provider);
        let owner = read_owner(&contract, name).await?;
        let step = if owner == plan.to {
            RotationStep {
                contract: name.clone(),
                address: *address,
                outcome: "already-owned".to_owned(),
                tx: None,
                owner_after: owner,
            }
        } else if owner != plan.from {
            return Err(RotationError::NotOwner {
                contract: name.clone(),
                address: *address,
                owner,
                from: plan.from,
                to: plan.to,
            });
        } else if plan.dry_run {
            RotationStep {
                contract: name.clone(),
                address: *address,
                outcome: "planned".to_owned(),
                tx: None,
                owner_after: owner,
            }
        } else {
            let receipt = taonado_ops::tx::call_and_confirm(
                &contract.transferOwnership(plan.to),
                &format!("{name}.transferOwnership"),
            )
            .await?;
            let after = read_owner(&contract, name).await?;
            if after != plan.to {
                return Err(RotationError::NotTransferred {
                    contract: name.clone(),
                    address: *address,
                    owner: after,
                    to: plan.to,
                });
            }
            RotationStep {
                contract: name.clone(),
                address: *address,
                outcome: "transferred".to_owned(),
                tx: Some(receipt.transaction_hash),
                owner_after: after,
            }
        };
        report.steps.push(step);
        if !plan.dry_run {
            save(&plan.record, &report)?;
        }
    }
    if plan.sweep && !plan.dry_run {
        report.swept = sweep(provider, plan.from, plan.to).await?;
    }
    report.complete = !plan.dry_run;
    if !plan.dry_run {
        save(&plan.record, &report)?;
    }
    Ok(report)
}

async fn read_owner(
    contract: &EvmValidator::EvmValidatorInstance<&DynProvider>,
    name: &str,
) -> Result<Address, RotationError> {
    Ok(contract
        .owner()
        .call()
        .await
        .map_err(taonado_ops::OpsError::contract(format!(
            "reading {name}.owner()"
        )))?)
}

/// Sends everything but a plain transfer's gas from `from` to `to`; `None` when the
/// balance does not cover that gas.
async fn sweep(
    provider: &DynProvider,
    from: Address,
    to: Address,
) -> Result<Option<(U256, B256)>, RotationError> {
    let rpc = |action: &'static str| taonado_ops::OpsError::rpc(action);
    let balance = provider
        .get_balance(from)
        .await
        .map_err(rpc("reading the old key's balance"))?;
    let gas_price = provider
        .get_gas_price()
        .await
        .map_err(rpc("reading the gas price"))?;
    let cost = U256::from(21_000u64) * U256::from(gas_price);
    if balance <= cost {
        return Ok(None);
    }
    let value = balance - cost;
    // A legacy price, so the fee is exactly `cost` and the old key ends at zero.
    let request = TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_value(value)
        .with_gas_limit(21_000)
        .with_gas_price(gas_price);
    let receipt =
        taonado_ops::tx::send_and_confirm(provider, request, "sweeping the old key's TAO").await?;
    Ok(Some((value, receipt.transaction_hash)))
}

/// The record keeps every rotation of the network, newest last; the one in progress is
/// replaced as it advances.
fn save(path: &std::path::Path, report: &RotationReport) -> Result<(), RotationError> {
    let error = |reason: String| RotationError::Record {
        path: path.to_path_buf(),
        reason,
    };
    let mut rotations: Vec<RotationReport> =
        match taonado_deployment::fs::read_optional(path).map_err(|e| error(e.to_string()))? {
            Some(text) => serde_json::from_str(&text).map_err(|e| error(e.to_string()))?,
            None => Vec::new(),
        };
    match rotations
        .iter_mut()
        .find(|r| r.at == report.at && r.from == report.from && r.to == report.to)
    {
        Some(existing) => *existing = report.clone(),
        None => rotations.push(report.clone()),
    }
    let text = serde_json::to_vec_pretty(&rotations).map_err(|e| error(e.to_string()))?;
    taonado_deployment::fs::write_atomic(path, &text).map_err(|e| error(e.to_string()))
}

/// The rotations kept in `path` (empty when there is none).
pub fn rotations(path: &std::path::Path) -> Vec<RotationReport> {
    taonado_deployment::fs::read_optional(path)
        .ok()
        .flatten()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// When each address was rotated in, from every record in the rotations folder `dir`
/// (`<network>.json`): the completed, sent rotations' `to` and time. `keys audit` counts a
/// key's age from then.
pub fn rotated_in(dir: &std::path::Path) -> Vec<(Address, std::time::SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        for rotation in rotations(&path) {
            if rotation.complete && !rotation.dry_run {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(rotation.at);
                found.push((rotation.to, at));
            }
        }
    }
    found
}
