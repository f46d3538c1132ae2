//! snarkjs `verification_key.json` files, checked point by point and converted once into the
//! coordinate order the Solidity verifier wants (G2 coordinates imaginary part first).

use alloy::primitives::U256;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField};
use serde::Deserialize;
use taonado_contracts::verifier::VerifyingKeyWords;

use crate::error::{OpsError, Result};

/// The withdraw circuit's public inputs: root, nullifierHash, recipient, relayer, fee, refund.
pub const WITHDRAW_PUBLIC_INPUTS: usize = 6;

/// A G1 point as `[x, y]`.
pub type G1Words = [U256; 2];
/// A G2 point as `[[x.c1, x.c0], [y.c1, y.c0]]`: imaginary part first, as the verifier reads it.
pub type G2Words = [[U256; 2]; 2];

/// A parsed and validated Groth16 verification key for the withdraw circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKeyFile {
    pub alpha1: G1Words,
    pub beta2: G2Words,
    pub gamma2: G2Words,
    pub delta2: G2Words,
    /// `IC[0..=nPublic]`.
    pub ic: Vec<G1Words>,
    setup: String,
    circuit: Option<String>,
    circuit_hash: Option<String>,
    phase1: Option<String>,
}

#[derive(Deserialize)]
struct RawKey {
    protocol: String,
    curve: String,
    #[serde(rename = "nPublic")]
    n_public: usize,
    vk_alpha_1: Vec<String>,
    vk_beta_2: Vec<Vec<String>>,
    vk_gamma_2: Vec<Vec<String>>,
    vk_delta_2: Vec<Vec<String>>,
    #[serde(rename = "IC")]
    ic: Vec<Vec<String>>,
    #[serde(default)]
    taonado: Option<RawProvenance>,
}

#[derive(Deserialize)]
struct RawProvenance {
    setup: String,
    #[serde(default)]
    circuit: Option<String>,
    #[serde(default)]
    circuit_hash: Option<String>,
    /// Ceremony keys: where phase 1 came from (`local-insecure` for a locally made one).
    #[serde(default)]
    phase1: Option<String>,
}

/// The label used when a key file does not say where it comes from.
pub const UNKNOWN_SETUP: &str = "unknown";

impl VerifyingKeyFile {
    /// Parses a snarkjs verification key and checks that every point is on BN254 and in the
    /// right subgroup, so that a broken key is refused before a verifier embeds it.
    pub fn parse(json: &str) -> Result<Self> {
        let raw: RawKey = serde_json::from_str(json)
            .map_err(|e| invalid("verification_key.json", e.to_string()))?;
        if raw.protocol != "groth16" {
            return Err(invalid(
                "protocol",
                format!("expected groth16, found {}", raw.protocol),
            ));
        }
        if raw.curve != "bn128" && raw.curve != "bn254" {
            return Err(invalid(
                "curve",
                format!("expected bn128, found {}", raw.curve),
            ));
        }
        if raw.n_public != WITHDRAW_PUBLIC_INPUTS {
            return Err(invalid(
                "nPublic",
                format!(
                    "the withdraw circuit has {WITHDRAW_PUBLIC_INPUTS} public inputs, found {}",
                    raw.n_public
                ),
            ));
        }
        if raw.ic.len() != raw.n_public + 1 {
            return Err(invalid(
                "IC",
                format!(
                    "expected {} points, found {}",
                    raw.n_public + 1,
                    raw.ic.len()
                ),
            ));
        }
        let ic = raw
            .ic
            .iter()
            .enumerate()
            .map(|(i, p)| g1(&format!("IC[{i}]"), p))
            .collect::<Result<Vec<_>>>()?;
        let provenance = raw.taonado;
        Ok(Self {
            alpha1: g1("vk_alpha_1", &raw.vk_alpha_1)?,
            beta2: g2("vk_beta_2", &raw.vk_beta_2)?,
            gamma2: g2("vk_gamma_2", &raw.vk_gamma_2)?,
            delta2: g2("vk_delta_2", &raw.vk_delta_2)?,
            ic,
            setup: provenance
                .as_ref()
                .map_or_else(|| UNKNOWN_SETUP.to_owned(), |p| p.setup.clone()),
            circuit: provenance.as_ref().and_then(|p| p.circuit.clone()),
            circuit_hash: provenance.as_ref().and_then(|p| p.circuit_hash.clone()),
            phase1: provenance.and_then(|p| p.phase1),
        })
    }

    /// Where the key comes from: `local-dev-insecure`, `test-circuit`, `ceremony:<name>`.
    pub fn setup_label(&self) -> &str {
        &self.setup
    }

    pub fn circuit(&self) -> Option<&str> {
        self.circuit.as_deref()
    }

    pub fn circuit_hash(&self) -> Option<&str> {
        self.circuit_hash.as_deref()
    }

    /// Why this key must not secure a live network, or `None` when nothing speaks against
    /// it. Judged from the key's points as well as its label, so a relabelled local key, an
    /// unlabelled snarkjs key or a ceremony built on a locally made phase 1 are all caught.
    pub fn live_network_objection(&self) -> Option<String> {
        if self.alpha1 == g1_words(&taonado_zk::keys::local_dev_alpha_g1()) {
            return Some(format!(
                "it is the local development key (labelled {:?}); its toxic waste is public, \
                 so anyone can forge withdrawal proofs",
                self.setup
            ));
        }
        if !self.setup.starts_with("ceremony:") {
            return Some(format!(
                "its setup {:?} is not a multi-party ceremony (`taonado zk ceremony`)",
                self.setup
            ));
        }
        match self.phase1.as_deref() {
            None => Some("the ceremony key does not say where its phase 1 came from".to_owned()),
            // Only a phase 1 recognised by its published hash counts: a local one has known
            // secrets, and an unrecognised ptau has no verified contribution chain.
            Some(phase1) if !taonado_zk::ceremony::Phase1::is_trusted_label(phase1) => {
                Some(format!(
                    "the ceremony was built on phase 1 {phase1:?}, which is not a recognised \
                     public powers of tau (its secrets may be known)"
                ))
            }
            Some(_) => None,
        }
    }

    /// The key in the verifier constructor's word order (G2 already imaginary part first).
    pub fn to_words(&self) -> Result<VerifyingKeyWords> {
        let flat = |p: &G2Words| [p[0][0], p[0][1], p[1][0], p[1][1]];
        let ic: [G1Words; WITHDRAW_PUBLIC_INPUTS + 1] =
            self.ic.clone().try_into().map_err(|_| {
                invalid(
                    "IC",
                    format!("expected {} points", WITHDRAW_PUBLIC_INPUTS + 1),
                )
            })?;
        Ok(VerifyingKeyWords {
            alpha: self.alpha1,
            beta: flat(&self.beta2),
            gamma: flat(&self.gamma2),
            delta: flat(&self.delta2),
            ic,
        })
    }

    /// A key built from the curve generators. It deploys like any key, but no proof verifies
    /// against it: for deployment tests and rehearsals that never withdraw.
    pub fn generator_placeholder(setup: &str) -> Self {
        let g1 = g1_words(&G1Affine::generator());
        let g2 = g2_words(&G2Affine::generator());
        Self {
            alpha1: g1,
            beta2: g2,
            gamma2: g2,
            delta2: g2,
            ic: vec![g1; WITHDRAW_PUBLIC_INPUTS + 1],
            setup: setup.to_owned(),
            circuit: Some("withdraw-h20".to_owned()),
            circuit_hash: None,
            phase1: None,
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> OpsError {
    OpsError::VerifyingKey {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn field_element(field: &str, decimal: &str) -> Result<Fq> {
    let value: U256 = decimal
        .parse()
        .map_err(|_| invalid(field, format!("{decimal:?} is not a decimal number")))?;
    Fq::from_bigint(BigInt::new(*value.as_limbs())).ok_or_else(|| {
        invalid(
            field,
            "coordinate is not below the BN254 base field modulus",
        )
    })
}

fn words(f: &Fq) -> U256 {
    U256::from_limbs(f.into_bigint().0)
}

fn g1_words(p: &G1Affine) -> G1Words {
    [words(&p.x), words(&p.y)]
}

fn g2_words(p: &G2Affine) -> G2Words {
    [
        [words(&p.x.c1), words(&p.x.c0)],
        [words(&p.y.c1), words(&p.y.c0)],
    ]
}

/// snarkjs G1: `[x, y, "1"]` (projective with z = 1).
fn g1(field: &str, coords: &[String]) -> Result<G1Words> {
    let [x, y, z] = coords else {
        return Err(invalid(
            field,
            format!("expected [x, y, z], found {} coordinates", coords.len()),
        ));
    };
    if z != "1" {
        return Err(invalid(field, "expected an affine point (z = 1)"));
    }
    let point = G1Affine::new_unchecked(field_element(field, x)?, field_element(field, y)?);
    if !point.is_on_curve() {
        return Err(invalid(field, "point is not on the BN254 curve"));
    }
    Ok(g1_words(&point))
}

/// snarkjs G2: `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` (real part first).
fn g2(field: &str, coords: &[Vec<String>]) -> Result<G2Words> {
    let [x, y, z] = coords else {
        return Err(invalid(
            field,
            format!("expected [x, y, z], found {} coordinates", coords.len()),
        ));
    };
    let fq2 = |pair: &Vec<String>| -> Result<Fq2> {
        let [c0, c1] = pair.as_slice() else {
            return Err(invalid(field, "expected a pair [c0, c1]"));
        };
        Ok(Fq2::new(
            field_element(field, c0)?,
            field_element(field, c1)?,
        ))
    };
    if z.as_slice() != ["1", "0"] {
        return Err(invalid(field, "expected an affine point (z = [1, 0])"));
    }
    let point = G2Affine::new_unchecked(fq2(x)?, fq2(y)?);
    if !point.is_on_curve() {
        return Err(invalid(field, "point is not on the BN254 twist"));
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(invalid(field, "point is not in the prime-order subgroup"));
    }
    Ok(g2_words(&point))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use proptest::prelude::*;

    fn dec(f: &Fq) -> String {
        words(f).to_string()
    }

    fn snarkjs_g1(p: &G1Affine) -> serde_json::Value {
        serde_json::json!([dec(&p.x), dec(&p.y), "1"])
    }

    fn snarkjs_g2(p: &G2Affine) -> serde_json::Value {
        serde_json::json!([
            [dec(&p.x.c0), dec(&p.x.c1)],
            [dec(&p.y.c0), dec(&p.y.c1)],
            ["1", "0"]
        ])
    }

    fn key_json(k: u64) -> serde_json::Value {
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

    #[test]
    fn g2_coordinates_are_swapped_to_imaginary_first() {
        let json = key_json(1);
        let key = VerifyingKeyFile::parse(&json.to_string()).unwrap();
        let g = G2Affine::generator();
        assert_eq!(
            key.gamma2,
            [
                [words(&g.x.c1), words(&g.x.c0)],
                [words(&g.y.c1), words(&g.y.c0)]
            ]
        );
        assert_ne!(key.gamma2[0][0], key.gamma2[0][1]);
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
        assert_eq!(key.alpha1, [words(&g1.x), words(&g1.y)]);
        assert_eq!(key.ic.len(), 7);
    }

    #[test]
    fn rejects_malformed_keys() {
        type Mutation = fn(&mut serde_json::Value);
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
                Err(OpsError::VerifyingKey { field: f, .. }) => assert_eq!(f, field),
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
            prop_assert_eq!(key.alpha1, g1_words(&g1));
            prop_assert!(key.ic.iter().all(|p| *p == key.alpha1));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = VerifyingKeyFile::parse(&text);
        }
    }
}
