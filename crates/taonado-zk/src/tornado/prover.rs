//! Groth16 proofs with Tornado's proving key, by the crate's own prover.

use std::path::Path;

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
    Proof, ProvingKey, VerifyingKey, WithdrawProver, ZkError,
    circuit::{WithdrawPublicInputs, WithdrawWitness},
    field::Fr,
    groth16::{CircuitShape, verify},
};

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
