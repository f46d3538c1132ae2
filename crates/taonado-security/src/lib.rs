//! Security administration (the manual's "Security Procedures"): which keys taonado knows
//! and what is wrong with how they are kept.
//!
//! [`keys::inventory`] lists every keystore (Foundry's folder and the configured ones) with
//! its address as the file records it (never decrypted), the roles the configuration gives
//! it, its age and file mode; [`keys::audit`] checks them and the places a key must not be
//! (plaintext in `taonado.toml`, a `.env`, the environment or shell history). Pure file
//! reads: no network, no decryption, no secret ever copied into a finding.
//!
//! [`rotate`] moves ownership to a new key and keeps the rotation record that gives key
//! ages; [`keybackup`] makes, verifies and restores age-encrypted backups of keystores and
//! notes; [`recovery`] is the manual's fund recovery (hotkey challenges, sr25519
//! verification, what is tied to a hotkey).

pub mod assess;
pub mod audit;
pub mod keybackup;
pub mod keys;
pub mod owners;
pub mod password;
pub mod recovery;
pub mod rotate;
mod secrets;

pub use keys::{
    AuditReport, Finding, FindingKind, KeyEntry, KeysPlan, KeystoreKdf, audit, audit_with_owners,
    inventory,
};
pub use owners::OwnerCheck;

/// What went wrong reading the key folders.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
