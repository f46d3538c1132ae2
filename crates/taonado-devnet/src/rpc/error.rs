//! The one place where [`DevnetError`] becomes a JSON-RPC error object.

use serde_json::{Value, json};

use crate::error::DevnetError;

/// Standard JSON-RPC 2.0 codes.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// geth's generic server error (rejected transactions, missing state…).
pub const SERVER_ERROR: i64 = -32000;
/// EIP-1474's "limit exceeded" (a busy server, a batch too large).
pub const LIMIT_EXCEEDED: i64 = -32005;
/// geth's `execution reverted` code; `data` holds the revert bytes.
pub const EXECUTION_REVERTED: i64 = 3;

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => json!({"code": self.code, "message": self.message, "data": data}),
            None => json!({"code": self.code, "message": self.message}),
        }
    }
}

impl From<&DevnetError> for RpcError {
    fn from(error: &DevnetError) -> Self {
        use DevnetError as E;
        let code = match error {
            E::Parse(_) => PARSE_ERROR,
            E::InvalidRequest(_) => INVALID_REQUEST,
            E::MethodNotFound(_) => METHOD_NOT_FOUND,
            E::InvalidParams(_) | E::TxDecode(_) | E::SubtensorParams(_) => INVALID_PARAMS,
            E::Reverted { .. } => EXECUTION_REVERTED,
            E::DispatchFailed(_) | E::Internal(_) | E::Fork { .. } | E::ForkWithStateDir => {
                INTERNAL_ERROR
            }
            E::Bind { .. }
            | E::StateIo { .. }
            | E::StateCorrupt { .. }
            | E::StateChainMismatch { .. } => INTERNAL_ERROR,
            E::TooManyAccounts { .. } | E::BlockTimeTooShort(_) => INVALID_PARAMS,
            E::Busy | E::BatchTooLarge { .. } => LIMIT_EXCEEDED,
            E::CallTimeout(_) => SERVER_ERROR,
            E::TxSignature(_)
            | E::NonceTooLow { .. }
            | E::NonceTooHigh { .. }
            | E::InsufficientFunds { .. }
            | E::IntrinsicGasTooLow { .. }
            | E::GasLimitExceedsBlock { .. }
            | E::WrongChainId { .. }
            | E::FeeCapTooLow { .. }
            | E::UnsupportedTxType(_)
            | E::InvalidTransaction(_)
            | E::AlreadyKnown(_)
            | E::ReplacementUnderpriced
            | E::UnknownAccount(_)
            | E::Halted(_)
            | E::BlockNotFound(_)
            | E::HistoricalState { .. }
            | E::ReorgTooDeep { .. }
            | E::FilterNotFound(_)
            | E::Subtensor(_) => SERVER_ERROR,
        };
        let data = match error {
            E::Reverted { output } => Some(Value::String(output.to_string())),
            _ => None,
        };
        Self {
            code,
            message: error.to_string(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{net::SocketAddr, path::PathBuf};

    use alloy_primitives::{Address, B256, Bytes, U256, hex};

    use super::*;

    fn check(error: DevnetError, code: i64, message_part: &str) {
        let rpc = RpcError::from(&error);
        assert_eq!(rpc.code, code, "{error:?}");
        assert!(
            rpc.message.contains(message_part),
            "{:?} does not contain {message_part:?}",
            rpc.message
        );
    }

    fn io() -> std::io::Error {
        std::io::Error::other("disk")
    }

    fn json_error() -> serde_json::Error {
        serde_json::from_str::<u8>("x").unwrap_err()
    }

    #[test]
    fn every_variant_has_its_code() {
        use DevnetError as E;
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        check(
            E::Bind { addr, source: io() },
            INTERNAL_ERROR,
            "cannot bind",
        );
        check(
            E::StateIo {
                path: PathBuf::from("/s"),
                source: io(),
            },
            INTERNAL_ERROR,
            "/s",
        );
        check(
            E::StateCorrupt {
                path: PathBuf::from("/s"),
                source: json_error(),
            },
            INTERNAL_ERROR,
            "corrupt",
        );
        check(
            E::StateChainMismatch {
                path: PathBuf::from("/s"),
                found: 1,
                expected: 42,
            },
            INTERNAL_ERROR,
            "chain id 1",
        );
        check(
            E::TooManyAccounts {
                requested: 11,
                available: 10,
            },
            INVALID_PARAMS,
            "11",
        );
        check(E::Parse("eof".into()), PARSE_ERROR, "parse error");
        check(
            E::InvalidRequest("x".into()),
            INVALID_REQUEST,
            "invalid request",
        );
        check(E::MethodNotFound("foo".into()), METHOD_NOT_FOUND, "foo");
        check(
            E::InvalidParams("p".into()),
            INVALID_PARAMS,
            "invalid params",
        );
        check(E::TxDecode("rlp".into()), INVALID_PARAMS, "decode");
        check(E::TxSignature("bad".into()), SERVER_ERROR, "signature");
        check(
            E::NonceTooLow { tx: 0, state: 1 },
            SERVER_ERROR,
            "nonce too low",
        );
        check(
            E::NonceTooHigh { tx: 5, state: 1 },
            SERVER_ERROR,
            "nonce too high",
        );
        check(
            E::InsufficientFunds {
                address: Address::ZERO,
                balance: U256::ZERO,
                cost: U256::ONE,
            },
            SERVER_ERROR,
            "insufficient funds",
        );
        check(
            E::IntrinsicGasTooLow {
                gas_limit: 1,
                intrinsic: 21_000,
            },
            SERVER_ERROR,
            "intrinsic gas too low",
        );
        check(
            E::GasLimitExceedsBlock {
                gas_limit: 1,
                block_gas_limit: 0,
            },
            SERVER_ERROR,
            "exceeds block gas limit",
        );
        check(
            E::WrongChainId {
                tx: Some(1),
                chain: 42,
            },
            SERVER_ERROR,
            "invalid chain id",
        );
        check(
            E::FeeCapTooLow {
                max_fee: 1,
                base_fee: 2,
            },
            SERVER_ERROR,
            "max fee per gas less than block base fee",
        );
        check(E::UnsupportedTxType(3), SERVER_ERROR, "type 3");
        check(
            E::InvalidTransaction("x".into()),
            SERVER_ERROR,
            "invalid transaction",
        );
        check(E::AlreadyKnown(B256::ZERO), SERVER_ERROR, "already known");
        check(E::UnknownAccount(Address::ZERO), SERVER_ERROR, "no signer");
        check(E::Halted("OutOfGas".into()), SERVER_ERROR, "OutOfGas");
        check(
            E::DispatchFailed("dispatch execution failed: HotKeyNotRegisteredInSubNet".into()),
            INTERNAL_ERROR,
            "evm error: Other(\"dispatch execution failed: HotKeyNotRegisteredInSubNet\")",
        );
        check(E::BlockNotFound("0x5".into()), SERVER_ERROR, "not found");
        check(
            E::HistoricalState {
                requested: 1,
                floor: 2,
            },
            SERVER_ERROR,
            "not kept",
        );
        check(
            E::ReorgTooDeep { depth: 9, floor: 3 },
            SERVER_ERROR,
            "cannot drop 9",
        );
        check(E::FilterNotFound(U256::from(7)), SERVER_ERROR, "filter 7");
        check(
            E::SubtensorParams("bad netuid".into()),
            INVALID_PARAMS,
            "bad netuid",
        );
        check(E::Subtensor("failed".into()), SERVER_ERROR, "failed");
        check(E::Internal("boom".into()), INTERNAL_ERROR, "boom");
    }

    #[test]
    fn revert_carries_data_and_reason() {
        // Error(string) "no"
        let output = Bytes::from(hex!(
            "08c379a0000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000026e6f000000000000000000000000000000000000000000000000000000000000"
        ));
        let rpc = RpcError::from(&DevnetError::Reverted {
            output: output.clone(),
        });
        assert_eq!(rpc.code, EXECUTION_REVERTED);
        assert_eq!(rpc.message, "execution reverted: no");
        assert_eq!(rpc.data, Some(Value::String(output.to_string())));
        let empty = RpcError::from(&DevnetError::Reverted {
            output: Bytes::new(),
        });
        assert_eq!(empty.message, "execution reverted");
    }
}
