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
//! [`BucketField`] gives G2 its faster `Fq2` formulas.

use ark_ec::{
    AffineRepr, CurveGroup,
    short_weierstrass::{Affine, Projective, SWCurveConfig},
};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
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
    /// `a·b`.
    #[inline(always)]
    fn product(a: &Self, b: &Self) -> Self {
        *a * b
    }

    /// Inverts every non-zero value in place; zeros stay zero.
    fn batch_invert(values: &mut [Self]) {
        montgomery_batch_invert(values);
    }
}

impl BucketField for ark_bn254::Fq {}

impl BucketField for ark_bn254::Fq2 {
    #[inline(always)]
    fn product(a: &Self, b: &Self) -> Self {
        let v0 = a.c0 * b.c0;
        let v1 = a.c1 * b.c1;
        let c1 = (a.c0 + a.c1) * (b.c0 + b.c1) - v0 - v1;
        // u² = −1.
        Self::new(v0 - v1, c1)
    }

    fn batch_invert(values: &mut [Self]) {
        // 1/(c0 + c1·u) = (c0 − c1·u)/(c0² + c1²). The norm of a non-zero element is
        // non-zero (−1 is not a square in Fq), and zero's norm is zero, so zeros stay zero.
        let mut norms: Vec<ark_bn254::Fq> = values
            .iter()
            .map(|v| v.c0.square() + v.c1.square())
            .collect();
        montgomery_batch_invert(&mut norms);
        for (value, norm) in values.iter_mut().zip(&norms) {
            value.c0 *= norm;
            value.c1 = -(value.c1 * norm);
        }
    }
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
        let mut value = (bits & ((1u64 << c) - 1)) as i64 + carry;
        carry = 0;
        if value > half {
            value -= radix;
            carry = 1;
        }
        *digit = value as i32;
    }
}

/// Sums every list of `lists` (flattened: `points[starts[k]..starts[k+1]]`) in place with
/// pairwise affine additions, returning each list's sum (`None` for the identity).
fn sum_lists<P: SWCurveConfig>(points: &mut Vec<Affine<P>>, starts: &[usize]) -> Vec<Affine<P>>
where
    P::BaseField: BucketField,
{
    let mut starts = starts.to_vec();
    let lists = starts.len() - 1;
    let mut denominators: Vec<P::BaseField> = Vec::with_capacity(points.len() / 2);
    loop {
        if (0..lists).all(|k| starts[k + 1] - starts[k] <= 1) {
            break;
        }
        // Denominators of every pair: x2 - x1, or 2y for a doubling; zero marks P + (-P).
        denominators.clear();
        for k in 0..lists {
            let list = &points[starts[k]..starts[k + 1]];
            for pair in list.chunks_exact(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let denominator = if a.x != b.x {
                    b.x - a.x
                } else if a.y == b.y && !a.y.is_zero() {
                    a.y.double()
                } else {
                    P::BaseField::zero()
                };
                denominators.push(denominator);
            }
        }
        P::BaseField::batch_invert(&mut denominators);
        // Apply, compacting each list's results to its front.
        let mut pair_index = 0;
        let mut write = 0;
        let mut new_starts = Vec::with_capacity(lists + 1);
        for k in 0..lists {
            new_starts.push(write);
            let (start, end) = (starts[k], starts[k + 1]);
            let mut read = start;
            while read + 1 < end {
                let (a, b) = (points[read], points[read + 1]);
                let inverse = denominators[pair_index];
                pair_index += 1;
                read += 2;
                if inverse.is_zero() {
                    // P + (-P): the identity drops out of the list.
                    continue;
                }
                let lambda = if a.x != b.x {
                    P::BaseField::product(&(b.y - a.y), &inverse)
                } else {
                    let xx = a.x.square();
                    P::BaseField::product(&(xx.double() + xx + P::COEFF_A), &inverse)
                };
                let x = lambda.square() - a.x - b.x;
                let y = P::BaseField::product(&lambda, &(a.x - x)) - a.y;
                points[write] = Affine::new_unchecked(x, y);
                write += 1;
            }
            if read < end {
                points[write] = points[read];
                write += 1;
            }
        }
        new_starts.push(write);
        points.truncate(write);
        starts = new_starts;
    }
    (0..lists)
        .map(|k| {
            if starts[k + 1] > starts[k] {
                points[starts[k]]
            } else {
                Affine::identity()
            }
        })
        .collect()
}

/// Montgomery's trick; zeros stay zero.
fn montgomery_batch_invert<F: Field>(values: &mut [F]) {
    let mut prefix = Vec::with_capacity(values.len());
    let mut running = F::one();
    for value in values.iter() {
        prefix.push(running);
        if !value.is_zero() {
            running *= value;
        }
    }
    // The product of non-zero field elements is non-zero.
    let mut inverse = running.inverse().unwrap_or_default();
    for (value, before) in values.iter_mut().zip(prefix.iter()).rev() {
        if value.is_zero() {
            continue;
        }
        let next = inverse * *value;
        *value = inverse * before;
        inverse = next;
    }
}

/// Points summed per batch of buckets (see [`window_sum`]).
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
        let c = c.clamp(1, 24);
        let n = scalars.len();
        // One extra window takes the final carry of the signed digits.
        let windows = scalar_bits.div_ceil(c) + 1;
        let buckets = 1usize << (c - 1);
        let mut digits = vec![0i32; n * windows];
        digits
            .par_chunks_mut(windows)
            .zip(scalars.par_iter())
            .for_each(|(out, scalar)| signed_digits(scalar, c, windows, out));
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
        points: &mut Vec<Affine<P>>,
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
                // SAFETY: a prefetch is only a hint: it never faults, whatever the address,
                // and SSE (its only requirement) is part of the x86_64 baseline.
                unsafe { _mm_prefetch::<_MM_HINT_T0>((ahead as *const Affine<P>).cast()) };
            }
            if let Some(base) = base_of(entry)
                && !base.is_zero()
            {
                points.push(if entry & NEGATIVE == 0 { *base } else { -*base });
            }
        }
    }
}

/// One term of a multi-scalar multiplication: `Σ scalars[i]·bases[i - first]` over the
/// scalars `schedule` was made from (scalars without a base are left out).
#[derive(Debug)]
pub struct MsmSource<'a, P: SWCurveConfig> {
    pub bases: &'a [Affine<P>],
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

/// One window of the sum of `sources` (all with the same window width): gather the bases
/// bucket by bucket from every source, sum each bucket, then Σ k·bucket_k.
fn window_sum<P: SWCurveConfig>(
    sources: &[MsmSource<'_, P>],
    c: usize,
    window: usize,
) -> Projective<P>
where
    P::BaseField: BucketField,
{
    let buckets = 1usize << (c - 1);
    // Buckets are summed a few thousand points at a time, so each round's points,
    // denominators and inverses stay in the core's L2 cache.
    let mut sums = Vec::with_capacity(buckets);
    let mut points = Vec::with_capacity(CHUNK_POINTS * 2);
    let mut point_starts = Vec::with_capacity(buckets + 1);
    point_starts.push(0);
    for k in 1..=buckets {
        for source in sources {
            source.schedule.gather(source, window, k, &mut points);
        }
        point_starts.push(points.len());
        if points.len() >= CHUNK_POINTS || k == buckets {
            sums.extend(sum_lists(&mut points, &point_starts));
            points.clear();
            point_starts.clear();
            point_starts.push(0);
        }
    }
    weighted_bucket_sum(&sums)
}

fn weighted_bucket_sum<P: SWCurveConfig>(sums: &[Affine<P>]) -> Projective<P>
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
        points.extend(
            sums[hi * low..((hi + 1) * low).min(len)]
                .iter()
                .filter(|sum| !sum.is_zero()),
        );
        starts.push(points.len());
    }
    for lo in 0..low {
        points.extend(
            (0..high)
                .filter_map(|hi| sums.get(hi * low + lo))
                .filter(|sum| !sum.is_zero()),
        );
        starts.push(points.len());
    }
    let totals = sum_lists(&mut points, &starts);
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
    bases: &[Affine<P>],
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
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|window| window_sum(&same, c, window))
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
    msm_scheduled(&bases[..n], 0, &schedule)
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
            assert_eq!(
                weighted_bucket_sum(&sums).into_affine(),
                expected.into_affine(),
                "{len} buckets"
            );
        }
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
            let ours = msm_scheduled(&bases, 0, &schedule).into_affine();
            let theirs = <G1Projective as VariableBaseMSM>::msm(&bases, &scalars)
                .expect("same length")
                .into_affine();
            assert_eq!(ours, theirs);
            // Bases for the scalars from index 7 on only, as the prover's L query.
            let ours = msm_scheduled(&bases[7..], 7, &schedule).into_affine();
            let theirs = <G1Projective as VariableBaseMSM>::msm(&bases[7..], &scalars[7..])
                .expect("same length")
                .into_affine();
            assert_eq!(ours, theirs, "offset schedule");
        }
    }

    #[test]
    fn fq2_product_and_batch_inverse_match_arkworks() {
        use ark_bn254::{Fq, Fq2, Fq2Config};
        use ark_ff::{Fp2Config, One};
        // Both formulas rely on u² = −1.
        assert_eq!(Fq2Config::NONRESIDUE, -Fq::one());
        let mut rng = StdRng::from_seed([8; 32]);
        for _ in 0..200 {
            let (a, b) = (Fq2::rand(&mut rng), Fq2::rand(&mut rng));
            assert_eq!(<Fq2 as BucketField>::product(&a, &b), a * b);
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
        F::batch_invert(&mut values);
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
            inputs.push((bases, bigints));
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
                    bases: &bases[5..],
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
