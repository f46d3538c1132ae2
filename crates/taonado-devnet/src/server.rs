//! HTTP transport: axum, JSON-RPC envelopes and batches. Knows nothing about Ethereum.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State, ws::WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::post,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use serde_json::{Map, Value, json};
use tokio::{
    net::TcpListener,
    sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch},
    task::JoinSet,
};

use crate::{backend::Backend, config::RpcLimits, error::DevnetError, rpc};

/// Deployments of large contracts fit; anything bigger is not a dev-chain request.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Who may talk to the chain. The dev accounts are unlocked, so a web page in the
/// operator's browser must not reach it: only `application/json` bodies (a page's simple
/// `text/plain` form post is refused), only `localhost`/IP-literal `Host`s (DNS rebinding
/// uses a name it controls), and cross-origin browser requests only from listed origins.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// More `Host` names to answer besides `localhost` and IP literals.
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`http://localhost:3000`) allowed to call; none by default.
    pub allowed_origins: Vec<String>,
}

/// Methods that execute EVM code for a caller without a block: they run on the blocking
/// pool, a few bodies at a time (`RpcLimits::call_slots`), under a deadline.
const EXECUTING_METHODS: [&str; 6] = [
    "eth_call",
    "eth_estimateGas",
    "eth_sendTransaction",
    "eth_createAccessList",
    "debug_traceCall",
    "debug_traceTransaction",
];

/// The chain and the bounds its requests run under.
pub(crate) struct Server {
    backend: Arc<Backend>,
    limits: RpcLimits,
    call_slots: Arc<Semaphore>,
    queued_calls: AtomicUsize,
    /// `eth_call`s running inline on an async worker now (at most one, see
    /// [`answer_inline_call`]).
    inline_calls: AtomicUsize,
}

pub(crate) fn router(backend: Arc<Backend>, access: Access, limits: RpcLimits) -> Router {
    let access = Arc::new(access);
    let server = Arc::new(Server {
        backend,
        call_slots: Arc::new(Semaphore::new(limits.call_slots.max(1))),
        queued_calls: AtomicUsize::new(0),
        inline_calls: AtomicUsize::new(0),
        limits,
    });
    Router::new()
        .route("/", post(handle).options(preflight).get(ws_upgrade))
        .layer(middleware::from_fn_with_state(access.clone(), guard))
        .with_state(server)
}

/// Accept and serve connections until `shutdown`: at most `max_connections` at once, each
/// closed when it does not send a request head within `header_read_timeout` (an idle
/// keep-alive connection too). axum's own `serve` has neither bound, and 20,000 idle
/// connections used up the open-file limit, so the chain stopped accepting.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: RpcLimits,
    shutdown: oneshot::Receiver<()>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut served = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // little instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut closing = closing_rx.clone();
        let header_read_timeout = limits.header_read_timeout;
        served.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            // With upgrades: a GET with `Upgrade: websocket` becomes a WebSocket (see `ws`).
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = closing.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        while served.try_join_next().is_some() {}
    }
    let _ = closing_tx.send(true);
    // Requests in progress finish; a connection that does not is cut after a while.
    let drained = async { while served.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drained)
        .await
        .is_err()
    {
        served.abort_all();
    }
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    tracing::warn!(%status, why, "devnet request refused");
    (status, why).into_response()
}

/// The origin of a cross-origin browser request, if it is one we answer.
fn allowed_origin<'a>(
    access: &Access,
    headers: &'a HeaderMap,
) -> Result<Option<&'a HeaderValue>, ()> {
    match headers.get(header::ORIGIN) {
        None => Ok(None),
        Some(origin) => {
            let listed = origin
                .to_str()
                .is_ok_and(|o| access.allowed_origins.iter().any(|a| a == o || a == "*"));
            if listed { Ok(Some(origin)) } else { Err(()) }
        }
    }
}

async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if let Some(host) = headers.get(header::HOST) {
        let allowed = host
            .to_str()
            .is_ok_and(|h| taonado_types::is_allowed_local_host(h, &access.allowed_hosts));
        if !allowed {
            return refuse(
                StatusCode::FORBIDDEN,
                "this Host is not served; the dev chain answers localhost and IP addresses (add names with --allow-host)",
            );
        }
    }
    let Ok(origin) = allowed_origin(&access, headers) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "cross-origin requests are off; allow an origin with --allow-origin",
        );
    };
    let origin = origin.cloned();
    if request.method() == Method::POST {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "JSON-RPC requests must be sent as Content-Type: application/json",
            );
        }
    }
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

/// A CORS preflight from an allowed origin (the guard refused every other).
async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"),
        ],
    )
        .into_response()
}

/// Holds a place in the queue of bodies waiting for a call slot.
struct QueuedCall<'a>(&'a AtomicUsize);

impl Drop for QueuedCall<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Server {
    /// A call slot, waiting for one if needed; `None` when too many bodies wait already.
    async fn call_slot(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.call_slots.clone().try_acquire_owned() {
            return Some(permit);
        }
        if self.queued_calls.fetch_add(1, Ordering::SeqCst) >= self.limits.max_queued_calls {
            self.queued_calls.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let _queued = QueuedCall(&self.queued_calls);
        self.call_slots.clone().acquire_owned().await.ok()
    }
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response()
}

/// Whether any request of the body executes EVM code outside a block.
fn executes(value: &Value) -> bool {
    let one = |request: &Value| {
        request
            .get("method")
            .and_then(Value::as_str)
            .is_some_and(|m| EXECUTING_METHODS.contains(&m))
    };
    match value {
        Value::Array(items) => items.iter().any(one),
        single => one(single),
    }
}

/// A WebSocket connection on the same port (the guard has checked its Host and Origin).
async fn ws_upgrade(State(server): State<Arc<Server>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| crate::ws::session(server, socket))
}

impl Server {
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }
}

async fn handle(State(server): State<Arc<Server>>, body: Body) -> Response {
    let limits = &server.limits;
    let body = match tokio::time::timeout(
        limits.body_read_timeout,
        axum::body::to_bytes(body, BODY_LIMIT),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is over 32 MiB or was cut off",
            );
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            );
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return json_response(&error_response(
                Value::Null,
                &DevnetError::Parse(error.to_string()),
            ));
        }
    };
    if let Value::Array(items) = &value
        && items.len() > limits.max_batch
    {
        return json_response(&error_response(
            Value::Null,
            &DevnetError::BatchTooLarge {
                size: items.len(),
                limit: limits.max_batch,
            },
        ));
    }
    json_response(&answer(&server, value).await)
}

/// The answer to one parsed body (a request or a batch), over HTTP or WebSocket.
pub(crate) async fn answer(server: &Arc<Server>, value: Value) -> Value {
    let limits = &server.limits;
    // Every body runs on the blocking pool: state lookups take the chain's lock (and, when
    // forked, block on the remote node, which may be served by this very runtime), so the
    // async workers stay free to accept and answer `eth_chainId` whatever else runs.
    // Bodies that execute code also need a call slot and answer within a deadline.
    if let Some(answer) =
        answer_inline_call(server, &value).or_else(|| answer_inline_read(server, &value))
    {
        return answer;
    }
    let executing = executes(&value);
    let slot = if executing {
        match server.call_slot().await {
            Some(slot) => Some(slot),
            None => return error_response(Value::Null, &DevnetError::Busy),
        }
    } else {
        None
    };
    let backend = server.backend.clone();
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    // A batch past its deadline stops executing: its remaining requests get the timeout
    // error instead of burning the slot.
    let deadline = (executing && !server.backend.forked).then(|| {
        (
            std::time::Instant::now() + limits.call_timeout,
            limits.call_timeout,
        )
    });
    let work = tokio::task::spawn_blocking(move || {
        // Held until the execution ends, even when its caller stopped waiting.
        let _slot = slot;
        process_value(&backend, value, deadline)
    });
    let stopped = || {
        error_response(
            Value::Null,
            &DevnetError::Internal("the request worker stopped; please report it".into()),
        )
    };
    if executing && !server.backend.forked {
        match tokio::time::timeout(limits.call_timeout, work).await {
            Ok(done) => done.unwrap_or_else(|_| stopped()),
            Err(_) => error_response(id, &DevnetError::CallTimeout(limits.call_timeout)),
        }
    } else {
        work.await.unwrap_or_else(|_| stopped())
    }
}

fn result_response(id: Value, result: Value) -> Value {
    let mut response = Map::with_capacity(3);
    response.insert("jsonrpc".into(), Value::String("2.0".into()));
    response.insert("id".into(), id);
    response.insert("result".into(), result);
    Value::Object(response)
}

/// Reads that only look a value up under the chain's read lock: answered on the async
/// worker that received them, as anvil does, instead of paying the blocking pool's two
/// thread wake-ups (most of their cost). Never in fork mode, where a lookup may wait on
/// the remote node.
const INLINE_READS: [&str; 10] = [
    "eth_blockNumber",
    "eth_chainId",
    "net_version",
    "eth_gasPrice",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
];

/// A single [`INLINE_READS`] request, answered here when the chain is not being written:
/// while a block is sealed (the write lock is held), the read goes to the blocking pool
/// rather than parking this worker.
fn answer_inline_read(server: &Server, value: &Value) -> Option<Value> {
    let method = value.as_object()?.get("method")?.as_str()?;
    if server.backend.forked || !INLINE_READS.contains(&method) {
        return None;
    }
    // State at an older block is read back through the undo log, which can take long on
    // a long chain: only the latest state is read here.
    let block_param = match method {
        "eth_getBalance" | "eth_getTransactionCount" | "eth_getCode" => Some(1),
        "eth_getStorageAt" => Some(2),
        _ => None,
    };
    if let Some(index) = block_param {
        let tag = value.get("params").and_then(|p| p.get(index));
        if !tag.is_none_or(|t| t.is_null() || t == "latest" || t == "pending") {
            return None;
        }
    }
    drop(server.backend.chain.try_read()?);
    Some(process_one(&server.backend, value.clone()))
}

/// A single, well-formed `eth_call` answered on this async worker within
/// the backend's inline budget (see `backend::budget`: two thread wake-ups cost more than most
/// calls). `None` for anything else, and for a call that ran out of budget: the caller
/// then takes the blocking pool's path, which answers it in full.
///
/// One call at a time runs inline, so the other async workers always stay free to accept
/// and answer, whatever is sent; its time budget is at most `--call-timeout`.
fn answer_inline_call(server: &Server, value: &Value) -> Option<Value> {
    let backend = &server.backend;
    let request = value.as_object()?;
    if request.get("method")?.as_str()? != "eth_call"
        || request.get("jsonrpc").is_some_and(|v| v != "2.0")
    {
        return None;
    }
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::Number(_) | Value::String(_)) {
        return None;
    }
    let mut budget = backend.inline_budget?;
    budget.max_time = budget.max_time.min(server.limits.call_timeout);
    if server
        .inline_calls
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return None;
    }
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    // A panic is reported by the blocking path, which runs the call again.
    let answered = std::panic::catch_unwind(AssertUnwindSafe(|| {
        rpc::eth_call_within(backend, params, budget)
    }));
    server.inline_calls.store(0, Ordering::Release);
    let answered = answered.ok()??;
    Some(match answered {
        Ok(result) => result_response(id, result),
        Err(error) => error_response(id, &error),
    })
}

pub(crate) fn error_response(id: Value, error: &DevnetError) -> Value {
    let rpc_error = rpc::error::RpcError::from(error);
    json!({"jsonrpc": "2.0", "id": id, "error": rpc_error.to_json()})
}

/// One HTTP body: a request or a batch.
#[cfg(test)]
pub(crate) fn process(backend: &Backend, body: &[u8]) -> Value {
    match serde_json::from_slice(body) {
        Ok(value) => process_value(backend, value, None),
        Err(error) => error_response(Value::Null, &DevnetError::Parse(error.to_string())),
    }
}

/// One parsed body: a request or a batch, whose requests are not started after
/// `deadline`.
pub(crate) fn process_value(
    backend: &Backend,
    value: Value,
    deadline: Option<(std::time::Instant, Duration)>,
) -> Value {
    match value {
        Value::Array(items) if items.is_empty() => error_response(
            Value::Null,
            &DevnetError::InvalidRequest("empty batch".into()),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match deadline {
                    Some((deadline, timeout)) if std::time::Instant::now() >= deadline => {
                        let id = item.get("id").cloned().unwrap_or(Value::Null);
                        error_response(id, &DevnetError::CallTimeout(timeout))
                    }
                    _ => process_one(backend, item),
                })
                .collect(),
        ),
        single => process_one(backend, single),
    }
}

fn process_one(backend: &Backend, request: Value) -> Value {
    let Value::Object(mut request) = request else {
        return error_response(
            Value::Null,
            &DevnetError::InvalidRequest("a request must be a JSON object".into()),
        );
    };
    let id = request.remove("id").unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::Number(_) | Value::String(_)) {
        return error_response(
            Value::Null,
            &DevnetError::InvalidRequest("id must be a number, string or null".into()),
        );
    }
    if let Some(version) = request.get("jsonrpc")
        && version != "2.0"
    {
        return error_response(
            id,
            &DevnetError::InvalidRequest("jsonrpc must be \"2.0\"".into()),
        );
    }
    let method = match request.remove("method") {
        Some(Value::String(method)) => method,
        _ => {
            return error_response(
                id,
                &DevnetError::InvalidRequest("method must be a string".into()),
            );
        }
    };
    let params = request.remove("params").unwrap_or(Value::Null);
    tracing::trace!(%method, "rpc request");
    // A bug in one method must not take the node down; report it as an internal error.
    let result =
        std::panic::catch_unwind(AssertUnwindSafe(|| rpc::dispatch(backend, &method, params)))
            .unwrap_or_else(|_| {
                Err(DevnetError::Internal(format!(
                    "{method} panicked; please report it"
                )))
            });
    match result {
        Ok(result) => result_response(id, result),
        Err(error) => {
            tracing::debug!(%method, %error, "rpc error");
            error_response(id, &error)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{
        backend::{Backend, chain::Chain, exec::ChainRules},
        config::{DEV_ACCOUNTS, DevnetConfig},
        subtensor::Subtensor,
    };

    fn backend() -> Backend {
        let config = DevnetConfig::test();
        let rules = ChainRules {
            chain_id: config.chain_id,
            gas_limit: config.gas_limit,
            base_fee: config.base_fee,
        };
        let chain = Chain::genesis(
            rules,
            Subtensor::new(config.subtensor, 0),
            DEV_ACCOUNTS.to_vec(),
            config.balance_wei,
        );
        Backend::new(chain, None, None)
    }

    #[tokio::test]
    async fn bodies_past_the_call_queue_are_refused_at_once() {
        let server = Server {
            backend: Arc::new(backend()),
            limits: RpcLimits {
                call_slots: 1,
                max_queued_calls: 1,
                ..RpcLimits::default()
            },
            call_slots: Arc::new(Semaphore::new(1)),
            queued_calls: AtomicUsize::new(0),
            inline_calls: AtomicUsize::new(0),
        };
        let held = server.call_slot().await.expect("the free slot");
        let waiting = server.call_slot();
        tokio::pin!(waiting);
        // The second waits in the queue (polled once, so it is counted there)…
        assert!(futures_poll_once(waiting.as_mut()).await.is_none());
        assert_eq!(server.queued_calls.load(Ordering::SeqCst), 1);
        // …and a third finds the queue full.
        assert!(server.call_slot().await.is_none());
        drop(held);
        assert!(waiting.await.is_some());
        assert_eq!(server.queued_calls.load(Ordering::SeqCst), 0);
    }

    fn server_of(backend: Backend) -> Server {
        Server {
            backend: Arc::new(backend),
            limits: RpcLimits::default(),
            call_slots: Arc::new(Semaphore::new(1)),
            queued_calls: AtomicUsize::new(0),
            inline_calls: AtomicUsize::new(0),
        }
    }

    /// Counts `iterations` down in a loop, then returns the word 7.
    fn counting_code(iterations: u8) -> String {
        format!("0x60{iterations:02x}5b600190038060025760076000526020 6000f3").replace(' ', "")
    }

    const COUNTER: &str = "0x00000000000000000000000000000000000c0047";

    fn call(to: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 5, "method": "eth_call", "params": [{"to": to}, "latest"]})
    }

    fn with_budget(max_steps: u64) -> Server {
        let mut backend = backend();
        backend.inline_budget = Some(crate::backend::budget::InlineBudget {
            max_steps,
            max_time: Duration::from_secs(3600),
        });
        let server = server_of(backend);
        let set = json!({"jsonrpc": "2.0", "id": 1, "method": "anvil_setCode", "params": [COUNTER, counting_code(200)]});
        assert!(
            process_value(&server.backend, set, None)
                .get("result")
                .is_some()
        );
        server
    }

    #[test]
    fn an_inline_call_answers_as_the_blocking_path_does_or_hands_over() {
        let seven = json!(format!("0x{:064x}", 7));
        let full = process_value(&with_budget(0).backend, call(COUNTER), None);
        assert_eq!(full["result"], seven, "{full}");

        // Within budget: answered inline, the same answer.
        let roomy = with_budget(10_000);
        assert_eq!(
            answer_inline_call(&roomy, &call(COUNTER)),
            Some(full.clone())
        );

        // ~1,400 steps do not fit 100: handed over, and the blocking path answers in full.
        let tight = with_budget(100);
        assert_eq!(answer_inline_call(&tight, &call(COUNTER)), None);
        assert_eq!(process_value(&tight.backend, call(COUNTER), None), full);

        // A precompile whose cost can be large leaves the worker, whatever the budget.
        let modexp = "0x0000000000000000000000000000000000000005";
        assert_eq!(answer_inline_call(&roomy, &call(modexp)), None);
        assert!(
            process_value(&roomy.backend, call(modexp), None)
                .get("result")
                .is_some()
        );

        // One inline call at a time; batches and other methods never run inline.
        roomy.inline_calls.store(1, Ordering::SeqCst);
        assert_eq!(answer_inline_call(&roomy, &call(COUNTER)), None);
        roomy.inline_calls.store(0, Ordering::SeqCst);
        assert_eq!(answer_inline_call(&roomy, &json!([call(COUNTER)])), None);
        let balance = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [COUNTER, "latest"]});
        assert_eq!(answer_inline_call(&roomy, &balance), None);
        // A read of the latest state is answered inline, one at an older block is not, and
        // neither is one while the chain is being written.
        let latest = json!({"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": [COUNTER, "latest"]});
        let inline = answer_inline_read(&roomy, &latest).expect("answered inline");
        assert_eq!(inline, process_value(&roomy.backend, latest.clone(), None));
        let older = json!({"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": [COUNTER, "0x0"]});
        assert_eq!(answer_inline_read(&roomy, &older), None);
        {
            let _writing = roomy.backend.chain.write();
            assert_eq!(answer_inline_read(&roomy, &latest), None);
        }
        // A call timeout shorter than the budget wins: nothing runs inline.
        let mut hurried = with_budget(10_000);
        hurried.limits.call_timeout = Duration::ZERO;
        assert_eq!(answer_inline_call(&hurried, &call(COUNTER)), None);
    }

    /// Poll a future once; `Some` if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(output) => Some(output),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    fn is_well_formed(answer: &Value) -> bool {
        let one = |v: &Value| {
            v["jsonrpc"] == "2.0" && (v.get("result").is_some() != v.get("error").is_some())
        };
        match answer {
            Value::Array(items) => items.iter().all(one),
            single => one(single),
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_get_a_json_rpc_answer(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let backend = backend();
            prop_assert!(is_well_formed(&process(&backend, &body)));
        }

        #[test]
        fn arbitrary_params_never_break_a_method(
            method in prop::sample::select(vec![
                "eth_getBalance", "eth_call", "eth_getLogs", "eth_getBlockByNumber",
                "eth_sendRawTransaction", "anvil_mine", "evm_revert", "eth_feeHistory",
                "taonado_reorg", "subtensor_metagraph", "eth_getFilterChanges",
            ]),
            params in prop::collection::vec(
                prop_oneof![
                    Just(Value::Null),
                    any::<u64>().prop_map(Value::from),
                    "[a-z0-9x]{0,70}".prop_map(Value::from),
                    Just(serde_json::json!({"to": "0x0000000000000000000000000000000000000009"})),
                ],
                0..4,
            ),
        ) {
            let backend = backend();
            let request = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
            let answer = process(&backend, request.to_string().as_bytes());
            prop_assert!(is_well_formed(&answer));
        }
    }
}
