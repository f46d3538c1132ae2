//! Child wallets: derived from the funding key (the same children every run, so a later
//! run resyncs their nonces and reuses their balance), topped up from it when short, and
//! the local signing of legacy transactions.

use alloy::consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;

use crate::LoadTestError;

/// Child `index` of `funder`: `keccak256("taonado-loadtest" ‖ funder key ‖ index)`.
pub fn child(funder: &PrivateKeySigner, index: u64) -> Result<PrivateKeySigner, LoadTestError> {
    let mut seed = b"taonado-loadtest".to_vec();
    seed.extend_from_slice(&funder.to_bytes()[..]);
    seed.extend_from_slice(&index.to_be_bytes());
    PrivateKeySigner::from_bytes(&keccak256(&seed))
        .map_err(|e| LoadTestError::Signing(e.to_string()))
}

/// What one transaction is.
#[derive(Clone, Debug)]
pub struct TxTemplate {
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    /// What it is, for grouping reverts (`transfer`, `wrap`, …).
    pub kind: &'static str,
}

/// A signed legacy (EIP-155) transaction: its hash and raw bytes.
pub fn sign(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    gas_price: u128,
    tx: &TxTemplate,
) -> Result<(B256, String), LoadTestError> {
    let unsigned = TxLegacy {
        chain_id: Some(chain_id),
        nonce,
        gas_price,
        gas_limit: tx.gas_limit,
        to: TxKind::Call(tx.to),
        value: tx.value,
        input: tx.input.clone(),
    };
    let signature = signer
        .sign_hash_sync(&unsigned.signature_hash())
        .map_err(|e| LoadTestError::Signing(e.to_string()))?;
    let envelope = TxEnvelope::from(unsigned.into_signed(signature));
    let hash = *envelope.tx_hash();
    let raw = format!("0x{}", alloy::hex::encode(envelope.encoded_2718()));
    Ok((hash, raw))
}

/// Wei a child needs for `txs` transactions of `tx` at `gas_price`, with 20 % headroom.
pub fn need_per_child(txs: u64, tx: &TxTemplate, gas_price: u128) -> U256 {
    let per_tx = U256::from(tx.gas_limit) * U256::from(gas_price) + tx.value;
    per_tx * U256::from(txs) * U256::from(6) / U256::from(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_stable_and_distinct() {
        let funder = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
        let a = child(&funder, 0).unwrap().address();
        assert_eq!(a, child(&funder, 0).unwrap().address());
        assert_ne!(a, child(&funder, 1).unwrap().address());
        assert_ne!(a, funder.address());
    }

    #[test]
    fn signed_transactions_recover_to_the_signer() {
        let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(2)).unwrap();
        let tx = TxTemplate {
            to: Address::repeat_byte(3),
            value: U256::from(1),
            input: Bytes::new(),
            gas_limit: 21_000,
            kind: "transfer",
        };
        let (hash, raw) = sign(&signer, 31337, 4, 1_000_000_000, &tx).unwrap();
        let bytes = alloy::hex::decode(&raw).unwrap();
        assert_eq!(keccak256(&bytes), hash);
        assert_eq!(
            need_per_child(10, &tx, 1_000_000_000),
            U256::from((21_000u128 * 1_000_000_000 + 1) * 10 * 6 / 5)
        );
    }
}
