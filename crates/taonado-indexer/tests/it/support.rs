//! Fixtures: a devnet with the protocol deployed, protocol activity, and the chain's own
//! view of the events to compare the store with.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, ensure};
use taonado_contracts::bindings::{DepositTracker, ERC20Taonado, EvmValidator, WTAO};
use taonado_deployment::{DeploymentRecord, ProtocolContracts, names};
use taonado_devnet::{DevnetConfig, DevnetHandle};
use taonado_indexer::{IndexerConfig, IndexerTuning, RetryPolicy};
use taonado_ops::deploy::{DeployPlan, EvmValidatorSettings, FamilyPolicy, NoProgress, WtaoSource};
use taonado_ops::subnet::{LocalSubnet, SubnetKind};
use taonado_ops::verifying_key::VerifyingKeyFile;
use taonado_store::{EventFilter, Store};
use taonado_types::evm_mirror;

pub const TAO: u128 = 1_000_000_000_000_000_000;

pub fn tao_tenths(tenths: u64) -> U256 {
    U256::from(tenths) * U256::from(TAO / 10)
}

pub struct Deployed {
    pub devnet: DevnetHandle,
    pub provider: DynProvider,
    pub owner: PrivateKeySigner,
    pub record: DeploymentRecord,
    pub url: String,
    _dir: tempfile::TempDir,
}

pub fn wallet_provider(url: &str, key: PrivateKeySigner) -> Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(url.parse()?)
        .erased())
}

pub async fn deployed() -> Result<Deployed> {
    deployed_on(DevnetConfig::test()).await
}

/// The protocol deployed on a devnet started with `config`.
pub async fn deployed_on(config: DevnetConfig) -> Result<Deployed> {
    let devnet = taonado_devnet::spawn(config).await?;
    let owner = PrivateKeySigner::from_bytes(&devnet.dev_accounts()[0].private_key)?;
    let url = devnet.rpc_url();
    let provider = wallet_provider(&url, owner.clone())?;
    let dir = tempfile::tempdir()?;
    let plan = DeployPlan {
        network: "local".into(),
        chain_id: devnet.chain_id(),
        netuid: 2,
        wtao: WtaoSource::Deploy,
        deposit_goal: tao_tenths(10_000),
        pool_denominations: vec![tao_tenths(1), tao_tenths(10)],
        verifying_key: VerifyingKeyFile::generator_placeholder("test-circuit"),
        verifier_family: FamilyPolicy::ChainId,
        record_path: dir.path().join("local.json"),
        local_subnet: true,
        anvil_mocks: false,
        evm_validator: EvmValidatorSettings {
            set_weights_bounty: U256::from(TAO / 100),
            set_weights_block_interval: 0,
            refund_overhead: U256::from(15_000u64),
            metagraph_boost: 0,
            version_key: 0,
            funding: tao_tenths(100),
        },
        insecure_key: taonado_ops::InsecureKeyPolicy::Allow,
    };
    let record =
        taonado_ops::deploy::deploy(&provider, owner.address(), &plan, &NoProgress).await?;
    // Weights may be set in consecutive blocks: the tests set them right after activity.
    LocalSubnet::new(
        provider.clone(),
        SubnetKind::Devnet,
        record.netuid,
        owner.address(),
    )
    .set_hyperparameter("weights_set_rate_limit", serde_json::json!(0))
    .await?;
    Ok(Deployed {
        devnet,
        provider,
        owner,
        record,
        url,
        _dir: dir,
    })
}

impl Deployed {
    pub fn contracts(&self) -> Result<ProtocolContracts> {
        Ok(ProtocolContracts {
            wtao: Some(self.record.address(names::WTAO)?),
            deposit_tracker: Some(self.record.address(names::DEPOSIT_TRACKER)?),
            weights: Some(self.record.address(names::WEIGHTS)?),
            weights_name: Some("WeightsV3"),
            evm_validator: Some(self.record.address(names::EVM_VALIDATOR)?),
            pools: self
                .record
                .pools
                .iter()
                .map(|p| {
                    (
                        taonado_types::format_tao(p.denomination),
                        p.contract.address,
                    )
                })
                .collect(),
            wtao_fully_indexed: true,
        })
    }

    pub fn config(&self, endpoints: Vec<url::Url>) -> Result<IndexerConfig> {
        Ok(IndexerConfig {
            chain_id: self.devnet.chain_id(),
            endpoints,
            contracts: self.contracts()?,
            netuid: self.record.netuid,
            start_block: 0,
            tuning: IndexerTuning {
                batch_blocks: 7,
                concurrency: 3,
                reorg_depth: 32,
                snapshot_interval: Some(1),
                poll_interval: Duration::from_millis(10),
                retry: RetryPolicy {
                    max_attempts: 4,
                    initial_backoff: Duration::from_millis(1),
                    max_backoff: Duration::from_millis(5),
                },
                request_timeout: Duration::from_secs(10),
            },
        })
    }

    pub fn endpoint(&self) -> Result<url::Url> {
        Ok(self.url.parse()?)
    }

    pub async fn head(&self) -> Result<u64> {
        Ok(self.provider.get_block_number().await?)
    }

    pub async fn mine(&self, blocks: u64) -> Result<()> {
        taonado_ops::subnet::mine(&self.provider, blocks).await?;
        Ok(())
    }

    pub async fn reorg(&self, depth: u64) -> Result<u64> {
        let target: String = self
            .provider
            .raw_request("taonado_reorg".into(), (format!("{depth:#x}"),))
            .await?;
        Ok(u64::from_str_radix(target.trim_start_matches("0x"), 16)?)
    }
}

/// One miner's life: funded, registered, wraps, associates (then fails to associate
/// again), deposits a note to the smallest pool.
pub struct Miner {
    pub address: Address,
    pub hotkey: B256,
    pub wrapped: U256,
    pub failed_tx: B256,
}

pub async fn miner(d: &Deployed, index: u64, wrap_tenths: u64) -> Result<Miner> {
    let key = PrivateKeySigner::random();
    let address = key.address();
    let wrapped = tao_tenths(wrap_tenths);
    let fund = TransactionRequest::default()
        .to(address)
        .value(wrapped + tao_tenths(10));
    let receipt = d
        .provider
        .send_transaction(fund)
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "funding reverted");
    let hotkey = keccak256(format!("indexer-test-miner-{index}-{address}"));
    let subnet = LocalSubnet::new(
        d.provider.clone(),
        SubnetKind::Devnet,
        d.record.netuid,
        d.owner.address(),
    );
    subnet
        .register(hotkey, evm_mirror(address).to_b256())
        .await?;
    let provider = wallet_provider(&d.url, key)?;
    let wtao = WTAO::new(d.record.address(names::WTAO)?, &provider);
    let r = wtao
        .deposit()
        .value(wrapped)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(r.status(), "wrap reverted");
    let tracker = DepositTracker::new(d.record.address(names::DEPOSIT_TRACKER)?, &provider);
    let r = tracker
        .associate(hotkey)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(r.status(), "associate reverted");
    // Associating twice reverts; an explicit gas limit skips estimation so it is mined.
    let r = tracker
        .associate(hotkey)
        .gas(200_000)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(!r.status(), "a second associate must revert");
    let failed_tx = r.transaction_hash;
    let pool = d.record.pools.first().context("a pool")?;
    let r = wtao
        .approve(pool.contract.address, pool.denomination)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(r.status(), "approve reverted");
    let commitment = B256::from(U256::from(1_000 + index));
    let r = ERC20Taonado::new(pool.contract.address, &provider)
        .deposit(commitment)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(r.status(), "pool deposit reverted");
    Ok(Miner {
        address,
        hotkey,
        wrapped,
        failed_tx,
    })
}

/// The owner sets weights (operator path, no bounty).
pub async fn operator_set_weights(d: &Deployed) -> Result<B256> {
    let validator = EvmValidator::new(d.record.address(names::EVM_VALIDATOR)?, &d.provider);
    let r = validator
        .operatorSetWeights()
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(r.status(), "operatorSetWeights reverted");
    Ok(r.transaction_hash)
}

/// `(block, log index, tx hash, address, topics, data)`: what a log is, for comparison.
pub type LogKey = (u64, u64, B256, Address, Vec<B256>, Vec<u8>);

/// The chain's logs of every protocol address up to `to`.
pub async fn chain_logs(d: &Deployed, to: u64) -> Result<Vec<LogKey>> {
    let filter = Filter::new()
        .address(d.contracts()?.addresses())
        .from_block(0)
        .to_block(to);
    let logs = d.provider.get_logs(&filter).await?;
    Ok(logs
        .into_iter()
        .map(|l| {
            (
                l.block_number.unwrap_or_default(),
                l.log_index.unwrap_or_default(),
                l.transaction_hash.unwrap_or_default(),
                l.address(),
                l.topics().to_vec(),
                l.data().data.to_vec(),
            )
        })
        .collect())
}

/// The stored events in the same shape.
pub fn stored_logs(store: &Store) -> Result<Vec<LogKey>> {
    Ok(store
        .events(&EventFilter::default())?
        .into_iter()
        .map(|e| {
            (
                e.block_number,
                e.log_index,
                e.tx_hash,
                e.address,
                e.topics,
                e.data,
            )
        })
        .collect())
}

/// Protocol transactions on chain up to `to`: `(hash, status)` in chain order.
pub async fn chain_protocol_txs(d: &Deployed, to: u64) -> Result<Vec<(B256, bool)>> {
    use alloy::consensus::Transaction as _;
    use alloy::network::TransactionResponse as _;
    let contracts = d.contracts()?;
    let mut out = Vec::new();
    for number in 0..=to {
        let block = d
            .provider
            .get_block_by_number(number.into())
            .full()
            .await?
            .context("block")?;
        for tx in block.transactions.txns() {
            if tx
                .to()
                .and_then(|a| taonado_indexer::kind_of(&contracts, a))
                .is_some()
            {
                let receipt = d
                    .provider
                    .get_transaction_receipt(tx.tx_hash())
                    .await?
                    .context("receipt")?;
                out.push((tx.tx_hash(), receipt.status()));
            }
        }
    }
    Ok(out)
}

pub fn stored_txs(store: &Store) -> Result<Vec<(B256, bool)>> {
    let mut rows = store.recent_transactions(usize::MAX)?;
    rows.reverse();
    Ok(rows.into_iter().map(|t| (t.hash, t.success)).collect())
}
