//! circomlib's Baby Jubjub Pedersen hash, computed on arkworks' `ark-ed-on-bn254`.
//!
//! circomlib writes the curve as `168700·x² + y² = 1 + 168696·x²·y²`; arkworks uses the
//! isomorphic `x² + y² = 1 + (168696/168700)·x²·y²`. A circomlib point `(x, y)` is the
//! arkworks point `(x·s, y)` with `s = sqrt(168700)`; the same `s` is used both ways.

use std::sync::OnceLock;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{BigInteger, Field, MontFp, One, PrimeField, Zero};
use blake_hash::Digest;

use crate::{ZkError, field::Fr};

/// `sqrt(168700)` in the BN254 scalar field: the scale between circomlib and arkworks x.
pub const SQRT_168700: Fr =
    MontFp!("7214280148105020021932206872019688659210616427216992810330019057549499971851");

/// circomlib's twisted Edwards `a`.
pub const CIRCOM_A: u64 = 168_700;
/// circomlib's twisted Edwards `d`.
pub const CIRCOM_D: u64 = 168_696;

/// Bits per window and windows per segment of circomlib's Pedersen hash.
pub const WINDOW_BITS: usize = 4;
/// Windows per segment.
pub const WINDOWS_PER_SEGMENT: usize = 50;
/// Bits per segment.
pub const SEGMENT_BITS: usize = WINDOW_BITS * WINDOWS_PER_SEGMENT;
/// Segments whose generators are derived; 4 segments cover messages up to 100 bytes,
/// twice Tornado's 62-byte preimage.
pub const MAX_SEGMENTS: usize = 4;

/// A Baby Jubjub point in circomlib's coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircomPoint {
    /// x in circomlib's form (what Tornado uses as the hash).
    pub x: Fr,
    /// y (shared by both forms).
    pub y: Fr,
}

impl CircomPoint {
    /// The same point on arkworks' curve.
    pub fn to_ark(self) -> EdwardsAffine {
        EdwardsAffine::new_unchecked(self.x * SQRT_168700, self.y)
    }

    /// An arkworks point in circomlib's coordinates.
    pub fn from_ark(point: EdwardsAffine) -> Self {
        let (x, y) = point.xy().unwrap_or((Fr::zero(), Fr::one()));
        Self {
            x: x * sqrt_168700_inverse(),
            y,
        }
    }

    /// Whether the point satisfies circomlib's curve equation.
    pub fn is_on_curve(self) -> bool {
        let (x2, y2) = (self.x.square(), self.y.square());
        Fr::from(CIRCOM_A) * x2 + y2 == Fr::one() + Fr::from(CIRCOM_D) * x2 * y2
    }

    /// circomlib's `packPoint`: y little-endian, bit 255 set when x > (p−1)/2.
    pub fn pack(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.y.into_bigint().to_bytes_le());
        if self.x.into_bigint() > Fr::MODULUS_MINUS_ONE_DIV_TWO {
            out[31] |= 0x80;
        }
        out
    }

    /// circomlib's `unpackPoint`; `None` when the bytes are not a point.
    pub fn unpack(packed: &[u8; 32]) -> Option<Self> {
        let mut bytes = *packed;
        let negative = bytes[31] & 0x80 != 0;
        bytes[31] &= 0x7f;
        let y = Fr::from_bigint(ark_ff::BigInt::<4>::from_bits_le(&bits_le(&bytes)))?;
        let y2 = y.square();
        let x2 = (Fr::one() - y2) * (Fr::from(CIRCOM_A) - Fr::from(CIRCOM_D) * y2).inverse()?;
        let mut x = x2.sqrt()?;
        // circomlib picks the root in [0, (p-1)/2] before applying the sign bit.
        if x.into_bigint() > Fr::MODULUS_MINUS_ONE_DIV_TWO {
            x = -x;
        }
        if negative {
            x = -x;
        }
        Some(Self { x, y })
    }
}

fn sqrt_168700_inverse() -> Fr {
    static INVERSE: OnceLock<Fr> = OnceLock::new();
    // SQRT_168700 is a nonzero constant, so the inverse exists.
    *INVERSE.get_or_init(|| SQRT_168700.inverse().unwrap_or_default())
}

fn bits_le(bytes: &[u8]) -> Vec<bool> {
    bytes
        .iter()
        .flat_map(|byte| (0..8).map(move |bit| (byte >> bit) & 1 == 1))
        .collect()
}

/// circomlib's generator of segment `segment` (already multiplied by 8), derived with
/// BLAKE-256 from `"PedersenGenerator_" + pad32(segment) + "_" + pad32(try)`.
fn derive_generator(segment: usize) -> EdwardsAffine {
    let mut attempt = 0usize;
    loop {
        let seed = format!("PedersenGenerator_{segment:032}_{attempt:032}");
        let digest = blake_hash::Blake256::digest(seed.as_bytes());
        let mut packed = [0u8; 32];
        packed.copy_from_slice(&digest);
        // Bit 254 is cleared so that y < 2^254, as circomlib does.
        packed[31] &= 0xbf;
        if let Some(point) = CircomPoint::unpack(&packed).filter(|p| p.is_on_curve()) {
            let point = point.to_ark();
            return (point.into_group() * JubjubScalar::from(8u64)).into_affine();
        }
        attempt += 1;
    }
}

/// The derived generators of segments `0..MAX_SEGMENTS`, on arkworks' curve.
pub fn generators() -> &'static [EdwardsAffine; MAX_SEGMENTS] {
    static GENERATORS: OnceLock<[EdwardsAffine; MAX_SEGMENTS]> = OnceLock::new();
    GENERATORS.get_or_init(|| std::array::from_fn(derive_generator))
}

/// Signed window value `±(1 + b0 + 2·b1 + 4·b2)`, negative when b3 is set.
pub(crate) fn window_value(bits: [bool; 4]) -> i64 {
    let magnitude = 1 + i64::from(bits[0]) + 2 * i64::from(bits[1]) + 4 * i64::from(bits[2]);
    if bits[3] { -magnitude } else { magnitude }
}

/// circomlib's Pedersen hash of a byte message: the full point, circomlib coordinates.
pub fn pedersen_hash(message: &[u8]) -> Result<CircomPoint, ZkError> {
    let bits = bits_le(message);
    pedersen_hash_bits(&bits)
}

/// Pedersen hash of a bit string (least-significant bit of byte 0 first).
pub fn pedersen_hash_bits(bits: &[bool]) -> Result<CircomPoint, ZkError> {
    let max_bits = MAX_SEGMENTS * SEGMENT_BITS;
    if bits.len() > max_bits {
        return Err(ZkError::PedersenMessageTooLong {
            bits: bits.len(),
            max_bits,
        });
    }
    let thirty_two = JubjubScalar::from(32u64);
    let mut sum = EdwardsProjective::zero();
    for (segment, segment_bits) in bits.chunks(SEGMENT_BITS).enumerate() {
        let mut scalar = JubjubScalar::zero();
        let mut weight = JubjubScalar::one();
        for window in segment_bits.chunks(WINDOW_BITS) {
            // The last window is zero-padded.
            let padded = std::array::from_fn(|i| window.get(i).copied().unwrap_or(false));
            let value = window_value(padded);
            let magnitude = JubjubScalar::from(value.unsigned_abs());
            scalar += if value < 0 { -magnitude } else { magnitude } * weight;
            weight *= thirty_two;
        }
        sum += generators()[segment] * scalar;
    }
    Ok(CircomPoint::from_ark(sum.into_affine()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_constant_squares_to_a() {
        assert_eq!(SQRT_168700.square(), Fr::from(CIRCOM_A));
    }

    #[test]
    fn generators_are_on_both_curves_and_in_the_subgroup() {
        for generator in generators() {
            assert!(generator.is_on_curve());
            assert!(generator.is_in_correct_subgroup_assuming_on_curve());
            assert!(CircomPoint::from_ark(*generator).is_on_curve());
        }
    }

    #[test]
    fn pack_unpack_round_trip() {
        let point = CircomPoint::from_ark(generators()[1]);
        assert_eq!(CircomPoint::unpack(&point.pack()), Some(point));
    }

    #[test]
    fn too_long_message_is_rejected() {
        let message = vec![0u8; MAX_SEGMENTS * SEGMENT_BITS / 8 + 1];
        assert!(matches!(
            pedersen_hash(&message),
            Err(ZkError::PedersenMessageTooLong { .. })
        ));
    }
}
