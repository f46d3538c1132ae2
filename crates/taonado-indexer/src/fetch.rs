//! Reading a range of blocks: headers and protocol transactions (with receipts) from
//! `eth_getBlockByNumber` with full transactions, fetched with bounded concurrency, and the
//! protocol's events from one `eth_getLogs` by address. The parts are cross-checked by
//! block hash so that a reorg during the reads is caught, never stored.

use std::collections::BTreeMap;

use alloy::consensus::Transaction as _;
use alloy::eips::BlockNumberOrTag;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider as _;
use alloy::rpc::types::{Filter, Log};
use taonado_store::{
    Association, AssociationSource, BlockBatch, BlockRecord, ContractKind, EventRecord, TxRecord,
};
use tokio::task::JoinSet;

use crate::decode;
use crate::error::{IndexerError, Result};
use crate::rpc::Rpc;
use taonado_deployment::ProtocolContracts;

struct FetchedBlock {
    header: BlockRecord,
    txs: Vec<TxRecord>,
}

/// Fetches `from..=to` and assembles the batch the store writes.
pub(crate) async fn batch(
    rpc: &Rpc,
    contracts: &ProtocolContracts,
    from: u64,
    to: u64,
    concurrency: usize,
) -> Result<BlockBatch> {
    let lanes = concurrency.max(1) as u64;
    let mut tasks = JoinSet::new();
    // Lane i fetches blocks from+i, from+i+lanes, ...: at most `lanes` requests in flight.
    for lane in 0..lanes.min(to - from + 1) {
        let rpc = rpc.clone();
        let contracts = contracts.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut number = from + lane;
            while number <= to {
                out.push(block(&rpc, &contracts, number).await?);
                number += lanes;
            }
            Ok::<_, IndexerError>(out)
        });
    }
    let mut blocks = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        // A panic in a fetch task is a bug in this crate; surface it as such.
        let fetched = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        for b in fetched {
            blocks.insert(b.header.number, b);
        }
    }
    let addresses = contracts.addresses();
    let logs = if addresses.is_empty() {
        Vec::new()
    } else {
        logs(rpc, &addresses, from, to).await?
    };
    assemble(contracts, blocks, logs)
}

/// `eth_getLogs` over `from..=to`, halving the range whenever the node refuses it as too
/// large (providers cap ranges and result counts differently).
async fn logs(rpc: &Rpc, addresses: &[Address], from: u64, to: u64) -> Result<Vec<Log>> {
    let filter = Filter::new()
        .address(addresses.to_vec())
        .from_block(from)
        .to_block(to);
    let result = rpc
        .call(
            || format!("eth_getLogs {from}..={to}"),
            |p| {
                let filter = filter.clone();
                async move { p.get_logs(&filter).await }
            },
        )
        .await;
    match result {
        Err(IndexerError::TooLarge { .. }) if to > from => {
            let middle = from + (to - from) / 2;
            tracing::debug!(from, to, "log range too large, splitting");
            let mut left = Box::pin(logs(rpc, addresses, from, middle)).await?;
            left.extend(Box::pin(logs(rpc, addresses, middle + 1, to)).await?);
            Ok(left)
        }
        other => other,
    }
}

fn moved(block: u64, detail: String) -> IndexerError {
    IndexerError::ChainMoved { block, detail }
}

fn assemble(
    contracts: &ProtocolContracts,
    mut blocks: BTreeMap<u64, FetchedBlock>,
    logs: Vec<Log>,
) -> Result<BlockBatch> {
    let mut events = Vec::with_capacity(logs.len());
    for log in logs {
        if log.removed {
            continue;
        }
        let number = log
            .block_number
            .ok_or_else(|| moved(0, "a log without a block number".into()))?;
        let block = blocks
            .get_mut(&number)
            .ok_or_else(|| moved(number, "a log outside the requested range".into()))?;
        if log.block_hash != Some(block.header.hash) {
            return Err(moved(
                number,
                format!(
                    "log of block {:?}, header {}",
                    log.block_hash, block.header.hash
                ),
            ));
        }
        let address = log.address();
        let Some(contract) = crate::config::kind_of(contracts, address) else {
            continue;
        };
        block.header.protocol = true;
        let topics = log.topics().to_vec();
        let data = log.data().data.to_vec();
        let (name, decoded) = decode::event(contract, &topics, &data);
        events.push(EventRecord {
            block_number: number,
            log_index: log.log_index.unwrap_or_default(),
            block_hash: block.header.hash,
            tx_hash: log.transaction_hash.unwrap_or_default(),
            tx_index: log.transaction_index.unwrap_or_default(),
            address,
            contract,
            name,
            topics,
            data,
            decoded,
        });
    }
    events.sort_by_key(|e| (e.block_number, e.log_index));

    let mut batch = BlockBatch::default();
    let mut previous: Option<(u64, B256)> = None;
    for (number, fetched) in blocks {
        if let Some((prev_number, prev_hash)) = previous
            && fetched.header.parent_hash != prev_hash
        {
            return Err(moved(
                number,
                format!("its parent is not the block {prev_number} read before"),
            ));
        }
        previous = Some((number, fetched.header.hash));
        for tx in &fetched.txs {
            if tx.contract == ContractKind::DepositTracker
                && tx.success
                && let Some(hotkey) = decode::associate_hotkey(&tx.input)
            {
                batch.associations.push(Association {
                    address: tx.from,
                    hotkey,
                    block_number: number,
                    tx_hash: tx.hash,
                    source: AssociationSource::Calldata,
                });
            }
        }
        batch.blocks.push(fetched.header);
        batch.transactions.extend(fetched.txs);
    }
    for e in &events {
        if e.contract == ContractKind::DepositTracker
            && e.name == "AddressAssociated"
            && let (Some(depositor), Some(hotkey)) = (e.topics.get(1), e.topics.get(2))
        {
            batch.associations.push(Association {
                address: Address::from_word(*depositor),
                hotkey: *hotkey,
                block_number: e.block_number,
                tx_hash: e.tx_hash,
                source: AssociationSource::Event,
            });
        }
    }
    batch.events = events;
    Ok(batch)
}

async fn block(rpc: &Rpc, contracts: &ProtocolContracts, number: u64) -> Result<FetchedBlock> {
    let block = rpc
        .call(
            || format!("eth_getBlockByNumber {number}"),
            |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Number(number))
                    .full()
                    .await
            },
        )
        .await?
        .ok_or(IndexerError::MissingBlock { number })?;
    let hash = block.header.hash;
    let mut txs = Vec::new();
    for tx in block.transactions.txns() {
        let Some(to) = tx.to() else { continue };
        let Some(contract) = crate::config::kind_of(contracts, to) else {
            continue;
        };
        let tx_hash = tx.tx_hash();
        let receipt = rpc
            .call(
                || format!("eth_getTransactionReceipt {tx_hash}"),
                |p| async move { p.get_transaction_receipt(tx_hash).await },
            )
            .await?
            .ok_or(IndexerError::MissingReceipt {
                tx: tx_hash,
                block: number,
            })?;
        if receipt.block_hash != Some(hash) {
            return Err(moved(
                number,
                format!("receipt of {tx_hash} from another block"),
            ));
        }
        let input = tx.input().to_vec();
        txs.push(TxRecord {
            hash: tx_hash,
            block_number: number,
            tx_index: receipt.transaction_index.unwrap_or_default(),
            from: tx.from(),
            to,
            contract,
            function: decode::function_name(contract, &input),
            input,
            value: tx.value(),
            success: receipt.status(),
            gas_limit: tx.gas_limit(),
            gas_used: receipt.gas_used,
            effective_gas_price: receipt.effective_gas_price,
        });
    }
    let protocol = !txs.is_empty();
    Ok(FetchedBlock {
        header: BlockRecord {
            number,
            hash,
            parent_hash: block.header.parent_hash,
            timestamp: block.header.timestamp,
            base_fee_per_gas: block.header.base_fee_per_gas,
            protocol,
        },
        txs,
    })
}
