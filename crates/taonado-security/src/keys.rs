//! `keys list` and `keys audit`: the keystores taonado knows, and what is wrong with how
//! they and other secrets are kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use alloy_primitives::Address;
use serde::Serialize;

use crate::{SecurityError, secrets};

/// Foundry's default keystore KDF (eth-keystore: scrypt, log₂N 13, r 8, p 1). A keystore
/// whose scrypt costs less, or that uses PBKDF2 (not memory-hard), is weaker.
const FOUNDRY_SCRYPT_COST: u64 = 8192 * 8;

/// Where to look and what the configuration says.
#[derive(Clone, Debug)]
pub struct KeysPlan {
    /// Foundry's keystore folder (`~/.foundry/keystores`).
    pub foundry_keystores: PathBuf,
    /// Keystore files the configuration names, each with its role ("signer of mainnet").
    pub configured: Vec<(PathBuf, String)>,
    /// Addresses with a role, from the deployment records ("deployer of local").
    pub known_addresses: Vec<(Address, String)>,
    /// Folders whose files are secrets (note backups, key backups): files 0600, folder
    /// closed to others.
    pub private_dirs: Vec<PathBuf>,
    /// Files that must not hold a plaintext key or mnemonic (`taonado.toml`, `.env`).
    pub config_files: Vec<PathBuf>,
    /// Shell histories to check.
    pub histories: Vec<PathBuf>,
    /// The environment (name, value); values are checked, never kept.
    pub environment: Vec<(String, String)>,
    /// When each address became an owner through `keys rotate` (the rotation records):
    /// such a key's age counts from then, not from its file's time.
    pub rotated_in: Vec<(Address, SystemTime)>,
    /// A key older than this is due for rotation (the manual rotates quarterly: 90 days).
    pub rotation: Duration,
    pub now: SystemTime,
}

/// How a keystore derives its encryption key from the password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kdf", rename_all = "lowercase")]
pub enum KeystoreKdf {
    Scrypt { n: u64, r: u64, p: u64 },
    Pbkdf2 { c: u64 },
    Other { name: String },
}

impl KeystoreKdf {
    /// Why it is weaker than Foundry's default, if it is.
    pub fn weakness(&self) -> Option<String> {
        match self {
            Self::Scrypt { n, r, p }
                if n.saturating_mul(*r).saturating_mul(*p) < FOUNDRY_SCRYPT_COST =>
            {
                Some(format!(
                    "scrypt n={n} r={r} p={p} costs less than Foundry's default (n=8192 r=8 p=1)"
                ))
            }
            Self::Scrypt { .. } => None,
            Self::Pbkdf2 { c } => Some(format!(
                "pbkdf2 ({c} iterations) is not memory-hard; Foundry's default is scrypt"
            )),
            Self::Other { name } => Some(format!("unknown KDF {name:?}")),
        }
    }
}

/// One keystore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyEntry {
    /// The file name (the `--account` name for Foundry's folder).
    pub name: String,
    pub path: PathBuf,
    /// As the file records it (geth-style `address`); the key is never decrypted.
    pub address: Option<Address>,
    /// What the configuration and the deployment records make it.
    pub roles: Vec<String>,
    /// Days since the key was rotated in, when a rotation record names it; else since the
    /// file was last written.
    pub age_days: Option<u64>,
    /// Unix permission bits.
    pub mode: Option<u32>,
    pub kdf: Option<KeystoreKdf>,
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A secret file others can read or write.
    FileMode,
    /// A folder of secrets others can read.
    FolderMode,
    /// A private key or mnemonic in plain text.
    PlaintextSecret,
    /// A key older than the rotation period.
    KeyAge,
    /// One key with several roles.
    SeveralRoles,
    /// A keystore KDF weaker than Foundry's default.
    WeakKdf,
    /// A file that should be checked could not be read.
    Unreadable,
    /// An owned contract whose on-chain `owner()` is not who must own it.
    Owner,
}

/// One problem, in one line: what, where, and what to do. Never the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
    pub message: String,
}

/// `keys audit`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub keys: Vec<KeyEntry>,
    pub findings: Vec<Finding>,
    /// What was looked at, for the record.
    pub checked: Vec<String>,
}

impl AuditReport {
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Every keystore of the plan: Foundry's folder, then the configured files not in it.
pub fn inventory(plan: &KeysPlan) -> Result<Vec<KeyEntry>, SecurityError> {
    let mut files: Vec<PathBuf> = Vec::new();
    match std::fs::read_dir(&plan.foundry_keystores) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io(&plan.foundry_keystores))?;
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if path.is_file() && !hidden {
                    files.push(path);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&plan.foundry_keystores)(e)),
    }
    files.sort();
    for (path, _) in &plan.configured {
        if path.is_file() && !files.iter().any(|f| same_file(f, path)) {
            files.push(path.clone());
        }
    }
    let mut keys = Vec::with_capacity(files.len());
    for path in files {
        let metadata = std::fs::metadata(&path).map_err(io(&path))?;
        let json: Option<serde_json::Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let address = json
            .as_ref()
            .and_then(|j| j["address"].as_str())
            .and_then(|a| format!("0x{}", a.trim_start_matches("0x")).parse().ok());
        let mut roles: Vec<String> = plan
            .configured
            .iter()
            .filter(|(configured, _)| same_file(configured, &path))
            .map(|(_, role)| role.clone())
            .collect();
        if let Some(address) = address {
            roles.extend(
                plan.known_addresses
                    .iter()
                    .filter(|(a, _)| *a == address)
                    .map(|(_, role)| role.clone()),
            );
        }
        roles.sort();
        roles.dedup();
        let rotated_in = address.and_then(|address| {
            plan.rotated_in
                .iter()
                .filter(|(a, _)| *a == address)
                .map(|(_, at)| *at)
                .max()
        });
        let born = rotated_in.or_else(|| metadata.modified().ok());
        keys.push(KeyEntry {
            name: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            age_days: born
                .map(|at| plan.now.duration_since(at).unwrap_or_default())
                .map(|age| age.as_secs() / 86_400),
            mode: mode_of(&metadata),
            kdf: json.as_ref().and_then(kdf_of),
            address,
            roles,
            path,
        });
    }
    Ok(keys)
}

/// [`audit`], and with `onchain` each owned contract's `owner()` as well (see `owners`).
pub async fn audit_with_owners(
    plan: &KeysPlan,
    onchain: Option<&crate::owners::OwnerCheck>,
) -> Result<AuditReport, SecurityError> {
    let mut report = audit(plan)?;
    if let Some(check) = onchain {
        let (findings, checked) = crate::owners::owner_findings(check).await;
        report.findings.extend(findings);
        report.checked.extend(checked);
    }
    Ok(report)
}

/// Checks the keystores, the folders of secrets, and the places a key must never be.
pub fn audit(plan: &KeysPlan) -> Result<AuditReport, SecurityError> {
    let keys = inventory(plan)?;
    let mut findings = Vec::new();
    let mut checked = vec![format!("{} keystore(s)", keys.len())];
    let mut folders: BTreeMap<PathBuf, ()> = BTreeMap::new();
    for key in &keys {
        check_file_mode(&key.path, key.mode, &mut findings);
        if let Some(parent) = key.path.parent() {
            folders.insert(parent.to_path_buf(), ());
        }
        if let Some(weakness) = key.kdf.as_ref().and_then(KeystoreKdf::weakness) {
            findings.push(Finding {
                kind: FindingKind::WeakKdf,
                path: Some(key.path.clone()),
                line: None,
                message: format!("{}: {weakness}; re-encrypt it (cast wallet change-password, or a new keystore)", key.path.display()),
            });
        }
        let rotation_days = plan.rotation.as_secs() / 86_400;
        if let Some(age) = key.age_days.filter(|age| *age > rotation_days) {
            findings.push(Finding {
                kind: FindingKind::KeyAge,
                path: Some(key.path.clone()),
                line: None,
                message: format!(
                    "{}: {age} days old, past the {rotation_days}-day rotation period; rotate it",
                    key.path.display()
                ),
            });
        }
        if key.roles.len() > 1 {
            findings.push(Finding {
                kind: FindingKind::SeveralRoles,
                path: Some(key.path.clone()),
                line: None,
                message: format!(
                    "{}: one key holds {} roles ({}); give each role its own key",
                    key.path.display(),
                    key.roles.len(),
                    key.roles.join(", ")
                ),
            });
        }
    }
    for dir in &plan.private_dirs {
        if !dir.is_dir() {
            continue;
        }
        folders.insert(dir.clone(), ());
        checked.push(format!("secret files in {}", dir.display()));
        let entries = std::fs::read_dir(dir).map_err(io(dir))?;
        for entry in entries {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            if path.is_file() {
                let mode = std::fs::metadata(&path).ok().as_ref().and_then(mode_of);
                check_file_mode(&path, mode, &mut findings);
            }
        }
    }
    for dir in folders.keys() {
        let mode = std::fs::metadata(dir).ok().as_ref().and_then(mode_of);
        if let Some(mode) = mode.filter(|m| m & 0o077 != 0) {
            findings.push(Finding {
                kind: FindingKind::FolderMode,
                path: Some(dir.clone()),
                line: None,
                message: format!("{}: folder of secrets is mode {:04o}, others can list or read it; chmod 700 {}", dir.display(), mode & 0o7777, dir.display()),
            });
        }
    }
    // The config the CLI loaded is also `./taonado.toml` under another spelling: each file
    // is read once, or its findings would be told twice.
    let mut scanned: Vec<PathBuf> = Vec::new();
    for file in &plan.config_files {
        let real = file.canonicalize().unwrap_or_else(|_| file.clone());
        if scanned.contains(&real) {
            continue;
        }
        scanned.push(real);
        scan_file(
            file,
            secrets::scan_assignments,
            "config",
            &mut checked,
            &mut findings,
        );
    }
    for file in &plan.histories {
        scan_file(
            file,
            secrets::scan_history,
            "history",
            &mut checked,
            &mut findings,
        );
    }
    checked.push(format!("{} environment variables", plan.environment.len()));
    for (name, value) in &plan.environment {
        if let Some(what) = secrets::secret_in_value(name, value) {
            findings.push(Finding {
                kind: FindingKind::PlaintextSecret,
                path: None,
                line: None,
                message: format!("the environment variable {name} holds {what} in plain text; prefer an encrypted keystore (--keystore or --account)"),
            });
        }
    }
    findings.sort_by(|a, b| (a.kind, &a.path, a.line).cmp(&(b.kind, &b.path, b.line)));
    Ok(AuditReport {
        keys,
        findings,
        checked,
    })
}

fn scan_file(
    file: &Path,
    scan: fn(&str) -> Vec<(usize, &'static str)>,
    label: &str,
    checked: &mut Vec<String>,
    findings: &mut Vec<Finding>,
) {
    let text = match std::fs::read(file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            findings.push(Finding {
                kind: FindingKind::Unreadable,
                path: Some(file.to_path_buf()),
                line: None,
                message: format!(
                    "{}: cannot be read to check it for secrets ({e})",
                    file.display()
                ),
            });
            return;
        }
    };
    checked.push(format!("{label} {}", file.display()));
    for (line, what) in scan(&text) {
        findings.push(Finding {
            kind: FindingKind::PlaintextSecret,
            path: Some(file.to_path_buf()),
            line: Some(line),
            message: format!("{}:{line}: {what} in plain text; remove it (and rotate the key) and use an encrypted keystore", file.display()),
        });
    }
}

fn check_file_mode(path: &Path, mode: Option<u32>, findings: &mut Vec<Finding>) {
    if let Some(mode) = mode.filter(|m| m & 0o077 != 0) {
        findings.push(Finding {
            kind: FindingKind::FileMode,
            path: Some(path.to_path_buf()),
            line: None,
            message: format!(
                "{}: mode {:04o}, others can read it; chmod 600 {}",
                path.display(),
                mode & 0o7777,
                path.display()
            ),
        });
    }
}

fn kdf_of(json: &serde_json::Value) -> Option<KeystoreKdf> {
    let crypto = json.get("crypto").or_else(|| json.get("Crypto"))?;
    let name = crypto["kdf"].as_str()?;
    let params = &crypto["kdfparams"];
    let number = |key: &str| params[key].as_u64().unwrap_or(0);
    Some(match name {
        "scrypt" => KeystoreKdf::Scrypt {
            n: number("n"),
            r: number("r"),
            p: number("p"),
        },
        "pbkdf2" => KeystoreKdf::Pbkdf2 { c: number("c") },
        other => KeystoreKdf::Other {
            name: other.to_owned(),
        },
    })
}

#[cfg(unix)]
fn mode_of(metadata: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(metadata.permissions().mode())
}

#[cfg(not(unix))]
fn mode_of(_metadata: &std::fs::Metadata) -> Option<u32> {
    None
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SecurityError + '_ {
    move |source| SecurityError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ADDRESS: &str = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

    fn keystore(dir: &Path, name: &str, kdf: &str, mode: u32) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let params = if kdf == "scrypt" {
            serde_json::json!({"n": 8192, "r": 8, "p": 1, "dklen": 32, "salt": "00"})
        } else {
            serde_json::json!({"c": 10240, "dklen": 32, "prf": "hmac-sha256", "salt": "00"})
        };
        let json = serde_json::json!({
            "address": ADDRESS, "version": 3, "id": "x",
            "crypto": {"cipher": "aes-128-ctr", "ciphertext": "00", "kdf": kdf, "kdfparams": params, "mac": "00"}
        });
        let path = dir.join(name);
        std::fs::write(&path, json.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn plan(root: &Path) -> KeysPlan {
        KeysPlan {
            foundry_keystores: root.join(".foundry/keystores"),
            configured: Vec::new(),
            known_addresses: Vec::new(),
            private_dirs: vec![root.join(".taonado/notes")],
            config_files: vec![root.join("taonado.toml"), root.join(".env")],
            histories: vec![root.join(".bash_history")],
            environment: vec![("HOME".into(), "/root".into())],
            rotated_in: Vec::new(),
            rotation: Duration::from_secs(90 * 86_400),
            now: SystemTime::now(),
        }
    }

    #[test]
    fn a_well_kept_keystore_passes_and_is_listed_without_decrypting() {
        let root = tempfile::tempdir().unwrap();
        let plan = plan(root.path());
        let path = keystore(&plan.foundry_keystores, "deployer", "scrypt", 0o600);
        std::fs::set_permissions(
            &plan.foundry_keystores,
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let report = audit(&plan).unwrap();
        assert!(report.passed(), "{:#?}", report.findings);
        assert_eq!(report.keys.len(), 1);
        let key = &report.keys[0];
        assert_eq!((key.name.as_str(), &key.path), ("deployer", &path));
        assert_eq!(key.address, Some(format!("0x{ADDRESS}").parse().unwrap()));
        assert_eq!(key.mode.map(|m| m & 0o777), Some(0o600));
        assert_eq!(key.age_days, Some(0));
        assert_eq!(
            key.kdf,
            Some(KeystoreKdf::Scrypt {
                n: 8192,
                r: 8,
                p: 1
            })
        );
    }

    #[test]
    fn every_finding_is_one_line_naming_where_and_never_the_secret() {
        let root = tempfile::tempdir().unwrap();
        let mut plan = plan(root.path());
        let open = keystore(&plan.foundry_keystores, "open", "pbkdf2", 0o644);
        std::fs::set_permissions(
            &plan.foundry_keystores,
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let configured = keystore(&root.path().join("keys"), "owner.json", "scrypt", 0o600);
        std::fs::set_permissions(
            root.path().join("keys"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        plan.configured = vec![(configured.clone(), "signer of mainnet".into())];
        plan.known_addresses = vec![(
            format!("0x{ADDRESS}").parse().unwrap(),
            "deployer of local".into(),
        )];
        let notes = root.path().join(".taonado/notes");
        std::fs::create_dir_all(&notes).unwrap();
        std::fs::write(notes.join("local.txt"), "taonado-wtao-1-42-0x00").unwrap();
        std::fs::set_permissions(
            notes.join("local.txt"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            root.path().join("taonado.toml"),
            format!("[networks.local]\nprivate_key = \"0x{KEY}\"\n"),
        )
        .unwrap();
        std::fs::write(
            root.path().join(".bash_history"),
            format!("ls\ncast send --private-key {KEY} 0x1\n"),
        )
        .unwrap();
        plan.environment
            .push(("TAONADO_PRIVATE_KEY".into(), format!("0x{KEY}")));
        // A quarter and a day later, every key is due for rotation.
        plan.now = SystemTime::now() + Duration::from_secs(91 * 86_400);

        let report = audit(&plan).unwrap();
        let kinds: Vec<(FindingKind, Option<&Path>)> = report
            .findings
            .iter()
            .map(|f| (f.kind, f.path.as_deref()))
            .collect();
        let keystores = plan.foundry_keystores.as_path();
        let note = notes.join("local.txt");
        let history_file = root.path().join(".bash_history");
        let config_file = root.path().join("taonado.toml");
        let expected = vec![
            (FindingKind::FileMode, Some(note.as_path())),
            (FindingKind::FileMode, Some(open.as_path())),
            (FindingKind::FolderMode, Some(keystores)),
            (FindingKind::PlaintextSecret, None),
            (FindingKind::PlaintextSecret, Some(history_file.as_path())),
            (FindingKind::PlaintextSecret, Some(config_file.as_path())),
            (FindingKind::KeyAge, Some(configured.as_path())),
            (FindingKind::KeyAge, Some(open.as_path())),
            (FindingKind::SeveralRoles, Some(configured.as_path())),
            (FindingKind::WeakKdf, Some(open.as_path())),
        ];
        let mut expected = expected;
        expected.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut found = kinds.clone();
        found.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        assert_eq!(found, expected, "{:#?}", report.findings);
        for finding in &report.findings {
            assert!(!finding.message.contains(KEY), "{}", finding.message);
            assert!(!finding.message.contains('\n'), "{}", finding.message);
        }
        // The same config under another spelling is read once.
        let mut twice = plan.clone();
        twice
            .config_files
            .push(root.path().join(".").join("taonado.toml"));
        assert_eq!(audit(&twice).unwrap().findings.len(), report.findings.len());
        let history = report
            .findings
            .iter()
            .find(|f| {
                f.line.is_some()
                    && f.path.as_deref() == Some(root.path().join(".bash_history").as_path())
            })
            .unwrap();
        assert_eq!(history.line, Some(2));
    }

    #[test]
    fn a_rotated_in_key_is_as_old_as_its_rotation() {
        let root = tempfile::tempdir().unwrap();
        let mut plan = plan(root.path());
        keystore(&plan.foundry_keystores, "owner", "scrypt", 0o600);
        let now = SystemTime::now();
        let address: Address = format!("0x{ADDRESS}").parse().unwrap();
        plan.now = now + Duration::from_secs(100 * 86_400);
        plan.rotated_in = vec![
            (address, now + Duration::from_secs(20 * 86_400)),
            (address, now + Duration::from_secs(40 * 86_400)),
            (Address::repeat_byte(9), now),
        ];
        let keys = inventory(&plan).unwrap();
        assert_eq!(keys[0].age_days, Some(60), "since the latest rotation in");
        plan.rotated_in.clear();
        assert_eq!(inventory(&plan).unwrap()[0].age_days, Some(100));
    }
}
