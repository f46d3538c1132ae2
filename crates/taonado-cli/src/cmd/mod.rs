//! One module per command group; each `XxxArgs::run` resolves what it needs from the
//! context, calls the libraries and prints one report.

pub mod config;
pub mod deploy;
pub mod devnet;
pub mod gas;
pub mod mixer;
pub mod networks;
pub mod up;

use crate::cli::Command;
use crate::context::Context;
use crate::error::CliError;

pub async fn run(command: Command, context: &Context) -> Result<(), CliError> {
    match command {
        Command::Devnet(args) => args.run(context).await,
        Command::Deploy(args) => args.run(context).await,
        Command::Up(args) => args.run(context).await,
        Command::GasReport(args) => args.run(context).await,
        Command::Mixer(command) => command.run(context),
        Command::Networks(args) => args.run(context),
        Command::Config(command) => command.run(context),
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
