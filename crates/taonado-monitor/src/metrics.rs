//! Prometheus metrics (prometheus-client), updated from each observation and served as
//! `/metrics` in the text exposition format.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use taonado_store::alerts::{AlertRecord, Severity};
use taonado_store::outbox::OutboxCounts;

use crate::observe::Observation;
use crate::units::tao_f64;

type FloatGauge = Gauge<f64, AtomicU64>;
type Labels = Vec<(String, String)>;

/// Every gauge the monitor exports; names are `taonado_<name>`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    active_miners: FloatGauge,
    wtao_supply: FloatGauge,
    pools_total: FloatGauge,
    weight_sets: FloatGauge,
    blocks_since_weight_set: FloatGauge,
    gas_price_avg: FloatGauge,
    gas_price_now: FloatGauge,
    tx_total: FloatGauge,
    tx_failed: FloatGauge,
    tx_success_rate: FloatGauge,
    tx_error_rate: FloatGauge,
    validator_balance: FloatGauge,
    checkpoint_block: FloatGauge,
    head_block: FloatGauge,
    checkpoint_lag: FloatGauge,
    pool_anonymity_set: Family<Labels, FloatGauge>,
    pool_balance: Family<Labels, FloatGauge>,
    contract_up: Family<Labels, FloatGauge>,
    alerts_firing: Family<Labels, FloatGauge>,
    outbox: Family<Labels, FloatGauge>,
    rpc_up: FloatGauge,
    last_successful_poll: FloatGauge,
}

/// `(name, help)` of every metric, also used by the Grafana export.
pub const METRICS: &[(&str, &str)] = &[
    (
        "active_miners",
        "Miners with a non-zero weight in the latest snapshot",
    ),
    (
        "wtao_supply_tao",
        "WTAO total supply (TAO deposited into WTAO)",
    ),
    ("pools_balance_total_tao", "WTAO held by all mixer pools"),
    (
        "weight_sets_window",
        "Successful weight settings in the rule window",
    ),
    (
        "blocks_since_weight_set",
        "Blocks since the last successful weight setting",
    ),
    (
        "gas_price_avg_gwei",
        "Average effective gas price of protocol transactions in the window",
    ),
    ("gas_price_gwei", "Current eth_gasPrice"),
    ("transactions_window", "Protocol transactions in the window"),
    (
        "transactions_failed_window",
        "Failed protocol transactions in the window",
    ),
    (
        "tx_success_rate",
        "Share of protocol transactions that succeeded in the window",
    ),
    (
        "contract_error_rate",
        "Share of protocol contract interactions that reverted in the window",
    ),
    (
        "validator_balance_tao",
        "EvmValidator native balance (setWeights bounty budget)",
    ),
    ("checkpoint_block", "Last block the indexer committed"),
    ("head_block", "Chain head"),
    (
        "checkpoint_lag_blocks",
        "Blocks the indexer is behind the head",
    ),
    ("pool_anonymity_set", "Deposits into each pool"),
    ("pool_balance_tao", "WTAO held by each pool"),
    (
        "contract_up",
        "1 if the contract has code and its key view call answers",
    ),
    ("alerts_firing", "Firing alerts by severity"),
    ("outbox_messages", "Notification outbox messages by state"),
    (
        "rpc_up",
        "1 while the indexer's rounds reach the chain, 0 during an outage",
    ),
    (
        "last_successful_poll_timestamp_seconds",
        "Unix time of the indexer's last round that reached the chain",
    ),
];

fn gauge(registry: &mut Registry, index: usize) -> FloatGauge {
    let g = FloatGauge::default();
    let (name, help) = METRICS[index];
    registry.register(name, help, g.clone());
    g
}

fn family(registry: &mut Registry, index: usize) -> Family<Labels, FloatGauge> {
    let f = Family::<Labels, FloatGauge>::default();
    let (name, help) = METRICS[index];
    registry.register(name, help, f.clone());
    f
}

fn set_opt(g: &FloatGauge, v: Option<f64>) {
    g.set(v.unwrap_or(f64::NAN));
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("taonado");
        Self {
            active_miners: gauge(&mut r, 0),
            wtao_supply: gauge(&mut r, 1),
            pools_total: gauge(&mut r, 2),
            weight_sets: gauge(&mut r, 3),
            blocks_since_weight_set: gauge(&mut r, 4),
            gas_price_avg: gauge(&mut r, 5),
            gas_price_now: gauge(&mut r, 6),
            tx_total: gauge(&mut r, 7),
            tx_failed: gauge(&mut r, 8),
            tx_success_rate: gauge(&mut r, 9),
            tx_error_rate: gauge(&mut r, 10),
            validator_balance: gauge(&mut r, 11),
            checkpoint_block: gauge(&mut r, 12),
            head_block: gauge(&mut r, 13),
            checkpoint_lag: gauge(&mut r, 14),
            pool_anonymity_set: family(&mut r, 15),
            pool_balance: family(&mut r, 16),
            contract_up: family(&mut r, 17),
            alerts_firing: family(&mut r, 18),
            outbox: family(&mut r, 19),
            rpc_up: gauge(&mut r, 20),
            last_successful_poll: gauge(&mut r, 21),
            registry: r,
        }
    }

    /// Sets every gauge from one observation (unknown values become NaN).
    pub fn update(&self, obs: &Observation) {
        let s = obs.sample();
        set_opt(&self.active_miners, s.active_miners.map(|n| n as f64));
        set_opt(&self.wtao_supply, s.wtao_supply_tao);
        self.pools_total.set(s.pools_total_tao);
        self.weight_sets.set(s.weight_sets as f64);
        set_opt(
            &self.blocks_since_weight_set,
            s.blocks_since_weight_set.map(|n| n as f64),
        );
        set_opt(&self.gas_price_avg, s.avg_gas_price_gwei);
        set_opt(&self.gas_price_now, s.gas_price_now_gwei);
        self.tx_total.set(s.tx_total as f64);
        self.tx_failed.set(s.tx_failed as f64);
        set_opt(&self.tx_success_rate, s.tx_success_rate);
        set_opt(&self.tx_error_rate, s.tx_error_rate);
        set_opt(&self.validator_balance, s.validator_balance_tao);
        set_opt(&self.checkpoint_block, s.block.map(|n| n as f64));
        set_opt(&self.head_block, obs.head_block.map(|n| n as f64));
        set_opt(&self.checkpoint_lag, s.checkpoint_lag.map(|n| n as f64));
        for pool in &obs.pools {
            let labels = vec![("pool".to_owned(), format!("{:#x}", pool.address))];
            self.pool_anonymity_set
                .get_or_create(&labels)
                .set(pool.anonymity_set() as f64);
            self.pool_balance
                .get_or_create(&labels)
                .set(tao_f64(pool.balance));
        }
        for c in &obs.contracts {
            let labels = vec![
                ("contract".to_owned(), c.name.clone()),
                ("address".to_owned(), format!("{:#x}", c.address)),
            ];
            self.contract_up
                .get_or_create(&labels)
                .set(if c.has_code && c.responsive { 1.0 } else { 0.0 });
        }
    }

    /// Firing alerts by severity and the outbox by state.
    /// Whether the chain answers. During an outage the per-contract series are dropped:
    /// the last answers would claim contracts are up that nobody can see.
    pub fn update_rpc(&self, up: bool, last_ok_at: Option<u64>) {
        self.rpc_up.set(if up { 1.0 } else { 0.0 });
        set_opt(&self.last_successful_poll, last_ok_at.map(|t| t as f64));
        if !up {
            self.contract_up.clear();
        }
    }

    pub fn update_alerts(&self, firing: &[AlertRecord], outbox: OutboxCounts) {
        for severity in Severity::ALL {
            let n = firing.iter().filter(|a| a.severity == severity).count();
            self.alerts_firing
                .get_or_create(&vec![("severity".to_owned(), severity.as_str().to_owned())])
                .set(n as f64);
        }
        for (state, n) in [
            ("pending", outbox.pending),
            ("sent", outbox.sent),
            ("dead", outbox.dead),
        ] {
            self.outbox
                .get_or_create(&vec![("state".to_owned(), state.to_owned())])
                .set(n as f64);
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};

    use super::*;
    use crate::observe::PoolObservation;

    #[test]
    fn gauges_follow_the_observation() {
        let metrics = Metrics::new();
        let obs = Observation {
            head_block: Some(12),
            checkpoint_block: Some(10),
            active_miners: Some(3),
            pools_observed: true,
            pools: vec![PoolObservation {
                address: Address::repeat_byte(1),
                denomination: U256::from(10u64).pow(U256::from(17u64)),
                balance: U256::from(2u64) * U256::from(10u64).pow(U256::from(17u64)),
                deposits: 2,
                withdrawals: 0,
            }],
            ..Observation::default()
        };
        metrics.update(&Observation {
            contracts: vec![crate::observe::ContractStatus {
                name: "WTAO".into(),
                address: Address::repeat_byte(2),
                has_code: true,
                responsive: false,
                error: None,
            }],
            ..obs
        });
        metrics.update_alerts(
            &[],
            OutboxCounts {
                pending: 4,
                sent: 0,
                dead: 0,
            },
        );
        let text = metrics.encode();
        assert!(
            text.contains("taonado_outbox_messages{state=\"pending\"} 4.0"),
            "{text}"
        );
        assert!(text.contains("taonado_contract_up{contract=\"WTAO\",address=\"0x0202020202020202020202020202020202020202\"} 0.0"), "{text}");
        assert!(text.contains("taonado_active_miners 3.0"), "{text}");
        assert!(text.contains("taonado_checkpoint_lag_blocks 2.0"), "{text}");
        assert!(
            text.contains("taonado_pool_anonymity_set{pool=\"0x0101010101010101010101010101010101010101\"} 2.0"),
            "{text}"
        );
        assert!(
            text.contains(
                "taonado_pool_balance_tao{pool=\"0x0101010101010101010101010101010101010101\"} 0.2"
            ),
            "{text}"
        );
        for (name, _) in METRICS {
            assert!(
                text.contains(&format!("# HELP taonado_{name} ")),
                "{name} missing"
            );
        }
    }
}
