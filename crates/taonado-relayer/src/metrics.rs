//! The relayer's Prometheus metrics (prometheus-client, as the monitor's), served as
//! `/metrics`; names are `taonado_relayer_<name>`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type FloatGauge = Gauge<f64, AtomicU64>;
type Labels = Vec<(String, String)>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Counter,
    refused: Family<Labels, Counter>,
    sent: Counter,
    replaced: Counter,
    confirmed: Counter,
    failed: Family<Labels, Counter>,
    queue: FloatGauge,
    balance: FloatGauge,
    gas_price: FloatGauge,
    submit_to_confirmed: Histogram,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("taonado_relayer");
        let accepted = Counter::default();
        let refused = Family::<Labels, Counter>::default();
        let sent = Counter::default();
        let replaced = Counter::default();
        let confirmed = Counter::default();
        let failed = Family::<Labels, Counter>::default();
        let queue = FloatGauge::default();
        let balance = FloatGauge::default();
        let gas_price = FloatGauge::default();
        let submit_to_confirmed = Histogram::new([
            0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
        ]);
        registry.register(
            "jobs_accepted",
            "Withdrawal jobs accepted",
            accepted.clone(),
        );
        registry.register(
            "requests_refused",
            "Withdrawal requests refused before any gas was paid, by code",
            refused.clone(),
        );
        registry.register(
            "transactions_sent",
            "Withdrawal transactions signed and sent",
            sent.clone(),
        );
        registry.register(
            "transactions_replaced",
            "Stuck transactions replaced with a bumped gas price",
            replaced.clone(),
        );
        registry.register(
            "jobs_confirmed",
            "Jobs that reached the confirmation depth",
            confirmed.clone(),
        );
        registry.register(
            "jobs_failed",
            "Accepted jobs that failed, by reason",
            failed.clone(),
        );
        registry.register(
            "queue_length",
            "Jobs not yet CONFIRMED or FAILED",
            queue.clone(),
        );
        registry.register(
            "balance_tao",
            "TAO the relayer holds for gas",
            balance.clone(),
        );
        registry.register(
            "gas_price_gwei",
            "The network's gas price",
            gas_price.clone(),
        );
        registry.register(
            "submit_to_confirmed_seconds",
            "Time from a job's acceptance to CONFIRMED",
            submit_to_confirmed.clone(),
        );
        Self {
            registry,
            accepted,
            refused,
            sent,
            replaced,
            confirmed,
            failed,
            queue,
            balance,
            gas_price,
            submit_to_confirmed,
        }
    }

    pub fn accepted(&self) {
        self.accepted.inc();
    }

    pub fn refused(&self, code: &str) {
        self.refused
            .get_or_create(&vec![("code".to_owned(), code.to_owned())])
            .inc();
    }

    pub fn sent(&self) {
        self.sent.inc();
    }

    pub fn replaced(&self) {
        self.replaced.inc();
    }

    pub fn confirmed(&self, seconds: f64) {
        self.confirmed.inc();
        self.submit_to_confirmed.observe(seconds);
    }

    pub fn failed(&self, reason: &str) {
        self.failed
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .inc();
    }

    pub fn set_queue(&self, n: u64) {
        self.queue.set(n as f64);
    }

    pub fn set_balance(&self, tao: f64) {
        self.balance.set(tao);
    }

    pub fn set_gas_price(&self, wei: u128) {
        self.gas_price.set(wei as f64 / 1e9);
    }

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
    use super::*;

    #[test]
    fn counters_and_labels_are_exported() {
        let m = Metrics::new();
        m.accepted();
        m.refused("FEE_TOO_LOW");
        m.confirmed(1.5);
        let text = m.encode();
        assert!(
            text.contains("taonado_relayer_jobs_accepted_total 1"),
            "{text}"
        );
        assert!(
            text.contains("taonado_relayer_requests_refused_total{code=\"FEE_TOO_LOW\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("taonado_relayer_submit_to_confirmed_seconds_count 1"),
            "{text}"
        );
    }
}
