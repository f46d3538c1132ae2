//! The monitor: alert rules over indexed history and live chain state, Prometheus metrics,
//! notification channels with a durable outbox, the dashboard router, the Grafana export
//! and the one-shot health check.
//!
//! Flow: the indexer (crate `taonado-indexer`) fills the store; after each advance the
//! caller runs [`Monitor::evaluate`] ([`observe`] → [`rules::evaluate`] → alert transitions
//! and their outbox messages in one store transaction) and [`Monitor::deliver`] (outbox →
//! [`Notifier`]s, with retries). The dashboard reads the same store and [`engine::Live`].
//! [`MonitorService`] runs all of it as one long-running service (`run(plan, shutdown)`);
//! [`files`] reads the config file and opens the database.

pub mod compliance;
pub mod config;
pub mod dashboard;
pub mod deliver;
pub mod emergency;
pub mod engine;
mod error;
pub mod files;
pub mod grafana;
pub mod health;
pub mod incidents;
pub mod metrics;
pub mod miners;
pub mod notify;
pub mod observe;
pub mod reports;
pub mod rule_names;
pub mod rules;
pub mod service;
pub mod trace;
pub mod units;
pub mod wrapped;

pub use config::{
    ChannelKind, ChannelSpec, DeliveryPolicy, GroupBy, Grouping, MonitorFile, RuleSettings,
};
pub use dashboard::{DashboardState, router};
pub use deliver::{DeliveryReport, Dispatcher};
pub use engine::{EvaluationReport, Live, LiveState, Monitor, MonitorConfig};
pub use error::{MonitorError, Result};
pub use health::{HealthCheck, HealthConfig, HealthReport, check_health};
pub use metrics::Metrics;
#[cfg(any(test, feature = "test-utils"))]
pub use notify::RecordingNotifier;
pub use notify::{EmailNotifier, Notification, Notifier, WebhookNotifier, build_notifier};
pub use observe::{Observation, observe};
pub use service::{MonitorPlan, MonitorReport, MonitorService, MonitorTuning};
