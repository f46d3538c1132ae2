//! JSON-RPC over WebSocket on the same port (`ws://host:port/`): every HTTP method, plus
//! `eth_subscribe`/`eth_unsubscribe` for `newHeads`, `logs` (with a filter) and
//! `newPendingTransactions`. A reorg or `evm_revert` sends the dropped blocks' matching
//! logs again with `removed: true`, as geth does.
//!
//! A slow subscriber never stalls the chain: the chain publishes to a bounded broadcast
//! channel and each connection has a bounded outbox; a subscriber that falls behind either
//! is dropped (the connection is closed, with the reason logged).

use std::{collections::HashMap, sync::Arc};

use alloy_primitives::U256;
use alloy_rpc_types_eth::Filter;
use axum::extract::ws::{Message, WebSocket};
use serde_json::{Value, json};
use tokio::{
    sync::{broadcast, mpsc, watch},
    task::JoinHandle,
};

use crate::{
    backend::chain::ChainEvent,
    error::DevnetError,
    rpc,
    server::{Server, answer, error_response},
};

/// Messages waiting to be written to one connection.
const OUTBOX: usize = 1_024;

enum Kind {
    NewHeads,
    Logs(Box<Filter>),
    Pending,
}

/// Serve one WebSocket connection until it closes (or is closed for being slow).
pub(crate) async fn session(server: Arc<Server>, mut socket: WebSocket) {
    let (outbox, mut outgoing) = mpsc::channel::<String>(OUTBOX);
    let (closing_tx, mut closing) = watch::channel::<Option<String>>(None);
    let mut subscriptions: HashMap<U256, JoinHandle<()>> = HashMap::new();
    let mut next_id = 1u64;
    loop {
        tokio::select! {
            received = socket.recv() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let reply = request(&server, &text, &mut subscriptions, &mut next_id, &outbox, &closing_tx).await;
                if outbox.try_send(reply.to_string()).is_err() {
                    tracing::warn!("closing a WebSocket client that does not read its answers");
                    break;
                }
            }
            Some(text) = outgoing.recv() => {
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            _ = closing.changed() => {
                if let Some(reason) = closing.borrow().clone() {
                    tracing::warn!(%reason, "closing a WebSocket subscriber");
                }
                break;
            }
        }
    }
    for (_, task) in subscriptions {
        task.abort();
    }
}

/// One text frame: a request or a batch. Subscriptions are handled here, everything else
/// as over HTTP.
async fn request(
    server: &Arc<Server>,
    text: &str,
    subscriptions: &mut HashMap<U256, JoinHandle<()>>,
    next_id: &mut u64,
    outbox: &mpsc::Sender<String>,
    closing: &watch::Sender<Option<String>>,
) -> Value {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => return error_response(Value::Null, &DevnetError::Parse(error.to_string())),
    };
    let mut one = async |item: Value| -> Value {
        let method = item.get("method").and_then(Value::as_str).unwrap_or("");
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        let params = item.get("params").cloned().unwrap_or(Value::Null);
        match method {
            "eth_subscribe" => match subscribe(server, &params, *next_id, outbox, closing) {
                Ok((sub, task)) => {
                    *next_id += 1;
                    subscriptions.insert(sub, task);
                    json!({"jsonrpc": "2.0", "id": id, "result": format!("{sub:#x}")})
                }
                Err(error) => error_response(id, &error),
            },
            "eth_unsubscribe" => {
                let sub = params
                    .get(0)
                    .and_then(Value::as_str)
                    .and_then(|s| U256::from_str_radix(s.trim_start_matches("0x"), 16).ok());
                let removed = sub.and_then(|s| subscriptions.remove(&s));
                if let Some(task) = &removed {
                    task.abort();
                }
                json!({"jsonrpc": "2.0", "id": id, "result": removed.is_some()})
            }
            _ => answer(server, item).await,
        }
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            let mut answers = Vec::with_capacity(items.len());
            for item in items {
                answers.push(one(item).await);
            }
            Value::Array(answers)
        }
        single => one(single).await,
    }
}

fn subscribe(
    server: &Arc<Server>,
    params: &Value,
    id: u64,
    outbox: &mpsc::Sender<String>,
    closing: &watch::Sender<Option<String>>,
) -> Result<(U256, JoinHandle<()>), DevnetError> {
    let kind = match params.get(0).and_then(Value::as_str) {
        Some("newHeads") => Kind::NewHeads,
        Some("newPendingTransactions") => Kind::Pending,
        Some("logs") => {
            let filter: Filter = match params.get(1) {
                Some(filter) => serde_json::from_value(filter.clone())
                    .map_err(|e| DevnetError::InvalidParams(format!("logs filter: {e}")))?,
                None => Filter::default(),
            };
            Kind::Logs(Box::new(filter))
        }
        other => {
            return Err(DevnetError::InvalidParams(format!(
                "unknown subscription {other:?}; use newHeads, logs or newPendingTransactions"
            )));
        }
    };
    // A distinct-looking id per connection and subscription.
    let sub = U256::from(id) | (U256::from(rand_tag()) << 64);
    let events = server.backend().chain.read().events.subscribe();
    let task = tokio::spawn(forward(
        server.clone(),
        kind,
        sub,
        events,
        outbox.clone(),
        closing.clone(),
    ));
    Ok((sub, task))
}

/// Some bits from the clock, so ids differ across connections.
fn rand_tag() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
}

async fn forward(
    server: Arc<Server>,
    kind: Kind,
    sub: U256,
    mut events: broadcast::Receiver<ChainEvent>,
    outbox: mpsc::Sender<String>,
    closing: watch::Sender<Option<String>>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let _ = closing.send(Some(format!(
                    "subscription {sub:#x} fell {missed} events behind"
                )));
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for result in notifications(&server, &kind, &event) {
            let message = json!({
                "jsonrpc": "2.0",
                "method": "eth_subscription",
                "params": {"subscription": format!("{sub:#x}"), "result": result},
            });
            if outbox.try_send(message.to_string()).is_err() {
                let _ = closing.send(Some(format!(
                    "subscription {sub:#x}: the client does not read its notifications"
                )));
                return;
            }
        }
    }
}

/// What a subscription of `kind` is told about `event`.
fn notifications(server: &Server, kind: &Kind, event: &ChainEvent) -> Vec<Value> {
    let backend = server.backend();
    match (kind, event) {
        (Kind::NewHeads, ChainEvent::Block(number)) => rpc::dispatch(
            backend,
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), false]),
        )
        .ok()
        .filter(|block| !block.is_null())
        .map(|mut block| {
            if let Some(fields) = block.as_object_mut() {
                fields.remove("transactions");
                fields.remove("uncles");
            }
            block
        })
        .into_iter()
        .collect(),
        (Kind::Logs(filter), ChainEvent::Block(number)) => {
            let chain = backend.chain.read();
            rpc::collect_logs(&chain, filter, *number, *number)
                .into_iter()
                .filter_map(|log| serde_json::to_value(log).ok())
                .collect()
        }
        (Kind::Logs(filter), ChainEvent::Dropped(blocks)) => blocks
            .iter()
            .flat_map(|block| rpc::logs_of_block(block, filter))
            .filter_map(|mut log| {
                log.removed = true;
                serde_json::to_value(log).ok()
            })
            .collect(),
        (Kind::Pending, ChainEvent::Pending(hash)) => vec![json!(hash)],
        _ => Vec::new(),
    }
}
