//! Shared fixtures: chains (devnet, anvil), deploy plans, and the mining round both chains run.

use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use anyhow::{Context, Result, bail, ensure};
use taonado_contracts::bindings::mocks::MockNeuron;
use taonado_contracts::bindings::{DepositTracker, EvmValidator, WTAO, WeightsV3};
use taonado_deployment::{DeploymentRecord, names};
use taonado_devnet::{DevnetConfig, DevnetHandle};
use taonado_ops::deploy::{
    DeployPlan, DeployProgress, EvmValidatorSettings, FamilyPolicy, StepState, WtaoSource,
};
use taonado_ops::subnet::{LocalSubnet, SubnetKind, dev_rpc, mine};
use taonado_ops::verifying_key::VerifyingKeyFile;
use taonado_types::evm_mirror;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const TAO: u128 = 1_000_000_000_000_000_000;

pub fn tao(amount: u64) -> U256 {
    U256::from(amount) * U256::from(TAO)
}

pub fn provider(url: &str, key: PrivateKeySigner) -> Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(url.parse()?)
        .erased())
}

/// A chain under test with its deployer.
pub struct Chain {
    pub provider: DynProvider,
    pub deployer: PrivateKeySigner,
    pub chain_id: u64,
    pub url: String,
    pub _devnet: Option<DevnetHandle>,
    pub _anvil: Option<Anvil>,
}

impl Chain {
    pub fn deployer_address(&self) -> Address {
        self.deployer.address()
    }

    pub async fn nonce(&self) -> Result<u64> {
        Ok(self
            .provider
            .get_transaction_count(self.deployer_address())
            .await?)
    }
}

pub async fn devnet(config: DevnetConfig) -> Result<Chain> {
    let handle = taonado_devnet::spawn(config).await?;
    let key = PrivateKeySigner::from_bytes(&handle.dev_accounts()[0].private_key)?;
    let url = handle.rpc_url();
    Ok(Chain {
        provider: provider(&url, key.clone())?,
        deployer: key,
        chain_id: handle.chain_id(),
        url,
        _devnet: Some(handle),
        _anvil: None,
    })
}

/// A real anvil child process, killed when dropped.
pub struct Anvil {
    _child: tokio::process::Child,
}

/// anvil's first dev key (the same public test key the devnet uses).
const ANVIL_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

pub async fn anvil(chain_id: u64) -> Result<Chain> {
    let binary = std::env::var("TAONADO_ANVIL").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
        )
        .to_owned()
    });
    if !Path::new(&binary).exists() {
        bail!(
            "anvil not found at {binary}: run `npm ci` in the workspace root (or set TAONADO_ANVIL)"
        );
    }
    let mut child = tokio::process::Command::new(&binary)
        .args(["--port", "0", "--chain-id", &chain_id.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {binary}"))?;
    let stdout = child.stdout.take().context("anvil stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(addr) = line.strip_prefix("Listening on ") {
            url = Some(format!("http://{}", addr.trim()));
            break;
        }
    }
    let url = url.context("anvil exited before it printed `Listening on`")?;
    // anvil logs every request to stdout: keep draining it so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let key: PrivateKeySigner = ANVIL_KEY.parse()?;
    Ok(Chain {
        provider: provider(&url, key.clone())?,
        deployer: key,
        chain_id,
        url,
        _devnet: None,
        _anvil: Some(Anvil { _child: child }),
    })
}

pub fn settings() -> EvmValidatorSettings {
    EvmValidatorSettings {
        set_weights_bounty: U256::from(TAO / 100),
        set_weights_block_interval: 0,
        refund_overhead: U256::from(15_000u64),
        metagraph_boost: 0,
        version_key: 0,
        funding: tao(10),
    }
}

pub fn plan(
    chain: &Chain,
    record_path: &Path,
    subnet: SubnetKind,
    policy: FamilyPolicy,
) -> DeployPlan {
    DeployPlan {
        network: "local".into(),
        chain_id: chain.chain_id,
        netuid: 2,
        wtao: WtaoSource::Deploy,
        deposit_goal: tao(1000),
        pool_denominations: DeployPlan::default_denominations(),
        verifying_key: VerifyingKeyFile::generator_placeholder("test-circuit"),
        verifier_family: policy,
        record_path: record_path.to_path_buf(),
        local_subnet: subnet == SubnetKind::Devnet,
        anvil_mocks: subnet == SubnetKind::AnvilMocks,
        evm_validator: settings(),
        insecure_key: taonado_ops::InsecureKeyPolicy::Allow,
    }
}

/// Records every step so tests can assert what was sent and what was skipped.
#[derive(Default)]
pub struct Steps(pub Mutex<Vec<(String, StepState)>>);

impl DeployProgress for Steps {
    fn step(&self, name: &str, state: StepState) {
        if state != StepState::Started {
            self.0.lock().unwrap().push((name.to_owned(), state));
        }
    }
}

impl Steps {
    pub fn done(&self) -> Vec<String> {
        let steps = self.0.lock().unwrap();
        steps
            .iter()
            .filter(|(_, s)| matches!(s, StepState::Done { .. }))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Every recorded contract address, by name (pools as `pool-<wei>`).
pub fn addresses(record: &DeploymentRecord) -> Vec<(String, Address)> {
    let mut out: Vec<(String, Address)> = record
        .contracts
        .iter()
        .map(|(n, c)| (n.clone(), c.address))
        .collect();
    out.extend(
        record
            .pools
            .iter()
            .map(|p| (format!("pool-{}", p.denomination), p.contract.address)),
    );
    out
}

pub async fn send(provider: &DynProvider, tx: TransactionRequest) -> Result<TransactionReceipt> {
    let receipt = provider.send_transaction(tx).await?.get_receipt().await?;
    ensure!(
        receipt.status(),
        "transaction {} reverted",
        receipt.transaction_hash
    );
    Ok(receipt)
}

pub struct TestMiner {
    pub provider: DynProvider,
    pub address: Address,
    pub uid: u16,
    pub wrapped: U256,
}

/// Funds, registers, wraps and associates one miner per amount.
pub async fn join_miners(
    chain: &Chain,
    record: &DeploymentRecord,
    amounts: &[u64],
) -> Result<Vec<TestMiner>> {
    let kind = record.subnet.context("the deployment has a local subnet")?;
    let subnet = LocalSubnet::new(
        chain.provider.clone(),
        kind,
        record.netuid,
        chain.deployer_address(),
    );
    let wtao = record.address(names::WTAO)?;
    let tracker = record.address(names::DEPOSIT_TRACKER)?;
    let mut miners = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let key = PrivateKeySigner::random();
        let address = key.address();
        let wrapped = tao(*amount);
        let fund = TransactionRequest::default()
            .to(address)
            .value(wrapped + tao(1));
        send(&chain.provider, fund).await?;
        let hotkey = keccak256(format!("test-miner-{i}-{address}"));
        let uid = subnet
            .register(hotkey, evm_mirror(address).to_b256())
            .await?;
        let provider = provider(&chain.url, key)?;
        let receipt = WTAO::new(wtao, &provider)
            .deposit()
            .value(wrapped)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "wrap reverted");
        let receipt = DepositTracker::new(tracker, &provider)
            .associate(hotkey)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "associate reverted");
        miners.push(TestMiner {
            provider,
            address,
            uid,
            wrapped,
        });
    }
    Ok(miners)
}

/// Asserts `values[uid]` is ordered like the miners' deposits, strictly, and positive.
pub fn assert_ordered_like_deposits(what: &str, values: &[u64], miners: &[TestMiner]) {
    let mut by_deposit: Vec<&TestMiner> = miners.iter().collect();
    by_deposit.sort_by_key(|m| m.wrapped);
    let ordered: Vec<u64> = by_deposit
        .iter()
        .map(|m| values[usize::from(m.uid)])
        .collect();
    assert!(
        ordered[0] > 0,
        "{what}: the smallest miner has nothing: {values:?}"
    );
    assert!(
        ordered.windows(2).all(|w| w[0] < w[1]),
        "{what} not ordered like deposits: {ordered:?} (all {values:?})"
    );
}

/// Blocks to wait between two weight settings of one hotkey on the devnet subnet.
pub async fn rate_limit(chain: &Chain, netuid: u16) -> Result<u64> {
    let info = dev_rpc(
        &chain.provider,
        "subtensor_subnetInfo",
        serde_json::json!([{ "netuid": netuid }]),
    )
    .await?;
    info.pointer("/hyperparameters/weights_set_rate_limit")
        .and_then(|v| v.as_u64())
        .context("rate limit in subnetInfo")
}

/// The mining round: miners wrap and associate different amounts, the EvmValidator sets
/// weights through 0x804 by both paths, and the result is ordered like the deposits
/// (incentives after an epoch on the devnet; the weights MockNeuron recorded on anvil).
pub async fn mining_round(chain: &Chain, record: &DeploymentRecord) -> Result<()> {
    let kind = record.subnet.context("local subnet")?;
    let netuid = record.netuid;
    let validator = record.address(names::EVM_VALIDATOR)?;
    let miners = join_miners(chain, record, &[3, 1, 2]).await?;

    let normalized = WeightsV3::new(record.address(names::WEIGHTS)?, &chain.provider)
        .getNormalizedWeights()
        .call()
        .await?;
    let weights: Vec<u64> = normalized
        .normalized
        .iter()
        .map(|w| u64::from(*w))
        .collect();
    assert_ordered_like_deposits("normalized weights", &weights, &miners);

    let wait = if kind == SubnetKind::Devnet {
        rate_limit(chain, netuid).await?
    } else {
        0
    };
    mine(&chain.provider, wait).await?;
    let contract = EvmValidator::new(validator, &chain.provider);
    let receipt = contract
        .operatorSetWeights()
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "operatorSetWeights reverted");
    ensure!(
        !receipt
            .inner
            .logs()
            .iter()
            .any(|l| l.topic0() == Some(&EvmValidator::BountyPaid::SIGNATURE_HASH)),
        "the owner's path pays no bounty"
    );

    mine(&chain.provider, wait).await?;
    let caller = &miners[0];
    let before = caller.provider.get_balance(caller.address).await?;
    let public = EvmValidator::new(validator, &caller.provider);
    let receipt = public
        .setWeights(B256::ZERO)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "public setWeights reverted");
    let paid = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| EvmValidator::BountyPaid::decode_log_data(l.data()).ok())
        .context("public setWeights emits BountyPaid")?;
    assert_eq!(paid.who, caller.address);
    assert!(
        paid.weiRefunded > settings().set_weights_bounty,
        "refund covers gas plus the bounty: {}",
        paid.weiRefunded
    );
    let after = caller.provider.get_balance(caller.address).await?;
    let gas_cost = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        after,
        before - gas_cost + paid.weiRefunded,
        "the caller got exactly the refund"
    );

    match kind {
        SubnetKind::Devnet => {
            let subnet = LocalSubnet::new(
                chain.provider.clone(),
                kind,
                netuid,
                chain.deployer_address(),
            );
            let tempo = subnet.tempo().await?.context("devnet tempo")?;
            let epochs_before = subnet.epoch_index().await?;
            mine(&chain.provider, tempo).await?;
            assert_ne!(subnet.epoch_index().await?, epochs_before, "an epoch ran");
            let incentives: Vec<u64> = subnet
                .incentives()
                .await?
                .into_iter()
                .map(u64::from)
                .collect();
            assert_ordered_like_deposits("incentives", &incentives, &miners);
            let emissions = subnet.emissions().await?;
            assert!(
                miners.iter().all(|m| emissions[usize::from(m.uid)] > 0),
                "miners earned emission: {emissions:?}"
            );
        }
        SubnetKind::AnvilMocks => {
            let neuron = MockNeuron::new(taonado_contracts::NEURON_PRECOMPILE, &chain.provider);
            assert_eq!(
                neuron.setWeightsCalls(validator).call().await?,
                U256::from(2)
            );
            let last = neuron.lastWeights(validator).call().await?;
            assert_eq!(last.netuid, netuid);
            let pushed: Vec<u64> = last.weights.iter().map(|w| u64::from(*w)).collect();
            assert_ordered_like_deposits("weights pushed to 0x804", &pushed, &miners);
        }
    }
    Ok(())
}

/// Wiring checks through the contract bindings.
pub async fn assert_wiring(
    chain: &Chain,
    record: &DeploymentRecord,
    plan: &DeployPlan,
) -> Result<()> {
    use taonado_contracts::bindings::{ERC20Taonado, EvmValidator, WeightsV3};
    let p = &chain.provider;
    let wtao = record.address(names::WTAO)?;
    let tracker = record.address(names::DEPOSIT_TRACKER)?;
    let weights = record.address(names::WEIGHTS)?;
    let validator = record.address(names::EVM_VALIDATOR)?;
    let implementation = record.address(names::EVM_VALIDATOR_IMPLEMENTATION)?;
    let verifier = record.address(names::VERIFIER)?;
    let hasher = record.address(names::HASHER)?;
    let one_wtao_pool = record.pool(tao(1)).context("1 WTAO pool")?.contract.address;

    let w = WeightsV3::new(weights, p);
    assert_eq!(w.netuid().call().await?, plan.netuid);
    assert_eq!(w.depositTracker().call().await?, tracker);
    assert_eq!(w.wtao().call().await?, wtao);
    assert_eq!(
        w.metagraph().call().await?,
        taonado_contracts::METAGRAPH_PRECOMPILE
    );
    assert_eq!(
        w.taonado().call().await?,
        one_wtao_pool,
        "lifetime deposits come from the 1 WTAO pool"
    );
    assert_eq!(w.depositGoal().call().await?, plan.deposit_goal);
    assert_eq!(w.owner().call().await?, chain.deployer_address());

    let v = EvmValidator::new(validator, p);
    assert_eq!(v.owner().call().await?, chain.deployer_address());
    assert_eq!(v.weights().call().await?, weights);
    assert_eq!(v.netuid().call().await?, plan.netuid);
    assert_eq!(
        v.metagraph().call().await?,
        taonado_contracts::METAGRAPH_PRECOMPILE
    );
    assert_eq!(
        v.setWeightsBounty().call().await?,
        plan.evm_validator.set_weights_bounty
    );
    assert_eq!(
        v.setWeightsBlockInterval().call().await?,
        U256::from(plan.evm_validator.set_weights_block_interval)
    );
    assert_eq!(
        v.refundOverhead().call().await?,
        plan.evm_validator.refund_overhead
    );
    assert_eq!(v.versionKey().call().await?, plan.evm_validator.version_key);
    assert!(p.get_balance(validator).await? >= plan.evm_validator.funding);
    // ERC-1967 implementation slot: keccak256("eip1967.proxy.implementation") - 1.
    let slot = U256::from_be_bytes(keccak256("eip1967.proxy.implementation").0) - U256::from(1);
    let stored = p.get_storage_at(validator, slot).await?;
    assert_eq!(Address::from_word(stored.into()), implementation);

    assert_eq!(record.pools.len(), plan.pool_denominations.len());
    for pool in &record.pools {
        let c = ERC20Taonado::new(pool.contract.address, p);
        assert_eq!(c.denomination().call().await?, pool.denomination);
        assert_eq!(c.token().call().await?, wtao);
        assert_eq!(c.verifier().call().await?, verifier);
        assert_eq!(c.hasher().call().await?, hasher);
        assert_eq!(c.levels().call().await?, 20);
    }
    Ok(())
}
