//! EvmValidator behind an ERC-1967 proxy: weights, interval, bounty, boost, owner paths and a
//! UUPS upgrade.

use alloy_primitives::{Address, B256, U256, b256};
use alloy_sol_types::{SolCall, SolConstructor};
use taonado_contracts::{
    Contract, METAGRAPH_PRECOMPILE, NEURON_PRECOMPILE,
    bindings::{
        ERC1967Proxy, EvmValidator, WeightsV3,
        mocks::{MockForwarder, MockNeuron},
    },
};

use crate::{
    evm::{Outcome, Tx, b32, ether},
    fixtures::{Mining, NETUID, register},
};

/// keccak256("eip1967.proxy.implementation") - 1
const IMPLEMENTATION_SLOT: B256 =
    b256!("0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
const GWEI: u128 = 1_000_000_000;

struct Validator {
    m: Mining,
    implementation: Address,
    proxy: Address,
    caller: Address,
}

impl Validator {
    /// A subnet with uids [burn, 1, 2] where the miners hold 450 + 450 WTAO (weights
    /// [6553, 29490, 29490]), and a validator proxy funded with 10 TAO.
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

        let implementation = m.evm.deploy(m.owner, Contract::EvmValidator, &[]);
        let init = EvmValidator::initializeCall {
            _netuid: NETUID,
            _weights: m.weights_v3,
        }
        .abi_encode();
        let args = ERC1967Proxy::constructorCall {
            implementation,
            _data: init.into(),
        }
        .abi_encode();
        let proxy = m.evm.deploy(m.owner, Contract::ERC1967Proxy, &args);
        m.evm
            .exec(Tx::raw(m.owner, proxy, Default::default()).value(ether(10)))
            .expect_success();
        let caller = m.evm.funded_account(50, ether(10));
        m.evm.mine(1);
        Validator {
            m,
            implementation,
            proxy,
            caller,
        }
    }

    fn exec<C: SolCall>(&mut self, from: Address, call: &C) -> crate::evm::Receipt {
        self.m.evm.exec(Tx::call(from, self.proxy, call))
    }

    fn view<C: SolCall>(&mut self, call: &C) -> C::Return {
        let proxy = self.proxy;
        self.m.evm.view(proxy, call)
    }

    fn owner(&self) -> Address {
        self.m.owner
    }

    /// What the neuron mock last received from the proxy: (netuid, dests, weights, versionKey, block).
    fn pushed(&mut self) -> (u16, Vec<u16>, Vec<u16>, u64, U256) {
        let r = self.m.evm.view(
            NEURON_PRECOMPILE,
            &MockNeuron::lastWeightsCall { caller: self.proxy },
        );
        (r.netuid, r.dests, r.weights, r.versionKey, r.blockNumber)
    }

    fn neuron_calls(&mut self) -> U256 {
        self.m.evm.view(
            NEURON_PRECOMPILE,
            &MockNeuron::setWeightsCallsCall(self.proxy),
        )
    }
}

#[test]
fn initialize_sets_the_defaults_and_only_once() {
    let mut v = Validator::new();
    assert_eq!(v.view(&EvmValidator::ownerCall {}), v.owner());
    assert_eq!(v.view(&EvmValidator::netuidCall {}), NETUID);
    assert_eq!(v.view(&EvmValidator::weightsCall {}), v.m.weights_v3);
    assert_eq!(
        v.view(&EvmValidator::metagraphCall {}),
        METAGRAPH_PRECOMPILE
    );
    assert_eq!(
        v.view(&EvmValidator::refundOverheadCall {}),
        U256::from(15_000)
    );
    assert_eq!(
        v.view(&EvmValidator::setWeightsBlockIntervalCall {}),
        U256::ZERO
    );
    assert_eq!(v.view(&EvmValidator::setWeightsBountyCall {}), U256::ZERO);
    assert_eq!(v.view(&EvmValidator::metagraph_boost_valueCall {}), 0);
    assert_eq!(v.view(&EvmValidator::versionKeyCall {}), 0);
    let implementation = v.m.evm.storage(v.proxy, IMPLEMENTATION_SLOT.into());
    assert_eq!(
        implementation,
        U256::from_be_slice(v.implementation.as_slice())
    );

    let again = v.exec(
        v.caller,
        &EvmValidator::initializeCall {
            _netuid: 1,
            _weights: v.caller,
        },
    );
    assert!(
        again
            .custom_error::<EvmValidator::InvalidInitialization>()
            .is_some(),
        "{}",
        again.describe()
    );
}

#[test]
fn defect_the_implementation_itself_can_be_initialized_by_anyone() {
    let mut v = Validator::new();
    let (stranger, implementation) = (v.caller, v.implementation);
    v.m.evm
        .exec(Tx::call(
            stranger,
            implementation,
            &EvmValidator::initializeCall {
                _netuid: 1,
                _weights: stranger,
            },
        ))
        .expect_success();
    assert_eq!(
        v.m.evm.view(implementation, &EvmValidator::ownerCall {}),
        stranger
    );
}

#[test]
fn set_weights_pushes_the_normalized_weights_and_pays_the_caller() {
    let mut v = Validator::new();
    let owner = v.owner();
    v.exec(owner, &EvmValidator::setVersionKeyCall { value: 7 })
        .expect_success();
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBountyCall {
            value: ether(1) / U256::from(100),
        },
    )
    .expect_success();

    let caller = v.caller;
    let before = v.m.evm.balance(caller);
    let vault_before = v.m.evm.balance(v.proxy);
    let receipt = v.m.evm.exec(
        Tx::call(
            caller,
            v.proxy,
            &EvmValidator::setWeightsCall { hotkey: B256::ZERO },
        )
        .gas_price(GWEI),
    );
    receipt.expect_success();

    assert_eq!(
        v.pushed(),
        (
            NETUID,
            vec![0, 1, 2],
            vec![6553, 29490, 29490],
            7,
            U256::from(v.m.evm.block_number)
        )
    );
    assert_eq!(
        v.view(&EvmValidator::lastSetWeightsBlockCall {}),
        U256::from(v.m.evm.block_number)
    );

    let paid = receipt.events::<EvmValidator::BountyPaid>();
    assert_eq!(paid.len(), 1);
    let paid = &paid[0];
    assert_eq!(paid.who, caller);
    let expected =
        (paid.gasUsedByCall + U256::from(15_000)) * U256::from(GWEI) + ether(1) / U256::from(100);
    assert_eq!(paid.weiRefunded, expected);
    assert!(paid.gasUsedByCall > U256::from(50_000) && paid.gasUsedByBookkeeping > U256::ZERO);
    let fee = U256::from(receipt.gas_used) * U256::from(GWEI);
    assert_eq!(v.m.evm.balance(caller), before - fee + paid.weiRefunded);
    assert_eq!(v.m.evm.balance(v.proxy), vault_before - paid.weiRefunded);
    assert!(
        v.m.evm.balance(caller) > before,
        "the bounty covers the gas"
    );
}

#[test]
fn the_interval_must_pass_between_public_calls() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBlockIntervalCall {
            value: U256::from(10),
        },
    )
    .expect_success();
    // Measured from lastSetWeightsBlock = 0: the first call also waits for block 10.
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_revert("Weight set interval has not passed");
    v.m.evm.mine(10 - v.m.evm.block_number);
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_success();
    v.m.evm.mine(9);
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_revert("Weight set interval has not passed");
    v.m.evm.mine(1);
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_success();
    assert_eq!(v.neuron_calls(), U256::from(2));
}

#[test]
fn defect_with_the_default_interval_of_zero_the_bounty_is_paid_every_call() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBountyCall { value: ether(1) },
    )
    .expect_success();
    for _ in 0..3 {
        let receipt = v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO });
        assert_eq!(
            receipt.events::<EvmValidator::BountyPaid>()[0].weiRefunded,
            ether(1)
        );
    }
    assert_eq!(v.m.evm.balance(v.proxy), ether(7));
}

#[test]
fn the_boost_goes_to_the_named_hotkey_only() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(
        owner,
        &EvmValidator::setMetagraphBoostValueCall { value: 1000 },
    )
    .expect_success();
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: b32(0xa2) })
        .expect_success();
    assert_eq!(v.pushed().2, vec![6553, 29490, 30490]);
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_success();
    assert_eq!(
        v.pushed().2,
        vec![6553, 29490, 29490],
        "a zero hotkey gets no boost"
    );
    v.exec(
        caller,
        &EvmValidator::setWeightsCall {
            hotkey: b32(0xdead),
        },
    )
    .expect_success();
    assert_eq!(
        v.pushed().2,
        vec![6553, 29490, 29490],
        "an unknown hotkey gets no boost"
    );
}

#[test]
fn defect_a_boost_past_65535_reverts_the_call() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(
        owner,
        &EvmValidator::setMetagraphBoostValueCall { value: 40_000 },
    )
    .expect_success();
    let receipt = v.exec(caller, &EvmValidator::setWeightsCall { hotkey: b32(0xa1) });
    assert_eq!(receipt.panic_code(), Some(0x11), "{}", receipt.describe());
}

#[test]
fn neuron_failures_revert_with_a_reason() {
    for mode in [1u8, 2] {
        let mut v = Validator::new();
        let (owner, caller) = (v.owner(), v.caller);
        v.m.evm
            .exec(Tx::call(
                owner,
                NEURON_PRECOMPILE,
                &MockNeuron::setFailModeCall { mode },
            ))
            .expect_success();
        v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
            .expect_revert("neuron.setWeights failed");
        v.exec(owner, &EvmValidator::operatorSetWeightsCall {})
            .expect_revert("neuron.setWeights failed");
        assert_eq!(
            v.view(&EvmValidator::lastSetWeightsBlockCall {}),
            U256::ZERO
        );
    }
}

#[test]
fn an_empty_vault_cannot_pay_the_refund() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(owner, &EvmValidator::rescueFundsCall {})
        .expect_success();
    let receipt = v.m.evm.exec(
        Tx::call(
            caller,
            v.proxy,
            &EvmValidator::setWeightsCall { hotkey: B256::ZERO },
        )
        .gas_price(GWEI),
    );
    receipt.expect_revert("Insufficient balance, contact the owner");
    assert_eq!(
        v.neuron_calls(),
        U256::ZERO,
        "the revert undoes the neuron call"
    );
}

#[test]
fn the_owner_is_not_paid_for_set_weights() {
    let mut v = Validator::new();
    let owner = v.owner();
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBountyCall { value: ether(1) },
    )
    .expect_success();
    let receipt = v.exec(owner, &EvmValidator::setWeightsCall { hotkey: B256::ZERO });
    receipt.expect_success();
    assert!(receipt.events::<EvmValidator::BountyPaid>().is_empty());
    assert_eq!(v.m.evm.balance(v.proxy), ether(10));
    assert_eq!(v.neuron_calls(), U256::from(1));
}

#[test]
fn operator_set_weights_skips_interval_boost_and_bounty() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBlockIntervalCall {
            value: U256::from(1_000),
        },
    )
    .expect_success();
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBountyCall { value: ether(1) },
    )
    .expect_success();
    v.exec(
        owner,
        &EvmValidator::setMetagraphBoostValueCall { value: 1000 },
    )
    .expect_success();
    for _ in 0..2 {
        let receipt = v.exec(owner, &EvmValidator::operatorSetWeightsCall {});
        receipt.expect_success();
        assert!(receipt.events::<EvmValidator::BountyPaid>().is_empty());
    }
    assert_eq!(v.pushed().2, vec![6553, 29490, 29490]);
    assert_eq!(v.neuron_calls(), U256::from(2));
    assert_eq!(v.m.evm.balance(v.proxy), ether(10));

    let receipt = v.exec(caller, &EvmValidator::operatorSetWeightsCall {});
    assert_eq!(
        receipt
            .custom_error::<EvmValidator::OwnableUnauthorizedAccount>()
            .map(|e| e.account),
        Some(caller)
    );
}

#[test]
fn setters_are_owner_only() {
    let mut v = Validator::new();
    let (owner, stranger) = (v.owner(), v.caller);
    let new_weights = v.m.weights_v2;
    let calls: Vec<(Vec<u8>, &str)> = vec![
        (
            EvmValidator::setMetagraphBoostValueCall { value: 5 }.abi_encode(),
            "metagraph_boost_value",
        ),
        (
            EvmValidator::setVersionKeyCall { value: 9 }.abi_encode(),
            "versionKey",
        ),
        (
            EvmValidator::setWeightsContractCall { value: new_weights }.abi_encode(),
            "weights",
        ),
        (
            EvmValidator::setSetWeightsBountyCall {
                value: U256::from(11),
            }
            .abi_encode(),
            "setWeightsBounty",
        ),
        (
            EvmValidator::setSetWeightsBlockIntervalCall {
                value: U256::from(12),
            }
            .abi_encode(),
            "setWeightsBlockInterval",
        ),
        (
            EvmValidator::setRefundOverheadCall {
                value: U256::from(13),
            }
            .abi_encode(),
            "refundOverhead",
        ),
        (EvmValidator::rescueFundsCall {}.abi_encode(), "rescueFunds"),
    ];
    for (data, what) in &calls {
        let receipt =
            v.m.evm
                .exec(Tx::raw(stranger, v.proxy, data.clone().into()));
        assert_eq!(
            receipt
                .custom_error::<EvmValidator::OwnableUnauthorizedAccount>()
                .map(|e| e.account),
            Some(stranger),
            "{what}: {}",
            receipt.describe()
        );
    }
    for (data, what) in &calls[..6] {
        let receipt = v.m.evm.exec(Tx::raw(owner, v.proxy, data.clone().into()));
        receipt.expect_success();
        assert!(
            receipt.logs.is_empty(),
            "defect kept: {what} changes emit no event"
        );
    }
    assert_eq!(v.view(&EvmValidator::metagraph_boost_valueCall {}), 5);
    assert_eq!(v.view(&EvmValidator::versionKeyCall {}), 9);
    assert_eq!(v.view(&EvmValidator::weightsCall {}), new_weights);
    assert_eq!(
        v.view(&EvmValidator::setWeightsBountyCall {}),
        U256::from(11)
    );
    assert_eq!(
        v.view(&EvmValidator::setWeightsBlockIntervalCall {}),
        U256::from(12)
    );
    assert_eq!(v.view(&EvmValidator::refundOverheadCall {}), U256::from(13));
}

#[test]
fn rescue_funds_sends_everything_to_the_owner() {
    let mut v = Validator::new();
    let owner = v.owner();
    let before = v.m.evm.balance(owner);
    v.exec(owner, &EvmValidator::rescueFundsCall {})
        .expect_success();
    assert_eq!(v.m.evm.balance(v.proxy), U256::ZERO);
    assert_eq!(v.m.evm.balance(owner), before + ether(10));
}

#[test]
fn uups_upgrade_keeps_state_and_balance_and_is_owner_only() {
    let mut v = Validator::new();
    let (owner, caller) = (v.owner(), v.caller);
    v.exec(
        owner,
        &EvmValidator::setMetagraphBoostValueCall { value: 3 },
    )
    .expect_success();
    v.exec(owner, &EvmValidator::setVersionKeyCall { value: 4 })
        .expect_success();
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBountyCall {
            value: U256::from(5),
        },
    )
    .expect_success();
    v.exec(
        owner,
        &EvmValidator::setRefundOverheadCall {
            value: U256::from(16_000),
        },
    )
    .expect_success();
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_success();
    v.exec(
        owner,
        &EvmValidator::setSetWeightsBlockIntervalCall {
            value: U256::from(6),
        },
    )
    .expect_success();
    let last_block = v.view(&EvmValidator::lastSetWeightsBlockCall {});
    let balance = v.m.evm.balance(v.proxy);

    let next = v.m.evm.deploy(owner, Contract::EvmValidator, &[]);
    let denied = v.exec(
        caller,
        &EvmValidator::upgradeToAndCallCall {
            newImplementation: next,
            data: Default::default(),
        },
    );
    assert_eq!(
        denied
            .custom_error::<EvmValidator::OwnableUnauthorizedAccount>()
            .map(|e| e.account),
        Some(caller)
    );

    let upgraded = v.exec(
        owner,
        &EvmValidator::upgradeToAndCallCall {
            newImplementation: next,
            data: Default::default(),
        },
    );
    upgraded.expect_success();
    assert_eq!(
        upgraded.events::<EvmValidator::Upgraded>()[0].implementation,
        next
    );
    assert_eq!(
        v.m.evm.storage(v.proxy, IMPLEMENTATION_SLOT.into()),
        U256::from_be_slice(next.as_slice())
    );

    assert_eq!(v.view(&EvmValidator::ownerCall {}), owner);
    assert_eq!(v.view(&EvmValidator::weightsCall {}), v.m.weights_v3);
    assert_eq!(
        v.view(&EvmValidator::metagraphCall {}),
        METAGRAPH_PRECOMPILE
    );
    assert_eq!(v.view(&EvmValidator::metagraph_boost_valueCall {}), 3);
    assert_eq!(
        v.view(&EvmValidator::setWeightsBountyCall {}),
        U256::from(5)
    );
    assert_eq!(v.view(&EvmValidator::netuidCall {}), NETUID);
    assert_eq!(v.view(&EvmValidator::versionKeyCall {}), 4);
    assert_eq!(
        v.view(&EvmValidator::lastSetWeightsBlockCall {}),
        last_block
    );
    assert_eq!(
        v.view(&EvmValidator::setWeightsBlockIntervalCall {}),
        U256::from(6)
    );
    assert_eq!(
        v.view(&EvmValidator::refundOverheadCall {}),
        U256::from(16_000)
    );
    assert_eq!(v.m.evm.balance(v.proxy), balance);

    // Still works after the upgrade.
    v.m.evm.mine(6);
    v.exec(caller, &EvmValidator::setWeightsCall { hotkey: B256::ZERO })
        .expect_success();
}

#[test]
fn upgrading_to_a_non_uups_contract_is_rejected() {
    let mut v = Validator::new();
    let owner = v.owner();
    let wtao = v.m.wtao;
    let receipt = v.exec(
        owner,
        &EvmValidator::upgradeToAndCallCall {
            newImplementation: wtao,
            data: Default::default(),
        },
    );
    assert_eq!(receipt.outcome, Outcome::Revert);
    assert!(
        receipt
            .custom_error::<EvmValidator::ERC1967InvalidImplementation>()
            .is_some(),
        "{}",
        receipt.describe()
    );
}

#[test]
fn a_caller_that_refuses_payment_gets_refund_failed() {
    let mut v = Validator::new();
    let caller = v.caller;
    let forwarder = v.m.evm.deploy(caller, Contract::MockForwarder, &[]);
    let data = EvmValidator::setWeightsCall { hotkey: B256::ZERO }.abi_encode();
    let receipt = v.m.evm.exec(Tx::call(
        caller,
        forwarder,
        &MockForwarder::forwardCall {
            target: v.proxy,
            data: data.into(),
        },
    ));
    receipt.expect_revert("refund failed");
    assert_eq!(v.neuron_calls(), U256::ZERO);
}
