use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::alerts::ActiveAlert;

fn alert(rule: &str, key: &str, severity: Severity) -> ActiveAlert {
    ActiveAlert {
        dedup_key: format!("{rule}:{key}"),
        rule: rule.into(),
        severity,
        summary: format!("{rule} {key}"),
        details: serde_json::json!({}),
        block: Some(1),
    }
}

fn notices(store: &Store) -> Vec<AlertNotice> {
    let mut messages = store.recent_messages(1000).unwrap();
    messages.reverse();
    messages
        .iter()
        .map(|m| serde_json::from_str(&m.payload).unwrap())
        .collect()
}

fn evaluated() -> BTreeSet<String> {
    ["failed_transaction", "wtao_supply_discrepancy", "gas_price"]
        .iter()
        .map(|r| (*r).to_owned())
        .collect()
}

/// Seven reverted transactions within two minutes, one every 20 s, each its own critical
/// alert that resolves once it leaves the window: under the defaults one channel gets the
/// first at once, one digest of the other six, and nothing more; a critical of another rule
/// fired in the middle goes out at once, in its own message.
#[test]
fn a_storm_is_two_notifications_and_does_not_delay_another_rules_critical() {
    crate::testing::on_each_backend(
        "a_storm_is_two_notifications_and_does_not_delay_another_rules_critical",
        |store| {
            let grouping = Grouping::default();
            let channels = vec!["hook".to_owned()];
            let mut active: Vec<ActiveAlert> = Vec::new();
            let mut per_tick = Vec::new();
            for i in 0..7u64 {
                let now = 1_000 + 20 * i;
                active.push(alert(
                    "failed_transaction",
                    &format!("0x{i}"),
                    Severity::Critical,
                ));
                if i == 3 {
                    active.push(alert("wtao_supply_discrepancy", "0xaa", Severity::Critical));
                }
                store.apply_alerts(&active, &evaluated(), now).unwrap();
                per_tick.push(store.flush_alert_groups(&grouping, &channels, now).unwrap());
            }
            // The first reverted transaction: at once, as itself.
            assert_eq!(per_tick[0].len(), 1);
            assert!(!per_tick[0][0].digest);
            // The other rule's critical: at once, in the middle of the storm.
            assert_eq!(
                per_tick[3],
                vec![GroupNotice {
                    group: "wtao_supply_discrepancy".into(),
                    transition: Transition::Fired,
                    transitions: 1,
                    digest: false,
                }]
            );
            // The rest of the storm waits for the group interval.
            assert!(
                per_tick[1..]
                    .iter()
                    .flatten()
                    .all(|n| n.group != "failed_transaction")
            );

            // The window passes the failures (all resolve) before the interval ends.
            let mut readings = BTreeMap::new();
            readings.insert(
                "failed_transaction".to_owned(),
                "no longer among the last 100 blocks' transactions".to_owned(),
            );
            let still = vec![alert("wtao_supply_discrepancy", "0xaa", Severity::Critical)];
            store
                .apply_evaluation(&still, &evaluated(), &readings, 1_200)
                .unwrap();
            assert!(
                store
                    .flush_alert_groups(&grouping, &channels, 1_200)
                    .unwrap()
                    .is_empty()
            );
            let digest = store
                .flush_alert_groups(&grouping, &channels, 1_300)
                .unwrap();
            assert_eq!(
                digest,
                vec![GroupNotice {
                    group: "failed_transaction".into(),
                    transition: Transition::Resolved,
                    transitions: 13,
                    digest: true,
                }]
            );
            let all = notices(&store);
            assert_eq!(all.len(), 3, "{all:#?}");
            let d = all[2].digest.as_ref().unwrap();
            assert_eq!(
                (d.fired_total, d.new_fired, d.new_resolved, d.firing),
                (7, 6, 7, 0)
            );
            assert_eq!(d.last_fired_at - d.opened_at, 120);
            assert_eq!(
                d.recovered.as_deref(),
                Some("no longer among the last 100 blocks' transactions")
            );
            // Closed: nothing more, ever, for the storm; the other critical repeats after 4 h.
            assert!(
                store
                    .flush_alert_groups(&grouping, &channels, 5_000)
                    .unwrap()
                    .is_empty()
            );
            let repeat = store
                .flush_alert_groups(&grouping, &channels, 1_060 + 4 * 3600)
                .unwrap();
            assert_eq!(repeat.len(), 1);
            assert_eq!(repeat[0].group, "wtao_supply_discrepancy");
            assert!(repeat[0].digest && repeat[0].transitions == 0);
        },
    );
}

/// A warning waits group_wait and gathers what else its rule fires meanwhile.
#[test]
fn a_warning_group_waits_and_gathers() {
    crate::testing::on_each_backend("a_warning_group_waits_and_gathers", |store| {
        let grouping = Grouping::default();
        let channels = vec!["a".to_owned(), "b".to_owned()];
        let one = alert("gas_price", "x", Severity::Warning);
        store
            .apply_alerts(std::slice::from_ref(&one), &evaluated(), 100)
            .unwrap();
        assert!(
            store
                .flush_alert_groups(&grouping, &channels, 100)
                .unwrap()
                .is_empty()
        );
        let two = alert("gas_price", "y", Severity::Warning);
        store.apply_alerts(&[one, two], &evaluated(), 120).unwrap();
        assert!(
            store
                .flush_alert_groups(&grouping, &channels, 129)
                .unwrap()
                .is_empty()
        );
        let sent = store.flush_alert_groups(&grouping, &channels, 130).unwrap();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].digest && sent[0].transitions == 2);
        // One message per channel, each with its own key.
        let keys: BTreeSet<String> = store
            .recent_messages(10)
            .unwrap()
            .into_iter()
            .map(|m| m.idempotency_key)
            .collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().all(|k| k.starts_with("group-")));
    });
}

/// Per alert, with no waits, every transition is told at once, as before grouping.
#[test]
fn per_alert_grouping_tells_every_transition() {
    crate::testing::on_each_backend("per_alert_grouping_tells_every_transition", |store| {
        let channels = vec!["hook".to_owned()];
        let a = alert("gas_price", "x", Severity::Warning);
        let b = alert("gas_price", "y", Severity::Warning);
        store.apply_alerts(&[a, b], &evaluated(), 1).unwrap();
        let sent = store
            .flush_alert_groups(&Grouping::per_alert(), &channels, 1)
            .unwrap();
        assert_eq!(sent.len(), 2);
        store.apply_alerts(&[], &evaluated(), 2).unwrap();
        let sent = store
            .flush_alert_groups(&Grouping::per_alert(), &channels, 2)
            .unwrap();
        assert_eq!(sent.len(), 2);
        assert!(
            sent.iter()
                .all(|n| n.transition == Transition::Resolved && !n.digest)
        );
        assert!(
            store
                .flush_alert_groups(&Grouping::per_alert(), &channels, 100_000)
                .unwrap()
                .is_empty()
        );
    });
}

/// A database from before grouping: its alerts were announced when they changed, so the
/// migration marks them announced and nothing is sent again.
#[test]
fn alerts_recorded_before_grouping_are_not_announced_again() {
    let mut db = crate::sql::Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
    let upto_101: Vec<_> = crate::MIGRATIONS
        .iter()
        .copied()
        .filter(|m| m.version <= 101)
        .collect();
    crate::migrations::migrate(&mut db, &upto_101).unwrap();
    db.conn().execute(
        "INSERT INTO alerts (dedup_key, rule, severity, state, summary, details, fired_at, updated_at)
         VALUES ('gas_price:x', 'gas_price', 'warning', 'firing', 's', '{}', 5, 5)",
        [],
    )
    .unwrap();
    crate::migrations::migrate(&mut db, crate::MIGRATIONS).unwrap();
    let announced: Option<i64> = db
        .conn()
        .query_row("SELECT fired_notified_at FROM alerts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(announced, Some(5));
}
