//! The local stack on its own dev chain: deployed, monitored, and stopped by the shutdown
//! flag right after the deployment, with the chain shut down and the record written.

use std::path::Path;
use std::sync::Mutex;

use taonado_ops::{
    DeployProgress, DeploymentRecord, NoProgress, SimulationConfig, SimulationEvent,
    SimulationObserver, VerifyingKeyFile,
};
use taonado_stack::{DevnetFacts, StackObserver, StackPlan};
use tokio::sync::watch;

#[derive(Default)]
struct Heard(Mutex<Vec<String>>);

impl Heard {
    fn push(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }
}

impl SimulationObserver for Heard {
    fn event(&self, event: &SimulationEvent) {
        self.push(format!("event {event:?}"));
    }
}

impl StackObserver for Heard {
    fn deploy_progress(&self) -> &dyn DeployProgress {
        &NoProgress
    }

    fn deployed(&self, devnet: &DevnetFacts, record: &DeploymentRecord, _: &Path) {
        assert_eq!(devnet.chain_id, record.chain_id);
        self.push("deployed".into());
    }

    fn listening(&self, dashboard_url: Option<&str>) {
        self.push(format!("listening {dashboard_url:?}"));
    }

    fn simulating(&self, _: &SimulationConfig) {
        self.push("simulating".into());
    }
}

#[tokio::test]
async fn a_stop_requested_early_ends_the_stack_right_after_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let config = taonado_config::Config::builtin();
    let network = config.network("local").unwrap();
    let plan = StackPlan {
        config,
        network,
        devnet: taonado_devnet::DevnetConfig::test(),
        verifying_key: VerifyingKeyFile::generator_placeholder("local-dev-insecure"),
        deployments_dir: dir.path().to_path_buf(),
        weights_interval: 10,
        simulation: Some(StackPlan::simulation(2, 10, true)),
        monitor_listen: Some("127.0.0.1:0".parse().unwrap()),
        relayer_listen: None,
        exit_after: None,
        exit_after_blocks: None,
    };
    let (_stop, shutdown) = watch::channel(true);
    let heard = Heard::default();
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        taonado_stack::run(plan, shutdown, &heard),
    )
    .await
    .expect("the stack stops")
    .unwrap();

    assert!(report.record.address("EvmValidator").is_ok());
    assert_eq!(report.record_path, dir.path().join("local.json"));
    assert!(report.record_path.is_file());
    let monitor = report.monitor.expect("the monitor ran");
    assert!(monitor.dashboard_url.starts_with("http://127.0.0.1:"));
    // The monitor's throwaway database is removed at the stop.
    assert!(!monitor.db.exists());
    assert!(report.simulation.is_some(), "the simulation ran");
    let heard = heard.0.into_inner().unwrap();
    assert_eq!(heard[0], "deployed");
    assert!(
        heard[1].starts_with("listening Some(\"http://"),
        "{heard:?}"
    );
    assert_eq!(heard[2], "simulating");
}
