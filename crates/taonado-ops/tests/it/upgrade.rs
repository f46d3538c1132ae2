//! The EvmValidator upgrade and the weights migration on the devnet, through the library.

use alloy::primitives::U256;
use alloy::providers::Provider;
use anyhow::{Context, Result};
use taonado_contracts::Contract;
use taonado_contracts::bindings::{EvmValidator, EvmValidatorV2};
use taonado_deployment::names;
use taonado_devnet::DevnetConfig;
use taonado_ops::deploy::{FamilyPolicy, deploy};
use taonado_ops::migrate;
use taonado_ops::subnet::SubnetKind;
use taonado_ops::upgrade::{self, Baseline, ExecutePaths, StateSnapshot, UpgradePlan};
use taonado_ops::{OpsError, upgrade::UpgradeError};

use crate::common::*;

#[tokio::test]
async fn upgrade_then_migrate_keeps_state_and_weights() -> Result<()> {
    let chain = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let record_path = dir.path().join("deployments/local.json");
    let plan = plan(
        &chain,
        &record_path,
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    let record = deploy(
        &chain.provider,
        chain.deployer_address(),
        &plan,
        &Steps::default(),
    )
    .await?;
    let proxy = record.address(names::EVM_VALIDATOR)?;
    let owner = chain.deployer_address();

    let upgrade_plan = UpgradePlan {
        proxy,
        target: Contract::EvmValidatorV2,
        sender: None,
    };
    let dry = upgrade::dry_run(&chain.provider, &upgrade_plan).await?;
    assert!(dry.ok(), "{:?}", dry.failing());
    assert_eq!(dry.current_artifact.as_deref(), Some("EvmValidator"));
    assert_eq!(dry.owner, owner);
    assert!(!dry.owner_is_contract);

    // An incompatible implementation is refused before anything is sent.
    let bad = UpgradePlan {
        target: Contract::MockEvmValidatorReordered,
        ..upgrade_plan.clone()
    };
    let paths = ExecutePaths {
        record: record_path.clone(),
        snapshot: dir.path().join("snap.json"),
    };
    let nonce = chain.nonce().await?;
    match upgrade::execute(&chain.provider, owner, &bad, &paths).await {
        Err(OpsError::Upgrade(UpgradeError::ChecksFailed { problems })) => {
            assert!(
                problems.iter().any(|p| p.contains("`netuid`")),
                "{problems:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(chain.nonce().await?, nonce, "nothing was sent");

    let executed = upgrade::execute(&chain.provider, owner, &upgrade_plan, &paths).await?;
    assert_eq!(executed.implementation, dry.predicted_implementation);
    let v2 = EvmValidatorV2::new(proxy, &chain.provider);
    assert_eq!(v2.version().call().await?, U256::from(2));

    let snapshot = StateSnapshot::load(&paths.snapshot)?;
    assert_eq!(snapshot.artifact, "EvmValidator");
    let verified = upgrade::verify(
        &chain.provider,
        proxy,
        executed.implementation,
        Contract::EvmValidatorV2,
        Baseline::Snapshot(snapshot.clone()),
    )
    .await?;
    assert!(verified.ok(), "{:?}", verified.failing());
    // The devnet keeps history (as anvil), so a --before-block baseline reads the proxy's
    // state of then: every storage variable the upgrade must keep is the same.
    let historical = upgrade::verify(
        &chain.provider,
        proxy,
        executed.implementation,
        Contract::EvmValidatorV2,
        Baseline::Block(snapshot.block - 1),
    )
    .await?;
    assert!(
        historical
            .checks
            .iter()
            .filter(|c| c.name.starts_with("state "))
            .all(|c| c.ok),
        "{:?}",
        historical.failing()
    );
    // The owner changes the bounty after the upgrade: ordinary operation, not a defect of
    // the upgrade, so the snapshot `execute` completed at the upgrade's block still verifies.
    let bump = EvmValidator::new(proxy, &chain.provider)
        .setSetWeightsBounty(U256::from(12345))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(bump.status());
    let after_upgrade = snapshot
        .after_upgrade
        .clone()
        .context("the upgrade's state")?;
    let verified = upgrade::verify(
        &chain.provider,
        proxy,
        executed.implementation,
        Contract::EvmValidatorV2,
        Baseline::Snapshot(snapshot.clone()),
    )
    .await?;
    assert!(verified.ok(), "{:?}", verified.failing());
    assert_eq!(verified.state_block, after_upgrade.block);
    // Without the upgrade's state (an older snapshot), the state now is compared, the change
    // is caught, and the report says what it compared.
    let verified = upgrade::verify(
        &chain.provider,
        proxy,
        executed.implementation,
        Contract::EvmValidatorV2,
        Baseline::Snapshot(upgrade::StateSnapshot {
            after_upgrade: None,
            ..snapshot
        }),
    )
    .await?;
    assert_eq!(
        verified
            .failing()
            .iter()
            .filter(|l| l.contains("setWeightsBounty"))
            .count(),
        1,
        "{:?}",
        verified.failing()
    );
    assert!(
        verified.compared.contains("ordinary operation"),
        "{}",
        verified.compared
    );

    let migrated =
        migrate::migrate_weights(&chain.provider, owner, record_path.clone(), None).await?;
    assert_eq!(
        EvmValidator::new(proxy, &chain.provider)
            .weights()
            .call()
            .await?,
        migrated.weights_v4
    );
    let again = migrate::migrate_weights(&chain.provider, owner, record_path.clone(), None).await?;
    assert!(again.steps.iter().all(|s| s.state == "skipped"));
    let record = taonado_ops::DeploymentRecord::load(&record_path)?.expect("record");
    let report = migrate::verify_migration(&chain.provider, &record).await?;
    assert!(report.ok(), "{:?}", report.failing());
    assert_eq!(report.v3_weights, report.v4_weights);
    assert!(!report.v4_weights.is_empty());
    let _ = chain.provider.get_block_number().await?;
    Ok(())
}

#[tokio::test]
async fn verify_against_a_block_before_the_upgrade_on_an_archive_node() -> Result<()> {
    let chain = anvil(945).await?;
    let dir = tempfile::tempdir()?;
    let record_path = dir.path().join("deployments/local.json");
    let plan = plan(
        &chain,
        &record_path,
        SubnetKind::AnvilMocks,
        FamilyPolicy::Detect,
    );
    let record = deploy(
        &chain.provider,
        chain.deployer_address(),
        &plan,
        &Steps::default(),
    )
    .await?;
    let proxy = record.address(names::EVM_VALIDATOR)?;
    let before = chain.provider.get_block_number().await?;
    let upgrade_plan = UpgradePlan {
        proxy,
        target: Contract::EvmValidatorV2,
        sender: None,
    };
    let paths = ExecutePaths {
        record: record_path,
        snapshot: dir.path().join("snap.json"),
    };
    let executed = upgrade::execute(
        &chain.provider,
        chain.deployer_address(),
        &upgrade_plan,
        &paths,
    )
    .await?;
    let verified = upgrade::verify(
        &chain.provider,
        proxy,
        executed.implementation,
        Contract::EvmValidatorV2,
        Baseline::Block(before),
    )
    .await?;
    assert!(verified.ok(), "{:?}", verified.failing());
    assert_eq!(verified.baseline_block, before);
    // Verifying against a block after the upgrade fails: the implementation did not change since.
    let after = chain.provider.get_block_number().await?;
    let wrong = upgrade::verify(
        &chain.provider,
        proxy,
        executed.implementation,
        Contract::EvmValidatorV2,
        Baseline::Block(after),
    )
    .await?;
    assert_eq!(wrong.failing().len(), 1, "{:?}", wrong.failing());
    assert!(wrong.failing()[0].starts_with("implementation changed"));
    Ok(())
}
