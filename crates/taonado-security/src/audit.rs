//! `taonado audit package`: everything an external auditor needs, in one folder with a
//! SHA-256 manifest. Deterministic: the same tree (and chain state) gives byte-identical
//! files and so an identical manifest; nothing in it records when or where it was made.
//!
//! Contents: the Solidity sources and the standard-JSON input, every artifact and its
//! storage layout (the committed, compiled-in artifacts), the deployed addresses with
//! their on-chain code hashes (or why they could not be read), the gas report, the test
//! list (an installed binary cannot list the workspace's tests: one is included only when
//! given), the dependency list with versions (`Cargo.lock`, compiled in), the known
//! defects, and `MANIFEST.sha256`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use alloy::primitives::{Address, keccak256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use sha2::{Digest, Sha256};
use taonado_contracts::Contract;
use taonado_ops::deploy::verify::ExpectedDeployment;

/// The workspace's lock file, as built.
const CARGO_LOCK: &str = include_str!("../../../Cargo.lock");
/// The defects the deployed contracts keep (from spec/protocol.md).
pub const KNOWN_DEFECTS: &str = include_str!("../known-defects.md");
/// The manifest's file name.
pub const MANIFEST: &str = "MANIFEST.sha256";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0} exists and is not an audit package (no {MANIFEST}); pick a new or empty folder")]
    NotAPackage(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("an embedded file is malformed: {0}")]
    Embedded(String),
}

/// What goes into the package besides the compiled-in files.
#[derive(Clone, Debug)]
pub struct PackagePlan {
    /// The folder to write (created; a previous package there is replaced).
    pub out: PathBuf,
    pub network: String,
    /// The deployment to list, if any.
    pub expected: Option<ExpectedDeployment>,
    /// The chain to read code hashes from; `None` or an error: marked "not read".
    pub provider: Option<DynProvider>,
    /// A gas report to include (`target/gas-report.md`, `taonado gas-report --json`).
    pub gas_report: Option<PathBuf>,
    /// Without `gas_report`: the deployment record and its block range, whose receipts
    /// make the gas report (`taonado_ops::gas_report`; a fixed range, so deterministic).
    pub deploy_gas: Option<(PathBuf, u64, u64)>,
    /// A test list to include (`cargo test -- --list` output, with results if at hand).
    pub test_list: Option<PathBuf>,
}

/// One file of the package.
#[derive(Clone, Debug, Serialize)]
pub struct PackageFile {
    pub path: String,
    pub sha256: String,
    pub bytes: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct PackageReport {
    pub out: PathBuf,
    pub files: Vec<PackageFile>,
    /// SHA-256 of `MANIFEST.sha256`: one value naming the whole package.
    pub manifest_sha256: String,
    /// Whether the deployed code hashes were read, and if not why.
    pub chain: String,
    /// What is missing, honestly.
    pub notes: Vec<String>,
}

/// The deployed contracts as the package lists them.
#[derive(Clone, Debug, Serialize)]
struct DeployedEntry {
    name: String,
    address: Address,
    /// keccak256 of the runtime code on chain; `None` when not read.
    code_keccak256: Option<String>,
    code_bytes: Option<usize>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A relative path with only normal components (sources come from an embedded file, but
/// a path is never trusted to stay inside the package).
fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

/// `name version` per locked package, sorted (the lock file is already sorted).
pub fn dependency_list(lock: &str) -> String {
    let mut out = String::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
        {
            out.push_str(&format!("{n} {}\n", v.trim_matches('"')));
        }
    }
    out
}

/// The files of the package, path → bytes (sorted by path).
async fn contents(
    plan: &PackagePlan,
) -> Result<(BTreeMap<String, Vec<u8>>, String, Vec<String>), AuditError> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut notes = Vec::new();
    files.insert(
        "sources/standard-json-input.json".into(),
        taonado_contracts::STANDARD_JSON_INPUT.as_bytes().to_vec(),
    );
    let input: serde_json::Value = serde_json::from_str(taonado_contracts::STANDARD_JSON_INPUT)
        .map_err(|e| AuditError::Embedded(format!("standard-json-input.json: {e}")))?;
    if let Some(sources) = input["sources"].as_object() {
        for (path, source) in sources {
            let (Some(rel), Some(content)) = (safe_relative(path), source["content"].as_str())
            else {
                notes.push(format!("source {path} skipped (unsafe path or no content)"));
                continue;
            };
            files.insert(
                format!("sources/{}", rel.to_string_lossy()),
                content.as_bytes().to_vec(),
            );
        }
    }
    for &contract in Contract::ALL {
        let json = contract.artifact_json();
        files.insert(
            format!("artifacts/{}.json", contract.name()),
            json.as_bytes().to_vec(),
        );
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| AuditError::Embedded(format!("{}: {e}", contract.name())))?;
        if !value["storageLayout"].is_null() {
            let layout = serde_json::to_vec_pretty(&value["storageLayout"])
                .map_err(|e| AuditError::Embedded(e.to_string()))?;
            files.insert(format!("storage-layouts/{}.json", contract.name()), layout);
        }
    }
    let chain = deployed(plan, &mut files).await;
    match &plan.gas_report {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| AuditError::Read {
                path: path.clone(),
                source,
            })?;
            let name = match path.extension().and_then(|e| e.to_str()) {
                Some("json") => "gas-report.json",
                _ => "gas-report.md",
            };
            files.insert(name.into(), bytes);
        }
        None => match deploy_gas(plan).await {
            Ok(json) => {
                files.insert("gas-report.json".into(), json);
            }
            Err(why) => {
                notes.push(format!("gas report: not included ({why}; pass --gas-report FILE: `taonado gas-report --json` output or target/gas-report.md)"));
                files.insert(
                    "gas-report.md".into(),
                    format!("Not available: {why}.\n").into_bytes(),
                );
            }
        },
    }
    match &plan.test_list {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| AuditError::Read {
                path: path.clone(),
                source,
            })?;
            files.insert("tests.txt".into(), bytes);
        }
        None => {
            notes.push("test list: not available to an installed binary (pass --test-list FILE, e.g. the output of `cargo test --workspace -- --list` in a checkout)".into());
            files.insert(
                "tests.txt".into(),
                b"Not available: an installed taonado binary cannot list the workspace's tests.\nRun `cargo test --workspace -- --list` in a checkout and pass it with --test-list.\n"
                    .to_vec(),
            );
        }
    }
    files.insert("Cargo.lock".into(), CARGO_LOCK.as_bytes().to_vec());
    files.insert(
        "dependencies.txt".into(),
        dependency_list(CARGO_LOCK).into_bytes(),
    );
    files.insert("known-defects.md".into(), KNOWN_DEFECTS.as_bytes().to_vec());
    files.insert(
        "README.md".into(),
        format!(
            "# Taonado audit package ({})\n\nsources/ (with standard-json-input.json), artifacts/, storage-layouts/, deployment.json,\ngas-report, tests.txt, dependencies.txt (from Cargo.lock), known-defects.md.\n`sha256sum -c {MANIFEST}` checks every file.\n",
            plan.network
        )
        .into_bytes(),
    );
    Ok((files, chain, notes))
}

/// The gas of the deployment's own blocks, as `taonado gas-report --json` reports it.
async fn deploy_gas(plan: &PackagePlan) -> Result<Vec<u8>, String> {
    let (Some(provider), Some((record, from, to))) = (&plan.provider, &plan.deploy_gas) else {
        return Err(
            "no chain or no deployment record to read the deployment's receipts from".into(),
        );
    };
    let usage = taonado_ops::gas_report::gas_usage(provider, record, *from, Some(*to))
        .await
        .map_err(|e| taonado_types::redact_urls(&e.to_string()).replace('\n', " "))?;
    serde_json::to_vec_pretty(&usage).map_err(|e| e.to_string())
}

/// `deployment.json`: the addresses and their on-chain code hashes.
async fn deployed(plan: &PackagePlan, files: &mut BTreeMap<String, Vec<u8>>) -> String {
    let Some(expected) = &plan.expected else {
        files.insert(
            "deployment.json".into(),
            br#"{"deployed": "no deployment record or configured addresses"}"#.to_vec(),
        );
        return "no deployment".into();
    };
    let mut entries: Vec<DeployedEntry> = crate::assess::targets(expected)
        .into_iter()
        .map(|(name, address, _, _)| DeployedEntry {
            name,
            address,
            code_keccak256: None,
            code_bytes: None,
        })
        .collect();
    let mut chain = "not read: no chain given".to_owned();
    if let Some(provider) = &plan.provider {
        chain = "read".to_owned();
        for entry in &mut entries {
            match provider.get_code_at(entry.address).await {
                Ok(code) => {
                    entry.code_keccak256 = Some(keccak256(&code).to_string());
                    entry.code_bytes = Some(code.len());
                }
                Err(e) => {
                    chain = format!(
                        "not read: {}",
                        taonado_types::redact_urls(&e.to_string()).replace('\n', " ")
                    );
                    for entry in &mut entries {
                        entry.code_keccak256 = None;
                        entry.code_bytes = None;
                    }
                    break;
                }
            }
        }
    }
    let doc = serde_json::json!({
        "network": plan.network,
        "chain_id": expected.chain_id,
        "code_hashes": chain,
        "contracts": entries,
    });
    files.insert(
        "deployment.json".into(),
        serde_json::to_vec_pretty(&doc).unwrap_or_default(),
    );
    chain
}

/// The manifest: `<sha256>  <path>` per file, sorted by path (`sha256sum -c` reads it).
pub fn manifest(files: &BTreeMap<String, Vec<u8>>) -> String {
    files
        .iter()
        .map(|(path, bytes)| format!("{}  {path}\n", sha256_hex(bytes)))
        .collect()
}

/// Writes the package folder.
pub async fn package(plan: &PackagePlan) -> Result<PackageReport, AuditError> {
    let (files, chain, notes) = contents(plan).await?;
    let manifest = manifest(&files);
    let out = &plan.out;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuditError::Io { path, source }
    };
    if out.exists() {
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            if !out.join(MANIFEST).is_file() {
                return Err(AuditError::NotAPackage(out.clone()));
            }
            std::fs::remove_dir_all(out).map_err(io(out))?;
        }
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    for (path, bytes) in &files {
        let target = out.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&target, bytes).map_err(io(&target))?;
    }
    let manifest_path = out.join(MANIFEST);
    std::fs::write(&manifest_path, &manifest).map_err(io(&manifest_path))?;
    Ok(PackageReport {
        out: out.clone(),
        files: files
            .iter()
            .map(|(path, bytes)| PackageFile {
                path: path.clone(),
                sha256: sha256_hex(bytes),
                bytes: bytes.len(),
            })
            .collect(),
        manifest_sha256: sha256_hex(manifest.as_bytes()),
        chain,
        notes,
    })
}

/// A package re-read: every file of its manifest hashed again.
#[derive(Clone, Debug, Serialize)]
pub struct PackageCheck {
    pub dir: PathBuf,
    pub files: usize,
    pub manifest_sha256: String,
    /// Files that are missing or whose hash differs from the manifest, and files the
    /// manifest does not list.
    pub problems: Vec<String>,
}

impl PackageCheck {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Re-hashes every file of the package at `dir` against its manifest.
pub fn check_package(dir: &Path) -> Result<PackageCheck, AuditError> {
    let manifest_path = dir.join(MANIFEST);
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|source| AuditError::Read {
        path: manifest_path.clone(),
        source,
    })?;
    let mut problems = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    for line in manifest.lines() {
        let Some((hash, path)) = line.split_once("  ") else {
            problems.push(format!("malformed manifest line: {line}"));
            continue;
        };
        listed.insert(path.to_owned());
        let Some(rel) = safe_relative(path) else {
            problems.push(format!("{path}: not a path inside the package"));
            continue;
        };
        match std::fs::read(dir.join(rel)) {
            Ok(bytes) if sha256_hex(&bytes) == hash => {}
            Ok(_) => problems.push(format!("{path}: changed since the package was made")),
            Err(e) => problems.push(format!("{path}: {e}")),
        }
    }
    let mut present = Vec::new();
    walk(dir, dir, &mut present).map_err(|source| AuditError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for path in present {
        if path != MANIFEST && !listed.contains(&path) {
            problems.push(format!("{path}: not in the manifest"));
        }
    }
    Ok(PackageCheck {
        dir: dir.to_path_buf(),
        files: listed.len(),
        manifest_sha256: sha256_hex(manifest.as_bytes()),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_list_names_each_locked_package() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.2.3\"\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\nsource = \"x\"\n";
        assert_eq!(dependency_list(lock), "a 1.2.3\nb 0.1.0\n");
        assert!(dependency_list(CARGO_LOCK).contains("alloy-primitives "));
    }

    #[test]
    fn unsafe_source_paths_are_refused() {
        assert!(safe_relative("src/a.sol").is_some());
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
    }

    #[tokio::test]
    async fn the_same_tree_gives_the_same_manifest_and_a_foreign_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plan = PackagePlan {
            out: dir.path().join("pkg"),
            network: "local".into(),
            expected: None,
            provider: None,
            gas_report: None,
            deploy_gas: None,
            test_list: None,
        };
        let a = package(&plan).await.unwrap();
        let b = package(&plan).await.unwrap();
        assert_eq!(a.manifest_sha256, b.manifest_sha256);
        let text = std::fs::read_to_string(plan.out.join(MANIFEST)).unwrap();
        assert!(text.contains("  artifacts/WTAO.json\n"), "{text}");
        assert!(text.contains("  storage-layouts/EvmValidator.json\n"));
        assert!(text.contains("  sources/src/mining/WeightsV3.sol\n"));
        let check = check_package(&plan.out).unwrap();
        assert!(check.intact(), "{:?}", check.problems);
        assert_eq!(check.manifest_sha256, a.manifest_sha256);
        std::fs::write(plan.out.join("known-defects.md"), b"none").unwrap();
        std::fs::write(plan.out.join("extra.txt"), b"x").unwrap();
        let check = check_package(&plan.out).unwrap();
        assert_eq!(check.problems.len(), 2, "{:?}", check.problems);
        std::fs::create_dir(dir.path().join("other")).unwrap();
        std::fs::write(dir.path().join("other/keep"), b"x").unwrap();
        let foreign = PackagePlan {
            out: dir.path().join("other"),
            ..plan
        };
        assert!(matches!(
            package(&foreign).await,
            Err(AuditError::NotAPackage(_))
        ));
        assert!(dir.path().join("other/keep").exists());
    }
}
