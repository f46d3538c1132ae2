//! What can go wrong in an upgrade or its verification.

use std::path::PathBuf;

use alloy::primitives::Address;

/// Errors of [`crate::upgrade`].
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error(
        "{proxy} has an empty ERC-1967 implementation slot: it is not a proxy; check the EvmValidator address"
    )]
    NotAProxy { proxy: Address },

    #[error(
        "the implementation {implementation} behind {proxy} matches none of the known artifacts ({known}); \
         its storage layout is unknown, so no upgrade can be checked against it"
    )]
    UnknownImplementation {
        proxy: Address,
        implementation: Address,
        known: String,
    },

    #[error(
        "{artifact} is not a UUPS implementation (no upgradeToAndCall/proxiableUUID); pick an EvmValidator implementation"
    )]
    NotUups { artifact: String },

    #[error("the upgrade checks failed, refusing to send anything:\n  {}", problems.join("\n  "))]
    ChecksFailed { problems: Vec<String> },

    #[error(
        "only the proxy owner {owner} can upgrade, but the signer is {signer}; sign with the owner's key \
         (or, for a multisig owner, propose the dry-run calldata)"
    )]
    NotOwner { owner: Address, signer: Address },

    #[error(
        "the snapshot {path} is not valid json: {source}; take it again with --execute or use --before-block"
    )]
    SnapshotFormat {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "no expected implementation: the record has no {name} and --expected-implementation was not given"
    )]
    NoExpectedImplementation { name: String },
}
