//! The indexer's one error type.

use alloy::primitives::{Address, B256};
use alloy::transports::TransportError;
use taonado_store::StoreError;
use url::Url;

/// Everything that can stop the indexer.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error("no RPC endpoint configured; give the network an rpc_url")]
    NoEndpoints,
    #[error("cannot build an HTTP client for {url}: {message}")]
    HttpClient { url: Url, message: String },
    #[error(
        "{what} failed on every endpoint after {attempts} attempts (last: {endpoint}): {source}; check the RPC endpoints"
    )]
    Rpc {
        what: String,
        endpoint: Url,
        attempts: u32,
        #[source]
        source: Box<TransportError>,
    },
    #[error("{what} reverted on {endpoint}: {source}")]
    Reverted {
        what: String,
        endpoint: Url,
        #[source]
        source: Box<TransportError>,
    },
    #[error(
        "{endpoint} no longer serves the state {what} needs: {source}; use an archive node for old blocks"
    )]
    StatePruned {
        what: String,
        endpoint: Url,
        #[source]
        source: Box<TransportError>,
    },
    #[error("{endpoint} refused {what} as too large: {source}")]
    TooLarge {
        what: String,
        endpoint: Url,
        #[source]
        source: Box<TransportError>,
    },
    #[error(
        "{endpoint} serves chain {actual} but the indexer follows chain {expected}; fix the endpoint or --network"
    )]
    ChainIdMismatch {
        endpoint: Url,
        expected: u64,
        actual: u64,
    },
    #[error(
        "the node has no block {number} although its head is at or above it; retry later or use another endpoint"
    )]
    MissingBlock { number: u64 },
    #[error(
        "the node has no receipt for {tx} in block {block}; use an endpoint that serves receipts"
    )]
    MissingReceipt { tx: B256, block: u64 },
    #[error("the chain changed while block {block} was read ({detail}); retrying")]
    ChainMoved { block: u64, detail: String },
    #[error(
        "reorg deeper than {depth} blocks below the checkpoint {checkpoint}; raise the reorg depth or re-index into a new database"
    )]
    ReorgTooDeep { depth: u64, checkpoint: u64 },
    #[error("cannot decode the result of {what} at {address}: {message}")]
    Decode {
        what: &'static str,
        address: Address,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider could not be built.
    #[error(transparent)]
    Client(#[from] taonado_client::ClientError),
}

impl IndexerError {
    /// Errors that a later attempt may not hit again (endpoints down, the chain moving).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Rpc { .. }
                | Self::ChainMoved { .. }
                | Self::MissingBlock { .. }
                | Self::MissingReceipt { .. }
        )
    }
}

/// The indexer's result type.
pub type Result<T, E = IndexerError> = std::result::Result<T, E>;
