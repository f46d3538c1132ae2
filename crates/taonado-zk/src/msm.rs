//! Multi-scalar multiplication with affine bucket accumulation (batched inversions).
//!
//! arkworks' Pippenger adds every point into its bucket with a mixed addition in extended
//! Jacobian coordinates (8M + 2S). Here each window's points are first sorted by bucket
//! (signed digits), then every bucket's list is summed pairwise in affine coordinates,
//! one round at a time, with a single batched inversion per round: about 5M + 1S per
//! addition. Pairs within a round never share an operand, so no scheduling is needed.
//!
//! The sort is a [`BucketSchedule`]: made once per set of scalars, it serves every MSM
//! over them (the prover's A, B in G2 and L queries). Buckets are summed a few thousand
//! points at a time so a round's working set stays in cache, and the bases, read in bucket
//! order (at random), are prefetched a few entries ahead.
//!
//! [`msm_sum`] adds several MSMs of the same window width into one set of buckets (the
//! prover's C = L + r·B + H): one bucket reduction instead of three, and a wider window.
//! [`BucketField`] gives the sums arkworks' Montgomery product inline, field sums and
//! differences without branches, and G2 its faster `Fq2` formulas. Bases and bucket
//! points are [`BucketPoint`]s: one cache line per G1 point.
//!
//! GLV ([`BucketSchedule::glv`], [`glv_bases`]): BN254's G1 and G2 both have an
//! endomorphism φ(x, y) = (β·x, y) that multiplies by a cube root of unity λ mod r. A
//! 254-bit scalar k splits into k1 + λ·k2 with |k1|, |k2| < 2^128, so an MSM over n points
//! becomes one over the 2n points [P, φ(P)] with half as many windows: as many bucket
//! additions, but half as many bucket reductions (Σ k·S_k, two additions per bucket and
//! window).

use std::sync::OnceLock;

use alloy_primitives::{U256, Uint};
use ark_ec::{
    AffineRepr, CurveGroup,
    scalar_mul::glv::GLVConfig,
    short_weierstrass::{Affine, Projective, SWCurveConfig},
};
use ark_ff::{AdditiveGroup, BigInt, BigInteger, Field, MontConfig, PrimeField, Zero};
use rayon::prelude::*;

/// Window width in bits for an MSM of `n` points.
pub fn window_bits(n: usize) -> usize {
    match n {
        0..=64 => 3,
        65..=1024 => 7,
        1025..=8192 => 9,
        8193..=49_152 => 11,
        // Measured on 79k G1 points: 13 bits ~10 % faster than 11, flat from 12 to 14.
        _ => 13,
    }
}

/// Base-field arithmetic of affine additions, with faster formulas where the field has
/// them. BN254's `Fq2 = Fq[u]/(u² + 1)` does: a Karatsuba product (3 `Fq` products against
/// arkworks' two sums of products, measured ~25 % faster here) and inversion through the
/// norm, so a batch of `Fq2` inverses costs one batch of `Fq` inverses.
pub trait BucketField: Field {
    /// Buffers [`BucketField::batch_invert`] reuses from call to call.
    type InvertScratch: Default;

    /// `a·b`.
    fn multiply(a: &Self, b: &Self) -> Self;

    /// `a²`.
    fn squared(a: &Self) -> Self;

    /// `a + b`, without a branch on the values ([`crate::field::branchless_sum`]).
    fn plus(a: &Self, b: &Self) -> Self;

    /// `a − b`, without a branch on the values.
    fn minus(a: &Self, b: &Self) -> Self;

    /// Inverts every non-zero value in place; zeros stay zero.
    fn batch_invert(values: &mut [Self], scratch: &mut Self::InvertScratch);
}

impl BucketField for ark_bn254::Fq {
    type InvertScratch = Vec<Self>;

    // arkworks' `Fq` operators call the Montgomery product out of line: the bucket sums
    // get it inline.
    #[inline(always)]
    fn multiply(a: &Self, b: &Self) -> Self {
        crate::field::inline_product(*a, b)
    }

    #[inline(always)]
    fn squared(a: &Self) -> Self {
        let mut square = *a;
        <ark_bn254::FqConfig as MontConfig<4>>::square_in_place(&mut square);
        square
    }

    #[inline(always)]
    fn plus(a: &Self, b: &Self) -> Self {
        crate::field::branchless_sum(a, b)
    }

    #[inline(always)]
    fn minus(a: &Self, b: &Self) -> Self {
        crate::field::branchless_difference(a, b)
    }

    #[inline(always)]
    fn batch_invert(values: &mut [Self], prefix: &mut Vec<Self>) {
        montgomery_batch_invert(values, prefix);
    }
}

impl BucketField for ark_bn254::Fq2 {
    /// The norms, and the prefix products of their batch inversion.
    type InvertScratch = (Vec<ark_bn254::Fq>, Vec<ark_bn254::Fq>);

    #[inline(always)]
    fn multiply(a: &Self, b: &Self) -> Self {
        use ark_bn254::Fq;
        let v0 = Fq::multiply(&a.c0, &b.c0);
        let v1 = Fq::multiply(&a.c1, &b.c1);
        let cross = Fq::multiply(&Fq::plus(&a.c0, &a.c1), &Fq::plus(&b.c0, &b.c1));
        // u² = −1.
        Self::new(Fq::minus(&v0, &v1), Fq::minus(&Fq::minus(&cross, &v0), &v1))
    }

    #[inline(always)]
    fn squared(a: &Self) -> Self {
        use ark_bn254::Fq;
        // (c0 + c1·u)² = (c0 + c1)(c0 − c1) + 2·c0·c1·u, as u² = −1.
        let c0 = Fq::multiply(&Fq::plus(&a.c0, &a.c1), &Fq::minus(&a.c0, &a.c1));
        let c0c1 = Fq::multiply(&a.c0, &a.c1);
        Self::new(c0, Fq::plus(&c0c1, &c0c1))
    }

    #[inline(always)]
    fn plus(a: &Self, b: &Self) -> Self {
        use ark_bn254::Fq;
        Self::new(Fq::plus(&a.c0, &b.c0), Fq::plus(&a.c1, &b.c1))
    }

    #[inline(always)]
    fn minus(a: &Self, b: &Self) -> Self {
        use ark_bn254::Fq;
        Self::new(Fq::minus(&a.c0, &b.c0), Fq::minus(&a.c1, &b.c1))
    }

    #[inline(always)]
    fn batch_invert(values: &mut [Self], (norms, prefix): &mut Self::InvertScratch) {
        // 1/(c0 + c1·u) = (c0 − c1·u)/(c0² + c1²). The norm of a non-zero element is
        // non-zero (−1 is not a square in Fq), and zero's norm is zero, so zeros stay zero.
        use ark_bn254::Fq;
        norms.clear();
        norms.extend(
            values
                .iter()
                .map(|v| Fq::plus(&Fq::squared(&v.c0), &Fq::squared(&v.c1))),
        );
        montgomery_batch_invert(norms, prefix);
        for (value, norm) in values.iter_mut().zip(norms.iter()) {
            value.c0 = Fq::multiply(&value.c0, norm);
            value.c1 = -Fq::multiply(&value.c1, norm);
        }
    }
}

/// Bits of a GLV half-scalar: |k1|, |k2| < 2^128 (see [`glv_split`]).
pub const GLV_HALF_BITS: usize = 128;

/// A curve whose MSMs can use the GLV split of [`glv_split`]: its endomorphism multiplies
/// by G1's λ (`ark_bn254::g1::Config::LAMBDA`).
pub trait GlvCurve: SWCurveConfig {
    /// φ(P) = λ·P.
    fn glv_endomorphism(point: &Affine<Self>) -> Affine<Self>;
}

impl GlvCurve for ark_bn254::g1::Config {
    fn glv_endomorphism(point: &Affine<Self>) -> Affine<Self> {
        <Self as GLVConfig>::endomorphism_affine(point)
    }
}

impl GlvCurve for ark_bn254::g2::Config {
    fn glv_endomorphism(point: &Affine<Self>) -> Affine<Self> {
        // arkworks' G2 endomorphism, x ↦ β·x, multiplies by λ² (its LAMBDA is −1 − λ);
        // applied twice, x ↦ β²·x, it multiplies by λ⁴ = λ, so one split serves G1 and G2.
        let mut image = *point;
        if !point.is_zero() {
            let beta = <Self as GLVConfig>::ENDO_COEFFS[0];
            image.x *= beta.square();
        }
        image
    }
}

/// `[P₀, φ(P₀), P₁, φ(P₁), …]`: the bases of a GLV MSM, whose schedule has the half-scalars
/// `[k1₀, k2₀, k1₁, k2₁, …]`.
pub fn glv_bases<P: GlvCurve>(bases: &[Affine<P>]) -> Vec<BucketPoint<P::BaseField>> {
    bases
        .par_iter()
        .flat_map_iter(|base| [*base, P::glv_endomorphism(base)].map(|p| BucketPoint::base(&p)))
        .collect()
}

/// `bases` as the MSM reads them (see [`BucketPoint`]).
pub fn bucket_bases<P: SWCurveConfig>(bases: &[Affine<P>]) -> Vec<BucketPoint<P::BaseField>> {
    bases.par_iter().map(BucketPoint::base).collect()
}

/// Constants of [`glv_split`], derived once from arkworks' G1 lattice basis.
struct GlvConstants {
    /// The basis (n11, n12, n21, n22), two's complement mod 2^256.
    basis: [U256; 4],
    /// For β1 ≈ k·n22/r and β2 ≈ −k·n12/r: ⌊|m|·2^256/r⌋ and whether m is negative.
    approx: [(U256, bool); 2],
}

fn glv_constants() -> &'static GlvConstants {
    static CONSTANTS: OnceLock<GlvConstants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        type U512 = Uint<512, 8>;
        // arkworks stores (is_positive, |n|) for n11, n12, n21, n22.
        let coefficients = <ark_bn254::g1::Config as GLVConfig>::SCALAR_DECOMP_COEFFS;
        let signed = |(positive, magnitude): (bool, BigInt<4>)| {
            let value = U256::from_limbs(magnitude.0);
            if positive {
                value
            } else {
                value.wrapping_neg()
            }
        };
        let modulus = U512::from(U256::from_limbs(ark_bn254::Fr::MODULUS.0));
        let approx = |magnitude: BigInt<4>| {
            let quotient: U512 = (U512::from(U256::from_limbs(magnitude.0)) << 256) / modulus;
            U256::from_limbs(quotient.as_limbs()[..4].try_into().unwrap_or([0; 4]))
        };
        let [_, n12, _, n22] = coefficients;
        GlvConstants {
            basis: coefficients.map(signed),
            approx: [(approx(n22.1), !n22.0), (approx(n12.1), n12.0)],
        }
    })
}

/// Splits a scalar k < r into (k1, k2) with k ≡ k1 + λ·k2 (mod r), each as (|kᵢ|, kᵢ < 0),
/// |kᵢ| < 2^128.
///
/// Babai rounding against the lattice basis N, with β ≈ (k·n22/r, −k·n12/r) truncated
/// through a precomputed ⌊|m|·2^256/r⌋: the congruence holds for any integer β, and the
/// truncation (β off by less than 2) keeps |k1| < 2·(|n11| + |n21|) and
/// |k2| < 2·(|n12| + |n22|), both below 2^128.
pub fn glv_split(k: &BigInt<4>) -> [(BigInt<4>, bool); 2] {
    let constants = glv_constants();
    let k = U256::from_limbs(k.0);
    let beta = constants.approx.map(|(factor, negative)| {
        let wide: Uint<512, 8> = k.widening_mul(factor);
        let quotient = U256::from_limbs(wide.as_limbs()[4..].try_into().unwrap_or([0; 4]));
        if negative {
            quotient.wrapping_neg()
        } else {
            quotient
        }
    });
    let [n11, n12, n21, n22] = constants.basis;
    let k1 = k
        .wrapping_sub(beta[0].wrapping_mul(n11))
        .wrapping_sub(beta[1].wrapping_mul(n21));
    let k2 = beta[0]
        .wrapping_mul(n12)
        .wrapping_add(beta[1].wrapping_mul(n22))
        .wrapping_neg();
    [k1, k2].map(|half| {
        let negative = half.bit(255);
        let magnitude = if negative { half.wrapping_neg() } else { half };
        (BigInt::new(magnitude.into_limbs()), negative)
    })
}

/// Signed base-2^c digits of `scalar`, least significant first, each in [-2^(c-1), 2^(c-1)].
fn signed_digits<B: BigInteger>(scalar: &B, c: usize, windows: usize, out: &mut [i32]) {
    let limbs = scalar.as_ref();
    let radix = 1i64 << c;
    let half = radix >> 1;
    let mut carry = 0i64;
    for (window, digit) in out.iter_mut().enumerate().take(windows) {
        let bit = window * c;
        let limb = bit / 64;
        let shift = bit % 64;
        let mut bits = limbs.get(limb).map_or(0, |l| l >> shift);
        if shift + c > 64
            && let Some(next) = limbs.get(limb + 1)
        {
            bits |= next << (64 - shift);
        }
        let value = (bits & ((1u64 << c) - 1)) as i64 + carry;
        // Without a branch: whether a digit wraps is a coin toss.
        carry = i64::from(value > half);
        *digit = (value - carry * radix) as i32;
    }
}

/// An affine point as the MSM reads and sums it: without arkworks' infinity flag and
/// 64-byte aligned, so a G1 point is exactly one cache line (arkworks' 72-byte `Affine`
/// straddles two) and a G2 point two. As a base, (0, 0) stands for the identity: it is on
/// neither BN254 curve (b ≠ 0). In a bucket list, the identity never appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct BucketPoint<F> {
    x: F,
    y: F,
}

impl<F: Field> BucketPoint<F> {
    /// `None` for the identity.
    fn from_affine<P: SWCurveConfig<BaseField = F>>(point: &Affine<P>) -> Option<Self> {
        point.xy().map(|(x, y)| Self { x, y })
    }

    /// A base: the identity as (0, 0).
    fn base<P: SWCurveConfig<BaseField = F>>(point: &Affine<P>) -> Self {
        Self::from_affine(point).unwrap_or(Self {
            x: F::zero(),
            y: F::zero(),
        })
    }

    fn is_identity_base(&self) -> bool {
        self.x.is_zero() && self.y.is_zero()
    }

    fn to_affine<P: SWCurveConfig<BaseField = F>>(point: Option<Self>) -> Affine<P> {
        point.map_or_else(Affine::identity, |p| Affine::new_unchecked(p.x, p.y))
    }
}

/// How the two points of a pair add up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PairKind {
    Add,
    Double,
    /// P + (−P): the identity, which drops out of its list.
    Cancel,
}

/// Buffers [`sum_lists`] reuses from round to round and from call to call.
struct ListScratch<F: BucketField> {
    bounds: Vec<usize>,
    next_bounds: Vec<usize>,
    kinds: Vec<PairKind>,
    denominators: Vec<F>,
    invert: F::InvertScratch,
}

impl<F: BucketField> Default for ListScratch<F> {
    fn default() -> Self {
        Self {
            bounds: Vec::new(),
            next_bounds: Vec::new(),
            kinds: Vec::new(),
            denominators: Vec::new(),
            invert: F::InvertScratch::default(),
        }
    }
}

/// Sums every list of `lists` (flattened: `points[starts[k]..starts[k+1]]`) in place with
/// pairwise affine additions, one batched inversion per round, and appends each list's sum
/// (`None` for the identity) to `sums`.
fn sum_lists<P: SWCurveConfig>(
    points: &mut Vec<BucketPoint<P::BaseField>>,
    starts: &[usize],
    scratch: &mut ListScratch<P::BaseField>,
    sums: &mut Vec<Option<BucketPoint<P::BaseField>>>,
) where
    P::BaseField: BucketField,
{
    #[cfg(target_arch = "x86_64")]
    if crate::field::has_mulx() {
        // SAFETY: this CPU has BMI2, the one feature `sum_lists_mulx` is compiled for.
        unsafe { sum_lists_mulx::<P>(points, starts, scratch, sums) };
        return;
    }
    sum_lists_inline::<P>(points, starts, scratch, sums);
}

/// [`sum_lists`] compiled for CPUs with BMI2, whose `mulx` multiplies without touching
/// the flags: the Montgomery products inlined here get shorter carry chains.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn sum_lists_mulx<P: SWCurveConfig>(
    points: &mut Vec<BucketPoint<P::BaseField>>,
    starts: &[usize],
    scratch: &mut ListScratch<P::BaseField>,
    sums: &mut Vec<Option<BucketPoint<P::BaseField>>>,
) where
    P::BaseField: BucketField,
{
    sum_lists_inline::<P>(points, starts, scratch, sums);
}

/// The body of [`sum_lists`], inlined into each of its CPU-specific copies.
#[inline(always)]
fn sum_lists_inline<P: SWCurveConfig>(
    points: &mut Vec<BucketPoint<P::BaseField>>,
    starts: &[usize],
    scratch: &mut ListScratch<P::BaseField>,
    sums: &mut Vec<Option<BucketPoint<P::BaseField>>>,
) where
    P::BaseField: BucketField,
{
    let ListScratch {
        bounds,
        next_bounds,
        kinds,
        denominators,
        invert,
    } = scratch;
    bounds.clear();
    bounds.extend_from_slice(starts);
    let lists = bounds.len().saturating_sub(1);
    loop {
        // Each pair's kind and denominator: x2 − x1, or 2y for a doubling. The kind is
        // kept so the additions below need not compare the points again.
        kinds.clear();
        denominators.clear();
        for k in 0..lists {
            for pair in points[bounds[k]..bounds[k + 1]].chunks_exact(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let (kind, denominator) = if a.x != b.x {
                    (PairKind::Add, P::BaseField::minus(&b.x, &a.x))
                } else if a.y == b.y && !a.y.is_zero() {
                    (PairKind::Double, a.y.double())
                } else {
                    (PairKind::Cancel, P::BaseField::zero())
                };
                kinds.push(kind);
                denominators.push(denominator);
            }
        }
        if kinds.is_empty() {
            break;
        }
        P::BaseField::batch_invert(denominators, invert);
        // Apply, compacting each list's results to its front.
        let mut pair = 0;
        let mut write = 0;
        next_bounds.clear();
        for k in 0..lists {
            next_bounds.push(write);
            let (start, end) = (bounds[k], bounds[k + 1]);
            let mut read = start;
            while read + 1 < end {
                let (a, b) = (points[read], points[read + 1]);
                let (kind, inverse) = (kinds[pair], denominators[pair]);
                pair += 1;
                read += 2;
                let lambda = match kind {
                    PairKind::Add => {
                        P::BaseField::multiply(&P::BaseField::minus(&b.y, &a.y), &inverse)
                    }
                    // Rare (a bucket holding one base twice): arkworks' operators will do.
                    PairKind::Double => {
                        let xx = P::BaseField::squared(&a.x);
                        P::BaseField::multiply(&(xx.double() + xx + P::COEFF_A), &inverse)
                    }
                    PairKind::Cancel => continue,
                };
                let x = P::BaseField::minus(
                    &P::BaseField::minus(&P::BaseField::squared(&lambda), &a.x),
                    &b.x,
                );
                let y = P::BaseField::minus(
                    &P::BaseField::multiply(&lambda, &P::BaseField::minus(&a.x, &x)),
                    &a.y,
                );
                points[write] = BucketPoint { x, y };
                write += 1;
            }
            if read < end {
                points[write] = points[read];
                write += 1;
            }
        }
        next_bounds.push(write);
        points.truncate(write);
        std::mem::swap(bounds, next_bounds);
    }
    sums.extend((0..lists).map(|k| (bounds[k + 1] > bounds[k]).then(|| points[bounds[k]])));
}

/// Montgomery's trick, with `prefix` as scratch; zeros stay zero.
#[inline(always)]
fn montgomery_batch_invert<F: BucketField>(values: &mut [F], prefix: &mut Vec<F>) {
    prefix.clear();
    let mut running = F::one();
    for value in values.iter() {
        prefix.push(running);
        if !value.is_zero() {
            running = F::multiply(&running, value);
        }
    }
    // The product of non-zero field elements is non-zero.
    let mut inverse = running.inverse().unwrap_or_default();
    for (value, before) in values.iter_mut().zip(prefix.iter()).rev() {
        if value.is_zero() {
            continue;
        }
        let next = F::multiply(&inverse, value);
        *value = F::multiply(&inverse, before);
        inverse = next;
    }
}

/// Points summed per batch of buckets (see [`bucket_sums`]).
const CHUNK_POINTS: usize = 4096;

/// How many schedule entries ahead [`BucketSchedule::gather`] prefetches a base.
#[cfg(target_arch = "x86_64")]
const PREFETCH_DISTANCE: usize = 16;

/// Top bit of a schedule entry: the digit is negative, so the base is subtracted.
const NEGATIVE: u32 = 1 << 31;

/// The bucket of every (scalar, window) pair of one set of scalars. It is computed once
/// and shared by every MSM over the same scalars (Groth16's A, B and L queries all take
/// the witness), so digits are extracted and sorted once rather than once per MSM.
#[derive(Debug, Clone)]
pub struct BucketSchedule {
    c: usize,
    n: usize,
    /// Per window: scalar indexes sorted by bucket, with [`NEGATIVE`] set for a negative
    /// digit.
    entries: Vec<Vec<u32>>,
    /// Per window: `entries[starts[k - 1]..starts[k]]` is bucket `k` (`k = 1..=buckets`).
    starts: Vec<Vec<u32>>,
}

impl BucketSchedule {
    /// Signed digits of `scalars` (each below `2^scalar_bits`), sorted by bucket.
    pub fn new<B: BigInteger>(scalars: &[B], scalar_bits: usize) -> Self {
        Self::with_window(scalars, scalar_bits, window_bits(scalars.len()))
    }

    /// [`BucketSchedule::new`] with `c`-bit windows (`1 ≤ c ≤ 24`).
    pub fn with_window<B: BigInteger>(scalars: &[B], scalar_bits: usize, c: usize) -> Self {
        Self::build(scalars, None, scalar_bits, c)
    }

    /// The schedule of the GLV half-scalars `[k1₀, k2₀, k1₁, k2₁, …]` of `scalars` (see
    /// [`glv_split`]), for bases made by [`glv_bases`], with `c`-bit windows.
    pub fn glv(scalars: &[BigInt<4>], c: usize) -> Self {
        let (magnitudes, negative): (Vec<BigInt<4>>, Vec<bool>) =
            scalars.par_iter().flat_map_iter(glv_split).unzip();
        Self::build(&magnitudes, Some(&negative), GLV_HALF_BITS, c)
    }

    /// Digits of `scalars` (negated where `negative` says), sorted by bucket.
    fn build<B: BigInteger>(
        scalars: &[B],
        negative: Option<&[bool]>,
        scalar_bits: usize,
        c: usize,
    ) -> Self {
        let c = c.clamp(1, 24);
        let n = scalars.len();
        // One extra window takes the final carry of the signed digits.
        let windows = scalar_bits.div_ceil(c) + 1;
        let buckets = 1usize << (c - 1);
        let mut digits = vec![0i32; n * windows];
        digits
            .par_chunks_mut(windows)
            .zip(scalars.par_iter())
            .enumerate()
            .for_each(|(i, (out, scalar))| {
                signed_digits(scalar, c, windows, out);
                if negative.is_some_and(|negative| negative[i]) {
                    out.iter_mut().for_each(|digit| *digit = -*digit);
                }
            });
        let (entries, starts): (Vec<_>, Vec<_>) = (0..windows)
            .into_par_iter()
            .map(|window| {
                let mut counts = vec![0u32; buckets + 1];
                for i in 0..n {
                    counts[digits[i * windows + window].unsigned_abs() as usize] += 1;
                }
                // Bucket 0 (a zero digit) is left out.
                let mut starts = vec![0u32; buckets + 1];
                for k in 1..=buckets {
                    starts[k] = starts[k - 1] + counts[k];
                }
                let mut next = starts.clone();
                let mut entries = vec![0u32; starts[buckets] as usize];
                for i in 0..n {
                    let digit = digits[i * windows + window];
                    if digit == 0 {
                        continue;
                    }
                    let slot = &mut next[digit.unsigned_abs() as usize - 1];
                    entries[*slot as usize] = i as u32 | if digit < 0 { NEGATIVE } else { 0 };
                    *slot += 1;
                }
                (entries, starts)
            })
            .unzip();
        Self {
            c,
            n,
            entries,
            starts,
        }
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no scalars.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Window width in bits.
    pub fn window_bits(&self) -> usize {
        self.c
    }

    /// Appends window `window`'s entries for bucket `k` of `Σ scalars[i]·bases[i - first]`
    /// to `points`: the bases, negated for negative digits. Scalars without a base, and
    /// identities, contribute nothing.
    fn gather<P: SWCurveConfig>(
        &self,
        source: &MsmSource<'_, P>,
        window: usize,
        k: usize,
        points: &mut Vec<BucketPoint<P::BaseField>>,
    ) {
        let Some((entries, starts)) = self.entries.get(window).zip(self.starts.get(window)) else {
            return;
        };
        let base_of = |entry: u32| {
            ((entry & !NEGATIVE) as usize)
                .checked_sub(source.first)
                .and_then(|i| source.bases.get(i))
        };
        for at in starts[k - 1] as usize..starts[k] as usize {
            let entry = entries[at];
            // The bases are read in bucket order, i.e. at random: ask for one a few
            // entries ahead so its cache miss overlaps this work.
            #[cfg(target_arch = "x86_64")]
            if let Some(ahead) = entries
                .get(at + PREFETCH_DISTANCE)
                .and_then(|e| base_of(*e))
            {
                use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                // Every cache line of the base (one for G1, two for G2).
                let start: *const i8 = (ahead as *const BucketPoint<P::BaseField>).cast();
                for line in (0..size_of::<BucketPoint<P::BaseField>>()).step_by(64) {
                    // SAFETY: a prefetch is only a hint: it never faults, whatever the
                    // address, and SSE (its only requirement) is part of the x86_64 baseline.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(line)) };
                }
            }
            // Identities (B's query has one for every variable outside B) add nothing.
            if let Some(base) = base_of(entry)
                && !base.is_identity_base()
            {
                let mut point = *base;
                if entry & NEGATIVE != 0 {
                    point.y = -point.y;
                }
                points.push(point);
            }
        }
    }
}

/// One term of a multi-scalar multiplication: `Σ scalars[i]·bases[i - first]` over the
/// scalars `schedule` was made from (scalars without a base are left out).
#[derive(Debug)]
pub struct MsmSource<'a, P: SWCurveConfig> {
    pub bases: &'a [BucketPoint<P::BaseField>],
    pub first: usize,
    pub schedule: &'a BucketSchedule,
}

// Manual impls: a derive would require `P: Copy`.
impl<P: SWCurveConfig> Clone for MsmSource<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: SWCurveConfig> Copy for MsmSource<'_, P> {}

/// Tasks per window: each sums a quarter of the window's buckets, so that tasks are short
/// enough for the cores to finish an MSM together (a window is ~10 % of one).
const WINDOW_PARTS: usize = 4;

/// The sums of buckets `buckets` (`k` from `start + 1` to `end`) of one window of the sum
/// of `sources` (all with the same window width): gather the bases bucket by bucket from
/// every source, then sum each bucket.
fn bucket_sums<P: SWCurveConfig>(
    sources: &[MsmSource<'_, P>],
    window: usize,
    buckets: std::ops::Range<usize>,
) -> Vec<Option<BucketPoint<P::BaseField>>>
where
    P::BaseField: BucketField,
{
    // Buckets are summed a few thousand points at a time, so each round's points,
    // denominators and inverses stay in the core's L2 cache.
    let mut sums = Vec::with_capacity(buckets.len());
    let mut scratch = ListScratch::default();
    let mut points = Vec::with_capacity(CHUNK_POINTS * 2);
    let mut point_starts = Vec::with_capacity(buckets.len() + 1);
    point_starts.push(0);
    for k in buckets.start + 1..=buckets.end {
        for source in sources {
            source.schedule.gather(source, window, k, &mut points);
        }
        point_starts.push(points.len());
        if points.len() >= CHUNK_POINTS || k == buckets.end {
            sum_lists::<P>(&mut points, &point_starts, &mut scratch, &mut sums);
            points.clear();
            point_starts.clear();
            point_starts.push(0);
        }
    }
    sums
}

/// `Σ k·sums[k - 1]`, as `Σ hi·T_hi + Σ lo·U_lo` over `k = hi·2^b + lo`: the T and U
/// sums are one more batched-affine [`sum_lists`], and only the two short weighted sums
/// need projective additions.
fn weighted_bucket_sum<P: SWCurveConfig>(
    sums: &[Option<BucketPoint<P::BaseField>>],
) -> Projective<P>
where
    P::BaseField: BucketField,
{
    let len = sums.len();
    let low_bits = (usize::BITS - len.leading_zeros()) as usize / 2;
    let low = 1usize << low_bits;
    let high = len.div_ceil(low);
    // Lists of T (by hi) then of U (by lo), leaving out empty buckets.
    let mut points = Vec::with_capacity(2 * len);
    let mut starts = Vec::with_capacity(high + low + 1);
    starts.push(0);
    for hi in 0..high {
        points.extend(sums[hi * low..((hi + 1) * low).min(len)].iter().flatten());
        starts.push(points.len());
    }
    for lo in 0..low {
        points.extend((0..high).filter_map(|hi| *sums.get(hi * low + lo)?));
        starts.push(points.len());
    }
    let mut totals = Vec::with_capacity(high + low);
    sum_lists::<P>(
        &mut points,
        &starts,
        &mut ListScratch::default(),
        &mut totals,
    );
    let totals: Vec<Affine<P>> = totals.into_iter().map(BucketPoint::to_affine).collect();
    let (by_high, by_low) = totals.split_at(high);
    // Σ i·X_i for i from 0, by a running sum from the top.
    let weighted = |xs: &[Affine<P>]| {
        let mut running = Projective::<P>::zero();
        let mut result = Projective::<P>::zero();
        for x in xs[1..].iter().rev() {
            running += x;
            result += running;
        }
        (result, running + xs[0])
    };
    let (mut high_part, all) = weighted(by_high);
    let (low_part, _) = weighted(by_low);
    for _ in 0..low_bits {
        high_part.double_in_place();
    }
    high_part + low_part + all
}

/// `Σ scalars[first + i]·bases[i]` for the scalars `schedule` was made from; scalars
/// without a base are left out.
pub fn msm_scheduled<P: SWCurveConfig>(
    bases: &[BucketPoint<P::BaseField>],
    first: usize,
    schedule: &BucketSchedule,
) -> Projective<P>
where
    P::BaseField: BucketField,
{
    msm_sum(&[MsmSource {
        bases,
        first,
        schedule,
    }])
}

/// The sum of several multi-scalar multiplications. Sources with the same window width
/// share one set of buckets per window, so k MSMs pay for one bucket reduction instead
/// of k, and their combined size affords a wider window.
pub fn msm_sum<P: SWCurveConfig>(sources: &[MsmSource<'_, P>]) -> Projective<P>
where
    P::BaseField: BucketField,
{
    let Some(first) = sources.first() else {
        return Projective::zero();
    };
    let c = first.schedule.c;
    let (same, other): (Vec<_>, Vec<_>) = sources
        .iter()
        .copied()
        .partition(|source| source.schedule.c == c);
    let windows = same
        .iter()
        .map(|s| s.schedule.entries.len())
        .max()
        .unwrap_or(0);
    let buckets = 1usize << (c - 1);
    let part = buckets.div_ceil(WINDOW_PARTS);
    let parts: Vec<_> = (0..windows * WINDOW_PARTS)
        .into_par_iter()
        .map(|task| {
            let start = (task % WINDOW_PARTS * part).min(buckets);
            let end = (start + part).min(buckets);
            bucket_sums(&same, task / WINDOW_PARTS, start..end)
        })
        .collect();
    let sums: Vec<Projective<P>> = parts
        .par_chunks(WINDOW_PARTS)
        .map(|window| weighted_bucket_sum::<P>(&window.concat()))
        .collect();
    let total = sums
        .iter()
        .rev()
        .fold(Projective::zero(), |mut total, sum| {
            for _ in 0..c {
                total.double_in_place();
            }
            total + sum
        });
    // Another window width cannot share these buckets: summed on its own.
    total + msm_sum(&other)
}

/// `Σ scalars[i]·bases[i]` over the shorter of the two slices.
pub fn msm<P: SWCurveConfig>(
    bases: &[Affine<P>],
    scalars: &[<P::ScalarField as PrimeField>::BigInt],
) -> Projective<P>
where
    P::BaseField: BucketField,
{
    let n = bases.len().min(scalars.len());
    if n == 0 {
        return Projective::zero();
    }
    let schedule = BucketSchedule::new(&scalars[..n], P::ScalarField::MODULUS_BIT_SIZE as usize);
    msm_scheduled(&bucket_bases(&bases[..n]), 0, &schedule)
}

/// [`msm`] of field elements.
pub fn msm_fields<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[P::ScalarField]) -> Affine<P>
where
    P::BaseField: BucketField,
{
    let bigints: Vec<_> = scalars.par_iter().map(|s| s.into_bigint()).collect();
    msm(bases, &bigints).into_affine()
}

#[cfg(test)]
mod tests {
    use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::{PrimeField, UniformRand};
    use ark_std::rand::{SeedableRng, rngs::StdRng};

    use super::*;

    fn check<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[P::ScalarField])
    where
        P::BaseField: BucketField,
        Projective<P>: VariableBaseMSM<MulBase = Affine<P>, ScalarField = P::ScalarField>,
    {
        let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        let ours = msm(bases, &bigints).into_affine();
        let theirs = <Projective<P> as VariableBaseMSM>::msm(bases, scalars)
            .expect("same length")
            .into_affine();
        assert_eq!(ours, theirs, "msm of {} points", bases.len());
    }

    #[test]
    fn matches_arkworks_with_repeats_negations_zeros_and_small_scalars() {
        let mut rng = StdRng::from_seed([3; 32]);
        for n in [0usize, 1, 2, 5, 63, 200, 3000] {
            let mut bases: Vec<G1Affine> = (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect();
            let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            // Doublings, P + (-P), identities, zero, one and tiny scalars, -1.
            for i in (0..n).step_by(7) {
                if i + 1 < n {
                    bases[i + 1] = bases[i];
                    scalars[i + 1] = scalars[i];
                }
                if i + 2 < n {
                    bases[i + 2] = -bases[i];
                    scalars[i + 2] = scalars[i];
                }
                if i + 3 < n {
                    bases[i + 3] = G1Affine::identity();
                }
                if i + 4 < n {
                    scalars[i + 4] = Fr::from((i % 3) as u64);
                }
                if i + 5 < n {
                    scalars[i + 5] = -Fr::from(1u64);
                }
            }
            check(&bases, &scalars);
        }
    }

    #[test]
    fn weighted_bucket_sum_is_the_bucket_weighted_total() {
        let mut rng = StdRng::from_seed([7; 32]);
        for len in 1..=40usize {
            let sums: Vec<G1Affine> = (0..len)
                .map(|k| {
                    if k % 4 == 1 {
                        G1Affine::identity()
                    } else {
                        G1Projective::rand(&mut rng).into_affine()
                    }
                })
                .collect();
            let expected: G1Projective = sums
                .iter()
                .enumerate()
                .map(|(k, sum)| *sum * Fr::from(k as u64 + 1))
                .sum();
            let as_list: Vec<_> = sums.iter().map(BucketPoint::from_affine).collect();
            assert_eq!(
                weighted_bucket_sum::<ark_bn254::g1::Config>(&as_list).into_affine(),
                expected.into_affine(),
                "{len} buckets"
            );
        }
    }

    /// The portable copy of `sum_lists` gives what the dispatched one does (on a CPU with
    /// BMI2, the `mulx` copy), in G1 and G2, with doublings and cancelling pairs.
    #[test]
    fn portable_sum_lists_matches_the_dispatched_one() {
        fn lists<P: SWCurveConfig>(rng: &mut StdRng) -> (Vec<BucketPoint<P::BaseField>>, Vec<usize>)
        where
            P::BaseField: BucketField,
        {
            let mut points: Vec<BucketPoint<P::BaseField>> = Vec::new();
            let mut starts = vec![0];
            for len in 0..40usize {
                for i in 0..len {
                    let point = match (i % 5, points.last().copied()) {
                        // A repeat (a doubling) and a negation (a cancelling pair).
                        (1, Some(last)) => last,
                        (3, Some(BucketPoint { x, y })) => BucketPoint { x, y: -y },
                        _ => BucketPoint::base(&Projective::<P>::rand(rng).into_affine()),
                    };
                    points.push(point);
                }
                starts.push(points.len());
            }
            (points, starts)
        }
        fn check<P: SWCurveConfig>(rng: &mut StdRng)
        where
            P::BaseField: BucketField,
        {
            let (points, starts) = lists::<P>(rng);
            let (mut dispatched, mut portable) = (Vec::new(), Vec::new());
            let mut scratch = ListScratch::default();
            sum_lists::<P>(&mut points.clone(), &starts, &mut scratch, &mut dispatched);
            sum_lists_inline::<P>(&mut points.clone(), &starts, &mut scratch, &mut portable);
            assert_eq!(dispatched, portable);
            assert_eq!(dispatched.len(), starts.len() - 1);
        }
        let mut rng = StdRng::from_seed([8; 32]);
        check::<ark_bn254::g1::Config>(&mut rng);
        check::<ark_bn254::g2::Config>(&mut rng);
    }

    #[test]
    fn one_schedule_serves_several_base_sets_and_offsets() {
        let mut rng = StdRng::from_seed([6; 32]);
        let n = 5000;
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        let schedule = BucketSchedule::new(&bigints, 254);
        assert_eq!(schedule.len(), n);
        for _ in 0..2 {
            let bases: Vec<G1Affine> = (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect();
            let ours = msm_scheduled(&bucket_bases(&bases), 0, &schedule).into_affine();
            let theirs = <G1Projective as VariableBaseMSM>::msm(&bases, &scalars)
                .expect("same length")
                .into_affine();
            assert_eq!(ours, theirs);
            // Bases for the scalars from index 7 on only, as the prover's L query.
            let ours = msm_scheduled(&bucket_bases(&bases[7..]), 7, &schedule).into_affine();
            let theirs = <G1Projective as VariableBaseMSM>::msm(&bases[7..], &scalars[7..])
                .expect("same length")
                .into_affine();
            assert_eq!(ours, theirs, "offset schedule");
        }
    }

    #[test]
    fn bucket_field_products_and_batch_inverses_match_arkworks() {
        use ark_bn254::{Fq, Fq2, Fq2Config};
        use ark_ff::{Fp2Config, One};
        // Both formulas rely on u² = −1.
        assert_eq!(Fq2Config::NONRESIDUE, -Fq::one());
        let mut rng = StdRng::from_seed([8; 32]);
        for _ in 0..200 {
            let (a, b) = (Fq2::rand(&mut rng), Fq2::rand(&mut rng));
            assert_eq!(<Fq2 as BucketField>::multiply(&a, &b), a * b);
            assert_eq!(<Fq2 as BucketField>::squared(&a), a.square());
            assert_eq!(<Fq as BucketField>::multiply(&a.c0, &b.c1), a.c0 * b.c1);
            assert_eq!(<Fq as BucketField>::squared(&a.c1), a.c1.square());
        }
        let mut values: Vec<Fq2> = (0..37).map(|_| Fq2::rand(&mut rng)).collect();
        values[3] = Fq2::zero();
        values[20] = Fq2::new(Fq::zero(), Fq::one());
        values[21] = Fq2::new(Fq::one(), Fq::zero());
        assert_batch_inverts(values);
        let mut values: Vec<Fq> = (0..9).map(|_| Fq::rand(&mut rng)).collect();
        values[0] = Fq::zero();
        assert_batch_inverts(values);
    }

    /// `BucketField::batch_invert` equals inverting one by one, zeros staying zero.
    fn assert_batch_inverts<F: BucketField>(mut values: Vec<F>) {
        let expected: Vec<F> = values
            .iter()
            .map(|v| v.inverse().unwrap_or_default())
            .collect();
        F::batch_invert(&mut values, &mut F::InvertScratch::default());
        assert_eq!(values, expected);
    }

    #[test]
    fn msm_sum_adds_sources_of_the_same_and_of_other_window_widths() {
        let mut rng = StdRng::from_seed([9; 32]);
        let sizes = [700usize, 300, 1200];
        let mut expected = G1Projective::zero();
        let mut inputs = Vec::new();
        for n in sizes {
            let bases: Vec<G1Affine> = (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect();
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            // The first 5 scalars have no base, as the prover's L query.
            expected += <G1Projective as VariableBaseMSM>::msm(&bases[5..], &scalars[5..])
                .expect("same length");
            let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
            inputs.push((bucket_bases(&bases[5..]), bigints));
        }
        for widths in [[9, 9, 9], [9, 7, 9], [5, 8, 11]] {
            let schedules: Vec<_> = inputs
                .iter()
                .zip(widths)
                .map(|((_, scalars), c)| BucketSchedule::with_window(scalars, 254, c))
                .collect();
            let sources: Vec<_> = inputs
                .iter()
                .zip(&schedules)
                .map(|((bases, _), schedule)| MsmSource {
                    bases,
                    first: 5,
                    schedule,
                })
                .collect();
            assert_eq!(
                msm_sum(&sources).into_affine(),
                expected.into_affine(),
                "window widths {widths:?}"
            );
        }
        assert!(msm_sum::<ark_bn254::g1::Config>(&[]).is_zero());
    }

    fn signed_half(magnitude: BigInt<4>, negative: bool) -> Fr {
        let value = Fr::from_bigint(magnitude).expect("below r");
        if negative { -value } else { value }
    }

    #[test]
    fn glv_split_edge_cases_recombine() {
        let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
        let two = Fr::from(2u64);
        for k in [
            Fr::zero(),
            Fr::from(1u64),
            -Fr::from(1u64),
            lambda,
            -lambda,
            lambda * lambda,
            two.pow([253u64]),
            two.pow([128u64]),
            two.pow([128u64]) - Fr::from(1u64),
        ] {
            let [(m1, n1), (m2, n2)] = glv_split(&k.into_bigint());
            assert!(m1.num_bits() as usize <= GLV_HALF_BITS, "{k}");
            assert!(m2.num_bits() as usize <= GLV_HALF_BITS, "{k}");
            assert_eq!(signed_half(m1, n1) + lambda * signed_half(m2, n2), k);
        }
    }

    proptest::proptest! {
        /// k = k1 + λ·k2 (mod r), with both halves below 2^128, for any k < r.
        #[test]
        fn glv_split_recombines_with_small_halves(seed in proptest::prelude::any::<[u8; 32]>()) {
            let k = Fr::from_le_bytes_mod_order(&seed);
            let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
            let [(m1, n1), (m2, n2)] = glv_split(&k.into_bigint());
            proptest::prop_assert!(m1.num_bits() as usize <= GLV_HALF_BITS);
            proptest::prop_assert!(m2.num_bits() as usize <= GLV_HALF_BITS);
            proptest::prop_assert_eq!(signed_half(m1, n1) + lambda * signed_half(m2, n2), k);
        }
    }

    #[test]
    fn endomorphisms_multiply_by_g1_lambda() {
        let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
        let mut rng = StdRng::from_seed([10; 32]);
        for _ in 0..4 {
            let p = G1Projective::rand(&mut rng).into_affine();
            assert_eq!(
                ark_bn254::g1::Config::glv_endomorphism(&p),
                (p * lambda).into_affine()
            );
            let q = G2Projective::rand(&mut rng).into_affine();
            assert_eq!(
                ark_bn254::g2::Config::glv_endomorphism(&q),
                (q * lambda).into_affine()
            );
        }
        assert!(ark_bn254::g1::Config::glv_endomorphism(&G1Affine::identity()).is_zero());
        assert!(ark_bn254::g2::Config::glv_endomorphism(&G2Affine::identity()).is_zero());
    }

    /// A GLV MSM over `glv_bases` equals arkworks' MSM, also from an offset.
    fn check_glv<P: GlvCurve>(bases: &[Affine<P>], scalars: &[Fr], c: usize)
    where
        P::BaseField: BucketField,
        Projective<P>: VariableBaseMSM<MulBase = Affine<P>, ScalarField = Fr>,
    {
        let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        let schedule = BucketSchedule::glv(&bigints, c);
        let glv = glv_bases(bases);
        let theirs = |from: usize| {
            <Projective<P> as VariableBaseMSM>::msm(&bases[from..], &scalars[from..])
                .expect("same length")
                .into_affine()
        };
        assert_eq!(
            msm_scheduled(&glv, 0, &schedule).into_affine(),
            theirs(0),
            "c = {c}"
        );
        let ours = msm_scheduled(&glv[14..], 14, &schedule).into_affine();
        assert_eq!(ours, theirs(7), "c = {c}, from 7");
    }

    #[test]
    fn glv_msm_matches_arkworks_in_g1_and_g2() {
        let mut rng = StdRng::from_seed([11; 32]);
        let n = 1500;
        let mut g1: Vec<G1Affine> = (0..n)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        // Repeats, P + (-P), identities, zero, small scalars and -1.
        for i in (0..n).step_by(9) {
            g1[i + 1] = g1[i];
            scalars[i + 1] = scalars[i];
            g1[i + 2] = -g1[i];
            scalars[i + 2] = scalars[i];
            g1[i + 3] = G1Affine::identity();
            scalars[i + 4] = Fr::from((i % 3) as u64);
            scalars[i + 5] = -Fr::from(1u64);
        }
        for c in [7, 13] {
            check_glv(&g1, &scalars, c);
        }
        let g2: Vec<G2Affine> = (0..200)
            .map(|_| G2Projective::rand(&mut rng).into_affine())
            .collect();
        check_glv(&g2, &scalars[..200], 9);
    }

    #[test]
    fn matches_arkworks_in_g2() {
        let mut rng = StdRng::from_seed([4; 32]);
        let bases: Vec<G2Affine> = (0..300)
            .map(|_| G2Projective::rand(&mut rng).into_affine())
            .collect();
        let scalars: Vec<Fr> = (0..300).map(|_| Fr::rand(&mut rng)).collect();
        check(&bases, &scalars);
    }
}
