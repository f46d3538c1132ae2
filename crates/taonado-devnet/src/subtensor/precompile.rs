//! ABI dispatch of 0x800, 0x802 and 0x804.

use alloy_primitives::B256;
use alloy_sol_types::{Revert, SolCall, SolError, SolInterface, sol};
use taonado_types::{AccountId32, Hotkey, NetUid, evm_mirror, rao_to_wei, wei_to_rao};

use super::{
    AxonInfo, BALANCE_TRANSFER, EvmHost, METAGRAPH, NEURON, PalletError, PrecompileCall,
    PrecompileOutcome, Subtensor,
    weights::{self, WeightsInput},
};

sol! {
    interface IBalanceTransfer {
        function transfer(bytes32 data) external payable;
    }
}

// The metagraph and neuron precompile ABIs are written out once, in taonado-contracts,
// beside the contracts that call them; the dev chain implements that same ABI, so a
// selector can never differ between caller and emulator. The dependency points down to a
// crate of pure data (no I/O, no taonado crate below it), so it adds no cycle.
use taonado_contracts::bindings::{
    IMetagraph::{self, IMetagraphCalls},
    INeuron::INeuronCalls,
};

pub use self::IBalanceTransfer::IBalanceTransferCalls;

/// Fixed gas costs per function.
pub mod gas {
    /// Any 0x802 view.
    pub const VIEW: u64 = 2_000;
    pub const TRANSFER: u64 = 21_000;
    pub const SET_WEIGHTS: u64 = 20_000;
    /// Added to `SET_WEIGHTS` / `REVEAL_WEIGHTS` per (uid, weight) entry.
    pub const PER_WEIGHT: u64 = 1_000;
    pub const COMMIT_WEIGHTS: u64 = 20_000;
    pub const REVEAL_WEIGHTS: u64 = 20_000;
    pub const BURNED_REGISTER: u64 = 50_000;
    pub const SERVE_AXON: u64 = 20_000;
    /// A call that reverts before doing anything (bad selector, bad ABI, static context).
    pub const REVERT: u64 = 1_000;
}

const NOT_PAYABLE: &str = "Function is not payable";
const STATIC_CONTEXT: &str = "Can't call non-static function in static context";

fn revert(call: &PrecompileCall<'_>, message: impl Into<String>) -> PrecompileOutcome {
    PrecompileOutcome::Revert {
        output: Revert::from(message.into()).abi_encode(),
        gas_used: gas::REVERT.min(call.gas_limit),
    }
}

/// How every function of one precompile may be called (frontier's function modifier).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Modifier {
    /// Static calls allowed, value refused.
    View,
    /// Value accepted, static calls refused.
    Payable,
}

/// Read the selector, check the function modifier, then decode the arguments — the order
/// of frontier's precompile-utils — or return the revert the chain would give.
fn decode<C: SolInterface>(
    call: &PrecompileCall<'_>,
    modifier: Modifier,
) -> Result<C, PrecompileOutcome> {
    let Some(selector) = call.input.get(..4) else {
        return Err(revert(call, "Tried to read selector out of bounds"));
    };
    let selector: [u8; 4] = [selector[0], selector[1], selector[2], selector[3]];
    if !C::valid_selector(selector) {
        return Err(revert(call, "Unknown selector"));
    }
    if call.is_static && modifier != Modifier::View {
        return Err(revert(call, STATIC_CONTEXT));
    }
    if modifier != Modifier::Payable && !call.value.is_zero() {
        return Err(revert(call, NOT_PAYABLE));
    }
    C::abi_decode_validate(call.input)
        .map_err(|e| revert(call, format!("abi decoding failed: {e}")))
}

/// Charge `cost` and wrap the result of a state-changing function.
fn finish(
    call: &PrecompileCall<'_>,
    cost: u64,
    result: Result<Vec<u8>, PalletError>,
) -> PrecompileOutcome {
    if call.gas_limit < cost {
        return PrecompileOutcome::DispatchFailed(PalletError::OutOfGas.to_string());
    }
    match result {
        Ok(output) => PrecompileOutcome::Success {
            output,
            gas_used: cost,
        },
        Err(e) => PrecompileOutcome::DispatchFailed(e.to_string()),
    }
}

/// `floor(x · 65535)` with x clamped to [0, 1].
fn to_u16_fraction(x: f64) -> u16 {
    (x.clamp(0.0, 1.0) * f64::from(u16::MAX)).floor() as u16
}

impl Subtensor {
    /// Execute one precompile call (see the module docs for the behaviour).
    pub fn call(&mut self, host: &mut dyn EvmHost, call: PrecompileCall<'_>) -> PrecompileOutcome {
        match call.address {
            BALANCE_TRANSFER => self.balance_transfer(host, &call),
            METAGRAPH => self.metagraph(&call),
            NEURON => self.neuron(host, &call),
            _ => revert(&call, "Unknown selector"),
        }
    }

    fn balance_transfer(
        &mut self,
        host: &mut dyn EvmHost,
        call: &PrecompileCall<'_>,
    ) -> PrecompileOutcome {
        let IBalanceTransferCalls::transfer(IBalanceTransfer::transferCall { data }) =
            match decode::<IBalanceTransferCalls>(call, Modifier::Payable) {
                Ok(c) => c,
                Err(outcome) => return outcome,
            };
        if call.gas_limit < gas::TRANSFER {
            return PrecompileOutcome::DispatchFailed(PalletError::OutOfGas.to_string());
        }
        let result = match wei_to_rao(call.value) {
            Err(_) => Err(PalletError::BalanceTransferFailed),
            Ok((rao, _dust)) if rao.0 == 0 => Ok(Vec::new()),
            Ok((rao, _dust)) => {
                let dest = AccountId32(data.0);
                let amount = rao_to_wei(rao);
                match host.h160_for_mirror(&dest.0) {
                    Some(h160) => host
                        .transfer(BALANCE_TRANSFER, h160, amount)
                        .map(|()| Vec::new())
                        .map_err(|_| PalletError::BalanceTransferFailed),
                    None => host
                        .burn(BALANCE_TRANSFER, amount)
                        .map(|()| {
                            self.credit_native(dest, rao.0);
                            Vec::new()
                        })
                        .map_err(|_| PalletError::BalanceTransferFailed),
                }
            }
        };
        finish(call, gas::TRANSFER, result)
    }

    fn metagraph(&self, call: &PrecompileCall<'_>) -> PrecompileOutcome {
        use IMetagraph as M;
        let decoded = match decode::<IMetagraphCalls>(call, Modifier::View) {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        if call.gas_limit < gas::VIEW {
            return PrecompileOutcome::DispatchFailed(PalletError::OutOfGas.to_string());
        }
        let neuron = |netuid: u16, uid: u16| {
            self.subnets
                .get(&NetUid(netuid))
                .and_then(|s| s.neuron(uid))
        };
        let epoch = |netuid: u16, uid: u16| {
            neuron(netuid, uid)
                .map(|n| n.last_epoch)
                .unwrap_or_default()
        };
        let output: Result<Vec<u8>, PalletError> = match decoded {
            IMetagraphCalls::getUidCount(c) => Ok(M::getUidCountCall::abi_encode_returns(
                &self
                    .subnets
                    .get(&NetUid(c.netuid))
                    .map_or(0, |s| s.uid_count()),
            )),
            IMetagraphCalls::getStake(c) => neuron(c.netuid, c.uid)
                .map(|n| M::getStakeCall::abi_encode_returns(&n.stake))
                .ok_or(PalletError::InvalidRange),
            IMetagraphCalls::getRank(_) => Ok(M::getRankCall::abi_encode_returns(&0)),
            IMetagraphCalls::getTrust(_) => Ok(M::getTrustCall::abi_encode_returns(&0)),
            IMetagraphCalls::getConsensus(c) => Ok(M::getConsensusCall::abi_encode_returns(
                &to_u16_fraction(epoch(c.netuid, c.uid).consensus),
            )),
            IMetagraphCalls::getIncentive(c) => Ok(M::getIncentiveCall::abi_encode_returns(
                &to_u16_fraction(epoch(c.netuid, c.uid).incentive),
            )),
            IMetagraphCalls::getDividends(c) => Ok(M::getDividendsCall::abi_encode_returns(
                &to_u16_fraction(epoch(c.netuid, c.uid).dividends),
            )),
            IMetagraphCalls::getVtrust(c) => Ok(M::getVtrustCall::abi_encode_returns(
                &to_u16_fraction(epoch(c.netuid, c.uid).validator_trust),
            )),
            IMetagraphCalls::getEmission(c) => Ok(M::getEmissionCall::abi_encode_returns(
                &epoch(c.netuid, c.uid).emission,
            )),
            IMetagraphCalls::getValidatorStatus(c) => {
                Ok(M::getValidatorStatusCall::abi_encode_returns(
                    &neuron(c.netuid, c.uid).is_some_and(|n| n.validator_permit),
                ))
            }
            IMetagraphCalls::getLastUpdate(c) => Ok(M::getLastUpdateCall::abi_encode_returns(
                &neuron(c.netuid, c.uid).map_or(0, |n| n.last_update),
            )),
            IMetagraphCalls::getIsActive(c) => Ok(M::getIsActiveCall::abi_encode_returns(
                &epoch(c.netuid, c.uid).active,
            )),
            IMetagraphCalls::getAxon(c) => neuron(c.netuid, c.uid)
                .map(|n| {
                    let a: AxonInfo = n.axon.unwrap_or_default();
                    M::getAxonCall::abi_encode_returns(&M::AxonInfo {
                        block: a.block,
                        version: a.version,
                        ip: a.ip,
                        port: a.port,
                        ip_type: a.ip_type,
                        protocol: a.protocol,
                    })
                })
                .ok_or(PalletError::HotkeyNotFound),
            IMetagraphCalls::getHotkey(c) => neuron(c.netuid, c.uid)
                .map(|n| M::getHotkeyCall::abi_encode_returns(&n.hotkey.0.to_b256()))
                .ok_or(PalletError::InvalidRange),
            IMetagraphCalls::getColdkey(c) => neuron(c.netuid, c.uid)
                .map(|n| M::getColdkeyCall::abi_encode_returns(&n.coldkey.to_b256()))
                .ok_or(PalletError::InvalidRange),
        };
        finish(call, gas::VIEW, output)
    }

    fn neuron(&mut self, host: &mut dyn EvmHost, call: &PrecompileCall<'_>) -> PrecompileOutcome {
        let decoded = match decode::<INeuronCalls>(call, Modifier::Payable) {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let origin = evm_mirror(call.caller);
        let now = call.block_number;
        match decoded {
            INeuronCalls::setWeights(c) => {
                let cost = gas::SET_WEIGHTS + gas::PER_WEIGHT * c.dests.len() as u64;
                if call.gas_limit < cost {
                    return finish(call, cost, Ok(Vec::new()));
                }
                let input = WeightsInput {
                    netuid: c.netuid,
                    uids: &c.dests,
                    values: &c.weights,
                    version_key: c.versionKey,
                };
                let result = weights::set_weights(&mut self.subnets, &Hotkey(origin), input, now);
                finish(call, cost, result.map(|()| Vec::new()))
            }
            INeuronCalls::commitWeights(c) => {
                if call.gas_limit < gas::COMMIT_WEIGHTS {
                    return finish(call, gas::COMMIT_WEIGHTS, Ok(Vec::new()));
                }
                let result = weights::commit_weights(
                    &mut self.subnets,
                    &Hotkey(origin),
                    c.netuid,
                    c.commitHash.0,
                    now,
                );
                finish(call, gas::COMMIT_WEIGHTS, result.map(|()| Vec::new()))
            }
            INeuronCalls::revealWeights(c) => {
                let cost = gas::REVEAL_WEIGHTS + gas::PER_WEIGHT * c.uids.len() as u64;
                if call.gas_limit < cost {
                    return finish(call, cost, Ok(Vec::new()));
                }
                let input = WeightsInput {
                    netuid: c.netuid,
                    uids: &c.uids,
                    values: &c.values,
                    version_key: c.versionKey,
                };
                let result = weights::reveal_weights(
                    &mut self.subnets,
                    &Hotkey(origin),
                    input,
                    &c.salt,
                    now,
                );
                finish(call, cost, result.map(|()| Vec::new()))
            }
            INeuronCalls::burnedRegister(c) => {
                if call.gas_limit < gas::BURNED_REGISTER {
                    return finish(call, gas::BURNED_REGISTER, Ok(Vec::new()));
                }
                let result = self.burned_register(host, call, c.netuid, c.hotkey, origin);
                finish(call, gas::BURNED_REGISTER, result.map(|_| Vec::new()))
            }
            INeuronCalls::serveAxon(c) => {
                if call.gas_limit < gas::SERVE_AXON {
                    return finish(call, gas::SERVE_AXON, Ok(Vec::new()));
                }
                let axon = AxonInfo {
                    block: now,
                    version: c.version,
                    ip: c.ip,
                    port: c.port,
                    ip_type: c.ipType,
                    protocol: c.protocol,
                    placeholder1: c.placeholder1,
                    placeholder2: c.placeholder2,
                };
                let result = self.serve_axon(c.netuid, &Hotkey(origin), axon);
                finish(call, gas::SERVE_AXON, result.map(|()| Vec::new()))
            }
        }
    }

    /// `burnedRegister`: the caller (coldkey) pays `burn`, then `hotkey` is registered.
    fn burned_register(
        &mut self,
        host: &mut dyn EvmHost,
        call: &PrecompileCall<'_>,
        netuid: u16,
        hotkey: B256,
        coldkey: AccountId32,
    ) -> Result<u16, PalletError> {
        let netuid = NetUid(netuid);
        if netuid == NetUid::ROOT {
            return Err(PalletError::RegistrationNotPermittedOnRootSubnet);
        }
        let subnet = self
            .subnets
            .get(&netuid)
            .ok_or(PalletError::SubNetworkDoesNotExist)?;
        let hotkey = Hotkey(AccountId32(hotkey.0));
        if subnet.uid_of(&hotkey).is_some() {
            return Err(PalletError::HotKeyAlreadyRegisteredInSubNet);
        }
        if self
            .hotkey_owners
            .get(&hotkey.0)
            .is_some_and(|owner| *owner != coldkey)
        {
            return Err(PalletError::NonAssociatedColdKey);
        }
        let cost = rao_to_wei(subnet.hyperparameters.burn);
        if host.balance(call.caller) < cost {
            return Err(PalletError::NotEnoughBalanceToStake);
        }
        // Registration is checked before the burn so a failure burns nothing; the only
        // failure left after it (a full subnet of immune neurons) is checked here first.
        let mut trial = self.clone();
        trial.register_neuron(netuid, hotkey, coldkey, call.block_number)?;
        host.burn(call.caller, cost)
            .map_err(|_| PalletError::NotEnoughBalanceToStake)?;
        *self = trial;
        let uid = self
            .subnets
            .get(&netuid)
            .and_then(|s| s.uid_of(&hotkey))
            .ok_or(PalletError::HotKeyNotRegisteredInSubNet)?;
        Ok(uid)
    }

    /// `serveAxon`: the caller's mirror must be registered on the subnet; the IP must match
    /// its type (4 or 6) and not be 0.
    fn serve_axon(
        &mut self,
        netuid: u16,
        hotkey: &Hotkey,
        axon: AxonInfo,
    ) -> Result<(), PalletError> {
        let subnet = self
            .subnets
            .get_mut(&NetUid(netuid))
            .ok_or(PalletError::HotKeyNotRegisteredInNetwork)?;
        let uid = subnet
            .uid_of(hotkey)
            .ok_or(PalletError::HotKeyNotRegisteredInNetwork)?;
        match axon.ip_type {
            4 if axon.ip == 0 || axon.ip > u128::from(u32::MAX) => {
                return Err(PalletError::InvalidIpAddress);
            }
            6 if axon.ip == 0 => return Err(PalletError::InvalidIpAddress),
            4 | 6 => {}
            _ => return Err(PalletError::InvalidIpType),
        }
        subnet.neurons[usize::from(uid)].axon = Some(axon);
        Ok(())
    }
}
