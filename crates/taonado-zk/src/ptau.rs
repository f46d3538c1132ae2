//! A snarkjs powers-of-tau file (`.ptau`) as phase 1 of the Groth16 ceremony.
//!
//! The format (snarkjs `powersoftau_*.js`, `@iden3/binfileutils`): `"ptau"`, a u32
//! version (1), a u32 section count, then sections `(u32 id, u64 length, bytes)`. Section 1
//! is the header (`n8 = 32`, the base-field modulus `q`, `power`, `ceremonyPower`);
//! sections 2-6 hold `τ^i·G1` (2·2^power − 1 points), `τ^i·G2`, `α·τ^i·G1`, `β·τ^i·G1`
//! (2^power each) and `β·G2`; section 7 the contributions. `prepare phase2` adds sections
//! 12-15: the same points in the Lagrange basis of every domain 2^0 … 2^power (section 12
//! also 2^(power+1)), concatenated, so the basis of size `n` starts at point `n − 1`.
//! Points are affine, coordinates 32-byte little-endian in Montgomery form ("LEM"), which
//! is arkworks' own representation; G2 coordinates are `(c0, c1)`.
//!
//! Only the prefix a circuit needs is read (seek + read), every point read is checked on
//! the curve and in the subgroup, and randomised checks tie the powers and the Lagrange
//! bases together, so a tampered file is rejected. The contributions section is not
//! verified: trust comes from recognising a published file by its blake2b-512 hash
//! ([`HERMEZ_FINAL_BLAKE2B`]); any other file is labelled untrusted.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufReader, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{
    AffineRepr, CurveGroup, VariableBaseMSM,
    pairing::Pairing,
    short_weierstrass::{Affine, Projective, SWCurveConfig},
};
use ark_ff::{BigInt, BigInteger, One, PrimeField, Zero};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain, Radix2EvaluationDomain};
use ark_relations::utils::matrix::Matrix;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;

use crate::{
    ZkError,
    error::PtauError,
    field::Fr,
    groth16::{CircuitShape, ProvingKey},
};

/// blake2b-512 of the Hermez (Polygon zkEVM) `powersOfTau28_hez_final_XX.ptau` files,
/// prepared for phase 2 after 54 contributions and a beacon, as snarkjs' README lists
/// them (power, hash). Power 28 is `powersOfTau28_hez_final.ptau`.
pub const HERMEZ_FINAL_BLAKE2B: [(u32, &str); 21] = [
    (
        8,
        "d6a8fb3a04feb600096c3b791f936a578c4e664d262e4aa24beed1b7a9a96aa5eb72864d628db247e9293384b74b36ffb52ca8d148d6e1b8b51e279fdf57b583",
    ),
    (
        9,
        "94f108a80e81b5d932d8e8c9e8fd7f46cf32457e31462deeeef37af1b71c2c1b3c71fb0d9b59c654ec266b042735f50311f9fd1d4cadce47ab234ad163157cb5",
    ),
    (
        10,
        "6cfeb8cda92453099d20120bdd0e8a5c4e7706c2da9a8f09ccc157ed2464d921fd0437fb70db42104769efd7d6f3c1f964bcf448c455eab6f6c7d863e88a5849",
    ),
    (
        11,
        "47c282116b892e5ac92ca238578006e31a47e7c7e70f0baa8b687f0a5203e28ea07bbbec765a98dcd654bad618475d4661bfaec3bd9ad2ed12e7abc251d94d33",
    ),
    (
        12,
        "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a",
    ),
    (
        13,
        "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9",
    ),
    (
        14,
        "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1",
    ),
    (
        15,
        "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e",
    ),
    (
        16,
        "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125",
    ),
    (
        17,
        "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345",
    ),
    (
        18,
        "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e",
    ),
    (
        19,
        "bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887",
    ),
    (
        20,
        "89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b",
    ),
    (
        21,
        "9aef0573cef4ded9c4a75f148709056bf989f80dad96876aadeb6f1c6d062391f07a394a9e756d16f7eb233198d5b69407cca44594c763ab4a5b67ae73254678",
    ),
    (
        22,
        "0d64f63dba1a6f11139df765cb690da69d9b2f469a1ddd0de5e4aa628abb28f787f04c6a5fb84a235ec5ea7f41d0548746653ecab0559add658a83502d1cb21b",
    ),
    (
        23,
        "3063a0bd81d68711197c8820a92466d51aeac93e915f5136d74f63c394ee6d88c5e8016231ea6580bec02e25d491f319d92e77f5c7f46a9caa8f3b53c0ea544f",
    ),
    (
        24,
        "fa404d140d5819d39984833ca5ec3632cd4995f81e82db402371a4de7c2eae8687c62bc632a95b0c6aadba3fb02680a94e09174b7233ccd26d78baca2647c733",
    ),
    (
        25,
        "0377d860cdb09a8a31ea1b0b8c04335614c8206357181573bf294c25d5ca7dff72387224fbd868897e6769f7805b3dab02854aec6d69d7492883b5e4e5f35eeb",
    ),
    (
        26,
        "418dee4a74b9592198bd8fd02ad1aea76f9cf3085f206dfd7d594c9e264ae919611b1459a1cc920c2f143417744ba9edd7b8d51e44be9452344a225ff7eead19",
    ),
    (
        27,
        "10ffd99837c512ef99752436a54b9810d1ac8878d368fb4b806267bdd664b4abf276c9cd3c4b9039a1fa4315a0c326c0e8e9e8fe0eb588ffd4f9021bf7eae1a1",
    ),
    (
        28,
        "55c77ce8562366c91e7cda394cf7b7c15a06c12d8c905e8b36ba9cf5e13eb37d1a429c589e8eaba4c591bc4b88a0e2828745a53e170eac300236f5c1a326f41a",
    ),
];

/// The power of the Hermez final file with this blake2b-512 hash (hex), if it is one.
pub fn hermez_power(blake2b_hex: &str) -> Option<u32> {
    HERMEZ_FINAL_BLAKE2B
        .iter()
        .find(|(_, hash)| hash.eq_ignore_ascii_case(blake2b_hex))
        .map(|(power, _)| *power)
}

/// Largest power a bn128 ptau can have: the scalar field's two-adicity.
const MAX_POWER: u32 = 28;
const FIELD_BYTES: usize = 32;
const G1_BYTES: usize = 2 * FIELD_BYTES;
const G2_BYTES: usize = 4 * FIELD_BYTES;
/// Header section: n8, q, power, ceremonyPower.
const HEADER_BYTES: u64 = 4 + FIELD_BYTES as u64 + 4 + 4;

const TAU_G1: u32 = 2;
const TAU_G2: u32 = 3;
const ALPHA_TAU_G1: u32 = 4;
const BETA_TAU_G1: u32 = 5;
const BETA_G2: u32 = 6;
const LAGRANGE_G1: u32 = 12;
const LAGRANGE_G2: u32 = 13;
const ALPHA_LAGRANGE_G1: u32 = 14;
const BETA_LAGRANGE_G1: u32 = 15;

fn section_name(id: u32) -> &'static str {
    match id {
        1 => "header",
        TAU_G1 => "tauG1",
        TAU_G2 => "tauG2",
        ALPHA_TAU_G1 => "alphaTauG1",
        BETA_TAU_G1 => "betaTauG1",
        BETA_G2 => "betaG2",
        7 => "contributions",
        LAGRANGE_G1 => "lagrange tauG1",
        LAGRANGE_G2 => "lagrange tauG2",
        ALPHA_LAGRANGE_G1 => "lagrange alphaTauG1",
        BETA_LAGRANGE_G1 => "lagrange betaTauG1",
        _ => "unknown",
    }
}

/// The number of points section `id` has in a file of `power`, and their size.
fn expected_points(id: u32, power: u32) -> Option<(u64, usize)> {
    let n = 1u64 << power;
    match id {
        TAU_G1 => Some((2 * n - 1, G1_BYTES)),
        TAU_G2 => Some((n, G2_BYTES)),
        ALPHA_TAU_G1 | BETA_TAU_G1 => Some((n, G1_BYTES)),
        BETA_G2 => Some((1, G2_BYTES)),
        // Bases of size 2^0 … 2^(power+1).
        LAGRANGE_G1 => Some((4 * n - 1, G1_BYTES)),
        // Bases of size 2^0 … 2^power.
        LAGRANGE_G2 => Some((2 * n - 1, G2_BYTES)),
        ALPHA_LAGRANGE_G1 | BETA_LAGRANGE_G1 => Some((2 * n - 1, G1_BYTES)),
        _ => None,
    }
}

/// blake2b-512 of a whole file, hex: how published ptau files are identified.
pub fn blake2b_file(path: &Path) -> Result<String, ZkError> {
    let io = |source| ZkError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Blake2b512::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// An open `.ptau` file whose header and section table were read and checked.
#[derive(Debug)]
pub struct PtauFile {
    path: PathBuf,
    reader: BufReader<File>,
    /// Section id → (offset of its first byte, length).
    sections: BTreeMap<u32, (u64, u64)>,
    power: u32,
    ceremony_power: u32,
}

impl PtauFile {
    /// Opens `path`, reads the section table and the header, and checks that the curve is
    /// bn128 and that every point section has the length the power implies.
    pub fn open(path: &Path) -> Result<Self, ZkError> {
        let file = File::open(path).map_err(|source| ZkError::Io {
            action: "open",
            path: path.to_path_buf(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| ZkError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let mut this = Self {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            sections: BTreeMap::new(),
            power: 0,
            ceremony_power: 0,
        };
        this.read_layout(len)?;
        Ok(this)
    }

    /// The file's power: it holds 2^power powers (2·2^power − 1 in G1).
    pub fn power(&self) -> u32 {
        self.power
    }

    /// The power of the ceremony the file was cut from (28 for the Hermez files).
    pub fn ceremony_power(&self) -> u32 {
        self.ceremony_power
    }

    /// Whether `snarkjs powersoftau prepare phase2` added the Lagrange sections.
    pub fn has_lagrange(&self) -> bool {
        [
            LAGRANGE_G1,
            LAGRANGE_G2,
            ALPHA_LAGRANGE_G1,
            BETA_LAGRANGE_G1,
        ]
        .iter()
        .all(|id| self.sections.contains_key(id))
    }

    fn error(&self, source: PtauError) -> ZkError {
        ZkError::Ptau {
            path: self.path.clone(),
            source,
        }
    }

    fn read_bytes(&mut self, at: u64, bytes: &mut [u8], what: &str) -> Result<(), ZkError> {
        let result = self
            .reader
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.reader.read_exact(bytes));
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(self.error(PtauError::Truncated {
                    what: what.to_owned(),
                }))
            }
            Err(source) => Err(ZkError::Io {
                action: "read",
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn read_u32(&mut self, at: u64, what: &str) -> Result<u32, ZkError> {
        let mut bytes = [0u8; 4];
        self.read_bytes(at, &mut bytes, what)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn read_layout(&mut self, len: u64) -> Result<(), ZkError> {
        let mut magic = [0u8; 4];
        if len < 12 {
            return Err(self.error(PtauError::NotPtau));
        }
        self.read_bytes(0, &mut magic, "the magic")?;
        if &magic != b"ptau" {
            return Err(self.error(PtauError::NotPtau));
        }
        let version = self.read_u32(4, "the version")?;
        if version != 1 {
            return Err(self.error(PtauError::UnsupportedVersion { version }));
        }
        let count = self.read_u32(8, "the section count")?;
        let mut at = 12u64;
        for index in 0..count {
            let what = format!("the header of section #{index}");
            let id = self.read_u32(at, &what)?;
            let mut size = [0u8; 8];
            self.read_bytes(at + 4, &mut size, &what)?;
            let size = u64::from_le_bytes(size);
            let start = at + 12;
            let end = start
                .checked_add(size)
                .filter(|end| *end <= len)
                .ok_or_else(|| {
                    self.error(PtauError::Truncated {
                        what: format!("section {id} ({})", section_name(id)),
                    })
                })?;
            if self.sections.insert(id, (start, size)).is_some() {
                return Err(self.error(PtauError::DuplicateSection {
                    id,
                    name: section_name(id),
                }));
            }
            at = end;
        }
        let (header, header_len) = self.section(1)?;
        if header_len != HEADER_BYTES {
            return Err(self.error(PtauError::WrongCurve {
                reason: format!("the header is {header_len} bytes, bn128's is {HEADER_BYTES}"),
            }));
        }
        let n8 = self.read_u32(header, "the header")?;
        if n8 as usize != FIELD_BYTES {
            return Err(self.error(PtauError::WrongCurve {
                reason: format!("field elements are {n8} bytes, not {FIELD_BYTES}"),
            }));
        }
        let mut q = [0u8; FIELD_BYTES];
        self.read_bytes(header + 4, &mut q, "the header")?;
        let modulus: BigInt<4> = Fq::MODULUS;
        if q[..] != modulus.to_bytes_le()[..] {
            return Err(self.error(PtauError::WrongCurve {
                reason: format!("the base field modulus is 0x{}", hex::encode(q)),
            }));
        }
        self.power = self.read_u32(header + 36, "the header")?;
        self.ceremony_power = self.read_u32(header + 40, "the header")?;
        if self.power == 0 || self.power > MAX_POWER {
            return Err(self.error(PtauError::BadPower { power: self.power }));
        }
        for id in [
            TAU_G1,
            TAU_G2,
            ALPHA_TAU_G1,
            BETA_TAU_G1,
            BETA_G2,
            LAGRANGE_G1,
            LAGRANGE_G2,
            ALPHA_LAGRANGE_G1,
            BETA_LAGRANGE_G1,
        ] {
            let Some(&(_, found)) = self.sections.get(&id) else {
                continue;
            };
            if let Some((points, size)) = expected_points(id, self.power) {
                let expected = points * size as u64;
                if found != expected {
                    return Err(self.error(PtauError::SectionSize {
                        id,
                        name: section_name(id),
                        found,
                        expected,
                        power: self.power,
                    }));
                }
            }
        }
        Ok(())
    }

    fn section(&self, id: u32) -> Result<(u64, u64), ZkError> {
        let hint = if id >= LAGRANGE_G1 {
            "; run `snarkjs powersoftau prepare phase2` on the file first"
        } else {
            ""
        };
        self.sections.get(&id).copied().ok_or_else(|| {
            self.error(PtauError::MissingSection {
                id,
                name: section_name(id),
                hint,
            })
        })
    }

    fn read_points<P: Send>(
        &mut self,
        id: u32,
        first: usize,
        count: usize,
        size: usize,
        decode: fn(&[u8]) -> Result<P, &'static str>,
    ) -> Result<Vec<P>, ZkError> {
        let (start, _) = self.section(id)?;
        let mut bytes = vec![0u8; count * size];
        let name = section_name(id);
        self.read_bytes(start + (first * size) as u64, &mut bytes, name)?;
        bytes
            .par_chunks(size)
            .enumerate()
            .map(|(i, chunk)| {
                decode(chunk).map_err(|reason| PtauError::BadPoint {
                    section: name,
                    index: first + i,
                    reason,
                })
            })
            .collect::<Result<Vec<P>, PtauError>>()
            .map_err(|e| self.error(e))
    }

    /// [`PtauFile::read_points`] for G2, with the subgroup checked for all points at once
    /// ([`g2_in_subgroup`]) and, only if that fails, point by point to name the culprit.
    fn read_g2(&mut self, id: u32, first: usize, count: usize) -> Result<Vec<G2Affine>, ZkError> {
        let points = self.read_points(id, first, count, G2_BYTES, decode_g2)?;
        if g2_in_subgroup(&points) {
            return Ok(points);
        }
        let index = points
            .iter()
            .position(|p| !p.is_in_correct_subgroup_assuming_on_curve())
            .unwrap_or_default();
        Err(self.error(PtauError::BadPoint {
            section: section_name(id),
            index: first + index,
            reason: "it is not in the prime-order subgroup",
        }))
    }

    /// Reads and checks what a circuit with an evaluation domain of `domain_size` points
    /// needs: `2n − 1` powers of τ in G1, `n` in G2, `n` of α·τ^i and β·τ^i, β in G2, and
    /// the four Lagrange bases of size `n`. Every point is checked (on the curve, in the
    /// subgroup, not the identity), then [`Phase1Powers::check`] runs.
    pub fn read_powers(&mut self, domain_size: usize) -> Result<Phase1Powers, ZkError> {
        let needed = domain_size.trailing_zeros();
        if !domain_size.is_power_of_two() || domain_size < 2 || needed > self.power {
            return Err(self.error(PtauError::PowerTooSmall {
                needed,
                power: self.power,
            }));
        }
        let n = domain_size;
        // The Lagrange sections are the bulk of a prepared file; look for them first so a
        // file without them fails before anything is read.
        for id in [
            LAGRANGE_G1,
            LAGRANGE_G2,
            ALPHA_LAGRANGE_G1,
            BETA_LAGRANGE_G1,
        ] {
            self.section(id)?;
        }
        let beta_g2 = self.read_g2(BETA_G2, 0, 1)?;
        let powers = Phase1Powers {
            tau_g1: self.read_points(TAU_G1, 0, 2 * n - 1, G1_BYTES, decode_g1)?,
            tau_g2: self.read_g2(TAU_G2, 0, n)?,
            alpha_tau_g1: self.read_points(ALPHA_TAU_G1, 0, n, G1_BYTES, decode_g1)?,
            beta_tau_g1: self.read_points(BETA_TAU_G1, 0, n, G1_BYTES, decode_g1)?,
            beta_g2: beta_g2[0],
            lagrange_g1: self.read_points(LAGRANGE_G1, n - 1, n, G1_BYTES, decode_g1)?,
            lagrange_g2: self.read_g2(LAGRANGE_G2, n - 1, n)?,
            alpha_lagrange_g1: self.read_points(
                ALPHA_LAGRANGE_G1,
                n - 1,
                n,
                G1_BYTES,
                decode_g1,
            )?,
            beta_lagrange_g1: self.read_points(BETA_LAGRANGE_G1, n - 1, n, G1_BYTES, decode_g1)?,
        };
        powers.check().map_err(|e| self.error(e))?;
        Ok(powers)
    }
}

/// A base-field element from 32 little-endian Montgomery bytes, if below the modulus.
fn fq_from_lem(bytes: &[u8]) -> Result<Fq, &'static str> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(word);
    }
    let value = BigInt::new(limbs);
    if value >= Fq::MODULUS {
        return Err("a coordinate is not below the field modulus");
    }
    // Montgomery form with R = 2^256 is arkworks' internal representation too.
    Ok(Fq::new_unchecked(value))
}

fn decode_g1(bytes: &[u8]) -> Result<G1Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("it is the point at infinity");
    }
    let point = G1Affine::new_unchecked(fq_from_lem(&bytes[..32])?, fq_from_lem(&bytes[32..])?);
    // G1 of bn128 has cofactor 1: on the curve is in the subgroup.
    if !point.is_on_curve() {
        return Err("it is not on the curve");
    }
    Ok(point)
}

fn decode_g2(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("it is the point at infinity");
    }
    let x = Fq2::new(fq_from_lem(&bytes[..32])?, fq_from_lem(&bytes[32..64])?);
    let y = Fq2::new(fq_from_lem(&bytes[64..96])?, fq_from_lem(&bytes[96..])?);
    let point = G2Affine::new_unchecked(x, y);
    if !point.is_on_curve() {
        return Err("it is not on the curve");
    }
    // The subgroup is checked for the whole list at once (`g2_in_subgroup`).
    Ok(point)
}

/// Rounds of [`g2_in_subgroup`].
const SUBGROUP_ROUNDS: usize = 5;

/// Whether every point (already on the twist curve) is in G2, checked in batches rather
/// than one `[6x²]P = ψ(P)` per point (which costs ~10x more for a power-15 file).
///
/// `φ(P) = ψ(P) − [6x²]P` is a group homomorphism whose kernel on the curve is G2, so
/// `φ(Σρ_i·P_i) = Σρ_i·φ(P_i)`. If some `φ(P_j) ≠ 0`, its order's prime factors divide
/// the twist's order `h·r`, whose smallest prime factor is 10069; for fresh random 64-bit
/// `ρ` the sum is then zero with probability below 1/10069 + 2^-50, so
/// [`SUBGROUP_ROUNDS`] independent rounds miss a bad point with probability below 2^-66.
/// The multi-scalar multiplication is plain bucket accumulation (no endomorphism), so it
/// is exact for points outside G2 too.
pub fn g2_in_subgroup(points: &[G2Affine]) -> bool {
    let mut seed = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut seed);
    let mut rng = StdRng::from_seed(seed);
    (0..SUBGROUP_ROUNDS).all(|_| {
        let rho: Vec<u64> = (0..points.len())
            .map(|_| ark_std::rand::RngCore::next_u64(&mut rng))
            .collect();
        G2Projective::msm_u64(points, &rho)
            .into_affine()
            .is_in_correct_subgroup_assuming_on_curve()
    })
}

/// The phase-1 points a circuit with an evaluation domain of `n` points needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase1Powers {
    /// `τ^i·G1`, `i < 2n − 1`.
    pub tau_g1: Vec<G1Affine>,
    /// `τ^i·G2`, `i < n`.
    pub tau_g2: Vec<G2Affine>,
    /// `α·τ^i·G1`, `i < n`.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// `β·τ^i·G1`, `i < n`.
    pub beta_tau_g1: Vec<G1Affine>,
    /// `β·G2`.
    pub beta_g2: G2Affine,
    /// `L_j(τ)·G1` for the Lagrange polynomials of arkworks' radix-2 domain of size `n`
    /// (`L_j(ω^j) = 1`, `ω = Fr::get_root_of_unity(n)`, which is snarkjs' root too).
    pub lagrange_g1: Vec<G1Affine>,
    /// `L_j(τ)·G2`.
    pub lagrange_g2: Vec<G2Affine>,
    /// `α·L_j(τ)·G1`.
    pub alpha_lagrange_g1: Vec<G1Affine>,
    /// `β·L_j(τ)·G1`.
    pub beta_lagrange_g1: Vec<G1Affine>,
}

/// `e(a1, b2) == e(b1, a2)`: the G1 pair and the G2 pair have the same ratio.
fn same_ratio(g1: (G1Affine, G1Affine), g2: (G2Affine, G2Affine)) -> bool {
    Bn254::multi_pairing([g1.0, -g1.1], [g2.1, g2.0]).is_zero()
}

fn combine<P: SWCurveConfig<ScalarField = Fr>>(bases: &[Affine<P>], scalars: &[Fr]) -> Projective<P>
where
    P::BaseField: crate::msm::BucketField,
{
    let scalars: Vec<_> = scalars.par_iter().map(|s| s.into_bigint()).collect();
    crate::msm::msm(bases, &scalars)
}

impl Phase1Powers {
    /// Size of the evaluation domain these points serve.
    pub fn domain_size(&self) -> usize {
        self.lagrange_g1.len()
    }

    /// Randomised consistency checks, with fresh randomness `ρ` (a file's author must not
    /// be able to predict it):
    /// - `τ^0` is the generator in G1 and G2, and `β·G1`, `β·G2` agree;
    /// - `e(Σρ_i·τ^{i+1}G1, G2) = e(Σρ_i·τ^iG1, τG2)`, likewise for `α·τ^i`, `β·τ^i` and
    ///   `τ^i` in G2, so each list is successive powers of the one `τ`;
    /// - each Lagrange basis equals its power basis: `Σ ρ̂_j·L_j = Σ ρ_i·τ^i` with `ρ̂` the
    ///   FFT of `ρ` over the domain (since `τ^i = Σ_j ω^{ij}·L_j(τ)`).
    pub fn check(&self) -> Result<(), PtauError> {
        let n = self.domain_size();
        let shapes_ok = n >= 2
            && n.is_power_of_two()
            && self.tau_g1.len() == 2 * n - 1
            && [
                self.tau_g2.len(),
                self.alpha_tau_g1.len(),
                self.beta_tau_g1.len(),
                self.lagrange_g2.len(),
                self.alpha_lagrange_g1.len(),
                self.beta_lagrange_g1.len(),
            ]
            .iter()
            .all(|len| *len == n);
        if !shapes_ok {
            return Err(PtauError::Inconsistent {
                what: "the point lists have inconsistent lengths",
            });
        }
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        if self.tau_g1[0] != g1 || self.tau_g2[0] != g2 {
            return Err(PtauError::Inconsistent {
                what: "tau^0 is not the generator",
            });
        }
        if !same_ratio((g1, self.beta_tau_g1[0]), (g2, self.beta_g2)) {
            return Err(PtauError::Inconsistent {
                what: "betaG2 and betaTauG1[0] disagree",
            });
        }
        let mut seed = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut seed);
        let mut rng = StdRng::from_seed(seed);
        // 128-bit coefficients bound a forgery's chance by 2^-128 and halve the MSMs.
        let rho: Vec<Fr> = (0..2 * n - 2)
            .map(|_| Fr::from(ark_std::rand::Rng::r#gen::<u128>(&mut rng)))
            .collect();
        let tau_g2 = self.tau_g2[1];

        let successive_g1 = |points: &[G1Affine]| -> bool {
            let k = points.len() - 1;
            let low: G1Projective = combine(&points[..k], &rho[..k]);
            let high: G1Projective = combine(&points[1..], &rho[..k]);
            same_ratio((low.into_affine(), high.into_affine()), (g2, tau_g2))
        };
        if !successive_g1(&self.tau_g1) {
            return Err(PtauError::Inconsistent {
                what: "tauG1 is not successive powers of tau",
            });
        }
        if !successive_g1(&self.alpha_tau_g1) {
            return Err(PtauError::Inconsistent {
                what: "alphaTauG1 is not alpha times successive powers of tau",
            });
        }
        if !successive_g1(&self.beta_tau_g1) {
            return Err(PtauError::Inconsistent {
                what: "betaTauG1 is not beta times successive powers of tau",
            });
        }
        let k = n - 1;
        let low: G2Projective = combine(&self.tau_g2[..k], &rho[..k]);
        let high: G2Projective = combine(&self.tau_g2[1..], &rho[..k]);
        if !same_ratio(
            (g1, self.tau_g1[1]),
            (low.into_affine(), high.into_affine()),
        ) {
            return Err(PtauError::Inconsistent {
                what: "tauG2 is not successive powers of tau",
            });
        }

        let domain = Radix2EvaluationDomain::<Fr>::new(n).ok_or(PtauError::Inconsistent {
            what: "the domain size is not a supported power of two",
        })?;
        let rho = &rho[..n];
        let rho_hat = domain.fft(rho);
        let lagrange_g1 = |lagrange: &[G1Affine], powers: &[G1Affine]| -> bool {
            let lhs: G1Projective = combine(lagrange, &rho_hat);
            let rhs: G1Projective = combine(&powers[..n], rho);
            lhs == rhs
        };
        if !lagrange_g1(&self.lagrange_g1, &self.tau_g1) {
            return Err(PtauError::Inconsistent {
                what: "the Lagrange tauG1 basis does not match tauG1",
            });
        }
        if !lagrange_g1(&self.alpha_lagrange_g1, &self.alpha_tau_g1) {
            return Err(PtauError::Inconsistent {
                what: "the Lagrange alphaTauG1 basis does not match alphaTauG1",
            });
        }
        if !lagrange_g1(&self.beta_lagrange_g1, &self.beta_tau_g1) {
            return Err(PtauError::Inconsistent {
                what: "the Lagrange betaTauG1 basis does not match betaTauG1",
            });
        }
        let lhs: G2Projective = combine(&self.lagrange_g2, &rho_hat);
        let rhs: G2Projective = combine(&self.tau_g2, rho);
        if lhs != rhs {
            return Err(PtauError::Inconsistent {
                what: "the Lagrange tauG2 basis does not match tauG2",
            });
        }
        Ok(())
    }
}

/// The R1CS a set of initial parameters is computed for: arkworks' matrices (columns
/// `1, inputs…, witness…`) and sizes.
#[derive(Debug, Clone, Copy)]
pub struct QapShape<'a> {
    /// A, B and C, one row per constraint.
    pub matrices: &'a [Matrix<Fr>],
    /// Instance variables, counting the constant 1.
    pub num_instance_variables: usize,
    /// Witness variables.
    pub num_witness_variables: usize,
    /// Constraints (rows of each matrix).
    pub num_constraints: usize,
}

impl<'a> From<&'a CircuitShape> for QapShape<'a> {
    fn from(shape: &'a CircuitShape) -> Self {
        Self {
            matrices: shape.matrices(),
            num_instance_variables: shape.num_instance_variables(),
            num_witness_variables: shape.num_witness_variables(),
            num_constraints: shape.num_constraints(),
        }
    }
}

impl QapShape<'_> {
    /// The size of the evaluation domain arkworks' Groth16 uses for this circuit:
    /// constraints plus instance variables, rounded up to a power of two.
    pub fn domain_size(&self) -> Result<usize, PtauError> {
        GeneralEvaluationDomain::<Fr>::new(self.num_constraints + self.num_instance_variables)
            .map(|d| d.size())
            .ok_or(PtauError::PowerTooSmall {
                needed: usize::BITS
                    - (self.num_constraints + self.num_instance_variables).leading_zeros(),
                power: MAX_POWER,
            })
    }

    /// Per variable, the `(coefficient, row)` terms of A, B and C.
    #[allow(clippy::type_complexity)]
    fn columns(&self) -> Result<[Vec<Vec<(Fr, usize)>>; 3], PtauError> {
        let bad = |reason: String| PtauError::BadCircuit { reason };
        if self.matrices.len() != 3 {
            return Err(bad(format!(
                "expected 3 matrices (A, B, C), got {}",
                self.matrices.len()
            )));
        }
        let variables = self.num_instance_variables + self.num_witness_variables;
        if self.num_instance_variables == 0 {
            return Err(bad("no instance variable (the constant 1 is one)".into()));
        }
        let mut columns: [Vec<Vec<(Fr, usize)>>; 3] =
            std::array::from_fn(|_| vec![Vec::new(); variables]);
        for (matrix, column) in self.matrices.iter().zip(columns.iter_mut()) {
            if matrix.len() != self.num_constraints {
                return Err(bad(format!(
                    "a matrix has {} rows for {} constraints",
                    matrix.len(),
                    self.num_constraints
                )));
            }
            for (row, terms) in matrix.iter().enumerate() {
                for &(coefficient, variable) in terms {
                    let slot = column.get_mut(variable).ok_or_else(|| {
                        bad(format!("row {row} uses variable {variable} of {variables}"))
                    })?;
                    slot.push((coefficient, row));
                }
            }
        }
        Ok(columns)
    }
}

/// `Σ c·bases[row]` over `terms`.
fn linear_combination<G>(terms: &[(Fr, usize)], bases: &[G::Affine]) -> G
where
    G: CurveGroup<ScalarField = Fr> + VariableBaseMSM<MulBase = <G as CurveGroup>::Affine>,
{
    // Most columns have a few terms with coefficient 1; the constant's column has many.
    if terms.len() > 8 {
        let (points, scalars): (Vec<G::Affine>, Vec<Fr>) =
            terms.iter().map(|(c, row)| (bases[*row], *c)).unzip();
        return G::msm_unchecked(&points, &scalars);
    }
    terms.iter().fold(G::zero(), |sum, (c, row)| {
        if c.is_one() {
            sum + bases[*row]
        } else {
            sum + bases[*row] * c
        }
    })
}

/// The initial Groth16 parameters of `shape` from phase 1 alone, exactly as arkworks'
/// generator with [`LibsnarkReduction`](ark_groth16::r1cs_to_qap::LibsnarkReduction)
/// would compute them for the phase-1 secrets, with `γ = δ = 1` (as snarkjs does) and
/// the standard generators:
/// - `A_i(τ)`, `B_i(τ)` (G1 and G2) from the Lagrange bases, where `A_i` also has
///   `L_{m+i}` for instance variable `i` (`m` constraints: arkworks' binding rows);
/// - `β·A_i(τ) + α·B_i(τ) + C_i(τ)`: `γ_abc` for instance variables, `L` for the witness;
/// - `H_i = τ^i·Z(τ) = τ^{i+n} − τ^i`, `i < n − 1`.
///
/// Phase 2 ([`crate::ceremony`]) then re-randomises δ.
pub fn initial_params(
    powers: &Phase1Powers,
    shape: &QapShape<'_>,
) -> Result<ProvingKey, PtauError> {
    let n = shape.domain_size()?;
    if powers.domain_size() != n {
        return Err(PtauError::BadCircuit {
            reason: format!(
                "the powers serve a domain of {} points, the circuit needs {n}",
                powers.domain_size()
            ),
        });
    }
    let [a, b, c] = shape.columns()?;
    let instance = shape.num_instance_variables;
    let constraints = shape.num_constraints;

    let per_variable: Vec<(G1Projective, G1Projective, G2Projective, G1Projective)> = (0..a.len())
        .into_par_iter()
        .map(|v| {
            let mut a_tau: G1Projective = linear_combination(&a[v], &powers.lagrange_g1);
            let b_g1: G1Projective = linear_combination(&b[v], &powers.lagrange_g1);
            let b_g2: G2Projective = linear_combination(&b[v], &powers.lagrange_g2);
            let mut abc: G1Projective =
                linear_combination::<G1Projective>(&a[v], &powers.beta_lagrange_g1)
                    + linear_combination::<G1Projective>(&b[v], &powers.alpha_lagrange_g1)
                    + linear_combination::<G1Projective>(&c[v], &powers.lagrange_g1);
            if v < instance {
                a_tau += powers.lagrange_g1[constraints + v];
                abc += powers.beta_lagrange_g1[constraints + v];
            }
            (a_tau, b_g1, b_g2, abc)
        })
        .collect();
    let variables = per_variable.len();
    let (mut a_query, mut b_g1_query) =
        (Vec::with_capacity(variables), Vec::with_capacity(variables));
    let (mut b_g2_query, mut abc) = (Vec::with_capacity(variables), Vec::with_capacity(variables));
    for (a, b1, b2, l) in per_variable {
        a_query.push(a);
        b_g1_query.push(b1);
        b_g2_query.push(b2);
        abc.push(l);
    }
    let h_query: Vec<G1Projective> = (0..n - 1)
        .into_par_iter()
        .map(|i| powers.tau_g1[i + n].into_group() - powers.tau_g1[i])
        .collect();
    let abc = G1Projective::normalize_batch(&abc);
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    Ok(ProvingKey {
        vk: ark_groth16::VerifyingKey {
            alpha_g1: powers.alpha_tau_g1[0],
            beta_g2: powers.beta_g2,
            gamma_g2: g2,
            delta_g2: g2,
            gamma_abc_g1: abc[..instance].to_vec(),
        },
        beta_g1: powers.beta_tau_g1[0],
        delta_g1: g1,
        a_query: G1Projective::normalize_batch(&a_query),
        b_g1_query: G1Projective::normalize_batch(&b_g1_query),
        b_g2_query: G2Projective::normalize_batch(&b_g2_query),
        h_query: G1Projective::normalize_batch(&h_query),
        l_query: abc[instance..].to_vec(),
    })
}

/// Stages of [`import`], for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStage {
    /// Hashing the whole file (blake2b-512).
    Hashing,
    /// Reading and checking the points.
    Reading,
    /// Computing the circuit's parameters.
    Computing,
}

/// What [`import`] made of a ptau file.
#[derive(Debug, Clone)]
pub struct PtauImport {
    /// blake2b-512 of the whole file, hex.
    pub blake2b: String,
    /// The file's power.
    pub power: u32,
    /// The initial parameters of the circuit.
    pub params: ProvingKey,
}

/// Opens `path`, checks it, hashes it and computes `shape`'s initial parameters from it.
pub fn import(
    path: &Path,
    shape: &QapShape<'_>,
    progress: &mut dyn FnMut(ImportStage),
) -> Result<PtauImport, ZkError> {
    import_expecting(path, shape, None, progress)
}

/// [`import`], failing with [`PtauError::HashMismatch`] before any point is read when the
/// file's blake2b-512 is not `expected` (hex).
pub fn import_expecting(
    path: &Path,
    shape: &QapShape<'_>,
    expected: Option<&str>,
    progress: &mut dyn FnMut(ImportStage),
) -> Result<PtauImport, ZkError> {
    let mut file = PtauFile::open(path)?;
    let n = shape.domain_size().map_err(|e| file.error(e))?;
    let needed = n.trailing_zeros();
    if needed > file.power() {
        return Err(file.error(PtauError::PowerTooSmall {
            needed,
            power: file.power(),
        }));
    }
    progress(ImportStage::Hashing);
    let blake2b = blake2b_file(path)?;
    if let Some(expected) = expected
        && !expected.eq_ignore_ascii_case(&blake2b)
    {
        return Err(file.error(PtauError::HashMismatch {
            expected: expected.to_owned(),
            found: blake2b,
        }));
    }
    progress(ImportStage::Reading);
    let powers = file.read_powers(n)?;
    progress(ImportStage::Computing);
    let params = initial_params(&powers, shape).map_err(|e| file.error(e))?;
    Ok(PtauImport {
        blake2b,
        power: file.power(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use ark_bn254::Bn254;
    use ark_ff::{FftField, Field, UniformRand};
    use ark_groth16::Groth16;
    use ark_relations::gr1cs::{
        ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, LinearCombination,
        OptimizationGoal, R1CS_PREDICATE_LABEL, SynthesisError, SynthesisMode, Variable,
    };

    use super::*;

    /// Powers made from known secrets, the way a ptau holds them.
    fn powers_from_secrets(tau: Fr, alpha: Fr, beta: Fr, n: usize) -> Phase1Powers {
        let g1 = G1Projective::from(G1Affine::generator());
        let g2 = G2Projective::from(G2Affine::generator());
        let pow: Vec<Fr> = (0..2 * n - 1).map(|i| tau.pow([i as u64])).collect();
        let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("small power of two");
        let lagrange = domain.evaluate_all_lagrange_coefficients(tau);
        let g1s = |scalars: &[Fr], k: Fr| {
            G1Projective::normalize_batch(
                &scalars.iter().map(|s| g1 * (*s * k)).collect::<Vec<_>>(),
            )
        };
        Phase1Powers {
            tau_g1: g1s(&pow, Fr::one()),
            tau_g2: G2Projective::normalize_batch(
                &pow[..n].iter().map(|s| g2 * s).collect::<Vec<_>>(),
            ),
            alpha_tau_g1: g1s(&pow[..n], alpha),
            beta_tau_g1: g1s(&pow[..n], beta),
            beta_g2: (g2 * beta).into_affine(),
            lagrange_g1: g1s(&lagrange, Fr::one()),
            lagrange_g2: G2Projective::normalize_batch(
                &lagrange.iter().map(|s| g2 * s).collect::<Vec<_>>(),
            ),
            alpha_lagrange_g1: g1s(&lagrange, alpha),
            beta_lagrange_g1: g1s(&lagrange, beta),
        }
    }

    /// `x·x = p0`, `(x + p_k)·(x + 1) = w_k` for two more inputs: a few public inputs,
    /// non-unit coefficients and a witness-only row.
    #[derive(Clone)]
    struct Small;

    impl ConstraintSynthesizer<Fr> for Small {
        fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
            let p: Vec<Variable> = (0..3)
                .map(|_| cs.new_input_variable(|| Ok(Fr::one())))
                .collect::<Result<_, _>>()?;
            let x = cs.new_witness_variable(|| Ok(Fr::one()))?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x),
                || LinearCombination::from(x),
                || LinearCombination::from(p[0]),
            )?;
            for input in &p[1..] {
                let w = cs.new_witness_variable(|| Ok(Fr::one()))?;
                cs.enforce_r1cs_constraint(
                    || LinearCombination::from(x) + (Fr::from(3u64), *input),
                    || LinearCombination::from(x) + (Fr::from(1u64), Variable::One),
                    || LinearCombination::from(w),
                )?;
            }
            Ok(())
        }
    }

    fn matrices_of(circuit: Small) -> (Vec<Matrix<Fr>>, usize, usize, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit
            .generate_constraints(cs.clone())
            .expect("synthesises");
        cs.finalize();
        let matrices = cs
            .to_matrices()
            .expect("matrices")
            .remove(R1CS_PREDICATE_LABEL)
            .expect("r1cs");
        (
            matrices,
            cs.num_instance_variables(),
            cs.num_witness_variables(),
            cs.num_constraints(),
        )
    }

    #[test]
    fn snarkjs_and_arkworks_use_the_same_roots_of_unity() {
        // ffjavascript: ω_28 = nqr^t with nqr the smallest non-residue (5), then squared.
        let t = Fr::MODULUS_MINUS_ONE_DIV_TWO;
        let mut exponent = t;
        // (r − 1)/2^28 from (r − 1)/2 by 27 more halvings.
        for _ in 0..27 {
            exponent.div2();
        }
        let five = Fr::from(5u64);
        assert_eq!(five.legendre(), ark_ff::LegendreSymbol::QuadraticNonResidue);
        assert!(Fr::from(2u64).legendre().is_qr() && Fr::from(3u64).legendre().is_qr());
        let mut root = five.pow(exponent);
        for k in (0..=28).rev() {
            assert_eq!(Some(root), Fr::get_root_of_unity(1 << k), "2^{k}");
            root.square_in_place();
        }
    }

    #[test]
    fn parameters_equal_arkworks_generator_for_the_same_secrets() {
        let (matrices, instance, witness, constraints) = matrices_of(Small);
        let shape = QapShape {
            matrices: &matrices,
            num_instance_variables: instance,
            num_witness_variables: witness,
            num_constraints: constraints,
        };
        let n = shape.domain_size().expect("small");
        let mut rng = StdRng::seed_from_u64(11);
        let (alpha, beta) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        // arkworks draws τ as the first element of the rng it is given.
        let tau = Fr::rand(&mut rng.clone());
        let expected = Groth16::<Bn254>::generate_parameters_with_qap(
            Small,
            alpha,
            beta,
            Fr::one(),
            Fr::one(),
            G1Affine::generator().into_group(),
            G2Affine::generator().into_group(),
            &mut rng,
        )
        .expect("setup");
        let powers = powers_from_secrets(tau, alpha, beta, n);
        powers.check().expect("honest powers pass");
        let params = initial_params(&powers, &shape).expect("computes");
        assert_eq!(params, expected);
    }

    #[test]
    fn consistency_check_catches_each_list() {
        let honest = powers_from_secrets(Fr::from(7u64), Fr::from(11u64), Fr::from(13u64), 8);
        let bump = |p: &G1Affine| (p.into_group() + G1Affine::generator()).into_affine();
        let mut cases: Vec<Phase1Powers> = Vec::new();
        for field in 0..6 {
            let mut bad = honest.clone();
            match field {
                0 => bad.tau_g1[5] = bump(&bad.tau_g1[5]),
                1 => bad.alpha_tau_g1[3] = bump(&bad.alpha_tau_g1[3]),
                2 => bad.beta_tau_g1[2] = bump(&bad.beta_tau_g1[2]),
                3 => bad.lagrange_g1[1] = bump(&bad.lagrange_g1[1]),
                4 => bad.beta_lagrange_g1[7] = bump(&bad.beta_lagrange_g1[7]),
                _ => {
                    bad.lagrange_g2[0] =
                        (bad.lagrange_g2[0].into_group() + G2Affine::generator()).into_affine()
                }
            }
            cases.push(bad);
        }
        let mut swapped = honest.clone();
        swapped.lagrange_g1.swap(1, 2);
        cases.push(swapped);
        let mut beta = honest.clone();
        beta.beta_g2 = honest.tau_g2[2];
        cases.push(beta);
        for (i, bad) in cases.iter().enumerate() {
            assert!(
                matches!(bad.check(), Err(PtauError::Inconsistent { .. })),
                "case {i} passes"
            );
        }
    }

    #[test]
    fn a_g2_point_outside_the_subgroup_is_caught_among_many() {
        let honest = powers_from_secrets(Fr::from(5u64), Fr::one(), Fr::one(), 64).tau_g2;
        assert!(g2_in_subgroup(&honest));
        // A point on the twist with a random x: almost surely outside G2.
        let mut rng = StdRng::seed_from_u64(1);
        let outside = loop {
            let x = Fq2::rand(&mut rng);
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                break p;
            }
        };
        assert!(outside.is_on_curve() && !outside.is_in_correct_subgroup_assuming_on_curve());
        let mut bad = honest;
        bad[40] = outside;
        assert!(!g2_in_subgroup(&bad));
    }

    #[test]
    fn hermez_hashes_are_recognised_case_insensitively() {
        let (power, hash) = HERMEZ_FINAL_BLAKE2B[7];
        assert_eq!(power, 15);
        assert_eq!(hermez_power(&hash.to_uppercase()), Some(15));
        assert_eq!(hermez_power(&"00".repeat(64)), None);
        assert!(HERMEZ_FINAL_BLAKE2B.iter().all(|(_, h)| h.len() == 128));
    }
}
