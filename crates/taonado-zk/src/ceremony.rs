//! A multi-party Groth16 phase-2 ceremony (BGM17) for the withdraw circuit.
//!
//! Phase 2 only re-randomises δ: each contributor picks a secret `d`, multiplies δ in G1
//! and G2 by `d` and divides every point of the L and H queries by `d`. The keys are sound
//! as long as one contributor destroyed their `d` **and** the phase-1 powers of tau
//! (τ, α, β) are unknown to everyone.
//!
//! Each contribution carries a proof of knowledge of `d`: a random G1 point `s`, `s·d`,
//! and `r·d` for `r = hash_to_g2(previous transcript hash, s, s·d)`, so a contribution is
//! bound to the transcript it extends and cannot be replayed in another position.
//! The transcript hash chain starts at the circuit hash, the phase-1 label and the digest
//! of the initial parameters, and absorbs every contribution.
//!
//! **Phase 1** is either a snarkjs powers-of-tau file ([`Phase1::Ptau`], read by
//! [`crate::ptau`]; the initial parameters are computed from its Lagrange bases and the
//! verifier recomputes them from the same file, identified by its blake2b-512) or, for
//! rehearsals, [`Phase1::LocalInsecure`]: a deterministic local setup whose τ, α and β
//! anyone can recompute, which makes *every* key of such a ceremony forgeable however
//! honest the phase-2 contributors are. Only a ptau whose hash is one of the published
//! Hermez files ([`crate::ptau::HERMEZ_FINAL_BLAKE2B`]) counts as a real phase 1; the
//! label says which, and `taonado zk key-info` reports it.

use std::{fs, path::Path};

use alloy_primitives::{B256, Keccak256, keccak256};
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM, pairing::Pairing};
use ark_ff::{Field, UniformRand, Zero};
use ark_groth16::Groth16;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::rand::{SeedableRng, rngs::StdRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    ZkError,
    circuit::{PUBLIC_INPUTS, WithdrawCircuit},
    groth16::{CIRCUIT_NAME, CircuitShape, ProvingKey, WithdrawProver},
    ptau::{self, HERMEZ_FINAL_BLAKE2B, ImportStage, QapShape, hermez_power},
};

/// First bytes of a ceremony file; a little-endian u64 header length, the JSON header and
/// the uncompressed parameters follow.
const CEREMONY_MAGIC: &[u8; 16] = b"taonado-ceremony";

/// Domain separator of the transcript hash chain.
const TRANSCRIPT_DOMAIN: &[u8] = b"taonado/groth16-phase2/v1";

/// Where the phase-1 (powers of tau) part of the parameters comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Phase1 {
    /// A deterministic local setup seeded by `keccak256("taonado phase-1 local-insecure"
    /// ‖ ceremony name)`: τ, α and β are public, so the resulting keys are **not secure**.
    LocalInsecure {
        /// The seed, hex.
        seed: B256,
    },
    /// A snarkjs powers-of-tau file prepared for phase 2. Trusted only when its hash is a
    /// published Hermez final file's; the verifier needs the file itself.
    Ptau {
        /// blake2b-512 of the whole file, hex.
        blake2b: String,
        /// The file's power (it serves circuits of up to 2^power − instance rows).
        power: u32,
    },
}

impl Phase1 {
    /// The label of [`Phase1::LocalInsecure`] in verifying keys.
    pub const LOCAL_INSECURE_LABEL: &'static str = "local-insecure";

    /// The label written into verifying keys: `local-insecure`, `hermez-ppot-final-NN`
    /// for a recognised Hermez file, or `ptau:<first 16 hex digits of its
    /// blake2b>:unrecognised-insecure` for any other ptau (the word `insecure` makes
    /// `taonado-ops`' live-network check object to it).
    pub fn label(&self) -> String {
        match self {
            Self::LocalInsecure { .. } => Self::LOCAL_INSECURE_LABEL.to_owned(),
            Self::Ptau { blake2b, .. } => match hermez_power(blake2b) {
                Some(power) => format!("hermez-ppot-final-{power:02}"),
                None => format!(
                    "ptau:{}:unrecognised-insecure",
                    blake2b.get(..16).unwrap_or(blake2b)
                ),
            },
        }
    }

    /// Whether nothing vouches that the phase-1 secrets were destroyed: the local setup,
    /// or a ptau that is not a recognised public ceremony's.
    pub fn is_insecure(&self) -> bool {
        match self {
            Self::LocalInsecure { .. } => true,
            Self::Ptau { blake2b, .. } => hermez_power(blake2b).is_none(),
        }
    }

    /// Whether a phase-1 label (as verifying keys record it) names a trusted phase 1:
    /// exactly the labels [`Phase1::label`] gives recognised Hermez files.
    pub fn is_trusted_label(label: &str) -> bool {
        HERMEZ_FINAL_BLAKE2B
            .iter()
            .any(|(power, _)| label == format!("hermez-ppot-final-{power:02}"))
    }

    /// The phase 1 of a ptau file with this blake2b-512 (hex) and power.
    pub fn ptau(blake2b: &str, power: u32) -> Self {
        Self::Ptau {
            blake2b: blake2b.to_ascii_lowercase(),
            power,
        }
    }

    /// The local, insecure phase 1 of the ceremony called `name`.
    pub fn local_insecure(name: &str) -> Self {
        let mut hasher = Keccak256::new();
        hasher.update(b"taonado phase-1 local-insecure");
        hasher.update(name.as_bytes());
        Self::LocalInsecure {
            seed: hasher.finalize(),
        }
    }

    /// The initial parameters of the withdraw circuit `shape`: recomputed locally, or
    /// from `ptau`, which must be the file this phase 1 recorded.
    pub fn initial_params(
        &self,
        shape: &CircuitShape,
        ptau: Option<&Path>,
    ) -> Result<ProvingKey, ZkError> {
        match self {
            Self::LocalInsecure { .. } => self.withdraw_params(),
            Self::Ptau { .. } => self.ptau_params(&QapShape::from(shape), ptau),
        }
    }

    /// The initial parameters of any circuit from the recorded ptau file.
    pub fn ptau_params(
        &self,
        shape: &QapShape<'_>,
        ptau: Option<&Path>,
    ) -> Result<ProvingKey, ZkError> {
        let Self::Ptau { blake2b, .. } = self else {
            return self.withdraw_params();
        };
        let Some(path) = ptau else {
            return Err(ZkError::PtauNeeded {
                label: self.label(),
                blake2b: blake2b.clone(),
            });
        };
        Ok(ptau::import_expecting(path, shape, Some(blake2b), &mut |_| {})?.params)
    }

    /// The initial (phase-1 only) parameters of the withdraw circuit for the local phase
    /// 1; a ptau phase 1 needs its file ([`Phase1::initial_params`]).
    pub fn withdraw_params(&self) -> Result<ProvingKey, ZkError> {
        match self {
            Self::Ptau { blake2b, .. } => Err(ZkError::PtauNeeded {
                label: self.label(),
                blake2b: blake2b.clone(),
            }),
            Self::LocalInsecure { seed } => {
                let mut rng = StdRng::from_seed(seed.0);
                Groth16::<Bn254>::generate_random_parameters_with_reduction(
                    WithdrawCircuit::blank(),
                    &mut rng,
                )
                .map_err(|e| ZkError::Synthesis {
                    stage: "ceremony init",
                    message: e.to_string(),
                })
            }
        }
    }
}

/// One participant's public record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// A name the participant chose (not authenticated).
    pub contributor: String,
    /// Transcript hash this contribution extends.
    pub previous: B256,
    /// δ·G1 after this contribution (compressed, hex).
    pub delta_g1: String,
    /// δ·G2 after this contribution.
    pub delta_g2: String,
    /// Proof of knowledge: a random G1 point `s`…
    pub s: String,
    /// … `s·d` …
    pub s_d: String,
    /// … and `r·d` in G2, `r = hash_to_g2(previous, s, s·d)`.
    pub r_d: String,
    /// Transcript hash after this contribution: what the participant publishes.
    pub hash: B256,
}

/// The public parts of a contribution, decoded.
struct ContributionPoints {
    delta_g1: G1Affine,
    delta_g2: G2Affine,
    s: G1Affine,
    s_d: G1Affine,
    r_d: G2Affine,
}

impl Contribution {
    fn points(&self, index: usize) -> Result<ContributionPoints, ZkError> {
        Ok(ContributionPoints {
            delta_g1: decode_point(&self.delta_g1, index, "delta_g1")?,
            delta_g2: decode_point(&self.delta_g2, index, "delta_g2")?,
            s: decode_point(&self.s, index, "s")?,
            s_d: decode_point(&self.s_d, index, "s_d")?,
            r_d: decode_point(&self.r_d, index, "r_d")?,
        })
    }

    fn digest(&self) -> B256 {
        let mut hasher = Keccak256::new();
        hasher.update(self.previous);
        hasher.update((self.contributor.len() as u64).to_le_bytes());
        hasher.update(self.contributor.as_bytes());
        for point in [
            &self.delta_g1,
            &self.delta_g2,
            &self.s,
            &self.s_d,
            &self.r_d,
        ] {
            hasher.update(point.as_bytes());
        }
        hasher.finalize()
    }
}

fn encode_point<P: CanonicalSerialize>(point: &P) -> String {
    let mut bytes = Vec::with_capacity(point.compressed_size());
    // Writing into a Vec cannot fail.
    let _ = point.serialize_compressed(&mut bytes);
    hex::encode(bytes)
}

fn decode_point<P: CanonicalDeserialize>(
    text: &str,
    index: usize,
    what: &str,
) -> Result<P, ZkError> {
    let bytes =
        hex::decode(text).map_err(|_| rejected(Some(index), format!("{what} is not hex")))?;
    // Checked decoding: on the curve and in the prime-order subgroup.
    P::deserialize_compressed(bytes.as_slice())
        .map_err(|e| rejected(Some(index), format!("{what} is not a valid point: {e}")))
}

fn rejected(contribution: Option<usize>, reason: impl Into<String>) -> ZkError {
    ZkError::CeremonyRejected {
        contribution,
        reason: reason.into(),
    }
}

/// The point `r` of a proof of knowledge: a G2 point nobody knows the discrete log of,
/// derived from the transcript (try-and-increment from a seeded generator).
fn hash_to_g2(previous: B256, s: &G1Affine, s_d: &G1Affine) -> G2Affine {
    let mut hasher = Keccak256::new();
    hasher.update(TRANSCRIPT_DOMAIN);
    hasher.update(b"/pok");
    hasher.update(previous);
    hasher.update(encode_point(s).as_bytes());
    hasher.update(encode_point(s_d).as_bytes());
    let mut rng = StdRng::from_seed(hasher.finalize().0);
    G2Projective::rand(&mut rng).into_affine()
}

/// `e(a1, b2) == e(b1, a2)`: the G1 pair and the G2 pair have the same ratio.
fn same_ratio(g1: (G1Affine, G1Affine), g2: (G2Affine, G2Affine)) -> bool {
    Bn254::multi_pairing([g1.0, -g1.1], [g2.1, g2.0]).is_zero()
}

fn params_digest(params: &ProvingKey) -> B256 {
    let mut bytes = Vec::with_capacity(params.uncompressed_size());
    // Writing into a Vec cannot fail.
    let _ = params.serialize_uncompressed(&mut bytes);
    keccak256(&bytes)
}

/// What the ceremony file's header holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    name: String,
    circuit: String,
    circuit_hash: B256,
    phase1: Phase1,
    initial_digest: B256,
    params_digest: B256,
    contributions: Vec<Contribution>,
}

/// A phase-2 ceremony in progress: the current parameters and the public transcript.
#[derive(Debug, Clone)]
pub struct Ceremony {
    header: Header,
    params: ProvingKey,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedCeremony {
    /// The ceremony's name.
    pub name: String,
    /// The circuit hash the final parameters belong to.
    pub circuit_hash: B256,
    /// Phase-1 label (`local-insecure`, `hermez-ppot-final-NN`, `ptau:…`).
    pub phase1: String,
    /// Whether phase 1 is untrusted: local (its secrets are public) or an unrecognised ptau.
    pub phase1_insecure: bool,
    /// Every contribution's (contributor, transcript hash), in order.
    pub contributions: Vec<(String, B256)>,
    /// The final transcript hash.
    pub transcript_hash: B256,
}

impl Ceremony {
    /// Starts a ceremony for the withdraw circuit from the local, insecure phase 1.
    pub fn init_withdraw(name: &str, shape: &CircuitShape) -> Result<Self, ZkError> {
        let phase1 = Phase1::local_insecure(name);
        let params = phase1.withdraw_params()?;
        Self::from_initial(name, shape.hash(), phase1, params)
    }

    /// Starts a ceremony for the withdraw circuit on the powers of tau in `ptau` (a snarkjs
    /// file prepared for phase 2, of power ≥ log2 of the circuit's domain).
    pub fn init_withdraw_from_ptau(
        name: &str,
        shape: &CircuitShape,
        ptau: &Path,
        progress: &mut dyn FnMut(ImportStage),
    ) -> Result<Self, ZkError> {
        Self::from_ptau(name, shape.hash(), &QapShape::from(shape), ptau, progress)
    }

    /// Starts a ceremony for any circuit `shape`, bound to `circuit_hash`, on `ptau`.
    pub fn from_ptau(
        name: &str,
        circuit_hash: B256,
        shape: &QapShape<'_>,
        ptau: &Path,
        progress: &mut dyn FnMut(ImportStage),
    ) -> Result<Self, ZkError> {
        let imported = ptau::import(ptau, shape, progress)?;
        let phase1 = Phase1::ptau(&imported.blake2b, imported.power);
        Self::from_initial(name, circuit_hash, phase1, imported.params)
    }

    /// Starts a ceremony from initial parameters `params` made for `circuit_hash`.
    pub fn from_initial(
        name: &str,
        circuit_hash: B256,
        phase1: Phase1,
        params: ProvingKey,
    ) -> Result<Self, ZkError> {
        if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_graphic()) {
            return Err(rejected(
                None,
                "a ceremony name must be 1-64 printable ASCII characters without spaces",
            ));
        }
        let digest = params_digest(&params);
        Ok(Self {
            header: Header {
                name: name.to_owned(),
                circuit: CIRCUIT_NAME.to_owned(),
                circuit_hash,
                phase1,
                initial_digest: digest,
                params_digest: digest,
                contributions: Vec::new(),
            },
            params,
        })
    }

    /// The ceremony's name.
    pub fn name(&self) -> &str {
        &self.header.name
    }

    /// The verifying-key setup label of its keys: `ceremony:<name>`.
    pub fn setup_label(&self) -> String {
        format!("ceremony:{}", self.header.name)
    }

    /// Where phase 1 came from.
    pub fn phase1(&self) -> &Phase1 {
        &self.header.phase1
    }

    /// The circuit hash the parameters are for.
    pub fn circuit_hash(&self) -> B256 {
        self.header.circuit_hash
    }

    /// The contributions so far.
    pub fn contributions(&self) -> &[Contribution] {
        &self.header.contributions
    }

    /// The current parameters.
    pub fn params(&self) -> &ProvingKey {
        &self.params
    }

    /// The start of the transcript chain: circuit, phase 1 and the initial parameters.
    fn genesis_hash(&self) -> B256 {
        let mut hasher = Keccak256::new();
        hasher.update(TRANSCRIPT_DOMAIN);
        hasher.update((self.header.name.len() as u64).to_le_bytes());
        hasher.update(self.header.name.as_bytes());
        hasher.update(self.header.circuit.as_bytes());
        hasher.update(self.header.circuit_hash);
        hasher.update(self.header.phase1.label().as_bytes());
        match &self.header.phase1 {
            Phase1::LocalInsecure { seed } => hasher.update(seed),
            Phase1::Ptau { blake2b, power } => {
                hasher.update(blake2b.as_bytes());
                hasher.update(power.to_le_bytes());
            }
        }
        hasher.update(self.header.initial_digest);
        hasher.finalize()
    }

    /// The current transcript hash.
    pub fn transcript_hash(&self) -> B256 {
        self.header
            .contributions
            .last()
            .map_or_else(|| self.genesis_hash(), |c| c.hash)
    }

    /// Adds a contribution with a secret drawn from `rng` (which the caller should seed
    /// from the OS and, optionally, extra entropy). The secret is dropped on return.
    pub fn contribute<R: rand::CryptoRng + ?Sized>(
        &mut self,
        contributor: &str,
        rng: &mut R,
    ) -> Result<&Contribution, ZkError> {
        if contributor.is_empty() || contributor.len() > 128 {
            return Err(rejected(None, "a contributor name must be 1-128 bytes"));
        }
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut ark_rng = StdRng::from_seed(seed);
        let mut d = Fr::rand(&mut ark_rng);
        while d.is_zero() {
            d = Fr::rand(&mut ark_rng);
        }
        // d ≠ 0, so the inverse exists.
        let d_inverse = d.inverse().unwrap_or_default();

        let previous = self.transcript_hash();
        let s = G1Projective::rand(&mut ark_rng).into_affine();
        let s_d = (s * d).into_affine();
        let r_d = (hash_to_g2(previous, &s, &s_d) * d).into_affine();

        let scale = |points: &[G1Affine]| -> Vec<G1Affine> {
            let scaled: Vec<G1Projective> = points.par_iter().map(|p| *p * d_inverse).collect();
            G1Projective::normalize_batch(&scaled)
        };
        self.params.l_query = scale(&self.params.l_query);
        self.params.h_query = scale(&self.params.h_query);
        self.params.delta_g1 = (self.params.delta_g1 * d).into_affine();
        self.params.vk.delta_g2 = (self.params.vk.delta_g2 * d).into_affine();

        let mut contribution = Contribution {
            contributor: contributor.to_owned(),
            previous,
            delta_g1: encode_point(&self.params.delta_g1),
            delta_g2: encode_point(&self.params.vk.delta_g2),
            s: encode_point(&s),
            s_d: encode_point(&s_d),
            r_d: encode_point(&r_d),
            hash: B256::ZERO,
        };
        contribution.hash = contribution.digest();
        self.header.params_digest = params_digest(&self.params);
        self.header.contributions.push(contribution);
        let last = self.header.contributions.len() - 1;
        Ok(&self.header.contributions[last])
    }

    /// [`Ceremony::contribute`] with a secret from the operating system's generator, mixed
    /// with `extra_entropy` (e.g. typed by the participant) through Keccak-256, so the
    /// secret stays unpredictable if either source is good.
    pub fn contribute_with_entropy(
        &mut self,
        contributor: &str,
        extra_entropy: &[u8],
    ) -> Result<&Contribution, ZkError> {
        use rand::{Rng, SeedableRng};
        let mut os = [0u8; 32];
        rand::rng().fill(&mut os);
        let mut hasher = Keccak256::new();
        hasher.update(b"taonado/phase2-entropy");
        hasher.update(os);
        hasher.update(extra_entropy);
        let mut rng = rand::rngs::StdRng::from_seed(hasher.finalize().0);
        self.contribute(contributor, &mut rng)
    }

    /// Checks the whole ceremony against `initial`, the phase-1 parameters recomputed by
    /// the verifier, and `circuit_hash`, this build's circuit:
    /// - every contribution extends the previous transcript hash and hashes correctly;
    /// - its proof of knowledge holds, `e(s, r·d) = e(s·d, r)`;
    /// - δ moves by the same `d`: `e(δ_prev, r·d) = e(δ_new, r)` in G1, and G1/G2 agree;
    /// - the final δ is the last contribution's, the L and H queries are the initial ones
    ///   divided by δ_final/δ_initial (random linear combination), and nothing else changed.
    pub fn verify(
        &self,
        initial: &ProvingKey,
        circuit_hash: B256,
    ) -> Result<VerifiedCeremony, ZkError> {
        if self.header.circuit_hash != circuit_hash || self.header.circuit != CIRCUIT_NAME {
            return Err(rejected(
                None,
                format!(
                    "the ceremony is for circuit {} {}, this build's withdraw circuit is {circuit_hash}",
                    self.header.circuit, self.header.circuit_hash
                ),
            ));
        }
        if params_digest(initial) != self.header.initial_digest {
            return Err(rejected(
                None,
                "the recorded initial parameters differ from the phase-1 parameters recomputed here",
            ));
        }
        let params = &self.params;
        if params_digest(params) != self.header.params_digest {
            return Err(rejected(
                None,
                "the parameters do not match the digest in the header (corrupt or edited file)",
            ));
        }
        let unchanged = params.vk.alpha_g1 == initial.vk.alpha_g1
            && params.vk.beta_g2 == initial.vk.beta_g2
            && params.vk.gamma_g2 == initial.vk.gamma_g2
            && params.vk.gamma_abc_g1 == initial.vk.gamma_abc_g1
            && params.beta_g1 == initial.beta_g1
            && params.a_query == initial.a_query
            && params.b_g1_query == initial.b_g1_query
            && params.b_g2_query == initial.b_g2_query
            && params.l_query.len() == initial.l_query.len()
            && params.h_query.len() == initial.h_query.len()
            && params.vk.gamma_abc_g1.len() == PUBLIC_INPUTS + 1;
        if !unchanged {
            return Err(rejected(
                None,
                "a parameter other than delta, L or H differs from phase 1",
            ));
        }

        let mut previous = self.genesis_hash();
        let mut delta_g1 = initial.delta_g1;
        let mut delta_g2 = initial.vk.delta_g2;
        for (index, contribution) in self.header.contributions.iter().enumerate() {
            if contribution.previous != previous {
                return Err(rejected(
                    Some(index),
                    "it does not extend the previous transcript hash (reordered, dropped or replayed)",
                ));
            }
            if contribution.digest() != contribution.hash {
                return Err(rejected(Some(index), "its transcript hash is wrong"));
            }
            let points = contribution.points(index)?;
            if points.delta_g1.is_zero() || points.s.is_zero() || points.s_d.is_zero() {
                return Err(rejected(Some(index), "a point is the identity"));
            }
            let r = hash_to_g2(previous, &points.s, &points.s_d);
            if !same_ratio((points.s, points.s_d), (r, points.r_d)) {
                return Err(rejected(
                    Some(index),
                    "its proof of knowledge of the secret does not hold",
                ));
            }
            if !same_ratio((delta_g1, points.delta_g1), (r, points.r_d)) {
                return Err(rejected(
                    Some(index),
                    "delta_g1 was not multiplied by the secret it proves knowledge of",
                ));
            }
            if !same_ratio((delta_g1, points.delta_g1), (delta_g2, points.delta_g2)) {
                return Err(rejected(Some(index), "delta_g1 and delta_g2 disagree"));
            }
            delta_g1 = points.delta_g1;
            delta_g2 = points.delta_g2;
            previous = contribution.hash;
        }
        if params.delta_g1 != delta_g1 || params.vk.delta_g2 != delta_g2 {
            return Err(rejected(
                None,
                "the parameters' delta is not the last contribution's",
            ));
        }
        if params
            .l_query
            .iter()
            .chain(&params.h_query)
            .any(|p| !p.is_on_curve() || p.is_zero())
        {
            return Err(rejected(None, "an L or H point is invalid"));
        }
        // Σρ·L'_i over Σρ·L_i must be δ_initial/δ_final, for random ρ (both queries at once).
        // Fresh randomness: ρ derived from the transcript would let whoever wrote the file
        // pick L and H that pass this one combination.
        let mut seed = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut seed);
        let mut rng = StdRng::from_seed(seed);
        let rho: Vec<Fr> = (0..params.l_query.len() + params.h_query.len())
            .map(|_| Fr::rand(&mut rng))
            .collect();
        let combine = |l: &[G1Affine], h: &[G1Affine]| -> Result<G1Affine, ZkError> {
            let bases: Vec<G1Affine> = l.iter().chain(h).copied().collect();
            G1Projective::msm(&bases, &rho)
                .map(|p| p.into_affine())
                .map_err(|_| rejected(None, "L and H have the wrong length"))
        };
        let before = combine(&initial.l_query, &initial.h_query)?;
        let after = combine(&params.l_query, &params.h_query)?;
        if !same_ratio((after, before), (initial.vk.delta_g2, delta_g2)) {
            return Err(rejected(
                None,
                "the L or H query was not divided by the contributions' secrets",
            ));
        }
        Ok(VerifiedCeremony {
            name: self.header.name.clone(),
            circuit_hash,
            phase1: self.header.phase1.label(),
            phase1_insecure: self.header.phase1.is_insecure(),
            contributions: self
                .header
                .contributions
                .iter()
                .map(|c| (c.contributor.clone(), c.hash))
                .collect(),
            transcript_hash: previous,
        })
    }

    /// Recomputes the withdraw circuit's phase 1 and verifies against this build's circuit.
    /// A ceremony on a ptau needs [`Ceremony::verify_withdraw_with_ptau`].
    pub fn verify_withdraw(&self, shape: &CircuitShape) -> Result<VerifiedCeremony, ZkError> {
        self.verify_withdraw_with_ptau(shape, None)
    }

    /// [`Ceremony::verify_withdraw`], recomputing a ptau phase 1 from `ptau` (which must
    /// hash to the recorded blake2b).
    pub fn verify_withdraw_with_ptau(
        &self,
        shape: &CircuitShape,
        ptau: Option<&Path>,
    ) -> Result<VerifiedCeremony, ZkError> {
        if let Phase1::LocalInsecure { .. } = &self.header.phase1
            && self.header.phase1 != Phase1::local_insecure(&self.header.name)
        {
            return Err(rejected(
                None,
                "the phase-1 seed is not the one derived from the ceremony name",
            ));
        }
        let initial = self.header.phase1.initial_params(shape, ptau)?;
        self.verify(&initial, shape.hash())
    }

    /// The final prover, after [`Ceremony::verify_withdraw`] succeeded.
    pub fn into_prover(self, shape: CircuitShape) -> WithdrawProver {
        WithdrawProver::from_parts(self.params, shape)
    }

    /// Verifies the ceremony, then writes its proving key and its snarkjs-format verifying
    /// key (setup `ceremony:<name>`, with the phase-1 label, the number of contributions
    /// and the transcript hash) into `dir`.
    pub fn export(
        self,
        shape: CircuitShape,
        dir: &Path,
    ) -> Result<(VerifiedCeremony, crate::keys::KeyPaths), ZkError> {
        self.export_with_ptau(shape, dir, None)
    }

    /// [`Ceremony::export`] for a ceremony whose phase 1 is the ptau file `ptau`.
    pub fn export_with_ptau(
        self,
        shape: CircuitShape,
        dir: &Path,
        ptau: Option<&Path>,
    ) -> Result<(VerifiedCeremony, crate::keys::KeyPaths), ZkError> {
        let verified = self.verify_withdraw_with_ptau(&shape, ptau)?;
        let setup = self.setup_label();
        let paths = crate::keys::KeyPaths::in_dir(dir);
        let prover = self.into_prover(shape);
        crate::keys::write_proving_key(&paths.proving_key, &prover)?;
        let mut value =
            crate::keys::verifying_key_json(prover.verifying_key(), verified.circuit_hash, &setup);
        value["taonado"]["phase1"] = verified.phase1.clone().into();
        value["taonado"]["contributions"] = verified.contributions.len().into();
        value["taonado"]["transcript_hash"] = verified.transcript_hash.to_string().into();
        let mut text = serde_json::to_string_pretty(&value).map_err(|e| ZkError::BadKeyFile {
            path: paths.verifying_key.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        crate::keys::write_atomically(&paths.verifying_key, text.as_bytes())?;
        Ok((verified, paths))
    }

    /// The ceremony file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ZkError> {
        let header = serde_json::to_vec(&self.header).map_err(|e| ZkError::Synthesis {
            stage: "serialize",
            message: e.to_string(),
        })?;
        let mut bytes = Vec::with_capacity(
            CEREMONY_MAGIC.len() + 8 + header.len() + self.params.uncompressed_size(),
        );
        bytes.extend_from_slice(CEREMONY_MAGIC);
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        self.params
            .serialize_uncompressed(&mut bytes)
            .map_err(|e| ZkError::Synthesis {
                stage: "serialize",
                message: e.to_string(),
            })?;
        Ok(bytes)
    }

    /// Parses a ceremony file; `path` only labels errors. Points are checked by
    /// [`Ceremony::verify`], not here, so loading stays fast.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, ZkError> {
        let bad = |reason: &str| ZkError::BadKeyFile {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        };
        let start = CEREMONY_MAGIC.len() + 8;
        if bytes.len() < start || &bytes[..CEREMONY_MAGIC.len()] != CEREMONY_MAGIC {
            return Err(bad("not a taonado ceremony file (bad magic)"));
        }
        let mut length = [0u8; 8];
        length.copy_from_slice(&bytes[CEREMONY_MAGIC.len()..start]);
        let end = usize::try_from(u64::from_le_bytes(length))
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| bad("the header length runs past the end of the file"))?;
        let header: Header = serde_json::from_slice(&bytes[start..end])
            .map_err(|e| bad(&format!("invalid header: {e}")))?;
        let params = ProvingKey::deserialize_uncompressed_unchecked(&bytes[end..])
            .map_err(|e| bad(&format!("cannot decode the parameters: {e}")))?;
        Ok(Self { header, params })
    }

    /// Writes the ceremony file (through a temporary file).
    pub fn write(&self, path: &Path) -> Result<(), ZkError> {
        crate::keys::write_atomically(path, &self.to_bytes()?)
    }

    /// Reads a ceremony file.
    pub fn read(path: &Path) -> Result<Self, ZkError> {
        let bytes = fs::read(path).map_err(|source| ZkError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use ark_relations::gr1cs::{
        ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
    };

    use super::*;

    /// `x·x = y` with `y` public: small enough for debug builds.
    #[derive(Clone)]
    struct Square {
        x: Option<Fr>,
    }

    impl ConstraintSynthesizer<Fr> for Square {
        fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
            let y = cs.new_input_variable(|| {
                self.x
                    .map(|x| x * x)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let x = cs.new_witness_variable(|| self.x.ok_or(SynthesisError::AssignmentMissing))?;
            let z = cs.new_witness_variable(|| {
                self.x
                    .map(|x| x + Fr::from(1u64))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x),
                || LinearCombination::from(x),
                || LinearCombination::from(y),
            )?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x) + (Fr::from(1u64), Variable::One),
                || LinearCombination::from(Variable::One),
                || LinearCombination::from(z),
            )?;
            Ok(())
        }
    }

    fn square_params(seed: u8) -> ProvingKey {
        let mut rng = StdRng::from_seed([seed; 32]);
        let mut pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
            Square { x: None },
            &mut rng,
        )
        .expect("setup of a two-constraint circuit");
        // The real circuit has 6 public inputs; pad so verify's shape check passes.
        pk.vk
            .gamma_abc_g1
            .resize(PUBLIC_INPUTS + 1, G1Affine::generator());
        pk
    }

    fn ceremony(parties: usize) -> (Ceremony, ProvingKey) {
        let initial = square_params(7);
        let mut ceremony = Ceremony::from_initial(
            "unit",
            B256::repeat_byte(1),
            Phase1::local_insecure("unit"),
            initial.clone(),
        )
        .expect("valid name");
        let mut rng = rand::rng();
        for party in 0..parties {
            ceremony
                .contribute(&format!("party-{party}"), &mut rng)
                .expect("valid contributor");
        }
        (ceremony, initial)
    }

    #[test]
    fn only_a_published_hermez_ptau_is_a_trusted_phase1() {
        let (power, hash) = HERMEZ_FINAL_BLAKE2B[7];
        let hermez = Phase1::ptau(&hash.to_uppercase(), power);
        assert_eq!(hermez.label(), "hermez-ppot-final-15");
        assert!(!hermez.is_insecure());
        assert!(Phase1::is_trusted_label(&hermez.label()));

        let other = Phase1::ptau(&"ab".repeat(64), 15);
        assert_eq!(other.label(), "ptau:abababababababab:unrecognised-insecure");
        assert!(other.is_insecure());
        assert!(!Phase1::is_trusted_label(&other.label()));
        let local = Phase1::local_insecure("x");
        assert!(local.is_insecure() && !Phase1::is_trusted_label(&local.label()));
        // Labels a file could claim are not trusted unless they are exactly ours.
        for label in [
            "ppot-0080",
            "hermez-ppot-final-15-insecure",
            "hermez-ppot-final-7",
        ] {
            assert!(!Phase1::is_trusted_label(label), "{label}");
        }
        // A ptau phase 1 survives the ceremony file's JSON header.
        let text = serde_json::to_string(&hermez).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Phase1>(&text).expect("parses"),
            hermez
        );
        assert!(matches!(
            hermez.withdraw_params(),
            Err(ZkError::PtauNeeded { .. })
        ));
    }

    #[test]
    fn honest_contributions_verify_and_chain() {
        let (ceremony, initial) = ceremony(3);
        let verified = ceremony
            .verify(&initial, B256::repeat_byte(1))
            .expect("honest ceremony verifies");
        assert_eq!(verified.contributions.len(), 3);
        assert_eq!(verified.transcript_hash, ceremony.transcript_hash());
        assert_ne!(ceremony.params().vk.delta_g2, initial.vk.delta_g2);
        let chain = ceremony.contributions();
        assert_eq!(chain[1].previous, chain[0].hash);
        assert_eq!(chain[2].previous, chain[1].hash);
    }

    #[test]
    fn file_round_trip_keeps_everything() {
        let (ceremony, initial) = ceremony(1);
        let bytes = ceremony.to_bytes().expect("serialises");
        let read = Ceremony::from_bytes(Path::new("mem"), &bytes).expect("parses");
        assert_eq!(read.params(), ceremony.params());
        assert_eq!(read.contributions(), ceremony.contributions());
        read.verify(&initial, B256::repeat_byte(1))
            .expect("verifies");
        assert!(Ceremony::from_bytes(Path::new("mem"), &bytes[..20]).is_err());
    }

    #[test]
    fn tampering_is_rejected() {
        let (good, initial) = ceremony(2);
        let hash = B256::repeat_byte(1);
        let fails = |ceremony: &Ceremony| ceremony.verify(&initial, hash).is_err();

        let mut scaled_l = good.clone();
        scaled_l.params.l_query[0] = (scaled_l.params.l_query[0] * Fr::from(2u64)).into_affine();
        scaled_l.header.params_digest = params_digest(scaled_l.params());
        assert!(fails(&scaled_l), "an L point off by a factor is accepted");

        let mut dropped = good.clone();
        dropped.header.contributions.remove(0);
        assert!(fails(&dropped), "a dropped contribution is accepted");

        let mut forged_pok = good.clone();
        forged_pok.header.contributions[1].r_d = encode_point(&G2Affine::generator());
        let fixed = forged_pok.header.contributions[1].digest();
        forged_pok.header.contributions[1].hash = fixed;
        assert!(
            fails(&forged_pok),
            "a forged proof of knowledge is accepted"
        );

        let mut renamed = good.clone();
        renamed.header.contributions[0].contributor = "mallory".to_owned();
        assert!(fails(&renamed), "an edited contributor name is accepted");

        assert!(good.verify(&initial, B256::repeat_byte(2)).is_err());
        assert!(good.verify(&square_params(8), hash).is_err());
    }
}
