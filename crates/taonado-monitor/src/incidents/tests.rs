use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use taonado_store::Store;
use taonado_store::alerts::{ActiveAlert, Severity};
use taonado_store::incidents::{IncidentSeverity, IncidentStatus};

use super::report::{DocumentKind, document};
use super::*;
use crate::config::RuleSettings;

const RULE: &str = "gas_used";

fn critical(key: &str) -> ActiveAlert {
    ActiveAlert {
        dedup_key: format!("{RULE}:{key}"),
        rule: RULE.into(),
        severity: Severity::Critical,
        summary: format!("gas spike {key}"),
        details: serde_json::json!({}),
        block: Some(1),
    }
}

/// One evaluation of the `gas_used` rule with `keys` active.
fn evaluate(store: &Store, keys: &[&str], now: u64) {
    let active: Vec<ActiveAlert> = keys.iter().map(|k| critical(k)).collect();
    let evaluated = BTreeSet::from([RULE.to_owned()]);
    store
        .apply_evaluation(&active, &evaluated, &BTreeMap::new(), now)
        .unwrap();
}

fn settings(p0: u64) -> IncidentSettings {
    IncidentSettings {
        p0_response_secs: p0,
        ..IncidentSettings::default()
    }
}

fn target_alerts(store: &Store) -> Vec<AlertRecord> {
    store
        .firing_alerts()
        .unwrap()
        .into_iter()
        .filter(|a| a.rule == INCIDENT_RESPONSE_TARGET)
        .collect()
}

#[test]
fn a_critical_alert_opens_a_p0_incident_whose_missed_target_fires_and_resolves_on_ack() {
    taonado_store::testing::on_each_backend(
        "a_critical_alert_opens_a_p0_incident_whose_missed_target_fires_and_resolves_on_ack",
        |store| {
            let rules = RuleSettings::default();
            let s = settings(900);
            evaluate(&store, &["a"], 1_000);
            let tick1 = tick(&store, &s, &rules, 1_000).unwrap();
            assert_eq!(tick1.opened.len(), 1);
            let id = tick1.opened[0];
            let incident = store.incident(id).unwrap().unwrap();
            assert_eq!(incident.severity, IncidentSeverity::P0);
            assert_eq!(incident.kind, "contract-bug");
            assert_eq!(incident.respond_by, 1_900);
            // Repeated ticks neither reopen nor fire before the deadline.
            for now in [1_001, 1_500, 1_899] {
                let t = tick(&store, &s, &rules, now).unwrap();
                assert!(
                    t.opened.is_empty() && t.updated.is_empty() && t.missed.is_empty(),
                    "{t:?}"
                );
                assert!(target_alerts(&store).is_empty());
            }
            let missed = tick(&store, &s, &rules, 1_900).unwrap();
            assert_eq!(missed.missed, [id]);
            let fired = target_alerts(&store);
            assert_eq!(fired.len(), 1);
            assert_eq!(fired[0].severity, Severity::Critical);
            // The target alert never opens an incident of its own.
            assert!(tick(&store, &s, &rules, 1_901).unwrap().opened.is_empty());
            assert_eq!(store.incidents(true).unwrap().len(), 1);

            store
                .set_incident_status(id, IncidentStatus::Acknowledged, "on it", 2_000)
                .unwrap()
                .unwrap();
            tick(&store, &s, &rules, 2_001).unwrap();
            assert!(target_alerts(&store).is_empty(), "acknowledged: resolved");
            let kinds: Vec<String> = store
                .incident_timeline(id)
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect();
            assert_eq!(kinds, ["opened", "alert", "target_missed", "acknowledged"]);
        },
    );
}

#[test]
fn disabled_target_rule_and_open_on_critical_off_do_nothing() {
    taonado_store::testing::on_each_backend(
        "disabled_target_rule_and_open_on_critical_off_do_nothing",
        |store| {
            evaluate(&store, &["a"], 1_000);
            let off = IncidentSettings {
                open_on_critical: false,
                ..settings(1)
            };
            assert!(
                tick(&store, &off, &RuleSettings::default(), 1_000)
                    .unwrap()
                    .opened
                    .is_empty()
            );
            let s = settings(1);
            tick(&store, &s, &RuleSettings::default(), 1_000).unwrap();
            let rules = RuleSettings {
                disabled: vec![INCIDENT_RESPONSE_TARGET.into()],
                ..RuleSettings::default()
            };
            let t = tick(&store, &s, &rules, 5_000).unwrap();
            assert!(t.missed.is_empty());
            assert!(target_alerts(&store).is_empty());
        },
    );
}

#[test]
fn report_and_postmortem_come_from_the_timeline_and_repeat_exactly() {
    taonado_store::testing::on_each_backend(
        "report_and_postmortem_come_from_the_timeline_and_repeat_exactly",
        |store| {
            let s = settings(60);
            let incident = open(
                &store,
                &s,
                "bounty | drained",
                IncidentSeverity::P0,
                IncidentType::BountyDrain,
                None,
                1_000,
            )
            .unwrap()
            .unwrap();
            tick(&store, &s, &RuleSettings::default(), 1_061).unwrap();
            let _ = store
                .append_incident_timeline(
                    incident.id,
                    "mitigation",
                    "EvmValidator.setSetWeightsBounty(0): sent in 0xabc",
                    Some("0xabc"),
                    &serde_json::json!({"step": "zero-bounty"}),
                    1_100,
                )
                .unwrap()
                .unwrap();
            store
                .set_incident_status(incident.id, IncidentStatus::Resolved, "fixed", 1_200)
                .unwrap()
                .unwrap();
            let report = document(&store, incident.id, DocumentKind::Report)
                .unwrap()
                .unwrap();
            assert!(
                report.markdown.contains("# Incident report: incident 1"),
                "{}",
                report.markdown
            );
            assert!(report.markdown.contains("bounty \\| drained"));
            assert!(report.markdown.contains("**missed**"));
            assert!(report.markdown.contains("tx `0xabc`"));
            assert!(!report.markdown.contains("## Follow-ups"));
            let post = document(&store, incident.id, DocumentKind::Postmortem)
                .unwrap()
                .unwrap();
            assert!(post.markdown.contains("## Follow-ups"));
            assert!(post.markdown.contains("restore the set-weights bounty"));
            assert!(post.markdown.contains("response target was missed"));
            assert_eq!(post.impact.time_to_resolve_secs, Some(200));
            assert_eq!(post.impact.transactions, ["0xabc"]);
            let again = document(&store, incident.id, DocumentKind::Postmortem)
                .unwrap()
                .unwrap();
            assert_eq!(post.markdown, again.markdown);
            assert_eq!(
                document(&store, 42, DocumentKind::Report)
                    .unwrap()
                    .unwrap_err(),
                IncidentError::Unknown(42)
            );
        },
    );
}

#[test]
fn runbooks_plan_their_steps_in_order() {
    use super::mitigate::{MitigationTarget, plan};
    let store = Store::open_in_memory().unwrap();
    let incident = open(
        &store,
        &IncidentSettings::default(),
        "x",
        IncidentSeverity::P1,
        IncidentType::FundsAtRisk,
        None,
        0,
    )
    .unwrap()
    .unwrap();
    let target = MitigationTarget {
        network: "local".into(),
        addresses: taonado_deployment::ProtocolAddresses {
            evm_validator: Some(alloy::primitives::Address::repeat_byte(7)),
            ..Default::default()
        },
        weight_interval: 7_200,
        run_dir: None,
    };
    let steps = plan(&incident.kind, &[], &target).unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        names,
        [
            "stop-automation",
            "zero-bounty",
            "raise-weight-interval",
            "rescue-funds",
            "propose-upgrade"
        ]
    );
    assert!(steps[0].call.is_none(), "stopping is not a transaction");
    use alloy::sol_types::SolCall as _;
    use taonado_contracts::bindings::EvmValidator;
    assert_eq!(
        steps[1].call.as_ref().unwrap().calldata[..4],
        EvmValidator::setSetWeightsBountyCall::SELECTOR
    );
    assert_eq!(
        steps[3].call.as_ref().unwrap().calldata[..4],
        EvmValidator::rescueFundsCall::SELECTOR
    );
    assert!(
        steps[4]
            .command
            .as_deref()
            .unwrap()
            .contains("upgrade evm-validator --proxy 0x0707")
    );
    // Without an EvmValidator there is nothing to call: an error, not a guess.
    let nowhere = MitigationTarget {
        addresses: Default::default(),
        ..target.clone()
    };
    assert!(plan(&incident.kind, &[], &nowhere).is_err());
    let only = plan(&incident.kind, &[RunbookStep::ZeroBounty], &target).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].action, "EvmValidator.setSetWeightsBounty(0)");
}

#[derive(Clone, Debug)]
enum Op {
    /// The gas_used rule evaluates with these keys active.
    Evaluate(Vec<u8>),
    Tick,
    /// Resolve the n-th incident (if any).
    Resolve(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::btree_set(0u8..3, 0..3)
            .prop_map(|k| Op::Evaluate(k.into_iter().collect())),
        Just(Op::Tick),
        (0usize..4).prop_map(Op::Resolve),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    // SQLite only: a fresh PostgreSQL schema per case would cost seconds of CI, and the
    // queries it runs are those of the tests above, which run on both backends.
    /// Whatever the order of evaluations, ticks and resolutions: every critical alert
    /// episode belongs to exactly one incident after a tick, never two, and no two
    /// unresolved incidents share a dedup key.
    #[test]
    fn one_alert_never_opens_two_incidents(ops in prop::collection::vec(op(), 1..24)) {
        let store = Store::open_in_memory().unwrap();
        let s = settings(5);
        let rules = RuleSettings::default();
        let mut now = 1_000;
        for op in ops {
            now += 1;
            match op {
                Op::Evaluate(keys) => {
                    let keys: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
                    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                    evaluate(&store, &refs, now);
                }
                Op::Tick => { tick(&store, &s, &rules, now).unwrap(); }
                Op::Resolve(n) => {
                    if let Some(i) = store.incidents(false).unwrap().get(n) {
                        store.set_incident_status(i.id, IncidentStatus::Resolved, "done", now).unwrap().unwrap();
                    }
                }
            }
        }
        tick(&store, &s, &rules, now + 1).unwrap();
        let incidents = store.incidents(true).unwrap();
        let mut owner = BTreeMap::new();
        for incident in &incidents {
            for alert in store.incident_alert_ids(incident.id).unwrap() {
                prop_assert!(owner.insert(alert, incident.id).is_none(), "alert {alert} in two incidents");
            }
        }
        for alert in store.firing_alerts().unwrap() {
            if alert.rule == RULE {
                prop_assert!(owner.contains_key(&alert.id), "firing alert {} has no incident", alert.id);
            }
        }
        let mut open_keys = BTreeSet::new();
        for incident in incidents.iter().filter(|i| i.status != IncidentStatus::Resolved) {
            if let Some(key) = &incident.source_dedup_key {
                prop_assert!(open_keys.insert(key.clone()), "two open incidents for {key}");
            }
        }
    }
}

#[test]
fn the_incidents_section_parses_and_is_checked() {
    use crate::config::MonitorFile;
    let file = MonitorFile::parse(
        "[rules]\ndisabled = [\"incident_response_target\"]\n[incidents]\np0_response_secs = 5\nopen_on_critical = false\n",
    )
    .unwrap();
    assert_eq!(file.incidents.response_secs(IncidentSeverity::P0), 5);
    assert_eq!(file.incidents.response_secs(IncidentSeverity::P3), 86_400);
    assert!(!file.incidents.open_on_critical);
    assert!(MonitorFile::parse("[incidents]\np1_response_secs = 0\n").is_err());
    assert!(MonitorFile::parse("[incidents]\np9_response_secs = 1\n").is_err());
    assert_eq!(MonitorFile::empty().incidents, IncidentSettings::default());
}
