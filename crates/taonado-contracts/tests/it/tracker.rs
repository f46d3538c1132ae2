//! DepositTracker: one association per address, forever.

use taonado_contracts::{Contract, bindings::DepositTracker};

use crate::evm::{Evm, Tx, b32, ether};

#[test]
fn associate_records_the_sender_and_emits_address_associated() {
    let mut evm = Evm::new();
    let alice = evm.funded_account(1, ether(1));
    let bob = evm.funded_account(2, ether(1));
    let tracker = evm.deploy(alice, Contract::DepositTracker, &[]);
    let hotkey = b32(7);

    let receipt = evm.exec(Tx::call(
        alice,
        tracker,
        &DepositTracker::associateCall { hotkey },
    ));
    assert!(receipt.decode::<DepositTracker::associateCall>());
    let events = receipt.events::<DepositTracker::AddressAssociated>();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].depositor, events[0].hotkey), (alice, hotkey));
    assert_eq!(
        events[0].timestamp,
        alloy_primitives::U256::from(evm.timestamp)
    );

    evm.exec(Tx::call(
        bob,
        tracker,
        &DepositTracker::associateCall { hotkey },
    ))
    .expect_success();

    assert!(evm.view(tracker, &DepositTracker::uniqueDepositorsCall(alice)));
    assert!(evm.view(
        tracker,
        &DepositTracker::associationSetCall {
            _0: hotkey,
            _1: bob
        }
    ));
    assert!(!evm.view(
        tracker,
        &DepositTracker::associationSetCall {
            _0: b32(8),
            _1: bob
        }
    ));
    assert_eq!(
        evm.view(tracker, &DepositTracker::associationSetLengthCall(hotkey)),
        alloy_primitives::U256::from(2)
    );
    assert_eq!(
        evm.view(
            tracker,
            &DepositTracker::associationsCall {
                _0: hotkey,
                _1: alloy_primitives::U256::ZERO
            }
        ),
        alice
    );
    assert_eq!(
        evm.view(
            tracker,
            &DepositTracker::associationsCall {
                _0: hotkey,
                _1: alloy_primitives::U256::from(1)
            }
        ),
        bob
    );
}

#[test]
fn an_address_can_never_associate_twice() {
    let mut evm = Evm::new();
    let alice = evm.funded_account(1, ether(1));
    let tracker = evm.deploy(alice, Contract::DepositTracker, &[]);
    evm.exec(Tx::call(
        alice,
        tracker,
        &DepositTracker::associateCall { hotkey: b32(1) },
    ))
    .expect_success();
    evm.exec(Tx::call(
        alice,
        tracker,
        &DepositTracker::associateCall { hotkey: b32(1) },
    ))
    .expect_revert("Address already associated");
    evm.exec(Tx::call(
        alice,
        tracker,
        &DepositTracker::associateCall { hotkey: b32(2) },
    ))
    .expect_revert("Address already associated");
    assert_eq!(
        evm.view(tracker, &DepositTracker::associationSetLengthCall(b32(2))),
        alloy_primitives::U256::ZERO
    );
}
