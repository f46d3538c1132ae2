//! `taonado incident open|list|show|assess|notify|mitigate|ack|resolve|report|postmortem`:
//! incidents in the monitor's database (`taonado_monitor::incidents`), with response
//! targets from the monitor config's `[incidents]`.

use std::io::Write;

use alloy::primitives::Address;
use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_deployment::unix_now;
use taonado_monitor::Dispatcher;
use taonado_monitor::incidents::mitigate::{self, MitigationTarget, PlannedStep, StepOutcome};
use taonado_monitor::incidents::report::{DocumentKind, IncidentDocument, document};
use taonado_monitor::incidents::{self, Assessment, IncidentType, NotifyReport, RunbookStep};
use taonado_store::Store;
use taonado_store::incidents::{
    IncidentError, IncidentRecord, IncidentSeverity, IncidentStatus, TimelineEntry,
};
use taonado_types::iso8601_utc;

use crate::args::{MonitorFiles, SignerOpts, notifiers};
use crate::context::Context;
use crate::error::{CliError, monitor_error, store_error};
use crate::output::Report;

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (the response target starts now).
    Open(OpenArgs),
    /// Unresolved incidents (--all: resolved too), newest first.
    List(ListArgs),
    /// One incident with its alerts and timeline.
    Show(IdArgs),
    /// Attach the exposure: the incident's alerts and the transactions they name, the
    /// failed protocol transactions indexed, the alerts firing.
    Assess(IdArgs),
    /// Tell the monitor's channels (through the outbox: retried until delivered).
    Notify(NotifyArgs),
    /// Run the runbook steps of the incident's type (each shown, sent, logged with its tx).
    Mitigate(MitigateArgs),
    /// Acknowledge: the response target is met if this is in time.
    Ack(StatusArgs),
    /// Resolve (acknowledges too, if not done).
    Resolve(StatusArgs),
    /// The incident report (markdown; --html a self-contained page; --json the document).
    Report(DocArgs),
    /// The post-mortem: timeline, impact, actions taken, follow-ups (markdown; --html;
    /// --json).
    Postmortem(DocArgs),
}

#[derive(Args)]
pub struct OpenArgs {
    #[arg(long, value_name = "TEXT")]
    pub title: String,
    /// P0 (funds at risk, service down: respond < 15 min), P1 (< 1 h), P2 (< 4 h), P3 (< 24 h).
    #[arg(long, value_name = "P0|P1|P2|P3")]
    pub severity: String,
    /// The runbook `mitigate` runs: funds-at-risk, bounty-drain, contract-bug, weights,
    /// outage, other.
    #[arg(long = "type", value_name = "TYPE", default_value = "other")]
    pub kind: String,
    /// The alert (id from `alerts list --json`) this incident is about.
    #[arg(long, value_name = "ID")]
    pub from_alert: Option<i64>,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct ListArgs {
    /// Resolved incidents too.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct IdArgs {
    /// The incident id (`incident list`).
    #[arg(value_name = "ID")]
    pub id: i64,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct DocArgs {
    #[arg(value_name = "ID")]
    pub id: i64,
    /// One self-contained HTML page instead of markdown.
    #[arg(long)]
    pub html: bool,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct StatusArgs {
    #[arg(value_name = "ID")]
    pub id: i64,
    /// What to record on the timeline.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct NotifyArgs {
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Added to the notification.
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct MitigateArgs {
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Only these steps (repeatable): zero-bounty, raise-weight-interval, rescue-funds,
    /// propose-upgrade [default: the runbook of the incident's type].
    #[arg(long = "step", value_name = "STEP")]
    pub steps: Vec<String>,
    /// The weight interval (blocks) raise-weight-interval sets (7200: about a day).
    #[arg(long, value_name = "BLOCKS", default_value_t = 7_200)]
    pub weight_interval: u64,
    /// The EvmValidator proxy [default: the deployment's].
    #[arg(long, value_name = "ADDRESS")]
    pub evm_validator: Option<Address>,
    /// Show the steps and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm sending on a live chain.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub files: MonitorFiles,
    #[command(flatten)]
    pub signer: SignerOpts,
}

impl IncidentCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Open(args) => args.run(context),
            Self::List(args) => args.run(context),
            Self::Show(args) => args.show(context),
            Self::Assess(args) => args.assess(context),
            Self::Notify(args) => args.run(context).await,
            Self::Mitigate(args) => args.run(context).await,
            Self::Ack(args) => args.run(context, IncidentStatus::Acknowledged),
            Self::Resolve(args) => args.run(context, IncidentStatus::Resolved),
            Self::Report(args) => args.run(context, DocumentKind::Report),
            Self::Postmortem(args) => args.run(context, DocumentKind::Postmortem),
        }
    }
}

/// A request the database refuses: an unknown id or a taken alert is bad input (exit 2),
/// acting on a resolved incident a failed operation (exit 1).
fn incident_error(e: IncidentError) -> CliError {
    match e {
        IncidentError::Resolved { .. } => CliError::failed(e),
        IncidentError::Unknown(_) | IncidentError::AlertTaken { .. } => CliError::usage(e),
    }
}

fn store(context: &Context, files: &MonitorFiles) -> Result<(Store, String), CliError> {
    let config = context.config()?;
    let network = context.network_name(&config);
    Ok((files.required_store(&network)?, network))
}

fn usage(message: String) -> CliError {
    CliError::usage(anyhow::anyhow!(message))
}

impl OpenArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        // Everything is checked before the database is touched.
        let severity = IncidentSeverity::parse(&self.severity).ok_or_else(|| {
            usage(format!(
                "unknown severity `{}`; use P0, P1, P2 or P3",
                self.severity
            ))
        })?;
        let kind = IncidentType::parse(&self.kind).ok_or_else(|| {
            let known: Vec<&str> = IncidentType::ALL.iter().map(|t| t.as_str()).collect();
            usage(format!(
                "unknown incident type `{}`; use one of {}",
                self.kind,
                known.join(", ")
            ))
        })?;
        if self.title.trim().is_empty() {
            return Err(usage("--title must not be empty".into()));
        }
        let file = self.files.load_config()?;
        let config = context.config()?;
        let network = context.network_name(&config);
        let store = match self.from_alert {
            Some(_) => self.files.required_store(&network)?,
            None => taonado_monitor::files::open_store(&self.files.db_path(&network))
                .map_err(monitor_error)?,
        };
        let alert = match self.from_alert {
            None => None,
            Some(id) => Some(store.alert(id).map_err(store_error)?.ok_or_else(|| {
                usage(format!(
                    "there is no alert {id}; `taonado alerts list --json` shows them"
                ))
            })?),
        };
        let incident = incidents::open(
            &store,
            &file.incidents,
            self.title.trim(),
            severity,
            kind,
            alert.as_ref(),
            unix_now(),
        )
        .map_err(monitor_error)?
        .map_err(incident_error)?;
        context.output.report(&IncidentView(incident))
    }
}

/// One incident, as a line.
#[derive(Serialize)]
#[serde(transparent)]
struct IncidentView(IncidentRecord);

fn describe(i: &IncidentRecord) -> String {
    format!(
        "{}, opened {}, respond by {}",
        i.headline(),
        iso8601_utc(i.opened_at),
        iso8601_utc(i.respond_by)
    )
}

impl Report for IncidentView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", describe(&self.0))
    }
}

#[derive(Serialize)]
struct ListView {
    network: String,
    incidents: Vec<IncidentRecord>,
}

impl Report for ListView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.incidents.is_empty() {
            return writeln!(out, "no incidents on {}", self.network);
        }
        let mut t = crate::output::table(&[
            "id",
            "sev",
            "type",
            "status",
            "opened",
            "respond by",
            "title",
        ]);
        for i in &self.incidents {
            let missed = if i.target_missed_at.is_some() {
                " (missed)"
            } else {
                ""
            };
            t.add_row(vec![
                i.id.to_string(),
                i.severity.as_str().into(),
                i.kind.clone(),
                i.status.as_str().into(),
                iso8601_utc(i.opened_at),
                format!("{}{missed}", iso8601_utc(i.respond_by)),
                i.title.clone(),
            ]);
        }
        writeln!(out, "{t}")
    }
}

impl ListArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network_name(&config);
        let incidents = match self.files.existing_store(&network)? {
            Some(store) => store.incidents(self.all).map_err(store_error)?,
            None => Vec::new(),
        };
        context.output.report(&ListView { network, incidents })
    }
}

#[derive(Serialize)]
struct ShowView {
    incident: IncidentRecord,
    alert_ids: Vec<i64>,
    timeline: Vec<TimelineEntry>,
}

impl Report for ShowView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", describe(&self.incident))?;
        if !self.alert_ids.is_empty() {
            let ids: Vec<String> = self.alert_ids.iter().map(i64::to_string).collect();
            writeln!(out, "alerts: {}", ids.join(", "))?;
        }
        for e in &self.timeline {
            writeln!(out, "  {}  {:<14} {}", iso8601_utc(e.at), e.kind, e.text)?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct AssessView(Assessment);

impl Report for AssessView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let a = &self.0;
        writeln!(out, "{}", describe(&a.incident))?;
        writeln!(out, "alerts of the incident: {}", a.alerts.len())?;
        for alert in &a.alerts {
            writeln!(
                out,
                "  {} {} {}: {}",
                alert.id,
                alert.severity.as_str(),
                alert.rule,
                alert.summary
            )?;
        }
        writeln!(
            out,
            "transactions the alerts name: {}",
            a.named_transactions.len()
        )?;
        for tx in &a.named_transactions {
            writeln!(out, "  {tx}")?;
        }
        writeln!(
            out,
            "failed protocol transactions indexed: {}",
            a.failed_transactions.len()
        )?;
        for tx in &a.failed_transactions {
            writeln!(
                out,
                "  {} block {} {}.{}",
                tx.hash, tx.block, tx.contract, tx.function
            )?;
        }
        writeln!(out, "alerts firing now: {}", a.firing_alerts)
    }
}

impl IdArgs {
    fn show(self, context: &Context) -> Result<(), CliError> {
        let (store, _) = store(context, &self.files)?;
        let incident = store
            .incident(self.id)
            .map_err(store_error)?
            .ok_or_else(|| incident_error(IncidentError::Unknown(self.id)))?;
        let view = ShowView {
            alert_ids: store.incident_alert_ids(self.id).map_err(store_error)?,
            timeline: store.incident_timeline(self.id).map_err(store_error)?,
            incident,
        };
        context.output.report(&view)
    }

    fn assess(self, context: &Context) -> Result<(), CliError> {
        let (store, _) = store(context, &self.files)?;
        let assessment = incidents::assess(&store, self.id, unix_now())
            .map_err(monitor_error)?
            .map_err(incident_error)?;
        context.output.report(&AssessView(assessment))
    }
}

impl DocArgs {
    fn run(self, context: &Context, kind: DocumentKind) -> Result<(), CliError> {
        let (store, _) = store(context, &self.files)?;
        let doc = document(&store, self.id, kind)
            .map_err(monitor_error)?
            .map_err(incident_error)?;
        context.output.report(&DocumentView {
            doc,
            html: self.html,
        })
    }
}

#[derive(Serialize)]
struct DocumentView {
    #[serde(flatten)]
    doc: IncidentDocument,
    #[serde(skip)]
    html: bool,
}

impl Report for DocumentView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let text = if self.html {
            &self.doc.html
        } else {
            &self.doc.markdown
        };
        out.write_all(text.as_bytes())
    }
}

impl StatusArgs {
    fn run(self, context: &Context, status: IncidentStatus) -> Result<(), CliError> {
        let (store, _) = store(context, &self.files)?;
        let text = self.note.unwrap_or_else(|| status.as_str().to_owned());
        let incident = store
            .set_incident_status(self.id, status, &text, unix_now())
            .map_err(store_error)?
            .map_err(incident_error)?;
        context.output.report(&IncidentView(incident))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct NotifyView(NotifyReport);

impl Report for NotifyView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "incident {}: queued for {} channel(s) ({}); sent {}, retrying {}, given up {}",
            r.incident.id,
            r.channels.len(),
            r.channels.join(", "),
            r.delivery.sent,
            r.delivery.retrying,
            r.delivery.dead
        )
    }
}

impl NotifyArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let file = self.files.load_config()?;
        let channels = notifiers(&file)?;
        if channels.is_empty() {
            return Err(usage(
                "no channels configured; add [[channels]] to the monitor config (--alerts-config, default ./monitor.toml)".into(),
            ));
        }
        let (store, network) = store(context, &self.files)?;
        let dispatcher = Dispatcher::new(store.clone(), network, channels, file.delivery)
            .with_grouping(file.grouping);
        let report = incidents::notify(
            &store,
            &dispatcher,
            self.id,
            self.message.as_deref(),
            unix_now(),
        )
        .await
        .map_err(monitor_error)?
        .map_err(incident_error)?;
        context.output.report(&NotifyView(report))
    }
}

#[derive(Serialize)]
struct MitigateView {
    incident: i64,
    dry_run: bool,
    steps: Vec<PlannedStep>,
    done: Vec<StepOutcome>,
}

impl Report for MitigateView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.steps.is_empty() {
            return writeln!(
                out,
                "incident {}: its type has no runbook steps; pass --step",
                self.incident
            );
        }
        if self.dry_run {
            writeln!(out, "incident {}: dry run, nothing sent", self.incident)?;
        }
        for d in &self.done {
            let change = match (&d.before, &d.after) {
                (Some(b), Some(_)) if self.dry_run => {
                    format!(" (now {b}; simulated: it would succeed)")
                }
                (Some(b), Some(a)) => format!(" ({b} → {a})"),
                _ => String::new(),
            };
            match (&d.tx_hash, &d.command) {
                (Some(tx), _) => writeln!(
                    out,
                    "✅ {}: {}{change} (tx {tx:#x})",
                    d.step.as_str(),
                    d.action
                )?,
                (None, Some(c)) => writeln!(out, "➡️  {}: run `{c}`", d.step.as_str())?,
                (None, None) => writeln!(out, "✅ {}: {}{change}", d.step.as_str(), d.action)?,
            }
        }
        Ok(())
    }
}

impl MitigateArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let mut only = Vec::new();
        for s in &self.steps {
            let step = RunbookStep::parse(s).ok_or_else(|| {
                let known: Vec<&str> = RunbookStep::ALL.iter().map(|s| s.as_str()).collect();
                usage(format!(
                    "unknown step `{s}`; use one of {}",
                    known.join(", ")
                ))
            })?;
            only.push(step);
        }
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let store = self.files.required_store(&network.name)?;
        let incident = store
            .incident(self.id)
            .map_err(store_error)?
            .ok_or_else(|| incident_error(IncidentError::Unknown(self.id)))?;
        if incident.status == IncidentStatus::Resolved {
            return Err(incident_error(IncidentError::Resolved { id: self.id }));
        }
        let mut addresses = network.deployment(&self.files.deployments_dir)?.addresses;
        if let Some(a) = self.evm_validator {
            addresses.evm_validator = Some(a);
        }
        let target = MitigationTarget {
            network: network.name.clone(),
            addresses,
            weight_interval: self.weight_interval,
            run_dir: context.home.as_deref().map(taonado_runreg::run_dir),
        };
        let steps = mitigate::plan(&incident.kind, &only, &target).map_err(monitor_error)?;
        let mut view = MitigateView {
            incident: self.id,
            dry_run: self.dry_run,
            steps,
            done: Vec::new(),
        };
        if view.steps.is_empty() {
            return context.output.report(&view);
        }
        let sends = view.steps.iter().filter(|s| s.call.is_some()).count();
        if !network.dev_chain && !self.yes && !self.dry_run {
            return Err(usage(format!(
                "network {} is live: mitigation sends {sends} transaction(s); pass --yes (or --dry-run to see them)",
                network.name
            )));
        }
        for (n, s) in view.steps.iter().enumerate() {
            context.output.line(&format!(
                "step {}/{}: {}",
                n + 1,
                view.steps.len(),
                s.action
            ))?;
        }
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        view.done = if self.dry_run {
            mitigate::simulate(&provider, from, &target, &view.steps)
                .await
                .map_err(monitor_error)?
        } else {
            mitigate::execute(
                &provider,
                from,
                &target,
                &store,
                self.id,
                &view.steps,
                &unix_now,
            )
            .await
            .map_err(monitor_error)?
            .map_err(incident_error)?
        };
        context.output.report(&view)
    }
}
