//! `backup continuous`: a replica set of the database kept fresh while the monitor writes,
//! so the data a failure loses is one interval, not a day. Every `interval` in which the
//! database (or its WAL) changed, a whole online copy is taken into a hidden folder, sealed
//! like any set, and swapped in as `replica-<network>`; `backup verify`/`restore` read it
//! like a dated set. These are full online snapshots, not WAL frames (Litestream ships
//! frames): the cost of a round grows with the database, which suits the indexer's size.
//!
//! A copy whose checkpoint is behind the replica's is never swapped in: a database recreated
//! empty after a loss must not overwrite the replica that can restore it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::watch;

use crate::error::{BackupError, Result};
use crate::manifest::{self, Manifest};
use crate::set::{self, CreatePlan};

/// The replica set of `network` under `dest`.
pub fn replica_path(dest: &Path, network: &str) -> PathBuf {
    dest.join(format!("replica-{network}"))
}

/// What `backup continuous` copies and how often.
#[derive(Clone, Debug)]
pub struct ReplicaPlan {
    /// The database, config and records, as for `backup create` (`now` is set each round).
    pub create: CreatePlan,
    pub interval: Duration,
}

/// What a replication run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplicaReport {
    pub path: PathBuf,
    /// Replicas swapped in.
    pub copies: u64,
    /// Rounds that found the database unchanged, missing, or behind the replica.
    pub skipped: u64,
    pub last_checkpoint: Option<u64>,
    pub last_copied_at: Option<u64>,
}

/// Sizes and modification times of the database and its WAL: a change means new writes.
type Stamp = Vec<(u64, Option<SystemTime>)>;

fn stamp(db: &Path) -> Option<Stamp> {
    let main = std::fs::metadata(db).ok()?;
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(PathBuf::from(wal)).ok();
    Some(
        [Some(main), wal]
            .into_iter()
            .map(|m| m.map_or((0, None), |m| (m.len(), m.modified().ok())))
            .collect(),
    )
}

/// Replicates until `shutdown` turns true; a clean stop takes one last copy.
pub async fn run(plan: ReplicaPlan, shutdown: watch::Receiver<bool>) -> Result<ReplicaReport> {
    run_observed(plan, shutdown, &watch::channel(None).0).await
}

/// [`run`], telling `fresh` after each round the time up to which the replica holds every
/// write: the start of the last round that copied the database or found it unchanged.
pub async fn run_observed(
    plan: ReplicaPlan,
    mut shutdown: watch::Receiver<bool>,
    fresh: &watch::Sender<Option<SystemTime>>,
) -> Result<ReplicaReport> {
    let db = plan
        .create
        .database
        .clone()
        .ok_or_else(|| BackupError::NotFound {
            path: PathBuf::from("(no database)"),
        })?;
    crate::sqlite::sqlite_file(&db)?;
    let path = replica_path(&plan.create.dest, &plan.create.network);
    let mut report = ReplicaReport {
        path: path.clone(),
        ..ReplicaReport::default()
    };
    let mut last: Option<Stamp> = None;
    loop {
        let stop = *shutdown.borrow();
        let started = SystemTime::now();
        let now = stamp(&db);
        if now.is_some() && (now != last || stop) {
            match refresh(&plan.create).await? {
                Some(m) => {
                    fresh.send_replace(Some(started));
                    report.copies += 1;
                    report.last_checkpoint = m
                        .database
                        .as_ref()
                        .and_then(|d| d.checkpoint.as_ref())
                        .map(|c| c.0);
                    report.last_copied_at = Some(m.created_at);
                }
                None => report.skipped += 1,
            }
            last = now;
        } else {
            if now.is_some() && report.copies > 0 {
                fresh.send_replace(Some(started));
            }
            report.skipped += 1;
        }
        if stop {
            return Ok(report);
        }
        tokio::select! {
            () = tokio::time::sleep(plan.interval) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return Ok(report);
                }
            }
        }
    }
}

/// One round: a sealed copy swapped in as the replica, unless it is behind the replica
/// (then `None`, and the replica is kept).
pub async fn refresh(plan: &CreatePlan) -> Result<Option<Manifest>> {
    std::fs::create_dir_all(&plan.dest).map_err(BackupError::io("creating", &plan.dest))?;
    let path = replica_path(&plan.dest, &plan.network);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let work = plan.dest.join(format!(".{name}.partial"));
    let old = plan.dest.join(format!(".{name}.old"));
    for stale in [&work, &old] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).map_err(BackupError::io("removing", stale))?;
        }
    }
    let round = CreatePlan {
        now: taonado_deployment::unix_now(),
        ..plan.clone()
    };
    let manifest = match set::fill(&round, None, &work).await {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    let checkpoint = |m: &Manifest| {
        m.database
            .as_ref()
            .and_then(|d| d.checkpoint.as_ref())
            .map(|c| c.0)
    };
    if let Ok(current) = manifest::read(&path)
        && checkpoint(&current) > checkpoint(&manifest)
    {
        tracing::warn!(
            replica = %path.display(),
            "the database is behind its replica (recreated after a loss?); the replica is kept"
        );
        let _ = std::fs::remove_dir_all(&work);
        return Ok(None);
    }
    if path.exists() {
        std::fs::rename(&path, &old).map_err(BackupError::io("renaming", &path))?;
    }
    std::fs::rename(&work, &path).map_err(BackupError::io("renaming", &work))?;
    tracing::debug!(checkpoint = ?checkpoint(&manifest), "replica refreshed");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(BackupError::io("removing", &old))?;
    }
    Ok(Some(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_replica_follows_the_database_and_is_never_replaced_by_an_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("local.db");
        let store = taonado_store::Store::open(&db).unwrap();
        store.init_chain(42).unwrap();
        let plan = CreatePlan {
            dest: dir.path().join("backups"),
            network: "local".into(),
            chain_id: 42,
            config_file: None,
            deployment_records: Vec::new(),
            database: Some(db.clone()),
            now: 0,
            keys: None,
        };
        let set_checkpoint = |block: i64| {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute(
                "UPDATE indexer_state SET checkpoint_block = ?1, checkpoint_hash = x'01'",
                [block],
            )
            .unwrap();
        };
        set_checkpoint(5);
        let first = refresh(&plan).await.unwrap().expect("a replica");
        assert_eq!(first.database.unwrap().checkpoint.unwrap().0, 5);
        set_checkpoint(9);
        refresh(&plan).await.unwrap().expect("a newer replica");
        let path = replica_path(&plan.dest, "local");
        let expected = set::Expected {
            network: "local".into(),
            chain_id: 42,
        };
        assert!(set::verify(&path, &expected, 1).is_ok());
        // The database recreated behind the replica: the replica stays.
        set_checkpoint(2);
        assert!(refresh(&plan).await.unwrap().is_none());
        let kept = manifest::read(&path).unwrap();
        assert_eq!(kept.database.unwrap().checkpoint.unwrap().0, 9);
        // Nothing hidden is left behind.
        let names: Vec<String> = std::fs::read_dir(&plan.dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["replica-local".to_owned()]);
        drop(store);
    }
}
