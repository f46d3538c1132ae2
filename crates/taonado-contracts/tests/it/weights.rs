//! WeightsV2 / WeightsV3: balances to weights, the reference results and the V3 defects.

use alloy_primitives::{Address, B256, U256};
use taonado_contracts::{
    METAGRAPH_PRECOMPILE,
    bindings::{WeightsV2, WeightsV3, mocks::MockMetagraph},
};

use crate::{
    evm::{Tx, b32, ether},
    fixtures::{Mining, NETUID, pool_deposit, register},
};

/// Hotkeys of uids 0 (burn), 1 and 2.
const HOTKEYS: [u64; 3] = [0xb0, 0xa1, 0xa2];

fn subnet(miner1: u64, miner2: u64) -> Mining {
    let mut m = Mining::new();
    let hotkeys: Vec<B256> = HOTKEYS.iter().map(|&h| b32(h)).collect();
    register(&mut m.evm, m.owner, &hotkeys);
    for (contract, owner) in [(m.weights_v2, m.owner), (m.weights_v3, m.owner)] {
        m.evm
            .exec(Tx::call(
                owner,
                contract,
                &WeightsV3::setDepositGoalCall {
                    _depositGoal: ether(1000),
                },
            ))
            .expect_success();
    }
    m.miner(1, b32(HOTKEYS[1]), ether(miner1));
    m.miner(2, b32(HOTKEYS[2]), ether(miner2));
    m
}

fn normalized_v3(m: &mut Mining) -> (Vec<u16>, Vec<u16>) {
    let r = m
        .evm
        .view(m.weights_v3, &WeightsV3::getNormalizedWeightsCall {});
    (r.dests, r.normalized)
}

fn normalized_v2(m: &mut Mining) -> (Vec<u16>, Vec<u16>) {
    let r = m
        .evm
        .view(m.weights_v2, &WeightsV2::getNormalizedWeightsCall {});
    (r.dests, r.normalized)
}

#[test]
fn reference_results_goal_1000_uids_burn_1_2() {
    let cases: [((u64, u64), [u16; 3]); 5] = [
        ((0, 0), [65535, 0, 0]),
        ((1, 1), [65403, 65, 65]),
        ((450, 450), [6553, 29490, 29490]),
        ((550, 450), [0, 36044, 29490]),
        ((9000, 1000), [0, 58981, 6553]),
    ];
    for ((a, b), expected) in cases {
        let mut m = subnet(a, b);
        assert_eq!(
            normalized_v3(&mut m),
            (vec![0, 1, 2], expected.to_vec()),
            "V3 with {a} + {b} TAO"
        );
        assert_eq!(
            normalized_v2(&mut m),
            (vec![0, 1, 2], expected.to_vec()),
            "V2 with {a} + {b} TAO"
        );
    }
}

#[test]
fn raw_weights_put_the_shortfall_on_the_burn_uid() {
    let mut m = subnet(300, 200);
    let r = m.evm.view(m.weights_v3, &WeightsV3::getWeightsCall {});
    assert_eq!(r.dests, vec![0, 1, 2]);
    assert_eq!(r.weights, vec![ether(500), ether(300), ether(200)]);
}

#[test]
fn v3_counts_lifetime_pool_deposits_and_v2_does_not() {
    let mut m = subnet(450, 450);
    // Miner 1 moves 200 of its WTAO into the pool: its balance drops by 200 but its lifetime
    // deposits rise by 200, so V3 is unchanged while V2 loses it.
    let miner1 = crate::evm::account(1);
    let (wtao, pool) = (m.wtao, m.pool);
    m.evm
        .exec(Tx::call(
            miner1,
            wtao,
            &taonado_contracts::bindings::WTAO::withdrawCall { wad: ether(200) },
        ))
        .expect_success();
    pool_deposit(&mut m.evm, wtao, pool, miner1, b32(1), ether(100)).expect_success();
    pool_deposit(&mut m.evm, wtao, pool, miner1, b32(2), ether(100)).expect_success();
    assert_eq!(normalized_v3(&mut m).1, vec![6553, 29490, 29490]);
    assert_eq!(normalized_v2(&mut m).1, vec![19660, 16383, 29490]);
}

#[test]
fn only_the_first_100_associations_of_a_hotkey_count() {
    let mut m = subnet(0, 0);
    let hotkey = b32(HOTKEYS[1]);
    for n in 0..101u64 {
        m.miner(1_000 + n, hotkey, ether(1));
    }
    let r = m.evm.view(m.weights_v3, &WeightsV3::getWeightsCall {});
    // Miner 1 (nothing wrapped) is the hotkey's first association, so of the 101 new ones
    // holding 1 WTAO each only 99 count.
    assert_eq!(
        r.weights[1],
        ether(99),
        "associations past the 100th are ignored"
    );
    assert_eq!(
        m.evm
            .view(m.weights_v3, &WeightsV3::MAX_ASSOCIATIONS_PER_HOTKEYCall {}),
        U256::from(100)
    );
}

#[test]
fn getters_report_the_constructor_arguments() {
    let mut m = Mining::new();
    let w = m.weights_v3;
    assert_eq!(m.evm.view(w, &WeightsV3::netuidCall {}), NETUID);
    assert_eq!(m.evm.view(w, &WeightsV3::getNetuidCall {}), NETUID);
    assert_eq!(m.evm.view(w, &WeightsV3::burn_uidCall {}), 0);
    assert_eq!(m.evm.view(w, &WeightsV3::depositTrackerCall {}), m.tracker);
    assert_eq!(
        m.evm.view(w, &WeightsV3::metagraphCall {}),
        METAGRAPH_PRECOMPILE
    );
    assert_eq!(m.evm.view(w, &WeightsV3::wtaoCall {}), m.wtao);
    assert_eq!(m.evm.view(w, &WeightsV3::taonadoCall {}), m.pool);
    assert_eq!(m.evm.view(w, &WeightsV3::ownerCall {}), m.owner);
    assert_eq!(m.evm.view(m.weights_v2, &WeightsV2::wtaoCall {}), m.wtao);
}

#[test]
fn set_deposit_goal_is_owner_only() {
    let mut m = Mining::new();
    let stranger = m.evm.funded_account(9, ether(1));
    for weights in [m.weights_v2, m.weights_v3] {
        let receipt = m.evm.exec(Tx::call(
            stranger,
            weights,
            &WeightsV3::setDepositGoalCall {
                _depositGoal: U256::from(1),
            },
        ));
        let err = receipt.custom_error::<WeightsV3::OwnableUnauthorizedAccount>();
        assert_eq!(
            err.map(|e| e.account),
            Some(stranger),
            "{}",
            receipt.describe()
        );
        let set = m.evm.exec(Tx::call(
            m.owner,
            weights,
            &WeightsV3::setDepositGoalCall {
                _depositGoal: ether(5),
            },
        ));
        set.expect_success();
        assert!(
            set.logs.is_empty(),
            "defect kept: configuration changes emit no event"
        );
        assert_eq!(
            m.evm.view(weights, &WeightsV3::depositGoalCall {}),
            ether(5)
        );
    }
}

#[test]
fn defect_goal_zero_without_deposits_divides_by_zero() {
    let mut m = subnet(0, 0);
    m.evm
        .exec(Tx::call(
            m.owner,
            m.weights_v3,
            &WeightsV3::setDepositGoalCall {
                _depositGoal: U256::ZERO,
            },
        ))
        .expect_success();
    let receipt = m.evm.simulate(Tx::call(
        Address::ZERO,
        m.weights_v3,
        &WeightsV3::getNormalizedWeightsCall {},
    ));
    assert_eq!(receipt.panic_code(), Some(0x12), "{}", receipt.describe());
}

#[test]
fn defect_no_uids_reverts() {
    let mut m = Mining::new();
    m.evm
        .exec(Tx::call(
            m.owner,
            METAGRAPH_PRECOMPILE,
            &MockMetagraph::setUidCountCall {
                netuid: NETUID,
                count: 0,
            },
        ))
        .expect_success();
    let receipt = m.evm.simulate(Tx::call(
        Address::ZERO,
        m.weights_v3,
        &WeightsV3::getWeightsCall {},
    ));
    assert_eq!(receipt.panic_code(), Some(0x32), "{}", receipt.describe());
}
