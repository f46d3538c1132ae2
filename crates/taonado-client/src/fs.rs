//! File reads whose errors carry the path.

use std::path::Path;

use crate::error::{ClientError, Result};

/// Read a UTF-8 file.
pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ClientError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Read a UTF-8 file, `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClientError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}
