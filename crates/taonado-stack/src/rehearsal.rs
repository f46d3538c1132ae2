//! `taonado upgrade evm-validator --rehearse`: the upgrade run on an in-process fork of the
//! network (port 0, fetching lazily from the network's RPC at a pinned block), with the
//! owner impersonated. The real chain only serves reads.

use std::time::Duration;

use taonado_client::ProviderSpec;
use taonado_config::NetworkConfig;
use taonado_ops::upgrade::{self, RehearsalReport, UpgradePlan};

use crate::error::{Result, StackError};

/// A request on the fork may first fetch many accounts and slots from the real chain.
const FORK_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The rehearsal and what the fork fetched from the real chain.
#[derive(Debug, serde::Serialize)]
pub struct RehearsalOutput {
    pub fork_url: String,
    pub fetched_accounts: u64,
    pub fetched_storage_slots: u64,
    pub rehearsal: RehearsalReport,
}

/// Forks `network` at `fork_block` (default: its head), rehearses `plan` there, and stops
/// the fork whatever the outcome.
pub async fn rehearse_upgrade(
    network: &NetworkConfig,
    plan: &UpgradePlan,
    fork_block: Option<u64>,
) -> Result<RehearsalOutput> {
    let devnet = taonado_devnet::spawn(taonado_devnet::DevnetConfig {
        fork_url: Some(network.rpc_url.to_string()),
        fork_block,
        port: 0,
        ..taonado_devnet::DevnetConfig::local()
    })
    .await?;
    tracing::info!(fork = %devnet.rpc_url(), "rehearsing on a fork of {}", network.rpc_url);
    let outcome = async {
        let url: url::Url =
            devnet
                .rpc_url()
                .parse()
                .map_err(|e: url::ParseError| StackError::DevnetUrl {
                    url: devnet.rpc_url().to_owned(),
                    message: e.to_string(),
                })?;
        let fork = ProviderSpec {
            chain_id: Some(devnet.chain_id()),
            request_timeout: FORK_REQUEST_TIMEOUT,
            ..ProviderSpec::new(vec![url])
        }
        .build()?
        .into_provider();
        Ok::<_, StackError>(upgrade::rehearse(&fork, plan).await?)
    }
    .await;
    let stats = devnet.fork_stats().unwrap_or_default();
    devnet.shutdown().await?;
    Ok(RehearsalOutput {
        fork_url: network.rpc_url.to_string(),
        fetched_accounts: stats.accounts,
        fetched_storage_slots: stats.storage_slots,
        rehearsal: outcome?,
    })
}
