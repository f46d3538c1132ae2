//! Creating and listing Foundry-compatible encrypted keystores (the Web3 secret storage
//! JSON that `cast wallet new/import` writes and `--keystore`/`--account` read).
//!
//! Files are created with mode 0600 before any secret is written to them, and an existing
//! file is never overwritten.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::k256::elliptic_curve::rand_core::OsRng;
use alloy::signers::local::PrivateKeySigner;

use crate::signer::Secret;

pub use crate::error::keystore::KeystoreError;

/// One file in a keystores directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeystoreEntry {
    /// The file name, which is the `--account` name.
    pub name: String,
    /// The full path.
    pub path: PathBuf,
    /// The address, when the file records one (geth-style keystores do; Foundry's do not).
    pub address: Option<Address>,
}

/// Encrypt `signer`'s key with `password` into a new file at `path` (mode 0600; parent
/// directories are created with mode 0700). Returns the address.
pub fn write_keystore(
    path: &Path,
    signer: &PrivateKeySigner,
    password: &Secret,
) -> Result<Address, KeystoreError> {
    if password.expose().is_empty() {
        return Err(KeystoreError::EmptyPassword);
    }
    let write_error = |source| KeystoreError::Write {
        path: path.to_owned(),
        source,
    };
    let name =
        path.file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| KeystoreError::NotAFile {
                path: path.to_owned(),
            })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir).map_err(write_error)?;
    // Reserve the file with 0600 before eth-keystore writes the secret into it: its
    // `File::create` truncates but keeps the mode, so the key is never world-readable.
    match create_private_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeystoreError::Exists {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(write_error(e)),
    }
    let key = signer.to_bytes();
    let result = PrivateKeySigner::encrypt_keystore(
        &dir,
        &mut OsRng,
        key.as_slice(),
        password.expose(),
        Some(name),
    );
    match result {
        Ok((written, _uuid)) => {
            let address = written.address();
            record_address(path, address).map_err(|message| {
                // Best effort: leave no keystore the listing cannot name.
                let _ = std::fs::remove_file(path);
                KeystoreError::Encrypt {
                    path: path.to_owned(),
                    message,
                }
            })?;
            Ok(address)
        }
        Err(e) => {
            // Best effort: leave no empty placeholder behind.
            let _ = std::fs::remove_file(path);
            Err(KeystoreError::Encrypt {
                path: path.to_owned(),
                message: e.to_string(),
            })
        }
    }
}

/// The keystores in `dir`, sorted by name; an absent directory has none.
pub fn list_keystores(dir: &Path) -> Result<Vec<KeystoreEntry>, KeystoreError> {
    let list_error = |source| KeystoreError::List {
        dir: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(list_error(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(list_error)?;
        let path = entry.path();
        let (true, Some(name)) = (
            path.is_file(),
            entry.file_name().to_str().map(str::to_owned),
        ) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        found.push(KeystoreEntry {
            address: recorded_address(&path),
            name,
            path,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Adds the geth-style `address` field (lowercase hex, no `0x`) that eth-keystore leaves
/// out, so `wallet list` can name the account of a keystore it just wrote; Foundry and geth
/// read the field or ignore it. Rewritten atomically with mode 0600: a crash never leaves
/// half a key.
fn record_address(path: &Path, address: Address) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let object = json
        .as_object_mut()
        .ok_or_else(|| "the keystore is not a JSON object".to_owned())?;
    object.insert(
        "address".to_owned(),
        alloy::primitives::hex::encode(address).into(),
    );
    taonado_deployment::fs::write_private(path, json.to_string().as_bytes())
        .map_err(|e| e.to_string())
}

/// The `address` field of a keystore, if it has a valid one.
fn recorded_address(path: &Path) -> Option<Address> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let address = json.get("address")?.as_str()?;
    let digits = address.strip_prefix("0x").unwrap_or(address);
    format!("0x{digits}").parse().ok()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::{Password, SignerSource};

    #[test]
    fn written_keystore_decrypts_to_the_same_key_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("operator");
        let signer = PrivateKeySigner::random();
        let password = Secret::new("correct horse");
        let address = write_keystore(&path, &signer, &password).unwrap();
        assert_eq!(address, signer.address());
        // The listing names the account of a keystore just written.
        let listed = list_keystores(path.parent().unwrap()).unwrap();
        assert_eq!(listed[0].address, Some(signer.address()));
        let loaded = SignerSource::Keystore {
            path: path.clone(),
            password: Password::Value(password.clone()),
        }
        .load()
        .unwrap();
        assert_eq!(loaded.address(), signer.address());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = write_keystore(&path, &signer, &password).unwrap_err();
        assert!(matches!(again, KeystoreError::Exists { .. }), "{again}");
        assert!(matches!(
            write_keystore(&dir.path().join("x"), &signer, &Secret::new("")),
            Err(KeystoreError::EmptyPassword)
        ));
    }

    #[test]
    fn listing_is_sorted_and_tolerates_a_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_keystores(&dir.path().join("none")).unwrap().is_empty());
        let password = Secret::new("pw");
        for name in ["zeta", "alpha"] {
            write_keystore(
                &dir.path().join(name),
                &PrivateKeySigner::random(),
                &password,
            )
            .unwrap();
        }
        let names: Vec<_> = list_keystores(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["alpha", "zeta"]);
    }
}
