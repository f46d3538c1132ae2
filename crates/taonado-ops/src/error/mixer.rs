//! What can go wrong in the mixer flows. Messages never contain a note, a nullifier or a
//! secret: only public values (commitments, nullifier hashes, addresses).

use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use taonado_zk::{NoteError, ZkError};

use super::OpsError;

/// A mixer-specific failure; RPC, transaction and file errors use the shared
/// [`crate::OpsError`] variants.
#[derive(Debug, thiserror::Error)]
pub enum MixerError {
    // No `#[source]`: the message already carries the reason, and error chains would
    // print it twice.
    #[error("note rejected: {0}")]
    Note(NoteError),

    #[error(
        "there is no {amount} WTAO pool in this deployment (pools: {available}); pick one of those"
    )]
    NoPool { amount: String, available: String },

    #[error(
        "{account} holds {have} WTAO but the {need} WTAO pool needs {need}; wrap TAO first (pass --wrap, or call WTAO.deposit)"
    )]
    NotEnoughWtao {
        account: Address,
        have: String,
        need: String,
    },

    #[error("this note was already withdrawn (nullifier hash {nullifier_hash}); nothing was sent")]
    SpentNote { nullifier_hash: B256 },

    #[error(
        "commitment {commitment} was never deposited into the pool at {pool}; check the note and the network"
    )]
    UnknownCommitment { commitment: B256, pool: Address },

    #[error(
        "no pool of this deployment holds commitment {commitment} (legacy note: its pool is found by commitment); check the note and the network"
    )]
    LegacyPoolNotFound { commitment: B256 },

    #[error(
        "the event cache {path} is corrupt: {reason}; run `taonado mixer sync --rebuild` to fetch it again"
    )]
    CacheCorrupt { path: PathBuf, reason: String },

    #[error(
        "the event cache {path} is stale: {reason}; run `taonado mixer sync --rebuild` to fetch it again"
    )]
    CacheStale { path: PathBuf, reason: String },

    #[error(
        "the node returned deposit events of {pool} with a gap: expected leaf index {expected}, got {found}; retry, use another rpc endpoint, or run `taonado mixer sync --rebuild`"
    )]
    LeafGap {
        pool: Address,
        expected: usize,
        found: u64,
    },

    #[error("the fee {fee} WTAO exceeds the pool denomination {denomination} WTAO; lower --fee")]
    FeeTooHigh { fee: String, denomination: String },

    #[error("a fee needs a relayer to receive it; pass --relayer ADDR or drop --fee")]
    FeeWithoutRelayer,

    #[error(
        "the deployment record has no verifier entry, so the proving key cannot be matched; redeploy with `taonado deploy`"
    )]
    NoVerifierRecord,

    #[error(
        "the deployed verifier uses keys from setup \"{deployed}\", but {} holds keys from setup \"{found}\"; pass --keys-dir with the keys of \"{deployed}\" (for a ceremony, the directory `taonado zk ceremony export` wrote)",
        .dir.display()
    )]
    KeySetupMismatch {
        deployed: String,
        found: String,
        dir: PathBuf,
    },

    #[error(
        "the deployed verifier uses keys from setup \"{deployed}\", but {} has no withdraw.vk.json; pass --keys-dir with the keys of \"{deployed}\" (for a ceremony, the directory `taonado zk ceremony export` wrote)",
        .dir.display()
    )]
    KeysMissing { deployed: String, dir: PathBuf },

    #[error(
        "the proving key in {keys} (setup \"{setup}\") is not the key the deployed verifier embeds; pass --keys-dir with the exact keys the pools were deployed with"
    )]
    VerifyingKeyMismatch { setup: String, keys: String },

    #[error(
        "the deployed verifier uses keys from setup \"{deployed}\"; pass --keys-dir with them (for a ceremony, the directory `taonado zk ceremony export` wrote); only the local dev keys come with the binary"
    )]
    KeysDirRequired { deployed: String },

    #[error(
        "the deployed verifier was made for circuit {deployed}, but the local proving key is for circuit {local}; redeploy the verifier or use the matching keys"
    )]
    CircuitMismatch { deployed: String, local: String },

    #[error("loading the proving key failed")]
    Keys(#[source] ZkError),

    #[error(
        "the pool's verifier at {verifier} checks proofs against a key that is neither Tornado's ceremony key nor one of this deployment's; nothing was sent"
    )]
    UnknownVerifierKey { verifier: Address },

    // The source's message is the whole story; the hint is added unless it already says
    // how to fetch the keys.
    #[error("{}", tornado_keys_message(.source))]
    TornadoKeys { source: ZkError },

    #[error("proving the withdrawal failed")]
    Prove(#[source] ZkError),

    #[error(
        "the proof does not verify against the local verifying key; the key files are inconsistent, regenerate them"
    )]
    ProofRejectedLocally,

    #[error("the pool would reject this withdrawal: {reason}; nothing was sent")]
    WithdrawRejected { reason: String },

    #[error("the pool would reject this deposit: {reason}; nothing was sent")]
    DepositRejected { reason: String },

    #[error("transaction {tx} has no {event} event from {contract}; inspect the receipt")]
    MissingEvent {
        tx: B256,
        event: &'static str,
        contract: Address,
    },

    #[error("{amount} is not a valid amount of WTAO: {reason}")]
    BadAmount { amount: String, reason: String },

    #[error(
        "the deployment record belongs to chain {record} but the node is chain {node}; use the right network"
    )]
    ChainMismatch { record: u64, node: u64 },
}

/// A Tornado key error, ending with how to fetch the keys.
fn tornado_keys_message(source: &ZkError) -> String {
    let message = source.to_string();
    if message.contains("taonado zk keys fetch") {
        message
    } else {
        format!(
            "Tornado's stored keys are unusable: {message}; fetch them again with `taonado zk keys fetch --setup tornado`"
        )
    }
}

impl MixerError {
    /// Whether the command line or the configuration must change (exit 2: a malformed note,
    /// a pool or fee the flags got wrong, keys that are not the deployed setup's), as opposed
    /// to the state of the chain or of funds (a spent note, a commitment never deposited, too
    /// little WTAO) or a failure of the node, the cache or the prover (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            Self::Note(_)
            | Self::NoPool { .. }
            | Self::FeeTooHigh { .. }
            | Self::FeeWithoutRelayer
            | Self::NoVerifierRecord
            | Self::KeySetupMismatch { .. }
            | Self::KeysMissing { .. }
            | Self::VerifyingKeyMismatch { .. }
            | Self::KeysDirRequired { .. }
            | Self::CircuitMismatch { .. }
            | Self::Keys(_)
            | Self::BadAmount { .. }
            | Self::ChainMismatch { .. } => true,
            Self::NotEnoughWtao { .. }
            | Self::SpentNote { .. }
            | Self::UnknownCommitment { .. }
            | Self::LegacyPoolNotFound { .. }
            | Self::CacheCorrupt { .. }
            | Self::CacheStale { .. }
            | Self::LeafGap { .. }
            | Self::Prove(_)
            | Self::ProofRejectedLocally
            | Self::WithdrawRejected { .. }
            | Self::UnknownVerifierKey { .. }
            | Self::TornadoKeys { .. }
            | Self::DepositRejected { .. }
            | Self::MissingEvent { .. } => false,
        }
    }
}

impl From<NoteError> for MixerError {
    fn from(error: NoteError) -> Self {
        Self::Note(error)
    }
}

/// Boxed inside [`OpsError`], so the mixer's many context fields do not grow every
/// `Result` of the crate.
impl From<MixerError> for OpsError {
    fn from(error: MixerError) -> Self {
        Self::Mixer(Box::new(error))
    }
}
