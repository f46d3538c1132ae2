//! The emulated subtensor pallet behind the Bittensor EVM precompiles, in pure Rust (no
//! revm, no HTTP): state, the 0x800/0x802/0x804 precompiles, epochs (Yuma consensus) and
//! the `subtensor_*` dev JSON-RPC methods. The chain core drives it through
//! [`Subtensor::call`], [`Subtensor::on_block`] and [`Subtensor::handle_rpc`] and gives it
//! EVM balances through [`EvmHost`] (see `helpers/DEVNET-INTERFACE.md`).
//!
//! # Precompiles (spec/subtensor.md)
//! - `0x800 transfer(bytes32)`, payable: `msg.value` (already at 0x800) converted to rao;
//!   the dust below 1 rao stays at 0x800, as on chain. If the destination is the mirror of
//!   an EVM address the core knows ([`EvmHost::h160_for_mirror`]), that EVM balance is
//!   credited; otherwise the wei are burnt and the native ledger of the account is credited.
//!   A zero-rao transfer is a no-op success.
//! - `0x802` metagraph views: u16 values are `floor(x·65535)` of the last epoch. For an
//!   unknown uid the vector getters return 0/false; `getStake`, `getHotkey` and
//!   `getColdkey` halt exceptionally with `InvalidRange` (frontier's `ExitError::InvalidRange`)
//!   and `getAxon` with `hotkey not found` — both are [`PrecompileOutcome::DispatchFailed`],
//!   so the core renders them as `dispatch execution failed: <reason>` (the chain says
//!   `evm error: InvalidRange` / `Other("hotkey not found")`). `getRank` and `getTrust` are
//!   always 0. Value sent to a view reverts with `Function is not payable`.
//! - `0x804` neuron: the caller's mirror (a contract's own mirror) is the hotkey, or for
//!   `burnedRegister` the coldkey that pays `burn`. Pallet errors are
//!   [`PrecompileOutcome::DispatchFailed`] with the exact pallet name ([`PalletError`]).
//!   `setWeights` runs checks 1–13 in the spec's order (see [`weights`]).
//!   Value sent along stays at 0x804.
//! - Reverts (`Error(string)`): input shorter than a selector (`Tried to read selector out
//!   of bounds`), unknown selector (`Unknown selector`), ABI decoding errors, and
//!   state-changing functions in a static call (`Can't call non-static function in static
//!   context`).
//! - Gas: fixed per function ([`gas`]). A gas limit below it halts with `OutOfGas`.
//!
//! # Epochs
//! [`Subtensor::on_block`] runs a subnet's epoch when `block - last_epoch_block >= tempo`
//! (tempo 0 disables epochs); `subtensor_runEpoch` forces one. See [`epoch`] for the Yuma
//! steps and where emission goes (to the receivers' stake; the owner cut to the owner
//! hotkey's stake, or the owner coldkey's native balance when it is not registered).
//! Commit-reveal windows count epochs of the subnet (`epoch_index`), so a forced epoch
//! also opens a reveal window.
//!
//! # Configuration (TOML)
//! [`SubtensorConfig::from_toml_str`] reads this format; every key is optional and
//! overrides the preset:
//! ```toml
//! preset = "local"        # or "fast" (tempo 10)
//! netuid = 2              # the local subnet (not 0)
//! owner = "5F…"           # owner coldkey: SS58 (42 or 13116), 0x + 32 bytes, or an EVM address (= its mirror)
//! owner_hotkey = "5G…"    # receives the owner cut as stake while registered
//! commit_reveal = false   # same as hyperparameters.commit_reveal_weights_enabled (default off)
//!
//! [hyperparameters]       # any of HYPERPARAMETER_NAMES, any case style, subtensor units
//! tempo = 360
//! weights_set_rate_limit = 100
//! kappa = 32767           # fraction of 65535
//! burn = "1"              # TAO
//! stake_threshold = "0"   # TAO
//!
//! [[neurons]]             # if present, replaces the preset's dev neurons; uid = order
//! hotkey = "5G…"          # SS58, 0x + 32 bytes, or an EVM address (= its mirror)
//! coldkey = "0x…"         # default: the owner
//! stake = "1000"          # TAO, default 0
//! validator_permit = true # default: top MaxAllowedValidators by stake
//! ```
//!
//! # Dev JSON-RPC
//! Params are either one object (named fields below) or positional values in the order
//! listed. `netuid` is optional everywhere (default: the local subnet). Accounts are SS58,
//! 0x + 32 bytes, or an EVM address meaning its mirror. Stakes and balances are TAO
//! (`"1.5"` or a number); answers give rao as integers plus TAO strings.
//! - `subtensor_registerNeuron [hotkey, coldkey?, stake?, validatorPermit?]` → the neuron
//!   (registered at the current block, so `setWeights` is rate-limited from there)
//! - `subtensor_setStake [hotkey, stake]`
//! - `subtensor_setValidatorPermit [hotkey, permit]` (until the next epoch re-assigns permits)
//! - `subtensor_setHyperparameter [name, value]`, `subtensor_setCommitReveal [enabled]`
//! - `subtensor_getNeuron [uid | hotkey]`, `subtensor_metagraph []`, `subtensor_subnetInfo []`
//! - `subtensor_runEpoch []` → the epoch summary
//! - `subtensor_getBalance [account]` → native ledger balance (and the EVM balance of a mirror)
//! - `subtensor_mirrorOf [evmAddress]` → the mirror account

mod config;
pub mod epoch;
mod error;
mod host;
mod precompile;
mod rpc;
mod state;
pub mod weights;

use std::collections::BTreeMap;

use alloy_primitives::{Address, address};
use serde::{Deserialize, Serialize};
use taonado_types::{AccountId32, Hotkey, NetUid, Rao};

pub use self::{
    config::{NeuronConfig, SubtensorConfig},
    error::{PalletError, SubtensorError, SubtensorRpcError},
    host::{EvmHost, PrecompileCall, PrecompileOutcome},
    precompile::gas,
    state::{
        AxonInfo, EpochSummary, HYPERPARAMETER_NAMES, Hyperparameters, Neuron, NeuronEpoch, Subnet,
        WeightCommit, set_hyperparameter,
    },
};

/// 0x800: balance transfer to a native account.
pub const BALANCE_TRANSFER: Address = address!("0000000000000000000000000000000000000800");
/// 0x802: metagraph views.
pub const METAGRAPH: Address = address!("0000000000000000000000000000000000000802");
/// 0x804: neuron (weights, registration, axon).
pub const NEURON: Address = address!("0000000000000000000000000000000000000804");

/// The whole emulated pallet state. Cheap to clone (plain maps and vectors), serde for
/// persistence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subtensor {
    local_netuid: NetUid,
    subnets: BTreeMap<NetUid, Subnet>,
    /// Native balances (rao) of accounts that are not known EVM mirrors.
    native_balances: BTreeMap<AccountId32, u64>,
    /// hotkey → owning coldkey, across subnets.
    hotkey_owners: BTreeMap<AccountId32, AccountId32>,
}

impl Subtensor {
    /// The precompile addresses served here: 0x800, 0x802, 0x804.
    pub const PRECOMPILES: [Address; 3] = [BALANCE_TRANSFER, METAGRAPH, NEURON];

    /// Build the state from a config at `genesis_block`. Neurons that would make the config
    /// invalid (a repeated hotkey, more than MaxAllowedUids) are skipped; use
    /// [`SubtensorConfig::validate`] to reject them instead.
    pub fn new(config: SubtensorConfig, genesis_block: u64) -> Self {
        let mut subnet = Subnet {
            netuid: config.netuid,
            owner_coldkey: config.owner_coldkey,
            owner_hotkey: config.owner_hotkey,
            hyperparameters: config.hyperparameters,
            neurons: Vec::new(),
            last_epoch_block: genesis_block,
            epoch_index: 0,
            last_epoch: None,
        };
        let mut hotkey_owners = BTreeMap::new();
        let max = usize::from(subnet.hyperparameters.max_allowed_uids);
        for spec in &config.neurons {
            if subnet.neurons.len() >= max || subnet.uid_of(&spec.hotkey).is_some() {
                continue;
            }
            hotkey_owners.insert(spec.hotkey.0, spec.coldkey);
            subnet.neurons.push(Neuron::new(
                spec.hotkey,
                spec.coldkey,
                spec.stake.0,
                genesis_block,
            ));
        }
        subnet.assign_validator_permits();
        for spec in &config.neurons {
            if let (Some(permit), Some(uid)) = (spec.validator_permit, subnet.uid_of(&spec.hotkey))
            {
                subnet.neurons[usize::from(uid)].validator_permit = permit;
            }
        }
        Self {
            local_netuid: config.netuid,
            subnets: BTreeMap::from([(config.netuid, subnet)]),
            native_balances: BTreeMap::new(),
            hotkey_owners,
        }
    }

    pub fn is_precompile(address: &Address) -> bool {
        Self::PRECOMPILES.contains(address)
    }

    /// The subnet the config created.
    pub fn local_netuid(&self) -> NetUid {
        self.local_netuid
    }

    pub fn subnet(&self, netuid: NetUid) -> Option<&Subnet> {
        self.subnets.get(&netuid)
    }

    /// Native (rao) balance of an account that is not a known EVM mirror.
    pub fn native_balance(&self, account: &AccountId32) -> Rao {
        Rao(self.native_balances.get(account).copied().unwrap_or(0))
    }

    /// Remove and return a native balance: lets the core move rao credited to the mirror of
    /// an EVM address it had not seen yet onto that address's EVM balance.
    pub fn take_native_balance(&mut self, account: &AccountId32) -> Rao {
        Rao(self.native_balances.remove(account).unwrap_or(0))
    }

    /// Every native balance: what the mirrors of EVM addresses the chain had not seen hold
    /// (the core adds it to their EVM balance when an execution loads them).
    pub fn native_ledger(&self) -> &BTreeMap<AccountId32, u64> {
        &self.native_balances
    }

    /// Takes the native ledger out for one transaction (whose precompile calls may credit
    /// the now empty one); [`Subtensor::return_native_ledger`] puts it back.
    pub fn take_native_ledger(&mut self) -> BTreeMap<AccountId32, u64> {
        std::mem::take(&mut self.native_balances)
    }

    /// Puts back a ledger taken by [`Subtensor::take_native_ledger`], without the accounts
    /// in `settled` (their rao now is an EVM balance), adding what was credited meanwhile.
    pub fn return_native_ledger(
        &mut self,
        mut ledger: BTreeMap<AccountId32, u64>,
        settled: &[AccountId32],
    ) {
        for account in settled {
            ledger.remove(account);
        }
        for (account, rao) in std::mem::take(&mut self.native_balances) {
            let balance = ledger.entry(account).or_default();
            *balance = balance.saturating_add(rao);
        }
        self.native_balances = ledger;
    }

    fn credit_native(&mut self, account: AccountId32, rao: u64) {
        let balance = self.native_balances.entry(account).or_default();
        *balance = balance.saturating_add(rao);
    }

    /// Called once after each sealed block: runs every subnet's epoch that is due.
    pub fn on_block(&mut self, block_number: u64) {
        let due: Vec<NetUid> = self
            .subnets
            .values()
            .filter(|s| {
                let tempo = u64::from(s.hyperparameters.tempo);
                tempo > 0 && block_number.saturating_sub(s.last_epoch_block) >= tempo
            })
            .map(|s| s.netuid)
            .collect();
        for netuid in due {
            self.run_epoch(netuid, block_number);
        }
    }

    /// Run `netuid`'s epoch now (no-op for an unknown subnet).
    pub fn run_epoch(&mut self, netuid: NetUid, block_number: u64) -> Option<EpochSummary> {
        let subnet = self.subnets.get_mut(&netuid)?;
        let owner = subnet.owner_coldkey;
        let outcome = epoch::run_epoch(subnet, block_number);
        if outcome.owner_cut_to_coldkey > 0 {
            self.credit_native(owner, outcome.owner_cut_to_coldkey);
        }
        Some(outcome.summary)
    }

    /// Register `hotkey` on `netuid` at `block` (no burn): the dev path behind
    /// `subtensor_registerNeuron` and `burnedRegister`'s second half. When the subnet is
    /// full, the non-immune neuron with the lowest last-epoch emission (ties: the lower
    /// uid) is replaced, as the pallet prunes.
    pub fn register_neuron(
        &mut self,
        netuid: NetUid,
        hotkey: Hotkey,
        coldkey: AccountId32,
        block: u64,
    ) -> Result<u16, PalletError> {
        if netuid == NetUid::ROOT {
            return Err(PalletError::RegistrationNotPermittedOnRootSubnet);
        }
        let subnet = self
            .subnets
            .get_mut(&netuid)
            .ok_or(PalletError::SubNetworkDoesNotExist)?;
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
        let neuron = Neuron::new(hotkey, coldkey, 0, block);
        let uid = if subnet.neurons.len() < usize::from(subnet.hyperparameters.max_allowed_uids) {
            subnet.neurons.push(neuron);
            subnet.neurons.len() - 1
        } else {
            let immunity = u64::from(subnet.hyperparameters.immunity_period);
            let prune = subnet
                .neurons
                .iter()
                .enumerate()
                .filter(|(_, n)| block.saturating_sub(n.registered_at) >= immunity)
                .min_by_key(|(i, n)| (n.last_epoch.emission, *i))
                .map(|(i, _)| i)
                .ok_or(PalletError::NoNeuronIdAvailable)?;
            subnet.neurons[prune] = neuron;
            // Bonds held on the replaced uid belong to the old neuron.
            for other in &mut subnet.neurons {
                other.bonds.retain(|&(j, _)| usize::from(j) != prune);
            }
            prune
        };
        self.hotkey_owners.insert(hotkey.0, coldkey);
        // uid < MaxAllowedUids <= 65535.
        Ok(u16::try_from(uid).unwrap_or(u16::MAX))
    }
}

#[cfg(test)]
mod tests;
