//! Gas used per contract function, from the receipts of a range of the chain's blocks, with
//! contracts and functions named by the deployment record and the committed artifacts' ABIs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use alloy::consensus::Transaction as _;
use alloy::eips::BlockNumberOrTag;
use alloy::json_abi::JsonAbi;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256, Selector};
use alloy::providers::{DynProvider, Provider};
use alloy::transports::TransportError;
use serde::Serialize;
use taonado_contracts::Contract;

use crate::DeploymentRecord;
use crate::error::OpsError;

/// At most this many blocks are scanned in one run (one request per block and per
/// transaction).
pub const MAX_BLOCKS: u64 = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum GasReportError {
    #[error("--from-block {from} is after the last block {to}")]
    EmptyRange { from: u64, to: u64 },

    #[error(
        "blocks {from}..={to} are more than {MAX_BLOCKS}; narrow the range with --from-block/--to-block"
    )]
    TooManyBlocks { from: u64, to: u64 },

    #[error("reading the block number")]
    BlockNumber(#[source] TransportError),

    #[error("reading block {number}")]
    Block {
        number: u64,
        #[source]
        source: TransportError,
    },

    #[error("reading the receipt of {hash}")]
    Receipt {
        hash: B256,
        #[source]
        source: TransportError,
    },

    #[error("the node has no receipt for {hash} in block {number}")]
    NoReceipt { hash: B256, number: u64 },

    #[error(transparent)]
    Ops(Box<OpsError>),
}

impl From<OpsError> for GasReportError {
    fn from(error: OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

/// Gas used in blocks `from_block..=to_block`.
#[derive(Clone, Debug, Serialize)]
pub struct GasUsage {
    pub from_block: u64,
    pub to_block: u64,
    pub transactions: usize,
    /// One row per contract and function, sorted by contract then function.
    pub rows: Vec<GasRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GasRow {
    /// Contract name from the deployment record, or `other` for unknown addresses.
    pub contract: String,
    /// Function signature, `(deploy)`, `(transfer)` for plain value transfers, or the raw
    /// selector when the ABI does not know it.
    pub function: String,
    pub calls: u64,
    pub reverted: u64,
    pub min_gas: u64,
    pub avg_gas: u64,
    pub max_gas: u64,
    pub total_gas: u64,
}

/// Scans blocks `from..=to` (`to` defaults to, and is capped at, the latest block), naming
/// contracts from the record at `record_path` when there is one.
pub async fn gas_usage(
    provider: &DynProvider,
    record_path: &Path,
    from: u64,
    to: Option<u64>,
) -> Result<GasUsage, GasReportError> {
    let latest = provider
        .get_block_number()
        .await
        .map_err(GasReportError::BlockNumber)?;
    let to = to.unwrap_or(latest).min(latest);
    if from > to {
        return Err(GasReportError::EmptyRange { from, to });
    }
    if to - from >= MAX_BLOCKS {
        return Err(GasReportError::TooManyBlocks { from, to });
    }
    let names = Names::load(record_path)?;
    let (transactions, stats) = scan(provider, &names, from, to).await?;
    let rows = stats
        .into_iter()
        .map(|((contract, function), s)| GasRow {
            contract,
            function,
            calls: s.calls,
            reverted: s.reverted,
            min_gas: s.min,
            avg_gas: s.total / s.calls.max(1),
            max_gas: s.max,
            total_gas: s.total,
        })
        .collect();
    Ok(GasUsage {
        from_block: from,
        to_block: to,
        transactions,
        rows,
    })
}

/// Names addresses and selectors from a deployment record.
struct Names {
    contracts: HashMap<Address, (String, Contract)>,
}

impl Names {
    /// From the record at `record_path`; without one, contracts are not named.
    fn load(record_path: &Path) -> Result<Self, OpsError> {
        let record = DeploymentRecord::load(record_path)?;
        if record.is_none() {
            tracing::warn!(path = %record_path.display(), "no deployment record: contracts are not named");
        }
        Ok(Self::new(record.as_ref()))
    }

    fn new(record: Option<&DeploymentRecord>) -> Self {
        let mut contracts = HashMap::new();
        let Some(record) = record else {
            return Self { contracts };
        };
        for (name, c) in &record.contracts {
            if let Ok(artifact) = c.artifact.parse::<Contract>() {
                // Calls to the proxy run the implementation's functions.
                let abi_of = if artifact == Contract::ERC1967Proxy {
                    Contract::EvmValidator
                } else {
                    artifact
                };
                contracts.insert(c.address, (name.clone(), abi_of));
            }
        }
        for pool in &record.pools {
            let name = format!("Pool {} WTAO", taonado_types::format_tao(pool.denomination));
            contracts.insert(pool.contract.address, (name, Contract::ERC20Taonado));
        }
        Self { contracts }
    }

    fn contract(&self, address: Address) -> (String, Option<&'static JsonAbi>) {
        match self.contracts.get(&address) {
            Some((name, artifact)) => (name.clone(), Some(&artifact.artifact().abi)),
            None => ("other".to_owned(), None),
        }
    }
}

fn function_name(abi: Option<&JsonAbi>, input: &[u8]) -> String {
    let Some(selector) = input.get(..4).map(Selector::from_slice) else {
        return "(transfer)".to_owned();
    };
    abi.and_then(|abi| abi.functions().find(|f| f.selector() == selector))
        .map_or_else(|| selector.to_string(), |f| f.signature())
}

#[derive(Default)]
struct Stats {
    calls: u64,
    reverted: u64,
    min: u64,
    max: u64,
    total: u64,
}

impl Stats {
    fn add(&mut self, gas: u64, ok: bool) {
        self.min = if self.calls == 0 {
            gas
        } else {
            self.min.min(gas)
        };
        self.max = self.max.max(gas);
        self.calls += 1;
        self.total += gas;
        if !ok {
            self.reverted += 1;
        }
    }
}

async fn scan(
    provider: &DynProvider,
    names: &Names,
    from: u64,
    to: u64,
) -> Result<(usize, BTreeMap<(String, String), Stats>), GasReportError> {
    let mut stats: BTreeMap<(String, String), Stats> = BTreeMap::new();
    let mut transactions = 0;
    for number in from..=to {
        let Some(block) = provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .full()
            .await
            .map_err(|source| GasReportError::Block { number, source })?
        else {
            continue;
        };
        for tx in block.transactions.txns() {
            let hash = tx.tx_hash();
            let receipt = provider
                .get_transaction_receipt(hash)
                .await
                .map_err(|source| GasReportError::Receipt { hash, source })?
                .ok_or(GasReportError::NoReceipt { hash, number })?;
            transactions += 1;
            let key = match (tx.to(), receipt.contract_address) {
                (Some(to), _) => {
                    let (contract, abi) = names.contract(to);
                    (contract, function_name(abi, tx.input()))
                }
                (None, Some(created)) => (names.contract(created).0, "(deploy)".to_owned()),
                (None, None) => ("other".to_owned(), "(deploy)".to_owned()),
            };
            stats
                .entry(key)
                .or_default()
                .add(receipt.gas_used, receipt.status());
        }
    }
    Ok((transactions, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_named_from_the_abi() {
        let abi = &Contract::WTAO.artifact().abi;
        let deposit = abi.function("deposit").expect("WTAO has deposit")[0].selector();
        assert_eq!(function_name(Some(abi), deposit.as_slice()), "deposit()");
        assert_eq!(function_name(Some(abi), &[]), "(transfer)");
        assert_eq!(
            function_name(None, &[0xde, 0xad, 0xbe, 0xef, 0]),
            "0xdeadbeef"
        );
    }

    #[test]
    fn stats_track_min_max_and_reverts() {
        let mut s = Stats::default();
        s.add(50, true);
        s.add(20, false);
        s.add(80, true);
        assert_eq!(
            (s.calls, s.reverted, s.min, s.max, s.total),
            (3, 1, 20, 80, 150)
        );
    }
}
