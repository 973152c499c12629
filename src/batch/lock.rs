//! One run per shard of an output directory: an advisory lock (`flock`) on
//! `OUTPUT/.tarjim/lock-SHARD`, holding the holder's pid, host and start time.
//! Temporary files of a shard are made only while its lock is held, so the
//! next holder may remove whatever a dead run left.

use std::fs::{File, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BatchError;
use super::manifest::{STATE_DIR, TEMP_DIR, temp_prefix};

/// Who holds a shard lock, as it wrote itself into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// When it took the lock (UTC, RFC 3339).
    pub started: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {} since {}", self.pid, self.host, self.started)
    }
}

/// The name of a shard in state file names: `K-of-N`, or `all`.
pub(super) fn shard_name(shard: Option<(u32, u32)>) -> String {
    match shard {
        Some((k, n)) => format!("{k}-of-{n}"),
        None => "all".to_string(),
    }
}

/// Exclusive hold on one shard of an output directory, released when dropped
/// (or when the process ends, however it ends).
#[derive(Debug)]
pub struct ShardLock {
    file: File,
    output: PathBuf,
    shard: String,
}

impl ShardLock {
    /// Takes the lock of `shard` in `output` (whose directory must exist), or
    /// fails with [`BatchError::Busy`] naming the holder when another run has it.
    pub fn try_acquire(output: &Path, shard: Option<(u32, u32)>) -> Result<Self, BatchError> {
        let (file, path) = open(output, shard)?;
        match file.try_lock() {
            Ok(()) => Self::taken(file, &path, output, shard),
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
                Err(BatchError::Busy { output: output.to_path_buf(), shard, holder, lock: path })
            }
            Err(TryLockError::Error(source)) => Err(BatchError::Io { path, error: source }),
        }
    }

    /// Takes the lock of `shard` in `output`, waiting as long as another run
    /// holds it.
    pub fn acquire(output: &Path, shard: Option<(u32, u32)>) -> Result<Self, BatchError> {
        let (file, path) = open(output, shard)?;
        match file.lock() {
            Ok(()) => Self::taken(file, &path, output, shard),
            Err(source) => Err(BatchError::Io { path, error: source }),
        }
    }

    /// Writes the holder into the lock file and removes the shard's leftover
    /// temporary files: only a holder of this lock makes them, so they belong
    /// to a run that has ended.
    fn taken(mut file: File, path: &Path, output: &Path, shard: Option<(u32, u32)>) -> Result<Self, BatchError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| BatchError::Io { path: p, error: source }
        };
        let holder = Holder { pid: std::process::id(), host: host_name(), started: crate::time::Utc::now().iso() };
        let mut line = serde_json::to_vec(&holder).map_err(|e| io(path)(std::io::Error::other(e)))?;
        line.push(b'\n');
        file.set_len(0).map_err(io(path))?;
        file.rewind().map_err(io(path))?;
        file.write_all(&line).map_err(io(path))?;
        file.sync_data().map_err(io(path))?;
        let lock = Self { file, output: output.to_path_buf(), shard: shard_name(shard) };
        let temp = output.join(STATE_DIR).join(TEMP_DIR);
        let prefix = lock.temp_prefix();
        for entry in std::fs::read_dir(&temp).map_err(io(&temp))?.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            }
        }
        Ok(lock)
    }

    /// The shard's name (`all` or `K-of-N`).
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// The output directory the lock belongs to.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Prefix of the names of this shard's temporary files; the rest of a
    /// name is the pid and a counter.
    pub(super) fn temp_prefix(&self) -> String {
        temp_prefix(&self.shard)
    }
}

impl Drop for ShardLock {
    /// Clears the holder from the lock file before the lock goes; a run that is
    /// killed leaves it, and the next holder overwrites it.
    fn drop(&mut self) {
        // Nothing can be done about a failure here; the lock goes regardless.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Opens (creating) the lock file of `shard` and the state directories.
fn open(output: &Path, shard: Option<(u32, u32)>) -> Result<(File, PathBuf), BatchError> {
    let state = output.join(STATE_DIR);
    let temp = state.join(TEMP_DIR);
    std::fs::create_dir_all(&temp).map_err(|source| BatchError::Io { path: temp.clone(), error: source })?;
    let path = state.join(format!("lock-{}", shard_name(shard)));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|source| BatchError::Io { path: path.clone(), error: source })?;
    Ok((file, path))
}

/// This machine's host name (`unknown host` when it cannot be had).
fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most
        // that many bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            if end > 0 {
                return String::from_utf8_lossy(&buf[..end]).into_owned();
            }
        }
    }
    "unknown host".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_shard_names_its_holder_and_other_shards_stay_free() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let temp = out.join(STATE_DIR).join(TEMP_DIR);
        std::fs::create_dir_all(&temp).unwrap();
        std::fs::write(temp.join("all.4242.0"), b"a dead run's").unwrap();
        std::fs::write(temp.join("0-of-2.4242.0"), b"another shard's").unwrap();
        let held = ShardLock::try_acquire(out, None).unwrap();
        assert!(!temp.join("all.4242.0").exists(), "the holder removes its shard's leftovers");
        assert!(temp.join("0-of-2.4242.0").exists(), "other shards' files are left alone");
        let lock_file = out.join(".tarjim/lock-all");
        let holder: Holder = serde_json::from_slice(&std::fs::read(&lock_file).unwrap()).unwrap();
        assert_eq!((holder.pid, holder.host.clone()), (std::process::id(), host_name()));
        match ShardLock::try_acquire(out, None) {
            Err(BatchError::Busy { holder: Some(h), lock, .. }) => {
                assert_eq!(h, holder);
                assert_eq!(lock, lock_file);
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        let other = ShardLock::try_acquire(out, Some((0, 2))).unwrap();
        assert_eq!(other.shard(), "0-of-2");
        drop(held);
        assert_eq!(std::fs::read(&lock_file).unwrap(), b"", "a released lock names nobody");
        assert_eq!(ShardLock::try_acquire(out, None).unwrap().shard(), "all");
    }
}
