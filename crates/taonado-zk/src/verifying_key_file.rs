//! The snarkjs `verification_key.json` format, parsed in this one place. [`VerifyingKeyFile`]
//! checks every point (coordinates below the base field modulus, on BN254, G2 in the
//! prime-order subgroup) and reads the `taonado` provenance object; [`crate::keys`] loads
//! key directories through it, and the deploy tooling takes the Solidity verifier's
//! constructor words from it ([`VerifyingKeyFile::to_words`]). [`crate::keys`] writes the
//! format.

use alloy_primitives::U256;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField};
use serde_json::Value;
use taonado_types::{VerifyingKeyWords, g2_words};

use crate::{
    ceremony::Phase1,
    circuit::PUBLIC_INPUTS,
    groth16::{CIRCUIT_NAME, VerifyingKey},
    keys::{KeyProvenance, local_dev_alpha_g1},
};

/// The setup label of a key file that does not say where it comes from.
pub const UNKNOWN_SETUP: &str = "unknown";

/// Why a verifying key file was refused: the JSON field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct VerifyingKeyError {
    /// `protocol`, `curve`, `nPublic`, `IC`, `vk_alpha_1`, `IC[3]`, … or
    /// `verification_key.json` when the text is not JSON.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> VerifyingKeyError {
    VerifyingKeyError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A parsed and validated Groth16 verifying key for the withdraw circuit, with the
/// provenance its file records.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyingKeyFile {
    key: VerifyingKey,
    provenance: KeyProvenance,
}

impl VerifyingKeyFile {
    /// Parses a snarkjs verification key and checks that every point is on BN254 and in the
    /// right subgroup, so that a broken key is refused before a verifier embeds it.
    pub fn parse(json: &str) -> Result<Self, VerifyingKeyError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| invalid("verification_key.json", e.to_string()))?;
        Self::from_json(&value)
    }

    /// [`VerifyingKeyFile::parse`] of an already decoded JSON value.
    pub fn from_json(value: &Value) -> Result<Self, VerifyingKeyError> {
        let protocol = value["protocol"].as_str().unwrap_or_default();
        if protocol != "groth16" {
            return Err(invalid(
                "protocol",
                format!("expected groth16, found {:?}", value["protocol"]),
            ));
        }
        // snarkjs writes bn128; bn254 is the same curve under its other name.
        let curve = value["curve"].as_str().unwrap_or_default();
        if curve != "bn128" && curve != "bn254" {
            return Err(invalid(
                "curve",
                format!("expected bn128, found {:?}", value["curve"]),
            ));
        }
        if value["nPublic"].as_u64() != Some(PUBLIC_INPUTS as u64) {
            return Err(invalid(
                "nPublic",
                format!(
                    "the withdraw circuit has {PUBLIC_INPUTS} public inputs, found {}",
                    value["nPublic"]
                ),
            ));
        }
        let ic = value["IC"]
            .as_array()
            .filter(|ic| ic.len() == PUBLIC_INPUTS + 1)
            .ok_or_else(|| {
                invalid(
                    "IC",
                    format!(
                        "expected {} points, found {}",
                        PUBLIC_INPUTS + 1,
                        value["IC"].as_array().map_or(0, Vec::len)
                    ),
                )
            })?;
        let key = VerifyingKey {
            alpha_g1: g1("vk_alpha_1", &value["vk_alpha_1"])?,
            beta_g2: g2("vk_beta_2", &value["vk_beta_2"])?,
            gamma_g2: g2("vk_gamma_2", &value["vk_gamma_2"])?,
            delta_g2: g2("vk_delta_2", &value["vk_delta_2"])?,
            gamma_abc_g1: ic
                .iter()
                .enumerate()
                .map(|(i, point)| g1(&format!("IC[{i}]"), point))
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            key,
            provenance: KeyProvenance::from_json(value),
        })
    }

    /// The key as the prover and the verifier take it.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The key, without its provenance.
    pub fn into_verifying_key(self) -> VerifyingKey {
        self.key
    }

    /// What the file's `taonado` object says about where the key comes from.
    pub fn provenance(&self) -> &KeyProvenance {
        &self.provenance
    }

    /// Where the key comes from: `local-dev-insecure`, `test-circuit`, `ceremony:<name>`, or
    /// [`UNKNOWN_SETUP`].
    pub fn setup_label(&self) -> &str {
        &self.provenance.setup
    }

    /// The circuit name the file records, if any.
    pub fn circuit(&self) -> Option<&str> {
        self.provenance.circuit.as_deref()
    }

    /// The circuit hash the file records, if any.
    pub fn circuit_hash(&self) -> Option<&str> {
        self.provenance.circuit_hash.as_deref()
    }

    /// Why this key must not secure a live network, or `None` when nothing speaks against
    /// it. Judged from the key's points as well as its label, so a relabelled local key, an
    /// unlabelled snarkjs key or a ceremony built on a locally made phase 1 are all caught.
    pub fn live_network_objection(&self) -> Option<String> {
        // Tornado Cash's key comes from a public multi-party ceremony (1,114 contributors);
        // recognised by its points, not by the label.
        if crate::tornado::is_tornado_verifying_key(&self.key) {
            return None;
        }
        if self.key.alpha_g1 == local_dev_alpha_g1() {
            return Some(format!(
                "it is the local development key (labelled {:?}); its toxic waste is public, \
                 so anyone can forge withdrawal proofs",
                self.provenance.setup
            ));
        }
        if !self.provenance.setup.starts_with("ceremony:") {
            return Some(format!(
                "its setup {:?} is not a multi-party ceremony (`taonado zk ceremony`)",
                self.provenance.setup
            ));
        }
        match self.provenance.phase1.as_deref() {
            None => Some("the ceremony key does not say where its phase 1 came from".to_owned()),
            // Only a phase 1 recognised by its published hash counts: a local one has known
            // secrets, and an unrecognised ptau has no verified contribution chain.
            Some(phase1) if !Phase1::is_trusted_label(phase1) => Some(format!(
                "the ceremony was built on phase 1 {phase1:?}, which is not a recognised \
                 public powers of tau (its secrets may be known)"
            )),
            Some(_) => None,
        }
    }

    /// The key in the verifier constructor's word order (G2 imaginary part first). Every
    /// constructor checks `IC`'s length, so this fails only for a key made by hand.
    pub fn to_words(&self) -> Result<VerifyingKeyWords, VerifyingKeyError> {
        let ic = self
            .key
            .gamma_abc_g1
            .iter()
            .map(g1_words)
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| invalid("IC", format!("expected {} points", PUBLIC_INPUTS + 1)))?;
        Ok(VerifyingKeyWords {
            alpha: g1_words(&self.key.alpha_g1),
            beta: g2_contract_words(&self.key.beta_g2),
            gamma: g2_contract_words(&self.key.gamma_g2),
            delta: g2_contract_words(&self.key.delta_g2),
            ic,
        })
    }

    /// Tornado Cash's ceremony key, the one the live pool's `Verifier.sol` hard-codes,
    /// labelled [`crate::tornado::SETUP_NAME`] and bound to Tornado's circuit by the pinned
    /// SHA-256 of its JSON (the hash [`crate::tornado::TornadoProver`]'s shape carries).
    pub fn tornado() -> Self {
        Self {
            key: crate::tornado::tornado_verifying_key().clone(),
            provenance: KeyProvenance {
                setup: crate::tornado::SETUP_NAME.to_owned(),
                circuit: Some(crate::tornado::CIRCUIT_NAME.to_owned()),
                circuit_hash: Some(format!(
                    "0x{}",
                    crate::tornado::PinnedFile::CircuitJson.sha256_hex()
                )),
                phase1: None,
                contributions: None,
                transcript_hash: None,
            },
        }
    }

    /// A key built from the curve generators. It deploys like any key, but no proof verifies
    /// against it: for deployment tests and rehearsals that never withdraw.
    pub fn generator_placeholder(setup: &str) -> Self {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        Self {
            key: VerifyingKey {
                alpha_g1: g1,
                beta_g2: g2,
                gamma_g2: g2,
                delta_g2: g2,
                gamma_abc_g1: vec![g1; PUBLIC_INPUTS + 1],
            },
            provenance: KeyProvenance {
                setup: setup.to_owned(),
                circuit: Some(CIRCUIT_NAME.to_owned()),
                circuit_hash: None,
                phase1: None,
                contributions: None,
                transcript_hash: None,
            },
        }
    }
}

/// `alpha_g1` of the local development key as the verifier's words `[x, y]`: enough to
/// recognise a verifier that embeds that key (its toxic waste is public).
pub fn local_dev_alpha_words() -> [U256; 2] {
    g1_words(&local_dev_alpha_g1())
}

fn word(value: &Fq) -> U256 {
    U256::from_limbs(value.into_bigint().0)
}

fn g1_words(point: &G1Affine) -> [U256; 2] {
    [word(&point.x), word(&point.y)]
}

fn g2_contract_words(point: &G2Affine) -> [U256; 4] {
    g2_words(
        [word(&point.x.c0), word(&point.x.c1)],
        [word(&point.y.c0), word(&point.y.c1)],
    )
}

/// A base field element written as a decimal string, as snarkjs writes them.
fn field_element(field: &str, value: &Value) -> Result<Fq, VerifyingKeyError> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid(field, format!("expected a decimal string, found {value}")))?;
    let number = U256::from_str_radix(text, 10)
        .map_err(|_| invalid(field, format!("{text:?} is not a decimal number")))?;
    Fq::from_bigint(BigInt::new(number.into_limbs())).ok_or_else(|| {
        invalid(
            field,
            "coordinate is not below the BN254 base field modulus",
        )
    })
}

/// The three coordinates of a snarkjs point.
fn coordinates<'a>(field: &str, value: &'a Value) -> Result<[&'a Value; 3], VerifyingKeyError> {
    match value.as_array().map(Vec::as_slice) {
        Some([x, y, z]) => Ok([x, y, z]),
        other => Err(invalid(
            field,
            format!(
                "expected [x, y, z], found {} coordinates",
                other.map_or(0, <[Value]>::len)
            ),
        )),
    }
}

/// snarkjs G1: `[x, y, "1"]` (projective with z = 1). The point at infinity (z = 0) is
/// refused: no setup makes a key with one, and the verifier contract cannot take it.
fn g1(field: &str, value: &Value) -> Result<G1Affine, VerifyingKeyError> {
    let [x, y, z] = coordinates(field, value)?;
    if z != "1" {
        return Err(invalid(field, "expected an affine point (z = 1)"));
    }
    let point = G1Affine::new_unchecked(field_element(field, x)?, field_element(field, y)?);
    if !point.is_on_curve() {
        return Err(invalid(field, "point is not on the BN254 curve"));
    }
    Ok(point)
}

/// snarkjs G2: `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` (real part first).
fn g2(field: &str, value: &Value) -> Result<G2Affine, VerifyingKeyError> {
    let [x, y, z] = coordinates(field, value)?;
    let fq2 = |pair: &Value| -> Result<Fq2, VerifyingKeyError> {
        match pair.as_array().map(Vec::as_slice) {
            Some([c0, c1]) => Ok(Fq2::new(
                field_element(field, c0)?,
                field_element(field, c1)?,
            )),
            _ => Err(invalid(field, "expected a pair [c0, c1]")),
        }
    };
    if z.as_array().map(Vec::as_slice) != Some(&[Value::from("1"), Value::from("0")]) {
        return Err(invalid(field, "expected an affine point (z = [1, 0])"));
    }
    let point = G2Affine::new_unchecked(fq2(x)?, fq2(y)?);
    if !point.is_on_curve() {
        return Err(invalid(field, "point is not on the BN254 twist"));
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(invalid(field, "point is not in the prime-order subgroup"));
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use ark_ec::CurveGroup;
    use proptest::prelude::*;

    use super::*;

    fn dec(f: &Fq) -> String {
        word(f).to_string()
    }

    fn snarkjs_g1(p: &G1Affine) -> Value {
        serde_json::json!([dec(&p.x), dec(&p.y), "1"])
    }

    fn snarkjs_g2(p: &G2Affine) -> Value {
        serde_json::json!([
            [dec(&p.x.c0), dec(&p.x.c1)],
            [dec(&p.y.c0), dec(&p.y.c1)],
            ["1", "0"]
        ])
    }

    fn key_json(k: u64) -> Value {
        let g1 = (G1Affine::generator() * ark_bn254::Fr::from(k)).into_affine();
        let g2 = (G2Affine::generator() * ark_bn254::Fr::from(k + 1)).into_affine();
        serde_json::json!({
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": 6,
            "vk_alpha_1": snarkjs_g1(&g1),
            "vk_beta_2": snarkjs_g2(&g2),
            "vk_gamma_2": snarkjs_g2(&G2Affine::generator()),
            "vk_delta_2": snarkjs_g2(&g2),
            "vk_alphabeta_12": [],
            "IC": vec![snarkjs_g1(&g1); 7],
            "taonado": {"setup": "test-circuit", "circuit": "withdraw-h20"}
        })
    }

    fn words_of(key: &VerifyingKeyFile) -> VerifyingKeyWords {
        key.to_words().expect("a parsed key has 7 IC points")
    }

    #[test]
    fn g2_coordinates_are_swapped_to_imaginary_first() {
        let json = key_json(1);
        let key = VerifyingKeyFile::parse(&json.to_string()).unwrap();
        let g = G2Affine::generator();
        let gamma = words_of(&key).gamma;
        assert_eq!(
            gamma,
            [word(&g.x.c1), word(&g.x.c0), word(&g.y.c1), word(&g.y.c0)]
        );
        assert_ne!(gamma[0], gamma[1]);
        assert_eq!(key.setup_label(), "test-circuit");
        assert_eq!(key.circuit(), Some("withdraw-h20"));
    }

    #[test]
    fn missing_provenance_is_labelled_unknown() {
        let mut json = key_json(2);
        json.as_object_mut().unwrap().remove("taonado");
        assert_eq!(
            VerifyingKeyFile::parse(&json.to_string())
                .unwrap()
                .setup_label(),
            UNKNOWN_SETUP
        );
    }

    #[test]
    fn placeholder_points_are_valid() {
        let key = VerifyingKeyFile::generator_placeholder("test");
        let g1 = G1Affine::generator();
        assert_eq!(words_of(&key).alpha, [word(&g1.x), word(&g1.y)]);
        assert_eq!(key.verifying_key().gamma_abc_g1.len(), 7);
    }

    #[test]
    fn tornados_key_is_fit_for_a_live_network_and_words_start_with_verifier_sols_alfa1() {
        let key = VerifyingKeyFile::tornado();
        assert_eq!(key.setup_label(), crate::tornado::SETUP_NAME);
        assert_eq!(key.live_network_objection(), None);
        let alpha = words_of(&key).alpha;
        assert_eq!(
            alpha[0].to_string(),
            "20692898189092739278193869274495556617788530808486270118371701516666252877969"
        );
        // The same points under any other label are still Tornado's.
        let relabelled = VerifyingKeyFile {
            provenance: KeyProvenance {
                setup: "unknown".to_owned(),
                ..key.provenance.clone()
            },
            ..key
        };
        assert_eq!(relabelled.live_network_objection(), None);
        assert!(
            VerifyingKeyFile::generator_placeholder("test")
                .live_network_objection()
                .is_some()
        );
    }

    #[test]
    fn rejects_malformed_keys() {
        type Mutation = fn(&mut Value);
        let cases: Vec<(&str, Mutation)> = vec![
            ("protocol", |j| j["protocol"] = "plonk".into()),
            ("nPublic", |j| j["nPublic"] = 5.into()),
            ("IC", |j| j["IC"].as_array_mut().unwrap().truncate(6)),
            ("vk_alpha_1", |j| j["vk_alpha_1"][1] = "5".into()),
            ("vk_alpha_1", |j| j["vk_alpha_1"][0] = "0x12".into()),
            ("vk_beta_2", |j| j["vk_beta_2"][0][0] = "7".into()),
            ("vk_delta_2", |j| j["vk_delta_2"][2][1] = "1".into()),
            ("vk_gamma_2", |j| {
                // The base field modulus itself is out of range.
                j["vk_gamma_2"][0][1] =
                    "21888242871839275222246405745257275088696311157297823662689037894645226208583"
                        .into()
            }),
        ];
        for (field, mutate) in cases {
            let mut json = key_json(3);
            mutate(&mut json);
            match VerifyingKeyFile::parse(&json.to_string()) {
                Err(VerifyingKeyError { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected a key error, got {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn any_valid_key_parses_to_its_points(k in 1u64..u64::MAX) {
            let json = key_json(k);
            let key = VerifyingKeyFile::parse(&json.to_string()).unwrap();
            let g1 = (G1Affine::generator() * ark_bn254::Fr::from(k)).into_affine();
            let words = words_of(&key);
            prop_assert_eq!(words.alpha, g1_words(&g1));
            prop_assert!(words.ic.iter().all(|p| *p == words.alpha));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = VerifyingKeyFile::parse(&text);
        }
    }
}
