//! One EVM execution: environment building, running revm 43 with the Bittensor precompile
//! provider, and mapping revm's validation errors to [`DevnetError`].

use alloy_consensus::{Transaction as _, TxEnvelope};
use alloy_primitives::{Address, B256, TxKind, U256};
use revm::{
    Context, DatabaseRef, ExecuteEvm, InspectEvm, Inspector, Journal, MainContext,
    context::{BlockEnv, CfgEnv, Evm, FrameStack, TxEnv, result::EVMError},
    context_interface::result::{ExecutionResult, InvalidTransaction},
    database::CacheDB,
    database_interface::WrapDatabaseRef,
    handler::instructions::EthInstructions,
    interpreter::interpreter::EthInterpreter,
    primitives::hardfork::SpecId,
    state::EvmState,
};

use super::precompiles::{MirrorMap, SubtensorSlot, TaoPrecompiles};
use crate::error::DevnetError;

/// EVM rules: the contracts are compiled for `cancun`, and so is this chain.
pub const SPEC: SpecId = SpecId::CANCUN;

/// The chain's canonical state.
pub type StateDb = CacheDB<super::fork::ForkDb>;

pub(crate) type Ctx<'db, DB> = Context<
    BlockEnv,
    TxEnv,
    CfgEnv,
    WrapDatabaseRef<&'db DB>,
    Journal<WrapDatabaseRef<&'db DB>>,
    (),
>;

/// What one execution produced.
pub(crate) struct Executed {
    pub result: ExecutionResult,
    pub state: EvmState,
    /// Message of a Bittensor precompile's exceptional halt, if one happened.
    pub dispatch_error: Option<String>,
    pub new_mirrors: Vec<([u8; 32], Address)>,
}

/// Chain-level parameters every execution needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainRules {
    pub chain_id: u64,
    pub gas_limit: u64,
    pub base_fee: u128,
}

impl ChainRules {
    pub(crate) fn cfg(&self, for_call: bool) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(SPEC);
        cfg.chain_id = self.chain_id;
        if for_call {
            // eth_call / estimateGas: any nonce is fine (the block env of a call also has a
            // zero base fee, so a zero gas price is fine too, as in geth).
            cfg.disable_nonce_check = true;
            cfg.disable_eip3607 = true;
        }
        cfg
    }

    pub(crate) fn block_env(&self, number: u64, timestamp: u64, prevrandao: B256) -> BlockEnv {
        BlockEnv {
            number: U256::from(number),
            timestamp: U256::from(timestamp),
            gas_limit: self.gas_limit,
            basefee: self.base_fee as u64,
            prevrandao: Some(prevrandao),
            ..BlockEnv::default()
        }
    }
}

/// Run `tx` on top of `db` (the latest state, or an earlier block's through the undo log)
/// without changing it. The caller commits `Executed::state`.
pub(crate) fn execute<'a, DB: DatabaseRef<Error = DevnetError>>(
    db: &DB,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    subtensor: SubtensorSlot<'a>,
    mirrors: &'a MirrorMap,
) -> Result<(Executed, SubtensorSlot<'a>), DevnetError> {
    let ctx: Ctx<'_, DB> = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(WrapDatabaseRef(db));
    // Built by hand instead of `Evm::new` so the frame stack starts empty: most calls use
    // one or two frames, and preallocating eight interpreters per execution is measurable
    // on the eth_call hot path.
    let mut evm = Evm {
        ctx,
        inspector: (),
        instruction: EthInstructions::<EthInterpreter, Ctx<'_, DB>>::new_mainnet_with_spec(SPEC),
        precompiles: TaoPrecompiles::new(subtensor, mirrors),
        frame_stack: FrameStack::new(),
    };
    let outcome = evm.transact(tx);
    let Evm { precompiles, .. } = evm;
    let TaoPrecompiles {
        subtensor,
        new_mirrors,
        dispatch_error,
        ..
    } = precompiles;
    let outcome = outcome.map_err(map_evm_error)?;
    Ok((
        Executed {
            result: outcome.result,
            state: outcome.state,
            dispatch_error,
            new_mirrors,
        },
        subtensor,
    ))
}

/// [`execute`] with an inspector watching (traces, access lists); returns it with the
/// outcome. Not on the hot path: plain execution keeps the inspector-free loop.
pub(crate) fn execute_inspected<'d, 'a, DB, I>(
    db: &'d DB,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    subtensor: SubtensorSlot<'a>,
    mirrors: &'a MirrorMap,
    inspector: I,
) -> Result<(Executed, I), DevnetError>
where
    DB: DatabaseRef<Error = DevnetError>,
    I: Inspector<Ctx<'d, DB>, EthInterpreter>,
{
    let ctx: Ctx<'d, DB> = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(WrapDatabaseRef(db));
    let mut evm = Evm {
        ctx,
        inspector,
        instruction: EthInstructions::<EthInterpreter, Ctx<'d, DB>>::new_mainnet_with_spec(SPEC),
        precompiles: TaoPrecompiles::new(subtensor, mirrors),
        frame_stack: FrameStack::new(),
    };
    let outcome = evm.inspect_tx(tx);
    let Evm {
        precompiles,
        inspector,
        ..
    } = evm;
    let TaoPrecompiles {
        new_mirrors,
        dispatch_error,
        ..
    } = precompiles;
    let outcome = outcome.map_err(map_evm_error)?;
    Ok((
        Executed {
            result: outcome.result,
            state: outcome.state,
            dispatch_error,
            new_mirrors,
        },
        inspector,
    ))
}

fn map_evm_error(error: EVMError<DevnetError, InvalidTransaction>) -> DevnetError {
    match error {
        EVMError::Transaction(invalid) => map_invalid(invalid),
        // A fork fetch that failed: say which and why, not "internal error".
        EVMError::Database(error) => error,
        other => DevnetError::Internal(other.to_string()),
    }
}

fn map_invalid(invalid: InvalidTransaction) -> DevnetError {
    match invalid {
        InvalidTransaction::NonceTooLow { tx, state } => DevnetError::NonceTooLow { tx, state },
        InvalidTransaction::NonceTooHigh { tx, state } => DevnetError::NonceTooHigh { tx, state },
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
            DevnetError::InsufficientFunds {
                address: Address::ZERO,
                balance: *balance,
                cost: *fee,
            }
        }
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => DevnetError::IntrinsicGasTooLow {
            gas_limit,
            intrinsic: initial_gas,
        },
        InvalidTransaction::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => DevnetError::IntrinsicGasTooLow {
            gas_limit,
            intrinsic: gas_floor,
        },
        InvalidTransaction::InvalidChainId | InvalidTransaction::MissingChainId => {
            DevnetError::WrongChainId { tx: None, chain: 0 }
        }
        other => DevnetError::InvalidTransaction(other.to_string()),
    }
}

/// The revm transaction of a signed envelope.
pub(crate) fn tx_env_from_envelope(envelope: &TxEnvelope, caller: Address) -> TxEnv {
    let (gas_price, priority) = match envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) => {
            (envelope.gas_price().unwrap_or_default(), None)
        }
        _ => (
            envelope.max_fee_per_gas(),
            envelope.max_priority_fee_per_gas(),
        ),
    };
    TxEnv {
        tx_type: envelope.tx_type() as u8,
        caller,
        gas_limit: envelope.gas_limit(),
        gas_price,
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: priority,
        ..TxEnv::default()
    }
}

/// Fields of an eth_call / eth_estimateGas / eth_sendTransaction request.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallRequest {
    pub from: Option<Address>,
    pub to: Option<Address>,
    pub gas: Option<u64>,
    pub gas_price: Option<u128>,
    pub max_fee_per_gas: Option<u128>,
    pub max_priority_fee_per_gas: Option<u128>,
    pub value: Option<U256>,
    pub data: alloy_primitives::Bytes,
    pub nonce: Option<u64>,
    pub access_list: alloy_eips::eip2930::AccessList,
}

impl CallRequest {
    pub(crate) fn tx_env(&self, gas_limit: u64, nonce: u64, chain_id: u64) -> TxEnv {
        let is_1559 = self.max_fee_per_gas.is_some() || self.max_priority_fee_per_gas.is_some();
        TxEnv {
            tx_type: if is_1559 {
                2
            } else if self.access_list.is_empty() {
                0
            } else {
                1
            },
            caller: self.from.unwrap_or_default(),
            gas_limit,
            gas_price: if is_1559 {
                self.max_fee_per_gas.unwrap_or_default()
            } else {
                self.gas_price.unwrap_or_default()
            },
            kind: self.to.map_or(TxKind::Create, TxKind::Call),
            value: self.value.unwrap_or_default(),
            data: self.data.clone(),
            nonce,
            chain_id: Some(chain_id),
            access_list: self.access_list.clone(),
            gas_priority_fee: if is_1559 {
                Some(self.max_priority_fee_per_gas.unwrap_or_default())
            } else {
                None
            },
            ..TxEnv::default()
        }
    }
}
