//! The checks a keystore file passes before any key derivation runs. eth-keystore trusts the
//! file: a short `iv` panics inside it, and `kdfparams.n = 2^30` makes scrypt allocate a
//! terabyte and abort. A keystore is input like any other, so its shape and its KDF cost
//! are checked first, and a bad one is one line naming the field.

use serde_json::Value;

/// The largest keystore file read (a real one is under 1 KiB).
pub const MAX_KEYSTORE_BYTES: usize = 64 * 1024;
/// scrypt's memory is 128·n·r bytes; 256 MiB admits geth's "standard" parameters
/// (n = 2^18, r = 8), eight times above Foundry's default (n = 2^13, r = 8).
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// scrypt parallelism: every known writer uses 1.
pub const MAX_SCRYPT_P: u64 = 16;
/// pbkdf2 rounds: eth-keystore writes 262,144; 10 M is ~40× that.
pub const MAX_PBKDF2_ROUNDS: u64 = 10_000_000;

/// Why a keystore file is refused before decryption. Messages name fields and limits, never
/// any value of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreFormatError {
    #[error("the file is larger than {MAX_KEYSTORE_BYTES} bytes; this is not a keystore")]
    TooLarge,
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("`{field}` is missing or not {expected}")]
    Field {
        field: &'static str,
        expected: &'static str,
    },
    #[error("`version` is {0}; only version 3 keystores are supported")]
    Version(String),
    #[error("cipher `{0}` is not supported; keystores use aes-128-ctr")]
    Cipher(String),
    #[error("`{field}` must be {expected} bytes of hex")]
    HexLength {
        field: &'static str,
        expected: &'static str,
    },
    #[error("kdf `{0}` is not supported; use scrypt or pbkdf2")]
    Kdf(String),
    #[error("`kdfparams.{field}` is {value}, outside {limit}")]
    KdfBound {
        field: &'static str,
        value: u64,
        limit: String,
    },
    #[error("pbkdf2 prf `{0}` is not supported; use hmac-sha256")]
    Prf(String),
}

/// Checks `text` as a version-3 Web3 secret storage file whose KDF is bounded.
pub fn check_keystore(text: &str) -> Result<(), KeystoreFormatError> {
    if text.len() > MAX_KEYSTORE_BYTES {
        return Err(KeystoreFormatError::TooLarge);
    }
    let json: Value =
        serde_json::from_str(text).map_err(|e| KeystoreFormatError::NotJson(e.to_string()))?;
    match json.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(3) => {}
        Some(other) => return Err(KeystoreFormatError::Version(short(other))),
        None => {
            return Err(KeystoreFormatError::Field {
                field: "version",
                expected: "a number",
            });
        }
    }
    // Geth writes `crypto`, some older tools `Crypto`.
    let crypto = json
        .get("crypto")
        .or_else(|| json.get("Crypto"))
        .filter(|c| c.is_object())
        .ok_or(KeystoreFormatError::Field {
            field: "crypto",
            expected: "an object",
        })?;
    let cipher = string(crypto, "cipher", "crypto.cipher")?;
    if cipher != "aes-128-ctr" {
        return Err(KeystoreFormatError::Cipher(truncate(cipher)));
    }
    let params = crypto
        .get("cipherparams")
        .ok_or(KeystoreFormatError::Field {
            field: "crypto.cipherparams",
            expected: "an object",
        })?;
    hex_of_length(params, "iv", "crypto.cipherparams.iv", 16..=16, "16")?;
    hex_of_length(crypto, "ciphertext", "crypto.ciphertext", 32..=32, "32")?;
    hex_of_length(crypto, "mac", "crypto.mac", 32..=32, "32")?;
    let kdf = string(crypto, "kdf", "crypto.kdf")?;
    let kdfparams =
        crypto
            .get("kdfparams")
            .filter(|p| p.is_object())
            .ok_or(KeystoreFormatError::Field {
                field: "crypto.kdfparams",
                expected: "an object",
            })?;
    hex_of_length(kdfparams, "salt", "kdfparams.salt", 1..=64, "1 to 64")?;
    let dklen = number(kdfparams, "dklen")?;
    bound("dklen", dklen, dklen == 32, "32".into())?;
    match kdf {
        "scrypt" => {
            let n = number(kdfparams, "n")?;
            let r = number(kdfparams, "r")?;
            let p = number(kdfparams, "p")?;
            bound(
                "n",
                n,
                n >= 2 && n.is_power_of_two(),
                "a power of two ≥ 2".into(),
            )?;
            bound("r", r, (1..=64).contains(&r), "1..=64".into())?;
            bound(
                "p",
                p,
                (1..=MAX_SCRYPT_P).contains(&p),
                format!("1..={MAX_SCRYPT_P}"),
            )?;
            let memory = 128u64.saturating_mul(n).saturating_mul(r);
            bound(
                "n",
                n,
                memory <= MAX_SCRYPT_MEMORY_BYTES,
                format!("128·n·r ≤ {MAX_SCRYPT_MEMORY_BYTES} bytes of memory (r = {r})"),
            )?;
        }
        "pbkdf2" => {
            let c = number(kdfparams, "c")?;
            bound(
                "c",
                c,
                (1..=MAX_PBKDF2_ROUNDS).contains(&c),
                format!("1..={MAX_PBKDF2_ROUNDS}"),
            )?;
            let prf = string(kdfparams, "prf", "kdfparams.prf")?;
            if prf != "hmac-sha256" {
                return Err(KeystoreFormatError::Prf(truncate(prf)));
            }
        }
        other => return Err(KeystoreFormatError::Kdf(truncate(other))),
    }
    Ok(())
}

fn string<'a>(
    object: &'a Value,
    key: &str,
    field: &'static str,
) -> Result<&'a str, KeystoreFormatError> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or(KeystoreFormatError::Field {
            field,
            expected: "a string",
        })
}

fn number(kdfparams: &Value, key: &'static str) -> Result<u64, KeystoreFormatError> {
    kdfparams
        .get(key)
        .and_then(Value::as_u64)
        .ok_or(KeystoreFormatError::Field {
            field: match key {
                "dklen" => "kdfparams.dklen",
                "n" => "kdfparams.n",
                "r" => "kdfparams.r",
                "p" => "kdfparams.p",
                _ => "kdfparams.c",
            },
            expected: "a whole number",
        })
}

fn hex_of_length(
    object: &Value,
    key: &str,
    field: &'static str,
    bytes: std::ops::RangeInclusive<usize>,
    expected: &'static str,
) -> Result<(), KeystoreFormatError> {
    let text = string(object, key, field)?;
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let ok = digits.len() % 2 == 0
        && bytes.contains(&(digits.len() / 2))
        && digits.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(KeystoreFormatError::HexLength { field, expected })
    }
}

fn bound(
    field: &'static str,
    value: u64,
    ok: bool,
    limit: String,
) -> Result<(), KeystoreFormatError> {
    if ok {
        Ok(())
    } else {
        Err(KeystoreFormatError::KdfBound {
            field,
            value,
            limit,
        })
    }
}

/// A field's value in an error: kept short, since a file can put anything there.
fn truncate(text: &str) -> String {
    text.chars().take(32).collect()
}

fn short(value: &Value) -> String {
    truncate(&value.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DEV1: &str = include_str!("../tests/fixtures/dev1.json");

    fn with(path: &[&str], value: Value) -> String {
        let mut json: Value = serde_json::from_str(DEV1).unwrap();
        let mut at = &mut json;
        for key in &path[..path.len() - 1] {
            at = at.get_mut(*key).unwrap();
        }
        at[path[path.len() - 1]] = value;
        json.to_string()
    }

    #[test]
    fn foundrys_keystore_passes() {
        check_keystore(DEV1).unwrap();
    }

    #[test]
    fn each_defect_is_named() {
        let cases: Vec<(String, &str)> = vec![
            (
                with(&["crypto", "cipherparams", "iv"], "".into()),
                "crypto.cipherparams.iv",
            ),
            (
                with(&["crypto", "cipherparams", "iv"], "3530b2".into()),
                "crypto.cipherparams.iv",
            ),
            (
                with(&["crypto", "kdfparams", "n"], (1u64 << 30).into()),
                "kdfparams.n",
            ),
            (
                with(&["crypto", "kdfparams", "n"], 1000.into()),
                "power of two",
            ),
            (with(&["crypto", "kdfparams", "p"], 0.into()), "kdfparams.p"),
            (
                with(&["crypto", "kdfparams", "dklen"], 16.into()),
                "kdfparams.dklen",
            ),
            (
                with(&["crypto", "cipher"], "aes-256-gcm".into()),
                "aes-128-ctr",
            ),
            (with(&["version"], 1.into()), "version 3"),
            (
                with(&["crypto", "kdf"], "argon2".into()),
                "scrypt or pbkdf2",
            ),
            (with(&["crypto", "mac"], Value::Null), "crypto.mac"),
            ("[]".to_owned(), "version"),
            ("{".to_owned(), "not JSON"),
        ];
        for (text, needle) in cases {
            let err = check_keystore(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn pbkdf2_is_bounded_too() {
        let mut json: Value = serde_json::from_str(DEV1).unwrap();
        json["crypto"]["kdf"] = "pbkdf2".into();
        json["crypto"]["kdfparams"] = serde_json::json!({
            "c": 262144, "dklen": 32, "prf": "hmac-sha256", "salt": "00ff"
        });
        check_keystore(&json.to_string()).unwrap();
        json["crypto"]["kdfparams"]["c"] = (MAX_PBKDF2_ROUNDS + 1).into();
        assert!(check_keystore(&json.to_string()).is_err());
        json["crypto"]["kdfparams"]["c"] = 1.into();
        json["crypto"]["kdfparams"]["prf"] = "hmac-sha512".into();
        assert!(check_keystore(&json.to_string()).is_err());
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u32..40).prop_map(|e| Value::from(1u64 << e.min(63))),
            any::<i64>().prop_map(Value::from),
            "[0-9a-fx]{0,80}".prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const FIELDS: &[&[&str]] = &[
        &["version"],
        &["crypto"],
        &["crypto", "cipher"],
        &["crypto", "cipherparams"],
        &["crypto", "cipherparams", "iv"],
        &["crypto", "ciphertext"],
        &["crypto", "kdf"],
        &["crypto", "kdfparams"],
        &["crypto", "kdfparams", "n"],
        &["crypto", "kdfparams", "r"],
        &["crypto", "kdfparams", "p"],
        &["crypto", "kdfparams", "dklen"],
        &["crypto", "kdfparams", "salt"],
        &["crypto", "mac"],
    ];

    proptest! {
        /// Any one field replaced by any JSON value: a one-line refusal, or a keystore whose
        /// decryption is bounded (it then fails on the password, without a panic).
        #[test]
        fn a_mutated_keystore_is_refused_or_safe_to_decrypt(
            field in 0..FIELDS.len(),
            value in any_json(),
        ) {
            let text = with(FIELDS[field], value);
            match check_keystore(&text) {
                Err(e) => prop_assert!(!e.to_string().contains('\n')),
                Ok(()) => {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("k.json");
                    std::fs::write(&path, &text).unwrap();
                    let decrypted = std::panic::catch_unwind(|| {
                        alloy::signers::local::PrivateKeySigner::decrypt_keystore(&path, "wrong")
                    });
                    prop_assert!(decrypted.is_ok(), "eth-keystore panicked on {text}");
                }
            }
        }

        /// Arbitrary text never panics the check.
        #[test]
        fn any_text_is_checked_without_panic(text in ".{0,400}") {
            let _ = check_keystore(&text);
        }
    }
}
