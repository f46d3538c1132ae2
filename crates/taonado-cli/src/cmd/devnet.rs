//! `taonado devnet`: the embedded chain, until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use taonado_devnet::{DevnetConfig, subtensor::SubtensorConfig};

use crate::args::ChainArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::reports::ReadyReport;

#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// EIP-155 chain id (945/964 to rehearse testnet/mainnet).
    #[arg(long, default_value_t = taonado_devnet::config::DEFAULT_CHAIN_ID)]
    pub chain_id: u64,
    /// Mine a block every SECS seconds instead of one block per transaction.
    #[arg(long, value_name = "SECS", value_parser = parse_block_time)]
    pub block_time: Option<Duration>,
    /// Subnet configuration (TOML) for the emulated subtensor.
    #[arg(long, value_name = "FILE")]
    pub subnet_config: Option<PathBuf>,
    /// Number of prefunded dev accounts (at most 10).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub accounts: usize,
    /// Fork this JSON-RPC node: state is fetched lazily at the fork block and cached; the chain
    /// id becomes the remote's. Nothing is ever sent to the remote.
    #[arg(long, value_name = "URL", conflicts_with = "state_dir")]
    pub fork_url: Option<url::Url>,
    /// The remote block to fork at [default: its latest].
    #[arg(long, value_name = "N", requires = "fork_url")]
    pub fork_block: Option<u64>,
    // Flattened last: its help heading applies to the arguments after it.
    #[command(flatten)]
    pub chain: ChainArgs,
}

fn parse_block_time(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    // Under a millisecond the miner would spin and grow the chain without bound.
    if !(secs.is_finite() && (0.001..=3600.0).contains(&secs)) {
        return Err(format!(
            "block time must be between 0.001 and 3600 seconds, got {s}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl DevnetArgs {
    fn devnet_config(&self) -> Result<DevnetConfig, CliError> {
        let mut config = self.chain.devnet_config();
        config.chain_id = self.chain_id;
        config.accounts = self.accounts;
        config.fork_url = self.fork_url.as_ref().map(ToString::to_string);
        config.fork_block = self.fork_block;
        if self.block_time.is_some() {
            config.block_time = self.block_time;
        }
        if let Some(path) = &self.subnet_config {
            config.subtensor = load_subnet_config(path)?;
        }
        Ok(config)
    }

    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        if context.global.rpc_url.is_some() {
            return Err(CliError::usage(anyhow::anyhow!(
                "`taonado devnet` serves a chain; --rpc-url does not apply (use --host and --port)"
            )));
        }
        let config = self.devnet_config()?;
        let mut signals = crate::shutdown::StopSignals::install()?;
        // The chain serves the local network unless --network names another.
        let network = context.global.network.as_deref().unwrap_or("local");
        let _registration = context.register_run("devnet", Some(network));
        let handle = taonado_devnet::spawn(config).await?;
        let report = ReadyReport::new(&handle, self.chain.state_dir.clone());
        tracing::info!(url = %report.rpc_url, chain_id = report.chain_id, "devnet listening");
        context.output.report(&report)?;
        let stopped_by_itself = tokio::select! {
            () = signals.recv() => false,
            () = handle.stopped() => true,
        };
        let block = handle.block_number();
        handle.shutdown().await?;
        if !stopped_by_itself {
            context
                .output
                .line(&format!("devnet stopped at block {block}"))?;
        }
        if stopped_by_itself {
            return Err(CliError::failed(anyhow::anyhow!(
                "the devnet server stopped unexpectedly; see the log above"
            )));
        }
        Ok(())
    }
}

fn load_subnet_config(path: &std::path::Path) -> Result<SubtensorConfig, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(
            anyhow::Error::new(e).context(format!("reading --subnet-config {}", path.display())),
        )
    })?;
    SubtensorConfig::from_toml_str(&text).map_err(|e| {
        CliError::usage(
            anyhow::Error::new(e).context(format!("invalid subnet config {}", path.display())),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_time_bounds() {
        assert_eq!(
            parse_block_time("0.25").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_block_time("12").unwrap(), Duration::from_secs(12));
        assert_eq!(parse_block_time("0.001").unwrap(), Duration::from_millis(1));
        for bad in ["0", "-1", "abc", "NaN", "7200", "0.000000001", "0.0009"] {
            assert!(parse_block_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_map_onto_the_config() {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: DevnetArgs,
        }
        let w = Wrapper::try_parse_from([
            "x",
            "--port",
            "0",
            "--chain-id",
            "945",
            "--fast",
            "--block-time",
            "2",
            "--accounts",
            "3",
        ])
        .unwrap();
        let config = w.args.devnet_config().unwrap();
        assert_eq!((config.port, config.chain_id, config.accounts), (0, 945, 3));
        assert_eq!(config.block_time, Some(Duration::from_secs(2)));
        let fast = DevnetConfig::fast();
        assert_eq!(
            format!("{:?}", config.subtensor),
            format!("{:?}", fast.subtensor)
        );
    }
}
