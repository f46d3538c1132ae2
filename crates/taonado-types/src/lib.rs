//! Domain types shared by every taonado crate: SS58 accounts and hotkeys, the EVM→native
//! account mirror, TAO/wei/rao units, subnet identifiers, the verifier's key words, and
//! which `Host` header a local server answers.
//!
//! Parsing and display only: this crate does no I/O.

mod account;
mod error;
mod ids;
mod local_host;
mod mirror;
mod redact;
mod units;
mod utc;
mod verifier_key;

pub use account::{AccountId32, BITTENSOR_SS58_PREFIX, Hotkey, SS58_PREFIX};
pub use error::{Result, TypesError};
pub use ids::{NetUid, Uid};
pub use local_host::is_allowed_local_host;
pub use mirror::evm_mirror;
pub use redact::{RedactedUrl, redact_urls};
pub use units::{
    MAX_TAO_DECIMALS, RAO_PER_TAO, Rao, WEI_PER_RAO, WEI_PER_TAO, format_tao, parse_tao,
    rao_to_wei, wei_to_rao,
};
pub use utc::{iso8601_utc, unix_from_civil, utc_civil};
pub use verifier_key::{VerifyingKeyWords, g2_words};
