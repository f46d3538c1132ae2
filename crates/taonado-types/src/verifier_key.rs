//! A Groth16 verifying key in the word order of the Solidity verifier's constructor.
//!
//! It lives here, below both `taonado-zk` (which reads verifying key files and produces
//! these words) and `taonado-contracts` (which deploys the verifier with them), so that
//! neither of those two crates has to depend on the other.

use alloy_primitives::U256;

/// A Groth16 verifying key for 6 public inputs, as the verifier's constructor takes it.
///
/// G1 points are `[x, y]`; G2 points are `[x.c1, x.c0, y.c1, y.c0]` (imaginary part first).
/// Every word must be below the BN254 base-field prime, or the constructor reverts with
/// "verifier-key-element-gte-prime-q".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKeyWords {
    /// `vk_alpha_1`.
    pub alpha: [U256; 2],
    /// `vk_beta_2`.
    pub beta: [U256; 4],
    /// `vk_gamma_2`.
    pub gamma: [U256; 4],
    /// `vk_delta_2`.
    pub delta: [U256; 4],
    /// `IC[0..7]`: the constant term, then one point per public input.
    pub ic: [[U256; 2]; 7],
}

impl VerifyingKeyWords {
    /// The 28 constructor words in order: alpha, beta, gamma, delta, IC[0..7].
    pub fn to_words(&self) -> [U256; 28] {
        let mut words = [U256::ZERO; 28];
        let flat = self
            .alpha
            .iter()
            .chain(&self.beta)
            .chain(&self.gamma)
            .chain(&self.delta)
            .chain(self.ic.iter().flatten());
        for (slot, word) in words.iter_mut().zip(flat) {
            *slot = *word;
        }
        words
    }

    /// ABI-encoded constructor arguments (28 static words, 896 bytes). Static arrays are
    /// encoded inline, so this is the words' big-endian bytes one after the other
    /// (`taonado-contracts` checks it against the verifier's `sol!` constructor encoding).
    pub fn constructor_args(&self) -> Vec<u8> {
        self.to_words()
            .iter()
            .flat_map(|word| word.to_be_bytes::<32>())
            .collect()
    }
}

/// Puts an Fp2 point given real part first (arkworks `c0, c1`, snarkjs order) into the
/// contract's imaginary-first order.
pub fn g2_words(x: [U256; 2], y: [U256; 2]) -> [U256; 4] {
    [x[1], x[0], y[1], y[0]]
}
