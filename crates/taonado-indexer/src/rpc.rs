//! JSON-RPC with retries and failover: every request is retried with exponential backoff,
//! moving to the next configured endpoint after each failure. Each endpoint's chain id is
//! checked before its first use, so a failover can never switch chains.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::transports::{RpcError, TransportError};
use url::Url;

use crate::config::IndexerConfig;
use crate::error::{IndexerError, Result};

const UNCHECKED: u8 = 0;
const CHECKED: u8 = 1;

struct Endpoint {
    url: Url,
    provider: DynProvider,
    chain: AtomicU8,
}

/// A set of endpoints serving one chain.
#[derive(Clone)]
pub(crate) struct Rpc {
    endpoints: Arc<Vec<Endpoint>>,
    current: Arc<AtomicUsize>,
    chain_id: u64,
    retry: crate::config::RetryPolicy,
}

/// An `eth_call` that reverted is an answer, not an endpoint failure.
fn is_revert(error: &TransportError) -> bool {
    match error {
        RpcError::ErrorResp(payload) => {
            payload.code == 3 || payload.message.to_ascii_lowercase().contains("revert")
        }
        _ => false,
    }
}

/// A node that no longer serves the state of the requested block (a pruned, non-archive
/// node): retrying the same block cannot help; a newer block can.
fn is_state_pruned(error: &TransportError) -> bool {
    const HINTS: [&str; 6] = [
        "not kept",
        "missing trie node",
        "state already discarded",
        "state not available",
        "state is not available",
        "historical state",
    ];
    match error {
        RpcError::ErrorResp(payload) => {
            let message = payload.message.to_ascii_lowercase();
            HINTS.iter().any(|hint| message.contains(hint))
        }
        _ => false,
    }
}

/// A node refusing a request for its size (`eth_getLogs` over too many blocks or results):
/// retrying the same request cannot help, a smaller one can.
fn is_too_large(error: &TransportError) -> bool {
    const HINTS: [&str; 7] = [
        "block range",
        "returned more than",
        "range too",
        "too many",
        "too large",
        "exceed",
        "limit",
    ];
    match error {
        RpcError::ErrorResp(payload) => {
            let message = payload.message.to_ascii_lowercase();
            HINTS.iter().any(|hint| message.contains(hint))
        }
        _ => false,
    }
}

impl Rpc {
    pub(crate) fn new(config: &IndexerConfig) -> Result<Self> {
        if config.endpoints.is_empty() {
            return Err(IndexerError::NoEndpoints);
        }
        let endpoints = config
            .endpoints
            .iter()
            .map(|url| {
                let http = alloy::transports::http::reqwest::Client::builder()
                    .timeout(config.request_timeout)
                    .build()
                    .map_err(|e| IndexerError::HttpClient {
                        url: url.clone(),
                        message: e.to_string(),
                    })?;
                let client = RpcClient::new_http_with_client(http, url.clone());
                Ok(Endpoint {
                    url: url.clone(),
                    provider: ProviderBuilder::new().connect_client(client).erased(),
                    chain: AtomicU8::new(UNCHECKED),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            endpoints: Arc::new(endpoints),
            current: Arc::new(AtomicUsize::new(0)),
            chain_id: config.chain_id,
            retry: config.retry,
        })
    }

    /// The endpoint requests currently go to.
    pub(crate) fn current_endpoint(&self) -> &Url {
        &self.endpoints[self.current.load(Ordering::Relaxed) % self.endpoints.len()].url
    }

    /// Runs `request` on the current endpoint; on failure waits and tries the next one,
    /// up to the retry policy's attempts. Reverts are returned at once.
    pub(crate) async fn call<T, F, Fut>(&self, what: impl Fn() -> String, request: F) -> Result<T>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let index = self.current.load(Ordering::Relaxed) % self.endpoints.len();
            let endpoint = &self.endpoints[index];
            let outcome = match self.ensure_chain(endpoint).await {
                Ok(()) => request(endpoint.provider.clone()).await,
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(e) if is_revert(&e) => {
                    return Err(IndexerError::Reverted {
                        what: what(),
                        endpoint: endpoint.url.clone(),
                        source: Box::new(e),
                    });
                }
                Err(e) if is_state_pruned(&e) => {
                    return Err(IndexerError::StatePruned {
                        what: what(),
                        endpoint: endpoint.url.clone(),
                        source: Box::new(e),
                    });
                }
                Err(e) if is_too_large(&e) => {
                    return Err(IndexerError::TooLarge {
                        what: what(),
                        endpoint: endpoint.url.clone(),
                        source: Box::new(e),
                    });
                }
                Err(e) => e,
            };
            if attempt >= attempts {
                return Err(IndexerError::Rpc {
                    what: what(),
                    endpoint: endpoint.url.clone(),
                    attempts,
                    source: Box::new(error),
                });
            }
            let next = (index + 1) % self.endpoints.len();
            // Only the first task to see this endpoint fail moves everyone on.
            let _ =
                self.current
                    .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
            let wait = self.retry.backoff(attempt);
            tracing::warn!(
                request = %what(),
                endpoint = %endpoint.url,
                next = %self.endpoints[next].url,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "RPC request failed, retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Checks the endpoint's chain id once. A wrong chain is a configuration error and is
    /// returned as such from [`Rpc::check_chain`]; during requests it counts as a failure.
    async fn ensure_chain(&self, endpoint: &Endpoint) -> Result<(), TransportError> {
        if endpoint.chain.load(Ordering::Relaxed) == CHECKED {
            return Ok(());
        }
        let actual = endpoint.provider.get_chain_id().await?;
        if actual != self.chain_id {
            return Err(alloy::transports::TransportErrorKind::custom_str(&format!(
                "{} serves chain {actual}, expected {}",
                endpoint.url, self.chain_id
            )));
        }
        endpoint.chain.store(CHECKED, Ordering::Relaxed);
        Ok(())
    }

    /// Asks every endpoint for its chain id: any endpoint on another chain is an error;
    /// unreachable ones are tolerated as long as one answers (they are checked on first use).
    pub(crate) async fn check_chain(&self) -> Result<()> {
        let mut last_error = None;
        let mut reachable = false;
        for endpoint in self.endpoints.iter() {
            match endpoint.provider.get_chain_id().await {
                Ok(actual) if actual == self.chain_id => {
                    endpoint.chain.store(CHECKED, Ordering::Relaxed);
                    reachable = true;
                }
                Ok(actual) => {
                    return Err(IndexerError::ChainIdMismatch {
                        endpoint: endpoint.url.clone(),
                        expected: self.chain_id,
                        actual,
                    });
                }
                Err(e) => {
                    tracing::warn!(endpoint = %endpoint.url, error = %e, "endpoint unreachable");
                    last_error = Some((endpoint.url.clone(), e));
                }
            }
        }
        match (reachable, last_error) {
            (false, Some((endpoint, source))) => Err(IndexerError::Rpc {
                what: "eth_chainId".into(),
                endpoint,
                attempts: 1,
                source: Box::new(source),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(code: i64, message: &str) -> TransportError {
        // The payload type is alloy-json-rpc's, which alloy does not re-export here.
        let payload = serde_json::json!({ "code": code, "message": message });
        RpcError::ErrorResp(serde_json::from_value(payload).expect("a JSON-RPC error payload"))
    }

    #[test]
    fn answers_are_told_from_failures() {
        assert!(is_revert(&response(3, "execution reverted: nope")));
        assert!(is_revert(&response(-32000, "Execution Reverted")));
        assert!(!is_revert(&response(-32603, "internal error")));
        assert!(is_too_large(&response(
            -32005,
            "query returned more than 10000 results"
        )));
        assert!(is_too_large(&response(
            -32602,
            "eth_getLogs block range too large, max 1000"
        )));
        assert!(is_too_large(&response(
            -32005,
            "Log response size exceeded"
        )));
        assert!(!is_too_large(&response(-32603, "header not found")));
        let transport = alloy::transports::TransportErrorKind::custom_str("block range limit");
        assert!(
            !is_too_large(&transport),
            "only node answers count, not transport errors"
        );
    }
}
