//! The relayer's errors: [`Refusal`] is why a request was turned down before any gas was
//! paid (a typed code the API returns), [`FailReason`] why an accepted job failed, and
//! [`RelayerError`] what stops the service or the client.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why a withdrawal request was refused. Nothing was signed or sent for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request body is malformed: {0}")]
    Malformed(String),
    #[error("{0} is not a pool of this deployment")]
    UnknownPool(alloy::primitives::Address),
    #[error(
        "the relayer field is {found}, not this relayer's address {own}; prove with the relayer address of GET /v1/status"
    )]
    RelayerMismatch {
        found: alloy::primitives::Address,
        own: alloy::primitives::Address,
    },
    #[error(
        "the fee {fee} wei is below the {required} wei this relayer charges now ({why}); read a fresh quote from GET /v1/status and prove again"
    )]
    FeeTooLow {
        fee: alloy::primitives::U256,
        required: alloy::primitives::U256,
        why: String,
    },
    #[error("the fee {fee} wei is above the pool's denomination")]
    FeeAboveDenomination { fee: alloy::primitives::U256 },
    #[error("a refund of native TAO is not supported by this relayer; prove with refund 0")]
    RefundUnsupported,
    #[error("the note's nullifier {0} is already spent")]
    NullifierSpent(alloy::primitives::B256),
    #[error(
        "job {job} already has nullifier {nullifier_hash}: a replay; follow that job with GET /v1/jobs/{job}"
    )]
    DuplicateJob {
        nullifier_hash: alloy::primitives::B256,
        job: String,
    },
    #[error("the root {0} is not a known root of the pool; prove against a recent root")]
    UnknownRoot(alloy::primitives::B256),
    #[error("the proof does not verify against the pool's verifying key")]
    InvalidProof,
    #[error("the withdrawal would revert: {0}")]
    WouldRevert(String),
    #[error(
        "the network gas price {gas_price} wei is above this relayer's maximum {max} wei; try later"
    )]
    GasPriceTooHigh { gas_price: u128, max: u128 },
    #[error("too many requests from this address; try again in a minute")]
    RateLimited,
    #[error("the relayer cannot check the request now: {0}")]
    Unavailable(String),
}

impl Refusal {
    /// The stable code the API returns.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MALFORMED_REQUEST",
            Self::UnknownPool(_) => "UNKNOWN_POOL",
            Self::RelayerMismatch { .. } => "RELAYER_MISMATCH",
            Self::FeeTooLow { .. } => "FEE_TOO_LOW",
            Self::FeeAboveDenomination { .. } => "FEE_ABOVE_DENOMINATION",
            Self::RefundUnsupported => "REFUND_UNSUPPORTED",
            Self::NullifierSpent(_) => "NULLIFIER_SPENT",
            Self::DuplicateJob { .. } => "DUPLICATE_JOB",
            Self::UnknownRoot(_) => "UNKNOWN_ROOT",
            Self::InvalidProof => "INVALID_PROOF",
            Self::WouldRevert(_) => "WOULD_REVERT",
            Self::GasPriceTooHigh { .. } => "GAS_PRICE_TOO_HIGH",
            Self::RateLimited => "RATE_LIMITED",
            Self::Unavailable(_) => "UNAVAILABLE",
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::DuplicateJob { .. } | Self::NullifierSpent(_) => 409,
            Self::RateLimited => 429,
            Self::GasPriceTooHigh { .. } | Self::Unavailable(_) => 503,
            _ => 400,
        }
    }
}

/// Why an accepted job failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailReason {
    /// The transaction was mined and reverted.
    Reverted,
    /// Before sending, the nullifier was found spent (by another relayer or the user).
    NullifierSpent,
    /// Before sending, the root was no longer known, or the fee no longer covered the cost.
    NoLongerValid,
    /// The node refused the signed transaction for a reason that will not change.
    Rejected,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reverted => "REVERTED",
            Self::NullifierSpent => "NULLIFIER_SPENT",
            Self::NoLongerValid => "NO_LONGER_VALID",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Reverted,
            Self::NullifierSpent,
            Self::NoLongerValid,
            Self::Rejected,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// What stops the relayer service or the relayer client.
#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    #[error("the job database {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("binding {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving the API: {0}")]
    Serve(#[source] std::io::Error),
    #[error("{action}: {message}")]
    Rpc { action: String, message: String },
    #[error(
        "the pool {pool}'s verifier checks proofs with a key this relayer does not know; pass the ceremony's --keys-dir"
    )]
    UnknownVerifierKey { pool: alloy::primitives::Address },
    #[error("reading the verifying key {path}: {reason}")]
    VerifyingKey { path: PathBuf, reason: String },
    #[error("the deployment has no pools; deploy the protocol first")]
    NoPools,
    #[error("invalid relayer setting: {0}")]
    Config(String),
    #[error("the relayer at {url} answered {status}: {message}")]
    Remote {
        url: String,
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("the relayer at {url} could not be reached: {message}")]
    Unreachable { url: String, message: String },
    #[error("the relayer serves chain {relayer}, the note is for chain {ours}")]
    ChainMismatch { relayer: u64, ours: u64 },
    #[error("the relayer does not serve the pool {0}")]
    PoolNotServed(alloy::primitives::Address),
    #[error("job {job} failed: {code}: {message}")]
    JobFailed {
        job: String,
        code: String,
        message: String,
        tx_hash: Option<alloy::primitives::B256>,
    },
    #[error("job {job} was still {state} after {secs} s; follow it with GET {url}")]
    Timeout {
        job: String,
        state: String,
        secs: u64,
        url: String,
    },
    #[error(transparent)]
    Ops(Box<taonado_ops::OpsError>),
}

impl From<taonado_ops::OpsError> for RelayerError {
    fn from(error: taonado_ops::OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

impl RelayerError {
    /// Whether the command line or the configuration must change (exit code 2).
    pub fn is_usage(&self) -> bool {
        match self {
            Self::Config(_) | Self::UnknownVerifierKey { .. } | Self::VerifyingKey { .. } => true,
            Self::Remote { code, .. } => matches!(
                code.as_deref(),
                Some("UNKNOWN_POOL" | "RELAYER_MISMATCH" | "MALFORMED_REQUEST")
            ),
            Self::ChainMismatch { .. } | Self::PoolNotServed(_) => true,
            Self::Ops(e) => e.is_usage(),
            _ => false,
        }
    }
}

pub type Result<T, E = RelayerError> = std::result::Result<T, E>;
