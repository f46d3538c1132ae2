//! `taonado emergency notify`: an operator's notice through the monitor's durable outbox
//! and its channels. The notice is enqueued first (one message per channel), then the due
//! messages are delivered; a message that could not be delivered stays in the outbox, and
//! the running monitor (or the next notify) retries it with the usual backoff.

use std::sync::Arc;

use serde::Serialize;
use taonado_store::Store;
use taonado_store::alerts::Severity;
use taonado_store::outbox::OutboxState;

use crate::config::DeliveryPolicy;
use crate::deliver::Dispatcher;
use crate::error::Result;
use crate::notify::Notifier;

/// One channel's message.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelDelivery {
    pub channel: String,
    pub idempotency_key: String,
    pub delivered: bool,
    /// `pending` (retried later), `sent` or `dead`.
    pub state: OutboxState,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NotifyReport {
    pub network: String,
    pub severity: Severity,
    pub channels: Vec<ChannelDelivery>,
}

impl NotifyReport {
    pub fn delivered(&self) -> bool {
        self.channels.iter().all(|c| c.delivered)
    }
}

/// Enqueues `message` for every channel of `notifiers`, then delivers what is due.
pub async fn notify(
    store: &Store,
    network: &str,
    notifiers: Vec<Arc<dyn Notifier>>,
    policy: DeliveryPolicy,
    severity: Severity,
    message: &str,
    now: u64,
) -> Result<NotifyReport> {
    let dispatcher = Dispatcher::new(store.clone(), network.to_owned(), notifiers, policy);
    let channels = dispatcher.channels();
    let keys = store.enqueue_emergency_notice(&channels, severity, message, now)?;
    dispatcher.deliver_due(now).await?;
    let mut report = NotifyReport {
        network: network.to_owned(),
        severity,
        channels: Vec::new(),
    };
    for (channel, key) in channels.into_iter().zip(keys) {
        let message = store.message(&key)?;
        let (state, error) =
            message.map_or((OutboxState::Pending, None), |m| (m.state, m.last_error));
        report.channels.push(ChannelDelivery {
            channel,
            idempotency_key: key,
            delivered: state == OutboxState::Sent,
            state,
            error,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::RecordingNotifier;

    #[tokio::test]
    async fn a_failed_channel_keeps_its_message_in_the_outbox() {
        for store in
            taonado_store::testing::each_backend("a_failed_channel_keeps_its_message_in_the_outbox")
        {
            let ok = Arc::new(RecordingNotifier::new("ok"));
            let down = Arc::new(RecordingNotifier::new("down"));
            down.set_failing(true);
            let report = notify(
                &store,
                "local",
                vec![ok.clone(), down.clone()],
                DeliveryPolicy::default(),
                Severity::Critical,
                "validator key leaked",
                1_000,
            )
            .await
            .unwrap();
            assert!(!report.delivered());
            let by = |n: &str| report.channels.iter().find(|c| c.channel == n).unwrap();
            assert!(by("ok").delivered);
            assert_eq!(by("down").state, OutboxState::Pending);
            let got = ok.received();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].alert.summary, "validator key leaked");
            assert_eq!(got[0].alert.severity, Severity::Critical);
            assert_eq!(store.outbox_counts().unwrap().pending, 1);
        }
    }
}
