//! The committed solc artifacts, embedded at compile time and parsed on first use.
//!
//! Each `artifacts/<Name>.json` is written by `node contracts/build.mjs`; [`Contract`] has one
//! variant per file (a test checks that the two lists agree).

use std::{collections::BTreeMap, fmt, str::FromStr, sync::LazyLock};

use alloy::json_abi::JsonAbi;
use alloy_primitives::{B256, Bytes, Selector, U256};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

macro_rules! contracts {
    ($($(#[$doc:meta])* $variant:ident),* $(,)?) => {
        /// Every contract that has a committed artifact.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Contract {
            $($(#[$doc])* $variant,)*
        }

        impl Contract {
            /// All contracts, in artifact-name order.
            pub const ALL: &'static [Contract] = &[$(Contract::$variant,)*];

            /// The contract's name, which is also its artifact's file stem.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Contract::$variant => stringify!($variant),)*
                }
            }

            /// The artifact's JSON text as committed.
            pub const fn artifact_json(self) -> &'static str {
                match self {
                    $(Contract::$variant => include_str!(concat!("../artifacts/", stringify!($variant), ".json")),)*
                }
            }
        }

        static ARTIFACTS: [LazyLock<Artifact>; Contract::ALL.len()] = [
            $(LazyLock::new(|| Artifact::parse(Contract::$variant)),)*
        ];
    };
}

contracts! {
    /// Links miners' EVM addresses to their hotkeys.
    DepositTracker,
    /// OpenZeppelin's ERC-1967 proxy (the EvmValidator sits behind one).
    ERC1967Proxy,
    /// A Tornado pool over an ERC-20 (WTAO).
    ERC20Taonado,
    /// The validator that sets weights through the neuron precompile (UUPS implementation).
    EvmValidator,
    /// The EvmValidator upgrade: V1's storage and ABI with V1's defects fixed.
    EvmValidatorV2,
    /// Groth16 verifier for the Bittensor EVM (bn256 add at 0x9).
    Groth16VerifierBittensor,
    /// Groth16 verifier for Ethereum precompile addresses (bn256 add at 0x6).
    Groth16VerifierEthereum,
    /// Tornado's incremental Merkle tree on its own.
    MerkleTreeWithHistory,
    /// Test-only: the Merkle tree with a public `insert`.
    MerkleTreeWithHistoryMock,
    /// The MiMCSponge hasher (Yul), with `IHasher`'s ABI.
    MiMCSponge,
    /// Test-only: an EvmValidator implementation with an incompatible storage layout.
    MockEvmValidatorReordered,
    /// Test-only: forwards a call so that a contract without `receive` is the sender.
    MockForwarder,
    /// Test-only stand-in for the metagraph precompile (0x802).
    MockMetagraph,
    /// Test-only stand-in for the neuron precompile (0x804).
    MockNeuron,
    /// Test-only verifier that answers a settable bool.
    MockVerifier,
    /// Wrapped TAO (WETH9 semantics).
    WTAO,
    /// The previous weights contract (WTAO balances only).
    WeightsV2,
    /// The live weights contract (WTAO balances plus lifetime pool deposits).
    WeightsV3,
    /// WeightsV3's weights with V3's defects fixed (the migration target).
    WeightsV4,
}

impl Contract {
    /// The parsed artifact (parsed once, on first use).
    pub fn artifact(self) -> &'static Artifact {
        &ARTIFACTS[self as usize]
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Contract {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Contract::ALL
            .iter()
            .copied()
            .find(|c| c.name() == name)
            .ok_or_else(|| Error::UnknownContract {
                name: name.to_owned(),
                known: Contract::ALL
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// One compiled contract.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// Which contract this is.
    pub contract: Contract,
    /// The source unit it was compiled from (`src/...` or `@openzeppelin/...`).
    pub source_name: String,
    /// The JSON ABI.
    pub abi: JsonAbi,
    /// Creation code, without constructor arguments.
    pub bytecode: Bytes,
    /// Runtime code as compiled; immutables are zero until deployment fills them in.
    pub deployed_bytecode: Bytes,
    /// Where immutables sit in the runtime code, keyed by AST id.
    pub immutable_references: BTreeMap<String, Vec<ImmutableReference>>,
    /// Function signature to selector.
    pub method_identifiers: BTreeMap<String, Selector>,
    /// Where the state variables live.
    pub storage_layout: StorageLayout,
    /// The ERC-7201 namespaced structs of the contract and its bases (OpenZeppelin 5's
    /// upgradeable state), which `storage_layout` does not list; base contracts first.
    pub storage_namespaces: Vec<StorageNamespace>,
    /// The keccak256 of every source unit the contract was compiled from, as solc's metadata
    /// records it (and the metadata hash in the bytecode commits to); empty for Yul objects.
    pub source_keccak256: BTreeMap<String, B256>,
    /// SHA-256 of the committed artifact file (as listed in `build-info.json`).
    pub sha256: B256,
}

/// A byte range of runtime code that holds an immutable value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct ImmutableReference {
    /// Offset in the runtime code.
    pub start: usize,
    /// Length in bytes (32).
    pub length: usize,
}

/// solc's storage layout output.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StorageLayout {
    /// The state variables, in declaration order.
    pub storage: Vec<StorageEntry>,
    /// Type descriptions, keyed by type id (absent for contracts without state).
    #[serde(default)]
    pub types: Option<BTreeMap<String, StorageType>>,
}

/// One state variable (or struct member).
#[derive(Clone, Debug, Deserialize)]
pub struct StorageEntry {
    /// The variable's name.
    pub label: String,
    /// The contract that declares it.
    pub contract: String,
    /// Its slot.
    #[serde(deserialize_with = "decimal_u256")]
    pub slot: U256,
    /// Its byte offset inside the slot (for packed variables).
    pub offset: u8,
    /// Its type id, a key of [`StorageLayout::types`].
    #[serde(rename = "type")]
    pub type_id: String,
}

/// One ERC-7201 namespaced struct (`@custom:storage-location erc7201:<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StorageNamespace {
    /// The namespace id, e.g. `openzeppelin.storage.Ownable`.
    pub id: String,
    /// The contract that declares the struct.
    pub contract: String,
    /// The struct's name.
    #[serde(rename = "struct")]
    pub struct_name: String,
    /// The struct's members in declaration order.
    pub members: Vec<NamespaceMember>,
}

/// A member of a namespaced struct.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct NamespaceMember {
    /// The member's name.
    pub label: String,
    /// Its Solidity type, as solc prints it (`uint64`, `address`, `mapping(address => bool)`).
    #[serde(rename = "type")]
    pub type_name: String,
}

/// A type description of the storage layout.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageType {
    /// `inplace`, `mapping`, `dynamic_array` or `bytes`.
    pub encoding: String,
    /// The Solidity type name.
    pub label: String,
    /// Size in bytes, as a decimal string.
    pub number_of_bytes: String,
    /// Mapping key type id.
    #[serde(default)]
    pub key: Option<String>,
    /// Mapping value type id.
    #[serde(default)]
    pub value: Option<String>,
    /// Array element type id.
    #[serde(default)]
    pub base: Option<String>,
    /// Struct members.
    #[serde(default)]
    pub members: Option<Vec<StorageEntry>>,
}

fn decimal_u256<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<U256, D::Error> {
    let text = String::deserialize(d)?;
    U256::from_str_radix(&text, 10).map_err(serde::de::Error::custom)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArtifact {
    contract_name: String,
    source_name: String,
    abi: JsonAbi,
    bytecode: Bytes,
    deployed_bytecode: Bytes,
    immutable_references: BTreeMap<String, Vec<ImmutableReference>>,
    method_identifiers: BTreeMap<String, Selector>,
    storage_layout: StorageLayout,
    #[serde(default)]
    storage_namespaces: Vec<StorageNamespace>,
    /// solc's metadata JSON, verbatim (Yul objects have none).
    #[serde(default)]
    metadata: Option<String>,
}

/// The `sources` of solc's metadata: unit name to the keccak256 of its text.
#[derive(Deserialize)]
struct RawMetadata {
    sources: BTreeMap<String, RawMetadataSource>,
}

#[derive(Deserialize)]
struct RawMetadataSource {
    keccak256: B256,
}

/// How some on-chain runtime code compares with an artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeMatch {
    /// Byte for byte.
    Exact,
    /// Equal everywhere except the immutables (which deployment fills in).
    ExceptImmutables,
    /// Equal once the trailing CBOR metadata (source hashes, compiler) is dropped from both, and
    /// immutables are ignored: same code, built from differently formatted or commented sources.
    ExceptMetadata,
    /// Different code.
    Mismatch,
}

impl Artifact {
    fn parse(contract: Contract) -> Self {
        let json = contract.artifact_json();
        // The artifacts are embedded at compile time and a unit test parses every one of them,
        // so a failure here means a broken build, not bad input.
        let raw: RawArtifact = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("embedded artifact {} is malformed: {e}", contract.name()));
        assert_eq!(
            raw.contract_name,
            contract.name(),
            "artifact file and contract name differ"
        );
        let source_keccak256 = raw.metadata.as_deref().map_or_else(BTreeMap::new, |text| {
            let metadata: RawMetadata = serde_json::from_str(text).unwrap_or_else(|e| {
                panic!(
                    "embedded artifact {} has malformed metadata: {e}",
                    contract.name()
                )
            });
            metadata
                .sources
                .into_iter()
                .map(|(unit, source)| (unit, source.keccak256))
                .collect()
        });
        Artifact {
            contract,
            source_name: raw.source_name,
            abi: raw.abi,
            bytecode: raw.bytecode,
            deployed_bytecode: raw.deployed_bytecode,
            immutable_references: raw.immutable_references,
            method_identifiers: raw.method_identifiers,
            storage_layout: raw.storage_layout,
            storage_namespaces: raw.storage_namespaces,
            source_keccak256,
            sha256: B256::from_slice(&Sha256::digest(json.as_bytes())),
        }
    }

    /// The contract's name.
    pub fn name(&self) -> &'static str {
        self.contract.name()
    }

    /// Creation code followed by ABI-encoded constructor arguments.
    pub fn deploy_code(&self, constructor_args: &[u8]) -> Bytes {
        let mut code = Vec::with_capacity(self.bytecode.len() + constructor_args.len());
        code.extend_from_slice(&self.bytecode);
        code.extend_from_slice(constructor_args);
        code.into()
    }

    /// The selector of a function given by its canonical signature, e.g. `"deposit()"`.
    pub fn selector(&self, signature: &str) -> Option<Selector> {
        self.method_identifiers.get(signature).copied()
    }

    /// The storage entry of a top-level state variable.
    pub fn storage(&self, label: &str) -> Option<&StorageEntry> {
        self.storage_layout
            .storage
            .iter()
            .find(|e| e.label == label)
    }

    /// Compares runtime code read from a chain with this artifact.
    pub fn compare_code(&self, code: &[u8]) -> CodeMatch {
        let expected = self.deployed_bytecode.as_ref();
        if code == expected {
            return CodeMatch::Exact;
        }
        let immutables: Vec<ImmutableReference> = self
            .immutable_references
            .values()
            .flatten()
            .copied()
            .collect();
        if code.len() == expected.len() && equal_outside(code, expected, &immutables) {
            return CodeMatch::ExceptImmutables;
        }
        let (ours, theirs) = (strip_metadata(expected), strip_metadata(code));
        if ours.len() == theirs.len() && equal_outside(theirs, ours, &immutables) {
            return CodeMatch::ExceptMetadata;
        }
        CodeMatch::Mismatch
    }
}

fn equal_outside(a: &[u8], b: &[u8], skip: &[ImmutableReference]) -> bool {
    a.iter().zip(b).enumerate().all(|(i, (x, y))| {
        x == y
            || skip
                .iter()
                .any(|r| (r.start..r.start + r.length).contains(&i))
    })
}

/// Runtime code without solc's trailing CBOR metadata (whose length is in the last two bytes).
fn strip_metadata(code: &[u8]) -> &[u8] {
    let Some(len_bytes) = code.len().checked_sub(2).map(|at| &code[at..]) else {
        return code;
    };
    let meta_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    match code.len().checked_sub(meta_len + 2) {
        // The metadata map starts with 0xa1..0xa3 (a CBOR map of 1 to 3 entries).
        Some(start) if (0xa1..=0xa3).contains(&code[start]) => &code[..start],
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_artifact_parses_with_code_and_its_own_name() {
        for &contract in Contract::ALL {
            let artifact = contract.artifact();
            assert_eq!(artifact.name(), contract.name());
            assert!(
                !artifact.bytecode.is_empty(),
                "{contract} has no creation code"
            );
            assert!(
                !artifact.deployed_bytecode.is_empty(),
                "{contract} has no runtime code"
            );
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for &contract in Contract::ALL {
            assert_eq!(contract.name().parse::<Contract>().ok(), Some(contract));
        }
        let err = "WETH"
            .parse::<Contract>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("WETH") && err.contains("WTAO"), "{err}");
    }

    #[test]
    fn method_identifiers_agree_with_the_abi() {
        for &contract in Contract::ALL {
            let artifact = contract.artifact();
            let from_abi: BTreeMap<String, Selector> = artifact
                .abi
                .functions()
                .map(|f| (f.signature(), f.selector()))
                .collect();
            assert_eq!(from_abi, artifact.method_identifiers, "{contract}");
        }
    }

    #[test]
    fn evm_validator_storage_order_is_the_deployed_one() {
        let layout = &Contract::EvmValidator.artifact().storage_layout.storage;
        let got: Vec<(&str, u64, u8)> = layout
            .iter()
            .map(|e| (e.label.as_str(), e.slot.to::<u64>(), e.offset))
            .collect();
        assert_eq!(
            got,
            [
                ("weights", 0, 0),
                ("metagraph", 1, 0),
                ("metagraph_boost_value", 1, 20),
                ("setWeightsBounty", 2, 0),
                ("netuid", 3, 0),
                ("versionKey", 3, 2),
                ("lastSetWeightsBlock", 4, 0),
                ("setWeightsBlockInterval", 5, 0),
                ("refundOverhead", 6, 0),
            ]
        );
    }

    #[test]
    fn code_comparison_ignores_immutables_and_metadata_only() {
        let artifact = Contract::ERC20Taonado.artifact();
        let code = artifact.deployed_bytecode.to_vec();
        assert_eq!(artifact.compare_code(&code), CodeMatch::Exact);

        let mut filled = code.clone();
        let first = artifact
            .immutable_references
            .values()
            .flatten()
            .next()
            .copied();
        let Some(first) = first else {
            panic!("ERC20Taonado has immutables (verifier, hasher)")
        };
        filled[first.start + first.length - 1] = 0x42;
        assert_eq!(artifact.compare_code(&filled), CodeMatch::ExceptImmutables);

        let mut rebuilt = filled.clone();
        let at = rebuilt.len() - 10;
        rebuilt[at] ^= 0xff;
        assert_eq!(artifact.compare_code(&rebuilt), CodeMatch::ExceptMetadata);

        let mut other = filled;
        other[1] ^= 0xff;
        assert_eq!(artifact.compare_code(&other), CodeMatch::Mismatch);
    }
}
