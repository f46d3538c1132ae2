//! WARN and CRITICAL alerts on the relayer's TAO balance, sent through the monitor's
//! channels (`taonado_monitor::Notifier`: webhook, Slack, Discord, e-mail, configured in the
//! same `monitor.toml`). An alert fires when the balance falls to a level and resolves when
//! it is back above the warning level; each transition is sent once to every channel, with
//! a few retries (not through the monitor's durable outbox: a transition lost to a crash
//! is sent again after the restart, which starts from no level).

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use taonado_monitor::{Notification, Notifier};
use taonado_store::alerts::{AlertNotice, AlertRecord, AlertState, Severity, Transition};

/// The rule name alerts carry.
pub const RULE: &str = "relayer_balance";

/// The levels and where alerts go.
#[derive(Clone, Debug)]
pub struct BalanceAlerts {
    pub warn_below: U256,
    pub critical_below: U256,
    pub notifiers: Vec<Arc<dyn Notifier>>,
}

/// The level a balance is at.
pub fn level(alerts: &BalanceAlerts, balance: U256) -> Option<Severity> {
    if balance < alerts.critical_below {
        Some(Severity::Critical)
    } else if balance < alerts.warn_below {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// The notification of a move from `from` to `to` (`None`: above the warning level).
pub fn notification(
    network: &str,
    address: Address,
    balance: U256,
    from: Option<Severity>,
    to: Option<Severity>,
    block: Option<u64>,
) -> Option<Notification> {
    let now = taonado_deployment::unix_now();
    let (transition, severity, state) = match (from, to) {
        (_, Some(s)) if from != to => (Transition::Fired, s, AlertState::Firing),
        (Some(s), None) => (Transition::Resolved, s, AlertState::Resolved),
        _ => return None,
    };
    let tao = taonado_types::format_tao(balance);
    let summary = match transition {
        Transition::Resolved => format!("relayer {address} holds {tao} TAO again"),
        _ => format!(
            "relayer {address} holds only {tao} TAO for gas ({}); fund it or it stops sending",
            severity.as_str()
        ),
    };
    let dedup_key = format!("{RULE}:{address}");
    let alert = AlertRecord {
        id: 0,
        dedup_key: dedup_key.clone(),
        rule: RULE.to_owned(),
        severity,
        state,
        summary,
        details: serde_json::json!({ "address": address, "balance_wei": balance.to_string() }),
        block,
        fired_at: now,
        updated_at: now,
        resolved_at: (transition == Transition::Resolved).then_some(now),
    };
    let key = format!(
        "{dedup_key}:{}:{}:{now}",
        transition.as_str(),
        severity.as_str()
    );
    Some(Notification::new(
        key,
        network.to_owned(),
        AlertNotice {
            transition,
            alert,
            recovered: (transition == Transition::Resolved).then(|| format!("{tao} TAO")),
            digest: None,
        },
    ))
}

/// Sends `notification` to every channel in the background, retrying a failed send up to
/// three times.
pub fn deliver(notifiers: &[Arc<dyn Notifier>], notification: Notification) {
    for notifier in notifiers {
        let notifier = notifier.clone();
        let notification = notification.clone();
        tokio::spawn(async move {
            for attempt in 1..=3u32 {
                match notifier.send(&notification).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(channel = notifier.name(), attempt, error = %e.message, "balance alert not delivered");
                        if !e.retryable {
                            return;
                        }
                        tokio::time::sleep(Duration::from_secs(5 * u64::from(attempt))).await;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts() -> BalanceAlerts {
        BalanceAlerts {
            warn_below: U256::from(100u64),
            critical_below: U256::from(10u64),
            notifiers: Vec::new(),
        }
    }

    #[test]
    fn levels_fire_and_resolve_once() {
        let a = alerts();
        assert_eq!(level(&a, U256::from(100u64)), None);
        assert_eq!(level(&a, U256::from(99u64)), Some(Severity::Warning));
        assert_eq!(level(&a, U256::from(9u64)), Some(Severity::Critical));
        let addr = Address::repeat_byte(1);
        let b = U256::from(50u64);
        assert!(notification("local", addr, b, None, None, None).is_none());
        assert!(
            notification(
                "local",
                addr,
                b,
                Some(Severity::Warning),
                Some(Severity::Warning),
                None
            )
            .is_none()
        );
        let fired =
            notification("local", addr, b, None, Some(Severity::Warning), Some(7)).expect("fires");
        assert_eq!(fired.transition, Transition::Fired);
        assert_eq!(fired.alert.severity, Severity::Warning);
        let worse = notification(
            "local",
            addr,
            b,
            Some(Severity::Warning),
            Some(Severity::Critical),
            None,
        )
        .expect("escalates");
        assert_eq!(worse.alert.severity, Severity::Critical);
        let resolved =
            notification("local", addr, b, Some(Severity::Critical), None, None).expect("resolves");
        assert_eq!(resolved.transition, Transition::Resolved);
        assert!(
            resolved.headline().contains("RESOLVED"),
            "{}",
            resolved.headline()
        );
    }
}
