//! The committed artifacts: complete, hashed as build-info says, and deployable.

use std::{collections::BTreeSet, path::Path};

use alloy_primitives::B256;
use taonado_contracts::{CodeMatch, Contract};

use crate::evm::{Evm, ether};

fn artifacts_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

#[test]
fn the_contract_enum_lists_exactly_the_artifact_files() {
    let dir = artifacts_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let on_disk: BTreeSet<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name != "build-info.json" && name != "standard-json-input.json")
        .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = Contract::ALL.iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(listed, on_disk);
}

#[test]
fn build_info_records_the_pinned_compiler_and_each_artifact_hash() {
    let path = artifacts_dir().join("build-info.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let info: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad build-info: {e}"));
    assert_eq!(
        info["compiler"]["version"],
        "0.8.37+commit.f401782d.Emscripten.clang"
    );
    let settings = &info["settings"]["solidity"];
    assert_eq!(settings["evmVersion"], taonado_contracts::EVM_VERSION);
    assert_eq!(settings["optimizer"]["enabled"], true);
    assert_eq!(settings["optimizer"]["runs"], 200);
    for &contract in Contract::ALL {
        let listed = info["artifacts"][format!("{}.json", contract.name())]
            .as_str()
            .unwrap_or_default();
        let listed: B256 = listed
            .parse()
            .unwrap_or_else(|e| panic!("{contract}: bad hash {listed:?}: {e}"));
        assert_eq!(listed, contract.artifact().sha256, "{contract}");
    }
}

#[test]
fn every_contract_without_constructor_arguments_deploys_to_its_runtime_code() {
    let mut evm = Evm::new();
    let deployer = evm.funded_account(1, ether(10));
    for &contract in Contract::ALL {
        let artifact = contract.artifact();
        let needs_args = artifact
            .abi
            .constructor
            .as_ref()
            .is_some_and(|c| !c.inputs.is_empty());
        if needs_args {
            continue;
        }
        let address = evm.deploy(deployer, contract, &[]);
        let code = evm.code(address);
        let matched = artifact.compare_code(&code);
        assert!(
            matches!(matched, CodeMatch::Exact | CodeMatch::ExceptImmutables),
            "{contract}: {matched:?}"
        );
    }
}
