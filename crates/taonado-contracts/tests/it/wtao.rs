//! WTAO: WETH9 semantics.

use alloy_primitives::{Address, U256};
use proptest::prelude::*;
use taonado_contracts::{Contract, bindings::WTAO};

use crate::evm::{Evm, Outcome, Tx, ether};

fn setup() -> (Evm, Address, Address, Address) {
    let mut evm = Evm::new();
    let alice = evm.funded_account(1, ether(100));
    let bob = evm.funded_account(2, ether(100));
    let wtao = evm.deploy(alice, Contract::WTAO, &[]);
    (evm, wtao, alice, bob)
}

#[test]
fn metadata_is_wrapped_tao() {
    let (mut evm, wtao, ..) = setup();
    assert_eq!(evm.view(wtao, &WTAO::nameCall {}), "Wrapped TAO");
    assert_eq!(evm.view(wtao, &WTAO::symbolCall {}), "WTAO");
    assert_eq!(evm.view(wtao, &WTAO::decimalsCall {}), 18);
}

#[test]
fn deposit_and_plain_transfer_mint_and_total_supply_is_the_native_balance() {
    let (mut evm, wtao, alice, bob) = setup();
    let receipt = evm.exec(Tx::call(alice, wtao, &WTAO::depositCall {}).value(ether(3)));
    receipt.expect_success();
    let deposits = receipt.events::<WTAO::Deposit>();
    assert_eq!(deposits.len(), 1);
    assert_eq!((deposits[0].dst, deposits[0].wad), (alice, ether(3)));

    // A plain value transfer reaches receive() and mints too.
    evm.exec(Tx::raw(bob, wtao, Default::default()).value(ether(2)))
        .expect_success();

    assert_eq!(evm.view(wtao, &WTAO::balanceOfCall(alice)), ether(3));
    assert_eq!(evm.view(wtao, &WTAO::balanceOfCall(bob)), ether(2));
    assert_eq!(evm.view(wtao, &WTAO::totalSupplyCall {}), ether(5));
    assert_eq!(evm.balance(wtao), ether(5));
}

#[test]
fn withdraw_burns_and_pays_back() {
    let (mut evm, wtao, alice, _) = setup();
    evm.exec(Tx::call(alice, wtao, &WTAO::depositCall {}).value(ether(3)))
        .expect_success();
    let receipt = evm.exec(Tx::call(alice, wtao, &WTAO::withdrawCall { wad: ether(1) }));
    receipt.expect_success();
    let withdrawals = receipt.events::<WTAO::Withdrawal>();
    assert_eq!((withdrawals[0].src, withdrawals[0].wad), (alice, ether(1)));
    assert_eq!(evm.balance(alice), ether(98));
    assert_eq!(evm.view(wtao, &WTAO::balanceOfCall(alice)), ether(2));
    assert_eq!(evm.view(wtao, &WTAO::totalSupplyCall {}), ether(2));
}

#[test]
fn withdraw_more_than_the_balance_reverts_without_a_reason() {
    let (mut evm, wtao, alice, _) = setup();
    evm.exec(Tx::call(alice, wtao, &WTAO::depositCall {}).value(ether(1)))
        .expect_success();
    let receipt = evm.exec(Tx::call(alice, wtao, &WTAO::withdrawCall { wad: ether(2) }));
    assert_eq!(receipt.outcome, Outcome::Revert);
    assert!(receipt.output.is_empty(), "WETH9 reverts with empty data");
}

#[test]
fn transfer_from_spends_allowance_except_an_infinite_one() {
    let (mut evm, wtao, alice, bob) = setup();
    evm.exec(Tx::call(alice, wtao, &WTAO::depositCall {}).value(ether(10)))
        .expect_success();

    let approve = evm.exec(Tx::call(
        alice,
        wtao,
        &WTAO::approveCall {
            guy: bob,
            wad: ether(4),
        },
    ));
    assert!(approve.decode::<WTAO::approveCall>());
    let approval = &approve.events::<WTAO::Approval>()[0];
    assert_eq!(
        (approval.src, approval.guy, approval.wad),
        (alice, bob, ether(4))
    );

    let moved = evm.exec(Tx::call(
        bob,
        wtao,
        &WTAO::transferFromCall {
            src: alice,
            dst: bob,
            wad: ether(3),
        },
    ));
    assert!(moved.decode::<WTAO::transferFromCall>());
    let transfer = &moved.events::<WTAO::Transfer>()[0];
    assert_eq!(
        (transfer.src, transfer.dst, transfer.wad),
        (alice, bob, ether(3))
    );
    assert_eq!(
        evm.view(wtao, &WTAO::allowanceCall { _0: alice, _1: bob }),
        ether(1)
    );

    let over = evm.exec(Tx::call(
        bob,
        wtao,
        &WTAO::transferFromCall {
            src: alice,
            dst: bob,
            wad: ether(2),
        },
    ));
    assert_eq!(over.outcome, Outcome::Revert);

    evm.exec(Tx::call(
        alice,
        wtao,
        &WTAO::approveCall {
            guy: bob,
            wad: U256::MAX,
        },
    ))
    .expect_success();
    evm.exec(Tx::call(
        bob,
        wtao,
        &WTAO::transferFromCall {
            src: alice,
            dst: bob,
            wad: ether(5),
        },
    ))
    .expect_success();
    assert_eq!(
        evm.view(wtao, &WTAO::allowanceCall { _0: alice, _1: bob }),
        U256::MAX
    );
    assert_eq!(evm.view(wtao, &WTAO::balanceOfCall(bob)), ether(8));
}

#[test]
fn transfer_needs_a_balance_but_no_allowance_for_oneself() {
    let (mut evm, wtao, alice, bob) = setup();
    evm.exec(Tx::call(alice, wtao, &WTAO::depositCall {}).value(ether(1)))
        .expect_success();
    evm.exec(Tx::call(
        alice,
        wtao,
        &WTAO::transferFromCall {
            src: alice,
            dst: bob,
            wad: ether(1),
        },
    ))
    .expect_success();
    let receipt = evm.exec(Tx::call(
        alice,
        wtao,
        &WTAO::transferCall {
            dst: bob,
            wad: U256::from(1),
        },
    ));
    assert_eq!(receipt.outcome, Outcome::Revert);
    assert_eq!(evm.view(wtao, &WTAO::balanceOfCall(bob)), ether(1));
}

#[derive(Clone, Debug)]
enum Op {
    Deposit { who: usize, milli: u64 },
    Withdraw { who: usize, milli: u64 },
    Transfer { from: usize, to: usize, milli: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..3_000u64).prop_map(|(who, milli)| Op::Deposit { who, milli }),
        (0..3usize, 0..3_000u64).prop_map(|(who, milli)| Op::Withdraw { who, milli }),
        (0..3usize, 0..3usize, 0..3_000u64).prop_map(|(from, to, milli)| Op::Transfer {
            from,
            to,
            milli
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever happens, totalSupply is the native balance and equals the sum of balances.
    #[test]
    fn total_supply_is_the_native_balance(ops in proptest::collection::vec(op(), 1..25)) {
        let mut evm = Evm::new();
        let users: Vec<Address> = (1..=3).map(|n| evm.funded_account(n, ether(1_000))).collect();
        let wtao = evm.deploy(users[0], Contract::WTAO, &[]);
        let milli = |m: u64| U256::from(m) * U256::from(10).pow(U256::from(15));
        for op in ops {
            let tx = match op {
                Op::Deposit { who, milli: m } => Tx::call(users[who], wtao, &WTAO::depositCall {}).value(milli(m)),
                Op::Withdraw { who, milli: m } => Tx::call(users[who], wtao, &WTAO::withdrawCall { wad: milli(m) }),
                Op::Transfer { from, to, milli: m } => {
                    Tx::call(users[from], wtao, &WTAO::transferCall { dst: users[to], wad: milli(m) })
                }
            };
            evm.exec(tx);
            let supply = evm.view(wtao, &WTAO::totalSupplyCall {});
            let mut sum = U256::ZERO;
            for &user in &users {
                sum += evm.view(wtao, &WTAO::balanceOfCall(user));
            }
            prop_assert_eq!(supply, evm.balance(wtao));
            prop_assert_eq!(supply, sum);
        }
    }
}
