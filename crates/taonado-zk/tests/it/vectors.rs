//! Every entry of tornado-crypto.json, checked bit for bit.

use std::path::PathBuf;

use ark_ff::Zero;
use taonado_zk::{
    CircomPoint, Fr, MerkleTree, Note, fr_to_b256, hash_left_right, mimc::mimc_constants,
    mimc_feistel, pedersen::SQRT_168700, pedersen::generators, zeros,
};

use crate::{fr, vectors};

#[test]
fn committed_copy_equals_the_shared_file_when_present() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/tornado-crypto.json");
    // On CI and on developer machines shared/ sits beside the clone; elsewhere only the
    // committed copy exists and the other tests use it.
    if let Ok(text) = std::fs::read_to_string(&shared) {
        assert_eq!(
            text,
            include_str!("../vectors/tornado-crypto.json"),
            "tests/vectors/tornado-crypto.json is stale: copy {} over it",
            shared.display()
        );
    }
}

#[test]
fn mimc_constants_and_feistel() {
    let constants = &vectors()["constants"];
    let c = mimc_constants();
    assert_eq!(
        c.len().to_string(),
        constants["mimcsponge_nrounds"].to_string()
    );
    for (index, key) in [
        (0, "mimcsponge_c0"),
        (1, "mimcsponge_c1"),
        (2, "mimcsponge_c2"),
        (218, "mimcsponge_c218"),
        (219, "mimcsponge_c219"),
    ] {
        assert_eq!(c[index], fr(&constants[key]), "{key}");
    }
    for case in vectors()["mimcsponge_k0"].as_array().expect("list") {
        let (xl, xr) = mimc_feistel(fr(&case["xL_in"]), fr(&case["xR_in"]), fr(&case["k"]));
        assert_eq!(xl, fr(&case["xL_out"]), "{case}");
        assert_eq!(xr, fr(&case["xR_out"]), "{case}");
        assert_eq!(xl, fr(&case["xL_out_hex"]), "{case}");
        assert_eq!(xr, fr(&case["xR_out_hex"]), "{case}");
    }
}

#[test]
fn hash_left_right_vectors() {
    for case in vectors()["hash_left_right"].as_array().expect("list") {
        let out = hash_left_right(fr(&case["left"]), fr(&case["right"]));
        assert_eq!(out, fr(&case["out"]), "{case}");
        assert_eq!(out, fr(&case["out_hex"]), "{case}");
    }
}

#[test]
fn zero_values() {
    let constants = &vectors()["constants"];
    assert_eq!(zeros()[0], fr(&constants["ZERO_VALUE"]));
    assert_eq!(zeros()[0], fr(&constants["ZERO_VALUE_hex"]));
    let expected = vectors()["zeros"]["values_hex"].as_array().expect("list");
    assert_eq!(expected.len(), zeros().len());
    for (level, value) in expected.iter().enumerate() {
        assert_eq!(zeros()[level], fr(value), "zeros[{level}]");
    }
    assert_eq!(zeros()[20], fr(&vectors()["merkle"]["empty_root_hex"]));
}

#[test]
fn baby_jubjub_and_coordinate_map() {
    let babyjub = &vectors()["constants"]["babyjub"];
    let ark = &vectors()["arkworks_ed_on_bn254"];
    assert_eq!(SQRT_168700, fr(&ark["s_sqrt_168700"]));
    assert_eq!(
        ark_ed_on_bn254_d(),
        fr(&ark["d_ark"]),
        "ark-ed-on-bn254's d differs from the vectors"
    );
    let base8 = CircomPoint {
        x: fr(&babyjub["base8"][0]),
        y: fr(&babyjub["base8"][1]),
    };
    assert!(base8.is_on_curve());
    let base8_ark = base8.to_ark();
    assert_eq!(base8_ark.x, fr(&ark["base8_ark"]["x"]));
    assert_eq!(base8_ark.y, fr(&ark["base8_ark"]["y"]));
    assert_eq!(CircomPoint::from_ark(base8_ark), base8);
    let generator = CircomPoint {
        x: fr(&babyjub["generator"][0]),
        y: fr(&babyjub["generator"][1]),
    };
    assert!(generator.is_on_curve());
}

fn ark_ed_on_bn254_d() -> Fr {
    use ark_ec::twisted_edwards::TECurveConfig;
    ark_ed_on_bn254::EdwardsConfig::COEFF_D
}

#[test]
fn pedersen_generators() {
    let circom = vectors()["constants"]["pedersen_base_points"]
        .as_array()
        .expect("list");
    let ark = vectors()["arkworks_ed_on_bn254"]["pedersen_base_points_ark"]
        .as_array()
        .expect("list");
    assert_eq!(circom.len(), 3);
    for (segment, (c, a)) in circom.iter().zip(ark).enumerate() {
        let derived = generators()[segment];
        assert_eq!(derived.x, fr(&a["x"]), "segment {segment} ark x");
        assert_eq!(derived.y, fr(&a["y"]), "segment {segment} ark y");
        let as_circom = CircomPoint::from_ark(derived);
        assert_eq!(as_circom.x, fr(&c["x"]), "segment {segment} circom x");
        assert_eq!(as_circom.y, fr(&c["y"]), "segment {segment} circom y");
    }
}

#[test]
fn notes_commitments_and_nullifier_hashes() {
    let notes = vectors()["notes"].as_array().expect("list");
    assert!(!notes.is_empty());
    for case in notes {
        let text = case["note"].as_str().expect("note string");
        let note = Note::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(note.to_string(), text);
        assert_eq!(note.nullifier(), fr(&case["nullifier"]));
        assert_eq!(note.secret(), fr(&case["secret"]));
        assert_eq!(
            hex::encode(note.nullifier_bytes()),
            case["nullifier_le31_hex"].as_str().expect("hex")
        );
        assert_eq!(
            hex::encode(note.secret_bytes()),
            case["secret_le31_hex"].as_str().expect("hex")
        );
        assert_eq!(
            hex::encode(note.preimage()),
            case["preimage_hex"].as_str().expect("hex")
        );

        let commitment = taonado_zk::pedersen_hash(&note.preimage()).expect("62 bytes");
        assert_eq!(commitment.x, fr(&case["commitment"]));
        assert_eq!(commitment.y, fr(&case["commitment_point_y"]));
        assert_eq!(
            hex::encode(commitment.pack()),
            case["commitment_packed_hex"].as_str().expect("hex")
        );
        assert_eq!(note.commitment(), fr(&case["commitment"]));
        assert_eq!(
            fr_to_b256(note.commitment()).to_string(),
            case["commitment_hex"].as_str().expect("hex")
        );

        let nullifier_hash = taonado_zk::pedersen_hash(note.nullifier_bytes()).expect("31 bytes");
        assert_eq!(nullifier_hash.y, fr(&case["nullifierHash_point_y"]));
        assert_eq!(
            hex::encode(nullifier_hash.pack()),
            case["nullifierHash_packed_hex"].as_str().expect("hex")
        );
        assert_eq!(note.nullifier_hash(), fr(&case["nullifierHash"]));
        assert_eq!(
            fr_to_b256(note.nullifier_hash()).to_string(),
            case["nullifierHash_hex"].as_str().expect("hex")
        );
    }
    let first = &vectors()["arkworks_ed_on_bn254"]["note0_commitment_point_ark"];
    let note0 = Note::parse(notes[0]["note"].as_str().expect("note")).expect("valid");
    let point = taonado_zk::pedersen_hash(&note0.preimage())
        .expect("62 bytes")
        .to_ark();
    assert_eq!(point.x, fr(&first["x"]));
    assert_eq!(point.y, fr(&first["y"]));
}

#[test]
fn merkle_roots_and_paths() {
    let merkle = &vectors()["merkle"];
    assert_eq!(merkle["levels"].as_u64(), Some(20));
    assert_eq!(fr(&merkle["zero_element"]), zeros()[0]);
    let leaves: Vec<Fr> = merkle["leaves_0_to_9"]
        .as_array()
        .expect("list")
        .iter()
        .map(fr)
        .collect();
    // The leaves are the vector notes' commitments, in order.
    for (leaf, case) in leaves
        .iter()
        .zip(vectors()["notes"].as_array().expect("list"))
    {
        assert_eq!(*leaf, fr(&case["commitment"]));
    }
    let mut incremental = MerkleTree::new();
    for case in merkle["roots"].as_array().expect("list") {
        let n = usize::try_from(case["n_leaves"].as_u64().expect("count")).expect("small");
        while incremental.len() < n {
            incremental.insert(leaves[incremental.len()]).expect("room");
        }
        let bulk = MerkleTree::from_leaves(&leaves[..n]).expect("room");
        assert_eq!(
            incremental.root(),
            fr(&case["root"]),
            "{n} leaves, incremental"
        );
        assert_eq!(bulk.root(), fr(&case["root_hex"]), "{n} leaves, bulk");
    }

    let proof = &merkle["proof_leaf2_of_10"];
    let tree = MerkleTree::from_leaves(&leaves).expect("room");
    assert_eq!(tree.root(), fr(&proof["root"]));
    let index = usize::try_from(proof["leaf_index"].as_u64().expect("index")).expect("small");
    assert_eq!(leaves[index], fr(&proof["leaf"]));
    let path = tree.path(index).expect("in range");
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
    assert_eq!(path.elements.to_vec(), elements);
    assert_eq!(path.indices.to_vec(), indices);
    assert_eq!(path.root_from(leaves[index]), tree.root());

    for case in merkle["small_int_leaves"].as_array().expect("list") {
        let range = case["leaves"].as_str().expect("a..b");
        let (from, to) = range.split_once("..").expect("a..b");
        let (from, to): (u64, u64) = (from.parse().expect("int"), to.parse().expect("int"));
        let small: Vec<Fr> = (from..=to).map(Fr::from).collect();
        let tree = MerkleTree::from_leaves(&small).expect("room");
        assert_eq!(tree.root(), fr(&case["root"]), "leaves {range}");
        assert_eq!(tree.root(), fr(&case["root_hex"]), "leaves {range}");
    }
    assert!(!Fr::zero().eq(&tree.root()));
}
