//! Read-only views: pool statistics and the compliance report of one note.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use serde::Serialize;
use taonado_contracts::bindings::{ERC20Taonado, WTAO};
use taonado_zk::{Note, fr_to_b256};

use super::{LOG_BATCH_BLOCKS, Mixer, Pool, decode_deposit, deposit_topics};
use crate::error::{OpsError, Result};

/// One pool's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct PoolStats {
    pub pool: Pool,
    /// Deposits ever made (`nextIndex`).
    pub deposits: u64,
    /// Withdrawal events.
    pub withdrawals: u64,
    /// Deposits not yet withdrawn: the set a new withdrawal hides in.
    pub anonymity_set: u64,
    /// WTAO wei the pool holds.
    pub balance: U256,
    pub last_root: B256,
}

/// Every pool's numbers at block `head`.
#[derive(Clone, Debug, Serialize)]
pub struct StatsReport {
    pub chain_id: u64,
    pub head: u64,
    pub pools: Vec<PoolStats>,
}

/// The deposit a note made.
#[derive(Clone, Debug, Serialize)]
pub struct DepositDisclosure {
    pub commitment: B256,
    pub leaf_index: u64,
    pub block: u64,
    /// Unix seconds, from the event.
    pub timestamp: u64,
    /// The depositor as the event names it (absent on the testnet pool's event).
    pub user: Option<Address>,
    /// Who sent the deposit transaction.
    pub sender: Option<Address>,
    pub tx_hash: Option<B256>,
}

/// The withdrawal that spent a note.
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawalDisclosure {
    pub nullifier_hash: B256,
    pub block: u64,
    /// Unix seconds of the block.
    pub timestamp: Option<u64>,
    pub recipient: Address,
    pub relayer: Address,
    pub fee: U256,
    /// Who sent the withdrawal transaction.
    pub sender: Option<Address>,
    pub tx_hash: Option<B256>,
}

/// What a note holder can disclose: the deposit and, if spent, the withdrawal. Built from
/// the node alone, no third party.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceReport {
    pub chain_id: u64,
    pub pool: Pool,
    pub deposit: DepositDisclosure,
    pub spent: bool,
    pub withdrawal: Option<WithdrawalDisclosure>,
}

impl Mixer {
    async fn head(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(OpsError::rpc("reading the block number"))
    }

    /// Logs of `pool` matching `filter`, from its deployment block to `head`, in batches.
    async fn pool_logs(&self, pool: &Pool, filter: Filter, head: u64) -> Result<Vec<Log>> {
        let mut logs = Vec::new();
        let mut from = pool.deployed_block;
        while from <= head {
            let to = head.min(from.saturating_add(LOG_BATCH_BLOCKS - 1));
            let batch = filter
                .clone()
                .address(pool.address)
                .from_block(from)
                .to_block(to);
            logs.extend(
                self.provider
                    .get_logs(&batch)
                    .await
                    .map_err(OpsError::rpc("reading pool events"))?,
            );
            from = to + 1;
        }
        Ok(logs)
    }

    /// Deposits, withdrawals, anonymity set and balance of every pool.
    pub async fn stats(&self) -> Result<StatsReport> {
        let head = self.head().await?;
        let wtao = WTAO::new(self.wtao()?, &self.provider);
        let mut pools = Vec::new();
        for pool in self.pools() {
            let contract = ERC20Taonado::new(pool.address, &self.provider);
            let deposits = contract
                .nextIndex()
                .call()
                .await
                .map_err(OpsError::contract("reading nextIndex"))?;
            let last_root = contract
                .getLastRoot()
                .call()
                .await
                .map_err(OpsError::contract("reading getLastRoot"))?;
            let balance = wtao
                .balanceOf(pool.address)
                .call()
                .await
                .map_err(OpsError::contract("reading the pool balance"))?;
            let filter = Filter::new().event_signature(ERC20Taonado::Withdrawal::SIGNATURE_HASH);
            let withdrawals = self.pool_logs(&pool, filter, head).await?.len() as u64;
            let deposits = u64::from(deposits);
            pools.push(PoolStats {
                deposits,
                withdrawals,
                anonymity_set: deposits.saturating_sub(withdrawals),
                balance,
                last_root,
                pool,
            });
        }
        Ok(StatsReport {
            chain_id: self.chain_id,
            head,
            pools,
        })
    }

    /// The deposit of `note` and, if spent, its withdrawal.
    pub async fn compliance(&self, note: &Note) -> Result<ComplianceReport> {
        let pool = self.note_pool(note).await?;
        let head = self.head().await?;
        let commitment = fr_to_b256(note.commitment());
        let nullifier_hash = fr_to_b256(note.nullifier_hash());
        let filter = Filter::new()
            .event_signature(deposit_topics())
            .topic1(commitment);
        let deposit = self
            .pool_logs(&pool, filter, head)
            .await?
            .iter()
            .filter_map(decode_deposit)
            .find(|d| d.commitment == commitment)
            .ok_or(super::MixerError::UnknownCommitment {
                commitment,
                pool: pool.address,
            })?;
        let deposit = DepositDisclosure {
            commitment,
            leaf_index: deposit.leaf_index,
            block: deposit.block,
            timestamp: deposit.timestamp,
            user: deposit.user,
            sender: self.sender_of(deposit.tx_hash).await?,
            tx_hash: deposit.tx_hash,
        };
        let spent = ERC20Taonado::new(pool.address, &self.provider)
            .isSpent(nullifier_hash)
            .call()
            .await
            .map_err(OpsError::contract("reading isSpent"))?;
        let mut withdrawal = None;
        if spent {
            let filter = Filter::new().event_signature(ERC20Taonado::Withdrawal::SIGNATURE_HASH);
            for log in self.pool_logs(&pool, filter, head).await? {
                let Ok(event) = log.log_decode::<ERC20Taonado::Withdrawal>() else {
                    continue;
                };
                let event = event.inner.data;
                if event.nullifierHash != nullifier_hash {
                    continue;
                }
                let block = log.block_number.unwrap_or_default();
                let timestamp = self
                    .provider
                    .get_block_by_number(BlockNumberOrTag::Number(block))
                    .await
                    .map_err(OpsError::rpc("reading a block"))?
                    .map(|b| b.header.timestamp);
                withdrawal = Some(WithdrawalDisclosure {
                    nullifier_hash,
                    block,
                    timestamp,
                    recipient: event.to,
                    relayer: event.relayer,
                    fee: event.fee,
                    sender: self.sender_of(log.transaction_hash).await?,
                    tx_hash: log.transaction_hash,
                });
                break;
            }
        }
        Ok(ComplianceReport {
            chain_id: self.chain_id,
            pool,
            deposit,
            spent,
            withdrawal,
        })
    }

    async fn sender_of(&self, tx: Option<B256>) -> Result<Option<Address>> {
        let Some(tx) = tx else { return Ok(None) };
        let receipt = self
            .provider
            .get_transaction_receipt(tx)
            .await
            .map_err(OpsError::rpc("reading a receipt"))?;
        Ok(receipt.map(|r| r.from))
    }
}
