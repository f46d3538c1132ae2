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
    evm.set_code(METAGRAPH_PRECOMPILE, Contract::MockMetagraph.artifact().deployed_bytecode.clone());
    evm.set_code(NEURON_PRECOMPILE, Contract::MockNeuron.artifact().deployed_bytecode.clone());
}

/// Registers `hotkeys` as uids 0.. of [`NETUID`] in the metagraph mock.
pub fn register(evm: &mut Evm, owner: Address, hotkeys: &[B256]) {
    let count = u16::try_from(hotkeys.len()).expect("a test subnet has few uids");
    evm.exec(Tx::call(owner, METAGRAPH_PRECOMPILE, &MockMetagraph::setUidCountCall { netuid: NETUID, count }))
        .expect_success();
    for (uid, &hotkey) in (0u16..).zip(hotkeys) {
        evm.exec(Tx::call(owner, METAGRAPH_PRECOMPILE, &MockMetagraph::setHotkeyCall { netuid: NETUID, uid, hotkey }))
            .expect_success();
    }
}

pub fn deploy_hasher(evm: &mut Evm, from: Address) -> Address {
    evm.deploy(from, Contract::MiMCSponge, &[])
}

pub fn deploy_mock_verifier(evm: &mut Evm, from: Address, accept: bool) -> Address {
    let verifier = evm.deploy(from, Contract::MockVerifier, &[]);
    evm.exec(Tx::call(from, verifier, &MockVerifier::setResultCall { _result: accept })).expect_success();
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
    evm.exec(Tx::call(who, wtao, &WTAO::depositCall {}).value(amount)).expect_success();
}

/// Wraps `denomination`, approves the pool and deposits `commitment`.
pub fn pool_deposit(evm: &mut Evm, wtao: Address, pool: Address, who: Address, commitment: B256, denomination: U256) -> crate::evm::Receipt {
    wrap(evm, wtao, who, denomination);
    evm.exec(Tx::call(who, wtao, &WTAO::approveCall { guy: pool, wad: denomination })).expect_success();
    evm.exec(Tx::call(who, pool, &ERC20Taonado::depositCall { _commitment: commitment }))
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
        Mining { evm, owner, wtao, tracker, pool, weights_v2, weights_v3 }
    }

    /// A miner account `n`, funded, associated with `hotkey`, wrapping `wrapped`.
    pub fn miner(&mut self, n: u64, hotkey: B256, wrapped: U256) -> Address {
        let who = self.evm.funded_account(n, wrapped + ether(1_000));
        self.evm.exec(Tx::call(who, self.tracker, &DepositTracker::associateCall { hotkey })).expect_success();
        if !wrapped.is_zero() {
            wrap(&mut self.evm, self.wtao, who, wrapped);
        }
        who
    }
}
