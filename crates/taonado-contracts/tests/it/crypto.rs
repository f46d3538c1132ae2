//! The Tornado hasher (MiMCSponge.yul) and the Groth16 verifiers, executed in revm.
//!
//! Expected hashes come from taonado-zk's copy of shared/vectors/tornado-crypto.json (computed with
//! circomlibjs). Proofs come from a tiny arkworks circuit with 6 public inputs, proved with a
//! seeded RNG. The Bittensor EVM is modelled by a precompile provider that moves BN254 add to
//! 0x09 and puts a Substrate-dispatch stand-in at 0x06.

use std::sync::OnceLock;

use alloy_primitives::{Address, Bytes, U256, keccak256};
use alloy_sol_types::{SolCall, SolValue, sol};
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
    Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext,
    context::{ContextTr, TxEnv},
    database::{CacheDB, EmptyDB},
    handler::{PrecompileProvider, precompile_output_to_interpreter_result},
    interpreter::{CallInputs, InterpreterResult},
    precompile::{
        self, Precompile, PrecompileId, PrecompileOutput, PrecompileResult, Precompiles,
        bn254::{self, add::ISTANBUL_ADD_GAS_COST},
    },
    primitives::AddressSet,
    state::AccountInfo,
};
use serde_json::Value;
use taonado_contracts::{
    Contract,
    verifier::{
        self, ChainFamily, Groth16VerifierEthereum, VerifyingKeyWords, encode_proof, g2_words,
        initcode,
    },
};

use super::evm::{self as harness, Evm, Outcome, Receipt, Tx, ether};

sol! {
    function MiMCSponge(uint256 in_xL, uint256 in_xR) external pure returns (uint256 xL, uint256 xR);
    function hashLeftRight(address hasher, bytes32 left, bytes32 right) external pure returns (bytes32);
    function zeros(uint256 i) external pure returns (bytes32);
    function insert(bytes32 leaf) external returns (uint32);
    function getLastRoot() external view returns (bytes32);
    function chainFamily() external pure returns (uint8);
    function ecAddPrecompile() external view returns (address);
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

/// Transaction gas minus the intrinsic 21,000 and the calldata (4 per zero byte, 16 otherwise):
/// what the contract itself spent.
fn execution_gas(receipt: &Receipt, data: &[u8]) -> u64 {
    let calldata: u64 = data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum();
    receipt.gas_used - 21_000 - calldata
}

/// A chain with an account that can pay and attach value.
fn funded() -> (Evm, Address) {
    let mut evm = Evm::new();
    let from = evm.funded_account(1, ether(10));
    (evm, from)
}

fn create(evm: &mut Evm, from: Address, code: Bytes) -> Address {
    let receipt = evm.exec(Tx::create(from, code));
    receipt
        .created
        .unwrap_or_else(|| panic!("deployment failed: {}", receipt.describe()))
}

// ---------------------------------------------------------------------------------------------
// The Bittensor EVM's precompile layout, on the same London rules as `super::evm`.

/// A chain whose BN254 add lives at 0x09 and whose 0x06 is Substrate dispatch.
struct BittensorEvm {
    db: CacheDB<EmptyDB>,
}

impl BittensorEvm {
    fn new(funded: Address) -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            funded,
            AccountInfo {
                balance: ether(10),
                ..Default::default()
            },
        );
        BittensorEvm { db }
    }

    fn exec(&mut self, tx: Tx) -> Receipt {
        let nonce = self
            .db
            .basic_ref(tx.from)
            .ok()
            .flatten()
            .unwrap_or_default()
            .nonce;
        let env = TxEnv::builder()
            .caller(tx.from)
            .kind(tx.to)
            .data(tx.data)
            .value(tx.value)
            .gas_limit(tx.gas_limit)
            .nonce(nonce)
            .chain_id(Some(harness::CHAIN_ID))
            .build()
            .expect("a well-formed test transaction");
        let mut vm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_block_chained(|block| block.basefee = 0)
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(harness::SPEC);
                cfg.chain_id = harness::CHAIN_ID;
            })
            .build_mainnet()
            .with_precompiles(FixedPrecompiles::bittensor());
        let result = vm.transact_commit(env).expect("the transaction is valid");
        harness::receipt(result)
    }
}

/// A precompile table that no spec change swaps out.
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
        let mut table = Precompiles::berlin().clone();
        table.extend([
            Precompile::new(
                PrecompileId::Custom("substrate-dispatch".into()),
                precompile::u64_to_address(6),
                substrate_dispatch,
            ),
            Precompile::new(
                PrecompileId::Bn254Add,
                precompile::u64_to_address(9),
                bn254_add_istanbul,
            ),
        ]);
        Self {
            table,
            announced: false,
        }
    }
}

impl<CTX: ContextTr> PrecompileProvider<CTX> for FixedPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, _spec: <CTX::Cfg as revm::context::Cfg>::Spec) -> bool {
        // The table does not depend on the spec; the journal needs its addresses only once.
        !std::mem::replace(&mut self.announced, true)
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        let Some(precompile) = self.table.get(&inputs.bytecode_address) else {
            return Ok(None);
        };
        let output = precompile
            .execute(
                &inputs.input.as_bytes(context),
                inputs.gas_limit,
                inputs.reservoir,
            )
            .map_err(|e| e.to_string())?;
        Ok(Some(precompile_output_to_interpreter_result(
            output,
            inputs.gas_limit,
        )))
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
        serde_json::from_str(include_str!(
            "../../../taonado-zk/tests/vectors/tornado-crypto.json"
        ))
        .expect("the vectors file is valid JSON")
    })
}

fn list(key: &str) -> &'static [Value] {
    vectors()[key]
        .as_array()
        .unwrap_or_else(|| panic!("vectors.{key} is a list"))
}

/// A decimal or 0x-hex string from the vectors.
fn word(value: &Value) -> U256 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

fn b32(value: U256) -> alloy_primitives::B256 {
    value.into()
}

// ---------------------------------------------------------------------------------------------
// MiMCSponge

fn deploy_hasher(evm: &mut Evm, from: Address) -> Address {
    evm.deploy(from, Contract::MiMCSponge, &[])
}

#[test]
fn mimc_sponge_matches_circomlib_vectors() {
    let (mut evm, from) = funded();
    let hasher = deploy_hasher(&mut evm, from);
    assert!(!list("mimcsponge_k0").is_empty());
    for case in list("mimcsponge_k0") {
        assert_eq!(word(&case["k"]), U256::ZERO);
        let call = MiMCSpongeCall {
            in_xL: word(&case["xL_in"]),
            in_xR: word(&case["xR_in"]),
        };
        let out = evm
            .exec(Tx::call(from, hasher, &call))
            .decode::<MiMCSpongeCall>();
        assert_eq!(out.xL, word(&case["xL_out"]), "xL for {case}");
        assert_eq!(out.xR, word(&case["xR_out"]), "xR for {case}");
    }
}

#[test]
fn mimc_sponge_costs_less_execution_gas_than_circomlib() {
    let (mut evm, from) = funded();
    let hasher = deploy_hasher(&mut evm, from);
    let mut gas = Vec::new();
    for case in list("mimcsponge_k0") {
        let data = MiMCSpongeCall {
            in_xL: word(&case["xL_in"]),
            in_xR: word(&case["xR_in"]),
        }
        .abi_encode();
        let receipt = evm.exec(Tx::raw(from, hasher, data.clone().into()));
        receipt.expect_success();
        gas.push(execution_gas(&receipt, &data));
    }
    // Straight-line code: the cost does not depend on the inputs.
    assert!(
        gas.windows(2).all(|w| w[0] == w[1]),
        "gas varies with input: {gas:?}"
    );
    assert!(
        gas[0] < CIRCOMLIB_MIMC_EXECUTION_GAS,
        "MiMCSponge takes {} execution gas, circomlib {CIRCOMLIB_MIMC_EXECUTION_GAS}",
        gas[0]
    );
}

#[test]
fn mimc_sponge_reverts_on_foreign_selectors_short_calldata_and_value() {
    let (mut evm, from) = funded();
    let hasher = deploy_hasher(&mut evm, from);
    let good = MiMCSpongeCall {
        in_xL: U256::from(1),
        in_xR: U256::from(2),
    }
    .abi_encode();
    evm.exec(Tx::raw(from, hasher, good.clone().into()))
        .expect_success();

    let mut wrong_selector = good.clone();
    wrong_selector[0] ^= 1;
    // circomlib's three-argument selector (xL, xR, k) is not answered.
    let circomlib_abi = [&[0x3f, 0x1a, 0x11, 0x87][..], &good[4..], &[0u8; 32][..]].concat();
    for data in [
        wrong_selector,
        good[..good.len() - 1].to_vec(),
        Vec::new(),
        circomlib_abi,
    ] {
        let receipt = evm.exec(Tx::raw(from, hasher, data.into()));
        assert!(
            receipt.outcome == Outcome::Revert && receipt.output.is_empty(),
            "{}",
            receipt.describe()
        );
    }
    let with_value = evm.exec(Tx::raw(from, hasher, good.into()).value(U256::from(1)));
    assert_eq!(with_value.outcome, Outcome::Revert);
}

/// The permutation straight from shared/spec/crypto.md, over arkworks' Fr: an oracle for inputs
/// the vectors do not cover (the contract's lazy reduction must never reach its outputs).
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
    (fr_word(l), fr_word(r))
}

#[test]
fn mimc_reference_reproduces_the_vectors() {
    for case in list("mimcsponge_k0") {
        let (l, r) = mimc_reference(word(&case["xL_in"]), word(&case["xR_in"]));
        assert_eq!((l, r), (word(&case["xL_out"]), word(&case["xR_out"])));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any two words, including ones at or above p (taken mod p, as circomlib's contract does).
    #[test]
    fn mimc_sponge_matches_the_reference_on_any_words(
        xl in prop_oneof![
            any::<[u64; 4]>().prop_map(U256::from_limbs),
            (0u64..4).prop_map(|k| R - U256::from(1) + U256::from(k)),
        ],
        xr in any::<[u64; 4]>().prop_map(U256::from_limbs),
    ) {
        let (mut evm, from) = funded();
        let hasher = deploy_hasher(&mut evm, from);
        let out = evm.view(hasher, &MiMCSpongeCall { in_xL: xl, in_xR: xr });
        prop_assert_eq!((out.xL, out.xR), mimc_reference(xl, xr));
        prop_assert!(out.xL < R && out.xR < R);
    }
}

// ---------------------------------------------------------------------------------------------
// The hasher inside Tornado's Merkle tree

/// MiMCSponge plus a height-20 `MerkleTreeWithHistoryMock` that uses it.
fn tree() -> (Evm, Address, Address, Address) {
    let (mut evm, from) = funded();
    let hasher = deploy_hasher(&mut evm, from);
    let tree = evm.deploy(
        from,
        Contract::MerkleTreeWithHistoryMock,
        &(20u32, hasher).abi_encode_params(),
    );
    (evm, from, hasher, tree)
}

#[test]
fn hash_left_right_matches_vectors_through_the_tree() {
    let (mut evm, _, hasher, tree) = tree();
    for case in list("hash_left_right") {
        let call = hashLeftRightCall {
            hasher,
            left: b32(word(&case["left"])),
            right: b32(word(&case["right"])),
        };
        assert_eq!(evm.view(tree, &call), b32(word(&case["out"])), "{case}");
    }
}

#[test]
fn zeros_are_the_hash_chain_of_the_empty_leaf() {
    let (mut evm, _, hasher, tree) = tree();
    let expected: Vec<U256> = vectors()["zeros"]["values_hex"]
        .as_array()
        .expect("zeros.values_hex is a list")
        .iter()
        .map(word)
        .collect();
    assert_eq!(expected.len(), 21);
    for (i, value) in expected.iter().enumerate() {
        assert_eq!(
            evm.view(tree, &zerosCall { i: U256::from(i) }),
            b32(*value),
            "zeros({i})"
        );
    }
    // The contract's table is this hasher's: zeros[i+1] = hashLeftRight(zeros[i], zeros[i]).
    for pair in expected.windows(2) {
        let call = hashLeftRightCall {
            hasher,
            left: b32(pair[0]),
            right: b32(pair[0]),
        };
        assert_eq!(evm.view(tree, &call), b32(pair[1]));
    }
}

#[test]
fn tree_roots_after_inserting_vector_leaves() {
    let merkle = &vectors()["merkle"];
    let (mut evm, from, _, tree) = tree();
    assert_eq!(
        evm.view(tree, &getLastRootCall {}),
        b32(word(&merkle["empty_root_hex"]))
    );

    let roots = merkle["roots"].as_array().expect("merkle.roots is a list");
    let leaves = merkle["leaves_0_to_9"]
        .as_array()
        .expect("merkle.leaves_0_to_9 is a list");
    for (n, leaf) in leaves.iter().enumerate() {
        let index = evm
            .exec(Tx::call(
                from,
                tree,
                &insertCall {
                    leaf: b32(word(leaf)),
                },
            ))
            .decode::<insertCall>();
        assert_eq!(index as usize, n);
        let root = evm.view(tree, &getLastRootCall {});
        if let Some(expected) = roots
            .iter()
            .find(|r| r["n_leaves"].as_u64() == Some(n as u64 + 1))
        {
            assert_eq!(
                root,
                b32(word(&expected["root"])),
                "root after {} leaves",
                n + 1
            );
        }
    }
    // proof_leaf2_of_10 is a path in the 10-leaf tree, so its root is the root after all 10.
    assert_eq!(
        evm.view(tree, &getLastRootCall {}),
        b32(word(&merkle["proof_leaf2_of_10"]["root"]))
    );
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
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(
            SquaresCircuit {
                roots: [Fr::from(0u64); 6],
            },
            &mut rng,
        )
        .expect("setup of the test circuit");
        Setup { pk, vk }
    })
}

/// A proof and its public inputs, for the squares of `roots`.
fn prove(roots: [u64; 6], seed: u64) -> (Proof<Bn254>, [U256; 6]) {
    let roots = roots.map(Fr::from);
    let mut rng = StdRng::seed_from_u64(seed);
    let proof =
        Groth16::<Bn254>::prove(&setup().pk, SquaresCircuit { roots }, &mut rng).expect("proving");
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
    g2_words(
        [fq_word(p.x.c0), fq_word(p.x.c1)],
        [fq_word(p.y.c0), fq_word(p.y.c1)],
    )
}

fn key_words(vk: &VerifyingKey<Bn254>) -> VerifyingKeyWords {
    assert_eq!(
        vk.gamma_abc_g1.len(),
        7,
        "6 public inputs and the constant term"
    );
    VerifyingKeyWords {
        alpha: g1_words(&vk.alpha_g1),
        beta: g2_contract_words(&vk.beta_g2),
        gamma: g2_contract_words(&vk.gamma_g2),
        delta: g2_contract_words(&vk.delta_g2),
        ic: std::array::from_fn(|i| g1_words(&vk.gamma_abc_g1[i])),
    }
}

fn proof_bytes(proof: &Proof<Bn254>) -> Bytes {
    encode_proof(
        g1_words(&proof.a),
        g2_contract_words(&proof.b),
        g1_words(&proof.c),
    )
}

fn verify_call(proof: Bytes, input: [U256; 6]) -> Bytes {
    verifier::verify_proof_calldata(proof, input)
}

fn deploy_verifier(evm: &mut Evm, from: Address, family: ChainFamily) -> Address {
    create(evm, from, initcode(family, &key_words(&setup().vk)))
}

const ROOTS: [u64; 6] = [3, 5, 7, 11, 13, 17];

/// `verifyProof` returned normally with this boolean.
fn verified(receipt: &Receipt) -> Option<bool> {
    receipt
        .success()
        .then(|| receipt.decode::<Groth16VerifierEthereum::verifyProofCall>())
}

#[test]
fn ethereum_verifier_accepts_a_valid_proof_within_snarkjs_gas() {
    let (mut evm, from) = funded();
    let verifier = deploy_verifier(&mut evm, from, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 1);
    let data = verify_call(proof_bytes(&proof), input);
    let receipt = evm.exec(Tx::raw(from, verifier, data.clone()));
    assert_eq!(verified(&receipt), Some(true), "{}", receipt.describe());
    let gas = execution_gas(&receipt, &data);
    assert!(
        gas <= SNARKJS_VERIFIER_EXECUTION_GAS,
        "verifyProof takes {gas} execution gas, snarkjs {SNARKJS_VERIFIER_EXECUTION_GAS}"
    );
}

#[test]
fn verifier_reports_its_chain_family_and_add_precompile() {
    let (mut evm, from) = funded();
    for family in [ChainFamily::Ethereum, ChainFamily::Bittensor] {
        let verifier = deploy_verifier(&mut evm, from, family);
        assert_eq!(
            ChainFamily::from_code(evm.view(verifier, &chainFamilyCall {})),
            Some(family)
        );
        assert_eq!(
            evm.view(verifier, &ecAddPrecompileCall {}),
            family.ec_add_precompile()
        );
    }
}

#[test]
fn deployed_verifier_code_embeds_its_key_and_no_other() {
    let (mut evm, from) = funded();
    let key = key_words(&setup().vk);
    let mut other = key.clone();
    other.ic[6][0] += U256::from(1);
    for family in [ChainFamily::Ethereum, ChainFamily::Bittensor] {
        let verifier = deploy_verifier(&mut evm, from, family);
        let code = evm.code(verifier);
        assert!(verifier::code_embeds_key(&code, &key), "{family}");
        assert!(!verifier::code_embeds_key(&code, &other), "{family}");
        // The creation code holds the key only as constructor arguments, never pushed.
        assert!(!verifier::code_embeds_key(family.creation_code(), &key));
    }
}

#[test]
fn constructor_rejects_key_words_outside_the_base_field() {
    let (mut evm, from) = funded();
    let good = key_words(&setup().vk);
    let mut bad_alpha = good.clone();
    bad_alpha.alpha[1] = Q;
    let mut bad_delta = good.clone();
    bad_delta.delta[2] = Q + U256::from(1);
    let mut bad_ic = good;
    bad_ic.ic[6][0] = U256::MAX;
    for key in [bad_alpha, bad_delta, bad_ic] {
        for family in [ChainFamily::Ethereum, ChainFamily::Bittensor] {
            evm.exec(Tx::create(from, initcode(family, &key)))
                .expect_revert("verifier-key-element-gte-prime-q");
        }
    }
}

#[test]
fn zero_public_inputs_verify() {
    let (mut evm, from) = funded();
    let verifier = deploy_verifier(&mut evm, from, ChainFamily::Ethereum);
    let (proof, input) = prove([0, 9, 0, 0, 4, 0], 2);
    assert_eq!(input[0], U256::ZERO);
    let receipt = evm.exec(Tx::raw(
        from,
        verifier,
        verify_call(proof_bytes(&proof), input),
    ));
    assert_eq!(verified(&receipt), Some(true), "{}", receipt.describe());
}

#[test]
fn wrong_proofs_and_inputs_return_false() {
    let (mut evm, from) = funded();
    let verifier = deploy_verifier(&mut evm, from, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 3);
    let (other, _) = prove([2, 4, 6, 8, 10, 12], 4);

    for i in 0..6 {
        let mut changed = input;
        changed[i] += U256::from(1);
        let receipt = evm.exec(Tx::raw(
            from,
            verifier,
            verify_call(proof_bytes(&proof), changed),
        ));
        assert_eq!(
            verified(&receipt),
            Some(false),
            "input {i} changed: {}",
            receipt.describe()
        );
    }
    // Valid curve points that belong to another statement.
    let mixed = [
        Proof {
            a: other.a,
            ..proof.clone()
        },
        Proof {
            b: other.b,
            ..proof.clone()
        },
        Proof {
            c: other.c,
            ..proof.clone()
        },
        other,
    ];
    for tampered in mixed {
        let receipt = evm.exec(Tx::raw(
            from,
            verifier,
            verify_call(proof_bytes(&tampered), input),
        ));
        assert_eq!(verified(&receipt), Some(false), "{}", receipt.describe());
    }
}

#[test]
fn points_off_the_curve_revert() {
    let (mut evm, from) = funded();
    let verifier = deploy_verifier(&mut evm, from, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 5);
    let good = proof_bytes(&proof);
    for word_index in [1, 3, 7] {
        let mut bad = good.to_vec();
        bad[word_index * 32 + 31] ^= 1;
        evm.exec(Tx::raw(from, verifier, verify_call(bad.into(), input)))
            .expect_revert("verifier-bn254-precompile-failed");
    }
}

#[test]
fn out_of_field_values_revert_with_tornado_reasons() {
    let (mut evm, from) = funded();
    let verifier = deploy_verifier(&mut evm, from, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 6);
    let good = proof_bytes(&proof);

    for i in 0..6 {
        for bad in [R, R + input[i], U256::MAX] {
            let mut changed = input;
            changed[i] = bad;
            evm.exec(Tx::raw(from, verifier, verify_call(good.clone(), changed)))
                .expect_revert("verifier-gte-snark-scalar-field");
        }
    }
    // r - 1 is a field element: no revert, just a false statement.
    let mut edge = input;
    edge[5] = R - U256::from(1);
    assert_eq!(
        verified(&evm.exec(Tx::raw(from, verifier, verify_call(good.clone(), edge)))),
        Some(false)
    );

    for word_index in 0..8 {
        let original = U256::from_be_slice(&good[word_index * 32..][..32]);
        for bad in [Q, Q + original, U256::MAX] {
            let mut changed = good.to_vec();
            changed[word_index * 32..][..32].copy_from_slice(&bad.to_be_bytes::<32>());
            evm.exec(Tx::raw(from, verifier, verify_call(changed.into(), input)))
                .expect_revert("verifier-proof-element-gte-prime-q");
        }
    }
    for length in [0, 255, 257, 288] {
        let mut resized = good.to_vec();
        resized.resize(length, 0);
        evm.exec(Tx::raw(from, verifier, verify_call(resized.into(), input)))
            .expect_revert("verifier-proof-length");
    }
}

#[test]
fn too_little_gas_reverts_instead_of_returning_false() {
    let (mut evm, from) = funded();
    let verifier = deploy_verifier(&mut evm, from, ChainFamily::Ethereum);
    let (proof, input) = prove(ROOTS, 7);
    let data = verify_call(proof_bytes(&proof), input);
    let full = evm.exec(Tx::raw(from, verifier, data.clone()));
    assert_eq!(verified(&full), Some(true));
    let needed = full.gas_used;
    // Every limit below what the call needs must fail loudly: an estimator bisecting on
    // "did it succeed" then never settles on a limit at which the pairing quietly fails.
    for limit in [
        needed - 1,
        needed - 100,
        needed - 1_000,
        needed - 6_000,
        needed - 40_000,
        needed - 180_000,
        30_000,
    ] {
        let receipt = evm.exec(Tx::raw(from, verifier, data.clone()).gas_limit(limit));
        assert!(
            !receipt.success(),
            "gas limit {limit} (needed {needed}): {}",
            receipt.describe()
        );
    }
}

#[test]
fn each_family_verifies_only_on_its_own_precompiles() {
    let (proof, input) = prove(ROOTS, 8);
    let data = verify_call(proof_bytes(&proof), input);
    let from = harness::account(1);
    let key = key_words(&setup().vk);

    let mut bittensor = BittensorEvm::new(from);
    let mut deploy = |family| {
        let receipt = bittensor.exec(Tx::create(from, initcode(family, &key)));
        receipt
            .created
            .unwrap_or_else(|| panic!("deployment failed: {}", receipt.describe()))
    };
    let (right, wrong) = (
        deploy(ChainFamily::Bittensor),
        deploy(ChainFamily::Ethereum),
    );
    let receipt = bittensor.exec(Tx::raw(from, right, data.clone()));
    assert_eq!(verified(&receipt), Some(true), "{}", receipt.describe());
    assert!(execution_gas(&receipt, &data) <= SNARKJS_VERIFIER_EXECUTION_GAS);
    bittensor
        .exec(Tx::raw(from, wrong, data.clone()))
        .expect_revert("verifier-bn254-precompile-failed");

    let (mut ethereum, from) = funded();
    let right = deploy_verifier(&mut ethereum, from, ChainFamily::Ethereum);
    let wrong = deploy_verifier(&mut ethereum, from, ChainFamily::Bittensor);
    assert_eq!(
        verified(&ethereum.exec(Tx::raw(from, right, data.clone()))),
        Some(true)
    );
    ethereum
        .exec(Tx::raw(from, wrong, data))
        .expect_revert("verifier-bn254-precompile-failed");
}

#[test]
fn add_probe_tells_the_chain_family() {
    let probe = verifier::bn254_add_probe();
    let answer = |receipt: Receipt| receipt.success().then(|| receipt.output.to_vec());
    let at = |family: ChainFamily| {
        Tx::raw(
            harness::account(1),
            family.ec_add_precompile(),
            probe.input.clone(),
        )
    };

    let (mut ethereum, _) = funded();
    let six = answer(ethereum.exec(at(ChainFamily::Ethereum)));
    let nine = answer(ethereum.exec(at(ChainFamily::Bittensor)));
    assert_eq!(
        probe.family(six.as_deref(), nine.as_deref()),
        Some(ChainFamily::Ethereum)
    );

    let mut bittensor = BittensorEvm::new(harness::account(1));
    let six = answer(bittensor.exec(at(ChainFamily::Ethereum)));
    let nine = answer(bittensor.exec(at(ChainFamily::Bittensor)));
    assert_eq!(
        probe.family(six.as_deref(), nine.as_deref()),
        Some(ChainFamily::Bittensor)
    );
}
