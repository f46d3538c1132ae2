//! Errors of this crate.

/// What can go wrong when looking up contract artifacts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A contract name that has no artifact.
    #[error("no artifact named {name:?}; known contracts: {known}")]
    UnknownContract {
        /// The name that was asked for.
        name: String,
        /// Every artifact name, comma-separated.
        known: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
