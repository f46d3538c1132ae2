//! HTTP transport: axum, JSON-RPC envelopes and batches. Knows nothing about Ethereum.

use std::{panic::AssertUnwindSafe, sync::Arc};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Map, Value, json};

use crate::{backend::Backend, error::DevnetError, rpc};

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

pub(crate) fn router(backend: Arc<Backend>, access: Access) -> Router {
    let access = Arc::new(access);
    Router::new()
        .route("/", post(handle).options(preflight))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(access.clone(), guard))
        .with_state(backend)
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

async fn handle(State(backend): State<Arc<Backend>>, body: Bytes) -> Response {
    // A fork's state lookups block on its remote node, which may be served by this very
    // runtime (a test, `upgrade --rehearse`): keep them off the async workers, or a blocked
    // worker can hold the task the remote needs to answer.
    let response = if backend.forked {
        let backend = backend.clone();
        tokio::task::spawn_blocking(move || process(&backend, &body))
            .await
            .unwrap_or_else(|_| {
                error_response(
                    Value::Null,
                    &DevnetError::Internal("the request worker stopped; please report it".into()),
                )
            })
    } else {
        process(&backend, &body)
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&response).unwrap_or_default(),
    )
        .into_response()
}

fn error_response(id: Value, error: &DevnetError) -> Value {
    let rpc_error = rpc::error::RpcError::from(error);
    json!({"jsonrpc": "2.0", "id": id, "error": rpc_error.to_json()})
}

/// One HTTP body: a request or a batch.
pub(crate) fn process(backend: &Backend, body: &[u8]) -> Value {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => return error_response(Value::Null, &DevnetError::Parse(error.to_string())),
    };
    match value {
        Value::Array(items) if items.is_empty() => error_response(
            Value::Null,
            &DevnetError::InvalidRequest("empty batch".into()),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| process_one(backend, item))
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
        Ok(result) => {
            let mut response = Map::with_capacity(3);
            response.insert("jsonrpc".into(), Value::String("2.0".into()));
            response.insert("id".into(), id);
            response.insert("result".into(), result);
            Value::Object(response)
        }
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
