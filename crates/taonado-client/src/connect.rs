//! Providers for a configured network, with the chain id checked before use: thin wrappers
//! over [`ProviderSpec`] with the network's one endpoint.

use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use taonado_config::{Config, NetworkConfig};

use crate::error::{ClientError, Result};
use crate::provider::{Connection, ProviderSpec};

fn spec(network: &NetworkConfig) -> ProviderSpec {
    ProviderSpec {
        chain_id: Some(network.chain_id),
        ..ProviderSpec::new(vec![network.rpc_url.clone()])
    }
}

/// Checks the connection's chain id, with the errors naming the network.
async fn checked(
    connection: Connection,
    network: &NetworkConfig,
    config: &Config,
) -> Result<DynProvider> {
    match connection.check_chain().await {
        Ok(actual) => {
            tracing::debug!(network = %network.name, chain_id = actual, "connected");
            Ok(connection.into_provider())
        }
        Err(ClientError::NoEndpointAnswered { source, .. }) => Err(ClientError::Unreachable {
            network: network.name.clone(),
            url: network.rpc_url.clone(),
            source,
        }),
        Err(ClientError::EndpointChainMismatch { actual, .. }) => {
            Err(mismatch(network, config, actual))
        }
        Err(other) => Err(other),
    }
}

/// A read-only provider for `network`, after checking that the endpoint serves the
/// network's chain id. `config` is only used to suggest the right network on a mismatch.
pub async fn connect(network: &NetworkConfig, config: &Config) -> Result<DynProvider> {
    checked(spec(network).build()?, network, config).await
}

/// [`connect`] for a long-running service: while the endpoint is unreachable it waits and
/// tries again (1 s, doubling to 30 s), saying so at WARN each time, instead of failing.
/// A wrong chain id still fails at once. `None` when `shutdown` turns true first.
pub async fn connect_when_reachable(
    network: &NetworkConfig,
    config: &Config,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<DynProvider>> {
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        match connect(network, config).await {
            Ok(provider) => return Ok(Some(provider)),
            Err(error @ ClientError::Unreachable { .. }) => {
                tracing::warn!(
                    network = %network.name,
                    endpoint = %crate::endpoint_label(&network.rpc_url),
                    retry_in_secs = wait.as_secs(),
                    %error,
                    "the RPC endpoint is unreachable; waiting for it"
                );
            }
            Err(error) => return Err(error),
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return Ok(None),
        }
        wait = (wait * 2).min(std::time::Duration::from_secs(30));
    }
}

/// A provider that fills nonce, gas and chain id and signs with `signer`, after the same
/// chain id check as [`connect`].
pub async fn connect_with_signer(
    network: &NetworkConfig,
    config: &Config,
    signer: PrivateKeySigner,
) -> Result<DynProvider> {
    let connection = ProviderSpec {
        signer: Some(signer),
        ..spec(network)
    }
    .build()?;
    checked(connection, network, config).await
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
    tracing::debug!(network = %network.name, chain_id = actual, "connected");
    if actual == network.chain_id {
        return Ok(actual);
    }
    Err(mismatch(network, config, actual))
}

fn mismatch(network: &NetworkConfig, config: &Config, actual: u64) -> ClientError {
    ClientError::ChainIdMismatch {
        network: network.name.clone(),
        expected: network.chain_id,
        actual,
        hint: mismatch_hint(network, config.network_for_chain_id(actual)),
    }
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

    /// A dead endpoint is waited for, not fatal; the wait ends on shutdown.
    #[tokio::test]
    async fn a_service_waits_for_an_unreachable_endpoint_until_shutdown() {
        let mut local = Config::builtin().network("local").unwrap();
        local.rpc_url = "http://127.0.0.1:9".parse().unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let waiting = tokio::spawn(async move {
            connect_when_reachable(&local, &Config::builtin(), shutdown).await
        });
        // Still waiting after the first refusal (it would have returned an error before).
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        stop.send(true).unwrap();
        assert!(matches!(waiting.await.unwrap(), Ok(None)));
    }
}
