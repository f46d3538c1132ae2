//! Typed, resolved network configuration.

use std::collections::BTreeMap;

use alloy_primitives::Address;
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
}

/// Known protocol contract addresses on one network. Every field is optional: a fresh
/// network has none until it is deployed.
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
    /// Overlay `other` onto `self`: every address `other` sets wins.
    pub fn overlay(&mut self, other: &ProtocolAddresses) {
        let fields = [
            (&mut self.wtao, other.wtao),
            (&mut self.deposit_tracker, other.deposit_tracker),
            (&mut self.weights_v2, other.weights_v2),
            (&mut self.weights_v3, other.weights_v3),
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
    pub fn named(&self) -> Vec<(String, Address)> {
        let mut out: Vec<(String, Address)> = [
            ("WTAO", self.wtao),
            ("DepositTracker", self.deposit_tracker),
            ("WeightsV2", self.weights_v2),
            ("WeightsV3", self.weights_v3),
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
                .map(|(denomination, address)| (format!("Pool {denomination} WTAO"), *address)),
        );
        out
    }

    /// True when no address is known.
    pub fn is_empty(&self) -> bool {
        self.named().is_empty()
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
    }

    /// True when this layer changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == NetworkOverride::default()
    }
}
