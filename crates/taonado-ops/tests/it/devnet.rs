//! Full deployment on the taonado devnet, its wiring, an idempotent re-run and a mining round.

use alloy::providers::Provider;
use anyhow::{Context, Result};
use taonado_contracts::{CodeMatch, Contract};
use taonado_deployment::{DeploymentRecord, names};
use taonado_devnet::DevnetConfig;
use taonado_ops::deploy::{FamilyPolicy, deploy};
use taonado_ops::subnet::{SubnetKind, dev_rpc};
use taonado_types::evm_mirror;

use crate::common::*;

#[tokio::test]
async fn deploys_wires_and_mines_on_the_devnet() -> Result<()> {
    let chain = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let plan = plan(
        &chain,
        &dir.path().join("deployments/local.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    let steps = Steps::default();
    let record = deploy(&chain.provider, chain.deployer_address(), &plan, &steps).await?;

    // The record on disk is the one returned, complete and with nothing pending.
    assert_eq!(
        DeploymentRecord::load(&plan.record_path)?.as_ref(),
        Some(&record)
    );
    assert_eq!(record.pending, None);
    assert_eq!(record.chain_id, chain.chain_id);
    assert_eq!(record.deployer, chain.deployer_address());
    let verifier = record.verifier.as_ref().context("verifier recorded")?;
    assert_eq!(
        (verifier.family.as_str(), verifier.key_setup.as_str()),
        ("bittensor", "test-circuit")
    );
    let named = record.contracts.iter().map(|(n, c)| (n.as_str(), c));
    for (name, contract) in named.chain(record.pools.iter().map(|p| ("pool", &p.contract))) {
        assert!(
            contract.tx_hash.is_some() && contract.block.is_some(),
            "{name} has its tx and block"
        );
        let artifact: Contract = contract.artifact.parse()?;
        assert_eq!(
            contract.artifact_sha256,
            Some(artifact.artifact().sha256),
            "{name}"
        );
        let code = chain.provider.get_code_at(contract.address).await?;
        assert_ne!(
            artifact.artifact().compare_code(&code),
            CodeMatch::Mismatch,
            "{name} code"
        );
    }
    assert_eq!(
        record.contracts[names::VERIFIER].artifact,
        "Groth16VerifierBittensor"
    );
    assert_wiring(&chain, &record, &plan).await?;

    // The EvmValidator's mirror is a staked, permitted neuron and commit-reveal is off.
    let validator = record.address(names::EVM_VALIDATOR)?;
    let neuron = dev_rpc(
        &chain.provider,
        "subtensor_getNeuron",
        serde_json::json!([{ "netuid": plan.netuid, "hotkey": evm_mirror(validator).to_b256() }]),
    )
    .await?;
    assert_eq!(neuron["validatorPermit"], true, "{neuron}");
    assert!(
        neuron["stake"].as_u64().unwrap_or(0) >= taonado_ops::subnet::VALIDATOR_STAKE_RAO,
        "{neuron}"
    );
    let info = dev_rpc(
        &chain.provider,
        "subtensor_subnetInfo",
        serde_json::json!([{ "netuid": plan.netuid }]),
    )
    .await?;
    assert_eq!(
        info["hyperparameters"]["commit_reveal_weights_enabled"],
        false
    );

    // A second run sends nothing and changes nothing.
    let nonce = chain.nonce().await?;
    let again = Steps::default();
    let second = deploy(&chain.provider, chain.deployer_address(), &plan, &again).await?;
    assert_eq!(again.done(), Vec::<String>::new());
    assert_eq!(chain.nonce().await?, nonce);
    assert_eq!(addresses(&second), addresses(&record));

    mining_round(&chain, &record).await?;
    // Deploying again after mining (new uids, bounties paid) only tops the bounty balance up.
    let nonce = chain.nonce().await?;
    let after_mining = Steps::default();
    deploy(
        &chain.provider,
        chain.deployer_address(),
        &plan,
        &after_mining,
    )
    .await?;
    assert_eq!(after_mining.done(), vec!["EvmValidator.fund".to_owned()]);
    assert_eq!(chain.nonce().await?, nonce + 1);
    assert_eq!(
        chain.provider.get_balance(validator).await?,
        plan.evm_validator.funding
    );
    Ok(())
}
