use std::collections::BTreeMap;
use std::path::Path;

use alloy_primitives::{Address, address};
use proptest::prelude::*;

use super::*;

fn load(text: &str) -> Result<Config> {
    Config::from_toml(Path::new("/cfg/taonado.toml"), text)
}

#[test]
fn presets_parse() {
    for name in PRESET_NAMES {
        let network = preset(name).expect("every listed preset exists");
        assert_eq!(network.name, name);
        assert!(matches!(network.rpc_url.scheme(), "http" | "https"));
    }
}

#[test]
fn preset_facts() {
    let config = Config::builtin();
    let local = config.network("local").unwrap();
    assert_eq!(
        (local.chain_id, local.netuid, local.rpc_url.as_str()),
        (42, 2, "http://127.0.0.1:8545/")
    );
    assert!(local.addresses.is_empty() && local.dev_chain && local.wtao_owned);

    let testnet = config.network("testnet").unwrap();
    assert_eq!((testnet.chain_id, testnet.netuid), (945, 347));
    assert_eq!(
        testnet.rpc_url.as_str(),
        "https://test.chain.opentensor.ai/"
    );
    assert_eq!(
        testnet.addresses.wtao,
        Some(address!("0x4f735f1eEE1efAdd12e3062851e1F57A49965203"))
    );
    assert_eq!(testnet.addresses.weights_v3, None);

    let mainnet = config.network("mainnet").unwrap();
    assert_eq!((mainnet.chain_id, mainnet.netuid), (964, 113));
    assert!(!mainnet.wtao_owned, "mainnet WTAO is not ours to deploy");
    assert_eq!(
        mainnet.addresses.evm_validator,
        Some(address!("0xeA407168F354F8c920b39124C9d4dbd2a810D1C5"))
    );
    assert_eq!(
        mainnet.addresses.pools.get("1"),
        Some(&address!("0x64ee4B13C4E38FFe1D68fDEAABB5c96c51630254"))
    );
    assert_eq!(
        mainnet.explorer_api.as_ref().map(|u| u.as_str()),
        Some("https://evm.taostats.io/api")
    );
}

#[test]
fn file_overrides_one_field_of_a_preset() {
    let config = load(
        r#"
        [networks.testnet]
        rpc_url = "http://127.0.0.1:9944"
        "#,
    )
    .unwrap();
    let testnet = config.network("testnet").unwrap();
    assert_eq!(testnet.rpc_url.as_str(), "http://127.0.0.1:9944/");
    assert_eq!(
        testnet.chain_id, 945,
        "fields not in the file keep the preset"
    );
    assert!(testnet.addresses.wtao.is_some());
}

#[test]
fn file_adds_a_network() {
    let config = load(
        r#"
        default_network = "staging"
        [networks.staging]
        chain_id = 945
        rpc_url = "https://staging.example/rpc"
        netuid = 7
        [networks.staging.addresses]
        wtao = "0x4f735f1eEE1efAdd12e3062851e1F57A49965203"
        [networks.staging.addresses.pools]
        "0.1" = "0xf66204793312D4aeFbcAEE9825FA8637e692Bf5A"
        "#,
    )
    .unwrap();
    assert_eq!(config.default_network(), "staging");
    assert_eq!(
        config.network_names(),
        ["local", "testnet", "mainnet", "staging"]
    );
    let staging = config.network("staging").unwrap();
    assert_eq!((staging.chain_id, staging.netuid), (945, 7));
    assert_eq!(staging.addresses.pools.len(), 1);
    assert!(!staging.dev_chain);
}

#[test]
fn new_network_without_chain_id_names_file_and_field() {
    let err = load("[networks.staging]\nrpc_url = \"http://x\"\nnetuid = 1\n").unwrap_err();
    let message = err.to_string();
    assert!(matches!(
        err,
        ConfigError::MissingField {
            field: "chain_id",
            ..
        }
    ));
    assert!(message.contains("/cfg/taonado.toml"), "{message}");
    assert!(message.contains("networks.staging.chain_id"), "{message}");
}

#[test]
fn wrong_type_names_file_and_key() {
    let err = load("[networks.local]\nchain_id = \"forty-two\"\n").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ConfigError::Parse { .. }));
    assert!(message.contains("/cfg/taonado.toml"), "{message}");
    assert!(message.contains("chain_id"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn unknown_field_is_rejected() {
    let err = load("[networks.local]\nprivate_key = \"0x01\"\n").unwrap_err();
    assert!(err.to_string().contains("private_key"), "{err}");
}

#[test]
fn unsupported_rpc_scheme_is_rejected() {
    let err = load("[networks.local]\nrpc_url = \"ws://127.0.0.1:8545\"\n").unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidField {
                field: "rpc_url",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unknown_network_lists_known_ones() {
    let err = Config::builtin().network("devnet").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown network `devnet`; known networks: local, testnet, mainnet; add [networks.devnet] to taonado.toml or pass --network with one of those"
    );
}

#[test]
fn unknown_default_network_fails_at_load() {
    assert!(matches!(
        load("default_network = \"nowhere\"\n").unwrap_err(),
        ConfigError::UnknownNetwork { .. }
    ));
}

#[test]
fn precedence_preset_file_env_flags() {
    let config = load("[networks.local]\nrpc_url = \"http://file:1\"\nnetuid = 9\n").unwrap();
    let env = NetworkOverride {
        rpc_url: Some("http://env:2".parse().unwrap()),
        netuid: Some(10),
        ..Default::default()
    };
    let flags = NetworkOverride {
        rpc_url: Some("http://flag:3".parse().unwrap()),
        ..Default::default()
    };
    let local = config.resolve("local", &env, &flags).unwrap();
    assert_eq!(local.rpc_url.as_str(), "http://flag:3/");
    assert_eq!(local.netuid, 10);
    assert_eq!(local.chain_id, 42);
    let local = config
        .resolve(
            "local",
            &NetworkOverride::default(),
            &NetworkOverride::default(),
        )
        .unwrap();
    assert_eq!(
        (local.rpc_url.as_str(), local.netuid),
        ("http://file:1/", 9)
    );
}

#[test]
fn network_for_chain_id_suggests_a_name() {
    let config = Config::builtin();
    assert_eq!(config.network_for_chain_id(945).as_deref(), Some("testnet"));
    assert_eq!(config.network_for_chain_id(1), None);
}

#[test]
fn search_order() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("cwd");
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".taonado")).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let home_file = home.join(".taonado").join(CONFIG_FILE_NAME);
    std::fs::write(&home_file, "").unwrap();

    let mut search = ConfigSearch {
        explicit: None,
        env: None,
        cwd: Some(cwd.clone()),
        home: Some(home.clone()),
    };
    assert_eq!(search.locate(), Some(home_file));
    std::fs::write(cwd.join(CONFIG_FILE_NAME), "").unwrap();
    assert_eq!(search.locate(), Some(cwd.join(CONFIG_FILE_NAME)));
    search.env = Some(dir.path().join("env.toml"));
    assert_eq!(search.locate(), Some(dir.path().join("env.toml")));
    search.explicit = Some(dir.path().join("flag.toml"));
    assert_eq!(search.locate(), Some(dir.path().join("flag.toml")));
    let err = Config::load(&search).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Read { path, .. } if path.ends_with("flag.toml")),
        "{err}"
    );
}

#[test]
fn no_file_means_presets() {
    let config = Config::load(&ConfigSearch::default()).unwrap();
    assert_eq!(config.source(), None);
    assert_eq!(config.network_names(), PRESET_NAMES);
}

#[test]
fn example_file_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../taonado.example.toml");
    let config = Config::from_path(&path).unwrap();
    assert!(config.networks().unwrap().len() >= 3);
}

fn arb_address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

fn arb_url() -> impl Strategy<Value = url::Url> {
    ("(http|https)", "[a-z][a-z0-9]{0,10}", 1u16..65535)
        .prop_map(|(s, h, p)| format!("{s}://{h}.example:{p}/rpc").parse().unwrap())
}

fn arb_addresses() -> impl Strategy<Value = ProtocolAddresses> {
    (
        proptest::option::of(arb_address()),
        proptest::option::of(arb_address()),
        proptest::option::of(arb_address()),
        proptest::collection::btree_map("[0-9]{1,4}(\\.[0-9]{1,2})?", arb_address(), 0..3),
    )
        .prop_map(
            |(wtao, weights_v3, evm_validator, pools)| ProtocolAddresses {
                wtao,
                weights_v3,
                evm_validator,
                pools,
                ..Default::default()
            },
        )
}

fn arb_override() -> impl Strategy<Value = NetworkOverride> {
    (
        proptest::option::of(any::<u64>().prop_map(|n| n >> 1)),
        proptest::option::of(arb_url()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<bool>()),
        arb_addresses(),
        proptest::option::of("[a-z]{1,8}"),
    )
        .prop_map(
            |(chain_id, rpc_url, netuid, wtao_owned, addresses, account)| NetworkOverride {
                chain_id,
                rpc_url,
                netuid,
                wtao_owned,
                addresses,
                signer: SignerRef {
                    account,
                    ..Default::default()
                },
                ..Default::default()
            },
        )
}

/// Mutations of a real file: lines dropped, doubled or cut, values swapped for others.
fn mutated_config_text() -> impl Strategy<Value = String> {
    const LINES: &[&str] = &[
        "default_network = \"testnet\"",
        "[networks.testnet]",
        "[networks.local]",
        "[networks.mine]",
        "rpc_url = \"https://rpc.example/v2/KEY\"",
        "rpc_url = \"not a url\"",
        "chain_id = 945",
        "chain_id = -1",
        "chain_id = 18446744073709551616",
        "netuid = 70000",
        "dev_chain = true",
        "wtao_owned = \"yes\"",
        "[networks.testnet.addresses]",
        "wtao = \"0x0000000000000000000000000000000000000001\"",
        "wtao = \"0x01\"",
        "pools = { \"0.1\" = \"0x0000000000000000000000000000000000000002\", \"x\" = 3 }",
        "[networks.testnet.signer]",
        "keystore = \"/keys/a.json\"",
        "private_key = \"0xdead\"",
        "[[networks]]",
        "= = =",
        "\u{0}",
    ];
    proptest::collection::vec((proptest::sample::select(LINES), 0usize..40), 0..16).prop_map(
        |lines| {
            lines
                .into_iter()
                .map(|(line, cut)| {
                    line.chars()
                        .take(cut.max(line.len() / 2))
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    )
}

proptest! {
    /// Any taonado.toml: a config, or one error on one line naming the file; never a panic.
    #[test]
    fn any_config_text_is_a_config_or_one_line_error(
        text in prop_oneof![mutated_config_text(), ".{0,200}"]
    ) {
        match ConfigFile::parse(Path::new("fuzz.toml"), &text) {
            Ok(file) => {
                if let Err(e) = Config::from_file("fuzz.toml".into(), file) {
                    prop_assert!(!e.to_string().trim().contains('\n'), "{}", e);
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.toml"), "{}", e),
        }
    }

    #[test]
    fn overrides_round_trip_through_toml(
        networks in proptest::collection::btree_map("[a-z][a-z0-9_-]{0,8}", arb_override(), 0..4)
    ) {
        let file = ConfigFile { default_network: None, networks: networks.clone() };
        let text = file.to_toml();
        let parsed = ConfigFile::parse(Path::new("round-trip.toml"), &text).unwrap();
        prop_assert_eq!(parsed, file);
    }

    #[test]
    fn file_layer_wins_over_preset(layer in arb_override()) {
        let file = ConfigFile {
            default_network: None,
            networks: BTreeMap::from([("testnet".to_owned(), layer.clone())]),
        };
        let config = Config::from_file("t.toml".into(), file).unwrap();
        let testnet = config.network("testnet").unwrap();
        let base = preset("testnet").unwrap();
        prop_assert_eq!(testnet.chain_id, layer.chain_id.unwrap_or(base.chain_id));
        prop_assert_eq!(testnet.netuid, layer.netuid.unwrap_or(base.netuid));
        prop_assert_eq!(&testnet.rpc_url, layer.rpc_url.as_ref().unwrap_or(&base.rpc_url));
        prop_assert_eq!(testnet.addresses.wtao, layer.addresses.wtao.or(base.addresses.wtao));
        for (denomination, address) in &layer.addresses.pools {
            prop_assert_eq!(testnet.addresses.pools.get(denomination), Some(address));
        }
    }
}

#[test]
fn dev_chain_is_refused_on_live_chain_ids() {
    for text in [
        "[networks.mainnet]\ndev_chain = true\n",
        "[networks.fork]\nrpc_url = \"https://rpc.example\"\nchain_id = 945\nnetuid = 1\ndev_chain = true\n",
    ] {
        let message = load(text).unwrap_err().to_string();
        assert!(
            message.contains("dev_chain") && message.contains("live Bittensor EVM"),
            "{message}"
        );
    }
    // A local fork of testnet, kept for rehearsals, is a dev chain.
    let fork = load("[networks.fork]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 945\nnetuid = 1\ndev_chain = true\n").unwrap();
    assert!(fork.network("fork").unwrap().dev_chain);
}
