//! Hotkey flags with btcli's names (`--wallet.name`, `--wallet.hotkey`, `--wallet.path`),
//! plus `--hotkey` for a bare public key and `--suri` for a secret URI.

use std::path::PathBuf;

use clap::Args;
use taonado_client::{HotkeySource, Secret, bittensor_wallets_dir};
use taonado_types::Hotkey;

use crate::error::CliError;

/// btcli's default wallet and hotkey name.
const DEFAULT_NAME: &str = "default";

/// Which sr25519 hotkey to use. With no flag, btcli's `default`/`default` hotkey under
/// `~/.bittensor/wallets` is used.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Hotkey")]
pub struct HotkeyOpts {
    /// btcli wallet (coldkey) name [default: $BT_WALLET_NAME, else `default`].
    #[arg(long = "wallet.name", value_name = "NAME")]
    pub wallet_name: Option<String>,
    /// btcli hotkey name inside the wallet [default: $BT_WALLET_HOTKEY, else `default`].
    #[arg(long = "wallet.hotkey", value_name = "NAME")]
    pub wallet_hotkey: Option<String>,
    /// btcli wallets directory [default: $BT_WALLET_PATH, else ~/.bittensor/wallets].
    #[arg(long = "wallet.path", value_name = "DIR")]
    pub wallet_path: Option<PathBuf>,
    /// The hotkey's public key (SS58 or 0x + 64 hex digits); enough for commands that do
    /// not sign with the hotkey.
    #[arg(
        long = "hotkey",
        value_name = "SS58|0xPUBKEY",
        conflicts_with_all = ["wallet_name", "wallet_hotkey", "wallet_path", "suri"]
    )]
    pub hotkey: Option<Hotkey>,
    /// Secret URI of the hotkey: `//Alice`, `<mnemonic>//path`, or 0x + 32-byte seed.
    /// Prefer the env variable: flags end up in shell history. [env: TAONADO_HOTKEY_SURI]
    #[arg(
        long = "suri",
        value_name = "SURI",
        conflicts_with_all = ["wallet_name", "wallet_hotkey", "wallet_path"]
    )]
    pub suri: Option<Secret>,
}

impl HotkeyOpts {
    /// The hotkey source from flags, then `TAONADO_HOTKEY_SURI`, then the btcli wallet.
    pub fn source(&self) -> Result<HotkeySource, CliError> {
        if let Some(hotkey) = self.hotkey {
            return Ok(HotkeySource::Public(hotkey));
        }
        if let Some(suri) = &self.suri {
            return Ok(HotkeySource::Suri(suri.clone()));
        }
        let wallet_flags = self.wallet_name.is_some()
            || self.wallet_hotkey.is_some()
            || self.wallet_path.is_some();
        let env_suri = std::env::var("TAONADO_HOTKEY_SURI")
            .ok()
            .filter(|s| !s.is_empty());
        if let Some(suri) = env_suri.filter(|_| !wallet_flags) {
            return Ok(HotkeySource::Suri(Secret::new(suri)));
        }
        // btcli's environment variables are fallbacks read here rather than clap `env`
        // values, which clap would count as given and so reject next to --hotkey/--suri.
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let wallets_dir = match self
            .wallet_path
            .clone()
            .or_else(|| env("BT_WALLET_PATH").map(PathBuf::from))
        {
            Some(path) => expand_tilde(&path)?,
            None => bittensor_wallets_dir(&home()?),
        };
        Ok(HotkeySource::Wallet {
            wallets_dir,
            wallet: self
                .wallet_name
                .clone()
                .or_else(|| env("BT_WALLET_NAME"))
                .unwrap_or_else(|| DEFAULT_NAME.into()),
            hotkey: self
                .wallet_hotkey
                .clone()
                .or_else(|| env("BT_WALLET_HOTKEY"))
                .unwrap_or_else(|| DEFAULT_NAME.into()),
        })
    }

    /// The public hotkey. A wallet hotkey is read from `<hotkey>pub.txt` when present,
    /// else from the public fields of the hotkey file: no secret is needed.
    pub fn public(&self) -> Result<Hotkey, CliError> {
        Ok(self
            .source()?
            .public()
            .map_err(taonado_client::ClientError::from)?)
    }
}

fn home() -> Result<PathBuf, CliError> {
    std::env::home_dir().ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "cannot find the home directory for ~/.bittensor/wallets; pass --wallet.path DIR"
        ))
    })
}

/// btcli writes `~/.bittensor/wallets` literally in configs; expand a leading `~`.
fn expand_tilde(path: &std::path::Path) -> Result<PathBuf, CliError> {
    match path.strip_prefix("~") {
        Ok(rest) => Ok(home()?.join(rest)),
        Err(_) => Ok(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        hotkey: HotkeyOpts,
    }

    fn parse(args: &[&str]) -> Result<HotkeyOpts, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|w| w.hotkey)
    }

    #[test]
    fn suri_and_public_key_give_alice() {
        let by_suri = parse(&["--suri", "//Alice"]).unwrap();
        assert_eq!(by_suri.public().unwrap().to_ss58(), ALICE_SS58);
        let by_key = parse(&["--hotkey", ALICE_SS58]).unwrap();
        assert_eq!(by_key.public().unwrap().to_ss58(), ALICE_SS58);
        assert!(by_key.source().unwrap().keypair().is_err());
    }

    #[test]
    fn wallet_flags_use_btcli_names() {
        let dir = tempfile::tempdir().unwrap();
        let hotkeys = dir.path().join("cold").join("hotkeys");
        std::fs::create_dir_all(&hotkeys).unwrap();
        std::fs::write(
            hotkeys.join("minerpub.txt"),
            format!(r#"{{"ss58Address":"{ALICE_SS58}"}}"#),
        )
        .unwrap();
        let path = dir.path().to_str().unwrap();
        let opts = parse(&[
            "--wallet.name",
            "cold",
            "--wallet.hotkey",
            "miner",
            "--wallet.path",
            path,
        ])
        .unwrap();
        assert_eq!(opts.public().unwrap().to_ss58(), ALICE_SS58);
    }

    #[test]
    fn conflicting_sources_are_rejected() {
        assert!(parse(&["--hotkey", ALICE_SS58, "--suri", "//Alice"]).is_err());
        assert!(parse(&["--suri", "//Alice", "--wallet.name", "w"]).is_err());
        assert!(parse(&["--hotkey", "5Grw-not-ss58"]).is_err());
    }
}
