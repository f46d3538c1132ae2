//! `withdraw`: check the note, sync and check the cache against the chain, prove, submit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolValue;
use serde::Serialize;
use taonado_contracts::bindings::ERC20Taonado;
use taonado_contracts::verifier::pushed_words;
use taonado_zk::keys::{self, KeyProvenance};
use taonado_zk::tornado::{self, Withdrawal};
use taonado_zk::{
    CircuitShape, Note, WithdrawProver, WithdrawPublicInputs, WithdrawWitness, fr_to_b256,
    fr_to_u256, proof_to_words,
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
    /// A legacy gas price (wei) for the withdrawal transaction; `None`: the node's fee
    /// estimate.
    pub gas_price: Option<u128>,
}

/// Where the proving keys are: the pool's verifier decides which one is used.
#[derive(Clone, Debug)]
pub struct WithdrawKeys {
    /// `withdraw.pk.bin` and `withdraw.vk.json` of our own circuit: a ceremony's export
    /// (`--keys-dir`); `None`: the local dev keys compiled into the binary.
    pub keys_dir: Option<PathBuf>,
    /// Tornado's ceremony keys as `zk keys fetch --setup tornado` stored them.
    pub tornado_dir: PathBuf,
}

/// Which key the pool's verifier checks proofs against, read from its code on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifierKey {
    /// Tornado Cash's ceremony key (the live pool's): proved with Tornado's circuit.
    Tornado,
    /// The key this deployment's Verifier was constructed with (the record's): proved with
    /// our circuit and the keys of `--keys-dir`.
    Ours,
    /// The local development key, found in a verifier the record does not name (a pool
    /// known only from the configuration): proved with the compiled-in local keys.
    LocalDev,
}

/// The key a verifier's runtime code embeds: Tornado's, or one of ours (`recorded_args`,
/// the record's Verifier constructor arguments, or the local dev key); `None` for any
/// other.
pub fn verifier_key_in_code(code: &[u8], recorded_args: &[u8]) -> Option<VerifierKey> {
    let pushed = pushed_words(code);
    let embeds = |words: &mut dyn Iterator<Item = U256>| {
        let mut any = false;
        for word in words {
            if !pushed.contains(&word) {
                return false;
            }
            any = true;
        }
        any
    };
    // `to_words` fails only for a key without 7 IC points, which Tornado's is not.
    if let Ok(tornado) = VerifyingKeyFile::tornado().to_words()
        && embeds(&mut tornado.to_words().into_iter())
    {
        return Some(VerifierKey::Tornado);
    }
    if recorded_args.len().is_multiple_of(32)
        && embeds(&mut recorded_args.chunks(32).map(U256::from_be_slice))
    {
        return Some(VerifierKey::Ours);
    }
    let local = taonado_zk::verifying_key_file::local_dev_alpha_words();
    if embeds(&mut local.into_iter()) {
        return Some(VerifierKey::LocalDev);
    }
    None
}

/// A proved and locally verified withdrawal, before anything is sent.
struct Prepared {
    pool: Pool,
    nullifier_hash: B256,
    root: B256,
    leaf_index: usize,
    tree_size: usize,
    proof_words: [U256; 8],
    public_words: [U256; 6],
    prove_ms: u64,
    cache_resynced: Option<String>,
    setup: String,
    keys_dir: Option<PathBuf>,
    provenance: KeyProvenance,
    warnings: Vec<String>,
}

/// A withdrawal proved and verified but not sent (`mixer withdraw --dry-run`).
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawDryRun {
    pub pool: Pool,
    /// `tornado-ceremony`, `local-dev-insecure` or `ceremony:<name>`.
    pub setup: String,
    /// The 8 proof words in the contract's order (`a.x, a.y, b.x.c1, b.x.c0, b.y.c1,
    /// b.y.c0, c.x, c.y`), 0x-hex of 32 bytes.
    pub proof: Vec<B256>,
    /// `root, nullifierHash, recipient, relayer, fee, refund`, 0x-hex of 32 bytes.
    pub public_inputs: Vec<B256>,
    pub nullifier_hash: B256,
    pub root: B256,
    pub leaf_index: usize,
    pub tree_size: usize,
    pub recipient: Address,
    pub relayer: Address,
    pub fee: U256,
    pub refund: U256,
    pub prove_ms: u64,
    /// Where the proving key was read from; `None`: the local dev keys compiled in.
    pub keys_dir: Option<PathBuf>,
    pub proving_key: KeyProvenance,
    /// What the user should know (said on stderr before proving too).
    pub warnings: Vec<String>,
    /// Always false: nothing was sent.
    pub sent: bool,
}

/// The withdrawal made.
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawReport {
    pub pool: Pool,
    /// The setup the proof was made with: `tornado-ceremony`, `local-dev-insecure` or
    /// `ceremony:<name>`.
    pub setup: String,
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
    /// The record, with the local dev setup named as the verifier's when the code showed
    /// the local dev key and the record names no verifier (a configured pool): the proving
    /// key is then checked against that setup as for any recorded one.
    fn record_naming(&self, key: VerifierKey) -> std::borrow::Cow<'_, DeploymentRecord> {
        if key != VerifierKey::LocalDev || self.record.verifier.is_some() {
            return std::borrow::Cow::Borrowed(&self.record);
        }
        let mut record = self.record.clone();
        record.verifier = Some(taonado_deployment::VerifierRecord {
            family: String::new(),
            key_setup: keys::LOCAL_DEV_SETUP.to_owned(),
            circuit: None,
            circuit_hash: None,
        });
        std::borrow::Cow::Owned(record)
    }

    /// Which key the pool's verifier checks proofs against: its address from the pool's
    /// `verifier()`, its key from its runtime code (see [`verifier_key_in_code`]).
    pub async fn verifier_key(&self, pool: &Pool) -> Result<VerifierKey> {
        let verifier = ERC20Taonado::new(pool.address, &self.provider)
            .verifier()
            .call()
            .await
            .map_err(OpsError::contract("reading the pool's verifier"))?;
        let code = self
            .provider
            .get_code_at(verifier)
            .await
            .map_err(OpsError::rpc("reading the verifier's code"))?;
        let recorded_args = self
            .record
            .contracts
            .get(names::VERIFIER)
            .map(|c| c.constructor_args.to_vec())
            .unwrap_or_default();
        verifier_key_in_code(&code, &recorded_args)
            .ok_or_else(|| MixerError::UnknownVerifierKey { verifier }.into())
    }

    /// Checks everything that can be checked before proving (note, fee, spent, cache
    /// against the chain, the verifier's key), proves with the setup the pool's verifier
    /// uses, and verifies the proof locally. Keys are loaded only once the checks pass,
    /// so bad input fails fast.
    async fn prepare_withdrawal(
        &self,
        request: &WithdrawRequest,
        keys: &WithdrawKeys,
        progress: &dyn MixerProgress,
    ) -> Result<Prepared> {
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
        let verifier_key = self.verifier_key(&pool).await?;

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
        let merkle_path = tree
            .path(leaf_index)
            .map_err(|e| MixerError::CacheCorrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;

        progress.stage(MixerStage::LoadingKey);
        let proved = match verifier_key {
            VerifierKey::Tornado => {
                let loading = Instant::now();
                let prover = tornado::load_prover(&keys.tornado_dir)
                    .map_err(|source| MixerError::TornadoKeys { source })?;
                tracing::debug!(
                    setup = tornado::SETUP_NAME,
                    load_ms = elapsed_ms(loading),
                    "proving key loaded"
                );
                progress.stage(MixerStage::Proving);
                let started = Instant::now();
                let withdrawal = Withdrawal {
                    note,
                    path: merkle_path,
                    root,
                    recipient: request.recipient,
                    relayer: request.relayer,
                    fee: request.fee,
                    refund: request.refund,
                };
                // Verified against Verifier.sol's key before it is returned.
                let proof = prover
                    .prove_withdrawal(&withdrawal, &mut rand::rng())
                    .map_err(MixerError::Prove)?;
                Prepared {
                    pool,
                    nullifier_hash,
                    root,
                    leaf_index,
                    tree_size: cache.leaves.len(),
                    proof_words: proof.proof_words(),
                    public_words: proof.public_words(),
                    prove_ms: elapsed_ms(started),
                    cache_resynced: outcome.resynced,
                    setup: tornado::SETUP_NAME.to_owned(),
                    keys_dir: Some(keys.tornado_dir.clone()),
                    provenance: VerifyingKeyFile::tornado().provenance().clone(),
                    warnings,
                }
            }
            VerifierKey::Ours | VerifierKey::LocalDev => {
                let loading = Instant::now();
                let LoadedProver { prover, provenance } =
                    load_prover(&self.record_naming(verifier_key), keys.keys_dir.as_deref())?;
                tracing::debug!(setup = %provenance.setup, load_ms = elapsed_ms(loading), "proving key loaded");
                progress.stage(MixerStage::Proving);
                let started = Instant::now();
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
                Prepared {
                    pool,
                    nullifier_hash,
                    root,
                    leaf_index,
                    tree_size: cache.leaves.len(),
                    proof_words: proof_to_words(&proof),
                    public_words: public.to_array().map(fr_to_u256),
                    prove_ms: elapsed_ms(started),
                    cache_resynced: outcome.resynced,
                    setup: provenance.setup.clone(),
                    keys_dir: keys.keys_dir.clone(),
                    provenance,
                    warnings,
                }
            }
        };
        Ok(proved)
    }

    /// Proves and verifies a withdrawal as [`Mixer::withdraw`] does, and sends nothing.
    pub async fn withdraw_dry_run(
        &self,
        request: &WithdrawRequest,
        keys: &WithdrawKeys,
        progress: &dyn MixerProgress,
    ) -> Result<WithdrawDryRun> {
        let p = self.prepare_withdrawal(request, keys, progress).await?;
        Ok(WithdrawDryRun {
            pool: p.pool,
            setup: p.setup,
            proof: p.proof_words.iter().map(|w| B256::from(*w)).collect(),
            public_inputs: p.public_words.iter().map(|w| B256::from(*w)).collect(),
            nullifier_hash: p.nullifier_hash,
            root: p.root,
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            recipient: request.recipient,
            relayer: request.relayer,
            fee: request.fee,
            refund: request.refund,
            prove_ms: p.prove_ms,
            keys_dir: p.keys_dir,
            proving_key: p.provenance,
            warnings: p.warnings,
            sent: false,
        })
    }

    /// Checks everything that can be checked before proving (note, fee, spent, cache
    /// against the chain), proves with the setup the pool's verifier embeds (Tornado's
    /// keys from `keys.tornado_dir`, or ours from `keys.keys_dir`, see [`load_prover`]),
    /// verifies the proof locally, and submits it with a gas limit of the estimate plus a
    /// margin.
    pub async fn withdraw(
        &self,
        request: &WithdrawRequest,
        keys: &WithdrawKeys,
        progress: &dyn MixerProgress,
    ) -> Result<WithdrawReport> {
        let p = self.prepare_withdrawal(request, keys, progress).await?;
        let contract = ERC20Taonado::new(p.pool.address, &self.provider);
        progress.stage(MixerStage::Sending { action: "withdraw" });
        let call = contract
            .withdraw(
                Bytes::from(p.proof_words.abi_encode()),
                p.root,
                p.nullifier_hash,
                request.recipient,
                request.relayer,
                request.fee,
                request.refund,
            )
            .value(request.refund);
        let call = match request.gas_price {
            Some(price) => call.gas_price(price),
            None => call,
        };
        tracing::debug!(setup = %p.setup, prove_ms = p.prove_ms, "proved and verified");
        let estimate = call
            .estimate_gas()
            .await
            .map_err(|e| MixerError::WithdrawRejected {
                reason: tx::contract_error_reason(&e),
            })?;
        let gas_limit = estimate.saturating_add(estimate * WITHDRAW_GAS_MARGIN_PERCENT / 100);
        let receipt = tx::call_and_confirm(&call.gas(gas_limit), "withdrawing").await?;
        tracing::info!(pool = %p.pool.address, nullifier_hash = %p.nullifier_hash, tx = %receipt.transaction_hash, setup = %p.setup, "withdrawn");
        Ok(WithdrawReport {
            amount: p.pool.denomination - request.fee,
            setup: p.setup,
            nullifier_hash: p.nullifier_hash,
            root: p.root,
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            recipient: request.recipient,
            relayer: request.relayer,
            fee: request.fee,
            refund: request.refund,
            tx_hash: receipt.transaction_hash,
            block: receipt.block_number.unwrap_or_default(),
            gas_limit,
            gas_used: receipt.gas_used,
            prove_ms: p.prove_ms,
            cache_resynced: p.cache_resynced,
            keys_dir: p.keys_dir,
            proving_key: p.provenance,
            warnings: p.warnings,
            pool: p.pool,
        })
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
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

    /// Runtime code that pushes `words` with PUSH32, between other instructions.
    fn code_pushing(words: &[U256]) -> Vec<u8> {
        let mut code = vec![0x60, 0x80, 0x60, 0x40, 0x52];
        for word in words {
            code.push(0x7f);
            code.extend_from_slice(&word.to_be_bytes::<32>());
            code.push(0x50);
        }
        code
    }

    #[test]
    fn the_verifier_key_is_read_from_the_pushed_words_of_its_code() {
        let tornado = VerifyingKeyFile::tornado().to_words().expect("words");
        let local = local_key().to_words().expect("words");
        let local_args = local.constructor_args();
        assert_eq!(
            verifier_key_in_code(&code_pushing(&tornado.to_words()), &local_args),
            Some(VerifierKey::Tornado)
        );
        assert_eq!(
            verifier_key_in_code(&code_pushing(&local.to_words()), &[]),
            Some(VerifierKey::LocalDev),
            "the local dev key is ours without a record"
        );
        let other = VerifyingKeyFile::generator_placeholder("ceremony:x")
            .to_words()
            .expect("words");
        let other_code = code_pushing(&other.to_words());
        assert_eq!(
            verifier_key_in_code(&other_code, &other.constructor_args()),
            Some(VerifierKey::Ours),
            "the key the record says the Verifier was built with"
        );
        assert_eq!(verifier_key_in_code(&other_code, &local_args), None);
        assert_eq!(verifier_key_in_code(&other_code, &[]), None);
        // One of Tornado's words missing: not Tornado's.
        let mut almost = tornado.to_words();
        almost[27] += U256::from(1);
        assert_eq!(verifier_key_in_code(&code_pushing(&almost), &[]), None);
        // A word cut short by the end of the code is not pushed whole.
        let mut cut = code_pushing(&tornado.to_words());
        cut.truncate(cut.len() - 2);
        assert_eq!(verifier_key_in_code(&cut, &[]), None);
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
