//! Errors of [`crate::admin`].

use alloy::primitives::Address;

/// Why an owner-only setting was refused or did not take.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "the deployment has no {contract} address; deploy first, pass --deployments-dir, or set networks.<name>.addresses"
    )]
    NotDeployed { contract: &'static str },
    #[error(
        "{contract} {address} is owned by {owner}, not by the signing key {signer}; sign with its owner{}",
        if *.owner_is_contract { " (the owner is a contract, such as a Safe: propose the call with --via-multisig)" } else { "" }
    )]
    NotOwner {
        contract: &'static str,
        address: Address,
        owner: Address,
        signer: Address,
        owner_is_contract: bool,
    },
    #[error("after {call}, {getter} reads {actual}, not {expected}")]
    NotApplied {
        call: String,
        getter: &'static str,
        expected: String,
        actual: String,
    },
}

impl AdminError {
    /// A missing address is the command line's or the config's to fix (exit 2); the owner
    /// and the result are the chain's state (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::NotDeployed { .. })
    }
}
