//! Sending a transaction and waiting for it, for every procedure of this crate.
//!
//! - [`send`] and [`send_call`] send a request or a contract call and name the action in the
//!   error when the node refuses it (nothing was sent then, so there is no hash to report);
//! - [`confirm`] waits for the receipt. Every error after sending carries the transaction
//!   hash, and a failed status becomes [`OpsError::Reverted`] with the revert reason
//!   recovered by [`revert_reason`] when the node can tell it;
//! - [`decode_revert`] turns revert data into text: `Error(string)`, `Panic(uint256)` and the
//!   custom errors of the protocol's ABIs (taonado-contracts).
//!
//! Recovering a reason is best effort: when it fails the transaction is still reported as
//! reverted, with its hash, and the reason as unknown.

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::dyn_abi::{DynSolValue, JsonAbiExt};
use alloy::eips::BlockId;
use alloy::network::{Ethereum, TransactionBuilder};
use alloy::primitives::hex;
use alloy::providers::{PendingTransactionBuilder, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{Panic, Revert, SolError};
use alloy::transports::TransportError;
use taonado_contracts::Contract;

use crate::error::{OpsError, Result};

/// A transaction that was sent and is not confirmed yet.
pub type Pending = PendingTransactionBuilder<Ethereum>;

/// Sends `request`; a refusal is [`OpsError::Rpc`] with `action` (for example
/// `"sending WeightsV3.setDepositGoal"`), or [`OpsError::WouldRevert`] when the node's gas
/// estimate reverted (the call itself is refused, not the node unreachable).
pub async fn send<P: Provider>(
    provider: &P,
    request: TransactionRequest,
    action: &str,
) -> Result<Pending> {
    let pending = provider
        .send_transaction(request)
        .await
        .map_err(|error| refusal(action, error))?;
    tracing::debug!(tx = %pending.tx_hash(), action, "sent");
    Ok(pending)
}

/// A node's refusal of a transaction: [`OpsError::WouldRevert`] for a revert (code 3 or a
/// message naming one), with the reason decoded from the revert data when there is some;
/// [`OpsError::Rpc`] otherwise.
pub fn refusal(action: &str, error: TransportError) -> OpsError {
    if let Some(payload) = error.as_error_resp() {
        let message = payload.message.to_ascii_lowercase();
        if payload.code == 3 || message.contains("revert") {
            let reason = payload
                .as_revert_data()
                .and_then(|data| decode_revert(&data))
                .or_else(|| Some(payload.message.to_string()));
            return OpsError::WouldRevert {
                action: action.trim_start_matches("sending ").to_owned(),
                reason,
            };
        }
    }
    OpsError::rpc(action)(error)
}

/// Sends a contract call; a refusal is [`OpsError::Contract`] with `action`.
pub async fn send_call<P: Provider, D: CallDecoder>(
    call: &CallBuilder<P, D>,
    action: &str,
) -> Result<Pending> {
    let pending = call.send().await.map_err(OpsError::contract(action))?;
    tracing::debug!(tx = %pending.tx_hash(), action, "sent");
    Ok(pending)
}

/// Waits for the receipt of `pending` and requires success. A failed status is
/// [`OpsError::Reverted`] with the reason [`revert_reason`] recovers.
pub async fn confirm(pending: Pending, action: &str) -> Result<TransactionReceipt> {
    let tx = *pending.tx_hash();
    let provider = pending.provider().clone();
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| OpsError::Confirmation {
            action: action.to_owned(),
            tx,
            source,
        })?;
    if !receipt.status() {
        let reason = revert_reason(&provider, &receipt).await;
        tracing::warn!(%tx, action, reason = reason.as_deref().unwrap_or("unknown"), "reverted");
        return Err(OpsError::Reverted {
            action: action.to_owned(),
            tx,
            reason,
        });
    }
    Ok(receipt)
}

/// [`send`] (the error says `sending <action>`) then [`confirm`].
pub async fn send_and_confirm<P: Provider>(
    provider: &P,
    request: TransactionRequest,
    action: &str,
) -> Result<TransactionReceipt> {
    let pending = send(provider, request, &format!("sending {action}")).await?;
    confirm(pending, action).await
}

/// [`send_call`] then [`confirm`], both naming `action`.
pub async fn call_and_confirm<P: Provider, D: CallDecoder>(
    call: &CallBuilder<P, D>,
    action: &str,
) -> Result<TransactionReceipt> {
    let pending = send_call(call, action).await?;
    confirm(pending, action).await
}

/// Why the transaction of a failed `receipt` reverted, best effort: the transaction is re-run
/// as an `eth_call` (from, to, input, value and gas limit) at the receipt's block, then at the
/// latest block if the node has no state for that block, and the revert data is decoded with
/// [`decode_revert`]. `None` when the reason cannot be recovered (the transaction cannot be
/// read, the node answers neither call, or the re-run no longer reverts).
pub async fn revert_reason<P: Provider>(
    provider: &P,
    receipt: &TransactionReceipt,
) -> Option<String> {
    let hash = receipt.transaction_hash;
    let tx = match provider.get_transaction_by_hash(hash).await {
        Ok(Some(tx)) => tx,
        Ok(None) => {
            tracing::debug!(%hash, "the node does not know the reverted transaction");
            return None;
        }
        Err(error) => {
            tracing::debug!(%hash, %error, "reading the reverted transaction failed");
            return None;
        }
    };
    let gas_limit = alloy::consensus::Transaction::gas_limit(tx.inner.inner());
    if gas_limit > 0 && receipt.gas_used >= gas_limit {
        return Some(format!(
            "used all its gas ({gas_limit}): out of gas, or an invalid opcode"
        ));
    }
    let request = replay_request(&tx);
    let at_block = receipt.block_number.map(BlockId::number);
    if let Some(block) = at_block {
        match replay(provider, request.clone(), block).await {
            Replay::Reverted(reason) => return Some(reason),
            Replay::Succeeded => return None,
            Replay::Unanswered(error) => {
                tracing::debug!(%hash, %error, "replaying at the receipt's block failed; trying the latest block");
            }
        }
    }
    match replay(provider, request, BlockId::latest()).await {
        Replay::Reverted(reason) if at_block.is_some() => {
            Some(format!("{reason} (replayed at the latest block)"))
        }
        Replay::Reverted(reason) => Some(reason),
        Replay::Succeeded => None,
        Replay::Unanswered(error) => {
            tracing::debug!(%hash, %error, "replaying the reverted transaction failed");
            None
        }
    }
}

/// The `eth_call` that re-runs `tx`: its sender, target, input, value and gas limit, without
/// fees (so the re-run pays no gas).
fn replay_request(tx: &alloy::rpc::types::Transaction) -> TransactionRequest {
    use alloy::consensus::Transaction as _;
    let inner = tx.inner.inner();
    let request = TransactionRequest::default()
        .from(tx.inner.signer())
        .input(inner.input().clone().into())
        .value(inner.value())
        .gas_limit(inner.gas_limit());
    match inner.to() {
        Some(to) => request.to(to),
        None => request.into_create(),
    }
}

enum Replay {
    /// The re-run reverted, for this reason.
    Reverted(String),
    /// The re-run succeeded: the state the transaction failed on is gone.
    Succeeded,
    /// The node did not run it (no state for the block, transport failure).
    Unanswered(TransportError),
}

async fn replay<P: Provider>(provider: &P, request: TransactionRequest, block: BlockId) -> Replay {
    match provider.call(request).block(block).await {
        Ok(_) => Replay::Succeeded,
        Err(error) => match error.as_error_resp().and_then(|e| e.as_revert_data()) {
            Some(data) => Replay::Reverted(reason_or_none(&data)),
            None => Replay::Unanswered(error),
        },
    }
}

/// The text for revert data, with empty data said as such.
fn reason_or_none(data: &[u8]) -> String {
    decode_revert(data).unwrap_or_else(|| "no reason given (empty revert data)".to_owned())
}

/// Revert data as text: the message of an `Error(string)`, the code and meaning of a
/// `Panic(uint256)`, a custom error of the protocol's ABIs with its arguments
/// (`OwnableUnauthorizedAccount(0x…)`), UTF-8 text as itself, anything else as hex. `None` for
/// empty data (a bare `revert()`, a `require` without a message).
pub fn decode_revert(data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return Some(revert.reason);
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        let meaning = panic
            .kind()
            .map_or("unknown panic code", |kind| kind.as_str());
        return Some(format!("panic {:#x}: {meaning}", panic.code));
    }
    if let Some(custom) = decode_custom_error(data) {
        return Some(custom);
    }
    match std::str::from_utf8(data) {
        Ok(text) if text.chars().all(|c| !c.is_control() || c.is_whitespace()) => {
            Some(text.to_owned())
        }
        _ => Some(format!("unknown error {}", hex::encode_prefixed(data))),
    }
}

/// A custom error of one of the protocol's contracts, as `Name(arg, …)`.
fn decode_custom_error(data: &[u8]) -> Option<String> {
    let (selector, args) = data.split_first_chunk::<4>()?;
    Contract::ALL
        .iter()
        .flat_map(|contract| contract.artifact().abi.errors())
        .filter(|error| error.selector() == selector)
        .find_map(|error| {
            let values = error.abi_decode_input(args).ok()?;
            let args: Vec<String> = values.iter().map(format_value).collect();
            Some(format!("{}({})", error.name, args.join(", ")))
        })
}

fn format_value(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Address(address) => address.to_checksum(None),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(word, size) => {
            hex::encode_prefixed(word.get(..*size).unwrap_or(word.as_slice()))
        }
        DynSolValue::Bytes(bytes) => hex::encode_prefixed(bytes),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Function(f) => hex::encode_prefixed(f.as_slice()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            let items: Vec<String> = items.iter().map(format_value).collect();
            format!("[{}]", items.join(", "))
        }
        DynSolValue::Tuple(items) => {
            let items: Vec<String> = items.iter().map(format_value).collect();
            format!("({})", items.join(", "))
        }
    }
}

/// The reason a call or an estimate was refused: the decoded revert data when the node sent
/// some, else the error's text.
pub(crate) fn contract_error_reason(error: &alloy::contract::Error) -> String {
    error
        .as_revert_data()
        .and_then(|data| decode_revert(&data))
        .unwrap_or_else(|| error.to_string())
}

/// [`contract_error_reason`] for a provider-level `eth_call`.
pub(crate) fn transport_error_reason(error: &TransportError) -> String {
    error
        .as_error_resp()
        .and_then(|e| e.as_revert_data())
        .and_then(|data| decode_revert(&data))
        .unwrap_or_else(|| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, B256, U256};
    use alloy::sol_types::SolError;
    use taonado_contracts::bindings::EvmValidator;

    #[test]
    fn error_string_is_its_message() {
        let data = Revert::from("Invalid withdraw proof").abi_encode();
        assert_eq!(
            decode_revert(&data).as_deref(),
            Some("Invalid withdraw proof")
        );
    }

    #[test]
    fn panic_names_its_code() {
        let data = Panic {
            code: U256::from(0x11),
        }
        .abi_encode();
        assert_eq!(
            decode_revert(&data).as_deref(),
            Some("panic 0x11: arithmetic underflow or overflow")
        );
        let unknown = Panic {
            code: U256::from(0x99),
        }
        .abi_encode();
        assert_eq!(
            decode_revert(&unknown).as_deref(),
            Some("panic 0x99: unknown panic code")
        );
    }

    #[test]
    fn custom_errors_of_the_protocol_decode_with_their_arguments() {
        let account: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
            .parse()
            .unwrap();
        let data = EvmValidator::OwnableUnauthorizedAccount { account }.abi_encode();
        assert_eq!(
            decode_revert(&data).as_deref(),
            Some("OwnableUnauthorizedAccount(0x70997970C51812dc3A010C7d01b50e0d17dc79C8)")
        );
        let slot = B256::repeat_byte(0xab);
        let data = EvmValidator::UUPSUnsupportedProxiableUUID { slot }.abi_encode();
        assert_eq!(
            decode_revert(&data),
            Some(format!("UUPSUnsupportedProxiableUUID({slot})"))
        );
        let data = EvmValidator::InvalidInitialization {}.abi_encode();
        assert_eq!(
            decode_revert(&data).as_deref(),
            Some("InvalidInitialization()")
        );
    }

    #[test]
    fn empty_data_has_no_reason() {
        assert_eq!(decode_revert(&[]), None);
        assert_eq!(reason_or_none(&[]), "no reason given (empty revert data)");
    }

    #[test]
    fn unknown_data_is_shown_as_hex_and_text_as_text() {
        assert_eq!(
            decode_revert(&[0xde, 0xad, 0xbe, 0xef, 0x01]).as_deref(),
            Some("unknown error 0xdeadbeef01")
        );
        assert_eq!(
            decode_revert(b"Rate limit exceeded").as_deref(),
            Some("Rate limit exceeded")
        );
    }

    #[test]
    fn a_truncated_custom_error_is_not_decoded_as_one() {
        let account = Address::repeat_byte(7);
        let data = EvmValidator::OwnableUnauthorizedAccount { account }.abi_encode();
        let reason = decode_revert(&data[..20]).unwrap_or_default();
        assert!(reason.starts_with("unknown error 0x"), "{reason}");
    }

    #[test]
    fn reverted_error_shows_the_reason_and_the_hash() {
        let tx = B256::repeat_byte(1);
        let with = OpsError::Reverted {
            action: "EvmValidator.setSetWeightsBounty".into(),
            tx,
            reason: Some("OwnableUnauthorizedAccount(0x01)".into()),
        }
        .to_string();
        assert!(
            with.contains(&format!("{tx}")) && with.contains(": OwnableUnauthorizedAccount(0x01)"),
            "{with}"
        );
        let without = OpsError::Reverted {
            action: "x".into(),
            tx,
            reason: None,
        }
        .to_string();
        assert!(
            without.contains("reason unknown") && without.contains(&format!("{tx}")),
            "{without}"
        );
    }
}
