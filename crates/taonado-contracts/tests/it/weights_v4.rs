//! WeightsV4: V3's weights wherever V3 is defined, and V3's defects fixed.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolConstructor;
use proptest::prelude::*;
use taonado_contracts::{
    Contract, METAGRAPH_PRECOMPILE,
    bindings::{WeightsV3, WeightsV4},
};

use crate::{
    evm::{Receipt, Tx, b32, ether},
    fixtures::{Mining, NETUID, register},
};

const HOTKEYS: [u64; 3] = [0xb0, 0xa1, 0xa2];

/// V3 and V4 over the same tracker, WTAO and pool, both with goal 1000 TAO.
struct Both {
    m: Mining,
    v4: Address,
}

impl Both {
    fn new(uids: usize) -> Self {
        let mut m = Mining::new();
        let hotkeys: Vec<B256> = (0..uids as u64)
            .map(|i| b32(HOTKEYS.get(i as usize).copied().unwrap_or(0xc0 + i)))
            .collect();
        register(&mut m.evm, m.owner, &hotkeys);
        let args = WeightsV4::constructorCall {
            _netuid: NETUID,
            _depositTracker: m.tracker,
            _metagraph: METAGRAPH_PRECOMPILE,
            _wtao: m.wtao,
            _taonado: m.pool,
        }
        .abi_encode();
        let v4 = m.evm.deploy(m.owner, Contract::WeightsV4, &args);
        let mut both = Both { m, v4 };
        both.set_goal(ether(1000));
        both
    }

    fn set_goal(&mut self, goal: U256) -> Receipt {
        let (owner, v3, v4) = (self.m.owner, self.m.weights_v3, self.v4);
        self.m
            .evm
            .exec(Tx::call(
                owner,
                v3,
                &WeightsV3::setDepositGoalCall { _depositGoal: goal },
            ))
            .expect_success();
        self.m.evm.exec(Tx::call(
            owner,
            v4,
            &WeightsV4::setDepositGoalCall { _depositGoal: goal },
        ))
    }

    fn v3(&mut self) -> Result<(Vec<u16>, Vec<u16>), Receipt> {
        let r = self.m.evm.simulate(Tx::call(
            Address::ZERO,
            self.m.weights_v3,
            &WeightsV3::getNormalizedWeightsCall {},
        ));
        if !r.success() {
            return Err(r);
        }
        let out = r.decode::<WeightsV3::getNormalizedWeightsCall>();
        Ok((out.dests, out.normalized))
    }

    fn v4(&mut self) -> (Vec<u16>, Vec<u16>) {
        let r = self
            .m
            .evm
            .view(self.v4, &WeightsV4::getNormalizedWeightsCall {});
        (r.dests, r.normalized)
    }
}

#[test]
fn reference_results_equal_v3() {
    let cases: [((u64, u64), [u16; 3]); 5] = [
        ((0, 0), [65535, 0, 0]),
        ((1, 1), [65403, 65, 65]),
        ((450, 450), [6553, 29490, 29490]),
        ((550, 450), [0, 36044, 29490]),
        ((9000, 1000), [0, 58981, 6553]),
    ];
    for ((a, b), expected) in cases {
        let mut w = Both::new(3);
        w.m.miner(1, b32(HOTKEYS[1]), ether(a));
        w.m.miner(2, b32(HOTKEYS[2]), ether(b));
        let v4 = w.v4();
        assert_eq!(v4, (vec![0, 1, 2], expected.to_vec()), "{a} + {b}");
        assert_eq!(w.v3().ok(), Some(v4), "{a} + {b}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn v4_equals_v3_wherever_v3_is_defined(
        uids in 1usize..5,
        deposits in prop::collection::vec(0u64..3000, 0..5),
        goal in 0u64..2000,
    ) {
        let mut w = Both::new(uids);
        w.set_goal(ether(goal)).expect_success();
        for (n, amount) in deposits.iter().enumerate() {
            let uid = n % uids;
            w.m.miner(10 + n as u64, b32(HOTKEYS.get(uid).copied().unwrap_or(0xc0 + uid as u64)), ether(*amount));
        }
        if let Ok(v3) = w.v3() {
            prop_assert_eq!(w.v4(), v3);
        }
    }
}

#[test]
fn fixed_goal_zero_without_deposits_burns_everything() {
    let mut w = Both::new(3);
    w.set_goal(U256::ZERO).expect_success();
    assert_eq!(w.v3().err().and_then(|r| r.panic_code()), Some(0x12));
    assert_eq!(w.v4(), (vec![0, 1, 2], vec![65535, 0, 0]));
}

#[test]
fn fixed_an_empty_subnet_gives_empty_arrays() {
    let mut w = Both::new(0);
    assert_eq!(w.v3().err().and_then(|r| r.panic_code()), Some(0x32));
    assert_eq!(w.v4(), (vec![], vec![]));
    let raw = w.m.evm.view(w.v4, &WeightsV4::getWeightsCall {});
    assert!(raw.dests.is_empty() && raw.weights.is_empty());
}

#[test]
fn fixed_burn_uid_is_settable_owner_only_and_evented() {
    let mut w = Both::new(3);
    w.m.miner(1, b32(HOTKEYS[1]), ether(300));
    w.m.miner(2, b32(HOTKEYS[2]), ether(200));
    let (owner, v4) = (w.m.owner, w.v4);
    let stranger = w.m.evm.funded_account(9, ether(1));
    let denied = w.m.evm.exec(Tx::call(
        stranger,
        v4,
        &WeightsV4::setBurnUidCall { _burnUid: 2 },
    ));
    assert_eq!(
        denied
            .custom_error::<WeightsV4::OwnableUnauthorizedAccount>()
            .map(|e| e.account),
        Some(stranger)
    );
    let set = w.m.evm.exec(Tx::call(
        owner,
        v4,
        &WeightsV4::setBurnUidCall { _burnUid: 2 },
    ));
    let event = &set.events::<WeightsV4::BurnUidSet>()[0];
    assert_eq!((event.previous, event.current), (0, 2));
    assert_eq!(w.m.evm.view(v4, &WeightsV4::burn_uidCall {}), 2);
    // uid 2's deposits no longer count; uid 0's hotkey (none) counts as a miner; the shortfall
    // of 1000 - 300 goes to uid 2.
    let raw = w.m.evm.view(v4, &WeightsV4::getWeightsCall {});
    assert_eq!(raw.weights, vec![U256::ZERO, ether(300), ether(700)]);
    assert_eq!(w.v4().1, vec![0, 19660, 45874]);
}

#[test]
fn fixed_the_deposit_goal_setter_emits_an_event() {
    let mut w = Both::new(3);
    let r = w.set_goal(ether(5));
    let event = &r.events::<WeightsV4::DepositGoalSet>()[0];
    assert_eq!((event.previous, event.current), (ether(1000), ether(5)));
}
