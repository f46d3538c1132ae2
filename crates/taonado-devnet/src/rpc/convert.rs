//! Stored chain data → alloy's JSON-RPC types (so the wire format is exactly what alloy,
//! ethers, viem and web3.py expect).

use alloy_consensus::{
    Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, transaction::Recovered,
};
use alloy_primitives::U256;
use alloy_rpc_types_eth::{Block, BlockTransactions, Header, Log, Transaction, TransactionReceipt};

use crate::backend::chain::{StoredBlock, StoredTx};

pub(crate) fn transaction(block: &StoredBlock, index: usize, tx: &StoredTx) -> Transaction {
    Transaction {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.from),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(tx.receipt.effective_gas_price),
        block_timestamp: Some(block.header.timestamp),
    }
}

pub(crate) fn logs_of(block: &StoredBlock, index: usize, tx: &StoredTx) -> Vec<Log> {
    tx.receipt
        .logs
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: log.clone(),
            block_hash: Some(block.hash),
            block_number: Some(block.header.number),
            block_timestamp: Some(block.header.timestamp),
            transaction_hash: Some(tx.hash),
            transaction_index: Some(index as u64),
            log_index: Some(tx.receipt.first_log_index + i as u64),
            removed: false,
        })
        .collect()
}

pub(crate) fn receipt(block: &StoredBlock, index: usize, tx: &StoredTx) -> TransactionReceipt {
    let r = &tx.receipt;
    let inner = ReceiptEnvelope::from_typed(
        tx.envelope.tx_type(),
        ReceiptWithBloom {
            receipt: Receipt {
                status: Eip658Value::Eip658(r.status),
                cumulative_gas_used: r.cumulative_gas_used,
                logs: logs_of(block, index, tx),
            },
            logs_bloom: r.logs_bloom,
        },
    );
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash,
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        gas_used: r.gas_used,
        effective_gas_price: r.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.from,
        to: alloy_consensus::Transaction::to(&tx.envelope),
        contract_address: r.contract_address,
    }
}

pub(crate) fn block(block: &StoredBlock, full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full(
            block
                .txs
                .iter()
                .enumerate()
                .map(|(i, tx)| transaction(block, i, tx))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.txs.iter().map(|tx| tx.hash).collect())
    };
    // A rough size: header + 200 bytes per transaction (no RLP of the whole block).
    let size = 540 + 200 * block.txs.len() as u64;
    Block {
        header: Header {
            hash: block.hash,
            inner: block.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(size)),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Default::default()),
    }
}
