//! Errors of [`crate::validator`].

use alloy::primitives::Address;

/// Why a weight setting was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    #[error(
        "the weight set interval has not passed: setWeights is allowed from block {allowed_at} (now {current}, {} to go); nothing was sent",
        allowed_at.saturating_sub(*current)
    )]
    IntervalNotPassed { current: u64, allowed_at: u64 },

    #[error(
        "{caller} is not the EvmValidator owner ({owner}); operatorSetWeights is owner-only, use the public mode (setWeights) instead"
    )]
    NotOwner { caller: Address, owner: Address },

    #[error("{call} would revert: {reason}; nothing was sent")]
    WouldRevert { call: &'static str, reason: String },
}
