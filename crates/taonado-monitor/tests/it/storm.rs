//! Issue #25's storm on the dev chain: seven reverted transactions in two minutes used to
//! be 7 FIRING and 7 RESOLVED messages per channel. Grouped by rule (the defaults), each
//! channel gets the first at once and one digest when they resolved; a critical alert of
//! another rule in the middle of the storm goes out at the step it fired. The clock is
//! explicit: every step passes its own `now`.

use std::sync::Arc;

use alloy::primitives::U256;
use alloy::providers::Provider;
use taonado_contracts::bindings::WTAO;
use taonado_monitor::rules::*;
use taonado_monitor::{Grouping, Notifier, RuleSettings, WebhookNotifier};

use crate::receiver::{Received, Receiver};
use crate::stack::{Stack, TAO};

/// The rule a webhook delivery announces.
fn rule(r: &Received) -> String {
    r.json()["alert"]["rule"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn count(received: &[Received], name: &str) -> usize {
    received.iter().filter(|r| rule(r) == name).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_reverted_transactions_are_two_messages_per_channel_and_another_critical_is_not_delayed()
 {
    let dir = tempfile::tempdir().unwrap();
    for db in taonado_store::testing::each_database(
        "seven_reverted_transactions_are_two_messages_per_channel_and_another_critical_is_not_delayed",
        dir.path(),
    ) {
        let stack = Stack::start_on(&db).await;
        let hook = Receiver::start().await;
        let slack = Receiver::start().await;
        let notifiers: Vec<Arc<dyn Notifier>> = vec![
            Arc::new(WebhookNotifier::signed("hook", hook.url(), b"s".to_vec()).unwrap()),
            Arc::from(
                taonado_monitor::build_notifier(
                    &taonado_monitor::ChannelSpec {
                        name: "slack".into(),
                        kind: taonado_monitor::ChannelKind::Slack { url: slack.url() },
                    },
                    &|_| None,
                )
                .unwrap(),
            ),
        ];
        let settings = RuleSettings {
            window_blocks: 30,
            disabled: [GAS_PRICE, WEIGHT_INTERVAL, VALIDATOR_BALANCE_LOW, GAS_USED]
                .map(String::from)
                .into(),
            ..RuleSettings::default()
        };
        let monitor = stack.grouped_monitor(settings, notifiers, Grouping::default());
        let quiet = stack.step(&monitor, 1_000).await;
        assert!(quiet.fired.is_empty(), "{:#?}", quiet.fired);

        let wtao_address = stack.contracts.wtao.unwrap();
        let wtao = WTAO::new(wtao_address, &stack.provider);
        let mut reverted = Vec::new();
        let mut other_critical_seen_at = None;
        for i in 0..7u64 {
            // Withdrawing more WTAO than held reverts; a fixed gas limit skips the estimate.
            let receipt = wtao
                .withdraw(U256::from(1_000_000 * TAO))
                .gas(200_000)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(!receipt.status());
            reverted.push(receipt.transaction_hash);
            if i == 3 {
                // In the middle of the storm, a critical of another rule: TAO forced into WTAO.
                let balance = stack.provider.get_balance(wtao_address).await.unwrap();
                let _: serde_json::Value = stack
                    .provider
                    .raw_request(
                        "anvil_setBalance".into(),
                        (wtao_address, balance + U256::from(1u64)),
                    )
                    .await
                    .unwrap();
            }
            let now = 1_000 + 20 * i;
            let report = stack.step(&monitor, now).await;
            if report
                .fired
                .iter()
                .any(|a| a.rule == WTAO_SUPPLY_DISCREPANCY)
            {
                other_critical_seen_at = Some(now);
                // Delivered in the same step, on every channel.
                assert_eq!(count(&hook.received(), WTAO_SUPPLY_DISCREPANCY), 1);
                assert_eq!(slack.received().len(), hook.received().len());
            }
        }
        assert_eq!(other_critical_seen_at, Some(1_060));
        assert_eq!(
            stack
                .store
                .firing_alerts()
                .unwrap()
                .iter()
                .filter(|a| a.rule == FAILED_TRANSACTION)
                .count(),
            7
        );
        // The first reverted transaction went out at once, on its own.
        let during = hook.received();
        assert_eq!(count(&during, FAILED_TRANSACTION), 1);
        let first = during
            .iter()
            .find(|r| rule(r) == FAILED_TRANSACTION)
            .unwrap();
        assert_eq!(
            first.json()["alert"]["details"]["tx"],
            format!("{:#x}", reverted[0])
        );

        // The window passes the storm: everything resolves; the digest waits for the group
        // interval (300 s after the first message), the success rate's for its own.
        stack.mine(40).await;
        let resolved = stack.step(&monitor, 1_200).await;
        assert_eq!(
            resolved
                .resolved
                .iter()
                .filter(|a| a.rule == FAILED_TRANSACTION)
                .count(),
            7
        );
        assert_eq!(count(&hook.received(), FAILED_TRANSACTION), 1);
        stack.step(&monitor, 1_300).await;
        stack.step(&monitor, 1_500).await;
        stack.step(&monitor, 10_000).await;

        for (name, received) in [("hook", hook.received()), ("slack", slack.received())] {
            assert_eq!(received.len(), 5, "{name}: {received:#?}");
            assert_eq!(
                received.len(),
                2 + 2 + 1,
                "{name}: the storm twice, the success rate twice, the other critical once"
            );
        }
        let hooked = hook.received();
        assert_eq!(count(&hooked, FAILED_TRANSACTION), 2);
        assert_eq!(count(&hooked, TX_SUCCESS_RATE), 2);
        assert_eq!(count(&hooked, WTAO_SUPPLY_DISCREPANCY), 1);
        let digest = hooked
            .iter()
            .map(Received::json)
            .find(|j| j["digest"].is_object())
            .expect("the storm's digest");
        assert_eq!(digest["transition"], "resolved");
        assert_eq!(digest["digest"]["fired_total"], 7);
        assert_eq!(digest["digest"]["new_fired"], 6);
        assert_eq!(digest["digest"]["new_resolved"], 7);
        assert!(hooked.iter().all(|r| r.signature_valid(b"s")));
        let texts: Vec<String> = slack
            .received()
            .iter()
            .map(|r| r.json()["text"].as_str().unwrap().to_owned())
            .collect();
        let digest_text = texts
            .iter()
            .find(|t| t.contains("reverted transactions"))
            .expect("the digest's headline");
        assert!(
            digest_text.starts_with("[taonado local] RESOLVED CRITICAL")
                && digest_text.contains("7 reverted transactions in 2 min")
                && digest_text.contains("7 resolved")
                && digest_text.contains("now no longer among"),
            "{digest_text}"
        );
        let rate_resolved = texts
            .iter()
            .find(|t| t.contains("RESOLVED") && t.contains("success rate"))
            .expect("the success rate's resolution");
        assert!(rate_resolved.contains("now "), "{rate_resolved}");
        stack.devnet.shutdown().await.unwrap();
    }
}
