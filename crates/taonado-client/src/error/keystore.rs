//! Errors of [`crate::keystore`].

use std::path::PathBuf;

/// Why a keystore could not be written or listed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The target file exists already.
    #[error(
        "keystore {path} already exists; choose another name or move the file aside (it is never overwritten)"
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file or its directory could not be created.
    #[error("cannot write keystore {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Encryption failed (the message never contains the key or password).
    #[error("cannot encrypt keystore {path}: {message}")]
    Encrypt {
        /// The file.
        path: PathBuf,
        /// What eth-keystore said.
        message: String,
    },
    /// The keystores directory cannot be read.
    #[error("cannot list keystores in {dir}: {source}")]
    List {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An empty password was given for a new keystore.
    #[error("the keystore password is empty; choose a non-empty password")]
    EmptyPassword,
    /// A path has no file name to use as the keystore name.
    #[error("{path} is not a file path; give a keystore file such as ./deployer.json")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
}
