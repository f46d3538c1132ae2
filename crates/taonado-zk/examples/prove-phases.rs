//! Where a withdraw proof's time goes, in wall time and in CPU time (which a loaded,
//! shared machine distorts far less): `cargo run --release -p taonado-zk --example
//! prove-phases [ROUNDS]`. Compares our prover and MSM with ark-groth16's.

use std::time::{Duration, Instant};

use ark_bn254::{Bn254, G1Projective, G2Projective};
use ark_ec::VariableBaseMSM;
use ark_ff::PrimeField;
use ark_groth16::{
    Groth16,
    r1cs_to_qap::{LibsnarkReduction, R1CSToQAP},
};
use ark_poly::GeneralEvaluationDomain;
use ark_std::{
    UniformRand,
    rand::{SeedableRng, rngs::StdRng},
};
use taonado_zk::{
    BENCH_LEAF_SEED, Fr, MerkleTree, Note, WithdrawProver, WithdrawPublicInputs, WithdrawWitness,
    groth16::LOCAL_DEV_SETUP_SEED, msm, splitmix_leaves, verify,
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

fn measure<T>(label: &str, mut f: impl FnMut() -> T) -> T {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let out = f();
    println!(
        "{label:>24}: wall {:>8.1} ms  cpu {:>8.1} ms",
        wall.elapsed().as_secs_f64() * 1e3,
        (cpu_time() - cpu).as_secs_f64() * 1e3
    );
    out
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let prover = WithdrawProver::setup_from_seed(LOCAL_DEV_SETUP_SEED).expect("setup");
    let shape = prover.shape();
    let mut rng = rand::rng();
    let note = Note::generate("wtao", "1", 945, &mut rng).expect("valid pool");
    let mut tree = MerkleTree::from_leaves(&splitmix_leaves(100, BENCH_LEAF_SEED)).expect("fits");
    let index = tree.insert(note.commitment()).expect("room");
    let public = WithdrawPublicInputs {
        root: tree.root(),
        nullifier_hash: note.nullifier_hash(),
        recipient: Fr::from(1u64),
        relayer: Fr::from(2u64),
        fee: Fr::from(3u64),
        refund: Fr::from(0u64),
    };
    let witness = WithdrawWitness::new(&note, tree.path(index).expect("inserted"));
    let pk = prover.proving_key();
    let mut ark_rng = StdRng::from_seed([9; 32]);
    for round in 0..rounds {
        println!("round {round}");
        let assignment = measure("witness", || {
            shape.assignment(&public, &witness).expect("witness")
        });
        let _ = measure("satisfaction check", || {
            shape.first_unsatisfied(&assignment)
        });
        let h = measure("h (7 FFTs)", || {
            LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
                shape.matrices(),
                shape.num_instance_variables(),
                shape.num_constraints(),
                &assignment,
            )
            .expect("map")
        });
        let scalars: Vec<_> = assignment[1..].iter().map(|s| s.into_bigint()).collect();
        let h: Vec<_> = h.iter().map(|s| s.into_bigint()).collect();
        let _ = measure("ark msm A (G1)", || {
            G1Projective::msm_bigint(&pk.a_query[1..], &scalars)
        });
        let _ = measure("our msm A (G1)", || msm::msm(&pk.a_query[1..], &scalars));
        let _ = measure("ark msm B (G2)", || {
            G2Projective::msm_bigint(&pk.b_g2_query[1..], &scalars)
        });
        let _ = measure("our msm B (G2)", || msm::msm(&pk.b_g2_query[1..], &scalars));
        let _ = measure("ark msm H (G1)", || {
            G1Projective::msm_bigint(&pk.h_query, &h)
        });
        let _ = measure("our msm H (G1)", || msm::msm(&pk.h_query, &h));
        let proof = measure("our prove", || {
            prover.prove(&public, &witness, &mut rng).expect("proof")
        });
        assert!(verify(prover.verifying_key(), &public, &proof).expect("verifies"));
        let _ = measure("ark-groth16 prove", || {
            let (r, s) = (Fr::rand(&mut ark_rng), Fr::rand(&mut ark_rng));
            Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
                pk,
                r,
                s,
                shape.matrices(),
                shape.num_instance_variables(),
                shape.num_constraints(),
                &assignment,
            )
            .expect("proof")
        });
    }
}
