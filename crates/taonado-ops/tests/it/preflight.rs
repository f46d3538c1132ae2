//! `deploy::preflight::run`: every check line, with the dry run on a dev chain the test
//! provides (as the CLI does).

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Result;
use taonado_devnet::{DevnetConfig, DevnetHandle};
use taonado_ops::deploy::plan::KeyChoice;
use taonado_ops::deploy::preflight::{
    self, ChainUnavailable, DeployerKey, DevChain, DevChainNode, PreflightRequest,
};
use taonado_ops::deploy::verify::{Check, CheckStatus};

use crate::common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An embedded devnet per dry run, counting the starts.
#[derive(Default)]
struct Devnets {
    handle: Option<DevnetHandle>,
    starts: usize,
    stops: usize,
}

impl DevChain for Devnets {
    fn dev_account(&self) -> Option<Address> {
        taonado_devnet::DEV_ACCOUNTS.first().map(|a| a.address)
    }

    async fn start(&mut self, chain_id: u64) -> Result<DevChainNode, String> {
        self.starts += 1;
        let mut config = DevnetConfig::local();
        config.port = 0;
        config.chain_id = chain_id;
        let handle = taonado_devnet::spawn(config)
            .await
            .map_err(|e| e.to_string())?;
        let key = PrivateKeySigner::from_bytes(&handle.dev_accounts()[0].private_key)
            .map_err(|e| e.to_string())?;
        let deployer = key.address();
        let provider = common::provider(&handle.rpc_url(), key).map_err(|e| e.to_string())?;
        self.handle = Some(handle);
        Ok(DevChainNode { provider, deployer })
    }

    async fn stop(&mut self) {
        self.stops += 1;
        if let Some(handle) = self.handle.take() {
            let _ = handle.shutdown().await;
        }
    }
}

fn status<'a>(checks: &'a [Check], subject: &str, check: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.subject == subject && c.check == check)
        .unwrap_or_else(|| panic!("no {subject} {check} in {checks:?}"))
}

#[tokio::test]
async fn a_dev_chain_passes_and_the_dry_run_measures_the_deployment() -> Result<()> {
    let chain = common::devnet(DevnetConfig {
        port: 0,
        ..DevnetConfig::local()
    })
    .await?;
    let mut network = taonado_config::Config::builtin().network("local")?;
    network.rpc_url = chain.url.parse()?;
    network.chain_id = chain.chain_id;
    let root = root();
    let dir = tempfile::tempdir()?;
    let record_path = dir.path().join("local.json");
    let vk = root.join("keys/local/withdraw.vk.json");
    let mut devnets = Devnets::default();
    let report = preflight::run(
        PreflightRequest {
            network: &network,
            deployer: DeployerKey::Missing,
            verifying_key: KeyChoice::File(vk.clone()),
            max_gas_price_gwei: 100.0,
            artifacts_dir: &root.join("crates/taonado-contracts/artifacts"),
            contracts_dir: &root.join("contracts"),
            record_path: &record_path,
            chain: Ok(chain.provider.clone()),
        },
        &mut devnets,
    )
    .await?;
    let checks = &report.checks;
    assert_eq!(report.failed(), 0, "{checks:?}");
    assert_eq!((devnets.starts, devnets.stops), (1, 1));
    assert_eq!(
        checks
            .first()
            .map(|c| (c.subject.as_str(), c.check.as_str())),
        Some(("config", "valid"))
    );
    for (subject, check) in [
        ("deployer key", "present"),
        ("verifying key", "setup"),
        ("rpc", "chain id"),
        ("gas price", "within bound"),
        ("verifier", "variant"),
        ("deployer", "funded"),
    ] {
        assert_eq!(
            status(checks, subject, check).status,
            CheckStatus::Pass,
            "{subject} {check}"
        );
    }
    // The dry run deployed the whole protocol: millions of gas.
    let funded = &status(checks, "deployer", "funded").detail;
    let gas: u64 = funded
        .split('~')
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no gas figure in {funded}"));
    assert!(gas > 5_000_000, "{funded}");
    Ok(())
}

#[tokio::test]
async fn an_unusable_node_skips_the_chain_checks_and_starts_no_dev_chain() -> Result<()> {
    let network = taonado_config::Config::builtin().network("testnet")?;
    let dir = tempfile::tempdir()?;
    let mut devnets = Devnets::default();
    let report = preflight::run(
        PreflightRequest {
            network: &network,
            deployer: DeployerKey::Missing,
            verifying_key: KeyChoice::NetworkDefault,
            max_gas_price_gwei: -1.0,
            artifacts_dir: dir.path(),
            contracts_dir: dir.path(),
            record_path: &dir.path().join("testnet.json"),
            chain: Err(ChainUnavailable {
                chain_id_mismatch: true,
                message: "the node answers chain 31337".to_owned(),
            }),
        },
        &mut devnets,
    )
    .await?;
    let lines: Vec<(&str, &str, CheckStatus)> = report
        .checks
        .iter()
        .map(|c| (c.subject.as_str(), c.check.as_str(), c.status))
        .collect();
    assert_eq!(
        lines,
        [
            ("config", "valid", CheckStatus::Pass),
            ("deployer key", "present", CheckStatus::Fail),
            ("verifying key", "setup", CheckStatus::Pass),
            ("artifacts", "build-info.json", CheckStatus::Skip),
            ("rpc", "chain id", CheckStatus::Fail),
            ("gas price", "on chain", CheckStatus::Skip),
            ("verifier", "on chain", CheckStatus::Skip),
            ("deployer", "on chain", CheckStatus::Skip),
        ]
    );
    assert!(
        // No key given: a live network gets Tornado's ceremony key, a trusted setup.
        status(&report.checks, "verifying key", "setup").detail == "tornado-ceremony",
        "{:?}",
        report.checks
    );
    // An invalid gas bound only matters once the node answers; no dev chain was started.
    assert_eq!((devnets.starts, devnets.stops), (0, 0));
    Ok(())
}

#[tokio::test]
async fn keys_on_a_live_network_must_be_encrypted_and_unlock() -> Result<()> {
    let network = taonado_config::Config::builtin().network("testnet")?;
    let dir = tempfile::tempdir()?;
    let run = |deployer| {
        let network = &network;
        let dir = dir.path().to_owned();
        async move {
            let record_path = dir.join("testnet.json");
            preflight::run(
                PreflightRequest {
                    network,
                    deployer,
                    verifying_key: KeyChoice::NetworkDefault,
                    max_gas_price_gwei: 100.0,
                    artifacts_dir: &dir,
                    contracts_dir: &dir,
                    record_path: &record_path,
                    chain: Err(ChainUnavailable {
                        chain_id_mismatch: false,
                        message: "refused".to_owned(),
                    }),
                },
                &mut Devnets::default(),
            )
            .await
        }
    };
    let raw = run(DeployerKey::RawKey {
        unlocked: Ok(Address::ZERO),
    })
    .await?;
    let encrypted = status(&raw.checks, "deployer key", "encrypted");
    assert_eq!(encrypted.status, CheckStatus::Fail);
    assert!(
        encrypted.detail.contains("a raw private key"),
        "{encrypted:?}"
    );
    assert_eq!(
        status(&raw.checks, "rpc", "reachable").status,
        CheckStatus::Fail
    );

    let locked = run(DeployerKey::Keystore {
        path: None,
        unlocked: Err("wrong password".to_owned()),
    })
    .await?;
    assert_eq!(
        status(&locked.checks, "deployer key", "encrypted").status,
        CheckStatus::Pass
    );
    let unlocks = status(&locked.checks, "deployer key", "unlocks");
    assert_eq!(
        (unlocks.status, unlocks.detail.as_str()),
        (CheckStatus::Fail, "wrong password")
    );
    Ok(())
}
