//! The crate's one error type. Every message is one line that names the file at fault and
//! says what to do; nothing was changed when one is returned before a write.

use std::path::PathBuf;

/// Everything a backup, restore, maintenance or drill procedure can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {op}: {source}")]
    Sqlite {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} does not exist; check the path")]
    NotFound { path: PathBuf },
    #[error("{path} is missing from the backup set; the set is incomplete, use another one")]
    MissingFile { path: PathBuf },
    #[error(
        "{path} does not match its SHA-256 in the manifest; the file is corrupt, use another backup set"
    )]
    HashMismatch { path: PathBuf },
    #[error("{path} is not listed in the manifest; the set was altered, use another one")]
    Unlisted { path: PathBuf },
    #[error(
        "{path} does not match its seal (manifest.sha256); the manifest was altered, use another backup set"
    )]
    ManifestSeal { path: PathBuf },
    #[error("{path} is not a backup manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error(
        "{path} is a backup of network {network} (chain {chain_id}), not of {expected} (chain {expected_chain_id}); pass --network {network} or use another set"
    )]
    OtherNetwork {
        path: PathBuf,
        network: String,
        chain_id: u64,
        expected: String,
        expected_chain_id: u64,
    },
    #[error(
        "{path} indexes chain {chain_id}, not {network} (chain {expected_chain_id}); pass the --db of {network} or another --network"
    )]
    DatabaseOfOtherChain {
        path: PathBuf,
        chain_id: u64,
        network: String,
        expected_chain_id: u64,
    },
    #[error(
        "{path} holds database schema version {found} but this binary knows up to {known}; upgrade taonado to restore it"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("{path}: the restored database fails its check: {detail}; use another backup set")]
    DatabaseCheck { path: PathBuf, detail: String },
    #[error(
        "{path} already exists; pass --force to replace it (a copy is kept next to it), or --dry-run to see the plan"
    )]
    Exists { path: PathBuf },
    #[error("no backup sets in {dir}; run `taonado backup create --dest {dir}` first")]
    NoSets { dir: PathBuf },
    #[error("no backup set of {date} in {dir}; `taonado backup list --dest {dir}` shows the dates")]
    NoSetForDate { dir: PathBuf, date: String },
    #[error("`{value}` is not a date: use YYYY-MM-DD, YYYYMMDD or `latest`")]
    BadDate { value: String },
    #[error("the backup set {path} has no {component} component; restore another component")]
    NoComponent {
        path: PathBuf,
        component: &'static str,
    },
    #[error(
        "contract state is restored only into a dev chain (`--to local`); chain {chain_id} is not one"
    )]
    NotDevChain { chain_id: u64 },
    #[error("{what} is not deployed on the target chain; deploy there first (`taonado deploy`)")]
    NotDeployed { what: String },
    #[error("reading {what} at block {block}: {message}")]
    Chain {
        what: String,
        block: u64,
        message: String,
    },
    #[error("block {number} changed hash while its state was read (a reorg); run the backup again")]
    Reorged { number: u64 },
    #[error("{what}: {message}")]
    Rpc { what: String, message: String },
    #[error("the drill failed: {0}")]
    Drill(String),
    #[error(
        "{path} is in journal mode {mode}, not WAL; its WAL cannot be shipped (the monitor's and indexer's databases are in WAL mode: pass one of theirs)"
    )]
    NotWal { path: PathBuf, mode: String },
    #[error(
        "{url} is a PostgreSQL database, and `backup`, `recover` and `db` work on SQLite files only; back PostgreSQL up with pg_dump (or pg_basebackup plus WAL archiving for point-in-time recovery)"
    )]
    Postgres { url: String },
    #[error("a background task failed: {message}")]
    Task { message: String },
    #[error(transparent)]
    Store(#[from] taonado_store::StoreError),
    #[error(transparent)]
    Deployment(#[from] taonado_deployment::DeploymentError),
}

impl BackupError {
    /// Whether the command line must change (exit 2), as opposed to a failed check or
    /// operation (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            Self::OtherNetwork { .. }
            | Self::DatabaseOfOtherChain { .. }
            | Self::SchemaTooNew { .. }
            | Self::Exists { .. }
            | Self::BadDate { .. }
            | Self::NoSetForDate { .. }
            | Self::NotFound { .. }
            | Self::NoComponent { .. }
            | Self::NotDevChain { .. }
            | Self::NotWal { .. }
            | Self::Postgres { .. }
            | Self::NotDeployed { .. } => true,
            Self::Store(e) => e.is_usage(),
            _ => false,
        }
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    pub(crate) fn sql(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(rusqlite::Error) -> Self {
        let path = path.into();
        move |source| Self::Sqlite { op, path, source }
    }
}

/// The crate's result type.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
