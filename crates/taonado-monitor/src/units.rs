//! Display conversions for rule messages, metrics and the dashboard.

use alloy::primitives::U256;

/// Wei (as a float average) to gwei.
pub fn gwei(wei: f64) -> f64 {
    wei / 1e9
}

/// Wei to a TAO decimal string without rounding.
pub fn tao(wei: U256) -> String {
    taonado_types::format_tao(wei)
}

/// Wei to TAO as a float, for gauges and charts (precision beyond f64 is irrelevant there).
pub fn tao_f64(wei: U256) -> f64 {
    tao(wei).parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(gwei(50e9), 50.0);
        assert_eq!(tao_f64(U256::from(1_500_000_000_000_000_000u128)), 1.5);
        assert_eq!(tao(U256::from(100_000_000_000_000_000u128)), "0.1");
    }
}
