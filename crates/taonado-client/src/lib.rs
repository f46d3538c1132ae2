//! JSON-RPC access to a configured network for taonado: alloy providers whose chain id is
//! checked against the network, signers resolved the way Foundry does (private key,
//! keystore file, `~/.foundry/keystores` account). Where the protocol is comes from
//! `taonado_config::NetworkConfig::deployment` (the deployment model), not from here.
//!
//! This crate reaches any chain only over JSON-RPC and never links the devnet. It never
//! reads environment variables or prompts: the CLI passes in what the user gave.

mod connect;
mod error;
mod hotkey;
mod keystore;
mod signer;

pub use connect::{REQUEST_TIMEOUT, check_chain_id, connect, connect_with_signer};
pub use error::{ClientError, Result};
pub use hotkey::{
    HotkeyError, HotkeyPair, HotkeySource, bittensor_wallets_dir, hotkey_file, hotkey_pub_file,
    keypair_from_suri,
};
pub use keystore::{KeystoreEntry, KeystoreError, list_keystores, write_keystore};
pub use signer::{Password, Secret, SignerSource, foundry_keystores_dir, parse_private_key};
