//! The stack under test: a devnet with the protocol deployed, the indexer on a temporary
//! database, and a monitor over both.

use std::sync::Arc;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use taonado_deployment::ProtocolContracts;
use taonado_indexer::{Indexer, IndexerConfig, IndexerTuning, RetryPolicy};
use taonado_monitor::{
    DeliveryPolicy, Dispatcher, Grouping, Monitor, MonitorConfig, Notifier, RuleSettings,
};
use taonado_ops::VerifyingKeyFile;
use taonado_ops::deploy::{
    DeployPlan, EvmValidatorSettings, FamilyPolicy, InsecureKeyPolicy, NoProgress, WtaoSource,
};
use taonado_store::Store;

pub const TAO: u128 = 1_000_000_000_000_000_000;

pub struct Stack {
    pub devnet: taonado_devnet::DevnetHandle,
    pub provider: DynProvider,
    pub contracts: ProtocolContracts,
    /// Holds the database and the deployment record until the test ends.
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub indexer: Indexer,
    pub record: taonado_deployment::DeploymentRecord,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(VerifyingKeyFile::generator_placeholder(
            "local-dev-insecure",
        ))
        .await
    }

    /// Deployed with `verifying_key`: the real dev key lets withdrawals be proven.
    pub async fn start_with(verifying_key: VerifyingKeyFile) -> Self {
        Self::build(verifying_key, None).await
    }

    /// On the database `db` (a SQLite file or a `postgres://` URL, one of
    /// `taonado_store::testing::each_database`) instead of a file of its own.
    pub async fn start_on(db: &std::path::Path) -> Self {
        Self::build(
            VerifyingKeyFile::generator_placeholder("local-dev-insecure"),
            Some(db),
        )
        .await
    }

    async fn build(verifying_key: VerifyingKeyFile, db: Option<&std::path::Path>) -> Self {
        let devnet = taonado_devnet::spawn(taonado_devnet::DevnetConfig::test())
            .await
            .unwrap();
        let key = devnet.dev_accounts()[0].private_key;
        let signer = PrivateKeySigner::from_bytes(&key).unwrap();
        let deployer = signer.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(devnet.rpc_url().parse().unwrap())
            .erased();
        let dir = tempfile::tempdir().unwrap();
        let plan = DeployPlan {
            network: "local".into(),
            chain_id: devnet.chain_id(),
            netuid: 2,
            wtao: WtaoSource::Deploy,
            deposit_goal: U256::from(1000 * TAO),
            pool_denominations: vec![U256::from(TAO / 10), U256::from(TAO)],
            verifying_key,
            verifier_family: FamilyPolicy::ChainId,
            record_path: dir.path().join("local.json"),
            local_subnet: true,
            anvil_mocks: false,
            evm_validator: EvmValidatorSettings {
                set_weights_bounty: U256::from(TAO / 1000),
                set_weights_block_interval: 10,
                refund_overhead: U256::from(15_000u64),
                metagraph_boost: 0,
                version_key: 0,
                funding: U256::from(10 * TAO),
            },
            insecure_key: InsecureKeyPolicy::Allow,
        };
        let record = taonado_ops::deploy::deploy(&provider, deployer, &plan, &NoProgress)
            .await
            .unwrap();
        let get = |name: &str| record.address(name).ok();
        let contracts = ProtocolContracts {
            wtao: get("WTAO"),
            deposit_tracker: get("DepositTracker"),
            weights: get("WeightsV3"),
            weights_name: Some("WeightsV3"),
            evm_validator: get("EvmValidator"),
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
            // Indexed from genesis, WTAO included.
            wtao_fully_indexed: true,
        };
        let store = match db {
            Some(db) => Store::connect_path(db).unwrap(),
            None => Store::open(&dir.path().join("monitor.db")).unwrap(),
        };
        let indexer = Indexer::new(indexer_config(&devnet, &contracts), store.clone())
            .await
            .unwrap();
        Self {
            devnet,
            provider,
            contracts,
            _dir: dir,
            store,
            indexer,
            record,
        }
    }

    /// A monitor that tells every alert on its own, at once.
    pub fn monitor(&self, rules: RuleSettings, notifiers: Vec<Arc<dyn Notifier>>) -> Monitor {
        self.grouped_monitor(rules, notifiers, Grouping::per_alert())
    }

    pub fn grouped_monitor(
        &self,
        rules: RuleSettings,
        notifiers: Vec<Arc<dyn Notifier>>,
        grouping: Grouping,
    ) -> Monitor {
        let dispatcher = Dispatcher::new(
            self.store.clone(),
            "local".into(),
            notifiers,
            DeliveryPolicy::default(),
        )
        .with_grouping(grouping);
        Monitor::new(
            self.store.clone(),
            self.provider.clone(),
            MonitorConfig {
                network: "local".into(),
                chain_id: self.devnet.chain_id(),
                contracts: self.contracts.clone(),
                rules,
                // These tests are about alerts and their delivery: critical alerts opening
                // incidents (whose missed targets alert too) are tested on their own.
                incidents: taonado_monitor::incidents::IncidentSettings {
                    open_on_critical: false,
                    ..Default::default()
                },
                history: 100,
            },
            dispatcher,
        )
    }

    /// Index to the head, evaluate and deliver; returns the evaluation's fired rules.
    pub async fn step(&self, monitor: &Monitor, now: u64) -> taonado_monitor::EvaluationReport {
        self.indexer.sync_once().await.unwrap();
        let report = monitor.evaluate(now).await.unwrap();
        monitor.deliver(now).await.unwrap();
        report
    }

    pub async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self
            .provider
            .raw_request("anvil_mine".into(), (U256::from(blocks),))
            .await
            .unwrap();
    }

    pub fn pool(&self, i: usize) -> Address {
        // The record lists the pools by ascending denomination.
        self.record.pools[i].contract.address
    }
}

fn indexer_config(devnet: &taonado_devnet::DevnetHandle, c: &ProtocolContracts) -> IndexerConfig {
    IndexerConfig {
        chain_id: devnet.chain_id(),
        endpoints: vec![devnet.rpc_url().parse().unwrap()],
        contracts: c.clone(),
        netuid: 2,
        start_block: 0,
        tuning: IndexerTuning {
            batch_blocks: 500,
            concurrency: 4,
            reorg_depth: 16,
            snapshot_interval: Some(1),
            poll_interval: std::time::Duration::from_millis(100),
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: std::time::Duration::from_millis(10),
                max_backoff: std::time::Duration::from_millis(100),
            },
            request_timeout: std::time::Duration::from_secs(10),
        },
    }
}
