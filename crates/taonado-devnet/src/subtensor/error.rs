//! Errors of the subtensor emulation: configuration, dev JSON-RPC, and pallet errors.

use taonado_types::{NetUid, TypesError};

/// A bad subtensor configuration (TOML or values).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubtensorError {
    #[error("subtensor config is not valid TOML for this format: {message}")]
    Toml { message: String },
    #[error("subtensor config field `{field}`: {source}")]
    Value {
        field: String,
        #[source]
        source: TypesError,
    },
    #[error("subtensor config: unknown preset `{preset}`; use `local` or `fast`")]
    UnknownPreset { preset: String },
    #[error(
        "subtensor config: netuid 0 is the root network; pick another netuid for the local subnet"
    )]
    RootNetuid,
    #[error("subtensor config: hotkey {hotkey} is listed twice under [[neurons]]")]
    DuplicateNeuron { hotkey: String },
    #[error(
        "subtensor config: {count} neurons exceed max_allowed_uids {max}; raise max_allowed_uids"
    )]
    TooManyNeurons { count: usize, max: u16 },
    #[error("unknown hyperparameter `{name}`; known: {known}")]
    UnknownHyperparameter { name: String, known: String },
    #[error("hyperparameter `{name}`: {reason}")]
    Hyperparameter { name: String, reason: String },
}

/// A failed `subtensor_*` dev JSON-RPC method. [`SubtensorRpcError::InvalidParams`] maps to
/// JSON-RPC -32602, everything else to -32000.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubtensorRpcError {
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("unknown subtensor method `{method}`; see the subtensor module docs for the list")]
    UnknownMethod { method: String },
    #[error("subnet {netuid} does not exist")]
    UnknownNetuid { netuid: NetUid },
    #[error(
        "hotkey {hotkey} is not registered on subnet {netuid}; register it with subtensor_registerNeuron"
    )]
    NotRegistered { netuid: NetUid, hotkey: String },
    #[error("uid {uid} does not exist on subnet {netuid} ({count} uids)")]
    UnknownUid {
        netuid: NetUid,
        uid: u16,
        count: u16,
    },
    #[error("registration failed: {pallet_error}")]
    Registration { pallet_error: PalletError },
    #[error(transparent)]
    Config(#[from] SubtensorError),
}

impl SubtensorRpcError {
    /// The JSON-RPC error code this maps to.
    pub fn code(&self) -> i64 {
        match self {
            Self::InvalidParams(_) | Self::Config(_) => -32602,
            Self::UnknownMethod { .. } => -32601,
            _ => -32000,
        }
    }
}

/// Pallet errors a precompile call can end with. The `Display` form is the exact pallet
/// error name the chain reports (`dispatch execution failed: <name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PalletError {
    #[error("CommitRevealEnabled")]
    CommitRevealEnabled,
    #[error("CommitRevealDisabled")]
    CommitRevealDisabled,
    #[error("CanNotSetRootNetworkWeights")]
    CanNotSetRootNetworkWeights,
    #[error("WeightVecNotEqualSize")]
    WeightVecNotEqualSize,
    #[error("MechanismDoesNotExist")]
    MechanismDoesNotExist,
    #[error("UidsLengthExceedUidsInSubNet")]
    UidsLengthExceedUidsInSubNet,
    #[error("HotKeyNotRegisteredInSubNet")]
    HotKeyNotRegisteredInSubNet,
    #[error("HotKeyNotRegisteredInNetwork")]
    HotKeyNotRegisteredInNetwork,
    #[error("NotEnoughStakeToSetWeights")]
    NotEnoughStakeToSetWeights,
    #[error("IncorrectWeightVersionKey")]
    IncorrectWeightVersionKey,
    #[error("SettingWeightsTooFast")]
    SettingWeightsTooFast,
    #[error("NeuronNoValidatorPermit")]
    NeuronNoValidatorPermit,
    #[error("DuplicateUids")]
    DuplicateUids,
    #[error("UidVecContainInvalidOne")]
    UidVecContainInvalidOne,
    #[error("WeightVecLengthIsLow")]
    WeightVecLengthIsLow,
    #[error("MaxWeightExceeded")]
    MaxWeightExceeded,
    #[error("TooManyUnrevealedCommits")]
    TooManyUnrevealedCommits,
    #[error("NoWeightsCommitFound")]
    NoWeightsCommitFound,
    #[error("InvalidRevealCommitHashNotMatch")]
    InvalidRevealCommitHashNotMatch,
    #[error("RevealTooEarly")]
    RevealTooEarly,
    #[error("ExpiredWeightCommit")]
    ExpiredWeightCommit,
    #[error("RegistrationNotPermittedOnRootSubnet")]
    RegistrationNotPermittedOnRootSubnet,
    #[error("SubNetworkDoesNotExist")]
    SubNetworkDoesNotExist,
    #[error("HotKeyAlreadyRegisteredInSubNet")]
    HotKeyAlreadyRegisteredInSubNet,
    #[error("NonAssociatedColdKey")]
    NonAssociatedColdKey,
    #[error("NotEnoughBalanceToStake")]
    NotEnoughBalanceToStake,
    #[error("NoNeuronIdAvailable")]
    NoNeuronIdAvailable,
    #[error("InvalidIpType")]
    InvalidIpType,
    #[error("InvalidIpAddress")]
    InvalidIpAddress,
    /// A metagraph getter on a uid that does not exist (frontier `ExitError::InvalidRange`).
    #[error("InvalidRange")]
    InvalidRange,
    /// `getAxon` on a uid that does not exist.
    #[error("hotkey not found")]
    HotkeyNotFound,
    /// The call's gas limit is below the function's fixed cost.
    #[error("OutOfGas")]
    OutOfGas,
    /// The EVM side refused a balance movement the pallet needed.
    #[error("BalanceTransferFailed")]
    BalanceTransferFailed,
}
