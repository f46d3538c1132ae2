//! SQLite storage for the indexer and the monitor: versioned migrations ([`migrations`]),
//! the indexer's writes ([`write`]) and typed queries ([`queries`]).
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
mod types;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use error::{Result, StoreError};
pub use migrations::{MIGRATIONS, Migration};
pub use queries::{EventFilter, Window};
pub use types::*;

use crate::error::SqlContext as _;

/// How long a writer waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on one SQLite database; cheap to clone, shared between tasks.
#[derive(Clone, Debug)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

/// The database of `network` when no path is given: `data/<network>.db`, shared by the
/// indexer and the monitor.
pub fn default_path(network: &str) -> PathBuf {
    Path::new("data").join(format!("{network}.db"))
}

impl Store {
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
            path: path.to_path_buf(),
            source,
        })?;
        Self::init(conn, Some(path.to_path_buf()), migrations)
    }

    /// A private in-memory database with the full schema.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().op("opening an in-memory database")?;
        Self::init(conn, None, MIGRATIONS)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>, migrations: &[Migration]) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .op("setting the busy timeout")?;
        // WAL lets the monitor read while the indexer writes; NORMAL sync keeps committed
        // transactions across a process crash (only an OS crash may lose the last ones).
        conn.pragma_update(None, "journal_mode", "WAL")
            .op("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .op("setting synchronous")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .op("enabling foreign keys")?;
        migrations::migrate(&mut conn, migrations)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file, `None` in memory.
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
    pub fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&conn)
    }

    /// Runs `f` in one IMMEDIATE transaction, committed when `f` returns `Ok`.
    pub fn with_tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .op("starting a transaction")?;
        let value = f(&tx)?;
        tx.commit().op("committing")?;
        Ok(value)
    }
}

/// The clock as SQLite stores it (INTEGER is i64).
pub(crate) fn unix_now() -> i64 {
    i64::try_from(taonado_deployment::unix_now()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
