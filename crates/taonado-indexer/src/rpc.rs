//! JSON-RPC with retries and failover, through `taonado-client`'s provider: every request
//! is retried with exponential backoff, moving to the next configured endpoint after each
//! failure (see `taonado_client::FailoverTransport`). Each endpoint's chain id is checked
//! before its first use, so a failover can never switch chains. Here the answers are told
//! from the failures: a revert, pruned state or an oversized query is the node's answer and
//! comes back at once, as its own error.

use std::future::Future;

use alloy::providers::DynProvider;
use alloy::transports::{RpcError, TransportError};
use alloy_json_rpc::ErrorPayload;
use taonado_client::{ClientError, Connection, ErrorAnswers, FailoverError, ProviderSpec};
use url::Url;

use crate::config::IndexerConfig;
use crate::error::{IndexerError, Result};

/// A set of endpoints serving one chain.
#[derive(Clone)]
pub(crate) struct Rpc {
    connection: Connection,
    chain_id: u64,
    attempts: u32,
}

/// An `eth_call` that reverted is an answer, not an endpoint failure.
fn reverted(payload: &ErrorPayload) -> bool {
    payload.code == 3 || payload.message.to_ascii_lowercase().contains("revert")
}

/// A node that no longer serves the state of the requested block (a pruned, non-archive
/// node): retrying the same block cannot help; a newer block can.
fn state_pruned(payload: &ErrorPayload) -> bool {
    const HINTS: [&str; 6] = [
        "not kept",
        "missing trie node",
        "state already discarded",
        "state not available",
        "state is not available",
        "historical state",
    ];
    let message = payload.message.to_ascii_lowercase();
    HINTS.iter().any(|hint| message.contains(hint))
}

/// A node refusing a request for its size (`eth_getLogs` over too many blocks or results):
/// retrying the same request cannot help, a smaller one can.
fn too_large(payload: &ErrorPayload) -> bool {
    const HINTS: [&str; 7] = [
        "block range",
        "returned more than",
        "range too",
        "too many",
        "too large",
        "exceed",
        "limit",
    ];
    let message = payload.message.to_ascii_lowercase();
    HINTS.iter().any(|hint| message.contains(hint))
}

/// The node's answers; every other error answer is a failing endpoint.
fn is_answer(payload: &ErrorPayload) -> bool {
    reverted(payload) || state_pruned(payload) || too_large(payload)
}

/// Only node answers count, not transport errors.
fn answer_is(error: &TransportError, kind: fn(&ErrorPayload) -> bool) -> bool {
    match error {
        RpcError::ErrorResp(payload) => kind(payload),
        _ => false,
    }
}

impl Rpc {
    pub(crate) fn new(config: &IndexerConfig) -> Result<Self> {
        if config.endpoints.is_empty() {
            return Err(IndexerError::NoEndpoints);
        }
        let connection = ProviderSpec {
            chain_id: Some(config.chain_id),
            request_timeout: config.tuning.request_timeout,
            retry: Some(config.tuning.retry),
            error_answers: ErrorAnswers::FailOverUnless(is_answer),
            ..ProviderSpec::new(config.endpoints.clone())
        }
        .build()
        .map_err(|e| match e {
            ClientError::HttpClient { message } => IndexerError::HttpClient {
                url: config.endpoints[0].clone(),
                message,
            },
            other => IndexerError::Client(other),
        })?;
        Ok(Self {
            connection,
            chain_id: config.chain_id,
            attempts: config.tuning.retry.max_attempts.max(1),
        })
    }

    /// The endpoint requests currently go to.
    pub(crate) fn current_endpoint(&self) -> &Url {
        self.connection.current_endpoint()
    }

    /// Runs `request` on the provider, which retries and fails over up to the retry policy's
    /// attempts. Reverts, pruned state and oversized queries are returned at once.
    pub(crate) async fn call<T, F, Fut>(&self, what: impl Fn() -> String, request: F) -> Result<T>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let error = match request(self.connection.provider().clone()).await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        // An answer comes from the current endpoint: answers do not fail over.
        let endpoint = self.current_endpoint().clone();
        if answer_is(&error, reverted) {
            return Err(IndexerError::Reverted {
                what: what(),
                endpoint,
                source: Box::new(error),
            });
        }
        if answer_is(&error, state_pruned) {
            return Err(IndexerError::StatePruned {
                what: what(),
                endpoint,
                source: Box::new(error),
            });
        }
        if answer_is(&error, too_large) {
            return Err(IndexerError::TooLarge {
                what: what(),
                endpoint,
                source: Box::new(error),
            });
        }
        Err(match FailoverError::from_transport(error) {
            Ok(failed) => IndexerError::Rpc {
                what: what(),
                endpoint: failed.endpoint,
                attempts: failed.attempts,
                source: Box::new(failed.source),
            },
            // One endpoint, one attempt: its own error.
            Err(error) => IndexerError::Rpc {
                what: what(),
                endpoint,
                attempts: self.attempts,
                source: Box::new(error),
            },
        })
    }

    /// Asks every endpoint for its chain id: any endpoint on another chain is an error;
    /// unreachable ones are tolerated as long as one answers (they are checked on first use).
    pub(crate) async fn check_chain(&self) -> Result<()> {
        match self.connection.check_chain().await {
            Ok(_) => Ok(()),
            Err(ClientError::EndpointChainMismatch {
                endpoint, actual, ..
            }) => Err(IndexerError::ChainIdMismatch {
                endpoint,
                expected: self.chain_id,
                actual,
            }),
            Err(ClientError::NoEndpointAnswered { endpoints, source }) => {
                let endpoint = endpoints
                    .last()
                    .cloned()
                    .unwrap_or_else(|| self.current_endpoint().clone());
                Err(IndexerError::Rpc {
                    what: "eth_chainId".into(),
                    endpoint,
                    attempts: 1,
                    source,
                })
            }
            Err(other) => Err(IndexerError::Client(other)),
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
        let is_revert = |e: &TransportError| answer_is(e, reverted);
        let is_too_large = |e: &TransportError| answer_is(e, too_large);
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
        // Everything else a node answers with is a failing endpoint, and fails over.
        let failing = |code, message| match response(code, message) {
            RpcError::ErrorResp(payload) => !is_answer(&payload),
            _ => false,
        };
        assert!(failing(-32603, "header not found"));
        assert!(failing(-32000, "internal error"));
        assert!(!failing(-32000, "missing trie node abc"));
    }
}
