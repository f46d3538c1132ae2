//! `taonado backup create|verify|list|restore|prune|schedule` and `taonado recover`: dated,
//! sealed backup sets of the config, the deployment records, the database (SQLite's online
//! backup API) and the contract state at a pinned block; restores that check the whole set
//! first and never replace a file without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use taonado_backup::restore::{RestorePlan, RestoreReport};
use taonado_backup::set::{
    self, CreatePlan, CreateReport, Expected, PruneReport, Schedule, SetSummary, VerifyReport,
};
use taonado_backup::state::{LocalRestoreReport, StateSource};
use taonado_backup::{BackupError, Component};
use taonado_config::{Config, NetworkConfig};
use taonado_deployment::unix_now;
use taonado_security::keybackup;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::Spinner;

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Make a dated backup set: config, deployment records, the database (consistent while
    /// the monitor writes) and the contract state at a pinned block, with a sealed manifest.
    Create(CreateArgs),
    /// Check a set: seal, SHA-256 of every file, network, schema, and the database restored
    /// into a temporary file (integrity_check, row counts, sentinel rows). Records the time.
    Verify(VerifyArgs),
    /// The sets in a folder, with when each last verified.
    List(ListArgs),
    /// Restore a set (all of it or one component); checks it whole first, and replaces an
    /// existing file only with --force, keeping a copy made just before.
    Restore(RestoreArgs),
    /// Keep the newest set of each of the last N days and M weeks, remove the others (--yes).
    Prune(PruneArgs),
    /// Print a systemd service and timer, and a cron line, that back up daily.
    Schedule(ScheduleArgs),
    /// Keep a replica set (`replica-<network>`) of the database fresh until SIGINT/SIGTERM:
    /// a sealed online copy every --interval in which the database changed.
    Continuous(ContinuousArgs),
}

#[derive(Args)]
pub struct ContinuousArgs {
    #[command(flatten)]
    pub dir: SetsDir,
    #[command(flatten)]
    pub sources: Sources,
    /// Time between rounds: 10s, 1m…
    #[arg(long, value_name = "AGE", default_value = "10s")]
    pub interval: String,
    /// Ship the database's WAL frames into `<dest>/wal-<network>` instead of copying the
    /// whole database each round: a round costs only what was written since the last one,
    /// so a short --interval (1s) is cheap. `backup restore --path <dest>/wal-<network>`
    /// rebuilds the database from it.
    #[arg(long)]
    pub wal: bool,
}

#[derive(Args)]
pub struct SetsDir {
    /// Folder of the dated backup sets.
    #[arg(long, value_name = "DIR", default_value = "backups")]
    pub dest: PathBuf,
}

#[derive(Args)]
pub struct Sources {
    /// SQLite database [default: data/<network>.db]. A PostgreSQL `--db` is refused: back
    /// it up with pg_dump or pg_basebackup.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

impl Sources {
    fn db_path(&self, network: &str) -> Result<PathBuf, CliError> {
        let path = self
            .db
            .clone()
            .unwrap_or_else(|| taonado_store::default_path(network));
        taonado_backup::sqlite::sqlite_file(&path)?;
        Ok(path)
    }
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub dir: SetsDir,
    #[command(flatten)]
    pub sources: Sources,
    /// Leave the contract state out (no node is needed then).
    #[arg(long)]
    pub no_contract_state: bool,
    /// Also take the keystores and note files, age-encrypted (as `keys backup`): to a
    /// passphrase ($TAONADO_BACKUP_PASSPHRASE, else a prompt) or to --recipient.
    #[arg(long)]
    pub include_keys: bool,
    /// `--include-keys`: encrypt to this age post-quantum recipient (`age1pq1…`).
    #[arg(long, value_name = "AGE1PQ1…", requires = "include_keys")]
    pub recipient: Option<String>,
}

/// Unlocking a set's keys (`keys/keys.age`).
#[derive(Args)]
pub struct KeysUnlock {
    /// An age identity file for keys backed up with --recipient [else the passphrase:
    /// $TAONADO_BACKUP_PASSPHRASE, else a prompt].
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

impl KeysUnlock {
    /// Whether the keys can be decrypted without asking (identity, environment, terminal).
    fn available(&self) -> bool {
        use std::io::IsTerminal as _;
        self.identity.is_some()
            || std::env::var_os("TAONADO_BACKUP_PASSPHRASE").is_some_and(|v| !v.is_empty())
            || std::io::stdin().is_terminal()
    }

    /// Decrypts the set's keys in memory and checks them against their manifest.
    fn open(&self, set: &Path) -> Result<(keybackup::Opened, keybackup::VerifyReport), CliError> {
        let file = set.join(taonado_backup::manifest::KEYS_FILE);
        let encrypted = std::fs::read(&file).map_err(|e| {
            CliError::failed(anyhow::Error::new(e).context(format!("reading {}", file.display())))
        })?;
        let unlock = crate::cmd::keys::key_backup_unlock(self.identity.as_deref())?;
        keybackup::open(&file, &encrypted, &unlock).map_err(crate::cmd::keys::key_backup_error)
    }
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The set to verify.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "latest",
        conflicts_with = "latest"
    )]
    pub path: Option<PathBuf>,
    /// Verify the newest set of the network in --dest.
    #[arg(long)]
    pub latest: bool,
    #[command(flatten)]
    pub dir: SetsDir,
    #[command(flatten)]
    pub keys: KeysUnlock,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub dir: SetsDir,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ComponentArg {
    Database,
    Config,
    ContractState,
    /// Keystores and notes (sets made with --include-keys), into the home folder.
    Keys,
}

impl From<ComponentArg> for Component {
    fn from(c: ComponentArg) -> Self {
        match c {
            ComponentArg::Database => Component::Database,
            ComponentArg::Config => Component::Config,
            ComponentArg::ContractState => Component::ContractState,
            ComponentArg::Keys => Component::Keys,
        }
    }
}

#[derive(Args)]
pub struct RestoreTargets {
    /// Only this component [default: database and config; contract state needs --to].
    #[arg(long, value_enum)]
    pub component: Option<ComponentArg>,
    #[command(flatten)]
    pub sources: Sources,
    /// Show what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace files that exist (the live database included), keeping a copy of each. Stop
    /// the monitor and the indexer first.
    #[arg(long)]
    pub force: bool,
    /// Restore the contract state into this dev chain network (e.g. `local`), to rehearse
    /// an outage on a copy: pools get the same roots, the weights are compared.
    #[arg(long, value_name = "NETWORK")]
    pub to: Option<String>,
    /// The --to chain's endpoint [default: the network's].
    #[arg(long, value_name = "URL", requires = "to")]
    pub to_rpc_url: Option<url::Url>,
    /// Deployment records of the --to chain [default: --deployments-dir].
    #[arg(long, value_name = "DIR", requires = "to")]
    pub to_deployments_dir: Option<PathBuf>,
    #[command(flatten)]
    pub keys: KeysUnlock,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The set to restore.
    #[arg(long, value_name = "DIR")]
    pub path: PathBuf,
    #[command(flatten)]
    pub targets: RestoreTargets,
}

#[derive(Args)]
pub struct RecoverArgs {
    /// The day of the set to recover from (YYYY-MM-DD or YYYYMMDD; its newest set), or `latest`.
    #[arg(long, value_name = "DATE")]
    pub backup_date: String,
    #[command(flatten)]
    pub dir: SetsDir,
    #[command(flatten)]
    pub targets: RestoreTargets,
}

#[derive(Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub dir: SetsDir,
    /// Days whose newest set is kept.
    #[arg(long, value_name = "N")]
    pub keep_daily: usize,
    /// Weeks (Monday to Sunday, UTC) whose newest set is kept.
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub keep_weekly: usize,
    /// Remove the sets (otherwise only list what would go).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub dir: SetsDir,
    /// Time of day (UTC) of the daily backup, HH:MM.
    #[arg(long, value_name = "HH:MM", default_value = "02:30")]
    pub at: String,
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub keep_daily: usize,
    #[arg(long, value_name = "M", default_value_t = 4)]
    pub keep_weekly: usize,
}

impl BackupCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Create(args) => args.run(context).await,
            Self::Verify(args) => args.run(context),
            Self::List(args) => args.run(context),
            Self::Restore(args) => {
                let path = args.path.clone();
                args.targets.run(context, Chosen::Set(path)).await
            }
            Self::Prune(args) => args.run(context),
            Self::Schedule(args) => args.run(context),
            Self::Continuous(args) => args.run(context).await,
        }
    }
}

fn expected(network: &NetworkConfig) -> Expected {
    Expected {
        network: network.name.clone(),
        chain_id: network.chain_id,
    }
}

impl Report for CreateReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "backup set {} ({} files, {} bytes) of {} (chain {})",
            self.path.display(),
            self.manifest.files.len(),
            self.bytes,
            self.manifest.network,
            self.manifest.chain_id
        )?;
        if let Some(db) = &self.manifest.database {
            writeln!(
                out,
                "database: schema {}, checkpoint {}, {} events",
                db.schema_version,
                db.checkpoint
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |c| c.0.to_string()),
                db.row_counts.get("events").copied().unwrap_or(0)
            )?;
        }
        if let Some(p) = &self.manifest.pinned_block {
            writeln!(out, "contract state at block {} ({})", p.number, p.hash)?;
        }
        Ok(())
    }
}

impl CreateArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let db = self.sources.db_path(&network.name)?;
        let database = if db.exists() {
            Some(db)
        } else if self.sources.db.is_some() {
            return Err(BackupError::NotFound { path: db }.into());
        } else {
            None
        };
        let record = taonado_deployment::record_path(&self.sources.deployments_dir, &network.name);
        let plan = CreatePlan {
            dest: self.dir.dest.clone(),
            network: network.name.clone(),
            chain_id: network.chain_id,
            config_file: config.source().map(Path::to_path_buf),
            deployment_records: record.exists().then_some(record).into_iter().collect(),
            database,
            now: unix_now(),
            keys: match self.include_keys {
                false => None,
                true => {
                    let lock = crate::cmd::keys::key_backup_lock(self.recipient.as_deref())?;
                    let sources = crate::cmd::keys::key_sources(
                        context,
                        &crate::args::DeploymentsArgs {
                            deployments_dir: self.sources.deployments_dir.clone(),
                        },
                    )?;
                    let (encrypted, _) = keybackup::create(&sources, &lock, unix_now())
                        .map_err(crate::cmd::keys::key_backup_error)?;
                    Some(encrypted)
                }
            },
        };
        let spinner = Spinner::for_context(context);
        spinner.set_message("backing up");
        let report = if self.no_contract_state {
            set::create(&plan, None).await?
        } else {
            let deployment = network.deployment(&self.sources.deployments_dir)?;
            if deployment.addresses.is_empty() {
                set::create(&plan, None).await?
            } else {
                let provider = taonado_client::connect(&network, &config).await?;
                spinner.set_message("reading contract state and copying the database");
                set::create(
                    &plan,
                    Some(StateSource {
                        provider: &provider,
                        addresses: &deployment.addresses,
                        netuid: network.netuid,
                        from_block: deployment.first_block().unwrap_or(0),
                    }),
                )
                .await?
            }
        };
        drop(spinner);
        context.output.report(&report)
    }
}

impl Report for VerifyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{}: ok ({} files, database {}, schema {}) of {} (chain {}), verified at {}",
            self.path.display(),
            self.files_checked,
            if self.database_checked {
                "restored and checked"
            } else {
                "absent"
            },
            self.schema_version,
            self.network,
            self.chain_id,
            taonado_types::iso8601_utc(self.verified_at)
        )
    }
}

impl VerifyArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, false)?;
        let path = match self.path {
            Some(p) => p,
            None => set::find(&self.dir.dest, &network.name, "latest")?.path,
        };
        let spinner = Spinner::for_context(context);
        spinner.set_message("verifying");
        let report = set::verify(&path, &expected(&network), unix_now())?;
        drop(spinner);
        let has_keys = path.join(taonado_backup::manifest::KEYS_FILE).is_file();
        let (keys, keys_note) = match (has_keys, self.keys.available()) {
            (false, _) => (None, None),
            (true, true) => (Some(self.keys.open(&path)?.1), None),
            (true, false) => (
                None,
                Some("keys: hash checked, not decrypted (set TAONADO_BACKUP_PASSPHRASE or pass --identity to check every address)".to_owned()),
            ),
        };
        let outcome = VerifyOutcome {
            set: report,
            keys,
            keys_note,
        };
        if outcome.keys.as_ref().is_some_and(|k| !k.passed()) {
            return Err(context.output.report_failed(
                &outcome,
                anyhow::anyhow!("the keys in {} do not match their manifest", path.display()),
            ));
        }
        context.output.report(&outcome)
    }
}

#[derive(Serialize)]
struct VerifyOutcome {
    #[serde(flatten)]
    set: VerifyReport,
    /// The set's keys, decrypted in memory and checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<keybackup::VerifyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys_note: Option<String>,
}

impl Report for VerifyOutcome {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.set.render(out)?;
        if let Some(k) = &self.keys {
            writeln!(
                out,
                "keys: {} keystore(s), {} note file(s), {}",
                k.keystores,
                k.notes,
                if k.passed() {
                    "every hash and address checked"
                } else {
                    "MISMATCH"
                }
            )?;
        }
        if let Some(note) = &self.keys_note {
            writeln!(out, "{note}")?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ListReport {
    dest: PathBuf,
    sets: Vec<SetSummary>,
}

impl Report for ListReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.sets.is_empty() {
            return writeln!(out, "no backup sets in {}", self.dest.display());
        }
        let mut table = crate::output::table(&[
            "set",
            "network",
            "created",
            "bytes",
            "components",
            "schema",
            "block",
            "last verified",
        ]);
        for s in &self.sets {
            let when =
                |t: Option<u64>| t.map_or_else(|| "never".to_owned(), taonado_types::iso8601_utc);
            table.add_row(vec![
                s.name.clone(),
                s.network.clone(),
                if s.problem.is_some() {
                    "-".to_owned()
                } else {
                    taonado_types::iso8601_utc(s.created_at)
                },
                s.bytes.to_string(),
                s.problem.clone().unwrap_or_else(|| {
                    s.components
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                }),
                s.schema_version.to_string(),
                s.pinned_block
                    .map_or_else(|| "-".to_owned(), |b| b.to_string()),
                when(s.last_verified_at),
            ]);
        }
        writeln!(out, "{table}")
    }
}

impl ListArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let sets = set::list(&self.dir.dest)?;
        context.output.report(&ListReport {
            dest: self.dir.dest,
            sets,
        })
    }
}

/// Which set a restore uses.
pub enum Chosen {
    Set(PathBuf),
    Date { dest: PathBuf, date: String },
}

#[derive(Serialize)]
struct RestoreOutcome {
    #[serde(flatten)]
    files: RestoreReport,
    contract_state: Option<LocalRestoreReport>,
    /// Keystores and notes written into the home folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<keybackup::RestoreReport>,
}

impl Report for RestoreOutcome {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.files;
        writeln!(
            out,
            "{}restore of {} (network {}, taken {})",
            if r.dry_run { "dry run: " } else { "" },
            r.set.display(),
            r.network,
            taonado_types::iso8601_utc(r.created_at)
        )?;
        for f in &r.files {
            writeln!(
                out,
                "  {} {} -> {}{}",
                f.component.as_str(),
                f.from,
                f.to.display(),
                match (&f.kept, f.replaced) {
                    (Some(k), _) => format!(" (previous kept as {})", k.display()),
                    (None, true) => " (replaces the existing file)".to_owned(),
                    (None, false) => String::new(),
                }
            )?;
        }
        if let Some(c) = r.checkpoint {
            writeln!(
                out,
                "database checkpoint {c}; the monitor re-indexes from there"
            )?;
        }
        if let Some(k) = &self.keys {
            writeln!(
                out,
                "keys: restored {} file(s) into {} ({} already present)",
                k.restored.len(),
                k.home.display(),
                k.present.len()
            )?;
        }
        if let Some(s) = &self.contract_state {
            writeln!(
                out,
                "contract state: {} slots written at block {}; roots equal: {}; weights equal: {}; EvmValidator settings equal: {}",
                s.slots_written,
                s.block,
                s.roots_equal
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.weights_equal
                    .map_or_else(|| "-".to_owned(), |w| w.to_string()),
                s.validator_equal
                    .map_or_else(|| "-".to_owned(), |w| w.to_string())
            )?;
        }
        Ok(())
    }
}

impl RestoreTargets {
    async fn run(self, context: &Context, chosen: Chosen) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, false)?;
        let component = self.component.map(Component::from);
        if component == Some(Component::ContractState) && self.to.is_none() {
            return Err(CliError::usage(anyhow::anyhow!(
                "contract state lives on the chain; restore it into a dev chain with --to local"
            )));
        }
        let plan = RestorePlan {
            set: PathBuf::new(),
            expected: expected(&network),
            component,
            database: self.sources.db_path(&network.name)?,
            config_file: config
                .source()
                .map_or_else(|| PathBuf::from("taonado.toml"), Path::to_path_buf),
            deployments_dir: self.sources.deployments_dir.clone(),
            dry_run: self.dry_run,
            force: self.force,
            now: unix_now(),
        };
        let set_path = match &chosen {
            Chosen::Set(set) => set.clone(),
            Chosen::Date { dest, date } => set::find(dest, &network.name, date)?.path,
        };
        // Keys are decrypted and checked before anything is written.
        let has_keys = set_path.join(taonado_backup::manifest::KEYS_FILE).is_file();
        let keys = match component {
            Some(Component::Keys) if !has_keys => {
                return Err(CliError::usage(anyhow::anyhow!(
                    "{} holds no keys (it was made without --include-keys)",
                    set_path.display()
                )));
            }
            None | Some(Component::Keys) if has_keys => {
                set::check(&set_path, &plan.expected)?;
                let (opened, checked) = self.keys.open(&set_path)?;
                if !checked.passed() {
                    return Err(CliError::failed(anyhow::anyhow!(
                        "the keys in {} do not match their manifest; nothing was restored",
                        set_path.display()
                    )));
                }
                // A key file in the way stops the restore before its first write.
                let home = crate::cmd::keys::keys_home(context)?;
                keybackup::check_restore(&home, &opened.manifest, &opened.files)
                    .map_err(crate::cmd::keys::key_backup_error)?;
                Some(opened)
            }
            _ => None,
        };
        let files = taonado_backup::restore::restore(&RestorePlan {
            set: set_path.clone(),
            ..plan
        })?;
        let keys = match keys {
            Some(opened) if !self.dry_run => {
                let home = crate::cmd::keys::keys_home(context)?;
                Some(
                    keybackup::restore_files(
                        &home,
                        &opened.manifest,
                        &opened.files,
                        &set_path.join(taonado_backup::manifest::KEYS_FILE),
                    )
                    .map_err(crate::cmd::keys::key_backup_error)?,
                )
            }
            _ => None,
        };
        let wants_state = matches!(component, None | Some(Component::ContractState));
        let contract_state = match &self.to {
            Some(to) if wants_state && !self.dry_run => {
                Some(self.restore_state(context, &config, to, &files.set).await?)
            }
            _ => None,
        };
        context.output.report(&RestoreOutcome {
            files,
            contract_state,
            keys,
        })
    }

    async fn restore_state(
        &self,
        context: &Context,
        config: &Config,
        to: &str,
        set_path: &Path,
    ) -> Result<LocalRestoreReport, CliError> {
        let mut target = config.network(to)?;
        if let Some(url) = &self.to_rpc_url {
            target.rpc_url = url.clone();
        }
        if !target.dev_chain {
            return Err(BackupError::NotDevChain {
                chain_id: target.chain_id,
            }
            .into());
        }
        let state = set::read_contract_state(set_path)?;
        let dir = self
            .to_deployments_dir
            .as_deref()
            .unwrap_or(&self.sources.deployments_dir);
        let deployment = target.deployment(dir)?;
        let provider = taonado_client::connect(&target, config).await?;
        let spinner = Spinner::for_context(context);
        spinner.set_message("writing contract state into the dev chain");
        let report =
            taonado_backup::state::restore_local(&provider, &deployment.addresses, &state).await?;
        drop(spinner);
        Ok(report)
    }
}

impl RecoverArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let chosen = Chosen::Date {
            dest: self.dir.dest.clone(),
            date: self.backup_date.clone(),
        };
        self.targets.run(context, chosen).await
    }
}

impl Report for PruneReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for k in &self.kept {
            writeln!(out, "keep   {k}")?;
        }
        for r in &self.removed {
            writeln!(
                out,
                "{} {r}",
                if self.applied { "removed" } else { "remove" }
            )?;
        }
        if !self.applied && !self.removed.is_empty() {
            writeln!(
                out,
                "nothing removed; pass --yes to remove {} sets",
                self.removed.len()
            )?;
        }
        Ok(())
    }
}

impl PruneArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network_name(&config);
        let report = set::prune(
            &self.dir.dest,
            &network,
            self.keep_daily,
            self.keep_weekly,
            self.yes,
        )?;
        context.output.report(&report)
    }
}

impl Report for Schedule {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "# /etc/systemd/system/taonado-backup.service\n{}",
            self.service
        )?;
        writeln!(
            out,
            "# /etc/systemd/system/taonado-backup.timer\n{}",
            self.timer
        )?;
        writeln!(out, "# or, in crontab -e:\n{}", self.cron)
    }
}

impl ScheduleArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network_name(&config);
        let (hour, minute) = self
            .at
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60)
            .ok_or_else(|| CliError::usage(anyhow::anyhow!("--at {}: use HH:MM (UTC)", self.at)))?;
        let binary = std::env::current_exe()
            .map_or_else(|_| "taonado".to_owned(), |p| p.display().to_string());
        let cwd = std::env::current_dir()?;
        let dest = if self.dir.dest.is_absolute() {
            self.dir.dest.clone()
        } else {
            cwd.join(&self.dir.dest)
        };
        let schedule = set::schedule(&set::SchedulePlan {
            binary,
            working_dir: cwd,
            dest,
            network,
            hour,
            minute,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
        });
        context.output.report(&schedule)
    }
}

impl Report for taonado_backup::replica::ReplicaReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "replica {}: {} copies, last at {} (checkpoint {})",
            self.path.display(),
            self.copies,
            self.last_copied_at
                .map_or_else(|| "-".to_owned(), taonado_types::iso8601_utc),
            self.last_checkpoint
                .map_or_else(|| "-".to_owned(), |c| c.to_string())
        )
    }
}

impl ContinuousArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, false)?;
        let seconds = taonado_backup::maint::parse_age(&self.interval)
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                CliError::usage(anyhow::anyhow!(
                    "--interval {}: use a positive number with s, m or h (10s)",
                    self.interval
                ))
            })?;
        if self.wal {
            let plan = taonado_backup::wal::WalPlan {
                database: self.sources.db_path(&network.name)?,
                replica: self.dir.dest.join(format!("wal-{}", network.name)),
                interval: std::time::Duration::from_secs(seconds),
            };
            let shutdown = crate::shutdown::StopSignals::install()?.into_watch();
            let fresh = tokio::sync::watch::channel(None).0;
            let report = taonado_backup::wal::run(plan, shutdown, &fresh).await?;
            return context.output.report(&WalOutput(report));
        }
        let record = taonado_deployment::record_path(&self.sources.deployments_dir, &network.name);
        let plan = taonado_backup::replica::ReplicaPlan {
            create: CreatePlan {
                dest: self.dir.dest.clone(),
                network: network.name.clone(),
                chain_id: network.chain_id,
                config_file: config.source().map(Path::to_path_buf),
                deployment_records: record.exists().then_some(record).into_iter().collect(),
                database: Some(self.sources.db_path(&network.name)?),
                now: unix_now(),
                keys: None,
            },
            interval: std::time::Duration::from_secs(seconds),
        };
        let shutdown = crate::shutdown::StopSignals::install()?.into_watch();
        let report = taonado_backup::replica::run(plan, shutdown).await?;
        context.output.report(&report)
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct WalOutput(taonado_backup::wal::WalReport);

impl Report for WalOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "shipped {} WAL frame(s), {} byte(s), in {} round(s) and {} generation(s) to {}",
            r.frames,
            r.bytes,
            r.rounds,
            r.generations,
            r.replica.display()
        )
    }
}
