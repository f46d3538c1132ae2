//! `taonado alerts test|list|requeue`: send a test alert through every configured channel;
//! show firing and recent alerts from the monitor's database; requeue given-up notifications.

use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_deployment::unix_now;
use taonado_monitor::Notification;
use taonado_store::alerts::{AlertNotice, AlertRecord, AlertState, Severity, Transition};
use taonado_store::outbox::OutboxCounts;

use crate::args::{MonitorFiles, required_notifiers};
use crate::context::Context;
use crate::error::CliError;
use crate::error::store_error;
use crate::output::Report;

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert through every channel of the monitor config (exit 1 if one fails).
    Test(AlertsTestArgs),
    /// Firing alerts, then recent ones (fired or resolved), from the monitor's database.
    List(AlertsListArgs),
    /// Put given-up notifications (dead letters) back in the queue; the running monitor
    /// sends them on its next delivery round.
    Requeue(AlertsRequeueArgs),
}

#[derive(Args)]
pub struct AlertsRequeueArgs {
    /// Only this channel's messages [default: every channel].
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct AlertsTestArgs {
    /// The test alert's text.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "test alert from `taonado alerts test`"
    )]
    pub message: String,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct AlertsListArgs {
    /// How many recent alerts to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub files: MonitorFiles,
}

impl AlertsCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            AlertsCommand::Test(args) => args.run(context).await,
            AlertsCommand::List(args) => args.run(context),
            AlertsCommand::Requeue(args) => args.run(context),
        }
    }
}

#[derive(Serialize)]
pub struct ChannelResult {
    pub channel: String,
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct AlertsTestReport {
    pub network: String,
    pub idempotency_key: String,
    pub channels: Vec<ChannelResult>,
}

impl Report for AlertsTestReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for c in &self.channels {
            match &c.error {
                None => writeln!(out, "✅ {}: delivered", c.channel)?,
                Some(e) => writeln!(out, "❌ {}: {e}", c.channel)?,
            }
        }
        Ok(())
    }
}

impl AlertsTestArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network_name(&config);
        let file = self.files.load_config()?;
        let channels = required_notifiers(&file)?;
        let now = unix_now();
        let key = format!("test-{now}-{}", std::process::id());
        let notice = AlertNotice {
            transition: Transition::Test,
            alert: AlertRecord {
                id: 0,
                dedup_key: key.clone(),
                rule: "test".into(),
                severity: Severity::Info,
                state: AlertState::Firing,
                summary: self.message.clone(),
                details: serde_json::json!({}),
                block: None,
                fired_at: now,
                updated_at: now,
                resolved_at: None,
            },
            recovered: None,
            digest: None,
        };
        // Sent directly, not through the outbox: the operator wants the answer now, and a
        // failed test must not be retried behind their back.
        let mut results = Vec::new();
        for channel in &channels {
            let n = Notification::new(
                format!("{key}-{}", channel.name()),
                network.clone(),
                notice.clone(),
            );
            let sent = channel.send(&n).await;
            results.push(ChannelResult {
                channel: channel.name().to_owned(),
                ok: sent.is_ok(),
                error: sent.err().map(|e| e.message),
            });
        }
        let report = AlertsTestReport {
            network,
            idempotency_key: key,
            channels: results,
        };
        let failed: Vec<String> = report
            .channels
            .iter()
            .filter_map(|c| c.error.as_ref().map(|e| format!("{}: {e}", c.channel)))
            .collect();
        if failed.is_empty() {
            return context.output.report(&report);
        }
        let error = anyhow::anyhow!("{} channel(s) failed: {}", failed.len(), failed.join("; "));
        Err(context.output.report_failed(&report, error))
    }
}

#[derive(Serialize)]
pub struct AlertsListReport {
    pub network: String,
    pub firing: Vec<AlertRecord>,
    pub recent: Vec<AlertRecord>,
    pub outbox: OutboxCounts,
}

fn when(unix: u64) -> String {
    let ago = unix_now().saturating_sub(unix);
    match ago {
        0..120 => format!("{ago}s ago"),
        120..7200 => format!("{}m ago", ago / 60),
        _ => format!("{}h ago", ago / 3600),
    }
}

impl Report for AlertsListReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "firing on {}: {}", self.network, self.firing.len())?;
        if !self.firing.is_empty() {
            let mut t = crate::output::table(&["severity", "rule", "since", "summary"]);
            for a in &self.firing {
                t.add_row(vec![
                    a.severity.as_str().into(),
                    a.rule.clone(),
                    when(a.fired_at),
                    a.summary.clone(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        writeln!(out, "recent:")?;
        let mut t = crate::output::table(&["state", "severity", "rule", "updated", "summary"]);
        for a in &self.recent {
            t.add_row(vec![
                a.state.as_str().into(),
                a.severity.as_str().into(),
                a.rule.clone(),
                when(a.updated_at),
                a.summary.clone(),
            ]);
        }
        writeln!(out, "{t}")?;
        writeln!(
            out,
            "notifications: {} pending, {} sent, {} given up",
            self.outbox.pending, self.outbox.sent, self.outbox.dead
        )
    }
}

impl AlertsListArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network_name(&config);
        let store = self.files.required_store(&network)?;
        let report = AlertsListReport {
            firing: store.firing_alerts().map_err(store_error)?,
            recent: store.recent_alerts(self.limit).map_err(store_error)?,
            outbox: store.outbox_counts().map_err(store_error)?,
            network,
        };
        context.output.report(&report)
    }
}

#[derive(Serialize)]
pub struct RequeueReport {
    pub network: String,
    pub channel: Option<String>,
    pub requeued: u64,
    pub outbox: OutboxCounts,
}

impl Report for RequeueReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "requeued {} given-up notification(s){}; now {} pending, {} sent, {} given up",
            self.requeued,
            self.channel
                .as_ref()
                .map_or_else(String::new, |c| format!(" of channel {c}")),
            self.outbox.pending,
            self.outbox.sent,
            self.outbox.dead
        )
    }
}

impl AlertsRequeueArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network_name(&config);
        let store = self.files.required_store(&network)?;
        let requeued = store
            .requeue_dead(self.channel.as_deref(), unix_now())
            .map_err(store_error)?;
        context.output.report(&RequeueReport {
            network,
            channel: self.channel,
            requeued,
            outbox: store.outbox_counts().map_err(store_error)?,
        })
    }
}
