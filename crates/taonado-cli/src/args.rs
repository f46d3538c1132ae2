//! Argument groups and value parsers shared by more than one command. A command module
//! flattens these; it never imports another command's module.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use clap::Args;
use taonado_config::{Config, NetworkConfig};
use taonado_devnet::DevnetConfig;
use taonado_monitor::{MonitorFile, Notifier};
use taonado_ops::deploy::plan::ProtocolSettings;
use taonado_store::Store;

use crate::context::Context;
use crate::error::{CliError, monitor_error};

pub use crate::hotkey::HotkeyOpts;
pub use crate::signer::SignerOpts;

/// clap value parser for TAO amounts (`1.5`), as wei.
pub fn parse_tao(s: &str) -> Result<U256, String> {
    taonado_types::parse_tao(s).map_err(|e| e.to_string())
}

/// Where the protocol's contracts are recorded.
#[derive(Args, Clone, Debug)]
pub struct DeploymentsArgs {
    /// Directory of deployment records (`<network>.json`), laid over the network's addresses.
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

/// The network, its config and the protocol address `pick` selects (by `what`).
pub fn resolve(
    context: &Context,
    deployments: &DeploymentsArgs,
    what: &str,
    pick: impl FnOnce(&taonado_config::ProtocolAddresses) -> Option<Address>,
) -> Result<(Config, NetworkConfig, Address), CliError> {
    let config = context.config()?;
    let network = context.network(&config, true)?;
    let addresses = network.deployment(&deployments.deployments_dir)?.addresses;
    let address = pick(&addresses).ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "network {} has no {what} address; run `taonado deploy` or set it in taonado.toml",
            network.name
        ))
    })?;
    Ok((config, network, address))
}

/// The network, its config and its protocol addresses (the record laid over the config).
pub fn resolve_addresses(
    context: &Context,
    deployments: &DeploymentsArgs,
) -> Result<(Config, NetworkConfig, taonado_config::ProtocolAddresses), CliError> {
    let config = context.config()?;
    let network = context.network(&config, true)?;
    let addresses = network.deployment(&deployments.deployments_dir)?.addresses;
    Ok((config, network, addresses))
}

/// A published trusted setup the tool knows (`--setup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PublishedSetup {
    /// Tornado Cash's trusted setup (1,114 contributors): the live pool's verifier key.
    Tornado,
}

impl ProtocolArgs {
    /// The verifying key `--verifying-key`/`--setup` choose.
    pub fn key_choice(&self) -> taonado_ops::deploy::plan::KeyChoice {
        taonado_ops::deploy::plan::KeyChoice::from_flags(
            self.verifying_key.as_deref(),
            self.setup == Some(PublishedSetup::Tornado),
        )
    }
}

/// What the protocol is deployed with.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Protocol")]
pub struct ProtocolArgs {
    /// WeightsV3 deposit goal, in TAO.
    #[arg(long, value_name = "TAO", default_value = "1000", value_parser = parse_tao)]
    pub deposit_goal: U256,
    /// Groth16 verification key of the withdraw circuit (snarkjs verification_key.json)
    /// [default: the local dev key built into the binary on dev chains, `--setup tornado`
    /// on live networks].
    #[arg(long, value_name = "FILE", conflicts_with = "setup")]
    pub verifying_key: Option<PathBuf>,
    /// Deploy the verifier with a published setup's key instead of a file: `tornado`
    /// (Tornado Cash's ceremony key, as the live pool's Verifier.sol).
    #[arg(long, value_enum, value_name = "SETUP")]
    pub setup: Option<PublishedSetup>,
    /// EvmValidator bounty paid to a public setWeights caller, in TAO.
    #[arg(long, value_name = "TAO", default_value = "0.001", value_parser = parse_tao)]
    pub set_weights_bounty: U256,
    /// Blocks between public setWeights calls (the deployed default of 0 lets the bounty
    /// be drained every block).
    #[arg(long, value_name = "BLOCKS", default_value_t = 113)]
    pub set_weights_interval: u64,
    /// Top the EvmValidator's balance up to this, in TAO [default: 10 on dev chains, else 0].
    #[arg(long, value_name = "TAO", value_parser = parse_tao)]
    pub validator_funding: Option<U256>,
}

impl ProtocolArgs {
    /// The settings these flags describe (the verifying key is loaded separately).
    pub fn settings(&self) -> ProtocolSettings {
        ProtocolSettings {
            deposit_goal: self.deposit_goal,
            set_weights_bounty: self.set_weights_bounty,
            set_weights_interval: self.set_weights_interval,
            validator_funding: self.validator_funding,
        }
    }
}

/// Flags shared by `devnet` and `up`: where the chain listens and how it runs.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Chain")]
pub struct ChainArgs {
    /// JSON-RPC port (0 picks a free one; the real URL is printed).
    #[arg(long, default_value_t = taonado_devnet::config::DEFAULT_PORT)]
    pub port: u16,
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Keep the chain in DIR across restarts (every change is logged before it is
    /// acknowledged, so a kill loses nothing).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// subtensor fast-runtime profile: 250 ms blocks and subnet tempo 10.
    #[arg(long)]
    pub fast: bool,
    /// A browser origin allowed to call the chain (CORS), e.g. http://localhost:3000;
    /// repeatable. None by default: the dev accounts are unlocked.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// A host name the chain answers besides localhost and IP addresses; repeatable.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    /// Gas of one eth_call / eth_estimateGas [default: the block gas limit].
    #[arg(long, value_name = "GAS")]
    pub call_gas_cap: Option<u64>,
    /// Keep the state of only the last N blocks readable (at least 256, the reorg depth)
    /// [default: all].
    #[arg(long, value_name = "N", value_parser = parse_prune_history)]
    pub prune_history: Option<u64>,
    /// A call still executing after this many seconds is answered with an error.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = parse_call_timeout)]
    pub call_timeout: f64,
}

/// A history depth a reorg can still use.
fn parse_prune_history(s: &str) -> Result<u64, String> {
    let blocks: u64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of blocks"))?;
    let floor = taonado_devnet::SUBTENSOR_HISTORY;
    if blocks < floor {
        return Err(format!(
            "{blocks} blocks is under {floor}, the depth a reorg can reach; use {floor} or more"
        ));
    }
    Ok(blocks)
}

/// Seconds, from a millisecond to a day.
fn parse_call_timeout(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.001..=86_400.0).contains(&secs) {
        return Err(format!("{secs} s is outside 0.001 to 86400 seconds"));
    }
    Ok(secs)
}

impl ChainArgs {
    /// The devnet config these flags describe (`--fast` picks the fast profile).
    pub fn devnet_config(&self) -> DevnetConfig {
        let base = if self.fast {
            DevnetConfig::fast()
        } else {
            DevnetConfig::local()
        };
        DevnetConfig {
            host: self.host,
            port: self.port,
            state_dir: self.state_dir.clone(),
            access: taonado_devnet::Access {
                allowed_hosts: self.allow_hosts.clone(),
                allowed_origins: self.allow_origins.clone(),
            },
            limits: taonado_devnet::RpcLimits {
                call_gas_cap: self.call_gas_cap,
                call_timeout: std::time::Duration::from_secs_f64(self.call_timeout),
                ..base.limits.clone()
            },
            prune_history: self.prune_history,
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_history_keeps_at_least_the_reorg_depth() {
        assert_eq!(parse_prune_history("256"), Ok(256));
        assert_eq!(parse_prune_history("100000"), Ok(100_000));
        assert!(parse_prune_history("10").unwrap_err().contains("under 256"));
        assert!(parse_prune_history("x").is_err());
    }

    #[test]
    fn tao_amounts_parse_to_wei() {
        assert_eq!(
            parse_tao("1.5"),
            Ok(U256::from(1_500_000_000_000_000_000u64))
        );
        assert!(parse_tao("abc").is_err());
    }
}

/// Where the monitor keeps its state and finds its config.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Monitor")]
pub struct MonitorFiles {
    /// Database of the indexer and the alerts: a SQLite file [default: data/<network>.db],
    /// or `postgres://user@host/db` shared by several monitors (one leads).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// Alert rules and channels (TOML: [rules], [[channels]], [delivery])
    /// [default: ./monitor.toml if it exists, else the manual's rules and no channels].
    #[arg(long, value_name = "FILE")]
    pub alerts_config: Option<PathBuf>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

impl MonitorFiles {
    pub fn db_path(&self, network: &str) -> PathBuf {
        self.db
            .clone()
            .unwrap_or_else(|| taonado_store::default_path(network))
    }

    /// Opens the database only if it exists (read-only commands).
    pub fn existing_store(&self, network: &str) -> Result<Option<Store>, CliError> {
        let path = self.db_path(network);
        if !path.exists() && self.db.is_some() && !taonado_monitor::files::is_postgres(&path) {
            return Err(CliError::usage(anyhow::anyhow!(
                "no database at {}; run `taonado monitor` first or fix --db",
                path.display()
            )));
        }
        taonado_monitor::files::existing_store(&path).map_err(monitor_error)
    }

    /// The database, which must exist (commands that read what the monitor recorded).
    pub fn required_store(&self, network: &str) -> Result<Store, CliError> {
        self.existing_store(network)?.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no database at {}; run `taonado monitor` first or pass --db",
                self.db_path(network).display()
            ))
        })
    }

    /// The monitor config file, parsed.
    pub fn load_config(&self) -> Result<MonitorFile, CliError> {
        taonado_monitor::files::load_file(self.alerts_config.as_deref()).map_err(monitor_error)
    }
}

/// The channels of the config, with secrets read from the environment.
pub fn notifiers(file: &MonitorFile) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
    taonado_monitor::files::notifiers(file, &|name| std::env::var(name).ok()).map_err(monitor_error)
}

/// The channels of the config, which must name at least one (commands whose only job is
/// to send: `alerts test`, `emergency notify`).
pub fn required_notifiers(file: &MonitorFile) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
    let channels = notifiers(file)?;
    if channels.is_empty() {
        return Err(CliError::usage(anyhow::anyhow!(
            "no channels configured; add [[channels]] to the monitor config (--alerts-config, default ./monitor.toml)"
        )));
    }
    Ok(channels)
}

/// What every command that sends takes (`multisig setup`, `admin …`).
#[derive(Args)]
pub struct SendArgs {
    /// Check and simulate what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Required on a live chain.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub signer: SignerOpts,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}
