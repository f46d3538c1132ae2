//! The one error type of `taonado-client`.

use std::path::PathBuf;

use alloy::transports::TransportError;
use url::Url;

// The hotkey and keystore errors live here, below their modules, so that `error` imports
// neither; `crate::hotkey::HotkeyError` and `crate::keystore::KeystoreError` re-export them.
pub mod hotkey;
pub mod keystore;

/// Result alias used throughout the crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Everything that can go wrong while connecting, loading signers or reading deployments.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The RPC endpoint did not answer.
    #[error(
        "cannot reach {network} at {}: {}; is the node running (for local: `taonado devnet`) or is --rpc-url right?",
        taonado_types::RedactedUrl(.url.as_str()),
        taonado_types::RedactedUrl(&.source.to_string())
    )]
    Unreachable {
        /// The network being connected to.
        network: String,
        /// Its RPC URL.
        url: Url,
        /// The transport error (boxed: it is large and this path is cold).
        source: Box<TransportError>,
    },
    /// A provider was asked for with no endpoint.
    #[error("no RPC endpoint given; give the network an rpc_url")]
    NoEndpoints,
    /// None of a provider's endpoints answered.
    #[error(
        "no RPC endpoint answered ({}): {source}; is the node running or are the endpoints right?",
        crate::failover::endpoint_labels(endpoints)
    )]
    NoEndpointAnswered {
        /// Every endpoint, in order of preference.
        endpoints: Vec<Url>,
        /// The last endpoint's error (boxed: it is large and this path is cold).
        source: Box<TransportError>,
    },
    /// One of a provider's endpoints serves another chain.
    #[error(
        "{} serves chain {actual}, expected {expected}; fix or remove that endpoint",
        crate::failover::endpoint_label(endpoint)
    )]
    EndpointChainMismatch {
        /// The endpoint.
        endpoint: Url,
        /// The chain expected (configured, or the first answer's).
        expected: u64,
        /// What the endpoint reported.
        actual: u64,
    },
    /// The HTTP client could not be set up (TLS roots, system configuration).
    #[error("cannot set up the HTTP client: {message}; check the system's TLS configuration")]
    HttpClient {
        /// What reqwest said.
        message: String,
    },
    /// The endpoint serves another chain than the network expects.
    #[error("chain id {actual} does not match network {network} ({expected}); {hint}")]
    ChainIdMismatch {
        /// The requested network.
        network: String,
        /// Its configured chain id.
        expected: u64,
        /// What the endpoint reported.
        actual: u64,
        /// What to do about it.
        hint: String,
    },
    /// A private key is not 32 bytes of hex or not a valid secp256k1 scalar.
    #[error(
        "invalid private key: expected 32 bytes of hex (with or without 0x); the value is not shown"
    )]
    InvalidPrivateKey,
    /// More than one signer source was given.
    #[error("give only one of --private-key, --keystore and --account")]
    ConflictingSigners,
    /// A command that sends transactions got no signer.
    #[error(
        "no signer for network {network}; pass --private-key (or set TAONADO_PRIVATE_KEY), --keystore FILE or --account NAME"
    )]
    NoSigner {
        /// The network that needs one.
        network: String,
    },
    /// A Foundry account name has no keystore file.
    #[error(
        "no keystore named `{name}` in {dir}; create one with `cast wallet import {name} --interactive` or pass --keystore FILE"
    )]
    AccountNotFound {
        /// The account name.
        name: String,
        /// The keystores directory searched.
        dir: PathBuf,
    },
    /// A keystore could not be decrypted.
    #[error(
        "cannot decrypt keystore {path}: {message}; check the password (--password, --password-file or the prompt)"
    )]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// Why it failed.
        message: String,
    },
    /// A keystore file is malformed or asks for an unbounded key derivation; refused before
    /// any derivation runs.
    #[error("{path} is not a usable keystore: {reason}; export it again (`cast wallet import`)")]
    InvalidKeystore {
        /// The keystore file.
        path: PathBuf,
        /// What is wrong with it (never a value of the file's secret fields).
        reason: crate::keystore_format::KeystoreFormatError,
    },
    /// A file (keystore, password file, deployments record) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A password file is empty.
    #[error("password file {path} is empty; put the keystore password on its first line")]
    EmptyPasswordFile {
        /// The file.
        path: PathBuf,
    },
    /// A hotkey (btcli wallet file or secret URI) could not be loaded.
    #[error(transparent)]
    Hotkey(#[from] hotkey::HotkeyError),
    /// A keystore could not be created or listed.
    #[error(transparent)]
    KeystoreFile(#[from] keystore::KeystoreError),
}
