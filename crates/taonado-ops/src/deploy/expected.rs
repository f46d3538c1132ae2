//! What `deploy verify` expects on chain: the network's deployment record, or without one
//! the network's configured addresses (the built-in presets or `taonado.toml`).

use std::path::Path;

use alloy::primitives::U256;
use taonado_config::NetworkConfig;

use super::family::ChainFamily;
use super::verify::{AddressSource, ExpectedDeployment};
use crate::error::OpsError;
use crate::record::DeploymentRecord;

/// Why there is nothing (sound) to verify against.
#[derive(Debug, thiserror::Error)]
pub enum ExpectedError {
    #[error(
        "{} is a chain {record_chain_id} record but network {network} is chain {chain_id}",
        path.display()
    )]
    RecordChain {
        path: std::path::PathBuf,
        record_chain_id: u64,
        network: String,
        chain_id: u64,
    },

    #[error(
        "nothing to verify on {network}: no {} and no configured addresses; run `taonado deploy` first",
        path.display()
    )]
    NothingToVerify {
        network: String,
        path: std::path::PathBuf,
    },

    #[error(
        "networks.{network}.addresses.pools key `{denomination}` is not a TAO amount: {reason}"
    )]
    PoolKey {
        network: String,
        denomination: String,
        reason: String,
    },

    #[error(transparent)]
    Ops(Box<OpsError>),
}

impl From<OpsError> for ExpectedError {
    fn from(error: OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

/// The record at `record_path` when there is one (it must be this network's chain), else
/// the configured addresses.
pub fn expected_deployment(
    network: &NetworkConfig,
    record_path: &Path,
) -> Result<(ExpectedDeployment, AddressSource), ExpectedError> {
    match DeploymentRecord::load(record_path)? {
        Some(record) if record.chain_id != network.chain_id => Err(ExpectedError::RecordChain {
            path: record_path.to_owned(),
            record_chain_id: record.chain_id,
            network: network.name.clone(),
            chain_id: network.chain_id,
        }),
        Some(record) => Ok((
            ExpectedDeployment::from_record(&record),
            AddressSource::Record(record_path.to_owned()),
        )),
        None if network.addresses.is_empty() => Err(ExpectedError::NothingToVerify {
            network: network.name.clone(),
            path: record_path.to_owned(),
        }),
        None => Ok((from_config(network)?, AddressSource::Config)),
    }
}

/// The configured addresses as an expected deployment.
pub fn from_config(network: &NetworkConfig) -> Result<ExpectedDeployment, ExpectedError> {
    let a = &network.addresses;
    let mut pools = Vec::new();
    for (denomination, address) in &a.pools {
        let wei = taonado_types::parse_tao(denomination).map_err(|e| ExpectedError::PoolKey {
            network: network.name.clone(),
            denomination: denomination.clone(),
            reason: e.to_string(),
        })?;
        pools.push((wei, *address));
    }
    pools.sort();
    let denominations: Vec<U256> = pools.iter().map(|(d, _)| *d).collect();
    let weights_pool = super::weights_pool_denomination(&denominations)
        .and_then(|d| pools.iter().find(|(p, _)| *p == d).map(|(_, a)| *a));
    Ok(ExpectedDeployment {
        chain_id: network.chain_id,
        netuid: network.netuid,
        wtao: a.wtao,
        deposit_tracker: a.deposit_tracker,
        weights_v2: a.weights_v2,
        weights_v3: a.weights_v3,
        weights_v4: None,
        evm_validator: a.evm_validator,
        evm_validator_implementation: None,
        hasher: a.hasher,
        verifier: a.verifier,
        verifier_family: Some(ChainFamily::from_chain_id(network.chain_id)),
        pools,
        weights_pool,
        owner: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_record_the_configured_addresses_are_expected() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("x.json");
        let mainnet = taonado_config::Config::builtin()
            .network("mainnet")
            .expect("the mainnet preset");
        let (expected, source) = expected_deployment(&mainnet, &path).expect("the preset");
        assert_eq!(source, AddressSource::Config);
        assert_eq!(expected.wtao, mainnet.addresses.wtao);
        assert_eq!(expected.pools.len(), mainnet.addresses.pools.len());

        let mut empty = mainnet.clone();
        empty.addresses = Default::default();
        let err = expected_deployment(&empty, &path).expect_err("nothing to verify");
        assert!(
            err.to_string().starts_with("nothing to verify on mainnet"),
            "{err}"
        );
    }
}
