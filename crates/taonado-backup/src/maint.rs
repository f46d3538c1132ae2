//! `taonado db …`: retention cleanup, compaction, a one-file copy, checks and migration
//! status of the indexer's and the monitor's SQLite database.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::Serialize;

use crate::error::{BackupError, Result};
use crate::sqlite;

/// What the retention policy lets `db cleanup` delete, older than the cutoff. Everything
/// else is kept: blocks, transactions, events and associations must equal the chain (the
/// indexer's invariant, and the WTAO running sum re-sums from them), and firing alerts and
/// pending notifications are live state.
pub const RETENTION: [Retention; 3] = [
    Retention {
        table: "outbox",
        rule: "notifications sent or given up (dead), created before the cutoff",
        delete: "DELETE FROM outbox WHERE state IN ('sent', 'dead') AND created_at < ?1",
    },
    Retention {
        table: "alerts",
        rule: "resolved alerts resolved before the cutoff, once no notification refers to them",
        delete: "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?1 AND id NOT IN (SELECT alert_id FROM outbox WHERE alert_id IS NOT NULL)",
    },
    Retention {
        table: "snapshots",
        rule: "state snapshots (with their balances, weights and neurons) taken before the cutoff, except the latest",
        delete: "DELETE FROM snapshots WHERE timestamp < ?1 AND id <> (SELECT max(id) FROM snapshots)",
    },
];

/// One table the retention policy may shrink.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub table: &'static str,
    pub rule: &'static str,
    delete: &'static str,
}

/// One line of `db cleanup`.
#[derive(Clone, Debug, Serialize)]
pub struct CleanupLine {
    pub table: &'static str,
    pub rule: &'static str,
    pub rows: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CleanupReport {
    pub db: PathBuf,
    pub cutoff: u64,
    pub lines: Vec<CleanupLine>,
    /// Rows of child tables deleted with their snapshots (ON DELETE CASCADE).
    pub cascaded_rows: u64,
    pub applied: bool,
}

/// Counts (and with `apply`, deletes in one transaction) what [`RETENTION`] allows older
/// than `cutoff` (unix seconds).
pub fn cleanup(db: &Path, cutoff: u64, apply: bool) -> Result<CleanupReport> {
    cleanup_with(db, cutoff, apply, false)
}

/// [`cleanup`] that deletes securely (`compliance purge --data-type logs`): SQLite's
/// `secure_delete` overwrites the freed pages, and a `VACUUM` after the commit drops them
/// from the file.
pub fn cleanup_securely(db: &Path, cutoff: u64, apply: bool) -> Result<CleanupReport> {
    cleanup_with(db, cutoff, apply, true)
}

fn cleanup_with(db: &Path, cutoff: u64, apply: bool, secure: bool) -> Result<CleanupReport> {
    let mut conn = open_current(db)?;
    if secure && apply {
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(BackupError::sql("enabling secure_delete on", db))?;
    }
    let cutoff_sql = i64::try_from(cutoff).unwrap_or(i64::MAX);
    let tx = conn
        .transaction()
        .map_err(BackupError::sql("starting a transaction", db))?;
    let children = |tx: &Connection| -> Result<u64> {
        let n: i64 = tx
            .query_row(
                "SELECT (SELECT count(*) FROM snapshot_balances) + (SELECT count(*) FROM snapshot_weights) + (SELECT count(*) FROM snapshot_neurons)",
                [],
                |r| r.get(0),
            )
            .map_err(BackupError::sql("counting snapshot rows", db))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let before = children(&tx)?;
    // The deletes run in one transaction, rolled back unless `apply`: the counts shown are
    // exactly what `--yes` deletes (a notification's deletion frees its alert).
    let mut lines = Vec::new();
    for r in RETENTION {
        let rows = tx
            .execute(r.delete, [cutoff_sql])
            .map_err(BackupError::sql("deleting old rows", db))?;
        lines.push(CleanupLine {
            table: r.table,
            rule: r.rule,
            rows: rows as u64,
        });
    }
    let cascaded_rows = before.saturating_sub(children(&tx)?);
    if apply {
        tx.commit().map_err(BackupError::sql("committing", db))?;
        if secure {
            conn.execute_batch("VACUUM")
                .map_err(BackupError::sql("vacuuming after a purge", db))?;
        }
    } else {
        tx.rollback()
            .map_err(BackupError::sql("rolling back", db))?;
    }
    Ok(CleanupReport {
        db: db.to_path_buf(),
        cutoff,
        lines,
        cascaded_rows,
        applied: apply,
    })
}

/// Opens an existing database whose schema this binary knows, writable.
fn open_current(db: &Path) -> Result<Connection> {
    let conn = sqlite::open_existing(db, true)?;
    let status = status_of(&conn, db)?;
    if status
        .applied
        .last()
        .is_some_and(|v| v.version > status.known)
    {
        return Err(BackupError::SchemaTooNew {
            path: db.to_path_buf(),
            found: status.applied.last().map_or(0, |v| v.version),
            known: status.known,
        });
    }
    Ok(conn)
}

#[derive(Clone, Debug, Serialize)]
pub struct CompactReport {
    pub db: PathBuf,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Checkpoints the WAL into the database, then `VACUUM`s it.
pub fn compact(db: &Path) -> Result<CompactReport> {
    let conn = open_current(db)?;
    let bytes_before = sqlite::size_on_disk(db);
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(BackupError::sql("checkpointing the WAL", db))?;
    conn.execute_batch("VACUUM")
        .map_err(BackupError::sql("running VACUUM", db))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(BackupError::sql("checkpointing the WAL", db))?;
    drop(conn);
    Ok(CompactReport {
        db: db.to_path_buf(),
        bytes_before,
        bytes_after: sqlite::size_on_disk(db),
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct DbBackupReport {
    pub db: PathBuf,
    pub destination: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub checkpoint: Option<u64>,
}

/// One consistent file copy of the database (the online backup API), written next to
/// `destination` and renamed into place; an existing destination is refused unless `force`.
pub fn backup_to(db: &Path, destination: &Path, force: bool) -> Result<DbBackupReport> {
    sqlite::sqlite_file(db)?;
    if destination.exists() && !force {
        return Err(BackupError::Exists {
            path: destination.to_path_buf(),
        });
    }
    let dir = destination
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(BackupError::io("creating", dir))?;
    let temp = tempfile::Builder::new()
        .prefix(".taonado-db-backup-")
        .tempfile_in(dir)
        .map_err(BackupError::io("creating a temporary file in", dir))?;
    sqlite::online_copy(db, temp.path())?;
    let conn = sqlite::open_existing(temp.path(), false)?;
    let facts = sqlite::facts(&conn, temp.path())?;
    drop(conn);
    temp.persist(destination).map_err(|e| BackupError::Io {
        op: "renaming into",
        path: destination.to_path_buf(),
        source: e.error,
    })?;
    let (sha256, bytes) = crate::manifest::hash_file(destination)?;
    Ok(DbBackupReport {
        db: db.to_path_buf(),
        destination: destination.to_path_buf(),
        bytes,
        sha256,
        checkpoint: facts.checkpoint.map(|c| c.0),
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub db: PathBuf,
    /// `None` when `integrity_check` says ok.
    pub integrity: Option<String>,
    pub foreign_key_violations: u64,
    pub schema_version: u32,
    pub known_version: u32,
    pub pending_migrations: Vec<u32>,
    pub checkpoint: Option<u64>,
    pub row_counts: std::collections::BTreeMap<String, u64>,
    /// What failed, one phrase each (empty when ok).
    pub problems: Vec<String>,
    pub ok: bool,
}

/// Integrity, foreign keys and schema version, read-only.
pub fn check(db: &Path) -> Result<CheckReport> {
    let conn = sqlite::open_existing(db, false)?;
    let integrity = sqlite::integrity(&conn, db)?;
    let foreign_key_violations = sqlite::foreign_key_violations(&conn, db)?;
    let status = status_of(&conn, db)?;
    let facts = sqlite::facts(&conn, db)?;
    let schema_version = status.applied.last().map_or(0, |v| v.version);
    let mut problems = Vec::new();
    if let Some(i) = &integrity {
        problems.push(format!("integrity_check: {i}"));
    }
    if foreign_key_violations > 0 {
        problems.push(format!(
            "{foreign_key_violations} rows whose parent row is missing"
        ));
    }
    if schema_version > status.known {
        problems.push(format!(
            "schema version {schema_version} is newer than this binary's {}",
            status.known
        ));
    } else if !status.pending.is_empty() {
        problems.push(format!(
            "{} migrations pending (`taonado db migrate`)",
            status.pending.len()
        ));
    }
    let ok = problems.is_empty();
    Ok(CheckReport {
        db: db.to_path_buf(),
        integrity,
        foreign_key_violations,
        schema_version,
        known_version: status.known,
        pending_migrations: status.pending.iter().map(|m| m.version).collect(),
        checkpoint: facts.checkpoint.map(|c| c.0),
        row_counts: facts.row_counts,
        problems,
        ok,
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct MigrationLine {
    pub version: u32,
    pub name: String,
    /// Unix seconds it was applied, `None` if pending.
    pub applied_at: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MigrationStatus {
    pub db: PathBuf,
    pub known: u32,
    pub applied: Vec<MigrationLine>,
    pub pending: Vec<MigrationLine>,
}

/// Applied and pending migrations, read-only.
pub fn migration_status(db: &Path) -> Result<MigrationStatus> {
    let conn = sqlite::open_existing(db, false)?;
    status_of(&conn, db)
}

fn status_of(conn: &Connection, db: &Path) -> Result<MigrationStatus> {
    let known = taonado_store::migrations::latest_version(taonado_store::MIGRATIONS);
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(BackupError::sql("reading schema_migrations", db))?;
    let mut applied = Vec::new();
    if exists {
        let mut stmt = conn
            .prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            .map_err(BackupError::sql("reading schema_migrations", db))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MigrationLine {
                    version: r.get(0)?,
                    name: r.get(1)?,
                    applied_at: r.get::<_, i64>(2).map(|t| u64::try_from(t).ok())?,
                })
            })
            .map_err(BackupError::sql("reading schema_migrations", db))?;
        for row in rows {
            applied.push(row.map_err(BackupError::sql("reading schema_migrations", db))?);
        }
    }
    let pending = taonado_store::MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .map(|m| MigrationLine {
            version: m.version,
            name: m.name.to_owned(),
            applied_at: None,
        })
        .collect();
    Ok(MigrationStatus {
        db: db.to_path_buf(),
        known,
        applied,
        pending,
    })
}

/// Applies pending migrations (what every command opening the store does).
pub fn migrate(db: &Path) -> Result<MigrationStatus> {
    if !db.is_file() {
        return Err(BackupError::NotFound {
            path: db.to_path_buf(),
        });
    }
    drop(taonado_store::Store::open(db)?);
    migration_status(db)
}

/// `30d`, `12h`, `90m`, `3600s` (or plain seconds) as seconds.
pub fn parse_age(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_take_a_unit() {
        assert_eq!(parse_age("30d"), Some(30 * 86_400));
        assert_eq!(parse_age("12h"), Some(43_200));
        assert_eq!(parse_age("90"), Some(90));
        assert_eq!(parse_age("2w"), Some(1_209_600));
        assert_eq!(parse_age("d"), None);
        assert_eq!(parse_age("30x"), None);
        assert_eq!(parse_age("-1d"), None);
    }
}
