//! What can go wrong with the Safe multisig: its setup, proposals, signatures, execution.

use std::path::PathBuf;

use alloy::primitives::{Address, B256, U256};

/// Errors of [`crate::multisig`].
#[derive(Debug, thiserror::Error)]
pub enum MultisigError {
    #[error("a Safe needs at least one signer; pass --signers A,B,C")]
    NoSigners,

    #[error(
        "the threshold must be at least 1; pass --threshold N with 1 <= N <= the number of signers"
    )]
    ThresholdZero,

    #[error(
        "the threshold {threshold} is above the number of signers ({signers}); no transaction could ever execute"
    )]
    ThresholdAboveSigners { threshold: u64, signers: usize },

    #[error("signer {0} is listed twice; each owner counts once")]
    DuplicateSigner(Address),

    #[error("signer {0} is not a usable owner (the zero address or Safe's sentinel 0x…01)")]
    InvalidSigner(Address),

    #[error(
        "network {network} has no Safe: run `taonado multisig setup --signers A,B,C --threshold N` first, or pass --safe ADDRESS"
    )]
    NoSafe { network: String },

    #[error("no proposal {id} in {dir}; `taonado multisig list` shows the proposals there")]
    UnknownProposal { id: String, dir: PathBuf },

    #[error("proposal id {id} matches several proposals ({matches}); give more of the hash")]
    AmbiguousProposal { id: String, matches: String },

    #[error("the proposal file {path} is not a taonado proposal: {reason}")]
    ProposalFormat { path: PathBuf, reason: String },

    #[error(
        "the proposal's hash {recorded} is not the hash of its Safe transaction ({computed}); the file was altered, do not sign it"
    )]
    HashMismatch { recorded: B256, computed: B256 },

    #[error(
        "the proposal is for chain {proposal} (safe {safe}) but network {network} is chain {chain}; use --network of the proposal"
    )]
    WrongChain {
        proposal: u64,
        safe: Address,
        network: String,
        chain: u64,
    },

    #[error("malformed signature: {reason}")]
    MalformedSignature { reason: String },

    #[error("signing failed: {0}")]
    Signing(String),

    #[error(
        "the signature is by {signer}, which is not an owner of the Safe {safe} (owners: {owners}); sign with an owner's key"
    )]
    SignerNotOwner {
        signer: Address,
        safe: Address,
        owners: String,
    },

    #[error(
        "refusing to execute: the proposal carries a signature by {signer}, which is not an owner of the Safe {safe}; nothing was sent"
    )]
    SignatureNotFromOwner { signer: Address, safe: Address },

    #[error(
        "refusing to execute: {have} valid owner signature(s), the Safe {safe} needs {threshold}; collect more with `taonado multisig sign`, nothing was sent"
    )]
    NotEnoughSignatures {
        have: usize,
        threshold: U256,
        safe: Address,
    },

    #[error(
        "the proposal has Safe nonce {proposal} but the Safe is at nonce {safe}: {}",
        if proposal < safe { "another transaction took that nonce, propose again" } else { "the transactions before it must execute first" }
    )]
    NonceMismatch { proposal: U256, safe: U256 },

    #[error("proposal {id} was already executed (tx {tx})")]
    AlreadyExecuted { id: String, tx: B256 },

    #[error(
        "the Safe ran the proposal's call and it failed (ExecutionFailure in tx {tx}); the nonce is used"
    )]
    ExecutionFailed { tx: B256 },

    #[error(
        "{name} at {address} is owned by {owner}, neither the signing key {signer} nor the Safe {safe}; sign with its owner"
    )]
    NotOwner {
        name: String,
        address: Address,
        owner: Address,
        signer: Address,
        safe: Address,
    },

    #[error("after transferring {name} {address}, owner() is {owner}, not the Safe {safe}")]
    NotTransferred {
        name: String,
        address: Address,
        owner: Address,
        safe: Address,
    },

    #[error("{name} at {address} is not Safe {version}'s code; check the address or the record")]
    UnexpectedCode {
        name: String,
        address: Address,
        version: &'static str,
    },

    #[error("`--sig {signature}` with {given} argument(s): {reason}")]
    BadCall {
        signature: String,
        given: usize,
        reason: String,
    },
}

impl MultisigError {
    /// Whether the command line, a file given or the key used must change (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::NoSigners
                | Self::ThresholdZero
                | Self::ThresholdAboveSigners { .. }
                | Self::DuplicateSigner(_)
                | Self::InvalidSigner(_)
                | Self::NoSafe { .. }
                | Self::UnknownProposal { .. }
                | Self::AmbiguousProposal { .. }
                | Self::ProposalFormat { .. }
                | Self::WrongChain { .. }
                | Self::MalformedSignature { .. }
                | Self::SignerNotOwner { .. }
                | Self::NotOwner { .. }
                | Self::BadCall { .. }
        )
    }
}
