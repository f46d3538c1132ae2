//! Tornado's circuit: circom 0.0.x's `withdraw.json`, and the compact form kept after
//! import.
//!
//! The JSON is 19 MB, mostly templates as JavaScript and constraints as maps of signal
//! index → decimal coefficient. Proving needs only the constraints (in binary) and where
//! each variable's value comes from in the witness generator's output
//! ([`super::witness`]), so the import keeps that: [`TornadoCircuit`], a few MB that load
//! in milliseconds, ending with its own SHA-256 so damage on disk is caught at load.

use std::collections::HashMap;

use ark_ff::{BigInteger, PrimeField};
use ark_relations::utils::matrix::Matrix;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{field::Fr, parse_fr};

/// The first bytes of a stored circuit.
const MAGIC: &[u8; 8] = b"TNDR1CS\0";

/// Version of the stored circuit's layout.
const FORMAT_VERSION: u32 = 1;

/// What circom 0.0.x's JSON holds that the import reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CircomJson {
    n_vars: usize,
    n_pub_inputs: usize,
    n_outputs: usize,
    signal_name2_idx: HashMap<String, usize>,
    constraints: Vec<[HashMap<String, String>; 3]>,
}

/// The constraints and signal names of a circom 0.0.x circuit.
#[derive(Debug, Clone)]
pub(crate) struct CircomCircuit {
    /// Variables: the witness is the first `n_vars` signals.
    pub(crate) n_vars: usize,
    /// Public signals (outputs, then public inputs), without the constant 1.
    pub(crate) n_public: usize,
    /// A, B and C, one row per constraint, columns are signal indices.
    pub(crate) matrices: [Matrix<Fr>; 3],
    /// Every full signal name and its index.
    pub(crate) signal_index: HashMap<String, usize>,
}

impl CircomCircuit {
    /// Parses the JSON; the error says what is wrong.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let json: CircomJson = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a circom 0.0.x circuit: {e}"))?;
        let n_public = json.n_outputs + json.n_pub_inputs;
        if n_public + 1 > json.n_vars {
            return Err(format!(
                "{n_public} public signals do not fit {} variables",
                json.n_vars
            ));
        }
        // Coefficients repeat (powers of two, −1): parse each distinct one once.
        let mut parsed: HashMap<&str, Fr> = HashMap::new();
        let mut matrices: [Matrix<Fr>; 3] = Default::default();
        for (row, constraint) in json.constraints.iter().enumerate() {
            for (matrix, terms) in matrices.iter_mut().zip(constraint) {
                let mut out = Vec::with_capacity(terms.len());
                for (signal, coefficient) in terms {
                    let index: usize = signal
                        .parse()
                        .map_err(|_| format!("constraint {row} names signal {signal:?}"))?;
                    if index >= json.n_vars {
                        return Err(format!(
                            "constraint {row} uses signal {index}, beyond the {} variables",
                            json.n_vars
                        ));
                    }
                    let value = match parsed.get(coefficient.as_str()) {
                        Some(value) => *value,
                        None => {
                            let value = parse_fr(coefficient)
                                .map_err(|e| format!("constraint {row}: {e}"))?;
                            parsed.insert(coefficient, value);
                            value
                        }
                    };
                    out.push((value, index));
                }
                // The JSON's maps are unordered; rows are kept by column.
                out.sort_unstable_by_key(|(_, column)| *column);
                matrix.push(out);
            }
        }
        Ok(Self {
            n_vars: json.n_vars,
            n_public,
            matrices,
            signal_index: json.signal_name2_idx,
        })
    }
}

/// What proving needs of Tornado's circuit, as stored after import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TornadoCircuit {
    /// SHA-256 of the JSON it was made from (the pinned one).
    pub(crate) json_sha256: [u8; 32],
    /// Version of the witness generator's layout the map below was made for.
    pub(crate) layout_version: u32,
    /// Variables, counting the constant 1.
    pub(crate) n_vars: usize,
    /// Public inputs.
    pub(crate) n_public: usize,
    /// Values the witness generator emits.
    pub(crate) n_slots: usize,
    /// For each variable, the index of its value in the witness generator's output.
    pub(crate) variable_slots: Vec<u32>,
    /// A, B and C.
    pub(crate) matrices: [Matrix<Fr>; 3],
}

/// A bounds-checked reader of the stored form.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("it ends inside {what}"))?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn usize(&mut self, what: &str) -> Result<usize, String> {
        self.u32(what).map(|v| v as usize)
    }
}

impl TornadoCircuit {
    /// The stored form: header, variable map, distinct coefficients, then A, B and C as
    /// (column, coefficient index) pairs, and the SHA-256 of all of it.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut coefficients: Vec<Fr> = Vec::new();
        let mut coefficient_index: HashMap<Fr, u32> = HashMap::new();
        let mut rows = Vec::new();
        for matrix in &self.matrices {
            push_u32(&mut rows, matrix.len());
            for row in matrix {
                push_u32(&mut rows, row.len());
                for (coefficient, column) in row {
                    let index = *coefficient_index.entry(*coefficient).or_insert_with(|| {
                        coefficients.push(*coefficient);
                        (coefficients.len() - 1) as u32
                    });
                    push_u32(&mut rows, *column);
                    rows.extend_from_slice(&index.to_le_bytes());
                }
            }
        }
        let mut out =
            Vec::with_capacity(rows.len() + 32 * coefficients.len() + 4 * self.n_vars + 128);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.json_sha256);
        out.extend_from_slice(&self.layout_version.to_le_bytes());
        for size in [self.n_vars, self.n_public, self.n_slots] {
            push_u32(&mut out, size);
        }
        for slot in &self.variable_slots {
            out.extend_from_slice(&slot.to_le_bytes());
        }
        push_u32(&mut out, coefficients.len());
        for coefficient in &coefficients {
            out.extend_from_slice(&coefficient.into_bigint().to_bytes_le());
        }
        out.extend_from_slice(&rows);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Reads the stored form, checking its SHA-256 and every count and index.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let body_len = bytes
            .len()
            .checked_sub(32)
            .ok_or_else(|| "it is shorter than its checksum".to_owned())?;
        let (body, digest) = bytes.split_at(body_len);
        if Sha256::digest(body).as_slice() != digest {
            return Err("its checksum does not match: the file is damaged".to_owned());
        }
        let mut reader = Reader {
            bytes: body,
            offset: 0,
        };
        if reader.take(MAGIC.len(), "the magic bytes")? != MAGIC {
            return Err("it is not a stored Tornado circuit".to_owned());
        }
        let version = reader.u32("the version")?;
        if version != FORMAT_VERSION {
            return Err(format!("format version {version} is not {FORMAT_VERSION}"));
        }
        let mut json_sha256 = [0u8; 32];
        json_sha256.copy_from_slice(reader.take(32, "the circuit's hash")?);
        let layout_version = reader.u32("the layout version")?;
        let n_vars = reader.usize("the variable count")?;
        let n_public = reader.usize("the public input count")?;
        let n_slots = reader.usize("the slot count")?;
        if n_public + 1 > n_vars {
            return Err(format!(
                "{n_public} public inputs do not fit {n_vars} variables"
            ));
        }
        let slot_bytes = reader.take(n_vars.saturating_mul(4), "the variable map")?;
        let variable_slots: Vec<u32> = slot_bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(slot) = variable_slots.iter().find(|&&s| s as usize >= n_slots) {
            return Err(format!("the variable map names slot {slot} of {n_slots}"));
        }
        let n_coefficients = reader.usize("the coefficient count")?;
        let coefficient_bytes =
            reader.take(n_coefficients.saturating_mul(32), "the coefficients")?;
        let coefficients: Vec<Fr> = coefficient_bytes
            .chunks_exact(32)
            .map(|b| {
                let mut limbs = [0u64; 4];
                for (limb, word) in limbs.iter_mut().zip(b.chunks_exact(8)) {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(word);
                    *limb = u64::from_le_bytes(w);
                }
                Fr::from_bigint(ark_ff::BigInt(limbs))
                    .ok_or_else(|| "a coefficient is not a reduced field element".to_owned())
            })
            .collect::<Result<_, _>>()?;
        let mut matrices: [Matrix<Fr>; 3] = Default::default();
        for matrix in &mut matrices {
            let n_rows = reader.usize("a matrix's row count")?;
            // Each row takes at least 4 bytes: bounded by what is left.
            if n_rows > body.len() / 4 {
                return Err(format!("a matrix claims {n_rows} rows"));
            }
            for _ in 0..n_rows {
                let len = reader.usize("a row's length")?;
                let terms = reader.take(len.saturating_mul(8), "a row")?;
                let row = terms
                    .chunks_exact(8)
                    .map(|t| {
                        let column = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize;
                        let index = u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize;
                        match coefficients.get(index) {
                            Some(c) if column < n_vars => Ok((*c, column)),
                            _ => Err(format!(
                                "a term names variable {column} or coefficient {index}"
                            )),
                        }
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                matrix.push(row);
            }
        }
        if matrices.iter().any(|m| m.len() != matrices[0].len()) {
            return Err("A, B and C have different row counts".to_owned());
        }
        if reader.offset != body.len() {
            return Err("it has bytes after the matrices".to_owned());
        }
        Ok(Self {
            json_sha256,
            layout_version,
            n_vars,
            n_public,
            n_slots,
            variable_slots,
            matrices,
        })
    }
}

fn push_u32(out: &mut Vec<u8>, value: usize) {
    // Every count here is below 2^32 (the circuit has 28,300 variables).
    out.extend_from_slice(&(value as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> TornadoCircuit {
        TornadoCircuit {
            json_sha256: [7; 32],
            layout_version: 1,
            n_vars: 4,
            n_public: 1,
            n_slots: 9,
            variable_slots: vec![0, 3, 8, 2],
            matrices: [
                vec![vec![(Fr::from(2u64), 1), (-Fr::from(1u64), 3)]],
                vec![vec![(Fr::from(1u64), 0)]],
                vec![vec![(Fr::from(2u64), 2)]],
            ],
        }
    }

    #[test]
    fn stored_form_round_trips() {
        let circuit = small();
        assert_eq!(TornadoCircuit::from_bytes(&circuit.to_bytes()), Ok(circuit));
    }

    #[test]
    fn damaged_or_truncated_stored_form_is_refused() {
        let bytes = small().to_bytes();
        for cut in [0, 1, 31, 32, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                TornadoCircuit::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        for flip in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[flip] ^= 1;
            assert!(
                TornadoCircuit::from_bytes(&damaged).is_err(),
                "flip at {flip}"
            );
        }
    }

    #[test]
    fn circom_json_is_parsed_and_bad_indices_refused() {
        let json = br#"{"nVars": 3, "nPubInputs": 1, "nOutputs": 0,
            "signalName2Idx": {"one": 0, "main.a": 1, "main.b": 2},
            "constraints": [[{"1": "2"}, {"0": "1"}, {"2": "21888242871839275222246405745257275088548364400416034343698204186575808495616"}]],
            "templates": {"T": "function(ctx) {}"}}"#;
        let circuit = CircomCircuit::parse(json).expect("valid");
        assert_eq!(circuit.n_public, 1);
        assert_eq!(circuit.matrices[2][0], vec![(-Fr::from(1u64), 2)]);
        assert_eq!(circuit.signal_index["main.b"], 2);
        let beyond = String::from_utf8_lossy(json).replace(r#"{"2": "2188"#, r#"{"3": "2188"#);
        let error = CircomCircuit::parse(beyond.as_bytes()).expect_err("signal 3 of 3");
        assert!(error.contains("beyond"), "{error}");
        assert!(CircomCircuit::parse(b"{}").is_err());
    }
}
