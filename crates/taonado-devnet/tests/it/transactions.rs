//! Signed transactions of every supported type, receipts and lookups.

use alloy::{
    consensus::TxType,
    eips::eip2930::{AccessList, AccessListItem},
    network::TransactionBuilder,
    primitives::{B256, U256, address},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use serde_json::json;

use crate::Node;

const GWEI: u128 = 1_000_000_000;

#[tokio::test]
async fn legacy_2930_and_1559_transfers_are_mined_with_receipts() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let from = node.handle.dev_accounts()[0].address;
    let to = address!("1111111111111111111111111111111111111111");
    let requests = [
        (
            TxType::Legacy,
            TransactionRequest::default().with_gas_price(25 * GWEI),
        ),
        (
            TxType::Eip2930,
            TransactionRequest::default()
                .with_gas_price(25 * GWEI)
                .with_access_list(AccessList(vec![AccessListItem {
                    address: to,
                    storage_keys: vec![B256::ZERO],
                }])),
        ),
        (
            TxType::Eip1559,
            TransactionRequest::default()
                .with_max_fee_per_gas(40 * GWEI)
                .with_max_priority_fee_per_gas(GWEI),
        ),
    ];
    for (i, (tx_type, request)) in requests.into_iter().enumerate() {
        let request = request.with_to(to).with_value(U256::from(1_000 + i));
        let receipt = provider
            .send_transaction(request)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "{tx_type:?}");
        assert_eq!(receipt.block_number, Some(i as u64 + 1), "one block per tx");
        assert_eq!(receipt.from, from);
        assert_eq!(receipt.to, Some(to));
        assert_eq!(receipt.inner.tx_type(), tx_type);
        assert!(receipt.gas_used >= 21_000);
        let tx = provider
            .get_transaction_by_hash(receipt.transaction_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tx.block_number, Some(i as u64 + 1));
        assert_eq!(tx.inner.signer(), from);
        let by_index = node
            .rpc(
                "eth_getTransactionByBlockNumberAndIndex",
                json!([format!("{:#x}", i + 1), "0x0"]),
            )
            .await;
        assert_eq!(by_index["hash"], json!(receipt.transaction_hash));
        let count = node
            .rpc(
                "eth_getBlockTransactionCountByNumber",
                json!([format!("{:#x}", i + 1)]),
            )
            .await;
        assert_eq!(count, json!("0x1"));
        let block_hash = receipt.block_hash.unwrap();
        let by_hash = node
            .rpc(
                "eth_getTransactionByBlockHashAndIndex",
                json!([block_hash, "0x0"]),
            )
            .await;
        assert_eq!(by_hash["hash"], json!(receipt.transaction_hash));
        let count = node
            .rpc("eth_getBlockTransactionCountByHash", json!([block_hash]))
            .await;
        assert_eq!(count, json!("0x1"));
    }
    assert_eq!(
        provider.get_balance(to).await.unwrap(),
        U256::from(1_000 + 1_001 + 1_002)
    );
    assert_eq!(provider.get_transaction_count(from).await.unwrap(), 3);
    let block = provider
        .get_block_by_number(2.into())
        .full()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.transactions.len(), 1);
    assert!(block.transactions.as_transactions().is_some());
}

#[tokio::test]
async fn pre_eip155_legacy_transactions_are_accepted() {
    use alloy::{
        consensus::{SignableTransaction, TxEnvelope, TxLegacy},
        eips::eip2718::Encodable2718,
        primitives::TxKind,
        signers::SignerSync,
    };
    let node = Node::start().await;
    let signer = node.signer(1);
    let tx = TxLegacy {
        chain_id: None,
        nonce: 0,
        gas_price: 20 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(address!("2222222222222222222222222222222222222222")),
        value: U256::from(5),
        input: Default::default(),
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::Legacy(tx.into_signed(signature)).encoded_2718();
    let hash = node
        .rpc(
            "eth_sendRawTransaction",
            json!([alloy::primitives::hex::encode_prefixed(raw)]),
        )
        .await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], json!("0x1"));
}

#[tokio::test]
async fn send_transaction_works_for_unlocked_dev_accounts() {
    let node = Node::start().await;
    let from = node.handle.dev_accounts()[2].address;
    let to = address!("3333333333333333333333333333333333333333");
    let hash = node
        .rpc(
            "eth_sendTransaction",
            json!([{"from": from, "to": to, "value": "0x10"}]),
        )
        .await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], json!("0x1"));
    assert_eq!(receipt["gasUsed"], json!("0x5208"));
    assert_eq!(
        node.rpc("eth_getBalance", json!([to, "latest"])).await,
        json!("0x10")
    );
    let tx = node.rpc("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(tx["from"], json!(from.to_string().to_lowercase()));
}

#[tokio::test]
async fn transfer_estimate_is_21000() {
    let node = Node::start().await;
    let from = node.handle.dev_accounts()[0].address;
    let estimate = node
        .rpc(
            "eth_estimateGas",
            json!([{"from": from, "to": from, "value": "0x1"}]),
        )
        .await;
    assert_eq!(estimate, json!("0x5208"));
}

/// A transaction sent twice: "already known" while it waits in the pool (as geth), "nonce
/// too low" once it is mined (clients map that wording to a typed error).
#[tokio::test]
async fn a_repeated_transaction_is_already_known_then_nonce_too_low() {
    use alloy::{
        consensus::{SignableTransaction, TxEnvelope, TxLegacy},
        eips::eip2718::Encodable2718,
        primitives::TxKind,
        signers::SignerSync,
    };
    let node = Node::start().await;
    node.rpc("evm_setAutomine", json!([false])).await;
    let signer = node.signer(2);
    let tx = TxLegacy {
        chain_id: Some(42),
        nonce: 0,
        gas_price: 20 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(address!("2323232323232323232323232323232323232323")),
        value: U256::from(5),
        input: Default::default(),
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = alloy::primitives::hex::encode_prefixed(
        TxEnvelope::Legacy(tx.into_signed(signature)).encoded_2718(),
    );
    node.rpc("eth_sendRawTransaction", json!([raw])).await;
    let (_, message) = node.rpc_err("eth_sendRawTransaction", json!([raw])).await;
    assert!(message.contains("already known"), "{message}");
    node.rpc("evm_mine", json!([])).await;
    let (_, message) = node.rpc_err("eth_sendRawTransaction", json!([raw])).await;
    assert!(message.starts_with("nonce too low"), "{message}");
}

/// TAO sent through 0x800 to the SS58 mirror of an EVM address the chain has never seen
/// is that address's EVM balance, as on Bittensor, and the address can spend it.
#[tokio::test]
async fn a_transfer_to_a_mirror_is_the_evm_balance_of_its_address() {
    use alloy::{primitives::keccak256, signers::local::PrivateKeySigner};
    let node = Node::start().await;
    let fresh = PrivateKeySigner::random();
    let mirror = taonado_types::evm_mirror(fresh.address());
    let mut data = keccak256("transfer(bytes32)")[..4].to_vec();
    data.extend_from_slice(&mirror.0);
    let two_tao = U256::from(2_000_000_000_000_000_000u128);
    let receipt = node
        .provider(0)
        .send_transaction(
            TransactionRequest::default()
                .with_to(address!("0000000000000000000000000000000000000800"))
                .with_value(two_tao)
                .with_input(data),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let provider = node.provider(0);
    assert_eq!(
        provider.get_balance(fresh.address()).await.unwrap(),
        two_tao
    );

    // The address spends it with a transaction of its own.
    let spender = alloy::providers::ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(fresh.clone()))
        .connect_http(node.handle.rpc_url().parse().unwrap());
    let sent = spender
        .send_transaction(
            TransactionRequest::default()
                .with_to(address!("4545454545454545454545454545454545454545"))
                .with_value(U256::from(1_000_000_000_000_000_000u128)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(sent.status());
    let left = provider.get_balance(fresh.address()).await.unwrap();
    assert!(left < U256::from(1_000_000_000_000_000_000u128) && left > U256::ZERO);
}

/// The BALANCE opcode sees a mirror's TAO too: a contract reads it for an address the chain
/// has never seen; a transaction that only reads it leaves it pending, and one that pays the
/// address adds to it, each counted once.
#[tokio::test]
async fn the_balance_opcode_sees_what_the_mirror_of_an_unseen_address_received() {
    use alloy::primitives::keccak256;
    let node = Node::start().await;
    // BALANCE(calldata[0..32]) as one word.
    let reader = address!("00000000000000000000000000000000000ba1a0");
    node.rpc(
        "anvil_setCode",
        json!([reader, "0x6000353160005260206000f3"]),
    )
    .await;
    let fresh = address!("5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e");
    let read_call = || {
        let mut input = vec![0u8; 12];
        input.extend_from_slice(fresh.as_slice());
        TransactionRequest::default()
            .with_to(reader)
            .with_input(input)
    };
    let provider = node.provider(0);
    let balance_in_evm = |output: alloy::primitives::Bytes| U256::from_be_slice(&output);
    assert_eq!(
        balance_in_evm(provider.call(read_call()).await.unwrap()),
        U256::ZERO
    );

    let mirror = taonado_types::evm_mirror(fresh);
    let mut data = keccak256("transfer(bytes32)")[..4].to_vec();
    data.extend_from_slice(&mirror.0);
    let two_tao = U256::from(2_000_000_000_000_000_000u128);
    let send = |request: TransactionRequest| {
        let provider = node.provider(0);
        async move {
            let receipt = provider
                .send_transaction(request)
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(receipt.status());
        }
    };
    send(
        TransactionRequest::default()
            .with_to(address!("0000000000000000000000000000000000000800"))
            .with_value(two_tao)
            .with_input(data),
    )
    .await;
    // A call, and a transaction that only reads it, see the credit; neither spends it.
    assert_eq!(
        balance_in_evm(provider.call(read_call()).await.unwrap()),
        two_tao
    );
    send(read_call()).await;
    assert_eq!(
        balance_in_evm(provider.call(read_call()).await.unwrap()),
        two_tao
    );
    // Paying the address commits the credit with the payment: counted once.
    let one_tao = U256::from(1_000_000_000_000_000_000u128);
    send(
        TransactionRequest::default()
            .with_to(fresh)
            .with_value(one_tao),
    )
    .await;
    assert_eq!(
        balance_in_evm(provider.call(read_call()).await.unwrap()),
        two_tao + one_tao
    );
    assert_eq!(
        provider.get_balance(fresh).await.unwrap(),
        two_tao + one_tao
    );
}

/// A pending transaction is replaced by one with the same nonce and fee caps at least 10%
/// higher; a smaller bump is "replacement transaction underpriced", as in geth.
#[tokio::test]
async fn a_pending_transaction_is_replaced_only_by_a_10_percent_bump() {
    use alloy::{
        consensus::{SignableTransaction, TxEnvelope, TxLegacy},
        eips::eip2718::Encodable2718,
        primitives::TxKind,
        signers::SignerSync,
    };
    let node = Node::start().await;
    node.rpc("evm_setAutomine", json!([false])).await;
    let signer = node.signer(3);
    let to = address!("7878787878787878787878787878787878787878");
    let raw = |gas_price: u128, value: u64| {
        let tx = TxLegacy {
            chain_id: Some(42),
            nonce: 0,
            gas_price,
            gas_limit: 21_000,
            to: TxKind::Call(to),
            value: U256::from(value),
            input: Default::default(),
        };
        let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
        alloy::primitives::hex::encode_prefixed(
            TxEnvelope::Legacy(tx.into_signed(signature)).encoded_2718(),
        )
    };
    node.rpc("eth_sendRawTransaction", json!([raw(20 * GWEI, 1)]))
        .await;
    let (_, message) = node
        .rpc_err("eth_sendRawTransaction", json!([raw(21 * GWEI, 2)]))
        .await;
    assert!(
        message.contains("replacement transaction underpriced"),
        "{message}"
    );
    node.rpc("eth_sendRawTransaction", json!([raw(22 * GWEI, 3)]))
        .await;
    node.rpc("evm_mine", json!([])).await;
    let provider = node.provider(0);
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(3));
}
