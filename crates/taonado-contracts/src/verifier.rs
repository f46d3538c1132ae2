//! Groth16 verifier deployments for BN254.
//!
//! The Solidity verifier (`contracts/src/crypto/Groth16Verifier.sol`) takes its verifying key as
//! constructor arguments, so deploying a verifier for a key is "artifact creation code ‖ ABI-encoded
//! key". There is one artifact per chain family because the BN254 point-addition precompile lives
//! at 0x06 on Ethereum but at 0x09 on the Bittensor EVM (where 0x06 is Substrate dispatch). A
//! verifier of the wrong family reverts on every proof, so deploy tools should run the
//! [`Bn254AddProbe`] against the target chain and refuse a mismatch before deploying.
//!
//! All words here are in the contract's order: G2 coordinates put the imaginary part first
//! (`x.c1, x.c0, y.c1, y.c0` in arkworks/snarkjs naming); use [`g2_words`] to convert.

use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::SolValue;

alloy_sol_types::sol!(
    #[allow(missing_docs)]
    Groth16VerifierEthereum,
    "artifacts/Groth16VerifierEthereum.json"
);
alloy_sol_types::sol!(
    #[allow(missing_docs)]
    Groth16VerifierBittensor,
    "artifacts/Groth16VerifierBittensor.json"
);

/// Chain ids that run the Bittensor EVM: mainnet (964), testnet (945) and a local subtensor (42).
pub const BITTENSOR_CHAIN_IDS: [u64; 3] = [964, 945, 42];

/// Which precompile layout a verifier is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainFamily {
    /// BN254 add at 0x06, mul at 0x07, pairing at 0x08.
    Ethereum,
    /// BN254 add at 0x09, mul at 0x07, pairing at 0x08; 0x06 is Substrate dispatch.
    Bittensor,
}

impl ChainFamily {
    /// The family of a chain id: the Bittensor EVM for [`BITTENSOR_CHAIN_IDS`], else Ethereum.
    pub fn from_chain_id(chain_id: u64) -> Self {
        if BITTENSOR_CHAIN_IDS.contains(&chain_id) {
            Self::Bittensor
        } else {
            Self::Ethereum
        }
    }

    /// The value the verifier's `chainFamily()` returns (1 = Ethereum, 2 = Bittensor).
    pub fn code(self) -> u8 {
        match self {
            Self::Ethereum => 1,
            Self::Bittensor => 2,
        }
    }

    /// Inverse of [`ChainFamily::code`]; `None` for any other value.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Ethereum),
            2 => Some(Self::Bittensor),
            _ => None,
        }
    }

    /// The address of the BN254 point-addition precompile on this family.
    pub fn ec_add_precompile(self) -> Address {
        match self {
            Self::Ethereum => address!("0x0000000000000000000000000000000000000006"),
            Self::Bittensor => address!("0x0000000000000000000000000000000000000009"),
        }
    }

    /// The artifact (contract) name of this family's verifier.
    pub fn artifact_name(self) -> &'static str {
        match self {
            Self::Ethereum => "Groth16VerifierEthereum",
            Self::Bittensor => "Groth16VerifierBittensor",
        }
    }

    /// The verifier's creation code, without constructor arguments.
    pub fn creation_code(self) -> &'static Bytes {
        match self {
            Self::Ethereum => &Groth16VerifierEthereum::BYTECODE,
            Self::Bittensor => &Groth16VerifierBittensor::BYTECODE,
        }
    }
}

impl std::fmt::Display for ChainFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ethereum => "ethereum",
            Self::Bittensor => "bittensor",
        })
    }
}

// The key words are defined in taonado-types, below this crate and taonado-zk (which
// produces them from a key file), so that neither of the two depends on the other.
pub use taonado_types::{VerifyingKeyWords, g2_words};

/// The transaction input that deploys a `family` verifier for `key`.
pub fn initcode(family: ChainFamily, key: &VerifyingKeyWords) -> Bytes {
    let mut code = family.creation_code().to_vec();
    code.extend_from_slice(&key.constructor_args());
    code.into()
}

/// Every value a `PUSH1`…`PUSH32` in the runtime `code` pushes, as words. A verifier's key
/// is in its code this way both in Tornado's `Verifier.sol` (constants) and in ours
/// (immutables, which solc writes as `PUSH32` operands), whatever compiler built it.
pub fn pushed_words(code: &[u8]) -> std::collections::HashSet<U256> {
    let mut words = std::collections::HashSet::new();
    let mut pc = 0;
    while pc < code.len() {
        let opcode = code[pc];
        pc += 1;
        if (0x60..=0x7f).contains(&opcode) {
            let len = usize::from(opcode - 0x5f);
            let end = (pc + len).min(code.len());
            words.insert(U256::from_be_slice(&code[pc..end]));
            pc = end;
        }
    }
    words
}

/// Whether the runtime `code` pushes every word of `key`: the verifier checks proofs
/// against that key (a verifier whose key is in its code cannot check against another).
pub fn code_embeds_key(code: &[u8], key: &VerifyingKeyWords) -> bool {
    let pushed = pushed_words(code);
    key.to_words().iter().all(|word| pushed.contains(word))
}

/// The `proof` argument of `verifyProof`: `abi.encode(uint256[8])` of
/// `a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y`, with `b` already in contract order
/// (see [`g2_words`]).
pub fn encode_proof(a: [U256; 2], b: [U256; 4], c: [U256; 2]) -> Bytes {
    let words: [U256; 8] = [a[0], a[1], b[0], b[1], b[2], b[3], c[0], c[1]];
    words.abi_encode().into()
}

/// Calldata for `verifyProof(proof, input)`.
pub fn verify_proof_calldata(proof: Bytes, input: [U256; 6]) -> Bytes {
    alloy_sol_types::SolCall::abi_encode(&Groth16VerifierEthereum::verifyProofCall { proof, input })
        .into()
}

/// A call that tells which address adds BN254 points on a chain: send `input` to 0x06 and to
/// 0x09 (`eth_call`, any sender) and compare each answer with `expected`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bn254AddProbe {
    /// G1 generator (1, 2) twice: 128 bytes.
    pub input: Bytes,
    /// 2·G1 = (x, y): 64 bytes.
    pub expected: Bytes,
}

/// The probe of [`Bn254AddProbe`].
pub fn bn254_add_probe() -> Bn254AddProbe {
    let one = U256::from(1);
    let two = U256::from(2);
    // 2·(1, 2) on alt_bn128, the textbook doubling of the G1 generator.
    let double_x = U256::from_be_bytes(alloy_primitives::hex!(
        "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3"
    ));
    let double_y = U256::from_be_bytes(alloy_primitives::hex!(
        "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
    ));
    Bn254AddProbe {
        input: [one, two, one, two].abi_encode().into(),
        expected: [double_x, double_y].abi_encode().into(),
    }
}

impl Bn254AddProbe {
    /// The family whose add precompile answered, given what 0x06 and 0x09 returned (`None`
    /// for a failed call). Exactly one of them must add correctly; anything else is `None`
    /// and a deploy tool should stop.
    pub fn family(&self, at_0x06: Option<&[u8]>, at_0x09: Option<&[u8]>) -> Option<ChainFamily> {
        let adds = |out: Option<&[u8]>| out == Some(self.expected.as_ref());
        match (adds(at_0x06), adds(at_0x09)) {
            (true, false) => Some(ChainFamily::Ethereum),
            (false, true) => Some(ChainFamily::Bittensor),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_map_to_families() {
        for id in BITTENSOR_CHAIN_IDS {
            assert_eq!(ChainFamily::from_chain_id(id), ChainFamily::Bittensor);
        }
        for id in [1, 11155111, 31337, 943] {
            assert_eq!(ChainFamily::from_chain_id(id), ChainFamily::Ethereum);
        }
    }

    #[test]
    fn family_codes_round_trip() {
        for family in [ChainFamily::Ethereum, ChainFamily::Bittensor] {
            assert_eq!(ChainFamily::from_code(family.code()), Some(family));
        }
        assert_eq!(ChainFamily::from_code(0), None);
        assert_eq!(ChainFamily::from_code(3), None);
    }

    #[test]
    fn key_words_are_flattened_in_constructor_order() {
        let w = |i: u64| U256::from(i);
        let key = VerifyingKeyWords {
            alpha: [w(0), w(1)],
            beta: [w(2), w(3), w(4), w(5)],
            gamma: [w(6), w(7), w(8), w(9)],
            delta: [w(10), w(11), w(12), w(13)],
            ic: std::array::from_fn(|i| [w(14 + 2 * i as u64), w(15 + 2 * i as u64)]),
        };
        let words = key.to_words();
        assert!(words.iter().enumerate().all(|(i, v)| *v == w(i as u64)));
        // Static arrays encode inline, so the constructor arguments are exactly these words.
        assert_eq!(key.constructor_args(), words.abi_encode());
        // ... and exactly what the verifier's own ABI makes of them.
        let constructor = Groth16VerifierEthereum::constructorCall {
            alpha: key.alpha,
            beta: key.beta,
            gamma: key.gamma,
            delta: key.delta,
            ic: key.ic,
        };
        assert_eq!(
            key.constructor_args(),
            alloy_sol_types::SolConstructor::abi_encode(&constructor)
        );
    }

    #[test]
    fn initcode_is_family_artifact_then_key() {
        let key = VerifyingKeyWords {
            alpha: [U256::from(1), U256::from(2)],
            beta: [U256::ZERO; 4],
            gamma: [U256::ZERO; 4],
            delta: [U256::ZERO; 4],
            ic: [[U256::ZERO; 2]; 7],
        };
        for family in [ChainFamily::Ethereum, ChainFamily::Bittensor] {
            let code = initcode(family, &key);
            let creation = family.creation_code();
            assert!(!creation.is_empty());
            assert_eq!(&code[..creation.len()], creation.as_ref());
            assert_eq!(&code[creation.len()..], key.constructor_args().as_slice());
        }
        assert_ne!(
            ChainFamily::Ethereum.creation_code(),
            ChainFamily::Bittensor.creation_code()
        );
    }

    #[test]
    fn proof_words_keep_the_given_order() {
        let w: [U256; 8] = std::array::from_fn(|i| U256::from(i + 1));
        let encoded = encode_proof([w[0], w[1]], [w[2], w[3], w[4], w[5]], [w[6], w[7]]);
        assert_eq!(encoded.len(), 256);
        for (i, chunk) in encoded.chunks(32).enumerate() {
            assert_eq!(U256::from_be_slice(chunk), w[i]);
        }
    }

    #[test]
    fn g2_words_put_the_imaginary_part_first() {
        let [a, b, c, d] = [1u64, 2, 3, 4].map(U256::from);
        assert_eq!(g2_words([a, b], [c, d]), [b, a, d, c]);
    }

    #[test]
    fn probe_names_the_family_only_when_exactly_one_address_adds() {
        let probe = bn254_add_probe();
        assert_eq!(probe.input.len(), 128);
        assert_eq!(probe.expected.len(), 64);
        let good = Some(probe.expected.as_ref());
        let wrong: Option<&[u8]> = Some(&[0u8; 64]);
        assert_eq!(probe.family(good, None), Some(ChainFamily::Ethereum));
        assert_eq!(probe.family(None, good), Some(ChainFamily::Bittensor));
        assert_eq!(probe.family(good, wrong), Some(ChainFamily::Ethereum));
        assert_eq!(probe.family(good, good), None);
        assert_eq!(probe.family(None, None), None);
        assert_eq!(probe.family(wrong, None), None);
    }
}
