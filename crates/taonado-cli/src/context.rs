//! The resolved invocation: global flags turned into config, network and output once, so
//! commands never look at raw strings.

use std::path::{Path, PathBuf};

use clap::Args;
use taonado_config::{Config, ConfigSearch, NetworkConfig, NetworkOverride};
use url::Url;

use crate::error::CliError;
use crate::output::Output;

/// Flags every command accepts.
#[derive(Args, Clone, Debug)]
pub struct GlobalArgs {
    /// Network to use: local, testnet, mainnet or a name from taonado.toml
    /// [default: the file's default_network, else local]
    #[arg(long, global = true, env = "TAONADO_NETWORK", value_name = "NAME")]
    pub network: Option<String>,
    /// JSON-RPC endpoint; overrides the network's rpc_url (the chain id is still checked).
    #[arg(long, global = true, value_name = "URL")]
    pub rpc_url: Option<Url>,
    /// Print exactly one JSON envelope {schema_version, ok, data, errors} on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logs on stderr (-v, -vv, -vvv); RUST_LOG overrides this.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Config file [default: $TAONADO_CONFIG, ./taonado.toml, ~/.taonado/taonado.toml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub struct Context {
    pub global: GlobalArgs,
    pub output: Output,
    pub home: Option<PathBuf>,
}

impl Context {
    pub fn new(global: GlobalArgs, output: Output) -> Self {
        Self {
            global,
            output,
            home: std::env::home_dir(),
        }
    }

    /// `~/.taonado/<parts…>`: the user's data folder (caches, notes, fetched keys), the
    /// same from any working directory.
    pub fn data_subdir(&self, parts: &[&str]) -> Result<PathBuf, CliError> {
        home_subdir(self.home.as_deref(), parts)
    }

    /// Where `zk keys fetch --setup tornado` stores Tornado's ceremony keys and where
    /// `mixer withdraw` loads them from.
    pub fn tornado_keys_dir(&self) -> Result<PathBuf, CliError> {
        self.data_subdir(&["keys", taonado_zk::tornado::SETUP_NAME])
    }

    /// Load the config file (if any) over the presets.
    pub fn config(&self) -> Result<Config, CliError> {
        let search = ConfigSearch {
            explicit: self.global.config.clone(),
            env: std::env::var_os("TAONADO_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
            home: self.home.clone(),
        };
        let config = Config::load(&search)?;
        if let Some(path) = config.source() {
            tracing::debug!(path = %path.display(), "loaded config");
        }
        Ok(config)
    }

    /// Registers this long-running process in `~/.taonado/run/` for `emergency stop`; the
    /// entry goes when the guard drops. A registry that cannot be written is a warning:
    /// the service still runs.
    pub fn register_run(
        &self,
        command: &str,
        network: Option<&str>,
    ) -> Option<taonado_runreg::Registration> {
        let home = self.home.as_deref()?;
        match taonado_runreg::register(&taonado_runreg::run_dir(home), command, network) {
            Ok(registration) => Some(registration),
            Err(error) => {
                tracing::warn!("not registered for `emergency stop`: {error}");
                None
            }
        }
    }

    /// The selected network's name: `--network`/`TAONADO_NETWORK`, else the file's default.
    pub fn network_name(&self, config: &Config) -> String {
        self.global
            .network
            .clone()
            .unwrap_or_else(|| config.default_network().to_owned())
    }

    /// The selected network with the environment and flag layers applied.
    /// `ETH_RPC_URL` is honoured only when `remote_env` is set (commands meant for a remote
    /// chain) and the network is not a dev chain, so that a variable left over from Foundry
    /// work cannot silently redirect local commands.
    pub fn network(&self, config: &Config, remote_env: bool) -> Result<NetworkConfig, CliError> {
        let name = self.network_name(config);
        let base = config.network(&name)?;
        let mut env = NetworkOverride::default();
        let eth_rpc_url = std::env::var("ETH_RPC_URL").ok().filter(|v| !v.is_empty());
        if let Some(url) = eth_rpc_url.filter(|_| remote_env && !base.dev_chain) {
            let url = url.parse().map_err(|e| {
                CliError::usage(anyhow::anyhow!("ETH_RPC_URL `{url}` is not a URL: {e}"))
            })?;
            env.rpc_url = Some(url);
        }
        let flags = NetworkOverride {
            rpc_url: self.global.rpc_url.clone(),
            ..NetworkOverride::default()
        };
        Ok(config.resolve(&name, &env, &flags)?)
    }
}

/// `<home>/.taonado/<parts…>`.
pub fn home_subdir(home: Option<&Path>, parts: &[&str]) -> Result<PathBuf, CliError> {
    let home = home.ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "cannot find the home directory for ~/.taonado; set HOME or pass the path explicitly"
        ))
    })?;
    Ok(parts
        .iter()
        .fold(home.join(".taonado"), |path, part| path.join(part)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_paths_are_under_dot_taonado() {
        assert_eq!(
            home_subdir(Some(Path::new("/home/op")), &["cache", "local"]).unwrap(),
            Path::new("/home/op/.taonado/cache/local")
        );
        assert_eq!(home_subdir(None, &["notes"]).unwrap_err().exit_code(), 2);
    }
}
