//! Names and arguments from the committed ABIs: functions by selector, events by topic,
//! and the hotkey in `associate(bytes32)` calldata.

use alloy::dyn_abi::{DynSolValue, EventExt as _};
use alloy::json_abi::JsonAbi;
use alloy::primitives::{B256, Selector, hex};
use alloy::sol_types::SolCall as _;
use serde_json::{Map, Value, json};
use taonado_contracts::Contract;
use taonado_contracts::bindings::DepositTracker;
use taonado_store::ContractKind;

/// The ABI a contract kind is decoded with (the proxy runs the EvmValidator's functions).
pub fn abi(kind: ContractKind) -> &'static JsonAbi {
    let contract = match kind {
        ContractKind::Wtao => Contract::WTAO,
        ContractKind::DepositTracker => Contract::DepositTracker,
        ContractKind::Weights => Contract::WeightsV3,
        ContractKind::EvmValidator => Contract::EvmValidator,
        ContractKind::Pool => Contract::ERC20Taonado,
    };
    &contract.artifact().abi
}

/// `(transfer)` without calldata, the function's name when the ABI knows the selector,
/// else the selector in hex.
pub fn function_name(kind: ContractKind, input: &[u8]) -> String {
    let Some(selector) = input.get(..4).map(Selector::from_slice) else {
        return "(transfer)".to_owned();
    };
    abi(kind)
        .functions()
        .find(|f| f.selector() == selector)
        .map_or_else(|| selector.to_string(), |f| f.name.clone())
}

/// The hotkey of a well-formed `associate(bytes32)` call.
pub fn associate_hotkey(input: &[u8]) -> Option<B256> {
    DepositTracker::associateCall::abi_decode(input)
        .ok()
        .map(|call| call.hotkey)
}

/// The event's name and its arguments by name; `("unknown", {})` when the ABI has no
/// event with this signature or the log does not decode.
pub fn event(kind: ContractKind, topics: &[B256], data: &[u8]) -> (String, Value) {
    let Some(topic0) = topics.first() else {
        return ("unknown".to_owned(), json!({}));
    };
    let Some(event) = abi(kind)
        .events()
        .find(|e| !e.anonymous && e.selector() == *topic0)
    else {
        return ("unknown".to_owned(), json!({}));
    };
    let Ok(decoded) = event.decode_log_parts(topics.iter().copied(), data) else {
        return ("unknown".to_owned(), json!({}));
    };
    let mut indexed = decoded.indexed.into_iter();
    let mut body = decoded.body.into_iter();
    let mut args = Map::new();
    for input in &event.inputs {
        let value = if input.indexed {
            indexed.next()
        } else {
            body.next()
        };
        if let Some(value) = value {
            args.insert(input.name.clone(), to_json(&value));
        }
    }
    (event.name.clone(), Value::Object(args))
}

/// Addresses checksummed, integers as decimal strings (they exceed JSON numbers), bytes
/// as 0x-hex.
pub fn to_json(value: &DynSolValue) -> Value {
    match value {
        DynSolValue::Address(a) => Value::String(a.to_checksum(None)),
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::FixedBytes(word, size) => {
            Value::String(hex::encode_prefixed(&word[..(*size).min(32)]))
        }
        DynSolValue::Bytes(b) => Value::String(hex::encode_prefixed(b)),
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Function(f) => Value::String(hex::encode_prefixed(f.as_slice())),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use alloy::sol_types::SolEvent as _;
    use proptest::prelude::*;
    use taonado_contracts::bindings::{ERC20Taonado, EvmValidator, WTAO};

    use super::*;

    #[test]
    fn functions_are_named() {
        let call = DepositTracker::associateCall {
            hotkey: B256::repeat_byte(7),
        }
        .abi_encode();
        assert_eq!(
            function_name(ContractKind::DepositTracker, &call),
            "associate"
        );
        assert_eq!(function_name(ContractKind::Wtao, &[]), "(transfer)");
        assert_eq!(
            function_name(ContractKind::Wtao, &[0xde, 0xad, 0xbe, 0xef]),
            "0xdeadbeef"
        );
        let set = EvmValidator::setWeightsCall { hotkey: B256::ZERO }.abi_encode();
        assert_eq!(
            function_name(ContractKind::EvmValidator, &set),
            "setWeights"
        );
    }

    #[test]
    fn associate_calldata_gives_the_hotkey() {
        let hotkey = B256::repeat_byte(0xab);
        let call = DepositTracker::associateCall { hotkey }.abi_encode();
        assert_eq!(associate_hotkey(&call), Some(hotkey));
        assert_eq!(associate_hotkey(&call[..20]), None);
        assert_eq!(associate_hotkey(&[0u8; 36]), None, "wrong selector");
    }

    #[test]
    fn pool_deposit_event_decodes_by_name() {
        let user = Address::repeat_byte(0x11);
        let event = ERC20Taonado::Deposit {
            commitment: B256::repeat_byte(2),
            leafIndex: 5,
            timestamp: U256::from(1_700_000_000u64),
            user,
        };
        let log = event.encode_log_data();
        let (name, args) = event_of(ContractKind::Pool, log.topics(), &log.data);
        assert_eq!(name, "Deposit");
        assert_eq!(args["leafIndex"], "5");
        assert_eq!(args["user"], user.to_checksum(None));
        assert_eq!(args["commitment"], hex::encode_prefixed([2u8; 32]));
    }

    fn event_of(kind: ContractKind, topics: &[B256], data: &[u8]) -> (String, Value) {
        event(kind, topics, data)
    }

    #[test]
    fn foreign_events_are_unknown() {
        let transfer = WTAO::Transfer {
            src: Address::repeat_byte(1),
            dst: Address::repeat_byte(2),
            wad: U256::from(3),
        }
        .encode_log_data();
        // A WTAO event seen on a pool address is not a pool event.
        assert_eq!(
            event(ContractKind::Pool, transfer.topics(), &transfer.data).0,
            "unknown"
        );
        assert_eq!(
            event(ContractKind::Wtao, transfer.topics(), &transfer.data).0,
            "Transfer"
        );
        assert_eq!(event(ContractKind::Wtao, &[], &[]).0, "unknown");
    }

    proptest! {
        #[test]
        fn arbitrary_logs_and_calldata_never_panic(
            topics in proptest::collection::vec(any::<[u8; 32]>(), 0..5),
            data in proptest::collection::vec(any::<u8>(), 0..200),
            kind in 0usize..5,
        ) {
            let kind = ContractKind::ALL[kind];
            let topics: Vec<B256> = topics.into_iter().map(B256::from).collect();
            let (name, args) = event(kind, &topics, &data);
            prop_assert!(!name.is_empty());
            prop_assert!(args.is_object());
            let _ = function_name(kind, &data);
            let _ = associate_hotkey(&data);
        }

        #[test]
        fn real_topic_with_arbitrary_data_decodes_exactly_when_long_enough(
            data in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let topics = [ERC20Taonado::Deposit::SIGNATURE_HASH, B256::ZERO, B256::ZERO];
            let (name, args) = event(ContractKind::Pool, &topics, &data);
            // Deposit's body is (uint32 leafIndex, uint256 timestamp): any 64 bytes decode.
            prop_assert_eq!(name == "Deposit", data.len() >= 64);
            if data.len() >= 64 {
                let timestamp = U256::from_be_slice(&data[32..64]).to_string();
                prop_assert_eq!(args["timestamp"].as_str(), Some(timestamp.as_str()));
                let zero = Address::ZERO.to_checksum(None);
                prop_assert_eq!(args["user"].as_str(), Some(zero.as_str()));
            }
        }
    }
}
