//! The one error type of the devnet. `rpc::error` maps it to JSON-RPC codes in one place.

use std::{net::SocketAddr, path::PathBuf};

use alloy_primitives::{Address, B256, Bytes, U256};

/// Result alias of this crate.
pub type Result<T, E = DevnetError> = std::result::Result<T, E>;

/// Everything that can go wrong in the devnet, from binding a socket to a rejected
/// transaction. Messages are lowercase; the transaction ones use geth's wording so that
/// clients (ethers, viem, web3.py, cast) recognise them.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("cannot bind {addr}: {source}; pick another --port or stop the process using it")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot access state file {path}: {source}")]
    StateIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt ({source}); move it away to start a fresh chain")]
    StateCorrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("state in {path} belongs to chain id {found}, not {expected}; use another --state-dir")]
    StateChainMismatch {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error(
        "{requested} dev accounts requested but only {available} are known; use --accounts {available} or fewer"
    )]
    TooManyAccounts { requested: usize, available: usize },

    #[error("block time {0:?} is under the 1 ms minimum; use --block-time 0.001 or more")]
    BlockTimeTooShort(std::time::Duration),
    #[error("execution took longer than {0:?}; lower the call's gas or raise --call-timeout")]
    CallTimeout(std::time::Duration),
    #[error("too many calls are executing or waiting; retry shortly")]
    Busy,
    #[error("batch of {size} requests is over the limit of {limit}")]
    BatchTooLarge { size: usize, limit: usize },

    #[error("parse error: {0}")]
    Parse(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("method not found: {0}")]
    MethodNotFound(String),
    #[error("invalid params: {0}")]
    InvalidParams(String),

    #[error("failed to decode signed transaction: {0}")]
    TxDecode(String),
    #[error("invalid transaction signature: {0}")]
    TxSignature(String),
    #[error("nonce too low: next nonce {state}, tx nonce {tx}")]
    NonceTooLow { tx: u64, state: u64 },
    #[error("nonce too high: next nonce {state}, tx nonce {tx}")]
    NonceTooHigh { tx: u64, state: u64 },
    #[error(
        "insufficient funds for gas * price + value: address {address} have {balance} want {cost}"
    )]
    InsufficientFunds {
        address: Address,
        balance: U256,
        cost: U256,
    },
    #[error("intrinsic gas too low: gas {gas_limit}, minimum needed {intrinsic}")]
    IntrinsicGasTooLow { gas_limit: u64, intrinsic: u64 },
    #[error("exceeds block gas limit: tx gas {gas_limit}, block gas limit {block_gas_limit}")]
    GasLimitExceedsBlock {
        gas_limit: u64,
        block_gas_limit: u64,
    },
    #[error("invalid chain id: transaction is for chain {tx:?}, this chain is {chain}")]
    WrongChainId { tx: Option<u64>, chain: u64 },
    #[error("max fee per gas less than block base fee: maxFeePerGas {max_fee}, baseFee {base_fee}")]
    FeeCapTooLow { max_fee: u128, base_fee: u128 },
    #[error(
        "transaction type {0} is not supported; send legacy, EIP-2930 or EIP-1559 transactions"
    )]
    UnsupportedTxType(u8),
    #[error("invalid transaction: {0}")]
    InvalidTransaction(String),
    #[error("transaction {0} is already known")]
    AlreadyKnown(B256),
    #[error(
        "replacement transaction underpriced: raise both fee caps by at least 10% over the pending transaction's"
    )]
    ReplacementUnderpriced,
    #[error("no signer for {0}; use a dev account or anvil_impersonateAccount first")]
    UnknownAccount(Address),

    #[error("execution reverted{}", revert_reason(.output))]
    Reverted { output: Bytes },
    #[error("execution halted: {0}")]
    Halted(String),
    #[error("evm error: Other(\"{0}\")")]
    DispatchFailed(String),

    #[error("block {0} not found")]
    BlockNotFound(String),
    #[error(
        "state of block {requested} is not kept: history starts at block {floor} (the chain was restarted from an older state dir, or pruned)"
    )]
    HistoricalState { requested: u64, floor: u64 },
    #[error("cannot drop {depth} blocks: only blocks above {floor} can be reorganised")]
    ReorgTooDeep { depth: u64, floor: u64 },
    #[error("filter {0} not found")]
    FilterNotFound(U256),
    #[error("subtensor: {0}")]
    SubtensorParams(String),
    #[error("subtensor: {0}")]
    Subtensor(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(
        "fork: cannot {what} at {url}: {reason}; check that the fork url serves JSON-RPC (and, for a pinned --fork-block, keeps that block's state)"
    )]
    Fork {
        what: String,
        url: String,
        reason: String,
    },
    #[error(
        "a forked devnet cannot keep a --state-dir (the fork is fetched lazily and never persisted); drop one of the two"
    )]
    ForkWithStateDir,
}

/// `: <reason>` when the revert data is an `Error(string)`.
fn revert_reason(output: &Bytes) -> String {
    use alloy_sol_types::{Revert, SolError};
    match Revert::abi_decode(output) {
        Ok(revert) => format!(": {}", revert.reason),
        Err(_) => String::new(),
    }
}
