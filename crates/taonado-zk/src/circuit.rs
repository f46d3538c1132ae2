//! The withdraw statement as a hand-written R1CS over BN254's scalar field.
//!
//! Public inputs, in order: `root, nullifierHash, recipient, relayer, fee, refund`.
//! Private: the nullifier and secret (as 248 bits each), the 20 path elements and the
//! 20 path index bits. The constraints follow Tornado's circom circuit, written directly
//! on linear combinations:
//! - MiMC rounds cost 3 constraints each (`b²`, `b⁴`, `b⁴·b` folded into the Feistel
//!   update). The last round of each node hash's second permutation only changes the
//!   capacity, which is not output, so it is left out.
//! - Pedersen uses circomlib's 4-bit windows over fixed bases: a lookup from constant
//!   Montgomery tables, a conditional negation and a Montgomery addition per window; the
//!   segment points are converted to Edwards form and added with the complete formula.
//!   The nullifier hash's windows are the commitment's first 62 windows, so they are
//!   computed once.

use std::sync::OnceLock;

use alloy_primitives::{Address, B256, U256};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bn254::{EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{Field, One, PrimeField, Zero};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};

use crate::{
    ZkError,
    field::{Fr, fr_from_b256, fr_from_u256},
    merkle::MerklePath,
    mimc::{MIMC_ROUNDS, TREE_LEVELS, mimc_constants},
    note::{NOTE_VALUE_BYTES, Note},
    pedersen::{
        CIRCOM_A, CIRCOM_D, CircomPoint, SEGMENT_BITS, WINDOW_BITS, WINDOWS_PER_SEGMENT, generators,
    },
};

/// Number of public inputs of the withdraw statement.
pub const PUBLIC_INPUTS: usize = 6;

/// Bits of the nullifier and of the secret.
const VALUE_BITS: usize = 8 * NOTE_VALUE_BYTES;

/// Pedersen segments the 496-bit commitment preimage spans.
const CIRCUIT_SEGMENTS: usize = (2 * VALUE_BITS).div_ceil(SEGMENT_BITS);

/// Montgomery `A` of circomlib's curve (`B` = 1).
const MONTGOMERY_A: u64 = 168_698;

/// The public inputs of a withdrawal, as field elements, in the verifier's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WithdrawPublicInputs {
    /// A root the pool knows (`isKnownRoot`).
    pub root: Fr,
    /// The note's nullifier hash.
    pub nullifier_hash: Fr,
    /// Who receives `denomination - fee`.
    pub recipient: Fr,
    /// Who receives the fee.
    pub relayer: Fr,
    /// Relayer fee in token wei.
    pub fee: Fr,
    /// Native refund in wei.
    pub refund: Fr,
}

impl WithdrawPublicInputs {
    /// From the values passed to `withdraw(...)` on chain.
    pub fn from_evm(
        root: B256,
        nullifier_hash: B256,
        recipient: Address,
        relayer: Address,
        fee: U256,
        refund: U256,
    ) -> Result<Self, ZkError> {
        Ok(Self {
            root: fr_from_b256(root)?,
            nullifier_hash: fr_from_b256(nullifier_hash)?,
            recipient: address_to_fr(recipient),
            relayer: address_to_fr(relayer),
            fee: fr_from_u256(fee)?,
            refund: fr_from_u256(refund)?,
        })
    }

    /// The inputs in the verifier's order.
    pub fn to_array(&self) -> [Fr; PUBLIC_INPUTS] {
        [
            self.root,
            self.nullifier_hash,
            self.recipient,
            self.relayer,
            self.fee,
            self.refund,
        ]
    }
}

/// An address as the verifier's `uint256` input.
pub fn address_to_fr(address: Address) -> Fr {
    // 160 bits are always below the modulus, so nothing is reduced.
    Fr::from_be_bytes_mod_order(address.as_slice())
}

/// The private inputs of a withdrawal.
#[derive(Clone, PartialEq, Eq)]
pub struct WithdrawWitness {
    /// The note's nullifier, 31 little-endian bytes.
    pub nullifier: [u8; NOTE_VALUE_BYTES],
    /// The note's secret, 31 little-endian bytes.
    pub secret: [u8; NOTE_VALUE_BYTES],
    /// The commitment's path to the root.
    pub path: MerklePath,
}

impl WithdrawWitness {
    /// The witness for `note` at the position `path` describes.
    pub fn new(note: &Note, path: MerklePath) -> Self {
        Self {
            nullifier: *note.nullifier_bytes(),
            secret: *note.secret_bytes(),
            path,
        }
    }
}

// The nullifier and secret spend the deposit: never in logs.
impl std::fmt::Debug for WithdrawWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithdrawWitness")
            .field("leaf_index", &self.path.leaf_index())
            .finish_non_exhaustive()
    }
}

/// The withdraw statement with its assignment.
#[derive(Debug, Clone)]
pub struct WithdrawCircuit {
    public: WithdrawPublicInputs,
    witness: WithdrawWitness,
}

impl WithdrawCircuit {
    /// A circuit to prove `public` with `witness`.
    pub fn new(public: WithdrawPublicInputs, witness: WithdrawWitness) -> Self {
        Self { public, witness }
    }

    /// The circuit with an all-zero assignment, for key generation and shape checks.
    pub fn blank() -> Self {
        Self {
            public: WithdrawPublicInputs::default(),
            witness: WithdrawWitness {
                nullifier: [0; NOTE_VALUE_BYTES],
                secret: [0; NOTE_VALUE_BYTES],
                path: MerklePath {
                    elements: [Fr::zero(); TREE_LEVELS],
                    indices: [false; TREE_LEVELS],
                },
            },
        }
    }

    /// The public inputs this circuit proves.
    pub fn public_inputs(&self) -> &WithdrawPublicInputs {
        &self.public
    }
}

impl ConstraintSynthesizer<Fr> for WithdrawCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let b = Builder { cs };
        let public = self.public;
        let root = b.input(public.root)?;
        let nullifier_hash = b.input(public.nullifier_hash)?;
        let bound = [
            b.input(public.recipient)?,
            b.input(public.relayer)?,
            b.input(public.fee)?,
            b.input(public.refund)?,
        ];

        let mut bits = Vec::with_capacity(2 * VALUE_BITS);
        for bytes in [&self.witness.nullifier, &self.witness.secret] {
            for byte in bytes.iter() {
                for bit in 0..8 {
                    bits.push(b.boolean((byte >> bit) & 1 == 1)?);
                }
            }
        }
        let (commitment, _) = b.note_hashes(&bits, &nullifier_hash)?;
        b.merkle_root_check(commitment, &self.witness.path, &root)?;

        // Squares bind the otherwise unused inputs, so a proof cannot be replayed with
        // another recipient, relayer, fee or refund.
        for input in &bound {
            b.product(input, input)?;
        }
        Ok(())
    }
}

/// A linear combination together with its value under the current assignment.
#[derive(Clone)]
struct Num {
    lc: LinearCombination<Fr>,
    value: Fr,
}

impl Num {
    fn constant(value: Fr) -> Self {
        Self {
            lc: LinearCombination::from((value, Variable::One)),
            value,
        }
    }

    fn zero() -> Self {
        Self {
            lc: LinearCombination::zero(),
            value: Fr::zero(),
        }
    }

    fn plus(&self, other: &Num) -> Num {
        Num {
            lc: &self.lc + &other.lc,
            value: self.value + other.value,
        }
    }

    fn minus(&self, other: &Num) -> Num {
        Num {
            lc: self.lc.clone() - &other.lc,
            value: self.value - other.value,
        }
    }

    fn plus_constant(&self, constant: Fr) -> Num {
        Num {
            lc: self.lc.clone() + (constant, Variable::One),
            value: self.value + constant,
        }
    }

    fn times_constant(&self, constant: Fr) -> Num {
        Num {
            lc: self.lc.clone() * constant,
            value: self.value * constant,
        }
    }
}

/// A point on circomlib's Montgomery form `v² = u³ + A·u² + u`.
#[derive(Clone)]
struct MontgomeryNum {
    u: Num,
    v: Num,
}

/// A point in circomlib's twisted Edwards coordinates.
#[derive(Clone)]
struct EdwardsNum {
    x: Num,
    y: Num,
}

/// Division for witness values; a zero divisor gives zero, which then fails its constraint.
fn divide(numerator: Fr, denominator: Fr) -> Fr {
    numerator * denominator.inverse().unwrap_or_default()
}

struct Builder {
    cs: ConstraintSystemRef<Fr>,
}

impl Builder {
    fn witness(&self, value: Fr) -> Result<Num, SynthesisError> {
        let variable = self.cs.new_witness_variable(|| Ok(value))?;
        Ok(Num {
            lc: variable.into(),
            value,
        })
    }

    fn input(&self, value: Fr) -> Result<Num, SynthesisError> {
        let variable = self.cs.new_input_variable(|| Ok(value))?;
        Ok(Num {
            lc: variable.into(),
            value,
        })
    }

    /// `a · b = c`.
    fn enforce(
        &self,
        a: &LinearCombination<Fr>,
        b: &LinearCombination<Fr>,
        c: &LinearCombination<Fr>,
    ) -> Result<(), SynthesisError> {
        self.cs
            .enforce_r1cs_constraint(|| a.clone(), || b.clone(), || c.clone())
    }

    fn product(&self, a: &Num, b: &Num) -> Result<Num, SynthesisError> {
        let out = self.witness(a.value * b.value)?;
        self.enforce(&a.lc, &b.lc, &out.lc)?;
        Ok(out)
    }

    fn boolean(&self, bit: bool) -> Result<Num, SynthesisError> {
        let out = self.witness(Fr::from(bit))?;
        let one_minus = Num::constant(Fr::one()).minus(&out);
        self.enforce(&out.lc, &one_minus.lc, &LinearCombination::zero())?;
        Ok(out)
    }

    /// circomlib's MiMC Feistel permutation (key 0), limited to its first `rounds` rounds.
    fn mimc_permutation(
        &self,
        mut xl: Num,
        mut xr: Num,
        rounds: usize,
    ) -> Result<(Num, Num), SynthesisError> {
        for (round, constant) in mimc_constants().iter().enumerate().take(rounds) {
            let base = xl.plus_constant(*constant);
            let base2 = self.product(&base, &base)?;
            let base4 = self.product(&base2, &base2)?;
            let updated = self.witness(xr.value + base4.value * base.value)?;
            self.enforce(&base4.lc, &base.lc, &updated.minus(&xr).lc)?;
            if round < MIMC_ROUNDS - 1 {
                (xl, xr) = (updated, xl);
            } else {
                xr = updated;
            }
        }
        Ok((xl, xr))
    }

    /// Tornado's `HashLeftRight`. The second permutation's last round only changes the
    /// capacity, which is discarded, so it is not constrained.
    fn hash_left_right(&self, left: Num, right: &Num) -> Result<Num, SynthesisError> {
        let (r, c) = self.mimc_permutation(left, Num::zero(), MIMC_ROUNDS)?;
        let (out, _) = self.mimc_permutation(r.plus(right), c, MIMC_ROUNDS - 1)?;
        Ok(out)
    }

    fn merkle_root_check(
        &self,
        leaf: Num,
        path: &MerklePath,
        root: &Num,
    ) -> Result<(), SynthesisError> {
        let mut node = leaf;
        for (sibling, is_right) in path.elements.iter().zip(path.indices) {
            let sibling = self.witness(*sibling)?;
            let selector = self.boolean(is_right)?;
            // swap = s·(sibling − node): left = node + swap, right = sibling − swap.
            let difference = sibling.minus(&node);
            let swap = self.product(&selector, &difference)?;
            let left = node.plus(&swap);
            let right = sibling.minus(&swap);
            node = self.hash_left_right(left, &right)?;
        }
        self.enforce(&node.lc, &Num::constant(Fr::one()).lc, &root.lc)
    }

    /// Enforces `nullifierHash = Pedersen(nullifier bits).x` and returns the commitment
    /// `Pedersen(nullifier bits ‖ secret bits).x` (and the nullifier hash value).
    fn note_hashes(
        &self,
        bits: &[Num],
        nullifier_hash: &Num,
    ) -> Result<(Num, Num), SynthesisError> {
        let tables = window_tables();
        let nullifier_windows = VALUE_BITS / WINDOW_BITS - WINDOWS_PER_SEGMENT;
        let segment0 = self.windows(&tables[0], 0, &bits[..SEGMENT_BITS], None)?;
        let nullifier_tail = self.windows(&tables[1], 0, &bits[SEGMENT_BITS..VALUE_BITS], None)?;
        let segment1 = self.windows(
            &tables[1],
            nullifier_windows,
            &bits[VALUE_BITS..2 * SEGMENT_BITS],
            Some(nullifier_tail.clone()),
        )?;
        let segment2 = self.windows(&tables[2], 0, &bits[2 * SEGMENT_BITS..], None)?;

        let segment0 = self.to_edwards(&segment0)?;
        let nullifier_hash = self.edwards_add_x(
            &segment0,
            &self.to_edwards(&nullifier_tail)?,
            Some(nullifier_hash),
        )?;
        let first_two = self.edwards_add(&segment0, &self.to_edwards(&segment1)?)?;
        let commitment = self.edwards_add_x(&first_two, &self.to_edwards(&segment2)?, None)?;
        Ok((commitment, nullifier_hash))
    }

    /// Adds the windows of `bits` (starting at window `first_window` of the segment) to
    /// `accumulator` in Montgomery form.
    fn windows(
        &self,
        table: &SegmentTable,
        first_window: usize,
        bits: &[Num],
        mut accumulator: Option<MontgomeryNum>,
    ) -> Result<MontgomeryNum, SynthesisError> {
        for (offset, window_bits) in bits.chunks(WINDOW_BITS).enumerate() {
            let zero = Num::zero();
            let bit = |i: usize| window_bits.get(i).unwrap_or(&zero);
            let point = self.window_lookup(
                &table[first_window + offset],
                [bit(0), bit(1), bit(2), bit(3)],
            )?;
            accumulator = Some(match accumulator {
                None => point,
                Some(sum) => self.montgomery_add(&sum, &point)?,
            });
        }
        // Every caller passes at least one window.
        accumulator.ok_or(SynthesisError::Unsatisfiable)
    }

    /// `±table[b0 + 2·b1 + 4·b2]`, negated when b3 is set.
    fn window_lookup(
        &self,
        table: &[(Fr, Fr); 8],
        bits: [&Num; 4],
    ) -> Result<MontgomeryNum, SynthesisError> {
        let [b0, b1, b2, b3] = bits;
        let b01 = self.product(b0, b1)?;
        let select = |coordinate: usize| -> Result<Num, SynthesisError> {
            let t: [Fr; 8] = std::array::from_fn(|i| {
                if coordinate == 0 {
                    table[i].0
                } else {
                    table[i].1
                }
            });
            let half = |t: &[Fr]| {
                Num::constant(t[0])
                    .plus(&b0.times_constant(t[1] - t[0]))
                    .plus(&b1.times_constant(t[2] - t[0]))
                    .plus(&b01.times_constant(t[3] - t[2] - t[1] + t[0]))
            };
            let (low, high) = (half(&t[..4]), half(&t[4..]));
            let out = self.witness(low.value + b2.value * (high.value - low.value))?;
            self.enforce(&b2.lc, &high.minus(&low).lc, &out.minus(&low).lc)?;
            Ok(out)
        };
        let u = select(0)?;
        let v_unsigned = select(1)?;
        let sign = Num::constant(Fr::one()).minus(&b3.times_constant(Fr::from(2u64)));
        let v = self.product(&v_unsigned, &sign)?;
        Ok(MontgomeryNum { u, v })
    }

    /// Montgomery addition; the window structure guarantees distinct, non-opposite inputs.
    fn montgomery_add(
        &self,
        p1: &MontgomeryNum,
        p2: &MontgomeryNum,
    ) -> Result<MontgomeryNum, SynthesisError> {
        let du = p2.u.minus(&p1.u);
        let dv = p2.v.minus(&p1.v);
        let lambda = self.witness(divide(dv.value, du.value))?;
        self.enforce(&lambda.lc, &du.lc, &dv.lc)?;
        let a = Fr::from(MONTGOMERY_A);
        let u = self.witness(lambda.value.square() - a - p1.u.value - p2.u.value)?;
        self.enforce(
            &lambda.lc,
            &lambda.lc,
            &u.plus(&p1.u).plus(&p2.u).plus_constant(a).lc,
        )?;
        let u1_minus_u = p1.u.minus(&u);
        let v = self.witness(lambda.value * u1_minus_u.value - p1.v.value)?;
        self.enforce(&lambda.lc, &u1_minus_u.lc, &v.plus(&p1.v).lc)?;
        Ok(MontgomeryNum { u, v })
    }

    /// circomlib's `Montgomery2Edwards`: `x = u/v`, `y = (u−1)/(u+1)`.
    fn to_edwards(&self, point: &MontgomeryNum) -> Result<EdwardsNum, SynthesisError> {
        let x = self.witness(divide(point.u.value, point.v.value))?;
        self.enforce(&x.lc, &point.v.lc, &point.u.lc)?;
        let u_plus = point.u.plus_constant(Fr::one());
        let u_minus = point.u.plus_constant(-Fr::one());
        let y = self.witness(divide(u_minus.value, u_plus.value))?;
        self.enforce(&y.lc, &u_plus.lc, &u_minus.lc)?;
        Ok(EdwardsNum { x, y })
    }

    /// Complete twisted Edwards addition (circomlib's `BabyAdd`).
    fn edwards_add(&self, p1: &EdwardsNum, p2: &EdwardsNum) -> Result<EdwardsNum, SynthesisError> {
        let (x, parts) = self.edwards_add_parts(p1, p2, None)?;
        let a = Fr::from(CIRCOM_A);
        let d = Fr::from(CIRCOM_D);
        let numerator = parts
            .delta
            .plus(&parts.beta.times_constant(a))
            .minus(&parts.gamma);
        let denominator = Num::constant(Fr::one()).minus(&parts.tau.times_constant(d));
        let y = self.witness(divide(numerator.value, denominator.value))?;
        self.enforce(&y.lc, &denominator.lc, &numerator.lc)?;
        Ok(EdwardsNum { x, y })
    }

    /// The x coordinate of `p1 + p2`, constrained to equal `out` when given.
    fn edwards_add_x(
        &self,
        p1: &EdwardsNum,
        p2: &EdwardsNum,
        out: Option<&Num>,
    ) -> Result<Num, SynthesisError> {
        Ok(self.edwards_add_parts(p1, p2, out)?.0)
    }

    fn edwards_add_parts(
        &self,
        p1: &EdwardsNum,
        p2: &EdwardsNum,
        out: Option<&Num>,
    ) -> Result<(Num, EdwardsParts), SynthesisError> {
        let a = Fr::from(CIRCOM_A);
        let d = Fr::from(CIRCOM_D);
        let beta = self.product(&p1.x, &p2.y)?;
        let gamma = self.product(&p1.y, &p2.x)?;
        let delta = self.product(&p1.y.minus(&p1.x.times_constant(a)), &p2.x.plus(&p2.y))?;
        let tau = self.product(&beta, &gamma)?;
        let numerator = beta.plus(&gamma);
        let denominator = tau.times_constant(d).plus_constant(Fr::one());
        let x = match out {
            Some(out) => out.clone(),
            None => self.witness(divide(numerator.value, denominator.value))?,
        };
        self.enforce(&x.lc, &denominator.lc, &numerator.lc)?;
        Ok((
            x,
            EdwardsParts {
                beta,
                gamma,
                delta,
                tau,
            },
        ))
    }
}

struct EdwardsParts {
    beta: Num,
    gamma: Num,
    delta: Num,
    tau: Num,
}

/// For each window of a segment: `k · 32^j · Base` for k = 1..8, in Montgomery form.
type SegmentTable = [[(Fr, Fr); 8]; WINDOWS_PER_SEGMENT];

fn window_tables() -> &'static [SegmentTable; CIRCUIT_SEGMENTS] {
    static TABLES: OnceLock<[SegmentTable; CIRCUIT_SEGMENTS]> = OnceLock::new();
    TABLES.get_or_init(|| std::array::from_fn(segment_table))
}

fn segment_table(segment: usize) -> SegmentTable {
    let mut window_base: EdwardsProjective = generators()[segment].into_group();
    let mut table = [[(Fr::zero(), Fr::zero()); 8]; WINDOWS_PER_SEGMENT];
    for window in table.iter_mut() {
        let mut multiple = window_base;
        for entry in window.iter_mut() {
            *entry = to_montgomery(CircomPoint::from_ark(multiple.into_affine()));
            multiple += window_base;
        }
        window_base *= JubjubScalar::from(32u64);
    }
    table
}

/// circomlib's `Edwards2Montgomery`: `u = (1+y)/(1−y)`, `v = u/x`.
fn to_montgomery(point: CircomPoint) -> (Fr, Fr) {
    let u = divide(Fr::one() + point.y, Fr::one() - point.y);
    (u, divide(u, point.x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montgomery_tables_match_native_multiples() {
        let table = &window_tables()[1];
        let base = CircomPoint::from_ark(
            (generators()[1].into_group() * JubjubScalar::from(32u64 * 32 * 3)).into_affine(),
        );
        assert_eq!(table[2][2], to_montgomery(base));
        // Montgomery form satisfies v² = u³ + A·u² + u.
        let (u, v) = table[7][5];
        assert_eq!(v.square(), u * u * u + Fr::from(MONTGOMERY_A) * u * u + u);
    }
}
