//! The monitor's files: the config file (rules, channels, delivery), the channels built
//! from it, and the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use taonado_store::Store;

use crate::config::MonitorFile;
use crate::error::{MonitorError, Result};
use crate::notify::{Notifier, build_notifier};

/// The config file looked up in the working directory when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "monitor.toml";

/// Reads and parses the config file at `path`; without one, `./monitor.toml` if it exists,
/// else the manual's rules and no channels.
pub fn load_file(path: Option<&Path>) -> Result<MonitorFile> {
    let path = match path {
        Some(path) => path.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok(MonitorFile::empty()),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| MonitorError::ReadConfig {
        path: path.clone(),
        source,
    })?;
    MonitorFile::parse(&text).map_err(|e| MonitorError::InConfig {
        path,
        source: Box::new(e),
    })
}

/// The channels of the file; `secret` looks up environment variables (the CLI passes
/// `std::env::var`), so the library reads none itself.
pub fn notifiers(
    file: &MonitorFile,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<dyn Notifier>>> {
    file.channels
        .iter()
        .map(|spec| build_notifier(spec, secret).map(Arc::from))
        .collect()
}

/// Opens the database at `path` (a file, created with its directory, or a
/// `postgres://` URL).
pub fn open_store(path: &Path) -> Result<Store> {
    Ok(Store::connect_path(path)?)
}

/// Whether `--db` names a PostgreSQL database rather than a file.
pub fn is_postgres(path: &Path) -> bool {
    path.to_str().is_some_and(taonado_store::is_postgres_url)
}

/// Opens the database at `path` only if it exists (read-only commands); a PostgreSQL
/// database is always opened.
pub fn existing_store(path: &Path) -> Result<Option<Store>> {
    if is_postgres(path) {
        return open_store(path).map(Some);
    }
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Store::open(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_file_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let error = load_file(Some(&missing)).unwrap_err();
        assert!(matches!(error, MonitorError::ReadConfig { .. }), "{error}");
        assert!(error.is_usage());

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[rules]\nno_such_rule = 1\n").unwrap();
        let error = load_file(Some(&bad)).unwrap_err();
        assert!(matches!(error, MonitorError::InConfig { .. }), "{error}");
        assert!(error.is_usage());

        let good = dir.path().join("good.toml");
        std::fs::write(&good, "[rules]\nwindow_blocks = 50\n").unwrap();
        assert_eq!(load_file(Some(&good)).unwrap().rules.window_blocks, 50);
    }

    #[test]
    fn stores_are_created_or_only_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("m.db");
        assert!(existing_store(&path).unwrap().is_none());
        open_store(&path).unwrap();
        assert!(existing_store(&path).unwrap().is_some());
    }
}
