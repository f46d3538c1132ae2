//! A minimal JSON-RPC client over one keep-alive connection (reqwest), as the devnet's
//! `call-flood` example: a provider stack per request would make the generator the limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::LoadTestError;

/// One worker's connection to the endpoint.
pub struct Rpc {
    client: reqwest::Client,
    url: String,
    id: AtomicU64,
}

/// Why one request failed: transport (no answer) or the node's JSON-RPC error.
#[derive(Debug)]
pub enum RpcFailure {
    Transport(String),
    Node(String),
}

impl RpcFailure {
    /// The failure's reason, short and without per-request detail, for grouping.
    pub fn reason(&self) -> String {
        let (kind, message) = match self {
            Self::Transport(m) => ("transport", m.as_str()),
            Self::Node(m) => ("node", m.as_str()),
        };
        format!("{kind}: {}", short_reason(message, 120))
    }
}

/// The first `max` characters of `message`, with every word that holds a digit as `…`:
/// hashes, addresses, blocks and nonces in a message would split one reason into many.
pub fn short_reason(message: &str, max: usize) -> String {
    let short: String = message.chars().take(max).collect();
    short
        .split_whitespace()
        .map(|word| {
            if word.chars().any(|c| c.is_ascii_digit()) {
                "…"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Rpc {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, LoadTestError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(timeout)
            .build()
            .map_err(|e| LoadTestError::Client(e.to_string()))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            id: AtomicU64::new(1),
        })
    }

    /// `method(params)`: its `result`, or why not.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcFailure> {
        let id = self.id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| RpcFailure::Transport(without_url(&e)))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|e| RpcFailure::Transport(format!("HTTP {status}: {}", without_url(&e))))?;
        if let Some(error) = answer.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            return Err(RpcFailure::Node(message));
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| RpcFailure::Node(format!("no result in {answer}")))
    }

    /// One batch of `method` calls, one per `params`; the results in order (`None` where
    /// the node answered with an error).
    pub async fn batch(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<Vec<Option<Value>>, RpcFailure> {
        let first = self.id.fetch_add(params.len() as u64, Ordering::Relaxed);
        let body: Vec<Value> = params
            .into_iter()
            .enumerate()
            .map(|(i, p)| json!({"jsonrpc": "2.0", "id": first + i as u64, "method": method, "params": p}))
            .collect();
        let count = body.len();
        let answers: Vec<Value> = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| RpcFailure::Transport(without_url(&e)))?
            .json()
            .await
            .map_err(|e| RpcFailure::Transport(without_url(&e)))?;
        let mut results = vec![None; count];
        for answer in answers {
            let slot = answer
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|id| id.checked_sub(first))
                .and_then(|i| results.get_mut(i as usize));
            if let Some(slot) = slot {
                *slot = answer.get("result").cloned();
            }
        }
        Ok(results)
    }

    /// [`call`](Self::call) for setup steps, where any failure stops the test.
    pub async fn must(&self, method: &'static str, params: Value) -> Result<Value, LoadTestError> {
        self.call(method, params)
            .await
            .map_err(|failure| LoadTestError::Rpc {
                method,
                message: match failure {
                    RpcFailure::Transport(m) | RpcFailure::Node(m) => m,
                },
            })
    }

    /// A quantity answer (`"0x1a"`) as u128.
    pub async fn quantity(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<u128, LoadTestError> {
        let value = self.must(method, params).await?;
        parse_quantity(&value).ok_or_else(|| LoadTestError::Rpc {
            method,
            message: format!("not a quantity: {value}"),
        })
    }
}

pub fn parse_quantity(value: &Value) -> Option<u128> {
    let hex = value.as_str()?.strip_prefix("0x")?;
    if hex.is_empty() {
        return Some(0);
    }
    u128::from_str_radix(hex, 16).ok()
}

/// reqwest's messages carry the URL, which may hold an API key.
fn without_url(error: &reqwest::Error) -> String {
    let error = error.to_string();
    match error.find(" for url (") {
        Some(at) => error[..at].to_owned(),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(parse_quantity(&json!("0x1a")), Some(26));
        assert_eq!(parse_quantity(&json!("0x")), Some(0));
        assert_eq!(parse_quantity(&json!(26)), None);
    }

    #[test]
    fn reasons_group_without_numbers() {
        let a = RpcFailure::Node("nonce too low: next nonce 5, tx nonce 3".into()).reason();
        let b = RpcFailure::Node("nonce too low: next nonce 9, tx nonce 8".into()).reason();
        assert_eq!(a, b);
    }
}
