//! What a public `setWeights` will cost its caller against what the EvmValidator pays back,
//! estimated before it is sent.
//!
//! The contract pays `(gasUsedByCall + refundOverhead) × tx.gasprice + setWeightsBounty`,
//! where `gasUsedByCall` is the gas metered between its first line and the end of the weight
//! push. The caller pays every unit of the transaction's gas at the same price, so
//!
//! `net = bounty − (overhead − refundOverhead) × price`
//!
//! where `overhead` is the gas outside the metered part: the intrinsic 21,000, the calldata,
//! the function's prologue (interval check, reentrancy lock) and the bookkeeping after the
//! meter (the transfer, the event). `overhead` does not depend on the weights or the boost
//! loop (they are metered), only on the calldata, so it is measured from the last public
//! round's `BountyPaid` (its receipt's gas used minus its `gasUsedByCall`) and adjusted by
//! the difference in calldata gas. Without an earlier public round only the intrinsic and
//! calldata gas are known: a lower bound, which the estimate says.
//!
//! `eth_estimateGas × price` is shown as the cost; the refund is that minus the overhead
//! plus `refundOverhead` and the bounty, so `refund − cost` is `net` whatever the margin of
//! the gas estimate.

use alloy::primitives::{Address, I256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::SolEvent;
use serde::Serialize;
use taonado_contracts::bindings::EvmValidator;

use crate::error::{OpsError, Result};

/// Gas of a transaction before its code runs (no access list, not a creation).
const INTRINSIC_GAS: u64 = 21_000;

/// What a public `setWeights` should cost and pay back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundEstimate {
    /// `eth_estimateGas` of the exact call.
    pub gas_estimate: u64,
    /// `eth_gasPrice`: what the transaction is expected to pay per gas.
    pub gas_price_wei: U256,
    /// `gas_estimate × gas_price_wei`.
    pub cost_wei: U256,
    /// What the contract would pay back: gas of the metered part plus `refundOverhead`,
    /// times the price, plus the bounty.
    pub refund_wei: U256,
    /// `refund_wei − cost_wei`; negative: the call costs the caller more than it pays back.
    pub net_wei: I256,
    /// Gas the caller pays outside the metered part.
    pub overhead_gas: u64,
    /// The contract's `refundOverhead`: the part of `overhead_gas` it pays back.
    pub refund_overhead_gas: u64,
    pub bounty_wei: U256,
    /// Where `overhead_gas` comes from.
    pub basis: String,
}

impl RefundEstimate {
    pub fn loses(&self) -> bool {
        self.net_wei.is_negative()
    }
}

/// Calldata gas (EIP-2028): 16 per non-zero byte, 4 per zero byte.
pub fn calldata_gas(input: &[u8]) -> u64 {
    input.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

/// The gas outside `gasUsedByCall` of the public round at `block`, with its calldata gas.
async fn measured_overhead(
    provider: &DynProvider,
    validator: Address,
    block: u64,
) -> Result<Option<(u64, u64)>> {
    let filter = Filter::new()
        .address(validator)
        .event_signature(EvmValidator::BountyPaid::SIGNATURE_HASH)
        .from_block(block)
        .to_block(block);
    let logs = provider
        .get_logs(&filter)
        .await
        .map_err(OpsError::rpc("reading the last BountyPaid"))?;
    let Some(log) = logs.last() else {
        return Ok(None);
    };
    let Ok(paid) = EvmValidator::BountyPaid::decode_log_data(log.data()) else {
        return Ok(None);
    };
    let Some(hash) = log.transaction_hash else {
        return Ok(None);
    };
    let receipt = provider
        .get_transaction_receipt(hash)
        .await
        .map_err(OpsError::rpc("reading the last public round's receipt"))?;
    let transaction = provider
        .get_transaction_by_hash(hash)
        .await
        .map_err(OpsError::rpc("reading the last public round's transaction"))?;
    let (Some(receipt), Some(transaction)) = (receipt, transaction) else {
        return Ok(None);
    };
    use alloy::consensus::Transaction as _;
    let metered: u64 = paid.gasUsedByCall.saturating_to();
    Ok(Some((
        receipt.gas_used.saturating_sub(metered),
        calldata_gas(transaction.input()),
    )))
}

/// Estimates `call` (a public `setWeights` on `validator`) before it is sent.
pub async fn estimate(
    provider: &DynProvider,
    validator: Address,
    call: &TransactionRequest,
    last_set_block: u64,
    bounty_wei: U256,
) -> Result<RefundEstimate> {
    let contract = EvmValidator::new(validator, provider);
    let refund_overhead_gas: u64 = contract
        .refundOverhead()
        .call()
        .await
        .map_err(OpsError::contract("reading EvmValidator.refundOverhead"))?
        .saturating_to();
    let gas_estimate = provider
        .estimate_gas(call.clone())
        .await
        .map_err(OpsError::rpc("estimating setWeights' gas"))?;
    let gas_price = provider
        .get_gas_price()
        .await
        .map_err(OpsError::rpc("reading the gas price"))?;
    let input = call.input.input().map(|b| b.to_vec()).unwrap_or_default();
    let calldata = calldata_gas(&input);
    let measured = match last_set_block {
        0 => None,
        block => measured_overhead(provider, validator, block).await?,
    };
    let (overhead_gas, basis) = match measured {
        Some((overhead, their_calldata)) => (
            (overhead + calldata).saturating_sub(their_calldata),
            format!(
                "measured on the public round at block {last_set_block} (its gas outside gasUsedByCall), adjusted for this call's calldata"
            ),
        ),
        None => (
            INTRINSIC_GAS + calldata,
            "intrinsic and calldata gas only (no public round to measure the rest on): the real overhead is higher, so the net is lower than shown".to_owned(),
        ),
    };
    let price = U256::from(gas_price);
    let cost_wei = U256::from(gas_estimate) * price;
    let metered = gas_estimate
        .saturating_sub(overhead_gas)
        .saturating_add(refund_overhead_gas);
    let refund_wei = U256::from(metered) * price + bounty_wei;
    let net_wei = I256::from_raw(refund_wei).saturating_sub(I256::from_raw(cost_wei));
    Ok(RefundEstimate {
        gas_estimate,
        gas_price_wei: price,
        cost_wei,
        refund_wei,
        net_wei,
        overhead_gas,
        refund_overhead_gas,
        bounty_wei,
        basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calldata_gas_counts_zero_and_non_zero_bytes() {
        assert_eq!(calldata_gas(&[]), 0);
        assert_eq!(calldata_gas(&[0, 1, 0, 255]), 4 + 16 + 4 + 16);
        // setWeights(bytes32(0)) vs a hotkey: the boost's calldata costs more.
        let plain = [[0x12u8, 0x34, 0x56, 0x78].as_slice(), &[0u8; 32]].concat();
        let named = [[0x12u8, 0x34, 0x56, 0x78].as_slice(), &[7u8; 32]].concat();
        assert_eq!(calldata_gas(&named) - calldata_gas(&plain), 32 * 12);
    }
}
