//! `taonado net check`: every configured network's endpoint: reachable, right chain, head
//! block and age, latency.

use std::io::Write;
use std::time::Duration;

use alloy::providers::DynProvider;
use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_client::ProviderSpec;
use taonado_ops::netcheck::{NetLimits, NetState, NetStatus, NetTarget, check_networks};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum NetCommand {
    /// Probe every configured network (or only --network): reachability, chain id, head
    /// block and age, RPC latency. Exit 1 when a network expected up is not.
    Check(NetCheckArgs),
}

impl NetCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            NetCommand::Check(args) => args.run(context).await,
        }
    }
}

#[derive(Args)]
pub struct NetCheckArgs {
    /// Per-request timeout, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// A live network whose newest block is older than this is stalled, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub max_head_age: u64,
    /// Also require the local dev chains to be up (by default a dev chain that is not
    /// running is reported, not failed, unless selected with --network).
    #[arg(long)]
    pub require_dev: bool,
}

/// What `net check` prints.
#[derive(Serialize)]
pub struct NetReport {
    pub ok: bool,
    pub networks: Vec<NetStatus>,
}

impl Report for NetReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&[
            "", "network", "chain", "head", "age", "latency", "rpc", "detail",
        ]);
        for n in &self.networks {
            let mark = match (&n.state, n.failed) {
                (NetState::Up, _) => "✅",
                (_, true) => "❌",
                // Down but not expected up (a dev chain that is not running).
                (_, false) => "⚪",
            };
            let opt = |v: Option<u64>, unit: &str| {
                v.map_or_else(|| "-".to_owned(), |v| format!("{v}{unit}"))
            };
            table.add_row(vec![
                mark.to_owned(),
                n.network.clone(),
                match n.chain_id {
                    Some(id) if id == n.expected_chain_id => id.to_string(),
                    Some(id) => format!("{id} (expected {})", n.expected_chain_id),
                    None => format!("({})", n.expected_chain_id),
                },
                opt(n.head_block, ""),
                opt(n.head_age_secs, " s"),
                opt(n.latency_ms, " ms"),
                n.rpc_url.clone(),
                n.detail.clone(),
            ]);
        }
        writeln!(out, "{table}")
    }
}

impl NetCheckArgs {
    /// A provider on `url` with the probe's timeout and no chain-id check: the probe reads
    /// the chain id and reports a wrong one.
    fn probe(&self, url: &url::Url) -> Result<DynProvider, CliError> {
        Ok(ProviderSpec {
            request_timeout: Duration::from_secs(self.timeout.max(1)),
            ..ProviderSpec::new(vec![url.clone()])
        }
        .build()?
        .into_provider())
    }

    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        // An explicit --network (or TAONADO_NETWORK) narrows the check to that network, which
        // is then expected up whatever it is.
        let targets: Vec<NetTarget> =
            if context.global.network.is_some() || context.global.rpc_url.is_some() {
                let network = context.network(&config, true)?;
                vec![NetTarget {
                    name: network.name.clone(),
                    provider: self.probe(&network.rpc_url)?,
                    rpc_url: network.rpc_url.clone(),
                    chain_id: network.chain_id,
                    expected_up: true,
                    dev_chain: network.dev_chain,
                }]
            } else {
                config
                    .networks()?
                    .into_iter()
                    .map(|n| {
                        Ok(NetTarget {
                            expected_up: !n.dev_chain || self.require_dev,
                            provider: self.probe(&n.rpc_url)?,
                            name: n.name,
                            rpc_url: n.rpc_url,
                            chain_id: n.chain_id,
                            dev_chain: n.dev_chain,
                        })
                    })
                    .collect::<Result<_, CliError>>()?
            };
        let limits = NetLimits {
            max_head_age: Duration::from_secs(self.max_head_age),
        };
        let networks = check_networks(&targets, limits).await;
        let failing: Vec<String> = networks
            .iter()
            .filter(|n| n.failed)
            .map(|n| format!("{}: {}", n.network, n.detail))
            .collect();
        let report = NetReport {
            ok: failing.is_empty(),
            networks,
        };
        if report.ok {
            return context.output.report(&report);
        }
        let error = anyhow::anyhow!("{} network(s) down: {}", failing.len(), failing.join("; "));
        Err(context.output.report_failed(&report, error))
    }
}
