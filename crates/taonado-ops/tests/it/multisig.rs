//! The Safe on a chain that has Safe's canonical deployment (its code put at the canonical
//! addresses of the dev chain): `setup` uses it instead of deploying, the proposal hash equals
//! the Safe's own `getTransactionHash`, and a transfer executes with one EIP-712 signature and
//! one on-chain approval (`approveHash`, `v` 1).

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256, address};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Result, ensure};
use taonado_contracts::safe::{ISafe, SafeContract};
use taonado_deployment::{DeploymentRecord, names};
use taonado_devnet::DevnetConfig;
use taonado_ops::multisig::{
    self, Operation, OwnerSignature, Proposal, ProposedCall, SetupPlan, SignatureKind,
};

use crate::common::*;

#[tokio::test]
async fn canonical_safe_hash_and_approved_hash_execution() -> Result<()> {
    let chain = devnet(DevnetConfig::test()).await?;
    let provider = &chain.provider;
    let handle = chain._devnet.as_ref().expect("devnet");
    // Safe's deployment, as a chain that has it: the runtime code at the canonical addresses.
    for contract in SafeContract::ALL {
        let Some(at) = contract.canonical_address() else {
            continue;
        };
        provider
            .raw_request::<_, serde_json::Value>(
                "anvil_setCode".into(),
                (at, contract.artifact().deployed_bytecode.clone()),
            )
            .await?;
    }
    let found = multisig::safe_contracts(provider, None)
        .await?
        .expect("found");
    ensure!(found.canonical, "{found:?}");

    let owners: Vec<PrivateKeySigner> = handle.dev_accounts()[1..4]
        .iter()
        .map(|a| PrivateKeySigner::from_bytes(&a.private_key))
        .collect::<Result<_, _>>()?;
    let dir = tempfile::tempdir()?;
    let record_path = dir.path().join("local.json");
    let mut record = DeploymentRecord::new("local", chain.chain_id, 1, chain.deployer_address());
    record.save(&record_path)?;
    let plan = SetupPlan {
        owners: owners.iter().map(|o| o.address()).collect(),
        threshold: 2,
        salt_nonce: U256::from(7),
        dry_run: false,
    };
    let setup = multisig::setup(
        provider,
        chain.deployer_address(),
        &plan,
        &mut record,
        &record_path,
    )
    .await?;
    ensure!(
        setup.deployed.is_empty(),
        "deployed on a chain with Safe: {:?}",
        setup.deployed
    );
    ensure!(
        setup.contracts.singleton == SafeContract::SafeL2.canonical_address().unwrap_or_default()
    );
    ensure!(!record.contracts.contains_key(names::SAFE_SINGLETON));
    let safe = record.address(names::SAFE)?;
    ensure!(safe == setup.safe);

    // Fund the Safe, then propose sending 0.25 TAO out of it.
    send(
        provider,
        TransactionRequest::default()
            .from(chain.deployer_address())
            .to(safe)
            .with_value(tao(1)),
    )
    .await?;
    let payee = address!("0x00000000000000000000000000000000000c0ffe");
    let value = tao(1) / U256::from(4);
    let mut proposal = Proposal::new(
        "local",
        chain.chain_id,
        safe,
        ProposedCall {
            to: payee,
            value,
            data: Bytes::from_static(&[0xde, 0xad]),
            operation: Operation::Call,
            description: "pay".into(),
            origin: "test".into(),
        },
        U256::ZERO,
        None,
        0,
    );
    let t = &proposal.tx;
    let onchain = ISafe::new(safe, provider)
        .getTransactionHash(
            t.to,
            t.value,
            t.data.clone(),
            0,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            Address::ZERO,
            Address::ZERO,
            t.nonce,
        )
        .call()
        .await?;
    ensure!(
        onchain == proposal.safe_tx_hash,
        "{onchain} != {}",
        proposal.safe_tx_hash
    );

    // Owner 0 signs (EIP-712); owner 1 approves the hash on chain.
    let hash = proposal.safe_tx_hash;
    multisig::add_signature(
        &mut proposal,
        OwnerSignature::sign(&owners[0], hash, SignatureKind::Eip712)?,
        Some(&plan.owners),
    )?;
    let approver = crate::common::provider(&chain.url, owners[1].clone())?;
    let receipt = ISafe::new(safe, &approver)
        .approveHash(hash)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status());
    multisig::add_signature(
        &mut proposal,
        OwnerSignature::approved_hash(owners[1].address()),
        Some(&plan.owners),
    )?;
    let report =
        multisig::execute(provider, chain.deployer_address(), &mut proposal, false).await?;
    ensure!(report.signatures == 2 && report.tx.is_some(), "{report:?}");
    ensure!(provider.get_balance(payee).await? == value);
    ensure!(ISafe::new(safe, provider).nonce().call().await? == U256::from(1));
    Ok(())
}
