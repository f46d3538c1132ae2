//! Where the protocol is on one network: [`ProtocolAddresses`] (preset, config file or
//! record), [`ProtocolContracts`] (what a watcher follows) and [`Deployment`] (both
//! sources resolved into one answer).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, U256};

use crate::error::{DeploymentError, Result};
use crate::record::{ContractRecord, DeploymentRecord, PoolRecord, names};

/// The record file of `network` under `dir` (normally `./deployments`).
pub fn record_path(dir: &Path, network: &str) -> PathBuf {
    dir.join(format!("{network}.json"))
}

/// Known protocol contract addresses on one network. Every field is optional: a fresh
/// network has none until it is deployed. This is also the `[networks.X.addresses]` table
/// of `taonado.toml`, hence `deny_unknown_fields`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolAddresses {
    /// Wrapped TAO (ERC-20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wtao: Option<Address>,
    /// Deposit tracker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_tracker: Option<Address>,
    /// WeightsV2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_v2: Option<Address>,
    /// WeightsV3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_v3: Option<Address>,
    /// WeightsV4, deployed by `taonado migrate weights --to WeightsV4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_v4: Option<Address>,
    /// EvmValidator (the UUPS proxy, not the implementation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evm_validator: Option<Address>,
    /// MiMCSponge hasher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hasher: Option<Address>,
    /// Groth16 withdraw verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<Address>,
    /// Mixer pools keyed by denomination in WTAO as written in the file ("0.1", "1", ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pools: BTreeMap<String, Address>,
}

impl ProtocolAddresses {
    /// The addresses a deployment record holds.
    pub fn from_record(record: &DeploymentRecord) -> Self {
        let get = |name: &str| record.contracts.get(name).map(|c| c.address);
        Self {
            wtao: get(names::WTAO),
            deposit_tracker: get(names::DEPOSIT_TRACKER),
            weights_v2: get("WeightsV2"),
            weights_v3: get(names::WEIGHTS),
            weights_v4: get(names::WEIGHTS_V4),
            evm_validator: get(names::EVM_VALIDATOR),
            hasher: get(names::HASHER),
            verifier: get(names::VERIFIER),
            pools: record
                .pools
                .iter()
                .map(|p| {
                    (
                        taonado_types::format_tao(p.denomination),
                        p.contract.address,
                    )
                })
                .collect(),
        }
    }

    /// Overlay `other` onto `self`: every address `other` sets wins.
    pub fn overlay(&mut self, other: &ProtocolAddresses) {
        let fields = [
            (&mut self.wtao, other.wtao),
            (&mut self.deposit_tracker, other.deposit_tracker),
            (&mut self.weights_v2, other.weights_v2),
            (&mut self.weights_v3, other.weights_v3),
            (&mut self.weights_v4, other.weights_v4),
            (&mut self.evm_validator, other.evm_validator),
            (&mut self.hasher, other.hasher),
            (&mut self.verifier, other.verifier),
        ];
        for (mine, theirs) in fields {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        for (denomination, address) in &other.pools {
            self.pools.insert(denomination.clone(), *address);
        }
    }

    /// The named contracts that are set, in a stable order, for display.
    /// The contracts with an `owner()`: the EvmValidator proxy and every Weights version
    /// (what `keys rotate` and `multisig take-ownership` move, and `keys audit` checks).
    pub fn owned(&self) -> Vec<(String, Address)> {
        [
            ("EvmValidator", self.evm_validator),
            ("WeightsV2", self.weights_v2),
            ("WeightsV3", self.weights_v3),
            ("WeightsV4", self.weights_v4),
        ]
        .into_iter()
        .filter_map(|(name, address)| address.map(|address| (name.to_owned(), address)))
        .collect()
    }

    pub fn named(&self) -> Vec<(String, Address)> {
        let mut out: Vec<(String, Address)> = [
            ("WTAO", self.wtao),
            ("DepositTracker", self.deposit_tracker),
            ("WeightsV2", self.weights_v2),
            ("WeightsV3", self.weights_v3),
            ("WeightsV4", self.weights_v4),
            ("EvmValidator", self.evm_validator),
            ("Hasher", self.hasher),
            ("Verifier", self.verifier),
        ]
        .into_iter()
        .filter_map(|(name, address)| address.map(|a| (name.to_owned(), a)))
        .collect();
        out.extend(
            self.pools
                .iter()
                .map(|(denomination, address)| (pool_name(denomination), *address)),
        );
        out
    }

    /// True when no address is known.
    pub fn is_empty(&self) -> bool {
        self.named().is_empty()
    }

    /// The weights contract the EvmValidator reads as far as the addresses know: V4
    /// after a migration, else V3, else V2.
    pub fn live_weights(&self) -> Option<(&'static str, Address)> {
        self.weights_v4
            .map(|a| ("WeightsV4", a))
            .or(self.weights_v3.map(|a| ("WeightsV3", a)))
            .or(self.weights_v2.map(|a| ("WeightsV2", a)))
    }

    /// The pools as `(denomination in wei, address)`, ascending. Fails on a key that is
    /// not a TAO amount (a hand-written `taonado.toml`).
    pub fn pools_by_denomination(&self) -> Result<Vec<(U256, Address)>> {
        let mut pools = Vec::with_capacity(self.pools.len());
        for (key, address) in &self.pools {
            let wei = taonado_types::parse_tao(key).map_err(|e| DeploymentError::PoolKey {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            pools.push((wei, *address));
        }
        pools.sort();
        Ok(pools)
    }
}

/// How every command names a pool: `Pool 1 WTAO` for the pool of `amount` `"1"` (TAO).
pub fn pool_name(amount: &str) -> String {
    format!("Pool {amount} WTAO")
}

/// The protocol contracts a watcher (the indexer, the monitor) follows. Missing ones are
/// skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProtocolContracts {
    pub wtao: Option<Address>,
    pub deposit_tracker: Option<Address>,
    /// The live weights contract (V4 after a migration, else V3, else V2). Watchers check
    /// on chain that the EvmValidator reads it.
    pub weights: Option<Address>,
    /// What the deployment calls `weights` (`WeightsV4`, `WeightsV3`, `WeightsV2`).
    pub weights_name: Option<&'static str>,
    /// The EvmValidator proxy.
    pub evm_validator: Option<Address>,
    /// The pools by TAO amount (`"0.1"`, `"1"`, …), as [`ProtocolAddresses::pools`].
    pub pools: BTreeMap<String, Address>,
    /// The index starts at or before WTAO's deployment, so its events give the wrapped
    /// total (true where the protocol deployed its own WTAO).
    pub wtao_fully_indexed: bool,
}

impl ProtocolContracts {
    /// `(name, address)` of every configured contract.
    pub fn named(&self) -> Vec<(String, Address)> {
        let mut out = Vec::new();
        for (name, address) in [
            ("WTAO", self.wtao),
            ("DepositTracker", self.deposit_tracker),
            (self.weights_name.unwrap_or("Weights"), self.weights),
            ("EvmValidator", self.evm_validator),
        ] {
            if let Some(address) = address {
                out.push((name.to_owned(), address));
            }
        }
        for (amount, pool) in &self.pools {
            out.push((pool_name(amount), *pool));
        }
        out
    }

    /// Every configured address, sorted and unique (an `eth_getLogs` filter).
    pub fn addresses(&self) -> Vec<Address> {
        let mut all: Vec<Address> = [
            self.wtao,
            self.deposit_tracker,
            self.weights,
            self.evm_validator,
        ]
        .into_iter()
        .flatten()
        .chain(self.pools.values().copied())
        .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// One network's deployment: the configured addresses (preset or `taonado.toml`) with the
/// record in the deployments directory laid over them. Every command that needs to know
/// where the protocol is asks this, once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub network: String,
    pub chain_id: u64,
    /// Where the record is, or would be written.
    pub record_path: PathBuf,
    /// The record, when one exists.
    pub record: Option<DeploymentRecord>,
    /// Configured addresses with the record's laid over them.
    pub addresses: ProtocolAddresses,
}

impl Deployment {
    /// Resolves `network` (chain `chain_id`) from `configured` and the record in `dir`.
    /// Fails when the record is unreadable or belongs to another chain.
    pub fn load(
        dir: &Path,
        network: &str,
        chain_id: u64,
        configured: &ProtocolAddresses,
    ) -> Result<Self> {
        let record_path = record_path(dir, network);
        let record = DeploymentRecord::load(&record_path)?;
        let mut addresses = configured.clone();
        if let Some(record) = &record {
            if record.chain_id != chain_id {
                return Err(DeploymentError::ChainMismatch {
                    path: record_path,
                    network: network.to_owned(),
                    network_chain_id: chain_id,
                    record_chain_id: record.chain_id,
                });
            }
            addresses.overlay(&ProtocolAddresses::from_record(record));
        }
        Ok(Self {
            network: network.to_owned(),
            chain_id,
            record_path,
            record,
            addresses,
        })
    }

    /// The record when there is one; otherwise, when the configuration names pools (the
    /// mainnet and testnet presets do), a record of the configured addresses. That is how
    /// the live pools are used without a `deployments/<network>.json` of ours: it is
    /// never saved, and it knows no deployment blocks (`block: None`), so event scans find
    /// where a contract begins themselves. `None` when neither exists.
    pub fn record_or_configured(&self, netuid: u16) -> Result<Option<DeploymentRecord>> {
        if let Some(record) = &self.record {
            return Ok(Some(record.clone()));
        }
        if self.addresses.pools.is_empty() {
            return Ok(None);
        }
        let mut record = DeploymentRecord::new(&self.network, self.chain_id, netuid, Address::ZERO);
        record.created_at = 0;
        record.updated_at = 0;
        let configured = |address: Address| ContractRecord {
            address,
            tx_hash: None,
            block: None,
            gas_used: None,
            artifact: String::new(),
            artifact_sha256: None,
            constructor_args: Default::default(),
            deployed_at: 0,
        };
        let a = &self.addresses;
        let named = [
            (names::WTAO, a.wtao),
            (names::DEPOSIT_TRACKER, a.deposit_tracker),
            ("WeightsV2", a.weights_v2),
            (names::WEIGHTS, a.weights_v3),
            (names::WEIGHTS_V4, a.weights_v4),
            (names::EVM_VALIDATOR, a.evm_validator),
            (names::HASHER, a.hasher),
            (names::VERIFIER, a.verifier),
        ];
        for (name, address) in named {
            if let Some(address) = address {
                record
                    .contracts
                    .insert(name.to_owned(), configured(address));
            }
        }
        record.pools = a
            .pools_by_denomination()?
            .into_iter()
            .map(|(denomination, address)| PoolRecord {
                denomination,
                contract: configured(address),
            })
            .collect();
        Ok(Some(record))
    }

    /// The earliest block the record names: nothing of the protocol happened before it.
    pub fn first_block(&self) -> Option<u64> {
        let record = self.record.as_ref()?;
        record
            .contracts
            .values()
            .filter_map(|c| c.block)
            .chain(record.pools.iter().filter_map(|p| p.contract.block))
            .min()
    }

    /// What a watcher follows. `wtao_fully_indexed`: the index covers WTAO's whole
    /// history (the protocol deployed its own WTAO).
    pub fn watched(&self, wtao_fully_indexed: bool) -> ProtocolContracts {
        let a = &self.addresses;
        ProtocolContracts {
            wtao: a.wtao,
            deposit_tracker: a.deposit_tracker,
            weights: a.live_weights().map(|(_, address)| address),
            weights_name: a.live_weights().map(|(name, _)| name),
            evm_validator: a.evm_validator,
            pools: a.pools.clone(),
            wtao_fully_indexed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{
        "network": "local", "chain_id": 42, "netuid": 2,
        "deployer": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "verifier": null,
        "contracts": {
            "WTAO": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "tx_hash": null, "block": 3, "artifact": "WTAO", "artifact_sha256": null},
            "EvmValidator": {"address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "tx_hash": null, "block": 9, "artifact": "ERC1967Proxy", "artifact_sha256": null}
        },
        "pools": [
            {"denomination": "0x16345785d8a0000", "address": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", "tx_hash": null, "block": 5, "artifact": "ERC20Taonado", "artifact_sha256": null}
        ]
    }"#;

    fn local(dir: &Path, configured: &ProtocolAddresses) -> Result<Deployment> {
        Deployment::load(dir, "local", 42, configured)
    }

    #[test]
    fn a_hand_written_record_overlays_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(record_path(dir.path(), "local"), RECORD).unwrap();
        let configured = ProtocolAddresses {
            hasher: Some(Address::repeat_byte(7)),
            wtao: Some(Address::repeat_byte(1)),
            ..ProtocolAddresses::default()
        };
        let deployment = local(dir.path(), &configured).unwrap();
        let a = &deployment.addresses;
        assert_eq!(
            a.wtao,
            Some(
                "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                    .parse()
                    .unwrap()
            )
        );
        assert!(a.evm_validator.is_some());
        assert_eq!(a.hasher, Some(Address::repeat_byte(7)));
        assert_eq!(
            a.pools.get("0.1"),
            Some(
                &"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
                    .parse()
                    .unwrap()
            )
        );
        assert_eq!(deployment.first_block(), Some(3));
        let watched = deployment.watched(true);
        assert_eq!(watched.pools.len(), 1);
        assert!(
            watched
                .named()
                .iter()
                .any(|(name, _)| name == "Pool 0.1 WTAO"),
            "{:?}",
            watched.named()
        );
        assert_eq!(watched.addresses().len(), 3);
    }

    #[test]
    fn a_migrated_record_watches_weights_v4() {
        let dir = tempfile::tempdir().unwrap();
        let migrated = RECORD.replace(
            "\"contracts\": {",
            r#""contracts": {
            "WeightsV3": {"address": "0x0000000000000000000000000000000000000003", "artifact": "WeightsV3"},
            "WeightsV4": {"address": "0x0000000000000000000000000000000000000004", "artifact": "WeightsV4"},"#,
        );
        std::fs::write(record_path(dir.path(), "local"), migrated).unwrap();
        let deployment = local(dir.path(), &ProtocolAddresses::default()).unwrap();
        assert_eq!(
            deployment.addresses.live_weights(),
            Some(("WeightsV4", Address::with_last_byte(4)))
        );
        assert_eq!(
            deployment.watched(true).weights,
            Some(Address::with_last_byte(4))
        );
    }

    #[test]
    fn without_a_record_the_configured_pools_make_an_unsaved_record_without_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let none = local(dir.path(), &ProtocolAddresses::default()).unwrap();
        assert_eq!(none.record_or_configured(113).unwrap(), None);

        let mut configured = ProtocolAddresses {
            wtao: Some(Address::repeat_byte(1)),
            verifier: Some(Address::repeat_byte(2)),
            ..ProtocolAddresses::default()
        };
        configured.pools.insert("1".into(), Address::repeat_byte(3));
        let deployment = local(dir.path(), &configured).unwrap();
        let record = deployment.record_or_configured(113).unwrap().unwrap();
        assert_eq!((record.chain_id, record.netuid), (42, 113));
        assert_eq!(
            record.address(names::WTAO).unwrap(),
            Address::repeat_byte(1)
        );
        assert_eq!(record.contracts[names::VERIFIER].block, None);
        assert_eq!(record.pools.len(), 1);
        assert_eq!(
            record.pools[0].denomination,
            U256::from(10u64).pow(U256::from(18))
        );
        assert_eq!(record.pools[0].contract.address, Address::repeat_byte(3));
        assert_eq!(record.pools[0].contract.block, None);
        assert!(
            !record_path(dir.path(), "local").exists(),
            "nothing is written"
        );

        // A record, where one exists, is what is used.
        std::fs::write(record_path(dir.path(), "local"), RECORD).unwrap();
        let recorded = local(dir.path(), &configured).unwrap();
        assert_eq!(
            recorded.record_or_configured(113).unwrap().as_ref(),
            recorded.record.as_ref()
        );
    }

    #[test]
    fn pool_keys_parse_to_sorted_denominations_or_name_the_bad_key() {
        let mut addresses = ProtocolAddresses::default();
        addresses
            .pools
            .insert("1".into(), Address::with_last_byte(1));
        addresses
            .pools
            .insert("0.1".into(), Address::with_last_byte(2));
        let tenth = U256::from(100_000_000_000_000_000u64);
        assert_eq!(
            addresses.pools_by_denomination().unwrap(),
            vec![
                (tenth, Address::with_last_byte(2)),
                (tenth * U256::from(10u8), Address::with_last_byte(1))
            ]
        );
        addresses
            .pools
            .insert("one".into(), Address::with_last_byte(3));
        let err = addresses.pools_by_denomination().unwrap_err();
        assert!(err.to_string().contains("`one`"), "{err}");
    }

    #[test]
    fn missing_record_keeps_config_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let configured = ProtocolAddresses {
            weights_v2: Some(Address::repeat_byte(2)),
            ..ProtocolAddresses::default()
        };
        let deployment = local(dir.path(), &configured).unwrap();
        assert_eq!(deployment.addresses, configured);
        assert_eq!(deployment.record, None);
        assert_eq!(deployment.first_block(), None);
        assert_eq!(deployment.watched(false).weights, configured.weights_v2);
    }

    #[test]
    fn record_of_another_chain_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            record_path(dir.path(), "local"),
            RECORD.replace("\"chain_id\": 42", "\"chain_id\": 945"),
        )
        .unwrap();
        let err = local(dir.path(), &ProtocolAddresses::default()).unwrap_err();
        assert!(
            matches!(
                err,
                DeploymentError::ChainMismatch {
                    record_chain_id: 945,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_record_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(record_path(dir.path(), "local"), "{").unwrap();
        let err = local(dir.path(), &ProtocolAddresses::default()).unwrap_err();
        assert!(err.to_string().contains("local.json"), "{err}");
        // The cause is in the message, so it must not come again as a source: a chain
        // printed in full (the CLI's `{:#}`) would say it twice.
        assert!(std::error::Error::source(&err).is_none(), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn watched_addresses_are_sorted_unique_and_complete(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)
        ) {
            let pools: Vec<Address> = bytes.iter().map(|b| Address::repeat_byte(*b)).collect();
            let contracts = ProtocolContracts {
                wtao: bytes.first().map(|b| Address::repeat_byte(*b)),
                pools: pools
                    .iter()
                    .enumerate()
                    .map(|(i, pool)| (i.to_string(), *pool))
                    .collect(),
                ..ProtocolContracts::default()
            };
            let all = contracts.addresses();
            proptest::prop_assert!(all.windows(2).all(|w| w[0] < w[1]));
            for pool in pools {
                proptest::prop_assert!(all.contains(&pool));
            }
        }
    }
}
