//! `taonado config show`: the resolved configuration (it never contains secrets).

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;
use taonado_config::{NetworkConfig, ProtocolAddresses, SignerRef};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the selected network after presets, file, environment and flags are applied.
    Show,
}

#[derive(Serialize)]
pub struct ConfigReport {
    /// The file that was loaded, if any.
    pub source: Option<PathBuf>,
    pub default_network: String,
    pub network: ResolvedNetwork,
}

#[derive(Serialize)]
pub struct ResolvedNetwork {
    pub name: String,
    pub chain_id: u64,
    pub rpc_url: String,
    pub netuid: u16,
    pub explorer_api: Option<String>,
    pub wtao_owned: bool,
    pub dev_chain: bool,
    pub addresses: ProtocolAddresses,
    pub signer: SignerRef,
}

impl From<NetworkConfig> for ResolvedNetwork {
    fn from(n: NetworkConfig) -> Self {
        Self {
            name: n.name,
            chain_id: n.chain_id,
            rpc_url: taonado_types::redact_urls(n.rpc_url.as_str()).into_owned(),
            netuid: n.netuid,
            explorer_api: n
                .explorer_api
                .map(|u| taonado_types::redact_urls(u.as_str()).into_owned()),
            wtao_owned: n.wtao_owned,
            dev_chain: n.dev_chain,
            addresses: n.addresses,
            signer: n.signer,
        }
    }
}

impl Report for ConfigReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let source = self.source.as_ref().map_or_else(
            || "none (built-in presets)".to_owned(),
            |p| p.display().to_string(),
        );
        let n = &self.network;
        writeln!(out, "config file:     {source}")?;
        writeln!(out, "default network: {}", self.default_network)?;
        writeln!(out, "network:         {}", n.name)?;
        writeln!(out, "chain id:        {}", n.chain_id)?;
        writeln!(out, "rpc url:         {}", n.rpc_url)?;
        writeln!(out, "netuid:          {}", n.netuid)?;
        writeln!(
            out,
            "explorer api:    {}",
            n.explorer_api.as_deref().unwrap_or("-")
        )?;
        writeln!(out, "wtao owned:      {}", n.wtao_owned)?;
        writeln!(out, "dev chain:       {}", n.dev_chain)?;
        if let Some(keystore) = &n.signer.keystore {
            writeln!(out, "signer keystore: {}", keystore.display())?;
        }
        if let Some(account) = &n.signer.account {
            writeln!(out, "signer account:  {account}")?;
        }
        let named = n.addresses.named();
        if named.is_empty() {
            writeln!(
                out,
                "addresses:       none configured (see deployments/{}.json)",
                n.name
            )?;
        } else {
            writeln!(out, "addresses:")?;
            for (name, address) in named {
                writeln!(out, "  {name:<20} {address}")?;
            }
        }
        Ok(())
    }
}

impl ConfigCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            ConfigCommand::Show => {
                let config = context.config()?;
                let network = context.network(&config, true)?;
                let report = ConfigReport {
                    source: config.source().map(PathBuf::from),
                    default_network: config.default_network().to_owned(),
                    network: network.into(),
                };
                context.output.report(&report)
            }
        }
    }
}
