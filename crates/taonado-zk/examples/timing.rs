//! Temporary timing probe.
use std::time::Instant;
use taonado_zk::*;
fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    let n: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    if what == "tree" {
        let leaves = splitmix_leaves(100_000, BENCH_LEAF_SEED);
        for _ in 0..n { let t = Instant::now(); let r = MerkleTree::from_leaves(&leaves).unwrap().root(); println!("tree {:?} {}", t.elapsed(), fr_to_u256(r)); }
        return;
    }
    let prover = WithdrawProver::setup_from_seed(groth16::LOCAL_DEV_SETUP_SEED).unwrap();
    let mut rng = rand::rng();
    let note = Note::generate("wtao", "1", 945, &mut rng).unwrap();
    let mut tree = MerkleTree::new();
    let i = tree.insert(note.commitment()).unwrap();
    let public = WithdrawPublicInputs { root: tree.root(), nullifier_hash: note.nullifier_hash(), ..Default::default() };
    let witness = WithdrawWitness::new(&note, tree.path(i).unwrap());
    for _ in 0..n { let t = Instant::now(); prover.prove(&public, &witness, &mut rng).unwrap(); println!("prove {:?}", t.elapsed()); }
}
