//! Rows the indexer writes and the monitor reads.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{Address, B256, U256};
use serde::Serialize;

use crate::error::StoreError;

/// Which protocol contract a transaction or event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    Wtao,
    DepositTracker,
    Weights,
    EvmValidator,
    Pool,
}

impl ContractKind {
    pub const ALL: [ContractKind; 5] = [
        Self::Wtao,
        Self::DepositTracker,
        Self::Weights,
        Self::EvmValidator,
        Self::Pool,
    ];

    /// The value of the `contract` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wtao => "wtao",
            Self::DepositTracker => "deposit_tracker",
            Self::Weights => "weights",
            Self::EvmValidator => "evm_validator",
            Self::Pool => "pool",
        }
    }
}

impl fmt::Display for ContractKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContractKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt {
                what: "contract kind",
                detail: format!("unknown contract kind `{s}`"),
            })
    }
}

/// How an association was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssociationSource {
    /// An `AddressAssociated` event.
    Event,
    /// The calldata of a successful `associate(bytes32)` transaction (the mainnet tracker
    /// emits no event).
    Calldata,
    /// The tracker's storage (`associations(hotkey, i)`), read during a snapshot for the
    /// metagraph's hotkeys: catches calls made through other contracts, which neither
    /// calldata scanning nor the event-less mainnet tracker reveal.
    State,
}

impl AssociationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Calldata => "calldata",
            Self::State => "state",
        }
    }
}

/// The indexer's position: the last block whose data is fully stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub number: u64,
    pub hash: B256,
    pub updated_at: u64,
}

/// One block header as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockRecord {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub timestamp: u64,
    pub base_fee_per_gas: Option<u64>,
    /// Whether the block holds protocol transactions or events (kept forever); other
    /// blocks are kept only within the reorg window.
    pub protocol: bool,
}

/// A transaction sent to a protocol contract, failed ones included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxRecord {
    pub hash: B256,
    pub block_number: u64,
    pub tx_index: u64,
    pub from: Address,
    pub to: Address,
    pub contract: ContractKind,
    /// The function name from the contract's ABI, `(transfer)` without calldata, or the
    /// selector in hex when the ABI does not know it.
    pub function: String,
    #[serde(skip)]
    pub input: Vec<u8>,
    pub value: U256,
    pub success: bool,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub effective_gas_price: u128,
}

/// A log emitted by a protocol contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    pub block_number: u64,
    pub log_index: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub tx_index: u64,
    pub address: Address,
    pub contract: ContractKind,
    /// The event name from the ABI, or `unknown`.
    pub name: String,
    pub topics: Vec<B256>,
    pub data: Vec<u8>,
    /// Arguments by name: addresses and bytes32 as 0x-hex, integers as decimal strings.
    pub decoded: serde_json::Value,
}

/// An EVM address linked to a hotkey by the DepositTracker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Association {
    pub address: Address,
    pub hotkey: B256,
    pub block_number: u64,
    pub tx_hash: B256,
    pub source: AssociationSource,
}

/// Everything the indexer stores for a contiguous range of blocks, written with the new
/// checkpoint in one transaction.
#[derive(Clone, Debug, Default)]
pub struct BlockBatch {
    pub blocks: Vec<BlockRecord>,
    pub transactions: Vec<TxRecord>,
    pub events: Vec<EventRecord>,
    pub associations: Vec<Association>,
}

/// A balance in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotBalance {
    /// `wtao` (a holder's WTAO) or `pool` (WTAO held by a pool).
    pub kind: String,
    pub holder: Address,
    pub amount: U256,
}

/// One neuron of the metagraph in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NeuronRow {
    pub uid: u16,
    pub hotkey: B256,
    pub coldkey: B256,
    pub stake_rao: u64,
    pub emission_rao: u64,
    pub incentive: u16,
    pub is_active: bool,
    pub validator_permit: bool,
    pub last_update: u64,
}

/// Protocol state read at one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub block: u64,
    pub timestamp: u64,
    pub wtao_supply: U256,
    /// Native balance of the EvmValidator (what pays bounties).
    pub validator_balance: U256,
    pub balances: Vec<SnapshotBalance>,
    /// Normalized weights by uid (`getNormalizedWeights`); empty when the call failed.
    pub weights: Vec<(u16, u16)>,
    pub neurons: Vec<NeuronRow>,
}

/// Transaction counts and gas over a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxStats {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// `succeeded / total`; `None` without transactions.
    pub success_rate: Option<f64>,
    pub avg_gas_price_wei: Option<f64>,
    pub max_gas_price_wei: Option<u128>,
    pub total_gas_used: u64,
}

/// One stored transaction, for lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxRow {
    pub hash: B256,
    pub block_number: u64,
    pub timestamp: u64,
    pub from: Address,
    pub to: Address,
    pub contract: ContractKind,
    pub function: String,
    pub success: bool,
    pub gas_used: u64,
    pub effective_gas_price: u128,
}

/// Gas prices in one time bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GasBucket {
    pub start_unix: u64,
    pub txs: u64,
    pub avg_gas_price_wei: f64,
    pub max_gas_price_wei: u128,
}

/// A successful `setWeights` / `operatorSetWeights` transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeightSet {
    pub block: u64,
    pub timestamp: u64,
    pub tx_hash: B256,
    pub caller: Address,
    /// `operatorSetWeights` (owner, no bounty) rather than the public `setWeights`.
    pub operator: bool,
    /// `weiRefunded` of the transaction's `BountyPaid` event, if any.
    pub bounty_wei: Option<U256>,
}

/// Deposits and withdrawals of one pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolActivity {
    pub pool: Address,
    pub deposits: u64,
    pub withdrawals: u64,
}

/// An address that deposited to a pool and later withdrew from it to itself: the pattern
/// that inflates `totalLifetimeDeposits` (and so weights) for gas alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelfWithdrawal {
    pub pool: Address,
    pub address: Address,
    pub deposit_block: u64,
    pub withdrawal_block: u64,
}

/// Miners with a non-zero weight in the latest snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ActiveMiners {
    pub block: u64,
    pub count: u64,
}

/// A snapshot in a series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotSummary {
    pub block: u64,
    pub timestamp: u64,
    pub wtao_supply: U256,
    pub pools_total: U256,
    pub validator_balance: U256,
}

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub block_number: u64,
    pub log_index: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub address: Address,
    pub contract: ContractKind,
    pub name: String,
    pub topics: Vec<B256>,
    pub data: Vec<u8>,
    pub decoded: serde_json::Value,
}

/// Σ `wad` of WTAO's `Deposit` and `Withdrawal` events over a block range
/// ([`Store::wtao_flows`](crate::Store::wtao_flows)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WtaoFlows {
    /// The sums cover the blocks after this one: the anchor asked for, when the store
    /// still holds it with the same hash. `None`: they cover every block up to `to`.
    pub after: Option<u64>,
    pub deposited: U256,
    pub withdrawn: U256,
    /// Events summed: what the read cost.
    pub events: u64,
    /// The stored hash of the last block `to`, the anchor for the next read (`None` when
    /// that block is not stored).
    pub to_hash: Option<B256>,
}
