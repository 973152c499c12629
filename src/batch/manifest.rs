//! The record of finished documents: one JSON-lines file per shard under
//! `OUTPUT/.tarjim/`, appended after each document's output is in place, read
//! whole (every shard's file) when a job starts.

use std::collections::HashMap;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BatchError;
use super::lock::ShardLock;

/// The folder of the output directory that holds job state.
pub const STATE_DIR: &str = ".tarjim";
/// The folder of temporary files, under [`STATE_DIR`]: each named after the
/// shard whose lock its writer held, then its pid and a counter.
pub const TEMP_DIR: &str = "tmp";

/// Prefix of the names of a shard's temporary files.
pub(super) fn temp_prefix(shard: &str) -> String {
    format!("{shard}.")
}

/// One finished document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The document id.
    pub id: String,
    /// SHA-256 of its input bytes.
    pub input: String,
    /// The job's settings digest.
    pub settings: String,
    /// Its output, relative to the output directory.
    pub output: String,
}

/// Every finished document recorded under a state directory: the ledger its
/// `manifest-*.jsonl` files keep (not to be confused with [`crate::hub::Manifest`],
/// the models tarjim knows).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: HashMap<String, LedgerEntry>,
}

impl Ledger {
    /// Reads every `manifest-*.jsonl` in `state` (none when it does not exist).
    /// A line that does not parse (a write cut short by a kill) is ignored.
    pub fn load(state: &Path) -> Result<Self, BatchError> {
        let io = |error| BatchError::Io { path: state.to_path_buf(), error };
        let mut entries = HashMap::new();
        let listing = match std::fs::read_dir(state) {
            Ok(listing) => listing,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self { entries }),
            Err(err) => return Err(io(err)),
        };
        let mut files: Vec<PathBuf> = listing
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("manifest-"))
                    && p.extension().is_some_and(|e| e == "jsonl")
            })
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read(&file).map_err(|error| BatchError::Io { path: file.clone(), error })?;
            for line in text.split(|&b| b == b'\n') {
                if let Ok(entry) = serde_json::from_slice::<LedgerEntry>(line) {
                    entries.insert(entry.id.clone(), entry);
                }
            }
        }
        Ok(Self { entries })
    }

    /// Whether `id` is recorded with this input and these settings.
    pub fn is_done(&self, id: &str, input: &str, settings: &str) -> bool {
        self.entries.get(id).is_some_and(|e| e.input == input && e.settings == settings)
    }

    /// The entries, in id order.
    pub fn entries(&self) -> Vec<&LedgerEntry> {
        let mut entries: Vec<&LedgerEntry> = self.entries.values().collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        entries
    }
}

/// Appends to one shard's manifest file.
pub(super) struct Writer {
    file: std::fs::File,
    path: PathBuf,
    shard: String,
}

impl Writer {
    /// Opens (creating) `state/manifest-SHARD.jsonl` of the shard `lock`
    /// holds, cutting off a last line left unfinished by a kill (no other run
    /// writes to it while the lock is held).
    pub(super) fn open(state: &Path, lock: &ShardLock) -> Result<Self, BatchError> {
        let shard = lock.shard();
        let path = state.join(format!("manifest-{shard}.jsonl"));
        let io = |error| BatchError::Io { path: path.clone(), error };
        let mut file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(io)?;
        let bytes = std::fs::read(&path).map_err(io)?;
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if keep < bytes.len() {
            file.set_len(keep as u64).map_err(io)?;
            file.seek(std::io::SeekFrom::End(0)).map_err(io)?;
        }
        Ok(Self { file, path, shard: shard.to_string() })
    }

    /// Prefix of this shard's temporary file names.
    pub(super) fn temp_prefix(&self) -> String {
        temp_prefix(&self.shard)
    }

    /// Appends one entry and syncs it to disk.
    pub(super) fn record(&mut self, entry: &LedgerEntry) -> Result<(), BatchError> {
        let io = |error| BatchError::Io { path: self.path.clone(), error };
        let mut line = serde_json::to_vec(entry).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> LedgerEntry {
        LedgerEntry { id: id.into(), input: "i".into(), settings: "s".into(), output: format!("{id}.en.txt") }
    }

    #[test]
    fn entries_survive_and_cut_lines_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(STATE_DIR);
        assert!(Ledger::load(&state).unwrap().entries().is_empty());
        let lock = ShardLock::try_acquire(dir.path(), None).unwrap();
        let mut w = Writer::open(&state, &lock).unwrap();
        w.record(&entry("a")).unwrap();
        w.record(&entry("b")).unwrap();
        drop(w);
        // A kill in the middle of a write leaves half a line.
        let path = state.join("manifest-all.jsonl");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"id\":\"c\",\"inp");
        std::fs::write(&path, &bytes).unwrap();
        let mut w = Writer::open(&state, &lock).unwrap();
        w.record(&entry("c")).unwrap();
        let m = Ledger::load(&state).unwrap();
        assert_eq!(m.entries().iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert!(m.is_done("a", "i", "s"));
        assert!(!m.is_done("a", "i", "other settings"));
    }
}
