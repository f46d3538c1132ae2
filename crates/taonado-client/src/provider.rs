//! The one place taonado builds providers: [`ProviderSpec`] → [`Connection`].
//!
//! Every provider built here has a request timeout, a chain-id check (eager in
//! [`ProviderSpec::connect`], and before each endpoint's first request), failover across its
//! endpoints ([`crate::failover`]) and, when given one, a signer. Everything else in the
//! workspace receives providers.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::signers::local::PrivateKeySigner;
use url::Url;

use crate::error::{ClientError, Result};
use crate::failover::{ChainCheck, ErrorAnswers, FailoverTransport, RetryPolicy};

/// Upper bound for one JSON-RPC request, so that a hung endpoint fails the command
/// instead of stalling it forever. Waiting for a receipt is many requests, each bounded.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What to connect to and how.
#[derive(Clone)]
pub struct ProviderSpec {
    /// JSON-RPC endpoints in order of preference; failures move to the next one.
    pub endpoints: Vec<Url>,
    /// The chain every endpoint must serve. `None`: the first endpoint that answers pins the
    /// chain for the others; with a single endpoint nothing is checked (probes such as
    /// `health` and `net check` read and report the chain id themselves).
    pub chain_id: Option<u64>,
    /// Upper bound for one HTTP request.
    pub request_timeout: Duration,
    /// Attempts and backoff; `None`: each endpoint once, in order, without waiting.
    pub retry: Option<RetryPolicy>,
    /// What a JSON-RPC error answer means (commands: the node's answer).
    pub error_answers: ErrorAnswers,
    /// Sign transactions with this key (nonce, gas and chain id filled).
    pub signer: Option<PrivateKeySigner>,
}

impl std::fmt::Debug for ProviderSpec {
    // Endpoints as labels: an RPC URL's path or query often holds an API key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSpec")
            .field(
                "endpoints",
                &crate::failover::endpoint_labels(&self.endpoints),
            )
            .field("chain_id", &self.chain_id)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("error_answers", &self.error_answers)
            .field("signer", &self.signer)
            .finish()
    }
}

impl ProviderSpec {
    /// `endpoints` with the defaults: no expected chain, [`REQUEST_TIMEOUT`], each endpoint
    /// once, error answers returned, no signer.
    pub fn new(endpoints: Vec<Url>) -> Self {
        Self {
            endpoints,
            chain_id: None,
            request_timeout: REQUEST_TIMEOUT,
            retry: None,
            error_answers: ErrorAnswers::Returned,
            signer: None,
        }
    }

    /// Builds the provider without any request: chain ids are checked before each
    /// endpoint's first request.
    pub fn build(self) -> Result<Connection> {
        if self.endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        let retry = self
            .retry
            .unwrap_or_else(|| RetryPolicy::each_once(self.endpoints.len()));
        let transport = FailoverTransport::new(
            &self.endpoints,
            self.request_timeout,
            self.chain_id,
            retry,
            self.error_answers,
        )
        .map_err(|e| ClientError::HttpClient {
            message: e.to_string(),
        })?;
        let rpc = RpcClient::new(transport.clone(), transport.is_local());
        let provider = match self.signer {
            Some(signer) => signing(rpc, signer),
            None => ProviderBuilder::new().connect_client(rpc).erased(),
        };
        Ok(Connection {
            provider,
            transport,
        })
    }

    /// Builds the provider and asks every endpoint for its chain id first: an endpoint on
    /// another chain is refused ([`ClientError::EndpointChainMismatch`]); unreachable ones are
    /// tolerated as long as one answers ([`ClientError::NoEndpointAnswered`] otherwise).
    pub async fn connect(self) -> Result<Connection> {
        let connection = self.build()?;
        connection.check_chain().await?;
        Ok(connection)
    }
}

/// A built provider and a view of its endpoints.
#[derive(Clone, Debug)]
pub struct Connection {
    provider: DynProvider,
    transport: FailoverTransport,
}

impl Connection {
    /// The provider (it signs when the spec had a signer).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The provider, keeping nothing else.
    pub fn into_provider(self) -> DynProvider {
        self.provider
    }

    /// The endpoint requests currently go to (it changes on failover).
    pub fn current_endpoint(&self) -> &Url {
        self.transport.current_endpoint()
    }

    /// The endpoints in order of preference.
    pub fn endpoints(&self) -> Vec<Url> {
        self.transport.urls()
    }

    /// Asks every endpoint for its chain id (see [`ProviderSpec::connect`]); the chain id.
    pub async fn check_chain(&self) -> Result<u64> {
        match self.transport.check_chain().await {
            ChainCheck::Serves(id) => Ok(id),
            ChainCheck::Wrong(wrong) => Err(ClientError::EndpointChainMismatch {
                endpoint: wrong.endpoint,
                expected: wrong.expected,
                actual: wrong.actual,
            }),
            ChainCheck::NoAnswer(source) => Err(ClientError::NoEndpointAnswered {
                endpoints: self.transport.urls(),
                source: Box::new(source),
            }),
        }
    }

    /// A provider on the same endpoints (failover state shared) that signs with `signer`.
    pub fn with_signer(&self, signer: PrivateKeySigner) -> DynProvider {
        with_signer(&self.provider, signer)
    }
}

/// A provider on `provider`'s transport (its endpoints, timeout and failover) that signs
/// with `signer`.
pub fn with_signer(provider: &DynProvider, signer: PrivateKeySigner) -> DynProvider {
    let client = provider.client();
    signing(
        RpcClient::new(client.transport().clone(), client.is_local()),
        signer,
    )
}

fn signing(rpc: RpcClient, signer: PrivateKeySigner) -> DynProvider {
    // The cached nonce manager hands out a nonce before gas estimation can fail; a failed
    // estimate then leaves a gap that blocks every later transaction of this sender. Asking
    // the node for the pending nonce each time costs a round trip and cannot drift.
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_client(rpc)
        .erased()
}

#[cfg(test)]
mod tests {
    //! Failover against JSON-RPC stand-ins on 127.0.0.1 port 0: each answers `eth_chainId`
    //! with its chain and `eth_blockNumber` with its own number, so a test sees which one
    //! served a request.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use alloy::providers::Provider;
    use alloy::transports::{RpcError, TransportErrorKind};
    use axum::{Json, Router, routing::post};
    use serde_json::{Value, json};

    use super::*;
    use crate::failover::FailoverError;

    #[derive(Clone)]
    struct Node {
        chain_id: u64,
        block: u64,
        /// `eth_blockNumber` requests answered.
        served: Arc<AtomicUsize>,
        /// Answer `eth_blockNumber` with this JSON-RPC error instead.
        error: Option<&'static str>,
    }

    impl Node {
        fn new(chain_id: u64, block: u64) -> Self {
            Self {
                chain_id,
                block,
                served: Arc::new(AtomicUsize::new(0)),
                error: None,
            }
        }

        fn served(&self) -> usize {
            self.served.load(Ordering::SeqCst)
        }

        fn answer(&self, request: &Value) -> Value {
            let id = request["id"].clone();
            match request["method"].as_str() {
                Some("eth_chainId") => {
                    json!({"jsonrpc": "2.0", "id": id, "result": format!("{:#x}", self.chain_id)})
                }
                Some("eth_blockNumber") => {
                    self.served.fetch_add(1, Ordering::SeqCst);
                    match self.error {
                        Some(message) => json!({"jsonrpc": "2.0", "id": id,
                            "error": {"code": -32603, "message": message}}),
                        None => {
                            json!({"jsonrpc": "2.0", "id": id, "result": format!("{:#x}", self.block)})
                        }
                    }
                }
                _ => json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": "method not found"}}),
            }
        }

        async fn serve(self) -> Url {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a local port");
            let url = format!("http://{}", listener.local_addr().expect("local address"))
                .parse()
                .expect("a URL");
            let app = Router::new().route(
                "/",
                post(move |Json(request): Json<Value>| {
                    let node = self.clone();
                    async move { Json(node.answer(&request)) }
                }),
            );
            tokio::spawn(async move { axum::serve(listener, app).await });
            url
        }
    }

    /// A port that was just free: connections to it are refused.
    fn dead() -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        format!("http://{}", listener.local_addr().expect("local address"))
            .parse()
            .expect("a URL")
    }

    fn spec(endpoints: Vec<Url>, chain_id: Option<u64>) -> ProviderSpec {
        ProviderSpec {
            chain_id,
            request_timeout: Duration::from_secs(5),
            ..ProviderSpec::new(endpoints)
        }
    }

    #[tokio::test]
    async fn a_dead_first_endpoint_fails_over_to_the_second() {
        let node = Node::new(7, 100);
        let good = node.clone().serve().await;
        let connection = spec(vec![dead(), good.clone()], Some(7))
            .connect()
            .await
            .expect("the second endpoint answers");
        assert_eq!(
            connection
                .provider()
                .get_block_number()
                .await
                .expect("served"),
            100
        );
        assert_eq!(connection.current_endpoint(), &good);
        assert_eq!(node.served(), 1);

        // Without the eager check, the first request fails over by itself, and the requests
        // after it go straight to the endpoint that worked.
        let connection = spec(vec![dead(), good.clone()], Some(7))
            .build()
            .expect("built");
        let provider = connection.provider();
        assert_eq!(provider.get_block_number().await.expect("served"), 100);
        assert_eq!(provider.get_block_number().await.expect("served"), 100);
        assert_eq!(connection.current_endpoint(), &good);
        assert_eq!(node.served(), 3);
    }

    #[tokio::test]
    async fn every_endpoint_dead_is_a_typed_error_naming_them() {
        let endpoints = vec![dead(), dead()];
        let labels: Vec<String> = endpoints.iter().map(crate::endpoint_label).collect();
        let error = spec(endpoints.clone(), Some(7))
            .connect()
            .await
            .expect_err("nothing answers");
        match &error {
            ClientError::NoEndpointAnswered {
                endpoints: named, ..
            } => {
                assert_eq!(named, &endpoints);
            }
            other => panic!("expected NoEndpointAnswered, got {other}"),
        }
        for label in &labels {
            assert!(error.to_string().contains(label.as_str()), "{error}");
        }

        let connection = spec(endpoints.clone(), Some(7)).build().expect("built");
        let error = connection
            .provider()
            .get_block_number()
            .await
            .expect_err("nothing answers");
        let failed = FailoverError::from_transport(error).expect("a failover error");
        assert_eq!(failed.endpoints, endpoints);
        assert_eq!(failed.attempts, 2);
        assert_eq!(failed.endpoint, endpoints[1]);
        for label in &labels {
            assert!(failed.to_string().contains(label.as_str()), "{failed}");
        }
    }

    #[tokio::test]
    async fn a_fallback_on_another_chain_is_refused() {
        let wrong = Node::new(8, 200);
        let url = wrong.clone().serve().await;
        let error = spec(vec![dead(), url.clone()], Some(7))
            .connect()
            .await
            .expect_err("the fallback serves chain 8");
        match error {
            ClientError::EndpointChainMismatch {
                endpoint,
                expected,
                actual,
            } => assert_eq!((endpoint, expected, actual), (url.clone(), 7, 8)),
            other => panic!("expected EndpointChainMismatch, got {other}"),
        }

        // During requests too: the wrong chain counts as a failure and never serves one.
        let connection = spec(vec![dead(), url.clone()], Some(7))
            .build()
            .expect("built");
        let error = connection
            .provider()
            .get_block_number()
            .await
            .expect_err("no endpoint of chain 7 answers");
        let failed = FailoverError::from_transport(error).expect("a failover error");
        assert!(
            failed.source.to_string().contains("serves chain 8"),
            "{failed}"
        );
        assert_eq!(wrong.served(), 0);

        // Without an expected chain, the first answer pins it for the others.
        let pinned = Node::new(7, 100).serve().await;
        let error = spec(vec![pinned, url], None)
            .connect()
            .await
            .expect_err("the second endpoint serves another chain");
        assert!(
            matches!(
                error,
                ClientError::EndpointChainMismatch {
                    expected: 7,
                    actual: 8,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[tokio::test]
    async fn error_answers_fail_over_only_when_asked() {
        let mut sick = Node::new(7, 100);
        sick.error = Some("header not found");
        let sick_url = sick.clone().serve().await;
        let healthy = Node::new(7, 200);
        let healthy_url = healthy.clone().serve().await;

        // Commands: an error answer is the node's answer.
        let connection = spec(vec![sick_url.clone(), healthy_url.clone()], Some(7))
            .build()
            .expect("built");
        let error = connection
            .provider()
            .get_block_number()
            .await
            .expect_err("the node's answer");
        assert!(error.to_string().contains("header not found"), "{error}");
        assert_eq!((sick.served(), healthy.served()), (1, 0));

        // The indexer: an error answer it does not accept is a sick endpoint.
        let connection = ProviderSpec {
            error_answers: ErrorAnswers::FailOverUnless(|payload| payload.code == 3),
            retry: Some(RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
            }),
            ..spec(vec![sick_url, healthy_url.clone()], Some(7))
        }
        .build()
        .expect("built");
        assert_eq!(
            connection
                .provider()
                .get_block_number()
                .await
                .expect("failed over"),
            200
        );
        assert_eq!(connection.current_endpoint(), &healthy_url);
        assert_eq!((sick.served(), healthy.served()), (2, 1));
    }

    #[tokio::test]
    async fn a_silent_endpoint_times_out() {
        // Accepts connections (the kernel does) but never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let url: Url = format!("http://{}", silent.local_addr().expect("local address"))
            .parse()
            .expect("a URL");
        let connection = ProviderSpec {
            request_timeout: Duration::from_millis(200),
            ..ProviderSpec::new(vec![url])
        }
        .build()
        .expect("built");
        let outcome = tokio::time::timeout(
            Duration::from_secs(20),
            connection.provider().get_block_number(),
        )
        .await
        .expect("the request timeout ends the request, not this guard");
        let error = outcome.expect_err("nothing answers");
        let timed_out = match &error {
            RpcError::Transport(TransportErrorKind::Custom(inner)) => inner
                .downcast_ref::<alloy::transports::http::reqwest::Error>()
                .is_some_and(|e| e.is_timeout()),
            _ => false,
        };
        assert!(timed_out, "{error:?}");
    }

    #[test]
    fn a_spec_shows_its_endpoints_without_their_keys() {
        let spec = ProviderSpec::new(vec![
            "https://rpc.example/v3/SECRETKEY".parse().expect("a URL"),
        ]);
        let text = format!("{spec:?}");
        assert!(text.contains("https://rpc.example"), "{text}");
        assert!(!text.contains("SECRETKEY"), "{text}");
    }

    #[test]
    fn a_spec_without_endpoints_is_refused() {
        assert!(matches!(
            ProviderSpec::new(Vec::new()).build(),
            Err(ClientError::NoEndpoints)
        ));
    }
}
