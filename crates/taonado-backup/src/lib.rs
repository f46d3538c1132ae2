//! Backups, restore, disaster recovery drills and database maintenance.
//!
//! - [`set`]: dated backup sets (`backup create|verify|list|prune|schedule`), each a folder
//!   with a sealed [`manifest`] (SHA-256 per file, tool version, network, schema version);
//! - [`restore`]: `backup restore` and `recover`, which check the whole set before writing
//!   anything and never replace a file without `force` (then keeping a copy);
//! - [`state`]: contract state at a pinned block, and its restore into a dev chain;
//! - [`maint`]: `db cleanup|compact|backup|check|migrate`;
//! - [`drill`]: the recovery rehearsal with measured RTO and RPO;
//! - [`sqlite`]: SQLite's online backup API and the facts a verification compares.

pub mod drill;
mod error;
pub mod maint;
pub mod manifest;
pub mod replica;
pub mod restore;
pub mod set;
pub mod sqlite;
pub mod state;
pub mod wal;

pub use error::{BackupError, Result};
pub use manifest::{Component, Manifest};
