//! `taonado health`: a one-shot check for cron. Network reachability and chain id, each
//! contract's code and key view call, gas price level and spikes, and (with a database)
//! the indexer's lag and unusual transaction patterns.

use std::time::Instant;

use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use taonado_store::{Store, Window};

use crate::config::RuleSettings;
use crate::observe::contract_statuses;
use crate::units::gwei;
use taonado_deployment::ProtocolContracts;

/// What to check against.
#[derive(Clone, Debug)]
pub struct HealthConfig {
    pub network: String,
    pub expected_chain_id: u64,
    pub contracts: ProtocolContracts,
    pub rules: RuleSettings,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The whole check; healthy when every line is ok.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthReport {
    pub network: String,
    pub healthy: bool,
    pub checks: Vec<HealthCheck>,
}

fn line(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> HealthCheck {
    HealthCheck {
        name: name.into(),
        ok,
        // Node errors quote the RPC URL, which may hold an API key.
        detail: taonado_types::redact_urls(&detail.into()).into_owned(),
    }
}

/// Runs every check; never fails (a failure is a red line).
pub async fn check_health(
    provider: &DynProvider,
    store: Option<&Store>,
    config: &HealthConfig,
) -> HealthReport {
    let mut checks = Vec::new();
    let started = Instant::now();
    let chain = provider.get_chain_id().await;
    let latency_ms = started.elapsed().as_millis();
    let reachable = match chain {
        Ok(id) if id == config.expected_chain_id => {
            checks.push(line(
                "network",
                true,
                format!("chain id {id}, rpc latency {latency_ms} ms"),
            ));
            true
        }
        Ok(id) => {
            checks.push(line(
                "network",
                false,
                format!(
                    "chain id {id} but {} expects {}",
                    config.network, config.expected_chain_id
                ),
            ));
            true
        }
        Err(e) => {
            checks.push(line("network", false, format!("unreachable: {e}")));
            false
        }
    };
    if !reachable {
        return finish(config, checks);
    }
    let head = match provider.get_block_number().await {
        Ok(head) => {
            checks.push(line("head", true, format!("block {head}")));
            Some(head)
        }
        Err(e) => {
            checks.push(line("head", false, format!("eth_blockNumber failed: {e}")));
            None
        }
    };

    if config.contracts.named().is_empty() {
        checks.push(line(
            "contracts",
            false,
            "no protocol addresses known; deploy or configure them",
        ));
    }
    for status in contract_statuses(provider, &config.contracts, None).await {
        let ok = status.has_code && status.responsive;
        let detail = if ok {
            format!("{} code present, view call answers", status.address)
        } else {
            format!(
                "{} {}",
                status.address,
                status.error.unwrap_or_else(|| "not responding".into())
            )
        };
        checks.push(line(format!("contract {}", status.name), ok, detail));
    }

    let rules = &config.rules;
    let window = Window::LastBlocks(rules.window_blocks);
    let average = store
        .and_then(|s| s.tx_stats(window, None).ok())
        .and_then(|t| t.avg_gas_price_wei);
    match provider.get_gas_price().await {
        Ok(price) => {
            let now = gwei(price as f64);
            let level_ok = now <= rules.avg_gas_price_max_gwei;
            checks.push(line(
                "gas price",
                level_ok,
                format!(
                    "{now:.3} gwei (limit {} gwei)",
                    rules.avg_gas_price_max_gwei
                ),
            ));
            if let Some(avg) = average {
                let avg = gwei(avg);
                let spike = avg > 0.0 && now > avg * rules.gas_spike_factor;
                checks.push(line(
                    "gas spike",
                    !spike,
                    format!("{now:.3} gwei now vs {avg:.3} gwei average of the last {} blocks (spike above {}x)", rules.window_blocks, rules.gas_spike_factor),
                ));
            }
        }
        Err(e) => checks.push(line(
            "gas price",
            false,
            format!("eth_gasPrice failed: {e}"),
        )),
    }

    match store {
        None => checks.push(line(
            "patterns",
            true,
            "skipped: no database (pass --db to check indexed history)",
        )),
        Some(store) => patterns(store, head, rules, &mut checks),
    }
    finish(config, checks)
}

fn patterns(store: &Store, head: Option<u64>, rules: &RuleSettings, checks: &mut Vec<HealthCheck>) {
    let window = Window::LastBlocks(rules.window_blocks);
    let read = || -> taonado_store::Result<_> {
        Ok((
            store.checkpoint()?,
            store.tx_stats(window, None)?,
            store.self_withdrawals(window)?,
        ))
    };
    match read() {
        Err(e) => checks.push(line("database", false, format!("{e}"))),
        Ok((checkpoint, stats, cycles)) => {
            match (checkpoint, head) {
                (Some(c), Some(h)) => {
                    let lag = h.saturating_sub(c.number);
                    checks.push(line(
                        "indexer",
                        lag <= rules.window_blocks,
                        format!("checkpoint {} ({lag} blocks behind)", c.number),
                    ));
                }
                _ => checks.push(line(
                    "indexer",
                    false,
                    "nothing indexed yet; run `taonado monitor`",
                )),
            }
            let rate_ok = stats.total < rules.min_transactions
                || stats
                    .success_rate
                    .is_none_or(|r| r >= rules.tx_success_rate_min);
            checks.push(line(
                "tx success",
                rate_ok,
                format!(
                    "{} of {} protocol transactions failed in the last {} blocks",
                    stats.failed, stats.total, rules.window_blocks
                ),
            ));
            checks.push(line(
                "patterns",
                cycles.is_empty(),
                if cycles.is_empty() {
                    "no deposit-then-withdraw-to-self cycles".to_owned()
                } else {
                    format!("{} deposit-then-withdraw-to-self cycles (inflate WeightsV3 lifetime deposits)", cycles.len())
                },
            ));
        }
    }
}

fn finish(config: &HealthConfig, checks: Vec<HealthCheck>) -> HealthReport {
    HealthReport {
        network: config.network.clone(),
        healthy: checks.iter().all(|c| c.ok),
        checks,
    }
}
