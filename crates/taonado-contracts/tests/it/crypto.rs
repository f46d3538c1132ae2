//! The Tornado hasher (MiMCSponge.yul) and the Groth16 verifiers, executed in revm.
//!
//! Expected hashes come from `tornado-crypto.json` (a copy of shared/vectors, computed with
//! circomlibjs). Proofs come from a tiny arkworks circuit with 6 public inputs, proved with a
//! seeded RNG. The Bittensor EVM is modelled by a precompile provider that moves BN254 add to
//! 0x09 and puts a Substrate-dispatch stand-in at 0x06.

use std::sync::OnceLock;

use alloy_primitives::{Address, Bytes, U256, address, keccak256};
use alloy_sol_types::{SolCall, SolError, sol};
use ark_bn254::{Bn254, Fq, Fr, G1Affine, G2Affine};
use ark_ff::{Field, PrimeField};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_r1cs_std::{
    alloc::AllocVar,
    eq::EqGadget,
    fields::{FieldVar, fp::FpVar},
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use proptest::prelude::*;
use revm::{
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
    context::{ContextTr, Evm, TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    handler::{
        EthFrame, EthPrecompiles, MainnetContext, PrecompileProvider, instructions::EthInstructions,
        precompile_output_to_interpreter_result,
    },
    interpreter::{CallInputs, InterpreterResult, interpreter::EthInterpreter},
    precompile::{
        self, Precompile, PrecompileId, PrecompileOutput, PrecompileResult, Precompiles,
        bn254::{self, add::ISTANBUL_ADD_GAS_COST},
    },
    primitives::{AddressSet, TxKind, hardfork::SpecId},
    state::AccountInfo,
};
use serde_json::Value;
use taonado_contracts::{
    Contract,
    verifier::{
        self, ChainFamily, Groth16VerifierEthereum, VerifyingKeyWords, encode_proof, g2_words, initcode,
    },
};

sol! {
    function MiMCSponge(uint256 in_xL, uint256 in_xR) external pure returns (uint256 xL, uint256 xR);
    function hashLeftRight(address hasher, bytes32 left, bytes32 right) external pure returns (bytes32);
    function zeros(uint256 i) external pure returns (bytes32);
    function insert(bytes32 leaf) external returns (uint32);
    function getLastRoot() external view returns (bytes32);
}

/// circomlib's MiMCSponge contract (circomlibjs `createCode("mimcsponge", 220)`), execution gas
/// per call as measured in shared/bench/RESULTS.md §3.
const CIRCOMLIB_MIMC_EXECUTION_GAS: u64 = 20_546;
/// snarkjs's Solidity verifier, 6 public inputs, execution gas (RESULTS.md §1).
const SNARKJS_VERIFIER_EXECUTION_GAS: u64 = 222_157;

/// BN254 base field prime q.
const Q: U256 = U256::from_limbs(<Fq as PrimeField>::MODULUS.0);
/// BN254 scalar field prime r (= the MiMC field p).
const R: U256 = U256::from_limbs(<Fr as PrimeField>::MODULUS.0);

const DEPLOYER: Address = address!("0x00000000000000000000000000000000000de910");

// ---------------------------------------------------------------------------------------------
// A small revm chain, generic over the precompile set.

type Db = CacheDB<EmptyDB>;
type Ctx = MainnetContext<Db>;
type Vm<P> = Evm<Ctx, (), EthInstructions<EthInterpreter, Ctx>, P, EthFrame<EthInterpreter>>;

/// What one committed transaction did.
#[derive(Debug)]
struct Receipt {
    result: ExecutionResult,
    /// Gas used minus the intrinsic 21,000 and the calldata cost (4 per zero byte, 16 otherwise).
    execution_gas: u64,
}

impl Receipt {
    fn success(&self) -> bool {
        self.result.is_success()
    }

    fn output(&self) -> Bytes {
        self.result.output().cloned().unwrap_or_default()
    }

    /// The `Error(string)` reason of a revert, if that is what happened.
    fn revert_reason(&self) -> Option<String> {
        match &self.result {
            ExecutionResult::Revert { output, .. } => {
                alloy_sol_types::Revert::abi_decode(output).ok().map(|r| r.reason)
            }
            _ => None,
        }
    }
}

struct Chain<P> {
    vm: Vm<P>,
    nonce: u64,
}

/// Ethereum mainnet precompiles, as plain revm has them.
fn ethereum_chain() -> Chain<EthPrecompiles> {
    Chain { vm: context().build_mainnet(), nonce: 0 }
}

/// The Bittensor EVM's BN254 layout: add at 0x09, 0x06 taken by Substrate dispatch.
fn bittensor_chain() -> Chain<FixedPrecompiles> {
    Chain { vm: context().build_mainnet().with_precompiles(FixedPrecompiles::bittensor()), nonce: 0 }
}

/// Prague rules, and a deployer that can attach value.
fn context() -> Ctx {
    let mut db = Db::default();
    db.insert_account_info(DEPLOYER, AccountInfo { balance: U256::from(10u64).pow(U256::from(18)), ..Default::default() });
    Context::mainnet().with_db(db).modify_cfg_chained(|cfg| cfg.spec = SpecId::PRAGUE)
}

fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

impl<P: PrecompileProvider<Ctx, Output = InterpreterResult>> Chain<P> {
    fn transact(&mut self, kind: TxKind, data: Bytes, value: U256, gas_limit: u64) -> Receipt {
        let tx = TxEnv::builder()
            .caller(DEPLOYER)
            .kind(kind)
            .data(data.clone())
            .value(value)
            .gas_limit(gas_limit)
            .nonce(self.nonce)
            .build()
            .expect("a well-formed test transaction");
        let result = self.vm.transact_commit(tx).expect("the transaction is valid");
        self.nonce += 1;
        let execution_gas = result.tx_gas_used().saturating_sub(21_000 + calldata_gas(&data));
        Receipt { result, execution_gas }
    }

    fn deploy(&mut self, code: Bytes) -> Address {
        let receipt = self.transact(TxKind::Create, code, U256::ZERO, 15_000_000);
        match receipt.result {
            ExecutionResult::Success { .. } => {
                receipt.result.created_address().expect("a create returns the new address")
            }
            other => panic!("deployment failed: {other:?}"),
        }
    }

    fn call(&mut self, to: Address, data: impl Into<Bytes>) -> Receipt {
        self.transact(TxKind::Call(to), data.into(), U256::ZERO, 5_000_000)
    }

    fn call_with_gas(&mut self, to: Address, data: impl Into<Bytes>, gas_limit: u64) -> Receipt {
        self.transact(TxKind::Call(to), data.into(), U256::ZERO, gas_limit)
    }

    fn call_ok<C: SolCall>(&mut self, to: Address, call: &C) -> C::Return {
        let receipt = self.call(to, call.abi_encode());
        assert!(receipt.success(), "{} failed: {:?}", C::SIGNATURE, receipt.result);
        C::abi_decode_returns(&receipt.output()).expect("the call returns its declared type")
    }
}

/// A fixed precompile table: the spec never swaps it out.
struct FixedPrecompiles {
    table: Precompiles,
    announced: bool,
}

/// Stand-in for Frontier's Substrate dispatch precompile: a BN254 add payload is not a SCALE
/// encoded call, so it reverts.
fn substrate_dispatch(_input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    Ok(PrecompileOutput::revert(
        gas_limit.min(1_000),
        Bytes::from_static(b"dispatch: cannot decode call"),
        reservoir,
    ))
}

fn bn254_add_istanbul(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    Ok(precompile::call_eth_precompile(
        |input, gas_limit| bn254::run_add(input, ISTANBUL_ADD_GAS_COST, gas_limit),
        input,
        gas_limit,
        reservoir,
    ))
}

impl FixedPrecompiles {
    fn bittensor() -> Self {
        let mut table = Precompiles::prague().clone();
        table.extend([
            Precompile::new(PrecompileId::Custom("substrate-dispatch".into()), precompile::u64_to_address(6), substrate_dispatch),
            Precompile::new(PrecompileId::Bn254Add, precompile::u64_to_address(9), bn254_add_istanbul),
        ]);
        Self { table, announced: false }
    }
}

impl<CTX: ContextTr> PrecompileProvider<CTX> for FixedPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, _spec: <CTX::Cfg as revm::context::Cfg>::Spec) -> bool {
        // The table does not depend on the spec; the journal only needs its addresses once.
        !std::mem::replace(&mut self.announced, true)
    }

    fn run(&mut self, context: &mut CTX, inputs: &CallInputs) -> Result<Option<InterpreterResult>, String> {
        let Some(precompile) = self.table.get(&inputs.bytecode_address) else {
            return Ok(None);
        };
        let output = precompile
            .execute(&inputs.input.as_bytes(context), inputs.gas_limit, inputs.reservoir)
            .map_err(|e| e.to_string())?;
        Ok(Some(precompile_output_to_interpreter_result(output, inputs.gas_limit)))
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.table.addresses_set()
    }
}

// ---------------------------------------------------------------------------------------------
// Vectors

fn vectors() -> &'static Value {
    static VECTORS: OnceLock<Value> = OnceLock::new();
    VECTORS.get_or_init(|| {
        serde_json::from_str(include_str!("tornado-crypto.json")).expect("the vectors file is valid JSON")
    })
}

/// A decimal or 0x-hex string from the vectors.
fn word(value: &Value) -> U256 {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a number: {value}"))
}

fn b32(value: U256) -> alloy_primitives::B256 {
    value.into()
}

// ---------------------------------------------------------------------------------------------
// MiMCSponge

fn deploy_hasher<P: PrecompileProvider<Ctx, Output = InterpreterResult>>(chain: &mut Chain<P>) -> Address {
    chain.deploy(Contract::MiMCSponge.artifact().bytecode.clone())
}

#[test]
fn mimc_sponge_matches_circomlib_vectors() {
    let mut chain = ethereum_chain();
    let hasher = deploy_hasher(&mut chain);
    let cases = vectors()["mimcsponge_k0"].as_array().expect("mimcsponge_k0 is a list");
    assert!(!cases.is_empty());
    for case in cases {
        assert_eq!(word(&case["k"]), U256::ZERO);
        let call = MiMCSpongeCall { in_xL: word(&case["xL_in"]), in_xR: word(&case["xR_in"]) };
        let out = chain.call_ok(hasher, &call);
        assert_eq!(out.xL, word(&case["xL_out"]), "xL for {case}");
        assert_eq!(out.xR, word(&case["xR_out"]), "xR for {case}");
    }
}

#[test]
fn mimc_sponge_costs_less_execution_gas_than_circomlib() {
    let mut chain = ethereum_chain();
    let hasher = deploy_hasher(&mut chain);
    let mut gas = Vec::new();
    for case in vectors()["mimcsponge_k0"].as_array().expect("mimcsponge_k0 is a list") {
        let call = MiMCSpongeCall { in_xL: word(&case["xL_in"]), in_xR: word(&case["xR_in"]) };
        let receipt = chain.call(hasher, call.abi_encode());
        assert!(receipt.success());
        gas.push(receipt.execution_gas);
    }
    // Straight-line code: the cost does not depend on the inputs.
    assert!(gas.windows(2).all(|w| w[0] == w[1]), "gas varies with input: {gas:?}");
    assert!(
        gas[0] < CIRCOMLIB_MIMC_EXECUTION_GAS,
        "MiMCSponge takes {} execution gas, circomlib {CIRCOMLIB_MIMC_EXECUTION_GAS}",
        gas[0]
    );
}

#[test]
fn mimc_sponge_reverts_on_foreign_selectors_short_calldata_and_value() {
    let mut chain = ethereum_chain();
    let hasher = deploy_hasher(&mut chain);
    let good = MiMCSpongeCall { in_xL: U256::from(1), in_xR: U256::from(2) }.abi_encode();

    let mut wrong_selector = good.clone();
    wrong_selector[0] ^= 1;
    // circomlib's three-argument selector (xL, xR, k) must not be answered with two-argument semantics.
    let circomlib_abi = [&[0x3f, 0x1a, 0x11, 0x87][..], &good[4..], &[0u8; 32][..]].concat();
    for data in [wrong_selector, good[..good.len() - 1].to_vec(), Vec::new(), circomlib_abi] {
        let receipt = chain.call(hasher, data);
        assert!(matches!(&receipt.result, ExecutionResult::Revert { output, .. } if output.is_empty()), "{receipt:?}");
    }
    let with_value = chain.transact(TxKind::Call(hasher), good.into(), U256::from(1), 100_000);
    assert!(!with_value.success());
}

/// The permutation straight from shared/spec/crypto.md, over arkworks' Fr, as an oracle for
/// inputs the vectors do not cover (the contract's lazy reduction must not leak into outputs).
fn mimc_reference(xl: U256, xr: U256) -> (U256, U256) {
    static CONSTANTS: OnceLock<Vec<Fr>> = OnceLock::new();
    let c = CONSTANTS.get_or_init(|| {
        let mut c = vec![Fr::from(0u64)];
        let mut digest = keccak256(b"mimcsponge");
        for _ in 1..219 {
            digest = keccak256(digest);
            c.push(Fr::from_be_bytes_mod_order(digest.as_slice()));
        }
        c.push(Fr::from(0u64));
        c
    });
    let fr = |v: U256| Fr::from_be_bytes_mod_order(&v.to_be_bytes::<32>());
    let (mut l, mut r) = (fr(xl), fr(xr));
    for (i, ci) in c.iter().enumerate() {
        let t = (l + ci).pow([5u64]);
        if i < 219 {
            (l, r) = (r + t, l);
        } else {
            r += t;
        }
    }
    let word = |f: Fr| U256::from_limbs(f.into_bigint().0);
    (word(l), word(r))
}

#[test]
fn mimc_reference_reproduces_the_vectors() {
    for case in vectors()["mimcsponge_k0"].as_array().expect("mimcsponge_k0 is a list") {
        let (l, r) = mimc_reference(word(&case["xL_in"]), word(&case["xR_in"]));
        assert_eq!((l, r), (word(&case["xL_out"]), word(&case["xR_out"])));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any two words, including ones at or above p (taken mod p, as circomlib's contract does).
    #[test]
    fn mimc_sponge_matches_the_reference_on_any_words(
        xl in prop_oneof![any::<[u64; 4]>().prop_map(U256::from_limbs), (0u64..4).prop_map(|k| R - U256::from(1) + U256::from(k))],
        xr in any::<[u64; 4]>().prop_map(U256::from_limbs),
    ) {
        let mut chain = ethereum_chain();
        let hasher = deploy_hasher(&mut chain);
        let out = chain.call_ok(hasher, &MiMCSpongeCall { in_xL: xl, in_xR: xr });
        prop_assert_eq!((out.xL, out.xR), mimc_reference(xl, xr));
        prop_assert!(out.xL < R && out.xR < R);
    }
}

// ---------------------------------------------------------------------------------------------
// The hasher inside Tornado's Merkle tree

fn deploy_tree<P: PrecompileProvider<Ctx, Output = InterpreterResult>>(chain: &mut Chain<P>, hasher: Address) -> Address {
    let args = alloy_sol_types::SolValue::abi_encode(&(20u32, hasher));
    chain.deploy(Contract::MerkleTreeWithHistoryMock.artifact().deploy_code(&args))
}

#[test]
fn hash_left_right_matches_vectors_through_the_tree() {
    let mut chain = ethereum_chain();
    let hasher = deploy_hasher(&mut chain);
    let tree = deploy_tree(&mut chain, hasher);
    for case in vectors()["hash_left_right"].as_array().expect("hash_left_right is a list") {
        let call = hashLeftRightCall { hasher, left: b32(word(&case["left"])), right: b32(word(&case["right"])) };
        assert_eq!(chain.call_ok(tree, &call), b32(word(&case["out"])), "{case}");
    }
}

#[test]
fn zeros_are_the_hash_chain_of_the_empty_leaf() {
    let mut chain = ethereum_chain();
    let hasher = deploy_hasher(&mut chain);
    let tree = deploy_tree(&mut chain, hasher);
    let expected: Vec<U256> =
        vectors()["zeros"]["values_hex"].as_array().expect("zeros.values_hex is a list").iter().map(word).collect();
    assert_eq!(expected.len(), 21);
    for (i, value) in expected.iter().enumerate() {
        assert_eq!(chain.call_ok(tree, &zerosCall { i: U256::from(i) }), b32(*value), "zeros({i})");
    }
    // The table in the contract is the hasher's: zeros[i+1] = hashLeftRight(zeros[i], zeros[i]).
    for pair in expected.windows(2) {
        let call = hashLeftRightCall { hasher, left: b32(pair[0]), right: b32(pair[0]) };
        assert_eq!(chain.call_ok(tree, &call), b32(pair[1]));
    }
}

#[test]
fn tree_roots_after_inserting_vector_leaves() {
    let merkle = &vectors()["merkle"];
    let mut chain = ethereum_chain();
    let hasher = deploy_hasher(&mut chain);
    let tree = deploy_tree(&mut chain, hasher);
    assert_eq!(chain.call_ok(tree, &getLastRootCall {}), b32(word(&merkle["empty_root_hex"])));

    let roots = merkle["roots"].as_array().expect("merkle.roots is a list");
    let leaves = merkle["leaves_0_to_9"].as_array().expect("merkle.leaves_0_to_9 is a list");
    for (n, leaf) in leaves.iter().enumerate() {
        let index = chain.call_ok(tree, &insertCall { leaf: b32(word(leaf)) });
        assert_eq!(index as usize, n);
        let root = chain.call_ok(tree, &getLastRootCall {});
        if let Some(expected) = roots.iter().find(|r| r["n_leaves"].as_u64() == Some(n as u64 + 1)) {
            assert_eq!(root, b32(word(&expected["root"])), "root after {} leaves", n + 1);
        }
    }
    // proof_leaf2_of_10 is a path in the 10-leaf tree, so its root is the root after all 10.
    let root = chain.call_ok(tree, &getLastRootCall {});
    assert_eq!(root, b32(word(&merkle["proof_leaf2_of_10"]["root"])));
}

// ---------------------------------------------------------------------------------------------
// Groth16

/// Six public inputs, each the square of a private witness (like the withdraw circuit's
/// recipient/relayer/fee/refund binding).
#[derive(Clone)]
struct SquaresCircuit {
    roots: [Fr; 6],
}

impl ConstraintSynthesizer<Fr> for SquaresCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        for root in self.roots {
            let public = FpVar::new_input(cs.clone(), || Ok(root.square()))?;
            let private = FpVar::new_witness(cs.clone(), || Ok(root))?;
            private.square()?.enforce_equal(&public)?;
        }
        Ok(())
    }
}

struct Setup {
    pk: ProvingKey<Bn254>,
    vk: VerifyingKey<Bn254>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(0x7a0_4ad0);
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(SquaresCircuit { roots: [Fr::from(0u64); 6] }, &mut rng)
            .expect("setup of the test circuit");
        Setup { pk, vk }
    })
}

/// A proof and its public inputs, for the squares of `roots`.
fn prove(roots: [u64; 6], seed: u64) -> (Proof<Bn254>, [U256; 6]) {
    let roots = roots.map(Fr::from);
    let mut rng = StdRng::seed_from_u64(seed);
    let proof = Groth16::<Bn254>::prove(&setup().pk, SquaresCircuit { roots }, &mut rng).expect("proving");
    let inputs = roots.map(|r| r.square());
    assert!(Groth16::<Bn254>::verify(&setup().vk, &inputs, &proof).expect("arkworks verification"));
    (proof, inputs.map(fr_word))
}

fn fr_word(f: Fr) -> U256 {
    U256::from_limbs(f.into_bigint().0)
}

fn fq_word(f: Fq) -> U256 {
    U256::from_limbs(f.into_bigint().0)
}

fn g1_words(p: &G1Affine) -> [U256; 2] {
    [fq_word(p.x), fq_word(p.y)]
}

fn g2_contract_words(p: &G2Affine) -> [U256; 4] {
    g2_words([fq_word(p.x.c0), fq_word(p.x.c1)], [fq_word(p.y.c0), fq_word(p.y.c1)])
}

fn key_words(vk: &VerifyingKey<Bn254>) -> VerifyingKeyWords {
    assert_eq!(vk.gamma_abc_g1.len(), 7, "6 public inputs and the constant term");
    VerifyingKeyWords {
        alpha: g1_words(&vk.alpha_g1),
        beta: g2_contract_words(&vk.beta_g2),
        gamma: g2_contract_words(&vk.gamma_g2),
        delta: g2_contract_words(&vk.delta_g2),
        ic: std::array::from_fn(|i| g1_words(&vk.gamma_abc_g1[i])),
    }
}

fn proof_bytes(proof: &Proof<Bn254>) -> Bytes {
    encode_proof(g1_words(&proof.a), g2_contract_words(&proof.b), g1_words(&proof.c))
}

fn verify_call(proof: Bytes, input: [U256; 6]) -> Bytes {
    verifier::verify_proof_calldata(proof, input)
}

fn deploy_verifier<P: PrecompileProvider<Ctx, Output = InterpreterResult>>(chain: &mut Chain<P>, family: ChainFamily) -> Address {
    chain.deploy(initcode(family, &key_words(&setup().vk)))
}

const ROOTS: [u64; 6] = [3, 5, 7, 11, 13, 17];

/// `verifyProof` returned normally with this boolean.
fn verified(receipt: &Receipt) -> Option<bool> {
    receipt.success().then(|| {
        Groth16VerifierEthereum::verifyProofCall::abi_decode_returns(&receipt.output()).expect("verifyProof returns a bool")
    })
}

#[test]
fn ethereum_verifier_accepts_a_valid_proof_within_snarkjs_gas() {
    let mut chain = ethereum_chain();
    let verifier = deploy_verifier(&mut chain, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 1);
    let receipt = chain.call(verifier, verify_call(proof_bytes(&proof), input));
    assert_eq!(verified(&receipt), Some(true), "{receipt:?}");
    assert!(
        receipt.execution_gas <= SNARKJS_VERIFIER_EXECUTION_GAS,
        "verifyProof takes {} execution gas, snarkjs {SNARKJS_VERIFIER_EXECUTION_GAS}",
        receipt.execution_gas
    );
}

#[test]
fn verifier_reports_its_chain_family_and_add_precompile() {
    sol! {
        function chainFamily() external pure returns (uint8);
        function ecAddPrecompile() external view returns (address);
    }
    let mut chain = ethereum_chain();
    for family in [ChainFamily::Ethereum, ChainFamily::Bittensor] {
        let verifier = deploy_verifier(&mut chain, family);
        assert_eq!(chain.call_ok(verifier, &chainFamilyCall {}), family.code());
        assert_eq!(ChainFamily::from_code(family.code()), Some(family));
        assert_eq!(chain.call_ok(verifier, &ecAddPrecompileCall {}), family.ec_add_precompile());
    }
}

#[test]
fn zero_public_inputs_verify() {
    let mut chain = ethereum_chain();
    let verifier = deploy_verifier(&mut chain, ChainFamily::Ethereum);
    let (proof, input) = prove([0, 9, 0, 0, 4, 0], 2);
    assert_eq!(input[0], U256::ZERO);
    let receipt = chain.call(verifier, verify_call(proof_bytes(&proof), input));
    assert_eq!(verified(&receipt), Some(true), "{receipt:?}");
}

#[test]
fn wrong_proofs_and_inputs_return_false() {
    let mut chain = ethereum_chain();
    let verifier = deploy_verifier(&mut chain, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 3);
    let (other, _) = prove([2, 4, 6, 8, 10, 12], 4);

    for i in 0..6 {
        let mut changed = input;
        changed[i] += U256::from(1);
        let receipt = chain.call(verifier, verify_call(proof_bytes(&proof), changed));
        assert_eq!(verified(&receipt), Some(false), "input {i} changed: {receipt:?}");
    }
    // Valid curve points that belong to another statement.
    let mixed = [
        Proof { a: other.a, ..proof.clone() },
        Proof { b: other.b, ..proof.clone() },
        Proof { c: other.c, ..proof.clone() },
        other,
    ];
    for tampered in mixed {
        let receipt = chain.call(verifier, verify_call(proof_bytes(&tampered), input));
        assert_eq!(verified(&receipt), Some(false), "{receipt:?}");
    }
}

#[test]
fn points_off_the_curve_revert() {
    let mut chain = ethereum_chain();
    let verifier = deploy_verifier(&mut chain, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 5);
    let good = proof_bytes(&proof);
    for word_index in [1, 3, 7] {
        let mut bad = good.to_vec();
        bad[word_index * 32 + 31] ^= 1;
        let receipt = chain.call(verifier, verify_call(bad.into(), input));
        assert_eq!(receipt.revert_reason().as_deref(), Some("verifier-bn254-precompile-failed"), "word {word_index}");
    }
}

#[test]
fn out_of_field_values_revert_with_tornado_reasons() {
    let mut chain = ethereum_chain();
    let verifier = deploy_verifier(&mut chain, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 6);
    let good = proof_bytes(&proof);

    for i in 0..6 {
        for bad in [R, R + input[i], U256::MAX] {
            let mut changed = input;
            changed[i] = bad;
            let receipt = chain.call(verifier, verify_call(good.clone(), changed));
            assert_eq!(receipt.revert_reason().as_deref(), Some("verifier-gte-snark-scalar-field"), "input {i} = {bad}");
        }
    }
    // r - 1 is a field element: no revert, just a false statement.
    let mut edge = input;
    edge[5] = R - U256::from(1);
    assert_eq!(verified(&chain.call(verifier, verify_call(good.clone(), edge))), Some(false));

    for word_index in 0..8 {
        let original = U256::from_be_slice(&good[word_index * 32..][..32]);
        for bad in [Q, Q + original, U256::MAX] {
            let mut changed = good.to_vec();
            changed[word_index * 32..][..32].copy_from_slice(&bad.to_be_bytes::<32>());
            let receipt = chain.call(verifier, verify_call(changed.into(), input));
            assert_eq!(
                receipt.revert_reason().as_deref(),
                Some("verifier-proof-element-gte-prime-q"),
                "proof word {word_index} = {bad}"
            );
        }
    }
    for length in [0, 255, 257, 288] {
        let mut resized = good.to_vec();
        resized.resize(length, 0);
        let receipt = chain.call(verifier, verify_call(resized.into(), input));
        assert_eq!(receipt.revert_reason().as_deref(), Some("verifier-proof-length"), "length {length}");
    }
}

#[test]
fn too_little_gas_reverts_instead_of_returning_false() {
    let mut chain = ethereum_chain();
    let verifier = deploy_verifier(&mut chain, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 7);
    let data = verify_call(proof_bytes(&proof), input);
    let full = chain.call(verifier, data.clone());
    assert_eq!(verified(&full), Some(true));
    let needed = full.result.tx_gas_used();
    // Every limit below what the call needs must fail loudly: an estimator bisecting on
    // "did it succeed" then never settles on a limit at which the pairing quietly fails.
    // The lowest limit stays above the calldata floor (EIP-7623), below which the transaction
    // would not even be valid.
    for limit in [needed - 1, needed - 100, needed - 1_000, needed - 6_000, needed - 40_000, needed - 180_000, 50_000] {
        let receipt = chain.call_with_gas(verifier, data.clone(), limit);
        assert!(!receipt.success(), "gas limit {limit} (needed {needed}) returned {:?}", receipt.result);
    }
}

#[test]
fn each_family_verifies_only_on_its_own_precompiles() {
    let (proof, input) = prove(ROOTS, 8);
    let data = verify_call(proof_bytes(&proof), input);

    let mut bittensor = bittensor_chain();
    let right = deploy_verifier(&mut bittensor, ChainFamily::Bittensor);
    let wrong = deploy_verifier(&mut bittensor, ChainFamily::Ethereum);
    let receipt = bittensor.call(right, data.clone());
    assert_eq!(verified(&receipt), Some(true), "{receipt:?}");
    assert!(receipt.execution_gas <= SNARKJS_VERIFIER_EXECUTION_GAS);
    let receipt = bittensor.call(wrong, data.clone());
    assert_eq!(receipt.revert_reason().as_deref(), Some("verifier-bn254-precompile-failed"), "{receipt:?}");

    let mut ethereum = ethereum_chain();
    let right = deploy_verifier(&mut ethereum, ChainFamily::Ethereum);
    let wrong = deploy_verifier(&mut ethereum, ChainFamily::Bittensor);
    assert_eq!(verified(&ethereum.call(right, data.clone())), Some(true));
    let receipt = ethereum.call(wrong, data);
    assert_eq!(receipt.revert_reason().as_deref(), Some("verifier-bn254-precompile-failed"), "{receipt:?}");
}

#[test]
fn add_probe_tells_the_chain_family() {
    let probe = verifier::bn254_add_probe();
    let at = |receipt: Receipt| receipt.success().then(|| receipt.output().to_vec());

    let mut ethereum = ethereum_chain();
    let six = at(ethereum.call(ChainFamily::Ethereum.ec_add_precompile(), probe.input.clone()));
    let nine = at(ethereum.call(ChainFamily::Bittensor.ec_add_precompile(), probe.input.clone()));
    assert_eq!(probe.family(six.as_deref(), nine.as_deref()), Some(ChainFamily::Ethereum));

    let mut bittensor = bittensor_chain();
    let six = at(bittensor.call(ChainFamily::Ethereum.ec_add_precompile(), probe.input.clone()));
    let nine = at(bittensor.call(ChainFamily::Bittensor.ec_add_precompile(), probe.input.clone()));
    assert_eq!(probe.family(six.as_deref(), nine.as_deref()), Some(ChainFamily::Bittensor));
}

#[test]
fn zz_dump() {
    let (proof, input) = prove(ROOTS, 1);
    std::fs::write("/tmp/crypto/init.hex", alloy_primitives::hex::encode(initcode(ChainFamily::Ethereum, &key_words(&setup().vk)))).unwrap();
    std::fs::write("/tmp/crypto/call.hex", alloy_primitives::hex::encode(verify_call(proof_bytes(&proof), input))).unwrap();
}
