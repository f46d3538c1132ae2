//! The withdraw circuit: satisfied by a real note and path, violated by any other input.

use std::sync::OnceLock;

use taonado_zk::{
    CircuitShape, Fr, MerklePath, Note, WithdrawPublicInputs, WithdrawWitness, ZkError,
    check_witness,
};

use crate::{fr, vectors};

pub fn shape() -> &'static CircuitShape {
    static SHAPE: OnceLock<CircuitShape> = OnceLock::new();
    SHAPE.get_or_init(|| CircuitShape::withdraw().expect("the withdraw circuit synthesises"))
}

/// Note 2 of the vectors, leaf 2 of the vectors' 10-leaf tree, and its published path.
pub fn vector_withdrawal() -> (WithdrawPublicInputs, WithdrawWitness) {
    let proof = &vectors()["merkle"]["proof_leaf2_of_10"];
    let note_case = &vectors()["notes"][2];
    let note = Note::parse(note_case["note"].as_str().expect("note")).expect("valid note");
    assert_eq!(note.commitment(), fr(&proof["leaf"]));
    let elements: Vec<Fr> = proof["pathElements"]
        .as_array()
        .expect("list")
        .iter()
        .map(fr)
        .collect();
    let indices: Vec<bool> = proof["pathIndices"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_u64() == Some(1))
        .collect();
    let path = MerklePath {
        elements: elements.try_into().expect("20 elements"),
        indices: indices.try_into().expect("20 indices"),
    };
    let public = WithdrawPublicInputs {
        root: fr(&proof["root"]),
        nullifier_hash: fr(&note_case["nullifierHash"]),
        recipient: Fr::from(0x70997970c51812dc_u64),
        relayer: Fr::from(0x3c44cdddb6a900fa_u64),
        fee: Fr::from(5_000_000_000_000_000u64),
        refund: Fr::from(0u64),
    };
    (public, WithdrawWitness::new(&note, path))
}

#[test]
fn constraint_count_is_below_tornados_circom_circuit() {
    let shape = shape();
    // circom --O2 needs 28,275 constraints for the same statement.
    assert!(
        shape.num_constraints() < 28_275,
        "{} constraints",
        shape.num_constraints()
    );
    assert_eq!(shape.num_public_inputs(), 6);
}

#[test]
fn real_note_and_path_satisfy_the_circuit() {
    let (public, witness) = vector_withdrawal();
    check_witness(shape(), &public, &witness).expect("the vector withdrawal is valid");
}

#[test]
fn changing_any_public_input_breaks_the_assignment() {
    let (public, witness) = vector_withdrawal();
    let assignment = shape().assignment(&public, &witness).expect("synthesises");
    assert_eq!(shape().first_unsatisfied(&assignment), None);
    for input in 0..6 {
        // Instance variable 0 is the constant 1; inputs follow in the verifier's order.
        let mut tampered = assignment.clone();
        tampered[1 + input] += Fr::from(1u64);
        assert!(
            shape().first_unsatisfied(&tampered).is_some(),
            "public input {input} is not bound by any constraint"
        );
    }
}

#[test]
fn wrong_witnesses_are_rejected() {
    let (public, witness) = vector_withdrawal();
    let unsatisfied = |public: &WithdrawPublicInputs, witness: &WithdrawWitness| {
        matches!(
            check_witness(shape(), public, witness),
            Err(ZkError::Unsatisfied { .. })
        )
    };
    let mut wrong_root = public;
    wrong_root.root += Fr::from(1u64);
    assert!(unsatisfied(&wrong_root, &witness));
    let mut wrong_nullifier_hash = public;
    wrong_nullifier_hash.nullifier_hash += Fr::from(1u64);
    assert!(unsatisfied(&wrong_nullifier_hash, &witness));
    let mut wrong_secret = witness.clone();
    wrong_secret.secret[30] ^= 1;
    assert!(unsatisfied(&public, &wrong_secret));
    let mut wrong_nullifier = witness.clone();
    wrong_nullifier.nullifier[0] ^= 1;
    assert!(unsatisfied(&public, &wrong_nullifier));
    let mut wrong_sibling = witness.clone();
    wrong_sibling.path.elements[19] += Fr::from(1u64);
    assert!(unsatisfied(&public, &wrong_sibling));
    let mut wrong_index = witness;
    wrong_index.path.indices[0] = !wrong_index.path.indices[0];
    assert!(unsatisfied(&public, &wrong_index));
}

#[test]
fn circuit_hash_is_deterministic() {
    let again = CircuitShape::withdraw().expect("synthesises");
    assert_eq!(again.hash(), shape().hash());
    assert_eq!(again.num_constraints(), shape().num_constraints());
}
