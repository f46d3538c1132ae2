//! `taonado networks`: every configured network, resolved.

use std::io::Write;

use clap::Args;
use serde::Serialize;
use taonado_config::{Config, NetworkConfig, preset};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Args)]
pub struct NetworksArgs {}

#[derive(Serialize)]
pub struct NetworksReport {
    pub default_network: String,
    pub networks: Vec<NetworkRow>,
}

#[derive(Serialize)]
pub struct NetworkRow {
    pub name: String,
    pub chain_id: u64,
    pub rpc_url: String,
    pub netuid: u16,
    /// `preset`, `file` or `preset+file`.
    pub origin: &'static str,
    pub dev_chain: bool,
    pub wtao_owned: bool,
    pub known_addresses: usize,
}

impl NetworkRow {
    pub fn new(network: &NetworkConfig, config: &Config) -> Self {
        let in_file = config.file().networks.contains_key(&network.name);
        let origin = match (preset(&network.name).is_some(), in_file) {
            (true, true) => "preset+file",
            (true, false) => "preset",
            (false, _) => "file",
        };
        Self {
            name: network.name.clone(),
            chain_id: network.chain_id,
            rpc_url: taonado_types::redact_urls(network.rpc_url.as_str()).into_owned(),
            netuid: network.netuid,
            origin,
            dev_chain: network.dev_chain,
            wtao_owned: network.wtao_owned,
            known_addresses: network.addresses.named().len(),
        }
    }
}

impl Report for NetworksReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table =
            crate::output::table(&["", "network", "chain id", "rpc url", "netuid", "origin"]);
        for n in &self.networks {
            let marker = if n.name == self.default_network {
                "*"
            } else {
                ""
            };
            table.add_row(vec![
                marker.to_owned(),
                n.name.clone(),
                n.chain_id.to_string(),
                n.rpc_url.clone(),
                n.netuid.to_string(),
                n.origin.to_owned(),
            ]);
        }
        writeln!(out, "{table}")
    }
}

impl NetworksArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let networks = config.networks()?;
        let report = NetworksReport {
            default_network: context.network_name(&config),
            networks: networks
                .iter()
                .map(|n| NetworkRow::new(n, &config))
                .collect(),
        };
        context.output.report(&report)
    }
}
