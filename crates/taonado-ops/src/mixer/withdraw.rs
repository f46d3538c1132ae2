//! `withdraw`: check the note, sync and check the cache against the chain, prove, submit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::Serialize;
use taonado_contracts::bindings::ERC20Taonado;
use taonado_zk::keys::{self, KeyProvenance};
use taonado_zk::{
    CircuitShape, Note, WithdrawProver, WithdrawPublicInputs, WithdrawWitness, fr_to_b256,
    proof_to_bytes,
};

use super::sync::tree_of;
use super::{Mixer, MixerError, MixerProgress, MixerStage, Pool};
use crate::error::{OpsError, Result};
use crate::tx;
use crate::verifying_key::VerifyingKeyFile;
use taonado_deployment::{DeploymentRecord, names};

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
    /// Where the proving key was read from; `None`: the local dev keys compiled into the
    /// binary.
    pub keys_dir: Option<PathBuf>,
    /// Which setup the proving key came from (`local-dev-insecure` or `ceremony:<name>`,
    /// with the ceremony's phase 1, contributions and transcript hash).
    pub proving_key: KeyProvenance,
    /// What the user should know (said on stderr before proving too): the recipient is the
    /// depositor.
    pub warnings: Vec<String>,
}

/// The proving key a withdrawal uses, and the setup it came from.
#[derive(Debug)]
pub struct LoadedProver {
    pub prover: WithdrawProver,
    /// What the key directory's verifying key says about its setup.
    pub provenance: KeyProvenance,
}

/// The prover of the deployed setup, after checking that it is the key the deployed
/// verifier embeds: the keys' setup must be the record's `verifier.key_setup`
/// (`local-dev-insecure` or `ceremony:<name>`), their circuit the recorded circuit, and their
/// verifying key the one the Verifier was deployed with. `keys_dir` `None` means the local
/// dev keys compiled into the binary (for a local-dev deployment; a ceremony's keys must be
/// named). No key is ever created or regenerated here.
pub fn load_prover(record: &DeploymentRecord, keys_dir: Option<&Path>) -> Result<LoadedProver> {
    let verifier = record
        .verifier
        .as_ref()
        .ok_or(MixerError::NoVerifierRecord)?;
    let deployed = verifier.key_setup.as_str();
    let loaded = match keys_dir {
        None if deployed == keys::LOCAL_DEV_SETUP => {
            let (prover, provenance) = keys::local_dev_keys().map_err(MixerError::Keys)?;
            LoadedProver { prover, provenance }
        }
        None => {
            return Err(MixerError::KeysDirRequired {
                deployed: deployed.to_owned(),
            }
            .into());
        }
        Some(dir) => {
            match keys::read_provenance(dir).map_err(MixerError::Keys)? {
                Some(found) if found.setup != deployed => {
                    return Err(MixerError::KeySetupMismatch {
                        deployed: deployed.to_owned(),
                        found: found.setup,
                        dir: dir.to_path_buf(),
                    }
                    .into());
                }
                None => {
                    return Err(MixerError::KeysMissing {
                        deployed: deployed.to_owned(),
                        dir: dir.to_path_buf(),
                    }
                    .into());
                }
                Some(_) => {}
            }
            let shape = CircuitShape::withdraw().map_err(MixerError::Keys)?;
            let (prover, provenance) = keys::load_keys(dir, shape).map_err(MixerError::Keys)?;
            LoadedProver { prover, provenance }
        }
    };

    let local = loaded.prover.shape().hash().to_string();
    if let Some(deployed) = &verifier.circuit_hash
        && !deployed.eq_ignore_ascii_case(&local)
    {
        return Err(MixerError::CircuitMismatch {
            deployed: deployed.clone(),
            local,
        }
        .into());
    }
    // The Verifier's constructor arguments are its verifying key: comparing them catches a
    // key directory whose label matches but whose key does not (another ceremony of the same
    // name, a relabelled key). Records written before constructor arguments were kept have
    // none, and skip this check.
    if let Some(contract) = record.contracts.get(names::VERIFIER)
        && !contract.constructor_args.is_empty()
        && verifier_constructor_args(&loaded)? != contract.constructor_args.as_ref()
    {
        return Err(MixerError::VerifyingKeyMismatch {
            setup: loaded.provenance.setup.clone(),
            keys: keys_dir.map_or_else(
                || keys::EMBEDDED_LOCAL_KEYS.to_owned(),
                |dir| dir.display().to_string(),
            ),
        }
        .into());
    }
    Ok(loaded)
}

/// The Verifier constructor arguments `deploy` would send for the loaded verifying key,
/// converted the same way (through the snarkjs JSON form).
fn verifier_constructor_args(loaded: &LoadedProver) -> Result<Vec<u8>> {
    let prover = &loaded.prover;
    let json = keys::verifying_key_json(
        prover.verifying_key(),
        prover.shape().hash(),
        &loaded.provenance.setup,
    );
    Ok(VerifyingKeyFile::parse(&json.to_string())?
        .to_words()?
        .constructor_args())
}

impl Mixer {
    /// Checks everything that can be checked before proving (note, fee, spent, cache
    /// against the chain), proves, verifies the proof locally, and submits it with a gas
    /// limit of the estimate plus a margin. The proving key is loaded from `keys_dir` (see
    /// [`load_prover`]; `None`: the compiled-in local dev keys) only once the checks pass, so bad input fails fast.
    pub async fn withdraw(
        &self,
        request: &WithdrawRequest,
        keys_dir: Option<&Path>,
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
        let leaf_index = self
            .leaf_index(pool.address, &cache, &path, commitment)
            .await?;
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

        // Withdrawing to the address that deposited links the two on chain: said before
        // anything is proved or sent, and kept in the report.
        let deposit = self
            .deposit_disclosure(&pool, &cache, &path, commitment, leaf_index)
            .await?;
        let mut warnings = Vec::new();
        if [deposit.user, deposit.sender].contains(&Some(request.recipient)) {
            let warning = format!(
                "the recipient {} is the address that made this deposit (block {}): the withdrawal links the two on chain and gives no privacy; withdraw to a fresh address",
                request.recipient, deposit.block
            );
            tracing::warn!("{warning}");
            warnings.push(warning);
        }

        progress.stage(MixerStage::LoadingKey);
        let LoadedProver { prover, provenance } = load_prover(&self.record, keys_dir)?;
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
                reason: tx::contract_error_reason(&e),
            })?;
        let gas_limit = estimate.saturating_add(estimate * WITHDRAW_GAS_MARGIN_PERCENT / 100);
        let receipt = tx::call_and_confirm(&call.gas(gas_limit), "withdrawing").await?;
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
            keys_dir: keys_dir.map(Path::to_path_buf),
            proving_key: provenance,
            warnings,
            pool,
        })
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Bytes;

    use super::*;
    use taonado_deployment::{ContractRecord, VerifierRecord};

    fn local_keys() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
    }

    fn local_verifying_key() -> serde_json::Value {
        let text = std::fs::read_to_string(local_keys().join(keys::VERIFYING_KEY_FILE))
            .expect("the committed local verifying key");
        serde_json::from_str(&text).expect("JSON")
    }

    /// A copy of the local dev keys whose verifying key file is labelled `setup`.
    fn relabelled_keys(setup: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::copy(
            local_keys().join(keys::PROVING_KEY_FILE),
            dir.path().join(keys::PROVING_KEY_FILE),
        )
        .expect("copy the proving key");
        let mut value = local_verifying_key();
        value["taonado"]["setup"] = setup.into();
        std::fs::write(dir.path().join(keys::VERIFYING_KEY_FILE), value.to_string())
            .expect("write the verifying key");
        dir
    }

    /// A record whose verifier is labelled `setup` and was constructed with `key`.
    fn record(setup: &str, key: &VerifyingKeyFile) -> DeploymentRecord {
        let mut record = DeploymentRecord::new("local", 945, 2, Address::repeat_byte(0xde));
        record.verifier = Some(VerifierRecord {
            family: "bittensor".into(),
            key_setup: setup.into(),
            circuit: Some("withdraw-h20".into()),
            circuit_hash: key.circuit_hash().map(str::to_owned),
        });
        let args = key.to_words().expect("valid key").constructor_args();
        record.contracts.insert(
            names::VERIFIER.into(),
            ContractRecord {
                address: Address::repeat_byte(1),
                tx_hash: None,
                block: None,
                gas_used: None,
                artifact: "Groth16VerifierBittensor".into(),
                artifact_sha256: None,
                constructor_args: Bytes::from(args),
                deployed_at: 0,
            },
        );
        record
    }

    fn local_key() -> VerifyingKeyFile {
        VerifyingKeyFile::parse(&local_verifying_key().to_string()).expect("valid key")
    }

    fn mixer_error(result: Result<LoadedProver>) -> MixerError {
        match result {
            Err(OpsError::Mixer(error)) => *error,
            Err(other) => panic!("expected a mixer error, got {other}"),
            Ok(loaded) => panic!("loaded keys of setup {}", loaded.provenance.setup),
        }
    }

    #[test]
    fn ceremony_keys_load_for_a_ceremony_deployment() {
        let dir = relabelled_keys("ceremony:unit");
        let loaded = load_prover(&record("ceremony:unit", &local_key()), Some(dir.path()))
            .expect("the deployed key, under the deployed label");
        assert_eq!(loaded.provenance.setup, "ceremony:unit");
    }

    #[test]
    fn a_local_deployment_proves_with_the_compiled_in_keys_and_a_ceremony_needs_its_dir() {
        let loaded = load_prover(&record(keys::LOCAL_DEV_SETUP, &local_key()), None)
            .expect("the embedded local keys are the deployed ones");
        assert_eq!(loaded.provenance.setup, keys::LOCAL_DEV_SETUP);
        let error = mixer_error(load_prover(&record("ceremony:unit", &local_key()), None));
        assert!(
            matches!(error, MixerError::KeysDirRequired { .. }),
            "{error}"
        );
    }

    #[test]
    fn keys_of_another_setup_are_refused_in_one_line_naming_both() {
        let ceremony = record("ceremony:unit", &local_key());
        let error = mixer_error(load_prover(&ceremony, Some(&local_keys())));
        assert!(
            matches!(&error, MixerError::KeySetupMismatch { deployed, found, .. }
                if deployed == "ceremony:unit" && found == keys::LOCAL_DEV_SETUP),
            "{error}"
        );
        let message = error.to_string();
        assert_eq!(message.lines().count(), 1);
        assert!(message.contains("--keys-dir"), "{message}");

        // A local deployment never proves with (or writes over) a ceremony's keys.
        let dir = relabelled_keys("ceremony:unit");
        let before = std::fs::read(dir.path().join(keys::PROVING_KEY_FILE)).expect("reads");
        let local = record(keys::LOCAL_DEV_SETUP, &local_key());
        assert!(matches!(
            mixer_error(load_prover(&local, Some(dir.path()))),
            MixerError::KeySetupMismatch { .. }
        ));
        let after = std::fs::read(dir.path().join(keys::PROVING_KEY_FILE)).expect("reads");
        assert!(before == after, "the proving key was rewritten");
    }

    #[test]
    fn a_missing_ceremony_key_is_never_generated() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let error = mixer_error(load_prover(
            &record("ceremony:unit", &local_key()),
            Some(dir.path()),
        ));
        assert!(matches!(error, MixerError::KeysMissing { .. }), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 0);
    }

    #[test]
    fn a_key_the_verifier_does_not_embed_is_refused() {
        let dir = relabelled_keys("ceremony:unit");
        let other = VerifyingKeyFile::generator_placeholder("ceremony:unit");
        let error = mixer_error(load_prover(
            &record("ceremony:unit", &other),
            Some(dir.path()),
        ));
        assert!(
            matches!(error, MixerError::VerifyingKeyMismatch { .. }),
            "{error}"
        );
    }
}
