//! The boundary with the EVM: what a precompile call carries, what it returns, and what it
//! may ask of the EVM state ([`EvmHost`], implemented by the chain core over revm's journal).

use alloy_primitives::{Address, U256};

/// One call into 0x800, 0x802 or 0x804.
#[derive(Debug)]
pub struct PrecompileCall<'a> {
    /// Which precompile.
    pub address: Address,
    /// `msg.sender` of this frame (a contract when a contract calls).
    pub caller: Address,
    /// `msg.value` in wei; already moved to `address`'s EVM balance by the core.
    pub value: U256,
    pub input: &'a [u8],
    pub gas_limit: u64,
    /// STATICCALL: state-changing functions fail.
    pub is_static: bool,
    pub block_number: u64,
}

/// How a precompile call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrecompileOutcome {
    Success {
        output: Vec<u8>,
        gas_used: u64,
    },
    /// Ordinary REVERT with return data (ABI-decoding errors: `Error(string)` encoded).
    Revert {
        output: Vec<u8>,
        gas_used: u64,
    },
    /// A pallet error: exceptional halt with no return data; the frame's gas is consumed and
    /// its state and value transfer are rolled back. The string is the pallet error name.
    DispatchFailed(String),
}

/// What the precompiles need from the EVM side. Balance changes made through it are
/// journaled by the core, so they roll back with the frame.
pub trait EvmHost {
    fn balance(&mut self, address: Address) -> U256;
    /// Move wei between EVM accounts. Err if insufficient.
    fn transfer(&mut self, from: Address, to: Address, amount: U256) -> Result<(), String>;
    /// Destroy wei (e.g. `burnedRegister`'s cost). Err if insufficient.
    fn burn(&mut self, from: Address, amount: U256) -> Result<(), String>;
    /// Create wei (dev methods, credits to a mirror that is an EVM account).
    fn mint(&mut self, to: Address, amount: U256);
    /// The H160 whose mirror is `account`, if the core has seen that address.
    fn h160_for_mirror(&self, account: &[u8; 32]) -> Option<Address>;
}

/// An in-memory [`EvmHost`] for tests: balances in a map, mirrors registered explicitly.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemoryHost {
    pub balances: std::collections::BTreeMap<Address, U256>,
    pub mirrors: std::collections::BTreeMap<[u8; 32], Address>,
    pub burned: U256,
}

#[cfg(test)]
impl MemoryHost {
    /// Fund `address` and make its mirror known.
    pub fn with_account(mut self, address: Address, wei: U256) -> Self {
        self.balances.insert(address, wei);
        self.mirrors
            .insert(taonado_types::evm_mirror(address).0, address);
        self
    }
}

#[cfg(test)]
impl EvmHost for MemoryHost {
    fn balance(&mut self, address: Address) -> U256 {
        self.balances.get(&address).copied().unwrap_or_default()
    }

    fn transfer(&mut self, from: Address, to: Address, amount: U256) -> Result<(), String> {
        let have = self.balance(from);
        let left = have
            .checked_sub(amount)
            .ok_or_else(|| format!("{from} has {have} wei, needs {amount}"))?;
        self.balances.insert(from, left);
        *self.balances.entry(to).or_default() += amount;
        Ok(())
    }

    fn burn(&mut self, from: Address, amount: U256) -> Result<(), String> {
        let have = self.balance(from);
        let left = have
            .checked_sub(amount)
            .ok_or_else(|| format!("{from} has {have} wei, needs {amount}"))?;
        self.balances.insert(from, left);
        self.burned += amount;
        Ok(())
    }

    fn mint(&mut self, to: Address, amount: U256) {
        *self.balances.entry(to).or_default() += amount;
    }

    fn h160_for_mirror(&self, account: &[u8; 32]) -> Option<Address> {
        self.mirrors.get(account).copied()
    }
}
