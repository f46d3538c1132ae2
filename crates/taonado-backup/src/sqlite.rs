//! The database as files: SQLite's online backup API (consistent while the indexer and the
//! monitor write, since a WAL reader sees one snapshot), and the facts a backup records and
//! a verification compares (schema version, row counts, a sentinel row, integrity).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};

/// How long a reader waits for a writer's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite file `db` names: what `--db` of `backup`, `recover` and `db` is parsed with.
/// A PostgreSQL URL (a shared deployment's `--db postgres://…`) is refused, password
/// redacted: these procedures are SQLite's (online backup API, `VACUUM`,
/// `integrity_check`, WAL shipping), and PostgreSQL is backed up with its own tools.
pub fn sqlite_file(db: &Path) -> Result<&Path> {
    match db.to_str().filter(|s| taonado_store::is_postgres_url(s)) {
        Some(url) => Err(BackupError::Postgres {
            url: taonado_store::redact_url(url),
        }),
        None => Ok(db),
    }
}

/// Opens an existing database (never creates one: a typo must not make an empty file).
pub fn open_existing(path: &Path, writable: bool) -> Result<Connection> {
    sqlite_file(path)?;
    if !path.is_file() {
        return Err(BackupError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let flags = if writable {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn =
        Connection::open_with_flags(path, flags).map_err(BackupError::sql("opening", path))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(BackupError::sql("setting the busy timeout", path))?;
    if writable {
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(BackupError::sql("enabling foreign keys", path))?;
    }
    Ok(conn)
}

/// Copies the database `src` into the new file `dst` with SQLite's online backup API in one
/// step, so the copy is one consistent snapshot even while another process writes. The copy
/// is a single file (rollback journal), with no `-wal` beside it.
pub fn online_copy(src: &Path, dst: &Path) -> Result<()> {
    let source = open_existing(src, false)?;
    copy_from(&source, src, dst)
}

/// [`online_copy`] from an open connection (`src` names it in errors).
pub fn copy_from(source: &Connection, src: &Path, dst: &Path) -> Result<()> {
    let mut target = Connection::open(dst).map_err(BackupError::sql("creating", dst))?;
    {
        let backup = Backup::new(source, &mut target)
            .map_err(BackupError::sql("starting the online backup", src))?;
        loop {
            // -1: every page in one step, under one read snapshot of the source.
            match backup
                .step(-1)
                .map_err(BackupError::sql("copying pages", src))?
            {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    target
        .pragma_update(None, "journal_mode", "DELETE")
        .map_err(BackupError::sql("leaving WAL mode", dst))?;
    drop(target);
    sync_file(dst)
}

/// Writes the contents of the database file `src` into the database `dst` through SQLite
/// (the backup API in the other direction), so a monitor holding `dst` open sees a whole
/// database, never a half-copied file.
pub fn restore_into(src: &Path, dst: &Path) -> Result<()> {
    let source = open_existing(src, false)?;
    let mut target = Connection::open(dst).map_err(BackupError::sql("opening", dst))?;
    target
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(BackupError::sql("setting the busy timeout", dst))?;
    let backup =
        Backup::new(&source, &mut target).map_err(BackupError::sql("starting the restore", dst))?;
    loop {
        match backup
            .step(-1)
            .map_err(BackupError::sql("writing pages", dst))?
        {
            StepResult::Done => break,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io("syncing", path))
}

/// What a backup records about its database, and a verification compares.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    /// The highest applied migration (0 without `schema_migrations`).
    pub schema_version: u32,
    /// The chain the indexer follows, if it has started.
    pub chain_id: Option<u64>,
    /// Rows per table.
    pub row_counts: BTreeMap<String, u64>,
    /// The checkpoint (block number and hash, hex), a row every backup must carry intact.
    pub checkpoint: Option<(u64, String)>,
    /// The last event (block, log index, transaction hash hex).
    pub last_event: Option<(u64, u64, String)>,
}

/// Reads the facts of an open database (`path` names it in errors).
pub fn facts(conn: &Connection, path: &Path) -> Result<DatabaseFacts> {
    let err = |op| BackupError::sql(op, path);
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .map_err(err("listing tables"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(err("listing tables"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("listing tables"))?
    };
    let mut row_counts = BTreeMap::new();
    for table in &tables {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })
            .map_err(err("counting rows"))?;
        row_counts.insert(table.clone(), u64::try_from(n).unwrap_or(0));
    }
    let has = |t: &str| tables.iter().any(|x| x == t);
    let schema_version = if has("schema_migrations") {
        conn.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get::<_, u32>(0),
        )
        .map_err(err("reading schema_migrations"))?
    } else {
        0
    };
    let (chain_id, checkpoint) = if has("indexer_state") {
        let row = conn
            .query_row(
                "SELECT chain_id, checkpoint_block, checkpoint_hash FROM indexer_state WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(err("reading the checkpoint"))?;
        match row {
            None => (None, None),
            Some((chain, block, hash)) => (
                u64::try_from(chain).ok(),
                block
                    .zip(hash)
                    .map(|(b, h)| (u64::try_from(b).unwrap_or(0), hex::encode(h))),
            ),
        }
    } else {
        (None, None)
    };
    let last_event = if has("events") {
        conn.query_row(
            "SELECT block_number, log_index, tx_hash FROM events ORDER BY block_number DESC, log_index DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)),
        )
        .optional()
        .map_err(err("reading the last event"))?
        .map(|(b, i, h)| (u64::try_from(b).unwrap_or(0), u64::try_from(i).unwrap_or(0), hex::encode(h)))
    } else {
        None
    };
    Ok(DatabaseFacts {
        schema_version,
        chain_id,
        row_counts,
        checkpoint,
        last_event,
    })
}

/// `PRAGMA integrity_check`: `Ok(None)` when it says `ok`, else its first lines.
pub fn integrity(conn: &Connection, path: &Path) -> Result<Option<String>> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check(20)")
        .map_err(BackupError::sql("running integrity_check", path))?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(BackupError::sql("running integrity_check", path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(BackupError::sql("running integrity_check", path))?;
    Ok((lines != ["ok"]).then(|| lines.join("; ")))
}

/// `PRAGMA foreign_key_check`: the number of rows whose parent is missing.
pub fn foreign_key_violations(conn: &Connection, path: &Path) -> Result<u64> {
    let mut stmt = conn
        .prepare("PRAGMA foreign_key_check")
        .map_err(BackupError::sql("running foreign_key_check", path))?;
    let mut rows = stmt
        .query([])
        .map_err(BackupError::sql("running foreign_key_check", path))?;
    let mut n = 0;
    while rows
        .next()
        .map_err(BackupError::sql("running foreign_key_check", path))?
        .is_some()
    {
        n += 1;
    }
    Ok(n)
}

/// Bytes of the database with its `-wal` file.
pub fn size_on_disk(path: &Path) -> u64 {
    let wal = {
        let mut p = path.as_os_str().to_owned();
        p.push("-wal");
        std::path::PathBuf::from(p)
    };
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer commits pairs of rows while copies are taken: every copy passes
    /// integrity_check and holds whole pairs only (one snapshot, never half a transaction).
    #[test]
    fn online_copies_are_consistent_while_another_connection_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (pair INTEGER NOT NULL, half INTEGER NOT NULL)")
            .unwrap();
        drop(conn);
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let writer_db = db.clone();
        let writer = std::thread::spawn(move || {
            let mut conn = Connection::open(&writer_db).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut pair = 0i64;
            while stop_rx.try_recv().is_err() {
                let tx = conn.transaction().unwrap();
                for half in 0..2 {
                    tx.execute("INSERT INTO t VALUES (?1, ?2)", [pair, half])
                        .unwrap();
                }
                tx.commit().unwrap();
                pair += 1;
            }
            pair
        });
        let mut seen = Vec::new();
        for i in 0..20 {
            let copy = dir.path().join(format!("copy-{i}.db"));
            online_copy(&db, &copy).unwrap();
            let c = open_existing(&copy, false).unwrap();
            assert_eq!(integrity(&c, &copy).unwrap(), None);
            let (rows, pairs): (i64, i64) = c
                .query_row("SELECT count(*), count(DISTINCT pair) FROM t", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!(rows, 2 * pairs, "a half-written transaction was copied");
            // One file, no WAL beside it.
            assert!(!dir.path().join(format!("copy-{i}.db-wal")).exists());
            seen.push(rows);
        }
        stop_tx.send(()).unwrap();
        let written = writer.join().unwrap();
        assert!(written > 0);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    }

    #[test]
    fn a_postgres_url_is_refused_as_usage_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("local.db");
        assert_eq!(sqlite_file(&file).unwrap(), file);
        for url in [
            "postgres://ops:s3cret@db.example/taonado",
            "postgresql://ops:s3cret@db.example/taonado",
        ] {
            let error = sqlite_file(Path::new(url)).unwrap_err();
            assert!(matches!(error, BackupError::Postgres { .. }), "{error}");
            assert!(error.is_usage());
            let message = error.to_string();
            assert!(
                message.contains("pg_dump") && !message.contains("s3cret"),
                "{message}"
            );
            // Every procedure shares the check, before it touches a file.
            let copy = dir.path().join("sub").join("copy.db");
            let error = crate::maint::backup_to(Path::new(url), &copy, false).unwrap_err();
            assert!(matches!(error, BackupError::Postgres { .. }), "{error}");
            assert!(matches!(
                crate::maint::check(Path::new(url)),
                Err(BackupError::Postgres { .. })
            ));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn facts_of_a_store_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let store = taonado_store::Store::open(&db).unwrap();
        store.init_chain(42).unwrap();
        drop(store);
        let conn = open_existing(&db, false).unwrap();
        let facts = facts(&conn, &db).unwrap();
        assert_eq!(
            facts.schema_version,
            taonado_store::migrations::latest_version(taonado_store::MIGRATIONS)
        );
        assert_eq!(facts.chain_id, Some(42));
        assert_eq!(facts.row_counts.get("events"), Some(&0));
        assert_eq!(facts.checkpoint, None);
        assert!(matches!(
            open_existing(&dir.path().join("absent.db"), false),
            Err(BackupError::NotFound { .. })
        ));
        assert!(!dir.path().join("absent.db").exists());
    }
}
