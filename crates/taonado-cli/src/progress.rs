//! Deploy progress on stderr: an indicatif spinner per step when stderr is a terminal,
//! plus one log line per finished step (so non-terminal runs keep a trace too).

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use taonado_ops::{DeployProgress, StepState};

/// Counts what a deployment actually sent, for the report and the idempotency check.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepCounts {
    pub sent: usize,
    pub skipped: usize,
}

pub struct DeployBar {
    bar: ProgressBar,
    counts: Mutex<StepCounts>,
}

impl DeployBar {
    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        // The template is a literal; it is checked by `template_is_valid` below.
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Self {
            bar,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_valid() {
        assert!(ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").is_ok());
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
