//! The argument tree: `Cli` = global flags + one command. Each command's arguments live
//! next to its code in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::cmd;

/// Taonado (Bittensor subnet 113): dev chain, deployment and operations in one binary.
#[derive(Parser)]
#[command(name = "taonado", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

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

#[derive(Subcommand)]
pub enum Command {
    /// Run the embedded Bittensor-EVM dev chain (JSON-RPC, subtensor precompiles, dev accounts).
    Devnet(cmd::devnet::DevnetArgs),
    /// Deploy the protocol to a network (idempotent, resumable; recorded in deployments/<network>.json).
    Deploy(cmd::deploy::DeployArgs),
    /// Dev chain + deployment + live mining simulation, in one process.
    Up(cmd::up::UpArgs),
    /// Gas used per contract function, from the receipts of a block range.
    GasReport(cmd::gas::GasReportArgs),
    /// The privacy mixer: inspect notes.
    #[command(subcommand)]
    Mixer(cmd::mixer::MixerCommand),
    /// List the configured networks.
    Networks(cmd::networks::NetworksArgs),
    /// EvmValidator UUPS upgrade: layout check, dry run, rehearsal on a fork, execute, verify.
    #[command(subcommand)]
    Upgrade(cmd::upgrade::UpgradeCommand),
    /// Migrate the EvmValidator to a new weights contract, and verify the migration.
    #[command(subcommand)]
    Migrate(cmd::migrate::MigrateCommand),
    /// Inspect the resolved configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Convert an account between SS58, public key hex and EVM address (mirror).
    Address(cmd::address::AddressArgs),
    /// EVM keys in Foundry-compatible encrypted keystores.
    #[command(subcommand)]
    Wallet(cmd::wallet::WalletCommand),
    /// Wrap, unwrap, check and transfer WTAO; send native TAO to SS58 accounts.
    #[command(subcommand)]
    Wtao(cmd::wtao::WtaoCommand),
    /// Mining: wrap TAO and associate a hotkey, or show a miner's status.
    #[command(subcommand)]
    Miner(cmd::miner::MinerCommand),
    /// Set the subnet's weights through the EvmValidator (once or in a loop).
    #[command(subcommand)]
    Validator(cmd::validator::ValidatorCommand),
    /// WeightsV3: on-chain weights next to an off-chain recomputation.
    #[command(subcommand)]
    Weights(cmd::weights::WeightsCommand),
    /// Withdraw-circuit keys: phase-2 ceremony, key provenance.
    #[command(subcommand)]
    Zk(cmd::zk::ZkCommand),
    /// Submit the deployed contracts' sources to the explorer (Etherscan/Blockscout API); `verify report` renders the result.
    Verify(cmd::verify::VerifyArgs),
    /// Network connectivity: `net check`.
    #[command(subcommand)]
    Net(cmd::net::NetCommand),
    /// Follow the chain into the local database (blocks, transactions, events, snapshots).
    Index(cmd::index::IndexArgs),
    /// Index the chain, evaluate alert rules, deliver notifications, serve the dashboard and /metrics.
    Monitor(cmd::monitor::MonitorArgs),
    /// Alerts: `alerts test` through the configured channels, `alerts list` firing and recent.
    #[command(subcommand)]
    Alerts(cmd::alerts::AlertsCommand),
    /// One-shot health check for cron: network, contracts, gas, patterns (exit 0 healthy, 1 not).
    Health(cmd::health::HealthArgs),
    /// The Grafana dashboard for the monitor's metrics: `dashboard export`.
    #[command(subcommand)]
    Dashboard(cmd::dashboard::DashboardCommand),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn argument_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
