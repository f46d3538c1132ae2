//! `taonado drill`: a recovery rehearsal with measured RTO and RPO. It builds a throwaway
//! environment (an in-process dev chain, the protocol deployed, WTAO activity, a running
//! monitor writing its database), backs it up while the monitor writes, adds activity the
//! backup lacks, breaks the environment as the scenario says, recovers from the latest
//! backup, and checks that the monitor resumes with no gap and no duplicate: the events
//! table equals `eth_getLogs` of the protocol's addresses.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use taonado_config::{Config, NetworkConfig};
use taonado_monitor::{MonitorFile, MonitorPlan, MonitorService, MonitorTuning};
use tokio::sync::watch;

use crate::error::{BackupError, Result};
use crate::manifest::Component;
use crate::restore::{RestorePlan, restore};
use crate::set::{self, CreatePlan, Expected};
use crate::state::StateSource;

/// The operations manual's targets.
pub const RTO_TARGET_SECS: f64 = 4.0 * 3600.0;
pub const RPO_TARGET_SECS: f64 = 3600.0;
/// How long the drill waits for the monitor to reach a block before it calls it failed.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Database, config and deployment records lost: everything comes back from the backup.
    CompleteFailure,
    /// The database lost: it comes back from the backup, the monitor re-indexes the rest.
    DatabaseLoss,
    /// The node goes away and comes back (its state kept); the monitor waits and resumes.
    RpcOutage,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CompleteFailure => "complete-failure",
            Self::DatabaseLoss => "database-loss",
            Self::RpcOutage => "rpc-outage",
        }
    }
}

/// What the drill does.
#[derive(Clone, Debug)]
pub struct DrillPlan {
    pub scenario: Scenario,
    /// Where the throwaway environment lives (a temporary folder when `None`; kept when given).
    pub work_dir: Option<PathBuf>,
    /// WTAO wraps before the backup, and after it (what the backup lacks).
    pub activity_before: u32,
    pub activity_after: u32,
    /// Run `backup continuous` beside the monitor and recover from its replica (killed with
    /// the environment) instead of the dated set.
    pub continuous: bool,
    /// With `continuous`: ship WAL frames (`backup continuous --wal`) instead of copying
    /// the database each round.
    pub wal: bool,
}

/// Hears the drill's steps (the CLI shows them).
pub trait DrillObserver: Send + Sync {
    fn step(&self, what: &str);
}

/// An observer that ignores everything.
pub struct Quiet;

impl DrillObserver for Quiet {
    fn step(&self, _what: &str) {}
}

/// The drill's result.
#[derive(Clone, Debug, Serialize)]
pub struct DrillReport {
    pub scenario: Scenario,
    pub chain_id: u64,
    pub backup_set: PathBuf,
    /// The checkpoint the backup's database holds.
    pub backup_checkpoint: Option<u64>,
    /// The chain's head when the environment broke.
    pub failure_head: u64,
    /// Seconds from the failure until the monitor had indexed `failure_head` again (for an
    /// RPC outage: the first block after the node came back).
    pub rto_seconds: f64,
    /// Blocks the restored state lacked at the failure (re-indexed from the chain).
    pub rpo_blocks: u64,
    /// Seconds of monitor-only state (alerts, deliveries) the backup lacked at the failure.
    pub rpo_seconds: f64,
    pub rto_target_seconds: f64,
    pub rpo_target_seconds: f64,
    /// The recovered checkpoint.
    pub recovered_checkpoint: u64,
    /// Events the chain has but the table lacks (gaps), and rows the chain lacks.
    pub missing_events: u64,
    pub extra_events: u64,
    /// Rows of the events table; equal to the chain's logs when nothing is missing or extra.
    pub events: u64,
    pub chain_logs: u64,
    /// The backup verified (hashes, integrity_check, counts, sentinel) before the restore.
    pub backup_verified: bool,
    /// The set the recovery restored (the replica with `continuous`).
    pub recovered_from: Option<PathBuf>,
    pub continuous: bool,
    /// The continuous replica shipped WAL frames (`backup continuous --wal`).
    pub wal: bool,
    /// The machine's 1-minute load average when the drill ended (Linux), since the
    /// measured times depend on it.
    pub load_average: Option<f64>,
    pub passed: bool,
    pub steps: Vec<String>,
}

impl DrillReport {
    /// The markdown report.
    pub fn markdown(&self) -> String {
        let mark = |ok: bool| if ok { "met" } else { "MISSED" };
        format!(
            "# Recovery drill: {scenario}\n\n\
             | measure | value | target | |\n|---|---|---|---|\n\
             | RTO (failure → monitor caught up) | {rto:.2} s | {rto_t:.0} s | {rto_ok} |\n\
             | RPO (state the backup lacked) | {rpo_b} blocks, {rpo_s:.2} s | {rpo_t:.0} s | {rpo_ok} |\n\n\
             - chain {chain}, backup `{set}` (checkpoint {bc}); load average {load}\n\
             - failure at head {head}; recovered checkpoint {rc}\n\
             - events table {events} rows, eth_getLogs {logs} logs: {missing} missing, {extra} extra\n\
             - recovered from {from}{mode}, verified before restore: {verified}\n\
             - result: **{result}**\n\n## Steps\n\n{steps}\n",
            scenario = self.scenario.as_str(),
            rto = self.rto_seconds,
            rto_t = self.rto_target_seconds,
            rto_ok = mark(self.rto_seconds <= self.rto_target_seconds),
            rpo_b = self.rpo_blocks,
            rpo_s = self.rpo_seconds,
            rpo_t = self.rpo_target_seconds,
            rpo_ok = mark(self.rpo_seconds <= self.rpo_target_seconds),
            chain = self.chain_id,
            load = self
                .load_average
                .map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}")),
            set = self.backup_set.display(),
            bc = self
                .backup_checkpoint
                .map_or_else(|| "-".to_owned(), |b| b.to_string()),
            head = self.failure_head,
            rc = self.recovered_checkpoint,
            events = self.events,
            logs = self.chain_logs,
            missing = self.missing_events,
            extra = self.extra_events,
            verified = self.backup_verified,
            from = self.recovered_from.as_ref().map_or_else(
                || "the chain itself".to_owned(),
                |p| format!("`{}`", p.display())
            ),
            mode = match (self.continuous, self.wal) {
                (true, true) => " (WAL frames shipped continuously)",
                (true, false) => " (continuous replica)",
                _ => "",
            },
            result = if self.passed { "passed" } else { "FAILED" },
            steps = self
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {s}", i + 1))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }
}

struct Env {
    network: NetworkConfig,
    config: Config,
    provider: DynProvider,
    deployments: PathBuf,
    db: PathBuf,
    backups: PathBuf,
    config_file: PathBuf,
}

fn drill_err(e: impl std::fmt::Display) -> BackupError {
    BackupError::Drill(e.to_string())
}

/// Runs the drill. The environment is torn down before it returns.
pub async fn run(plan: &DrillPlan, observer: &dyn DrillObserver) -> Result<DrillReport> {
    let temp;
    let root = match &plan.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(BackupError::io("creating", dir))?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("taonado-drill-")
                .tempdir()
                .map_err(BackupError::io(
                    "creating a temporary folder in",
                    std::env::temp_dir(),
                ))?;
            temp.path().to_path_buf()
        }
    };
    let mut devnet_config = taonado_devnet::DevnetConfig::test();
    devnet_config.state_dir = Some(root.join("chain"));
    let handle = taonado_devnet::spawn(devnet_config.clone())
        .await
        .map_err(drill_err)?;
    run_on(plan, observer, &root, handle, devnet_config).await
}

async fn run_on(
    plan: &DrillPlan,
    observer: &dyn DrillObserver,
    root: &Path,
    handle: taonado_devnet::DevnetHandle,
    devnet_config: taonado_devnet::DevnetConfig,
) -> Result<DrillReport> {
    let mut steps = Vec::new();
    let step = |s: String, steps: &mut Vec<String>| {
        observer.step(&s);
        steps.push(s);
    };
    let env = setup(root, &handle).await?;
    step(
        format!(
            "dev chain {} at {}, protocol deployed",
            env.network.chain_id,
            handle.rpc_url()
        ),
        &mut steps,
    );
    activity(&env, plan.activity_before).await?;
    let (mut stop, mut monitor) = start_monitor(&env).await?;
    let head = env.provider.get_block_number().await.map_err(drill_err)?;
    wait_for(&env.db, head).await?;
    step(
        format!(
            "{} WTAO wraps; the monitor indexed up to block {head}",
            plan.activity_before
        ),
        &mut steps,
    );

    // With `continuous`, the replicator runs from here until the failure kills it.
    let (fresh_tx, fresh) = watch::channel(None);
    let wal_replica = env.backups.join(format!("wal-{}", env.network.name));
    let replicator = plan.continuous.then(|| {
        let (keep, rx) = watch::channel(false);
        if plan.wal {
            let shipping = crate::wal::WalPlan {
                database: env.db.clone(),
                replica: wal_replica.clone(),
                interval: Duration::from_millis(100),
            };
            return tokio::spawn(async move {
                let _keep = keep;
                crate::wal::run(shipping, rx, &fresh_tx).await.map(|_| ())
            });
        }
        let replica = crate::replica::ReplicaPlan {
            create: backup_plan(&env),
            interval: Duration::from_millis(100),
        };
        tokio::spawn(async move {
            let _keep = keep;
            crate::replica::run_observed(replica, rx, &fresh_tx)
                .await
                .map(|_| ())
        })
    });
    // The backup is taken while the chain moves and the monitor writes.
    let (writing, backup) = tokio::join!(activity(&env, 2), backup(&env));
    writing?;
    let backup = backup?;
    let backup_time = Instant::now();
    let backup_checkpoint = backup
        .manifest
        .database
        .as_ref()
        .and_then(|d| d.checkpoint.as_ref())
        .map(|c| c.0);
    step(
        format!(
            "backup {} taken while the monitor wrote (database checkpoint {})",
            backup.path.display(),
            backup_checkpoint.map_or_else(|| "-".into(), |b| b.to_string())
        ),
        &mut steps,
    );
    activity(&env, plan.activity_after).await?;
    let failure_head = env.provider.get_block_number().await.map_err(drill_err)?;
    wait_for(&env.db, failure_head).await?;
    step(
        format!("{} more wraps, head {failure_head}", plan.activity_after),
        &mut steps,
    );

    // Break.
    let failure = Instant::now();
    let failure_wall = std::time::SystemTime::now();
    let mut rpo_seconds = failure.duration_since(backup_time).as_secs_f64();
    if let Some(task) = replicator {
        // The replicator dies with the environment, mid-round or not.
        task.abort();
        let _ = task.await;
    }
    let mut recovered_from = None;
    let mut handle = Some(handle);
    let mut backup_verified = false;
    let mut rpo_blocks = 0;
    let mut target = failure_head;
    match plan.scenario {
        Scenario::CompleteFailure | Scenario::DatabaseLoss => {
            let _ = stop.send(true);
            monitor.await.map_err(drill_err)?.map_err(drill_err)?;
            remove_db(&env.db)?;
            if plan.scenario == Scenario::CompleteFailure {
                std::fs::remove_dir_all(&env.deployments)
                    .map_err(BackupError::io("removing", &env.deployments))?;
                std::fs::remove_file(&env.config_file)
                    .map_err(BackupError::io("removing", &env.config_file))?;
            }
            step(
                format!(
                    "broke it: monitor stopped, {} removed",
                    if plan.scenario == Scenario::CompleteFailure {
                        "database, config and deployment records"
                    } else {
                        "database"
                    }
                ),
                &mut steps,
            );
            // Recover: the latest set, checked whole, then restored.
            let expected = Expected {
                network: env.network.name.clone(),
                chain_id: env.network.chain_id,
            };
            let (source, source_name) = if plan.continuous {
                let path = if plan.wal {
                    wal_replica.clone()
                } else {
                    crate::replica::replica_path(&env.backups, &env.network.name)
                };
                // What the replica lacked: the writes since its last round.
                let fresh_at = (*fresh.borrow()).unwrap_or(failure_wall);
                rpo_seconds = failure_wall
                    .duration_since(fresh_at)
                    .unwrap_or_default()
                    .as_secs_f64();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                (path, name.unwrap_or_default())
            } else {
                let latest = set::find(&env.backups, &env.network.name, "latest")?;
                (latest.path, latest.name)
            };
            // A WAL replica has no seal: its restore replays only frames whose checksums
            // verify, and runs integrity_check on the result.
            if !(plan.continuous && plan.wal) {
                set::verify(&source, &expected, taonado_deployment::unix_now())?;
            }
            backup_verified = true;
            let report = restore(&RestorePlan {
                set: source.clone(),
                expected,
                component: (plan.scenario == Scenario::DatabaseLoss).then_some(Component::Database),
                database: env.db.clone(),
                config_file: env.config_file.clone(),
                deployments_dir: env.deployments.clone(),
                dry_run: false,
                force: false,
                now: taonado_deployment::unix_now(),
            })?;
            rpo_blocks = failure_head.saturating_sub(report.checkpoint.unwrap_or(0));
            step(
                format!("restored {} files from {}", report.files.len(), source_name),
                &mut steps,
            );
            recovered_from = Some(source);
            (stop, monitor) = start_monitor(&env).await?;
        }
        Scenario::RpcOutage => {
            // The monitor keeps running; the node stops (its state flushed) and comes back
            // on the same port; blocks made after it must reach the monitor's database.
            let live = handle.take().ok_or_else(|| drill_err("no chain"))?;
            let port = live.local_addr().port();
            live.shutdown().await.map_err(drill_err)?;
            step(
                "broke it: the node is down, the monitor keeps running".into(),
                &mut steps,
            );
            let mut config = devnet_config.clone();
            config.port = port;
            handle = Some(taonado_devnet::spawn(config).await.map_err(drill_err)?);
            activity(&env, 1).await?;
            target = env.provider.get_block_number().await.map_err(drill_err)?;
            step(
                format!("node back on port {port}, head {target}"),
                &mut steps,
            );
        }
    }
    wait_for(&env.db, target).await?;
    let rto_seconds = failure.elapsed().as_secs_f64();
    let recovered_checkpoint = checkpoint(&env.db)?.unwrap_or(0);
    step(
        format!("the monitor caught up with block {target}"),
        &mut steps,
    );
    let _ = stop.send(true);
    monitor.await.map_err(drill_err)?.map_err(drill_err)?;

    // No gap, no duplicate: the events table against eth_getLogs up to the checkpoint.
    let deployment = env.network.deployment(&env.deployments)?;
    let contracts = deployment.watched(env.network.wtao_owned);
    let filter = Filter::new()
        .address(contracts.addresses())
        .from_block(0)
        .to_block(recovered_checkpoint);
    let logs: BTreeSet<(u64, u64, B256)> = env
        .provider
        .get_logs(&filter)
        .await
        .map_err(drill_err)?
        .into_iter()
        .map(|l| {
            (
                l.block_number.unwrap_or_default(),
                l.log_index.unwrap_or_default(),
                l.transaction_hash.unwrap_or_default(),
            )
        })
        .collect();
    let rows = stored_events(&env.db)?;
    let stored: BTreeSet<(u64, u64, B256)> = rows.iter().copied().collect();
    let duplicates = (rows.len() - stored.len()) as u64;
    let missing_events = logs.difference(&stored).count() as u64;
    let extra_events = stored.difference(&logs).count() as u64 + duplicates;
    step(
        format!(
            "events table {} rows vs {} logs: {missing_events} missing, {extra_events} extra",
            rows.len(),
            logs.len()
        ),
        &mut steps,
    );
    if let Some(h) = handle {
        h.shutdown().await.map_err(drill_err)?;
    }
    let passed = missing_events == 0
        && extra_events == 0
        && recovered_checkpoint >= target
        && rto_seconds <= RTO_TARGET_SECS
        && rpo_seconds <= RPO_TARGET_SECS;
    Ok(DrillReport {
        scenario: plan.scenario,
        chain_id: env.network.chain_id,
        backup_set: backup.path,
        backup_checkpoint,
        failure_head,
        rto_seconds,
        rpo_blocks,
        rpo_seconds: if plan.scenario == Scenario::RpcOutage {
            0.0
        } else {
            rpo_seconds
        },
        rto_target_seconds: RTO_TARGET_SECS,
        rpo_target_seconds: RPO_TARGET_SECS,
        recovered_checkpoint,
        missing_events,
        extra_events,
        events: rows.len() as u64,
        chain_logs: logs.len() as u64,
        backup_verified,
        recovered_from,
        continuous: plan.continuous,
        wal: plan.continuous && plan.wal,
        load_average: load_average(),
        passed,
        steps,
    })
}

async fn setup(root: &Path, handle: &taonado_devnet::DevnetHandle) -> Result<Env> {
    let config = Config::builtin();
    let mut network = config.network("local").map_err(drill_err)?;
    network.rpc_url = handle.rpc_url().parse().map_err(drill_err)?;
    network.chain_id = handle.chain_id();
    let account = taonado_devnet::DEV_ACCOUNTS
        .first()
        .ok_or_else(|| drill_err("no dev account"))?;
    let signer = PrivateKeySigner::from_bytes(&account.private_key).map_err(drill_err)?;
    let deployer = signer.address();
    let provider = taonado_client::connect_with_signer(&network, &config, signer)
        .await
        .map_err(drill_err)?;
    let deployments = root.join("deployments");
    let record_path = taonado_deployment::record_path(&deployments, &network.name);
    let kind = taonado_ops::deploy::plan::node_kind(&provider).await;
    let protocol = taonado_ops::deploy::plan::ProtocolSettings {
        deposit_goal: U256::from(1000u64) * taonado_types::WEI_PER_TAO,
        set_weights_bounty: U256::ZERO,
        set_weights_interval: 10,
        validator_funding: None,
    };
    let key = taonado_ops::deploy::plan::load_verifying_key(None, &network).map_err(drill_err)?;
    let deploy_plan =
        taonado_ops::deploy::plan::build_plan(&network, kind, &protocol, key, record_path)
            .map_err(drill_err)?;
    taonado_ops::deploy(&provider, deployer, &deploy_plan, &taonado_ops::NoProgress)
        .await
        .map_err(drill_err)?;
    // The operator's config file: what a complete failure loses with the rest.
    let config_file = root.join("taonado.toml");
    taonado_deployment::fs::write_atomic(
        &config_file,
        format!(
            "default_network = \"local\"\n# drill environment, chain at {}\n",
            handle.rpc_url()
        )
        .as_bytes(),
    )?;
    Ok(Env {
        db: root.join("data").join("local.db"),
        backups: root.join("backups"),
        network,
        config,
        provider,
        deployments,
        config_file,
    })
}

/// `n` WTAO wraps by the deployer (one block each on an automining dev chain).
async fn activity(env: &Env, n: u32) -> Result<()> {
    let deployment = env.network.deployment(&env.deployments)?;
    let wtao = deployment
        .addresses
        .wtao
        .ok_or_else(|| drill_err("the deployment has no WTAO"))?;
    let from = taonado_devnet::DEV_ACCOUNTS
        .first()
        .map(|a| a.address)
        .ok_or_else(|| drill_err("no dev account"))?;
    for _ in 0..n {
        taonado_ops::wtao::wrap(
            &env.provider,
            wtao,
            from,
            U256::from(10u64).pow(U256::from(17u64)),
        )
        .await
        .map_err(drill_err)?;
    }
    Ok(())
}

/// What a backup of the environment copies: config, record and database.
fn backup_plan(env: &Env) -> CreatePlan {
    CreatePlan {
        dest: env.backups.clone(),
        network: env.network.name.clone(),
        chain_id: env.network.chain_id,
        config_file: Some(env.config_file.clone()),
        deployment_records: vec![taonado_deployment::record_path(
            &env.deployments,
            &env.network.name,
        )],
        database: Some(env.db.clone()),
        now: taonado_deployment::unix_now(),
        keys: None,
    }
}

async fn backup(env: &Env) -> Result<set::CreateReport> {
    let deployment = env.network.deployment(&env.deployments)?;
    set::create(
        &backup_plan(env),
        Some(StateSource {
            provider: &env.provider,
            addresses: &deployment.addresses,
            netuid: env.network.netuid,
            from_block: deployment.first_block().unwrap_or(0),
        }),
    )
    .await
}

type Running = tokio::task::JoinHandle<taonado_monitor::Result<taonado_monitor::MonitorReport>>;

async fn start_monitor(env: &Env) -> Result<(watch::Sender<bool>, Running)> {
    let deployment = env.network.deployment(&env.deployments)?;
    let plan = MonitorPlan {
        network: env.network.name.clone(),
        chain_id: env.network.chain_id,
        netuid: env.network.netuid,
        rpc_url: env.network.rpc_url.clone(),
        contracts: deployment.watched(env.network.wtao_owned),
        start_block: deployment.first_block().unwrap_or(0),
        db: env.db.clone(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        file: MonitorFile::parse("").map_err(drill_err)?,
        notifiers: Vec::new(),
        exit_after_blocks: None,
        tuning: MonitorTuning::default(),
        allowed_hosts: Vec::new(),
    };
    let provider = taonado_client::connect(&env.network, &env.config)
        .await
        .map_err(drill_err)?;
    let service = MonitorService::start(plan, provider)
        .await
        .map_err(drill_err)?;
    let (tx, rx) = watch::channel(false);
    Ok((tx, tokio::spawn(service.run(rx))))
}

fn checkpoint(db: &Path) -> Result<Option<u64>> {
    if !db.is_file() {
        return Ok(None);
    }
    let conn = crate::sqlite::open_existing(db, false)?;
    Ok(crate::sqlite::facts(&conn, db)?.checkpoint.map(|c| c.0))
}

/// Polls the database until its checkpoint reaches `block`.
async fn wait_for(db: &Path, block: u64) -> Result<()> {
    let start = Instant::now();
    loop {
        if checkpoint(db).ok().flatten().is_some_and(|c| c >= block) {
            return Ok(());
        }
        if start.elapsed() > CATCH_UP_LIMIT {
            return Err(drill_err(format!(
                "the monitor did not index block {block} within {} s",
                CATCH_UP_LIMIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The 1-minute load average from `/proc/loadavg`, where there is one.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn remove_db(db: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p).map_err(BackupError::io("removing", &p))?;
        }
    }
    Ok(())
}

/// The events table (block, log index, transaction hash), through the store's query.
fn stored_events(db: &Path) -> Result<Vec<(u64, u64, B256)>> {
    let store = taonado_store::Store::open(db)?;
    Ok(store
        .events(&taonado_store::EventFilter::default())?
        .into_iter()
        .map(|e| (e.block_number, e.log_index, e.tx_hash))
        .collect())
}
