//! The HTTP API's bodies, shared by the service and the client. Shaped like
//! tornado-relayer's: `GET /v1/status`, `POST /v1/tornadoWithdraw` with `{contract, proof,
//! args}`, `GET /v1/jobs/{id}`.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

pub const STATUS_PATH: &str = "/v1/status";
pub const WITHDRAW_PATH: &str = "/v1/tornadoWithdraw";
pub const JOBS_PATH: &str = "/v1/jobs";

/// A pool the relayer serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolInfo {
    pub address: Address,
    /// Wei of WTAO per note.
    pub denomination: U256,
    /// The denomination as written in notes (`1`, `0.1`…).
    pub amount: String,
}

/// A quote as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuoteView {
    pub id: String,
    /// Wei per gas, decimal.
    pub gas_price: String,
    /// Unix seconds.
    pub expires_at: u64,
    pub fees: Vec<PoolFeeView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolFeeView {
    pub pool: Address,
    /// Wei of WTAO, decimal.
    pub fee: String,
}

/// The fee policy as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeePolicyView {
    pub gas_limit: u64,
    pub gas_margin_percent: u64,
    /// Basis points of the denomination.
    pub service_fee_bps: u64,
    pub max_gas_price: String,
    pub quote_ttl_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: bool,
    /// Empty when healthy.
    pub error: String,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// The address proofs must name as relayer; it receives the fees and pays the gas.
    pub reward_account: Address,
    pub chain_id: u64,
    pub network: String,
    pub pools: Vec<PoolInfo>,
    pub fee_policy: FeePolicyView,
    /// `None` while the network's gas price is above the relayer's maximum.
    pub quote: Option<QuoteView>,
    pub version: String,
    pub health: Health,
    /// TAO wei the reward account holds for gas.
    pub balance: String,
    /// Jobs not yet CONFIRMED or FAILED.
    pub current_queue: u64,
    pub confirmations: u64,
    /// Jobs are accepted and queued but not sent.
    pub paused: bool,
}

/// `POST /v1/tornadoWithdraw`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawBody {
    /// The pool.
    pub contract: String,
    /// 0x followed by the 8 proof words (512 hex digits).
    pub proof: String,
    /// root, nullifierHash, recipient, relayer, fee, refund, each 0x-hex.
    pub args: Vec<String>,
    /// The quote whose gas price the fee was computed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

/// 202 to `POST /v1/tornadoWithdraw`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedView {
    pub id: String,
}

/// Every refusal and error: a code and one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    pub code: String,
    pub error: String,
}

/// `GET /v1/jobs/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    /// ACCEPTED, SENT, MINED, CONFIRMED or FAILED.
    pub status: String,
    pub contract: Address,
    pub nullifier_hash: B256,
    pub recipient: Address,
    /// Wei of WTAO, decimal.
    pub fee: String,
    pub tx_hash: Option<B256>,
    pub block: Option<u64>,
    pub confirmations: u64,
    /// The reason code of a FAILED job.
    pub failed_reason: Option<String>,
    pub failed_message: Option<String>,
    pub accepted_at_ms: u64,
    pub confirmed_at_ms: Option<u64>,
}
