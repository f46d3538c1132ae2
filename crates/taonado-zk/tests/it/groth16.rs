//! Groth16 setup, proving, verification, proof encoding and key files. Setup and proving
//! are slow in debug builds, so they run only with `TAONADO_SLOW_TESTS=1`; the committed
//! local verifying key is always checked against the circuit.

use std::path::PathBuf;

use taonado_zk::{
    CircuitShape, Fr, WithdrawProver, ZkError, groth16::LOCAL_DEV_SETUP_SEED, keys,
    proof_from_bytes, proof_to_bytes, verify,
};

use crate::{circuit::vector_withdrawal, slow_tests_enabled};

fn local_keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
}

#[test]
fn committed_local_verifying_key_matches_this_circuit() {
    let shape = CircuitShape::withdraw().expect("synthesises");
    let path = local_keys_dir().join(keys::VERIFYING_KEY_FILE);
    let vk = keys::read_verifying_key(&path, shape.hash()).unwrap_or_else(|e| {
        panic!("{e}: regenerate with `cargo run --release -p taonado-zk --example local-keys`")
    });
    assert_eq!(vk.gamma_abc_g1.len(), 7);
    let other = taonado_zk::groth16::CircuitHash::repeat_byte(0xab);
    assert!(matches!(
        keys::read_verifying_key(&path, other),
        Err(ZkError::CircuitMismatch { .. })
    ));
}

#[test]
fn prove_verify_tamper_and_key_files() {
    if !slow_tests_enabled() {
        return;
    }
    let prover = WithdrawProver::setup_from_seed(LOCAL_DEV_SETUP_SEED).expect("setup");
    let (public, witness) = vector_withdrawal();
    let mut rng = rand::rng();
    let proof = prover
        .prove(&public, &witness, &mut rng)
        .expect("valid witness");
    assert!(verify(prover.verifying_key(), &public, &proof).expect("well-formed"));

    for input in 0..6 {
        let mut tampered = public;
        let field = match input {
            0 => &mut tampered.root,
            1 => &mut tampered.nullifier_hash,
            2 => &mut tampered.recipient,
            3 => &mut tampered.relayer,
            4 => &mut tampered.fee,
            _ => &mut tampered.refund,
        };
        *field += Fr::from(1u64);
        assert!(
            !verify(prover.verifying_key(), &tampered, &proof).expect("well-formed"),
            "proof still verifies with public input {input} changed"
        );
    }

    let bytes = proof_to_bytes(&proof);
    assert_eq!(bytes.len(), 256);
    assert_eq!(proof_from_bytes(&bytes).expect("decodes"), proof);

    // An invalid witness is refused before proving.
    let mut wrong = witness.clone();
    wrong.secret[0] ^= 1;
    assert!(matches!(
        prover.prove(&public, &wrong, &mut rng),
        Err(ZkError::Unsatisfied { .. })
    ));

    // Key files round-trip and are bound to the circuit.
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = keys::KeyPaths::in_dir(dir.path());
    keys::write_proving_key(&paths.proving_key, &prover).expect("writes");
    keys::write_verifying_key(
        &paths.verifying_key,
        prover.verifying_key(),
        prover.shape().hash(),
        keys::LOCAL_DEV_SETUP,
    )
    .expect("writes");
    let loaded = keys::read_proving_key(&paths.proving_key, prover.shape().clone()).expect("reads");
    assert_eq!(loaded.verifying_key(), prover.verifying_key());
    let vk = keys::read_verifying_key(&paths.verifying_key, prover.shape().hash()).expect("reads");
    assert_eq!(&vk, prover.verifying_key());
    let proof2 = loaded
        .prove(&public, &witness, &mut rng)
        .expect("valid witness");
    assert!(verify(&vk, &public, &proof2).expect("well-formed"));

    // The committed local keys are exactly what the deterministic local setup makes.
    let committed = keys::read_verifying_key(
        &local_keys_dir().join(keys::VERIFYING_KEY_FILE),
        prover.shape().hash(),
    )
    .expect("committed key");
    assert_eq!(&committed, prover.verifying_key());

    // A proving key whose recorded hash differs is refused.
    let mut bytes = std::fs::read(&paths.proving_key).expect("reads");
    bytes[16] ^= 1;
    std::fs::write(&paths.proving_key, &bytes).expect("writes");
    assert!(matches!(
        keys::read_proving_key(&paths.proving_key, prover.shape().clone()),
        Err(ZkError::CircuitMismatch { .. })
    ));
}
