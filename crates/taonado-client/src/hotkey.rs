//! sr25519 hotkeys the way btcli stores them, or from a secret URI (`//Alice`, a mnemonic,
//! a `0x` seed).
//!
//! btcli keeps a hotkey at `<wallets>/<wallet>/hotkeys/<hotkey>` as JSON with
//! `secretSeed`, `secretPhrase`, `publicKey`, `accountId` and `ss58Address`, and newer
//! versions also write `hotkeys/<hotkey>pub.txt` with only the public fields. Reading the
//! public key never needs the secret: the `pub.txt` file is preferred and the secret file
//! is read only for its public fields.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use subxt_signer::SecretUri;
use subxt_signer::sr25519::Keypair;
use taonado_types::{AccountId32, Hotkey};

use crate::signer::Secret;

pub use crate::error::hotkey::HotkeyError;

/// Where a hotkey comes from.
#[derive(Clone, Debug)]
pub enum HotkeySource {
    /// Only the public key (SS58 or `0x` + 32-byte hex); cannot sign.
    Public(Hotkey),
    /// A secret URI: `//Alice`, `<mnemonic>//path///password`, or `0x<seed>`.
    Suri(Secret),
    /// A btcli wallet hotkey: `<wallets_dir>/<wallet>/hotkeys/<hotkey>`.
    Wallet {
        /// The wallets directory (btcli `--wallet.path`, `~/.bittensor/wallets`).
        wallets_dir: PathBuf,
        /// The wallet (coldkey) name.
        wallet: String,
        /// The hotkey name.
        hotkey: String,
    },
}

/// An sr25519 hotkey with its secret; `Debug` shows only the public key.
#[derive(Clone)]
pub struct HotkeyPair(Keypair);

impl HotkeyPair {
    /// The public hotkey.
    pub fn hotkey(&self) -> Hotkey {
        Hotkey(AccountId32(self.0.public_key().0))
    }

    /// An sr25519 signature (substrate signing context) over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).0
    }

    /// The underlying subxt-signer keypair.
    pub fn keypair(&self) -> &Keypair {
        &self.0
    }
}

impl fmt::Debug for HotkeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HotkeyPair({})", self.hotkey().to_ss58())
    }
}

/// btcli's wallets directory under a home directory: `~/.bittensor/wallets`.
pub fn bittensor_wallets_dir(home: &Path) -> PathBuf {
    home.join(".bittensor").join("wallets")
}

/// The btcli hotkey file `<wallets_dir>/<wallet>/hotkeys/<hotkey>`.
pub fn hotkey_file(wallets_dir: &Path, wallet: &str, hotkey: &str) -> PathBuf {
    wallets_dir.join(wallet).join("hotkeys").join(hotkey)
}

/// The public-only companion `<wallets_dir>/<wallet>/hotkeys/<hotkey>pub.txt`.
pub fn hotkey_pub_file(wallets_dir: &Path, wallet: &str, hotkey: &str) -> PathBuf {
    wallets_dir
        .join(wallet)
        .join("hotkeys")
        .join(format!("{hotkey}pub.txt"))
}

/// Derive a keypair from a secret URI.
pub fn keypair_from_suri(suri: &str) -> Result<HotkeyPair, HotkeyError> {
    let uri = SecretUri::from_str(suri.trim()).map_err(|e| HotkeyError::InvalidSuri {
        reason: e.to_string(),
    })?;
    Keypair::from_uri(&uri)
        .map(HotkeyPair)
        .map_err(|e| HotkeyError::InvalidSuri {
            reason: suri_error_reason(&e),
        })
}

// subxt-signer's bip39 errors can quote words of the phrase; keep only the kind.
fn suri_error_reason(error: &subxt_signer::sr25519::Error) -> String {
    use subxt_signer::sr25519::Error;
    match error {
        Error::InvalidSeed => "the seed is not 32 bytes".into(),
        Error::Phrase(_) => "the phrase is not a valid BIP-39 mnemonic".into(),
        Error::Hex(_) => "the seed is not valid hex".into(),
        Error::Signature(_) => "the key cannot be derived".into(),
    }
}

impl HotkeySource {
    /// The public hotkey. Never needs the secret: a wallet hotkey is read from its
    /// `pub.txt` when present, else from the public fields of the hotkey file.
    pub fn public(&self) -> Result<Hotkey, HotkeyError> {
        match self {
            HotkeySource::Public(hotkey) => Ok(*hotkey),
            HotkeySource::Suri(suri) => keypair_from_suri(suri.expose()).map(|k| k.hotkey()),
            HotkeySource::Wallet {
                wallets_dir,
                wallet,
                hotkey,
            } => {
                let pub_path = hotkey_pub_file(wallets_dir, wallet, hotkey);
                if let Some(text) = read_optional(&pub_path)? {
                    return parse_public(&pub_path, &text);
                }
                let path = hotkey_file(wallets_dir, wallet, hotkey);
                let text = read_optional(&path)?.ok_or_else(|| HotkeyError::NotFound {
                    wallet: wallet.clone(),
                    hotkey: hotkey.clone(),
                    path: path.clone(),
                })?;
                parse_public(&path, &text)
            }
        }
    }

    /// The hotkey with its secret, for commands that sign.
    pub fn keypair(&self) -> Result<HotkeyPair, HotkeyError> {
        match self {
            HotkeySource::Public(hotkey) => Err(HotkeyError::PublicOnly {
                hotkey: hotkey.to_ss58(),
            }),
            HotkeySource::Suri(suri) => keypair_from_suri(suri.expose()),
            HotkeySource::Wallet {
                wallets_dir,
                wallet,
                hotkey,
            } => {
                let path = hotkey_file(wallets_dir, wallet, hotkey);
                let text = read_optional(&path)?.ok_or_else(|| HotkeyError::NotFound {
                    wallet: wallet.clone(),
                    hotkey: hotkey.clone(),
                    path: path.clone(),
                })?;
                parse_keypair(&path, &text)
            }
        }
    }
}

/// btcli's keyfile JSON; every field optional so `pub.txt` parses too.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyfileJson {
    public_key: Option<String>,
    account_id: Option<String>,
    ss58_address: Option<String>,
    secret_seed: Option<String>,
    secret_phrase: Option<String>,
}

fn read_optional(path: &Path) -> Result<Option<String>, HotkeyError> {
    // The workspace's one optional read; only its I/O error can come back.
    taonado_deployment::fs::read_optional(path).map_err(|error| match error {
        taonado_deployment::DeploymentError::Io { path, error, .. } => HotkeyError::Read {
            path,
            source: error,
        },
        other => HotkeyError::Read {
            path: path.to_owned(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

fn parse_keyfile(path: &Path, text: &str) -> Result<KeyfileJson, HotkeyError> {
    let trimmed = text.trim_start();
    // btcli's encrypted keyfiles start with a marker instead of JSON.
    if trimmed.starts_with("$NACL")
        || trimmed.starts_with("$BTWALLET")
        || trimmed.starts_with("gAAAAA")
    {
        return Err(HotkeyError::Encrypted {
            path: path.to_owned(),
        });
    }
    serde_json::from_str(trimmed).map_err(|e| HotkeyError::Format {
        path: path.to_owned(),
        // serde's message carries a position, never the file's content.
        reason: format!("not btcli keyfile JSON ({e})"),
    })
}

/// The public key from `publicKey`, `accountId` and `ss58Address`, which must agree.
fn parse_public(path: &Path, text: &str) -> Result<Hotkey, HotkeyError> {
    public_of(path, &parse_keyfile(path, text)?)
}

fn public_of(path: &Path, keyfile: &KeyfileJson) -> Result<Hotkey, HotkeyError> {
    let format = |reason: String| HotkeyError::Format {
        path: path.to_owned(),
        reason,
    };
    let mut found: Option<(&str, AccountId32)> = None;
    let fields = [
        ("publicKey", keyfile.public_key.as_deref()),
        ("accountId", keyfile.account_id.as_deref()),
        ("ss58Address", keyfile.ss58_address.as_deref()),
    ];
    for (name, value) in fields {
        let Some(value) = value else { continue };
        let account = if name == "ss58Address" {
            AccountId32::from_ss58(value)
        } else {
            AccountId32::from_hex(value)
        }
        .map_err(|e| format(format!("field {name}: {e}")))?;
        match found {
            Some((first, seen)) if seen != account => {
                return Err(format(format!("{first} and {name} name different keys")));
            }
            Some(_) => {}
            None => found = Some((name, account)),
        }
    }
    found
        .map(|(_, account)| Hotkey(account))
        .ok_or_else(|| format("no publicKey, accountId or ss58Address field".into()))
}

fn parse_keypair(path: &Path, text: &str) -> Result<HotkeyPair, HotkeyError> {
    let keyfile = parse_keyfile(path, text)?;
    let format = |reason: &str| HotkeyError::Format {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let pair = if let Some(seed) = keyfile.secret_seed.as_deref() {
        let digits = seed.trim().trim_start_matches("0x");
        let mut bytes = [0u8; 32];
        alloy::hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| format("secretSeed is not 32 bytes of hex"))?;
        Keypair::from_secret_key(bytes)
            .map(HotkeyPair)
            .map_err(|_| format("secretSeed is not a valid sr25519 seed"))?
    } else if let Some(phrase) = keyfile.secret_phrase.as_deref() {
        let mnemonic = subxt_signer::bip39::Mnemonic::parse(phrase.trim())
            .map_err(|_| format("secretPhrase is not a valid BIP-39 mnemonic"))?;
        Keypair::from_phrase(&mnemonic, None)
            .map(HotkeyPair)
            .map_err(|_| format("secretPhrase does not derive a key"))?
    } else {
        return Err(HotkeyError::NoSecret {
            path: path.to_owned(),
        });
    };
    // A file whose secret does not match its public fields is corrupt; signing with it
    // would act for another hotkey than the one the operator sees.
    if keyfile.public_key.is_some()
        || keyfile.ss58_address.is_some()
        || keyfile.account_id.is_some()
    {
        let public = public_of(path, &keyfile)?;
        if public != pair.hotkey() {
            return Err(format("the secret does not belong to the public key"));
        }
    }
    Ok(pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_HEX: &str = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
    const BOB_SS58: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
    // Subkey's well-known dev seed (public): //Alice derives from it via the DEV_PHRASE.
    const DEV_SEED: &str = "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";

    fn write_wallet(
        dir: &Path,
        wallet: &str,
        hotkey: &str,
        file: Option<&str>,
        pub_txt: Option<&str>,
    ) {
        let hotkeys = dir.join(wallet).join("hotkeys");
        std::fs::create_dir_all(&hotkeys).unwrap();
        if let Some(text) = file {
            std::fs::write(hotkeys.join(hotkey), text).unwrap();
        }
        if let Some(text) = pub_txt {
            std::fs::write(hotkeys.join(format!("{hotkey}pub.txt")), text).unwrap();
        }
    }

    fn wallet(dir: &Path, name: &str) -> HotkeySource {
        HotkeySource::Wallet {
            wallets_dir: dir.to_owned(),
            wallet: "cold".into(),
            hotkey: name.into(),
        }
    }

    #[test]
    fn alice_suri_is_the_known_account() {
        let source = HotkeySource::Suri(Secret::new("//Alice"));
        assert_eq!(source.public().unwrap().to_ss58(), ALICE_SS58);
        assert_eq!(
            keypair_from_suri("//Bob").unwrap().hotkey().to_ss58(),
            BOB_SS58
        );
    }

    #[test]
    fn bad_suri_is_rejected_without_echo() {
        let err = keypair_from_suri("not a real mnemonic phrase at all").unwrap_err();
        assert!(matches!(err, HotkeyError::InvalidSuri { .. }), "{err}");
        assert!(!err.to_string().contains("mnemonic phrase at"), "{err}");
        assert!(matches!(
            keypair_from_suri("0x1234"),
            Err(HotkeyError::InvalidSuri { .. })
        ));
    }

    #[test]
    fn public_only_source_cannot_sign() {
        let hotkey: Hotkey = ALICE_SS58.parse().unwrap();
        let source = HotkeySource::Public(hotkey);
        assert_eq!(source.public().unwrap(), hotkey);
        assert!(matches!(
            source.keypair(),
            Err(HotkeyError::PublicOnly { .. })
        ));
    }

    #[test]
    fn wallet_file_with_seed_signs_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let dev = keypair_from_suri(DEV_SEED).unwrap().hotkey();
        let file = format!(
            r#"{{"accountId":"0x{hex}","publicKey":"0x{hex}","secretSeed":"{DEV_SEED}","ss58Address":"{ss58}"}}"#,
            hex = alloy::hex::encode(dev.account().as_bytes()),
            ss58 = dev.to_ss58()
        );
        write_wallet(dir.path(), "cold", "hot", Some(&file), None);
        let source = wallet(dir.path(), "hot");
        assert_eq!(source.public().unwrap(), dev);
        let pair = source.keypair().unwrap();
        assert_eq!(pair.hotkey(), dev);
        let signature = subxt_signer::sr25519::Signature(pair.sign(b"taonado"));
        assert!(subxt_signer::sr25519::verify(
            &signature,
            b"taonado",
            &pair.keypair().public_key()
        ));
        assert!(!format!("{pair:?}").contains(&DEV_SEED[2..10]));
    }

    #[test]
    fn pub_txt_alone_gives_the_public_key_but_not_a_signer() {
        let dir = tempfile::tempdir().unwrap();
        let pub_txt = format!(
            r#"{{"accountId":"{ALICE_HEX}","publicKey":"{ALICE_HEX}","ss58Address":"{ALICE_SS58}"}}"#
        );
        write_wallet(dir.path(), "cold", "miner", None, Some(&pub_txt));
        let source = wallet(dir.path(), "miner");
        assert_eq!(source.public().unwrap().to_ss58(), ALICE_SS58);
        assert!(matches!(
            source.keypair(),
            Err(HotkeyError::NotFound { .. })
        ));
    }

    #[test]
    fn encrypted_hotkey_still_has_a_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let pub_txt = format!(r#"{{"ss58Address":"{ALICE_SS58}"}}"#);
        write_wallet(
            dir.path(),
            "cold",
            "enc",
            Some("$NACL\x01\x02"),
            Some(&pub_txt),
        );
        let source = wallet(dir.path(), "enc");
        assert_eq!(source.public().unwrap().to_ss58(), ALICE_SS58);
        assert!(matches!(
            source.keypair(),
            Err(HotkeyError::Encrypted { .. })
        ));
    }

    #[test]
    fn missing_and_inconsistent_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = wallet(dir.path(), "nobody").public().unwrap_err();
        assert!(matches!(err, HotkeyError::NotFound { .. }), "{err}");
        let mixed = format!(r#"{{"publicKey":"{ALICE_HEX}","ss58Address":"{BOB_SS58}"}}"#);
        write_wallet(dir.path(), "cold", "mixed", Some(&mixed), None);
        assert!(matches!(
            wallet(dir.path(), "mixed").public(),
            Err(HotkeyError::Format { .. })
        ));
        // Alice's public key with another key's seed.
        let wrong = format!(r#"{{"publicKey":"{ALICE_HEX}","secretSeed":"{DEV_SEED}"}}"#);
        write_wallet(dir.path(), "cold", "wrong", Some(&wrong), None);
        assert!(matches!(
            wallet(dir.path(), "wrong").keypair(),
            Err(HotkeyError::Format { .. })
        ));
        write_wallet(dir.path(), "cold", "junk", Some("not json"), None);
        assert!(matches!(
            wallet(dir.path(), "junk").public(),
            Err(HotkeyError::Format { .. })
        ));
    }
}
