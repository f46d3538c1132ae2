//! Temporary stand-in for the subtensor module (same interface as DEVNET-INTERFACE.md) so
//! the chain core compiles until the real `src/subtensor/` lands.

use alloy_primitives::{Address, U256, address};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SubtensorConfig {
    pub tempo: u64,
}

impl SubtensorConfig {
    pub fn local_default() -> Self {
        Self { tempo: 360 }
    }
    pub fn fast() -> Self {
        Self { tempo: 10 }
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Subtensor {
    config: SubtensorConfig,
    last_block: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SubtensorRpcError {
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("{0}")]
    Failed(String),
}

pub struct PrecompileCall<'a> {
    pub address: Address,
    pub caller: Address,
    pub value: U256,
    pub input: &'a [u8],
    pub gas_limit: u64,
    pub is_static: bool,
    pub block_number: u64,
}

pub enum PrecompileOutcome {
    Success { output: Vec<u8>, gas_used: u64 },
    Revert { output: Vec<u8>, gas_used: u64 },
    DispatchFailed(String),
}

pub trait EvmHost {
    fn balance(&mut self, address: Address) -> U256;
    fn transfer(&mut self, from: Address, to: Address, amount: U256) -> Result<(), String>;
    fn burn(&mut self, from: Address, amount: U256) -> Result<(), String>;
    fn mint(&mut self, to: Address, amount: U256);
    fn h160_for_mirror(&self, account: &[u8; 32]) -> Option<Address>;
}

impl Subtensor {
    pub const PRECOMPILES: [Address; 3] = [
        address!("0000000000000000000000000000000000000800"),
        address!("0000000000000000000000000000000000000802"),
        address!("0000000000000000000000000000000000000804"),
    ];

    pub fn new(config: SubtensorConfig, genesis_block: u64) -> Self {
        Self {
            config,
            last_block: genesis_block,
        }
    }

    pub fn is_precompile(address: &Address) -> bool {
        Self::PRECOMPILES.contains(address)
    }

    pub fn call(&mut self, host: &mut dyn EvmHost, call: PrecompileCall<'_>) -> PrecompileOutcome {
        // 0x804 always fails like an unregistered hotkey; 0x800 burns; 0x802 echoes.
        if call.address == Self::PRECOMPILES[2] {
            return PrecompileOutcome::DispatchFailed("HotKeyNotRegisteredInSubNet".into());
        }
        if call.address == Self::PRECOMPILES[0] {
            if host.burn(call.address, call.value).is_err() {
                return PrecompileOutcome::DispatchFailed("InsufficientBalance".into());
            }
            return PrecompileOutcome::Success {
                output: Vec::new(),
                gas_used: 21_000,
            };
        }
        PrecompileOutcome::Success {
            output: call.input.to_vec(),
            gas_used: 2_000,
        }
    }

    pub fn on_block(&mut self, block_number: u64) {
        if block_number - self.last_block >= self.config.tempo {
            self.last_block = block_number;
        }
    }

    pub fn handle_rpc(
        &mut self,
        _host: &mut dyn EvmHost,
        method: &str,
        params: serde_json::Value,
        block_number: u64,
    ) -> Result<serde_json::Value, SubtensorRpcError> {
        match method {
            "subtensor_lastEpoch" => Ok(serde_json::json!(self.last_block)),
            "subtensor_echo" => Ok(serde_json::json!({"params": params, "block": block_number})),
            _ => Err(SubtensorRpcError::Failed(format!("unknown method {method}"))),
        }
    }
}
