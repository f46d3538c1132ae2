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

/// Why the weights contract in use cannot be named with confidence.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LiveWeightsError {
    #[error(
        "no weights contract is known: the deployment names neither an EvmValidator nor a Weights contract; run `taonado deploy` or set the addresses in taonado.toml"
    )]
    NotDeployed,
    #[error(
        "the EvmValidator {evm_validator} reads weights from {reads}, which the deployment does not name (it knows {known}); record the migration with `taonado migrate weights` or fix the addresses in taonado.toml"
    )]
    Unrecorded {
        evm_validator: alloy::primitives::Address,
        reads: alloy::primitives::Address,
        known: String,
    },
}
