//! [`SubtensorConfig`]: the local subnet a devnet starts with, from presets or TOML.

use alloy_primitives::{Address, address, hex};
use serde::{Deserialize, Serialize};
use taonado_types::{AccountId32, Hotkey, NetUid, Rao, evm_mirror};

use super::{Hyperparameters, SubtensorError};

/// The local subnet: its netuid, owner, hyperparameters and genesis neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubtensorConfig {
    pub netuid: NetUid,
    pub owner_coldkey: AccountId32,
    /// Receives the owner cut as stake while registered on the subnet.
    pub owner_hotkey: Option<Hotkey>,
    pub hyperparameters: Hyperparameters,
    /// Genesis neurons, registered at the genesis block in this order (uid = index).
    pub neurons: Vec<NeuronConfig>,
}

/// One genesis neuron.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronConfig {
    pub hotkey: Hotkey,
    pub coldkey: AccountId32,
    pub stake: Rao,
    /// `None`: from stake, like an epoch would (top MaxAllowedValidators, non-zero stake).
    pub validator_permit: Option<bool>,
}

/// Anvil's first three dev accounts; their mirrors are the dev coldkeys.
const DEV_ACCOUNT_0: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const DEV_ACCOUNT_1: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const DEV_ACCOUNT_2: Address = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");

/// sr25519 public keys of the well-known substrate dev accounts //Alice … //Eve.
pub(crate) const DEV_HOTKEYS: [(&str, [u8; 32]); 5] = [
    (
        "alice",
        hex!("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"),
    ),
    (
        "bob",
        hex!("8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"),
    ),
    (
        "charlie",
        hex!("90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22"),
    ),
    (
        "dave",
        hex!("306721211d5404bd9da88e0204360a1a9ab8b87c66c1bc2fcdd37f3c2222cc20"),
    ),
    (
        "eve",
        hex!("e659a7a1628cdd93febc04a4e0646ea20e9f5f0ce097d9a05290d4a9e054df4e"),
    ),
];

const TAO: u64 = 1_000_000_000;

impl SubtensorConfig {
    /// Netuid 2, tempo 360, spec defaults with commit-reveal off, owned by the mirror of
    /// anvil's dev account 0. Genesis neurons: uid 0 //Alice (owner hotkey, 100 TAO),
    /// uids 1–2 //Bob and //Charlie (validators, 300 and 200 TAO, coldkey = mirror of dev
    /// account 1), uids 3–4 //Dave and //Eve (miners, no stake, coldkey = mirror of dev
    /// account 2). The dev validators' stake is kept small on purpose: a validator needs
    /// more than half of the active validator stake for its weights to reach consensus.
    pub fn local_default() -> Self {
        let owner = evm_mirror(DEV_ACCOUNT_0);
        let validators = evm_mirror(DEV_ACCOUNT_1);
        let miners = evm_mirror(DEV_ACCOUNT_2);
        let neuron = |index: usize, coldkey: AccountId32, stake_tao: u64| NeuronConfig {
            hotkey: Hotkey(AccountId32(DEV_HOTKEYS[index].1)),
            coldkey,
            stake: Rao(stake_tao * TAO),
            validator_permit: None,
        };
        Self {
            netuid: NetUid(2),
            owner_coldkey: owner,
            owner_hotkey: Some(Hotkey(AccountId32(DEV_HOTKEYS[0].1))),
            hyperparameters: Hyperparameters::spec_defaults(),
            neurons: vec![
                neuron(0, owner, 100),
                neuron(1, validators, 300),
                neuron(2, validators, 200),
                neuron(3, miners, 0),
                neuron(4, miners, 0),
            ],
        }
    }

    /// Like [`Self::local_default`] with tempo 10 (subtensor's fast-runtime).
    pub fn fast() -> Self {
        let mut config = Self::local_default();
        config.hyperparameters.tempo = 10;
        config
    }

    /// Parse the TOML format described in the [module docs](super); unspecified keys keep
    /// the preset's values.
    pub fn from_toml_str(s: &str) -> Result<Self, SubtensorError> {
        let file: ConfigFile = toml::from_str(s).map_err(|e| SubtensorError::Toml {
            message: e.to_string(),
        })?;
        let mut config = match file.preset.as_deref() {
            None | Some("local") => Self::local_default(),
            Some("fast") => Self::fast(),
            Some(other) => {
                return Err(SubtensorError::UnknownPreset {
                    preset: other.to_owned(),
                });
            }
        };
        if let Some(netuid) = file.netuid {
            config.netuid = NetUid(netuid);
        }
        if let Some(owner) = &file.owner {
            config.owner_coldkey = parse_account("owner", owner)?;
        }
        if let Some(owner_hotkey) = &file.owner_hotkey {
            config.owner_hotkey = Some(Hotkey(parse_account("owner_hotkey", owner_hotkey)?));
        }
        for (name, value) in &file.hyperparameters {
            let json = serde_json::to_value(value).map_err(|e| SubtensorError::Hyperparameter {
                name: name.clone(),
                reason: e.to_string(),
            })?;
            super::set_hyperparameter(&mut config.hyperparameters, name, &json)?;
        }
        if let Some(enabled) = file.commit_reveal {
            config.hyperparameters.commit_reveal_weights_enabled = enabled;
        }
        if let Some(neurons) = file.neurons {
            config.neurons = neurons
                .iter()
                .enumerate()
                .map(|(i, n)| n.resolve(i, config.owner_coldkey))
                .collect::<Result<_, _>>()?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Reject configurations [`super::Subtensor::new`] would have to trim.
    pub fn validate(&self) -> Result<(), SubtensorError> {
        if self.netuid == NetUid::ROOT {
            return Err(SubtensorError::RootNetuid);
        }
        let max = self.hyperparameters.max_allowed_uids;
        if self.neurons.len() > usize::from(max) {
            return Err(SubtensorError::TooManyNeurons {
                count: self.neurons.len(),
                max,
            });
        }
        for (i, neuron) in self.neurons.iter().enumerate() {
            for earlier in &self.neurons[..i] {
                if earlier.hotkey == neuron.hotkey {
                    return Err(SubtensorError::DuplicateNeuron {
                        hotkey: neuron.hotkey.to_ss58(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The TOML file as written; see the module docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    preset: Option<String>,
    netuid: Option<u16>,
    owner: Option<String>,
    owner_hotkey: Option<String>,
    commit_reveal: Option<bool>,
    #[serde(default)]
    hyperparameters: toml::Table,
    neurons: Option<Vec<NeuronFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeuronFile {
    hotkey: String,
    coldkey: Option<String>,
    stake: Option<toml::Value>,
    validator_permit: Option<bool>,
}

impl NeuronFile {
    fn resolve(&self, index: usize, owner: AccountId32) -> Result<NeuronConfig, SubtensorError> {
        let hotkey = Hotkey(parse_account(
            &format!("neurons[{index}].hotkey"),
            &self.hotkey,
        )?);
        let coldkey = match &self.coldkey {
            Some(c) => parse_account(&format!("neurons[{index}].coldkey"), c)?,
            None => owner,
        };
        let stake = match &self.stake {
            None => Rao(0),
            Some(value) => {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Rao::parse_tao(&text).map_err(|source| SubtensorError::Value {
                    field: format!("neurons[{index}].stake"),
                    source,
                })?
            }
        };
        Ok(NeuronConfig {
            hotkey,
            coldkey,
            stake,
            validator_permit: self.validator_permit,
        })
    }
}

fn parse_account(field: &str, text: &str) -> Result<AccountId32, SubtensorError> {
    AccountId32::parse_or_mirror(text).map_err(|source| SubtensorError::Value {
        field: field.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_hotkeys_are_the_well_known_accounts() {
        let ss58: Vec<String> = DEV_HOTKEYS
            .iter()
            .map(|(_, k)| AccountId32(*k).to_ss58())
            .collect();
        assert_eq!(
            ss58,
            [
                "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
                "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
                "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
                "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
                "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
            ]
        );
    }

    #[test]
    fn presets() {
        let local = SubtensorConfig::local_default();
        assert_eq!(local.netuid, NetUid(2));
        assert_eq!(local.hyperparameters.tempo, 360);
        assert!(!local.hyperparameters.commit_reveal_weights_enabled);
        assert_eq!(local.neurons.len(), 5);
        local.validate().unwrap();
        assert_eq!(SubtensorConfig::fast().hyperparameters.tempo, 10);
    }

    #[test]
    fn toml_overrides_the_preset() {
        let config = SubtensorConfig::from_toml_str(
            r#"
            preset = "fast"
            netuid = 113
            owner = "0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac"
            commit_reveal = true

            [hyperparameters]
            WeightsSetRateLimit = 5
            kappa = 40000
            burn = "0.5"
            stake_threshold = 10

            [[neurons]]
            hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
            stake = "1000.25"
            validator_permit = true

            [[neurons]]
            hotkey = "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"
            coldkey = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
            "#,
        )
        .unwrap();
        assert_eq!(config.netuid, NetUid(113));
        assert_eq!(
            config.owner_coldkey.to_ss58(),
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
        let hp = &config.hyperparameters;
        assert_eq!(hp.tempo, 10);
        assert!(hp.commit_reveal_weights_enabled);
        assert_eq!(hp.weights_set_rate_limit, 5);
        assert_eq!(hp.kappa, 40000);
        assert_eq!(hp.burn, Rao(500_000_000));
        assert_eq!(hp.stake_threshold, Rao(10 * TAO));
        assert_eq!(config.neurons.len(), 2);
        assert_eq!(config.neurons[0].stake, Rao(1000 * TAO + TAO / 4));
        assert_eq!(config.neurons[0].coldkey, config.owner_coldkey);
        assert_eq!(config.neurons[0].validator_permit, Some(true));
        assert_eq!(config.neurons[1].hotkey.0, config.neurons[1].coldkey);
    }

    #[test]
    fn toml_errors_name_the_problem() {
        let err = |s: &str| SubtensorConfig::from_toml_str(s).unwrap_err();
        assert!(matches!(err("tempo = 3"), SubtensorError::Toml { .. }));
        assert!(matches!(
            err("preset = \"mainnet\""),
            SubtensorError::UnknownPreset { .. }
        ));
        assert!(matches!(err("netuid = 0"), SubtensorError::RootNetuid));
        assert!(matches!(
            err("[hyperparameters]\nfoo = 1"),
            SubtensorError::UnknownHyperparameter { .. }
        ));
        assert!(matches!(
            err("[hyperparameters]\ntempo = 70000"),
            SubtensorError::Hyperparameter { .. }
        ));
        assert!(matches!(
            err("[[neurons]]\nhotkey = \"nope\""),
            SubtensorError::Value { .. }
        ));
        assert!(matches!(
            err(
                "[[neurons]]\nhotkey = \"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"\nstake = \"-1\""
            ),
            SubtensorError::Value { .. }
        ));
        let dup = "[[neurons]]\nhotkey = \"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"\n";
        assert!(matches!(
            err(&format!("{dup}{dup}")),
            SubtensorError::DuplicateNeuron { .. }
        ));
    }
}
