//! Signer flags with Foundry's names, resolved into a `SignerSource`.

use std::io::IsTerminal;
use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use taonado_client::{ClientError, Password, Secret, SignerSource, foundry_keystores_dir};
use taonado_config::NetworkConfig;

use crate::error::CliError;

/// `--private-key`, `--keystore`, `--account` and keystore passwords. The environment
/// variable `TAONADO_PRIVATE_KEY` is used when no flag names a signer.
#[derive(Args, Clone)]
#[command(next_help_heading = "Signer")]
pub struct SignerOpts {
    /// Raw private key (hex). Prefer a keystore: flags end up in shell history.
    /// [env: TAONADO_PRIVATE_KEY]
    #[arg(long, value_name = "HEX", conflicts_with_all = ["keystore", "account"])]
    pub private_key: Option<Secret>,
    /// Encrypted JSON keystore file.
    #[arg(long, value_name = "FILE", conflicts_with = "account")]
    pub keystore: Option<PathBuf>,
    /// Keystore by name in ~/.foundry/keystores (as created by `cast wallet import`).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Keystore password (prompted for when neither this nor --password-file is given).
    #[arg(long, value_name = "PASSWORD", conflicts_with = "password_file")]
    pub password: Option<Secret>,
    /// File whose first line is the keystore password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// A secret given as a flag is in the shell's history and, while the command runs, in every
/// user's process list. Said once per process, however often the signer is resolved.
static SECRET_FLAG_WARNING: std::sync::Once = std::sync::Once::new();

impl SignerOpts {
    fn warn_about_secret_flags(&self) {
        let flag = match (&self.private_key, &self.password) {
            (Some(_), _) => Some((
                "--private-key",
                "use a keystore (--keystore FILE or --account NAME) or TAONADO_PRIVATE_KEY",
            )),
            (None, Some(_)) => Some(("--password", "use --password-file FILE or the prompt")),
            (None, None) => None,
        };
        if let Some((flag, instead)) = flag {
            SECRET_FLAG_WARNING.call_once(|| {
                tracing::warn!(
                    "{flag} on the command line is kept in shell history and visible to other users in the process list; {instead}"
                );
            });
        }
    }

    /// The signer source from flags, then `TAONADO_PRIVATE_KEY`, then the network's
    /// configured keystore/account. `None` when nothing names a signer.
    pub fn source(
        &self,
        network: &NetworkConfig,
        home: Option<&std::path::Path>,
    ) -> Result<Option<SignerSource>, CliError> {
        self.warn_about_secret_flags();
        if let Some(key) = &self.private_key {
            return Ok(Some(SignerSource::PrivateKey(key.clone())));
        }
        let configured = &network.signer;
        let keystore = self.keystore.clone();
        let account = self.account.clone();
        let env_key = std::env::var("TAONADO_PRIVATE_KEY")
            .ok()
            .filter(|k| !k.is_empty());
        if let Some(key) = env_key.filter(|_| keystore.is_none() && account.is_none()) {
            return Ok(Some(SignerSource::PrivateKey(Secret::new(key))));
        }
        let (keystore, account) = match (keystore, account) {
            (None, None) => (configured.keystore.clone(), configured.account.clone()),
            given => given,
        };
        let password_file = self
            .password_file
            .clone()
            .or_else(|| configured.password_file.clone());
        match (keystore, account) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ClientError::ConflictingSigners.into()),
            (Some(path), None) => {
                let password = self.password(password_file, &path)?;
                Ok(Some(SignerSource::Keystore { path, password }))
            }
            (None, Some(name)) => {
                let home = home.ok_or_else(|| {
                    CliError::usage(anyhow::anyhow!(
                        "cannot find the home directory for ~/.foundry/keystores; pass --keystore FILE instead of --account"
                    ))
                })?;
                let keystores_dir = foundry_keystores_dir(home);
                let path = keystores_dir.join(&name);
                let password = self.password(password_file, &path)?;
                Ok(Some(SignerSource::Account {
                    name,
                    keystores_dir,
                    password,
                }))
            }
        }
    }

    fn password(
        &self,
        file: Option<PathBuf>,
        keystore: &std::path::Path,
    ) -> Result<Password, CliError> {
        if let Some(password) = &self.password {
            return Ok(Password::Value(password.clone()));
        }
        if let Some(file) = file {
            return Ok(Password::File(file));
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(anyhow::anyhow!(
                "keystore {} needs a password and stdin is not a terminal; pass --password-file FILE",
                keystore.display()
            )));
        }
        let typed = rpassword::prompt_password(format!(
            "Password for keystore {}: ",
            keystore.display()
        ))
        .map_err(|e| CliError::usage(anyhow::Error::new(e).context("reading the password")))?;
        Ok(Password::Value(Secret::new(typed)))
    }
}

/// Dev account `index` of the dev chain: the well-known public test keys.
pub fn dev_account_signer(index: usize) -> Result<PrivateKeySigner, CliError> {
    let account = taonado_devnet::DEV_ACCOUNTS
        .get(index)
        .ok_or_else(|| CliError::usage(anyhow::anyhow!("there is no dev account {index}")))?;
    tracing::info!(address = %account.address, "signing with dev account {index} (a public test key)");
    PrivateKeySigner::from_bytes(&account.private_key)
        .map_err(|e| CliError::failed(anyhow::anyhow!("dev account key is invalid: {e}")))
}

/// Load the signer; errors are classified by the client error.
pub fn load(source: &SignerSource) -> Result<PrivateKeySigner, CliError> {
    Ok(source.load()?)
}

impl SignerOpts {
    /// The signer from the flags; on a dev chain without one, dev account 0 (a public test
    /// key); elsewhere no signer is an error.
    pub fn signer_or_dev_account(
        &self,
        context: &crate::context::Context,
        network: &NetworkConfig,
    ) -> Result<PrivateKeySigner, CliError> {
        match self.source(network, context.home.as_deref())? {
            Some(source) => load(&source),
            None if network.dev_chain => dev_account_signer(0),
            None => Err(ClientError::NoSigner {
                network: network.name.clone(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use taonado_config::{Config, SignerRef};

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        signer: SignerOpts,
    }

    fn opts(args: &[&str]) -> SignerOpts {
        Wrapper::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .expect("valid flags")
            .signer
    }

    fn testnet_with_account() -> NetworkConfig {
        let mut network = Config::builtin().network("testnet").expect("preset");
        network.signer = SignerRef {
            account: Some("deployer".into()),
            ..SignerRef::default()
        };
        network
    }

    #[test]
    fn private_key_flag_wins() {
        let source = opts(&["--private-key", "0x01"])
            .source(&testnet_with_account(), None)
            .expect("resolves");
        assert!(matches!(source, Some(SignerSource::PrivateKey(_))));
    }

    #[test]
    fn configured_account_is_the_fallback() {
        let home = std::path::Path::new("/home/op");
        let source = opts(&["--password", "pw"])
            .source(&testnet_with_account(), Some(home))
            .expect("resolves");
        match source {
            Some(SignerSource::Account {
                name,
                keystores_dir,
                ..
            }) => {
                assert_eq!(name, "deployer");
                assert_eq!(keystores_dir, home.join(".foundry/keystores"));
            }
            other => panic!("expected the configured account, got {other:?}"),
        }
    }

    #[test]
    fn keystore_flag_overrides_the_configured_account() {
        let source = opts(&["--keystore", "/k.json", "--password-file", "/pw"])
            .source(&testnet_with_account(), None)
            .expect("resolves");
        assert!(
            matches!(&source, Some(SignerSource::Keystore { path, password: Password::File(_) }) if path == std::path::Path::new("/k.json")),
            "{source:?}"
        );
    }

    #[test]
    fn conflicting_flags_are_usage_errors() {
        assert!(
            Wrapper::try_parse_from(["x", "--private-key", "0x01", "--keystore", "/k"]).is_err()
        );
        assert!(Wrapper::try_parse_from(["x", "--keystore", "/k", "--account", "a"]).is_err());
    }
}
