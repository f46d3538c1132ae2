//! Deposit notes: `taonado-<currency>-<amount>-<chainId>-0x<nullifier_le31 ‖ secret_le31>`.

use std::{fmt, str::FromStr};

use crate::{
    NoteError,
    field::{Fr, fr_from_le_bytes31},
    pedersen::pedersen_hash,
};

/// Every note starts with this.
pub const NOTE_PREFIX: &str = "taonado-";

/// The prefix the deployed client writes on every note, whatever the pool or chain.
pub const LEGACY_NOTE_PREFIX: &str = "taonado-wtao-1-964-";

/// Bytes of the nullifier and of the secret.
pub const NOTE_VALUE_BYTES: usize = 31;

/// Hex digits after `0x`: nullifier and secret, 31 bytes each.
pub const NOTE_HEX_DIGITS: usize = 4 * NOTE_VALUE_BYTES;

/// A deposit note: the pool it was made for and the two 248-bit values behind the commitment.
#[derive(Clone, PartialEq, Eq)]
pub struct Note {
    currency: String,
    amount: String,
    chain_id: u64,
    nullifier: [u8; NOTE_VALUE_BYTES],
    secret: [u8; NOTE_VALUE_BYTES],
}

impl Note {
    /// A note from explicit parts (for tests and for re-creating a known deposit).
    pub fn from_parts(
        currency: &str,
        amount: &str,
        chain_id: u64,
        nullifier: [u8; NOTE_VALUE_BYTES],
        secret: [u8; NOTE_VALUE_BYTES],
    ) -> Result<Self, NoteError> {
        validate_currency(currency)?;
        validate_amount(amount)?;
        Ok(Self {
            currency: currency.to_owned(),
            amount: amount.to_owned(),
            chain_id,
            nullifier,
            secret,
        })
    }

    /// A fresh note with a random nullifier and secret drawn from `rng`.
    pub fn generate<R: rand::CryptoRng + ?Sized>(
        currency: &str,
        amount: &str,
        chain_id: u64,
        rng: &mut R,
    ) -> Result<Self, NoteError> {
        let mut nullifier = [0u8; NOTE_VALUE_BYTES];
        let mut secret = [0u8; NOTE_VALUE_BYTES];
        rng.fill_bytes(&mut nullifier);
        rng.fill_bytes(&mut secret);
        Self::from_parts(currency, amount, chain_id, nullifier, secret)
    }

    /// Parses a note's syntax (prefix, parts, 124 hex digits). Use
    /// [`Note::parse_for_network`] to also check the chain and the pool.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        let rest = text
            .strip_prefix(NOTE_PREFIX)
            .ok_or_else(|| NoteError::WrongPrefix {
                found: shown(&text.chars().take(NOTE_PREFIX.len()).collect::<String>()),
            })?;
        let mut parts = rest.splitn(4, '-');
        let (Some(currency), Some(amount), Some(chain_id), Some(hex_part)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadShape {
                reason: "expected currency, amount, chain id and secret separated by '-'",
            });
        };
        validate_currency(currency)?;
        validate_amount(amount)?;
        let chain_id = parse_chain_id(chain_id)?;
        let digits = hex_part.strip_prefix("0x").ok_or(NoteError::BadShape {
            reason: "the secret part must start with 0x",
        })?;
        if let Some((position, character)) = digits
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(NoteError::NonHex {
                character,
                position,
            });
        }
        if digits.len() != NOTE_HEX_DIGITS {
            return Err(NoteError::WrongHexLength { len: digits.len() });
        }
        let mut bytes = [0u8; 2 * NOTE_VALUE_BYTES];
        // Length and digits were checked above, so decoding cannot fail.
        hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| NoteError::WrongHexLength { len: digits.len() })?;
        let mut nullifier = [0u8; NOTE_VALUE_BYTES];
        let mut secret = [0u8; NOTE_VALUE_BYTES];
        nullifier.copy_from_slice(&bytes[..NOTE_VALUE_BYTES]);
        secret.copy_from_slice(&bytes[NOTE_VALUE_BYTES..]);
        Ok(Self {
            currency: currency.to_owned(),
            amount: amount.to_owned(),
            chain_id,
            nullifier,
            secret,
        })
    }

    /// Parses a note and checks it against the network in use: its chain id and its
    /// `(currency, amount)` pool must exist. Legacy notes skip both checks (see
    /// [`Note::is_legacy`]); their pool is found from the commitment instead.
    pub fn parse_for_network(
        text: &str,
        chain_id: u64,
        pools: &[(&str, &str)],
    ) -> Result<Self, NoteError> {
        let note = Self::parse(text)?;
        note.check_network(chain_id, pools)?;
        Ok(note)
    }

    /// Checks the note's chain id and pool against the network in use.
    pub fn check_network(&self, chain_id: u64, pools: &[(&str, &str)]) -> Result<(), NoteError> {
        if self.is_legacy() {
            return Ok(());
        }
        if self.chain_id != chain_id {
            return Err(NoteError::ChainIdMismatch {
                note_chain_id: self.chain_id,
                expected: chain_id,
            });
        }
        if !pools
            .iter()
            .any(|(currency, amount)| *currency == self.currency && *amount == self.amount)
        {
            let available = pools
                .iter()
                .filter(|(currency, _)| *currency == self.currency)
                .map(|(_, amount)| *amount)
                .collect::<Vec<_>>();
            return Err(NoteError::NoSuchPool {
                currency: self.currency.clone(),
                amount: self.amount.clone(),
                available: if available.is_empty() {
                    "none".to_owned()
                } else {
                    available.join(", ")
                },
            });
        }
        Ok(())
    }

    /// Whether the note carries the deployed client's hard-coded `taonado-wtao-1-964-`
    /// prefix, whose amount and chain id say nothing about the real pool.
    pub fn is_legacy(&self) -> bool {
        self.currency == "wtao" && self.amount == "1" && self.chain_id == 964
    }

    /// Currency, e.g. `wtao`.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Pool amount as written in the note, e.g. `1` or `0.1`.
    pub fn amount(&self) -> &str {
        &self.amount
    }

    /// Chain id written in the note.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The nullifier's 31 little-endian bytes.
    pub fn nullifier_bytes(&self) -> &[u8; NOTE_VALUE_BYTES] {
        &self.nullifier
    }

    /// The secret's 31 little-endian bytes.
    pub fn secret_bytes(&self) -> &[u8; NOTE_VALUE_BYTES] {
        &self.secret
    }

    /// The nullifier as a field element.
    pub fn nullifier(&self) -> Fr {
        fr_from_le_bytes31(&self.nullifier)
    }

    /// The secret as a field element.
    pub fn secret(&self) -> Fr {
        fr_from_le_bytes31(&self.secret)
    }

    /// `nullifier_le31 ‖ secret_le31`, the commitment's preimage.
    pub fn preimage(&self) -> [u8; 2 * NOTE_VALUE_BYTES] {
        let mut out = [0u8; 2 * NOTE_VALUE_BYTES];
        out[..NOTE_VALUE_BYTES].copy_from_slice(&self.nullifier);
        out[NOTE_VALUE_BYTES..].copy_from_slice(&self.secret);
        out
    }

    /// The deposit commitment: x of `Pedersen(nullifier_le31 ‖ secret_le31)`.
    pub fn commitment(&self) -> Fr {
        commitment(&self.nullifier, &self.secret)
    }

    /// The nullifier hash: x of `Pedersen(nullifier_le31)`.
    pub fn nullifier_hash(&self) -> Fr {
        nullifier_hash(&self.nullifier)
    }
}

/// x of `Pedersen(nullifier_le31 ‖ secret_le31)`.
pub fn commitment(nullifier: &[u8; NOTE_VALUE_BYTES], secret: &[u8; NOTE_VALUE_BYTES]) -> Fr {
    let mut preimage = [0u8; 2 * NOTE_VALUE_BYTES];
    preimage[..NOTE_VALUE_BYTES].copy_from_slice(nullifier);
    preimage[NOTE_VALUE_BYTES..].copy_from_slice(secret);
    // 496 bits fit the derived generators (3 of MAX_SEGMENTS segments).
    pedersen_hash(&preimage).map(|p| p.x).unwrap_or_default()
}

/// x of `Pedersen(nullifier_le31)`.
pub fn nullifier_hash(nullifier: &[u8; NOTE_VALUE_BYTES]) -> Fr {
    // 248 bits fit the derived generators.
    pedersen_hash(nullifier).map(|p| p.x).unwrap_or_default()
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{NOTE_PREFIX}{}-{}-{}-0x{}{}",
            self.currency,
            self.amount,
            self.chain_id,
            hex::encode(self.nullifier),
            hex::encode(self.secret)
        )
    }
}

// The nullifier and secret are spending keys: never in logs.
impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Note")
            .field("currency", &self.currency)
            .field("amount", &self.amount)
            .field("chain_id", &self.chain_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl FromStr for Note {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn validate_currency(currency: &str) -> Result<(), NoteError> {
    let valid = !currency.is_empty()
        && currency
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(NoteError::BadCurrency {
            currency: shown(currency),
        })
    }
}

fn validate_amount(amount: &str) -> Result<(), NoteError> {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let valid = match amount.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(amount),
    };
    if valid {
        Ok(())
    } else {
        Err(NoteError::BadAmount {
            amount: shown(amount),
        })
    }
}

fn parse_chain_id(text: &str) -> Result<u64, NoteError> {
    let bad = || NoteError::BadChainId {
        chain_id: shown(text),
    };
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

/// A part of a rejected note as an error may show it. Parts can be out of place (the
/// secret where the chain id belongs), so anything long or hex-like is described, never
/// shown: no error ever echoes note material.
fn shown(part: &str) -> String {
    let hex_like = part.len() > 6
        && part
            .trim_start_matches("0x")
            .chars()
            .all(|c| c.is_ascii_hexdigit());
    if part.chars().count() > 16 || hex_like {
        format!("<{} characters, not shown>", part.chars().count())
    } else {
        part.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4118ec44531aa71a09754872c5f521c2192420c76c47cd2d85438e76ef9d67d2f7911a8dc17979b426c27ff6ddcb3de7bd494de596d505a9fc5db7e8ab20";

    fn note(prefix: &str) -> String {
        format!("{prefix}0x{HEX}")
    }

    #[test]
    fn legacy_note_parses_and_skips_network_checks() {
        let parsed = Note::parse_for_network(&note(LEGACY_NOTE_PREFIX), 945, &[("wtao", "10")]);
        let parsed = parsed.expect("legacy notes must parse on any network");
        assert!(parsed.is_legacy());
        assert_eq!(parsed.to_string(), note(LEGACY_NOTE_PREFIX));
    }

    #[test]
    fn rejections_are_typed() {
        type IsExpected = fn(&NoteError) -> bool;
        let cases: [(String, IsExpected); 8] = [
            (note("tornado-wtao-1-964-"), |e| {
                matches!(e, NoteError::WrongPrefix { .. })
            }),
            (format!("taonado-wtao-1-945-0x{}", &HEX[2..]), |e| {
                matches!(e, NoteError::WrongHexLength { len: 122 })
            }),
            (format!("taonado-wtao-1-945-0xg{}", &HEX[1..]), |e| {
                matches!(
                    e,
                    NoteError::NonHex {
                        character: 'g',
                        position: 0
                    }
                )
            }),
            ("taonado-wtao-1-945".to_owned(), |e| {
                matches!(e, NoteError::BadShape { .. })
            }),
            (format!("taonado-wtao-1-945-{HEX}"), |e| {
                matches!(e, NoteError::BadShape { .. })
            }),
            (note("taonado-WTAO-1-945-"), |e| {
                matches!(e, NoteError::BadCurrency { .. })
            }),
            (note("taonado-wtao-1.-945-"), |e| {
                matches!(e, NoteError::BadAmount { .. })
            }),
            (note("taonado-wtao-1-x945-"), |e| {
                matches!(e, NoteError::BadChainId { .. })
            }),
        ];
        for (text, expected) in cases {
            let err = Note::parse(&text).expect_err(&text);
            assert!(expected(&err), "{text}: unexpected {err:?}");
        }
    }

    #[test]
    fn network_checks() {
        let pools = [("wtao", "1"), ("wtao", "10")];
        let err = Note::parse_for_network(&note("taonado-wtao-10-945-"), 964, &pools);
        assert_eq!(
            err,
            Err(NoteError::ChainIdMismatch {
                note_chain_id: 945,
                expected: 964
            })
        );
        let err = Note::parse_for_network(&note("taonado-wtao-100-945-"), 945, &pools);
        assert!(
            matches!(err, Err(NoteError::NoSuchPool { ref available, .. }) if available == "1, 10")
        );
        assert!(Note::parse_for_network(&note("taonado-wtao-10-945-"), 945, &pools).is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let parsed = Note::parse(&note(LEGACY_NOTE_PREFIX)).expect("valid note");
        assert!(!format!("{parsed:?}").contains(&HEX[..16]));
    }

    /// Any note-like text with the secret in any position: the error never contains a run
    /// of the secret.
    #[test]
    fn misplaced_secrets_never_reach_the_error() {
        let secret = "ab".repeat(62);
        for text in [
            format!("taonado-wtao-0.1-0x{secret}-42"),
            format!("taonado-wtao-0x{secret}-0.1-42"),
            format!("taonado-0x{secret}-wtao-0.1-42"),
            format!("0x{secret}"),
            format!("{secret}-taonado"),
        ] {
            let err = Note::parse(&text).unwrap_err().to_string();
            assert!(!err.contains("ababab"), "{text}: {err}");
        }
    }

    proptest::proptest! {
        /// Whatever the fields, a 124-digit secret placed anywhere never shows in the error.
        #[test]
        fn no_error_echoes_a_secret(
            parts in proptest::collection::vec("[a-z0-9.]{0,6}", 0..5),
            at in 0usize..6,
            secret in "[0-9a-f]{124}",
        ) {
            let mut parts = parts;
            let at = at.min(parts.len());
            parts.insert(at, format!("0x{secret}"));
            let text = format!("taonado-{}", parts.join("-"));
            if let Err(e) = Note::parse(&text) {
                let message = e.to_string();
                proptest::prop_assert!(!message.contains(&secret[..12]), "{}", message);
            }
        }
    }
}
