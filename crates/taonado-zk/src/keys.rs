//! Key files: the proving key (`withdraw.pk.bin`) and the snarkjs-format verifying key
//! (`withdraw.vk.json`). Both record the circuit hash, so a key never loads against a
//! different circuit. This is the only module that touches the file system.

use std::{
    fs,
    path::{Path, PathBuf},
};

use alloy_primitives::{B256, U256, keccak256};
use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use serde_json::{Value, json};

use crate::{
    VerifyingKeyFile, ZkError,
    circuit::PUBLIC_INPUTS,
    groth16::{
        CIRCUIT_NAME, CircuitShape, LOCAL_DEV_SETUP_SEED, ProvingKey, VerifyingKey, WithdrawProver,
    },
};

/// File name of the proving key inside a key directory.
pub const PROVING_KEY_FILE: &str = "withdraw.pk.bin";
/// File name of the verifying key inside a key directory.
pub const VERIFYING_KEY_FILE: &str = "withdraw.vk.json";
/// The setup label of keys made from [`LOCAL_DEV_SETUP_SEED`].
pub const LOCAL_DEV_SETUP: &str = "local-dev-insecure";

/// The local development proving key (`keys/local/withdraw.pk.bin`), compiled into the
/// binary so that the local setup works from any directory and is never regenerated at run
/// time: its toxic waste is public, so shipping it costs no secrecy.
const LOCAL_DEV_PROVING_KEY: &[u8] = include_bytes!("../../../keys/local/withdraw.pk.bin");

/// The local development verifying key (`keys/local/withdraw.vk.json`, snarkjs format),
/// compiled into the binary; what `deploy` puts on dev chains when no key is given.
pub const LOCAL_DEV_VERIFYING_KEY_JSON: &str = include_str!("../../../keys/local/withdraw.vk.json");

/// How errors name the compiled-in local keys (they have no path on the user's machine).
pub const EMBEDDED_LOCAL_KEYS: &str = "<embedded local dev keys>";

/// First bytes of a proving key file; the circuit hash, the Keccak-256 of the key bytes
/// and the uncompressed key follow. Uncompressed because a compressed point costs a
/// square root to load: ~150k of them took 1.5 s of every `mixer withdraw`, while the
/// uncompressed key (twice the bytes) loads in tens of milliseconds.
const PROVING_KEY_MAGIC: &[u8; 16] = b"taonado-pk-v3\0\0\0";

/// The previous format's magic: the same layout with a compressed key. Still read, so
/// keys exported by earlier ceremonies keep working (slowly); written never.
const COMPRESSED_PROVING_KEY_MAGIC: &[u8; 16] = b"taonado-pk-v2\0\0\0";

/// Where a key directory's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPaths {
    /// The proving key.
    pub proving_key: PathBuf,
    /// The verifying key (snarkjs JSON).
    pub verifying_key: PathBuf,
}

impl KeyPaths {
    /// The two key files inside `dir` (e.g. `keys/local`).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            proving_key: dir.join(PROVING_KEY_FILE),
            verifying_key: dir.join(VERIFYING_KEY_FILE),
        }
    }
}

pub(crate) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> ZkError {
    let path = path.to_path_buf();
    move |source| ZkError::Io {
        action,
        path,
        source,
    }
}

fn bad_file(path: &Path, reason: impl Into<String>) -> ZkError {
    ZkError::BadKeyFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Writes `bytes` to `path` through a temporary file that is synced before it is renamed
/// over `path`: without the sync, a power loss after the rename can leave an empty or
/// partial key under the final name, so a crash never leaves half a key.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ZkError> {
    // The one atomic writer of the workspace (temporary file, sync, rename, directory sync).
    taonado_deployment::fs::write_atomic(path, bytes).map_err(|error| match error {
        taonado_deployment::DeploymentError::Io {
            action,
            path,
            error,
        } => ZkError::Io {
            action,
            path,
            source: error,
        },
        other => io_error("write", path)(std::io::Error::other(other.to_string())),
    })
}

/// The proving key file's bytes: magic, circuit hash, digest, uncompressed arkworks key.
pub fn proving_key_bytes(prover: &WithdrawProver) -> Result<Vec<u8>, ZkError> {
    let key = prover.proving_key();
    let mut payload = Vec::with_capacity(key.uncompressed_size());
    key.serialize_uncompressed(&mut payload)
        .map_err(|e| ZkError::Synthesis {
            stage: "serialize",
            message: e.to_string(),
        })?;
    let mut bytes = Vec::with_capacity(PROVING_KEY_MAGIC.len() + 64 + payload.len());
    bytes.extend_from_slice(PROVING_KEY_MAGIC);
    bytes.extend_from_slice(prover.shape().hash().as_slice());
    bytes.extend_from_slice(keccak256(&payload).as_slice());
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// Writes the proving key file.
pub fn write_proving_key(path: &Path, prover: &WithdrawProver) -> Result<(), ZkError> {
    write_atomically(path, &proving_key_bytes(prover)?)
}

/// Reads a proving key file made for `shape`'s circuit.
pub fn read_proving_key(path: &Path, shape: CircuitShape) -> Result<WithdrawProver, ZkError> {
    let bytes = fs::read(path).map_err(io_error("read", path))?;
    decode_proving_key(path, &bytes, shape)
}

/// Decodes a proving key file's bytes made for `shape`'s circuit; `path` only labels errors.
fn decode_proving_key(
    path: &Path,
    bytes: &[u8],
    shape: CircuitShape,
) -> Result<WithdrawProver, ZkError> {
    let hash_end = PROVING_KEY_MAGIC.len() + 32;
    let header = hash_end + 32;
    if bytes.len() < header {
        return Err(bad_file(path, "not a taonado proving key (too short)"));
    }
    let magic = &bytes[..PROVING_KEY_MAGIC.len()];
    let compressed = if magic == PROVING_KEY_MAGIC {
        false
    } else if magic == COMPRESSED_PROVING_KEY_MAGIC {
        true
    } else {
        return Err(bad_file(path, "not a taonado proving key (bad magic)"));
    };
    let found = B256::from_slice(&bytes[PROVING_KEY_MAGIC.len()..hash_end]);
    if found != shape.hash() {
        return Err(ZkError::CircuitMismatch {
            path: path.to_path_buf(),
            found: found.to_string(),
            expected: shape.hash().to_string(),
        });
    }
    let payload = &bytes[header..];
    if keccak256(payload).as_slice() != &bytes[hash_end..header] {
        return Err(bad_file(
            path,
            "the key bytes do not match their digest (corrupt file)",
        ));
    }
    // The digest rules out corruption, and a wrong key only yields proofs that the
    // verifying key rejects, so the per-point subgroup checks (seconds for ~150k points)
    // are skipped.
    let key = if compressed {
        ProvingKey::deserialize_compressed_unchecked(payload)
    } else {
        ProvingKey::deserialize_uncompressed_unchecked(payload)
    }
    .map_err(|e| bad_file(path, format!("cannot decode the proving key: {e}")))?;
    if key.vk.gamma_abc_g1.len() != PUBLIC_INPUTS + 1 {
        return Err(bad_file(path, "the proving key is not for 6 public inputs"));
    }
    Ok(WithdrawProver::from_parts(key, shape))
}

fn decimal(value: Fq) -> String {
    U256::from_limbs(value.into_bigint().0).to_string()
}

fn g1_json(point: &G1Affine) -> Value {
    match point.xy() {
        Some((x, y)) => json!([decimal(x), decimal(y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn g2_json(point: &G2Affine) -> Value {
    match point.xy() {
        Some((x, y)) => json!([
            [decimal(x.c0), decimal(x.c1)],
            [decimal(y.c0), decimal(y.c1)],
            ["1", "0"]
        ]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// The verifying key in snarkjs' `verification_key.json` format, plus a `taonado` object
/// naming the setup, the circuit and its hash.
pub fn verifying_key_json(vk: &VerifyingKey, circuit_hash: B256, setup: &str) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len().saturating_sub(1),
        "vk_alpha_1": g1_json(&vk.alpha_g1),
        "vk_beta_2": g2_json(&vk.beta_g2),
        "vk_gamma_2": g2_json(&vk.gamma_g2),
        "vk_delta_2": g2_json(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1_json).collect::<Vec<_>>(),
        "taonado": {
            "setup": setup,
            "circuit": CIRCUIT_NAME,
            "circuit_hash": circuit_hash.to_string(),
        },
    })
}

/// Whether `vk` is the local development key (whose toxic waste is public), whatever its
/// label says: its `alpha_g1` is recomputed from [`LOCAL_DEV_SETUP_SEED`], which costs
/// microseconds instead of a whole setup.
pub fn is_local_dev_verifying_key(vk: &VerifyingKey) -> bool {
    local_dev_alpha_g1() == vk.alpha_g1
}

/// `alpha_g1` of the local development key, recomputed from [`LOCAL_DEV_SETUP_SEED`]: a key
/// with this point has public toxic waste, whatever its file's label says.
pub fn local_dev_alpha_g1() -> ark_bn254::G1Affine {
    use ark_ec::CurveGroup;
    use ark_std::{
        UniformRand,
        rand::{SeedableRng, rngs::StdRng},
    };
    // The order in which ark-groth16's `generate_random_parameters_with_reduction` draws:
    // alpha, beta, gamma, delta, then the G1 generator.
    let mut rng = StdRng::from_seed(LOCAL_DEV_SETUP_SEED);
    let alpha = crate::Fr::rand(&mut rng);
    for _ in 0..3 {
        let _ = crate::Fr::rand(&mut rng);
    }
    let generator = ark_bn254::G1Projective::rand(&mut rng);
    (generator * alpha).into_affine()
}

/// Where a verifying key file says it comes from (its `taonado` object).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyProvenance {
    /// `local-dev-insecure`, `ceremony:<name>`, or `unknown` when the file does not say.
    pub setup: String,
    /// The circuit name recorded, if any.
    pub circuit: Option<String>,
    /// The circuit hash recorded, if any.
    pub circuit_hash: Option<String>,
    /// For ceremony keys: the phase-1 source (`local-insecure`).
    pub phase1: Option<String>,
    /// For ceremony keys: the number of phase-2 contributions.
    pub contributions: Option<u64>,
    /// For ceremony keys: the final transcript hash.
    pub transcript_hash: Option<String>,
}

impl KeyProvenance {
    /// Reads the `taonado` object of a verifying key JSON.
    pub fn from_json(value: &Value) -> Self {
        let text = |key: &str| value["taonado"][key].as_str().map(str::to_owned);
        Self {
            setup: text("setup").unwrap_or_else(|| crate::UNKNOWN_SETUP.to_owned()),
            circuit: text("circuit"),
            circuit_hash: text("circuit_hash"),
            phase1: text("phase1"),
            contributions: value["taonado"]["contributions"].as_u64(),
            transcript_hash: text("transcript_hash"),
        }
    }
}

/// Writes the verifying key JSON.
pub fn write_verifying_key(
    path: &Path,
    vk: &VerifyingKey,
    circuit_hash: B256,
    setup: &str,
) -> Result<(), ZkError> {
    let mut text = serde_json::to_string_pretty(&verifying_key_json(vk, circuit_hash, setup))
        .map_err(|e| bad_file(path, e.to_string()))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}

/// Parses a verifying key JSON (as [`verifying_key_json`] writes it) with
/// [`VerifyingKeyFile`] and checks that it was made for `expected_hash`. `path` only labels
/// errors.
pub fn verifying_key_from_json(
    path: &Path,
    value: &Value,
    expected_hash: B256,
) -> Result<VerifyingKey, ZkError> {
    let found = value["taonado"]["circuit_hash"]
        .as_str()
        .ok_or_else(|| bad_file(path, "missing taonado.circuit_hash"))?;
    if found.parse::<B256>().ok() != Some(expected_hash) {
        return Err(ZkError::CircuitMismatch {
            path: path.to_path_buf(),
            found: found.to_owned(),
            expected: expected_hash.to_string(),
        });
    }
    VerifyingKeyFile::from_json(value)
        .map(VerifyingKeyFile::into_verifying_key)
        .map_err(|error| bad_file(path, error.to_string()))
}

/// Reads a verifying key JSON made for `expected_hash`.
pub fn read_verifying_key(path: &Path, expected_hash: B256) -> Result<VerifyingKey, ZkError> {
    let text = fs::read_to_string(path).map_err(io_error("read", path))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| bad_file(path, format!("invalid JSON: {e}")))?;
    verifying_key_from_json(path, &value, expected_hash)
}

fn read_verifying_key_value(path: &Path) -> Result<Value, ZkError> {
    let text = fs::read_to_string(path).map_err(io_error("read", path))?;
    serde_json::from_str(&text).map_err(|e| bad_file(path, format!("invalid JSON: {e}")))
}

/// Where the verifying key in `dir` says it comes from; `Ok(None)` when `dir` has no
/// verifying key file. Reads the label only: [`load_keys`] checks the keys themselves.
pub fn read_provenance(dir: &Path) -> Result<Option<KeyProvenance>, ZkError> {
    let path = KeyPaths::in_dir(dir).verifying_key;
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(KeyProvenance::from_json(&read_verifying_key_value(
        &path,
    )?)))
}

/// Loads the prover from `dir` (`withdraw.pk.bin` + `withdraw.vk.json`, as
/// `taonado zk ceremony export` or the local setup writes them) and says which setup it came
/// from. Both files must be bound to `shape`'s circuit, and the verifying key inside the
/// proving key must equal the verifying key file, so a proving key never travels under
/// another setup's label. Never creates or regenerates a key.
pub fn load_keys(
    dir: &Path,
    shape: CircuitShape,
) -> Result<(WithdrawProver, KeyProvenance), ZkError> {
    let paths = KeyPaths::in_dir(dir);
    let value = read_verifying_key_value(&paths.verifying_key)?;
    let vk = verifying_key_from_json(&paths.verifying_key, &value, shape.hash())?;
    let prover = read_proving_key(&paths.proving_key, shape)?;
    if *prover.verifying_key() != vk {
        return Err(bad_file(
            &paths.proving_key,
            format!(
                "its verifying key differs from {} (the two files come from different setups); export both from the same ceremony",
                paths.verifying_key.display()
            ),
        ));
    }
    Ok((prover, KeyProvenance::from_json(&value)))
}

/// The local development prover and its provenance, from the keys compiled into the binary
/// (checked exactly as [`load_keys`] checks a directory: both bound to this build's
/// circuit, the proving key's verifying key equal to the verifying key file).
pub fn local_dev_keys() -> Result<(WithdrawProver, KeyProvenance), ZkError> {
    let label = Path::new(EMBEDDED_LOCAL_KEYS);
    let shape = CircuitShape::withdraw()?;
    let value: Value = serde_json::from_str(LOCAL_DEV_VERIFYING_KEY_JSON)
        .map_err(|e| bad_file(label, format!("invalid JSON: {e}")))?;
    let vk = verifying_key_from_json(label, &value, shape.hash())?;
    let prover = decode_proving_key(label, LOCAL_DEV_PROVING_KEY, shape)?;
    if *prover.verifying_key() != vk {
        return Err(bad_file(
            label,
            "the proving key's verifying key differs from the verifying key; rebuild with the keys of keys/local",
        ));
    }
    Ok((prover, KeyProvenance::from_json(&value)))
}

/// Whether the proving key file at `path` is in the format this build writes.
fn is_current_format(path: &Path) -> Result<bool, ZkError> {
    let bytes = fs::read(path).map_err(io_error("read", path))?;
    Ok(bytes.starts_with(PROVING_KEY_MAGIC))
}

/// Writes the local development keys into `dir` (the developer tool behind
/// `keys/local`: `cargo run --release -p taonado-zk --example local-keys`). Loads them
/// from `dir` when present and current; otherwise runs the deterministic local setup
/// and writes both key files. Returns the prover and whether a key file was written (made anew, or rewritten from the previous, compressed format). Never
/// called at run time: the binary proves with [`local_dev_keys`].
pub fn load_or_create_local(dir: &Path) -> Result<(WithdrawProver, bool), ZkError> {
    let paths = KeyPaths::in_dir(dir);
    let shape = CircuitShape::withdraw()?;
    if paths.proving_key.exists() {
        match read_proving_key(&paths.proving_key, shape) {
            Ok(prover) => {
                // A key of the previous (compressed) format is rewritten in the current one.
                if !is_current_format(&paths.proving_key)? {
                    write_proving_key(&paths.proving_key, &prover)?;
                    return Ok((prover, true));
                }
                return Ok((prover, false));
            }
            Err(ZkError::CircuitMismatch { .. } | ZkError::BadKeyFile { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    let prover = WithdrawProver::setup_from_seed(LOCAL_DEV_SETUP_SEED)?;
    write_proving_key(&paths.proving_key, &prover)?;
    write_verifying_key(
        &paths.verifying_key,
        prover.verifying_key(),
        prover.shape().hash(),
        LOCAL_DEV_SETUP,
    )?;
    Ok((prover, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the repository's local dev keys, whose verifying key `edit` may change.
    fn local_keys_copy(edit: impl FnOnce(&mut Value)) -> tempfile::TempDir {
        let committed =
            KeyPaths::in_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/local"));
        let dir = tempfile::tempdir().expect("temporary directory");
        let copy = KeyPaths::in_dir(dir.path());
        fs::copy(&committed.proving_key, &copy.proving_key).expect("copy the proving key");
        let text = fs::read_to_string(&committed.verifying_key).expect("committed verifying key");
        let mut value: Value = serde_json::from_str(&text).expect("JSON");
        edit(&mut value);
        fs::write(&copy.verifying_key, value.to_string()).expect("write the verifying key");
        dir
    }

    #[test]
    fn load_keys_reports_the_setup_label_and_checks_both_files() {
        let shape = CircuitShape::withdraw().expect("synthesises");
        let relabelled = local_keys_copy(|v| v["taonado"]["setup"] = "ceremony:unit".into());
        let (prover, provenance) =
            load_keys(relabelled.path(), shape.clone()).expect("consistent files load");
        assert_eq!(provenance.setup, "ceremony:unit");
        assert_eq!(
            read_provenance(relabelled.path()).expect("readable"),
            Some(provenance)
        );
        assert_eq!(prover.shape().hash(), shape.hash());

        // A verifying key from another setup next to this proving key.
        let other_delta = local_keys_copy(|v| v["vk_delta_2"] = v["vk_gamma_2"].clone());
        let error = load_keys(other_delta.path(), shape.clone()).unwrap_err();
        assert!(
            matches!(&error, ZkError::BadKeyFile { reason, .. } if reason.contains("different setups")),
            "{error}"
        );

        let other_circuit = local_keys_copy(|v| {
            v["taonado"]["circuit_hash"] = B256::repeat_byte(7).to_string().into()
        });
        assert!(matches!(
            load_keys(other_circuit.path(), shape),
            Err(ZkError::CircuitMismatch { .. })
        ));
    }

    #[test]
    fn the_embedded_local_keys_load_as_the_local_dev_setup() {
        let (prover, provenance) = local_dev_keys().expect("the compiled-in keys load");
        assert_eq!(provenance.setup, LOCAL_DEV_SETUP);
        assert!(is_local_dev_verifying_key(prover.verifying_key()));
    }

    #[test]
    fn the_committed_key_is_uncompressed_and_a_compressed_key_of_the_old_format_still_loads() {
        assert!(
            LOCAL_DEV_PROVING_KEY.starts_with(PROVING_KEY_MAGIC),
            "keys/local/withdraw.pk.bin is not in the current (uncompressed) format; rewrite it with the local-keys example"
        );
        let (prover, _) = local_dev_keys().expect("the compiled-in keys load");
        let key = prover.proving_key();
        let mut payload = Vec::new();
        key.serialize_compressed(&mut payload).expect("serialises");
        let mut old = Vec::new();
        old.extend_from_slice(COMPRESSED_PROVING_KEY_MAGIC);
        old.extend_from_slice(prover.shape().hash().as_slice());
        old.extend_from_slice(keccak256(&payload).as_slice());
        old.extend_from_slice(&payload);
        let label = Path::new("old.pk.bin");
        let loaded = decode_proving_key(label, &old, prover.shape().clone()).expect("v2 loads");
        assert_eq!(loaded.proving_key(), key);

        // Either format: one flipped payload byte is refused by the digest.
        let mut current = proving_key_bytes(&prover).expect("serialises");
        let last = current.len() - 1;
        current[last] ^= 1;
        let error = decode_proving_key(label, &current, prover.shape().clone())
            .expect_err("a flipped byte is refused");
        assert!(error.to_string().contains("digest"), "{error}");
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("nested").join(VERIFYING_KEY_FILE);
        write_atomically(&path, b"one").expect("first write");
        write_atomically(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("reads"), b"two");
        let parent = path.parent().expect("has a parent");
        assert_eq!(fs::read_dir(parent).expect("listable").count(), 1);
    }

    #[test]
    fn an_empty_dir_has_no_provenance_and_loads_nothing() {
        let dir = tempfile::tempdir().expect("temporary directory");
        assert_eq!(
            read_provenance(dir.path()).expect("no file is not an error"),
            None
        );
        let shape = CircuitShape::withdraw().expect("synthesises");
        assert!(matches!(
            load_keys(dir.path(), shape),
            Err(ZkError::Io { .. })
        ));
        assert_eq!(fs::read_dir(dir.path()).expect("listable").count(), 0);
    }
}
