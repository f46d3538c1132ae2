use alloy::primitives::{Address, B256, U256};
use taonado_store::{ContractKind, SelfWithdrawal, TxRow, TxStats};

use super::*;
use crate::observe::{PoolObservation, WtaoObservation};

const TAO: u128 = 1_000_000_000_000_000_000;

/// A healthy observation: every rule evaluated, nothing firing.
fn healthy() -> Observation {
    Observation {
        at_unix: 1,
        head_block: Some(200),
        checkpoint_block: Some(200),
        gas_price_now_wei: Some(1_000_000_000),
        tx: Some(TxStats {
            total: 20,
            succeeded: 20,
            failed: 0,
            success_rate: Some(1.0),
            avg_gas_price_wei: Some(1e9),
            max_gas_price_wei: Some(1_000_000_000),
            total_gas_used: 1_000_000,
        }),
        last_weight_set_block: Some(150),
        weight_sets_in_window: 2,
        active_miners: Some(3),
        wtao: Some(WtaoObservation {
            address: Address::repeat_byte(0xaa),
            supply: U256::from(5 * TAO),
            native_balance: U256::from(5 * TAO),
            wrapped: Some(U256::from(5 * TAO)),
        }),
        pools_observed: true,
        pools: vec![PoolObservation {
            address: Address::repeat_byte(0xbb),
            denomination: U256::from(TAO),
            balance: U256::from(2 * TAO),
            deposits: 3,
            withdrawals: 1,
        }],
        validator_balance: Some(U256::from(10 * TAO)),
        ..Observation::default()
    }
}

fn tx(gas_used: u64, success: bool) -> TxRow {
    TxRow {
        hash: B256::repeat_byte(if success { 1 } else { 2 }),
        block_number: 190,
        timestamp: 0,
        from: Address::repeat_byte(3),
        to: Address::repeat_byte(0xbb),
        contract: ContractKind::Pool,
        function: "withdraw".into(),
        success,
        gas_used,
        effective_gas_price: 1,
    }
}

/// The rules that fire for `obs` under the defaults.
fn fired(obs: &Observation) -> Vec<String> {
    let mut rules: Vec<String> = evaluate(obs, &RuleSettings::default())
        .active
        .into_iter()
        .map(|a| a.rule)
        .collect();
    rules.dedup();
    rules
}

#[test]
fn healthy_state_fires_nothing_and_evaluates_every_rule() {
    let evaluation = evaluate(&healthy(), &RuleSettings::default());
    assert!(evaluation.active.is_empty(), "{:?}", evaluation.active);
    assert_eq!(evaluation.evaluated.len(), RULES.len());
}

/// A change to a healthy observation that should fire one rule.
type Change = Box<dyn Fn(&mut Observation)>;

#[test]
fn each_condition_fires_its_rule() {
    let cases: Vec<(&str, Change)> = vec![
        (
            TX_SUCCESS_RATE,
            Box::new(|o| {
                let t = o.tx.as_mut().unwrap();
                t.failed = 2;
                t.succeeded = 18;
                t.success_rate = Some(0.9);
            }),
        ),
        (
            GAS_PRICE,
            Box::new(|o| o.tx.as_mut().unwrap().avg_gas_price_wei = Some(51e9)),
        ),
        (
            WEIGHT_INTERVAL,
            Box::new(|o| o.last_weight_set_block = Some(79)),
        ),
        (
            WTAO_SUPPLY_DISCREPANCY,
            Box::new(|o| {
                // WETH9-style: the supply follows the balance; only the wrapped total differs.
                let w = o.wtao.as_mut().unwrap();
                w.native_balance += U256::from(1);
                w.supply += U256::from(1);
            }),
        ),
        (
            POOL_BALANCE_DISCREPANCY,
            Box::new(|o| o.pools[0].withdrawals = 2),
        ),
        (
            FAILED_TRANSACTION,
            Box::new(|o| o.failed_txs = vec![tx(50_000, false)]),
        ),
        (
            GAS_USED,
            Box::new(|o| o.recent_txs = vec![tx(2_000_001, true)]),
        ),
        (
            VALIDATOR_BALANCE_LOW,
            Box::new(|o| o.validator_balance = Some(U256::from(TAO / 100))),
        ),
        (
            SELF_WITHDRAWAL,
            Box::new(|o| {
                o.self_withdrawals = vec![SelfWithdrawal {
                    pool: Address::repeat_byte(0xbb),
                    address: Address::repeat_byte(3),
                    deposit_block: 100,
                    withdrawal_block: 120,
                }]
            }),
        ),
    ];
    assert_eq!(cases.len(), RULES.len(), "every rule has a case");
    for (rule, change) in cases {
        let mut obs = healthy();
        change(&mut obs);
        assert_eq!(fired(&obs), vec![rule.to_owned()], "{rule}");
    }
}

#[test]
fn thresholds_are_strict_at_the_boundary() {
    let mut obs = healthy();
    obs.tx.as_mut().unwrap().avg_gas_price_wei = Some(50e9);
    obs.last_weight_set_block = Some(80); // exactly 120 blocks
    obs.recent_txs = vec![tx(2_000_000, true)];
    obs.validator_balance = Some(U256::from(TAO / 10));
    assert!(fired(&obs).is_empty());
}

#[test]
fn an_unknown_wrapped_total_only_compares_supply_and_balance() {
    let mut obs = healthy();
    let w = obs.wtao.as_mut().unwrap();
    w.wrapped = None;
    w.native_balance += U256::from(1);
    w.supply += U256::from(1);
    assert!(fired(&obs).is_empty());
    obs.wtao.as_mut().unwrap().supply -= U256::from(1);
    assert_eq!(fired(&obs), vec![WTAO_SUPPLY_DISCREPANCY.to_owned()]);
}

#[test]
fn too_few_transactions_do_not_make_a_rate() {
    let mut obs = healthy();
    let t = obs.tx.as_mut().unwrap();
    *t = TxStats {
        total: 2,
        succeeded: 1,
        failed: 1,
        success_rate: Some(0.5),
        ..t.clone()
    };
    assert!(fired(&obs).is_empty());
}

#[test]
fn missing_inputs_leave_rules_unevaluated() {
    let obs = Observation::default();
    let evaluation = evaluate(&obs, &RuleSettings::default());
    assert!(evaluation.active.is_empty());
    assert!(
        evaluation.evaluated.is_empty(),
        "{:?}",
        evaluation.evaluated
    );
    let mut partial = healthy();
    partial.pools_observed = false;
    partial.wtao = None;
    let evaluated = evaluate(&partial, &RuleSettings::default()).evaluated;
    assert!(!evaluated.contains(POOL_BALANCE_DISCREPANCY));
    assert!(!evaluated.contains(WTAO_SUPPLY_DISCREPANCY));
}

#[test]
fn disabled_rules_neither_fire_nor_resolve() {
    let mut obs = healthy();
    obs.failed_txs = vec![tx(1, false)];
    let settings = RuleSettings {
        disabled: vec![FAILED_TRANSACTION.into()],
        ..RuleSettings::default()
    };
    let evaluation = evaluate(&obs, &settings);
    assert!(evaluation.active.is_empty());
    assert!(!evaluation.evaluated.contains(FAILED_TRANSACTION));
}

#[test]
fn dedup_keys_name_the_rule_and_the_subject() {
    let mut obs = healthy();
    obs.failed_txs = vec![tx(1, false)];
    let alert = &evaluate(&obs, &RuleSettings::default()).active[0];
    assert_eq!(
        alert.dedup_key,
        format!("failed_transaction:{:#x}", B256::repeat_byte(2))
    );
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.block, Some(200));
}

mod pool_invariant {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_pool_matching_its_events_never_fires(denomination in 1u64..u64::MAX, deposits in 0u64..10_000, withdrawn in 0u64..10_000) {
            let withdrawals = withdrawn.min(deposits);
            let mut obs = healthy();
            obs.pools[0] = PoolObservation {
                address: Address::repeat_byte(0xbb),
                denomination: U256::from(denomination),
                balance: U256::from(denomination) * U256::from(deposits - withdrawals),
                deposits,
                withdrawals,
            };
            prop_assert!(fired(&obs).is_empty());
            prop_assert!(pool_consistent(obs.pools[0].balance, obs.pools[0].denomination, deposits, withdrawals));
            obs.pools[0].balance += U256::from(1);
            prop_assert_eq!(fired(&obs), vec![POOL_BALANCE_DISCREPANCY.to_owned()]);
        }
    }
}

#[test]
fn every_enabled_rule_reads_its_value_for_a_resolution() {
    let settings = RuleSettings::default();
    let mut obs = healthy();
    // A storm: most transactions failed, the rate is below the minimum and the alert fires.
    if let Some(t) = obs.tx.as_mut() {
        t.failed = 14;
        t.succeeded = 16;
        t.total = 30;
        t.success_rate = Some(16.0 / 30.0);
    }
    let storm = evaluate(&obs, &settings);
    assert!(storm.active.iter().any(|a| a.rule == TX_SUCCESS_RATE));
    // Recovered: the rule's reading is the recovered value, not the text it fired with.
    let recovered = evaluate(&healthy(), &settings);
    let reading = &recovered.readings[&format!("{TX_SUCCESS_RATE}:protocol")];
    assert!(
        reading.contains("100.0%") && !reading.contains("below"),
        "{reading}"
    );
    for alert in &storm.active {
        assert!(
            recovered.readings.contains_key(&alert.dedup_key)
                || recovered.readings.contains_key(&alert.rule),
            "no reading resolves {}",
            alert.dedup_key
        );
    }
    // Every rule a healthy observation evaluates has a reading.
    for rule in &recovered.evaluated {
        assert!(
            recovered
                .readings
                .keys()
                .any(|k| k == rule || k.starts_with(&format!("{rule}:"))),
            "{rule} has no reading"
        );
    }
}
