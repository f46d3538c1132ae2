//! The live demo behind `taonado up`: miners join the local subnet, wrap different amounts of
//! TAO and associate their hotkeys; the validator sets weights every interval (alternating the
//! owner's `operatorSetWeights` and a miner's public, bounty-paying `setWeights`); the chain's
//! epochs pay emissions; with [`MixerTraffic`], the funder also deposits into a pool and
//! withdraws each note to a fresh address (a real proof, with the local dev keys), so the
//! pools see traffic. Everything is reported to a [`SimulationObserver`] as it happens, and
//! the loop ends when the shutdown watch flips.
//!
//! The loop ticks with `tokio::time::interval`; on a chain that only mines on demand (instant
//! mining) a tick with no new block mines one, so epochs still come.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use taonado_types::{AccountId32, Hotkey, evm_mirror};

use crate::error::{OpsError, Result};
use crate::subnet::{LocalSubnet, gas_allowance};
use crate::tx;
use crate::validator::ValidatorMode;
use taonado_contracts::bindings::EvmValidator;
use taonado_deployment::{DeploymentRecord, names};

/// How the simulation runs.
#[derive(Clone, Debug)]
pub struct SimulationConfig {
    pub miners: usize,
    /// Blocks between weight settings.
    pub weights_interval_blocks: u64,
    /// Wall-clock time between two looks at the chain.
    pub tick: Duration,
    /// Mixer deposits and withdrawals, when set.
    pub mixer: Option<MixerTraffic>,
}

/// The simulation's use of the mixer: every `interval_blocks`, a deposit into the pool of
/// `amount` by the funder, or the withdrawal of the open note to a fresh address.
#[derive(Clone, Debug)]
pub struct MixerTraffic {
    /// The pool amount (`"1"`).
    pub amount: String,
    pub interval_blocks: u64,
    /// Where the event caches and the (throwaway) note backup go.
    pub work_dir: std::path::PathBuf,
}

/// Which path set the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "path")]
pub enum WeightsPath {
    /// The owner's `operatorSetWeights`: no bounty.
    Operator,
    /// A miner's public `setWeights`, paid back for gas plus the bounty.
    Public { caller: Address, refunded_wei: U256 },
}

/// What the simulation reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum SimulationEvent {
    MinerJoined {
        address: Address,
        hotkey: B256,
        uid: u16,
        wrapped_wei: U256,
    },
    WeightsSet {
        tx: B256,
        block: u64,
        path: WeightsPath,
        weights: Vec<u16>,
    },
    /// Setting weights failed (e.g. the subnet's rate limit); the loop goes on.
    WeightsFailed { block: u64, reason: String },
    Epoch {
        block: u64,
        incentives: Vec<u16>,
        emissions: Vec<u64>,
    },
    MixerDeposit {
        pool: String,
        leaf_index: u64,
        tx: B256,
        block: u64,
    },
    MixerWithdrawal {
        pool: String,
        recipient: Address,
        tx: B256,
        block: u64,
    },
    /// A mixer step failed; the loop goes on.
    MixerFailed { block: u64, reason: String },
}

/// Makes a provider that signs with a key, on the caller's connection (the CLI passes
/// `taonado_client::with_signer` over its provider): ops never builds a provider.
pub type Wallets<'a> = &'a (dyn Fn(PrivateKeySigner) -> DynProvider + Send + Sync);

/// Receives [`SimulationEvent`]s (the CLI prints them).
pub trait SimulationObserver: Send + Sync {
    fn event(&self, event: &SimulationEvent);
}

/// One simulated miner, as reported at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MinerSummary {
    pub address: Address,
    pub hotkey: B256,
    pub uid: u16,
    pub wrapped_wei: U256,
    pub incentive: u16,
}

/// What the simulation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimulationReport {
    pub miners: Vec<MinerSummary>,
    pub weight_sets: usize,
    pub weight_failures: usize,
    pub epochs: usize,
    pub bounty_paid_wei: U256,
    pub mixer_deposits: usize,
    pub mixer_withdrawals: usize,
    pub first_block: u64,
    pub last_block: u64,
}

struct Miner {
    provider: DynProvider,
    address: Address,
    hotkey: B256,
    uid: u16,
    wrapped: U256,
}

/// Runs the demo until `shutdown` becomes true (or its sender is dropped).
pub async fn run_simulation(
    provider: &DynProvider,
    funder: PrivateKeySigner,
    wallets: Wallets<'_>,
    record: &DeploymentRecord,
    config: SimulationConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    observer: &dyn SimulationObserver,
) -> Result<SimulationReport> {
    if config.miners == 0 || config.tick.is_zero() {
        return Err(OpsError::SimulationConfig);
    }
    let kind = record.subnet.ok_or(OpsError::NoLocalSubnet {
        network: record.network.clone(),
    })?;
    let funder_address = funder.address();
    let funder_provider = wallets(funder);
    let subnet = LocalSubnet::new(funder_provider.clone(), kind, record.netuid, funder_address);
    let validator = record.address(names::EVM_VALIDATOR)?;
    // Miners register through the weights contract the EvmValidator reads, as the CLI does.
    let addresses = taonado_deployment::ProtocolAddresses::from_record(record);

    let first_block = block_number(provider).await?;
    let mut miners = Vec::with_capacity(config.miners);
    for index in 0..config.miners {
        if *shutdown.borrow() {
            break;
        }
        // Different amounts, so the weights (and later the incentives) differ: 1, 2, 3 ... TAO.
        let wrapped = U256::from(index as u64 + 1) * U256::from(10u64).pow(U256::from(18));
        let miner = join_miner(
            &funder_provider,
            funder_address,
            wallets,
            &subnet,
            &addresses,
            wrapped,
        )
        .await?;
        observer.event(&SimulationEvent::MinerJoined {
            address: miner.address,
            hotkey: miner.hotkey,
            uid: miner.uid,
            wrapped_wei: miner.wrapped,
        });
        miners.push(miner);
    }

    let owner = EvmValidator::new(validator, &funder_provider)
        .owner()
        .call()
        .await
        .map_err(OpsError::contract("reading the EvmValidator owner"))?;
    let mut report = SimulationReport {
        miners: Vec::new(),
        weight_sets: 0,
        weight_failures: 0,
        epochs: 0,
        bounty_paid_wei: U256::ZERO,
        mixer_deposits: 0,
        mixer_withdrawals: 0,
        first_block,
        last_block: first_block,
    };
    let mixer = match &config.mixer {
        Some(traffic) => Some((
            crate::mixer::Mixer::new(funder_provider.clone(), record.clone(), &traffic.work_dir)
                .await?,
            traffic,
        )),
        None => None,
    };
    let mut open_note: Option<taonado_zk::Note> = None;
    let mut last_mixer_block: Option<u64> = None;
    let mut last_weights_block: Option<u64> = None;
    let mut last_block = first_block;
    let mut last_epoch = subnet.epoch_index().await?;
    let mut ticker = tokio::time::interval(config.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
            _ = ticker.tick() => {}
        }
        // A step (a proof, a transaction waiting for its block) is abandoned when the stop
        // flag flips, so a stop at a block limit is not carried past it by a long step.
        let step = async {
            let mut block = block_number(provider).await?;
            if block == last_block {
                // Instant-mining chain: nothing happens between transactions, so advance it.
                subnet.mine(1).await?;
                block = block_number(provider).await?;
            }
            last_block = block;

            let due = last_weights_block
                .is_none_or(|last| block >= last + config.weights_interval_blocks);
            if due {
                // Alternate the owner's path and the public path a miner is paid for.
                let public = owner != funder_address || report.weight_sets % 2 == 1;
                let (caller, caller_address) = if public {
                    let miner = &miners[report.weight_sets % miners.len()];
                    (&miner.provider, miner.address)
                } else {
                    (&funder_provider, funder_address)
                };
                match set_weights(caller, caller_address, validator, public).await {
                    Ok((tx, set_block, path, values)) => {
                        if let WeightsPath::Public { refunded_wei, .. } = path {
                            report.bounty_paid_wei += refunded_wei;
                        }
                        report.weight_sets += 1;
                        last_weights_block = Some(set_block);
                        observer.event(&SimulationEvent::WeightsSet {
                            tx,
                            block: set_block,
                            path,
                            weights: values,
                        });
                    }
                    Err(err) => {
                        report.weight_failures += 1;
                        // Try again next interval rather than every tick.
                        last_weights_block = Some(block);
                        observer.event(&SimulationEvent::WeightsFailed {
                            block,
                            reason: err.to_string(),
                        });
                    }
                }
            }

            if let Some((mixer, traffic)) = &mixer
                && last_mixer_block.is_none_or(|last| block >= last + traffic.interval_blocks)
            {
                last_mixer_block = Some(block);
                match mix_once(mixer, traffic, funder_address, &mut open_note).await {
                    Ok(event) => {
                        match &event {
                            SimulationEvent::MixerDeposit { .. } => report.mixer_deposits += 1,
                            SimulationEvent::MixerWithdrawal { .. } => {
                                report.mixer_withdrawals += 1
                            }
                            _ => {}
                        }
                        observer.event(&event);
                    }
                    Err(err) => observer.event(&SimulationEvent::MixerFailed {
                        block,
                        reason: err.to_string(),
                    }),
                }
            }

            let epoch = subnet.epoch_index().await?;
            if epoch != last_epoch {
                last_epoch = epoch;
                report.epochs += 1;
                let incentives = subnet.incentives().await?;
                let emissions = subnet.emissions().await?;
                observer.event(&SimulationEvent::Epoch {
                    block,
                    incentives,
                    emissions,
                });
            }
            Ok::<(), OpsError>(())
        };
        let stop = async {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        tokio::select! {
            biased;
            () = stop => break,
            done = step => done?,
        }
    }

    let incentives = subnet.incentives().await?;
    report.last_block = block_number(provider).await?;
    report.miners = miners
        .iter()
        .map(|m| MinerSummary {
            address: m.address,
            hotkey: m.hotkey,
            uid: m.uid,
            wrapped_wei: m.wrapped,
            incentive: incentives.get(usize::from(m.uid)).copied().unwrap_or(0),
        })
        .collect();
    Ok(report)
}

/// One mixer step: withdraw the open note to a fresh address, or deposit a new one.
async fn mix_once(
    mixer: &crate::mixer::Mixer,
    traffic: &MixerTraffic,
    funder: Address,
    open_note: &mut Option<taonado_zk::Note>,
) -> Result<SimulationEvent> {
    let progress = crate::mixer::NoMixerProgress;
    if let Some(note) = open_note.take() {
        let recipient = PrivateKeySigner::random().address();
        let request = crate::mixer::WithdrawRequest {
            note,
            recipient,
            relayer: Address::ZERO,
            fee: U256::ZERO,
            refund: U256::ZERO,
            gas_price: None,
        };
        // The local dev keys come with the binary; a simulation only runs on dev chains.
        // The simulation's pools are deployed with the local dev key: the compiled-in keys
        // prove; no Tornado keys are needed (an empty folder would be refused, not read).
        let keys = crate::mixer::WithdrawKeys {
            keys_dir: None,
            tornado_dir: std::path::PathBuf::new(),
        };
        let withdrawn = mixer.withdraw(&request, &keys, &progress).await?;
        return Ok(SimulationEvent::MixerWithdrawal {
            pool: withdrawn.pool.amount.clone(),
            recipient,
            tx: withdrawn.tx_hash,
            block: withdrawn.block,
        });
    }
    let request = crate::mixer::DepositRequest {
        amount: traffic.amount.clone(),
        sender: funder,
        backup: traffic.work_dir.join("simulation-notes.txt"),
        wrap: true,
        gas_price: None,
    };
    let deposited = mixer.deposit(&request, &progress).await?;
    let event = SimulationEvent::MixerDeposit {
        pool: deposited.pool.amount.clone(),
        leaf_index: deposited.leaf_index,
        tx: deposited.tx_hash,
        block: deposited.block,
    };
    *open_note = Some(deposited.note);
    Ok(event)
}

async fn block_number(provider: &DynProvider) -> Result<u64> {
    provider
        .get_block_number()
        .await
        .map_err(OpsError::rpc("reading the block number"))
}

async fn join_miner(
    funder: &DynProvider,
    funder_address: Address,
    wallets: Wallets<'_>,
    subnet: &LocalSubnet,
    addresses: &taonado_deployment::ProtocolAddresses,
    wrapped: U256,
) -> Result<Miner> {
    let key = PrivateKeySigner::random();
    let address = key.address();
    // A stand-in sr25519 public key: the simulation never signs with the hotkey.
    let hotkey = keccak256([b"taonado-simulated-hotkey".as_slice(), address.as_slice()].concat());
    let fund = TransactionRequest::default()
        .from(funder_address)
        .to(address)
        .value(wrapped + gas_allowance());
    let pending = tx::send(funder, fund, &format!("funding miner {address}")).await?;
    tx::confirm(pending, "funding a miner").await?;

    let uid = subnet
        .register(hotkey, evm_mirror(address).to_b256())
        .await?;
    let provider = wallets(key);
    // The same checked path as `taonado miner register`: associate, then wrap.
    crate::miner::register(
        &provider,
        address,
        addresses,
        Hotkey(AccountId32(hotkey.0)),
        wrapped,
        false,
    )
    .await?;
    Ok(Miner {
        provider,
        address,
        hotkey,
        uid,
        wrapped,
    })
}

/// Sets weights through the EvmValidator (the checked path of `taonado validator
/// set-weights`) and returns (tx, block, path, the weights pushed).
async fn set_weights(
    caller: &DynProvider,
    caller_address: Address,
    validator: Address,
    public: bool,
) -> Result<(B256, u64, WeightsPath, Vec<u16>)> {
    let mode = if public {
        ValidatorMode::Public { boost_hotkey: None }
    } else {
        ValidatorMode::Operator
    };
    let round = crate::validator::set_weights(caller, caller_address, validator, mode).await?;
    let path = if public {
        WeightsPath::Public {
            caller: caller_address,
            refunded_wei: round.refunded_wei,
        }
    } else {
        WeightsPath::Operator
    };
    Ok((round.tx, round.block, path, round.weights))
}
