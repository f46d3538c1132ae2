//! The built-in networks: facts about the deployed protocol (spec "Deployed addresses").

use std::collections::BTreeMap;

use alloy_primitives::{Address, address};
use url::Url;

use taonado_deployment::ProtocolAddresses;

use crate::network::{NetworkConfig, SignerRef};

/// Names of the built-in networks, in display order.
pub const PRESET_NAMES: [&str; 3] = ["local", "testnet", "mainnet"];

/// The Etherscan-compatible API of the taostats EVM explorer.
pub const TAOSTATS_EXPLORER_API: &str = "https://evm.taostats.io/api";

fn url(s: &str) -> Url {
    // The preset URLs are literals checked by `presets_parse` in the tests.
    Url::parse(s).unwrap_or_else(|e| unreachable!("preset url {s} is invalid: {e}"))
}

/// The built-in network called `name`, if there is one.
pub fn preset(name: &str) -> Option<NetworkConfig> {
    match name {
        "local" => Some(NetworkConfig {
            name: "local".into(),
            chain_id: 42,
            rpc_url: url("http://127.0.0.1:8545"),
            netuid: 2,
            explorer_api: None,
            wtao_owned: true,
            dev_chain: true,
            // Local addresses come from deployments/local.json, written by `taonado deploy`.
            addresses: ProtocolAddresses::default(),
            signer: SignerRef::default(),
            owner: None,
        }),
        "testnet" => Some(NetworkConfig {
            name: "testnet".into(),
            chain_id: 945,
            rpc_url: url("https://test.chain.opentensor.ai"),
            netuid: 347,
            explorer_api: Some(url(TAOSTATS_EXPLORER_API)),
            wtao_owned: true,
            dev_chain: false,
            addresses: ProtocolAddresses {
                wtao: Some(address!("0x4f735f1eEE1efAdd12e3062851e1F57A49965203")),
                deposit_tracker: Some(address!("0x9a23F584346e98cEFA9c27913656B9c188505E9E")),
                weights_v2: Some(address!("0xb20528200A7c3a2dc193A2F9476f2555CDA6Ab0C")),
                weights_v3: None,
                evm_validator: Some(address!("0x6ef431c01aBb2640577ea7F4ad8060FCB575319c")),
                hasher: Some(address!("0x184dFF4311Bb738358877146EeC3efE4b2bc0D12")),
                verifier: Some(address!("0xE8139d81e092A04408464d991612B1E4b2195A50")),
                weights_v4: None,
                pools: pools(address!("0xf66204793312D4aeFbcAEE9825FA8637e692Bf5A")),
            },
            signer: SignerRef::default(),
            owner: None,
        }),
        "mainnet" => Some(NetworkConfig {
            name: "mainnet".into(),
            chain_id: 964,
            rpc_url: url("https://lite.chain.opentensor.ai"),
            netuid: 113,
            explorer_api: Some(url(TAOSTATS_EXPLORER_API)),
            // Mainnet WTAO exists and is not ours: deploy reuses it, never replaces it.
            wtao_owned: false,
            dev_chain: false,
            addresses: ProtocolAddresses {
                wtao: Some(address!("0x9Dc08C6e2BF0F1eeD1E00670f80Df39145529F81")),
                deposit_tracker: Some(address!("0x18836D1A366E3B94De5433bf9d33F65B61Eca72A")),
                weights_v2: Some(address!("0xc6Bc37B421Bc7943B4F815bc30fB5792dcFe6251")),
                weights_v3: Some(address!("0xE4875ACdb86868FBDB86CFf4Dc957194Fe91d0D0")),
                evm_validator: Some(address!("0xeA407168F354F8c920b39124C9d4dbd2a810D1C5")),
                hasher: Some(address!("0x18dEa7De8D0daC922d69F4532072b219DE7157d4")),
                verifier: Some(address!("0xD080C8F957fBE633F65B69EF29A333e4b206f845")),
                weights_v4: None,
                pools: pools(address!("0x64ee4B13C4E38FFe1D68fDEAABB5c96c51630254")),
            },
            signer: SignerRef::default(),
            owner: None,
        }),
        _ => None,
    }
}

fn pools(one_wtao: Address) -> BTreeMap<String, Address> {
    BTreeMap::from([("1".to_owned(), one_wtao)])
}
