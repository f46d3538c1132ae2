//! Typed, resolved network configuration.

use std::path::Path;

use taonado_deployment::{Deployment, DeploymentError, ProtocolAddresses};
use url::Url;

/// One network, after presets, the config file and overrides have been layered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The name used with `--network` and for `deployments/<name>.json`.
    pub name: String,
    /// The EVM chain id; every connection is checked against it.
    pub chain_id: u64,
    /// The JSON-RPC endpoint.
    pub rpc_url: Url,
    /// The Bittensor subnet the protocol runs on.
    pub netuid: u16,
    /// Etherscan-compatible explorer API used for source verification, if any.
    pub explorer_api: Option<Url>,
    /// Whether the protocol deploys its own WTAO here (false where WTAO already exists and
    /// belongs to someone else, as on mainnet).
    pub wtao_owned: bool,
    /// Whether this is a local development chain (`taonado devnet` or anvil), which allows
    /// dev-only conveniences such as the default insecure verifying key.
    pub dev_chain: bool,
    /// Addresses of deployed protocol contracts known from the preset or the config file.
    /// `deployments/<name>.json` takes precedence where it exists.
    pub addresses: ProtocolAddresses,
    /// Default signer for this network, by reference only (never a key).
    pub signer: SignerRef,
    /// Who must own the protocol's contracts (the owner key or the multisig); `keys audit
    /// --onchain` compares each contract's `owner()` with it (the record's deployer when
    /// unset).
    pub owner: Option<alloy_primitives::Address>,
}

impl NetworkConfig {
    /// Where the protocol is on this network: the configured addresses with the record in
    /// `deployments_dir` (`<name>.json`) laid over them.
    pub fn deployment(&self, deployments_dir: &Path) -> Result<Deployment, DeploymentError> {
        Deployment::load(deployments_dir, &self.name, self.chain_id, &self.addresses)
    }
}

/// Which signer a network uses by default. Names a keystore file or a Foundry account;
/// the config never holds a private key or a password.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerRef {
    /// Path to an encrypted JSON keystore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore: Option<std::path::PathBuf>,
    /// Name of a keystore in `~/.foundry/keystores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// File whose first line is the keystore password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<std::path::PathBuf>,
}

impl SignerRef {
    fn overlay(&mut self, other: &SignerRef) {
        if other.keystore.is_some() {
            self.keystore.clone_from(&other.keystore);
        }
        if other.account.is_some() {
            self.account.clone_from(&other.account);
        }
        if other.password_file.is_some() {
            self.password_file.clone_from(&other.password_file);
        }
    }
}

/// A partial network: one layer (file table, environment or flags) laid over a preset.
/// Every field is optional; a set field replaces the value below it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkOverride {
    /// EVM chain id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// JSON-RPC endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_url: Option<Url>,
    /// Subnet id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netuid: Option<u16>,
    /// Explorer API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_api: Option<Url>,
    /// Whether the protocol deploys its own WTAO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wtao_owned: Option<bool>,
    /// Whether this is a local development chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_chain: Option<bool>,
    /// Known contract addresses.
    #[serde(default, skip_serializing_if = "ProtocolAddresses::is_empty")]
    pub addresses: ProtocolAddresses,
    /// Default signer reference.
    #[serde(default, skip_serializing_if = "is_default_signer")]
    pub signer: SignerRef,
    /// Who must own the protocol's contracts (the owner key or the multisig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<alloy_primitives::Address>,
}

fn is_default_signer(signer: &SignerRef) -> bool {
    *signer == SignerRef::default()
}

impl NetworkOverride {
    /// Apply this layer on top of a resolved network.
    pub fn apply_to(&self, network: &mut NetworkConfig) {
        if let Some(chain_id) = self.chain_id {
            network.chain_id = chain_id;
        }
        if let Some(url) = &self.rpc_url {
            network.rpc_url = url.clone();
        }
        if let Some(netuid) = self.netuid {
            network.netuid = netuid;
        }
        if self.explorer_api.is_some() {
            network.explorer_api.clone_from(&self.explorer_api);
        }
        if let Some(owned) = self.wtao_owned {
            network.wtao_owned = owned;
        }
        if let Some(dev) = self.dev_chain {
            network.dev_chain = dev;
        }
        network.addresses.overlay(&self.addresses);
        network.signer.overlay(&self.signer);
        if self.owner.is_some() {
            network.owner = self.owner;
        }
    }

    /// True when this layer changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == NetworkOverride::default()
    }
}
