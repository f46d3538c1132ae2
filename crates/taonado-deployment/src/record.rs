//! `deployments/<network>.json`: what `deploy` has put on chain, written after every step so
//! that an interrupted deployment resumes where it stopped. `migrate` and `upgrade` add to
//! it; every other command reads addresses from it through [`crate::Deployment`].

use std::collections::BTreeMap;
use std::path::Path;

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::error::{DeploymentError, Result};
use crate::{fs, unix_now};

/// Names of the contracts in [`DeploymentRecord::contracts`].
pub mod names {
    pub const WTAO: &str = "WTAO";
    pub const DEPOSIT_TRACKER: &str = "DepositTracker";
    pub const WEIGHTS: &str = "WeightsV3";
    /// Written by `taonado migrate weights --to WeightsV4`.
    pub const WEIGHTS_V4: &str = "WeightsV4";
    /// Written by `taonado upgrade evm-validator --execute`.
    pub const EVM_VALIDATOR_V2_IMPLEMENTATION: &str = "EvmValidatorV2Implementation";
    pub const EVM_VALIDATOR_IMPLEMENTATION: &str = "EvmValidatorImplementation";
    /// The ERC-1967 proxy: the address users and the CLI talk to.
    pub const EVM_VALIDATOR: &str = "EvmValidator";
    pub const HASHER: &str = "Hasher";
    pub const VERIFIER: &str = "Verifier";
    /// The Safe multisig (a Safe 1.4.1 proxy) written by `taonado multisig setup`.
    pub const SAFE: &str = "Safe";
    /// Safe 1.4.1's contracts, recorded only where `multisig setup` deployed them (a chain
    /// without Safe's canonical deployment, such as the dev chain).
    pub const SAFE_SINGLETON: &str = "SafeL2Singleton";
    pub const SAFE_PROXY_FACTORY: &str = "SafeProxyFactory";
    pub const SAFE_FALLBACK_HANDLER: &str = "SafeCompatibilityFallbackHandler";
    pub const SAFE_MULTI_SEND_CALL_ONLY: &str = "SafeMultiSendCallOnly";
}

/// The record of one network's deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub network: String,
    pub chain_id: u64,
    pub netuid: u16,
    pub deployer: Address,
    /// The local subnet the EvmValidator was wired to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubnetKind>,
    /// Which verifier variant was deployed and from which key setup; `None` until then.
    pub verifier: Option<VerifierRecord>,
    /// Singleton contracts by name (see [`names`]).
    pub contracts: BTreeMap<String, ContractRecord>,
    /// The mixer pools, ascending by denomination.
    pub pools: Vec<PoolRecord>,
    /// Transactions that configured the contracts after deployment, by wiring step.
    #[serde(default)]
    pub wiring: BTreeMap<String, B256>,
    /// A deployment that was about to be sent when the record was last saved. On resume its
    /// predicted address tells whether the transaction made it on chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingDeployment>,
    /// Unix seconds (0 in a record written by hand).
    #[serde(default)]
    pub created_at: u64,
    #[serde(default)]
    pub updated_at: u64,
}

/// Which kind of local subnet a deployment runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubnetKind {
    /// The taonado devnet's emulated subtensor (`subtensor_*` dev RPC methods).
    Devnet,
    /// anvil with MockMetagraph/MockNeuron at 0x802/0x804.
    AnvilMocks,
}

/// One deployed contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRecord {
    pub address: Address,
    /// `None` for contracts the protocol uses but did not deploy (mainnet WTAO).
    pub tx_hash: Option<B256>,
    pub block: Option<u64>,
    /// Gas the deployment used, when its receipt was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_used: Option<u64>,
    /// The artifact the contract was built from (`WTAO`, `ERC20Taonado`, `Verifier` ...).
    pub artifact: String,
    /// sha256 of the init code that was sent (without constructor arguments).
    pub artifact_sha256: Option<B256>,
    /// ABI-encoded constructor arguments: a re-run redeploys when these change.
    #[serde(default)]
    pub constructor_args: Bytes,
    /// Unix seconds (0 in a record written by hand).
    #[serde(default)]
    pub deployed_at: u64,
}

/// One mixer pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRecord {
    /// Wei of WTAO per note.
    pub denomination: U256,
    #[serde(flatten)]
    pub contract: ContractRecord,
}

/// The verifier variant and the verification key it embeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierRecord {
    /// `ethereum` (bn256 add at 0x6) or `bittensor` (bn256 add at 0x9).
    pub family: String,
    /// Where the key comes from: `local-dev-insecure`, `test-circuit`, `ceremony:<name>`.
    pub key_setup: String,
    pub circuit: Option<String>,
    pub circuit_hash: Option<String>,
}

/// A deployment transaction that may have been sent but whose result was not recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeployment {
    pub step: String,
    /// The deployer nonce the transaction uses; with the deployer it fixes the address.
    pub nonce: u64,
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<B256>,
}

impl DeploymentRecord {
    /// An empty record for a new deployment.
    pub fn new(network: &str, chain_id: u64, netuid: u16, deployer: Address) -> Self {
        let now = unix_now();
        Self {
            network: network.to_owned(),
            chain_id,
            netuid,
            deployer,
            subnet: None,
            verifier: None,
            contracts: BTreeMap::new(),
            pools: Vec::new(),
            wiring: BTreeMap::new(),
            pending: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Reads a record; `Ok(None)` when the file does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let Some(text) = fs::read_optional(path)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| DeploymentError::Format {
                path: path.to_path_buf(),
                error,
            })
    }

    /// Writes the record atomically (temporary file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut json =
            serde_json::to_vec_pretty(self).map_err(|error| DeploymentError::Format {
                path: path.to_path_buf(),
                error,
            })?;
        json.push(b'\n');
        fs::write_atomic(path, &json)
    }

    /// The address of a singleton contract (see [`names`]).
    pub fn address(&self, name: &str) -> Result<Address> {
        self.contracts.get(name).map(|c| c.address).ok_or_else(|| {
            DeploymentError::MissingContract {
                name: name.to_owned(),
            }
        })
    }

    /// The pool for a denomination, if deployed.
    pub fn pool(&self, denomination: U256) -> Option<&PoolRecord> {
        self.pools.iter().find(|p| p.denomination == denomination)
    }

    /// Records the pool of `denomination`, replacing an earlier one; pools stay sorted.
    pub fn set_pool(&mut self, denomination: U256, contract: ContractRecord) {
        self.pools.retain(|p| p.denomination != denomination);
        self.pools.push(PoolRecord {
            denomination,
            contract,
        });
        self.pools.sort_by_key(|p| p.denomination);
    }

    /// Marks the record as changed now.
    pub fn touch(&mut self) {
        self.updated_at = unix_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DeploymentRecord {
        let mut record = DeploymentRecord::new("local", 42, 2, Address::repeat_byte(0xde));
        let contract = |byte: u8, artifact: &str| ContractRecord {
            address: Address::repeat_byte(byte),
            tx_hash: Some(B256::repeat_byte(byte)),
            block: Some(u64::from(byte)),
            gas_used: Some(1_000_000),
            artifact: artifact.to_owned(),
            artifact_sha256: Some(B256::repeat_byte(byte ^ 0xff)),
            constructor_args: Bytes::from(vec![byte; 3]),
            deployed_at: 1_700_000_000,
        };
        record
            .contracts
            .insert(names::WTAO.into(), contract(1, "WTAO"));
        record.set_pool(
            U256::from(10u64).pow(U256::from(18)),
            contract(3, "ERC20Taonado"),
        );
        record.set_pool(
            U256::from(10u64).pow(U256::from(17)),
            contract(2, "ERC20Taonado"),
        );
        record.verifier = Some(VerifierRecord {
            family: "bittensor".into(),
            key_setup: "local-dev-insecure".into(),
            circuit: Some("withdraw-h20".into()),
            circuit_hash: None,
        });
        record.pending = Some(PendingDeployment {
            step: names::HASHER.into(),
            nonce: 7,
            address: Address::repeat_byte(9),
            tx_hash: None,
        });
        record
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployments/local.json");
        let record = sample();
        record.save(&path).unwrap();
        assert_eq!(DeploymentRecord::load(&path).unwrap(), Some(record));
    }

    #[test]
    fn pools_stay_sorted_and_unique() {
        let mut record = sample();
        let denominations: Vec<U256> = record.pools.iter().map(|p| p.denomination).collect();
        assert!(denominations.windows(2).all(|w| w[0] < w[1]));
        let again = record.pools[0].contract.clone();
        record.set_pool(denominations[0], again);
        assert_eq!(record.pools.len(), 2);
    }

    #[test]
    fn missing_file_is_none_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.json");
        assert_eq!(DeploymentRecord::load(&path).unwrap(), None);
        std::fs::write(&path, "{not json").unwrap();
        let err = DeploymentRecord::load(&path).unwrap_err();
        assert!(matches!(err, DeploymentError::Format { .. }), "{err}");
    }
}
