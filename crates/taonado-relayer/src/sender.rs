//! The job loop: sends accepted jobs and follows sent ones to the confirmation depth.
//!
//! Exactly once, across kills: a job's transaction is signed here (nonce from the chain
//! and the database, the higher), written to the database with its raw bytes and hash, and
//! only then broadcast. A job that has a recorded transaction is never signed anew with
//! another nonce: after a restart its recorded transactions are looked up by receipt and
//! the newest is broadcast again as it is (same hash, same nonce), which a node either
//! takes or already knows. A transaction not mined after `stuck_after` is replaced by one
//! with the same nonce and a gas price 12.5 % higher, never above the maximum. Only one of
//! a nonce's transactions can be mined, and the pool spends a nullifier once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use taonado_contracts::bindings::ERC20Taonado;
use taonado_store::alerts::Severity;
use tokio::sync::watch;

use crate::error::FailReason;
use crate::service::Shared;
use crate::store::{Job, JobState, SentTx, now_ms};

/// What a run of the loop did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub confirmed: u64,
    pub failed: u64,
}

/// Refusals of a new transaction before the job fails (`REJECTED`).
const MAX_REFUSALS: u32 = 3;

/// How often the balance is read (and alerts evaluated).
const BALANCE_EVERY: Duration = Duration::from_secs(5);

pub(crate) async fn head(shared: &Shared) -> Option<u64> {
    shared.provider.get_block_number().await.ok()
}

struct Loop {
    shared: Arc<Shared>,
    counts: Counts,
    /// Set until a pass over the in-flight jobs succeeded: that pass broadcasts every
    /// recorded, unmined transaction again.
    resume: bool,
    refusals: HashMap<String, u32>,
    level: Option<Severity>,
    balance_read: Option<Instant>,
}

pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) -> Counts {
    let mut state = Loop {
        shared: shared.clone(),
        counts: Counts::default(),
        resume: true,
        refusals: HashMap::new(),
        level: None,
        balance_read: None,
    };
    loop {
        if *shutdown.borrow() {
            break;
        }
        match state.step().await {
            Ok(()) => {
                state.resume = false;
                *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "relayer job loop");
                *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
        }
        if state
            .balance_read
            .is_none_or(|t| t.elapsed() >= BALANCE_EVERY)
        {
            state.balance().await;
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(shared.poll) => {}
        }
    }
    state.counts
}

fn rpc(action: &'static str) -> impl Fn(alloy::transports::TransportError) -> String {
    move |e| format!("{action}: {e}")
}

impl Loop {
    async fn step(&mut self) -> Result<(), String> {
        let shared = self.shared.clone();
        let head = shared
            .provider
            .get_block_number()
            .await
            .map_err(rpc("reading the head"))?;
        for state in [JobState::Sent, JobState::Mined] {
            for job in shared.store.in_state(state).map_err(|e| e.to_string())? {
                self.track(&job, head).await?;
            }
        }
        if !shared.paused {
            for job in shared
                .store
                .in_state(JobState::Accepted)
                .map_err(|e| e.to_string())?
            {
                if !self.send_new(&job).await? {
                    break;
                }
            }
        }
        shared
            .metrics
            .set_queue(shared.store.queue_len().map_err(|e| e.to_string())?);
        Ok(())
    }

    fn fail(&mut self, job: &Job, reason: FailReason, message: &str) -> Result<(), String> {
        self.shared
            .store
            .set_failed(&job.id, reason, message)
            .map_err(|e| e.to_string())?;
        self.counts.failed += 1;
        self.shared.metrics.failed(reason.as_str());
        tracing::warn!(job = %job.id, reason = reason.as_str(), "job failed: {message}");
        Ok(())
    }

    /// A SENT or MINED job: its receipt, its depth, a replacement when stuck.
    async fn track(&mut self, job: &Job, head: u64) -> Result<(), String> {
        let shared = self.shared.clone();
        let sends = shared.store.sends(&job.id).map_err(|e| e.to_string())?;
        let mut found = None;
        for sent in sends.iter().rev() {
            if let Some(receipt) = shared
                .provider
                .get_transaction_receipt(sent.tx_hash)
                .await
                .map_err(rpc("reading a receipt"))?
            {
                found = Some((sent.clone(), receipt));
                break;
            }
        }
        if let Some((sent, receipt)) = found {
            if !receipt.status() {
                let reason = taonado_ops::tx::revert_reason(&shared.provider, &receipt).await;
                return self.fail(
                    job,
                    FailReason::Reverted,
                    &format!(
                        "transaction {} reverted: {}",
                        sent.tx_hash,
                        reason.as_deref().unwrap_or("reason unknown")
                    ),
                );
            }
            let block = receipt.block_number.unwrap_or(head);
            if job.state != JobState::Mined
                || job.block != Some(block)
                || job.tx_hash != Some(sent.tx_hash)
            {
                shared
                    .store
                    .set_mined(&job.id, sent.tx_hash, block)
                    .map_err(|e| e.to_string())?;
                tracing::info!(job = %job.id, tx = %sent.tx_hash, block, "mined");
            }
            if head + 1 >= block + shared.confirmations {
                shared
                    .store
                    .set_confirmed(&job.id)
                    .map_err(|e| e.to_string())?;
                self.counts.confirmed += 1;
                let secs = now_ms().saturating_sub(job.accepted_at_ms) as f64 / 1000.0;
                shared.metrics.confirmed(secs);
                tracing::info!(job = %job.id, tx = %sent.tx_hash, block, secs, "confirmed");
            }
            return Ok(());
        }
        if job.state == JobState::Mined {
            // Its block left the chain: the transaction is pending again (or gone).
            shared
                .store
                .set_unmined(&job.id)
                .map_err(|e| e.to_string())?;
            tracing::warn!(job = %job.id, "the block of the job's transaction left the chain");
        }
        let Some(last) = sends.last().cloned() else {
            return Ok(());
        };
        let mined_nonce = shared
            .provider
            .get_transaction_count(shared.address)
            .await
            .map_err(rpc("reading the nonce"))?;
        if mined_nonce > last.nonce {
            // The nonce is used: by one of ours whose receipt appeared since, or by another
            // transaction of this account.
            for sent in &sends {
                if shared
                    .provider
                    .get_transaction_receipt(sent.tx_hash)
                    .await
                    .map_err(rpc("reading a receipt"))?
                    .is_some()
                {
                    return Ok(());
                }
            }
            return self.fail(
                job,
                FailReason::Rejected,
                &format!(
                    "nonce {} was used by another transaction of {}",
                    last.nonce, shared.address
                ),
            );
        }
        let age = Duration::from_millis(now_ms().saturating_sub(last.signed_at_ms));
        if age >= shared.stuck_after
            && let Some(price) = shared.policy.bumped(last.gas_price)
        {
            let signed = self.sign(job, last.nonce, price).await?;
            shared
                .store
                .record_send(&job.id, &signed)
                .map_err(|e| e.to_string())?;
            shared.metrics.replaced();
            tracing::warn!(job = %job.id, nonce = last.nonce, from = last.gas_price, to = price, tx = %signed.tx_hash, "replacing a stuck transaction");
            self.broadcast(&signed).await;
            return Ok(());
        }
        if self.resume {
            tracing::info!(job = %job.id, tx = %last.tx_hash, nonce = last.nonce, "broadcasting the recorded transaction again after a restart");
            self.broadcast(&last).await;
        }
        Ok(())
    }

    /// An ACCEPTED job: re-checked, signed, recorded, broadcast. `false` when sending must
    /// wait (the gas price is above the maximum).
    async fn send_new(&mut self, job: &Job) -> Result<bool, String> {
        let shared = self.shared.clone();
        let contract = ERC20Taonado::new(job.contract, &shared.provider);
        if contract
            .isSpent(job.nullifier_hash)
            .call()
            .await
            .map_err(|e| format!("reading isSpent: {e}"))?
        {
            self.fail(
                job,
                FailReason::NullifierSpent,
                "the note was withdrawn before the relayer sent it",
            )?;
            return Ok(true);
        }
        if !contract
            .isKnownRoot(job.args[0])
            .call()
            .await
            .map_err(|e| format!("reading isKnownRoot: {e}"))?
        {
            self.fail(
                job,
                FailReason::NoLongerValid,
                "the proof's root is no longer a known root of the pool",
            )?;
            return Ok(true);
        }
        let gas_price = shared
            .provider
            .get_gas_price()
            .await
            .map_err(rpc("reading the gas price"))?;
        if gas_price > shared.policy.max_gas_price {
            return Err(format!(
                "waiting to send: the gas price {gas_price} is above the maximum {}",
                shared.policy.max_gas_price
            ));
        }
        let pending = shared
            .provider
            .get_transaction_count(shared.address)
            .pending()
            .await
            .map_err(rpc("reading the nonce"))?;
        let recorded = shared
            .store
            .max_nonce()
            .map_err(|e| e.to_string())?
            .map_or(0, |n| n + 1);
        let nonce = pending.max(recorded);
        let signed = self.sign(job, nonce, gas_price).await?;
        shared
            .store
            .record_send(&job.id, &signed)
            .map_err(|e| e.to_string())?;
        if shared.abort_after_record {
            tracing::error!(job = %job.id, "aborting after recording, before broadcasting (test)");
            std::process::abort();
        }
        if let Err(refusal) = self.broadcast_new(&signed).await {
            // The node refused it: it is in no pool, so it is forgotten and the job is
            // ACCEPTED again (or FAILED after repeated refusals).
            shared
                .store
                .forget_send(&job.id, signed.tx_hash)
                .map_err(|e| e.to_string())?;
            let n = self.refusals.entry(job.id.clone()).or_default();
            *n += 1;
            if *n >= MAX_REFUSALS {
                self.fail(
                    job,
                    FailReason::Rejected,
                    &format!("the node refused the transaction: {refusal}"),
                )?;
                return Ok(true);
            }
            return Err(format!(
                "the node refused job {}'s transaction: {refusal}",
                job.id
            ));
        }
        shared.metrics.sent();
        tracing::info!(job = %job.id, tx = %signed.tx_hash, nonce, gas_price, "sent");
        // Look for its receipt at once rather than after the poll interval.
        shared.wake.notify_one();
        Ok(true)
    }

    async fn sign(&self, job: &Job, nonce: u64, gas_price: u128) -> Result<SentTx, String> {
        let shared = &self.shared;
        let [root, nullifier_hash, recipient, relayer, _, _] = job.args;
        let contract = ERC20Taonado::new(job.contract, &shared.provider);
        let call = contract.withdraw(
            job.proof.clone(),
            root,
            nullifier_hash,
            Address::from_word(recipient),
            Address::from_word(relayer),
            job.fee,
            U256::ZERO,
        );
        let request = TransactionRequest::default()
            .with_from(shared.address)
            .with_to(job.contract)
            .with_input(call.calldata().clone())
            .with_value(U256::ZERO)
            .with_nonce(nonce)
            .with_gas_limit(shared.policy.gas_limit)
            .with_gas_price(gas_price)
            .with_chain_id(shared.chain_id);
        let envelope = request
            .build(&shared.wallet)
            .await
            .map_err(|e| format!("signing job {}'s transaction: {e}", job.id))?;
        Ok(SentTx {
            tx_hash: *envelope.tx_hash(),
            nonce,
            gas_price,
            raw: envelope.encoded_2718().into(),
            signed_at_ms: now_ms(),
        })
    }

    /// Broadcasts a new transaction; `Err` with the node's message when it refused it.
    /// A transport failure is not a refusal: the node may have it, and the loop
    /// broadcasts it again or replaces it.
    async fn broadcast_new(&self, signed: &SentTx) -> Result<(), String> {
        match self.shared.provider.send_raw_transaction(&signed.raw).await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_error_resp() {
                Some(resp) if !resp.message.contains("already known") => {
                    Err(resp.message.to_string())
                }
                _ => {
                    tracing::warn!(tx = %signed.tx_hash, error = %e, "broadcast unanswered; it is tried again");
                    Ok(())
                }
            },
        }
    }

    /// Broadcasts a recorded transaction again; a node that knows it or its nonce says so,
    /// which is fine.
    async fn broadcast(&self, signed: &SentTx) {
        if let Err(e) = self.shared.provider.send_raw_transaction(&signed.raw).await {
            tracing::debug!(tx = %signed.tx_hash, error = %e, "broadcast again");
        }
    }

    async fn balance(&mut self) {
        let shared = self.shared.clone();
        let Ok(balance) = shared.provider.get_balance(shared.address).await else {
            return;
        };
        self.balance_read = Some(Instant::now());
        *shared.balance.lock().unwrap_or_else(|p| p.into_inner()) = Some(balance);
        shared
            .metrics
            .set_balance(taonado_monitor::units::tao_f64(balance));
        let level = crate::alerts::level(&shared.alerts, balance);
        if level != self.level {
            let block = head(&shared).await;
            if let Some(n) = crate::alerts::notification(
                &shared.network,
                shared.address,
                balance,
                self.level,
                level,
                block,
            ) {
                tracing::warn!("{}", n.headline());
                crate::alerts::deliver(&shared.alerts.notifiers, n);
            }
            self.level = level;
        }
    }
}
