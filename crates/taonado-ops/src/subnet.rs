//! The local subnet behind a dev deployment, in its two forms: the taonado devnet (the
//! emulated subtensor pallet, driven through its `subtensor_*` dev RPC methods) and anvil
//! (MockMetagraph/MockNeuron code installed at 0x802/0x804, driven through their setters).
//! Deploy uses it to make the EvmValidator a validator; the `up` simulation and the tests use
//! it to register miners, mine blocks and read incentives.

use std::borrow::Cow;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use serde_json::{Value, json};
use taonado_types::evm_mirror;

use crate::error::{OpsError, Result};
use crate::progress::StepState;
use crate::tx;
use taonado_contracts::METAGRAPH_PRECOMPILE;
use taonado_contracts::bindings::IMetagraph;
use taonado_contracts::bindings::mocks::MockMetagraph;

/// Least stake given to the EvmValidator's mirror on a local subnet: 1000 TAO, in rao
/// (more when the other neurons together hold more; see `wire_devnet_validator`).
pub const VALIDATOR_STAKE_RAO: u64 = 1_000_000_000_000;

// Recorded in the deployment record, so the type lives with it.
pub use taonado_deployment::SubnetKind;

/// Sends a dev RPC request and returns its JSON result.
pub async fn dev_rpc(provider: &DynProvider, method: &str, params: Value) -> Result<Value> {
    provider
        .raw_request::<Value, Value>(Cow::Owned(method.to_owned()), params)
        .await
        .map_err(|source| OpsError::DevRpc {
            method: method.to_owned(),
            source,
        })
}

/// `anvil_setCode`: puts runtime code at an address (anvil and the devnet both answer it).
pub async fn anvil_set_code(provider: &DynProvider, address: Address, code: &Bytes) -> Result<()> {
    dev_rpc(provider, "anvil_setCode", json!([address, code]))
        .await
        .map(drop)
}

/// `anvil_mine`: mines `blocks` empty blocks at once.
pub async fn mine(provider: &DynProvider, blocks: u64) -> Result<()> {
    dev_rpc(provider, "anvil_mine", json!([format!("{blocks:#x}")]))
        .await
        .map(drop)
}

/// A local subnet handle.
#[derive(Clone, Debug)]
pub struct LocalSubnet {
    provider: DynProvider,
    kind: SubnetKind,
    netuid: u16,
    /// Sends the mock setter transactions (anvil).
    operator: Address,
}

impl LocalSubnet {
    pub fn new(provider: DynProvider, kind: SubnetKind, netuid: u16, operator: Address) -> Self {
        Self {
            provider,
            kind,
            netuid,
            operator,
        }
    }

    pub fn kind(&self) -> SubnetKind {
        self.kind
    }

    /// Registers a neuron and returns its uid.
    pub async fn register(&self, hotkey: B256, coldkey: B256) -> Result<u16> {
        match self.kind {
            SubnetKind::Devnet => {
                let result = dev_rpc(
                    &self.provider,
                    "subtensor_registerNeuron",
                    json!([{ "netuid": self.netuid, "hotkey": hotkey, "coldkey": coldkey }]),
                )
                .await?;
                uid_from(&result, "subtensor_registerNeuron")
            }
            SubnetKind::AnvilMocks => {
                let uid = self.uid_count().await?;
                self.mock_call(
                    MockMetagraph::setHotkeyCall {
                        netuid: self.netuid,
                        uid,
                        hotkey,
                    }
                    .abi_encode(),
                )
                .await?;
                self.mock_call(
                    MockMetagraph::setColdkeyCall {
                        netuid: self.netuid,
                        uid,
                        coldkey,
                    }
                    .abi_encode(),
                )
                .await?;
                let count = uid + 1;
                self.mock_call(
                    MockMetagraph::setUidCountCall {
                        netuid: self.netuid,
                        count,
                    }
                    .abi_encode(),
                )
                .await?;
                Ok(uid)
            }
        }
    }

    /// Number of uids on the subnet, read through the metagraph precompile (or its mock).
    pub async fn uid_count(&self) -> Result<u16> {
        IMetagraph::new(METAGRAPH_PRECOMPILE, &self.provider)
            .getUidCount(self.netuid)
            .call()
            .await
            .map_err(OpsError::contract("reading getUidCount from the metagraph"))
    }

    /// Incentive (u16 fixed point) of every uid from the last epoch.
    pub async fn incentives(&self) -> Result<Vec<u16>> {
        let metagraph = IMetagraph::new(METAGRAPH_PRECOMPILE, &self.provider);
        let mut out = Vec::new();
        for uid in 0..self.uid_count().await? {
            out.push(
                metagraph
                    .getIncentive(self.netuid, uid)
                    .call()
                    .await
                    .map_err(OpsError::contract(
                        "reading getIncentive from the metagraph",
                    ))?,
            );
        }
        Ok(out)
    }

    /// Emission (rao) of every uid from the last epoch.
    pub async fn emissions(&self) -> Result<Vec<u64>> {
        let metagraph = IMetagraph::new(METAGRAPH_PRECOMPILE, &self.provider);
        let mut out = Vec::new();
        for uid in 0..self.uid_count().await? {
            out.push(
                metagraph
                    .getEmission(self.netuid, uid)
                    .call()
                    .await
                    .map_err(OpsError::contract("reading getEmission from the metagraph"))?,
            );
        }
        Ok(out)
    }

    /// The subnet's tempo (blocks per epoch); `None` on anvil, which has no epochs.
    pub async fn tempo(&self) -> Result<Option<u64>> {
        match self.kind {
            SubnetKind::AnvilMocks => Ok(None),
            SubnetKind::Devnet => {
                let info = self.devnet_info().await?;
                field_u64(&info, "/hyperparameters/tempo", "subtensor_subnetInfo").map(Some)
            }
        }
    }

    /// How many epochs the subnet has run; `None` on anvil.
    pub async fn epoch_index(&self) -> Result<Option<u64>> {
        match self.kind {
            SubnetKind::AnvilMocks => Ok(None),
            SubnetKind::Devnet => {
                let info = self.devnet_info().await?;
                field_u64(&info, "/epochIndex", "subtensor_subnetInfo").map(Some)
            }
        }
    }

    async fn devnet_info(&self) -> Result<Value> {
        dev_rpc(
            &self.provider,
            "subtensor_subnetInfo",
            json!([{ "netuid": self.netuid }]),
        )
        .await
    }

    /// Sets a subnet hyperparameter (devnet only; anvil has none).
    pub async fn set_hyperparameter(&self, name: &str, value: Value) -> Result<()> {
        if self.kind == SubnetKind::Devnet {
            dev_rpc(
                &self.provider,
                "subtensor_setHyperparameter",
                json!([{ "netuid": self.netuid, "name": name, "value": value }]),
            )
            .await?;
        }
        Ok(())
    }

    /// Mines blocks (both chains answer `anvil_mine`).
    pub async fn mine(&self, blocks: u64) -> Result<()> {
        mine(&self.provider, blocks).await
    }

    async fn mock_call(&self, calldata: Vec<u8>) -> Result<B256> {
        let tx = TransactionRequest::default()
            .from(self.operator)
            .to(METAGRAPH_PRECOMPILE)
            .input(calldata.into());
        let action = "configuring the MockMetagraph";
        let pending = tx::send(&self.provider, tx, action).await?;
        Ok(tx::confirm(pending, action).await?.transaction_hash)
    }
}

fn uid_from(value: &Value, method: &str) -> Result<u16> {
    let uid = field_u64(value, "/uid", method)?;
    u16::try_from(uid).map_err(|_| OpsError::DevRpcResult {
        method: method.to_owned(),
        reason: format!("uid {uid}"),
    })
}

fn field_u64(value: &Value, pointer: &str, method: &str) -> Result<u64> {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .ok_or_else(|| OpsError::DevRpcResult {
            method: method.to_owned(),
            reason: format!("no integer at {pointer} in {value}"),
        })
}

/// Devnet: registers the EvmValidator's mirror as a neuron (the deployer's mirror as its
/// coldkey), stakes it, gives it a validator permit and turns commit-reveal off, each only if
/// it is not already so.
pub(crate) async fn wire_devnet_validator(
    provider: &DynProvider,
    netuid: u16,
    validator: Address,
    deployer: Address,
) -> Result<StepState> {
    let hotkey = evm_mirror(validator);
    let coldkey = evm_mirror(deployer);
    let metagraph = dev_rpc(
        provider,
        "subtensor_metagraph",
        json!([{ "netuid": netuid }]),
    )
    .await?;
    let hotkeys = metagraph
        .get("hotkeys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ss58 = hotkey.to_ss58();
    let uid = hotkeys
        .iter()
        .position(|h| h.as_str() == Some(ss58.as_str()));
    // Emission accrues to stake, so the dev validators' stake grows every epoch. The
    // EvmValidator is the subnet operator's validator: give it more stake than all other
    // neurons together, so its weights decide consensus however long the chain ran first.
    let others_rao: u64 = metagraph
        .get("stakes")
        .and_then(Value::as_array)
        .map(|stakes| {
            stakes
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != uid)
                .filter_map(|(_, s)| s.as_u64())
                .fold(0u64, u64::saturating_add)
        })
        .unwrap_or(0);
    let required_tao = VALIDATOR_STAKE_RAO
        .max(others_rao.saturating_add(taonado_types::RAO_PER_TAO))
        .div_ceil(taonado_types::RAO_PER_TAO);
    let required_rao = required_tao.saturating_mul(taonado_types::RAO_PER_TAO);
    let stake_tao = required_tao.to_string();
    let mut changed = false;
    match uid {
        None => {
            changed = true;
            dev_rpc(
                provider,
                "subtensor_registerNeuron",
                json!([{
                    "netuid": netuid,
                    "hotkey": hotkey.to_b256(),
                    "coldkey": coldkey.to_b256(),
                    "stake": stake_tao,
                    "validatorPermit": true,
                }]),
            )
            .await?;
        }
        Some(uid) => {
            let column = |name: &str| {
                metagraph
                    .pointer(&format!("/{name}/{uid}"))
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            if column("stakes").as_u64().unwrap_or(0) < required_rao {
                changed = true;
                dev_rpc(
                    provider,
                    "subtensor_setStake",
                    json!([{ "netuid": netuid, "hotkey": hotkey.to_b256(), "stake": stake_tao }]),
                )
                .await?;
            }
            if column("validatorPermit") != Value::Bool(true) {
                changed = true;
                dev_rpc(
                    provider,
                    "subtensor_setValidatorPermit",
                    json!([{ "netuid": netuid, "hotkey": hotkey.to_b256(), "permit": true }]),
                )
                .await?;
            }
        }
    }
    let info = dev_rpc(
        provider,
        "subtensor_subnetInfo",
        json!([{ "netuid": netuid }]),
    )
    .await?;
    if info.pointer("/hyperparameters/commit_reveal_weights_enabled") != Some(&Value::Bool(false)) {
        changed = true;
        dev_rpc(
            provider,
            "subtensor_setCommitReveal",
            json!([{ "netuid": netuid, "enabled": false }]),
        )
        .await?;
    }
    Ok(if changed {
        StepState::Done {
            address: validator,
            tx: None,
        }
    } else {
        StepState::Skipped { address: validator }
    })
}

/// anvil: makes uid 0 of the MockMetagraph the EvmValidator's mirror, staked and permitted.
pub(crate) async fn wire_mock_validator(
    provider: &DynProvider,
    netuid: u16,
    validator: Address,
    deployer: Address,
) -> Result<StepState> {
    let subnet = LocalSubnet::new(provider.clone(), SubnetKind::AnvilMocks, netuid, deployer);
    let hotkey = evm_mirror(validator).to_b256();
    if subnet.uid_count().await? > 0 {
        let current = IMetagraph::new(METAGRAPH_PRECOMPILE, provider)
            .getHotkey(netuid, 0)
            .call()
            .await
            .map_err(OpsError::contract(
                "reading getHotkey from the MockMetagraph",
            ))?;
        if current == hotkey {
            return Ok(StepState::Skipped { address: validator });
        }
    }
    let uid = 0;
    subnet
        .mock_call(
            MockMetagraph::setHotkeyCall {
                netuid,
                uid,
                hotkey,
            }
            .abi_encode(),
        )
        .await?;
    let coldkey = evm_mirror(deployer).to_b256();
    subnet
        .mock_call(
            MockMetagraph::setColdkeyCall {
                netuid,
                uid,
                coldkey,
            }
            .abi_encode(),
        )
        .await?;
    subnet
        .mock_call(
            MockMetagraph::setStakeCall {
                netuid,
                uid,
                stake: VALIDATOR_STAKE_RAO,
            }
            .abi_encode(),
        )
        .await?;
    subnet
        .mock_call(
            MockMetagraph::setStatusCall {
                netuid,
                uid,
                validatorStatus: true,
                isActive: true,
                lastUpdate: 0,
            }
            .abi_encode(),
        )
        .await?;
    let count = subnet.uid_count().await?.max(1);
    let tx = subnet
        .mock_call(MockMetagraph::setUidCountCall { netuid, count }.abi_encode())
        .await?;
    Ok(StepState::Done {
        address: validator,
        tx: Some(tx),
    })
}

/// Value in wei a miner needs to cover its gas in the simulation and tests.
pub(crate) fn gas_allowance() -> U256 {
    U256::from(10u64).pow(U256::from(17))
}
