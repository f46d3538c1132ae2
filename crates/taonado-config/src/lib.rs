//! Network configuration for taonado: built-in presets (`local`, `testnet`, `mainnet`),
//! `taonado.toml` layered over them, then environment and command-line overrides.
//!
//! Precedence, lowest first: preset < file < environment < flags. The caller (the CLI)
//! reads the environment and flags and passes them in as [`NetworkOverride`]s: this crate
//! never reads environment variables itself. It never holds secrets either: a network
//! names a keystore or a Foundry account, never a key or a password.
//!
//! File format (`taonado.example.toml` at the repository root is the annotated version):
//!
//! ```toml
//! default_network = "testnet"
//!
//! [networks.testnet]
//! rpc_url = "http://127.0.0.1:9944"   # override one field of a preset
//!
//! [networks.staging]                    # a new network needs chain_id, rpc_url, netuid
//! chain_id = 945
//! rpc_url = "https://staging.example/rpc"
//! netuid = 347
//! [networks.staging.addresses]
//! wtao = "0x4f735f1eEE1efAdd12e3062851e1F57A49965203"
//! ```

mod error;
mod network;
mod preset;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, Result};
pub use network::{NetworkConfig, NetworkOverride, SignerRef};
// The addresses table of a network is the deployment model's type, not a copy of it.
pub use preset::{PRESET_NAMES, TAOSTATS_EXPLORER_API, preset};
pub use taonado_deployment::{Deployment, DeploymentError, ProtocolAddresses};

/// File name looked up in the working directory and in `~/.taonado/`.
pub const CONFIG_FILE_NAME: &str = "taonado.toml";

/// The network used when neither a flag, the environment nor the file names one.
pub const DEFAULT_NETWORK: &str = "local";

/// The contents of a `taonado.toml`, exactly as written (before layering).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Network used when `--network`/`TAONADO_NETWORK` are absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_network: Option<String>,
    /// Per-network tables, layered over the preset of the same name if there is one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkOverride>,
}

impl ConfigFile {
    /// Parse TOML text. `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Serialize back to TOML.
    pub fn to_toml(&self) -> String {
        // Every field serializes to a TOML value (strings, integers, tables), so this
        // cannot fail for this type.
        toml::to_string(self).unwrap_or_else(|e| unreachable!("config file serializes: {e}"))
    }
}

/// Where to look for the config file. The CLI fills this from `--config`,
/// `TAONADO_CONFIG`, the working directory and the home directory.
#[derive(Clone, Debug, Default)]
pub struct ConfigSearch {
    /// `--config FILE`: must exist.
    pub explicit: Option<PathBuf>,
    /// `TAONADO_CONFIG`: must exist.
    pub env: Option<PathBuf>,
    /// The working directory: `./taonado.toml` is used if present.
    pub cwd: Option<PathBuf>,
    /// The home directory: `~/.taonado/taonado.toml` is used if present.
    pub home: Option<PathBuf>,
}

impl ConfigSearch {
    /// The file to load, if any: the first of `--config`, `TAONADO_CONFIG`,
    /// `./taonado.toml`, `~/.taonado/taonado.toml`. Explicitly named files are returned
    /// even when missing so that reading them reports the error.
    pub fn locate(&self) -> Option<PathBuf> {
        if let Some(path) = self.explicit.as_ref().or(self.env.as_ref()) {
            return Some(path.clone());
        }
        let candidates = [
            self.cwd.as_ref().map(|d| d.join(CONFIG_FILE_NAME)),
            self.home
                .as_ref()
                .map(|h| h.join(".taonado").join(CONFIG_FILE_NAME)),
        ];
        candidates.into_iter().flatten().find(|p| p.is_file())
    }
}

/// The loaded configuration: presets plus the (validated) config file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    source: Option<PathBuf>,
    file: ConfigFile,
}

impl Config {
    /// Presets only, no file.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Find and load the config file as described by `search`; presets only if none.
    pub fn load(search: &ConfigSearch) -> Result<Self> {
        match search.locate() {
            Some(path) => Self::from_path(&path),
            None => Ok(Self::builtin()),
        }
    }

    /// Load one file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// Parse and validate TOML text as if read from `path`.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self> {
        let file = ConfigFile::parse(path, text)?;
        Self::from_file(path.to_owned(), file)
    }

    /// Validate an already parsed file.
    pub fn from_file(path: PathBuf, file: ConfigFile) -> Result<Self> {
        let config = Self {
            source: Some(path),
            file,
        };
        for name in config.file.networks.keys() {
            config.network(name)?;
        }
        if let Some(name) = &config.file.default_network {
            config.network(name)?;
        }
        Ok(config)
    }

    /// The file this config was loaded from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The parsed file (empty when there is none).
    pub fn file(&self) -> &ConfigFile {
        &self.file
    }

    /// The network to use when neither flag nor environment names one.
    pub fn default_network(&self) -> &str {
        self.file
            .default_network
            .as_deref()
            .unwrap_or(DEFAULT_NETWORK)
    }

    /// All network names: presets first, then the file's own networks.
    pub fn network_names(&self) -> Vec<String> {
        let mut names: Vec<String> = PRESET_NAMES.iter().map(|s| (*s).to_owned()).collect();
        for name in self.file.networks.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// The network `name`: its preset (if any) with the file's table laid over it.
    pub fn network(&self, name: &str) -> Result<NetworkConfig> {
        let layer = self.file.networks.get(name);
        let mut network = match (preset(name), layer) {
            (Some(preset), _) => preset,
            (None, Some(layer)) => self.new_network(name, layer)?,
            (None, None) => {
                return Err(ConfigError::UnknownNetwork {
                    name: name.to_owned(),
                    known: self.network_names().join(", "),
                });
            }
        };
        if let Some(layer) = layer {
            layer.apply_to(&mut network);
        }
        check_rpc_url(&network, &self.origin())?;
        check_dev_chain(&network, &self.origin())?;
        Ok(network)
    }

    /// The network `name` with environment and command-line layers on top, in that order.
    pub fn resolve(
        &self,
        name: &str,
        env: &NetworkOverride,
        flags: &NetworkOverride,
    ) -> Result<NetworkConfig> {
        let mut network = self.network(name)?;
        env.apply_to(&mut network);
        check_rpc_url(&network, "environment")?;
        flags.apply_to(&mut network);
        check_rpc_url(&network, "command line")?;
        Ok(network)
    }

    /// Every configured network, resolved without overrides.
    pub fn networks(&self) -> Result<Vec<NetworkConfig>> {
        self.network_names()
            .iter()
            .map(|n| self.network(n))
            .collect()
    }

    /// The name of a configured network whose chain id is `chain_id`, for hints.
    pub fn network_for_chain_id(&self, chain_id: u64) -> Option<String> {
        self.networks()
            .ok()?
            .into_iter()
            .find(|n| n.chain_id == chain_id)
            .map(|n| n.name)
    }

    fn origin(&self) -> String {
        self.source.as_ref().map_or_else(
            || "built-in presets".to_owned(),
            |p| p.display().to_string(),
        )
    }

    fn new_network(&self, name: &str, layer: &NetworkOverride) -> Result<NetworkConfig> {
        let missing = |field| ConfigError::MissingField {
            path: self.source.clone().unwrap_or_default(),
            network: name.to_owned(),
            field,
        };
        Ok(NetworkConfig {
            name: name.to_owned(),
            chain_id: layer.chain_id.ok_or_else(|| missing("chain_id"))?,
            rpc_url: layer.rpc_url.clone().ok_or_else(|| missing("rpc_url"))?,
            netuid: layer.netuid.ok_or_else(|| missing("netuid"))?,
            explorer_api: None,
            wtao_owned: true,
            dev_chain: false,
            addresses: ProtocolAddresses::default(),
            signer: SignerRef::default(),
            owner: None,
        })
    }
}

/// Chain ids of the live Bittensor EVM (mainnet 964, testnet 945).
pub const LIVE_CHAIN_IDS: [u64; 2] = [964, 945];

/// `dev_chain` unlocks dev-account signers and the insecure dev verifying key, so with a
/// chain id of the live Bittensor EVM it is accepted only on a loopback URL: a local fork
/// kept for rehearsals, never a remote endpoint of the real chain.
fn check_dev_chain(network: &NetworkConfig, origin: &str) -> Result<()> {
    let loopback = match network.rpc_url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if network.dev_chain && LIVE_CHAIN_IDS.contains(&network.chain_id) && !loopback {
        return Err(ConfigError::InvalidField {
            origin: origin.to_owned(),
            network: network.name.clone(),
            field: "dev_chain",
            message: format!(
                "chain id {} is the live Bittensor EVM and {} is not a local fork; dev_chain = true \
                 would allow dev keys there. Remove it",
                network.chain_id, network.rpc_url
            ),
        });
    }
    Ok(())
}

fn check_rpc_url(network: &NetworkConfig, origin: &str) -> Result<()> {
    match network.rpc_url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(ConfigError::InvalidField {
            origin: origin.to_owned(),
            network: network.name.clone(),
            field: "rpc_url",
            message: format!("scheme `{other}` is not supported; use an http:// or https:// URL"),
        }),
    }
}

#[cfg(test)]
mod tests;
