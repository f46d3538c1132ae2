//! The witness of Tornado's withdraw circuit, computed template by template.
//!
//! Tornado's `withdraw.json` (circom 0.0.x) carries its templates as JavaScript; snarkjs
//! 0.1 evaluates them with `eval`. Here each template used by the circuit (`Withdraw`,
//! `CommitmentHasher`, `Num2Bits`, `Pedersen`, `Segment`, `Window4`, `MultiMux3`,
//! `MontgomeryAdd`/`Double`, `Edwards2Montgomery`, `Montgomery2Edwards`, `BabyAdd`,
//! `MerkleTreeChecker`, `DualMux`, `HashLeftRight`, `MiMCSponge`, `MiMCFeistel`) is
//! written out in Rust, and every signal it sets is emitted under circom's full name
//! (`main.tree.hashers[3].hasher.S[1].xL[17]`), input pins included.
//!
//! The emission order does not depend on the values, so a run in naming mode
//! ([`SignalLayout`]) gives each emitted value a name once; the import maps those names
//! to the JSON's signal indices ([`super::circom`]) and proving only gathers values.
//! Several names of one signal (circom's aliases) are all emitted, which lets the tests
//! check that they agree.
//!
//! The windows' bases do not depend on the input: the base of window w is 32^w times the
//! segment's generator, and its 1..8 multiples, doublings and the lambdas of those
//! additions are circuit constants. [`PedersenTables`] computes them once per prover.

use std::fmt;

use ark_ff::{AdditiveGroup, Field, One, PrimeField, Zero};

use crate::{
    ZkError,
    circuit::{WithdrawPublicInputs, WithdrawWitness},
    field::Fr,
    mimc::{MIMC_ROUNDS, TREE_LEVELS, mimc_constants},
    note::NOTE_VALUE_BYTES,
    pedersen::{CIRCOM_A, CIRCOM_D, CircomPoint, SEGMENT_BITS, WINDOW_BITS, generators},
};

/// Bits of the nullifier and of the secret (`Num2Bits(248)`).
const VALUE_BITS: usize = 8 * NOTE_VALUE_BYTES;

/// Windows of a full 200-bit Pedersen segment.
const FULL_SEGMENT_WINDOWS: usize = SEGMENT_BITS / WINDOW_BITS;

/// Segments of the 496-bit commitment preimage.
const COMMITMENT_SEGMENTS: usize = (2 * VALUE_BITS).div_ceil(SEGMENT_BITS);

/// The values a run emits, in emission order, and in naming mode their full names.
#[derive(Debug, Clone)]
pub(crate) struct Signals {
    values: Vec<Fr>,
    names: Option<Vec<String>>,
}

/// A component's full name (`main.hasher.nullifierBits`); empty outside naming mode, so
/// proving formats nothing.
#[derive(Debug, Clone)]
struct Scope(Option<String>);

impl Scope {
    fn child(&self, name: fmt::Arguments<'_>) -> Self {
        Self(self.0.as_ref().map(|path| format!("{path}.{name}")))
    }
}

impl Signals {
    fn new(named: bool) -> Self {
        Self {
            // About 56,000 signals are emitted.
            values: Vec::with_capacity(60_000),
            names: named.then(|| Vec::with_capacity(60_000)),
        }
    }

    fn set(&mut self, scope: &Scope, name: fmt::Arguments<'_>, value: Fr) {
        if let (Some(names), Some(path)) = (self.names.as_mut(), scope.0.as_ref()) {
            names.push(format!("{path}.{name}"));
        }
        self.values.push(value);
    }

    fn set_pair(&mut self, scope: &Scope, name: &str, value: MontgomeryPoint) {
        self.set(scope, format_args!("{name}[0]"), value.x);
        self.set(scope, format_args!("{name}[1]"), value.y);
    }

    /// The emitted values, in emission order.
    pub(crate) fn values(&self) -> &[Fr] {
        &self.values
    }
}

/// The names of every value a run emits, in emission order: the circuit's layout as this
/// generator sees it.
#[derive(Debug, Clone)]
pub(crate) struct SignalLayout {
    pub(crate) names: Vec<String>,
    pub(crate) values: Vec<Fr>,
}

/// A point on circomlib's Montgomery form of Baby Jubjub (`B·y² = x³ + A·x² + x`, B = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MontgomeryPoint {
    x: Fr,
    y: Fr,
}

/// `MontgomeryAdd`'s signals.
#[derive(Debug, Clone, Copy)]
struct MontgomerySum {
    lamda: Fr,
    out: MontgomeryPoint,
}

/// `MontgomeryDouble`'s signals.
#[derive(Debug, Clone, Copy)]
struct MontgomeryDoubling {
    x1_2: Fr,
    lamda: Fr,
    out: MontgomeryPoint,
}

/// circomlib's `A = 2(a + d)/(a − d)` = 168698 and `B = 4/(a − d)` = 1.
fn montgomery_a() -> Fr {
    Fr::from(2 * (CIRCOM_A + CIRCOM_D)) / Fr::from(CIRCOM_A - CIRCOM_D)
}

fn divide(numerator: Fr, denominator: Fr, what: &str) -> Result<Fr, ZkError> {
    denominator
        .inverse()
        .map(|inverse| numerator * inverse)
        .ok_or_else(|| ZkError::Unsatisfied {
            constraint: format!("{what}: division by zero while computing the witness"),
        })
}

fn montgomery_add(
    in1: MontgomeryPoint,
    in2: MontgomeryPoint,
    a: Fr,
) -> Result<MontgomerySum, ZkError> {
    let lamda = divide(in2.y - in1.y, in2.x - in1.x, "MontgomeryAdd")?;
    let x = lamda * lamda - a - in1.x - in2.x;
    let y = lamda * (in1.x - x) - in1.y;
    Ok(MontgomerySum {
        lamda,
        out: MontgomeryPoint { x, y },
    })
}

fn montgomery_double(point: MontgomeryPoint, a: Fr) -> Result<MontgomeryDoubling, ZkError> {
    let x1_2 = point.x * point.x;
    let three = Fr::from(3u64);
    let lamda = divide(
        three * x1_2 + a.double() * point.x + Fr::one(),
        point.y.double(),
        "MontgomeryDouble",
    )?;
    let x = lamda * lamda - a - point.x.double();
    let y = lamda * (point.x - x) - point.y;
    Ok(MontgomeryDoubling {
        x1_2,
        lamda,
        out: MontgomeryPoint { x, y },
    })
}

/// `Edwards2Montgomery`: `((1 + y)/(1 − y), u/x)`.
fn edwards_to_montgomery(point: CircomPoint) -> Result<MontgomeryPoint, ZkError> {
    let x = divide(
        Fr::one() + point.y,
        Fr::one() - point.y,
        "Edwards2Montgomery",
    )?;
    let y = divide(x, point.x, "Edwards2Montgomery")?;
    Ok(MontgomeryPoint { x, y })
}

/// `Montgomery2Edwards`: `(u/v, (u − 1)/(u + 1))`.
fn montgomery_to_edwards(point: MontgomeryPoint) -> Result<CircomPoint, ZkError> {
    Ok(CircomPoint {
        x: divide(point.x, point.y, "Montgomery2Edwards")?,
        y: divide(
            point.x - Fr::one(),
            point.x + Fr::one(),
            "Montgomery2Edwards",
        )?,
    })
}

/// The constant part of one `Window4`: its base, the doubling and the six additions
/// that make the base's multiples 1..8 (`mux.c`).
#[derive(Debug, Clone)]
struct WindowTable {
    base: MontgomeryPoint,
    dbl2: MontgomeryDoubling,
    /// `adr3` … `adr8`: `base + (k − 1)·base` for k = 3..8.
    adders: [MontgomerySum; 6],
}

impl WindowTable {
    /// `k·base` for k = 1..8, as `mux.c[·][k − 1]`.
    fn multiple(&self, k: usize) -> MontgomeryPoint {
        match k {
            1 => self.base,
            2 => self.dbl2.out,
            _ => self.adders[k - 3].out,
        }
    }

    fn out8(&self) -> MontgomeryPoint {
        self.adders[5].out
    }
}

/// The constant parts of one `Segment` over one generator, for up to 50 windows.
#[derive(Debug, Clone)]
struct SegmentTable {
    /// The generator, circomlib coordinates (`Segment.base`).
    generator: CircomPoint,
    /// `e2m.out`.
    generator_montgomery: MontgomeryPoint,
    windows: Vec<WindowTable>,
    /// `doublers1[w]` and `doublers2[w]`: from window w's `out8` to window w + 1's base.
    doublers: Vec<(MontgomeryDoubling, MontgomeryDoubling)>,
}

/// The Pedersen hash's constants for the commitment's three generators.
#[derive(Debug, Clone)]
pub(crate) struct PedersenTables {
    segments: Vec<SegmentTable>,
    montgomery_a: Fr,
}

impl PedersenTables {
    /// Computes the tables of the first three circomlib Pedersen generators (the
    /// `BASE` constants of Tornado's `Pedersen` template).
    pub(crate) fn new() -> Result<Self, ZkError> {
        let a = montgomery_a();
        let mut segments = Vec::with_capacity(COMMITMENT_SEGMENTS);
        for generator in generators().iter().take(COMMITMENT_SEGMENTS) {
            let generator = CircomPoint::from_ark(*generator);
            let generator_montgomery = edwards_to_montgomery(generator)?;
            let mut windows = Vec::with_capacity(FULL_SEGMENT_WINDOWS);
            let mut doublers = Vec::with_capacity(FULL_SEGMENT_WINDOWS - 1);
            let mut base = generator_montgomery;
            for window in 0..FULL_SEGMENT_WINDOWS {
                let dbl2 = montgomery_double(base, a)?;
                let mut previous = dbl2.out;
                let mut adders = [MontgomerySum {
                    lamda: Fr::zero(),
                    out: base,
                }; 6];
                for adder in &mut adders {
                    *adder = montgomery_add(base, previous, a)?;
                    previous = adder.out;
                }
                let table = WindowTable { base, dbl2, adders };
                if window + 1 < FULL_SEGMENT_WINDOWS {
                    let first = montgomery_double(table.out8(), a)?;
                    let second = montgomery_double(first.out, a)?;
                    base = second.out;
                    doublers.push((first, second));
                }
                windows.push(table);
            }
            segments.push(SegmentTable {
                generator,
                generator_montgomery,
                windows,
                doublers,
            });
        }
        Ok(Self {
            segments,
            montgomery_a: a,
        })
    }
}

/// Computes the witness of a withdrawal. With `named`, every value also gets its name.
pub(crate) fn generate(
    tables: &PedersenTables,
    public: &WithdrawPublicInputs,
    witness: &WithdrawWitness,
    named: bool,
) -> Result<Signals, ZkError> {
    let mut signals = Signals::new(named);
    if let Some(names) = signals.names.as_mut() {
        names.push("one".to_owned());
    }
    signals.values.push(Fr::one());
    let main = Scope(named.then(|| "main".to_owned()));
    withdraw(&mut signals, &main, tables, public, witness)?;
    Ok(signals)
}

/// The names of every emitted value, from a run on `public` and `witness` (any values:
/// the layout does not depend on them).
pub(crate) fn layout(
    tables: &PedersenTables,
    public: &WithdrawPublicInputs,
    witness: &WithdrawWitness,
) -> Result<SignalLayout, ZkError> {
    let signals = generate(tables, public, witness, true)?;
    Ok(SignalLayout {
        names: signals.names.unwrap_or_default(),
        values: signals.values,
    })
}

/// `Withdraw(20)`.
fn withdraw(
    signals: &mut Signals,
    scope: &Scope,
    tables: &PedersenTables,
    public: &WithdrawPublicInputs,
    witness: &WithdrawWitness,
) -> Result<(), ZkError> {
    let nullifier = Fr::from_le_bytes_mod_order(&witness.nullifier);
    let secret = Fr::from_le_bytes_mod_order(&witness.secret);
    let path_indices = witness.path.indices.map(|bit| Fr::from(u64::from(bit)));
    for (name, value) in [
        ("root", public.root),
        ("nullifierHash", public.nullifier_hash),
        ("recipient", public.recipient),
        ("relayer", public.relayer),
        ("fee", public.fee),
        ("refund", public.refund),
        ("nullifier", nullifier),
        ("secret", secret),
    ] {
        signals.set(scope, format_args!("{name}"), value);
    }
    for (level, element) in witness.path.elements.iter().enumerate() {
        signals.set(scope, format_args!("pathElements[{level}]"), *element);
    }
    for (level, index) in path_indices.iter().enumerate() {
        signals.set(scope, format_args!("pathIndices[{level}]"), *index);
    }
    let (commitment, nullifier_hash) = commitment_hasher(
        signals,
        &scope.child(format_args!("hasher")),
        tables,
        nullifier,
        secret,
    )?;
    // The template asserts both; failing early names the cause.
    if nullifier_hash != public.nullifier_hash {
        return Err(ZkError::Unsatisfied {
            constraint: "main.hasher.nullifierHash: the note's nullifier hash is not the public nullifierHash".to_owned(),
        });
    }
    let root = merkle_tree_checker(
        signals,
        &scope.child(format_args!("tree")),
        commitment,
        public.root,
        &witness.path.elements,
        &path_indices,
    )?;
    if root != public.root {
        return Err(ZkError::Unsatisfied {
            constraint:
                "main.tree.root: the Merkle path from the note's commitment leads to another root"
                    .to_owned(),
        });
    }
    // Tornado squares the unconstrained public inputs so they are bound to the proof.
    for (name, value) in [
        ("recipientSquare", public.recipient),
        ("feeSquare", public.fee),
        ("relayerSquare", public.relayer),
        ("refundSquare", public.refund),
    ] {
        signals.set(scope, format_args!("{name}"), value.square());
    }
    Ok(())
}

/// `CommitmentHasher()`: returns (commitment, nullifierHash).
fn commitment_hasher(
    signals: &mut Signals,
    scope: &Scope,
    tables: &PedersenTables,
    nullifier: Fr,
    secret: Fr,
) -> Result<(Fr, Fr), ZkError> {
    signals.set(scope, format_args!("nullifier"), nullifier);
    signals.set(scope, format_args!("secret"), secret);
    let nullifier_bits = num2bits(
        signals,
        &scope.child(format_args!("nullifierBits")),
        nullifier,
    );
    let secret_bits = num2bits(signals, &scope.child(format_args!("secretBits")), secret);
    let mut preimage = nullifier_bits.clone();
    preimage.extend_from_slice(&secret_bits);
    let commitment = pedersen(
        signals,
        &scope.child(format_args!("commitmentHasher")),
        tables,
        &preimage,
    )?;
    let nullifier_hash = pedersen(
        signals,
        &scope.child(format_args!("nullifierHasher")),
        tables,
        &nullifier_bits,
    )?;
    signals.set(scope, format_args!("commitment"), commitment.x);
    signals.set(scope, format_args!("nullifierHash"), nullifier_hash.x);
    Ok((commitment.x, nullifier_hash.x))
}

/// `Num2Bits(248)`: the low 248 bits, least significant first (the value has no more).
fn num2bits(signals: &mut Signals, scope: &Scope, value: Fr) -> Vec<bool> {
    use ark_ff::BigInteger;
    signals.set(scope, format_args!("in"), value);
    let bits = value.into_bigint().to_bits_le();
    let bits: Vec<bool> = (0..VALUE_BITS)
        .map(|i| bits.get(i).copied().unwrap_or(false))
        .collect();
    for (i, bit) in bits.iter().enumerate() {
        signals.set(scope, format_args!("out[{i}]"), Fr::from(u64::from(*bit)));
    }
    bits
}

fn bit(value: bool) -> Fr {
    Fr::from(u64::from(value))
}

/// `Pedersen(n)`: segments of 200 bits, each over its own generator, summed with
/// `BabyAdd`.
fn pedersen(
    signals: &mut Signals,
    scope: &Scope,
    tables: &PedersenTables,
    bits: &[bool],
) -> Result<CircomPoint, ZkError> {
    for (i, b) in bits.iter().enumerate() {
        signals.set(scope, format_args!("in[{i}]"), bit(*b));
    }
    let mut outputs = Vec::with_capacity(COMMITMENT_SEGMENTS);
    for (index, chunk) in bits.chunks(SEGMENT_BITS).enumerate() {
        let table = tables
            .segments
            .get(index)
            .ok_or_else(|| ZkError::PedersenMessageTooLong {
                bits: bits.len(),
                max_bits: tables.segments.len() * SEGMENT_BITS,
            })?;
        outputs.push(segment(
            signals,
            &scope.child(format_args!("segments[{index}]")),
            tables.montgomery_a,
            table,
            chunk,
        )?);
    }
    let Some((first, rest)) = outputs.split_first() else {
        return Err(ZkError::Unsatisfied {
            constraint: "Pedersen: a hash of no bits".to_owned(),
        });
    };
    let mut sum = *first;
    for (index, addend) in rest.iter().enumerate() {
        sum = baby_add(
            signals,
            &scope.child(format_args!("adders[{index}]")),
            sum,
            *addend,
        )?;
    }
    signals.set(scope, format_args!("out[0]"), sum.x);
    signals.set(scope, format_args!("out[1]"), sum.y);
    Ok(sum)
}

/// `BabyAdd()`: the twisted Edwards sum with circomlib's a = 168700, d = 168696.
fn baby_add(
    signals: &mut Signals,
    scope: &Scope,
    p1: CircomPoint,
    p2: CircomPoint,
) -> Result<CircomPoint, ZkError> {
    let (a, d) = (Fr::from(CIRCOM_A), Fr::from(CIRCOM_D));
    let beta = p1.x * p2.y;
    let gamma = p1.y * p2.x;
    let delta = (-a * p1.x + p1.y) * (p2.x + p2.y);
    let tau = beta * gamma;
    let xout = divide(beta + gamma, Fr::one() + d * tau, "BabyAdd")?;
    let yout = divide(delta + a * beta - gamma, Fr::one() - d * tau, "BabyAdd")?;
    for (name, value) in [
        ("x1", p1.x),
        ("y1", p1.y),
        ("x2", p2.x),
        ("y2", p2.y),
        ("beta", beta),
        ("gamma", gamma),
        ("delta", delta),
        ("tau", tau),
        ("xout", xout),
        ("yout", yout),
    ] {
        signals.set(scope, format_args!("{name}"), value);
    }
    Ok(CircomPoint { x: xout, y: yout })
}

/// `Segment(nWindows)` over one generator: windows of 4 bits, their points summed with
/// `MontgomeryAdd`, the sum converted back to Edwards form.
fn segment(
    signals: &mut Signals,
    scope: &Scope,
    a: Fr,
    table: &SegmentTable,
    bits: &[bool],
) -> Result<CircomPoint, ZkError> {
    let windows = bits.len().div_ceil(WINDOW_BITS);
    // Tornado's segments are 200, 96 and 48 bits: whole windows, nothing padded.
    let padded: Vec<bool> = (0..windows * WINDOW_BITS)
        .map(|i| bits.get(i).copied().unwrap_or(false))
        .collect();
    if windows == 0 || windows > table.windows.len() {
        return Err(ZkError::PedersenMessageTooLong {
            bits: bits.len(),
            max_bits: SEGMENT_BITS,
        });
    }
    for (i, b) in padded.iter().enumerate() {
        signals.set(scope, format_args!("in[{i}]"), bit(*b));
    }
    signals.set(scope, format_args!("base[0]"), table.generator.x);
    signals.set(scope, format_args!("base[1]"), table.generator.y);
    let e2m = scope.child(format_args!("e2m"));
    signals.set(&e2m, format_args!("in[0]"), table.generator.x);
    signals.set(&e2m, format_args!("in[1]"), table.generator.y);
    signals.set_pair(&e2m, "out", table.generator_montgomery);

    let mut sum = None;
    for (w, window_bits) in padded.chunks_exact(WINDOW_BITS).enumerate() {
        let window_table = &table.windows[w];
        if w > 0 {
            let (first, second) = &table.doublers[w - 1];
            let previous_out8 = table.windows[w - 1].out8();
            montgomery_double_signals(
                signals,
                &scope.child(format_args!("doublers1[{}]", w - 1)),
                previous_out8,
                first,
            );
            montgomery_double_signals(
                signals,
                &scope.child(format_args!("doublers2[{}]", w - 1)),
                first.out,
                second,
            );
        }
        let out = window4(
            signals,
            &scope.child(format_args!("windows[{w}]")),
            window_table,
            window_bits,
        );
        sum = Some(match sum {
            None => out,
            Some(previous) => {
                let added = montgomery_add(previous, out, a)?;
                let adder = scope.child(format_args!("adders[{}]", w - 1));
                signals.set_pair(&adder, "in1", previous);
                signals.set_pair(&adder, "in2", out);
                signals.set(&adder, format_args!("lamda"), added.lamda);
                signals.set_pair(&adder, "out", added.out);
                added.out
            }
        });
    }
    let sum = sum.unwrap_or(table.generator_montgomery);
    let edwards = montgomery_to_edwards(sum)?;
    let m2e = scope.child(format_args!("m2e"));
    signals.set_pair(&m2e, "in", sum);
    signals.set(&m2e, format_args!("out[0]"), edwards.x);
    signals.set(&m2e, format_args!("out[1]"), edwards.y);
    signals.set(scope, format_args!("out[0]"), edwards.x);
    signals.set(scope, format_args!("out[1]"), edwards.y);
    Ok(edwards)
}

fn montgomery_double_signals(
    signals: &mut Signals,
    scope: &Scope,
    input: MontgomeryPoint,
    doubling: &MontgomeryDoubling,
) {
    signals.set_pair(scope, "in", input);
    signals.set(scope, format_args!("x1_2"), doubling.x1_2);
    signals.set(scope, format_args!("lamda"), doubling.lamda);
    signals.set_pair(scope, "out", doubling.out);
}

/// `Window4()`: selects `(1 + b0 + 2·b1 + 4·b2)·base` with `MultiMux3(2)` and negates y
/// when b3 is set.
fn window4(
    signals: &mut Signals,
    scope: &Scope,
    table: &WindowTable,
    bits: &[bool],
) -> MontgomeryPoint {
    let b: [Fr; 4] = std::array::from_fn(|i| bit(bits.get(i).copied().unwrap_or(false)));
    for (i, value) in b.iter().enumerate() {
        signals.set(scope, format_args!("in[{i}]"), *value);
    }
    signals.set_pair(scope, "base", table.base);

    let dbl2 = scope.child(format_args!("dbl2"));
    montgomery_double_signals(signals, &dbl2, table.base, &table.dbl2);
    let mut previous = table.dbl2.out;
    for (k, adder) in table.adders.iter().enumerate() {
        let adr = scope.child(format_args!("adr{}", k + 3));
        signals.set_pair(&adr, "in1", table.base);
        signals.set_pair(&adr, "in2", previous);
        signals.set(&adr, format_args!("lamda"), adder.lamda);
        signals.set_pair(&adr, "out", adder.out);
        previous = adder.out;
    }

    let selected = multi_mux3(
        signals,
        &scope.child(format_args!("mux")),
        table,
        [b[0], b[1], b[2]],
    );
    signals.set_pair(scope, "out8", table.out8());
    let y = -selected.y * Fr::from(2u64) * b[3] + selected.y;
    let out = MontgomeryPoint { x: selected.x, y };
    signals.set_pair(scope, "out", out);
    out
}

/// `MultiMux3(2)`: the multiple `1 + s0 + 2·s1 + 4·s2` of the window's base, as circom's
/// products of selector bits.
fn multi_mux3(
    signals: &mut Signals,
    scope: &Scope,
    table: &WindowTable,
    s: [Fr; 3],
) -> MontgomeryPoint {
    for (i, value) in s.iter().enumerate() {
        signals.set(scope, format_args!("s[{i}]"), *value);
    }
    let points: [MontgomeryPoint; 8] = std::array::from_fn(|k| table.multiple(k + 1));
    for coordinate in 0..2 {
        for (k, point) in points.iter().enumerate() {
            let value = if coordinate == 0 { point.x } else { point.y };
            signals.set(scope, format_args!("c[{coordinate}][{k}]"), value);
        }
    }
    let s10 = s[1] * s[0];
    signals.set(scope, format_args!("s10"), s10);
    let mut out = [Fr::zero(); 2];
    for (i, out) in out.iter_mut().enumerate() {
        let c: [Fr; 8] = std::array::from_fn(|k| if i == 0 { points[k].x } else { points[k].y });
        let a210 = (c[7] - c[6] - c[5] + c[4] - c[3] + c[2] + c[1] - c[0]) * s10;
        let a21 = (c[6] - c[4] - c[2] + c[0]) * s[1];
        let a20 = (c[5] - c[4] - c[1] + c[0]) * s[0];
        let a2 = c[4] - c[0];
        let a10 = (c[3] - c[2] - c[1] + c[0]) * s10;
        let a1 = (c[2] - c[0]) * s[1];
        let a0 = (c[1] - c[0]) * s[0];
        let a = c[0];
        *out = (a210 + a21 + a20 + a2) * s[2] + (a10 + a1 + a0 + a);
        for (name, value) in [
            ("a210", a210),
            ("a21", a21),
            ("a20", a20),
            ("a2", a2),
            ("a10", a10),
            ("a1", a1),
            ("a0", a0),
            ("a", a),
            ("out", *out),
        ] {
            signals.set(scope, format_args!("{name}[{i}]"), value);
        }
    }
    MontgomeryPoint {
        x: out[0],
        y: out[1],
    }
}

/// `MerkleTreeChecker(20)`: returns the root the path leads to.
fn merkle_tree_checker(
    signals: &mut Signals,
    scope: &Scope,
    leaf: Fr,
    root: Fr,
    elements: &[Fr; TREE_LEVELS],
    indices: &[Fr; TREE_LEVELS],
) -> Result<Fr, ZkError> {
    signals.set(scope, format_args!("leaf"), leaf);
    signals.set(scope, format_args!("root"), root);
    for (level, element) in elements.iter().enumerate() {
        signals.set(scope, format_args!("pathElements[{level}]"), *element);
    }
    for (level, index) in indices.iter().enumerate() {
        signals.set(scope, format_args!("pathIndices[{level}]"), *index);
    }
    let mut node = leaf;
    for level in 0..TREE_LEVELS {
        let selector = scope.child(format_args!("selectors[{level}]"));
        let (element, s) = (elements[level], indices[level]);
        let left = (element - node) * s + node;
        let right = (node - element) * s + element;
        signals.set(&selector, format_args!("in[0]"), node);
        signals.set(&selector, format_args!("in[1]"), element);
        signals.set(&selector, format_args!("s"), s);
        signals.set(&selector, format_args!("out[0]"), left);
        signals.set(&selector, format_args!("out[1]"), right);
        node = hash_left_right(
            signals,
            &scope.child(format_args!("hashers[{level}]")),
            left,
            right,
        );
    }
    Ok(node)
}

/// `HashLeftRight()`: `MiMCSponge(2, 1)` with key 0.
fn hash_left_right(signals: &mut Signals, scope: &Scope, left: Fr, right: Fr) -> Fr {
    signals.set(scope, format_args!("left"), left);
    signals.set(scope, format_args!("right"), right);
    let sponge = scope.child(format_args!("hasher"));
    signals.set(&sponge, format_args!("ins[0]"), left);
    signals.set(&sponge, format_args!("ins[1]"), right);
    signals.set(&sponge, format_args!("k"), Fr::zero());
    let (l0, r0) = mimc_feistel(
        signals,
        &sponge.child(format_args!("S[0]")),
        left,
        Fr::zero(),
    );
    let (hash, _) = mimc_feistel(signals, &sponge.child(format_args!("S[1]")), l0 + right, r0);
    signals.set(&sponge, format_args!("outs[0]"), hash);
    signals.set(scope, format_args!("hash"), hash);
    hash
}

/// `MiMCFeistel(220)` with key 0: returns (xL_out, xR_out).
fn mimc_feistel(signals: &mut Signals, scope: &Scope, xl_in: Fr, xr_in: Fr) -> (Fr, Fr) {
    let constants = mimc_constants();
    signals.set(scope, format_args!("xL_in"), xl_in);
    signals.set(scope, format_args!("xR_in"), xr_in);
    signals.set(scope, format_args!("k"), Fr::zero());
    let (mut xl, mut xr) = (xl_in, xr_in);
    for (round, c) in constants.iter().enumerate() {
        // c is 0 in the first and last rounds, as circom's c_partial skips them.
        let t = xl + c;
        let t2 = t.square();
        let t4 = t2.square();
        signals.set(scope, format_args!("t2[{round}]"), t2);
        signals.set(scope, format_args!("t4[{round}]"), t4);
        if round < MIMC_ROUNDS - 1 {
            (xl, xr) = (xr + t4 * t, xl);
            signals.set(scope, format_args!("xL[{round}]"), xl);
            signals.set(scope, format_args!("xR[{round}]"), xr);
        } else {
            xr += t4 * t;
        }
    }
    signals.set(scope, format_args!("xL_out"), xl);
    signals.set(scope, format_args!("xR_out"), xr);
    (xl, xr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MerkleTree, Note, mimc};
    use rand::{SeedableRng, rngs::StdRng};

    fn sample() -> (WithdrawPublicInputs, WithdrawWitness) {
        let mut rng = StdRng::seed_from_u64(26);
        let note = Note::generate("wtao", "1", 964, &mut rng).expect("valid pool");
        let mut tree = MerkleTree::from_leaves(&[Fr::from(3u64)]).expect("fits");
        let index = tree.insert(note.commitment()).expect("room");
        let public = WithdrawPublicInputs {
            root: tree.root(),
            nullifier_hash: note.nullifier_hash(),
            recipient: Fr::from(0xabcdu64),
            relayer: Fr::from(0x1234u64),
            fee: Fr::from(5u64),
            refund: Fr::from(0u64),
        };
        (
            public,
            WithdrawWitness::new(&note, tree.path(index).expect("inserted")),
        )
    }

    fn value_of(layout: &SignalLayout, name: &str) -> Fr {
        let index = layout
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name} is not emitted"));
        layout.values[index]
    }

    /// The generator's hashes are the crate's Pedersen and MiMC, which match Tornado's
    /// vectors; a slip in the window or Feistel code shows up here before the JSON check.
    #[test]
    fn outputs_match_the_crate_hashes() {
        let tables = PedersenTables::new().expect("tables");
        let (public, witness) = sample();
        let layout = layout(&tables, &public, &witness).expect("witness");
        assert_eq!(layout.names.len(), layout.values.len());
        let commitment = crate::note::commitment(&witness.nullifier, &witness.secret);
        assert_eq!(value_of(&layout, "main.hasher.commitment"), commitment);
        assert_eq!(
            value_of(&layout, "main.hasher.nullifierHash"),
            public.nullifier_hash
        );
        assert_eq!(
            value_of(&layout, "main.tree.hashers[0].hash"),
            mimc::hash_left_right(
                value_of(&layout, "main.tree.selectors[0].out[0]"),
                value_of(&layout, "main.tree.selectors[0].out[1]")
            )
        );
        assert_eq!(value_of(&layout, "main.tree.hashers[19].hash"), public.root);
        // The values do not change the layout.
        let values_only = generate(&tables, &public, &witness, false).expect("witness");
        assert_eq!(values_only.values(), layout.values.as_slice());
    }

    /// Digest of the emission order (names joined by newlines) for
    /// `WITNESS_LAYOUT_VERSION` 1.
    const LAYOUT_DIGEST: &str = "1d1438dea7b520358b67175941cd26179cfe10467d28b6873ca2f6f8598516d4";

    /// A stored circuit maps variables to positions in the emission order: a change to
    /// the order must bump `WITNESS_LAYOUT_VERSION` (so circuits stored by an older build
    /// are refused and imported again) and update `LAYOUT_DIGEST`.
    #[test]
    fn the_emission_order_is_pinned() {
        use sha2::{Digest, Sha256};
        let tables = PedersenTables::new().expect("tables");
        let (public, witness) = sample();
        let layout = layout(&tables, &public, &witness).expect("witness");
        let digest = hex::encode(Sha256::digest(layout.names.join("\n")));
        assert_eq!(
            (super::super::store::WITNESS_LAYOUT_VERSION, digest.as_str()),
            (1, LAYOUT_DIGEST),
            "the witness layout changed: bump WITNESS_LAYOUT_VERSION and update LAYOUT_DIGEST"
        );
        assert_eq!(layout.names[0], "one");
        assert_eq!(layout.names[1], "main.root");
    }

    #[test]
    fn a_wrong_root_or_nullifier_hash_is_refused_by_name() {
        let tables = PedersenTables::new().expect("tables");
        let (public, witness) = sample();
        let wrong_root = WithdrawPublicInputs {
            root: public.root + Fr::one(),
            ..public
        };
        let error = generate(&tables, &wrong_root, &witness, false).expect_err("wrong root");
        assert!(error.to_string().contains("main.tree.root"), "{error}");
        let wrong_hash = WithdrawPublicInputs {
            nullifier_hash: public.nullifier_hash + Fr::one(),
            ..public
        };
        let error = generate(&tables, &wrong_hash, &witness, false).expect_err("wrong hash");
        assert!(error.to_string().contains("nullifierHash"), "{error}");
    }
}
