//! Progress on stderr: the [`Spinner`] every long command shows, and deploy's per-step
//! bar, which also logs one line per finished step (so non-terminal runs keep a trace).

use std::ops::Deref;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use taonado_ops::{DeployProgress, StepState};

use crate::context::Context;

const SPINNER_TEMPLATE: &str = "{spinner} {elapsed:>4} {msg}";

/// A ticking spinner on stderr with a message; hidden when not `visible`, cleared on drop.
pub struct Spinner(ProgressBar);

impl Spinner {
    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        // The template is a literal; it is checked by `template_is_valid` below.
        if let Ok(style) = ProgressStyle::with_template(SPINNER_TEMPLATE) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    /// Hidden under `--json` and `-q`.
    pub fn for_context(context: &Context) -> Self {
        Self::new(!context.output.is_json() && !context.global.quiet)
    }
}

impl Deref for Spinner {
    type Target = ProgressBar;

    fn deref(&self) -> &ProgressBar {
        &self.0
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Counts what a deployment actually sent, for the report and the idempotency check.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepCounts {
    pub sent: usize,
    pub skipped: usize,
}

pub struct DeployBar {
    bar: Spinner,
    counts: Mutex<StepCounts>,
}

impl DeployBar {
    pub fn new(visible: bool) -> Self {
        Self {
            bar: Spinner::new(visible),
            counts: Mutex::new(StepCounts::default()),
        }
    }

    pub fn finish(&self) -> StepCounts {
        self.bar.finish_and_clear();
        self.counts
            .lock()
            .map(|c| *c)
            .unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}

impl DeployProgress for DeployBar {
    fn step(&self, name: &str, state: StepState) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match state {
            StepState::Started => self.bar.set_message(format!("{name}…")),
            StepState::Done { address, tx } => {
                counts.sent += 1;
                match tx {
                    Some(tx) => tracing::info!(%address, %tx, "{name}: done"),
                    None => tracing::info!(%address, "{name}: done"),
                }
            }
            StepState::Skipped { address } => {
                counts.skipped += 1;
                tracing::info!(%address, "{name}: already in place");
            }
        }
    }
}

/// Runs the deploy with the step bar on stderr (hidden under `--json` and `-q`).
pub async fn run_deploy(
    context: &Context,
    provider: &alloy::providers::DynProvider,
    deployer: alloy::primitives::Address,
    plan: &taonado_ops::DeployPlan,
) -> Result<(taonado_ops::DeploymentRecord, StepCounts), crate::error::CliError> {
    let visible = !context.output.is_json() && !context.global.quiet;
    let bar = DeployBar::new(visible);
    let result = taonado_ops::deploy(provider, deployer, plan, &bar).await;
    let counts = bar.finish();
    Ok((result?, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_valid() {
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
    }

    #[test]
    fn counts_sent_and_skipped() {
        let bar = DeployBar::new(false);
        let address = alloy::primitives::Address::repeat_byte(1);
        bar.step("WTAO", StepState::Started);
        bar.step("WTAO", StepState::Done { address, tx: None });
        bar.step("Hasher", StepState::Skipped { address });
        let counts = bar.finish();
        assert_eq!((counts.sent, counts.skipped), (1, 1));
    }
}
