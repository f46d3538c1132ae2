//! Key backups (`keys backup`, `keys backup verify`, `keys restore`, and the keys of
//! `backup create --include-keys`): keystores and note files in one age-encrypted archive.
//!
//! The archive is JSON (a manifest, then each file's bytes in hex) encrypted with the `age`
//! crate to a passphrase (scrypt) or to a post-quantum recipient (`age1pq1…`). Paths are relative
//! to the home folder (`.foundry/keystores/NAME`, `.taonado/notes/FILE`); a configured
//! keystore outside it is kept as `.taonado/restored-keys/NAME`. Verification decrypts in
//! memory only and checks every file's SHA-256 and every keystore's recorded address;
//! keystore passwords are never needed. Restore verifies everything first, never replaces
//! an existing file, creates folders 0700 and files 0600.

use std::io::{Read as _, Write as _};
use std::path::{Component, Path, PathBuf};

pub use age::secrecy::{ExposeSecret, SecretString};
use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The archive's format name, checked on read.
const FORMAT: &str = "taonado-key-backup";
const VERSION: u32 = 1;
/// Where keystores from outside the home folder are restored.
const OUTSIDE_HOME: &str = ".taonado/restored-keys";

/// How the archive is locked.
pub enum Lock {
    Passphrase(SecretString),
    /// An age post-quantum recipient (`age1pq1…`); its identity file unlocks it.
    Recipient(String),
}

/// How the archive is unlocked.
pub enum Unlock {
    Passphrase(SecretString),
    /// An age identity file (`AGE-SECRET-KEY-1…` lines).
    IdentityFile(PathBuf),
}

/// What a file in the backup is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Keystore,
    Note,
}

/// One file of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the home folder.
    pub path: String,
    pub kind: FileKind,
    /// A keystore's address as its file records it.
    pub address: Option<Address>,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Archive {
    format: String,
    version: u32,
    created_at: u64,
    tool_version: String,
    manifest: Vec<ManifestEntry>,
    /// Each manifest entry's bytes, hex, in the same order.
    files: Vec<String>,
}

/// What to back up.
#[derive(Clone, Debug)]
pub struct BackupSources {
    pub home: PathBuf,
    /// Keystores the configuration names, wherever they are.
    pub extra_keystores: Vec<PathBuf>,
}

/// What went wrong. `Decrypt`, `Format`, `Lock` and `UnsafePath` are the caller's input
/// (usage); `Mismatch` and `Exists` are failed checks.
#[derive(Debug, thiserror::Error)]
pub enum KeyBackupError {
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decrypt the key backup {path}: {reason}")]
    Decrypt { path: PathBuf, reason: String },
    #[error("{path} is not a taonado key backup ({reason})")]
    Format { path: PathBuf, reason: String },
    #[error("{0}")]
    Lock(String),
    #[error("the key backup holds an unsafe path {0:?} (absolute or with ..); refusing it")]
    UnsafePath(String),
    #[error("key backup check failed: {0}")]
    Mismatch(String),
    #[error(
        "{} file(s) already exist with other contents ({}); nothing was restored; move them away first",
        .0.len(),
        .0.join(", ")
    )]
    Exists(Vec<String>),
    #[error(
        "there is nothing to back up: no keystore in ~/.foundry/keystores or the configuration, no note in ~/.taonado/notes"
    )]
    Empty,
}

impl KeyBackupError {
    /// A problem with what the caller gave (exit 2) rather than a failed check (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Decrypt { .. }
                | Self::Format { .. }
                | Self::Lock(_)
                | Self::UnsafePath(_)
                | Self::Empty
        )
    }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> KeyBackupError + 'a {
    move |source| KeyBackupError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The files a backup takes: Foundry's keystores, the configured ones, the note files.
pub fn collect(
    sources: &BackupSources,
) -> Result<Vec<(String, PathBuf, FileKind)>, KeyBackupError> {
    let mut files = Vec::new();
    let keystores = sources.home.join(".foundry/keystores");
    let notes = sources.home.join(".taonado/notes");
    for (dir, kind) in [(keystores, FileKind::Keystore), (notes, FileKind::Note)] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("read", &dir)(e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("read", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && !name.starts_with('.') {
                found.push((name, entry.path()));
            }
        }
        found.sort();
        for (_, path) in found {
            files.push((relative(&sources.home, &path), path, kind));
        }
    }
    for path in &sources.extra_keystores {
        if !path.is_file() {
            continue;
        }
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if files
            .iter()
            .any(|(_, p, _)| p.canonicalize().unwrap_or_else(|_| p.clone()) == canonical)
        {
            continue;
        }
        files.push((
            relative(&sources.home, path),
            path.clone(),
            FileKind::Keystore,
        ));
    }
    Ok(files)
}

/// `path` relative to `home`, or `OUTSIDE_HOME/<name>` for a file elsewhere.
fn relative(home: &Path, path: &Path) -> String {
    let home = home.canonicalize().unwrap_or_else(|_| home.to_path_buf());
    let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    match full.strip_prefix(&home) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => format!(
            "{OUTSIDE_HOME}/{}",
            path.file_name()
                .map_or_else(|| "keystore".into(), |n| n.to_string_lossy())
        ),
    }
}

/// A keystore's address as the file records it (geth-style `address`, no `0x`).
fn recorded_address(bytes: &[u8]) -> Option<Address> {
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let text = json["address"].as_str()?;
    format!("0x{}", text.trim_start_matches("0x")).parse().ok()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Builds and encrypts the archive of `sources`. Returns the age file and its manifest.
pub fn create(
    sources: &BackupSources,
    lock: &Lock,
    now: u64,
) -> Result<(Vec<u8>, Vec<ManifestEntry>), KeyBackupError> {
    let files = collect(sources)?;
    if files.is_empty() {
        return Err(KeyBackupError::Empty);
    }
    let mut manifest = Vec::with_capacity(files.len());
    let mut contents = Vec::with_capacity(files.len());
    for (rel, path, kind) in files {
        let bytes = std::fs::read(&path).map_err(io("read", &path))?;
        manifest.push(ManifestEntry {
            path: rel,
            kind,
            address: match kind {
                FileKind::Keystore => recorded_address(&bytes),
                FileKind::Note => None,
            },
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        });
        contents.push(hex::encode(&bytes));
    }
    let archive = Archive {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at: now,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        manifest: manifest.clone(),
        files: contents,
    };
    let plain = serde_json::to_vec(&archive).map_err(|e| KeyBackupError::Lock(e.to_string()))?;
    Ok((encrypt(&plain, lock)?, manifest))
}

/// Encrypts `plain` with age.
pub fn encrypt(plain: &[u8], lock: &Lock) -> Result<Vec<u8>, KeyBackupError> {
    let encryptor = match lock {
        Lock::Passphrase(passphrase) => age::Encryptor::with_user_passphrase(copy(passphrase)),
        Lock::Recipient(text) => {
            let text = text.trim();
            let recipient: age::pq::Recipient = text.parse().map_err(|e| {
                KeyBackupError::Lock(format!(
                    "--recipient {text:?} is not an age post-quantum recipient (age1pq1…, from `age-keygen -pq`): {e}"
                ))
            })?;
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| KeyBackupError::Lock(e.to_string()))?
        }
    };
    let mut out = Vec::new();
    let wrap_error =
        |e: std::io::Error| KeyBackupError::Lock(format!("age encryption failed: {e}"));
    let mut writer = encryptor.wrap_output(&mut out).map_err(wrap_error)?;
    writer.write_all(plain).map_err(wrap_error)?;
    writer.finish().map_err(wrap_error)?;
    Ok(out)
}

/// A second handle on a passphrase (age takes its own).
fn copy(secret: &SecretString) -> SecretString {
    SecretString::from(secret.expose_secret().to_owned())
}

/// Decrypts an age file in memory.
pub fn decrypt(file: &Path, encrypted: &[u8], unlock: &Unlock) -> Result<Vec<u8>, KeyBackupError> {
    let fail = |reason: String| KeyBackupError::Decrypt {
        path: file.to_path_buf(),
        reason,
    };
    let decryptor = age::Decryptor::new_buffered(encrypted)
        .map_err(|e| fail(format!("not an age file ({e})")))?;
    let mut reader = match unlock {
        Unlock::Passphrase(passphrase) => {
            if !decryptor.is_scrypt() {
                return Err(fail(
                    "it is encrypted to a recipient; pass --identity FILE".to_owned(),
                ));
            }
            let identity = age::scrypt::Identity::new(copy(passphrase));
            decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map_err(|_| fail("wrong passphrase".to_owned()))?
        }
        Unlock::IdentityFile(path) => {
            let identities = age::IdentityFile::from_file(path.to_string_lossy().into_owned())
                .map_err(|e| {
                    fail(format!(
                        "cannot read the identity file {}: {e}",
                        path.display()
                    ))
                })?
                .into_identities()
                .map_err(|e| fail(format!("bad identity file {}: {e}", path.display())))?;
            decryptor
                .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
                .map_err(|_| fail("no identity in the identity file matches".to_owned()))?
        }
    };
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|e| fail(format!("corrupted payload ({e})")))?;
    Ok(plain)
}

/// A verified archive: its manifest and each file's bytes.
pub struct Opened {
    pub created_at: u64,
    pub manifest: Vec<ManifestEntry>,
    pub files: Vec<Vec<u8>>,
}

/// One line of a verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckedEntry {
    pub path: String,
    pub kind: FileKind,
    pub address: Option<Address>,
    pub sha256_ok: bool,
    /// For a keystore: the address the keystore JSON records equals the manifest's (`None`
    /// for a note, or a keystore that records none).
    pub address_ok: Option<bool>,
}

/// `keys backup verify`'s answer.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub file: PathBuf,
    pub created_at: u64,
    pub keystores: usize,
    pub notes: usize,
    pub entries: Vec<CheckedEntry>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.entries
            .iter()
            .all(|e| e.sha256_ok && e.address_ok != Some(false))
    }
}

/// Decrypts and parses the archive, checking every hash and keystore address.
pub fn open(
    file: &Path,
    encrypted: &[u8],
    unlock: &Unlock,
) -> Result<(Opened, VerifyReport), KeyBackupError> {
    let plain = decrypt(file, encrypted, unlock)?;
    let format = |reason: String| KeyBackupError::Format {
        path: file.to_path_buf(),
        reason,
    };
    let archive: Archive =
        serde_json::from_slice(&plain).map_err(|e| format(format!("bad JSON: {e}")))?;
    if archive.format != FORMAT {
        return Err(format(format!("format {:?}", archive.format)));
    }
    if archive.version != VERSION {
        return Err(format(format!(
            "version {} (this taonado reads {VERSION})",
            archive.version
        )));
    }
    if archive.files.len() != archive.manifest.len() {
        return Err(format(format!(
            "{} files for {} manifest entries",
            archive.files.len(),
            archive.manifest.len()
        )));
    }
    let mut files = Vec::with_capacity(archive.files.len());
    let mut entries = Vec::with_capacity(archive.files.len());
    for (entry, text) in archive.manifest.iter().zip(&archive.files) {
        safe_relative(&entry.path)?;
        let bytes = hex::decode(text).map_err(|e| format(format!("{}: {e}", entry.path)))?;
        let sha256_ok = sha256_hex(&bytes) == entry.sha256 && bytes.len() as u64 == entry.bytes;
        // A keystore that records no address (and none in the manifest) has nothing to
        // check without its password.
        let recorded = recorded_address(&bytes);
        let address_ok = match entry.kind {
            FileKind::Keystore if entry.address.is_some() || recorded.is_some() => {
                Some(recorded == entry.address)
            }
            _ => None,
        };
        entries.push(CheckedEntry {
            path: entry.path.clone(),
            kind: entry.kind,
            address: entry.address,
            sha256_ok,
            address_ok,
        });
        files.push(bytes);
    }
    let report = VerifyReport {
        file: file.to_path_buf(),
        created_at: archive.created_at,
        keystores: archive
            .manifest
            .iter()
            .filter(|e| e.kind == FileKind::Keystore)
            .count(),
        notes: archive
            .manifest
            .iter()
            .filter(|e| e.kind == FileKind::Note)
            .count(),
        entries,
    };
    Ok((
        Opened {
            created_at: archive.created_at,
            manifest: archive.manifest,
            files,
        },
        report,
    ))
}

/// A relative path with only normal components.
fn safe_relative(path: &str) -> Result<PathBuf, KeyBackupError> {
    let p = PathBuf::from(path);
    let ok = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    ok.then_some(p)
        .ok_or_else(|| KeyBackupError::UnsafePath(path.to_owned()))
}

/// `keys restore`'s answer.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    pub file: PathBuf,
    pub home: PathBuf,
    /// Files written.
    pub restored: Vec<PathBuf>,
    /// Files already there with the same contents: left as they were.
    pub present: Vec<PathBuf>,
}

/// Verifies the archive, then writes its files under `home`: never replacing a file, folders
/// created 0700, files 0600. A file that exists with other contents stops the restore
/// before anything is written.
pub fn restore(
    file: &Path,
    encrypted: &[u8],
    unlock: &Unlock,
    home: &Path,
) -> Result<RestoreReport, KeyBackupError> {
    let (opened, report) = open(file, encrypted, unlock)?;
    if !report.passed() {
        let bad: Vec<&str> = report
            .entries
            .iter()
            .filter(|e| !e.sha256_ok || e.address_ok == Some(false))
            .map(|e| e.path.as_str())
            .collect();
        return Err(KeyBackupError::Mismatch(format!(
            "{} does not match its manifest: {}",
            file.display(),
            bad.join(", ")
        )));
    }
    restore_files(home, &opened.manifest, &opened.files, file)
}

/// Writes `files` (verified) under `home`, as [`restore`] does.
pub fn restore_files(
    home: &Path,
    manifest: &[ManifestEntry],
    files: &[Vec<u8>],
    file: &Path,
) -> Result<RestoreReport, KeyBackupError> {
    write_missing(home, manifest, files, file, true)
}

/// What [`restore_files`] would refuse, found without writing: lets a caller that restores
/// other files too refuse before its first write.
pub fn check_restore(
    home: &Path,
    manifest: &[ManifestEntry],
    files: &[Vec<u8>],
) -> Result<(), KeyBackupError> {
    write_missing(home, manifest, files, Path::new(""), false).map(|_| ())
}

fn write_missing(
    home: &Path,
    manifest: &[ManifestEntry],
    files: &[Vec<u8>],
    file: &Path,
    write: bool,
) -> Result<RestoreReport, KeyBackupError> {
    let mut conflicts = Vec::new();
    let mut present = Vec::new();
    let mut todo = Vec::new();
    for (entry, bytes) in manifest.iter().zip(files) {
        let target = home.join(safe_relative(&entry.path)?);
        match std::fs::read(&target) {
            Ok(existing) if existing == *bytes => present.push(target),
            Ok(_) => conflicts.push(target.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => todo.push((target, bytes)),
            Err(e) => return Err(io("read", &target)(e)),
        }
    }
    if !conflicts.is_empty() {
        return Err(KeyBackupError::Exists(conflicts));
    }
    let mut restored = Vec::new();
    for (target, bytes) in todo.into_iter().filter(|_| write) {
        write_new_private(&target, bytes)?;
        restored.push(target);
    }
    Ok(RestoreReport {
        file: file.to_path_buf(),
        home: home.to_path_buf(),
        restored,
        present,
    })
}

/// Creates `path` (which must not exist) with mode 0600, its missing folders with 0700.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), KeyBackupError> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(io("create the folder", dir))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(path).map_err(io("create", path))?;
    out.write_all(bytes).map_err(io("write", path))?;
    out.sync_all().map_err(io("sync", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYSTORE: &str =
        r#"{"address":"70997970c51812dc3a010c7d01b50e0d17dc79c8","crypto":{},"version":3}"#;

    fn home_with_keys() -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".foundry/keystores")).unwrap();
        std::fs::write(home.path().join(".foundry/keystores/dev1"), KEYSTORE).unwrap();
        std::fs::create_dir_all(home.path().join(".taonado/notes")).unwrap();
        std::fs::write(
            home.path().join(".taonado/notes/local.txt"),
            "tornado-note\n",
        )
        .unwrap();
        home
    }

    fn passphrase(p: &str) -> SecretString {
        SecretString::from(p.to_owned())
    }

    #[test]
    fn recipient_round_trip_and_a_crafted_path_is_refused() {
        let home = home_with_keys();
        let identity = age::pq::Identity::generate();
        let id_file = home.path().join("id.txt");
        std::fs::write(&id_file, identity.to_string().expose_secret()).unwrap();
        let lock = Lock::Recipient(identity.to_public().to_string());
        let sources = BackupSources {
            home: home.path().to_path_buf(),
            extra_keystores: vec![],
        };
        let (file, manifest) = create(&sources, &lock, 7).unwrap();
        assert_eq!(manifest.len(), 2);
        assert_eq!(
            manifest[0].address,
            Some(
                "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                    .parse()
                    .unwrap()
            )
        );
        let unlock = Unlock::IdentityFile(id_file);
        let (_, report) = open(Path::new("b.age"), &file, &unlock).unwrap();
        assert!(report.passed());
        // The same files restore into an empty home, and a rerun finds them present.
        let fresh = tempfile::tempdir().unwrap();
        let done = restore(Path::new("b.age"), &file, &unlock, fresh.path()).unwrap();
        assert_eq!(done.restored.len(), 2);
        let again = restore(Path::new("b.age"), &file, &unlock, fresh.path()).unwrap();
        assert_eq!((again.restored.len(), again.present.len()), (0, 2));
        // A different file in the way: nothing written.
        std::fs::write(fresh.path().join(".taonado/notes/local.txt"), "other").unwrap();
        let err = restore(Path::new("b.age"), &file, &unlock, fresh.path()).unwrap_err();
        assert!(matches!(err, KeyBackupError::Exists(_)), "{err}");
        assert!(safe_relative("../x").is_err() && safe_relative("/etc/x").is_err());
        assert!(safe_relative(".foundry/keystores/a").is_ok());
    }

    #[test]
    fn a_tampered_address_fails_verification_and_a_wrong_passphrase_is_usage() {
        let archive = Archive {
            format: FORMAT.into(),
            version: VERSION,
            created_at: 1,
            tool_version: "t".into(),
            manifest: vec![ManifestEntry {
                path: ".foundry/keystores/x".into(),
                kind: FileKind::Keystore,
                address: Some(Address::repeat_byte(1)),
                sha256: sha256_hex(KEYSTORE.as_bytes()),
                bytes: KEYSTORE.len() as u64,
            }],
            files: vec![hex::encode(KEYSTORE)],
        };
        let lock = Lock::Passphrase(passphrase("correct horse battery staple 1"));
        let file = encrypt(&serde_json::to_vec(&archive).unwrap(), &lock).unwrap();
        let unlock = Unlock::Passphrase(passphrase("correct horse battery staple 1"));
        let (_, report) = open(Path::new("b.age"), &file, &unlock).unwrap();
        assert!(!report.passed());
        assert_eq!(report.entries[0].address_ok, Some(false));
        let wrong = Unlock::Passphrase(passphrase("wrong"));
        let err = open(Path::new("b.age"), &file, &wrong).err().unwrap();
        assert!(
            err.is_usage() && err.to_string().contains("wrong passphrase"),
            "{err}"
        );
    }
}
