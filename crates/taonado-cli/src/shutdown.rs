//! The request to stop a long-running command: Ctrl-C (SIGINT) or SIGTERM.
//!
//! Handlers are installed eagerly, before a command announces that it is ready, so a stop
//! request that arrives right after the announcement is never lost to the default action
//! (which would kill the process without flushing state).
//!
//! The libraries' long-running services take the stop request as a
//! `tokio::sync::watch::Receiver<bool>` that turns true; [`StopSignals::into_watch`] makes one.

use crate::error::CliError;

pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Install the handlers. Must run inside the tokio runtime.
    pub fn install() -> Result<Self, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let install = |kind: SignalKind| {
                signal(kind).map_err(|e| {
                    CliError::failed(anyhow::Error::new(e).context("installing signal handlers"))
                })
            };
            Ok(Self {
                interrupt: install(SignalKind::interrupt())?,
                terminate: install(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The stop request as the services take it: a flag that turns true on the first
    /// SIGINT or SIGTERM (including one that arrived earlier).
    pub fn into_watch(mut self) -> tokio::sync::watch::Receiver<bool> {
        let (stop, requested) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                () = self.recv() => {
                    // Ignoring a send error: nobody listens any more.
                    let _ = stop.send(true);
                }
                () = stop.closed() => {}
            }
        });
        requested
    }

    /// Resolves on the next SIGINT or SIGTERM (including one that arrived earlier).
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => tracing::info!("interrupted, stopping"),
            _ = self.terminate.recv() => tracing::info!("terminated, stopping"),
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
