//! `taonado`: the one binary of the Taonado workspace. This crate is glue: it parses
//! arguments, resolves configuration once, calls the libraries, renders their reports and
//! decides the exit code (0 ok, 1 a check or operation failed, 2 usage or config error;
//! a broken pipe counts as success).

mod args;
mod cli;
mod cmd;
mod context;
mod error;
mod hotkey;
mod output;
mod progress;
mod reports;
mod shutdown;
mod signer;
mod via_multisig;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::Cli;
use crate::context::Context;
use crate::context::GlobalArgs;
use crate::error::CliError;
use crate::output::Output;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Known before parsing so that usage errors can also be reported as an envelope.
    let json = args.iter().any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e, json),
    };
    init_tracing(&cli.global);
    let output = Output::new(cli.global.json);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(anyhow::Error::new(e).context("starting the async runtime")))
        .and_then(|runtime| {
            let context = Context::new(cli.global, output.clone());
            runtime.block_on(cli.command.run(&context))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report_error(&output, &error),
    }
}

fn clap_error(error: &clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // Help and version go to stdout and are a success.
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    if json {
        let rendered = error.to_string();
        let message = rendered
            .lines()
            .map(|l| l.trim_start_matches("error: ").trim())
            .find(|l| !l.is_empty())
            .unwrap_or("invalid arguments")
            .to_owned();
        return report_error(
            &Output::new(true),
            &CliError::usage(anyhow::anyhow!(message)),
        );
    }
    let _ = error.print();
    ExitCode::from(2)
}

fn report_error(output: &Output, error: &CliError) -> ExitCode {
    if error.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    output.error(error);
    ExitCode::from(error.exit_code())
}

/// Logs go to stderr. `RUST_LOG` overrides `-v`/`-q` entirely.
fn init_tracing(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn,taonado=info,taonado_ops=info,taonado_devnet=warn",
        (false, 1) => "info,taonado=debug,taonado_ops=debug,taonado_client=debug",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
