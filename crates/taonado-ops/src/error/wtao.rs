//! Errors of [`crate::wtao`].

use alloy::primitives::{Address, U256};
use taonado_types::format_tao;

/// Why a WTAO operation was refused before anything was sent.
#[derive(Debug, thiserror::Error)]
pub enum WtaoError {
    #[error(
        "{address} has {} {asset} but needs {} ({what}); fund it or send less",
        format_tao(*balance),
        format_tao(*needed)
    )]
    InsufficientBalance {
        address: Address,
        /// "TAO" (native, pays gas) or "WTAO".
        asset: &'static str,
        balance: U256,
        needed: U256,
        /// What the needed amount is made of.
        what: &'static str,
    },
    #[error("the amount is zero; give a positive TAO amount such as `1.5`")]
    ZeroAmount,
    #[error(
        "{} TAO is not a whole number of rao: native balances have 9 decimals, and the rest ({dust} wei) would be lost at the precompile; round the amount",
        format_tao(*amount)
    )]
    SubRaoAmount { amount: U256, dust: U256 },
    #[error("{amount} wei is more rao than a native balance can hold")]
    RaoOverflow { amount: U256 },
}

impl WtaoError {
    /// Whether the command line must change (an amount that cannot be sent: exit 2), as
    /// opposed to a balance that does not cover it (the state of funds: exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            Self::ZeroAmount | Self::SubRaoAmount { .. } | Self::RaoOverflow { .. } => true,
            Self::InsufficientBalance { .. } => false,
        }
    }
}
