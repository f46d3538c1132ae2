//! `withdraw`: check the note, sync and check the cache against the chain, prove, submit.

use std::path::Path;
use std::time::Instant;

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::Serialize;
use taonado_contracts::bindings::ERC20Taonado;
use taonado_zk::{
    Note, WithdrawProver, WithdrawPublicInputs, WithdrawWitness, fr_to_b256, keys, proof_to_bytes,
};

use super::deposit::confirm;
use super::sync::tree_of;
use super::{Mixer, MixerError, MixerProgress, MixerStage, Pool, revert_reason};
use crate::error::{OpsError, Result};
use crate::record::DeploymentRecord;

/// Gas added to the estimate, in percent. The verifier reverts (rather than returning
/// false) when a pairing precompile runs out of gas, so a tight limit would turn a valid
/// proof into a failed withdrawal.
const WITHDRAW_GAS_MARGIN_PERCENT: u64 = 50;

/// What to withdraw, to whom.
#[derive(Clone, Debug)]
pub struct WithdrawRequest {
    pub note: Note,
    pub recipient: Address,
    /// Receives `fee`; zero when there is no relayer.
    pub relayer: Address,
    /// Relayer fee in WTAO wei.
    pub fee: U256,
    /// Native value sent along for the recipient, in wei.
    pub refund: U256,
}

/// The withdrawal made.
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawReport {
    pub pool: Pool,
    pub nullifier_hash: B256,
    pub root: B256,
    pub leaf_index: usize,
    /// Leaves in the tree the proof was made against.
    pub tree_size: usize,
    pub recipient: Address,
    pub relayer: Address,
    pub fee: U256,
    pub refund: U256,
    /// WTAO wei the recipient received.
    pub amount: U256,
    pub tx_hash: B256,
    pub block: u64,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub prove_ms: u64,
    /// Why the event cache was rebuilt from scratch, if it was.
    pub cache_resynced: Option<String>,
}

/// The local development prover from `keys_dir`, after checking that the deployed
/// verifier was made from the same setup and circuit.
pub fn load_prover(record: &DeploymentRecord, keys_dir: &Path) -> Result<WithdrawProver> {
    let verifier = record
        .verifier
        .as_ref()
        .ok_or(MixerError::NoVerifierRecord)?;
    if verifier.key_setup != keys::LOCAL_DEV_SETUP {
        return Err(MixerError::KeySetupMismatch {
            deployed: verifier.key_setup.clone(),
            local: keys::LOCAL_DEV_SETUP.to_owned(),
        }
        .into());
    }
    let (prover, created) = keys::load_or_create_local(keys_dir).map_err(MixerError::Keys)?;
    if created {
        tracing::warn!(dir = %keys_dir.display(), "the local proving key was missing or stale and was regenerated");
    }
    let local = prover.shape().hash().to_string();
    if let Some(deployed) = &verifier.circuit_hash
        && !deployed.eq_ignore_ascii_case(&local)
    {
        return Err(MixerError::CircuitMismatch {
            deployed: deployed.clone(),
            local,
        }
        .into());
    }
    Ok(prover)
}

impl Mixer {
    /// Checks everything that can be checked before proving (note, fee, spent, cache
    /// against the chain), proves, verifies the proof locally, and submits it with a gas
    /// limit of the estimate plus a margin. The proving key is loaded from `keys_dir` (see
    /// [`load_prover`]) only once the checks pass, so bad input fails fast.
    pub async fn withdraw(
        &self,
        request: &WithdrawRequest,
        keys_dir: &Path,
        progress: &dyn MixerProgress,
    ) -> Result<WithdrawReport> {
        let note = &request.note;
        let pool = self.note_pool(note).await?;
        if request.fee > pool.denomination {
            return Err(MixerError::FeeTooHigh {
                fee: taonado_types::format_tao(request.fee),
                denomination: pool.amount.clone(),
            }
            .into());
        }
        if !request.fee.is_zero() && request.relayer.is_zero() {
            return Err(MixerError::FeeWithoutRelayer.into());
        }
        let contract = ERC20Taonado::new(pool.address, &self.provider);
        let commitment = fr_to_b256(note.commitment());
        let nullifier_hash = fr_to_b256(note.nullifier_hash());
        let spent = contract
            .isSpent(nullifier_hash)
            .call()
            .await
            .map_err(OpsError::contract("reading isSpent"))?;
        if spent {
            return Err(MixerError::SpentNote { nullifier_hash }.into());
        }

        let (cache, outcome) = self.sync_pool(&pool, false, progress).await?;
        let path = outcome.cache_path.clone();
        let Some(leaf_index) = cache.leaves.iter().position(|leaf| *leaf == commitment) else {
            let known = contract
                .commitments(commitment)
                .call()
                .await
                .map_err(OpsError::contract("reading commitments"))?;
            return Err(if known {
                MixerError::CacheStale {
                    path,
                    reason: "the deposit is on chain but not in the cache".into(),
                }
            } else {
                MixerError::UnknownCommitment {
                    commitment,
                    pool: pool.address,
                }
            }
            .into());
        };
        let tree = tree_of(&cache, &path)?;
        let root = fr_to_b256(tree.root());
        if !self.is_known_root(&pool, root).await? {
            return Err(MixerError::CacheStale {
                path,
                reason: format!(
                    "the root {root} rebuilt from its {} leaves is not a known root of the pool",
                    cache.leaves.len()
                ),
            }
            .into());
        }

        progress.stage(MixerStage::LoadingKey);
        let prover = load_prover(&self.record, keys_dir)?;
        progress.stage(MixerStage::Proving);
        let started = Instant::now();
        let merkle_path = tree
            .path(leaf_index)
            .map_err(|e| MixerError::CacheCorrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let public = WithdrawPublicInputs::from_evm(
            root,
            nullifier_hash,
            request.recipient,
            request.relayer,
            request.fee,
            request.refund,
        )
        .map_err(MixerError::Prove)?;
        let witness = WithdrawWitness::new(note, merkle_path);
        let proof = prover
            .prove(&public, &witness, &mut rand::rng())
            .map_err(MixerError::Prove)?;
        if !taonado_zk::verify(prover.verifying_key(), &public, &proof)
            .map_err(MixerError::Prove)?
        {
            return Err(MixerError::ProofRejectedLocally.into());
        }
        let prove_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

        progress.stage(MixerStage::Sending { action: "withdraw" });
        let call = contract
            .withdraw(
                Bytes::from(proof_to_bytes(&proof)),
                root,
                nullifier_hash,
                request.recipient,
                request.relayer,
                request.fee,
                request.refund,
            )
            .value(request.refund);
        let estimate = call
            .estimate_gas()
            .await
            .map_err(|e| MixerError::WithdrawRejected {
                reason: revert_reason(&e),
            })?;
        let gas_limit = estimate.saturating_add(estimate * WITHDRAW_GAS_MARGIN_PERCENT / 100);
        let receipt = confirm("withdrawing", call.gas(gas_limit).send().await).await?;
        tracing::info!(pool = %pool.address, %nullifier_hash, tx = %receipt.transaction_hash, "withdrawn");
        Ok(WithdrawReport {
            amount: pool.denomination - request.fee,
            nullifier_hash,
            root,
            leaf_index,
            tree_size: cache.leaves.len(),
            recipient: request.recipient,
            relayer: request.relayer,
            fee: request.fee,
            refund: request.refund,
            tx_hash: receipt.transaction_hash,
            block: receipt.block_number.unwrap_or_default(),
            gas_limit,
            gas_used: receipt.gas_used,
            prove_ms,
            cache_resynced: outcome.resynced,
            pool,
        })
    }
}
