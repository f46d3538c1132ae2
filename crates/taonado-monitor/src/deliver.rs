//! Delivery from the outbox: first the alert groups whose notification is due go into the
//! outbox ([`Grouping`]: group_wait, group_interval, repeat_interval), then due messages are
//! leased, sent through their channel, and marked sent or scheduled for a retry
//! (exponential backoff, see [`DeliveryPolicy`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use taonado_store::Store;
use taonado_store::alerts::AlertNotice;

use crate::config::{DeliveryPolicy, Grouping};
use crate::error::Result;
use crate::notify::{Notification, Notifier};

/// Messages handled in one pass.
const BATCH: usize = 100;

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub sent: u64,
    /// Failed now, retried later.
    pub retrying: u64,
    /// Given up (max attempts, a permanent error or an unknown channel).
    pub dead: u64,
    pub errors: Vec<String>,
}

/// Sends outbox messages through the configured channels.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    network: String,
    notifiers: BTreeMap<String, Arc<dyn Notifier>>,
    policy: DeliveryPolicy,
    grouping: Grouping,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("network", &self.network)
            .field("channels", &self.notifiers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub fn new(
        store: Store,
        network: String,
        notifiers: Vec<Arc<dyn Notifier>>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            store,
            network,
            notifiers: notifiers
                .into_iter()
                .map(|n| (n.name().to_owned(), n))
                .collect(),
            policy,
            grouping: Grouping::default(),
        }
    }

    /// Groups and paces notifications by `grouping` instead of its default.
    pub fn with_grouping(mut self, grouping: Grouping) -> Self {
        self.grouping = grouping;
        self
    }

    /// Puts the notifications of the alert groups due at `now` into the outbox; returns how
    /// many messages (one per channel each).
    pub fn flush(&self, now: u64) -> Result<usize> {
        let channels = self.channels();
        let notices = self
            .store
            .flush_alert_groups(&self.grouping, &channels, now)?;
        for n in &notices {
            tracing::debug!(group = %n.group, transition = n.transition.as_str(), transitions = n.transitions, digest = n.digest, "alert group notification queued");
        }
        Ok(notices.len() * channels.len())
    }

    /// Channel names, in order.
    pub fn channels(&self) -> Vec<String> {
        self.notifiers.keys().cloned().collect()
    }

    /// Queues the group notifications due at `now` (unix seconds), then delivers every
    /// message due.
    pub async fn deliver_due(&self, now: u64) -> Result<DeliveryReport> {
        self.flush(now)?;
        let mut report = DeliveryReport::default();
        loop {
            let batch = self
                .store
                .lease_due_messages(now, self.policy.lease_secs, BATCH)?;
            let full = batch.len() == BATCH;
            for message in batch {
                let outcome = match self.notifiers.get(&message.channel) {
                    None => Err((
                        format!("channel `{}` is no longer configured", message.channel),
                        false,
                    )),
                    Some(notifier) => match serde_json::from_str::<AlertNotice>(&message.payload) {
                        Err(e) => Err((format!("corrupt payload: {e}"), false)),
                        Ok(notice) => {
                            let n = Notification::new(
                                message.idempotency_key.clone(),
                                self.network.clone(),
                                notice,
                            );
                            notifier
                                .send(&n)
                                .await
                                .map_err(|e| (e.message, e.retryable))
                        }
                    },
                };
                match outcome {
                    Ok(()) => {
                        self.store.mark_sent(message.id, now)?;
                        report.sent += 1;
                        tracing::info!(key = %message.idempotency_key, channel = %message.channel, "notification sent");
                    }
                    Err((error, retryable)) => {
                        let retry_at = retryable
                            .then(|| {
                                self.policy
                                    .retry_at(message.attempts, message.created_at, now)
                            })
                            .flatten();
                        self.store.mark_failed(message.id, &error, retry_at)?;
                        match retry_at {
                            Some(at) => {
                                report.retrying += 1;
                                tracing::warn!(key = %message.idempotency_key, channel = %message.channel, %error, retry_at = at, "notification failed, will retry");
                            }
                            None => {
                                report.dead += 1;
                                tracing::error!(key = %message.idempotency_key, channel = %message.channel, %error, "notification given up");
                                // Said through the other channels, unless this was itself
                                // such a notice (no cascade when every channel is down).
                                let is_notice = message
                                    .idempotency_key
                                    .starts_with(taonado_store::alerts::DEAD_LETTER_PREFIX);
                                if !is_notice {
                                    self.store.enqueue_dead_letter_notice(
                                        &message.idempotency_key,
                                        &message.channel,
                                        &error,
                                        &self.channels(),
                                        now,
                                    )?;
                                }
                            }
                        }
                        report.errors.push(format!("{}: {error}", message.channel));
                    }
                }
            }
            if !full {
                return Ok(report);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use taonado_store::alerts::{ActiveAlert, Severity};

    use super::*;
    use crate::notify::RecordingNotifier;

    fn alert(key: &str) -> ActiveAlert {
        ActiveAlert {
            dedup_key: key.into(),
            rule: "r".into(),
            severity: Severity::Critical,
            summary: "s".into(),
            details: serde_json::json!({}),
            block: None,
        }
    }

    #[tokio::test]
    async fn a_down_channel_loses_nothing_and_sends_nothing_twice() {
        for store in taonado_store::testing::each_backend(
            "a_down_channel_loses_nothing_and_sends_nothing_twice",
        ) {
            let rec = Arc::new(RecordingNotifier::new("rec"));
            let policy = DeliveryPolicy {
                base_backoff_secs: 10,
                max_backoff_secs: 100,
                max_attempts: 5,
                lease_secs: 60,
                max_age_secs: 24 * 3600,
            };
            let dispatcher =
                Dispatcher::new(store.clone(), "local".into(), vec![rec.clone()], policy)
                    .with_grouping(Grouping::per_alert());
            let rules: BTreeSet<String> = ["r".to_owned()].into();
            store
                .apply_alerts(&[alert("a"), alert("b")], &rules, 0)
                .unwrap();

            rec.set_failing(true);
            let down = dispatcher.deliver_due(0).await.unwrap();
            assert_eq!((down.sent, down.retrying), (0, 2));
            // Not due before the backoff ends.
            assert_eq!(
                dispatcher.deliver_due(9).await.unwrap(),
                DeliveryReport::default()
            );

            rec.set_failing(false);
            let up = dispatcher.deliver_due(10).await.unwrap();
            assert_eq!(up.sent, 2);
            assert_eq!(dispatcher.deliver_due(10_000).await.unwrap().sent, 0);
            let keys: BTreeSet<String> = rec
                .received()
                .into_iter()
                .map(|n| n.idempotency_key)
                .collect();
            assert_eq!(keys.len(), 2);
            assert_eq!(rec.received().len(), 2);
        }
    }

    #[tokio::test]
    async fn unknown_channels_are_given_up() {
        for store in taonado_store::testing::each_backend("unknown_channels_are_given_up") {
            store
                .enqueue_test_alert(&["gone".to_owned()], "x", 0)
                .unwrap();
            let dispatcher = Dispatcher::new(
                store.clone(),
                "local".into(),
                Vec::new(),
                DeliveryPolicy::default(),
            );
            let report = dispatcher.deliver_due(0).await.unwrap();
            assert_eq!(report.dead, 1);
            assert!(report.errors[0].contains("no longer configured"));
        }
    }
}
