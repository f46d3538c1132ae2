//! Groth16 over BN254 for the withdraw circuit: setup, proving, verification and the
//! contract's proof encoding.
//!
//! # How [`WithdrawProver`] proves
//!
//! The reduction is libsnark's, as ark-groth16's, whose generator makes the keys; the
//! prover is ours and is tested to give ark-groth16's proof for the same r, s.
//!
//! - **Quotient.** The QAP quotient takes 6 FFTs instead of 7 on our
//!   [`fft::Radix2Fft`](crate::fft::Radix2Fft): twiddles are made once and arkworks'
//!   product is inline; interpolations run in decimation in frequency and evaluations in
//!   decimation in time, so nothing is permuted: h comes out bit-reversed and the prover
//!   keeps the H bases bit-reversed. A's and B's rows are evaluated once, by the
//!   satisfaction check.
//! - **MSMs** ([`msm`](crate::msm), batch-affine). Every MSM is a GLV MSM
//!   (k = k1 + λ·k2 with 128-bit halves, over bases `[P, φ(P)]` made once per key; G2's
//!   endomorphism is taken as x ↦ β²·x so it has G1's λ and one split serves both
//!   groups). One `BucketSchedule` of the witness serves the A, B-in-G2 and L MSMs, and
//!   C's three G1 terms (L, r·B-in-G1 and H) are one `msm_sum` sharing buckets. Bases
//!   and bucket points are 64-byte aligned `BucketPoint`s; `BucketField` gives the sums
//!   arkworks' Montgomery product inline, and G2 Fq2 Karatsuba products and norm-based
//!   batch inversion.
//! - **CPU dispatch.** The bucket sums and the FFT have a second copy compiled for BMI2,
//!   chosen at run time by `field::has_mulx`, so the binary
//!   stays portable and `mulx` CPUs get the shorter product.
//! - **Branch-free field sums.** Their sums and differences are
//!   `field::branchless_sum` / `branchless_difference` (conditional moves),
//!   as arkworks' `+`/`-` branch at random on the modulus.

use alloy_primitives::{B256, Keccak256, U256};

/// The digest that binds keys to a circuit.
pub type CircuitHash = B256;
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ec::CurveGroup;
use ark_ff::{BigInteger, FftField, Field, One, PrimeField, Zero};
use ark_groth16::{Groth16, prepare_verifying_key};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, R1CS_PREDICATE_LABEL,
    SynthesisError, SynthesisMode,
};
use ark_relations::utils::matrix::Matrix;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use rayon::prelude::*;

use crate::{
    ZkError,
    circuit::{PUBLIC_INPUTS, WithdrawCircuit, WithdrawPublicInputs, WithdrawWitness},
    fft,
    field::{Fr, branchless_difference, branchless_sum, inline_product},
    msm,
};

/// A Groth16 proof on BN254.
pub type Proof = ark_groth16::Proof<Bn254>;
/// A Groth16 proving key on BN254.
pub type ProvingKey = ark_groth16::ProvingKey<Bn254>;
/// A Groth16 verifying key on BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Bn254>;

/// The name the keys record for this circuit.
pub const CIRCUIT_NAME: &str = "withdraw-h20";

/// Seed of the local development setup. Anyone can recompute its toxic waste: the keys
/// it makes are for local chains only.
pub const LOCAL_DEV_SETUP_SEED: [u8; 32] = *b"taonado local-dev insecure setup";

/// Bytes of an encoded proof: `abi.encode(uint256[8])`.
pub const PROOF_BYTES: usize = 8 * 32;

/// The constraint system of the withdraw circuit, as the prover needs it.
#[derive(Debug, Clone)]
pub struct CircuitShape {
    /// A, B and C.
    matrices: Vec<Matrix<Fr>>,
    /// Instance variables, counting the constant 1.
    num_instance_variables: usize,
    num_witness_variables: usize,
    num_constraints: usize,
    hash: B256,
    /// The FFT domain of the QAP quotient.
    quotient_domain: QuotientDomain,
}

impl CircuitShape {
    /// Synthesises the withdraw circuit without an assignment and digests its matrices.
    pub fn withdraw() -> Result<Self, ZkError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        WithdrawCircuit::blank()
            .generate_constraints(cs.clone())
            .map_err(|e| synthesis("setup", &e))?;
        cs.finalize();
        let mut all = cs.to_matrices().map_err(|e| synthesis("setup", &e))?;
        let matrices = all
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| synthesis("setup", &SynthesisError::PredicateNotFound))?;
        // libsnark's reduction adds a row per instance variable.
        let rows = cs.num_constraints() + cs.num_instance_variables();
        let quotient_domain =
            QuotientDomain::new(rows, Fr::GENERATOR).ok_or_else(|| ZkError::Synthesis {
                stage: "setup",
                message: format!("no radix-2 FFT domain holds {rows} rows"),
            })?;
        let mut shape = Self {
            matrices,
            num_instance_variables: cs.num_instance_variables(),
            num_witness_variables: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
            hash: B256::ZERO,
            quotient_domain,
        };
        shape.hash = shape.digest();
        Ok(shape)
    }

    /// The shape of an R1CS made elsewhere (Tornado's circom circuit): matrices A, B, C with
    /// columns `1, inputs…, witness…`, and the generator whose roots of unity index the
    /// QAP domain's rows in the keys made for it ([`fft::Radix2Fft::with_generator`]).
    pub(crate) fn from_r1cs(
        matrices: Vec<Matrix<Fr>>,
        num_instance_variables: usize,
        num_witness_variables: usize,
        hash: B256,
        root_generator: Fr,
    ) -> Result<Self, ZkError> {
        let num_constraints = matrices.first().map_or(0, Vec::len);
        if matrices.len() != 3 || matrices.iter().any(|m| m.len() != num_constraints) {
            return Err(ZkError::Synthesis {
                stage: "setup",
                message: "an R1CS needs three matrices with one row per constraint".to_owned(),
            });
        }
        let rows = num_constraints + num_instance_variables;
        let quotient_domain =
            QuotientDomain::new(rows, root_generator).ok_or_else(|| ZkError::Synthesis {
                stage: "setup",
                message: format!("no radix-2 FFT domain of this generator holds {rows} rows"),
            })?;
        Ok(Self {
            matrices,
            num_instance_variables,
            num_witness_variables,
            num_constraints,
            hash,
            quotient_domain,
        })
    }

    /// Size of the QAP's FFT domain.
    pub fn domain_size(&self) -> usize {
        self.quotient_domain.size()
    }

    /// Keccak-256 of a canonical serialisation of the matrices and sizes: keys record it,
    /// so a key never loads against another circuit.
    fn digest(&self) -> B256 {
        let mut hasher = Keccak256::new();
        hasher.update(b"taonado/");
        hasher.update(CIRCUIT_NAME.as_bytes());
        for size in [
            self.num_instance_variables,
            self.num_witness_variables,
            self.num_constraints,
        ] {
            hasher.update((size as u64).to_le_bytes());
        }
        for matrix in &self.matrices {
            hasher.update((matrix.len() as u64).to_le_bytes());
            for row in matrix {
                hasher.update((row.len() as u64).to_le_bytes());
                for (coefficient, column) in row {
                    hasher.update(coefficient.into_bigint().to_bytes_le());
                    hasher.update((*column as u64).to_le_bytes());
                }
            }
        }
        hasher.finalize()
    }

    /// The R1CS matrices A, B and C (rows are constraints, columns `1, inputs…, witness…`).
    pub fn matrices(&self) -> &[Matrix<Fr>] {
        &self.matrices
    }

    /// Instance variables, counting the constant 1.
    pub fn num_instance_variables(&self) -> usize {
        self.num_instance_variables
    }

    /// The circuit hash keys are bound to.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// Number of R1CS constraints.
    pub fn num_constraints(&self) -> usize {
        self.num_constraints
    }

    /// Number of private (witness) variables.
    pub fn num_witness_variables(&self) -> usize {
        self.num_witness_variables
    }

    /// Number of public inputs (without the constant 1).
    pub fn num_public_inputs(&self) -> usize {
        self.num_instance_variables - 1
    }

    /// The full assignment (`1, inputs…, witness…`) of a withdrawal, computed without
    /// building matrices.
    pub fn assignment(
        &self,
        public: &WithdrawPublicInputs,
        witness: &WithdrawWitness,
    ) -> Result<Vec<Fr>, ZkError> {
        let circuit = WithdrawCircuit::new(*public, witness.clone());
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit
            .generate_constraints(cs.clone())
            .map_err(|e| synthesis("prove", &e))?;
        let mut assignment = cs
            .instance_assignment()
            .map_err(|e| synthesis("prove", &e))?;
        assignment.extend(
            cs.witness_assignment()
                .map_err(|e| synthesis("prove", &e))?,
        );
        if assignment.len() != self.num_instance_variables + self.num_witness_variables {
            return Err(ZkError::Synthesis {
                stage: "prove",
                message: format!(
                    "assignment has {} variables, the circuit {}",
                    assignment.len(),
                    self.num_instance_variables + self.num_witness_variables
                ),
            });
        }
        Ok(assignment)
    }

    /// The index of the first constraint `assignment` violates, if any.
    pub fn first_unsatisfied(&self, assignment: &[Fr]) -> Option<usize> {
        self.satisfied_rows(assignment).err()
    }

    /// A's and B's rows applied to `assignment` (one value per constraint), or the index
    /// of the first constraint it does not satisfy. The prover's quotient takes these rows,
    /// so they are evaluated once.
    pub(crate) fn satisfied_rows(&self, assignment: &[Fr]) -> Result<(Vec<Fr>, Vec<Fr>), usize> {
        let evaluate = |row: &[(Fr, usize)]| evaluate_row(row, assignment);
        let [a, b, c] = self.matrices.as_slice() else {
            return Err(0);
        };
        if assignment.len() != self.num_instance_variables + self.num_witness_variables {
            return Err(0);
        }
        let (a_rows, b_rows): (Vec<Fr>, Vec<Fr>) = (0..self.num_constraints)
            .into_par_iter()
            .map(|i| (evaluate(&a[i]), evaluate(&b[i])))
            .unzip();
        match (0..self.num_constraints)
            .into_par_iter()
            .find_first(|&i| inline_product(a_rows[i], &b_rows[i]) != evaluate(&c[i]))
        {
            Some(index) => Err(index),
            None => Ok((a_rows, b_rows)),
        }
    }
}

/// One row of a constraint matrix applied to the assignment: Σ coefficient·value.
fn evaluate_row(row: &[(Fr, usize)], assignment: &[Fr]) -> Fr {
    row.iter().fold(Fr::zero(), |sum, (coefficient, column)| {
        branchless_sum(&sum, &inline_product(*coefficient, &assignment[*column]))
    })
}

/// The FFT domain of the QAP quotient h = (A·B − C)/Z of libsnark's reduction (as
/// ark-groth16's `LibsnarkReduction`), with the prover's scaling tables.
///
/// On a satisfied assignment C = A∘B on the domain, so with P = A·B = P_lo + xⁿ·P_hi:
/// interpolating A∘B gives P mod (xⁿ − 1) = P_lo + P_hi = C, and interpolating the products
/// on the coset gH gives P mod (xⁿ − gⁿ) = P_lo + gⁿ·P_hi. Their difference over gⁿ − 1 is
/// P_hi = h: 6 FFTs, and no C evaluation. Interpolations run in decimation in frequency
/// (bit-reversed out) and evaluations in decimation in time (bit-reversed in), so nothing
/// is permuted: h comes out bit-reversed, and the prover stores the H bases that way.
#[derive(Debug, Clone)]
struct QuotientDomain {
    fft: fft::Radix2Fft,
    /// At bit-reversed index k: g^rev(k)/n, taking n times A's (or B's) coefficients to
    /// the coefficients of A(g·x).
    to_coset: Vec<Fr>,
    /// At bit-reversed index k: g^−rev(k), taking n times the coefficients of P(g·x) mod
    /// (xⁿ − 1) to n times those of P mod (xⁿ − gⁿ).
    from_coset: Vec<Fr>,
    /// 1/(n·(gⁿ − 1)).
    h_scale: Fr,
}

impl QuotientDomain {
    /// The smallest domain of at least `rows` points, its roots of unity from
    /// `root_generator`, with the coset offset g of ark-poly (`Fr::GENERATOR`, outside
    /// every such domain); `None` beyond 2^28 points.
    fn new(rows: usize, root_generator: Fr) -> Option<Self> {
        let fft = fft::Radix2Fft::with_generator(
            rows.max(1).next_power_of_two().trailing_zeros(),
            root_generator,
        )?;
        let n = fft.size();
        let n_inverse = Fr::from(n as u64).inverse()?;
        let g = Fr::GENERATOR;
        let g_inverse = g.inverse()?;
        let powers = |base: Fr, scale: Fr| {
            let mut natural = Vec::with_capacity(n);
            let mut power = scale;
            for _ in 0..n {
                natural.push(power);
                power = inline_product(power, &base);
            }
            (0..n).map(|k| natural[fft.bit_reverse(k)]).collect()
        };
        let to_coset = powers(g, n_inverse);
        let from_coset = powers(g_inverse, Fr::one());
        // g generates Fr*, whose order r − 1 exceeds n, so gⁿ ≠ 1.
        let h_scale = (Fr::from(n as u64) * (g.pow([n as u64]) - Fr::one())).inverse()?;
        Some(Self {
            fft,
            to_coset,
            from_coset,
            h_scale,
        })
    }

    fn size(&self) -> usize {
        self.fft.size()
    }

    /// h's coefficients in bit-reversed order (index k holds coefficient rev(k)), from A's
    /// and B's rows on a satisfying assignment ([`CircuitShape::satisfied_rows`]) and the
    /// instance (libsnark's extra rows: A = input, B = 0).
    fn quotient(&self, (mut a, mut b): (Vec<Fr>, Vec<Fr>), instance: &[Fr]) -> Vec<Fr> {
        use fft::Direction::{Forward, Inverse};
        let n = self.size();
        let constraints = a.len();
        a.resize(n, Fr::zero());
        b.resize(n, Fr::zero());
        a[constraints..constraints + instance.len()].copy_from_slice(instance);
        let mut c: Vec<Fr> = a
            .par_iter()
            .zip(&b)
            .map(|(a, b)| inline_product(*a, b))
            .collect();
        let to_coset = |values: &mut Vec<Fr>| {
            self.fft.dif(values, Inverse);
            values
                .par_iter_mut()
                .zip(&self.to_coset)
                .for_each(|(value, scale)| *value = inline_product(*value, scale));
            self.fft.dit(values, Forward);
        };
        rayon::join(|| to_coset(&mut a), || to_coset(&mut b));
        // The products on the coset, in place of A's values.
        let mut h = a;
        h.par_iter_mut()
            .zip(&b)
            .for_each(|(a, b)| *a = inline_product(*a, b));
        rayon::join(
            || self.fft.dif(&mut h, Inverse),
            || self.fft.dif(&mut c, Inverse),
        );
        h.par_iter_mut()
            .zip(&c)
            .zip(&self.from_coset)
            .for_each(|((h, c), from_coset)| {
                *h = inline_product(
                    branchless_difference(&inline_product(*h, from_coset), c),
                    &self.h_scale,
                );
            });
        h
    }
}

fn synthesis(stage: &'static str, error: &SynthesisError) -> ZkError {
    ZkError::Synthesis {
        stage,
        message: error.to_string(),
    }
}

/// Checks that `witness` satisfies the withdraw statement for `public`, without proving.
pub fn check_witness(
    shape: &CircuitShape,
    public: &WithdrawPublicInputs,
    witness: &WithdrawWitness,
) -> Result<(), ZkError> {
    let assignment = shape.assignment(public, witness)?;
    match shape.first_unsatisfied(&assignment) {
        None => Ok(()),
        Some(index) => Err(ZkError::Unsatisfied {
            constraint: format!("#{index}"),
        }),
    }
}

/// A proving key with the circuit's matrices, ready to prove withdrawals.
#[derive(Debug, Clone)]
pub struct WithdrawProver {
    proving_key: ProvingKey,
    shape: CircuitShape,
    glv: GlvQueries,
}

/// The proving key's MSM queries as GLV bases ([`msm::glv_bases`]): each base followed by
/// its endomorphism image. Made once per key (one field product per base), about twice
/// the queries' memory.
#[derive(Debug, Clone)]
struct GlvQueries {
    a: Vec<msm::BucketPoint<Fq>>,
    /// The witness variables (indexes into the assignment without its leading 1) whose B
    /// in G1 base is not the identity: about two in three. r·B's MSM runs over these
    /// only, as its scalars are made for it alone.
    b_g1_variables: Vec<usize>,
    /// The GLV bases of those variables, in that order.
    b_g1: Vec<msm::BucketPoint<Fq>>,
    b_g2: Vec<msm::BucketPoint<Fq2>>,
    l: Vec<msm::BucketPoint<Fq>>,
    /// H's bases in the quotient's bit-reversed order ([`QuotientDomain::quotient`]).
    h: Vec<msm::BucketPoint<Fq>>,
}

impl GlvQueries {
    fn new(pk: &ProvingKey, quotient_domain: &QuotientDomain) -> Self {
        let b_g1_variables: Vec<usize> = (0..pk.b_g1_query.len().saturating_sub(1))
            .filter(|&i| !pk.b_g1_query[i + 1].is_zero())
            .collect();
        let b_g1_bases: Vec<G1Affine> = b_g1_variables
            .iter()
            .map(|&i| pk.b_g1_query[i + 1])
            .collect();
        // In the quotient's bit-reversed order (the identity past the query's end).
        let h_bases: Vec<G1Affine> = (0..quotient_domain.size())
            .map(|k| {
                let j = quotient_domain.fft.bit_reverse(k);
                pk.h_query.get(j).copied().unwrap_or_else(G1Affine::zero)
            })
            .collect();
        Self {
            a: msm::glv_bases(&pk.a_query),
            b_g1_variables,
            b_g1: msm::glv_bases(&b_g1_bases),
            b_g2: msm::glv_bases(&pk.b_g2_query),
            l: msm::glv_bases(&pk.l_query),
            h: msm::glv_bases(&h_bases),
        }
    }
}

impl WithdrawProver {
    /// Runs a Groth16 setup whose randomness comes from `seed`. With
    /// [`LOCAL_DEV_SETUP_SEED`] this makes the local development keys; its toxic waste is
    /// public, so such keys must never guard real funds.
    pub fn setup_from_seed(seed: [u8; 32]) -> Result<Self, ZkError> {
        let shape = CircuitShape::withdraw()?;
        let mut rng = StdRng::from_seed(seed);
        let proving_key = Groth16::<Bn254>::generate_random_parameters_with_reduction(
            WithdrawCircuit::blank(),
            &mut rng,
        )
        .map_err(|e| synthesis("setup", &e))?;
        Ok(Self::from_parts(proving_key, shape))
    }

    /// A prover from a proving key made for `shape` (the caller checked the binding).
    pub fn from_parts(proving_key: ProvingKey, shape: CircuitShape) -> Self {
        let glv = GlvQueries::new(&proving_key, &shape.quotient_domain);
        Self {
            proving_key,
            shape,
            glv,
        }
    }

    /// The proving key.
    pub fn proving_key(&self) -> &ProvingKey {
        &self.proving_key
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.proving_key.vk
    }

    /// The circuit's shape and hash.
    pub fn shape(&self) -> &CircuitShape {
        &self.shape
    }

    /// Proves a withdrawal. The witness is checked first, so an unsatisfiable witness
    /// fails with [`ZkError::Unsatisfied`] instead of producing a proof that will not verify.
    pub fn prove<R: rand::CryptoRng + ?Sized>(
        &self,
        public: &WithdrawPublicInputs,
        witness: &WithdrawWitness,
        rng: &mut R,
    ) -> Result<Proof, ZkError> {
        let assignment = self.shape.assignment(public, witness)?;
        let rows =
            self.shape
                .satisfied_rows(&assignment)
                .map_err(|index| ZkError::Unsatisfied {
                    constraint: format!("#{index}"),
                })?;
        // arkworks draws from rand 0.8; seed its generator from the caller's.
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut ark_rng = StdRng::from_seed(seed);
        let r = <Fr as ark_std::UniformRand>::rand(&mut ark_rng);
        let s = <Fr as ark_std::UniformRand>::rand(&mut ark_rng);
        self.prove_assignment(&assignment, rows, r, s)
    }

    /// Groth16's prover (as ark-groth16's `create_proof_with_assignment`, with the same
    /// libsnark R1CS-to-QAP reduction and random `r`, `s`, so proofs stay zero-knowledge),
    /// with the multi-scalar multiplications done by [`crate::msm`]: affine bucket sums
    /// with batched inversions, about 1.6x fewer field multiplications than arkworks'.
    pub(crate) fn prove_assignment(
        &self,
        assignment: &[Fr],
        rows: (Vec<Fr>, Vec<Fr>),
        r: Fr,
        s: Fr,
    ) -> Result<Proof, ZkError> {
        let pk = &self.proving_key;
        let shape = &self.shape;
        let variables = shape.num_instance_variables + shape.num_witness_variables;
        if pk.a_query.len() != variables
            || pk.b_g1_query.len() != variables
            || pk.b_g2_query.len() != variables
            || pk.l_query.len() != shape.num_witness_variables
            || pk.h_query.len() + 1 != shape.quotient_domain.size()
            || assignment.len() != variables
        {
            return Err(ZkError::Synthesis {
                stage: "prove",
                message: format!(
                    "the proving key's queries do not fit the circuit's {variables} variables; regenerate the key"
                ),
            });
        }
        let scalars: Vec<_> = assignment[1..]
            .par_iter()
            .map(|x| x.into_bigint())
            .collect();
        let glv = &self.glv;
        // B in G1 only appears in C, as r·B: its MSM takes the scalars r·aᵢ (of the
        // variables with a B base) and joins the L and H MSMs in one shared-bucket sum.
        let r_scalars: Vec<_> = glv
            .b_g1_variables
            .par_iter()
            .map(|&i| (assignment[i + 1] * r).into_bigint())
            .collect();
        let first_witness = shape.num_instance_variables - 1;
        // Every MSM is a GLV MSM (two bases per scalar, 128-bit half-scalars) with one
        // window width, so the witness's schedule serves A, B and L (one split serves G1
        // and G2), and the C sum shares its buckets.
        let c = msm::window_bits(glv.l.len() + glv.b_g1.len() + glv.h.len());
        let (h_schedule, ((schedule, r_schedule), (a_acc, b_g2_acc))) = rayon::join(
            || {
                let h = shape
                    .quotient_domain
                    .quotient(rows, &assignment[..shape.num_instance_variables]);
                let h: Vec<_> = h.par_iter().map(|x| x.into_bigint()).collect();
                msm::BucketSchedule::glv(&h, c)
            },
            || {
                let (schedule, r_schedule) = rayon::join(
                    || msm::BucketSchedule::glv(&scalars, c),
                    || msm::BucketSchedule::glv(&r_scalars, c),
                );
                // The witness starts at the queries' index 1: its bases at GLV index 2.
                let accs = rayon::join(
                    || msm::msm_scheduled(&glv.a[2..], 0, &schedule),
                    || msm::msm_scheduled(&glv.b_g2[2..], 0, &schedule),
                );
                ((schedule, r_schedule), accs)
            },
        );
        // Σ_witness aᵢ·Lᵢ + r·Σ aᵢ·B1ᵢ + Σ hⱼ·Hⱼ
        let c_acc = msm::msm_sum(&[
            msm::MsmSource {
                bases: &glv.l,
                first: 2 * first_witness,
                schedule: &schedule,
            },
            msm::MsmSource {
                bases: &glv.b_g1,
                first: 0,
                schedule: &r_schedule,
            },
            msm::MsmSource {
                bases: &glv.h,
                first: 0,
                schedule: &h_schedule,
            },
        ]);

        let g_a = pk.delta_g1 * r + pk.a_query[0] + a_acc + pk.vk.alpha_g1;
        let g2_b = pk.vk.delta_g2 * s + pk.b_g2_query[0] + b_g2_acc + pk.vk.beta_g2;
        // C = s·A + r·B1 − rs·δ + L + H, with B1 = β + B1₀ + Σ aᵢ·B1ᵢ + s·δ: the rs·δ terms
        // cancel.
        let g_c = g_a * s + (pk.b_g1_query[0] + pk.beta_g1) * r + c_acc;
        Ok(Proof {
            a: g_a.into_affine(),
            b: g2_b.into_affine(),
            c: g_c.into_affine(),
        })
    }
}

/// Verifies a withdraw proof against `public`.
pub fn verify(
    verifying_key: &VerifyingKey,
    public: &WithdrawPublicInputs,
    proof: &Proof,
) -> Result<bool, ZkError> {
    if verifying_key.gamma_abc_g1.len() != PUBLIC_INPUTS + 1 {
        return Err(ZkError::Synthesis {
            stage: "verify",
            message: format!(
                "verifying key has {} public inputs, the withdraw circuit {PUBLIC_INPUTS}",
                verifying_key.gamma_abc_g1.len().saturating_sub(1)
            ),
        });
    }
    Groth16::<Bn254>::verify_proof(
        &prepare_verifying_key(verifying_key),
        proof,
        &public.to_array(),
    )
    .map_err(|e| synthesis("verify", &e))
}

fn fq_to_u256(value: Fq) -> U256 {
    U256::from_limbs(value.into_bigint().0)
}

fn u256_to_fq(value: U256, what: &str) -> Result<Fq, ZkError> {
    Fq::from_bigint(ark_ff::BigInt(value.into_limbs())).ok_or_else(|| ZkError::BadProof {
        reason: format!("{what} is not below the bn254 base field modulus"),
    })
}

/// The proof as the verifier contract takes it:
/// `a.x, a.y, b.x[1], b.x[0], b.y[1], b.y[0], c.x, c.y` (G2 imaginary part first).
pub fn proof_to_words(proof: &Proof) -> [U256; 8] {
    let g1 = |p: &G1Affine| p.xy().map_or((Fq::zero(), Fq::zero()), |(x, y)| (x, y));
    let g2 = |p: &G2Affine| p.xy().map_or((Fq2::zero(), Fq2::zero()), |(x, y)| (x, y));
    let (ax, ay) = g1(&proof.a);
    let (bx, by) = g2(&proof.b);
    let (cx, cy) = g1(&proof.c);
    [ax, ay, bx.c1, bx.c0, by.c1, by.c0, cx, cy].map(fq_to_u256)
}

/// `abi.encode(uint256[8])` of [`proof_to_words`]: the `bytes proof` argument of `withdraw`.
pub fn proof_to_bytes(proof: &Proof) -> Vec<u8> {
    proof_to_words(proof)
        .iter()
        .flat_map(|word| word.to_be_bytes::<32>())
        .collect()
}

/// Decodes [`proof_to_bytes`]; rejects coordinates above the field and points off the
/// curve or outside the prime-order subgroup.
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof, ZkError> {
    if bytes.len() != PROOF_BYTES {
        return Err(ZkError::BadProof {
            reason: format!("expected {PROOF_BYTES} bytes, got {}", bytes.len()),
        });
    }
    let mut words = [U256::ZERO; 8];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(32)) {
        *word = U256::from_be_slice(chunk);
    }
    let names = [
        "a.x", "a.y", "b.x[1]", "b.x[0]", "b.y[1]", "b.y[0]", "c.x", "c.y",
    ];
    let mut fq = [Fq::zero(); 8];
    for ((out, word), name) in fq.iter_mut().zip(words).zip(names) {
        *out = u256_to_fq(word, name)?;
    }
    let g1 = |x: Fq, y: Fq, name: &str| -> Result<G1Affine, ZkError> {
        if x.is_zero() && y.is_zero() {
            return Ok(G1Affine::zero());
        }
        let point = G1Affine::new_unchecked(x, y);
        if point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve() {
            Ok(point)
        } else {
            Err(ZkError::BadProof {
                reason: format!("{name} is not a bn254 G1 point"),
            })
        }
    };
    let b = {
        let (x, y) = (Fq2::new(fq[3], fq[2]), Fq2::new(fq[5], fq[4]));
        if x.is_zero() && y.is_zero() {
            G2Affine::zero()
        } else {
            let point = G2Affine::new_unchecked(x, y);
            if !(point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve()) {
                return Err(ZkError::BadProof {
                    reason: "b is not a bn254 G2 point in the prime-order subgroup".to_owned(),
                });
            }
            point
        }
    };
    Ok(Proof {
        a: g1(fq[0], fq[1], "a")?,
        b,
        c: g1(fq[6], fq[7], "c")?,
    })
}

#[cfg(test)]
mod tests {
    use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
    use ark_poly::GeneralEvaluationDomain;
    use ark_std::UniformRand;
    use rand::{SeedableRng as _, rngs::StdRng as RandStdRng};

    use super::*;
    use crate::{MerkleTree, Note};

    /// Our prover rearranges the MSMs (C's L, r·B and H terms in one sum, G2 formulas of
    /// its own), so for the same r and s it must give arkworks' proof point for point.
    #[test]
    fn same_proof_as_ark_groth16_for_the_same_randomness() {
        let prover = WithdrawProver::setup_from_seed([5; 32]).expect("setup");
        let shape = prover.shape();
        let mut rng = RandStdRng::seed_from_u64(11);
        let note = Note::generate("wtao", "1", 945, &mut rng).expect("valid pool");
        let mut tree = MerkleTree::from_leaves(&[Fr::from(1u64), Fr::from(2u64)]).expect("fits");
        let index = tree.insert(note.commitment()).expect("room");
        let public = WithdrawPublicInputs {
            root: tree.root(),
            nullifier_hash: note.nullifier_hash(),
            recipient: Fr::from(7u64),
            relayer: Fr::from(8u64),
            fee: Fr::from(9u64),
            refund: Fr::from(0u64),
        };
        let witness = WithdrawWitness::new(&note, tree.path(index).expect("inserted"));
        let assignment = shape.assignment(&public, &witness).expect("witness");
        let ark_h =
            LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
                shape.matrices(),
                shape.num_instance_variables(),
                shape.num_constraints(),
                &assignment,
            )
            .expect("ark witness map");
        let rows = shape.satisfied_rows(&assignment).expect("satisfied");
        let domain = &shape.quotient_domain;
        let h = domain.quotient(rows.clone(), &assignment[..shape.num_instance_variables()]);
        let natural: Vec<Fr> = (0..domain.size())
            .map(|j| h[domain.fft.bit_reverse(j)])
            .collect();
        assert_eq!(natural[..ark_h.len()], ark_h[..]);
        assert!(natural[ark_h.len()..].iter().all(Zero::is_zero));
        let mut ark_rng = StdRng::from_seed([3; 32]);
        for _ in 0..2 {
            let (r, s) = (Fr::rand(&mut ark_rng), Fr::rand(&mut ark_rng));
            let ours = prover
                .prove_assignment(&assignment, rows.clone(), r, s)
                .expect("proof");
            let theirs =
                Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
                    prover.proving_key(),
                    r,
                    s,
                    shape.matrices(),
                    shape.num_instance_variables(),
                    shape.num_constraints(),
                    &assignment,
                )
                .expect("ark proof");
            assert_eq!(ours, theirs);
            assert!(verify(prover.verifying_key(), &public, &ours).expect("verifies"));
        }
    }
}
