//! Errors of [`crate::hotkey`].

use std::path::PathBuf;

/// Why a hotkey could not be loaded. Secrets are never part of a message.
#[derive(Debug, thiserror::Error)]
pub enum HotkeyError {
    /// Neither the hotkey file nor its `pub.txt` exists.
    #[error(
        "no hotkey `{hotkey}` in wallet `{wallet}` (looked for {path}); create it with `btcli wallet new_hotkey`, or pass --wallet.name/--wallet.hotkey/--wallet.path, --hotkey SS58 or --suri"
    )]
    NotFound {
        /// The wallet name.
        wallet: String,
        /// The hotkey name.
        hotkey: String,
        /// The hotkey file looked for.
        path: PathBuf,
    },
    /// A hotkey file exists but cannot be read.
    #[error("cannot read hotkey file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A hotkey file is encrypted (btcli `--use-password`): only its public key is usable.
    #[error(
        "hotkey file {path} is encrypted; taonado reads unencrypted hotkeys only: regenerate it without a password or pass --suri"
    )]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// A hotkey file is not btcli's JSON or its fields are inconsistent.
    #[error("invalid hotkey file {path}: {reason}; regenerate it with btcli")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong (no secret material).
        reason: String,
    },
    /// A hotkey file has no secret (`pub.txt` only) but a signing key is needed.
    #[error(
        "hotkey file {path} holds no secret seed or phrase; this command must sign: use the full btcli hotkey file or --suri"
    )]
    NoSecret {
        /// The file.
        path: PathBuf,
    },
    /// A hotkey given as a public key cannot sign.
    #[error(
        "hotkey {hotkey} was given as a public key, but this command must sign; pass --suri or --wallet.name/--wallet.hotkey instead of --hotkey"
    )]
    PublicOnly {
        /// The SS58 of the hotkey.
        hotkey: String,
    },
    /// A secret URI that does not parse or derive.
    #[error(
        "invalid secret URI: {reason}; write `//Alice`, a BIP-39 phrase with optional `//path`, or 0x + 64 hex digits (the value is not shown)"
    )]
    InvalidSuri {
        /// What failed (no secret material).
        reason: String,
    },
}
