//! `taonado migrate`: move the EvmValidator from WeightsV3 to WeightsV4, and check that V4 gives
//! V3's weights wherever V3 is defined.
//!
//! The migration is three idempotent steps, each recorded in `deployments/<network>.json` as it
//! completes, so a broken run resumes: deploy V4 with V3's own constructor wiring (netuid,
//! tracker, metagraph, WTAO, pool, read from V3 on chain), set V4's deposit goal, and point the
//! EvmValidator at V4 through its owner setter.

use std::path::PathBuf;

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolConstructor};
use serde::Serialize;
use taonado_contracts::bindings::{EvmValidator, WeightsV3, WeightsV4};
use taonado_contracts::{CodeMatch, Contract};

use crate::error::{OpsError, Result};
use crate::tx;
use taonado_deployment::{ContractRecord, DeploymentRecord, names, unix_now};

pub use crate::error::migrate::MigrateError;

/// The record entry of the migrated-to weights contract.
pub const WEIGHTS_V4: &str = taonado_deployment::names::WEIGHTS_V4;

/// What a step did.
#[derive(Clone, Debug, Serialize)]
pub struct MigrateStep {
    pub name: String,
    /// `sent` or `skipped` (already in place).
    pub state: &'static str,
    pub tx: Option<B256>,
    pub detail: String,
}

/// The outcome of [`migrate_weights`].
#[derive(Clone, Debug, Serialize)]
pub struct MigrateReport {
    pub weights_v3: Address,
    pub weights_v4: Address,
    pub evm_validator: Address,
    pub deposit_goal: U256,
    pub steps: Vec<MigrateStep>,
    pub record_path: PathBuf,
    /// With `via_multisig`: the EvmValidator's switch to V4, for the Safe that owns it to
    /// make (`None` when it already reads V4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<crate::multisig::ProposedCall>,
}

/// Deploys WeightsV4 next to the recorded WeightsV3 and points the EvmValidator at it.
/// `deposit_goal`: `None` keeps V3's goal.
pub async fn migrate_weights(
    provider: &DynProvider,
    signer: Address,
    record_path: PathBuf,
    deposit_goal: Option<U256>,
) -> Result<MigrateReport> {
    migrate_weights_via(provider, signer, record_path, deposit_goal, false).await
}

/// [`migrate_weights`]; with `via_multisig` the last step (the owner's
/// `EvmValidator.setWeightsContract`) is not sent but returned in
/// [`MigrateReport::proposed`], for a proposal to the Safe that owns the EvmValidator. V4 is
/// deployed and configured by `signer` either way (its owner until `multisig take-ownership`).
pub async fn migrate_weights_via(
    provider: &DynProvider,
    signer: Address,
    record_path: PathBuf,
    deposit_goal: Option<U256>,
    via_multisig: bool,
) -> Result<MigrateReport> {
    let mut record =
        DeploymentRecord::load(&record_path)?.ok_or_else(|| MigrateError::NoRecord {
            path: record_path.clone(),
        })?;
    let v3_address = record.address(names::WEIGHTS)?;
    let validator_address = record.address(names::EVM_VALIDATOR)?;
    let v3 = WeightsV3::new(v3_address, provider);
    let validator = EvmValidator::new(validator_address, provider);
    let read = |what: &str| OpsError::contract(format!("reading {what}"));
    let owner = validator
        .owner()
        .call()
        .await
        .map_err(read("EvmValidator.owner"))?;
    // Through the multisig the owner is the Safe, which makes the last step; the signer only
    // deploys and configures V4, which anyone may do.
    if owner != signer && !via_multisig {
        return Err(MigrateError::NotOwner { owner, signer }.into());
    }
    let goal = match deposit_goal {
        Some(goal) => goal,
        None => v3
            .depositGoal()
            .call()
            .await
            .map_err(read("WeightsV3.depositGoal"))?,
    };
    let args: Bytes = WeightsV4::constructorCall {
        _netuid: v3.netuid().call().await.map_err(read("WeightsV3.netuid"))?,
        _depositTracker: v3
            .depositTracker()
            .call()
            .await
            .map_err(read("WeightsV3.depositTracker"))?,
        _metagraph: v3
            .metagraph()
            .call()
            .await
            .map_err(read("WeightsV3.metagraph"))?,
        _wtao: v3.wtao().call().await.map_err(read("WeightsV3.wtao"))?,
        _taonado: v3
            .taonado()
            .call()
            .await
            .map_err(read("WeightsV3.taonado"))?,
    }
    .abi_encode()
    .into();
    let mut steps = Vec::new();
    let artifact = Contract::WeightsV4.artifact();

    // 1. WeightsV4, unless the record has it on chain with the same wiring.
    let existing = record
        .contracts
        .get(WEIGHTS_V4)
        .filter(|c| c.constructor_args == args)
        .map(|c| c.address);
    let reuse = match existing {
        Some(address) => {
            let code = provider
                .get_code_at(address)
                .await
                .map_err(OpsError::rpc(format!("reading the code at {address}")))?;
            match artifact.compare_code(&code) {
                CodeMatch::Mismatch if !code.is_empty() => {
                    return Err(MigrateError::CodeMismatch {
                        name: WEIGHTS_V4.into(),
                        address,
                    }
                    .into());
                }
                CodeMatch::Mismatch => None,
                _ => Some(address),
            }
        }
        None => None,
    };
    let v4_address = match reuse {
        Some(address) => {
            steps.push(MigrateStep {
                name: "deploy WeightsV4".into(),
                state: "skipped",
                tx: None,
                detail: format!("already at {address}"),
            });
            address
        }
        None => {
            let tx = TransactionRequest::default()
                .from(signer)
                .with_deploy_code(artifact.deploy_code(&args));
            let pending = tx::send(provider, tx, "sending the WeightsV4 deployment").await?;
            let tx_hash = *pending.tx_hash();
            let receipt = tx::confirm(pending, "deploying WeightsV4").await?;
            let address = receipt
                .contract_address
                .ok_or(OpsError::NoContractCreated {
                    step: WEIGHTS_V4.into(),
                    tx: tx_hash,
                })?;
            record.contracts.insert(
                WEIGHTS_V4.into(),
                ContractRecord {
                    address,
                    tx_hash: Some(tx_hash),
                    block: receipt.block_number,
                    gas_used: Some(receipt.gas_used),
                    artifact: WEIGHTS_V4.into(),
                    artifact_sha256: Some(artifact.sha256),
                    constructor_args: args.clone(),
                    deployed_at: unix_now(),
                },
            );
            record.touch();
            record.save(&record_path)?;
            steps.push(MigrateStep {
                name: "deploy WeightsV4".into(),
                state: "sent",
                tx: Some(tx_hash),
                detail: format!("at {address}, wired like WeightsV3 {v3_address}"),
            });
            address
        }
    };

    // 2. The deposit goal.
    let v4 = WeightsV4::new(v4_address, provider);
    let current_goal = v4
        .depositGoal()
        .call()
        .await
        .map_err(read("WeightsV4.depositGoal"))?;
    let step = send_unless(
        provider,
        signer,
        "WeightsV4.setDepositGoal",
        current_goal == goal,
        v4_address,
        WeightsV4::setDepositGoalCall { _depositGoal: goal }.abi_encode(),
        format!("{goal} wei"),
    )
    .await?;
    record_wiring(&mut record, &record_path, &step)?;
    steps.push(step);

    // 3. The EvmValidator's weights contract.
    let current = validator
        .weights()
        .call()
        .await
        .map_err(read("EvmValidator.weights"))?;
    let switch = EvmValidator::setWeightsContractCall { value: v4_address }.abi_encode();
    let mut proposed = None;
    if via_multisig && current != v4_address {
        proposed = Some(crate::multisig::ProposedCall {
            to: validator_address,
            value: U256::ZERO,
            data: switch.into(),
            operation: crate::multisig::Operation::Call,
            description: format!(
                "point the EvmValidator at WeightsV4 {v4_address} (from {current})"
            ),
            origin: "migrate weights --via-multisig".to_owned(),
        });
        steps.push(MigrateStep {
            name: "EvmValidator.setWeightsContract".into(),
            state: "proposed",
            tx: None,
            detail: format!("{current} -> {v4_address}, for the multisig to sign"),
        });
    } else {
        let step = send_unless(
            provider,
            signer,
            "EvmValidator.setWeightsContract",
            current == v4_address,
            validator_address,
            switch,
            format!("{current} -> {v4_address}"),
        )
        .await?;
        record_wiring(&mut record, &record_path, &step)?;
        steps.push(step);
    }

    Ok(MigrateReport {
        weights_v3: v3_address,
        weights_v4: v4_address,
        evm_validator: validator_address,
        deposit_goal: goal,
        steps,
        record_path,
        proposed,
    })
}

fn record_wiring(
    record: &mut DeploymentRecord,
    path: &std::path::Path,
    step: &MigrateStep,
) -> Result<()> {
    if let Some(tx) = step.tx {
        record.wiring.insert(step.name.clone(), tx);
        record.touch();
        record.save(path)?;
    }
    Ok(())
}

async fn send_unless(
    provider: &DynProvider,
    signer: Address,
    name: &str,
    in_place: bool,
    to: Address,
    data: Vec<u8>,
    detail: String,
) -> Result<MigrateStep> {
    if in_place {
        return Ok(MigrateStep {
            name: name.into(),
            state: "skipped",
            tx: None,
            detail,
        });
    }
    let tx = TransactionRequest::default()
        .from(signer)
        .to(to)
        .with_input(data);
    let tx_hash = tx::send_and_confirm(provider, tx, name)
        .await?
        .transaction_hash;
    Ok(MigrateStep {
        name: name.into(),
        state: "sent",
        tx: Some(tx_hash),
        detail,
    })
}

/// How V3's and V4's results compare at one uid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeightDifference {
    pub index: usize,
    pub v3: Option<(u16, u16)>,
    pub v4: Option<(u16, u16)>,
}

/// One configuration value of both contracts.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigComparison {
    pub name: String,
    pub v3: String,
    pub v4: String,
    pub equal: bool,
}

/// The verdict of [`verify_migration`].
#[derive(Clone, Debug, Serialize)]
pub struct MigrateVerifyReport {
    pub block: u64,
    pub weights_v3: Address,
    pub weights_v4: Address,
    /// The EvmValidator reads V4.
    pub validator_points_at_v4: bool,
    pub config: Vec<ConfigComparison>,
    /// V3's revert reason when V3 is undefined on this state (then only V4 is shown).
    pub v3_undefined: Option<String>,
    /// (dest, weight) per uid.
    pub v3_weights: Vec<(u16, u16)>,
    pub v4_weights: Vec<(u16, u16)>,
    pub differences: Vec<WeightDifference>,
}

impl MigrateVerifyReport {
    pub fn ok(&self) -> bool {
        self.validator_points_at_v4
            && self.differences.is_empty()
            && self.config.iter().all(|c| c.equal)
    }

    pub fn failing(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.validator_points_at_v4 {
            out.push(format!(
                "the EvmValidator does not read WeightsV4 {}",
                self.weights_v4
            ));
        }
        out.extend(
            self.config
                .iter()
                .filter(|c| !c.equal)
                .map(|c| format!("{}: V3 {} but V4 {}", c.name, c.v3, c.v4)),
        );
        out.extend(
            self.differences
                .iter()
                .map(|d| format!("uid index {}: V3 {:?} but V4 {:?}", d.index, d.v3, d.v4)),
        );
        out
    }
}

/// Pairs of (dest, weight) that differ, index by index.
pub fn differences(v3: &[(u16, u16)], v4: &[(u16, u16)]) -> Vec<WeightDifference> {
    (0..v3.len().max(v4.len()))
        .filter_map(|index| {
            let (a, b) = (v3.get(index).copied(), v4.get(index).copied());
            (a != b).then_some(WeightDifference {
                index,
                v3: a,
                v4: b,
            })
        })
        .collect()
}

/// Compares V3's and V4's normalized weights (and wiring) on the same block.
pub async fn verify_migration(
    provider: &DynProvider,
    record: &DeploymentRecord,
) -> Result<MigrateVerifyReport> {
    let v3_address = record.address(names::WEIGHTS)?;
    let v4_address = record.address(WEIGHTS_V4)?;
    let validator_address = record.address(names::EVM_VALIDATOR)?;
    let block = provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))?;
    let at = BlockId::number(block);
    let v3 = WeightsV3::new(v3_address, provider);
    let v4 = WeightsV4::new(v4_address, provider);
    let read = |what: &str| OpsError::contract(format!("reading {what}"));
    let points = EvmValidator::new(validator_address, provider)
        .weights()
        .block(at)
        .call()
        .await
        .map_err(read("EvmValidator.weights"))?;

    let mut config = Vec::new();
    macro_rules! compare {
        ($name:literal, $getter:ident) => {{
            let a = v3
                .$getter()
                .block(at)
                .call()
                .await
                .map_err(read(concat!("WeightsV3.", $name)))?;
            let b = v4
                .$getter()
                .block(at)
                .call()
                .await
                .map_err(read(concat!("WeightsV4.", $name)))?;
            config.push(ConfigComparison {
                name: $name.into(),
                v3: a.to_string(),
                v4: b.to_string(),
                equal: a == b,
            });
        }};
    }
    compare!("netuid", netuid);
    compare!("depositGoal", depositGoal);
    compare!("depositTracker", depositTracker);
    compare!("metagraph", metagraph);
    compare!("wtao", wtao);
    compare!("taonado", taonado);
    compare!("burn_uid", burn_uid);

    let v4_result = v4
        .getNormalizedWeights()
        .block(at)
        .call()
        .await
        .map_err(read("WeightsV4.getNormalizedWeights"))?;
    let v4_weights: Vec<(u16, u16)> = v4_result
        .dests
        .into_iter()
        .zip(v4_result.normalized)
        .collect();
    let (v3_weights, v3_undefined) = match v3.getNormalizedWeights().block(at).call().await {
        Ok(r) => (r.dests.into_iter().zip(r.normalized).collect(), None),
        // A revert is V3 being undefined here (its known defects); transport errors are errors.
        Err(alloy::contract::Error::TransportError(e)) if e.as_error_resp().is_none() => {
            return Err(
                OpsError::contract("reading WeightsV3.getNormalizedWeights")(
                    alloy::contract::Error::TransportError(e),
                ),
            );
        }
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let diffs = if v3_undefined.is_some() {
        Vec::new()
    } else {
        differences(&v3_weights, &v4_weights)
    };
    Ok(MigrateVerifyReport {
        block,
        weights_v3: v3_address,
        weights_v4: v4_address,
        validator_points_at_v4: points == v4_address,
        config,
        v3_undefined,
        v3_weights,
        v4_weights,
        differences: diffs,
    })
}

/// Parses a migration target name.
pub fn parse_target(name: &str) -> Result<Contract> {
    match name {
        "WeightsV4" => Ok(Contract::WeightsV4),
        other => Err(MigrateError::UnsupportedTarget {
            target: other.into(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_list_each_index_that_differs() {
        let v3 = [(0, 65535), (1, 0), (2, 0)];
        assert!(differences(&v3, &v3).is_empty());
        let v4 = [(0, 65535), (1, 7)];
        assert_eq!(
            differences(&v3, &v4),
            vec![
                WeightDifference {
                    index: 1,
                    v3: Some((1, 0)),
                    v4: Some((1, 7))
                },
                WeightDifference {
                    index: 2,
                    v3: Some((2, 0)),
                    v4: None
                },
            ]
        );
    }

    #[test]
    fn only_weights_v4_is_a_target() {
        assert_eq!(parse_target("WeightsV4").ok(), Some(Contract::WeightsV4));
        let err = parse_target("WeightsV5")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("WeightsV5") && err.contains("WeightsV4"),
            "{err}"
        );
    }
}
