//! The outbox against a real webhook receiver: an outage loses nothing, recovery sends each
//! message once, and a restarted monitor (database reopened) sends nothing again. Every test
//! runs on SQLite, then on PostgreSQL when `TAONADO_TEST_POSTGRES` names a server.

use std::collections::BTreeSet;
use std::sync::Arc;

use taonado_monitor::{DeliveryPolicy, Dispatcher, Grouping, Notifier, WebhookNotifier};
use taonado_store::Store;
use taonado_store::alerts::{ActiveAlert, Severity};

use crate::receiver::Receiver;

fn alert(key: &str) -> ActiveAlert {
    ActiveAlert {
        dedup_key: key.into(),
        rule: "gas_used".into(),
        severity: Severity::Critical,
        summary: format!("{key} used too much gas"),
        details: serde_json::json!({"key": key}),
        block: Some(1),
    }
}

fn dispatcher(store: &Store, receiver: &Receiver) -> Dispatcher {
    let hook: Arc<dyn Notifier> =
        Arc::new(WebhookNotifier::signed("hook", receiver.url(), b"k".to_vec()).unwrap());
    let policy = DeliveryPolicy {
        base_backoff_secs: 10,
        max_backoff_secs: 60,
        max_attempts: 10,
        lease_secs: 30,
        max_age_secs: 24 * 3600,
    };
    // Each alert told on its own and at once: this file tests delivery, not grouping.
    Dispatcher::new(store.clone(), "local".into(), vec![hook], policy)
        .with_grouping(Grouping::per_alert())
}

#[tokio::test]
async fn outage_then_recovery_then_restart_sends_each_message_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    for path in taonado_store::testing::each_database(
        "outage_then_recovery_then_restart_sends_each_message_exactly_once",
        dir.path(),
    ) {
        let mut receiver = Receiver::start().await;
        let rules: BTreeSet<String> = ["gas_used".to_owned()].into();

        {
            let store = Store::connect_path(&path).unwrap();
            let d = dispatcher(&store, &receiver);
            store.apply_alerts(&[alert("a")], &rules, 100).unwrap();
            assert_eq!(d.deliver_due(100).await.unwrap().sent, 1);

            // The receiver goes down; two more alerts fire meanwhile.
            receiver.stop().await;
            store
                .apply_alerts(&[alert("a"), alert("b"), alert("c")], &rules, 110)
                .unwrap();
            let down = d.deliver_due(110).await.unwrap();
            assert_eq!((down.sent, down.retrying), (0, 2), "{down:?}");
            let down_again = d.deliver_due(120).await.unwrap();
            assert_eq!(down_again.retrying, 2, "second attempt after 10 s backoff");
            assert_eq!(store.outbox_counts().unwrap().pending, 2);
            // The monitor stops here, while the endpoint is still down.
        }

        receiver.restart().await;
        let store = Store::connect_path(&path).unwrap();
        let d = dispatcher(&store, &receiver);
        // Backoff after the second failure is 20 s: nothing is due at 130.
        assert_eq!(d.deliver_due(130).await.unwrap().sent, 0);
        assert_eq!(d.deliver_due(140).await.unwrap().sent, 2);
        assert_eq!(d.deliver_due(10_000).await.unwrap().sent, 0);

        // Another restart: nothing is sent twice.
        drop(d);
        drop(store);
        let store = Store::connect_path(&path).unwrap();
        assert_eq!(
            dispatcher(&store, &receiver)
                .deliver_due(20_000)
                .await
                .unwrap()
                .sent,
            0
        );

        let received = receiver.received();
        let keys: Vec<String> = received
            .iter()
            .map(|r| r.header("idempotency-key"))
            .collect();
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(unique.len(), 3);
        let summaries: BTreeSet<String> = received
            .iter()
            .map(|r| r.json()["alert"]["dedup_key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(summaries, ["a", "b", "c"].map(String::from).into());
        assert!(received.iter().all(|r| r.signature_valid(b"k")));
        let counts = store.outbox_counts().unwrap();
        assert_eq!((counts.pending, counts.sent, counts.dead), (0, 3, 0));
    }
}

/// A receiver answering 404 for a while (mid-deploy) then 200 receives every alert: a 404
/// is retried with backoff, not given up.
#[tokio::test]
async fn a_receiver_answering_404_for_a_while_then_200_receives_every_alert() {
    for store in taonado_store::testing::each_backend(
        "a_receiver_answering_404_for_a_while_then_200_receives_every_alert",
    ) {
        let receiver = Receiver::start().await;
        let d = dispatcher(&store, &receiver);
        let rules: BTreeSet<String> = ["gas_used".to_owned()].into();
        receiver.refuse_with(Some(404));
        let alerts: Vec<ActiveAlert> = (0..20).map(|i| alert(&format!("k{i}"))).collect();
        store.apply_alerts(&alerts, &rules, 100).unwrap();
        let refused = d.deliver_due(100).await.unwrap();
        assert_eq!(
            (refused.sent, refused.retrying, refused.dead),
            (0, 20, 0),
            "{refused:?}"
        );
        let refused = d.deliver_due(110).await.unwrap();
        assert_eq!((refused.retrying, refused.dead), (20, 0), "{refused:?}");
        receiver.refuse_with(None);
        assert_eq!(d.deliver_due(130).await.unwrap().sent, 20);
        assert_eq!(receiver.received().len(), 20);
        let counts = store.outbox_counts().unwrap();
        assert_eq!((counts.pending, counts.sent, counts.dead), (0, 20, 0));
    }
}

/// A refusal that says the channel itself is broken (a revoked credential) is given up at
/// once, as is a message older than the policy's `max_age_secs`.
#[tokio::test]
async fn a_broken_channel_or_an_old_message_is_a_dead_letter() {
    for store in
        taonado_store::testing::each_backend("a_broken_channel_or_an_old_message_is_a_dead_letter")
    {
        let receiver = Receiver::start().await;
        let hook: Arc<dyn Notifier> =
            Arc::new(WebhookNotifier::signed("hook", receiver.url(), b"k".to_vec()).unwrap());
        store
            .enqueue_test_alert(&["hook".to_owned()], "t", 0)
            .unwrap();
        let d = Dispatcher::new(
            store.clone(),
            "local".into(),
            vec![hook.clone()],
            DeliveryPolicy::default(),
        );
        receiver.refuse_with(Some(401));
        let report = d.deliver_due(0).await.unwrap();
        assert_eq!(report.dead, 1, "{report:?}");
        assert!(report.errors[0].contains("401"));

        receiver.refuse_with(Some(503));
        store
            .enqueue_test_alert(&["hook".to_owned()], "u", 1)
            .unwrap();
        let short = DeliveryPolicy {
            max_age_secs: 5,
            ..DeliveryPolicy::default()
        };
        let d = Dispatcher::new(store.clone(), "local".into(), vec![hook], short);
        // First failure at 1: the next try (1 + 5 s backoff) is within 5 s of queueing; the
        // second failure's next try (6 + 10 s) is not.
        assert_eq!(d.deliver_due(1).await.unwrap().retrying, 1);
        assert_eq!(d.deliver_due(6).await.unwrap().dead, 1);
    }
}

#[tokio::test]
async fn slack_and_discord_get_their_own_body_shapes() {
    for store in taonado_store::testing::each_backend("slack_and_discord_get_their_own_body_shapes")
    {
        let receiver = Receiver::start().await;
        let mut notifiers: Vec<Arc<dyn Notifier>> = Vec::new();
        for (name, kind) in [
            (
                "slack",
                taonado_monitor::ChannelKind::Slack {
                    url: receiver.url(),
                },
            ),
            (
                "discord",
                taonado_monitor::ChannelKind::Discord {
                    url: receiver.url(),
                },
            ),
        ] {
            let spec = taonado_monitor::ChannelSpec {
                name: name.into(),
                kind,
            };
            notifiers.push(Arc::from(
                taonado_monitor::build_notifier(&spec, &|_| None).unwrap(),
            ));
        }
        store
            .enqueue_test_alert(&["slack".to_owned(), "discord".to_owned()], "chat check", 0)
            .unwrap();
        let d = Dispatcher::new(
            store,
            "testnet".into(),
            notifiers,
            DeliveryPolicy::default(),
        );
        assert_eq!(d.deliver_due(0).await.unwrap().sent, 2);
        let bodies: Vec<serde_json::Value> = receiver.received().iter().map(|r| r.json()).collect();
        let expected = "[taonado testnet] TEST INFO: chat check";
        assert!(
            bodies.contains(&serde_json::json!({ "text": expected })),
            "{bodies:?}"
        );
        assert!(
            bodies.contains(&serde_json::json!({ "content": expected })),
            "{bodies:?}"
        );
        assert!(
            receiver
                .received()
                .iter()
                .all(|r| !r.header("idempotency-key").is_empty())
        );
    }
}

/// A message given up on one channel is told through the others (critical, naming the
/// channel and the requeue command), once; a dead-letter notice that dies itself is not
/// told again.
#[tokio::test]
async fn a_dead_letter_is_told_through_the_other_channels() {
    for store in
        taonado_store::testing::each_backend("a_dead_letter_is_told_through_the_other_channels")
    {
        let broken = Receiver::start().await;
        let working = Receiver::start().await;
        broken.refuse_with(Some(401));
        let notifiers: Vec<Arc<dyn Notifier>> = vec![
            Arc::new(WebhookNotifier::signed("broken", broken.url(), b"k".to_vec()).unwrap()),
            Arc::new(WebhookNotifier::signed("working", working.url(), b"k".to_vec()).unwrap()),
        ];
        let d = Dispatcher::new(
            store.clone(),
            "local".into(),
            notifiers,
            DeliveryPolicy::default(),
        );
        let rules: BTreeSet<String> = ["gas_used".to_owned()].into();
        store.apply_alerts(&[alert("a")], &rules, 100).unwrap();
        let first = d.deliver_due(100).await.unwrap();
        assert_eq!((first.sent, first.dead), (1, 1), "{first:?}");
        // The notice is queued as the message dies and goes out on the next round.
        assert_eq!(d.deliver_due(100).await.unwrap().sent, 1);
        let received = working.received();
        assert_eq!(received.len(), 2, "the alert, then the dead-letter notice");
        let notice = received[1].json();
        assert_eq!(notice["alert"]["rule"], "notification_given_up");
        assert_eq!(notice["alert"]["severity"], "critical");
        let summary = notice["alert"]["summary"].as_str().unwrap();
        assert!(
            summary.contains("broken") && summary.contains("alerts requeue"),
            "{summary}"
        );
        // Nothing more: the notice went only to the working channel.
        assert_eq!(d.deliver_due(10_000).await.unwrap().sent, 0);
        assert_eq!(store.outbox_counts().unwrap().dead, 1);
    }
}

/// A webhook URL is a credential (Slack's and Discord's carry the token in the path): a
/// failed delivery's error, which is logged and kept in `outbox.last_error`, names the host
/// only.
#[tokio::test]
async fn a_failed_delivery_never_shows_the_webhook_url() {
    for store in
        taonado_store::testing::each_backend("a_failed_delivery_never_shows_the_webhook_url")
    {
        // Port 9 on loopback: nothing listens, the connection is refused at once.
        let url: url::Url = "http://127.0.0.1:9/services/T000/B000/SECRETTOKEN"
            .parse()
            .unwrap();
        let hook: Arc<dyn Notifier> =
            Arc::new(WebhookNotifier::signed("hook", url, b"k".to_vec()).unwrap());
        let keys = store
            .enqueue_test_alert(&["hook".to_owned()], "t", 0)
            .unwrap();
        let d = Dispatcher::new(
            store.clone(),
            "local".into(),
            vec![hook],
            DeliveryPolicy::default(),
        );
        let report = d.deliver_due(0).await.unwrap();
        assert_eq!(report.retrying, 1, "{report:?}");
        assert!(!report.errors[0].contains("SECRETTOKEN"), "{report:?}");
        let kept = store.message(&keys[0]).unwrap().unwrap();
        let last_error = kept.last_error.unwrap_or_default();
        assert!(last_error.contains("127.0.0.1"), "{last_error}");
        assert!(!last_error.contains("SECRETTOKEN"), "{last_error}");
    }
}
