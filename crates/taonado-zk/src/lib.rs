//! Tornado-classic compatible cryptography for Taonado: MiMCSponge, the Baby Jubjub
//! Pedersen hash, notes, the height-20 Merkle tree and the Groth16 withdraw circuit, its
//! prover (with its own multi-scalar multiplication, [`msm`]) and a multi-party phase-2
//! [`ceremony`] for production keys, whose phase 1 is a snarkjs powers of tau ([`ptau`]).
//!
//! [`tornado`] proves for the live pool with Tornado Cash's own circuit and ceremony keys.
//!
//! Everything here is pure and synchronous; only [`keys`], [`ceremony`], [`ptau`] and
//! [`tornado::store`] touch files.

pub mod ceremony;
pub mod circuit;
mod error;
pub mod fft;
pub mod field;
pub mod groth16;
pub mod keys;
pub mod merkle;
pub mod mimc;
pub mod msm;
pub mod note;
pub mod pedersen;
pub mod ptau;
pub mod tornado;
pub mod verifying_key_file;

pub use circuit::{WithdrawCircuit, WithdrawPublicInputs, WithdrawWitness, address_to_fr};
pub use error::{NoteError, PtauError, WebsnarkKeyError, ZkError};
pub use field::{Fr, fr_from_b256, fr_from_u256, fr_to_b256, fr_to_u256, parse_fr};
pub use groth16::{
    CircuitShape, Proof, ProvingKey, VerifyingKey, WithdrawProver, check_witness, proof_from_bytes,
    proof_to_bytes, proof_to_words, verify,
};
pub use merkle::{BENCH_LEAF_SEED, MerklePath, MerkleTree, TREE_CAPACITY, splitmix_leaves};
pub use mimc::{TREE_LEVELS, hash_left_right, mimc_feistel, mimc_sponge, zero_value, zeros};
pub use note::{LEGACY_NOTE_PREFIX, Note};
pub use pedersen::{CircomPoint, pedersen_hash};
pub use verifying_key_file::{UNKNOWN_SETUP, VerifyingKeyError, VerifyingKeyFile};
