//! Storage for the indexer and the monitor: versioned migrations ([`migrations`]), the
//! indexer's writes ([`write`]) and typed queries ([`queries`]), on SQLite (a file) or on
//! PostgreSQL (`--db postgres://…`, several monitors sharing one database). The SQL is
//! written once, in SQLite's dialect, and translated for PostgreSQL ([`sql::dialect`]).
//!
//! Addresses and hashes are stored as BLOBs, U256 amounts as decimal TEXT, gas prices as
//! INTEGER wei, times as unix seconds. Every write the indexer makes for a range of blocks,
//! the checkpoint included, is one transaction, so a crash never leaves a gap or a
//! duplicate.

pub mod alerts;
mod codec;
pub mod compliance;
mod error;
pub mod groups;
pub mod incidents;
pub mod migrations;
pub mod outbox;
pub mod queries;
pub mod recovery;
pub mod reports;
pub mod sql;
pub mod testing;
mod types;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::sql::{Conn, Db, PgConn};

pub use error::{Result, StoreError};
pub use migrations::{MIGRATIONS, Migration};
pub use queries::{EventFilter, Window};
pub use types::*;

use crate::error::SqlContext as _;

/// How long a writer waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on one database (a SQLite file or a PostgreSQL session); cheap to clone,
/// shared between tasks.
#[derive(Clone, Debug)]
pub struct Store {
    db: Arc<Mutex<Db>>,
    path: Option<PathBuf>,
}

/// Whether `--db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `url` without its password, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// The database of `network` when no path is given: `data/<network>.db`, shared by the
/// indexer and the monitor.
pub fn default_path(network: &str) -> PathBuf {
    Path::new("data").join(format!("{network}.db"))
}

impl Store {
    /// Opens what `--db` names: a PostgreSQL URL (`postgres://…`) or a SQLite file (its
    /// directory created if needed).
    pub fn connect(db: &str) -> Result<Self> {
        if is_postgres_url(db) {
            Self::open_postgres(db)
        } else {
            Self::open_creating(Path::new(db))
        }
    }

    /// [`Store::connect`] for a `--db` parsed as a path (a PostgreSQL URL is a valid path).
    pub fn connect_path(db: &Path) -> Result<Self> {
        match db.to_str().filter(|s| is_postgres_url(s)) {
            Some(url) => Self::open_postgres(url),
            None => Self::open_creating(db),
        }
    }

    /// Connects to the PostgreSQL database at `url` and applies pending migrations.
    pub fn open_postgres(url: &str) -> Result<Self> {
        Self::open_postgres_with(url, MIGRATIONS)
    }

    /// Like [`Store::open_postgres`] with an explicit migration list.
    pub fn open_postgres_with(url: &str, migrations: &[Migration]) -> Result<Self> {
        let conn = PgConn::connect(url).map_err(|source| StoreError::Open {
            path: redact_url(url),
            source,
        })?;
        let mut db = Db::Postgres(conn);
        migrations::migrate(&mut db, migrations)?;
        Ok(Self {
            db: Arc::new(Mutex::new(db)),
            path: None,
        })
    }

    /// Whether this store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.db.lock().is_ok_and(|db| db.is_postgres())
    }

    /// Like [`Store::open`], creating the database's directory first.
    pub fn open_creating(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Self::open(path)
    }

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, MIGRATIONS)
    }

    /// Like [`Store::open`] with an explicit migration list (tests of the runner).
    pub fn open_with(path: &Path, migrations: &[Migration]) -> Result<Self> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source: source.into(),
        })?;
        Self::init(conn, Some(path.to_path_buf()), migrations)
    }

    /// A private in-memory database with the full schema.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()
            .map_err(sql::SqlError::from)
            .op("opening an in-memory database")?;
        Self::init(conn, None, MIGRATIONS)
    }

    fn init(conn: Connection, path: Option<PathBuf>, migrations: &[Migration]) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql::SqlError::from)
            .op("setting the busy timeout")?;
        // WAL lets the monitor read while the indexer writes; NORMAL sync keeps committed
        // transactions across a process crash (only an OS crash may lose the last ones).
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql::SqlError::from)
            .op("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql::SqlError::from)
            .op("setting synchronous")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql::SqlError::from)
            .op("enabling foreign keys")?;
        let mut db = Db::Sqlite(conn);
        migrations::migrate(&mut db, migrations)?;
        Ok(Self {
            db: Arc::new(Mutex::new(db)),
            path,
        })
    }

    /// The database file, `None` in memory and on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The highest applied migration version.
    pub fn schema_version(&self) -> Result<u32> {
        self.with_conn(|conn| {
            Ok(migrations::applied_versions(conn)?
                .last()
                .copied()
                .unwrap_or(0))
        })
    }

    /// Runs `f` on the connection (reads, or writes that need no transaction).
    pub fn with_conn<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let db = self.db.lock().map_err(|_| StoreError::Poisoned)?;
        f(&db.conn())
    }

    /// Runs `f` in one transaction that excludes other writers (SQLite IMMEDIATE; on
    /// PostgreSQL the writers' advisory lock), committed when `f` returns `Ok`.
    pub fn with_tx<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let mut db = self.db.lock().map_err(|_| StoreError::Poisoned)?;
        db.transaction(f)
    }
}

/// The clock as SQLite stores it (INTEGER is i64).
pub(crate) fn unix_now() -> i64 {
    i64::try_from(taonado_deployment::unix_now()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;

/// The monitors' leader lock on a shared PostgreSQL database: a session advisory lock,
/// held by this process's own session for as long as it lives. The server releases it when
/// the session ends, which a killed process's does at once (its socket closes), so a
/// follower polling [`LeaderLock::try_lead`] takes over within one poll. The key is the
/// database's current schema, so deployments in different schemas of one database elect
/// their leaders separately.
pub struct LeaderLock {
    conn: PgConn,
    held: bool,
}

impl std::fmt::Debug for LeaderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderLock")
            .field("held", &self.held)
            .finish()
    }
}

impl LeaderLock {
    /// A session of its own on the database at `url` (not yet leading).
    pub fn connect(url: &str) -> Result<Self> {
        let conn = PgConn::connect(url).map_err(|source| StoreError::Open {
            path: redact_url(url),
            source,
        })?;
        Ok(Self { conn, held: false })
    }

    /// Takes the lock if no other session holds it; true while this session leads.
    pub fn try_lead(&mut self) -> Result<bool> {
        if self.held {
            return Ok(!self.conn.is_closed());
        }
        let taken = self
            .conn
            .simple_scalar(
                "SELECT pg_try_advisory_lock(1952542574, hashtext('taonado-leader:' || current_schema()))",
            )
            .op("taking the leader lock")?;
        self.held = taken.as_deref() == Some("t");
        Ok(self.held)
    }

    /// Whether the session that holds the lock is gone (the server restarted or the
    /// connection broke): the lock is then no longer this process's.
    pub fn lost(&self) -> bool {
        self.held && self.conn.is_closed()
    }
}
