//! ERC20Taonado pools (mock verifier, real MiMC hasher) and the Merkle tree behind them.

use std::collections::HashSet;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolConstructor;
use proptest::prelude::*;
use taonado_contracts::{
    Contract,
    bindings::{
        ERC20Taonado, MerkleTreeWithHistory, WTAO,
        mocks::{MerkleTreeWithHistoryMock, MockVerifier},
    },
};

use crate::{
    evm::{Evm, Outcome, Receipt, Tx, b32, ether},
    fixtures::{deploy_hasher, deploy_mock_verifier, deploy_pool, pool_deposit},
};

const FIELD_SIZE: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

fn field_size() -> U256 {
    U256::from_str_radix(FIELD_SIZE, 10).expect("a decimal constant")
}

struct Pool {
    evm: Evm,
    owner: Address,
    user: Address,
    relayer: Address,
    recipient: Address,
    wtao: Address,
    verifier: Address,
    hasher: Address,
    pool: Address,
    denomination: U256,
}

impl Pool {
    fn new(height: u32) -> Self {
        let mut evm = Evm::new();
        let owner = evm.funded_account(1, ether(10_000));
        let user = evm.funded_account(2, ether(10_000));
        let relayer = evm.funded_account(3, ether(10));
        let recipient = crate::evm::account(4);
        let wtao = evm.deploy(owner, Contract::WTAO, &[]);
        let hasher = deploy_hasher(&mut evm, owner);
        let verifier = deploy_mock_verifier(&mut evm, owner, true);
        let denomination = ether(1);
        let pool = deploy_pool(
            &mut evm,
            owner,
            verifier,
            hasher,
            denomination,
            height,
            wtao,
        );
        Pool {
            evm,
            owner,
            user,
            relayer,
            recipient,
            wtao,
            verifier,
            hasher,
            pool,
            denomination,
        }
    }

    fn deposit(&mut self, commitment: B256) -> Receipt {
        let (wtao, pool, user, denomination) = (self.wtao, self.pool, self.user, self.denomination);
        pool_deposit(&mut self.evm, wtao, pool, user, commitment, denomination)
    }

    fn last_root(&mut self) -> B256 {
        let pool = self.pool;
        self.evm.view(pool, &ERC20Taonado::getLastRootCall {})
    }

    fn withdraw_call(
        &self,
        root: B256,
        nullifier_hash: B256,
        fee: U256,
        refund: U256,
    ) -> ERC20Taonado::withdrawCall {
        ERC20Taonado::withdrawCall {
            _proof: Bytes::from(vec![0xab; 256]),
            _root: root,
            _nullifierHash: nullifier_hash,
            _recipient: self.recipient,
            _relayer: self.relayer,
            _fee: fee,
            _refund: refund,
        }
    }

    fn withdraw(&mut self, call: &ERC20Taonado::withdrawCall, value: U256) -> Receipt {
        let (relayer, pool) = (self.relayer, self.pool);
        self.evm.exec(Tx::call(relayer, pool, call).value(value))
    }

    fn token_balance(&mut self, who: Address) -> U256 {
        let wtao = self.wtao;
        self.evm.view(wtao, &WTAO::balanceOfCall(who))
    }
}

#[test]
fn constructor_records_its_parameters() {
    let mut p = Pool::new(20);
    let pool = p.pool;
    assert_eq!(p.evm.view(pool, &ERC20Taonado::verifierCall {}), p.verifier);
    assert_eq!(p.evm.view(pool, &ERC20Taonado::hasherCall {}), p.hasher);
    assert_eq!(p.evm.view(pool, &ERC20Taonado::tokenCall {}), p.wtao);
    assert_eq!(
        p.evm.view(pool, &ERC20Taonado::denominationCall {}),
        ether(1)
    );
    assert_eq!(p.evm.view(pool, &ERC20Taonado::levelsCall {}), 20);
    assert_eq!(
        p.evm.view(pool, &ERC20Taonado::ROOT_HISTORY_SIZECall {}),
        30
    );
    assert_eq!(
        p.evm.view(pool, &ERC20Taonado::FIELD_SIZECall {}),
        field_size()
    );
    let zero = p.evm.view(pool, &ERC20Taonado::ZERO_VALUECall {});
    assert_eq!(
        B256::from(zero),
        p.evm.view(pool, &ERC20Taonado::zerosCall { i: U256::ZERO })
    );
    // The empty tree's root is zeros(20).
    let empty = p
        .evm
        .view(pool, &ERC20Taonado::zerosCall { i: U256::from(20) });
    assert_eq!(p.last_root(), empty);
}

#[test]
fn deposit_moves_the_denomination_and_emits_deposit_with_the_user() {
    let mut p = Pool::new(20);
    let (pool, user) = (p.pool, p.user);
    let empty_root = p.last_root();
    for (index, commitment) in [b32(11), b32(12)].into_iter().enumerate() {
        let receipt = p.deposit(commitment);
        receipt.expect_success();
        let events = receipt.events::<ERC20Taonado::Deposit>();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.commitment, commitment);
        assert_eq!(event.leafIndex, u32::try_from(index).expect("small"));
        assert_eq!(event.timestamp, U256::from(p.evm.timestamp));
        assert_eq!(event.user, user);
        assert!(p.evm.view(pool, &ERC20Taonado::commitmentsCall(commitment)));
    }
    assert_eq!(p.token_balance(pool), ether(2));
    assert_eq!(
        p.evm
            .view(pool, &ERC20Taonado::totalLifetimeDepositsCall(user)),
        ether(2)
    );
    assert_eq!(p.evm.view(pool, &ERC20Taonado::nextIndexCall {}), 2);
    assert_eq!(p.evm.view(pool, &ERC20Taonado::currentRootIndexCall {}), 2);
    let root = p.last_root();
    assert_ne!(root, empty_root);
    assert!(
        p.evm
            .view(pool, &ERC20Taonado::isKnownRootCall { _root: root })
    );
    assert!(
        p.evm
            .view(pool, &ERC20Taonado::isKnownRootCall { _root: empty_root })
    );
    assert!(
        !p.evm
            .view(pool, &ERC20Taonado::isKnownRootCall { _root: B256::ZERO })
    );
}

#[test]
fn a_commitment_is_accepted_once() {
    let mut p = Pool::new(20);
    p.deposit(b32(5)).expect_success();
    p.deposit(b32(5))
        .expect_revert("The commitment has been submitted");
}

#[test]
fn deposit_refuses_native_value_and_needs_an_allowance() {
    let mut p = Pool::new(20);
    let (wtao, pool, user) = (p.wtao, p.pool, p.user);
    crate::fixtures::wrap(&mut p.evm, wtao, user, ether(1));
    p.evm
        .exec(Tx::call(
            user,
            wtao,
            &WTAO::approveCall {
                guy: pool,
                wad: ether(1),
            },
        ))
        .expect_success();
    p.evm
        .exec(
            Tx::call(
                user,
                pool,
                &ERC20Taonado::depositCall {
                    _commitment: b32(1),
                },
            )
            .value(U256::from(1)),
        )
        .expect_revert("ETH value is supposed to be 0 for ERC20 instance");
    p.evm
        .exec(Tx::call(
            user,
            wtao,
            &WTAO::approveCall {
                guy: pool,
                wad: U256::ZERO,
            },
        ))
        .expect_success();
    let receipt = p.evm.exec(Tx::call(
        user,
        pool,
        &ERC20Taonado::depositCall {
            _commitment: b32(1),
        },
    ));
    assert_eq!(receipt.outcome, Outcome::Revert);
    assert!(!p.evm.view(pool, &ERC20Taonado::commitmentsCall(b32(1))));
}

#[test]
fn commitments_outside_the_field_are_rejected() {
    let mut p = Pool::new(20);
    p.deposit(B256::from(field_size()))
        .expect_revert("_left should be inside the field");
}

#[test]
fn withdraw_pays_recipient_and_relayer_and_spends_the_nullifier() {
    let mut p = Pool::new(20);
    p.deposit(b32(1)).expect_success();
    let root = p.last_root();
    let fee = ether(1) / U256::from(10);
    let call = p.withdraw_call(root, b32(77), fee, U256::ZERO);
    let receipt = p.withdraw(&call, U256::ZERO);
    receipt.expect_success();

    let (pool, recipient, relayer, verifier) = (p.pool, p.recipient, p.relayer, p.verifier);
    assert_eq!(p.token_balance(recipient), ether(1) - fee);
    assert_eq!(p.token_balance(relayer), fee);
    assert_eq!(p.token_balance(pool), U256::ZERO);
    let event = &receipt.events::<ERC20Taonado::Withdrawal>()[0];
    assert_eq!(
        (event.to, event.nullifierHash, event.relayer, event.fee),
        (recipient, b32(77), relayer, fee)
    );
    assert!(p.evm.view(
        pool,
        &ERC20Taonado::isSpentCall {
            _nullifierHash: b32(77)
        }
    ));
    assert!(
        p.evm
            .view(pool, &ERC20Taonado::nullifierHashesCall(b32(77)))
    );
    let spent = p.evm.view(
        pool,
        &ERC20Taonado::isSpentArrayCall {
            _nullifierHashes: vec![b32(1), b32(77)],
        },
    );
    assert_eq!(spent, vec![false, true]);

    // The verifier saw (root, nullifierHash, recipient, relayer, fee, refund) and the proof.
    let word = |a: Address| U256::from_be_slice(a.as_slice());
    let expected = [
        U256::from_be_bytes(root.0),
        U256::from(77),
        word(recipient),
        word(relayer),
        fee,
        U256::ZERO,
    ];
    for (i, want) in expected.into_iter().enumerate() {
        assert_eq!(
            p.evm
                .view(verifier, &MockVerifier::lastInputCall(U256::from(i))),
            want,
            "input {i}"
        );
    }
    assert_eq!(
        p.evm.view(verifier, &MockVerifier::lastProofCall {}),
        call._proof
    );

    p.withdraw(&call, U256::ZERO)
        .expect_revert("The note has been already spent");
}

#[test]
fn withdraw_checks_run_in_the_specified_order() {
    let mut p = Pool::new(20);
    p.deposit(b32(1)).expect_success();
    let root = p.last_root();
    let too_much = ether(2);
    let (owner, verifier) = (p.owner, p.verifier);

    // Everything wrong at once: the fee check comes first.
    let spent_nullifier = b32(9);
    p.withdraw(
        &p.withdraw_call(root, spent_nullifier, U256::ZERO, U256::ZERO),
        U256::ZERO,
    )
    .expect_success();
    p.deposit(b32(2)).expect_success();
    p.evm
        .exec(Tx::call(
            owner,
            verifier,
            &MockVerifier::setResultCall { _result: false },
        ))
        .expect_success();
    let unknown_root = b32(123);
    let all_wrong = p.withdraw_call(unknown_root, spent_nullifier, too_much, U256::from(5));
    p.withdraw(&all_wrong, U256::ZERO)
        .expect_revert("Fee exceeds transfer value");
    // Then the nullifier, then the root, then the proof, then the refund.
    let call = p.withdraw_call(unknown_root, spent_nullifier, U256::ZERO, U256::from(5));
    p.withdraw(&call, U256::ZERO)
        .expect_revert("The note has been already spent");
    let call = p.withdraw_call(unknown_root, b32(10), U256::ZERO, U256::from(5));
    p.withdraw(&call, U256::ZERO)
        .expect_revert("Cannot find your merkle root");
    let call = p.withdraw_call(root, b32(10), U256::ZERO, U256::from(5));
    p.withdraw(&call, U256::ZERO)
        .expect_revert("Invalid withdraw proof");
    p.evm
        .exec(Tx::call(
            owner,
            verifier,
            &MockVerifier::setResultCall { _result: true },
        ))
        .expect_success();
    p.withdraw(&call, U256::ZERO)
        .expect_revert("Incorrect refund amount received by the contract");
    // The fee may equal the denomination.
    let call = p.withdraw_call(root, b32(10), ether(1), U256::ZERO);
    p.withdraw(&call, U256::ZERO).expect_success();
}

#[test]
fn the_refund_goes_to_the_recipient_or_back_to_the_relayer() {
    let mut p = Pool::new(20);
    p.deposit(b32(1)).expect_success();
    p.deposit(b32(2)).expect_success();
    let root = p.last_root();
    let refund = ether(1) / U256::from(1000);
    let call = p.withdraw_call(root, b32(1), U256::ZERO, refund);
    p.withdraw(&call, refund).expect_success();
    assert_eq!(p.evm.balance(p.recipient), refund);

    // WTAO's receive() needs more than the 2300-gas stipend, so a refund to it bounces back
    // to the relayer.
    let relayer_before = p.evm.balance(p.relayer);
    let mut call = p.withdraw_call(root, b32(2), U256::ZERO, refund);
    call._recipient = p.wtao;
    let receipt = p.withdraw(&call, refund);
    receipt.expect_success();
    assert_eq!(
        p.evm.balance(p.relayer),
        relayer_before,
        "the refund came back (gas price is 0)"
    );
    assert_eq!(p.evm.balance(p.pool), U256::ZERO);
}

#[test]
fn defect_lifetime_deposits_grow_by_depositing_and_withdrawing_to_oneself() {
    let mut p = Pool::new(20);
    let (pool, user) = (p.pool, p.user);
    for n in 1..=3 {
        p.deposit(b32(n)).expect_success();
        let root = p.last_root();
        let mut call = p.withdraw_call(root, b32(100 + n), U256::ZERO, U256::ZERO);
        call._recipient = user;
        p.withdraw(&call, U256::ZERO).expect_success();
    }
    assert_eq!(
        p.evm
            .view(pool, &ERC20Taonado::totalLifetimeDepositsCall(user)),
        ether(3)
    );
    assert_eq!(p.token_balance(pool), U256::ZERO);
}

fn deploy_tree(evm: &mut Evm, from: Address, hasher: Address, levels: u32) -> Receipt {
    let args = MerkleTreeWithHistoryMock::constructorCall {
        _treeLevels: levels,
        _hasher: hasher,
    }
    .abi_encode();
    evm.exec(Tx::create(
        from,
        Contract::MerkleTreeWithHistoryMock
            .artifact()
            .deploy_code(&args),
    ))
}

#[test]
fn tree_levels_must_be_between_1_and_31() {
    let mut evm = Evm::new();
    let owner = evm.funded_account(1, ether(1));
    let hasher = deploy_hasher(&mut evm, owner);
    deploy_tree(&mut evm, owner, hasher, 0).expect_revert("_levels should be greater than zero");
    deploy_tree(&mut evm, owner, hasher, 32).expect_revert("_levels should be less than 32");
    let tree = deploy_tree(&mut evm, owner, hasher, 31)
        .created
        .expect("31 levels is allowed");
    // The 31-level empty root is zeros(31), which is hashLeftRight(zeros(30), zeros(30)).
    let z30 = evm.view(
        tree,
        &MerkleTreeWithHistory::zerosCall { i: U256::from(30) },
    );
    let z31 = evm.view(
        tree,
        &MerkleTreeWithHistory::zerosCall { i: U256::from(31) },
    );
    assert_eq!(
        evm.view(
            tree,
            &MerkleTreeWithHistory::hashLeftRightCall {
                _hasher: hasher,
                _left: z30,
                _right: z30
            }
        ),
        z31
    );
    assert_eq!(
        evm.view(tree, &MerkleTreeWithHistory::getLastRootCall {}),
        z31
    );
    let out_of_range = evm.simulate(Tx::call(
        owner,
        tree,
        &MerkleTreeWithHistory::zerosCall { i: U256::from(32) },
    ));
    out_of_range.expect_revert("Index out of bounds");
}

#[test]
fn a_full_tree_rejects_more_leaves() {
    let mut evm = Evm::new();
    let owner = evm.funded_account(1, ether(1));
    let hasher = deploy_hasher(&mut evm, owner);
    let tree = deploy_tree(&mut evm, owner, hasher, 2)
        .created
        .expect("deploys");
    for n in 0..4u64 {
        let receipt = evm.exec(Tx::call(
            owner,
            tree,
            &MerkleTreeWithHistoryMock::insertCall { _leaf: b32(n + 1) },
        ));
        assert_eq!(
            receipt.decode::<MerkleTreeWithHistoryMock::insertCall>(),
            u32::try_from(n).expect("small")
        );
    }
    evm.exec(Tx::call(
        owner,
        tree,
        &MerkleTreeWithHistoryMock::insertCall { _leaf: b32(5) },
    ))
    .expect_revert("Merkle tree is full. No more leaves can be added");
}

#[test]
fn hash_left_right_rejects_inputs_outside_the_field() {
    let mut evm = Evm::new();
    let owner = evm.funded_account(1, ether(1));
    let hasher = deploy_hasher(&mut evm, owner);
    let tree = deploy_tree(&mut evm, owner, hasher, 2)
        .created
        .expect("deploys");
    let p = B256::from(field_size());
    let below = B256::from(field_size() - U256::from(1));
    let call = |l, r| MerkleTreeWithHistory::hashLeftRightCall {
        _hasher: hasher,
        _left: l,
        _right: r,
    };
    evm.simulate(Tx::call(owner, tree, &call(p, below)))
        .expect_revert("_left should be inside the field");
    evm.simulate(Tx::call(owner, tree, &call(below, p)))
        .expect_revert("_right should be inside the field");
    evm.simulate(Tx::call(owner, tree, &call(below, below)))
        .expect_success();
}

#[test]
fn only_the_last_30_roots_are_known() {
    let mut evm = Evm::new();
    let owner = evm.funded_account(1, ether(1));
    let hasher = deploy_hasher(&mut evm, owner);
    let tree = deploy_tree(&mut evm, owner, hasher, 20)
        .created
        .expect("deploys");
    let mut roots = vec![evm.view(tree, &MerkleTreeWithHistory::getLastRootCall {})];
    for n in 1..=30u64 {
        evm.exec(Tx::call(
            owner,
            tree,
            &MerkleTreeWithHistoryMock::insertCall { _leaf: b32(n) },
        ))
        .expect_success();
        roots.push(evm.view(tree, &MerkleTreeWithHistory::getLastRootCall {}));
    }
    let known = |evm: &mut Evm, root: B256| {
        evm.view(
            tree,
            &MerkleTreeWithHistory::isKnownRootCall { _root: root },
        )
    };
    assert!(
        !known(&mut evm, roots[0]),
        "the empty root fell out of the 30-root history"
    );
    for &root in &roots[1..] {
        assert!(known(&mut evm, root));
    }
    assert_eq!(
        evm.view(tree, &MerkleTreeWithHistory::currentRootIndexCall {}),
        0,
        "the ring wrapped around"
    );
}

#[derive(Clone, Debug)]
enum PoolOp {
    Deposit(u8),
    Withdraw(u8),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The pool holds denomination × (deposits − withdrawals), and each commitment and each
    /// nullifier is accepted exactly once.
    #[test]
    fn pool_balance_and_single_use(ops in proptest::collection::vec(
        prop_oneof![(0u8..8).prop_map(PoolOp::Deposit), (0u8..8).prop_map(PoolOp::Withdraw)],
        1..20,
    )) {
        let mut p = Pool::new(5);
        let (mut commitments, mut nullifiers) = (HashSet::new(), HashSet::new());
        for op in ops {
            match op {
                PoolOp::Deposit(c) => {
                    let receipt = p.deposit(b32(1 + u64::from(c)));
                    prop_assert_eq!(receipt.success(), commitments.insert(c), "{}", receipt.describe());
                }
                PoolOp::Withdraw(n) => {
                    let root = p.last_root();
                    let call = p.withdraw_call(root, b32(1_000 + u64::from(n)), U256::ZERO, U256::ZERO);
                    let affordable = commitments.len() > nullifiers.len();
                    let receipt = p.withdraw(&call, U256::ZERO);
                    let fresh = !nullifiers.contains(&n);
                    prop_assert_eq!(receipt.success(), fresh && affordable, "{}", receipt.describe());
                    if receipt.success() {
                        nullifiers.insert(n);
                    }
                }
            }
            let pool = p.pool;
            let expected = p.denomination * U256::from(commitments.len() - nullifiers.len());
            prop_assert_eq!(p.token_balance(pool), expected);
        }
    }
}

#[test]
fn withdraw_through_the_real_groth16_verifier_binds_every_public_input() {
    use taonado_contracts::verifier::{ChainFamily, initcode};

    let mut p = Pool::new(20);
    p.deposit(b32(1)).expect_success();
    p.deposit(b32(2)).expect_success();
    let root = p.last_root();
    let fee = ether(1) / U256::from(50);
    let word = |a: Address| U256::from_be_slice(a.as_slice());
    let inputs = [
        U256::from_be_bytes(root.0),
        U256::from(42),
        word(p.recipient),
        word(p.relayer),
        fee,
        U256::ZERO,
    ];
    let (key, proof) = crate::fixtures::trapdoor_key_and_proof(inputs);

    // revm's precompiles are Ethereum's (bn256 add at 0x6), so the Ethereum family is the one
    // that runs here.
    let owner = p.owner;
    let verifier = p
        .evm
        .exec(Tx::create(owner, initcode(ChainFamily::Ethereum, &key)))
        .created
        .expect("verifier deploys");
    let pool = deploy_pool(&mut p.evm, owner, verifier, p.hasher, ether(1), 20, p.wtao);
    p.pool = pool;
    p.deposit(b32(1)).expect_success();
    p.deposit(b32(2)).expect_success();
    assert_eq!(p.last_root(), root, "same leaves, same root");

    let mut call = p.withdraw_call(root, b32(42), fee, U256::ZERO);
    call._proof = proof;
    // Changing any public input breaks the proof.
    let mut wrong_fee = call.clone();
    wrong_fee._fee = fee + U256::from(1);
    p.withdraw(&wrong_fee, U256::ZERO)
        .expect_revert("Invalid withdraw proof");
    let mut wrong_recipient = call.clone();
    wrong_recipient._recipient = p.relayer;
    p.withdraw(&wrong_recipient, U256::ZERO)
        .expect_revert("Invalid withdraw proof");
    let mut wrong_nullifier = call.clone();
    wrong_nullifier._nullifierHash = b32(43);
    p.withdraw(&wrong_nullifier, U256::ZERO)
        .expect_revert("Invalid withdraw proof");

    p.withdraw(&call, U256::ZERO).expect_success();
    let recipient = p.recipient;
    assert_eq!(p.token_balance(recipient), ether(1) - fee);
}

#[test]
fn a_pool_needs_a_positive_denomination() {
    let mut evm = Evm::new();
    let owner = evm.funded_account(1, ether(1));
    let args = ERC20Taonado::constructorCall {
        _verifier: owner,
        _hasher: owner,
        _denomination: U256::ZERO,
        _merkleTreeHeight: 20,
        _token: owner,
    }
    .abi_encode();
    let initcode = Contract::ERC20Taonado.artifact().deploy_code(&args);
    evm.exec(Tx::create(owner, initcode))
        .expect_revert("denomination should be greater than 0");
}
