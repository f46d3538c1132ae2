//! The native account behind an EVM address on Bittensor (Frontier's hashed mapping).

use alloy_primitives::Address;
use blake2::{Blake2b, Digest, digest::consts::U32};

use crate::AccountId32;

/// `blake2b_256(b"evm:" ‖ h160)`: the substrate account that owns `address`'s balance and
/// is the origin when `address` calls a subtensor precompile.
pub fn evm_mirror(address: Address) -> AccountId32 {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(b"evm:");
    hasher.update(address.as_slice());
    AccountId32(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    #[test]
    fn matches_the_spec_check_vector() {
        let mirror = evm_mirror(address!("0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac"));
        assert_eq!(
            mirror.to_ss58(),
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
    }

    #[test]
    fn distinct_addresses_have_distinct_mirrors() {
        assert_ne!(
            evm_mirror(Address::ZERO),
            evm_mirror(Address::with_last_byte(1))
        );
    }
}
