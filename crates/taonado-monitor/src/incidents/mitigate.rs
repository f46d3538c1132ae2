//! `incident mitigate`: the runbook steps of the incident's type, planned (shown, and all
//! a `--dry-run` does), then sent one by one through `taonado_ops::tx`, each logged on the
//! incident's timeline with its transaction hash. A step that fails is logged too and stops
//! the run: the steps before it stay done and are on the timeline.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall as _;
use serde::Serialize;
use taonado_contracts::bindings::EvmValidator;
use taonado_store::Store;
use taonado_store::incidents::{IncidentRecord, IncidentStatus};

use super::{IncidentResult, IncidentType, RunbookStep};
use crate::error::{MonitorError, Result};

/// What a mitigation needs besides the incident.
#[derive(Clone, Debug)]
pub struct MitigationTarget {
    pub network: String,
    /// The EvmValidator proxy.
    pub evm_validator: Address,
    /// The weight interval (blocks) `raise-weight-interval` sets.
    pub weight_interval: u64,
}

/// One step, as shown before it runs.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedStep {
    pub step: RunbookStep,
    /// What it does, e.g. `EvmValidator.setSetWeightsBounty(0)`.
    pub action: String,
    /// The contract called (none for a step that only prints a command).
    pub to: Option<Address>,
    pub calldata: Option<Bytes>,
    /// The command to run elsewhere (the upgrade proposal).
    pub command: Option<String>,
}

/// The steps for `incident`: `only` when given, else its type's runbook.
pub fn plan(
    incident: &IncidentRecord,
    only: &[RunbookStep],
    target: &MitigationTarget,
) -> Vec<PlannedStep> {
    let kind = IncidentType::parse(&incident.kind).unwrap_or(IncidentType::Other);
    let steps: Vec<RunbookStep> = if only.is_empty() {
        kind.runbook().to_vec()
    } else {
        only.to_vec()
    };
    let validator = target.evm_validator;
    steps
        .into_iter()
        .map(|step| match step {
            RunbookStep::ZeroBounty => PlannedStep {
                step,
                action: "EvmValidator.setSetWeightsBounty(0)".into(),
                to: Some(validator),
                calldata: Some(
                    EvmValidator::setSetWeightsBountyCall { value: U256::ZERO }
                        .abi_encode()
                        .into(),
                ),
                command: None,
            },
            RunbookStep::RaiseWeightInterval => PlannedStep {
                step,
                action: format!(
                    "EvmValidator.setSetWeightsBlockInterval({})",
                    target.weight_interval
                ),
                to: Some(validator),
                calldata: Some(
                    EvmValidator::setSetWeightsBlockIntervalCall {
                        value: U256::from(target.weight_interval),
                    }
                    .abi_encode()
                    .into(),
                ),
                command: None,
            },
            RunbookStep::RescueFunds => PlannedStep {
                step,
                action: "EvmValidator.rescueFunds() (the balance goes to the owner)".into(),
                to: Some(validator),
                calldata: Some(EvmValidator::rescueFundsCall {}.abi_encode().into()),
                command: None,
            },
            RunbookStep::ProposeUpgrade => PlannedStep {
                step,
                action: "propose an EvmValidator upgrade (rehearse it, then the owner executes)"
                    .into(),
                to: None,
                calldata: None,
                command: Some(format!(
                    "taonado --network {} upgrade evm-validator --proxy {validator} --rehearse",
                    target.network
                )),
            },
        })
        .collect()
}

/// One step done.
#[derive(Clone, Debug, Serialize)]
pub struct StepOutcome {
    pub step: RunbookStep,
    pub action: String,
    pub tx_hash: Option<B256>,
    pub block: Option<u64>,
    pub command: Option<String>,
}

/// Runs `steps` for incident `id`: marks it mitigating, then sends each step and logs it.
/// `clock` gives the time of each timeline entry.
pub async fn execute<P: Provider>(
    provider: &P,
    store: &Store,
    id: i64,
    steps: &[PlannedStep],
    clock: &dyn Fn() -> u64,
) -> Result<IncidentResult<Vec<StepOutcome>>> {
    let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    if let Err(e) = store.set_incident_status(
        id,
        IncidentStatus::Mitigating,
        &format!("mitigation started: {}", names.join(", ")),
        clock(),
    )? {
        return Ok(Err(e));
    }
    let mut done = Vec::new();
    for planned in steps {
        let (tx_hash, block) = match (planned.to, &planned.calldata) {
            (Some(to), Some(data)) => {
                let request = TransactionRequest::default()
                    .to(to)
                    .input(data.clone().into());
                match taonado_ops::tx::send_and_confirm(provider, request, &planned.action).await {
                    Ok(receipt) => (Some(receipt.transaction_hash), receipt.block_number),
                    Err(source) => {
                        let text = format!("step {} failed: {source}", planned.step.as_str());
                        // The incident exists (its status was just set): only the
                        // database can fail here.
                        let _ = store.append_incident_timeline(
                            id,
                            "mitigation_failed",
                            &text,
                            None,
                            &serde_json::json!({"step": planned.step, "action": planned.action}),
                            clock(),
                        )?;
                        return Err(MonitorError::Mitigation {
                            step: planned.step.as_str(),
                            source: Box::new(source),
                        });
                    }
                }
            }
            _ => (None, None),
        };
        let text = match (&tx_hash, &planned.command) {
            (Some(hash), _) => format!("{}: sent in {hash:#x}", planned.action),
            (None, Some(command)) => format!("{}: `{command}`", planned.action),
            (None, None) => planned.action.clone(),
        };
        let _ = store.append_incident_timeline(
            id,
            "mitigation",
            &text,
            tx_hash.map(|h| format!("{h:#x}")).as_deref(),
            &serde_json::json!({"step": planned.step, "action": planned.action, "block": block, "command": planned.command}),
            clock(),
        )?;
        done.push(StepOutcome {
            step: planned.step,
            action: planned.action.clone(),
            tx_hash,
            block,
            command: planned.command.clone(),
        });
    }
    Ok(Ok(done))
}
