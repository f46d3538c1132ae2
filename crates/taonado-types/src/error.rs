//! The one error type of `taonado-types`.

/// Result alias for this crate.
pub type Result<T, E = TypesError> = std::result::Result<T, E>;

/// Everything that can go wrong while parsing or converting domain values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypesError {
    #[error("`{input}` is not base58: {reason}; an SS58 address looks like 5GrwvaEF…")]
    Ss58Base58 { input: String, reason: String },
    #[error(
        "`{input}` decodes to {len} bytes, not an SS58 address of a 32-byte account (35 or 36 bytes)"
    )]
    Ss58Length { input: String, len: usize },
    #[error("`{input}` uses SS58 prefix {prefix}; use a generic (42) or Bittensor (13116) address")]
    Ss58Prefix { input: String, prefix: u16 },
    #[error("`{input}` has a bad SS58 checksum; check the address for typos")]
    Ss58Checksum { input: String },
    #[error("`{input}` is not 0x-prefixed hex of {expected} bytes: {reason}")]
    Hex {
        input: String,
        expected: usize,
        reason: String,
    },
    #[error("`{input}` is not an account: write SS58 (5…) or 0x followed by 64 hex digits")]
    AccountFormat { input: String },
    #[error("empty TAO amount; write a decimal such as `1.5`")]
    TaoEmpty,
    #[error("TAO amount `{input}` is negative; amounts must be >= 0")]
    TaoNegative { input: String },
    #[error("TAO amount `{input}` has {decimals} decimals; at most {max} are representable")]
    TaoTooManyDecimals {
        input: String,
        decimals: usize,
        max: usize,
    },
    #[error("TAO amount `{input}` is not a plain decimal number such as `1.5`")]
    TaoSyntax { input: String },
    #[error("TAO amount `{input}` is too large")]
    TaoOverflow { input: String },
    #[error("{wei} wei is more than u64::MAX rao; amounts this large do not exist on chain")]
    RaoOverflow { wei: alloy_primitives::U256 },
    #[error("`{input}` is not a valid {what} (an integer 0..=65535)")]
    Id { input: String, what: &'static str },
}
