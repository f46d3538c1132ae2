//! EvmValidatorV2 as the upgrade of a live V1 proxy: state and balance survive the upgrade, and
//! each V1 defect is gone afterwards.

use alloy_primitives::{Address, B256, U256, b256};
use alloy_sol_types::{SolCall, SolConstructor};
use taonado_contracts::{
    Contract, METAGRAPH_PRECOMPILE, NEURON_PRECOMPILE,
    bindings::{ERC1967Proxy, EvmValidator, EvmValidatorV2, WeightsV3, mocks::MockNeuron},
};

use crate::{
    evm::{Receipt, Tx, b32, ether},
    fixtures::{Mining, NETUID, register},
};

const IMPLEMENTATION_SLOT: B256 =
    b256!("0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
const MIN_INTERVAL: u64 = 100;

/// A V1 proxy with non-default settings and one weight set done, then upgraded to V2.
struct Upgraded {
    m: Mining,
    proxy: Address,
    v2: Address,
    caller: Address,
    /// Every V1 storage word (slots 0..=6) before the upgrade.
    words_before: Vec<U256>,
    balance_before: U256,
    upgrade: Receipt,
}

impl Upgraded {
    fn new() -> Self {
        let mut m = Mining::new();
        register(&mut m.evm, m.owner, &[b32(0xb0), b32(0xa1), b32(0xa2)]);
        m.evm
            .exec(Tx::call(
                m.owner,
                m.weights_v3,
                &WeightsV3::setDepositGoalCall {
                    _depositGoal: ether(1000),
                },
            ))
            .expect_success();
        m.miner(1, b32(0xa1), ether(450));
        m.miner(2, b32(0xa2), ether(450));
        let v1 = m.evm.deploy(m.owner, Contract::EvmValidator, &[]);
        let init = EvmValidator::initializeCall {
            _netuid: NETUID,
            _weights: m.weights_v3,
        }
        .abi_encode();
        let args = ERC1967Proxy::constructorCall {
            implementation: v1,
            _data: init.into(),
        }
        .abi_encode();
        let proxy = m.evm.deploy(m.owner, Contract::ERC1967Proxy, &args);
        m.evm
            .exec(Tx::raw(m.owner, proxy, Default::default()).value(ether(10)))
            .expect_success();
        let owner = m.owner;
        let settings: Vec<Vec<u8>> = vec![
            EvmValidator::setMetagraphBoostValueCall { value: 40_000 }.abi_encode(),
            EvmValidator::setVersionKeyCall { value: 4 }.abi_encode(),
            EvmValidator::setSetWeightsBountyCall {
                value: ether(1) / U256::from(100),
            }
            .abi_encode(),
            EvmValidator::setRefundOverheadCall {
                value: U256::from(16_000),
            }
            .abi_encode(),
        ];
        for data in settings {
            m.evm
                .exec(Tx::raw(owner, proxy, data.into()))
                .expect_success();
        }
        let caller = m.evm.funded_account(50, ether(10));
        m.evm.mine(1);
        m.evm
            .exec(Tx::call(
                caller,
                proxy,
                &EvmValidator::setWeightsCall { hotkey: B256::ZERO },
            ))
            .expect_success();
        let words_before: Vec<U256> = (0..7u64)
            .map(|slot| m.evm.storage(proxy, U256::from(slot)))
            .collect();
        let balance_before = m.evm.balance(proxy);

        let v2 = m.evm.deploy(owner, Contract::EvmValidatorV2, &[]);
        let upgrade = m.evm.exec(Tx::call(
            owner,
            proxy,
            &EvmValidator::upgradeToAndCallCall {
                newImplementation: v2,
                data: Default::default(),
            },
        ));
        Upgraded {
            m,
            proxy,
            v2,
            caller,
            words_before,
            balance_before,
            upgrade,
        }
    }

    fn exec<C: SolCall>(&mut self, from: Address, call: &C) -> Receipt {
        self.m.evm.exec(Tx::call(from, self.proxy, call))
    }

    fn view<C: SolCall>(&mut self, call: &C) -> C::Return {
        let proxy = self.proxy;
        self.m.evm.view(proxy, call)
    }

    fn pushed_weights(&mut self) -> Vec<u16> {
        self.m
            .evm
            .view(
                NEURON_PRECOMPILE,
                &MockNeuron::lastWeightsCall { caller: self.proxy },
            )
            .weights
    }

    fn mine_past_interval(&mut self) {
        self.m.evm.mine(MIN_INTERVAL);
    }
}

#[test]
fn the_upgrade_keeps_every_variable_and_the_balance() {
    let mut u = Upgraded::new();
    u.upgrade.expect_success();
    assert_eq!(
        u.upgrade.events::<EvmValidatorV2::Upgraded>()[0].implementation,
        u.v2
    );
    assert_eq!(
        u.m.evm.storage(u.proxy, IMPLEMENTATION_SLOT.into()),
        U256::from_be_slice(u.v2.as_slice())
    );
    let words_after: Vec<U256> = (0..7u64)
        .map(|slot| u.m.evm.storage(u.proxy, U256::from(slot)))
        .collect();
    assert_eq!(words_after, u.words_before, "raw V1 slots 0..=6");
    assert_eq!(u.m.evm.balance(u.proxy), u.balance_before);

    assert_eq!(u.view(&EvmValidatorV2::versionCall {}), U256::from(2));
    assert_eq!(u.view(&EvmValidatorV2::ownerCall {}), u.m.owner);
    assert_eq!(u.view(&EvmValidatorV2::weightsCall {}), u.m.weights_v3);
    assert_eq!(
        u.view(&EvmValidatorV2::metagraphCall {}),
        METAGRAPH_PRECOMPILE
    );
    assert_eq!(
        u.view(&EvmValidatorV2::metagraph_boost_valueCall {}),
        40_000
    );
    assert_eq!(u.view(&EvmValidatorV2::netuidCall {}), NETUID);
    assert_eq!(u.view(&EvmValidatorV2::versionKeyCall {}), 4);
    assert_eq!(
        u.view(&EvmValidatorV2::refundOverheadCall {}),
        U256::from(16_000)
    );
    assert_eq!(
        u.view(&EvmValidatorV2::setWeightsBountyCall {}),
        ether(1) / U256::from(100)
    );
    assert_eq!(
        u.view(&EvmValidatorV2::boostHotkeysCall(u.caller)),
        B256::ZERO,
        "the appended mapping starts empty"
    );
    // The proxy is still initialized: nobody can take it over through `initialize`.
    let again = u.exec(
        u.caller,
        &EvmValidatorV2::initializeCall {
            _netuid: 1,
            _weights: u.caller,
        },
    );
    assert!(
        again
            .custom_error::<EvmValidatorV2::InvalidInitialization>()
            .is_some(),
        "{}",
        again.describe()
    );
}

#[test]
fn fixed_the_implementation_cannot_be_initialized() {
    let mut u = Upgraded::new();
    let (stranger, v2) = (u.caller, u.v2);
    let receipt = u.m.evm.exec(Tx::call(
        stranger,
        v2,
        &EvmValidatorV2::initializeCall {
            _netuid: 1,
            _weights: stranger,
        },
    ));
    assert!(
        receipt
            .custom_error::<EvmValidatorV2::InvalidInitialization>()
            .is_some(),
        "{}",
        receipt.describe()
    );
    assert_eq!(
        u.m.evm.view(v2, &EvmValidatorV2::ownerCall {}),
        Address::ZERO
    );
}

#[test]
fn fixed_the_stored_zero_interval_no_longer_lets_the_bounty_drain_every_block() {
    let mut u = Upgraded::new();
    let caller = u.caller;
    assert_eq!(
        u.view(&EvmValidatorV2::setWeightsBlockIntervalCall {}),
        U256::ZERO,
        "V1's stored value is kept"
    );
    assert_eq!(
        u.view(&EvmValidatorV2::effectiveIntervalCall {}),
        U256::from(MIN_INTERVAL)
    );
    u.exec(
        caller,
        &EvmValidatorV2::setWeightsCall { hotkey: B256::ZERO },
    )
    .expect_revert("Weight set interval has not passed");
    u.mine_past_interval();
    u.exec(
        caller,
        &EvmValidatorV2::setWeightsCall { hotkey: B256::ZERO },
    )
    .expect_success();
    u.exec(
        caller,
        &EvmValidatorV2::setWeightsCall { hotkey: B256::ZERO },
    )
    .expect_revert("Weight set interval has not passed");

    let owner = u.m.owner;
    u.exec(
        owner,
        &EvmValidatorV2::setSetWeightsBlockIntervalCall {
            value: U256::from(MIN_INTERVAL - 1),
        },
    )
    .expect_revert("Interval below minimum");
}

#[test]
fn fixed_the_boost_goes_only_to_the_callers_registered_hotkey_and_saturates() {
    let mut u = Upgraded::new();
    let (owner, caller) = (u.m.owner, u.caller);
    u.mine_past_interval();
    // No registration: naming a hotkey gives it nothing.
    u.exec(
        caller,
        &EvmValidatorV2::setWeightsCall { hotkey: b32(0xa1) },
    )
    .expect_success();
    assert_eq!(u.pushed_weights(), vec![6553, 29490, 29490]);

    let registered = u.exec(
        owner,
        &EvmValidatorV2::setBoostHotkeyCall {
            caller,
            hotkey: b32(0xa1),
        },
    );
    registered.expect_success();
    assert_eq!(
        registered.events::<EvmValidatorV2::BoostHotkeySet>()[0].hotkey,
        b32(0xa1)
    );
    u.mine_past_interval();
    // Another hotkey than the registered one: still nothing.
    u.exec(
        caller,
        &EvmValidatorV2::setWeightsCall { hotkey: b32(0xa2) },
    )
    .expect_success();
    assert_eq!(u.pushed_weights(), vec![6553, 29490, 29490]);
    u.mine_past_interval();
    // The registered hotkey: 29490 + 40000 saturates at 65535 instead of reverting (V1 panics).
    u.exec(
        caller,
        &EvmValidatorV2::setWeightsCall { hotkey: b32(0xa1) },
    )
    .expect_success();
    assert_eq!(u.pushed_weights(), vec![6553, 65535, 29490]);
}

#[test]
fn fixed_every_setter_emits_an_event() {
    let mut u = Upgraded::new();
    let owner = u.m.owner;
    let weights_v2 = u.m.weights_v2;
    let r = u.exec(
        owner,
        &EvmValidatorV2::setMetagraphBoostValueCall { value: 7 },
    );
    assert_eq!(
        r.events::<EvmValidatorV2::MetagraphBoostValueSet>()[0].value,
        7
    );
    let r = u.exec(owner, &EvmValidatorV2::setVersionKeyCall { value: 8 });
    assert_eq!(r.events::<EvmValidatorV2::VersionKeySet>()[0].value, 8);
    let r = u.exec(
        owner,
        &EvmValidatorV2::setWeightsContractCall { value: weights_v2 },
    );
    let set = &r.events::<EvmValidatorV2::WeightsContractSet>()[0];
    assert_eq!((set.previous, set.current), (u.m.weights_v3, weights_v2));
    let r = u.exec(
        owner,
        &EvmValidatorV2::setSetWeightsBountyCall {
            value: U256::from(9),
        },
    );
    assert_eq!(
        r.events::<EvmValidatorV2::SetWeightsBountySet>()[0].value,
        U256::from(9)
    );
    let r = u.exec(
        owner,
        &EvmValidatorV2::setSetWeightsBlockIntervalCall {
            value: U256::from(113),
        },
    );
    assert_eq!(
        r.events::<EvmValidatorV2::SetWeightsBlockIntervalSet>()[0].value,
        U256::from(113)
    );
    let r = u.exec(
        owner,
        &EvmValidatorV2::setRefundOverheadCall {
            value: U256::from(10),
        },
    );
    assert_eq!(
        r.events::<EvmValidatorV2::RefundOverheadSet>()[0].value,
        U256::from(10)
    );
    let balance = u.m.evm.balance(u.proxy);
    let r = u.exec(owner, &EvmValidatorV2::rescueFundsCall {});
    let rescued = &r.events::<EvmValidatorV2::FundsRescued>()[0];
    assert_eq!((rescued.to, rescued.amount), (owner, balance));
}

#[test]
fn setters_and_upgrades_stay_owner_only_after_the_upgrade() {
    let mut u = Upgraded::new();
    let stranger = u.caller;
    let r = u.exec(
        stranger,
        &EvmValidatorV2::setBoostHotkeyCall {
            caller: stranger,
            hotkey: b32(0xa1),
        },
    );
    assert_eq!(
        r.custom_error::<EvmValidatorV2::OwnableUnauthorizedAccount>()
            .map(|e| e.account),
        Some(stranger)
    );
    let v2 = u.v2;
    let r = u.exec(
        stranger,
        &EvmValidatorV2::upgradeToAndCallCall {
            newImplementation: v2,
            data: Default::default(),
        },
    );
    assert!(
        r.custom_error::<EvmValidatorV2::OwnableUnauthorizedAccount>()
            .is_some()
    );
}
