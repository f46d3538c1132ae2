//! Radix-2 FFTs over BN254's scalar field, for the prover's QAP quotient.
//!
//! ark-poly's FFT calls arkworks' Montgomery product out of line and recomputes its
//! twiddles on every call. Here a [`Radix2Fft`] makes its twiddles once, the butterflies
//! get arkworks' product inline (its `MontConfig` code) and sums without branches
//! ([`crate::field::branchless_sum`]), and each transform comes in two
//! orders: [`Radix2Fft::dif`] takes natural order and leaves the result bit-reversed,
//! [`Radix2Fft::dit`] takes bit-reversed order and leaves it natural. An interpolation
//! followed by an evaluation, or a transform whose output feeds an MSM with bit-reversed
//! bases, then never permutes.
//!
//! Both recurse on halves (depth first), so once a half fits in cache it stays there, and
//! large halves run as parallel tasks.

use ark_ff::{FftField, Field, One, PrimeField};

use crate::field::{
    Fr, branchless_difference as minus, branchless_sum as plus, inline_product as product,
};

/// The root of unity a transform uses: ω evaluates, ω⁻¹ interpolates (unscaled: the
/// result is n times the coefficients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Inverse,
}

/// Halves at least this long are transformed as parallel tasks.
const PARALLEL_LEN: usize = 1 << 12;

/// Transforms of up to `2^log_size` values.
#[derive(Debug, Clone)]
pub struct Radix2Fft {
    log_size: u32,
    /// `forward[m + j] = ω_{2m}^j` for every power of two `m < size` and `j < m`, where
    /// ω_{2m} is the primitive 2m-th root of unity; index 0 is unused. A transform of
    /// length 2m reads `[m, 2m)`, so one table serves every length up to `size`.
    forward: Vec<Fr>,
    /// The same for ω⁻¹.
    inverse: Vec<Fr>,
}

impl Radix2Fft {
    /// Transforms of up to `2^log_size` values, with arkworks' roots of unity (those of
    /// ark-poly's radix-2 domains). `None` above the field's two-adicity (2^28).
    pub fn new(log_size: u32) -> Option<Self> {
        Self::from_two_adic_root(log_size, Fr::TWO_ADIC_ROOT_OF_UNITY)
    }

    /// Transforms of up to `2^log_size` values whose roots of unity come from
    /// `generator`: ω = generator^((r − 1)/2^28), squared down to order `2^log_size`.
    /// arkworks' roots are those of generator 5; keys made by snarkjs 0.1 and websnark
    /// (Tornado's) index their rows by the roots of generator 7, a different ordering of
    /// the same subgroup. `None` above 2^28, or when `generator` is a square (its root
    /// would not have order 2^28).
    pub fn with_generator(log_size: u32, generator: Fr) -> Option<Self> {
        let root = generator.pow(Fr::TRACE);
        // ω has order exactly 2^28 when ω^(2^27) = −1.
        let mut half_order = root;
        for _ in 1..Fr::TWO_ADICITY {
            half_order.square_in_place();
        }
        if half_order != -Fr::one() {
            return None;
        }
        Self::from_two_adic_root(log_size, root)
    }

    /// From a primitive 2^28-th root of unity.
    fn from_two_adic_root(log_size: u32, two_adic_root: Fr) -> Option<Self> {
        if log_size > Fr::TWO_ADICITY {
            return None;
        }
        let mut root = two_adic_root;
        for _ in log_size..Fr::TWO_ADICITY {
            root.square_in_place();
        }
        let size = 1usize << log_size;
        Some(Self {
            log_size,
            forward: twiddles(root, size),
            inverse: twiddles(root.inverse()?, size),
        })
    }

    /// The largest length this transforms.
    pub fn size(&self) -> usize {
        1 << self.log_size
    }

    /// `index` with its `log_size` low bits reversed: where [`Radix2Fft::dif`] puts the
    /// value of natural index `index`, for transforms of the full size.
    pub fn bit_reverse(&self, index: usize) -> usize {
        match self.log_size {
            0 => 0,
            bits => index.reverse_bits() >> (usize::BITS - bits),
        }
    }

    /// The discrete Fourier transform of `values` (natural order), left in bit-reversed
    /// order. `values.len()` must be a power of two no larger than [`Radix2Fft::size`].
    pub fn dif(&self, values: &mut [Fr], direction: Direction) {
        dif(values, self.twiddles(values.len(), direction));
    }

    /// The discrete Fourier transform of `values` (bit-reversed order), left in natural
    /// order. `values.len()` must be a power of two no larger than [`Radix2Fft::size`].
    pub fn dit(&self, values: &mut [Fr], direction: Direction) {
        dit(values, self.twiddles(values.len(), direction));
    }

    fn twiddles(&self, len: usize, direction: Direction) -> &[Fr] {
        // Callers in this crate pass the prover's domain; another length is a bug.
        assert!(
            len.is_power_of_two() && len <= self.size(),
            "FFT of {len} values on a domain of {}",
            self.size()
        );
        match direction {
            Direction::Forward => &self.forward[..len],
            Direction::Inverse => &self.inverse[..len],
        }
    }
}

/// The table layout of [`Radix2Fft::forward`] for the `size`-th root of unity `root`.
fn twiddles(root: Fr, size: usize) -> Vec<Fr> {
    let mut table = vec![Fr::one(); size.max(1)];
    let half = size / 2;
    let mut power = Fr::one();
    for entry in &mut table[half..] {
        *entry = power;
        power = product(power, &root);
    }
    // ω_{2m}^j = ω_{4m}^{2j}: each level is every other entry of the one above.
    let mut m = half / 2;
    while m >= 1 {
        for j in 0..m {
            table[m + j] = table[2 * m + 2 * j];
        }
        m /= 2;
    }
    table
}

/// Decimation in frequency (Gentleman–Sande): butterflies across the halves, then each
/// half. `twiddles` is the table's `[0, values.len())`.
fn dif(values: &mut [Fr], twiddles: &[Fr]) {
    #[cfg(target_arch = "x86_64")]
    if crate::field::has_mulx() {
        // SAFETY: this CPU has BMI2, the one feature `dif_mulx` is compiled for.
        return unsafe { dif_mulx(values, twiddles) };
    }
    dif_portable(values, twiddles);
}

fn dif_portable(values: &mut [Fr], twiddles: &[Fr]) {
    dif_step(values, twiddles, dif_portable);
}

/// [`dif`] compiled for CPUs with BMI2 (see [`crate::field::has_mulx`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn dif_mulx(values: &mut [Fr], twiddles: &[Fr]) {
    dif_step(values, twiddles, |half, twiddles| dif_mulx(half, twiddles));
}

/// One level of [`dif`]; `recurse` transforms each half.
#[inline(always)]
fn dif_step(values: &mut [Fr], twiddles: &[Fr], recurse: impl Fn(&mut [Fr], &[Fr]) + Sync) {
    let half = values.len() / 2;
    if half == 0 {
        return;
    }
    let (low, high) = values.split_at_mut(half);
    butterflies(low, high, twiddles, |u, v, w| {
        (plus(&u, &v), product(minus(&u, &v), w))
    });
    if half >= PARALLEL_LEN {
        rayon::join(|| recurse(low, twiddles), || recurse(high, twiddles));
    } else {
        recurse(low, twiddles);
        recurse(high, twiddles);
    }
}

/// Decimation in time (Cooley–Tukey): each half, then butterflies across the halves.
fn dit(values: &mut [Fr], twiddles: &[Fr]) {
    #[cfg(target_arch = "x86_64")]
    if crate::field::has_mulx() {
        // SAFETY: this CPU has BMI2, the one feature `dit_mulx` is compiled for.
        return unsafe { dit_mulx(values, twiddles) };
    }
    dit_portable(values, twiddles);
}

fn dit_portable(values: &mut [Fr], twiddles: &[Fr]) {
    dit_step(values, twiddles, dit_portable);
}

/// [`dit`] compiled for CPUs with BMI2 (see [`crate::field::has_mulx`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn dit_mulx(values: &mut [Fr], twiddles: &[Fr]) {
    dit_step(values, twiddles, |half, twiddles| dit_mulx(half, twiddles));
}

/// One level of [`dit`]; `recurse` transforms each half.
#[inline(always)]
fn dit_step(values: &mut [Fr], twiddles: &[Fr], recurse: impl Fn(&mut [Fr], &[Fr]) + Sync) {
    let half = values.len() / 2;
    if half == 0 {
        return;
    }
    let (low, high) = values.split_at_mut(half);
    if half >= PARALLEL_LEN {
        rayon::join(|| recurse(low, twiddles), || recurse(high, twiddles));
    } else {
        recurse(low, twiddles);
        recurse(high, twiddles);
    }
    butterflies(low, high, twiddles, |u, v, w| {
        let twisted = product(v, w);
        (plus(&u, &twisted), minus(&u, &twisted))
    });
}

/// `(uⱼ, vⱼ) ← butterfly(uⱼ, vⱼ, ωʲ)` across the halves `low` and `high`, where ω is the
/// table's root for their combined length; at j = 0 (ω⁰ = 1) both butterflies are
/// (u + v, u − v), without a product.
#[inline(always)]
fn butterflies(
    low: &mut [Fr],
    high: &mut [Fr],
    twiddles: &[Fr],
    butterfly: impl Fn(Fr, Fr, &Fr) -> (Fr, Fr),
) {
    let half = low.len();
    let (u, v) = (low[0], high[0]);
    (low[0], high[0]) = (plus(&u, &v), minus(&u, &v));
    for ((u, v), w) in low[1..]
        .iter_mut()
        .zip(&mut high[1..])
        .zip(&twiddles[half + 1..])
    {
        (*u, *v) = butterfly(*u, *v, w);
    }
}

#[cfg(test)]
mod tests {
    use ark_ff::{UniformRand, Zero};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use ark_std::rand::{SeedableRng, rngs::StdRng};
    use proptest::prelude::*;

    use super::*;

    fn random_values(len: usize, seed: u64) -> Vec<Fr> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..len).map(|_| Fr::rand(&mut rng)).collect()
    }

    fn bit_reversed(values: &[Fr]) -> Vec<Fr> {
        let bits = values.len().trailing_zeros();
        (0..values.len())
            .map(|k| match bits {
                0 => values[0],
                _ => values[k.reverse_bits() >> (usize::BITS - bits)],
            })
            .collect()
    }

    /// Every length up to the table's size, both orders and directions, against ark-poly.
    #[test]
    fn matches_ark_poly_in_both_orders_and_directions() {
        let fft = Radix2Fft::new(10).expect("below the two-adicity");
        for log_len in 0..=10 {
            let len = 1usize << log_len;
            let domain = Radix2EvaluationDomain::<Fr>::new(len).expect("domain");
            let values = random_values(len, log_len as u64);
            let evaluations = domain.fft(&values);
            let mut coefficients = domain.ifft(&values);
            // Unscaled, as ours: n times the coefficients.
            let n = Fr::from(len as u64);
            coefficients.iter_mut().for_each(|c| *c *= n);

            let mut dif_forward = values.clone();
            fft.dif(&mut dif_forward, Direction::Forward);
            assert_eq!(bit_reversed(&dif_forward), evaluations, "dif, {len}");
            let mut dit_forward = bit_reversed(&values);
            fft.dit(&mut dit_forward, Direction::Forward);
            assert_eq!(dit_forward, evaluations, "dit, {len}");
            let mut dif_inverse = values.clone();
            fft.dif(&mut dif_inverse, Direction::Inverse);
            assert_eq!(
                bit_reversed(&dif_inverse),
                coefficients,
                "inverse dif, {len}"
            );
            let mut dit_inverse = bit_reversed(&values);
            fft.dit(&mut dit_inverse, Direction::Inverse);
            assert_eq!(dit_inverse, coefficients, "inverse dit, {len}");
        }
    }

    #[test]
    fn parallel_halves_match_ark_poly() {
        let log_len = PARALLEL_LEN.trailing_zeros() + 2;
        let fft = Radix2Fft::new(log_len).expect("below the two-adicity");
        let domain = Radix2EvaluationDomain::<Fr>::new(fft.size()).expect("domain");
        let values = random_values(fft.size(), 7);
        let mut ours = values.clone();
        fft.dif(&mut ours, Direction::Forward);
        let natural: Vec<Fr> = (0..fft.size()).map(|k| ours[fft.bit_reverse(k)]).collect();
        assert_eq!(natural, domain.fft(&values));
        fft.dit(&mut ours, Direction::Inverse);
        fft.dif(&mut ours, Direction::Forward);
        fft.dit(&mut ours, Direction::Inverse);
        // Interpolated (×n), evaluated, interpolated again (×n): n² times the values.
        let n = Fr::from(fft.size() as u64);
        let n_squared = n * n;
        assert!(
            ours.iter()
                .zip(&values)
                .all(|(ours, value)| *ours == *value * n_squared)
        );
    }

    /// The portable copies give what the dispatched ones do (on a CPU with BMI2, the
    /// `mulx` copies), across the parallel threshold.
    #[test]
    fn portable_copies_match_the_dispatched_ones() {
        let fft = Radix2Fft::new(PARALLEL_LEN.trailing_zeros() + 1).expect("domain");
        let values = random_values(fft.size(), 11);
        let twiddles = fft.twiddles(fft.size(), Direction::Forward);
        let (mut dispatched, mut portable) = (values.clone(), values.clone());
        dif(&mut dispatched, twiddles);
        dif_portable(&mut portable, twiddles);
        assert_eq!(dispatched, portable, "dif");
        dit(&mut dispatched, twiddles);
        dit_portable(&mut portable, twiddles);
        assert_eq!(dispatched, portable, "dit");
    }

    #[test]
    fn beyond_the_two_adicity_there_is_no_domain() {
        assert!(Radix2Fft::new(Fr::TWO_ADICITY + 1).is_none());
        let fft = Radix2Fft::new(0).expect("one point");
        let mut one = vec![Fr::from(9u64)];
        fft.dif(&mut one, Direction::Inverse);
        fft.dit(&mut one, Direction::Forward);
        assert_eq!(one, vec![Fr::from(9u64)]);
        assert_eq!(fft.bit_reverse(0), 0);
    }

    proptest! {
        /// Interpolating and evaluating again gives n times the values, and the zero
        /// vector stays zero.
        #[test]
        fn inverse_after_forward_is_n_times_identity(seed in any::<u64>(), log_len in 0u32..9) {
            let fft = Radix2Fft::new(8).expect("below the two-adicity");
            let len = 1usize << log_len;
            let values = random_values(len, seed);
            let mut round_trip = values.clone();
            fft.dif(&mut round_trip, Direction::Forward);
            fft.dit(&mut round_trip, Direction::Inverse);
            let n = Fr::from(len as u64);
            prop_assert!(round_trip.iter().zip(&values).all(|(r, v)| *r == *v * n));
            let mut zeros = vec![Fr::zero(); len];
            fft.dif(&mut zeros, Direction::Inverse);
            prop_assert!(zeros.iter().all(Zero::is_zero));
        }
    }

    /// Generator 5 is arkworks' own choice, so it must rebuild arkworks' tables; 7 gives
    /// another primitive root of the same subgroup; a square (4) has no root of order 2^28.
    #[test]
    fn roots_from_a_generator() {
        let arkworks = Radix2Fft::new(15).expect("fits");
        let five = Radix2Fft::with_generator(15, Fr::from(5u64)).expect("5 is a non-residue");
        assert_eq!(five.forward, arkworks.forward);
        let seven = Radix2Fft::with_generator(15, Fr::from(7u64)).expect("7 is a non-residue");
        let omega = seven.forward[seven.size() / 2 + 1];
        assert_ne!(omega, arkworks.forward[arkworks.size() / 2 + 1]);
        assert_eq!(omega.pow([1u64 << 15]), Fr::one());
        assert_eq!(omega.pow([1u64 << 14]), -Fr::one());
        assert!(Radix2Fft::with_generator(15, Fr::from(4u64)).is_none());
    }
}
