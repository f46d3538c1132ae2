//! Where a withdraw proof's time goes: `cargo run --release -p taonado-zk --example prove-phases`.

use std::time::Instant;

use ark_bn254::{G1Projective, G2Projective};
use ark_ec::AffineRepr;
use ark_ec::VariableBaseMSM;
use ark_ff::PrimeField;
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_poly::GeneralEvaluationDomain;
use taonado_zk::{
    BENCH_LEAF_SEED, Fr, MerkleTree, Note, WithdrawProver, WithdrawPublicInputs, WithdrawWitness,
    groth16::LOCAL_DEV_SETUP_SEED, splitmix_leaves,
};

fn main() {
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
    let zero = |q: &[ark_bn254::G1Affine]| q.iter().filter(|p| p.is_zero()).count();
    println!(
        "a {} (zero {}), b_g1 {} (zero {}), b_g2 {}, h {}, l {}",
        pk.a_query.len(),
        zero(&pk.a_query),
        pk.b_g1_query.len(),
        zero(&pk.b_g1_query),
        pk.b_g2_query.len(),
        pk.h_query.len(),
        pk.l_query.len()
    );
    for _ in 0..3 {
        let t = Instant::now();
        let assignment = shape.assignment(&public, &witness).expect("witness");
        let t_witness = t.elapsed();
        let t = Instant::now();
        assert!(shape.first_unsatisfied(&assignment).is_none());
        let t_check = t.elapsed();
        let t = Instant::now();
        let h = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
            shape.matrices(),
            shape.num_instance_variables(),
            shape.num_constraints(),
            &assignment,
        )
        .expect("map");
        let t_h = t.elapsed();
        let bigints: Vec<_> = assignment.iter().map(|s| s.into_bigint()).collect();
        let small = bigints
            .iter()
            .filter(|b| b.0[1] == 0 && b.0[2] == 0 && b.0[3] == 0)
            .count();
        let hb: Vec<_> = h.iter().map(|s| s.into_bigint()).collect();
        let t = Instant::now();
        let _ = G1Projective::msm_bigint(&pk.a_query, &bigints);
        let t_a = t.elapsed();
        let t = Instant::now();
        let _ = G1Projective::msm_bigint(&pk.b_g1_query, &bigints);
        let t_b1 = t.elapsed();
        let t = Instant::now();
        let _ = G2Projective::msm_bigint(&pk.b_g2_query, &bigints);
        let t_b2 = t.elapsed();
        let t = Instant::now();
        let _ = G1Projective::msm_bigint(&pk.h_query, &hb);
        let t_hm = t.elapsed();
        let t = Instant::now();
        let _ = G1Projective::msm_bigint(&pk.l_query, &bigints[shape.num_instance_variables()..]);
        let t_l = t.elapsed();
        let t = Instant::now();
        let _ = taonado_zk::msm::msm(&pk.a_query, &bigints);
        let o_a = t.elapsed();
        let t = Instant::now();
        let _ = taonado_zk::msm::msm(&pk.b_g2_query, &bigints);
        let o_b2 = t.elapsed();
        let t = Instant::now();
        let _ = taonado_zk::msm::msm(&pk.h_query, &hb);
        let o_hm = t.elapsed();
        println!("ours: msm A {o_a:?} B2 {o_b2:?} H {o_hm:?}");
        let t = Instant::now();
        let _ = prover.prove(&public, &witness, &mut rng).expect("proof");
        let t_total = t.elapsed();
        println!(
            "small scalars {small}/{}; witness {t_witness:?} check {t_check:?} h-map {t_h:?} | msm A {t_a:?} B1 {t_b1:?} B2 {t_b2:?} H {t_hm:?} L {t_l:?} | prove {t_total:?}",
            bigints.len()
        );
    }
}
