//! Backup sets: create, verify, list, prune, find by date, and the schedule that runs them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{BackupError, Result};
use crate::manifest::{
    self, CONFIG_FILE, CONTRACT_STATE_FILE, Component, DATABASE_FILE, DEPLOYMENTS_DIR, FileEntry,
    Manifest, PinnedBlock, Verified,
};
use crate::sqlite;
use crate::state::{self, ContractState, StateSource};

/// The version written into manifests.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `backup create` copies.
#[derive(Clone, Debug)]
pub struct CreatePlan {
    /// The folder that holds the dated sets.
    pub dest: PathBuf,
    pub network: String,
    pub chain_id: u64,
    /// `taonado.toml`, if one is in use.
    pub config_file: Option<PathBuf>,
    /// Deployment records to copy (`deployments/<network>.json`…), those that exist.
    pub deployment_records: Vec<PathBuf>,
    /// The database, if it exists.
    pub database: Option<PathBuf>,
    /// Unix seconds of the backup (names the set).
    pub now: u64,
    /// Keystores and notes as an age-encrypted key backup (`--include-keys`), written as
    /// `keys/keys.age` (0600). Encrypted by the caller: the set never holds a plain key.
    pub keys: Option<Vec<u8>>,
}

/// What `backup create` made.
#[derive(Clone, Debug, Serialize)]
pub struct CreateReport {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub bytes: u64,
}

/// `taonado-<network>-<YYYYMMDDTHHMMSSZ>`.
pub fn set_name(network: &str, unix: u64) -> String {
    format!("taonado-{network}-{}", compact_stamp(unix))
}

/// `20261207T115800Z`.
pub fn compact_stamp(unix: u64) -> String {
    taonado_types::iso8601_utc(unix).replace(['-', ':'], "")
}

/// Makes a dated set under `plan.dest`: the database through SQLite's online backup API
/// (consistent while the monitor writes), the config and deployment records, the contract
/// state at a pinned block when `state` is given, and the sealed manifest. The set appears
/// under its name only once complete (it is built in a hidden folder, then renamed).
pub async fn create(plan: &CreatePlan, state: Option<StateSource<'_>>) -> Result<CreateReport> {
    if let Some(db) = &plan.database {
        sqlite::sqlite_file(db)?;
    }
    std::fs::create_dir_all(&plan.dest).map_err(BackupError::io("creating", &plan.dest))?;
    let mut name = set_name(&plan.network, plan.now);
    let mut n = 1;
    while plan.dest.join(&name).exists() {
        n += 1;
        name = format!("{}-{n}", set_name(&plan.network, plan.now));
    }
    let final_path = plan.dest.join(&name);
    let work = plan.dest.join(format!(".{name}.partial"));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(BackupError::io("removing", &work))?;
    }
    let result = fill(plan, state, &work).await;
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    std::fs::rename(&work, &final_path).map_err(BackupError::io("renaming", &work))?;
    let bytes = manifest.files.iter().map(|f| f.bytes).sum();
    Ok(CreateReport {
        path: final_path,
        manifest,
        bytes,
    })
}

pub(crate) async fn fill(
    plan: &CreatePlan,
    state: Option<StateSource<'_>>,
    work: &Path,
) -> Result<Manifest> {
    let mkdir = |p: &Path| std::fs::create_dir_all(p).map_err(BackupError::io("creating", p));
    // The set holds the operator's data (alerts, delivery payloads): readable by its owner
    // only.
    private_dir(work)?;
    let mut files = Vec::new();
    // A database of another chain is refused before anything is read.
    if let Some(db) = &plan.database {
        let live = sqlite::open_existing(db, false)?;
        if let Some(chain_id) = sqlite::facts(&live, db)?.chain_id
            && chain_id != plan.chain_id
        {
            return Err(BackupError::DatabaseOfOtherChain {
                path: db.clone(),
                chain_id,
                network: plan.network.clone(),
                expected_chain_id: plan.chain_id,
            });
        }
        drop(live);
    }
    // The contract state is read at the head first and the database copied next, so the
    // copy is as recent as it can be.
    let mut pinned = None;
    if let Some(source) = state {
        let contract_state = state::capture(&source).await?;
        pinned = Some(PinnedBlock {
            number: contract_state.block,
            hash: contract_state.block_hash.clone(),
        });
        let path = work.join(CONTRACT_STATE_FILE);
        let json =
            serde_json::to_vec_pretty(&contract_state).map_err(|e| BackupError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            })?;
        taonado_deployment::fs::write_atomic(&path, &json)?;
        files.push(entry(work, CONTRACT_STATE_FILE, Component::ContractState)?);
    }
    let mut database = None;
    if let Some(db) = &plan.database {
        let dst = manifest::join(work, DATABASE_FILE);
        mkdir(dst.parent().unwrap_or(work))?;
        sqlite::online_copy(db, &dst)?;
        let conn = sqlite::open_existing(&dst, false)?;
        database = Some(sqlite::facts(&conn, &dst)?);
        drop(conn);
        files.push(entry(work, DATABASE_FILE, Component::Database)?);
    }
    if let Some(config) = &plan.config_file {
        let dst = manifest::join(work, CONFIG_FILE);
        mkdir(dst.parent().unwrap_or(work))?;
        copy(config, &dst)?;
        files.push(entry(work, CONFIG_FILE, Component::Config)?);
    }
    for record in &plan.deployment_records {
        let Some(file_name) = record.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let rel = format!("{DEPLOYMENTS_DIR}/{file_name}");
        let dst = manifest::join(work, &rel);
        mkdir(dst.parent().unwrap_or(work))?;
        copy(record, &dst)?;
        files.push(entry(work, &rel, Component::Config)?);
    }
    if let Some(keys) = &plan.keys {
        let dst = manifest::join(work, manifest::KEYS_FILE);
        mkdir(dst.parent().unwrap_or(work))?;
        taonado_deployment::fs::write_private(&dst, keys)?;
        files.push(entry(work, manifest::KEYS_FILE, Component::Keys)?);
    }
    let manifest = Manifest {
        format: manifest::FORMAT,
        tool_version: TOOL_VERSION.to_owned(),
        created_at: plan.now,
        network: plan.network.clone(),
        chain_id: plan.chain_id,
        database,
        pinned_block: pinned,
        files,
    };
    manifest::write(work, &manifest)?;
    Ok(manifest)
}

#[cfg(unix)]
fn private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(BackupError::io("creating", path))
}

#[cfg(not(unix))]
fn private_dir(path: &Path) -> Result<()> {
    std::fs::create_dir(path).map_err(BackupError::io("creating", path))
}

fn copy(src: &Path, dst: &Path) -> Result<()> {
    let bytes = std::fs::read(src).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => BackupError::NotFound {
            path: src.to_path_buf(),
        },
        _ => BackupError::Io {
            op: "reading",
            path: src.to_path_buf(),
            source,
        },
    })?;
    taonado_deployment::fs::write_atomic(dst, &bytes)?;
    Ok(())
}

fn entry(set: &Path, rel: &str, component: Component) -> Result<FileEntry> {
    let (sha256, bytes) = manifest::hash_file(&manifest::join(set, rel))?;
    Ok(FileEntry {
        path: rel.to_owned(),
        component,
        bytes,
        sha256,
    })
}

/// The network a set must belong to.
#[derive(Clone, Debug)]
pub struct Expected {
    pub network: String,
    pub chain_id: u64,
}

/// What `backup verify` checked.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub network: String,
    pub chain_id: u64,
    pub created_at: u64,
    pub files_checked: usize,
    /// The database restored into a temporary file passed `integrity_check`, and its row
    /// counts and sentinel rows equal the manifest's.
    pub database_checked: bool,
    pub schema_version: u32,
    pub verified_at: u64,
}

/// Checks a set without changing anything but its `verified.json`: the seal, every file's
/// SHA-256 and size, no file the manifest does not list, the network, the schema version,
/// and the database restored into a temporary file (integrity, row counts, sentinel rows).
pub fn verify(set: &Path, expected: &Expected, now: u64) -> Result<VerifyReport> {
    let manifest = check(set, expected)?;
    manifest::write_verified(
        set,
        &Verified {
            verified_at: now,
            tool_version: TOOL_VERSION.to_owned(),
        },
    )?;
    Ok(VerifyReport {
        path: set.to_path_buf(),
        network: manifest.network.clone(),
        chain_id: manifest.chain_id,
        created_at: manifest.created_at,
        files_checked: manifest.files.len(),
        database_checked: manifest.has(Component::Database),
        schema_version: manifest.schema_version(),
        verified_at: now,
    })
}

/// [`verify`] without recording the time: what restore runs before it writes anything.
pub fn check(set: &Path, expected: &Expected) -> Result<Manifest> {
    let manifest = manifest::read(set)?;
    let manifest_path = set.join(manifest::MANIFEST);
    if manifest.chain_id != expected.chain_id || manifest.network != expected.network {
        return Err(BackupError::OtherNetwork {
            path: manifest_path,
            network: manifest.network,
            chain_id: manifest.chain_id,
            expected: expected.network.clone(),
            expected_chain_id: expected.chain_id,
        });
    }
    let known = taonado_store::migrations::latest_version(taonado_store::MIGRATIONS);
    if manifest.schema_version() > known {
        return Err(BackupError::SchemaTooNew {
            path: manifest_path,
            found: manifest.schema_version(),
            known,
        });
    }
    for file in &manifest.files {
        let path = manifest::join(set, &file.path);
        let (sha256, bytes) = manifest::hash_file(&path)?;
        if sha256 != file.sha256 || bytes != file.bytes {
            return Err(BackupError::HashMismatch { path });
        }
    }
    for present in manifest::files_in(set)? {
        let ours = [manifest::MANIFEST, manifest::SEAL, manifest::VERIFIED];
        if !ours.contains(&present.as_str()) && !manifest.files.iter().any(|f| f.path == present) {
            return Err(BackupError::Unlisted {
                path: manifest::join(set, &present),
            });
        }
    }
    if let Some(recorded) = &manifest.database {
        check_database(set, recorded, known)?;
    }
    Ok(manifest)
}

/// Restores the set's database into a temporary file through the backup API and checks it.
fn check_database(set: &Path, recorded: &sqlite::DatabaseFacts, known: u32) -> Result<()> {
    let src = manifest::join(set, DATABASE_FILE);
    let temp = tempfile::Builder::new()
        .prefix("taonado-verify-")
        .suffix(".db")
        .tempfile()
        .map_err(BackupError::io("creating a temporary file for", &src))?;
    sqlite::restore_into(&src, temp.path())?;
    let conn = sqlite::open_existing(temp.path(), false)?;
    let fail = |detail: String| BackupError::DatabaseCheck {
        path: src.clone(),
        detail,
    };
    if let Some(problem) = sqlite::integrity(&conn, temp.path())? {
        return Err(fail(format!("integrity_check: {problem}")));
    }
    let found = sqlite::facts(&conn, temp.path())?;
    if found.schema_version > known {
        return Err(BackupError::SchemaTooNew {
            path: src,
            found: found.schema_version,
            known,
        });
    }
    if found.schema_version != recorded.schema_version {
        return Err(fail(format!(
            "schema version {} but the manifest recorded {}",
            found.schema_version, recorded.schema_version
        )));
    }
    for (table, rows) in &recorded.row_counts {
        let have = found.row_counts.get(table).copied();
        if have != Some(*rows) {
            return Err(fail(format!(
                "table {table} has {} rows but the manifest recorded {rows}",
                have.map_or_else(|| "no".to_owned(), |n| n.to_string())
            )));
        }
    }
    if found.checkpoint != recorded.checkpoint || found.last_event != recorded.last_event {
        return Err(fail(
            "the checkpoint or the last event differs from the manifest's".into(),
        ));
    }
    Ok(())
}

/// One set, as `backup list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SetSummary {
    pub name: String,
    pub path: PathBuf,
    pub network: String,
    pub chain_id: u64,
    pub created_at: u64,
    pub bytes: u64,
    pub components: Vec<Component>,
    pub schema_version: u32,
    pub pinned_block: Option<u64>,
    /// When `backup verify` last passed (`None`: never).
    pub last_verified_at: Option<u64>,
    /// Why the set cannot be read, when it cannot (listed so that it is seen).
    pub problem: Option<String>,
}

/// The sets under `dest`, oldest first (partial sets of an interrupted create are skipped).
pub fn list(dest: &Path) -> Result<Vec<SetSummary>> {
    if !dest.is_dir() {
        return Err(BackupError::NotFound {
            path: dest.to_path_buf(),
        });
    }
    let entries = std::fs::read_dir(dest).map_err(BackupError::io("listing", dest))?;
    let mut sets = Vec::new();
    for entry in entries {
        let entry = entry.map_err(BackupError::io("listing", dest))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || name.starts_with('.') || !path.join(manifest::MANIFEST).exists() {
            continue;
        }
        let last_verified_at = manifest::read_verified(&path).map(|v| v.verified_at);
        sets.push(match manifest::read(&path) {
            Ok(m) => {
                let mut components: Vec<Component> = m.files.iter().map(|f| f.component).collect();
                components.sort();
                components.dedup();
                SetSummary {
                    name,
                    path,
                    network: m.network.clone(),
                    chain_id: m.chain_id,
                    created_at: m.created_at,
                    bytes: m.files.iter().map(|f| f.bytes).sum(),
                    components,
                    schema_version: m.schema_version(),
                    pinned_block: m.pinned_block.as_ref().map(|p| p.number),
                    last_verified_at,
                    problem: None,
                }
            }
            Err(e) => SetSummary {
                name,
                path,
                network: String::new(),
                chain_id: 0,
                created_at: 0,
                bytes: 0,
                components: Vec::new(),
                schema_version: 0,
                pinned_block: None,
                last_verified_at,
                problem: Some(e.to_string()),
            },
        });
    }
    sets.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    Ok(sets)
}

/// `latest`, `YYYY-MM-DD` or `YYYYMMDD`: the newest readable set of `network` of that day.
pub fn find(dest: &Path, network: &str, date: &str) -> Result<SetSummary> {
    let day = if date == "latest" {
        None
    } else {
        let digits: String = date.chars().filter(|c| *c != '-').collect();
        let valid = digits.len() == 8
            && digits.chars().all(|c| c.is_ascii_digit())
            && (date.len() == 8 || date.len() == 10);
        if !valid {
            return Err(BackupError::BadDate {
                value: date.to_owned(),
            });
        }
        Some(digits)
    };
    let sets = list(dest)?;
    let candidates: Vec<SetSummary> = sets
        .into_iter()
        .filter(|s| s.problem.is_none() && s.network == network)
        .collect();
    if candidates.is_empty() {
        return Err(BackupError::NoSets {
            dir: dest.to_path_buf(),
        });
    }
    candidates
        .into_iter()
        .rev()
        .find(|s| {
            day.as_ref()
                .is_none_or(|d| compact_stamp(s.created_at).starts_with(d.as_str()))
        })
        .ok_or_else(|| BackupError::NoSetForDate {
            dir: dest.to_path_buf(),
            date: date.to_owned(),
        })
}

/// What `backup prune` keeps and removes.
#[derive(Clone, Debug, Serialize)]
pub struct PruneReport {
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    /// False: nothing was removed (`--yes` not given).
    pub applied: bool,
}

/// Keeps the newest set of each of the newest `keep_daily` days and of each of the newest
/// `keep_weekly` weeks (Monday to Sunday, UTC); removes the other sets of `network` when
/// `apply`. Unreadable sets are never removed.
pub fn prune(
    dest: &Path,
    network: &str,
    keep_daily: usize,
    keep_weekly: usize,
    apply: bool,
) -> Result<PruneReport> {
    let sets: Vec<SetSummary> = list(dest)?
        .into_iter()
        .filter(|s| s.problem.is_none() && s.network == network)
        .collect();
    let keep = keep_set(
        &sets.iter().map(|s| s.created_at).collect::<Vec<_>>(),
        keep_daily,
        keep_weekly,
    );
    let mut report = PruneReport {
        kept: Vec::new(),
        removed: Vec::new(),
        applied: apply,
    };
    for (set, keep) in sets.iter().zip(keep) {
        if keep {
            report.kept.push(set.name.clone());
        } else {
            if apply {
                std::fs::remove_dir_all(&set.path)
                    .map_err(BackupError::io("removing", &set.path))?;
            }
            report.removed.push(set.name.clone());
        }
    }
    Ok(report)
}

/// Which of `times` (ascending) a daily/weekly policy keeps.
pub fn keep_set(times: &[u64], keep_daily: usize, keep_weekly: usize) -> Vec<bool> {
    const DAY: u64 = 86_400;
    let mut keep = vec![false; times.len()];
    // Newest first: the first set met of a day (week) is its newest.
    let mut days = Vec::new();
    let mut weeks = Vec::new();
    for i in (0..times.len()).rev() {
        let day = times[i] / DAY;
        // 1970-01-01 was a Thursday; +3 makes weeks start on Monday.
        let week = (day + 3) / 7;
        if !days.contains(&day) && days.len() < keep_daily {
            days.push(day);
            keep[i] = true;
        }
        if !weeks.contains(&week) && weeks.len() < keep_weekly {
            weeks.push(week);
            keep[i] = true;
        }
    }
    keep
}

/// What `backup schedule` prints: a systemd service and timer, and the same as a cron line.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    pub service: String,
    pub timer: String,
    pub cron: String,
}

/// When and how `backup schedule` runs the backup.
#[derive(Clone, Debug)]
pub struct SchedulePlan {
    /// The `taonado` binary to run.
    pub binary: String,
    pub working_dir: PathBuf,
    pub dest: PathBuf,
    pub network: String,
    /// Time of day, UTC.
    pub hour: u8,
    pub minute: u8,
    pub keep_daily: usize,
    pub keep_weekly: usize,
}

/// A daily backup at `hour:minute` UTC, then a prune and a verify of the newest set.
pub fn schedule(plan: &SchedulePlan) -> Schedule {
    let SchedulePlan {
        binary,
        working_dir,
        dest,
        network,
        hour,
        minute,
        keep_daily,
        keep_weekly,
    } = plan;
    let dest = dest.display();
    let wd = working_dir.display();
    let create = format!("{binary} --network {network} backup create --dest {dest}");
    let prune = format!(
        "{binary} --network {network} backup prune --dest {dest} --keep-daily {keep_daily} --keep-weekly {keep_weekly} --yes"
    );
    let verify = format!("{binary} --network {network} backup verify --dest {dest} --latest");
    let service = format!(
        "[Unit]\nDescription=taonado backup ({network})\nAfter=network-online.target\n\n[Service]\nType=oneshot\nWorkingDirectory={wd}\nExecStart={create}\nExecStartPost={prune}\nExecStartPost={verify}\n"
    );
    let timer = format!(
        "[Unit]\nDescription=daily taonado backup ({network})\n\n[Timer]\nOnCalendar=*-*-* {hour:02}:{minute:02}:00 UTC\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
    );
    let cron = format!(
        "{minute} {hour} * * * cd {wd} && {create} && {prune} && {verify} >> {dest}/backup.log 2>&1"
    );
    Schedule {
        service,
        timer,
        cron,
    }
}

/// The contract state a set holds.
pub fn read_contract_state(set: &Path) -> Result<ContractState> {
    let path = manifest::join(set, CONTRACT_STATE_FILE);
    let bytes = std::fs::read(&path).map_err(BackupError::io("reading", &path))?;
    serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
        path,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_of_each_day_and_week() {
        const DAY: u64 = 86_400;
        // Monday 2026-11-30 00:00 UTC is day 20_787.
        let monday = 20_787 * DAY;
        // Two sets a day for ten days.
        let times: Vec<u64> = (0..10)
            .flat_map(|d| [monday + d * DAY + 3600, monday + d * DAY + 7200])
            .collect();
        let keep = keep_set(&times, 3, 2);
        let kept: Vec<u64> = times
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(t, _)| *t)
            .collect();
        // Three newest days (their later set), and the newest set of the first week
        // (Sunday, day 6).
        assert_eq!(
            kept,
            vec![
                monday + 6 * DAY + 7200,
                monday + 7 * DAY + 7200,
                monday + 8 * DAY + 7200,
                monday + 9 * DAY + 7200,
            ]
        );
        assert!(keep_set(&times, 0, 0).iter().all(|k| !k));
    }

    #[test]
    fn set_names_carry_the_utc_time() {
        assert_eq!(
            set_name("local", 1_795_643_642),
            "taonado-local-20261125T215402Z"
        );
    }
}

#[cfg(test)]
mod create_tests {
    use super::*;

    fn plan(dir: &Path, db: PathBuf, chain_id: u64) -> CreatePlan {
        CreatePlan {
            dest: dir.join("backups"),
            network: "local".into(),
            chain_id,
            config_file: None,
            deployment_records: Vec::new(),
            database: Some(db),
            now: 1_795_643_642,
            keys: None,
        }
    }

    #[tokio::test]
    async fn a_database_of_another_chain_is_not_backed_up() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("other.db");
        taonado_store::Store::open(&db)
            .unwrap()
            .init_chain(945)
            .unwrap();
        let err = create(&plan(dir.path(), db.clone(), 42), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BackupError::DatabaseOfOtherChain { chain_id: 945, .. }),
            "{err}"
        );
        assert!(err.to_string().contains(&db.display().to_string()), "{err}");
        assert!(err.is_usage());
        // No set, and no partial folder left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn sets_of_one_second_get_distinct_names_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("local.db");
        taonado_store::Store::open(&db)
            .unwrap()
            .init_chain(42)
            .unwrap();
        let first = create(&plan(dir.path(), db.clone(), 42), None)
            .await
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&first.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let second = create(&plan(dir.path(), db, 42), None).await.unwrap();
        assert_ne!(first.path, second.path);
        let expected = Expected {
            network: "local".into(),
            chain_id: 42,
        };
        let report = verify(&second.path, &expected, 7).unwrap();
        assert!(report.database_checked);
        let listed = list(&dir.path().join("backups")).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].last_verified_at, Some(7));
        assert_eq!(listed[0].last_verified_at, None);
        assert_eq!(
            find(&dir.path().join("backups"), "local", "2026-11-25")
                .unwrap()
                .path,
            second.path
        );
        assert!(matches!(
            find(&dir.path().join("backups"), "local", "2026-13"),
            Err(BackupError::BadDate { .. })
        ));
    }
}
