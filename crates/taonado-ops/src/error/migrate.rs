//! Errors of [`crate::migrate`].

use alloy::primitives::Address;
use std::path::PathBuf;

/// Errors of the migration.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("no deployment record at {path}; run `taonado deploy` first")]
    NoRecord { path: PathBuf },

    #[error(
        "only the EvmValidator owner {owner} can point it at a new weights contract, but the signer is {signer}; sign with the owner's key"
    )]
    NotOwner { owner: Address, signer: Address },

    #[error(
        "{name} at {address} does not have the {name} artifact's code; move the record entry aside to redeploy"
    )]
    CodeMismatch { name: String, address: Address },

    #[error("unsupported migration target {target}; the only target is WeightsV4")]
    UnsupportedTarget { target: String },
}
