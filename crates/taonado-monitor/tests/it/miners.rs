//! The dashboard's per-miner view from a real chain: a miner registers, wraps, associates
//! and deposits to a pool, the EvmValidator sets weights and an epoch runs; after the next
//! snapshot the monitor shows the uid with its hotkey, address, WTAO, lifetime deposits,
//! the weight on chain equal to the recomputed one, and the epoch's incentive and emission.

use alloy::primitives::{B256, U256, keccak256};
use alloy::providers::Provider;
use taonado_contracts::bindings::{DepositTracker, ERC20Taonado, WTAO};
use taonado_monitor::RuleSettings;
use taonado_ops::validator::{ValidatorMode, set_weights};
use taonado_ops::{LocalSubnet, SubnetKind};
use taonado_types::AccountId32;

use crate::stack::{Stack, TAO};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_miner_view_shows_a_miners_addresses_deposits_weights_and_emission() {
    let dir = tempfile::tempdir().unwrap();
    for db in taonado_store::testing::each_database(
        "the_per_miner_view_shows_a_miners_addresses_deposits_weights_and_emission",
        dir.path(),
    ) {
        let stack = Stack::start_on(&db).await;
        let p = &stack.provider;
        let me = p.get_accounts().await.unwrap()[0];
        let hotkey = keccak256("monitor-miners-test-hotkey");
        let subnet = LocalSubnet::new(p.clone(), SubnetKind::Devnet, 2, me);
        let uid = subnet.register(hotkey, B256::repeat_byte(7)).await.unwrap();
        assert!(uid > 0, "the burn uid is taken at deployment");

        let wtao = WTAO::new(stack.contracts.wtao.unwrap(), p);
        let send = |call: alloy::rpc::types::TransactionRequest| async move {
            let r = p
                .send_transaction(call)
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(r.status());
        };
        send(
            wtao.deposit()
                .value(U256::from(3 * TAO))
                .into_transaction_request(),
        )
        .await;
        let tracker = DepositTracker::new(stack.contracts.deposit_tracker.unwrap(), p);
        send(tracker.associate(hotkey).into_transaction_request()).await;
        let pool = stack.pool(1);
        let denomination = U256::from(TAO);
        send(wtao.approve(pool, denomination).into_transaction_request()).await;
        send(
            ERC20Taonado::new(pool, p)
                .deposit(B256::with_last_byte(9))
                .into_transaction_request(),
        )
        .await;
        // The deployment's own weight set was just now: lift the rate limit for this one.
        subnet
            .set_hyperparameter("weights_set_rate_limit", serde_json::json!(0))
            .await
            .unwrap();
        let validator = stack.contracts.evm_validator.unwrap();
        set_weights(p, me, validator, ValidatorMode::Operator)
            .await
            .unwrap();
        let tempo = subnet.tempo().await.unwrap().unwrap();
        subnet.mine(tempo + 1).await.unwrap();

        let monitor = stack.monitor(RuleSettings::default(), Vec::new());
        stack.step(&monitor, 1_000).await;
        let (view, error) = {
            let live = monitor.live();
            let live = live.lock().unwrap();
            (live.miners.clone(), live.miners_error.clone())
        };
        assert_eq!(error, None);
        let view = view.expect("the per-miner view");
        assert_eq!(view.mismatches, 0, "{view:#?}");
        assert!(
            view.weights_contract.starts_with("WeightsV3 0x"),
            "{view:#?}"
        );
        let miner = view
            .miners
            .iter()
            .find(|m| m.uid == uid)
            .unwrap_or_else(|| panic!("uid {uid} in {view:#?}"));
        assert_eq!(miner.hotkey, AccountId32(hotkey.0).to_ss58());
        assert_eq!(miner.addresses.len(), 1);
        assert_eq!(miner.addresses[0].address, format!("{me:#x}"));
        // 3 TAO wrapped, 1 of them deposited into the 1 TAO pool.
        assert_eq!(miner.wtao_tao, "2");
        assert_eq!(miner.lifetime_deposits_tao, "1");
        let weight = miner.weight_onchain.expect("a weight on chain");
        assert!(weight > 0, "{miner:#?}");
        assert_eq!(miner.weight_recomputed, Some(weight));
        assert!(miner.incentive > 0, "the epoch paid the miner: {miner:#?}");
        assert_ne!(miner.emission_tao, "0", "{miner:#?}");
        let burn = view.miners.iter().find(|m| m.uid == 0).unwrap();
        assert!(burn.burn && burn.addresses.is_empty());
        stack.devnet.shutdown().await.unwrap();
    }
}
