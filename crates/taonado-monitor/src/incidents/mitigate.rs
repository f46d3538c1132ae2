//! `incident mitigate`: the runbook steps of the incident's type, planned (shown; a
//! `--dry-run` simulates them), then sent one by one through `taonado_ops::admin` (the
//! owner checked before, the setting read back after), each logged on the incident's
//! timeline with its transaction hash. A step that fails is logged too and stops
//! the run: the steps before it stay done and are on the timeline.

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use serde::Serialize;
use taonado_deployment::ProtocolAddresses;
use taonado_ops::admin::{self, AdminAction, AdminCall};
use taonado_store::Store;
use taonado_store::incidents::IncidentStatus;

use super::{IncidentResult, IncidentType, RunbookStep};
use crate::error::{MonitorError, Result};

/// What a mitigation needs besides the incident.
#[derive(Clone, Debug)]
pub struct MitigationTarget {
    pub network: String,
    /// Where the protocol is (the EvmValidator proxy is what the steps call).
    pub addresses: ProtocolAddresses,
    /// The weight interval (blocks) `raise-weight-interval` sets.
    pub weight_interval: u64,
    /// The process registry (`~/.taonado/run`) `stop-automation` signals; `None` when there
    /// is no home folder (the step then fails, naming why).
    pub run_dir: Option<std::path::PathBuf>,
}

/// The commands `stop-automation` stops: what sends transactions on its own.
pub const AUTOMATION: [&str; 3] = ["validator run", "relayer", "loadtest"];

/// How long a stopped process has to exit before SIGKILL.
const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `stop-automation`, or with `dry_run` the processes it would signal: (what ran, what
/// was done), as the step's before and after.
async fn stop_automation(target: &MitigationTarget, dry_run: bool) -> Result<(String, String)> {
    // `stop` polls and sleeps while processes exit (up to the timeout): off the async workers.
    let target = target.clone();
    tokio::task::spawn_blocking(move || stop_automation_blocking(&target, dry_run))
        .await
        .map_err(|e| MonitorError::StopAutomation(e.to_string()))?
}

fn stop_automation_blocking(target: &MitigationTarget, dry_run: bool) -> Result<(String, String)> {
    let dir = target.run_dir.as_ref().ok_or_else(|| {
        MonitorError::StopAutomation("no home folder, so no process registry (set HOME)".into())
    })?;
    let mut plan = taonado_runreg::StopPlan::new(STOP_TIMEOUT);
    plan.network = Some(target.network.clone());
    plan.commands = Some(AUTOMATION.iter().map(|c| (*c).to_owned()).collect());
    plan.dry_run = dry_run;
    let report = taonado_runreg::stop(dir, &plan)
        .map_err(|e| MonitorError::StopAutomation(e.to_string()))?;
    let listed: Vec<String> = report
        .processes
        .iter()
        .filter_map(|p| Some(format!("{} (pid {})", p.command.as_deref()?, p.pid?)))
        .collect();
    let before = if listed.is_empty() {
        "no automation registered".to_owned()
    } else {
        format!("running: {}", listed.join(", "))
    };
    let after = if dry_run {
        before.clone()
    } else if !report.all_stopped() {
        return Err(MonitorError::StopAutomation(format!(
            "a process survived SIGKILL ({before})"
        )));
    } else {
        format!("{} process(es) stopped", listed.len())
    };
    Ok((before, after))
}

/// One step, as shown before it runs.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedStep {
    pub step: RunbookStep,
    /// What it does, e.g. `EvmValidator.setSetWeightsBounty(0)`.
    pub action: String,
    /// The owner-only call (`taonado_ops::admin`); none for a step that prints a command.
    pub call: Option<AdminAction>,
    /// The command to run elsewhere (the upgrade proposal).
    pub command: Option<String>,
}

/// The steps for an incident of type `kind` (its stored type; unknown ones have no
/// runbook): `only` when given, else the type's runbook.
pub fn plan(
    kind: &str,
    only: &[RunbookStep],
    target: &MitigationTarget,
) -> Result<Vec<PlannedStep>> {
    let kind = IncidentType::parse(kind).unwrap_or(IncidentType::Other);
    let steps: Vec<RunbookStep> = if only.is_empty() {
        kind.runbook().to_vec()
    } else {
        only.to_vec()
    };
    let call = |step: RunbookStep, call: AdminCall| -> Result<PlannedStep> {
        let action = admin::action(&call, &target.addresses)
            .map_err(|e| MonitorError::Admin(Box::new(e)))?;
        Ok(PlannedStep {
            step,
            action: action.describe(),
            call: Some(action),
            command: None,
        })
    };
    steps
        .into_iter()
        .map(|step| match step {
            RunbookStep::StopAutomation => Ok(PlannedStep {
                step,
                action: format!(
                    "stop the automation of {}: its registered {} processes (SIGTERM, SIGKILL after {} s)",
                    target.network,
                    AUTOMATION.join(", "),
                    STOP_TIMEOUT.as_secs()
                ),
                call: None,
                command: None,
            }),
            RunbookStep::ZeroBounty => {
                call(step, AdminCall::SetBounty(alloy::primitives::U256::ZERO))
            }
            RunbookStep::RaiseWeightInterval => call(
                step,
                AdminCall::SetInterval(alloy::primitives::U256::from(target.weight_interval)),
            ),
            RunbookStep::RescueFunds => call(step, AdminCall::RescueFunds),
            RunbookStep::ProposeUpgrade => {
                let proxy = target
                    .addresses
                    .evm_validator
                    .map_or_else(|| "<EvmValidator proxy>".to_owned(), |a| a.to_string());
                Ok(PlannedStep {
                    step,
                    action:
                        "propose an EvmValidator upgrade (rehearse it, then the owner executes)"
                            .into(),
                    call: None,
                    command: Some(format!(
                        "taonado --network {} upgrade evm-validator --proxy {proxy} --rehearse",
                        target.network
                    )),
                })
            }
        })
        .collect()
}

/// One step done (or simulated).
#[derive(Clone, Debug, Serialize)]
pub struct StepOutcome {
    pub step: RunbookStep,
    pub action: String,
    pub tx_hash: Option<B256>,
    /// The setting before and after (the same on a dry run), as an operator reads it.
    pub before: Option<String>,
    pub after: Option<String>,
    pub command: Option<String>,
}

/// `--dry-run`: each call checked against the owner and simulated from `signer`; nothing
/// is sent and nothing is recorded.
pub async fn simulate<P: Provider>(
    provider: &P,
    signer: Address,
    target: &MitigationTarget,
    steps: &[PlannedStep],
) -> Result<Vec<StepOutcome>> {
    let mut out = Vec::new();
    for planned in steps {
        if planned.step == RunbookStep::StopAutomation {
            let (before, after) = stop_automation(target, true).await?;
            out.push(StepOutcome {
                step: planned.step,
                action: planned.action.clone(),
                tx_hash: None,
                before: Some(before),
                after: Some(after),
                command: None,
            });
            continue;
        }
        let report = match &planned.call {
            Some(call) => Some(admin::execute(provider, signer, call, true).await.map_err(
                |source| MonitorError::Mitigation {
                    step: planned.step.as_str(),
                    source: Box::new(source),
                },
            )?),
            None => None,
        };
        out.push(StepOutcome {
            step: planned.step,
            action: planned.action.clone(),
            tx_hash: None,
            before: report.as_ref().map(|r| r.before.display.clone()),
            after: report.as_ref().map(|r| r.after.display.clone()),
            command: planned.command.clone(),
        });
    }
    Ok(out)
}

/// Runs `steps` for incident `id` from `signer` (the signer of `provider`): marks it
/// mitigating, then sends each call through `taonado_ops::admin` (owner checked, value
/// read back) and logs it with its transaction. `clock` gives each entry's time.
pub async fn execute<P: Provider>(
    provider: &P,
    signer: Address,
    target: &MitigationTarget,
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
        if planned.step == RunbookStep::StopAutomation {
            let (before, after) = match stop_automation(target, false).await {
                Ok(done) => done,
                Err(error) => {
                    let _ = store.append_incident_timeline(
                        id,
                        "mitigation_failed",
                        &format!("step {} failed: {error}", planned.step.as_str()),
                        None,
                        &serde_json::json!({"step": planned.step, "action": planned.action}),
                        clock(),
                    )?;
                    return Err(error);
                }
            };
            let _ = store.append_incident_timeline(
                id,
                "mitigation",
                &format!("{}: {before} → {after}", planned.action),
                None,
                &serde_json::json!({"step": planned.step, "action": planned.action, "before": before, "after": after}),
                clock(),
            )?;
            done.push(StepOutcome {
                step: planned.step,
                action: planned.action.clone(),
                tx_hash: None,
                before: Some(before),
                after: Some(after),
                command: None,
            });
            continue;
        }
        let report = match &planned.call {
            Some(call) => match admin::execute(provider, signer, call, false).await {
                Ok(report) => Some(report),
                Err(source) => {
                    let text = format!("step {} failed: {source}", planned.step.as_str());
                    // The incident exists (its status was just set): only the database can
                    // fail here.
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
            },
            None => None,
        };
        let tx_hash = report.as_ref().and_then(|r| r.tx);
        let text = match (&report, &planned.command) {
            (Some(r), _) => format!(
                "{}: {} → {}{}",
                planned.action,
                r.before.display,
                r.after.display,
                tx_hash.map(|h| format!(", tx {h:#x}")).unwrap_or_default()
            ),
            (None, Some(command)) => format!("{}: `{command}`", planned.action),
            (None, None) => planned.action.clone(),
        };
        let _ = store.append_incident_timeline(
            id,
            "mitigation",
            &text,
            tx_hash.map(|h| format!("{h:#x}")).as_deref(),
            &serde_json::json!({
                "step": planned.step,
                "action": planned.action,
                "before": report.as_ref().map(|r| &r.before.raw),
                "after": report.as_ref().map(|r| &r.after.raw),
                "command": planned.command,
            }),
            clock(),
        )?;
        done.push(StepOutcome {
            step: planned.step,
            action: planned.action.clone(),
            tx_hash,
            before: report.as_ref().map(|r| r.before.display.clone()),
            after: report.as_ref().map(|r| r.after.display.clone()),
            command: planned.command.clone(),
        });
    }
    Ok(Ok(done))
}
