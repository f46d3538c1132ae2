//! websnark's proving-key layout (`tornadoProvingKey.bin`), read into arkworks types.
//!
//! - Header: ten little-endian u32: nVars, nPublic, domainSize, then the byte offsets of
//!   polsA, polsB, A, B1, B2, C and hExps.
//! - Then the verifying-key points alfa1, beta1, delta1 (G1) and beta2, delta2 (G2).
//! - polsA/polsB: per variable a u32 count, then (u32 row, Fr) pairs.
//! - Point tables: A, B1 (G1 × nVars), B2 (G2 × nVars), C (G1 for the private variables),
//!   hExps (G1 × (domainSize − 1)).
//!
//! Field elements are 32 bytes, little-endian, in Montgomery form (x·2²⁵⁶ mod p), which
//! is arkworks' own representation, so a limb range check is the whole conversion. G2
//! coordinates are `x.c0, x.c1, y.c0, y.c1`; the point at infinity is `(0, 1)` with 1 in
//! Montgomery form.
//!
//! Every offset, count and row is checked against the file and the header before use: a
//! malformed file is a [`WebsnarkKeyError`], never a panic or an oversized allocation.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, Fp, MontConfig, One, Zero};
use rayon::prelude::*;

use crate::{WebsnarkKeyError, field::Fr};

/// Bytes of a field element.
const FIELD_BYTES: usize = 32;
/// Bytes of a G1 point.
const G1_BYTES: usize = 2 * FIELD_BYTES;
/// Bytes of a G2 point.
const G2_BYTES: usize = 4 * FIELD_BYTES;
/// Bytes of the header.
const HEADER_BYTES: usize = 10 * 4;
/// Where polsA starts when it directly follows the verifying-key points.
const POINTS_END: usize = HEADER_BYTES + 3 * G1_BYTES + 2 * G2_BYTES;

/// How much a reader checks of the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointCheck {
    /// Every point on its curve and G2 points in the prime-order subgroup (G1's cofactor is
    /// 1): for a file whose origin is not yet established.
    Full,
    /// Coordinates below the modulus only: for a file whose SHA-256 was just found equal
    /// to the pinned one (fully checked when it was imported).
    Pinned,
}

/// One column of a QAP polynomial table: (row, coefficient) pairs.
pub type PolynomialColumn = Vec<(u32, Fr)>;

/// A websnark Groth16 proving key.
#[derive(Debug, Clone)]
pub struct WebsnarkProvingKey {
    /// Variables, counting the constant 1.
    pub n_vars: usize,
    /// Public inputs (without the constant 1).
    pub n_public: usize,
    /// Size of the QAP's FFT domain.
    pub domain_size: usize,
    /// A's coefficients per variable (rows of the domain), with libsnark's extra input rows.
    pub pols_a: Vec<PolynomialColumn>,
    /// B's coefficients per variable.
    pub pols_b: Vec<PolynomialColumn>,
    /// α in G1.
    pub alpha_g1: G1Affine,
    /// β in G1.
    pub beta_g1: G1Affine,
    /// δ in G1.
    pub delta_g1: G1Affine,
    /// β in G2.
    pub beta_g2: G2Affine,
    /// δ in G2.
    pub delta_g2: G2Affine,
    /// A query, one per variable.
    pub a: Vec<G1Affine>,
    /// B query in G1.
    pub b1: Vec<G1Affine>,
    /// B query in G2.
    pub b2: Vec<G2Affine>,
    /// C query (arkworks' L), one per private variable.
    pub c: Vec<G1Affine>,
    /// τⁱ·Z(τ)/δ for i < domainSize − 1 (arkworks' H query).
    pub h: Vec<G1Affine>,
}

/// A bounds-checked little-endian reader over the key's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn at(bytes: &'a [u8], offset: usize) -> Self {
        Self { bytes, offset }
    }

    fn take(
        &mut self,
        len: usize,
        what: &dyn Fn() -> String,
    ) -> Result<&'a [u8], WebsnarkKeyError> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| WebsnarkKeyError::Truncated {
                what: what(),
                offset: self.offset as u64,
                len: self.bytes.len() as u64,
            })?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, WebsnarkKeyError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

fn limbs(bytes: &[u8]) -> [u64; 4] {
    std::array::from_fn(|i| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[8 * i..8 * i + 8]);
        u64::from_le_bytes(word)
    })
}

/// A field element from its 32-byte Montgomery form; `None` at or above the modulus.
fn montgomery<P: MontConfig<4>>(bytes: &[u8]) -> Option<Fp<ark_ff::MontBackend<P, 4>, 4>> {
    let value = BigInt::new(limbs(bytes));
    (value < P::MODULUS).then(|| Fp::new_unchecked(value))
}

fn fq(bytes: &[u8], what: &dyn Fn() -> String) -> Result<Fq, WebsnarkKeyError> {
    montgomery::<ark_bn254::FqConfig>(bytes)
        .ok_or_else(|| WebsnarkKeyError::NotInField { what: what() })
}

fn g1(
    bytes: &[u8],
    check: PointCheck,
    what: &dyn Fn() -> String,
) -> Result<G1Affine, WebsnarkKeyError> {
    let x = fq(&bytes[..FIELD_BYTES], what)?;
    let y = fq(&bytes[FIELD_BYTES..G1_BYTES], what)?;
    if x.is_zero() && y.is_one() {
        return Ok(G1Affine::zero());
    }
    let point = G1Affine::new_unchecked(x, y);
    if check == PointCheck::Full && !point.is_on_curve() {
        return Err(WebsnarkKeyError::BadPoint {
            what: what(),
            reason: "not on the bn254 G1 curve",
        });
    }
    Ok(point)
}

fn g2(
    bytes: &[u8],
    check: PointCheck,
    what: &dyn Fn() -> String,
) -> Result<G2Affine, WebsnarkKeyError> {
    let c: [Fq; 4] = [
        fq(&bytes[..FIELD_BYTES], what)?,
        fq(&bytes[FIELD_BYTES..2 * FIELD_BYTES], what)?,
        fq(&bytes[2 * FIELD_BYTES..3 * FIELD_BYTES], what)?,
        fq(&bytes[3 * FIELD_BYTES..G2_BYTES], what)?,
    ];
    let (x, y) = (Fq2::new(c[0], c[1]), Fq2::new(c[2], c[3]));
    if x.is_zero() && y.is_one() {
        return Ok(G2Affine::zero());
    }
    let point = G2Affine::new_unchecked(x, y);
    if check == PointCheck::Full {
        if !point.is_on_curve() {
            return Err(WebsnarkKeyError::BadPoint {
                what: what(),
                reason: "not on the bn254 G2 curve",
            });
        }
        if !point.is_in_correct_subgroup_assuming_on_curve() {
            return Err(WebsnarkKeyError::BadPoint {
                what: what(),
                reason: "not in the prime-order subgroup of G2",
            });
        }
    }
    Ok(point)
}

/// `count` points of `size` bytes at `offset`, parsed in parallel.
fn table<T: Send>(
    bytes: &[u8],
    section: &'static str,
    offset: usize,
    count: usize,
    size: usize,
    parse: impl Fn(&[u8], &dyn Fn() -> String) -> Result<T, WebsnarkKeyError> + Sync,
) -> Result<Vec<T>, WebsnarkKeyError> {
    let what = || format!("the {section} table ({count} points at byte {offset})");
    let slice = Cursor::at(bytes, offset).take(count.saturating_mul(size), &what)?;
    slice
        .par_chunks_exact(size)
        .enumerate()
        .map(|(index, chunk)| parse(chunk, &|| format!("{section}[{index}]")))
        .collect()
}

fn polynomials(
    bytes: &[u8],
    section: &'static str,
    offset: usize,
    n_vars: usize,
    domain_size: usize,
) -> Result<Vec<PolynomialColumn>, WebsnarkKeyError> {
    let mut cursor = Cursor::at(bytes, offset);
    let mut columns = Vec::with_capacity(n_vars);
    for variable in 0..n_vars {
        let count = cursor.u32(&|| format!("{section} count of variable {variable}"))? as usize;
        // Each entry is 36 bytes: the count is bounded by the bytes left before allocating.
        let entries = cursor.take(count.saturating_mul(4 + FIELD_BYTES), &|| {
            format!("{section} entries of variable {variable} ({count} claimed)")
        })?;
        let mut column = Vec::with_capacity(count);
        for entry in entries.chunks_exact(4 + FIELD_BYTES) {
            let row = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            if row as usize >= domain_size {
                return Err(WebsnarkKeyError::RowOutOfRange {
                    section,
                    variable,
                    row,
                    domain_size,
                });
            }
            let coefficient = montgomery::<ark_bn254::FrConfig>(&entry[4..]).ok_or_else(|| {
                WebsnarkKeyError::NotInField {
                    what: format!("a {section} coefficient of variable {variable}"),
                }
            })?;
            column.push((row, coefficient));
        }
        columns.push(column);
    }
    Ok(columns)
}

impl WebsnarkProvingKey {
    /// Reads a key from its bytes.
    pub fn parse(bytes: &[u8], check: PointCheck) -> Result<Self, WebsnarkKeyError> {
        let mut header = Cursor::at(bytes, 0);
        let mut fields = [0usize; 10];
        let names = [
            "nVars",
            "nPublic",
            "domainSize",
            "polsA offset",
            "polsB offset",
            "A offset",
            "B1 offset",
            "B2 offset",
            "C offset",
            "hExps offset",
        ];
        for (field, name) in fields.iter_mut().zip(names) {
            *field = header.u32(&|| format!("the header's {name}"))? as usize;
        }
        let [
            n_vars,
            n_public,
            domain_size,
            pols_a,
            pols_b,
            a,
            b1,
            b2,
            c,
            h,
        ] = fields;
        let header_error =
            |field: &'static str, found: usize, expected: String| WebsnarkKeyError::Header {
                field,
                found: found as u64,
                expected,
            };
        if !domain_size.is_power_of_two() || domain_size > 1 << 28 {
            return Err(header_error(
                "domainSize",
                domain_size,
                "a power of two up to 2^28".to_owned(),
            ));
        }
        if n_public + 1 > n_vars {
            return Err(header_error(
                "nPublic",
                n_public,
                format!("fewer than nVars ({n_vars})"),
            ));
        }
        // libsnark's reduction adds a row per input: they must fit the domain too.
        if n_vars > domain_size {
            return Err(header_error(
                "nVars",
                n_vars,
                format!("at most domainSize ({domain_size})"),
            ));
        }
        if pols_a != POINTS_END {
            return Err(header_error("polsA offset", pols_a, POINTS_END.to_string()));
        }
        let n_private = n_vars - n_public - 1;
        // The tables follow each other; the last one ends the file.
        let layout = [
            ("A offset", a, b1, n_vars * G1_BYTES),
            ("B1 offset", b1, b2, n_vars * G1_BYTES),
            ("B2 offset", b2, c, n_vars * G2_BYTES),
            ("C offset", c, h, n_private * G1_BYTES),
            ("hExps offset", h, bytes.len(), (domain_size - 1) * G1_BYTES),
        ];
        for (field, start, end, size) in layout {
            if end.checked_sub(start) != Some(size) {
                return Err(header_error(
                    field,
                    start,
                    format!(
                        "{size} bytes before byte {end} (the next section or the end of the file)"
                    ),
                ));
            }
        }

        let mut points = Cursor::at(bytes, HEADER_BYTES);
        let mut g1_at = |name: &'static str| -> Result<G1Affine, WebsnarkKeyError> {
            let what = || format!("the verifying key's {name}");
            g1(points.take(G1_BYTES, &what)?, PointCheck::Full, &what)
        };
        let alpha_g1 = g1_at("alfa1")?;
        let beta_g1 = g1_at("beta1")?;
        let delta_g1 = g1_at("delta1")?;
        let mut g2_at = |name: &'static str| -> Result<G2Affine, WebsnarkKeyError> {
            let what = || format!("the verifying key's {name}");
            g2(points.take(G2_BYTES, &what)?, PointCheck::Full, &what)
        };
        let beta_g2 = g2_at("beta2")?;
        let delta_g2 = g2_at("delta2")?;

        let pols_a_columns = polynomials(bytes, "polsA", pols_a, n_vars, domain_size)?;
        let pols_b_columns = polynomials(bytes, "polsB", pols_b, n_vars, domain_size)?;
        let g1_entry = |chunk: &[u8], what: &dyn Fn() -> String| g1(chunk, check, what);
        let g2_entry = |chunk: &[u8], what: &dyn Fn() -> String| g2(chunk, check, what);
        Ok(Self {
            n_vars,
            n_public,
            domain_size,
            pols_a: pols_a_columns,
            pols_b: pols_b_columns,
            alpha_g1,
            beta_g1,
            delta_g1,
            beta_g2,
            delta_g2,
            a: table(bytes, "A", a, n_vars, G1_BYTES, g1_entry)?,
            b1: table(bytes, "B1", b1, n_vars, G1_BYTES, g1_entry)?,
            b2: table(bytes, "B2", b2, n_vars, G2_BYTES, g2_entry)?,
            c: table(bytes, "C", c, n_private, G1_BYTES, g1_entry)?,
            h: table(bytes, "hExps", h, domain_size - 1, G1_BYTES, g1_entry)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use ark_ec::{AffineRepr, CurveGroup};
    use proptest::prelude::*;

    use super::*;

    fn field_bytes<P: MontConfig<4>>(value: Fp<ark_ff::MontBackend<P, 4>, 4>) -> Vec<u8> {
        // arkworks' internal representation is the Montgomery form websnark writes.
        value
            .0
            .0
            .iter()
            .flat_map(|limb| limb.to_le_bytes())
            .collect()
    }

    fn g1_bytes(point: G1Affine) -> Vec<u8> {
        let (x, y) = point.xy().unwrap_or((Fq::zero(), Fq::one()));
        [field_bytes(x), field_bytes(y)].concat()
    }

    fn g2_bytes(point: G2Affine) -> Vec<u8> {
        let (x, y) = point.xy().unwrap_or((Fq2::zero(), Fq2::one()));
        [x.c0, x.c1, y.c0, y.c1]
            .into_iter()
            .flat_map(field_bytes)
            .collect()
    }

    fn g1_multiple(k: u64) -> G1Affine {
        (G1Affine::generator() * Fr::from(k)).into_affine()
    }

    fn g2_multiple(k: u64) -> G2Affine {
        (G2Affine::generator() * Fr::from(k)).into_affine()
    }

    /// A key of 3 variables (one public), a domain of 4 rows; A[1] is the identity.
    fn small_key() -> Vec<u8> {
        let (n_vars, n_public, domain) = (3usize, 1usize, 4usize);
        let pols = |entries: &[&[(u32, u64)]]| -> Vec<u8> {
            let mut out = Vec::new();
            for column in entries {
                out.extend_from_slice(&(column.len() as u32).to_le_bytes());
                for (row, value) in *column {
                    out.extend_from_slice(&row.to_le_bytes());
                    out.extend(field_bytes(Fr::from(*value)));
                }
            }
            out
        };
        let pols_a = pols(&[&[(0, 1), (2, 1)], &[(3, 1)], &[(1, 5)]]);
        let pols_b = pols(&[&[], &[(0, 2)], &[(1, 1), (2, 3)]]);
        let a: Vec<u8> = [G1Affine::zero(), g1_multiple(2), g1_multiple(3)]
            .into_iter()
            .flat_map(g1_bytes)
            .collect();
        let b1: Vec<u8> = (4..7).map(g1_multiple).flat_map(g1_bytes).collect();
        let b2: Vec<u8> = (7..10).map(g2_multiple).flat_map(g2_bytes).collect();
        let c: Vec<u8> = g1_bytes(g1_multiple(10));
        let h: Vec<u8> = (11..14).map(g1_multiple).flat_map(g1_bytes).collect();
        // The sections follow each other in the header's order.
        let pols_b_at = POINTS_END + pols_a.len();
        let a_at = pols_b_at + pols_b.len();
        let b1_at = a_at + a.len();
        let b2_at = b1_at + b1.len();
        let c_at = b2_at + b2.len();
        let h_at = c_at + c.len();
        let offsets = [POINTS_END, pols_b_at, a_at, b1_at, b2_at, c_at, h_at];
        let mut out = Vec::new();
        for value in [n_vars, n_public, domain].into_iter().chain(offsets) {
            out.extend_from_slice(&(value as u32).to_le_bytes());
        }
        out.extend(g1_bytes(g1_multiple(21)));
        out.extend(g1_bytes(g1_multiple(22)));
        out.extend(g1_bytes(g1_multiple(23)));
        out.extend(g2_bytes(g2_multiple(24)));
        out.extend(g2_bytes(g2_multiple(25)));
        out.extend(pols_a);
        out.extend(pols_b);
        out.extend(a);
        out.extend(b1);
        out.extend(b2);
        out.extend(c);
        out.extend(h);
        out
    }

    #[test]
    fn a_well_formed_key_is_read() {
        let key = WebsnarkProvingKey::parse(&small_key(), PointCheck::Full).expect("valid");
        assert_eq!((key.n_vars, key.n_public, key.domain_size), (3, 1, 4));
        assert_eq!(
            key.pols_a[0],
            vec![(0, Fr::from(1u64)), (2, Fr::from(1u64))]
        );
        assert_eq!(key.pols_b[0], vec![]);
        assert_eq!(
            key.pols_b[2],
            vec![(1, Fr::from(1u64)), (2, Fr::from(3u64))]
        );
        assert_eq!(key.alpha_g1, g1_multiple(21));
        assert_eq!(key.delta_g2, g2_multiple(25));
        // (0, Montgomery 1) is the point at infinity.
        assert!(key.a[0].is_zero());
        assert_eq!(key.a[2], g1_multiple(3));
        assert_eq!(key.b2[1], g2_multiple(8));
        assert_eq!(key.c, vec![g1_multiple(10)]);
        assert_eq!(key.h.len(), 3);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = small_key();
        for len in 0..bytes.len() {
            assert!(
                WebsnarkProvingKey::parse(&bytes[..len], PointCheck::Full).is_err(),
                "{len} bytes read as a key"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            WebsnarkProvingKey::parse(&longer, PointCheck::Full),
            Err(WebsnarkKeyError::Header {
                field: "hExps offset",
                ..
            })
        ));
    }

    fn set_u32(bytes: &mut [u8], offset: usize, value: u32) {
        bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    #[test]
    fn malformed_fields_are_typed_errors() {
        let bytes = small_key();
        let parse = |bytes: &[u8], check| WebsnarkProvingKey::parse(bytes, check);

        let mut domain = bytes.clone();
        set_u32(&mut domain, 8, 3);
        assert!(matches!(
            parse(&domain, PointCheck::Full),
            Err(WebsnarkKeyError::Header {
                field: "domainSize",
                ..
            })
        ));

        let mut public = bytes.clone();
        set_u32(&mut public, 4, 3);
        assert!(matches!(
            parse(&public, PointCheck::Full),
            Err(WebsnarkKeyError::Header {
                field: "nPublic",
                ..
            })
        ));

        // polsA of variable 0 claims 2^32 − 1 entries: refused without allocating them.
        let mut count = bytes.clone();
        set_u32(&mut count, POINTS_END, u32::MAX);
        assert!(matches!(
            parse(&count, PointCheck::Full),
            Err(WebsnarkKeyError::Truncated { .. })
        ));

        let mut row = bytes.clone();
        set_u32(&mut row, POINTS_END + 4, 4);
        assert!(matches!(
            parse(&row, PointCheck::Full),
            Err(WebsnarkKeyError::RowOutOfRange { row: 4, .. })
        ));

        // alfa1.x = p (all ones is above it): not a reduced field element.
        let mut coordinate = bytes.clone();
        coordinate[HEADER_BYTES..HEADER_BYTES + 32].fill(0xff);
        assert!(matches!(
            parse(&coordinate, PointCheck::Full),
            Err(WebsnarkKeyError::NotInField { .. })
        ));

        // The last hExps point moved off the curve: refused when checked in full,
        // accepted as a pinned file (whose hash already vouches for it).
        let mut off_curve = bytes.clone();
        let last = off_curve.len() - 1;
        off_curve[last - 40] ^= 1;
        assert!(matches!(
            parse(&off_curve, PointCheck::Full),
            Err(WebsnarkKeyError::BadPoint { .. })
        ));
        assert!(parse(&off_curve, PointCheck::Pinned).is_ok());
    }

    #[test]
    fn a_g2_point_outside_the_subgroup_is_refused() {
        // A point on the twist whose order is not r: x = 1 has such a point (the twist's
        // cofactor is large, so almost every point is outside the subgroup).
        let x = Fq2::new(Fq::one(), Fq::zero());
        let point = G2Affine::get_point_from_x_unchecked(x, false).expect("1 is on the twist");
        assert!(!point.is_in_correct_subgroup_assuming_on_curve());
        let mut bytes = small_key();
        let beta2 = HEADER_BYTES + 3 * G1_BYTES;
        bytes[beta2..beta2 + G2_BYTES].copy_from_slice(&g2_bytes(point));
        assert!(matches!(
            WebsnarkProvingKey::parse(&bytes, PointCheck::Full),
            Err(WebsnarkKeyError::BadPoint { reason, .. }) if reason.contains("subgroup")
        ));
    }

    proptest! {
        /// Whatever bytes are changed, reading is an answer, never a panic.
        #[test]
        fn changed_bytes_never_panic(
            changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
        ) {
            let mut bytes = small_key();
            for (index, value) in changes {
                let i = index.index(bytes.len());
                bytes[i] = value;
            }
            let _ = WebsnarkProvingKey::parse(&bytes, PointCheck::Full);
            let _ = WebsnarkProvingKey::parse(&bytes, PointCheck::Pinned);
        }

        /// Any header, however large its counts and offsets, is an answer.
        #[test]
        fn any_header_never_panics(header in proptest::collection::vec(any::<u32>(), 10)) {
            let mut bytes = small_key();
            for (i, value) in header.iter().enumerate() {
                set_u32(&mut bytes, 4 * i, *value);
            }
            let _ = WebsnarkProvingKey::parse(&bytes, PointCheck::Full);
        }
    }
}
