//! Fund recovery (the manual's "Fund Recovery"): a hotkey owner proves control with an
//! sr25519 signature over a stored challenge, then sees everything tied to the hotkey and
//! the steps open to them. Mixer notes cannot be recovered, by design: nothing but the note
//! proves a deposit.
//!
//! - [`issue_challenge`] stores a challenge naming the chain, the hotkey, the date and a
//!   random nonce, valid for a while.
//! - [`verify_hotkey`] checks a signature (schnorrkel, signing context `substrate`, as
//!   polkadot.js, subkey and btcli sign) over the challenge or a given message, raw or in
//!   the `<Bytes>…</Bytes>` wrapping polkadot.js's `signRaw` and btcli apply. A challenge
//!   that expired or was used is refused; a verified one is used.
//! - [`assist`] gathers the hotkey's chain state (`taonado_ops::miner::status`) and the
//!   steps; [`note_asked`] answers a note question and records it, never the note.
//!
//! Every call records an attempt in the store.

use alloy::providers::DynProvider;
use rand::RngCore as _;
use serde::Serialize;
use taonado_deployment::ProtocolAddresses;
use taonado_store::Store;
use taonado_store::recovery::{NewRecoveryAttempt, RecoveryChallenge};
use taonado_types::Hotkey;

/// The signing context of every Substrate sr25519 signature.
const SIGNING_CONTEXT: &[u8] = b"substrate";
/// What polkadot.js (`signRaw`) and btcli wrap a message in before signing it.
const BYTES_OPEN: &str = "<Bytes>";
const BYTES_CLOSE: &str = "</Bytes>";

/// Why a recovery step refused or failed. `Malformed*` are usage errors; the others are
/// failed checks.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(
        "the signature must be 0x followed by 128 hex digits (64 bytes, sr25519); got {got_len} characters"
    )]
    MalformedSignature { got_len: usize },
    #[error("no challenge {0}; issue one with `taonado recovery challenge --hotkey SS58`")]
    UnknownChallenge(String),
    #[error("challenge {id} expired at {expires}; issue a new one")]
    Expired { id: String, expires: String },
    #[error("challenge {id} was already used at {used}; issue a new one")]
    AlreadyUsed { id: String, used: String },
    #[error("challenge {id} was issued for hotkey {issued_for}, not {hotkey}")]
    OtherHotkey {
        id: String,
        issued_for: String,
        hotkey: String,
    },
    #[error(
        "the signature does not verify for hotkey {hotkey} over the message (raw or <Bytes>-wrapped)"
    )]
    BadSignature { hotkey: String },
    #[error(transparent)]
    Store(#[from] taonado_store::StoreError),
    #[error(transparent)]
    Ops(Box<taonado_ops::OpsError>),
}

impl RecoveryError {
    /// A malformed command line (exit 2), as opposed to a refused check (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::MalformedSignature { .. } | Self::UnknownChallenge(_)
        )
    }
}

impl From<taonado_ops::OpsError> for RecoveryError {
    fn from(error: taonado_ops::OpsError) -> Self {
        Self::Ops(Box::new(error))
    }
}

/// Issues a challenge for `hotkey` on `chain`, valid `valid_for_secs` from `now`.
pub fn issue_challenge(
    store: &Store,
    chain: &str,
    hotkey: &Hotkey,
    now: u64,
    valid_for_secs: u64,
) -> Result<RecoveryChallenge, RecoveryError> {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let id = hex::encode(&nonce[..6]);
    let expires = now.saturating_add(valid_for_secs);
    let message = challenge_message(chain, hotkey, now, expires, &hex::encode(nonce));
    let challenge = RecoveryChallenge {
        id,
        hotkey: hotkey.to_string(),
        chain: chain.to_owned(),
        message,
        issued_at: to_i64(now),
        expires_at: to_i64(expires),
        used_at: None,
    };
    store.insert_recovery_challenge(&challenge)?;
    store.record_recovery_attempt(&NewRecoveryAttempt {
        kind: "challenge",
        hotkey: Some(&challenge.hotkey),
        challenge_id: Some(&challenge.id),
        outcome: "issued",
        detail: &format!("valid until {}", taonado_types::iso8601_utc(expires)),
    })?;
    Ok(challenge)
}

/// The text a hotkey owner signs.
fn challenge_message(chain: &str, hotkey: &Hotkey, now: u64, expires: u64, nonce: &str) -> String {
    format!(
        "taonado fund recovery: I control this hotkey.\nchain: {chain}\nhotkey: {hotkey}\ndate: {}\nexpires: {}\nnonce: {nonce}",
        taonado_types::iso8601_utc(now),
        taonado_types::iso8601_utc(expires)
    )
}

fn to_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// What the signature was checked over.
#[derive(Clone, Debug)]
pub enum Signed<'a> {
    /// A stored challenge, by id.
    Challenge(&'a str),
    /// A message given as is.
    Message(&'a str),
}

/// A verified signature.
#[derive(Clone, Debug, Serialize)]
pub struct Verified {
    pub hotkey: String,
    pub challenge_id: Option<String>,
    /// `raw` or `bytes-wrapped` (`<Bytes>…</Bytes>`).
    pub form: &'static str,
    pub message: String,
}

/// Parses `0x` + 128 hex digits (the `0x` is optional).
pub fn parse_signature(text: &str) -> Result<[u8; 64], RecoveryError> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let malformed = || RecoveryError::MalformedSignature {
        got_len: trimmed.len(),
    };
    let bytes = hex::decode(digits).map_err(|_| malformed())?;
    bytes.try_into().map_err(|_| malformed())
}

/// Whether `signature` is `hotkey`'s over `message`, raw or `<Bytes>`-wrapped (either way
/// round: a message given already wrapped is also tried bare). Returns the form that
/// verified.
pub fn signature_form(
    hotkey: &Hotkey,
    message: &str,
    signature: &[u8; 64],
) -> Option<&'static str> {
    let public = schnorrkel::PublicKey::from_bytes(hotkey.account().as_bytes()).ok()?;
    let signature = schnorrkel::Signature::from_bytes(signature).ok()?;
    let verifies = |m: &[u8]| public.verify_simple(SIGNING_CONTEXT, m, &signature).is_ok();
    if verifies(message.as_bytes()) {
        return Some("raw");
    }
    let other = match message
        .strip_prefix(BYTES_OPEN)
        .and_then(|m| m.strip_suffix(BYTES_CLOSE))
    {
        Some(bare) => bare.to_owned(),
        None => format!("{BYTES_OPEN}{message}{BYTES_CLOSE}"),
    };
    verifies(other.as_bytes()).then_some("bytes-wrapped")
}

/// Checks `signature` by `hotkey`; a challenge must be unexpired and unused, and is used by
/// a signature that verifies. The attempt is recorded whatever the outcome.
pub fn verify_hotkey(
    store: &Store,
    hotkey: &Hotkey,
    signature: &str,
    signed: Signed<'_>,
    now: u64,
) -> Result<Verified, RecoveryError> {
    let hotkey_text = hotkey.to_string();
    let challenge_id = match signed {
        Signed::Challenge(id) => Some(id),
        Signed::Message(_) => None,
    };
    let result = check(store, hotkey, &hotkey_text, signature, signed, now);
    let (outcome, detail) = match &result {
        Ok(v) => ("verified", format!("signature verified ({})", v.form)),
        Err(e) => ("refused", e.to_string()),
    };
    store.record_recovery_attempt(&NewRecoveryAttempt {
        kind: "verify-hotkey",
        hotkey: Some(&hotkey_text),
        challenge_id,
        outcome,
        detail: &detail,
    })?;
    result
}

fn check(
    store: &Store,
    hotkey: &Hotkey,
    hotkey_text: &str,
    signature: &str,
    signed: Signed<'_>,
    now: u64,
) -> Result<Verified, RecoveryError> {
    let signature = parse_signature(signature)?;
    let (message, challenge) = match signed {
        Signed::Message(message) => (message.to_owned(), None),
        Signed::Challenge(id) => {
            let challenge = store
                .recovery_challenge(id)?
                .ok_or_else(|| RecoveryError::UnknownChallenge(id.to_owned()))?;
            if let Some(used) = challenge.used_at {
                return Err(RecoveryError::AlreadyUsed {
                    id: challenge.id,
                    used: iso(used),
                });
            }
            if to_i64(now) >= challenge.expires_at {
                return Err(RecoveryError::Expired {
                    id: challenge.id,
                    expires: iso(challenge.expires_at),
                });
            }
            if challenge.hotkey != hotkey_text {
                return Err(RecoveryError::OtherHotkey {
                    id: challenge.id,
                    issued_for: challenge.hotkey,
                    hotkey: hotkey_text.to_owned(),
                });
            }
            (challenge.message.clone(), Some(challenge))
        }
    };
    let form = signature_form(hotkey, &message, &signature).ok_or_else(|| {
        RecoveryError::BadSignature {
            hotkey: hotkey_text.to_owned(),
        }
    })?;
    if let Some(challenge) = &challenge
        && !store.use_recovery_challenge(&challenge.id, to_i64(now))?
    {
        // Another verification used it between the read and now.
        return Err(RecoveryError::AlreadyUsed {
            id: challenge.id.clone(),
            used: "just now".to_owned(),
        });
    }
    Ok(Verified {
        hotkey: hotkey_text.to_owned(),
        challenge_id: challenge.map(|c| c.id),
        form,
        message,
    })
}

fn iso(secs: i64) -> String {
    taonado_types::iso8601_utc(u64::try_from(secs).unwrap_or(0))
}

/// Whether `text` looks like a mixer note (`tornado-<currency>-<amount>-<chain>-0x…`, or
/// its bare 62-byte preimage), so that it is never echoed, logged or stored.
pub fn looks_like_note(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    let bare = t.strip_prefix("0x").unwrap_or(&t);
    t.starts_with("tornado-") || (bare.len() == 124 && bare.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The answer to "can you recover my note?".
pub const NOTE_ANSWER: &str = "mixer notes cannot be recovered, by design: the note is the only proof of a deposit and is never sent or stored anywhere; without it (or a backup of ~/.taonado/notes) the deposit cannot be withdrawn by anyone";

/// Records a note question (never the note) and returns the answer.
pub fn note_asked(store: &Store) -> Result<&'static str, RecoveryError> {
    store.record_recovery_attempt(&NewRecoveryAttempt {
        kind: "note",
        hotkey: None,
        challenge_id: None,
        outcome: "answered",
        detail: "asked to recover a mixer note; answered that notes cannot be recovered (the note was not recorded)",
    })?;
    Ok(NOTE_ANSWER)
}

/// Everything tied to a hotkey, and what its owner can do.
#[derive(Clone, Debug, Serialize)]
pub struct Assistance {
    pub status: taonado_ops::miner::MinerStatus,
    pub steps: Vec<String>,
}

/// Reads the hotkey's state (associations and their WTAO, lifetime deposits, uid, weight,
/// incentive, emission) and lists the steps open to its owner. Recorded in the store.
pub async fn assist(
    store: &Store,
    provider: &DynProvider,
    addresses: &ProtocolAddresses,
    hotkey: Hotkey,
) -> Result<Assistance, RecoveryError> {
    let hotkey_text = hotkey.to_string();
    let result = taonado_ops::miner::status(provider, addresses, hotkey).await;
    let (outcome, detail) = match &result {
        Ok(s) => (
            "answered",
            format!(
                "{} association(s), uid {}",
                s.association_count,
                s.uid.map_or_else(|| "none".to_owned(), |u| u.to_string())
            ),
        ),
        Err(e) => ("failed", e.to_string()),
    };
    store.record_recovery_attempt(&NewRecoveryAttempt {
        kind: "assist",
        hotkey: Some(&hotkey_text),
        challenge_id: None,
        outcome,
        detail: &detail,
    })?;
    let status = result?;
    let steps = steps_for(&status);
    Ok(Assistance { status, steps })
}

/// The concrete steps open to the owner of the hotkey in `status`.
fn steps_for(status: &taonado_ops::miner::MinerStatus) -> Vec<String> {
    let hotkey = &status.hotkey;
    let mut steps = vec![format!(
        "prove control of the hotkey: `taonado recovery challenge --hotkey {hotkey}`, sign the message with the hotkey (btcli, polkadot.js or subkey), then `taonado recovery verify-hotkey --hotkey {hotkey} --challenge ID --signature 0x…`"
    )];
    if status.associations.is_empty() {
        steps.push("no EVM address is associated with this hotkey: there is no WTAO counted for it; associate the address that holds your WTAO with `taonado miner register`".to_owned());
    }
    for a in &status.associations {
        if a.wtao_balance.is_zero() {
            continue;
        }
        steps.push(format!(
            "{} holds {} WTAO: with that address's key, `taonado wtao unwrap` returns it as TAO, or `taonado wtao transfer` moves it; associations are permanent, so a lost EVM key cannot be replaced by another address",
            a.address,
            taonado_types::format_tao(a.wtao_balance)
        ));
    }
    match status.uid {
        Some(uid) => steps.push(format!(
            "the hotkey holds uid {uid} on subnet {}: its incentive and emission go to the hotkey's coldkey; keep the coldkey safe (btcli wallet regen_coldkey restores it from its mnemonic)",
            status.netuid
        )),
        None => steps.push(format!(
            "the hotkey is not registered on subnet {}: it earns nothing until it is (btcli subnet register)",
            status.netuid
        )),
    }
    steps.push("lost mixer notes cannot be recovered by anyone; restore them from a key backup (`taonado keys restore --from FILE`) if you made one".to_owned());
    steps
}

#[cfg(test)]
mod tests {
    use subxt_signer::sr25519::{Keypair, dev};

    use super::*;

    fn alice() -> (Keypair, Hotkey) {
        let pair = dev::alice();
        let hotkey: Hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
            .parse()
            .unwrap();
        assert_eq!(pair.public_key().0, *hotkey.account().as_bytes());
        (pair, hotkey)
    }

    #[test]
    fn raw_and_bytes_wrapped_signatures_verify_and_others_do_not() {
        let (pair, hotkey) = alice();
        let raw = pair.sign(b"hello");
        assert_eq!(signature_form(&hotkey, "hello", &raw.0), Some("raw"));
        let wrapped = pair.sign(b"<Bytes>hello</Bytes>");
        assert_eq!(
            signature_form(&hotkey, "hello", &wrapped.0),
            Some("bytes-wrapped")
        );
        assert_eq!(
            signature_form(&hotkey, "<Bytes>hello</Bytes>", &raw.0),
            Some("bytes-wrapped")
        );
        assert_eq!(signature_form(&hotkey, "hellO", &raw.0), None);
        let bob: Hotkey = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
            .parse()
            .unwrap();
        assert_eq!(signature_form(&bob, "hello", &raw.0), None);
        let mut tampered = raw.0;
        tampered[0] ^= 1;
        assert_eq!(signature_form(&hotkey, "hello", &tampered), None);
    }

    #[test]
    fn a_challenge_verifies_once_and_not_after_it_expires() {
        let store = Store::open_in_memory().unwrap();
        let (pair, hotkey) = alice();
        let challenge = issue_challenge(&store, "local", &hotkey, 1_000, 60).unwrap();
        assert!(challenge.message.contains("chain: local"));
        assert!(challenge.message.contains(&hotkey.to_string()));
        let sig = format!(
            "0x{}",
            hex::encode(pair.sign(challenge.message.as_bytes()).0)
        );
        let id = challenge.id.as_str();
        let expired = verify_hotkey(&store, &hotkey, &sig, Signed::Challenge(id), 1_060);
        assert!(
            matches!(expired, Err(RecoveryError::Expired { .. })),
            "{expired:?}"
        );
        let ok = verify_hotkey(&store, &hotkey, &sig, Signed::Challenge(id), 1_001).unwrap();
        assert_eq!(ok.form, "raw");
        let again = verify_hotkey(&store, &hotkey, &sig, Signed::Challenge(id), 1_002);
        assert!(
            matches!(again, Err(RecoveryError::AlreadyUsed { .. })),
            "{again:?}"
        );
        let malformed = verify_hotkey(&store, &hotkey, "0x12", Signed::Message("m"), 1_002);
        assert!(
            malformed.as_ref().is_err_and(RecoveryError::is_usage),
            "{malformed:?}"
        );
        let kinds: Vec<String> = store
            .recovery_attempts()
            .unwrap()
            .into_iter()
            .map(|a| format!("{}:{}", a.kind, a.outcome))
            .collect();
        assert_eq!(
            kinds,
            [
                "challenge:issued",
                "verify-hotkey:refused",
                "verify-hotkey:verified",
                "verify-hotkey:refused",
                "verify-hotkey:refused"
            ]
        );
    }

    #[test]
    fn notes_are_recognised_and_never_recorded() {
        let note = format!("tornado-wtao-1-964-0x{}", "ab".repeat(62));
        assert!(looks_like_note(&note));
        assert!(looks_like_note(&format!("0x{}", "cd".repeat(62))));
        assert!(!looks_like_note(
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        ));
        let store = Store::open_in_memory().unwrap();
        note_asked(&store).unwrap();
        let attempts = store.recovery_attempts().unwrap();
        assert_eq!(attempts.len(), 1);
        assert!(!attempts[0].detail.contains("abab"));
    }
}
