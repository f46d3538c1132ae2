//! The fee policy (tornado-relayer's: gas cost with a margin, plus a service fee that is a
//! share of the pool's denomination) and quotes, which bind a gas price until they expire.
//!
//! The fee is paid in WTAO out of the withdrawn note and the gas in TAO; WTAO is TAO
//! wrapped 1:1, so one wei of either is worth the same.

use alloy::primitives::{Address, U256};
use serde::Serialize;

/// How the relayer prices a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeePolicy {
    /// The gas limit every withdrawal is sent with and priced at.
    pub gas_limit: u64,
    /// Added to the gas cost, in percent (gas prices move between quote and send).
    pub gas_margin_percent: u64,
    /// The service fee, in basis points of the pool's denomination (10 = 0.1 %).
    pub service_fee_bps: u64,
    /// Never sends at a higher gas price, the first send included; requests are refused
    /// while the network asks for more.
    pub max_gas_price: u128,
    /// How long a quote's gas price is honoured, in seconds.
    pub quote_ttl_secs: u64,
}

impl FeePolicy {
    /// The fee a withdrawal from a pool of `denomination` must pay at `gas_price`.
    pub fn fee(&self, gas_price: u128, denomination: U256) -> U256 {
        let gas = U256::from(gas_price) * U256::from(self.gas_limit);
        let gas = gas * U256::from(100 + self.gas_margin_percent) / U256::from(100);
        gas + denomination * U256::from(self.service_fee_bps) / U256::from(10_000)
    }

    /// The gas price a replacement of a transaction sent at `previous` uses: 12.5 % more
    /// (above the 10 % nodes require), at least one wei more, never above the maximum.
    /// `None` when the maximum is already reached.
    pub fn bumped(&self, previous: u128) -> Option<u128> {
        if previous >= self.max_gas_price {
            return None;
        }
        let bumped = previous.saturating_add((previous / 8).max(1));
        Some(bumped.min(self.max_gas_price))
    }
}

/// A pool's fee at the quoted gas price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolFee {
    pub pool: Address,
    /// Wei of WTAO.
    pub denomination: U256,
    /// Wei of WTAO the proof's fee must be at least.
    pub fee: U256,
}

/// A price offer: until `expires_at`, a job whose fee covers `fees` at `gas_price` is
/// accepted even if the network's gas price rose since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// Name it in the job's `quote` field to hold the relayer to it.
    pub id: String,
    pub gas_price: u128,
    /// Unix seconds.
    pub expires_at: u64,
    pub fees: Vec<PoolFee>,
}

impl Quote {
    pub fn fee_for(&self, pool: Address) -> Option<U256> {
        self.fees.iter().find(|f| f.pool == pool).map(|f| f.fee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FeePolicy {
        FeePolicy {
            gas_limit: 1_000,
            gas_margin_percent: 20,
            service_fee_bps: 10,
            max_gas_price: 100,
            quote_ttl_secs: 60,
        }
    }

    #[test]
    fn the_fee_is_gas_with_margin_plus_a_share_of_the_denomination() {
        // 10 wei × 1000 gas × 1.2 + 0.1 % of 1,000,000.
        assert_eq!(
            policy().fee(10, U256::from(1_000_000u64)),
            U256::from(12_000u64 + 1_000)
        );
        assert_eq!(policy().fee(0, U256::ZERO), U256::ZERO);
    }

    #[test]
    fn a_bump_is_an_eighth_more_and_stops_at_the_maximum() {
        let p = policy();
        assert_eq!(p.bumped(80), Some(90));
        assert_eq!(p.bumped(95), Some(100));
        assert_eq!(p.bumped(1), Some(2));
        assert_eq!(p.bumped(100), None);
        assert_eq!(p.bumped(150), None);
    }
}
