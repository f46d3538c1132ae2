//! `taonado net check`: each configured network's endpoint, probed once.
//!
//! A network is "expected up" when the operator selected it or when it is a live network; a
//! local dev chain that is not running is reported but is not an outage. Unreachable live
//! networks are reported as such, with the transport error, so an offline machine reads as
//! "unreachable", never as a wrong chain.

use std::time::{Duration, Instant};

use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use url::Url;

/// One endpoint to probe.
#[derive(Clone, Debug)]
pub struct NetTarget {
    pub name: String,
    pub rpc_url: Url,
    /// A provider on `rpc_url` with the probe's request timeout and no chain-id check of its
    /// own (the probe reports a wrong chain), built by the caller (taonado-client).
    pub provider: DynProvider,
    pub chain_id: u64,
    /// Down counts as a failure.
    pub expected_up: bool,
    /// Dev chains mine on demand, so their head age says nothing.
    pub dev_chain: bool,
}

/// Limits for the probe (the per-request timeout is the targets' providers').
#[derive(Clone, Copy, Debug)]
pub struct NetLimits {
    /// A live chain whose newest block is older than this is stalled.
    pub max_head_age: Duration,
}

/// What one endpoint answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetState {
    /// Chain id matches and the head is fresh (or a dev chain).
    Up,
    /// Reachable, but the newest block is older than the limit.
    Stale,
    /// Reachable, but another chain.
    WrongChain,
    /// No answer (refused, timed out, DNS, TLS ...).
    Unreachable,
}

/// One row of `net check`.
#[derive(Clone, Debug, Serialize)]
pub struct NetStatus {
    pub network: String,
    pub rpc_url: String,
    pub expected_chain_id: u64,
    pub chain_id: Option<u64>,
    pub head_block: Option<u64>,
    /// Seconds since the head block's timestamp (negative clocks clamp to 0).
    pub head_age_secs: Option<u64>,
    /// Round trip of `eth_chainId`, milliseconds.
    pub latency_ms: Option<u64>,
    pub state: NetState,
    pub expected_up: bool,
    /// True when this row fails the check (expected up and not up).
    pub failed: bool,
    pub detail: String,
}

/// Probes every target concurrently; rows come back in the order of `targets`.
pub async fn check_networks(targets: &[NetTarget], limits: NetLimits) -> Vec<NetStatus> {
    let mut set = tokio::task::JoinSet::new();
    for (i, target) in targets.iter().cloned().enumerate() {
        set.spawn(async move { (i, check_network(&target, limits).await) });
    }
    let mut rows: Vec<Option<NetStatus>> = vec![None; targets.len()];
    while let Some(joined) = set.join_next().await {
        // check_network does not panic; a task that did would leave its row out.
        if let Ok((i, status)) = joined {
            rows[i] = Some(status);
        }
    }
    rows.into_iter().flatten().collect()
}

/// Probes one endpoint: chain id (timed), head block and its age.
pub async fn check_network(target: &NetTarget, limits: NetLimits) -> NetStatus {
    let mut status = NetStatus {
        network: target.name.clone(),
        rpc_url: taonado_types::redact_urls(target.rpc_url.as_str()).into_owned(),
        expected_chain_id: target.chain_id,
        chain_id: None,
        head_block: None,
        head_age_secs: None,
        latency_ms: None,
        state: NetState::Unreachable,
        expected_up: target.expected_up,
        failed: false,
        detail: String::new(),
    };
    let provider = &target.provider;

    let started = Instant::now();
    let chain_id = match provider.get_chain_id().await {
        Ok(id) => id,
        Err(e) => {
            let cause = error_chain(&e);
            status.detail = if target.expected_up {
                format!("unreachable{}: {cause}", hint(&cause))
            } else {
                format!("not running (dev chain, not expected up): {cause}")
            };
            status.failed = target.expected_up;
            return status;
        }
    };
    status.latency_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    status.chain_id = Some(chain_id);
    if chain_id != target.chain_id {
        status.state = NetState::WrongChain;
        status.detail = format!(
            "chain id {chain_id}, expected {}; fix networks.{}.rpc_url",
            target.chain_id, target.name
        );
        status.failed = true;
        return status;
    }
    match provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
    {
        Ok(Some(block)) => {
            status.head_block = Some(block.header.number);
            let age = taonado_deployment::unix_now().saturating_sub(block.header.timestamp);
            status.head_age_secs = Some(age);
            if !target.dev_chain && age > limits.max_head_age.as_secs() {
                status.state = NetState::Stale;
                status.detail = format!(
                    "head block {} is {age} s old (limit {} s): the chain or the node is stalled",
                    block.header.number,
                    limits.max_head_age.as_secs()
                );
                status.failed = target.expected_up;
                return status;
            }
            status.state = NetState::Up;
            status.detail = "ok".to_owned();
        }
        Ok(None) => {
            status.state = NetState::Stale;
            status.detail = "the node has no latest block".to_owned();
            status.failed = target.expected_up;
        }
        Err(e) => {
            status.state = NetState::Unreachable;
            status.detail = format!("answered eth_chainId but not eth_getBlockByNumber: {e}");
            status.failed = target.expected_up;
        }
    }
    status
}

/// The error and its sources on one line, repeated messages once: reqwest's own message
/// ("error sending request") hides the reason (refused, DNS, TLS) in its sources.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    // Transport errors quote the URL, which may hold an API key.
    taonado_types::redact_urls(&parts.join(": ")).into_owned()
}

/// What an operator most likely has to look at, from the error text.
fn hint(cause: &str) -> &'static str {
    let lower = cause.to_ascii_lowercase();
    if lower.contains("dns") || lower.contains("lookup address") {
        " (DNS lookup failed: is this machine offline?)"
    } else if lower.contains("connection refused") {
        " (connection refused: nothing listens there)"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        " (timed out)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> NetLimits {
        NetLimits {
            max_head_age: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_refused_endpoint_fails_only_when_expected_up() {
        // Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
        let url: Url = "http://127.0.0.1:9".parse().expect("url");
        let provider = taonado_client::ProviderSpec {
            request_timeout: Duration::from_secs(5),
            ..taonado_client::ProviderSpec::new(vec![url.clone()])
        }
        .build()
        .expect("a provider")
        .into_provider();
        let target = |expected_up| NetTarget {
            name: "x".into(),
            rpc_url: url.clone(),
            provider: provider.clone(),
            chain_id: 42,
            expected_up,
            dev_chain: !expected_up,
        };
        let rows = check_networks(&[target(true), target(false)], limits()).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].state, NetState::Unreachable);
        assert!(rows[0].failed);
        assert!(
            rows[0].detail.starts_with("unreachable"),
            "{}",
            rows[0].detail
        );
        assert_eq!(rows[1].state, NetState::Unreachable);
        assert!(!rows[1].failed);
        assert!(
            rows[1].detail.contains("not expected up"),
            "{}",
            rows[1].detail
        );
    }
}
