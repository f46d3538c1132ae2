//! A Safe transaction, its EIP-712 hash and Safe's signature formats (Safe 1.4.1,
//! `Safe.sol`'s `getTransactionHash` and `checkNSignatures`).

use alloy::primitives::{Address, B256, Bytes, Signature, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::error::multisig::MultisigError;

/// `keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")`.
pub const DOMAIN_SEPARATOR_TYPEHASH: B256 =
    alloy::primitives::b256!("0x47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218");

/// `keccak256("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")`.
pub const SAFE_TX_TYPEHASH: B256 =
    alloy::primitives::b256!("0xbb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8");

/// `Enum.Operation`: a call or a delegate call from the Safe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    #[default]
    Call,
    DelegateCall,
}

impl Operation {
    pub fn as_u8(self) -> u8 {
        match self {
            Operation::Call => 0,
            Operation::DelegateCall => 1,
        }
    }
}

/// The fields of Safe's `SafeTx` (what the owners sign). taonado proposes refund-free
/// transactions (gas fields zero), but a proposal made by other tools may set them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SafeTx {
    pub to: Address,
    pub value: U256,
    pub data: Bytes,
    pub operation: Operation,
    pub safe_tx_gas: U256,
    pub base_gas: U256,
    pub gas_price: U256,
    pub gas_token: Address,
    pub refund_receiver: Address,
    pub nonce: U256,
}

impl SafeTx {
    /// A plain call with no gas refund.
    pub fn call(to: Address, value: U256, data: Bytes, nonce: U256) -> Self {
        Self {
            to,
            value,
            data,
            operation: Operation::Call,
            safe_tx_gas: U256::ZERO,
            base_gas: U256::ZERO,
            gas_price: U256::ZERO,
            gas_token: Address::ZERO,
            refund_receiver: Address::ZERO,
            nonce,
        }
    }

    /// EIP-712 `hashStruct(SafeTx)`.
    pub fn struct_hash(&self) -> B256 {
        keccak256(
            (
                SAFE_TX_TYPEHASH,
                self.to,
                self.value,
                keccak256(&self.data),
                U256::from(self.operation.as_u8()),
                self.safe_tx_gas,
                self.base_gas,
                self.gas_price,
                self.gas_token,
                self.refund_receiver,
                self.nonce,
            )
                .abi_encode(),
        )
    }

    /// The hash the owners sign: `keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct)`, the
    /// value of the Safe's `getTransactionHash`.
    pub fn hash(&self, chain_id: u64, safe: Address) -> B256 {
        let mut preimage = Vec::with_capacity(66);
        preimage.extend_from_slice(&[0x19, 0x01]);
        preimage.extend_from_slice(domain_separator(chain_id, safe).as_slice());
        preimage.extend_from_slice(self.struct_hash().as_slice());
        keccak256(preimage)
    }
}

/// The Safe's EIP-712 domain separator (1.3.0 and later: chain id and address only).
pub fn domain_separator(chain_id: u64, safe: Address) -> B256 {
    keccak256((DOMAIN_SEPARATOR_TYPEHASH, U256::from(chain_id), safe).abi_encode())
}

/// How a signature was made, which is how the Safe checks it (its `v`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    /// An ECDSA signature of the hash itself (`v` 27 or 28): EIP-712 `eth_signTypedData`.
    Eip712,
    /// An ECDSA signature of `"\x19Ethereum Signed Message:\n32" ‖ hash` (`personal_sign`,
    /// hardware wallets): `v` 31 or 32.
    EthSign,
    /// The owner approved the hash on chain with `approveHash` (`v` 1, `r` the owner).
    ApprovedHash,
}

/// One owner's signature, as the Safe takes it (65 bytes: `r ‖ s ‖ v`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSignature {
    /// The owner the signature recovers to (for an approved hash, the owner in `r`).
    pub owner: Address,
    pub kind: SignatureKind,
    /// `r ‖ s ‖ v` exactly as `execTransaction` receives it.
    pub signature: Bytes,
}

impl OwnerSignature {
    /// Reads a 65-byte Safe signature of `hash` and finds its owner. Contract signatures
    /// (`v` 0) are refused: taonado's owners are keys.
    pub fn parse(bytes: &[u8], hash: B256) -> Result<Self, MultisigError> {
        let malformed = |reason: &str| MultisigError::MalformedSignature {
            reason: reason.to_owned(),
        };
        if bytes.len() != 65 {
            return Err(malformed(&format!(
                "{} bytes, a Safe signature is 65 (r ‖ s ‖ v)",
                bytes.len()
            )));
        }
        let r = U256::from_be_slice(&bytes[..32]);
        let s = U256::from_be_slice(&bytes[32..64]);
        let v = bytes[64];
        let (kind, owner) = match v {
            0 => {
                return Err(malformed(
                    "v = 0 is a contract signature (EIP-1271), which taonado does not take",
                ));
            }
            1 => {
                if bytes[..12].iter().any(|b| *b != 0) {
                    return Err(malformed("v = 1 (approved hash) needs an address in r"));
                }
                (
                    SignatureKind::ApprovedHash,
                    Address::from_slice(&bytes[12..32]),
                )
            }
            27 | 28 => (SignatureKind::Eip712, recover(r, s, v - 27, hash)?),
            31 | 32 => {
                let signed = eth_signed_message_hash(hash);
                (SignatureKind::EthSign, recover(r, s, v - 31, signed)?)
            }
            other => {
                return Err(malformed(&format!(
                    "v = {other}; Safe takes 27/28 (EIP-712), 31/32 (eth_sign) or 1 (approved hash)"
                )));
            }
        };
        Ok(Self {
            owner,
            kind,
            signature: Bytes::copy_from_slice(bytes),
        })
    }

    /// Signs `hash` with `signer` in the given form (EIP-712 or eth_sign).
    pub fn sign(
        signer: &(impl SignerSync + ?Sized),
        hash: B256,
        kind: SignatureKind,
    ) -> Result<Self, MultisigError> {
        let (digest, offset) = match kind {
            SignatureKind::Eip712 => (hash, 27u8),
            SignatureKind::EthSign => (eth_signed_message_hash(hash), 31u8),
            SignatureKind::ApprovedHash => {
                return Err(MultisigError::MalformedSignature {
                    reason: "an approved hash is sent on chain (approveHash), not signed".into(),
                });
            }
        };
        let signature = signer
            .sign_hash_sync(&digest)
            .map_err(|e| MultisigError::Signing(e.to_string()))?;
        let mut bytes = Vec::with_capacity(65);
        bytes.extend_from_slice(&signature.r().to_be_bytes::<32>());
        bytes.extend_from_slice(&signature.s().to_be_bytes::<32>());
        bytes.push(offset + u8::from(signature.v()));
        Self::parse(&bytes, hash)
    }

    /// The signature Safe takes for an owner who approved the hash on chain (or who sends
    /// `execTransaction` themselves): `r` = the owner, `s` = 0, `v` = 1.
    pub fn approved_hash(owner: Address) -> Self {
        let mut bytes = vec![0u8; 65];
        bytes[12..32].copy_from_slice(owner.as_slice());
        bytes[64] = 1;
        Self {
            owner,
            kind: SignatureKind::ApprovedHash,
            signature: bytes.into(),
        }
    }
}

fn recover(r: U256, s: U256, parity: u8, digest: B256) -> Result<Address, MultisigError> {
    Signature::new(r, s, parity == 1)
        .recover_address_from_prehash(&digest)
        .map_err(|e| MultisigError::MalformedSignature {
            reason: format!("no key recovers from it: {e}"),
        })
}

fn eth_signed_message_hash(hash: B256) -> B256 {
    let mut message = b"\x19Ethereum Signed Message:\n32".to_vec();
    message.extend_from_slice(hash.as_slice());
    keccak256(message)
}

/// The `signatures` argument of `execTransaction`: each owner's signature once, ascending by
/// owner address, which is the order `checkNSignatures` requires.
pub fn pack_signatures(signatures: &[OwnerSignature]) -> Bytes {
    let mut sorted: Vec<&OwnerSignature> = signatures.iter().collect();
    sorted.sort_by_key(|s| s.owner);
    sorted.dedup_by_key(|s| s.owner);
    sorted
        .iter()
        .flat_map(|s| s.signature.iter().copied())
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, b256, bytes};
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    #[test]
    fn the_type_hashes_are_safes() {
        assert_eq!(
            DOMAIN_SEPARATOR_TYPEHASH,
            keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")
        );
        assert_eq!(
            SAFE_TX_TYPEHASH,
            keccak256(
                "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
            )
        );
    }

    /// A fixed vector computed independently of this code, with ethers 6.17.0's EIP-712
    /// encoder (`TypedDataEncoder.hash`, the `ethers` of package.json):
    ///
    /// ```js
    /// TypedDataEncoder.hash({ chainId: 945, verifyingContract: SAFE },
    ///   { SafeTx: [to address, value uint256, data bytes, operation uint8, safeTxGas uint256,
    ///              baseGas uint256, gasPrice uint256, gasToken address, refundReceiver address,
    ///              nonce uint256] },
    ///   { to, value: 1234, data: "0x3ccfd60b00ff", operation: 0, safeTxGas: 0, baseGas: 0,
    ///     gasPrice: 0, gasToken: ZeroAddress, refundReceiver: ZeroAddress, nonce: 7 })
    /// ```
    /// and the same with chainId 1, operation 1, safeTxGas 50000 and gasToken 0x3333….
    /// The end-to-end test also compares proposal hashes with the deployed Safe's
    /// `getTransactionHash`.
    #[test]
    fn the_hash_matches_an_independent_eip712_encoder() {
        let safe = address!("0x1111111111111111111111111111111111111111");
        let tx = SafeTx::call(
            address!("0x2222222222222222222222222222222222222222"),
            U256::from(1234),
            bytes!("3ccfd60b00ff"),
            U256::from(7),
        );
        assert_eq!(tx.hash(945, safe), EXPECTED_945);
        let delegate = SafeTx {
            operation: Operation::DelegateCall,
            safe_tx_gas: U256::from(50_000),
            gas_token: address!("0x3333333333333333333333333333333333333333"),
            ..tx
        };
        assert_eq!(delegate.hash(1, safe), EXPECTED_DELEGATE_1);
    }

    const EXPECTED_945: B256 =
        b256!("0x57fcf16fa013774ec1d6fc43d9af5fef478c8106d977b47506dac84068aa006b");
    const EXPECTED_DELEGATE_1: B256 =
        b256!("0xcd47ab275c85e4b23d88a444d7e847f4238d09adc3b15f923223d59c1b1ca708");

    #[test]
    fn signatures_round_trip_in_each_form_and_pack_by_owner() {
        let hash = keccak256("a safe tx");
        let a = PrivateKeySigner::random();
        let b = PrivateKeySigner::random();
        let sa = OwnerSignature::sign(&a, hash, SignatureKind::Eip712).expect("signs");
        let sb = OwnerSignature::sign(&b, hash, SignatureKind::EthSign).expect("signs");
        assert_eq!(sa.owner, a.address());
        assert_eq!(sb.owner, b.address());
        assert!(matches!(sa.signature[64], 27 | 28));
        assert!(matches!(sb.signature[64], 31 | 32));
        assert_eq!(
            OwnerSignature::parse(&sb.signature, hash).expect("parses"),
            sb
        );
        let approved = OwnerSignature::approved_hash(a.address());
        assert_eq!(
            OwnerSignature::parse(&approved.signature, hash).expect("parses"),
            approved
        );
        let packed = pack_signatures(&[sb.clone(), sa.clone(), sa.clone()]);
        assert_eq!(packed.len(), 130);
        let (first, second) = if a.address() < b.address() {
            (&sa, &sb)
        } else {
            (&sb, &sa)
        };
        assert_eq!(&packed[..65], first.signature.as_ref());
        assert_eq!(&packed[65..], second.signature.as_ref());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let hash = keccak256("x");
        for (bytes, needle) in [
            (vec![0u8; 64], "64 bytes"),
            ([vec![0u8; 64], vec![0]].concat(), "contract signature"),
            ([vec![0u8; 64], vec![5]].concat(), "v = 5"),
            ([vec![1u8; 64], vec![1]].concat(), "address in r"),
        ] {
            let error = OwnerSignature::parse(&bytes, hash).expect_err("refused");
            assert!(error.to_string().contains(needle), "{error}");
        }
    }
}
