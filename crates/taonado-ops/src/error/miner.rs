//! Errors of [`crate::miner`].

use alloy::primitives::{Address, U256};
use taonado_types::Hotkey;

/// Refusals of the mining commands, decided before any transaction.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    #[error(
        "hotkey {hotkey} is not registered on subnet {netuid}; register it first (e.g. `btcli subnet register`)"
    )]
    HotkeyNotRegistered { hotkey: Hotkey, netuid: u16 },

    #[error(
        "{address} is already associated with hotkey {}; associations are permanent, use another EVM address for {hotkey}",
        other.map_or_else(|| "another hotkey (not on this subnet)".to_owned(), |h| h.to_string())
    )]
    AssociatedElsewhere {
        address: Address,
        hotkey: Hotkey,
        other: Option<Hotkey>,
    },

    #[error(
        "{address} has {} TAO but needs {} TAO ({} to wrap + {} for gas); fund it first",
        taonado_types::format_tao(*balance),
        taonado_types::format_tao(*needed),
        taonado_types::format_tao(*amount),
        taonado_types::format_tao(*needed - *amount)
    )]
    InsufficientBalance {
        address: Address,
        balance: U256,
        amount: U256,
        needed: U256,
    },
}
