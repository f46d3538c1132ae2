//! Alert rules: a pure function from one [`Observation`] and the thresholds to the alerts
//! that hold now. A rule whose inputs are missing (a failed chain call, nothing indexed yet)
//! is left out of `evaluated`, so its firing alerts keep their state instead of resolving.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::U256;
use taonado_store::alerts::{ActiveAlert, Severity};

use crate::config::RuleSettings;
use crate::observe::Observation;
use crate::trace::FailureTrace;
use crate::units::{gwei, tao};

// The names sit in a leaf module because the config file checks `rules.disabled` against
// them, and the rules read the config's thresholds.
pub use crate::rule_names::*;

/// The outcome of one evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    pub active: Vec<ActiveAlert>,
    /// Rules that had their inputs (their absent alerts resolve).
    pub evaluated: BTreeSet<String>,
    /// What each evaluated rule reads now, by dedup key (or by rule, for rules whose alerts
    /// are per transaction): a resolution states it, not the text it fired with.
    pub readings: BTreeMap<String, String>,
}

struct Builder<'a> {
    settings: &'a RuleSettings,
    block: Option<u64>,
    out: Evaluation,
}

impl Builder<'_> {
    /// Marks `rule` evaluated (when enabled) and says whether to check it.
    fn rule(&mut self, rule: &str) -> bool {
        if !self.settings.enabled(rule) {
            return false;
        }
        self.out.evaluated.insert(rule.to_owned());
        true
    }

    fn fire(
        &mut self,
        rule: &str,
        key: String,
        severity: Severity,
        summary: String,
        details: serde_json::Value,
    ) {
        self.out.active.push(ActiveAlert {
            dedup_key: format!("{rule}:{key}"),
            rule: rule.to_owned(),
            severity,
            summary,
            details,
            block: self.block,
        });
    }
}

/// What the enabled rules read in `obs`, in words: the recovered value a resolution states.
/// Keyed like the alerts (`rule:key`); per-transaction rules by rule.
fn readings(obs: &Observation, settings: &RuleSettings) -> BTreeMap<String, String> {
    let window = settings.window_blocks;
    let mut out = BTreeMap::new();
    let mut read = |rule: &str, key: Option<&str>, text: String| {
        if settings.enabled(rule) {
            let id = key.map_or_else(|| rule.to_owned(), |k| format!("{rule}:{k}"));
            out.insert(id, text);
        }
    };
    if let Some(stats) = &obs.tx {
        let rate = match stats.success_rate {
            Some(rate) if stats.total >= settings.min_transactions => format!(
                "transaction success rate {:.1}% over the last {window} blocks (minimum {:.1}%; {} of {} failed)",
                rate * 100.0,
                settings.tx_success_rate_min * 100.0,
                stats.failed,
                stats.total
            ),
            _ => format!(
                "{} protocol transactions over the last {window} blocks, fewer than the {} the success rate is judged on",
                stats.total, settings.min_transactions
            ),
        };
        read(TX_SUCCESS_RATE, Some("protocol"), rate);
        let price = stats.avg_gas_price_wei.map_or_else(
            || format!("no priced transactions over the last {window} blocks"),
            |avg| {
                format!(
                    "average gas price {:.3} gwei over the last {window} blocks (limit {} gwei)",
                    gwei(avg),
                    settings.avg_gas_price_max_gwei
                )
            },
        );
        read(GAS_PRICE, Some("average"), price);
        for rule in [FAILED_TRANSACTION, GAS_USED, SELF_WITHDRAWAL] {
            read(
                rule,
                None,
                format!("no longer among the last {window} blocks' transactions"),
            );
        }
    }
    if let Some(checkpoint) = obs.checkpoint_block {
        let since = checkpoint.saturating_sub(obs.last_weight_set_block.unwrap_or(0));
        read(
            WEIGHT_INTERVAL,
            Some("evm_validator"),
            format!(
                "weights set {since} blocks ago (limit {})",
                settings.weight_interval_max_blocks
            ),
        );
    }
    if let Some(wtao) = &obs.wtao {
        read(
            WTAO_SUPPLY_DISCREPANCY,
            Some(&format!("{:#x}", wtao.address)),
            format!(
                "WTAO holds {} TAO and its supply is {} TAO",
                tao(wtao.native_balance),
                tao(wtao.supply)
            ),
        );
    }
    if obs.pools_observed {
        for pool in &obs.pools {
            read(
                POOL_BALANCE_DISCREPANCY,
                Some(&format!("{:#x}", pool.address)),
                format!(
                    "pool {} holds {} TAO, as its {} deposits and {} withdrawals imply",
                    pool.address,
                    tao(pool.balance),
                    pool.deposits,
                    pool.withdrawals
                ),
            );
        }
    }
    if let Some(balance) = obs.validator_balance
        && let Ok(min) = settings.validator_balance_min()
    {
        read(
            VALIDATOR_BALANCE_LOW,
            Some("evm_validator"),
            format!(
                "EvmValidator bounty balance {} TAO (minimum {} TAO)",
                tao(balance),
                tao(min)
            ),
        );
    }
    out
}

/// The alerts that hold for `obs` under `settings`.
pub fn evaluate(obs: &Observation, settings: &RuleSettings) -> Evaluation {
    let mut b = Builder {
        settings,
        block: obs.checkpoint_block,
        out: Evaluation {
            readings: readings(obs, settings),
            ..Evaluation::default()
        },
    };
    let window = settings.window_blocks;

    if let Some(stats) = obs.tx.as_ref().filter(|_| b.rule(TX_SUCCESS_RATE))
        && let Some(rate) = stats
            .success_rate
            .filter(|_| stats.total >= settings.min_transactions)
        && rate < settings.tx_success_rate_min
    {
        b.fire(
                TX_SUCCESS_RATE,
                "protocol".into(),
                Severity::Warning,
                format!(
                    "transaction success rate {:.1}% over the last {window} blocks is below {:.1}% ({} of {} failed)",
                    rate * 100.0,
                    settings.tx_success_rate_min * 100.0,
                    stats.failed,
                    stats.total
                ),
                serde_json::json!({"success_rate": rate, "failed": stats.failed, "total": stats.total, "window_blocks": window}),
            );
    }

    if let Some(stats) = obs.tx.as_ref().filter(|_| b.rule(GAS_PRICE))
        && let Some(avg) = stats.avg_gas_price_wei
        && gwei(avg) > settings.avg_gas_price_max_gwei
    {
        b.fire(
            GAS_PRICE,
            "average".into(),
            Severity::Warning,
            format!(
                "average gas price {:.3} gwei over the last {window} blocks is above {} gwei",
                gwei(avg),
                settings.avg_gas_price_max_gwei
            ),
            serde_json::json!({"avg_gas_price_gwei": gwei(avg), "max_gwei": settings.avg_gas_price_max_gwei}),
        );
    }

    if let Some(checkpoint) = obs.checkpoint_block.filter(|_| b.rule(WEIGHT_INTERVAL)) {
        // Never set: count from genesis, so a chain running without weights also alerts.
        let since = checkpoint.saturating_sub(obs.last_weight_set_block.unwrap_or(0));
        if since > settings.weight_interval_max_blocks {
            b.fire(
                WEIGHT_INTERVAL,
                "evm_validator".into(),
                Severity::Warning,
                format!(
                    "no weights set for {since} blocks (limit {}); last set at {}",
                    settings.weight_interval_max_blocks,
                    obs.last_weight_set_block
                        .map_or_else(|| "never".to_owned(), |b| format!("block {b}"))
                ),
                serde_json::json!({"blocks_since": since, "last_block": obs.last_weight_set_block, "max_blocks": settings.weight_interval_max_blocks}),
            );
        }
    }

    if let Some(wtao) = obs
        .wtao
        .as_ref()
        .filter(|_| b.rule(WTAO_SUPPLY_DISCREPANCY))
        && (wtao.supply != wtao.native_balance
            || wtao.wrapped.is_some_and(|w| w != wtao.native_balance))
    {
        b.fire(
            WTAO_SUPPLY_DISCREPANCY,
            format!("{:#x}", wtao.address),
            Severity::Critical,
            format!(
                "WTAO holds {} TAO but its supply is {} TAO and {} TAO were wrapped",
                tao(wtao.native_balance),
                tao(wtao.supply),
                wtao.wrapped.map_or_else(|| "an unknown amount of".to_owned(), tao)
            ),
            serde_json::json!({"address": wtao.address, "supply_wei": wtao.supply.to_string(), "native_balance_wei": wtao.native_balance.to_string(), "wrapped_wei": wtao.wrapped.map(|w| w.to_string())}),
        );
    }

    if obs.pools_observed && b.rule(POOL_BALANCE_DISCREPANCY) {
        for pool in &obs.pools {
            let expected = pool.expected_balance();
            if expected != Some(pool.balance) {
                b.fire(
                    POOL_BALANCE_DISCREPANCY,
                    format!("{:#x}", pool.address),
                    Severity::Critical,
                    format!(
                        "pool {} holds {} TAO but {} deposits and {} withdrawals of {} TAO imply {}",
                        pool.address,
                        tao(pool.balance),
                        pool.deposits,
                        pool.withdrawals,
                        tao(pool.denomination),
                        expected.map_or_else(|| "a negative balance".to_owned(), |e| format!("{} TAO", tao(e)))
                    ),
                    serde_json::json!({"pool": pool.address, "balance_wei": pool.balance.to_string(), "deposits": pool.deposits, "withdrawals": pool.withdrawals, "denomination_wei": pool.denomination.to_string()}),
                );
            }
        }
    }

    if obs.tx.is_some() && b.rule(FAILED_TRANSACTION) {
        for tx in &obs.failed_txs {
            let trace = obs.failure_traces.get(&tx.hash);
            let why = match trace {
                Some(FailureTrace {
                    reason: Some(reason),
                    ..
                }) => format!(": {reason}"),
                _ => String::new(),
            };
            b.fire(
                FAILED_TRANSACTION,
                format!("{:#x}", tx.hash),
                Severity::Critical,
                format!(
                    "failed transaction {} to {} ({}.{}) at block {} from {}{why}",
                    tx.hash,
                    tx.to,
                    tx.contract.as_str(),
                    tx.function,
                    tx.block_number,
                    tx.from
                ),
                serde_json::json!({
                    "tx": tx.hash, "to": tx.to, "contract": tx.contract.as_str(),
                    "function": tx.function, "block": tx.block_number, "from": tx.from,
                    "gas_used": tx.gas_used,
                    "revert_reason": trace.and_then(|t| t.reason.clone()),
                    "call_trace": trace.map(|t| t.calls.clone()).unwrap_or_default(),
                    "trace_unavailable": trace.and_then(|t| t.unavailable.clone()),
                }),
            );
        }
    }

    if obs.tx.is_some() && b.rule(GAS_USED) {
        for tx in obs
            .recent_txs
            .iter()
            .filter(|t| t.gas_used > settings.gas_used_max)
        {
            b.fire(
                GAS_USED,
                format!("{:#x}", tx.hash),
                Severity::Critical,
                format!(
                    "transaction {} ({}.{}) used {} gas, above the {} threshold",
                    tx.hash,
                    tx.contract.as_str(),
                    tx.function,
                    tx.gas_used,
                    settings.gas_used_max
                ),
                serde_json::json!({"tx": tx.hash, "gas_used": tx.gas_used, "threshold": settings.gas_used_max, "block": tx.block_number}),
            );
        }
    }

    if let Some(balance) = obs
        .validator_balance
        .filter(|_| b.rule(VALIDATOR_BALANCE_LOW))
        && let Ok(min) = settings.validator_balance_min()
        && balance < min
    {
        b.fire(
            VALIDATOR_BALANCE_LOW,
            "evm_validator".into(),
            Severity::Warning,
            format!(
                "EvmValidator bounty balance {} TAO is below {} TAO; fund it or setWeights callers go unpaid",
                tao(balance),
                tao(min)
            ),
            serde_json::json!({"balance_wei": balance.to_string(), "min_wei": min.to_string()}),
        );
    }

    if obs.tx.is_some() && b.rule(SELF_WITHDRAWAL) {
        for w in &obs.self_withdrawals {
            b.fire(
                SELF_WITHDRAWAL,
                format!("{:#x}:{:#x}:{}", w.pool, w.address, w.withdrawal_block),
                Severity::Warning,
                format!(
                    "{} deposited to pool {} at block {} and withdrew to itself at block {}: inflates lifetime deposits (WeightsV3) for gas alone",
                    w.address, w.pool, w.deposit_block, w.withdrawal_block
                ),
                serde_json::json!({"pool": w.pool, "address": w.address, "deposit_block": w.deposit_block, "withdrawal_block": w.withdrawal_block}),
            );
        }
    }
    b.out
}

/// `true` when the expected WTAO of a pool matches its balance.
pub fn pool_consistent(balance: U256, denomination: U256, deposits: u64, withdrawals: u64) -> bool {
    deposits
        .checked_sub(withdrawals)
        .is_some_and(|n| denomination.saturating_mul(U256::from(n)) == balance)
}

pub mod compliance;

#[cfg(test)]
mod tests;
