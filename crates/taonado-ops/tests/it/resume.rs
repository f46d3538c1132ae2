//! A deploy cut off after K steps (its future dropped mid-step, as a crash would) resumes:
//! the re-run finishes, keeps every recorded address and sends exactly the transactions an
//! uninterrupted deploy sends, so nothing is deployed twice.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, ensure};
use taonado_devnet::DevnetConfig;
use taonado_ops::deploy::{DeployProgress, FamilyPolicy, NoProgress, StepState, deploy};
use taonado_ops::record::DeploymentRecord;
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
    let clean_plan = plan(&clean, &dir.path().join("clean.json"), SubnetKind::Devnet, FamilyPolicy::ChainId);
    let reference = deploy(&clean.provider, clean.deployer_address(), &clean_plan, &NoProgress).await?;
    let reference_nonce = clean.nonce().await?;

    for cut_after in [1, 4, 9, 14, 19] {
        let chain = devnet(DevnetConfig::test()).await?;
        let plan = plan(&chain, &dir.path().join(format!("cut-{cut_after}.json")), SubnetKind::Devnet, FamilyPolicy::ChainId);
        let (count, mut seen) = watch::channel(0);
        let hook = CutAfter { finished: AtomicUsize::new(0), count };
        let interrupted = tokio::select! {
            biased;
            _ = seen.wait_for(|n| *n >= cut_after) => true,
            result = deploy(&chain.provider, chain.deployer_address(), &plan, &hook) => { result?; false }
        };
        ensure!(interrupted, "the deploy finished before step {cut_after}");
        let partial = DeploymentRecord::load(&plan.record_path)?.context("the cut run saved a record")?;

        let steps = Steps::default();
        let record = deploy(&chain.provider, chain.deployer_address(), &plan, &steps).await?;
        assert_eq!(record.pending, None);
        let resumed = addresses(&record);
        for entry in addresses(&partial) {
            assert!(resumed.contains(&entry), "cut after {cut_after}: {entry:?} moved");
        }
        for (name, _) in &steps.0.lock().unwrap().iter().cloned().collect::<Vec<_>>() {
            let already = addresses(&partial).iter().any(|(n, _)| n == name);
            assert!(!(already && steps.done().contains(name)), "cut after {cut_after}: {name} deployed twice");
        }
        // Same transactions as the uninterrupted run, hence the same addresses too.
        assert_eq!(chain.nonce().await?, reference_nonce, "cut after {cut_after}: transaction count");
        assert_eq!(resumed, addresses(&reference), "cut after {cut_after}: addresses");
        assert_wiring(&chain, &record, &plan).await?;
    }
    Ok(())
}
