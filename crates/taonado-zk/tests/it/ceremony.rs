//! The phase-2 ceremony on the real withdraw circuit: three contributions, exported keys
//! that prove and verify, and tampered transcripts that verification rejects. Setup and
//! proving are slow in debug builds, so they run only with `TAONADO_SLOW_TESTS=1`.

use std::path::PathBuf;

use taonado_zk::{
    CircuitShape, ZkError,
    ceremony::{Ceremony, Phase1},
    keys::{self, KeyProvenance},
    verify,
};

use crate::{circuit::vector_withdrawal, slow_tests_enabled};

#[test]
fn committed_local_key_is_recognised_as_the_local_dev_key() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../keys/local")
        .join(keys::VERIFYING_KEY_FILE);
    let text = std::fs::read_to_string(&path).expect("committed local key");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        KeyProvenance::from_json(&value).setup,
        keys::LOCAL_DEV_SETUP
    );
    let shape = CircuitShape::withdraw().expect("synthesises");
    let vk = keys::read_verifying_key(&path, shape.hash()).expect("reads");
    assert!(keys::is_local_dev_verifying_key(&vk));
    let mut other = vk.clone();
    other.alpha_g1 = other.gamma_abc_g1[0];
    assert!(!keys::is_local_dev_verifying_key(&other));
}

#[test]
fn three_party_ceremony_exports_keys_that_prove_and_rejects_tampering() {
    if !slow_tests_enabled() {
        return;
    }
    let shape = CircuitShape::withdraw().expect("synthesises");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("withdraw.ceremony");

    let ceremony = Ceremony::init_withdraw("unit-test", &shape).expect("init");
    assert_eq!(ceremony.phase1(), &Phase1::local_insecure("unit-test"));
    ceremony.write(&file).expect("writes");
    for (party, entropy) in [("alice", "a"), ("bob", ""), ("carol", "c")] {
        let mut ceremony = Ceremony::read(&file).expect("reads");
        ceremony
            .contribute_with_entropy(party, entropy.as_bytes())
            .expect("contributes");
        ceremony.write(&file).expect("writes");
    }
    let ceremony = Ceremony::read(&file).expect("reads");
    let verified = ceremony
        .verify_withdraw(&shape)
        .expect("honest ceremony verifies");
    assert_eq!(verified.contributions.len(), 3);
    assert!(verified.phase1_insecure);

    // Tampered files: a flipped parameter byte, an edited contributor name.
    let bytes = std::fs::read(&file).expect("reads");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 40;
    flipped[last] ^= 1;
    let initial = ceremony.phase1().withdraw_params().expect("phase 1");
    let tampered = Ceremony::from_bytes(&file, &flipped).expect("parses");
    assert!(matches!(
        tampered.verify(&initial, shape.hash()),
        Err(ZkError::CeremonyRejected { .. })
    ));
    let at = bytes
        .windows(5)
        .position(|w| w == b"\"bob\"")
        .expect("bob is in the header");
    let mut renamed = bytes.clone();
    renamed[at + 1..at + 4].copy_from_slice(b"eve");
    let renamed = Ceremony::from_bytes(&file, &renamed).expect("parses");
    assert!(matches!(
        renamed.verify(&initial, shape.hash()),
        Err(ZkError::CeremonyRejected {
            contribution: Some(1),
            ..
        })
    ));

    // Exported keys prove and verify, and say where they came from.
    let keys_dir = dir.path().join("keys");
    let (_, paths) = ceremony.export(shape.clone(), &keys_dir).expect("exports");
    let prover = keys::read_proving_key(&paths.proving_key, shape.clone()).expect("reads");
    let vk = keys::read_verifying_key(&paths.verifying_key, shape.hash()).expect("reads");
    assert_eq!(&vk, prover.verifying_key());
    assert!(!keys::is_local_dev_verifying_key(&vk));
    let (public, witness) = vector_withdrawal();
    let proof = prover
        .prove(&public, &witness, &mut rand::rng())
        .expect("valid witness");
    assert!(verify(&vk, &public, &proof).expect("well-formed"));
    let mut wrong_fee = public;
    wrong_fee.fee += taonado_zk::Fr::from(1u64);
    assert!(!verify(&vk, &wrong_fee, &proof).expect("well-formed"));

    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&paths.verifying_key).expect("reads"))
            .expect("JSON");
    let provenance = KeyProvenance::from_json(&value);
    assert_eq!(provenance.setup, "ceremony:unit-test");
    assert_eq!(provenance.phase1.as_deref(), Some("local-insecure"));
    assert_eq!(provenance.contributions, Some(3));
    assert_eq!(
        provenance.transcript_hash,
        Some(verified.transcript_hash.to_string())
    );
}
