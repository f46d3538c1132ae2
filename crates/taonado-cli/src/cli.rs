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
    /// Inspect the resolved configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
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
