//! The local stack behind `taonado up`: the embedded dev chain, the protocol deployed on it,
//! the live simulation (miners and the validator) and the monitor (indexer, alerts,
//! dashboard), composed in one run until the shutdown flag, a limit or the chain stops.
//! Also the other composition of a dev chain with a procedure: an upgrade rehearsed on a
//! fork ([`rehearse_upgrade`]).
//!
//! [`run`] is the one entry point; the caller (the CLI) builds the [`StackPlan`] from its
//! flags, turns signals into the shutdown flag and renders what the [`StackObserver`] hears
//! and the [`StackReport`] it gets back.

mod error;
mod rehearsal;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::signers::local::PrivateKeySigner;
use taonado_config::{Config, NetworkConfig};
use taonado_devnet::{DevnetConfig, DevnetHandle};
use taonado_monitor::{MonitorPlan, MonitorReport, MonitorService, MonitorTuning};
use taonado_ops::deploy::plan::{ProtocolSettings, build_plan, node_kind};
use taonado_ops::{
    DeployProgress, DeploymentRecord, SimulationConfig, SimulationObserver, SimulationReport,
    VerifyingKeyFile,
};
use tokio::sync::watch;

pub use error::{Result, StackError};
pub use rehearsal::{RehearsalOutput, rehearse_upgrade};

/// What `run` starts and when it stops.
pub struct StackPlan {
    /// The taonado config (how the chain is reached) and its local network; the network's
    /// rpc url and chain id are replaced by the devnet's.
    pub config: Config,
    pub network: NetworkConfig,
    /// The dev chain (its weights rate limit is lowered to `weights_interval`).
    pub devnet: DevnetConfig,
    /// The withdraw circuit's verifying key, deployed with the pools.
    pub verifying_key: VerifyingKeyFile,
    /// Where the deployment record (`<network>.json`) is (re)written.
    pub deployments_dir: PathBuf,
    /// Blocks between the validator's weight settings (also the EvmValidator's public
    /// setWeights interval on this chain).
    pub weights_interval: u64,
    /// The simulation; `None` deploys only.
    pub simulation: Option<SimulationConfig>,
    /// The monitor's dashboard address; `None` runs no monitor.
    pub monitor_listen: Option<SocketAddr>,
    /// The relayer's API address (dev account 9 relays); `None` runs no relayer.
    pub relayer_listen: Option<SocketAddr>,
    /// Stop after this long.
    pub exit_after: Option<Duration>,
    /// Stop once this many blocks have been mined after the deployment.
    pub exit_after_blocks: Option<u64>,
}

impl StackPlan {
    /// Wall-clock time between the simulation's looks at the chain.
    pub const TICK: Duration = Duration::from_secs(1);
    /// The same on the fast-runtime profile (250 ms blocks).
    pub const FAST_TICK: Duration = Duration::from_millis(250);
    /// The deployed WeightsV3 deposit goal, in TAO.
    pub const DEPOSIT_GOAL_TAO: u64 = 1000;
    /// The EvmValidator's bounty, in wei (0.001 TAO).
    pub const SET_WEIGHTS_BOUNTY_WEI: u64 = 1_000_000_000_000_000;

    /// The simulation of `miners` miners setting weights every `weights_interval` blocks.
    pub fn simulation(miners: usize, weights_interval: u64, fast: bool) -> SimulationConfig {
        SimulationConfig {
            miners,
            weights_interval_blocks: weights_interval,
            tick: if fast { Self::FAST_TICK } else { Self::TICK },
            // `run` sets the mixer traffic: it knows where the chain's files go.
            mixer: None,
        }
    }

    /// The pool the simulation deposits into and withdraws from.
    pub const MIXER_POOL: &str = "1";
}

/// The dev chain as it came up.
#[derive(Clone, Debug)]
pub struct DevnetFacts {
    pub rpc_url: String,
    pub chain_id: u64,
    /// (address, private key) of each prefunded dev account: public test keys.
    pub accounts: Vec<(Address, B256)>,
    pub state_dir: Option<PathBuf>,
}

/// What `run` hears about as it goes (the CLI prints it). Simulation events come through
/// the [`SimulationObserver`] half.
pub trait StackObserver: SimulationObserver {
    /// Receives the deployment's steps.
    fn deploy_progress(&self) -> &dyn DeployProgress;
    /// The chain is up and the protocol deployed.
    fn deployed(&self, devnet: &DevnetFacts, record: &DeploymentRecord, record_path: &Path);
    /// Every endpoint listens: the chain (told by `deployed`) and, unless the monitor is
    /// off, the dashboard with `/metrics` at `dashboard_url`. Called once, right after the
    /// monitor binds and before the simulation starts, so callers can print the endpoints
    /// while the stack runs.
    fn listening(&self, dashboard_url: Option<&str>);
    /// The relayer listens at `url` and relays as `address`; called before `listening`.
    fn relayer_listening(&self, _url: &str, _address: Address) {}
    /// The simulation starts (it is not started with `--no-sim`).
    fn simulating(&self, config: &SimulationConfig);
}

/// What one `run` did.
#[derive(Clone, Debug)]
pub struct StackReport {
    pub devnet: DevnetFacts,
    pub record: DeploymentRecord,
    pub record_path: PathBuf,
    pub simulation: Option<SimulationReport>,
    pub monitor: Option<MonitorReport>,
    pub relayer: Option<taonado_relayer::RelayerReport>,
    pub blocks: BlockSpan,
}

/// The chain's head when the simulation and monitor started and when they stopped:
/// `--exit-after-blocks N` stops at `start + N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BlockSpan {
    pub start: u64,
    pub end: u64,
}

/// The dev account the stack's relayer signs with (the simulation uses the first ones).
pub const RELAYER_DEV_ACCOUNT: usize = 9;

/// Starts the dev chain, deploys, then runs the simulation and the monitor until
/// `shutdown` turns true, a limit of the plan is reached or the chain stops by itself; the
/// chain is shut down (and its state flushed) before it returns. A stop requested while
/// deploying takes effect right after the deployment.
pub async fn run(
    plan: StackPlan,
    shutdown: watch::Receiver<bool>,
    observer: &dyn StackObserver,
) -> Result<StackReport> {
    let record_path = taonado_deployment::record_path(&plan.deployments_dir, &plan.network.name);
    if plan.devnet.state_dir.is_none() {
        remove_stale_record(&record_path)?;
    }
    let mut devnet_config = plan.devnet.clone();
    // The validator sets weights every `weights_interval` blocks; subtensor's default rate
    // limit (100 blocks) would refuse most of them on a demo chain.
    let hyperparameters = &mut devnet_config.subtensor.hyperparameters;
    hyperparameters.weights_set_rate_limit = hyperparameters
        .weights_set_rate_limit
        .min(plan.weights_interval);
    let handle = taonado_devnet::spawn(devnet_config).await?;
    let result = run_on(&plan, &handle, record_path, shutdown, observer).await;
    let stopped = handle.shutdown().await;
    let report = result?;
    stopped?;
    Ok(report)
}

/// Dev account `index`: the well-known public test keys.
fn dev_account_signer(index: usize) -> Result<PrivateKeySigner> {
    let account = taonado_devnet::DEV_ACCOUNTS
        .get(index)
        .ok_or(StackError::NoDevAccount { index })?;
    tracing::info!(address = %account.address, "signing with dev account {index} (a public test key)");
    PrivateKeySigner::from_bytes(&account.private_key)
        .map_err(|e| StackError::DevAccountKey(e.to_string()))
}

async fn run_on(
    plan: &StackPlan,
    handle: &DevnetHandle,
    record_path: PathBuf,
    shutdown: watch::Receiver<bool>,
    observer: &dyn StackObserver,
) -> Result<StackReport> {
    let mut network = plan.network.clone();
    network.rpc_url =
        handle
            .rpc_url()
            .parse()
            .map_err(|e: url::ParseError| StackError::DevnetUrl {
                url: handle.rpc_url(),
                message: e.to_string(),
            })?;
    network.chain_id = handle.chain_id();
    let funder = dev_account_signer(0)?;
    let provider =
        taonado_client::connect_with_signer(&network, &plan.config, funder.clone()).await?;
    let kind = node_kind(&provider).await;
    let protocol = ProtocolSettings {
        deposit_goal: U256::from(StackPlan::DEPOSIT_GOAL_TAO) * taonado_types::WEI_PER_TAO,
        set_weights_bounty: U256::from(StackPlan::SET_WEIGHTS_BOUNTY_WEI),
        set_weights_interval: plan.weights_interval,
        validator_funding: None,
    };
    let deploy_plan = build_plan(
        &network,
        kind,
        &protocol,
        plan.verifying_key.clone(),
        record_path.clone(),
    )?;
    let deployer = funder.address();
    let record = taonado_ops::deploy(
        &provider,
        deployer,
        &deploy_plan,
        observer.deploy_progress(),
    )
    .await?;
    let devnet = DevnetFacts {
        rpc_url: handle.rpc_url(),
        chain_id: handle.chain_id(),
        accounts: handle
            .dev_accounts()
            .iter()
            .map(|a| (a.address, a.private_key))
            .collect(),
        state_dir: plan.devnet.state_dir.clone(),
    };
    observer.deployed(&devnet, &record, &record_path);

    // The monitor follows the chain from the deployment on; its database lives with the
    // chain's state, or for a throwaway chain in a file removed at the stop.
    let monitor_db = match &plan.devnet.state_dir {
        Some(dir) => dir.join("monitor.db"),
        None => std::env::temp_dir().join(format!("taonado-up-{}.db", std::process::id())),
    };
    let mixer_dir = match &plan.devnet.state_dir {
        Some(dir) => dir.join("mixer"),
        None => std::env::temp_dir().join(format!("taonado-up-{}-mixer", std::process::id())),
    };
    let monitor = match plan.monitor_listen {
        None => None,
        Some(listen) => {
            let service = start_monitor(plan, &network, listen, monitor_db.clone()).await?;
            Some(service)
        }
    };
    let relayer_db = match &plan.devnet.state_dir {
        Some(dir) => dir.join("relayer.db"),
        None => std::env::temp_dir().join(format!("taonado-up-{}-relayer.db", std::process::id())),
    };
    let relayer = match plan.relayer_listen {
        None => None,
        Some(listen) => {
            let mut relayer_plan = taonado_relayer::RelayerPlan::new(
                network.name.clone(),
                record.clone(),
                listen,
                relayer_db.clone(),
            );
            relayer_plan.verifying_keys = vec![plan.verifying_key.clone()];
            let reader = taonado_client::connect(&network, &plan.config).await?;
            let signer = dev_account_signer(RELAYER_DEV_ACCOUNT)?;
            let relayer = taonado_relayer::Relayer::start(relayer_plan, reader, signer).await?;
            observer.relayer_listening(relayer.url(), relayer.address());
            Some(relayer)
        }
    };
    observer.listening(monitor.as_ref().map(MonitorService::dashboard_url));
    let (relayer_stop_tx, relayer_stop_rx) = watch::channel(false);
    let relaying = async move {
        match relayer {
            Some(relayer) => relayer.run(relayer_stop_rx).await.map(Some),
            None => Ok(None),
        }
    };
    let (monitor_stop_tx, monitor_stop_rx) = watch::channel(false);
    let monitoring = async move {
        match monitor {
            Some(service) => service.run(monitor_stop_rx).await.map(Some),
            None => Ok(None),
        }
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let start_block = handle.block_number();
    let stopper = wait_for_stop(plan, handle, &provider, shutdown, start_block);
    let simulating = async {
        let simulation = match &plan.simulation {
            None => {
                stopper.await;
                None
            }
            Some(config) => {
                observer.simulating(config);
                // The mixer's caches and the simulation's throwaway notes live with the
                // chain's state, or for a throwaway chain in a folder removed at the stop.
                let mut config = config.clone();
                config.mixer = Some(taonado_ops::MixerTraffic {
                    amount: StackPlan::MIXER_POOL.to_owned(),
                    interval_blocks: plan.weights_interval.max(1),
                    work_dir: mixer_dir.clone(),
                });
                let wallets = |key| taonado_client::with_signer(&provider, key);
                let simulation = taonado_ops::run_simulation(
                    &provider, funder, &wallets, &record, config, stop_rx, observer,
                );
                tokio::pin!(simulation);
                // The simulation ends when the stop flag flips; it may also end on its own
                // (an error), in which case the stop condition no longer matters.
                let report = tokio::select! {
                    report = &mut simulation => report,
                    () = stopper => {
                        let _ = stop_tx.send(true);
                        simulation.await
                    }
                };
                Some(report?)
            }
        };
        Ok::<_, StackError>(simulation)
    };
    let simulating = async {
        let result = simulating.await;
        let _ = monitor_stop_tx.send(true);
        let _ = relayer_stop_tx.send(true);
        result
    };
    let (simulation, monitor, relayer) = tokio::join!(simulating, monitoring, relaying);
    if plan.devnet.state_dir.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = monitor_db.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_dir_all(&mixer_dir);
        for suffix in ["", "-wal", "-shm"] {
            let mut path = relayer_db.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
    let simulation = simulation?;
    let monitor = monitor?;
    let relayer = relayer?;
    Ok(StackReport {
        devnet,
        record,
        record_path,
        simulation,
        monitor,
        relayer,
        blocks: BlockSpan {
            start: start_block,
            end: handle.block_number(),
        },
    })
}

/// The monitor's plan for `network`: the protocol as its deployment in `deployments_dir`
/// says (watched from its first recorded block), default tuning, no block limit and no
/// extra host names. `taonado monitor` and `taonado up` both start from this.
pub fn monitor_plan(
    network: &NetworkConfig,
    deployments_dir: &Path,
    db: PathBuf,
    listen: SocketAddr,
    file: taonado_monitor::MonitorFile,
    notifiers: Vec<std::sync::Arc<dyn taonado_monitor::Notifier>>,
) -> Result<MonitorPlan> {
    let deployment = network.deployment(deployments_dir)?;
    Ok(MonitorPlan {
        network: network.name.clone(),
        chain_id: network.chain_id,
        netuid: network.netuid,
        rpc_url: network.rpc_url.clone(),
        // Where the protocol deployed its own WTAO, the index starts at that deployment.
        contracts: deployment.watched(network.wtao_owned),
        start_block: deployment.first_block().unwrap_or(0),
        db,
        listen,
        file,
        notifiers,
        exit_after_blocks: None,
        tuning: MonitorTuning::default(),
        allowed_hosts: Vec::new(),
    })
}

/// The monitor over the just-deployed protocol, with the config file of the working
/// directory (`./monitor.toml`) if there is one.
async fn start_monitor(
    plan: &StackPlan,
    network: &NetworkConfig,
    listen: SocketAddr,
    db: PathBuf,
) -> Result<MonitorService> {
    let file = taonado_monitor::files::load_file(None)?;
    let notifiers = taonado_monitor::files::notifiers(&file, &|name| std::env::var(name).ok())?;
    let provider: DynProvider = taonado_client::connect(network, &plan.config).await?;
    let monitor_plan = monitor_plan(network, &plan.deployments_dir, db, listen, file, notifiers)?;
    Ok(MonitorService::start(monitor_plan, provider).await?)
}

/// Resolves on the first stop condition: the shutdown flag, the time or block limit, or
/// the devnet stopping by itself.
async fn wait_for_stop(
    plan: &StackPlan,
    handle: &DevnetHandle,
    provider: &DynProvider,
    mut shutdown: watch::Receiver<bool>,
    start_block: u64,
) {
    let deadline = async {
        match plan.exit_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    let blocks = async {
        let Some(n) = plan.exit_after_blocks else {
            return std::future::pending().await;
        };
        // Watched on a task of its own: the simulation proves withdrawals on its task's
        // thread, and a watcher polled beside it would only see the head after the proof.
        // Checked far more often than a block is made (250 ms with --fast).
        let target = start_block.saturating_add(n);
        let provider = provider.clone();
        let watcher = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(LIMIT_POLL);
            loop {
                ticks.tick().await;
                match provider.get_block_number().await {
                    Ok(head) if head >= target => break,
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "reading the head for the block limit"),
                }
            }
            // The chain makes no block after this one: a simulation step still running (a
            // mixer proof takes many blocks' time) is abandoned instead of carried past it.
            freeze(&provider).await;
        });
        if let Err(e) = watcher.await {
            tracing::warn!(error = %e, "the block-limit watcher stopped");
        }
        tracing::info!(
            blocks = n,
            block = handle.block_number(),
            "block limit reached, stopping"
        );
    };
    let requested = async {
        if shutdown.wait_for(|s| *s).await.is_err() {
            // Nobody can ask any more: only the other conditions stop the stack.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = requested => {}
        () = deadline => tracing::info!("time limit reached, stopping"),
        () = blocks => {}
        () = handle.stopped() => tracing::warn!("the devnet stopped by itself"),
    }
}

/// How often the block limit is checked.
const LIMIT_POLL: Duration = Duration::from_millis(10);

/// Stops the devnet making blocks: neither on its timer nor for each transaction.
async fn freeze(provider: &DynProvider) {
    for (method, arg) in [
        ("evm_setAutomine", serde_json::json!([false])),
        ("evm_setIntervalMining", serde_json::json!([0])),
    ] {
        if let Err(e) = taonado_ops::subnet::dev_rpc(provider, method, arg).await {
            tracing::warn!(method, error = %e, "could not stop the devnet making blocks");
        }
    }
}

/// Without a state directory the chain starts empty, so a record from an earlier run
/// points at nothing: start the record afresh.
fn remove_stale_record(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "fresh chain: replacing the previous local deployment record");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StackError::StaleRecord {
            path: path.to_path_buf(),
            source,
        }),
    }
}
