//! Invalid transactions are rejected with their reason and never mined.

use alloy::{
    consensus::{SignableTransaction, TxEnvelope, TxLegacy},
    eips::eip2718::Encodable2718,
    primitives::{TxKind, U256, address, hex},
    signers::{SignerSync, local::PrivateKeySigner},
};
use serde_json::json;

use crate::Node;

const GWEI: u128 = 1_000_000_000;

fn raw(signer: &PrivateKeySigner, tx: TxLegacy) -> String {
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    hex::encode_prefixed(TxEnvelope::Legacy(tx.into_signed(signature)).encoded_2718())
}

fn transfer(nonce: u64) -> TxLegacy {
    TxLegacy {
        chain_id: Some(42),
        nonce,
        gas_price: 20 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(address!("4444444444444444444444444444444444444444")),
        value: U256::from(1),
        input: Default::default(),
    }
}

#[tokio::test]
async fn each_invalid_transaction_gets_its_reason() {
    let node = Node::start().await;
    let signer = node.signer(0);
    node.rpc("eth_sendRawTransaction", json!([raw(&signer, transfer(0))]))
        .await;

    let cases: Vec<(&str, TxLegacy, &PrivateKeySigner)> = vec![
        (
            "nonce too low",
            TxLegacy {
                value: U256::from(2),
                ..transfer(0)
            },
            &signer,
        ),
        ("nonce too high", transfer(5), &signer),
        (
            "intrinsic gas too low",
            TxLegacy {
                gas_limit: 20_000,
                ..transfer(1)
            },
            &signer,
        ),
        (
            "exceeds block gas limit",
            TxLegacy {
                gas_limit: 80_000_000,
                ..transfer(1)
            },
            &signer,
        ),
        (
            "invalid chain id",
            TxLegacy {
                chain_id: Some(1),
                ..transfer(1)
            },
            &signer,
        ),
        (
            "max fee per gas less than block base fee",
            TxLegacy {
                gas_price: GWEI,
                ..transfer(1)
            },
            &signer,
        ),
    ];
    for (reason, tx, signer) in cases {
        let (code, message) = node
            .rpc_err("eth_sendRawTransaction", json!([raw(signer, tx)]))
            .await;
        assert_eq!(code, -32000, "{reason}: {message}");
        assert!(message.contains(reason), "{reason}: {message}");
    }
    let poor = PrivateKeySigner::random();
    let (code, message) = node
        .rpc_err("eth_sendRawTransaction", json!([raw(&poor, transfer(0))]))
        .await;
    assert_eq!(code, -32000);
    assert!(message.contains("insufficient funds"), "{message}");
    assert!(message.contains(&poor.address().to_string()), "{message}");
    // nothing of that was mined
    assert_eq!(node.rpc("eth_blockNumber", json!([])).await, json!("0x1"));
}

#[tokio::test]
async fn send_transaction_needs_an_unlocked_account() {
    let node = Node::start().await;
    let stranger = address!("5555555555555555555555555555555555555555");
    let (code, message) = node
        .rpc_err(
            "eth_sendTransaction",
            json!([{"from": stranger, "to": stranger}]),
        )
        .await;
    assert_eq!(code, -32000);
    assert!(message.contains("impersonate"), "{message}");
}
