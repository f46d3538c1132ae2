//! The store's one error type.

use std::path::PathBuf;

use crate::sql::SqlError;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot open the database {path}: {source}; check the path (or URL) and its permissions"
    )]
    Open {
        /// The file, or the PostgreSQL URL without its password.
        path: String,
        #[source]
        source: SqlError,
    },
    #[error("database error while {op}: {source}")]
    Sqlite {
        op: &'static str,
        #[source]
        source: SqlError,
    },
    #[error(
        "migration {version} `{name}` failed: {source}; the database was left at the previous version"
    )]
    Migration {
        version: u32,
        name: &'static str,
        #[source]
        source: SqlError,
    },
    #[error(
        "the database has schema version {found} but this binary knows up to {known}; upgrade taonado or use another --db"
    )]
    SchemaTooNew { found: u32, known: u32 },
    #[error(
        "the database belongs to chain {stored} but the indexer is following chain {requested}; use another --db"
    )]
    ChainMismatch { stored: u64, requested: u64 },
    #[error(
        "duplicate {what} at block {block}; the database is inconsistent, restore a backup or re-index"
    )]
    Duplicate { what: &'static str, block: u64 },
    #[error("corrupt value in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("this build's SQL does not run on PostgreSQL: {0}")]
    Dialect(String),
    #[error("the database lock is poisoned by a panic in another thread; restart the process")]
    Poisoned,
}

impl StoreError {
    /// Whether another database or binary is needed (a usage error), as opposed to a
    /// failure while running.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::SchemaTooNew { .. } | Self::ChainMismatch { .. } | Self::Open { .. }
        )
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Adds the operation to a SQL error.
pub(crate) trait SqlContext<T> {
    fn op(self, op: &'static str) -> Result<T>;
}

impl From<SqlError> for StoreError {
    fn from(source: SqlError) -> Self {
        match source {
            SqlError::Dialect(what) => Self::Dialect(what),
            source => Self::Sqlite {
                op: "running a transaction",
                source,
            },
        }
    }
}

impl<T> SqlContext<T> for std::result::Result<T, SqlError> {
    fn op(self, op: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Sqlite { op, source })
    }
}
