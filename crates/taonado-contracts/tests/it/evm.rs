//! A small revm 43 harness that runs the compiled artifacts.
//!
//! ```text
//! let mut evm = Evm::new();
//! let alice = evm.funded_account(1, ether(100));
//! let wtao = evm.deploy(alice, Contract::WTAO, &[]);
//! let receipt = evm.exec(Tx::call(alice, wtao, &WTAO::depositCall {}).value(ether(1)));
//! assert!(receipt.success());
//! let balance = evm.view(wtao, &WTAO::balanceOfCall(alice));
//! ```
//!
//! - Every [`Evm::exec`] is one committed transaction in the current block; [`Evm::mine`] moves
//!   to the next block (number + 1, timestamp + 12 s, like Bittensor).
//! - [`Evm::view`] runs a call without committing anything.
//! - [`Evm::set_code`] puts runtime code at an address (how the 0x802/0x804 mocks go in place).
//! - The spec is London, the EVM version the artifacts are compiled for, with mainnet
//!   precompiles; the base fee is 0 so `gas_price` alone sets `tx.gasprice`.

#![allow(dead_code)] // Not every test module uses every helper.

use alloy_primitives::{Address, B256, Bytes, Log, TxKind, U256};
use alloy_sol_types::{Panic, Revert, SolCall, SolError, SolEvent};
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    context::{
        TxEnv,
        result::{ExecutionResult, Output},
    },
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::AccountInfo,
};
use taonado_contracts::Contract;

/// The spec the artifacts target (`taonado_contracts::EVM_VERSION`).
pub const SPEC: SpecId = SpecId::LONDON;
/// Bittensor's block gas limit.
pub const BLOCK_GAS_LIMIT: u64 = 75_000_000;
/// Gas limit of a transaction unless [`Tx::gas_limit`] says otherwise.
pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;
/// Bittensor's block time.
pub const BLOCK_TIME: u64 = 12;
pub const CHAIN_ID: u64 = 945;

/// `n` whole tokens (TAO, WTAO) in wei.
pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10).pow(U256::from(18))
}

/// A deterministic address for test accounts: 0x1000…00<n>.
pub fn account(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = 0x10;
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    Address::from(bytes)
}

/// One transaction to run.
#[derive(Clone, Debug)]
pub struct Tx {
    pub from: Address,
    pub to: TxKind,
    pub data: Bytes,
    pub value: U256,
    pub gas_limit: u64,
    pub gas_price: u128,
}

impl Tx {
    /// A call of `call` on `to`, with no value, gas price 0 and [`DEFAULT_GAS_LIMIT`].
    pub fn call<C: SolCall>(from: Address, to: Address, call: &C) -> Self {
        Self::raw(from, to, call.abi_encode().into())
    }

    /// A call with raw calldata.
    pub fn raw(from: Address, to: Address, data: Bytes) -> Self {
        Tx {
            from,
            to: TxKind::Call(to),
            data,
            value: U256::ZERO,
            gas_limit: DEFAULT_GAS_LIMIT,
            gas_price: 0,
        }
    }

    /// A contract creation.
    pub fn create(from: Address, initcode: Bytes) -> Self {
        Tx {
            from,
            to: TxKind::Create,
            data: initcode,
            value: U256::ZERO,
            gas_limit: DEFAULT_GAS_LIMIT,
            gas_price: 0,
        }
    }

    pub fn value(mut self, value: U256) -> Self {
        self.value = value;
        self
    }

    pub fn gas_limit(mut self, gas_limit: u64) -> Self {
        self.gas_limit = gas_limit;
        self
    }

    pub fn gas_price(mut self, gas_price: u128) -> Self {
        self.gas_price = gas_price;
        self
    }
}

/// What a transaction did.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub outcome: Outcome,
    /// Gas the sender paid for (after refunds), as in a receipt.
    pub gas_used: u64,
    /// Return data, or revert data.
    pub output: Bytes,
    pub logs: Vec<Log>,
    /// The new contract's address, for a successful creation.
    pub created: Option<Address>,
}

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// REVERT: the remaining gas is returned and `output` holds the revert data.
    Revert,
    /// An exceptional halt (out of gas, invalid opcode, ...): all gas is consumed.
    Halt(String),
}

impl Receipt {
    pub fn success(&self) -> bool {
        self.outcome == Outcome::Success
    }

    /// The `Error(string)` reason of a revert, if it has one.
    pub fn revert_reason(&self) -> Option<String> {
        (self.outcome == Outcome::Revert)
            .then(|| revert_reason(&self.output))
            .flatten()
    }

    /// The `Panic(uint256)` code of a revert (0x11 overflow, 0x12 division by zero, 0x32 index).
    pub fn panic_code(&self) -> Option<u64> {
        if self.outcome != Outcome::Revert {
            return None;
        }
        Panic::abi_decode(&self.output)
            .ok()
            .map(|p| p.code.to::<u64>())
    }

    /// A custom error of the revert, if it is `E`.
    pub fn custom_error<E: SolError>(&self) -> Option<E> {
        if self.outcome != Outcome::Revert {
            return None;
        }
        E::abi_decode(&self.output).ok()
    }

    /// Panics with the reason unless the transaction succeeded.
    #[track_caller]
    pub fn expect_success(&self) -> &Self {
        assert!(self.success(), "transaction failed: {}", self.describe());
        self
    }

    /// Asserts a revert with exactly this `Error(string)` reason.
    #[track_caller]
    pub fn expect_revert(&self, reason: &str) {
        assert_eq!(
            self.revert_reason().as_deref(),
            Some(reason),
            "expected revert {reason:?}, got {}",
            self.describe()
        );
    }

    /// Decodes the return data of `C`.
    #[track_caller]
    pub fn decode<C: SolCall>(&self) -> C::Return {
        self.expect_success();
        C::abi_decode_returns(&self.output)
            .unwrap_or_else(|e| panic!("cannot decode return data: {e}"))
    }

    /// Every log that decodes as event `E`, in order.
    pub fn events<E: SolEvent>(&self) -> Vec<E> {
        self.logs
            .iter()
            .filter_map(|log| E::decode_log(log).ok().map(|decoded| decoded.data))
            .collect()
    }

    /// A one-line account of the outcome, for assertion messages.
    pub fn describe(&self) -> String {
        match &self.outcome {
            Outcome::Success => format!("success, {} gas", self.gas_used),
            Outcome::Revert => match (revert_reason(&self.output), Panic::abi_decode(&self.output))
            {
                (Some(reason), _) => format!("revert {reason:?}"),
                (None, Ok(panic)) => format!("panic 0x{:x}", panic.code),
                (None, Err(_)) => format!("revert with data {}", self.output),
            },
            Outcome::Halt(reason) => format!("halt {reason}"),
        }
    }
}

/// Decodes `Error(string)` revert data.
pub fn revert_reason(output: &[u8]) -> Option<String> {
    Revert::abi_decode(output).ok().map(|r| r.reason)
}

/// An in-memory chain: state plus the current block.
pub struct Evm {
    db: CacheDB<EmptyDB>,
    pub block_number: u64,
    pub timestamp: u64,
}

impl Default for Evm {
    fn default() -> Self {
        Self::new()
    }
}

impl Evm {
    /// An empty chain at block 1.
    pub fn new() -> Self {
        Evm {
            db: CacheDB::new(EmptyDB::default()),
            block_number: 1,
            timestamp: 1_700_000_000,
        }
    }

    /// Moves on `blocks` blocks.
    pub fn mine(&mut self, blocks: u64) {
        self.block_number += blocks;
        self.timestamp += blocks * BLOCK_TIME;
    }

    /// Sets an account's native balance.
    pub fn set_balance(&mut self, address: Address, balance: U256) {
        let mut info = self.account_info(address);
        info.balance = balance;
        self.db.insert_account_info(address, info);
    }

    /// Test account `n` with `balance`.
    pub fn funded_account(&mut self, n: u64, balance: U256) -> Address {
        let address = account(n);
        self.set_balance(address, balance);
        address
    }

    pub fn balance(&self, address: Address) -> U256 {
        self.account_info(address).balance
    }

    /// Puts runtime code at `address` (like `anvil_setCode`): no constructor runs.
    pub fn set_code(&mut self, address: Address, code: Bytes) {
        let info = self
            .account_info(address)
            .with_code(Bytecode::new_raw(code));
        self.db.insert_account_info(address, info);
    }

    /// The runtime code at `address`.
    pub fn code(&self, address: Address) -> Bytes {
        self.account_info(address)
            .code
            .map(|c| c.original_bytes())
            .unwrap_or_default()
    }

    /// A raw storage word.
    pub fn storage(&self, address: Address, slot: U256) -> U256 {
        self.db.storage_ref(address, slot).unwrap_or_default()
    }

    fn account_info(&self, address: Address) -> AccountInfo {
        // EmptyDB below the cache cannot fail; a missing account is an empty one.
        self.db
            .basic_ref(address)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Deploys `contract`'s artifact with ABI-encoded constructor arguments.
    #[track_caller]
    pub fn deploy(
        &mut self,
        from: Address,
        contract: Contract,
        constructor_args: &[u8],
    ) -> Address {
        let receipt = self.exec(Tx::create(
            from,
            contract.artifact().deploy_code(constructor_args),
        ));
        match receipt.created {
            Some(address) => address,
            None => panic!("deploying {contract} failed: {}", receipt.describe()),
        }
    }

    /// Runs and commits one transaction in the current block.
    pub fn exec(&mut self, tx: Tx) -> Receipt {
        let env = self.tx_env(&tx);
        let (block_number, timestamp) = (self.block_number, self.timestamp);
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_block_chained(|block| {
                block.number = U256::from(block_number);
                block.timestamp = U256::from(timestamp);
                block.gas_limit = BLOCK_GAS_LIMIT;
                block.basefee = 0;
            })
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(SPEC);
                cfg.chain_id = CHAIN_ID;
            })
            .build_mainnet();
        match evm.transact_commit(env) {
            Ok(result) => receipt(result),
            Err(error) => panic!("transaction was not valid: {error:?}"),
        }
    }

    /// Runs `call` on `to` from the zero address without committing, and decodes its result.
    #[track_caller]
    pub fn view<C: SolCall>(&mut self, to: Address, call: &C) -> C::Return {
        let receipt = self.simulate(Tx::call(Address::ZERO, to, call));
        receipt.decode::<C>()
    }

    /// Runs a transaction without committing it.
    pub fn simulate(&mut self, tx: Tx) -> Receipt {
        let env = self.tx_env(&tx);
        let (block_number, timestamp) = (self.block_number, self.timestamp);
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_block_chained(|block| {
                block.number = U256::from(block_number);
                block.timestamp = U256::from(timestamp);
                block.gas_limit = BLOCK_GAS_LIMIT;
                block.basefee = 0;
            })
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(SPEC);
                cfg.chain_id = CHAIN_ID;
            })
            .build_mainnet();
        match evm.transact(env) {
            Ok(result) => receipt(result.result),
            Err(error) => panic!("transaction was not valid: {error:?}"),
        }
    }

    fn tx_env(&self, tx: &Tx) -> TxEnv {
        let nonce = self.account_info(tx.from).nonce;
        TxEnv::builder()
            .caller(tx.from)
            .kind(tx.to)
            .data(tx.data.clone())
            .value(tx.value)
            .gas_limit(tx.gas_limit)
            .gas_price(tx.gas_price)
            .nonce(nonce)
            .chain_id(Some(CHAIN_ID))
            .build()
            .unwrap_or_else(|e| panic!("bad transaction {tx:?}: {e:?}"))
    }
}

/// Turns revm's execution result into the harness's [`Receipt`].
pub fn receipt(result: ExecutionResult) -> Receipt {
    let gas_used = result.tx_gas_used();
    match result {
        ExecutionResult::Success { logs, output, .. } => {
            let (output, created) = match output {
                Output::Call(data) => (data, None),
                Output::Create(data, address) => (data, address),
            };
            Receipt {
                outcome: Outcome::Success,
                gas_used,
                output,
                logs,
                created,
            }
        }
        ExecutionResult::Revert { output, logs, .. } => Receipt {
            outcome: Outcome::Revert,
            gas_used,
            output,
            logs,
            created: None,
        },
        ExecutionResult::Halt { reason, logs, .. } => Receipt {
            outcome: Outcome::Halt(format!("{reason:?}")),
            gas_used,
            output: Bytes::new(),
            logs,
            created: None,
        },
    }
}

/// A `bytes32` from a small number (hotkeys, commitments).
pub fn b32(n: u64) -> B256 {
    B256::from(U256::from(n))
}
