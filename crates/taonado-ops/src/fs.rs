//! File access for deployment records: every error names the file, and writes are atomic
//! (a temporary file in the same directory, synced, then renamed over the target), so an
//! interrupted write leaves either the old record or the new one, never half of one.

use std::io::Write;
use std::path::Path;

use crate::error::{OpsError, Result};

/// Reads a file to a string; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(OpsError::io("read", path)(err)),
    }
}

/// Replaces `path` with `contents` atomically, creating the parent directory if needed.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(OpsError::io("create the directory of", path))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(err) = result {
        // Best effort: the temporary file is ours and useless after a failed write.
        let _ = std::fs::remove_file(&tmp);
        return Err(OpsError::io("write", path)(err));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/record.json");
        assert_eq!(read_optional(&path).unwrap(), None);
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(read_optional(&path).unwrap().as_deref(), Some("two"));
        let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(entries.len(), 1, "only the record remains: {entries:?}");
    }
}
