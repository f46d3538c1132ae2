//! Step-by-step progress of the procedures that build the protocol (deploy, and the local
//! subnet wiring it calls), reported to a caller that draws it. A leaf module: both `deploy`
//! and `subnet` use it without importing each other.

use alloy::primitives::{Address, B256};

/// The state of one deploy step, as reported to [`DeployProgress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Started,
    /// Something was sent. `tx` is `None` for dev RPC steps.
    Done {
        address: Address,
        tx: Option<B256>,
    },
    /// Already in place: nothing was sent.
    Skipped {
        address: Address,
    },
}

/// Receives step-by-step progress (the CLI draws it).
pub trait DeployProgress: Send + Sync {
    fn step(&self, name: &str, state: StepState);
}

/// Progress that goes nowhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl DeployProgress for NoProgress {
    fn step(&self, _name: &str, _state: StepState) {}
}
