//! A deploy cut off after K steps (its future dropped mid-step, as a crash would) resumes:
//! the re-run finishes, keeps every recorded address and sends exactly the transactions an
//! uninterrupted deploy sends, so nothing is deployed twice.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, ensure};
use taonado_deployment::DeploymentRecord;
use taonado_devnet::DevnetConfig;
use taonado_ops::deploy::{DeployProgress, FamilyPolicy, NoProgress, StepState, deploy};
use taonado_ops::subnet::SubnetKind;
use tokio::sync::watch;

use crate::common::*;

/// Counts finished steps and publishes the count.
struct CutAfter {
    finished: AtomicUsize,
    count: watch::Sender<usize>,
}

impl DeployProgress for CutAfter {
    fn step(&self, _name: &str, state: StepState) {
        if state != StepState::Started {
            let n = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
            self.count.send_replace(n);
        }
    }
}

#[tokio::test]
async fn interrupted_deploys_resume_without_deploying_twice() -> Result<()> {
    // The reference: one uninterrupted deployment on a fresh chain.
    let clean = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let clean_plan = plan(
        &clean,
        &dir.path().join("clean.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    let reference = deploy(
        &clean.provider,
        clean.deployer_address(),
        &clean_plan,
        &NoProgress,
    )
    .await?;
    let reference_nonce = clean.nonce().await?;

    for cut_after in [1, 4, 9, 14, 19] {
        let chain = devnet(DevnetConfig::test()).await?;
        let plan = plan(
            &chain,
            &dir.path().join(format!("cut-{cut_after}.json")),
            SubnetKind::Devnet,
            FamilyPolicy::ChainId,
        );
        let (count, mut seen) = watch::channel(0);
        let hook = CutAfter {
            finished: AtomicUsize::new(0),
            count,
        };
        let interrupted = tokio::select! {
            biased;
            _ = seen.wait_for(|n| *n >= cut_after) => true,
            result = deploy(&chain.provider, chain.deployer_address(), &plan, &hook) => { result?; false }
        };
        ensure!(interrupted, "the deploy finished before step {cut_after}");
        let partial =
            DeploymentRecord::load(&plan.record_path)?.context("the cut run saved a record")?;

        let steps = Steps::default();
        let record = deploy(&chain.provider, chain.deployer_address(), &plan, &steps).await?;
        assert_eq!(record.pending, None);
        let resumed = addresses(&record);
        for entry in addresses(&partial) {
            assert!(
                resumed.contains(&entry),
                "cut after {cut_after}: {entry:?} moved"
            );
        }
        // What the cut run recorded is skipped, never deployed again.
        let redeployed: Vec<String> = steps
            .done()
            .into_iter()
            .filter(|name| partial.contracts.contains_key(name))
            .collect();
        assert!(
            redeployed.is_empty(),
            "cut after {cut_after}: deployed twice: {redeployed:?}"
        );
        // Same transactions as the uninterrupted run, hence the same addresses too.
        assert_eq!(
            chain.nonce().await?,
            reference_nonce,
            "cut after {cut_after}: transaction count"
        );
        assert_eq!(
            resumed,
            addresses(&reference),
            "cut after {cut_after}: addresses"
        );
        assert_wiring(&chain, &record, &plan).await?;
    }
    Ok(())
}

/// How far an interrupted run got with the deployment it recorded as pending.
#[derive(Clone, Copy, Debug)]
enum Crash {
    /// Saved `pending`, then died before sending.
    BeforeSend,
    /// Sent the transaction, then died before saving its hash.
    AfterSendUnsaved,
    /// Sent the transaction and saved its hash, then died waiting for the receipt.
    AfterSendSaved,
}

#[tokio::test]
async fn pending_deployments_are_adopted_or_retried() -> Result<()> {
    use alloy::network::TransactionBuilder;
    use alloy::providers::Provider;
    use alloy::rpc::types::TransactionRequest;
    use taonado_contracts::Contract;
    use taonado_deployment::{PendingDeployment, names};

    let clean = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let clean_plan = plan(
        &clean,
        &dir.path().join("clean.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    let reference = deploy(
        &clean.provider,
        clean.deployer_address(),
        &clean_plan,
        &NoProgress,
    )
    .await?;
    let reference_nonce = clean.nonce().await?;

    for crash in [
        Crash::BeforeSend,
        Crash::AfterSendUnsaved,
        Crash::AfterSendSaved,
    ] {
        let chain = devnet(DevnetConfig::test()).await?;
        let plan = plan(
            &chain,
            &dir.path().join(format!("{crash:?}.json")),
            SubnetKind::Devnet,
            FamilyPolicy::ChainId,
        );
        // An interrupted run that got as far as WTAO ...
        let (count, mut seen) = watch::channel(0);
        let hook = CutAfter {
            finished: AtomicUsize::new(0),
            count,
        };
        tokio::select! {
            biased;
            _ = seen.wait_for(|n| *n >= 1) => {}
            result = deploy(&chain.provider, chain.deployer_address(), &plan, &hook) => { result?; }
        }
        let mut record = DeploymentRecord::load(&plan.record_path)?.context("record")?;
        ensure!(
            !record.contracts.contains_key(names::DEPOSIT_TRACKER),
            "the cut came after WTAO"
        );
        // ... and then through the DepositTracker deployment up to the crash point.
        let nonce = chain.nonce().await?;
        let address = chain.deployer_address().create(nonce);
        let mut pending = PendingDeployment {
            step: names::DEPOSIT_TRACKER.into(),
            nonce,
            address,
            tx_hash: None,
        };
        if !matches!(crash, Crash::BeforeSend) {
            let tx = TransactionRequest::default()
                .nonce(nonce)
                .with_deploy_code(Contract::DepositTracker.artifact().deploy_code(&[]));
            let receipt = chain
                .provider
                .send_transaction(tx)
                .await?
                .get_receipt()
                .await?;
            if matches!(crash, Crash::AfterSendSaved) {
                pending.tx_hash = Some(receipt.transaction_hash);
            }
        }
        record.pending = Some(pending.clone());
        record.save(&plan.record_path)?;

        let steps = Steps::default();
        let resumed = deploy(&chain.provider, chain.deployer_address(), &plan, &steps).await?;
        let tracker = &resumed.contracts[names::DEPOSIT_TRACKER];
        assert_eq!(
            tracker.address, address,
            "{crash:?}: deployed where the pending nonce put it"
        );
        assert!(
            tracker.tx_hash.is_some() && tracker.block.is_some() && tracker.gas_used.is_some(),
            "{crash:?}: the creation transaction is recorded (found by nonce when its hash was lost)"
        );
        assert_eq!(resumed.pending, None);
        assert_eq!(
            chain.nonce().await?,
            reference_nonce,
            "{crash:?}: nothing sent twice"
        );
        assert_eq!(addresses(&resumed), addresses(&reference), "{crash:?}");
    }
    Ok(())
}
