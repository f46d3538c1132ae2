//! Notification channels behind one [`Notifier`] trait: a generic JSON webhook signed with
//! HMAC-SHA256, Slack- and Discord-compatible webhooks, and e-mail over SMTP. Every send
//! carries the outbox message's idempotency key (`Idempotency-Key` header, e-mail
//! `Message-ID`), so a receiver can drop the rare resend after a crash.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use taonado_deployment::unix_now;

use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use sha2::Sha256;
use taonado_store::alerts::{AlertNotice, AlertRecord, Transition};
use taonado_store::groups::GroupDigest;

use crate::config::{ChannelKind, ChannelSpec};
use crate::error::{MonitorError, Result};

/// Header carrying `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "x-taonado-signature";
/// Header carrying the unix time the signature was made at.
pub const TIMESTAMP_HEADER: &str = "x-taonado-timestamp";
/// Header carrying the outbox message's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One message to deliver.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub idempotency_key: String,
    pub network: String,
    pub transition: Transition,
    pub alert: AlertRecord,
    /// For a resolution: the value the rule reads now.
    pub recovered: Option<String>,
    /// For a group's digest: what changed in the group since its last notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<GroupDigest>,
}

impl Notification {
    pub fn new(idempotency_key: String, network: String, notice: AlertNotice) -> Self {
        Self {
            idempotency_key,
            network,
            transition: notice.transition,
            alert: notice.alert,
            recovered: notice.recovered,
            digest: notice.digest,
        }
    }

    /// One line for chat channels and e-mail subjects.
    pub fn headline(&self) -> String {
        let state = match self.transition {
            Transition::Fired => "FIRING",
            Transition::Resolved => "RESOLVED",
            Transition::Test => "TEST",
        };
        // A resolution leads with the recovered value; the summary still says why it fired.
        let what = match (&self.digest, &self.transition, &self.recovered) {
            (Some(digest), _, _) => digest_text(digest, &self.alert),
            (None, Transition::Resolved, Some(now)) => {
                format!("now {now} (fired: {})", self.alert.summary)
            }
            _ => self.alert.summary.clone(),
        };
        format!(
            "[taonado {}] {state} {}: {what}",
            self.network,
            self.alert.severity.as_str().to_uppercase(),
        )
    }

    fn body_text(&self) -> String {
        let mut text = format!(
            "{}\n\nrule: {}\ndedup key: {}\nblock: {}\ndetails: {}\n",
            self.headline(),
            self.alert.rule,
            self.alert.dedup_key,
            self.alert
                .block
                .map_or_else(|| "-".to_owned(), |b| b.to_string()),
            self.alert.details
        );
        if let Some(d) = &self.digest {
            for (label, alerts) in [("fired", &d.fired), ("resolved", &d.resolved)] {
                for a in alerts {
                    text.push_str(&format!("{label}: {}\n", a.summary));
                }
            }
        }
        text
    }
}

/// `45 s`, `2 min`, `3 h`: a span for a digest's headline.
fn span(secs: u64) -> String {
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5399 => format!("{} min", (secs + 30) / 60),
        _ => format!("{} h", (secs + 1800) / 3600),
    }
}

/// A digest in one line: how many alerts of the rule fired over how long, what changed
/// since the last message, and, once they resolved, what the rule reads now.
fn digest_text(d: &GroupDigest, latest: &AlertRecord) -> String {
    let what = crate::rule_names::plural(&d.rule);
    let over = span(d.last_fired_at.saturating_sub(d.opened_at));
    if d.repeat {
        return format!(
            "{} {what} still firing (the first for {}); latest: {}",
            d.firing,
            span(latest.updated_at.saturating_sub(d.opened_at)),
            latest.summary
        );
    }
    let mut text = format!("{} {what} in {over}", d.fired_total);
    let mut changes = Vec::new();
    if d.new_fired > 0 && d.new_fired != d.fired_total {
        changes.push(format!("{} new since the last message", d.new_fired));
    }
    if d.firing > 0 {
        changes.push(format!("{} still firing", d.firing));
    }
    if d.new_resolved > 0 {
        changes.push(format!("{} resolved", d.new_resolved));
    }
    if !changes.is_empty() {
        text.push_str(&format!(" ({})", changes.join(", ")));
    }
    match (&d.recovered, d.firing) {
        (Some(now), 0) => text.push_str(&format!("; now {now}")),
        _ => text.push_str(&format!("; latest: {}", latest.summary)),
    }
    text
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    /// False for answers that will not change (400, 401, 403, 413, a bad address).
    pub retryable: bool,
}

impl SendError {
    fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

/// A boxed send future (object-safe trait).
pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<(), SendError>> + Send + 'a>>;

/// A place alerts go.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// The channel name from the config.
    fn name(&self) -> &str;
    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a>;
}

/// The body format of an HTTP channel.
#[derive(Clone)]
enum WebhookFormat {
    Signed { secret: Vec<u8> },
    Slack,
    Discord,
}

/// A JSON webhook (generic signed, Slack or Discord).
pub struct WebhookNotifier {
    name: String,
    url: url::Url,
    format: WebhookFormat,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL of a Slack or Discord hook is itself a secret: print the host only.
        f.debug_struct("WebhookNotifier")
            .field("name", &self.name)
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature header in constant time (for receivers and tests).
pub fn verify(secret: &[u8], timestamp: u64, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

impl WebhookNotifier {
    fn new(name: &str, url: url::Url, format: WebhookFormat) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| MonitorError::Config(format!("http client for `{name}`: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            url,
            format,
            client,
        })
    }

    /// A generic webhook signed with `secret`.
    pub fn signed(name: &str, url: url::Url, secret: Vec<u8>) -> Result<Self> {
        Self::new(name, url, WebhookFormat::Signed { secret })
    }

    fn body(&self, n: &Notification) -> std::result::Result<Vec<u8>, SendError> {
        let value = match self.format {
            WebhookFormat::Signed { .. } => serde_json::to_value(n),
            WebhookFormat::Slack => Ok(serde_json::json!({ "text": n.headline() })),
            WebhookFormat::Discord => Ok(serde_json::json!({ "content": n.headline() })),
        };
        value
            .and_then(|v| serde_json::to_vec(&v))
            .map_err(|e| SendError::permanent(format!("encoding the notification: {e}")))
    }
}

impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, n: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let body = self.body(n)?;
            let mut request = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(IDEMPOTENCY_HEADER, &n.idempotency_key);
            if let WebhookFormat::Signed { secret } = &self.format {
                let timestamp = unix_now();
                request = request
                    .header(TIMESTAMP_HEADER, timestamp.to_string())
                    .header(SIGNATURE_HEADER, sign(secret, timestamp, &body));
            }
            // A webhook URL is the channel's credential (Slack, Discord): the error names
            // the host only, never the URL reqwest would print.
            let response = request.body(body).send().await.map_err(|e| {
                let e = e.without_url();
                SendError::retry(format!(
                    "POST to {}: {e}",
                    self.url.host_str().unwrap_or("?")
                ))
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let message = format!("the receiver answered {status}");
            if is_permanent_refusal(status) {
                Err(SendError::permanent(message))
            } else {
                Err(SendError::retry(message))
            }
        })
    }
}

/// Answers that say the request or the channel itself is broken, so a retry cannot help: a
/// malformed body (400), a bad or revoked credential (401, 403), a body too large (413).
/// Anything else, 404 included (a receiver mid-deploy answers it for a while), is retried
/// until the delivery policy gives up.
fn is_permanent_refusal(status: reqwest::StatusCode) -> bool {
    use reqwest::StatusCode;
    matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::PAYLOAD_TOO_LARGE
    )
}

/// E-mail over SMTP (lettre).
pub struct EmailNotifier {
    name: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("name", &self.name)
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    pub fn new(
        name: &str,
        smtp_url: &str,
        credentials: Option<(String, String)>,
        from: &str,
        to: &[String],
    ) -> Result<Self> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            MonitorError::Config(format!("channel `{name}`: {what}: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| bad("smtp_url", &e))?
            .timeout(Some(HTTP_TIMEOUT));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from = from.parse().map_err(|e| bad("from", &e))?;
        let to = to
            .iter()
            .map(|t| t.parse::<Mailbox>().map_err(|e| bad("to", &e)))
            .collect::<Result<Vec<_>>>()?;
        if to.is_empty() {
            return Err(MonitorError::Config(format!(
                "channel `{name}`: `to` needs at least one address"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            transport: builder.build(),
            from,
            to,
        })
    }
}

impl Notifier for EmailNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, n: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let mut builder = Message::builder()
                .from(self.from.clone())
                .subject(n.headline())
                .message_id(Some(format!("<{}@taonado>", n.idempotency_key)))
                .header(ContentType::TEXT_PLAIN);
            for to in &self.to {
                builder = builder.to(to.clone());
            }
            let message = builder
                .body(n.body_text())
                .map_err(|e| SendError::permanent(format!("building the e-mail: {e}")))?;
            self.transport.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::permanent(format!("smtp: {e}"))
                } else {
                    SendError::retry(format!("smtp: {e}"))
                }
            })
        })
    }
}

/// Builds the notifier of a configured channel; `secret` looks up environment variables
/// (the CLI passes `std::env::var`), so the library reads none itself.
pub fn build_notifier(
    spec: &ChannelSpec,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Notifier>> {
    let name = spec.name.as_str();
    let needed = |var: &str| {
        secret(var).filter(|s| !s.is_empty()).ok_or_else(|| {
            MonitorError::Config(format!(
                "channel `{name}` needs the environment variable {var}"
            ))
        })
    };
    Ok(match &spec.kind {
        ChannelKind::Webhook { url, secret_env } => Box::new(WebhookNotifier::signed(
            name,
            url.clone(),
            needed(secret_env)?.into_bytes(),
        )?),
        ChannelKind::Slack { url } => Box::new(WebhookNotifier::new(
            name,
            url.clone(),
            WebhookFormat::Slack,
        )?),
        ChannelKind::Discord { url } => Box::new(WebhookNotifier::new(
            name,
            url.clone(),
            WebhookFormat::Discord,
        )?),
        ChannelKind::Email {
            smtp_url,
            username,
            password_env,
            from,
            to,
        } => {
            let credentials = match (username, password_env) {
                (Some(user), Some(var)) => Some((user.clone(), needed(var)?)),
                (None, None) => None,
                _ => {
                    return Err(MonitorError::Config(format!(
                        "channel `{name}`: give both username and password_env, or neither"
                    )));
                }
            };
            Box::new(EmailNotifier::new(name, smtp_url, credentials, from, to)?)
        }
    })
}

#[cfg(any(test, feature = "test-utils"))]
pub use recording::RecordingNotifier;

#[cfg(any(test, feature = "test-utils"))]
mod recording {
    use std::sync::Mutex;

    use tokio::sync::Notify;

    use super::{Notification, Notifier, SendError, SendFuture};

    /// Keeps what it is sent; can be told to fail, to test retries.
    #[derive(Debug, Default)]
    pub struct RecordingNotifier {
        name: String,
        received: Mutex<Vec<Notification>>,
        failing: Mutex<bool>,
        changed: Notify,
    }

    impl RecordingNotifier {
        pub fn new(name: &str) -> Self {
            Self {
                name: name.to_owned(),
                ..Self::default()
            }
        }

        /// While set, every send fails with a retryable error.
        pub fn set_failing(&self, failing: bool) {
            *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = failing;
        }

        pub fn received(&self) -> Vec<Notification> {
            self.received
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        }

        /// Waits until at least `n` notifications arrived; returns them.
        pub async fn wait_for(&self, n: usize) -> Vec<Notification> {
            loop {
                let notified = self.changed.notified();
                let now = self.received();
                if now.len() >= n {
                    return now;
                }
                notified.await;
            }
        }
    }

    impl Notifier for RecordingNotifier {
        fn name(&self) -> &str {
            &self.name
        }

        fn send<'a>(&'a self, n: &'a Notification) -> SendFuture<'a> {
            Box::pin(async move {
                if *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
                    return Err(SendError {
                        message: "recording notifier set to fail".into(),
                        retryable: true,
                    });
                }
                self.received
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(n.clone());
                self.changed.notify_waiters();
                Ok(())
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_reject_tampering() {
        let sig = sign(b"key", 1700, b"{\"a\":1}");
        assert!(sig.starts_with("sha256="));
        assert!(verify(b"key", 1700, b"{\"a\":1}", &sig));
        assert!(!verify(b"key", 1701, b"{\"a\":1}", &sig));
        assert!(!verify(b"other", 1700, b"{\"a\":1}", &sig));
        assert!(!verify(b"key", 1700, b"{\"a\":2}", &sig));
        assert!(!verify(b"key", 1700, b"{\"a\":1}", "md5=00"));
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        // Computed with Python's hmac module over b'1700000000.{"a":1}'.
        assert_eq!(
            sign(b"Jefe", 1_700_000_000, b"{\"a\":1}"),
            "sha256=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
    }

    #[test]
    fn a_resolution_states_the_recovered_value_from_the_evaluation() {
        use std::collections::BTreeSet;

        use crate::config::RuleSettings;
        use crate::rules::{TX_SUCCESS_RATE, evaluate};

        // A failure storm fires the success-rate rule; the recovered chain resolves it.
        let settings = RuleSettings::default();
        let stats = |succeeded: u64| taonado_store::TxStats {
            total: 15,
            succeeded,
            failed: 15 - succeeded,
            success_rate: Some(succeeded as f64 / 15.0),
            avg_gas_price_wei: None,
            max_gas_price_wei: None,
            total_gas_used: 0,
        };
        let mut storm = crate::observe::Observation {
            checkpoint_block: Some(100),
            tx: Some(stats(8)),
            ..crate::observe::Observation::default()
        };
        let store = taonado_store::Store::open_in_memory().expect("a store");
        let channels = vec!["hook".to_owned()];
        let fired = evaluate(&storm, &settings);
        let only_rate: BTreeSet<String> = [TX_SUCCESS_RATE.to_owned()].into();
        let active: Vec<_> = fired
            .active
            .iter()
            .filter(|a| a.rule == TX_SUCCESS_RATE)
            .cloned()
            .collect();
        assert_eq!(active.len(), 1);
        let grouping = crate::config::Grouping::per_alert();
        store
            .apply_evaluation(&active, &only_rate, &fired.readings, 1)
            .expect("fires");
        store
            .flush_alert_groups(&grouping, &channels, 1)
            .expect("queued");
        storm.tx = Some(stats(15));
        let healed = evaluate(&storm, &settings);
        let changes = store
            .apply_evaluation(&[], &only_rate, &healed.readings, 2)
            .expect("resolves");
        assert_eq!(changes.resolved.len(), 1);
        store
            .flush_alert_groups(&grouping, &channels, 2)
            .expect("queued");
        let message = store
            .recent_messages(10)
            .expect("the outbox")
            .into_iter()
            .find(|m| m.payload.contains("\"resolved\""))
            .expect("a resolution message");
        let notice: AlertNotice = serde_json::from_str(&message.payload).expect("a notice");
        let headline =
            Notification::new(message.idempotency_key, "local".into(), notice).headline();
        assert!(headline.contains("RESOLVED"), "{headline}");
        let (now, fired) = headline.split_once("(fired:").expect("both parts");
        assert!(
            now.contains("100.0%") && !now.contains("below"),
            "{headline}"
        );
        assert!(fired.contains("53.3%"), "{headline}");
    }

    #[test]
    fn missing_secrets_are_reported_by_variable_name() {
        let spec = ChannelSpec {
            name: "hook".into(),
            kind: ChannelKind::Webhook {
                url: "http://127.0.0.1:1/".parse().unwrap(),
                secret_env: "HOOK_SECRET".into(),
            },
        };
        let err = build_notifier(&spec, &|_| None).unwrap_err().to_string();
        assert!(err.contains("HOOK_SECRET"), "{err}");
        assert!(build_notifier(&spec, &|_| Some("s".into())).is_ok());
    }
}
