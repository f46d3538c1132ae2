//! What the service commands (`monitor`, `alerts`, `health`, `index`) share: where the
//! monitor keeps its state and finds its config, and how the store's and the monitor's
//! errors map to exit codes.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use taonado_monitor::{MonitorError, MonitorFile, Notifier};
use taonado_store::{Store, StoreError};

use crate::error::CliError;

/// Where the monitor keeps its state and finds its config.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Monitor")]
pub struct MonitorFiles {
    /// SQLite database of the indexer and the alerts [default: data/<network>.db].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Alert rules and channels (TOML: [rules], [[channels]], [delivery])
    /// [default: ./monitor.toml if it exists, else the manual's rules and no channels].
    #[arg(long, value_name = "FILE")]
    pub alerts_config: Option<PathBuf>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

impl MonitorFiles {
    pub fn db_path(&self, network: &str) -> PathBuf {
        self.db
            .clone()
            .unwrap_or_else(|| taonado_store::default_path(network))
    }

    /// Opens the database only if it exists (read-only commands).
    pub fn existing_store(&self, network: &str) -> Result<Option<Store>, CliError> {
        let path = self.db_path(network);
        if !path.exists() && self.db.is_some() {
            return Err(CliError::usage(anyhow::anyhow!(
                "no database at {}; run `taonado monitor` first or fix --db",
                path.display()
            )));
        }
        taonado_monitor::files::existing_store(&path).map_err(monitor_error)
    }

    /// The monitor config file, parsed.
    pub fn load_config(&self) -> Result<MonitorFile, CliError> {
        taonado_monitor::files::load_file(self.alerts_config.as_deref()).map_err(monitor_error)
    }
}

/// The channels of the config, with secrets read from the environment.
pub fn notifiers(file: &MonitorFile) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
    taonado_monitor::files::notifiers(file, &|name| std::env::var(name).ok()).map_err(monitor_error)
}

pub fn store_error(e: StoreError) -> CliError {
    if e.is_usage() {
        CliError::usage(e)
    } else {
        CliError::failed(e)
    }
}

pub fn monitor_error(e: MonitorError) -> CliError {
    if e.is_usage() {
        CliError::usage(e)
    } else {
        CliError::failed(e)
    }
}
