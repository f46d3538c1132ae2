//! `taonado deploy verify`: what is on chain, checked against what should be there.
//!
//! Code at each address is compared with its committed artifact (immutables and solc's metadata
//! trailer handled by [`Artifact::compare_code`]), then the wiring between the contracts, their
//! owners and the EvmValidator proxy's ERC-1967 implementation slot. Every finding is one
//! [`Check`] line; a contract whose code differs from the artifact (the mainnet contracts were
//! compiled elsewhere) fails its code line but still has its wiring, owner and slot checked.

use alloy::primitives::{Address, B256, U256, b256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;

use crate::deploy::{MERKLE_TREE_HEIGHT, METAGRAPH_PRECOMPILE, verifier_contract};
use crate::error::{OpsError, Result};
use taonado_contracts::bindings::{ERC20Taonado, EvmValidator, WeightsV2, WeightsV3};
use taonado_contracts::verifier::ChainFamily;
use taonado_contracts::{CodeMatch, Contract};
use taonado_deployment::{DeploymentRecord, ProtocolAddresses, names};

/// ERC-1967 implementation slot: `bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)`.
pub const IMPLEMENTATION_SLOT: B256 =
    b256!("0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    /// Worth a look, but not a failure (e.g. no expected owner was given).
    Warn,
    Fail,
    /// Could not be checked (the address is not known).
    Skip,
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One line of a check report: `subject` (a contract or a topic), what was checked, the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub subject: String,
    pub check: String,
    pub status: CheckStatus,
    pub detail: String,
}

impl Check {
    pub fn new(
        subject: impl Into<String>,
        check: impl Into<String>,
        status: CheckStatus,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            check: check.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// True when no check failed.
pub fn all_passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != CheckStatus::Fail)
}

/// Where the expected addresses came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum AddressSource {
    /// A `deployments/<network>.json` record.
    Record(std::path::PathBuf),
    /// The network configuration (the built-in presets or `taonado.toml`).
    Config,
}

/// What should be on chain: from a record or from the configured addresses.
#[derive(Clone, Debug, Default)]
pub struct ExpectedDeployment {
    pub chain_id: u64,
    pub netuid: u16,
    /// The protocol's addresses (the deployment model's type; WeightsV4 once migrated).
    pub addresses: ProtocolAddresses,
    /// The implementation the proxy must point at; `None`: only its code is checked.
    pub evm_validator_implementation: Option<Address>,
    /// `None`: the verifier may be either variant.
    pub verifier_family: Option<ChainFamily>,
    /// (denomination in wei, address), ascending: the addresses' pools, parsed once.
    pub pools: Vec<(U256, Address)>,
    /// The pool whose lifetime deposits WeightsV3 counts.
    pub weights_pool: Option<Address>,
    /// The expected owner of WeightsV2/V3 and the EvmValidator; `None`: reported, not checked.
    pub owner: Option<Address>,
}

impl ExpectedDeployment {
    /// Everything the record says, with the deployer as the expected owner.
    pub fn from_record(record: &DeploymentRecord) -> Self {
        let get = |name: &str| record.contracts.get(name).map(|c| c.address);
        let pools: Vec<(U256, Address)> = record
            .pools
            .iter()
            .map(|p| (p.denomination, p.contract.address))
            .collect();
        let verifier_family = record
            .verifier
            .as_ref()
            .and_then(|v| match v.family.as_str() {
                "ethereum" => Some(ChainFamily::Ethereum),
                "bittensor" => Some(ChainFamily::Bittensor),
                _ => None,
            });
        Self {
            chain_id: record.chain_id,
            netuid: record.netuid,
            addresses: ProtocolAddresses::from_record(record),
            // An upgrade (`taonado upgrade evm-validator --execute`) supersedes the original.
            evm_validator_implementation: get(names::EVM_VALIDATOR_V2_IMPLEMENTATION)
                .or(get(names::EVM_VALIDATOR_IMPLEMENTATION)),
            verifier_family,
            weights_pool: weights_pool(&pools),
            pools,
            owner: Some(record.deployer),
        }
    }

    /// Configured addresses (a preset or `taonado.toml`) without a record: the verifier
    /// variant follows the chain id, and owners are reported, not checked.
    pub fn from_addresses(
        chain_id: u64,
        netuid: u16,
        addresses: &ProtocolAddresses,
    ) -> Result<Self> {
        let pools = addresses.pools_by_denomination()?;
        Ok(Self {
            chain_id,
            netuid,
            addresses: addresses.clone(),
            evm_validator_implementation: None,
            verifier_family: Some(ChainFamily::from_chain_id(chain_id)),
            weights_pool: weights_pool(&pools),
            pools,
            owner: None,
        })
    }

    /// The weights contract the EvmValidator must point at: V4 after a migration, else V3
    /// where there is one, else V2.
    pub fn live_weights(&self) -> Option<(&'static str, Address)> {
        self.addresses.live_weights()
    }
}

/// The pool whose lifetime deposits WeightsV3 counts, among `(denomination, address)`.
fn weights_pool(pools: &[(U256, Address)]) -> Option<Address> {
    let denominations: Vec<U256> = pools.iter().map(|(d, _)| *d).collect();
    crate::deploy::weights_pool_denomination(&denominations)
        .and_then(|d| pools.iter().find(|(p, _)| *p == d).map(|(_, a)| *a))
}

/// Pool display name, as the deploy steps and the config's pool keys name them.
pub fn pool_name(denomination: U256) -> String {
    taonado_deployment::pool_name(&taonado_types::format_tao(denomination))
}

/// Runs every post-deployment check against the chain.
pub async fn verify_deployment(
    provider: &DynProvider,
    expected: &ExpectedDeployment,
) -> Result<Vec<Check>> {
    let mut v = Verifier {
        provider,
        checks: Vec::new(),
    };
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(OpsError::rpc("reading the chain id"))?;
    v.compare(
        "chain",
        "chain id",
        chain_id == expected.chain_id,
        chain_id.to_string(),
        expected.chain_id.to_string(),
    );

    v.code("WTAO", expected.addresses.wtao, &[Contract::WTAO])
        .await?;
    v.code(
        "DepositTracker",
        expected.addresses.deposit_tracker,
        &[Contract::DepositTracker],
    )
    .await?;
    v.code("Hasher", expected.addresses.hasher, &[Contract::MiMCSponge])
        .await?;
    let verifier_artifacts: Vec<Contract> = match expected.verifier_family {
        Some(family) => vec![verifier_contract(family)],
        None => vec![
            Contract::Groth16VerifierBittensor,
            Contract::Groth16VerifierEthereum,
        ],
    };
    v.code("Verifier", expected.addresses.verifier, &verifier_artifacts)
        .await?;
    if expected.addresses.weights_v2.is_some() {
        v.code(
            "WeightsV2",
            expected.addresses.weights_v2,
            &[Contract::WeightsV2],
        )
        .await?;
    }
    v.code(
        "WeightsV3",
        expected.addresses.weights_v3,
        &[Contract::WeightsV3],
    )
    .await?;
    if expected.addresses.weights_v4.is_some() {
        v.code(
            "WeightsV4",
            expected.addresses.weights_v4,
            &[Contract::WeightsV4],
        )
        .await?;
    }
    v.code(
        "EvmValidator",
        expected.addresses.evm_validator,
        &[Contract::ERC1967Proxy],
    )
    .await?;
    for (denomination, address) in &expected.pools {
        v.code(
            &pool_name(*denomination),
            Some(*address),
            &[Contract::ERC20Taonado],
        )
        .await?;
    }

    if let Some(weights) = expected.addresses.weights_v3 {
        v.weights_v3("WeightsV3", weights, expected).await;
    }
    // V4 keeps V3's getters and wiring.
    if let Some(weights) = expected.addresses.weights_v4 {
        v.weights_v3("WeightsV4", weights, expected).await;
    }
    if let Some(weights) = expected.addresses.weights_v2 {
        v.weights_v2(weights, expected).await;
    }
    if let Some(proxy) = expected.addresses.evm_validator {
        v.evm_validator(proxy, expected).await?;
    }
    for (denomination, address) in &expected.pools {
        v.pool(*denomination, *address, expected).await;
    }
    Ok(v.checks)
}

struct Verifier<'a> {
    provider: &'a DynProvider,
    checks: Vec<Check>,
}

impl Verifier<'_> {
    fn push(&mut self, subject: &str, check: &str, status: CheckStatus, detail: String) {
        self.checks.push(Check::new(subject, check, status, detail));
    }

    fn compare(&mut self, subject: &str, check: &str, ok: bool, actual: String, expected: String) {
        if ok {
            self.push(subject, check, CheckStatus::Pass, actual);
        } else {
            self.push(
                subject,
                check,
                CheckStatus::Fail,
                format!("{actual}, expected {expected}"),
            );
        }
    }

    /// An address read from a contract, compared with an expected one (when known).
    fn address(
        &mut self,
        subject: &str,
        check: &str,
        read: std::result::Result<Address, alloy::contract::Error>,
        expected: Option<(&str, Address)>,
    ) {
        match (read, expected) {
            (Err(e), _) => self.push(
                subject,
                check,
                CheckStatus::Fail,
                format!("call failed: {}", one_line(&e)),
            ),
            (Ok(actual), Some((name, want))) => self.compare(
                subject,
                check,
                actual == want,
                actual.to_string(),
                format!("{name} {want}"),
            ),
            (Ok(actual), None) => self.push(
                subject,
                check,
                CheckStatus::Skip,
                format!("{actual} (nothing to compare with)"),
            ),
        }
    }

    fn owner(
        &mut self,
        subject: &str,
        read: std::result::Result<Address, alloy::contract::Error>,
        expected: Option<Address>,
    ) {
        match (read, expected) {
            (Err(e), _) => self.push(
                subject,
                "owner",
                CheckStatus::Fail,
                format!("call failed: {}", one_line(&e)),
            ),
            (Ok(actual), Some(want)) => self.compare(
                subject,
                "owner",
                actual == want,
                actual.to_string(),
                want.to_string(),
            ),
            (Ok(actual), None) => self.push(
                subject,
                "owner",
                CheckStatus::Warn,
                format!("{actual} (no expected owner given; pass --owner to check it)"),
            ),
        }
    }

    async fn code(
        &mut self,
        subject: &str,
        address: Option<Address>,
        artifacts: &[Contract],
    ) -> Result<()> {
        let Some(address) = address else {
            self.push(
                subject,
                "code",
                CheckStatus::Skip,
                "no address configured or recorded".to_owned(),
            );
            return Ok(());
        };
        let code = self
            .provider
            .get_code_at(address)
            .await
            .map_err(OpsError::rpc(format!("reading the code at {address}")))?;
        let (status, detail) = code_verdict(address, &code, artifacts);
        self.push(subject, "code", status, detail);
        Ok(())
    }

    async fn weights_v3(&mut self, s: &str, at: Address, e: &ExpectedDeployment) {
        let c = WeightsV3::new(at, self.provider);
        self.address(
            s,
            "depositTracker",
            c.depositTracker().call().await,
            e.addresses.deposit_tracker.map(|a| ("DepositTracker", a)),
        );
        self.address(
            s,
            "wtao",
            c.wtao().call().await,
            e.addresses.wtao.map(|a| ("WTAO", a)),
        );
        self.address(
            s,
            "metagraph",
            c.metagraph().call().await,
            Some(("metagraph precompile", METAGRAPH_PRECOMPILE)),
        );
        self.address(
            s,
            "taonado (pool)",
            c.taonado().call().await,
            e.weights_pool.map(|a| ("1 WTAO pool", a)),
        );
        self.netuid(s, c.netuid().call().await, e.netuid);
        self.owner(s, c.owner().call().await, e.owner);
    }

    async fn weights_v2(&mut self, at: Address, e: &ExpectedDeployment) {
        let c = WeightsV2::new(at, self.provider);
        let s = "WeightsV2";
        self.address(
            s,
            "depositTracker",
            c.depositTracker().call().await,
            e.addresses.deposit_tracker.map(|a| ("DepositTracker", a)),
        );
        self.address(
            s,
            "wtao",
            c.wtao().call().await,
            e.addresses.wtao.map(|a| ("WTAO", a)),
        );
        self.address(
            s,
            "metagraph",
            c.metagraph().call().await,
            Some(("metagraph precompile", METAGRAPH_PRECOMPILE)),
        );
        self.netuid(s, c.netuid().call().await, e.netuid);
        self.owner(s, c.owner().call().await, e.owner);
    }

    fn netuid(
        &mut self,
        subject: &str,
        read: std::result::Result<u16, alloy::contract::Error>,
        expected: u16,
    ) {
        match read {
            Ok(n) => self.compare(
                subject,
                "netuid",
                n == expected,
                n.to_string(),
                expected.to_string(),
            ),
            Err(e) => self.push(
                subject,
                "netuid",
                CheckStatus::Fail,
                format!("call failed: {}", one_line(&e)),
            ),
        }
    }

    async fn evm_validator(&mut self, proxy: Address, e: &ExpectedDeployment) -> Result<()> {
        let s = "EvmValidator";
        let slot = self
            .provider
            .get_storage_at(proxy, IMPLEMENTATION_SLOT.into())
            .await
            .map_err(OpsError::rpc(format!(
                "reading the implementation slot of {proxy}"
            )))?;
        let implementation = Address::from_word(B256::from(slot));
        if implementation == Address::ZERO {
            self.push(
                s,
                "implementation slot",
                CheckStatus::Fail,
                "empty: not an ERC-1967 proxy".to_owned(),
            );
        } else {
            match e.evm_validator_implementation {
                Some(want) => self.compare(
                    s,
                    "implementation slot",
                    implementation == want,
                    implementation.to_string(),
                    format!("recorded implementation {want}"),
                ),
                None => self.push(
                    s,
                    "implementation slot",
                    CheckStatus::Pass,
                    format!("{implementation} (ERC-1967)"),
                ),
            }
            let code = self
                .provider
                .get_code_at(implementation)
                .await
                .map_err(OpsError::rpc(format!(
                    "reading the code at {implementation}"
                )))?;
            let (status, detail) = code_verdict(
                implementation,
                &code,
                &[Contract::EvmValidator, Contract::EvmValidatorV2],
            );
            self.push(s, "implementation code", status, detail);
        }

        let c = EvmValidator::new(proxy, self.provider);
        self.address(s, "weights", c.weights().call().await, e.live_weights());
        self.address(
            s,
            "metagraph",
            c.metagraph().call().await,
            Some(("metagraph precompile", METAGRAPH_PRECOMPILE)),
        );
        self.netuid(s, c.netuid().call().await, e.netuid);
        self.owner(s, c.owner().call().await, e.owner);
        Ok(())
    }

    async fn pool(&mut self, denomination: U256, at: Address, e: &ExpectedDeployment) {
        let s = pool_name(denomination);
        let c = ERC20Taonado::new(at, self.provider);
        self.address(
            &s,
            "hasher",
            c.hasher().call().await,
            e.addresses.hasher.map(|a| ("Hasher", a)),
        );
        self.address(
            &s,
            "verifier",
            c.verifier().call().await,
            e.addresses.verifier.map(|a| ("Verifier", a)),
        );
        self.address(
            &s,
            "token",
            c.token().call().await,
            e.addresses.wtao.map(|a| ("WTAO", a)),
        );
        match c.denomination().call().await {
            Ok(d) => self.compare(
                &s,
                "denomination",
                d == denomination,
                format!("{} WTAO", taonado_types::format_tao(d)),
                format!("{} WTAO", taonado_types::format_tao(denomination)),
            ),
            Err(err) => self.push(
                &s,
                "denomination",
                CheckStatus::Fail,
                format!("call failed: {}", one_line(&err)),
            ),
        }
        match c.levels().call().await {
            Ok(levels) => self.compare(
                &s,
                "merkle tree height",
                levels == MERKLE_TREE_HEIGHT,
                levels.to_string(),
                MERKLE_TREE_HEIGHT.to_string(),
            ),
            Err(err) => self.push(
                &s,
                "merkle tree height",
                CheckStatus::Fail,
                format!("call failed: {}", one_line(&err)),
            ),
        }
    }
}

/// How runtime code at `address` compares with the first matching artifact of `artifacts`.
pub fn code_verdict(
    address: Address,
    code: &[u8],
    artifacts: &[Contract],
) -> (CheckStatus, String) {
    if code.is_empty() {
        return (CheckStatus::Fail, format!("{address}: no code"));
    }
    let mut best = CodeMatch::Mismatch;
    let mut which = artifacts.first().copied();
    for &contract in artifacts {
        let found = contract.artifact().compare_code(code);
        if found != CodeMatch::Mismatch {
            best = found;
            which = Some(contract);
            break;
        }
    }
    let name = which.map_or("?", Contract::name);
    match best {
        CodeMatch::Exact => (
            CheckStatus::Pass,
            format!("{address}: equals artifact {name}"),
        ),
        CodeMatch::ExceptImmutables => (
            CheckStatus::Pass,
            format!("{address}: equals artifact {name} (immutables filled in)"),
        ),
        CodeMatch::ExceptMetadata => (
            CheckStatus::Warn,
            format!(
                "{address}: equals artifact {name} except solc metadata (same program, sources formatted differently)"
            ),
        ),
        CodeMatch::Mismatch => (
            CheckStatus::Fail,
            format!(
                "{address}: code differs from artifact {name} (not built from these sources; {} bytes on chain, {} in the artifact)",
                code.len(),
                which.map_or(0, |c| c.artifact().deployed_bytecode.len())
            ),
        ),
    }
}

fn one_line(error: &impl std::fmt::Display) -> String {
    error.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implementation_slot_is_the_eip1967_one() {
        let hash = alloy::primitives::keccak256("eip1967.proxy.implementation");
        let slot = U256::from_be_bytes(hash.0) - U256::from(1u8);
        assert_eq!(B256::from(slot), IMPLEMENTATION_SLOT);
    }

    #[test]
    fn code_verdicts_name_the_artifact_and_the_difference() {
        let address = Address::repeat_byte(1);
        let wtao = Contract::WTAO.artifact().deployed_bytecode.to_vec();
        let (status, detail) = code_verdict(address, &wtao, &[Contract::WTAO]);
        assert_eq!(status, CheckStatus::Pass, "{detail}");
        assert!(detail.contains("equals artifact WTAO"), "{detail}");

        let (status, detail) = code_verdict(address, &[], &[Contract::WTAO]);
        assert_eq!(
            (status, detail.as_str()),
            (
                CheckStatus::Fail,
                "0x0101010101010101010101010101010101010101: no code"
            )
        );

        let mut other = wtao.clone();
        other[3] ^= 0xff;
        let (status, detail) = code_verdict(address, &other, &[Contract::WTAO]);
        assert_eq!(status, CheckStatus::Fail);
        assert!(
            detail.contains("code differs from artifact WTAO (not built from these sources"),
            "{detail}"
        );

        // Either verifier variant is accepted when the family is unknown.
        let eth = Contract::Groth16VerifierEthereum
            .artifact()
            .deployed_bytecode
            .to_vec();
        let (status, detail) = code_verdict(
            address,
            &eth,
            &[
                Contract::Groth16VerifierBittensor,
                Contract::Groth16VerifierEthereum,
            ],
        );
        assert_eq!(status, CheckStatus::Pass);
        assert!(detail.contains("Groth16VerifierEthereum"), "{detail}");
    }

    #[test]
    fn a_record_expects_its_deployer_as_owner_and_the_one_wtao_pool() {
        let mut record = DeploymentRecord::new("local", 42, 2, Address::repeat_byte(0xde));
        let one = U256::from(1_000_000_000_000_000_000u64);
        let contract = |byte: u8| taonado_deployment::ContractRecord {
            address: Address::repeat_byte(byte),
            tx_hash: None,
            block: None,
            gas_used: None,
            artifact: "ERC20Taonado".into(),
            artifact_sha256: None,
            constructor_args: Default::default(),
            deployed_at: 0,
        };
        record.set_pool(one / U256::from(10u8), contract(2));
        record.set_pool(one, contract(3));
        record.contracts.insert(names::WEIGHTS.into(), contract(4));
        let expected = ExpectedDeployment::from_record(&record);
        assert_eq!(expected.owner, Some(Address::repeat_byte(0xde)));
        assert_eq!(expected.weights_pool, Some(Address::repeat_byte(3)));
        assert_eq!(
            expected.live_weights(),
            Some(("WeightsV3", Address::repeat_byte(4)))
        );
        assert_eq!(pool_name(one / U256::from(10u8)), "Pool 0.1 WTAO");
    }

    #[test]
    fn any_failure_fails_the_report() {
        let pass = Check::new("a", "b", CheckStatus::Pass, "");
        let warn = Check::new("a", "b", CheckStatus::Warn, "");
        let fail = Check::new("a", "b", CheckStatus::Fail, "");
        assert!(all_passed(&[pass.clone(), warn.clone()]));
        assert!(!all_passed(&[pass, warn, fail]));
    }
}
