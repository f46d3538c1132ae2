//! Errors of [`crate::weights`].

/// Inputs on which WeightsV3 itself fails (defects of the live contract, fixed in V4).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeightsError {
    #[error(
        "the subnet has no uids; WeightsV3 reverts on an empty metagraph (a V3 defect), register a neuron first"
    )]
    NoUids,
    #[error(
        "the deposit goal is 0 and nothing is deposited; WeightsV3 divides by zero here (a V3 defect), set a non-zero goal with setDepositGoal"
    )]
    DivisionByZero,
    #[error(
        "the deposits overflow uint256; WeightsV3 reverts here, which cannot happen with real balances"
    )]
    Overflow,
}
