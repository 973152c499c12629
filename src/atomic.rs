//! Atomic file writes: the bytes go to a new temporary file, are synced, and
//! the file is renamed into place, so that readers see the old file or the new
//! one, never a part. Temporary names hold this process's id and a counter, so
//! that concurrent writers never share one (nor touch another process's); a
//! write that fails removes its temporary file.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` through a temporary file beside it, creating its
/// directory when missing.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(dir)?;
    let temp = write_temp(dir, &beside_prefix(path), bytes, |_| Ok(()))?;
    put(&temp, path)
}

/// Writes `bytes` to `dest` through a temporary file in `temp_dir` (on the
/// same file system) named `prefix` + process id + counter.
pub fn write_via(temp_dir: &Path, prefix: &str, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = write_temp(temp_dir, prefix, bytes, |_| Ok(()))?;
    put(&temp, dest)
}

/// The temporary-name prefix for files beside `path`: a dot and its name.
pub fn beside_prefix(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.")
}

/// The directory of `path` (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Creates a new file in `dir` named `prefix` + process id + counter, writes
/// `bytes`, lets `finish` adjust it (permissions, owner), and syncs it. Returns
/// its path; on failure it is removed.
pub fn write_temp(
    dir: &Path,
    prefix: &str,
    bytes: &[u8],
    finish: impl FnOnce(&File) -> std::io::Result<()>,
) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (temp, mut file) = loop {
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{prefix}{}.{count}.tmp", std::process::id()));
        match File::create_new(&temp) {
            Ok(file) => break (temp, file),
            // Left by an earlier process with the same id.
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    };
    let written = file.write_all(bytes).and_then(|()| finish(&file)).and_then(|()| file.sync_all());
    match written {
        Ok(()) => Ok(temp),
        Err(err) => {
            remove(&temp);
            Err(err)
        }
    }
}

/// Renames the temporary file `temp` over `dest`; on failure it is removed.
pub fn put(temp: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::rename(temp, dest).inspect_err(|_| remove(temp))
}

/// Removes a temporary file that could not be put in place.
pub fn remove(temp: &Path) {
    // Best effort: the error that left it is the one to report.
    let _ = std::fs::remove_file(temp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.txt");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_finish_removes_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let failed = write_temp(dir.path(), "x.", b"bytes", |_| Err(std::io::Error::other("no")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
