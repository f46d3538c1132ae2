//! `taonado up`'s simulation on the devnet: miners join, both weight paths run, epochs pay,
//! and the loop stops when the shutdown watch flips.

use std::sync::Mutex;

use anyhow::Result;
use taonado_devnet::DevnetConfig;
use taonado_devnet::subtensor::SubtensorConfig;
use taonado_ops::deploy::{FamilyPolicy, NoProgress, deploy};
use taonado_ops::simulation::{
    SimulationConfig, SimulationEvent, SimulationObserver, WeightsPath, run_simulation,
};
use taonado_ops::subnet::{LocalSubnet, SubnetKind};
use tokio::sync::watch;

use crate::common::*;

/// Collects events and asks the simulation to stop once it has seen both weight paths and an
/// epoch after them (or, as a bound, after many events).
struct Recorder {
    events: Mutex<Vec<SimulationEvent>>,
    stop: watch::Sender<bool>,
}

impl SimulationObserver for Recorder {
    fn event(&self, event: &SimulationEvent) {
        let mut events = self.events.lock().unwrap();
        events.push(event.clone());
        let operator = events.iter().position(|e| {
            matches!(
                e,
                SimulationEvent::WeightsSet {
                    path: WeightsPath::Operator,
                    ..
                }
            )
        });
        let public = events.iter().position(|e| {
            matches!(
                e,
                SimulationEvent::WeightsSet {
                    path: WeightsPath::Public { .. },
                    ..
                }
            )
        });
        let epoch_after = match (operator, public) {
            (Some(a), Some(b)) => events
                .iter()
                .skip(a.max(b))
                .any(|e| matches!(e, SimulationEvent::Epoch { .. })),
            _ => false,
        };
        if epoch_after || events.len() >= 400 {
            self.stop.send_replace(true);
        }
    }
}

#[tokio::test]
async fn simulation_joins_miners_sets_weights_and_sees_epochs() -> Result<()> {
    let chain = devnet(DevnetConfig {
        subtensor: SubtensorConfig::fast(),
        ..DevnetConfig::test()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let plan = plan(
        &chain,
        &dir.path().join("local.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    let record = deploy(
        &chain.provider,
        chain.deployer_address(),
        &plan,
        &NoProgress,
    )
    .await?;
    // The default rate limit (100 blocks) would only slow the test down.
    LocalSubnet::new(
        chain.provider.clone(),
        SubnetKind::Devnet,
        record.netuid,
        chain.deployer_address(),
    )
    .set_hyperparameter("weights_set_rate_limit", serde_json::json!(0))
    .await?;

    let (stop, shutdown) = watch::channel(false);
    let recorder = Recorder {
        events: Mutex::new(Vec::new()),
        stop,
    };
    let config = SimulationConfig {
        miners: 3,
        weights_interval_blocks: 2,
        tick: std::time::Duration::from_millis(5),
        mixer: None,
    };
    let wallets = |key| taonado_client::with_signer(&chain.provider, key);
    let report = run_simulation(
        &chain.provider,
        chain.deployer.clone(),
        &wallets,
        &record,
        config,
        shutdown,
        &recorder,
    )
    .await?;

    let events = recorder.events.into_inner().unwrap();
    let joined = events
        .iter()
        .filter(|e| matches!(e, SimulationEvent::MinerJoined { .. }))
        .count();
    assert_eq!(joined, 3);
    assert_eq!(report.miners.len(), 3);
    assert!(report.weight_sets >= 2, "{report:?}");
    assert!(report.epochs >= 1, "{report:?}");
    assert!(
        report.bounty_paid_wei > plan.evm_validator.set_weights_bounty,
        "{report:?}"
    );
    assert!(report.last_block > report.first_block);
    // Miners wrapped 1, 2 and 3 TAO: their incentives follow.
    let mut miners = report.miners.clone();
    miners.sort_by_key(|m| m.wrapped_wei);
    let incentives: Vec<u16> = miners.iter().map(|m| m.incentive).collect();
    assert!(
        incentives[0] > 0 && incentives.windows(2).all(|w| w[0] < w[1]),
        "{incentives:?} {events:?}"
    );
    Ok(())
}
