//! One module per command group; each `XxxArgs::run` resolves what it needs from the
//! context, calls the libraries and prints one report.

pub mod address;
pub mod alerts;
pub mod config;
pub mod dashboard;
pub mod deploy;
pub mod devnet;
pub mod gas;
pub mod health;
pub mod index;
pub mod migrate;
pub mod miner;
pub mod mixer;
pub mod monitor;
pub mod net;
pub mod networks;
pub mod up;
pub mod upgrade;
pub mod validator;
pub mod verify;
pub mod wallet;
pub mod weights;
pub mod wtao;
pub mod zk;

use crate::cli::Command;
use crate::context::Context;
use crate::error::CliError;

pub async fn run(command: Command, context: &Context) -> Result<(), CliError> {
    match command {
        Command::Devnet(args) => args.run(context).await,
        Command::Deploy(args) => args.run(context).await,
        Command::Up(args) => args.run(context).await,
        Command::GasReport(args) => args.run(context).await,
        Command::Mixer(command) => command.run(context).await,
        Command::Networks(args) => args.run(context),
        Command::Config(command) => command.run(context),
        Command::Upgrade(command) => command.run(context).await,
        Command::Migrate(command) => command.run(context).await,
        Command::Address(args) => args.run(context),
        Command::Wallet(command) => command.run(context),
        Command::Wtao(command) => command.run(context).await,
        Command::Zk(command) => command.run(context),
        Command::Miner(command) => command.run(context).await,
        Command::Validator(command) => command.run(context).await,
        Command::Weights(command) => command.run(context).await,
        Command::Verify(args) => args.run(context).await,
        Command::Net(command) => command.run(context).await,
        Command::Index(args) => args.run(context).await,
        Command::Monitor(args) => args.run(context).await,
        Command::Alerts(command) => command.run(context).await,
        Command::Health(args) => args.run(context).await,
        Command::Dashboard(command) => command.run(context),
    }
}

/// A plain table for human output.
pub(crate) fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    table
}
