//! Taonado's contracts as Rust sees them: the committed solc artifacts ([`artifacts`]) and
//! alloy `sol!` bindings ([`bindings`]).
//!
//! The artifacts are built by `node contracts/build.mjs` from `contracts/src` with the pinned
//! solc 0.8.37 (optimizer on, 200 runs, EVM version [`EVM_VERSION`]) and embedded with
//! `include_str!`, so this crate does no I/O. Safe's contracts ([`safe`]) are not compiled by us: they
//! are the build artifacts of Safe's npm package, committed as they are. `node contracts/build.mjs --check` verifies that
//! the committed artifacts match the sources.

pub mod artifacts;
pub mod bindings;
mod error;
pub mod safe;
pub mod storage_layout;
pub mod verifier;

pub use artifacts::{
    Artifact, CodeMatch, Contract, ImmutableReference, NamespaceMember, StorageEntry,
    StorageLayout, StorageNamespace, StorageType,
};
pub use error::{Error, Result};

/// The Solidity standard-JSON input the artifacts were compiled from (every source,
/// OpenZeppelin's included, and the settings), as `node contracts/build.mjs` wrote it: what
/// explorer verification submits, so it needs no checkout or `node_modules`.
pub const STANDARD_JSON_INPUT: &str = include_str!("../artifacts/standard-json-input.json");

/// The EVM version every artifact is compiled for. A chain that runs them (the dev chain
/// included) must implement at least this hardfork.
pub const EVM_VERSION: &str = "london";

/// The subtensor metagraph precompile (views over a subnet's neurons).
pub const METAGRAPH_PRECOMPILE: alloy_primitives::Address =
    alloy_primitives::address!("0x0000000000000000000000000000000000000802");

/// The subtensor neuron precompile (`setWeights` and friends).
pub const NEURON_PRECOMPILE: alloy_primitives::Address =
    alloy_primitives::address!("0x0000000000000000000000000000000000000804");
