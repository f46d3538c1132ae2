//! JSON-RPC access for taonado, and the only place that builds providers ([`ProviderSpec`]):
//! every provider has a request timeout, a chain-id check, failover across its endpoints
//! and, when given one, a signer; signers resolved the way Foundry does (private key,
//! keystore file, `~/.foundry/keystores` account). Where the protocol is comes from
//! `taonado_config::NetworkConfig::deployment` (the deployment model), not from here.
//!
//! This crate reaches any chain only over JSON-RPC and never links the devnet. It never
//! reads environment variables or prompts: the CLI passes in what the user gave.

mod connect;
mod error;
mod failover;
mod hotkey;
mod keystore;
mod keystore_format;
mod provider;
mod signer;

pub use connect::{check_chain_id, connect, connect_when_reachable, connect_with_signer};
pub use error::{ClientError, Result};
pub use failover::{
    ErrorAnswers, FailoverError, FailoverTransport, RetryPolicy, WrongChain, endpoint_label,
};
pub use hotkey::{
    HotkeyError, HotkeyPair, HotkeySource, bittensor_wallets_dir, hotkey_file, hotkey_pub_file,
    keypair_from_suri,
};
pub use keystore::{KeystoreEntry, KeystoreError, list_keystores, write_keystore};
pub use keystore_format::{KeystoreFormatError, check_keystore};
pub use provider::{Connection, ProviderSpec, REQUEST_TIMEOUT, with_signer};
pub use signer::{Password, Secret, SignerSource, foundry_keystores_dir, parse_private_key};
