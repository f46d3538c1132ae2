//! Providers for a configured network, with the chain id checked before use.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use taonado_config::{Config, NetworkConfig};

use crate::error::{ClientError, Result};

/// Upper bound for one JSON-RPC request, so that a hung endpoint fails the command
/// instead of stalling it forever. Waiting for a receipt is many requests, each bounded.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn rpc_client(network: &NetworkConfig) -> Result<RpcClient> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| ClientError::HttpClient {
            message: e.to_string(),
        })?;
    Ok(RpcClient::new_http_with_client(
        http,
        network.rpc_url.clone(),
    ))
}

/// A read-only provider for `network`, after checking that the endpoint serves the
/// network's chain id. `config` is only used to suggest the right network on a mismatch.
pub async fn connect(network: &NetworkConfig, config: &Config) -> Result<DynProvider> {
    let provider = ProviderBuilder::new()
        .connect_client(rpc_client(network)?)
        .erased();
    check_chain_id(&provider, network, config).await?;
    Ok(provider)
}

/// A provider that fills nonce, gas and chain id and signs with `signer`, after the same
/// chain id check as [`connect`].
pub async fn connect_with_signer(
    network: &NetworkConfig,
    config: &Config,
    signer: PrivateKeySigner,
) -> Result<DynProvider> {
    // The cached nonce manager hands out a nonce before gas estimation can fail; a failed
    // estimate then leaves a gap that blocks every later transaction of this sender. Asking
    // the node for the pending nonce each time costs a round trip and cannot drift.
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_client(rpc_client(network)?)
        .erased();
    check_chain_id(&provider, network, config).await?;
    Ok(provider)
}

/// Ask the endpoint for its chain id and compare it with the network's.
pub async fn check_chain_id(
    provider: &DynProvider,
    network: &NetworkConfig,
    config: &Config,
) -> Result<u64> {
    let actual = provider
        .get_chain_id()
        .await
        .map_err(|source| ClientError::Unreachable {
            network: network.name.clone(),
            url: network.rpc_url.clone(),
            source: Box::new(source),
        })?;
    tracing::debug!(network = %network.name, url = %network.rpc_url, chain_id = actual, "connected");
    if actual == network.chain_id {
        return Ok(actual);
    }
    Err(ClientError::ChainIdMismatch {
        network: network.name.clone(),
        expected: network.chain_id,
        actual,
        hint: mismatch_hint(network, config.network_for_chain_id(actual)),
    })
}

fn mismatch_hint(network: &NetworkConfig, suggestion: Option<String>) -> String {
    let fix = format!("fix networks.{}.rpc_url", network.name);
    match suggestion {
        Some(other) if other != network.name => format!("pass --network {other} or {fix}"),
        _ => format!("check --rpc-url or {fix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_names_the_matching_network() {
        let config = Config::builtin();
        let mainnet = config.network("mainnet").unwrap();
        let err = ClientError::ChainIdMismatch {
            network: "mainnet".into(),
            expected: 964,
            actual: 945,
            hint: mismatch_hint(&mainnet, config.network_for_chain_id(945)),
        };
        assert_eq!(
            err.to_string(),
            "chain id 945 does not match network mainnet (964); pass --network testnet or fix networks.mainnet.rpc_url"
        );
    }

    #[test]
    fn hint_without_a_matching_network() {
        let config = Config::builtin();
        let local = config.network("local").unwrap();
        assert_eq!(
            mismatch_hint(&local, config.network_for_chain_id(31337)),
            "check --rpc-url or fix networks.local.rpc_url"
        );
    }

    #[tokio::test]
    async fn unreachable_endpoint_names_the_url() {
        // Port 9 (discard) on loopback: nothing listens there in the test environment, so
        // the connection is refused at once.
        let mut local = Config::builtin().network("local").unwrap();
        local.rpc_url = "http://127.0.0.1:9".parse().unwrap();
        let err = connect(&local, &Config::builtin()).await.unwrap_err();
        assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("http://127.0.0.1:9/"), "{err}");
    }
}
