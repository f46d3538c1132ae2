//! The `subtensor_*` dev JSON-RPC methods (listed in the module docs).

use alloy_primitives::Address;
use serde_json::{Map, Value, json};
use taonado_types::{AccountId32, Hotkey, NetUid, Rao, evm_mirror, format_tao};

use super::{
    EpochSummary, EvmHost, Neuron, Subnet, Subtensor, SubtensorRpcError, set_hyperparameter,
};

/// Positional or named params.
struct Params<'a> {
    method: &'a str,
    positional: Vec<Value>,
    named: Option<Map<String, Value>>,
}

impl<'a> Params<'a> {
    fn new(method: &'a str, params: Value) -> Result<Self, SubtensorRpcError> {
        let (positional, named) = match params {
            Value::Null => (Vec::new(), None),
            Value::Object(map) => (Vec::new(), Some(map)),
            Value::Array(mut items) => {
                if items.len() == 1 && items[0].is_object() {
                    match items.pop() {
                        Some(Value::Object(map)) => (Vec::new(), Some(map)),
                        _ => (items, None),
                    }
                } else {
                    (items, None)
                }
            }
            other => {
                return Err(SubtensorRpcError::InvalidParams(format!(
                    "{method}: params must be an array or an object, got {other}"
                )));
            }
        };
        Ok(Self {
            method,
            positional,
            named,
        })
    }

    fn get(&self, index: usize, name: &str) -> Option<&Value> {
        let value = match &self.named {
            Some(map) => map.get(name),
            None => self.positional.get(index),
        };
        value.filter(|v| !v.is_null())
    }

    fn invalid(&self, message: String) -> SubtensorRpcError {
        SubtensorRpcError::InvalidParams(format!("{}: {message}", self.method))
    }

    fn required(&self, index: usize, name: &str) -> Result<&Value, SubtensorRpcError> {
        self.get(index, name)
            .ok_or_else(|| self.invalid(format!("missing `{name}` (param {index})")))
    }

    fn account(&self, index: usize, name: &str) -> Result<Option<AccountId32>, SubtensorRpcError> {
        self.get(index, name)
            .map(|v| {
                let text = v
                    .as_str()
                    .ok_or_else(|| self.invalid(format!("`{name}` must be a string, got {v}")))?;
                AccountId32::parse_or_mirror(text)
                    .map_err(|e| self.invalid(format!("`{name}`: {e}")))
            })
            .transpose()
    }

    fn tao(&self, index: usize, name: &str) -> Result<Option<Rao>, SubtensorRpcError> {
        self.get(index, name)
            .map(|v| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(
                            self.invalid(format!("`{name}` must be TAO like \"1.5\", got {other}"))
                        );
                    }
                };
                Rao::parse_tao(&text).map_err(|e| self.invalid(format!("`{name}`: {e}")))
            })
            .transpose()
    }

    fn bool(&self, index: usize, name: &str) -> Result<Option<bool>, SubtensorRpcError> {
        self.get(index, name)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| self.invalid(format!("`{name}` must be true or false, got {v}")))
            })
            .transpose()
    }

    /// `netuid` is named-only (positional params are per-method values).
    fn netuid(&self, default: NetUid) -> Result<NetUid, SubtensorRpcError> {
        let Some(value) = self
            .named
            .as_ref()
            .and_then(|m| m.get("netuid"))
            .filter(|v| !v.is_null())
        else {
            return Ok(default);
        };
        value
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(NetUid)
            .ok_or_else(|| {
                self.invalid(format!(
                    "`netuid` must be an integer 0..=65535, got {value}"
                ))
            })
    }
}

impl Subtensor {
    /// Handle one `subtensor_*` dev method at `block_number` (the chain's latest block).
    pub fn handle_rpc(
        &mut self,
        host: &mut dyn EvmHost,
        method: &str,
        params: Value,
        block_number: u64,
    ) -> Result<Value, SubtensorRpcError> {
        let p = Params::new(method, params)?;
        let netuid = p.netuid(self.local_netuid)?;
        match method {
            "subtensor_registerNeuron" => {
                let hotkey = Hotkey(
                    p.account(0, "hotkey")?
                        .ok_or_else(|| p.invalid("missing `hotkey` (param 0)".into()))?,
                );
                let coldkey = p.account(1, "coldkey")?.unwrap_or(hotkey.0);
                let stake = p.tao(2, "stake")?.unwrap_or_default();
                let permit = p.bool(3, "validatorPermit")?;
                self.subnet_or_err(netuid)?;
                let uid = self
                    .register_neuron(netuid, hotkey, coldkey, block_number)
                    .map_err(|pallet_error| SubtensorRpcError::Registration { pallet_error })?;
                let neuron = self.neuron_mut(netuid, uid)?;
                neuron.stake = stake.0;
                if let Some(permit) = permit {
                    neuron.validator_permit = permit;
                }
                self.neuron_json(netuid, uid)
            }
            "subtensor_setStake" => {
                let (_, uid) = self.registered(&p, netuid)?;
                let stake = p
                    .tao(1, "stake")?
                    .ok_or_else(|| p.invalid("missing `stake` (param 1)".into()))?;
                self.neuron_mut(netuid, uid)?.stake = stake.0;
                self.neuron_json(netuid, uid)
            }
            "subtensor_setValidatorPermit" => {
                let (_, uid) = self.registered(&p, netuid)?;
                let permit = p.bool(1, "permit")?.unwrap_or(true);
                self.neuron_mut(netuid, uid)?.validator_permit = permit;
                self.neuron_json(netuid, uid)
            }
            "subtensor_setHyperparameter" => {
                let name = p.required(0, "name")?;
                let name = name
                    .as_str()
                    .ok_or_else(|| p.invalid(format!("`name` must be a string, got {name}")))?
                    .to_owned();
                let value = p.required(1, "value")?.clone();
                let subnet = self.subnet_mut_or_err(netuid)?;
                set_hyperparameter(&mut subnet.hyperparameters, &name, &value)?;
                Ok(subnet_info_json(subnet, block_number))
            }
            "subtensor_setCommitReveal" => {
                let enabled = p
                    .bool(0, "enabled")?
                    .ok_or_else(|| p.invalid("missing `enabled` (param 0)".into()))?;
                let subnet = self.subnet_mut_or_err(netuid)?;
                subnet.hyperparameters.commit_reveal_weights_enabled = enabled;
                Ok(subnet_info_json(subnet, block_number))
            }
            "subtensor_getNeuron" => {
                let which = p
                    .get(0, "uid")
                    .or_else(|| p.get(0, "hotkey"))
                    .ok_or_else(|| p.invalid("missing `uid` or `hotkey` (param 0)".into()))?;
                let uid = match which {
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|u| u16::try_from(u).ok())
                        .ok_or_else(|| p.invalid(format!("uid {n} is not 0..=65535")))?,
                    Value::String(text) => {
                        let hotkey = Hotkey(
                            AccountId32::parse_or_mirror(text)
                                .map_err(|e| p.invalid(format!("`hotkey`: {e}")))?,
                        );
                        self.uid_or_err(netuid, &hotkey)?
                    }
                    other => {
                        return Err(p.invalid(format!("expected a uid or a hotkey, got {other}")));
                    }
                };
                self.neuron_json(netuid, uid)
            }
            "subtensor_metagraph" => Ok(metagraph_json(self.subnet_or_err(netuid)?)),
            "subtensor_subnetInfo" => {
                Ok(subnet_info_json(self.subnet_or_err(netuid)?, block_number))
            }
            "subtensor_runEpoch" => {
                self.subnet_or_err(netuid)?;
                let summary = self
                    .run_epoch(netuid, block_number)
                    .ok_or(SubtensorRpcError::UnknownNetuid { netuid })?;
                Ok(epoch_json(&summary))
            }
            "subtensor_getBalance" => {
                let account = p
                    .account(0, "account")?
                    .ok_or_else(|| p.invalid("missing `account` (param 0)".into()))?;
                let native = self.native_balance(&account);
                let evm = host.h160_for_mirror(&account.0).map(|h160| {
                    let wei = host.balance(h160);
                    json!({"address": h160, "wei": wei.to_string(), "tao": format_tao(wei)})
                });
                Ok(json!({
                    "account": account.to_ss58(),
                    "nativeRao": native.0,
                    "nativeTao": native.to_string(),
                    "evm": evm,
                }))
            }
            "subtensor_mirrorOf" => {
                let value = p.required(0, "address")?;
                let address: Address =
                    value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                        p.invalid(format!("`address` must be a 0x EVM address, got {value}"))
                    })?;
                let mirror = evm_mirror(address);
                Ok(json!({"address": address, "ss58": mirror.to_ss58(), "hex": mirror.to_b256()}))
            }
            _ => Err(SubtensorRpcError::UnknownMethod {
                method: method.to_owned(),
            }),
        }
    }

    fn subnet_or_err(&self, netuid: NetUid) -> Result<&Subnet, SubtensorRpcError> {
        self.subnets
            .get(&netuid)
            .ok_or(SubtensorRpcError::UnknownNetuid { netuid })
    }

    fn subnet_mut_or_err(&mut self, netuid: NetUid) -> Result<&mut Subnet, SubtensorRpcError> {
        self.subnets
            .get_mut(&netuid)
            .ok_or(SubtensorRpcError::UnknownNetuid { netuid })
    }

    fn neuron_mut(&mut self, netuid: NetUid, uid: u16) -> Result<&mut Neuron, SubtensorRpcError> {
        let subnet = self.subnet_mut_or_err(netuid)?;
        let count = subnet.uid_count();
        subnet
            .neurons
            .get_mut(usize::from(uid))
            .ok_or(SubtensorRpcError::UnknownUid { netuid, uid, count })
    }

    /// The hotkey in param 0 (`hotkey`) and its uid; an error if it is not registered.
    fn registered(
        &self,
        p: &Params<'_>,
        netuid: NetUid,
    ) -> Result<(Hotkey, u16), SubtensorRpcError> {
        let hotkey = Hotkey(
            p.account(0, "hotkey")?
                .ok_or_else(|| p.invalid("missing `hotkey` (param 0)".into()))?,
        );
        let uid = self.uid_or_err(netuid, &hotkey)?;
        Ok((hotkey, uid))
    }

    fn uid_or_err(&self, netuid: NetUid, hotkey: &Hotkey) -> Result<u16, SubtensorRpcError> {
        self.subnet_or_err(netuid)?
            .uid_of(hotkey)
            .ok_or_else(|| SubtensorRpcError::NotRegistered {
                netuid,
                hotkey: hotkey.to_ss58(),
            })
    }

    fn neuron_json(&self, netuid: NetUid, uid: u16) -> Result<Value, SubtensorRpcError> {
        let subnet = self.subnet_or_err(netuid)?;
        let neuron = subnet.neuron(uid).ok_or(SubtensorRpcError::UnknownUid {
            netuid,
            uid,
            count: subnet.uid_count(),
        })?;
        Ok(neuron_json(netuid, uid, neuron))
    }
}

fn neuron_json(netuid: NetUid, uid: u16, n: &Neuron) -> Value {
    let e = &n.last_epoch;
    json!({
        "netuid": netuid.0,
        "uid": uid,
        "hotkey": n.hotkey.to_ss58(),
        "hotkeyHex": n.hotkey.0.to_b256(),
        "coldkey": n.coldkey.to_ss58(),
        "coldkeyHex": n.coldkey.to_b256(),
        "stake": n.stake,
        "stakeTao": Rao(n.stake).to_string(),
        "registeredAt": n.registered_at,
        "lastUpdate": n.last_update,
        "validatorPermit": n.validator_permit,
        "active": e.active,
        "rank": 0,
        "trust": 0,
        "consensus": e.consensus,
        "incentive": e.incentive,
        "dividends": e.dividends,
        "validatorTrust": e.validator_trust,
        "emission": e.emission,
        "axon": n.axon,
        "weights": n.weights,
        "pendingCommits": n.commits.len(),
    })
}

/// The subnet in bittensor's column form: one array per field, indexed by uid.
fn metagraph_json(s: &Subnet) -> Value {
    let col = |f: &dyn Fn(&Neuron) -> Value| -> Value { s.neurons.iter().map(f).collect() };
    json!({
        "netuid": s.netuid.0,
        "n": s.neurons.len(),
        "lastEpochBlock": s.last_epoch_block,
        "epochIndex": s.epoch_index,
        "uids": (0..s.neurons.len()).collect::<Vec<_>>(),
        "hotkeys": col(&|n| json!(n.hotkey.to_ss58())),
        "coldkeys": col(&|n| json!(n.coldkey.to_ss58())),
        "stakes": col(&|n| json!(n.stake)),
        "ranks": col(&|_| json!(0)),
        "trust": col(&|_| json!(0)),
        "consensus": col(&|n| json!(n.last_epoch.consensus)),
        "incentive": col(&|n| json!(n.last_epoch.incentive)),
        "dividends": col(&|n| json!(n.last_epoch.dividends)),
        "validatorTrust": col(&|n| json!(n.last_epoch.validator_trust)),
        "emission": col(&|n| json!(n.last_epoch.emission)),
        "active": col(&|n| json!(n.last_epoch.active)),
        "lastUpdate": col(&|n| json!(n.last_update)),
        "registeredAt": col(&|n| json!(n.registered_at)),
        "validatorPermit": col(&|n| json!(n.validator_permit)),
        "axons": col(&|n| json!(n.axon)),
        "weights": col(&|n| json!(n.weights)),
        "lastEpoch": s.last_epoch.as_ref().map(epoch_json),
    })
}

fn subnet_info_json(s: &Subnet, block: u64) -> Value {
    let tempo = u64::from(s.hyperparameters.tempo);
    json!({
        "netuid": s.netuid.0,
        "owner": s.owner_coldkey.to_ss58(),
        "ownerHotkey": s.owner_hotkey.map(|h| h.to_ss58()),
        "n": s.neurons.len(),
        "hyperparameters": s.hyperparameters,
        "burnTao": s.hyperparameters.burn.to_string(),
        "block": block,
        "lastEpochBlock": s.last_epoch_block,
        "nextEpochBlock": (tempo > 0).then(|| s.last_epoch_block + tempo),
        "epochIndex": s.epoch_index,
        "lastEpoch": s.last_epoch.as_ref().map(epoch_json),
    })
}

fn epoch_json(e: &EpochSummary) -> Value {
    json!({
        "block": e.block,
        "total": e.total,
        "ownerCut": e.owner_cut,
        "toMiners": e.to_miners,
        "toValidators": e.to_validators,
        "undistributed": e.undistributed,
    })
}
