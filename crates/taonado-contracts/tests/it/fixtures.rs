//! Deployments shared by the behaviour tests.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolConstructor;
use taonado_contracts::{
    Contract, METAGRAPH_PRECOMPILE, NEURON_PRECOMPILE,
    bindings::{
        DepositTracker, ERC20Taonado, WTAO, WeightsV2, WeightsV3,
        mocks::{MockMetagraph, MockVerifier},
    },
};

use crate::evm::{Evm, Tx, ether};

pub const NETUID: u16 = 2;

/// Puts the metagraph and neuron mocks at 0x802 and 0x804 as runtime code, the way
/// `anvil_setCode` does: no constructor runs.
pub fn install_precompile_mocks(evm: &mut Evm) {
    evm.set_code(
        METAGRAPH_PRECOMPILE,
        Contract::MockMetagraph.artifact().deployed_bytecode.clone(),
    );
    evm.set_code(
        NEURON_PRECOMPILE,
        Contract::MockNeuron.artifact().deployed_bytecode.clone(),
    );
}

/// Registers `hotkeys` as uids 0.. of [`NETUID`] in the metagraph mock.
pub fn register(evm: &mut Evm, owner: Address, hotkeys: &[B256]) {
    let count = u16::try_from(hotkeys.len()).expect("a test subnet has few uids");
    evm.exec(Tx::call(
        owner,
        METAGRAPH_PRECOMPILE,
        &MockMetagraph::setUidCountCall {
            netuid: NETUID,
            count,
        },
    ))
    .expect_success();
    for (uid, &hotkey) in (0u16..).zip(hotkeys) {
        evm.exec(Tx::call(
            owner,
            METAGRAPH_PRECOMPILE,
            &MockMetagraph::setHotkeyCall {
                netuid: NETUID,
                uid,
                hotkey,
            },
        ))
        .expect_success();
    }
}

pub fn deploy_hasher(evm: &mut Evm, from: Address) -> Address {
    evm.deploy(from, Contract::MiMCSponge, &[])
}

pub fn deploy_mock_verifier(evm: &mut Evm, from: Address, accept: bool) -> Address {
    let verifier = evm.deploy(from, Contract::MockVerifier, &[]);
    evm.exec(Tx::call(
        from,
        verifier,
        &MockVerifier::setResultCall { _result: accept },
    ))
    .expect_success();
    verifier
}

pub fn deploy_pool(
    evm: &mut Evm,
    from: Address,
    verifier: Address,
    hasher: Address,
    denomination: U256,
    height: u32,
    token: Address,
) -> Address {
    let args = ERC20Taonado::constructorCall {
        _verifier: verifier,
        _hasher: hasher,
        _denomination: denomination,
        _merkleTreeHeight: height,
        _token: token,
    }
    .abi_encode();
    evm.deploy(from, Contract::ERC20Taonado, &args)
}

/// Wraps `amount` for `who` (who must hold the native balance).
pub fn wrap(evm: &mut Evm, wtao: Address, who: Address, amount: U256) {
    evm.exec(Tx::call(who, wtao, &WTAO::depositCall {}).value(amount))
        .expect_success();
}

/// Wraps `denomination`, approves the pool and deposits `commitment`.
pub fn pool_deposit(
    evm: &mut Evm,
    wtao: Address,
    pool: Address,
    who: Address,
    commitment: B256,
    denomination: U256,
) -> crate::evm::Receipt {
    wrap(evm, wtao, who, denomination);
    evm.exec(Tx::call(
        who,
        wtao,
        &WTAO::approveCall {
            guy: pool,
            wad: denomination,
        },
    ))
    .expect_success();
    evm.exec(Tx::call(
        who,
        pool,
        &ERC20Taonado::depositCall {
            _commitment: commitment,
        },
    ))
}

/// The mining side: WTAO, a tracker, the precompile mocks, a 100-WTAO pool (mock verifier,
/// real hasher) and both weights contracts.
pub struct Mining {
    pub evm: Evm,
    pub owner: Address,
    pub wtao: Address,
    pub tracker: Address,
    pub pool: Address,
    pub weights_v2: Address,
    pub weights_v3: Address,
}

impl Mining {
    pub fn new() -> Self {
        let mut evm = Evm::new();
        let owner = evm.funded_account(100, ether(1_000_000));
        install_precompile_mocks(&mut evm);
        let wtao = evm.deploy(owner, Contract::WTAO, &[]);
        let tracker = evm.deploy(owner, Contract::DepositTracker, &[]);
        let hasher = deploy_hasher(&mut evm, owner);
        let verifier = deploy_mock_verifier(&mut evm, owner, true);
        let pool = deploy_pool(&mut evm, owner, verifier, hasher, ether(100), 20, wtao);
        let v2_args = WeightsV2::constructorCall {
            _netuid: NETUID,
            _depositTracker: tracker,
            _metagraph: METAGRAPH_PRECOMPILE,
            _wtao: wtao,
        }
        .abi_encode();
        let weights_v2 = evm.deploy(owner, Contract::WeightsV2, &v2_args);
        let v3_args = WeightsV3::constructorCall {
            _netuid: NETUID,
            _depositTracker: tracker,
            _metagraph: METAGRAPH_PRECOMPILE,
            _wtao: wtao,
            _taonado: pool,
        }
        .abi_encode();
        let weights_v3 = evm.deploy(owner, Contract::WeightsV3, &v3_args);
        Mining {
            evm,
            owner,
            wtao,
            tracker,
            pool,
            weights_v2,
            weights_v3,
        }
    }

    /// A miner account `n`, funded, associated with `hotkey`, wrapping `wrapped`.
    pub fn miner(&mut self, n: u64, hotkey: B256, wrapped: U256) -> Address {
        let who = self.evm.funded_account(n, wrapped + ether(1_000));
        self.evm
            .exec(Tx::call(
                who,
                self.tracker,
                &DepositTracker::associateCall { hotkey },
            ))
            .expect_success();
        if !wrapped.is_zero() {
            wrap(&mut self.evm, self.wtao, who, wrapped);
        }
        who
    }
}

/// A verifying key whose trapdoor we know, and a proof for any public inputs under it.
///
/// With alpha = a·G1, beta = b·G2, gamma = delta = B = G2 and A = ab·G1 + vk_x + C, the Groth16
/// check e(A, B) = e(alpha, beta)·e(vk_x, gamma)·e(C, delta) holds for every input. That is why
/// a real setup must destroy its toxic waste; here it lets the pool be tested against the real
/// Solidity verifier (pairing precompiles included) without a circuit.
pub fn trapdoor_key_and_proof(
    inputs: [U256; 6],
) -> (
    taonado_contracts::verifier::VerifyingKeyWords,
    alloy_primitives::Bytes,
) {
    use ark_bn254::{Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::{BigInteger, PrimeField};
    use taonado_contracts::verifier::{VerifyingKeyWords, encode_proof, g2_words};

    let fq = |f: Fq| U256::from_le_slice(&f.into_bigint().to_bytes_le());
    let g1 = |p: G1Projective| {
        let p: G1Affine = p.into_affine();
        [fq(p.x), fq(p.y)]
    };
    let g2 = |p: G2Projective| {
        let p: G2Affine = p.into_affine();
        g2_words([fq(p.x.c0), fq(p.x.c1)], [fq(p.y.c0), fq(p.y.c1)])
    };
    let scalar = |x: U256| Fr::from_le_bytes_mod_order(&x.to_le_bytes::<32>());

    let (a, b, c) = (Fr::from(7u64), Fr::from(11u64), Fr::from(13u64));
    let (g1_gen, g2_gen) = (G1Projective::generator(), G2Projective::generator());
    let ic: Vec<G1Projective> = (0..7u64).map(|i| g1_gen * Fr::from(100 + i)).collect();
    let vk_x = inputs
        .iter()
        .zip(&ic[1..])
        .fold(ic[0], |acc, (x, p)| acc + *p * scalar(*x));
    let proof_c = g1_gen * c;
    let proof_a = g1_gen * (a * b) + vk_x + proof_c;

    let mut ic_words = [[U256::ZERO; 2]; 7];
    for (slot, p) in ic_words.iter_mut().zip(&ic) {
        *slot = g1(*p);
    }
    let key = VerifyingKeyWords {
        alpha: g1(g1_gen * a),
        beta: g2(g2_gen * b),
        gamma: g2(g2_gen),
        delta: g2(g2_gen),
        ic: ic_words,
    };
    (key, encode_proof(g1(proof_a), g2(g2_gen), g1(proof_c)))
}
