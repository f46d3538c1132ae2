//! `taonado up`: dev chain + deployment + live simulation + monitor in one process, until
//! Ctrl-C, SIGTERM or an `--exit-after*` limit. The composition is `taonado_stack::run`;
//! this command maps the flags onto its plan and prints what it hears.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use taonado_monitor::MonitorReport;
use taonado_ops::simulation::WeightsPath;
use taonado_ops::{
    DeployProgress, DeploymentRecord, SimulationConfig, SimulationEvent, SimulationObserver,
    SimulationReport,
};
use taonado_stack::{DevnetFacts, StackObserver, StackPlan};

use taonado_ops::deploy::plan::load_verifying_key;

use crate::args::ChainArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Output, Report};
use crate::progress::{DeployBar, StepCounts};
use crate::reports::{DeployReport, DevAccountRow, ReadyReport};

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
    /// Groth16 verification key of the withdraw circuit [default: the local dev key built into the binary].
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
    /// Address of the monitor's dashboard and /metrics [default: 127.0.0.1 on a free port,
    /// printed].
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        hide_default_value = true
    )]
    pub monitor_listen: std::net::SocketAddr,
    /// Do not run the monitor (indexer, alerts, dashboard).
    #[arg(long)]
    pub no_monitor: bool,
    /// The relayer's API address (`mixer withdraw --relayer-url`) [default: 127.0.0.1, any
    /// free port].
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        hide_default_value = true
    )]
    pub relayer_listen: std::net::SocketAddr,
    /// Do not run the relayer.
    #[arg(long)]
    pub no_relayer: bool,
    // Flattened last: its help heading applies to the arguments after it.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// What `taonado up --json` prints as soon as every endpoint listens (its first envelope
/// line; the [`UpReport`] follows after the stop).
#[derive(Serialize)]
pub struct UpReady {
    /// Always `ready`, so a reader tells this line from the final report.
    pub stage: &'static str,
    pub devnet: ReadyReport,
    pub deployment: serde_json::Value,
    pub dashboard_url: Option<String>,
    pub metrics_url: Option<String>,
    /// `mixer withdraw --relayer-url` takes it.
    pub relayer_url: Option<String>,
}

/// What `taonado up` reports after the stop (under `--json`, the second envelope line).
#[derive(Serialize)]
pub struct UpReport {
    pub devnet: ReadyReport,
    pub deployment: DeployReport,
    pub events: Vec<SimulationEvent>,
    pub simulation: Option<SimulationReport>,
    pub monitor: Option<MonitorReport>,
    /// The chain's head at the start of the simulation and at the stop.
    pub blocks: taonado_stack::BlockSpan,
}

impl Report for UpReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match &self.simulation {
            Some(s) => writeln!(
                out,
                "stopped: {} miners, {} weight settings ({} failed), {} epochs, {} mixer deposits and {} withdrawals, blocks {}..{}, bounty paid {} TAO",
                s.miners.len(),
                s.weight_sets,
                s.weight_failures,
                s.epochs,
                s.mixer_deposits,
                s.mixer_withdrawals,
                s.first_block,
                s.last_block,
                taonado_types::format_tao(s.bounty_paid_wei)
            ),
            None => writeln!(out, "stopped"),
        }
    }
}

/// Shows the deployment's progress, prints the stack's news and events as they come (human
/// mode) and keeps the events for the JSON report. A closed stdout must not stop the stack;
/// the final report notices it.
struct UpLog {
    output: Output,
    bar: DeployBar,
    counts: Mutex<StepCounts>,
    events: Mutex<Vec<SimulationEvent>>,
    /// The chain and the deployment, kept from `deployed` for the ready line.
    deployed: Mutex<Option<(ReadyReport, serde_json::Value)>>,
    /// The relayer's URL, kept from `relayer_listening` for the ready line.
    relayer_url: Mutex<Option<String>>,
}

impl SimulationObserver for UpLog {
    fn event(&self, event: &SimulationEvent) {
        tracing::debug!(?event, "simulation event");
        let _ = self.output.line(&describe(event));
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event.clone());
    }
}

impl StackObserver for UpLog {
    fn deploy_progress(&self) -> &dyn DeployProgress {
        &self.bar
    }

    fn deployed(&self, devnet: &DevnetFacts, record: &DeploymentRecord, record_path: &Path) {
        let counts = self.bar.finish();
        *self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = counts;
        let ready = ready_report(devnet);
        let deployment = DeployReport::new(record, record_path.to_path_buf(), counts);
        if self.output.is_json() {
            // Serialized now: the ready line is printed once the dashboard listens too.
            if let Ok(value) = serde_json::to_value(&deployment) {
                *self
                    .deployed
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((ready, value));
            }
            return;
        }
        let mut text = Vec::new();
        let rendered = (|| -> std::io::Result<()> {
            ready.render_accounts(&mut text)?;
            deployment.render_contracts(&mut text)?;
            writeln!(text, "Chain id: {}", ready.chain_id)?;
            write!(text, "Listening on {}", ready.rpc_url)
        })();
        if rendered.is_ok() {
            let _ = self.output.line(&String::from_utf8_lossy(&text));
        }
    }

    fn relayer_listening(&self, url: &str, address: alloy::primitives::Address) {
        let _ = self
            .output
            .line(&format!("Relayer: {url} (relays as {address})"));
        *self
            .relayer_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(url.to_owned());
    }

    fn listening(&self, dashboard_url: Option<&str>) {
        if let Some(url) = dashboard_url {
            let _ = self.output.line(&format!("Dashboard: {url}"));
        }
        let relayer_url = self
            .relayer_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let deployed = self
            .deployed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some((devnet, deployment)) = deployed {
            let ready = UpReady {
                stage: "ready",
                devnet,
                deployment,
                dashboard_url: dashboard_url.map(str::to_owned),
                metrics_url: dashboard_url.map(metrics_url),
                relayer_url,
            };
            let _ = self.output.json_line(&ready);
        }
    }

    fn simulating(&self, config: &SimulationConfig) {
        let _ = self.output.line(&format!(
            "simulation: {} miners, weights every {} blocks; Ctrl-C stops",
            config.miners, config.weights_interval_blocks
        ));
    }
}

/// `/metrics` next to the dashboard (`http://host:port/` or without the slash).
fn metrics_url(dashboard_url: &str) -> String {
    format!("{}/metrics", dashboard_url.trim_end_matches('/'))
}

fn ready_report(devnet: &DevnetFacts) -> ReadyReport {
    ReadyReport {
        rpc_url: devnet.rpc_url.clone(),
        chain_id: devnet.chain_id,
        accounts: devnet
            .accounts
            .iter()
            .map(|&(address, private_key)| DevAccountRow {
                address,
                private_key,
            })
            .collect(),
        state_dir: devnet.state_dir.clone(),
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
        SimulationEvent::MixerDeposit {
            pool,
            leaf_index,
            tx,
            block,
        } => format!(
            "mixer: deposited into the {pool} WTAO pool at block {block} (leaf {leaf_index}, tx {tx})"
        ),
        SimulationEvent::MixerWithdrawal {
            pool,
            recipient,
            tx,
            block,
        } => format!(
            "mixer: withdrew from the {pool} WTAO pool to {recipient} at block {block} (tx {tx})"
        ),
        SimulationEvent::MixerFailed { block, reason } => {
            format!("mixer step failed at block {block}: {reason}")
        }
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
        let network = config.network("local")?;
        let verifying_key = load_verifying_key(self.verifying_key.as_deref(), &network)?;
        let plan = StackPlan {
            config,
            network,
            devnet: self.chain.devnet_config(),
            verifying_key,
            deployments_dir: self.deployments_dir,
            weights_interval: self.weights_interval,
            simulation: (!self.no_sim).then(|| {
                StackPlan::simulation(self.miners, self.weights_interval, self.chain.fast)
            }),
            monitor_listen: (!self.no_monitor).then_some(self.monitor_listen),
            relayer_listen: (!self.no_relayer).then_some(self.relayer_listen),
            exit_after: self.exit_after.map(Duration::from_secs),
            exit_after_blocks: self.exit_after_blocks,
        };
        let log = UpLog {
            output: context.output.clone(),
            bar: DeployBar::new(!context.output.is_json() && !context.global.quiet),
            counts: Mutex::default(),
            events: Mutex::new(Vec::new()),
            deployed: Mutex::new(None),
            relayer_url: Mutex::new(None),
        };
        // A stop requested while deploying takes effect right after the deployment.
        let shutdown = crate::shutdown::StopSignals::install()?.into_watch();
        let _registration = context.register_run("up", Some("local"));
        let stack = taonado_stack::run(plan, shutdown, &log).await?;
        let counts = log
            .counts
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let report = UpReport {
            devnet: ready_report(&stack.devnet),
            deployment: DeployReport::new(&stack.record, stack.record_path, counts),
            events: log
                .events
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            simulation: stack.simulation,
            monitor: stack.monitor,
            blocks: stack.blocks,
        };
        context.output.report(&report)
    }
}
