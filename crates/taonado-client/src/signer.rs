//! Signer resolution with Foundry's conventions: a raw private key, an encrypted JSON
//! keystore file, or a named account in Foundry's keystores directory.
//!
//! Secrets never appear in `Debug` output or error messages.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;

use crate::error::{ClientError, Result};

/// A secret string (private key or password) whose `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// Where a keystore password comes from. Interactive prompting is the caller's job
/// (a library never touches the terminal): it passes the typed password as `Value`.
#[derive(Clone, Debug)]
pub enum Password {
    /// The password itself (`--password` or a prompt).
    Value(Secret),
    /// A file whose first line is the password (`--password-file`).
    File(PathBuf),
}

impl Password {
    fn resolve(&self) -> Result<Secret> {
        match self {
            Password::Value(secret) => Ok(secret.clone()),
            Password::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ClientError::Read {
                    path: path.clone(),
                    source,
                })?;
                let line = text.lines().next().unwrap_or_default();
                if line.is_empty() {
                    return Err(ClientError::EmptyPasswordFile { path: path.clone() });
                }
                Ok(Secret::new(line))
            }
        }
    }
}

/// Which signer to load.
#[derive(Clone, Debug)]
pub enum SignerSource {
    /// A raw hex private key (`--private-key`, `TAONADO_PRIVATE_KEY`).
    PrivateKey(Secret),
    /// An encrypted JSON keystore file (`--keystore FILE`).
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// Its password.
        password: Password,
    },
    /// A keystore named `name` in `keystores_dir` (`--account NAME`, `~/.foundry/keystores`).
    Account {
        /// The account (file) name.
        name: String,
        /// The directory holding Foundry keystores.
        keystores_dir: PathBuf,
        /// Its password.
        password: Password,
    },
}

impl SignerSource {
    /// The keystore file this source reads, if any.
    pub fn keystore_path(&self) -> Option<PathBuf> {
        match self {
            SignerSource::PrivateKey(_) => None,
            SignerSource::Keystore { path, .. } => Some(path.clone()),
            SignerSource::Account {
                name,
                keystores_dir,
                ..
            } => Some(keystores_dir.join(name)),
        }
    }

    /// Load the signer.
    pub fn load(&self) -> Result<PrivateKeySigner> {
        match self {
            SignerSource::PrivateKey(key) => parse_private_key(key.expose()),
            SignerSource::Keystore { path, password } => decrypt(path, password),
            SignerSource::Account {
                name,
                keystores_dir,
                password,
            } => {
                let path = keystores_dir.join(name);
                if !path.is_file() {
                    return Err(ClientError::AccountNotFound {
                        name: name.clone(),
                        dir: keystores_dir.clone(),
                    });
                }
                decrypt(&path, password)
            }
        }
    }
}

/// Foundry's keystores directory under a home directory: `~/.foundry/keystores`.
pub fn foundry_keystores_dir(home: &Path) -> PathBuf {
    home.join(".foundry").join("keystores")
}

/// Parse a hex private key (0x prefix optional, surrounding whitespace ignored).
pub fn parse_private_key(hex_key: &str) -> Result<PrivateKeySigner> {
    let trimmed = hex_key.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    if digits.len() != 64 {
        return Err(ClientError::InvalidPrivateKey);
    }
    let bytes = B256::from_str(digits).map_err(|_| ClientError::InvalidPrivateKey)?;
    PrivateKeySigner::from_bytes(&bytes).map_err(|_| ClientError::InvalidPrivateKey)
}

fn decrypt(path: &Path, password: &Password) -> Result<PrivateKeySigner> {
    if !path.is_file() {
        return Err(ClientError::Read {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    // eth-keystore trusts the file's shape and KDF cost; check both before deriving, and
    // the size before reading it whole.
    let too_large = std::fs::metadata(path)
        .is_ok_and(|m| m.len() > crate::keystore_format::MAX_KEYSTORE_BYTES as u64);
    if too_large {
        return Err(ClientError::InvalidKeystore {
            path: path.to_owned(),
            reason: crate::keystore_format::KeystoreFormatError::TooLarge,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ClientError::Read {
        path: path.to_owned(),
        source,
    })?;
    crate::keystore_format::check_keystore(&text).map_err(|reason| {
        ClientError::InvalidKeystore {
            path: path.to_owned(),
            reason,
        }
    })?;
    let password = password.resolve()?;
    PrivateKeySigner::decrypt_keystore(path, password.expose()).map_err(|e| ClientError::Keystore {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;

    // Anvil's first well-known dev account: a public test key.
    const DEV0_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV0: alloy::primitives::Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    #[test]
    fn private_key_with_and_without_prefix() {
        assert_eq!(parse_private_key(DEV0_KEY).unwrap().address(), DEV0);
        assert_eq!(
            parse_private_key(&format!(" {} \n", &DEV0_KEY[2..]))
                .unwrap()
                .address(),
            DEV0
        );
    }

    #[test]
    fn bad_private_keys_are_rejected_without_echo() {
        for bad in ["", "0x1234", &DEV0_KEY.replace('a', "z"), &"0".repeat(64)] {
            let err = parse_private_key(bad).unwrap_err();
            assert!(matches!(err, ClientError::InvalidPrivateKey), "{bad}");
        }
        let message = parse_private_key(&DEV0_KEY.replace('f', "g"))
            .unwrap_err()
            .to_string();
        assert!(!message.contains("bec39a17"), "{message}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let source = SignerSource::PrivateKey(Secret::new(DEV0_KEY));
        let shown = format!("{source:?}");
        assert!(!shown.contains("ac0974"), "{shown}");
        let signer = source.load().unwrap();
        let shown = format!("{signer:?}");
        assert!(!shown.contains("ac0974"), "{shown}");
        let password = Password::Value(Secret::new("hunter2"));
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn keystore_with_password_and_password_file() {
        // tests/fixtures/dev1.json: anvil dev account 1 encrypted by `cast wallet import`
        // with the password in tests/fixtures/dev1.password.
        let expected = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        let path = fixture("dev1.json");
        let by_value = SignerSource::Keystore {
            path: path.clone(),
            password: Password::Value(Secret::new("taonado-test")),
        };
        assert_eq!(by_value.load().unwrap().address(), expected);
        let by_file = SignerSource::Keystore {
            path,
            password: Password::File(fixture("dev1.password")),
        };
        assert_eq!(by_file.load().unwrap().address(), expected);
    }

    #[test]
    fn keystore_wrong_password_names_the_file() {
        let source = SignerSource::Keystore {
            path: fixture("dev1.json"),
            password: Password::Value(Secret::new("wrong")),
        };
        let err = source.load().unwrap_err();
        assert!(matches!(err, ClientError::Keystore { .. }), "{err}");
        assert!(err.to_string().contains("dev1.json"), "{err}");
    }

    #[test]
    fn account_resolves_in_the_keystores_dir() {
        let home = tempfile::tempdir().unwrap();
        let dir = foundry_keystores_dir(home.path());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture("dev1.json"), dir.join("deployer")).unwrap();
        let account = |name: &str| SignerSource::Account {
            name: name.into(),
            keystores_dir: dir.clone(),
            password: Password::Value(Secret::new("taonado-test")),
        };
        assert_eq!(
            account("deployer").load().unwrap().address(),
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        let err = account("nobody").load().unwrap_err();
        assert!(
            matches!(&err, ClientError::AccountNotFound { name, .. } if name == "nobody"),
            "{err}"
        );
    }

    #[test]
    fn empty_password_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "\n").unwrap();
        let source = SignerSource::Keystore {
            path: fixture("dev1.json"),
            password: Password::File(file),
        };
        assert!(matches!(
            source.load().unwrap_err(),
            ClientError::EmptyPasswordFile { .. }
        ));
    }
}
