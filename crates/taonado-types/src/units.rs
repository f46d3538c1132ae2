//! TAO amounts: EVM balances are wei (18 decimals), native balances rao (9 decimals).
//!
//! 1 TAO = 1e18 wei = 1e9 rao. Converting wei to rao drops the dust below 1 rao, as the
//! chain does.

use std::fmt;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::TypesError;

/// Rao in one TAO.
pub const RAO_PER_TAO: u64 = 1_000_000_000;
/// Wei in one rao.
pub const WEI_PER_RAO: u64 = 1_000_000_000;
/// Wei in one TAO.
pub const WEI_PER_TAO: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// Decimals of the wei representation, the most a TAO string may carry.
pub const MAX_TAO_DECIMALS: usize = 18;

/// A native amount in rao (1e-9 TAO). Displays as a TAO decimal.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Rao(pub u64);

impl Rao {
    /// This amount in wei.
    pub fn to_wei(self) -> U256 {
        rao_to_wei(self)
    }

    /// Parse a TAO decimal into rao; more than 9 decimals would be lost, so they are refused.
    pub fn parse_tao(input: &str) -> Result<Self, TypesError> {
        let wei = parse_tao(input)?;
        let (rao, dust) = wei_to_rao(wei)?;
        if !dust.is_zero() {
            return Err(TypesError::TaoTooManyDecimals {
                input: input.to_owned(),
                decimals: decimals_of(input),
                max: 9,
            });
        }
        Ok(rao)
    }
}

impl fmt::Display for Rao {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_tao(self.to_wei()))
    }
}

/// Rao → wei (exact).
pub fn rao_to_wei(rao: Rao) -> U256 {
    U256::from(rao.0) * U256::from(WEI_PER_RAO)
}

/// Wei → (rao, dust wei). The dust (< 1 rao) is what the chain drops.
pub fn wei_to_rao(wei: U256) -> Result<(Rao, U256), TypesError> {
    let (rao, dust) = wei.div_rem(U256::from(WEI_PER_RAO));
    let rao = u64::try_from(rao).map_err(|_| TypesError::RaoOverflow { wei })?;
    Ok((Rao(rao), dust))
}

/// Parse a TAO decimal such as `1`, `1.5` or `0.000000000000000001` into wei, exactly.
/// Refuses signs, exponents, separators, empty parts and more than 18 decimals.
pub fn parse_tao(input: &str) -> Result<U256, TypesError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(TypesError::TaoEmpty);
    }
    if s.starts_with('-') {
        return Err(TypesError::TaoNegative {
            input: input.to_owned(),
        });
    }
    let syntax = || TypesError::TaoSyntax {
        input: input.to_owned(),
    };
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(syntax());
    }
    let frac = frac_part.unwrap_or("");
    if frac.len() > MAX_TAO_DECIMALS {
        return Err(TypesError::TaoTooManyDecimals {
            input: input.to_owned(),
            decimals: frac.len(),
            max: MAX_TAO_DECIMALS,
        });
    }
    let overflow = || TypesError::TaoOverflow {
        input: input.to_owned(),
    };
    let whole = U256::from_str_radix(int_part, 10).map_err(|_| overflow())?;
    let frac_wei = if frac.is_empty() {
        U256::ZERO
    } else {
        // `frac` is at most 18 digits, so padding it to 18 fits in a u64.
        let padded = format!("{frac:0<width$}", width = MAX_TAO_DECIMALS);
        U256::from(padded.parse::<u64>().map_err(|_| syntax())?)
    };
    whole
        .checked_mul(WEI_PER_TAO)
        .and_then(|w| w.checked_add(frac_wei))
        .ok_or_else(overflow)
}

/// Format wei as a TAO decimal with no trailing zeros (`1.5`, `2`, `0.000000001`).
pub fn format_tao(wei: U256) -> String {
    let (whole, frac) = wei.div_rem(WEI_PER_TAO);
    if frac.is_zero() {
        return whole.to_string();
    }
    let digits = format!("{:0>width$}", frac.to_string(), width = MAX_TAO_DECIMALS);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

fn decimals_of(input: &str) -> usize {
    input
        .trim()
        .split_once('.')
        .map_or(0, |(_, frac)| frac.len())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn wei(s: &str) -> U256 {
        U256::from_str_radix(s, 10).unwrap()
    }

    #[test]
    fn parses_exact_amounts() {
        assert_eq!(parse_tao("1.5"), Ok(wei("1500000000000000000")));
        assert_eq!(parse_tao("0"), Ok(U256::ZERO));
        assert_eq!(parse_tao(" 42 "), Ok(wei("42000000000000000000")));
        assert_eq!(parse_tao("0.000000000000000001"), Ok(U256::from(1)));
        assert_eq!(
            parse_tao("1000.000000001"),
            Ok(wei("1000000000001000000000"))
        );
    }

    #[test]
    fn rejects_garbage_with_specific_errors() {
        assert_eq!(parse_tao(""), Err(TypesError::TaoEmpty));
        assert!(matches!(
            parse_tao("-1"),
            Err(TypesError::TaoNegative { .. })
        ));
        assert!(matches!(
            parse_tao("0.0000000000000000001"),
            Err(TypesError::TaoTooManyDecimals {
                decimals: 19,
                max: 18,
                ..
            })
        ));
        for bad in [
            "1.", ".5", "1e18", "+1", "1,5", "abc", "1.2.3", "0x10", "1 000",
        ] {
            assert!(
                matches!(parse_tao(bad), Err(TypesError::TaoSyntax { .. })),
                "{bad}"
            );
        }
        let huge = "9".repeat(80);
        assert!(matches!(
            parse_tao(&huge),
            Err(TypesError::TaoOverflow { .. })
        ));
    }

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(format_tao(wei("1500000000000000000")), "1.5");
        assert_eq!(format_tao(WEI_PER_TAO * U256::from(3)), "3");
        assert_eq!(format_tao(U256::from(1)), "0.000000000000000001");
        assert_eq!(format_tao(U256::ZERO), "0");
        assert_eq!(Rao(1).to_string(), "0.000000001");
    }

    #[test]
    fn wei_to_rao_drops_dust() {
        let (rao, dust) = wei_to_rao(wei("1500000000123456789")).unwrap();
        assert_eq!(rao, Rao(1_500_000_000));
        assert_eq!(dust, U256::from(123_456_789));
        assert_eq!(rao.to_wei(), wei("1500000000000000000"));
        assert!(matches!(
            wei_to_rao(U256::MAX),
            Err(TypesError::RaoOverflow { .. })
        ));
    }

    #[test]
    fn rao_parse_refuses_sub_rao_precision() {
        assert_eq!(Rao::parse_tao("1.5"), Ok(Rao(1_500_000_000)));
        assert!(matches!(
            Rao::parse_tao("0.0000000001"),
            Err(TypesError::TaoTooManyDecimals {
                decimals: 10,
                max: 9,
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(limbs in any::<[u64; 2]>()) {
            let amount = U256::from_limbs([limbs[0], limbs[1], 0, 0]);
            prop_assert_eq!(parse_tao(&format_tao(amount)), Ok(amount));
        }

        #[test]
        fn parse_then_format_is_canonical(whole in 0u64..1_000_000_000, frac in "[0-9]{1,18}") {
            let text = format!("{whole}.{frac}");
            let amount = parse_tao(&text).unwrap();
            let canonical = format_tao(amount);
            prop_assert_eq!(parse_tao(&canonical), Ok(amount));
            let trimmed = frac.trim_end_matches('0');
            let expected = if trimmed.is_empty() { whole.to_string() } else { format!("{whole}.{trimmed}") };
            prop_assert_eq!(canonical, expected);
        }

        #[test]
        fn rao_wei_round_trip(rao in any::<u64>(), dust in 0u64..WEI_PER_RAO) {
            let amount = rao_to_wei(Rao(rao)) + U256::from(dust);
            prop_assert_eq!(wei_to_rao(amount), Ok((Rao(rao), U256::from(dust))));
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_tao(&s);
        }
    }
}
