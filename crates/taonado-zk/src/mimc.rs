//! circomlib's MiMCSponge (220 rounds, x^5, key 0) and Tornado's `HashLeftRight`.

use std::sync::OnceLock;

use alloy_primitives::keccak256;
use ark_ff::{Field, Zero};

use crate::field::{Fr, fr_from_be_bytes_mod};

/// Rounds of the Feistel permutation.
pub const MIMC_ROUNDS: usize = 220;

/// Height of Tornado's Merkle tree.
pub const TREE_LEVELS: usize = 20;

/// Round constants: `c[0] = c[219] = 0`, `c[i] = keccak256^(i+1)("mimcsponge") mod p`.
pub fn mimc_constants() -> &'static [Fr; MIMC_ROUNDS] {
    static CONSTANTS: OnceLock<[Fr; MIMC_ROUNDS]> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let mut constants = [Fr::zero(); MIMC_ROUNDS];
        // The chain hashes the raw 32-byte digest each time, never the reduced value.
        let mut digest = keccak256(b"mimcsponge");
        for constant in constants.iter_mut().take(MIMC_ROUNDS - 1).skip(1) {
            digest = keccak256(digest);
            *constant = fr_from_be_bytes_mod(digest.as_slice());
        }
        constants
    })
}

/// The MiMC Feistel permutation of circomlib's `MiMCFeistel(220)` with key `k`.
pub fn mimc_feistel(mut xl: Fr, mut xr: Fr, k: Fr) -> (Fr, Fr) {
    let constants = mimc_constants();
    for (round, c) in constants.iter().enumerate() {
        let base = xl + k + c;
        let base2 = base.square();
        let t = base2.square() * base;
        if round < MIMC_ROUNDS - 1 {
            (xl, xr) = (xr + t, xl);
        } else {
            xr += t;
        }
    }
    (xl, xr)
}

/// circomlib's `MiMCSponge(n, 220, 1)` with key 0: absorbs each input into R, permutes,
/// and returns R.
pub fn mimc_sponge(inputs: &[Fr]) -> Fr {
    let (mut r, mut c) = (Fr::zero(), Fr::zero());
    for input in inputs {
        (r, c) = mimc_feistel(r + input, c, Fr::zero());
    }
    r
}

/// Tornado's node hash: `MiMCSponge([left, right])`.
pub fn hash_left_right(left: Fr, right: Fr) -> Fr {
    mimc_sponge(&[left, right])
}

/// `zeros[0] = keccak256("tornado") mod p` (the empty leaf) up to `zeros[20]` (the empty root).
pub fn zeros() -> &'static [Fr; TREE_LEVELS + 1] {
    static ZEROS: OnceLock<[Fr; TREE_LEVELS + 1]> = OnceLock::new();
    ZEROS.get_or_init(|| {
        let mut zeros = [Fr::zero(); TREE_LEVELS + 1];
        zeros[0] = fr_from_be_bytes_mod(keccak256(b"tornado").as_slice());
        for level in 1..=TREE_LEVELS {
            zeros[level] = hash_left_right(zeros[level - 1], zeros[level - 1]);
        }
        zeros
    })
}

/// The empty leaf, `ZERO_VALUE` in `MerkleTreeWithHistory`.
pub fn zero_value() -> Fr {
    zeros()[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_constants_are_zero() {
        let c = mimc_constants();
        assert!(c[0].is_zero());
        assert!(c[MIMC_ROUNDS - 1].is_zero());
        assert!(!c[1].is_zero());
    }

    #[test]
    fn sponge_of_two_equals_manual_absorption() {
        let (l, r) = (Fr::from(7u64), Fr::from(11u64));
        let (r1, c1) = mimc_feistel(l, Fr::zero(), Fr::zero());
        let (r2, _) = mimc_feistel(r1 + r, c1, Fr::zero());
        assert_eq!(hash_left_right(l, r), r2);
    }
}
