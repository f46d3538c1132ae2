//! The one error type of `taonado-config`.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, reading or resolving configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error(
        "cannot read config file {path}: {source}; check the path given by --config or TAONADO_CONFIG"
    )]
    Read {
        /// The file that was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has a field of the wrong type.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file that was parsed.
        path: PathBuf,
        /// What the TOML parser said, including the offending key and line.
        message: String,
    },
    /// A network that is not a preset lacks a field that only presets can fill in.
    #[error(
        "{path}: networks.{network}.{field} is required because `{network}` is not a built-in network (local, testnet, mainnet)"
    )]
    MissingField {
        /// The file that declared the network.
        path: PathBuf,
        /// The network's name.
        network: String,
        /// The missing field.
        field: &'static str,
    },
    /// A field has a value that parses but cannot be used.
    #[error("{origin}: networks.{network}.{field}: {message}")]
    InvalidField {
        /// Where the value came from (a file path, "environment" or "command line").
        origin: String,
        /// The network's name.
        network: String,
        /// The offending field.
        field: &'static str,
        /// Why it is unusable.
        message: String,
    },
    /// A network name that no preset and no config file defines.
    #[error(
        "unknown network `{name}`; known networks: {known}; add [networks.{name}] to taonado.toml or pass --network with one of those"
    )]
    UnknownNetwork {
        /// The requested name.
        name: String,
        /// The names that are defined, comma separated.
        known: String,
    },
}
