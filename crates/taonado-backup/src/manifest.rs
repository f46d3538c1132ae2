//! A backup set on disk: `manifest.json` (what the set holds, with a SHA-256 and size per
//! file), its seal `manifest.sha256`, and `verified.json` (when `backup verify` last passed;
//! not part of the set's contents, so it is the one file the manifest does not list).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{BackupError, Result};
use crate::sqlite::DatabaseFacts;

/// Version of the set's layout; a newer one is refused.
pub const FORMAT: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const SEAL: &str = "manifest.sha256";
pub const VERIFIED: &str = "verified.json";
/// Paths inside a set.
pub const DATABASE_FILE: &str = "database/taonado.db";
pub const CONFIG_FILE: &str = "config/taonado.toml";
pub const DEPLOYMENTS_DIR: &str = "deployments";
pub const CONTRACT_STATE_FILE: &str = "contract-state.json";
/// Keystores and notes, age-encrypted (`backup create --include-keys` only).
pub const KEYS_FILE: &str = "keys/keys.age";

/// The parts of a set that can be restored one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// The SQLite database of the indexer and the monitor.
    Database,
    /// `taonado.toml` and the deployment records.
    Config,
    /// Contract state read at a pinned block.
    ContractState,
    /// Keystores and notes, age-encrypted (only with `--include-keys`).
    Keys,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Config => "config",
            Self::ContractState => "contract-state",
            Self::Keys => "keys",
        }
    }

    pub const ALL: [Component; 3] = [Self::Database, Self::Config, Self::ContractState];
}

/// One file of a set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the set, `/`-separated.
    pub path: String,
    pub component: Component,
    pub bytes: u64,
    pub sha256: String,
}

/// The block contract state was read at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedBlock {
    pub number: u64,
    pub hash: String,
}

/// What a set is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `taonado` version that wrote the set.
    pub tool_version: String,
    pub created_at: u64,
    pub network: String,
    pub chain_id: u64,
    /// The database's facts at the copy (absent when the set has no database).
    pub database: Option<DatabaseFacts>,
    pub pinned_block: Option<PinnedBlock>,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    pub fn has(&self, component: Component) -> bool {
        self.files.iter().any(|f| f.component == component)
    }

    /// The database schema version, 0 without a database.
    pub fn schema_version(&self) -> u32 {
        self.database.as_ref().map_or(0, |d| d.schema_version)
    }
}

/// When `backup verify` last passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub verified_at: u64,
    pub tool_version: String,
}

/// SHA-256 and size of a file, streamed.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            BackupError::MissingFile {
                path: path.to_path_buf(),
            }
        } else {
            BackupError::Io {
                op: "reading",
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(BackupError::io("reading", path))?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Writes the manifest and its seal (the SHA-256 of the manifest's bytes).
pub fn write(set: &Path, manifest: &Manifest) -> Result<()> {
    let path = set.join(MANIFEST);
    let mut json = serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    json.push(b'\n');
    taonado_deployment::fs::write_atomic(&path, &json)?;
    let seal = format!("{}  {MANIFEST}\n", hex::encode(Sha256::digest(&json)));
    taonado_deployment::fs::write_atomic(&set.join(SEAL), seal.as_bytes())?;
    Ok(())
}

/// Reads the manifest, checking it against its seal first.
pub fn read(set: &Path) -> Result<Manifest> {
    let path = set.join(MANIFEST);
    if !set.is_dir() {
        return Err(BackupError::NotFound {
            path: set.to_path_buf(),
        });
    }
    let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => BackupError::MissingFile { path: path.clone() },
        _ => BackupError::Io {
            op: "reading",
            path: path.clone(),
            source,
        },
    })?;
    let seal_path = set.join(SEAL);
    let seal = std::fs::read_to_string(&seal_path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => BackupError::MissingFile {
            path: seal_path.clone(),
        },
        _ => BackupError::Io {
            op: "reading",
            path: seal_path.clone(),
            source,
        },
    })?;
    let sealed = seal.split_whitespace().next().unwrap_or_default();
    if sealed != hex::encode(Sha256::digest(&bytes)) {
        return Err(BackupError::ManifestSeal { path });
    }
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if manifest.format > FORMAT {
        return Err(BackupError::Manifest {
            path,
            message: format!(
                "layout version {} is newer than this binary's {FORMAT}; upgrade taonado",
                manifest.format
            ),
        });
    }
    for file in &manifest.files {
        if !is_safe_relative(&file.path) {
            return Err(BackupError::Manifest {
                path: path.clone(),
                message: format!("file path `{}` leaves the set", file.path),
            });
        }
    }
    Ok(manifest)
}

/// A manifest path stays inside the set: relative, no `..`.
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// When the set last verified, if ever.
pub fn read_verified(set: &Path) -> Option<Verified> {
    let text = std::fs::read(set.join(VERIFIED)).ok()?;
    serde_json::from_slice(&text).ok()
}

pub fn write_verified(set: &Path, verified: &Verified) -> Result<()> {
    let json = serde_json::to_vec_pretty(verified).map_err(|e| BackupError::Manifest {
        path: set.join(VERIFIED),
        message: e.to_string(),
    })?;
    taonado_deployment::fs::write_atomic(&set.join(VERIFIED), &json)?;
    Ok(())
}

/// Every file under `set`, relative, `/`-separated, sorted.
pub fn files_in(set: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(BackupError::io("listing", dir))?;
        for entry in entries {
            let entry = entry.map_err(BackupError::io("listing", dir))?;
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(set, set, &mut out)?;
    out.sort();
    Ok(out)
}

/// `set/<relative>` for a `/`-separated relative path.
pub fn join(set: &Path, relative: &str) -> PathBuf {
    relative
        .split('/')
        .fold(set.to_path_buf(), |p, c| p.join(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_stay_inside_the_set() {
        assert!(is_safe_relative("database/taonado.db"));
        assert!(!is_safe_relative("../etc/passwd"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a//b"));
        assert!(!is_safe_relative("a/./b"));
    }
}
