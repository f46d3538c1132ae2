//! 32-byte substrate accounts, hotkeys and their SS58 text form.
//!
//! SS58 = base58(prefix ‖ pubkey ‖ checksum) where checksum is the first two bytes of
//! blake2b-512(b"SS58PRE" ‖ prefix ‖ pubkey). Prefixes 0..=63 take one byte, 64..=16383
//! two. We write prefix 42 (what subtensor and Taonado use) and also accept Bittensor's
//! registered 13116 when reading.

use std::{fmt, str::FromStr};

use alloy_primitives::{Address, B256, hex};
use blake2::{Blake2b512, Digest};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{TypesError, evm_mirror};

/// The generic substrate SS58 prefix ("5…" addresses); subtensor renders accounts with it.
pub const SS58_PREFIX: u16 = 42;
/// Bittensor's entry in the ss58 registry; accepted when parsing, never written.
pub const BITTENSOR_SS58_PREFIX: u16 = 13116;

const CHECKSUM_LEN: usize = 2;

/// A substrate `AccountId32` (an sr25519/ed25519 public key or a hashed EVM mirror).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AccountId32(pub [u8; 32]);

/// A neuron's hotkey: the account that is registered on a subnet and sets weights.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hotkey(pub AccountId32);

impl AccountId32 {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The account as the `bytes32` the precompiles take.
    pub fn to_b256(&self) -> B256 {
        B256::from(self.0)
    }

    /// SS58 with prefix 42.
    pub fn to_ss58(&self) -> String {
        self.to_ss58_with_prefix(SS58_PREFIX)
    }

    /// SS58 with any prefix in 0..=16383 (larger values are masked to 14 bits, as in the format).
    pub fn to_ss58_with_prefix(&self, prefix: u16) -> String {
        let prefix = prefix & 0x3fff;
        let mut data = Vec::with_capacity(2 + 32 + CHECKSUM_LEN);
        if prefix < 64 {
            data.push(prefix as u8);
        } else {
            data.push((((prefix & 0b1111_1100) >> 2) as u8) | 0b0100_0000);
            data.push(((prefix >> 8) as u8) | (((prefix & 0b11) as u8) << 6));
        }
        data.extend_from_slice(&self.0);
        let checksum = ss58_checksum(&data);
        data.extend_from_slice(&checksum[..CHECKSUM_LEN]);
        bs58::encode(data).into_string()
    }

    /// Parse an SS58 address with prefix 42 or 13116, verifying the checksum.
    pub fn from_ss58(input: &str) -> Result<Self, TypesError> {
        let (account, prefix) = Self::from_ss58_any_prefix(input)?;
        if prefix != SS58_PREFIX && prefix != BITTENSOR_SS58_PREFIX {
            return Err(TypesError::Ss58Prefix {
                input: input.to_owned(),
                prefix,
            });
        }
        Ok(account)
    }

    /// Parse an SS58 address of any prefix, returning the prefix too.
    pub fn from_ss58_any_prefix(input: &str) -> Result<(Self, u16), TypesError> {
        let data = bs58::decode(input)
            .into_vec()
            .map_err(|e| TypesError::Ss58Base58 {
                input: input.to_owned(),
                reason: e.to_string(),
            })?;
        let length_error = || TypesError::Ss58Length {
            input: input.to_owned(),
            len: data.len(),
        };
        let (prefix_len, prefix) = match data.first() {
            Some(&b) if b < 64 => (1, u16::from(b)),
            Some(&b) if b < 128 => {
                let second = *data.get(1).ok_or_else(length_error)?;
                let lower = (b << 2) | (second >> 6);
                let upper = second & 0b0011_1111;
                (2, u16::from(lower) | (u16::from(upper) << 8))
            }
            Some(_) => {
                return Err(TypesError::Ss58Prefix {
                    input: input.to_owned(),
                    prefix: u16::from(data[0]),
                });
            }
            None => return Err(length_error()),
        };
        if data.len() != prefix_len + 32 + CHECKSUM_LEN {
            return Err(length_error());
        }
        let body = &data[..prefix_len + 32];
        if ss58_checksum(body)[..CHECKSUM_LEN] != data[prefix_len + 32..] {
            return Err(TypesError::Ss58Checksum {
                input: input.to_owned(),
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&body[prefix_len..]);
        Ok((AccountId32(key), prefix))
    }

    /// Parse `0x` + 64 hex digits.
    pub fn from_hex(input: &str) -> Result<Self, TypesError> {
        parse_hex::<32>(input).map(AccountId32)
    }

    /// Parse an SS58 address, `0x` + 32-byte hex, or an EVM address (`0x` + 20-byte hex),
    /// which stands for its mirror account (see [`evm_mirror`]).
    pub fn parse_or_mirror(input: &str) -> Result<Self, TypesError> {
        let trimmed = input.trim();
        if is_hex_of_len(trimmed, 20) {
            let bytes = parse_hex::<20>(trimmed)?;
            return Ok(evm_mirror(Address::from(bytes)));
        }
        trimmed.parse()
    }
}

impl Hotkey {
    /// The underlying account.
    pub fn account(&self) -> &AccountId32 {
        &self.0
    }

    /// SS58 with prefix 42.
    pub fn to_ss58(&self) -> String {
        self.0.to_ss58()
    }
}

fn ss58_checksum(data: &[u8]) -> [u8; 64] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(data);
    hasher.finalize().into()
}

fn is_hex_of_len(s: &str, bytes: usize) -> bool {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .is_some_and(|h| h.len() == bytes * 2)
}

fn parse_hex<const N: usize>(input: &str) -> Result<[u8; N], TypesError> {
    let error = |reason: String| TypesError::Hex {
        input: input.to_owned(),
        expected: N,
        reason,
    };
    let digits = input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
        .ok_or_else(|| error("missing 0x prefix".into()))?;
    if digits.len() != N * 2 {
        return Err(error(format!(
            "{} hex digits, need {}",
            digits.len(),
            N * 2
        )));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|e| error(e.to_string()))?;
    Ok(out)
}

/// Accepts SS58 (prefix 42 or 13116) or `0x` + 64 hex digits.
impl FromStr for AccountId32 {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, TypesError> {
        let s = s.trim();
        if s.starts_with("0x") || s.starts_with("0X") {
            if is_hex_of_len(s, 32) {
                return Self::from_hex(s);
            }
            return Err(TypesError::AccountFormat {
                input: s.to_owned(),
            });
        }
        Self::from_ss58(s)
    }
}

impl FromStr for Hotkey {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, TypesError> {
        s.parse().map(Hotkey)
    }
}

impl fmt::Display for AccountId32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for AccountId32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AccountId32({} / 0x{})",
            self.to_ss58(),
            hex::encode(self.0)
        )
    }
}

impl fmt::Display for Hotkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Hotkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hotkey({})", self.0.to_ss58())
    }
}

impl From<[u8; 32]> for AccountId32 {
    fn from(bytes: [u8; 32]) -> Self {
        AccountId32(bytes)
    }
}

impl From<B256> for AccountId32 {
    fn from(bytes: B256) -> Self {
        AccountId32(bytes.0)
    }
}

impl From<AccountId32> for B256 {
    fn from(account: AccountId32) -> Self {
        B256::from(account.0)
    }
}

impl From<AccountId32> for Hotkey {
    fn from(account: AccountId32) -> Self {
        Hotkey(account)
    }
}

impl From<Hotkey> for AccountId32 {
    fn from(hotkey: Hotkey) -> Self {
        hotkey.0
    }
}

/// Serialized as SS58 (prefix 42); deserialized from SS58 or 32-byte hex.
impl Serialize for AccountId32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_ss58())
    }
}

impl<'de> Deserialize<'de> for AccountId32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Hotkey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Hotkey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        AccountId32::deserialize(deserializer).map(Hotkey)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::hex;
    use proptest::prelude::*;

    use super::*;

    const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_HEX: &str = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn alice_round_trips() {
        let alice = AccountId32::from_hex(ALICE_HEX).unwrap();
        assert_eq!(alice.to_ss58(), ALICE_SS58);
        assert_eq!(ALICE_SS58.parse::<AccountId32>().unwrap(), alice);
        assert_eq!(ALICE_HEX.parse::<AccountId32>().unwrap(), alice);
    }

    #[test]
    fn accepts_bittensor_prefix_and_rejects_others() {
        let alice = AccountId32::from_hex(ALICE_HEX).unwrap();
        let bittensor = alice.to_ss58_with_prefix(BITTENSOR_SS58_PREFIX);
        let (parsed, prefix) = AccountId32::from_ss58_any_prefix(&bittensor).unwrap();
        assert_eq!((parsed, prefix), (alice, BITTENSOR_SS58_PREFIX));
        assert_eq!(AccountId32::from_ss58(&bittensor).unwrap(), alice);
        let polkadot = alice.to_ss58_with_prefix(0);
        assert_eq!(
            AccountId32::from_ss58(&polkadot),
            Err(TypesError::Ss58Prefix {
                input: polkadot.clone(),
                prefix: 0
            })
        );
    }

    #[test]
    fn rejects_bad_checksum_length_and_alphabet() {
        // Flip the last character: base58 stays valid, the checksum does not.
        let mut corrupted = ALICE_SS58.to_owned();
        corrupted.pop();
        corrupted.push('R');
        assert!(matches!(
            AccountId32::from_ss58(&corrupted),
            Err(TypesError::Ss58Checksum { .. })
        ));
        assert!(matches!(
            AccountId32::from_ss58(&bs58::encode([42u8, 1, 2, 3]).into_string()),
            Err(TypesError::Ss58Length { .. })
        ));
        assert!(matches!(
            AccountId32::from_ss58("0OIl"),
            Err(TypesError::Ss58Base58 { .. })
        ));
        assert!(matches!(
            "0x1234".parse::<AccountId32>(),
            Err(TypesError::AccountFormat { .. })
        ));
        assert!(matches!(
            AccountId32::from_hex(&format!("0x{}", "zz".repeat(32))),
            Err(TypesError::Hex { expected: 32, .. })
        ));
    }

    #[test]
    fn evm_address_parses_to_its_mirror() {
        let parsed =
            AccountId32::parse_or_mirror("0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac").unwrap();
        assert_eq!(
            parsed.to_ss58(),
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
        assert_eq!(
            AccountId32::parse_or_mirror(ALICE_SS58).unwrap().0,
            hex::decode(&ALICE_HEX[2..]).unwrap()[..]
        );
    }

    #[test]
    fn serde_uses_ss58_and_accepts_hex() {
        let alice = Hotkey(AccountId32::from_hex(ALICE_HEX).unwrap());
        assert_eq!(
            serde_json::to_string(&alice).unwrap(),
            format!("\"{ALICE_SS58}\"")
        );
        let from_hex: Hotkey = serde_json::from_str(&format!("\"{ALICE_HEX}\"")).unwrap();
        assert_eq!(from_hex, alice);
    }

    proptest! {
        #[test]
        fn ss58_round_trips(bytes in any::<[u8; 32]>(), prefix in 0u16..16384) {
            let account = AccountId32(bytes);
            prop_assert_eq!(account.to_ss58().parse::<AccountId32>().unwrap(), account);
            let encoded = account.to_ss58_with_prefix(prefix);
            prop_assert_eq!(AccountId32::from_ss58_any_prefix(&encoded).unwrap(), (account, prefix));
            let hex = format!("0x{}", hex::encode(bytes));
            prop_assert_eq!(hex.parse::<AccountId32>().unwrap(), account);
        }

        #[test]
        fn ss58_with_a_corrupted_checksum_is_rejected(
            bytes in any::<[u8; 32]>(),
            bittensor in any::<bool>(),
            which in 0usize..CHECKSUM_LEN,
            flip in 1u8..=255,
        ) {
            let prefix = if bittensor { BITTENSOR_SS58_PREFIX } else { SS58_PREFIX };
            let mut data = bs58::decode(AccountId32(bytes).to_ss58_with_prefix(prefix))
                .into_vec()
                .unwrap();
            let at = data.len() - CHECKSUM_LEN + which;
            data[at] ^= flip;
            let corrupted = bs58::encode(data).into_string();
            let is_checksum_error = matches!(
                AccountId32::from_ss58(&corrupted),
                Err(TypesError::Ss58Checksum { .. })
            );
            prop_assert!(is_checksum_error);
        }

        #[test]
        fn ss58_parser_never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<AccountId32>();
        }
    }
}
