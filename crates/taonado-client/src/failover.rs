//! The transport under every provider taonado builds: HTTP endpoints in order of preference,
//! each with a request timeout, each checked for its chain id before its first request, and
//! failover from one to the next with backoff.
//!
//! The semantics are the indexer's, which had them first:
//! - requests go to the *current* endpoint; a failure moves every later request to the next
//!   one (only the first request to see an endpoint fail moves the others on) and retries
//!   after the policy's backoff, up to its attempts in total over all endpoints;
//! - a transport failure (refused, timed out, HTTP status, a body that is not JSON-RPC) and an
//!   endpoint on another chain fail over; what a JSON-RPC error *answer* does is the caller's
//!   choice ([`ErrorAnswers`]): commands take it as the node's answer, the indexer takes it as
//!   a sick node unless it is a revert, pruned state or an oversized query;
//! - an endpoint's chain id is asked once, before its first request, so a failover can never
//!   switch chains.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::transports::http::{Http, reqwest};
use alloy::transports::{RpcError, TransportError, TransportErrorKind, TransportFut};
use alloy_json_rpc::{ErrorPayload, RequestPacket, ResponsePacket};
use url::Url;

/// Retries of one request: exponential backoff, rotating through the endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, over all endpoints, before the request fails.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// Each of `endpoints` endpoints once, in order, without waiting: plain failover.
    pub fn each_once(endpoints: usize) -> Self {
        Self {
            max_attempts: u32::try_from(endpoints).unwrap_or(u32::MAX).max(1),
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// The wait before attempt `attempt` (1-based retries): doubling, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// What a JSON-RPC error answer (the node answered, with an error) means.
#[derive(Clone, Copy, Debug, Default)]
pub enum ErrorAnswers {
    /// The node's answer: returned to the caller as it is, no failover. Right for commands
    /// that send transactions: "nonce too low" from another endpoint would not help.
    #[default]
    Returned,
    /// A sick endpoint, failed over like a transport error, unless the function accepts it
    /// as an answer (the indexer: reverts, pruned state, oversized queries).
    FailOverUnless(fn(&ErrorPayload) -> bool),
}

/// A request failed on every attempt the retry policy allows. Carried inside the
/// [`TransportError`] the provider returns (a custom transport error); take it out with
/// [`FailoverError::from_transport`].
#[derive(Debug, thiserror::Error)]
#[error(
    "{attempts} attempts over {} failed; last on {}: {source}",
    endpoint_labels(endpoints),
    endpoint_label(endpoint)
)]
pub struct FailoverError {
    /// Every configured endpoint, in order of preference.
    pub endpoints: Vec<Url>,
    /// The endpoint of the last attempt.
    pub endpoint: Url,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error.
    #[source]
    pub source: TransportError,
}

impl FailoverError {
    /// The failover error inside `error`, or `error` itself when it is another error (a
    /// provider with one endpoint and one attempt returns its endpoint's error unwrapped).
    pub fn from_transport(error: TransportError) -> Result<Self, TransportError> {
        match error {
            RpcError::Transport(TransportErrorKind::Custom(boxed)) => {
                match boxed.downcast::<Self>() {
                    Ok(failover) => Ok(*failover),
                    Err(other) => Err(RpcError::Transport(TransportErrorKind::Custom(other))),
                }
            }
            other => Err(other),
        }
    }
}

/// An endpoint answered with a chain id other than the one expected.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} serves chain {actual}, expected {expected}",
    endpoint_label(endpoint)
)]
pub struct WrongChain {
    pub endpoint: Url,
    pub expected: u64,
    pub actual: u64,
}

/// An endpoint for logs and errors: scheme, host and port only, since the path, query and
/// user info of an RPC URL often hold an API key.
pub fn endpoint_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Endpoints as [`endpoint_label`]s, comma separated.
pub fn endpoint_labels(endpoints: &[Url]) -> String {
    endpoints
        .iter()
        .map(endpoint_label)
        .collect::<Vec<_>>()
        .join(", ")
}

struct Endpoint {
    url: Url,
    http: Http<reqwest::Client>,
    /// The same endpoint without failover, for its chain id.
    probe: RootProvider,
    checked: AtomicBool,
}

struct Shared {
    endpoints: Vec<Endpoint>,
    current: AtomicUsize,
    /// The chain every endpoint must serve; `None`: the first that answers pins it.
    expected: Option<u64>,
    pinned: OnceLock<u64>,
    /// False for one endpoint without an expected chain: nothing to compare it with (probes
    /// that read the chain id themselves).
    check: bool,
    retry: RetryPolicy,
    answers: ErrorAnswers,
}

/// The failover transport (a tower service, as alloy's transports are). Clones share the
/// endpoints, the current one and what was checked.
#[derive(Clone)]
pub struct FailoverTransport {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FailoverTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailoverTransport")
            .field("endpoints", &endpoint_labels(&self.urls()))
            .finish_non_exhaustive()
    }
}

/// The outcome of asking every endpoint for its chain id.
pub(crate) enum ChainCheck {
    /// At least one endpoint answered, all that answered serve this chain.
    Serves(u64),
    /// An endpoint serves another chain.
    Wrong(WrongChain),
    /// No endpoint answered; the last one's error.
    NoAnswer(TransportError),
}

impl FailoverTransport {
    /// One HTTP client per endpoint with `timeout` on every request. No I/O.
    pub(crate) fn new(
        endpoints: &[Url],
        timeout: Duration,
        expected: Option<u64>,
        retry: RetryPolicy,
        answers: ErrorAnswers,
    ) -> Result<Self, reqwest::Error> {
        let http_client = reqwest::Client::builder().timeout(timeout).build()?;
        let endpoints = endpoints
            .iter()
            .map(|url| {
                let http = Http::with_client(http_client.clone(), url.clone());
                let probe = RootProvider::new(RpcClient::new(http.clone(), http.guess_local()));
                Endpoint {
                    url: url.clone(),
                    http,
                    probe,
                    checked: AtomicBool::new(false),
                }
            })
            .collect::<Vec<_>>();
        let check = expected.is_some() || endpoints.len() > 1;
        Ok(Self {
            shared: Arc::new(Shared {
                endpoints,
                current: AtomicUsize::new(0),
                expected,
                pinned: OnceLock::new(),
                check,
                retry,
                answers,
            }),
        })
    }

    /// Every endpoint is on this machine (alloy then polls receipts every 250 ms, not 7 s).
    pub(crate) fn is_local(&self) -> bool {
        self.shared.endpoints.iter().all(|e| e.http.guess_local())
    }

    /// The endpoints in order of preference.
    pub fn urls(&self) -> Vec<Url> {
        self.shared
            .endpoints
            .iter()
            .map(|e| e.url.clone())
            .collect()
    }

    /// The endpoint requests currently go to (it changes on failover).
    pub fn current_endpoint(&self) -> &Url {
        let shared = &self.shared;
        // `new` is only called with at least one endpoint (ProviderSpec checks).
        &shared.endpoints[shared.current.load(Ordering::Relaxed) % shared.endpoints.len()].url
    }

    /// Asks every endpoint for its chain id: any endpoint on another chain is an error;
    /// unreachable ones are tolerated as long as one answers (they are checked on first use).
    pub(crate) async fn check_chain(&self) -> ChainCheck {
        let shared = &self.shared;
        let mut last_error = None;
        let mut serves = None;
        for endpoint in &shared.endpoints {
            match endpoint.probe.get_chain_id().await {
                Ok(actual) => match shared.compare(endpoint, actual) {
                    Ok(id) => serves = Some(id),
                    Err(wrong) => return ChainCheck::Wrong(wrong),
                },
                Err(e) => {
                    tracing::warn!(endpoint = %endpoint_label(&endpoint.url), error = %taonado_types::RedactedUrl(&e.to_string()), "endpoint unreachable");
                    last_error = Some(e);
                }
            }
        }
        match (serves, last_error) {
            (Some(id), _) => ChainCheck::Serves(id),
            (None, Some(e)) => ChainCheck::NoAnswer(e),
            // No endpoints at all: `new` is never called so, but stay total.
            (None, None) => ChainCheck::NoAnswer(TransportErrorKind::custom_str("no endpoint")),
        }
    }
}

impl Shared {
    /// Compares an endpoint's answer with the chain expected (or pinned), and marks it checked.
    fn compare(&self, endpoint: &Endpoint, actual: u64) -> Result<u64, WrongChain> {
        let expected = match self.expected {
            Some(id) => id,
            None => *self.pinned.get_or_init(|| actual),
        };
        if actual != expected {
            return Err(WrongChain {
                endpoint: endpoint.url.clone(),
                expected,
                actual,
            });
        }
        endpoint.checked.store(true, Ordering::Relaxed);
        Ok(actual)
    }

    /// Checks the endpoint's chain id once. During a request a wrong chain is a failure.
    async fn ensure_chain(&self, endpoint: &Endpoint) -> Result<(), TransportError> {
        if !self.check || endpoint.checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let actual = endpoint.probe.get_chain_id().await?;
        self.compare(endpoint, actual)
            .map(drop)
            .map_err(TransportErrorKind::custom)
    }

    /// The first error answer in `response` that counts as an endpoint failure.
    fn failing_answer<'a>(&self, response: &'a ResponsePacket) -> Option<&'a ErrorPayload> {
        match self.answers {
            ErrorAnswers::Returned => None,
            ErrorAnswers::FailOverUnless(is_answer) => {
                response.iter_errors().find(|payload| !is_answer(payload))
            }
        }
    }

    async fn send(&self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let attempts = self.retry.max_attempts.max(1);
        let count = self.endpoints.len();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let index = self.current.load(Ordering::Relaxed) % count;
            let endpoint = &self.endpoints[index];
            let outcome = match self.ensure_chain(endpoint).await {
                Ok(()) => {
                    let mut http = endpoint.http.clone();
                    tower::Service::call(&mut http, request.clone()).await
                }
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(response) => match self.failing_answer(&response) {
                    None => return Ok(response),
                    // One attempt only: the answer goes back as the node gave it.
                    Some(_) if attempts == 1 => return Ok(response),
                    Some(payload) => RpcError::ErrorResp(payload.clone()),
                },
                Err(e) => e,
            };
            if attempt >= attempts {
                if attempts == 1 {
                    return Err(error);
                }
                return Err(TransportErrorKind::custom(FailoverError {
                    endpoints: self.endpoints.iter().map(|e| e.url.clone()).collect(),
                    endpoint: endpoint.url.clone(),
                    attempts,
                    source: error,
                }));
            }
            let next = (index + 1) % count;
            // Only the first request to see this endpoint fail moves everyone on.
            let _ =
                self.current
                    .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
            let wait = self.retry.backoff(attempt);
            tracing::warn!(
                request = ?request.method_names().collect::<Vec<_>>(),
                endpoint = %endpoint_label(&endpoint.url),
                next = %endpoint_label(&self.endpoints[next].url),
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %taonado_types::RedactedUrl(&error.to_string()),
                "RPC request failed, retrying"
            );
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

impl tower::Service<RequestPacket> for FailoverTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move { shared.send(request).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (1..=6).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.backoff(200), Duration::from_secs(1));
        assert_eq!(RetryPolicy::each_once(3).max_attempts, 3);
        assert_eq!(RetryPolicy::each_once(0).max_attempts, 1);
        assert_eq!(RetryPolicy::each_once(3).backoff(2), Duration::ZERO);
    }

    #[test]
    fn labels_leave_out_paths_and_credentials() {
        let url: Url = "https://user:secret@rpc.example:8545/v3/KEY?token=x"
            .parse()
            .expect("url");
        assert_eq!(endpoint_label(&url), "https://rpc.example:8545");
        let url: Url = "http://127.0.0.1/".parse().expect("url");
        assert_eq!(endpoint_label(&url), "http://127.0.0.1");
    }
}
