//! `taonado up`: dev chain + deployment + live simulation in one process, until Ctrl-C,
//! SIGTERM or an `--exit-after*` limit.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use alloy::primitives::U256;
use clap::Args;
use serde::Serialize;
use taonado_devnet::DevnetHandle;
use taonado_ops::simulation::WeightsPath;
use taonado_ops::{SimulationConfig, SimulationEvent, SimulationObserver, SimulationReport};
use tokio::sync::watch;

use super::deploy::{
    DeployReport, ProtocolArgs, build_plan, dev_account_signer, load_verifying_key, node_kind,
    run_deploy,
};
use super::devnet::{ChainArgs, ReadyReport};
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Output, Report};

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Simulated miners.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub miners: usize,
    /// Deploy only; no simulation.
    #[arg(long)]
    pub no_sim: bool,
    /// Blocks between the validator's weight settings (also the EvmValidator's public
    /// setWeights interval on this chain).
    #[arg(long, value_name = "BLOCKS", default_value_t = 10)]
    pub weights_interval: u64,
    /// Groth16 verification key of the withdraw circuit [default: keys/local/withdraw.vk.json].
    #[arg(long, value_name = "FILE")]
    pub verifying_key: Option<PathBuf>,
    /// Directory of deployment records; `local.json` there is (re)written.
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Stop cleanly once N blocks have been mined after the deployment.
    #[arg(long, value_name = "N")]
    pub exit_after_blocks: Option<u64>,
    /// Stop cleanly after SECS seconds of simulation.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,
    /// Address of the monitor's dashboard and /metrics [default: a free port, printed].
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub monitor_listen: std::net::SocketAddr,
    /// Do not run the monitor (indexer, alerts, dashboard).
    #[arg(long)]
    pub no_monitor: bool,
    // Flattened last: its help heading applies to the arguments after it.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// What `taonado up` reports (the JSON envelope comes once, after the stop).
#[derive(Serialize)]
pub struct UpReport {
    pub devnet: ReadyReport,
    pub deployment: DeployReport,
    pub events: Vec<SimulationEvent>,
    pub simulation: Option<SimulationReport>,
    pub monitor: Option<super::monitor::MonitorReport>,
}

impl Report for UpReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match &self.simulation {
            Some(s) => writeln!(
                out,
                "stopped: {} miners, {} weight settings ({} failed), {} epochs, blocks {}..{}, bounty paid {} TAO",
                s.miners.len(),
                s.weight_sets,
                s.weight_failures,
                s.epochs,
                s.first_block,
                s.last_block,
                taonado_types::format_tao(s.bounty_paid_wei)
            ),
            None => writeln!(out, "stopped"),
        }
    }
}

/// Prints events as they come (human mode) and keeps them for the JSON report.
struct EventLog {
    output: Output,
    events: Mutex<Vec<SimulationEvent>>,
}

impl SimulationObserver for EventLog {
    fn event(&self, event: &SimulationEvent) {
        tracing::debug!(?event, "simulation event");
        // A closed stdout must not stop the simulation; the final report notices it.
        let _ = self.output.line(&describe(event));
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event.clone());
    }
}

fn describe(event: &SimulationEvent) -> String {
    match event {
        SimulationEvent::MinerJoined {
            address,
            uid,
            wrapped_wei,
            ..
        } => format!(
            "miner joined: uid {uid} {address}, wrapped {} TAO and associated",
            taonado_types::format_tao(*wrapped_wei)
        ),
        SimulationEvent::WeightsSet {
            tx,
            block,
            path,
            weights,
        } => {
            let by = match path {
                WeightsPath::Operator => "by the owner (operatorSetWeights)".to_owned(),
                WeightsPath::Public {
                    caller,
                    refunded_wei,
                } => format!(
                    "by {caller} (setWeights, refunded {} TAO)",
                    taonado_types::format_tao(*refunded_wei)
                ),
            };
            format!("weights set at block {block} {by}: {weights:?} tx {tx}")
        }
        SimulationEvent::WeightsFailed { block, reason } => {
            format!("weights not set at block {block}: {reason}")
        }
        SimulationEvent::Epoch {
            block,
            incentives,
            emissions,
        } => format!(
            "epoch at block {block}: incentives {incentives:?}, emissions (rao) {emissions:?}"
        ),
    }
}

impl UpArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        if self.miners == 0 && !self.no_sim {
            return Err(CliError::usage(anyhow::anyhow!(
                "--miners must be at least 1 (or pass --no-sim)"
            )));
        }
        if context.global.rpc_url.is_some() {
            return Err(CliError::usage(anyhow::anyhow!(
                "`taonado up` runs its own local chain; --rpc-url does not apply (use --host and --port)"
            )));
        }
        if let Some(name) = context.global.network.as_deref().filter(|n| *n != "local") {
            tracing::warn!("`taonado up` always runs the local network; ignoring network {name}");
        }
        let config = context.config()?;
        let mut network = config.network("local")?;
        let verifying_key = load_verifying_key(self.verifying_key.as_deref(), &network)?;
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        if self.chain.state_dir.is_none() {
            remove_stale_record(&record_path)?;
        }

        let mut devnet_config = self.chain.devnet_config();
        // The validator sets weights every --weights-interval blocks; subtensor's default
        // rate limit (100 blocks) would refuse most of them on a demo chain.
        let hyperparameters = &mut devnet_config.subtensor.hyperparameters;
        hyperparameters.weights_set_rate_limit = hyperparameters
            .weights_set_rate_limit
            .min(self.weights_interval);
        // A stop requested while deploying takes effect right after the deployment.
        let mut signals = crate::shutdown::StopSignals::install()?;
        let handle = taonado_devnet::spawn(devnet_config).await?;
        let result = async {
            network.rpc_url = handle.rpc_url().parse().map_err(|e| {
                CliError::failed(anyhow::anyhow!("devnet url {}: {e}", handle.rpc_url()))
            })?;
            network.chain_id = handle.chain_id();
            let funder = dev_account_signer(0)?;
            let provider =
                taonado_client::connect_with_signer(&network, &config, funder.clone()).await?;
            let kind = node_kind(&provider).await;
            let protocol = ProtocolArgs {
                deposit_goal: U256::from(1000u64) * taonado_types::WEI_PER_TAO,
                verifying_key: None,
                set_weights_bounty: U256::from(1_000_000_000_000_000u64),
                set_weights_interval: self.weights_interval,
                validator_funding: None,
            };
            let plan = build_plan(&network, kind, &protocol, verifying_key, record_path)?;
            let chain = (&config, &network);
            self.run_on(
                context,
                chain,
                &handle,
                &mut signals,
                &provider,
                funder,
                &plan,
            )
            .await
        }
        .await;
        let stopped = handle.shutdown().await;
        let report = result?;
        stopped?;
        context.output.report(&report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_on(
        &self,
        context: &Context,
        (config, network): (&taonado_config::Config, &taonado_config::NetworkConfig),
        handle: &DevnetHandle,
        signals: &mut crate::shutdown::StopSignals,
        provider: &alloy::providers::DynProvider,
        funder: alloy::signers::local::PrivateKeySigner,
        plan: &taonado_ops::DeployPlan,
    ) -> Result<UpReport, CliError> {
        let ready = ReadyReport::new(handle, self.chain.state_dir.clone());
        let deployer = funder.address();
        let (record, counts) = run_deploy(context, provider, deployer, plan).await?;
        let deployment = DeployReport::new(&record, plan.record_path.clone(), counts);

        if !context.output.is_json() {
            let mut text = Vec::new();
            ready.render_accounts(&mut text)?;
            deployment.render_contracts(&mut text)?;
            writeln!(text, "Chain id: {}", ready.chain_id)?;
            write!(text, "Listening on {}", ready.rpc_url)?;
            context.output.line(&String::from_utf8_lossy(&text))?;
        }

        // The monitor follows the chain from the deployment on; its database lives with the
        // chain's state, or for a throwaway chain in a file removed at the stop.
        let monitor_db = match &self.chain.state_dir {
            Some(dir) => dir.join("monitor.db"),
            None => std::env::temp_dir().join(format!("taonado-up-{}.db", std::process::id())),
        };
        let monitor = if self.no_monitor {
            None
        } else {
            let files = super::monitor::MonitorFiles {
                db: Some(monitor_db.clone()),
                alerts_config: None,
                deployments_dir: self.deployments_dir.clone(),
            };
            let service =
                super::monitor::MonitorService::start(config, network, &files, self.monitor_listen)
                    .await?;
            context
                .output
                .line(&format!("Dashboard: {}", service.dashboard_url))?;
            Some(service)
        };
        let (monitor_stop_tx, mut monitor_stop_rx) = watch::channel(false);
        let monitoring = async move {
            match monitor {
                Some(service) => service
                    .run(
                        async move {
                            let _ = monitor_stop_rx.wait_for(|s| *s).await;
                        },
                        None,
                    )
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };

        let (stop_tx, stop_rx) = watch::channel(false);
        let start_block = handle.block_number();
        let stopper = self.wait_for_stop(handle, signals, start_block);
        let log = EventLog {
            output: context.output.clone(),
            events: Mutex::new(Vec::new()),
        };
        let simulating = async {
            let simulation = if self.no_sim {
                stopper.await;
                None
            } else {
                context.output.line(&format!(
                    "simulation: {} miners, weights every {} blocks; Ctrl-C stops",
                    self.miners, self.weights_interval
                ))?;
                let sim_config = SimulationConfig {
                    miners: self.miners,
                    weights_interval_blocks: self.weights_interval,
                    tick: if self.chain.fast {
                        Duration::from_millis(250)
                    } else {
                        Duration::from_secs(1)
                    },
                };
                let wallets = |key| taonado_client::with_signer(provider, key);
                let simulation = taonado_ops::run_simulation(
                    provider, funder, &wallets, &record, sim_config, stop_rx, &log,
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
            };
            Ok::<_, CliError>(simulation)
        };
        let simulating = async {
            let result = simulating.await;
            let _ = monitor_stop_tx.send(true);
            result
        };
        let (simulation, monitor) = tokio::join!(simulating, monitoring);
        if self.chain.state_dir.is_none() {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = monitor_db.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
        let simulation = simulation?;
        let monitor = monitor?;
        Ok(UpReport {
            devnet: ready,
            deployment,
            events: log
                .events
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            simulation,
            monitor,
        })
    }

    /// Resolves on the first stop condition: a signal, `--exit-after`, `--exit-after-blocks`
    /// or the devnet stopping by itself.
    async fn wait_for_stop(
        &self,
        handle: &DevnetHandle,
        signals: &mut crate::shutdown::StopSignals,
        start_block: u64,
    ) {
        let deadline = async {
            match self.exit_after {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                None => std::future::pending().await,
            }
        };
        let blocks = async {
            let Some(n) = self.exit_after_blocks else {
                return std::future::pending().await;
            };
            // The chain is in this process: watching its head costs no RPC.
            let mut ticks = tokio::time::interval(Duration::from_millis(50));
            while handle.block_number() < start_block.saturating_add(n) {
                ticks.tick().await;
            }
            tracing::info!(blocks = n, "block limit reached, stopping");
        };
        tokio::select! {
            () = signals.recv() => {}
            () = deadline => tracing::info!("time limit reached, stopping"),
            () = blocks => {}
            () = handle.stopped() => tracing::warn!("the devnet stopped by itself"),
        }
    }
}

/// Without `--state-dir` the chain starts empty, so a record from an earlier run points at
/// nothing: start the record afresh.
fn remove_stale_record(path: &std::path::Path) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "fresh chain: replacing the previous local deployment record");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::failed(
            anyhow::Error::new(e).context(format!("removing stale record {}", path.display())),
        )),
    }
}
