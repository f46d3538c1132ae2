//! The protocol's addresses and first block of a network, as the services take them: the
//! config's addresses with the deployment record laid over them. Every service reads them
//! through these two functions, so a change of the deployment model is one edit here.

use std::path::Path;

use taonado_client::ClientError;
use taonado_config::NetworkConfig;
use taonado_monitor::ProtocolContracts;

/// The protocol contracts of `network` (config + deployment record in `dir`).
pub fn protocol_contracts(
    network: &NetworkConfig,
    dir: &Path,
) -> Result<ProtocolContracts, ClientError> {
    let a = taonado_client::protocol_addresses(network, dir)?;
    Ok(ProtocolContracts {
        wtao: a.wtao,
        deposit_tracker: a.deposit_tracker,
        weights: a.weights_v3.or(a.weights_v2),
        evm_validator: a.evm_validator,
        pools: a.pools.values().copied().collect(),
        // Where the protocol deployed its own WTAO, the index starts at that deployment.
        wtao_fully_indexed: network.wtao_owned,
    })
}

/// The deployment's earliest recorded block (nothing of the protocol happened before);
/// `None` without a record or without blocks in it.
pub fn deployment_block(network: &NetworkConfig, dir: &Path) -> crate::Result<Option<u64>> {
    let path = taonado_client::deployments_path(dir, &network.name);
    Ok(
        taonado_ops::DeploymentRecord::load(&path)?.and_then(|record| {
            record
                .contracts
                .values()
                .filter_map(|c| c.block)
                .chain(record.pools.iter().filter_map(|p| p.contract.block))
                .min()
        }),
    )
}
