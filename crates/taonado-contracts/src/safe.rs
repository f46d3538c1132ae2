//! Safe (Gnosis Safe) v1.4.1: the audited multisig that owns the protocol on a live chain.
//!
//! Nothing here is compiled by us: `artifacts/safe/*.json` are the Hardhat build artifacts of
//! the npm package `@safe-global/safe-contracts` 1.4.1, copied byte for byte by
//! `node contracts/build.mjs` (whose `--check` compares them with the package) and pinned by
//! `artifacts/safe/sha256.json`. Their creation code deploys, through the Safe singleton
//! factory with salt 0, to the canonical addresses of [`SafeContract::canonical_address`] (a
//! test recomputes them), so code found there is these contracts.
//!
//! The bindings are written out as Solidity, for the functions taonado calls.
#![allow(missing_docs, clippy::too_many_arguments)]

use std::sync::LazyLock;

use alloy::json_abi::JsonAbi;
use alloy::sol;
use alloy_primitives::{Address, B256, Bytes, address};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The Safe release the artifacts are from.
pub const SAFE_VERSION: &str = "1.4.1";

/// The npm package the artifacts are from.
pub const SAFE_PACKAGE: &str = "@safe-global/safe-contracts";

/// `artifacts/safe/sha256.json`: the pin of every Safe artifact file.
pub const SAFE_PINS_JSON: &str = include_str!("../artifacts/safe/sha256.json");

/// The deterministic-deployment factory the canonical Safe contracts were created through
/// (CREATE2, salt 0).
pub const SAFE_SINGLETON_FACTORY: Address = address!("0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7");

macro_rules! safe_contracts {
    ($($(#[$doc:meta])* $variant:ident => $canonical:expr),* $(,)?) => {
        /// The Safe contracts taonado uses, each with its committed artifact.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum SafeContract {
            $($(#[$doc])* $variant,)*
        }

        impl SafeContract {
            /// All of them, in artifact-name order.
            pub const ALL: &'static [SafeContract] = &[$(SafeContract::$variant,)*];

            /// The contract's name, which is also its artifact's file stem.
            pub const fn name(self) -> &'static str {
                match self {
                    $(SafeContract::$variant => stringify!($variant),)*
                }
            }

            /// The artifact file as the npm package ships it.
            pub const fn artifact_json(self) -> &'static str {
                match self {
                    $(SafeContract::$variant => include_str!(concat!("../artifacts/safe/", stringify!($variant), ".json")),)*
                }
            }

            /// Where Safe's own deployment put it on every chain that has it; `None` for the
            /// proxy, which is created per Safe.
            pub const fn canonical_address(self) -> Option<Address> {
                match self {
                    $(SafeContract::$variant => $canonical,)*
                }
            }
        }

        static SAFE_ARTIFACTS: [LazyLock<SafeArtifact>; SafeContract::ALL.len()] = [
            $(LazyLock::new(|| SafeArtifact::parse(SafeContract::$variant)),)*
        ];
    };
}

safe_contracts! {
    /// The fallback handler a Safe is set up with (EIP-1271, token callbacks, simulation).
    CompatibilityFallbackHandler => Some(address!("0xfd0732Dc9E303f09fCEf3a7388Ad10A83459Ec99")),
    /// Batches of calls and delegate calls in one Safe transaction.
    MultiSend => Some(address!("0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526")),
    /// Batches of calls only (no delegate call).
    MultiSendCallOnly => Some(address!("0x9641d764fc13c8B624c04430C7356C1C7C8102e2")),
    /// The singleton without events per transaction (for L1s).
    Safe => Some(address!("0x41675C099F32341bf84BFc5382aF534df5C7461a")),
    /// The singleton that also emits `SafeMultiSigTransaction`: the one taonado sets up, so an
    /// indexer sees each executed proposal.
    SafeL2 => Some(address!("0x29fcB43b46531BcA003ddC8FCB67FFE91900C762")),
    /// The proxy every Safe is (created by the factory).
    SafeProxy => None,
    /// Creates Safe proxies (CREATE2 over the initializer and a salt nonce).
    SafeProxyFactory => Some(address!("0x4e1DCf7AD4e460CfD30791CCC4F9c8a4f820ec67")),
}

/// One Safe artifact (Hardhat's format).
#[derive(Clone, Debug)]
pub struct SafeArtifact {
    pub contract: SafeContract,
    /// The Solidity source it was compiled from, in the package (`contracts/SafeL2.sol`).
    pub source_name: String,
    pub abi: JsonAbi,
    /// Creation code.
    pub bytecode: Bytes,
    /// Runtime code (Safe's contracts have no immutables).
    pub deployed_bytecode: Bytes,
    /// SHA-256 of the artifact file as committed (equal to the pin in `sha256.json`, a test
    /// checks).
    pub sha256: B256,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSafeArtifact {
    contract_name: String,
    source_name: String,
    abi: JsonAbi,
    bytecode: Bytes,
    deployed_bytecode: Bytes,
}

impl SafeArtifact {
    fn parse(contract: SafeContract) -> Self {
        let json = contract.artifact_json();
        // Embedded at compile time and parsed by a unit test: a failure is a broken build.
        let raw: RawSafeArtifact = serde_json::from_str(json).unwrap_or_else(|e| {
            panic!(
                "embedded Safe artifact {} is malformed: {e}",
                contract.name()
            )
        });
        assert_eq!(
            raw.contract_name,
            contract.name(),
            "Safe artifact file and contract name differ"
        );
        SafeArtifact {
            contract,
            source_name: raw.source_name,
            abi: raw.abi,
            bytecode: raw.bytecode,
            deployed_bytecode: raw.deployed_bytecode,
            sha256: B256::from_slice(&Sha256::digest(json.as_bytes())),
        }
    }

    /// Whether `code` (read from a chain) is this contract's runtime code.
    pub fn matches_code(&self, code: &[u8]) -> bool {
        !code.is_empty() && code == self.deployed_bytecode.as_ref()
    }
}

impl SafeContract {
    /// The parsed artifact (parsed once, on first use).
    pub fn artifact(self) -> &'static SafeArtifact {
        &SAFE_ARTIFACTS[self as usize]
    }
}

impl std::fmt::Display for SafeContract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

sol! {
    /// The Safe functions taonado calls (Safe 1.4.1's `Safe`/`SafeL2`).
    #[sol(rpc)]
    interface ISafe {
        function setup(address[] calldata _owners, uint256 _threshold, address to, bytes calldata data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver) external;
        function execTransaction(address to, uint256 value, bytes calldata data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes memory signatures) external payable returns (bool success);
        function getTransactionHash(address to, uint256 value, bytes calldata data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) external view returns (bytes32);
        function checkSignatures(bytes32 dataHash, bytes memory data, bytes memory signatures) external view;
        function approveHash(bytes32 hashToApprove) external;
        function approvedHashes(address owner, bytes32 hash) external view returns (uint256);
        function domainSeparator() external view returns (bytes32);
        function nonce() external view returns (uint256);
        function getOwners() external view returns (address[] memory);
        function getThreshold() external view returns (uint256);
        function isOwner(address owner) external view returns (bool);
        function VERSION() external view returns (string memory);

        event ExecutionSuccess(bytes32 indexed txHash, uint256 payment);
        event ExecutionFailure(bytes32 indexed txHash, uint256 payment);
    }

    /// Safe 1.4.1's proxy factory.
    #[sol(rpc)]
    interface ISafeProxyFactory {
        function createProxyWithNonce(address _singleton, bytes memory initializer, uint256 saltNonce) external returns (address proxy);
        event ProxyCreation(address indexed proxy, address singleton);
    }

    /// Safe's MultiSend libraries (`transactions` is packed: operation, to, value, length, data).
    interface IMultiSend {
        function multiSend(bytes memory transactions) external payable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Pins {
        package: String,
        version: String,
        sha256: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn every_artifact_parses_and_matches_its_pin() {
        let pins: Pins = serde_json::from_str(SAFE_PINS_JSON).expect("pins parse");
        assert_eq!(pins.package, SAFE_PACKAGE);
        assert_eq!(pins.version, SAFE_VERSION);
        assert_eq!(pins.sha256.len(), SafeContract::ALL.len());
        for contract in SafeContract::ALL {
            let artifact = contract.artifact();
            let pinned = &pins.sha256[&format!("{}.json", contract.name())];
            assert_eq!(
                &alloy_primitives::hex::encode(artifact.sha256),
                pinned,
                "{contract}"
            );
            assert!(!artifact.bytecode.is_empty() && !artifact.deployed_bytecode.is_empty());
        }
    }

    #[test]
    fn the_creation_code_deploys_to_the_canonical_addresses() {
        // Safe's deployment: the singleton factory, CREATE2, salt 0, the creation code as is.
        for contract in SafeContract::ALL {
            let Some(canonical) = contract.canonical_address() else {
                continue;
            };
            let init_hash = alloy_primitives::keccak256(&contract.artifact().bytecode);
            let predicted = SAFE_SINGLETON_FACTORY.create2(B256::ZERO, init_hash);
            assert_eq!(predicted, canonical, "{contract}");
        }
    }

    #[test]
    fn the_bindings_agree_with_the_artifacts() {
        use alloy_sol_types::SolCall;
        let abi = &SafeContract::SafeL2.artifact().abi;
        let selectors: Vec<_> = abi.functions().map(|f| f.selector()).collect();
        for selector in [
            ISafe::setupCall::SELECTOR,
            ISafe::execTransactionCall::SELECTOR,
            ISafe::getTransactionHashCall::SELECTOR,
            ISafe::approveHashCall::SELECTOR,
            ISafe::nonceCall::SELECTOR,
            ISafe::getOwnersCall::SELECTOR,
        ] {
            assert!(selectors.contains(&selector.into()), "{selector:?}");
        }
        let factory = &SafeContract::SafeProxyFactory.artifact().abi;
        assert!(
            factory
                .functions()
                .any(|f| f.selector() == ISafeProxyFactory::createProxyWithNonceCall::SELECTOR)
        );
    }
}
