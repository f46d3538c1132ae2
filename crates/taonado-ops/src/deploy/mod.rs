//! `taonado deploy`: the whole protocol in dependency order, idempotent and resumable.
//!
//! Every step first looks at the record and the chain. A recorded contract whose on-chain code
//! matches its artifact (immutables masked) and whose constructor arguments are unchanged is
//! skipped; configuration is compared with what the contracts report and only sent when it
//! differs. The record is saved after every step, and a deployment is written to it as
//! `pending` (with its nonce and predicted address) before its transaction is sent, so a run
//! that is interrupted anywhere resumes without deploying anything twice.

pub mod docs;
pub mod family;
pub mod plan;
pub mod preflight;
pub mod verify;

use std::path::PathBuf;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, PendingTransactionBuilder, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolValue};

use crate::error::{OpsError, Result};
use crate::record::{
    ContractRecord, DeploymentRecord, PendingDeployment, VerifierRecord, names, unix_now,
};
use crate::subnet::{self, SubnetKind};
use crate::verifying_key::VerifyingKeyFile;
use taonado_contracts::bindings::{EvmValidator, WeightsV3};
use taonado_contracts::{Artifact, CodeMatch, Contract};

pub use family::{ChainFamily, FamilyPolicy, ProbeResult};
pub use preflight::InsecureKeyPolicy;

/// The metagraph precompile WeightsV3 reads uids and hotkeys from.
pub const METAGRAPH_PRECOMPILE: Address = Address::new([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x02,
]);
/// The neuron precompile the EvmValidator sets weights through.
pub const NEURON_PRECOMPILE: Address = Address::new([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x04,
]);
/// How far back a resumed deploy looks for a creation transaction whose hash was never saved.
pub const CREATION_SEARCH_BLOCKS: u64 = 1024;
/// Merkle tree height of every pool (Tornado classic's 20 levels).
pub const MERKLE_TREE_HEIGHT: u32 = 20;

/// Where WTAO comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WtaoSource {
    /// Deploy Taonado's own WTAO (local and test chains).
    Deploy,
    /// Use a WTAO the protocol does not own (mainnet).
    Existing(Address),
}

/// EvmValidator configuration applied after deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmValidatorSettings {
    /// Paid to a non-owner caller of `setWeights` on top of the gas refund, wei.
    pub set_weights_bounty: U256,
    /// Blocks between public `setWeights` calls.
    pub set_weights_block_interval: u64,
    /// Gas added to the measured gas of a refund.
    pub refund_overhead: U256,
    /// Added to the weight of the uid the caller names (0 = off).
    pub metagraph_boost: u16,
    pub version_key: u64,
    /// The deploy tops the EvmValidator's balance up to this (it pays bounties), wei.
    pub funding: U256,
}

/// Everything `deploy` needs, resolved from the network config by the CLI.
#[derive(Clone, Debug)]
pub struct DeployPlan {
    /// Record name: "local", "testnet", ...
    pub network: String,
    /// Checked against the node before anything is sent.
    pub chain_id: u64,
    pub netuid: u16,
    pub wtao: WtaoSource,
    /// WeightsV3 `depositGoal`, wei.
    pub deposit_goal: U256,
    pub pool_denominations: Vec<U256>,
    pub verifying_key: VerifyingKeyFile,
    /// How the verifier variant is chosen (see [`FamilyPolicy`]).
    pub verifier_family: FamilyPolicy,
    /// `deployments/<network>.json`, read first to resume.
    pub record_path: PathBuf,
    /// The taonado devnet: register, stake and permit the EvmValidator's mirror through the
    /// `subtensor_*` dev RPC methods and keep commit-reveal off.
    pub local_subnet: bool,
    /// anvil: install MockMetagraph/MockNeuron at 0x802/0x804 with `anvil_setCode`.
    pub anvil_mocks: bool,
    pub evm_validator: EvmValidatorSettings,
    /// Whether the `local-dev-insecure` verifying key may be deployed (refused on live networks
    /// unless the operator overrides it explicitly).
    pub insecure_key: InsecureKeyPolicy,
}

impl DeployPlan {
    /// 0.1, 1, 10, 100 and 1000 WTAO.
    pub fn default_denominations() -> Vec<U256> {
        let tenth = U256::from(100_000_000_000_000_000u64);
        (0..5u32)
            .map(|i| tenth * U256::from(10u64).pow(U256::from(i)))
            .collect()
    }
}

/// The state of one deploy step, as reported to [`DeployProgress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Started,
    /// Something was sent. `tx` is `None` for dev RPC steps.
    Done {
        address: Address,
        tx: Option<B256>,
    },
    /// Already in place: nothing was sent.
    Skipped {
        address: Address,
    },
}

/// Receives step-by-step progress (the CLI draws it).
pub trait DeployProgress: Send + Sync {
    fn step(&self, name: &str, state: StepState);
}

/// Progress that goes nowhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl DeployProgress for NoProgress {
    fn step(&self, _name: &str, _state: StepState) {}
}

/// The pool whose `totalLifetimeDeposits` WeightsV3 counts: the 1 WTAO pool, as on mainnet
/// (WeightsV3 0xE487…d0D0 reads the 1 WTAO pool 0x64ee…0254). Without a 1 WTAO pool, the
/// smallest pool.
pub fn weights_pool_denomination(denominations: &[U256]) -> Option<U256> {
    let one = U256::from(1_000_000_000_000_000_000u64);
    if denominations.contains(&one) {
        Some(one)
    } else {
        denominations.iter().min().copied()
    }
}

/// Deploys and wires the protocol, resuming from `plan.record_path`.
pub async fn deploy(
    provider: &DynProvider,
    deployer: Address,
    plan: &DeployPlan,
    progress: &dyn DeployProgress,
) -> Result<DeploymentRecord> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(OpsError::rpc("reading the chain id"))?;
    if chain_id != plan.chain_id {
        return Err(OpsError::ChainIdMismatch {
            network: plan.network.clone(),
            expected: plan.chain_id,
            actual: chain_id,
        });
    }
    preflight::check_key_policy(plan.insecure_key, &plan.verifying_key, &plan.network)?;
    let record = match DeploymentRecord::load(&plan.record_path)? {
        Some(record) if record.chain_id != chain_id => {
            return Err(OpsError::RecordChainMismatch {
                path: plan.record_path.clone(),
                record_chain_id: record.chain_id,
                chain_id,
            });
        }
        Some(record) if record.deployer != deployer => {
            return Err(OpsError::RecordDeployerMismatch {
                path: plan.record_path.clone(),
                recorded: record.deployer,
                deployer,
            });
        }
        Some(record) => record,
        None => DeploymentRecord::new(&plan.network, chain_id, plan.netuid, deployer),
    };
    let denominations = {
        let mut d = plan.pool_denominations.clone();
        d.sort();
        d.dedup();
        d
    };
    let weights_pool = weights_pool_denomination(&denominations).ok_or(OpsError::NoPools)?;

    // Refuse the wrong verifier before anything is deployed.
    let probe = family::probe(provider).await?;
    let family = family::decide(plan.verifier_family, chain_id, probe)?;

    let mut run = Run {
        provider,
        deployer,
        plan,
        record,
        progress,
    };
    run.record.netuid = plan.netuid;
    run.record.subnet = if plan.local_subnet {
        Some(SubnetKind::Devnet)
    } else if plan.anvil_mocks {
        Some(SubnetKind::AnvilMocks)
    } else {
        None
    };
    run.save()?;

    if plan.anvil_mocks {
        run.install_mock(Contract::MockMetagraph, METAGRAPH_PRECOMPILE)
            .await?;
        run.install_mock(Contract::MockNeuron, NEURON_PRECOMPILE)
            .await?;
    }

    let wtao = match plan.wtao {
        WtaoSource::Deploy => {
            run.contract(
                Slot::Named(names::WTAO),
                Contract::WTAO.artifact(),
                Bytes::new(),
            )
            .await?
        }
        WtaoSource::Existing(address) => run.existing(names::WTAO, "WTAO", address).await?,
    };
    let tracker = run
        .contract(
            Slot::Named(names::DEPOSIT_TRACKER),
            Contract::DepositTracker.artifact(),
            Bytes::new(),
        )
        .await?;
    let hasher = run
        .contract(
            Slot::Named(names::HASHER),
            Contract::MiMCSponge.artifact(),
            Bytes::new(),
        )
        .await?;

    let key = &plan.verifying_key;
    run.record.verifier = Some(VerifierRecord {
        family: family.to_string(),
        key_setup: key.setup_label().to_owned(),
        circuit: key.circuit().map(str::to_owned),
        circuit_hash: key.circuit_hash().map(str::to_owned),
    });
    let verifier_args = key.to_words()?.constructor_args();
    let verifier = run
        .contract(
            Slot::Named(names::VERIFIER),
            verifier_contract(family).artifact(),
            verifier_args.into(),
        )
        .await?;

    let pool_artifact = Contract::ERC20Taonado.artifact();
    let mut pool_for_weights = Address::ZERO;
    for denomination in &denominations {
        let args = (verifier, hasher, *denomination, MERKLE_TREE_HEIGHT, wtao).abi_encode_params();
        let pool = run
            .contract(Slot::Pool(*denomination), pool_artifact, args.into())
            .await?;
        if *denomination == weights_pool {
            pool_for_weights = pool;
        }
    }

    let weights_args = (
        plan.netuid,
        tracker,
        METAGRAPH_PRECOMPILE,
        wtao,
        pool_for_weights,
    )
        .abi_encode_params();
    let weights = run
        .contract(
            Slot::Named(names::WEIGHTS),
            Contract::WeightsV3.artifact(),
            weights_args.into(),
        )
        .await?;
    let goal = WeightsV3::new(weights, provider)
        .depositGoal()
        .call()
        .await
        .map_err(OpsError::contract("reading WeightsV3.depositGoal"))?;
    run.ensure(
        "WeightsV3.setDepositGoal",
        weights,
        goal == plan.deposit_goal,
        || {
            WeightsV3::setDepositGoalCall {
                _depositGoal: plan.deposit_goal,
            }
            .abi_encode()
        },
    )
    .await?;

    let implementation = run
        .contract(
            Slot::Named(names::EVM_VALIDATOR_IMPLEMENTATION),
            Contract::EvmValidator.artifact(),
            Bytes::new(),
        )
        .await?;
    let init = EvmValidator::initializeCall {
        _netuid: plan.netuid,
        _weights: weights,
    }
    .abi_encode();
    let proxy_args = (implementation, Bytes::from(init)).abi_encode_params();
    let validator = run
        .contract(
            Slot::Named(names::EVM_VALIDATOR),
            Contract::ERC1967Proxy.artifact(),
            proxy_args.into(),
        )
        .await?;
    // After `taonado migrate weights`, the validator points at WeightsV4; a re-run of the
    // deploy must not move it back.
    let live_weights = run
        .record
        .contracts
        .get(names::WEIGHTS_V4)
        .map_or(weights, |v4| v4.address);
    run.configure_validator(validator, live_weights).await?;

    if let Some(kind) = run.record.subnet {
        let step = "LocalSubnet.validator";
        run.progress.step(step, StepState::Started);
        let state = match kind {
            SubnetKind::Devnet => {
                subnet::wire_devnet_validator(provider, plan.netuid, validator, deployer).await?
            }
            SubnetKind::AnvilMocks => {
                subnet::wire_mock_validator(provider, plan.netuid, validator, deployer).await?
            }
        };
        run.progress.step(step, state);
    }
    run.save()?;
    Ok(run.record)
}

/// Where a deployed contract goes in the record.
#[derive(Clone, Copy, Debug)]
enum Slot<'a> {
    Named(&'a str),
    Pool(U256),
}

impl Slot<'_> {
    fn step_name(&self) -> String {
        match self {
            Self::Named(name) => (*name).to_owned(),
            Self::Pool(denomination) => {
                format!("Pool {} WTAO", taonado_types::format_tao(*denomination))
            }
        }
    }
}

struct Run<'a> {
    provider: &'a DynProvider,
    deployer: Address,
    plan: &'a DeployPlan,
    record: DeploymentRecord,
    progress: &'a dyn DeployProgress,
}

impl Run<'_> {
    fn save(&mut self) -> Result<()> {
        self.record.touch();
        self.record.save(&self.plan.record_path)
    }

    fn recorded(&self, slot: Slot<'_>) -> Option<&ContractRecord> {
        match slot {
            Slot::Named(name) => self.record.contracts.get(name),
            Slot::Pool(denomination) => self.record.pool(denomination).map(|p| &p.contract),
        }
    }

    fn put(&mut self, slot: Slot<'_>, contract: ContractRecord) {
        match slot {
            Slot::Named(name) => {
                self.record.contracts.insert(name.to_owned(), contract);
            }
            Slot::Pool(denomination) => self.record.set_pool(denomination, contract),
        }
    }

    async fn code_at(&self, address: Address) -> Result<Bytes> {
        self.provider
            .get_code_at(address)
            .await
            .map_err(OpsError::rpc(format!("reading the code at {address}")))
    }

    /// Deploys `artifact` with `args` into `slot` unless the record already has it on chain.
    async fn contract(
        &mut self,
        slot: Slot<'_>,
        artifact: &Artifact,
        args: Bytes,
    ) -> Result<Address> {
        let step = slot.step_name();
        self.progress.step(&step, StepState::Started);
        if let Some(existing) = self.recorded(slot).cloned()
            && existing.artifact == artifact.name()
            && existing.constructor_args == args
        {
            let code = self.code_at(existing.address).await?;
            if matches(artifact, &code) {
                self.progress.step(
                    &step,
                    StepState::Skipped {
                        address: existing.address,
                    },
                );
                return Ok(existing.address);
            }
            if !code.is_empty() {
                return Err(OpsError::CodeMismatch {
                    step,
                    address: existing.address,
                    record: self.plan.record_path.clone(),
                });
            }
            // No code: the chain was reset under the record. Deploy again.
        }
        if let Some(address) = self.resolve_pending(&step, artifact, &args, slot).await? {
            self.progress.step(&step, StepState::Skipped { address });
            return Ok(address);
        }

        let nonce = self
            .provider
            .get_transaction_count(self.deployer)
            .pending()
            .await
            .map_err(OpsError::rpc("reading the deployer nonce"))?;
        let address = self.deployer.create(nonce);
        self.record.pending = Some(PendingDeployment {
            step: step.clone(),
            nonce,
            address,
            tx_hash: None,
        });
        self.save()?;

        let tx = TransactionRequest::default()
            .from(self.deployer)
            .nonce(nonce)
            .input(artifact.deploy_code(&args).into());
        let tx = alloy::network::TransactionBuilder::into_create(tx);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(OpsError::rpc(format!("sending {step}")))?;
        let tx_hash = *pending.tx_hash();
        if let Some(p) = self.record.pending.as_mut() {
            p.tx_hash = Some(tx_hash);
        }
        self.save()?;
        let receipt = confirm(pending, &step).await?;
        let created = receipt
            .contract_address
            .ok_or(OpsError::NoContractCreated {
                step: step.clone(),
                tx: tx_hash,
            })?;
        self.put(
            slot,
            ContractRecord {
                address: created,
                tx_hash: Some(tx_hash),
                block: receipt.block_number,
                gas_used: Some(receipt.gas_used),
                artifact: artifact.name().to_owned(),
                artifact_sha256: Some(artifact.sha256),
                constructor_args: args,
                deployed_at: unix_now(),
            },
        );
        self.record.pending = None;
        self.save()?;
        tracing::info!(%step, address = %created, tx = %tx_hash, gas = receipt.gas_used, "deployed");
        self.progress.step(
            &step,
            StepState::Done {
                address: created,
                tx: Some(tx_hash),
            },
        );
        Ok(created)
    }

    /// A deployment that was recorded as pending by an interrupted run: adopt it if it landed,
    /// wait for it if it is still in flight, forget it if its nonce went to something else.
    async fn resolve_pending(
        &mut self,
        step: &str,
        artifact: &Artifact,
        args: &Bytes,
        slot: Slot<'_>,
    ) -> Result<Option<Address>> {
        let Some(pending) = self.record.pending.clone().filter(|p| p.step == step) else {
            return Ok(None);
        };
        let mut receipt = None;
        if let Some(hash) = pending.tx_hash {
            receipt = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .map_err(OpsError::rpc(format!("reading the receipt of {step}")))?;
            if receipt.is_none() {
                let in_flight =
                    self.provider
                        .get_transaction_by_hash(hash)
                        .await
                        .map_err(OpsError::rpc(format!(
                            "looking up the transaction of {step}"
                        )))?;
                if in_flight.is_some() {
                    let watch = PendingTransactionBuilder::new(self.provider.root().clone(), hash);
                    receipt = Some(confirm(watch, step).await?);
                }
            }
        }
        let code = self.code_at(pending.address).await?;
        let adopted = if matches(artifact, &code) {
            if receipt.is_none() {
                // Sent, but the run died before saving the hash: find it by its nonce.
                receipt = self.find_creation(pending.nonce, pending.address).await?;
            }
            self.put(
                slot,
                ContractRecord {
                    address: pending.address,
                    tx_hash: receipt
                        .as_ref()
                        .map(|r| r.transaction_hash)
                        .or(pending.tx_hash),
                    block: receipt.as_ref().and_then(|r| r.block_number),
                    gas_used: receipt.as_ref().map(|r| r.gas_used),
                    artifact: artifact.name().to_owned(),
                    artifact_sha256: Some(artifact.sha256),
                    constructor_args: args.clone(),
                    deployed_at: unix_now(),
                },
            );
            Some(pending.address)
        } else {
            None
        };
        self.record.pending = None;
        self.save()?;
        Ok(adopted)
    }

    /// The receipt of the deployer's transaction with `nonce` that created `address`, searched
    /// backwards from the head over at most [`CREATION_SEARCH_BLOCKS`] blocks.
    async fn find_creation(
        &self,
        nonce: u64,
        address: Address,
    ) -> Result<Option<TransactionReceipt>> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(OpsError::rpc("reading the block number"))?;
        let floor = head.saturating_sub(CREATION_SEARCH_BLOCKS);
        for number in (floor..=head).rev() {
            let block = self
                .provider
                .get_block_by_number(number.into())
                .full()
                .await
                .map_err(OpsError::rpc(format!("reading block {number}")))?;
            let Some(block) = block else { continue };
            let found = block.transactions.txns().find_map(|tx| {
                let sent = tx.inner.signer() == self.deployer
                    && alloy::consensus::Transaction::nonce(tx.inner.inner()) == nonce;
                sent.then(|| *tx.inner.tx_hash())
            });
            if let Some(hash) = found {
                let receipt = self
                    .provider
                    .get_transaction_receipt(hash)
                    .await
                    .map_err(OpsError::rpc(format!("reading the receipt of {hash}")))?;
                return Ok(receipt.filter(|r| r.contract_address == Some(address)));
            }
        }
        Ok(None)
    }

    /// A contract the protocol uses but does not deploy: recorded after checking it has code.
    async fn existing(&mut self, name: &str, artifact: &str, address: Address) -> Result<Address> {
        self.progress.step(name, StepState::Started);
        if self.code_at(address).await?.is_empty() {
            return Err(OpsError::NoCode {
                name: name.to_owned(),
                address,
            });
        }
        self.record.contracts.insert(
            name.to_owned(),
            ContractRecord {
                address,
                tx_hash: None,
                block: None,
                gas_used: None,
                artifact: artifact.to_owned(),
                artifact_sha256: None,
                constructor_args: Bytes::new(),
                deployed_at: unix_now(),
            },
        );
        self.save()?;
        self.progress.step(name, StepState::Skipped { address });
        Ok(address)
    }

    /// Sends `calldata` to `target` unless `in_place` says the chain already has it.
    async fn ensure(
        &mut self,
        step: &str,
        target: Address,
        in_place: bool,
        calldata: impl FnOnce() -> Vec<u8>,
    ) -> Result<()> {
        self.ensure_with_value(step, target, in_place, U256::ZERO, calldata)
            .await
    }

    async fn ensure_with_value(
        &mut self,
        step: &str,
        target: Address,
        in_place: bool,
        value: U256,
        calldata: impl FnOnce() -> Vec<u8>,
    ) -> Result<()> {
        self.progress.step(step, StepState::Started);
        if in_place {
            self.progress
                .step(step, StepState::Skipped { address: target });
            return Ok(());
        }
        let tx = TransactionRequest::default()
            .from(self.deployer)
            .to(target)
            .value(value)
            .input(calldata().into());
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(OpsError::rpc(format!("sending {step}")))?;
        let receipt = confirm(pending, step).await?;
        self.record
            .wiring
            .insert(step.to_owned(), receipt.transaction_hash);
        self.save()?;
        tracing::info!(%step, %target, tx = %receipt.transaction_hash, "configured");
        self.progress.step(
            step,
            StepState::Done {
                address: target,
                tx: Some(receipt.transaction_hash),
            },
        );
        Ok(())
    }

    async fn configure_validator(&mut self, validator: Address, weights: Address) -> Result<()> {
        let settings = &self.plan.evm_validator;
        let contract = EvmValidator::new(validator, self.provider);
        let read = |what: &'static str| OpsError::contract(format!("reading EvmValidator.{what}"));
        let current_weights = contract.weights().call().await.map_err(read("weights"))?;
        self.ensure(
            "EvmValidator.setWeightsContract",
            validator,
            current_weights == weights,
            || EvmValidator::setWeightsContractCall { value: weights }.abi_encode(),
        )
        .await?;
        let bounty = contract
            .setWeightsBounty()
            .call()
            .await
            .map_err(read("setWeightsBounty"))?;
        self.ensure(
            "EvmValidator.setSetWeightsBounty",
            validator,
            bounty == settings.set_weights_bounty,
            || {
                EvmValidator::setSetWeightsBountyCall {
                    value: settings.set_weights_bounty,
                }
                .abi_encode()
            },
        )
        .await?;
        let interval = contract
            .setWeightsBlockInterval()
            .call()
            .await
            .map_err(read("setWeightsBlockInterval"))?;
        let wanted_interval = U256::from(settings.set_weights_block_interval);
        self.ensure(
            "EvmValidator.setSetWeightsBlockInterval",
            validator,
            interval == wanted_interval,
            || {
                EvmValidator::setSetWeightsBlockIntervalCall {
                    value: wanted_interval,
                }
                .abi_encode()
            },
        )
        .await?;
        let overhead = contract
            .refundOverhead()
            .call()
            .await
            .map_err(read("refundOverhead"))?;
        self.ensure(
            "EvmValidator.setRefundOverhead",
            validator,
            overhead == settings.refund_overhead,
            || {
                EvmValidator::setRefundOverheadCall {
                    value: settings.refund_overhead,
                }
                .abi_encode()
            },
        )
        .await?;
        let boost = contract
            .metagraph_boost_value()
            .call()
            .await
            .map_err(read("metagraph_boost_value"))?;
        self.ensure(
            "EvmValidator.setMetagraphBoostValue",
            validator,
            boost == settings.metagraph_boost,
            || {
                EvmValidator::setMetagraphBoostValueCall {
                    value: settings.metagraph_boost,
                }
                .abi_encode()
            },
        )
        .await?;
        let version = contract
            .versionKey()
            .call()
            .await
            .map_err(read("versionKey"))?;
        self.ensure(
            "EvmValidator.setVersionKey",
            validator,
            version == settings.version_key,
            || {
                EvmValidator::setVersionKeyCall {
                    value: settings.version_key,
                }
                .abi_encode()
            },
        )
        .await?;
        let balance = self
            .provider
            .get_balance(validator)
            .await
            .map_err(OpsError::rpc("reading the EvmValidator balance"))?;
        let top_up = settings.funding.saturating_sub(balance);
        self.ensure_with_value(
            "EvmValidator.fund",
            validator,
            top_up.is_zero(),
            top_up,
            Vec::new,
        )
        .await
    }

    /// Puts a mock's runtime code at a precompile address (anvil only).
    async fn install_mock(&mut self, mock: Contract, address: Address) -> Result<()> {
        let step = mock.name();
        self.progress.step(step, StepState::Started);
        let artifact = mock.artifact();
        if matches(artifact, &self.code_at(address).await?) {
            self.progress.step(step, StepState::Skipped { address });
            return Ok(());
        }
        subnet::anvil_set_code(self.provider, address, &artifact.deployed_bytecode).await?;
        self.progress
            .step(step, StepState::Done { address, tx: None });
        Ok(())
    }
}

/// Whether on-chain code is this artifact's runtime code. Immutables differ per deployment, and
/// a difference only in solc's metadata trailer is the same program built from reformatted
/// sources.
fn matches(artifact: &Artifact, code: &[u8]) -> bool {
    !matches!(artifact.compare_code(code), CodeMatch::Mismatch)
}

/// The verifier contract of a chain family.
pub fn verifier_contract(family: ChainFamily) -> Contract {
    match family {
        ChainFamily::Ethereum => Contract::Groth16VerifierEthereum,
        ChainFamily::Bittensor => Contract::Groth16VerifierBittensor,
    }
}

/// Waits for a receipt and turns a failed status into [`OpsError::Reverted`].
pub(crate) async fn confirm(
    pending: PendingTransactionBuilder<alloy::network::Ethereum>,
    action: &str,
) -> Result<TransactionReceipt> {
    let tx = *pending.tx_hash();
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| OpsError::Confirmation {
            action: action.to_owned(),
            source,
        })?;
    if !receipt.status() {
        return Err(OpsError::Reverted {
            action: action.to_owned(),
            tx,
        });
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WTAO: u128 = 1_000_000_000_000_000_000;

    #[test]
    fn default_pools_are_the_five_denominations() {
        let expected: Vec<U256> = [WTAO / 10, WTAO, 10 * WTAO, 100 * WTAO, 1000 * WTAO]
            .into_iter()
            .map(U256::from)
            .collect();
        assert_eq!(DeployPlan::default_denominations(), expected);
    }

    #[test]
    fn weights_count_the_one_wtao_pool_else_the_smallest() {
        let d = DeployPlan::default_denominations();
        assert_eq!(weights_pool_denomination(&d), Some(U256::from(WTAO)));
        let without_one = [U256::from(10 * WTAO), U256::from(WTAO / 10)];
        assert_eq!(
            weights_pool_denomination(&without_one),
            Some(U256::from(WTAO / 10))
        );
        assert_eq!(weights_pool_denomination(&[]), None);
    }
}
