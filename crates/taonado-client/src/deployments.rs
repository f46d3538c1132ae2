//! `deployments/<network>.json` (written by `taonado deploy`) to protocol addresses.
//!
//! Only the fields needed for addresses are read, so this crate does not depend on the
//! ops crate that owns the full record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use taonado_config::{NetworkConfig, ProtocolAddresses};

use crate::error::{ClientError, Result};
use crate::fs;

/// The record file of `network` under `dir` (normally `./deployments`).
pub fn deployments_path(dir: &Path, network: &str) -> PathBuf {
    dir.join(format!("{network}.json"))
}

#[derive(serde::Deserialize)]
struct RecordAddresses {
    chain_id: u64,
    #[serde(default)]
    contracts: BTreeMap<String, ContractAddress>,
    #[serde(default)]
    pools: Vec<PoolAddress>,
}

#[derive(serde::Deserialize)]
struct ContractAddress {
    address: Address,
}

#[derive(serde::Deserialize)]
struct PoolAddress {
    denomination: U256,
    address: Address,
}

/// The addresses recorded in `path`, or `None` when the file does not exist. Fails when
/// the record belongs to another chain than `network`.
pub fn load_recorded_addresses(
    path: &Path,
    network: &NetworkConfig,
) -> Result<Option<ProtocolAddresses>> {
    let Some(text) = fs::read_optional(path)? else {
        return Ok(None);
    };
    let record: RecordAddresses =
        serde_json::from_str(&text).map_err(|source| ClientError::DeploymentsFormat {
            path: path.to_owned(),
            source,
        })?;
    if record.chain_id != network.chain_id {
        return Err(ClientError::DeploymentsChainMismatch {
            path: path.to_owned(),
            network: network.name.clone(),
            network_chain_id: network.chain_id,
            record_chain_id: record.chain_id,
        });
    }
    let get = |name: &str| record.contracts.get(name).map(|c| c.address);
    Ok(Some(ProtocolAddresses {
        wtao: get("WTAO"),
        deposit_tracker: get("DepositTracker"),
        weights_v2: get("WeightsV2"),
        weights_v3: get("WeightsV3"),
        evm_validator: get("EvmValidator"),
        hasher: get("Hasher"),
        verifier: get("Verifier"),
        pools: record
            .pools
            .iter()
            .map(|p| (taonado_types::format_tao(p.denomination), p.address))
            .collect(),
    }))
}

/// The network's protocol addresses: the config's (preset or file) with the deployments
/// record in `dir` laid over them.
pub fn protocol_addresses(network: &NetworkConfig, dir: &Path) -> Result<ProtocolAddresses> {
    let mut addresses = network.addresses.clone();
    let path = deployments_path(dir, &network.name);
    if let Some(recorded) = load_recorded_addresses(&path, network)? {
        tracing::debug!(path = %path.display(), "using recorded deployment");
        addresses.overlay(&recorded);
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use taonado_config::Config;

    use super::*;

    const RECORD: &str = r#"{
        "network": "local", "chain_id": 42, "netuid": 2,
        "deployer": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "contracts": {
            "WTAO": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "artifact": "WTAO"},
            "EvmValidator": {"address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "artifact": "ERC1967Proxy"}
        },
        "pools": [
            {"denomination": "0x16345785d8a0000", "address": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", "artifact": "ERC20Taonado"}
        ]
    }"#;

    fn local() -> NetworkConfig {
        Config::builtin().network("local").unwrap()
    }

    #[test]
    fn record_addresses_overlay_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(deployments_path(dir.path(), "local"), RECORD).unwrap();
        let addresses = protocol_addresses(&local(), dir.path()).unwrap();
        assert_eq!(
            addresses.wtao,
            Some(
                "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                    .parse()
                    .unwrap()
            )
        );
        assert!(addresses.evm_validator.is_some());
        assert_eq!(addresses.hasher, None);
        assert_eq!(
            addresses.pools.get("0.1"),
            Some(
                &"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
                    .parse()
                    .unwrap()
            )
        );
    }

    #[test]
    fn missing_record_keeps_config_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let testnet = Config::builtin().network("testnet").unwrap();
        assert_eq!(
            protocol_addresses(&testnet, dir.path()).unwrap(),
            testnet.addresses
        );
    }

    #[test]
    fn record_of_another_chain_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            deployments_path(dir.path(), "local"),
            RECORD.replace("\"chain_id\": 42", "\"chain_id\": 945"),
        )
        .unwrap();
        let err = protocol_addresses(&local(), dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::DeploymentsChainMismatch {
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
        std::fs::write(deployments_path(dir.path(), "local"), "{").unwrap();
        let err = protocol_addresses(&local(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("local.json"), "{err}");
    }
}
