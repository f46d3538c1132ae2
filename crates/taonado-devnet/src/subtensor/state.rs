//! The emulated pallet's storage: subnets, their hyperparameters and neurons.

use serde::{Deserialize, Serialize};
use taonado_types::{AccountId32, Hotkey, NetUid, Rao};

/// Subnet hyperparameters, in subtensor's own units (kappa is a u16 fraction of 65535,
/// BondsMovingAverage a fraction of 1_000_000, burn and stake threshold in rao).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// Blocks between epochs (an epoch fires when `now - last_epoch_block >= tempo`; 0 = never).
    pub tempo: u16,
    /// WeightsSetRateLimit, in blocks.
    pub weights_set_rate_limit: u64,
    pub max_allowed_uids: u16,
    pub max_allowed_validators: u16,
    pub min_allowed_weights: u16,
    /// Blocks after registration during which a neuron cannot be pruned.
    pub immunity_period: u16,
    /// The largest normalised weight (of 65535) one entry may carry; 65535 disables the check.
    pub max_weight_limit: u16,
    pub weights_version_key: u64,
    pub commit_reveal_weights_enabled: bool,
    /// A commit made in epoch e is revealable only in epoch e + this.
    pub reveal_period_epochs: u64,
    /// Consensus quantile as a fraction of 65535 (32767 ≈ 0.5, the median).
    pub kappa: u16,
    /// Bond EMA retention as a fraction of 1_000_000 (900_000 → alpha 0.1).
    pub bonds_moving_average: u64,
    /// Cost of `burnedRegister`.
    pub burn: Rao,
    /// Blocks since LastUpdate after which a neuron counts as inactive.
    pub activity_cutoff: u16,
    /// Minimum stake to set weights.
    pub stake_threshold: Rao,
}

impl Hyperparameters {
    /// The defaults of a new subnet (spec/subtensor.md), with commit-reveal OFF so that
    /// Taonado's EvmValidator can call `setWeights` directly.
    pub fn spec_defaults() -> Self {
        Self {
            tempo: 360,
            weights_set_rate_limit: 100,
            max_allowed_uids: 256,
            max_allowed_validators: 64,
            min_allowed_weights: 1,
            immunity_period: 5000,
            max_weight_limit: u16::MAX,
            weights_version_key: 0,
            commit_reveal_weights_enabled: false,
            reveal_period_epochs: 1,
            kappa: 32_767,
            bonds_moving_average: 900_000,
            burn: Rao(1_000_000_000),
            activity_cutoff: 5000,
            stake_threshold: Rao(0),
        }
    }
}

/// What a neuron serves (`serveAxon`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxonInfo {
    /// Block of the last `serveAxon`.
    pub block: u64,
    pub version: u32,
    pub ip: u128,
    pub port: u16,
    pub ip_type: u8,
    pub protocol: u8,
    pub placeholder1: u8,
    pub placeholder2: u8,
}

/// One pending `commitWeights`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightCommit {
    pub hash: [u8; 32],
    pub block: u64,
    /// The subnet's epoch index when committed.
    pub epoch: u64,
}

/// A neuron's results from the last epoch (all zero before the first epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NeuronEpoch {
    pub active: bool,
    pub consensus: f64,
    pub incentive: f64,
    pub dividends: f64,
    pub validator_trust: f64,
    /// Rao credited to this neuron's stake by the epoch.
    pub emission: u64,
}

/// One registered neuron (its uid is its index in [`Subnet::neurons`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Neuron {
    pub hotkey: Hotkey,
    pub coldkey: AccountId32,
    /// Stake on this hotkey, in rao. Epoch emission accrues here.
    pub stake: u64,
    pub registered_at: u64,
    pub last_update: u64,
    pub validator_permit: bool,
    pub axon: Option<AxonInfo>,
    /// The row set by `setWeights`/`revealWeights`: (uid, max-upscaled weight), uid ascending.
    pub weights: Vec<(u16, u16)>,
    /// Bond EMA row: (uid, bond), uid ascending.
    pub bonds: Vec<(u16, f64)>,
    pub commits: Vec<WeightCommit>,
    pub last_epoch: NeuronEpoch,
}

impl Neuron {
    pub(crate) fn new(hotkey: Hotkey, coldkey: AccountId32, stake: u64, block: u64) -> Self {
        Self {
            hotkey,
            coldkey,
            stake,
            registered_at: block,
            last_update: block,
            validator_permit: false,
            axon: None,
            weights: Vec::new(),
            bonds: Vec::new(),
            commits: Vec::new(),
            last_epoch: NeuronEpoch::default(),
        }
    }
}

/// Totals of the last epoch of a subnet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSummary {
    pub block: u64,
    /// `tempo × 1 alpha` in rao.
    pub total: u64,
    /// Owner cut including the rounding dust of the other shares.
    pub owner_cut: u64,
    pub to_miners: u64,
    pub to_validators: u64,
    /// Not emitted because no neuron had stake to receive it.
    pub undistributed: u64,
}

/// One subnet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub netuid: NetUid,
    pub owner_coldkey: AccountId32,
    /// Receives the owner cut as stake when it is registered here; otherwise the cut goes
    /// to the owner coldkey's native balance.
    pub owner_hotkey: Option<Hotkey>,
    pub hyperparameters: Hyperparameters,
    pub neurons: Vec<Neuron>,
    pub last_epoch_block: u64,
    /// Number of epochs run so far (commit-reveal windows count in these).
    pub epoch_index: u64,
    pub last_epoch: Option<EpochSummary>,
}

impl Subnet {
    pub fn uid_of(&self, hotkey: &Hotkey) -> Option<u16> {
        self.neurons
            .iter()
            .position(|n| n.hotkey == *hotkey)
            .and_then(|i| u16::try_from(i).ok())
    }

    pub fn neuron(&self, uid: u16) -> Option<&Neuron> {
        self.neurons.get(usize::from(uid))
    }

    /// Number of uids as the u16 the chain reports (a subnet never exceeds 65535 uids).
    pub fn uid_count(&self) -> u16 {
        u16::try_from(self.neurons.len()).unwrap_or(u16::MAX)
    }

    /// Give permits to the top `MaxAllowedValidators` neurons by stake (non-zero stake only,
    /// ties to the lower uid); what the end of every epoch does.
    pub fn assign_validator_permits(&mut self) {
        let mut order: Vec<usize> = (0..self.neurons.len())
            .filter(|&i| self.neurons[i].stake > 0)
            .collect();
        order.sort_by(|&a, &b| {
            self.neurons[b]
                .stake
                .cmp(&self.neurons[a].stake)
                .then(a.cmp(&b))
        });
        order.truncate(usize::from(self.hyperparameters.max_allowed_validators));
        for neuron in &mut self.neurons {
            neuron.validator_permit = false;
        }
        for i in order {
            self.neurons[i].validator_permit = true;
        }
    }
}

/// Hyperparameter names accepted by [`set_hyperparameter`] (case, `_` and `-` ignored).
pub const HYPERPARAMETER_NAMES: [&str; 15] = [
    "tempo",
    "weights_set_rate_limit",
    "max_allowed_uids",
    "max_allowed_validators",
    "min_allowed_weights",
    "immunity_period",
    "max_weight_limit",
    "weights_version_key",
    "commit_reveal_weights_enabled",
    "reveal_period_epochs",
    "kappa",
    "bonds_moving_average",
    "burn",
    "activity_cutoff",
    "stake_threshold",
];

/// Set one hyperparameter from a JSON value. Names match in any case style
/// (`WeightsSetRateLimit`, `weights_set_rate_limit`, `weightsSetRateLimit`); integers may be
/// numbers or decimal strings; `burn` and `stake_threshold` are TAO (`"1.5"` or a number);
/// `commit_reveal_weights_enabled` (alias `commit_reveal`) is a bool.
pub fn set_hyperparameter(
    hp: &mut Hyperparameters,
    name: &str,
    value: &serde_json::Value,
) -> Result<(), super::SubtensorError> {
    use super::SubtensorError;
    let key: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let bad = |reason: String| SubtensorError::Hyperparameter {
        name: name.to_owned(),
        reason,
    };
    let integer = |max: u64| -> Result<u64, SubtensorError> {
        let parsed = match value {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        parsed
            .filter(|v| *v <= max)
            .ok_or_else(|| bad(format!("expected an integer 0..={max}, got {value}")))
    };
    let u16_value = || integer(u64::from(u16::MAX)).map(|v| v as u16);
    let tao = || -> Result<Rao, SubtensorError> {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(bad(format!(
                    "expected a TAO amount such as \"1.5\", got {value}"
                )));
            }
        };
        Rao::parse_tao(&text).map_err(|e| bad(e.to_string()))
    };
    match key.as_str() {
        "tempo" => hp.tempo = u16_value()?,
        "weightssetratelimit" | "weightsratelimit" => {
            hp.weights_set_rate_limit = integer(u64::MAX)?
        }
        "maxalloweduids" => hp.max_allowed_uids = u16_value()?,
        "maxallowedvalidators" => hp.max_allowed_validators = u16_value()?,
        "minallowedweights" => hp.min_allowed_weights = u16_value()?,
        "immunityperiod" => hp.immunity_period = u16_value()?,
        "maxweightlimit" => hp.max_weight_limit = u16_value()?,
        "weightsversionkey" | "weightsversion" => hp.weights_version_key = integer(u64::MAX)?,
        "commitrevealweightsenabled" | "commitreveal" => {
            hp.commit_reveal_weights_enabled = match value {
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::String(s) if s == "true" || s == "false" => s == "true",
                _ => return Err(bad(format!("expected true or false, got {value}"))),
            }
        }
        "revealperiodepochs" => {
            hp.reveal_period_epochs = integer(u64::MAX)?;
        }
        "kappa" => hp.kappa = u16_value()?,
        "bondsmovingaverage" => hp.bonds_moving_average = integer(1_000_000)?,
        "burn" => hp.burn = tao()?,
        "activitycutoff" => hp.activity_cutoff = u16_value()?,
        "stakethreshold" | "weightsminstake" => hp.stake_threshold = tao()?,
        _ => {
            return Err(SubtensorError::UnknownHyperparameter {
                name: name.to_owned(),
                known: HYPERPARAMETER_NAMES.join(", "),
            });
        }
    }
    Ok(())
}
