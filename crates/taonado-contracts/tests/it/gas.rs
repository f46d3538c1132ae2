//! Gas: the deposit budget, and a report of every public function the tests exercise
//! (`cargo test -p taonado-contracts --test it gas_report -- --nocapture`; also written to
//! `target/gas-report.md`).

use std::fmt::Write as _;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolConstructor};
use taonado_contracts::{
    Contract, NEURON_PRECOMPILE,
    bindings::{
        DepositTracker, ERC20Taonado, ERC1967Proxy, EvmValidator, IVerifier, WTAO, WeightsV3,
        mocks::MockNeuron,
    },
    verifier::{ChainFamily, initcode, verify_proof_calldata},
};

use crate::{
    evm::{Evm, Receipt, Tx, b32, ether},
    fixtures::{
        Mining, NETUID, deploy_hasher, deploy_mock_verifier, deploy_pool, pool_deposit, register,
        trapdoor_key_and_proof,
    },
};

const DEPOSIT_BUDGET: u64 = 1_000_000;

#[test]
fn a_height_20_pool_deposit_costs_less_than_a_million_gas() {
    let mut evm = Evm::new();
    let user = evm.funded_account(1, ether(100));
    let wtao = evm.deploy(user, Contract::WTAO, &[]);
    let hasher = deploy_hasher(&mut evm, user);
    let verifier = deploy_mock_verifier(&mut evm, user, true);
    let pool = deploy_pool(&mut evm, user, verifier, hasher, ether(1), 20, wtao);
    // Leaves 0..8 cover every mix of left/right positions in the lowest levels.
    for n in 0..8u64 {
        let receipt = pool_deposit(&mut evm, wtao, pool, user, b32(n + 1), ether(1));
        receipt.expect_success();
        assert!(
            receipt.gas_used < DEPOSIT_BUDGET,
            "deposit {n} used {} gas",
            receipt.gas_used
        );
    }
}

/// Rows of (contract, function, gas used by the transaction).
#[derive(Default)]
struct Report {
    rows: Vec<(&'static str, String, u64)>,
}

impl Report {
    #[track_caller]
    fn record(&mut self, contract: &'static str, function: &str, receipt: &Receipt) {
        receipt.expect_success();
        self.rows
            .push((contract, function.to_owned(), receipt.gas_used));
    }

    #[track_caller]
    fn call<C: SolCall>(&mut self, evm: &mut Evm, contract: &'static str, tx: Tx) {
        let receipt = evm.exec(tx);
        self.record(contract, C::SIGNATURE, &receipt);
    }

    fn markdown(&self) -> String {
        let mut out = String::from(
            "# Gas report\n\nTransaction gas (21,000 intrinsic + calldata + execution, after refunds), \
             revm London, measured by `cargo test -p taonado-contracts --test it gas_report`.\n\n\
             | contract | function | gas |\n|---|---|---:|\n",
        );
        for (contract, function, gas) in &self.rows {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "| {contract} | `{function}` | {gas} |");
        }
        out
    }
}

fn deploy_row(
    report: &mut Report,
    evm: &mut Evm,
    from: Address,
    contract: Contract,
    args: &[u8],
) -> Address {
    let receipt = evm.exec(Tx::create(from, contract.artifact().deploy_code(args)));
    report.record(contract.name(), "(deploy)", &receipt);
    receipt
        .created
        .expect("a successful creation has an address")
}

#[test]
fn gas_report() {
    let mut report = Report::default();
    let mut m = Mining::new();
    let owner = m.owner;
    let (wtao, tracker, weights) = (m.wtao, m.tracker, m.weights_v3);
    register(&mut m.evm, owner, &[b32(0xb0), b32(0xa1), b32(0xa2)]);
    let user = m.evm.funded_account(1, ether(10_000));
    let relayer = m.evm.funded_account(2, ether(10));
    let evm = &mut m.evm;

    // WTAO
    deploy_row(&mut report, evm, owner, Contract::WTAO, &[]);
    report.call::<WTAO::depositCall>(
        evm,
        "WTAO",
        Tx::call(user, wtao, &WTAO::depositCall {}).value(ether(500)),
    );
    report.call::<WTAO::withdrawCall>(
        evm,
        "WTAO",
        Tx::call(user, wtao, &WTAO::withdrawCall { wad: ether(1) }),
    );
    report.call::<WTAO::approveCall>(
        evm,
        "WTAO",
        Tx::call(
            user,
            wtao,
            &WTAO::approveCall {
                guy: relayer,
                wad: ether(1),
            },
        ),
    );
    report.call::<WTAO::transferCall>(
        evm,
        "WTAO",
        Tx::call(
            user,
            wtao,
            &WTAO::transferCall {
                dst: relayer,
                wad: ether(1),
            },
        ),
    );
    report.call::<WTAO::transferFromCall>(
        evm,
        "WTAO",
        Tx::call(
            relayer,
            wtao,
            &WTAO::transferFromCall {
                src: user,
                dst: relayer,
                wad: ether(1),
            },
        ),
    );

    // DepositTracker
    deploy_row(&mut report, evm, owner, Contract::DepositTracker, &[]);
    report.call::<DepositTracker::associateCall>(
        evm,
        "DepositTracker",
        Tx::call(
            user,
            tracker,
            &DepositTracker::associateCall { hotkey: b32(0xa1) },
        ),
    );

    // Pool (height 20, real hasher, mock verifier)
    let hasher = deploy_row(&mut report, evm, owner, Contract::MiMCSponge, &[]);
    let verifier = deploy_mock_verifier(evm, owner, true);
    let args = ERC20Taonado::constructorCall {
        _verifier: verifier,
        _hasher: hasher,
        _denomination: ether(1),
        _merkleTreeHeight: 20,
        _token: wtao,
    }
    .abi_encode();
    let pool = deploy_row(&mut report, evm, owner, Contract::ERC20Taonado, &args);
    evm.exec(Tx::call(
        user,
        wtao,
        &WTAO::approveCall {
            guy: pool,
            wad: U256::MAX,
        },
    ))
    .expect_success();
    for n in 0..2u64 {
        let receipt = evm.exec(Tx::call(
            user,
            pool,
            &ERC20Taonado::depositCall {
                _commitment: b32(n + 1),
            },
        ));
        report.record(
            "ERC20Taonado",
            &format!("deposit(bytes32) leaf {n}"),
            &receipt,
        );
    }
    let root: B256 = evm.view(pool, &ERC20Taonado::getLastRootCall {});
    let withdraw = ERC20Taonado::withdrawCall {
        _proof: Bytes::from(vec![0x11; 256]),
        _root: root,
        _nullifierHash: b32(99),
        _recipient: crate::evm::account(77),
        _relayer: relayer,
        _fee: ether(1) / U256::from(100),
        _refund: U256::ZERO,
    };
    let receipt = evm.exec(Tx::call(relayer, pool, &withdraw));
    report.record(
        "ERC20Taonado",
        "withdraw(...) with MockVerifier (stores its inputs)",
        &receipt,
    );

    // The same withdrawal through the real Groth16 verifier (Ethereum precompile layout, as revm
    // has it), on a second pool holding the same two leaves and therefore the same root.
    let word = |a: Address| U256::from_be_slice(a.as_slice());
    let inputs = [
        U256::from_be_bytes(root.0),
        U256::from_be_bytes(withdraw._nullifierHash.0),
        word(withdraw._recipient),
        word(relayer),
        withdraw._fee,
        U256::ZERO,
    ];
    let (key, proof) = trapdoor_key_and_proof(inputs);
    let real_verifier = evm.exec(Tx::create(owner, initcode(ChainFamily::Ethereum, &key)));
    report.record("Groth16VerifierEthereum", "(deploy)", &real_verifier);
    let real_verifier = real_verifier
        .created
        .expect("a successful creation has an address");
    let verify = evm.exec(Tx::raw(
        relayer,
        real_verifier,
        verify_proof_calldata(proof.clone(), inputs),
    ));
    report.record(
        "Groth16VerifierEthereum",
        "verifyProof(bytes,uint256[6])",
        &verify,
    );
    assert!(
        verify.decode::<IVerifier::verifyProofCall>(),
        "the trapdoor proof verifies"
    );
    let pool2 = deploy_pool(evm, owner, real_verifier, hasher, ether(1), 20, wtao);
    evm.exec(Tx::call(
        user,
        wtao,
        &WTAO::approveCall {
            guy: pool2,
            wad: U256::MAX,
        },
    ))
    .expect_success();
    for n in 0..2u64 {
        evm.exec(Tx::call(
            user,
            pool2,
            &ERC20Taonado::depositCall {
                _commitment: b32(n + 1),
            },
        ))
        .expect_success();
    }
    let receipt = evm.exec(Tx::call(
        relayer,
        pool2,
        &ERC20Taonado::withdrawCall {
            _proof: proof,
            ..withdraw
        },
    ));
    report.record(
        "ERC20Taonado",
        "withdraw(...) with Groth16VerifierEthereum",
        &receipt,
    );

    weights_and_validator(&mut report, evm, owner, user, weights);

    let text = report.markdown();
    println!("{text}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/gas-report.md");
    // `target/` is absent when CARGO_TARGET_DIR builds elsewhere.
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));

    let deposit = report
        .rows
        .iter()
        .find(|r| r.1.starts_with("deposit(bytes32)"))
        .map(|r| r.2);
    assert!(deposit.is_some_and(|gas| gas < DEPOSIT_BUDGET));
    let withdraw = report
        .rows
        .iter()
        .find(|r| r.1.ends_with("Groth16VerifierEthereum"))
        .map(|r| r.2);
    assert!(withdraw.is_some_and(|gas| gas < 500_000), "{withdraw:?}");
}

fn weights_and_validator(
    report: &mut Report,
    evm: &mut Evm,
    owner: Address,
    user: Address,
    weights: Address,
) {
    report.call::<WeightsV3::setDepositGoalCall>(
        evm,
        "WeightsV3",
        Tx::call(
            owner,
            weights,
            &WeightsV3::setDepositGoalCall {
                _depositGoal: ether(1000),
            },
        ),
    );
    let implementation = deploy_row(report, evm, owner, Contract::EvmValidator, &[]);
    let init = EvmValidator::initializeCall {
        _netuid: NETUID,
        _weights: weights,
    }
    .abi_encode();
    let args = ERC1967Proxy::constructorCall {
        implementation,
        _data: init.into(),
    }
    .abi_encode();
    let proxy = deploy_row(report, evm, owner, Contract::ERC1967Proxy, &args);
    evm.exec(Tx::raw(owner, proxy, Bytes::new()).value(ether(10)))
        .expect_success();
    let setters: [(&str, Vec<u8>); 6] = [
        (
            EvmValidator::setSetWeightsBountyCall::SIGNATURE,
            EvmValidator::setSetWeightsBountyCall {
                value: U256::from(1),
            }
            .abi_encode(),
        ),
        (
            EvmValidator::setSetWeightsBlockIntervalCall::SIGNATURE,
            EvmValidator::setSetWeightsBlockIntervalCall { value: U256::ZERO }.abi_encode(),
        ),
        (
            EvmValidator::setMetagraphBoostValueCall::SIGNATURE,
            EvmValidator::setMetagraphBoostValueCall { value: 100 }.abi_encode(),
        ),
        (
            EvmValidator::setVersionKeyCall::SIGNATURE,
            EvmValidator::setVersionKeyCall { value: 1 }.abi_encode(),
        ),
        (
            EvmValidator::setRefundOverheadCall::SIGNATURE,
            EvmValidator::setRefundOverheadCall {
                value: U256::from(15_000),
            }
            .abi_encode(),
        ),
        (
            EvmValidator::setWeightsContractCall::SIGNATURE,
            EvmValidator::setWeightsContractCall { value: weights }.abi_encode(),
        ),
    ];
    for (signature, data) in setters {
        let receipt = evm.exec(Tx::raw(owner, proxy, data.into()));
        report.record("EvmValidator (proxy)", signature, &receipt);
    }
    report.call::<EvmValidator::setWeightsCall>(
        evm,
        "EvmValidator (proxy)",
        Tx::call(
            user,
            proxy,
            &EvmValidator::setWeightsCall { hotkey: b32(0xa1) },
        )
        .gas_price(1_000_000_000),
    );
    report.call::<EvmValidator::operatorSetWeightsCall>(
        evm,
        "EvmValidator (proxy)",
        Tx::call(owner, proxy, &EvmValidator::operatorSetWeightsCall {}),
    );
    let next = evm.deploy(owner, Contract::EvmValidator, &[]);
    report.call::<EvmValidator::upgradeToAndCallCall>(
        evm,
        "EvmValidator (proxy)",
        Tx::call(
            owner,
            proxy,
            &EvmValidator::upgradeToAndCallCall {
                newImplementation: next,
                data: Bytes::new(),
            },
        ),
    );
    report.call::<EvmValidator::rescueFundsCall>(
        evm,
        "EvmValidator (proxy)",
        Tx::call(owner, proxy, &EvmValidator::rescueFundsCall {}),
    );
    let calls: alloy_primitives::U256 =
        evm.view(NEURON_PRECOMPILE, &MockNeuron::setWeightsCallsCall(proxy));
    assert_eq!(calls, U256::from(2));
}
