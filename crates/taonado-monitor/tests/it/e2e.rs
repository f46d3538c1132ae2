//! Each alert condition caused on the dev chain, seen firing and delivered to a signed
//! webhook, then resolving once it leaves the window.

use std::collections::BTreeSet;
use std::sync::Arc;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use taonado_contracts::bindings::{ERC20Taonado, WTAO};
use taonado_monitor::rules::*;
use taonado_monitor::{Notifier, RuleSettings, WebhookNotifier};

use crate::receiver::Receiver;
use crate::stack::{Stack, TAO};

const SECRET: &[u8] = b"e2e-secret";

fn rules(report: &[taonado_store::alerts::AlertRecord]) -> BTreeSet<String> {
    report.iter().map(|a| a.rule.clone()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_conditions_on_the_dev_chain_are_delivered_signed_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    for db in taonado_store::testing::each_database(
        "alert_conditions_on_the_dev_chain_are_delivered_signed_and_resolve",
        dir.path(),
    ) {
        let stack = Stack::start_on(&db).await;
        let receiver = Receiver::start().await;
        let hook: Arc<dyn Notifier> =
            Arc::new(WebhookNotifier::signed("hook", receiver.url(), SECRET.to_vec()).unwrap());
        let settings = RuleSettings {
            window_blocks: 30,
            min_transactions: 1,
            tx_success_rate_min: 0.99,
            // Any priced transaction is "expensive", so the rule fires on the deployment's.
            avg_gas_price_max_gwei: 1e-9,
            weight_interval_max_blocks: 5,
            gas_used_max: 300_000,
            // Funded with 10 TAO at deployment.
            validator_balance_min_tao: "100".into(),
            ..RuleSettings::default()
        };
        let monitor = stack.monitor(settings, vec![hook]);

        // 1. Right after the deployment.
        let first = stack.step(&monitor, 1_000).await;
        assert_eq!(
            rules(&first.fired),
            set(&[GAS_PRICE, WEIGHT_INTERVAL, VALIDATOR_BALANCE_LOW]),
            "{:#?}",
            first.fired
        );
        assert_eq!(receiver.received().len(), 3);

        // 2. Cause the rest: a pool deposit (gas above 300k), WTAO sent straight to the pool
        //    (balance != denomination x deposits), native TAO forced into WTAO (supply !=
        //    balance), and a reverted deposit (failed tx, success rate).
        let p = &stack.provider;
        let wtao_address = stack.contracts.wtao.unwrap();
        let wtao = WTAO::new(wtao_address, p);
        let pool_address = stack.pool(0);
        let pool = ERC20Taonado::new(pool_address, p);
        wtao.deposit()
            .value(U256::from(TAO))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        wtao.approve(pool_address, U256::from(TAO))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let commitment = B256::with_last_byte(7);
        let ok = pool
            .deposit(commitment)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(
            ok.status() && ok.gas_used > 300_000,
            "deposit used {} gas",
            ok.gas_used
        );
        wtao.transfer(pool_address, U256::from(TAO / 20))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let supply = wtao.totalSupply().call().await.unwrap();
        let _: serde_json::Value = p
            .raw_request(
                "anvil_setBalance".into(),
                (wtao_address, supply + U256::from(1u64)),
            )
            .await
            .unwrap();
        // The same commitment again reverts; a fixed gas limit skips the estimate that would refuse it.
        let failed = pool
            .deposit(commitment)
            .gas(3_000_000)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(!failed.status());

        let second = stack.step(&monitor, 1_010).await;
        assert_eq!(
            rules(&second.fired),
            set(&[
                FAILED_TRANSACTION,
                TX_SUCCESS_RATE,
                GAS_USED,
                POOL_BALANCE_DISCREPANCY,
                WTAO_SUPPLY_DISCREPANCY
            ]),
            "{:#?}",
            second.fired
        );
        assert!(second.errors.is_empty(), "{:?}", second.errors);

        // Every delivery is signed, carries its idempotency key, and announces a stored alert.
        let received = receiver.received();
        assert_eq!(received.len(), 8);
        let mut keys = BTreeSet::new();
        for r in &received {
            assert!(r.signature_valid(SECRET), "bad signature on {:?}", r.json());
            assert!(!r.signature_valid(b"wrong"));
            let key = r.header("idempotency-key");
            assert_eq!(r.json()["idempotency_key"], key);
            assert!(keys.insert(key), "duplicate delivery");
            assert_eq!(r.json()["transition"], "fired");
            assert_eq!(r.json()["network"], "local");
        }
        let failed_alert = received
            .iter()
            .map(|r| r.json())
            .find(|j| j["alert"]["rule"] == FAILED_TRANSACTION)
            .unwrap();
        assert_eq!(failed_alert["alert"]["severity"], "critical");
        assert_eq!(
            failed_alert["alert"]["details"]["tx"],
            format!("{:#x}", failed.transaction_hash)
        );
        // Why it failed, from the dev chain's debug_traceTransaction (callTracer).
        let reason = "reverted: \"The commitment has been submitted\"";
        assert_eq!(
            failed_alert["alert"]["details"]["revert_reason"], reason,
            "{failed_alert}"
        );
        assert!(
            failed_alert["alert"]["summary"]
                .as_str()
                .is_some_and(|m| m.ends_with(reason)),
            "{failed_alert}"
        );
        let trace = failed_alert["alert"]["details"]["call_trace"]
            .as_array()
            .expect("a call trace");
        assert!(
            trace[0]
                .as_str()
                .is_some_and(|line| line.starts_with("CALL Pool ")
                    && line.contains(" WTAO (0x")
                    && line.contains(reason)),
            "{trace:?}"
        );
        let firing = stack.store.firing_alerts().unwrap();
        assert_eq!(firing.len(), 8);
        assert_eq!(
            firing[0].severity,
            taonado_store::alerts::Severity::Critical
        );

        // 3. Nothing new: no new notifications.
        let same = stack.step(&monitor, 1_015).await;
        assert!(same.fired.is_empty() && same.resolved.is_empty());
        assert_eq!(receiver.received().len(), 8);

        // 4. The window moves past the failed and the heavy transactions: those resolve.
        stack.mine(40).await;
        let later = stack.step(&monitor, 1_020).await;
        assert_eq!(
            rules(&later.resolved),
            set(&[FAILED_TRANSACTION, TX_SUCCESS_RATE, GAS_USED, GAS_PRICE]),
            "{:#?}",
            later.resolved
        );
        let resolved: Vec<_> = receiver
            .received()
            .into_iter()
            .filter(|r| r.json()["transition"] == "resolved")
            .collect();
        assert_eq!(resolved.len(), 4);
        assert!(resolved.iter().all(|r| r.signature_valid(SECRET)));
        assert_eq!(
            rules(&stack.store.firing_alerts().unwrap()),
            set(&[
                WEIGHT_INTERVAL,
                VALIDATOR_BALANCE_LOW,
                POOL_BALANCE_DISCREPANCY,
                WTAO_SUPPLY_DISCREPANCY
            ])
        );

        // A restarted monitor's charts start from the stored snapshots.
        let restarted = stack.monitor(RuleSettings::default(), Vec::new());
        let seeded = restarted.seed_history().unwrap();
        assert!(seeded >= 1, "the indexer took snapshots");
        let live = restarted.live();
        let first = live.lock().unwrap().history[0].clone();
        assert!(first.wtao_supply_tao.is_some() && first.block.is_some());

        // Metrics reflect the chain.
        let text = monitor.metrics().encode();
        assert!(
            text.contains(&format!(
                "taonado_pool_anonymity_set{{pool=\"{:#x}\"}} 1.0",
                pool_address
            )),
            "{text}"
        );
        assert!(
            text.contains("taonado_alerts_firing{severity=\"critical\"} 2.0"),
            "{text}"
        );
        stack.devnet.shutdown().await.unwrap();
    }
}
