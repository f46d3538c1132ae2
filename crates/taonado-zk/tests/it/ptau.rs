//! Phase 1 from a snarkjs powers of tau: the committed power-6 fixture (made by
//! `testdata/make-ptau.sh`) is read point for point as snarkjs reads it, a ceremony on it
//! proves and verifies with arkworks, and damaged or foreign files are rejected.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{One, PrimeField};
use ark_groth16::Groth16;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, LinearCombination,
    OptimizationGoal, R1CS_PREDICATE_LABEL, SynthesisError, SynthesisMode, Variable,
};
use ark_relations::utils::matrix::Matrix;
use ark_snark::SNARK;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use taonado_zk::{
    Fr, PtauError, ZkError,
    ceremony::{Ceremony, Phase1},
    ptau::{ImportStage, PtauFile, QapShape, blake2b_file},
};

/// sha256 of `testdata/pot6_final.ptau` as `make-ptau.sh` prints it.
const FIXTURE_SHA256: &str = "9f2db650b009f3c08a8d702ee9dd21b5914f222990cf5dbd155e8547e1ea6adf";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn fixture() -> PathBuf {
    let path = testdata("pot6_final.ptau");
    let bytes = std::fs::read(&path).expect("committed fixture");
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        FIXTURE_SHA256,
        "pot6_final.ptau changed; regenerate it with testdata/make-ptau.sh and update the hash"
    );
    path
}

/// Six public inputs (as the withdraw circuit has): `x·x = p0`, `(x + k)·1 = p_k`, and
/// one witness-only row `x·p1 = w`.
#[derive(Clone)]
struct SixInputs {
    x: Option<Fr>,
}

impl SixInputs {
    fn inputs(x: Fr) -> Vec<Fr> {
        let mut inputs = vec![x * x];
        inputs.extend((1..6u64).map(|k| x + Fr::from(k)));
        inputs
    }
}

impl ConstraintSynthesizer<Fr> for SixInputs {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let values = self.x.map(Self::inputs);
        let inputs: Vec<Variable> = (0..6)
            .map(|k| {
                cs.new_input_variable(|| {
                    values
                        .as_ref()
                        .map(|v| v[k])
                        .ok_or(SynthesisError::AssignmentMissing)
                })
            })
            .collect::<Result<_, _>>()?;
        let x = cs.new_witness_variable(|| self.x.ok_or(SynthesisError::AssignmentMissing))?;
        let w = cs.new_witness_variable(|| {
            values
                .as_ref()
                .zip(self.x)
                .map(|(v, x)| x * v[1])
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        cs.enforce_r1cs_constraint(
            || LinearCombination::from(x),
            || LinearCombination::from(x),
            || LinearCombination::from(inputs[0]),
        )?;
        for (k, input) in inputs.iter().enumerate().skip(1) {
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x) + (Fr::from(k as u64), Variable::One),
                || LinearCombination::from(Variable::One),
                || LinearCombination::from(*input),
            )?;
        }
        cs.enforce_r1cs_constraint(
            || LinearCombination::from(x),
            || LinearCombination::from(inputs[1]),
            || LinearCombination::from(w),
        )?;
        Ok(())
    }
}

struct Matrices {
    matrices: Vec<Matrix<Fr>>,
    instance: usize,
    witness: usize,
    constraints: usize,
}

impl Matrices {
    fn of_six_inputs() -> Self {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        SixInputs { x: None }
            .generate_constraints(cs.clone())
            .expect("synthesises");
        cs.finalize();
        let matrices = cs
            .to_matrices()
            .expect("matrices")
            .remove(R1CS_PREDICATE_LABEL)
            .expect("r1cs matrices");
        Self {
            matrices,
            instance: cs.num_instance_variables(),
            witness: cs.num_witness_variables(),
            constraints: cs.num_constraints(),
        }
    }

    fn shape(&self) -> QapShape<'_> {
        QapShape {
            matrices: &self.matrices,
            num_instance_variables: self.instance,
            num_witness_variables: self.witness,
            num_constraints: self.constraints,
        }
    }
}

fn circuit_hash() -> B256 {
    B256::repeat_byte(6)
}

fn ptau_error(result: Result<impl std::fmt::Debug, ZkError>) -> PtauError {
    match result {
        Err(ZkError::Ptau { source, .. }) => source,
        other => panic!("expected a ptau error, got {other:?}"),
    }
}

/// The fixture with `edit` applied, written to a temporary file.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(fixture()).expect("reads");
    edit(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

/// Byte offset of section `id`'s contents in the fixture.
fn section_offset(bytes: &[u8], id: u32) -> usize {
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let mut at = 12;
    for _ in 0..word(8) {
        let size = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().expect("8 bytes"));
        if word(at) == id {
            return at + 12;
        }
        at += 12 + size as usize;
    }
    panic!("section {id} not in the fixture")
}

#[test]
fn fixture_points_equal_what_snarkjs_reads() {
    let path = fixture();
    let excerpt: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("pot6_export.json")).expect("excerpt"),
    )
    .expect("JSON");
    let fq = |v: &Value| Fq::from_le_bytes_mod_order(&decimal_le(v));
    let g1 = |v: &Value| G1Affine::new(fq(&v[0]), fq(&v[1]));
    let g2 = |v: &Value| {
        G2Affine::new(
            Fq2::new(fq(&v[0][0]), fq(&v[0][1])),
            Fq2::new(fq(&v[1][0]), fq(&v[1][1])),
        )
    };
    let mut file = PtauFile::open(&path).expect("opens");
    assert_eq!((file.power(), file.ceremony_power()), (6, 6));
    assert!(file.has_lagrange());
    let powers = file.read_powers(16).expect("reads and checks");
    for i in 0..3 {
        assert_eq!(powers.tau_g1[i], g1(&excerpt["tauG1"][i]), "tauG1[{i}]");
    }
    for i in 0..2 {
        assert_eq!(powers.tau_g2[i], g2(&excerpt["tauG2"][i]), "tauG2[{i}]");
        assert_eq!(powers.alpha_tau_g1[i], g1(&excerpt["alphaTauG1"][i]));
        assert_eq!(powers.beta_tau_g1[i], g1(&excerpt["betaTauG1"][i]));
        assert_eq!(powers.lagrange_g1[i], g1(&excerpt["lagrangeG1_16"][i]));
    }
    assert_eq!(powers.beta_g2, g2(&excerpt["betaG2"][0]));
    assert_eq!(powers.tau_g1[0], G1Affine::generator());
}

/// A decimal string as 32 little-endian bytes.
fn decimal_le(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("decimal string");
    let mut bytes = vec![0u8; 32];
    for digit in text.bytes() {
        let mut carry = u32::from(digit - b'0');
        for byte in bytes.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0, "{text} overflows 256 bits");
    }
    bytes
}

#[test]
fn ceremony_on_the_fixture_proves_and_verifies() {
    let path = fixture();
    let matrices = Matrices::of_six_inputs();
    let shape = matrices.shape();
    assert_eq!(shape.domain_size().expect("small"), 16);
    let mut stages = Vec::new();
    let mut ceremony = Ceremony::from_ptau("ptau-unit", circuit_hash(), &shape, &path, &mut |s| {
        stages.push(s)
    })
    .expect("imports");
    assert_eq!(
        stages,
        [
            ImportStage::Hashing,
            ImportStage::Reading,
            ImportStage::Computing
        ]
    );
    let phase1 = ceremony.phase1().clone();
    let blake2b = blake2b_file(&path).expect("hashes");
    assert_eq!(phase1, Phase1::ptau(&blake2b, 6));
    // Not a published file: labelled by hash and not trusted.
    assert_eq!(
        phase1.label(),
        format!("ptau:{}:unrecognised-insecure", &blake2b[..16])
    );
    assert!(phase1.is_insecure());
    assert!(!Phase1::is_trusted_label(&phase1.label()));
    assert!(Phase1::is_trusted_label("hermez-ppot-final-15"));

    let initial = ceremony.params().clone();
    let mut rng = rand::rng();
    for party in ["alice", "bob"] {
        ceremony.contribute(party, &mut rng).expect("contributes");
    }
    // The verifier recomputes phase 1 from the same file.
    let recomputed = phase1.ptau_params(&shape, Some(&path)).expect("recomputes");
    assert_eq!(recomputed, initial);
    let verified = ceremony
        .verify(&recomputed, circuit_hash())
        .expect("honest ceremony verifies");
    assert_eq!(verified.contributions.len(), 2);
    assert!(verified.phase1_insecure);
    assert!(matches!(
        phase1.ptau_params(&shape, None),
        Err(ZkError::PtauNeeded { .. })
    ));

    let x = Fr::from(3u64);
    let mut rng = StdRng::seed_from_u64(3);
    let proof = Groth16::<Bn254>::prove(ceremony.params(), SixInputs { x: Some(x) }, &mut rng)
        .expect("proves");
    let vk = &ceremony.params().vk;
    assert!(Groth16::<Bn254>::verify(vk, &SixInputs::inputs(x), &proof).expect("verifies"));
    let mut wrong = SixInputs::inputs(x);
    wrong[5] += Fr::one();
    assert!(!Groth16::<Bn254>::verify(vk, &wrong, &proof).expect("verifies"));
    // The phase-1 parameters alone (δ = 1) prove too: the import itself is a valid setup.
    let proof =
        Groth16::<Bn254>::prove(&initial, SixInputs { x: Some(x) }, &mut rng).expect("proves");
    assert!(
        Groth16::<Bn254>::verify(&initial.vk, &SixInputs::inputs(x), &proof).expect("verifies")
    );
}

#[test]
fn a_flipped_point_byte_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let matrices = Matrices::of_six_inputs();
    let import = |path: &Path| {
        Ceremony::from_ptau("bad", circuit_hash(), &matrices.shape(), path, &mut |_| {})
            .map(|c| c.transcript_hash())
    };
    // tauG1 point 3, low byte of x: off the curve.
    let flipped = edited(dir.path(), "flipped.ptau", |bytes| {
        let at = section_offset(bytes, 2) + 3 * 64;
        bytes[at] ^= 1;
    });
    let error = ptau_error(import(&flipped));
    assert!(
        matches!(
            error,
            PtauError::BadPoint {
                section: "tauG1",
                index: 3,
                ..
            }
        ),
        "{error}"
    );
    // A G2 point on the curve but outside the subgroup, in the Lagrange tauG2 basis of 16.
    let outside = edited(dir.path(), "outside.ptau", |bytes| {
        let mut rng = StdRng::seed_from_u64(2);
        let point = loop {
            let x = <Fq2 as ark_std::UniformRand>::rand(&mut rng);
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                break p;
            }
        };
        // Montgomery limbs, little-endian: the file's encoding.
        let encoded: Vec<u8> = [point.x.c0, point.x.c1, point.y.c0, point.y.c1]
            .iter()
            .flat_map(|c| c.0.0.iter().flat_map(|limb| limb.to_le_bytes()))
            .collect();
        let at = section_offset(bytes, 13) + (15 + 4) * 128;
        bytes[at..at + 128].copy_from_slice(&encoded);
    });
    let error = ptau_error(import(&outside));
    assert_eq!(
        error,
        PtauError::BadPoint {
            section: "lagrange tauG2",
            index: 19,
            reason: "it is not in the prime-order subgroup"
        }
    );
    // Two valid points swapped: only the consistency check can tell.
    let swapped = edited(dir.path(), "swapped.ptau", |bytes| {
        let at = section_offset(bytes, 2);
        let (first, second) = bytes[at + 64..at + 192].split_at_mut(64);
        first.swap_with_slice(second);
    });
    let error = ptau_error(import(&swapped));
    assert!(matches!(error, PtauError::Inconsistent { .. }), "{error}");
    assert!(error.to_string().contains("tauG1"), "{error}");
    // A Lagrange point replaced by another valid point of the same section.
    let lagrange = edited(dir.path(), "lagrange.ptau", |bytes| {
        let at = section_offset(bytes, 12) + 15 * 64;
        let donor = bytes[at + 64..at + 128].to_vec();
        bytes[at..at + 64].copy_from_slice(&donor);
    });
    let error = ptau_error(import(&lagrange));
    assert!(error.to_string().contains("Lagrange tauG1"), "{error}");
}

#[test]
fn foreign_truncated_and_unprepared_files_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_ptau = dir.path().join("vk.json");
    std::fs::write(&not_ptau, b"{\"protocol\": \"groth16\"}").expect("writes");
    assert_eq!(ptau_error(PtauFile::open(&not_ptau)), PtauError::NotPtau);
    let message = ZkError::Ptau {
        path: not_ptau.clone(),
        source: PtauError::NotPtau,
    }
    .to_string();
    assert!(
        message.contains("not a snarkjs powers-of-tau file"),
        "{message}"
    );

    let truncated = edited(dir.path(), "truncated.ptau", |bytes| bytes.truncate(40_000));
    assert!(matches!(
        ptau_error(PtauFile::open(&truncated)),
        PtauError::Truncated { .. }
    ));
    // Renaming section 12 makes the file look like one before `prepare phase2`.
    let unprepared = edited(dir.path(), "unprepared.ptau", |bytes| {
        let at = section_offset(bytes, 12) - 12;
        bytes[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    });
    let error = ptau_error(PtauFile::open(&unprepared).and_then(|mut f| f.read_powers(16)));
    assert!(
        matches!(error, PtauError::MissingSection { id: 12, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("prepare phase2"), "{error}");
    let too_big = ptau_error(PtauFile::open(&fixture()).and_then(|mut f| f.read_powers(128)));
    assert_eq!(
        too_big,
        PtauError::PowerTooSmall {
            needed: 7,
            power: 6
        }
    );
}

#[test]
fn verification_needs_the_very_same_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let matrices = Matrices::of_six_inputs();
    let shape = matrices.shape();
    let ceremony = Ceremony::from_ptau("same", circuit_hash(), &shape, &fixture(), &mut |_| {})
        .expect("imports");
    // Same points, different contributions section: another file.
    let other = edited(dir.path(), "other.ptau", |bytes| {
        let at = section_offset(bytes, 7);
        bytes[at + 200] ^= 0xff;
    });
    let error = ptau_error(ceremony.phase1().ptau_params(&shape, Some(&other)));
    assert!(matches!(error, PtauError::HashMismatch { .. }), "{error}");
}
