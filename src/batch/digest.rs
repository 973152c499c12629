//! SHA-256 of the files a job's outputs depend on (weights, vocabularies,
//! configs), kept in `OUTPUT/.tarjim/digests.json` so that a rerun does not
//! read hundreds of megabytes again. An entry is used only while its file's
//! canonical path, size, modification and change times (ns), inode and device
//! are those recorded; one that does not parse, holds no valid hash or comes
//! from another cache version is ignored and the file hashed again. A file
//! modified less than [`RACY`] before it was hashed is not recorded: a change
//! within the same timestamp tick could not be told apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::lock::ShardLock;
use super::manifest::STATE_DIR;
use super::{BatchError, output};
use crate::hub::{self, HubError};

/// The cache file, under [`STATE_DIR`].
const DIGEST_FILE: &str = "digests.json";
/// Version of the cache format; a file of another version is ignored.
const VERSION: u32 = 1;
/// Files modified this recently (ns) when hashed are not recorded.
const RACY: i64 = 2_000_000_000;

/// What identifies one state of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    inode: u64,
    device: u64,
}

/// A recorded hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    stamp: Stamp,
    sha256: String,
}

/// The cache file's layout.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    files: BTreeMap<String, serde_json::Value>,
}

/// File hashes of one run, backed by the cache of an output directory.
#[derive(Debug)]
pub struct FileDigests {
    known: BTreeMap<String, Entry>,
    used: BTreeMap<String, Entry>,
    hashed: Vec<(PathBuf, u64)>,
    new_entries: bool,
}

impl FileDigests {
    /// Reads the cache of `output` (none when it is missing or unreadable).
    pub fn load(output: &Path) -> Self {
        let known = std::fs::read(output.join(STATE_DIR).join(DIGEST_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|cache| cache.version == VERSION)
            .map(|cache| {
                cache
                    .files
                    .into_iter()
                    .filter(|(path, _)| Path::new(path).is_absolute())
                    .filter_map(|(path, value)| Some((path, serde_json::from_value::<Entry>(value).ok()?)))
                    .filter(|(_, entry)| is_sha256(&entry.sha256))
                    .collect()
            })
            .unwrap_or_default();
        Self { known, used: BTreeMap::new(), hashed: Vec::new(), new_entries: false }
    }

    /// Lowercase hex SHA-256 of the file at `path`: from the cache when the
    /// file is as recorded, else read in full.
    pub fn sha256(&mut self, path: &Path) -> Result<String, BatchError> {
        let io = |source| BatchError::Io { path: path.to_path_buf(), error: source };
        let canonical = path.canonicalize().map_err(io)?;
        let key = canonical.to_str().map(str::to_string);
        let before = stamp(&canonical).map_err(io)?;
        if let (Some(key), Some(stamp)) = (&key, before)
            && let Some(entry) = self.known.get(key).filter(|e| e.stamp == stamp)
        {
            self.used.insert(key.clone(), entry.clone());
            return Ok(entry.sha256.clone());
        }
        let now = now_ns();
        let sha256 = hub::sha256_file(&canonical).map_err(|err| match err {
            HubError::Io { path, error } => BatchError::Io { path, error },
            other => BatchError::Io { path: path.to_path_buf(), error: std::io::Error::other(other.to_string()) },
        })?;
        let after = stamp(&canonical).map_err(io)?;
        self.hashed.push((path.to_path_buf(), after.map_or(0, |s| s.size)));
        if let (Some(key), Some(stamp), Some(now)) = (key, after, now)
            && before == after
            && now - stamp.mtime_ns >= RACY
        {
            self.used.insert(key, Entry { stamp, sha256: sha256.clone() });
            self.new_entries = true;
        }
        Ok(sha256)
    }

    /// The files read in full by this run (not found in the cache), with
    /// their sizes.
    pub fn hashed(&self) -> &[(PathBuf, u64)] {
        &self.hashed
    }

    /// Writes the entries this run used to the cache of the output `lock`
    /// belongs to, atomically, when any of them is new.
    pub fn save(&self, lock: &ShardLock) -> Result<(), BatchError> {
        if !self.new_entries {
            return Ok(());
        }
        let files = self.used.iter().filter_map(|(k, v)| Some((k.clone(), serde_json::to_value(v).ok()?))).collect();
        let rel = Path::new(STATE_DIR).join(DIGEST_FILE);
        let io = |source| BatchError::Io { path: lock.output().join(&rel), error: source };
        let mut bytes = serde_json::to_vec_pretty(&CacheFile { version: VERSION, files })
            .map_err(|e| io(std::io::Error::other(e)))?;
        bytes.push(b'\n');
        output::write_atomically(lock.output(), &rel, &bytes, &lock.temp_prefix()).map_err(io)
    }
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn now_ns() -> Option<i64> {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()
}

/// The file's stamp, `None` when its times cannot be had in ns since 1970.
fn stamp(path: &Path) -> std::io::Result<Option<Stamp>> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nsec: i64| secs.checked_mul(1_000_000_000)?.checked_add(nsec);
        Ok(ns(meta.mtime(), meta.mtime_nsec()).zip(ns(meta.ctime(), meta.ctime_nsec())).map(|(mtime_ns, ctime_ns)| {
            Stamp { size: meta.len(), mtime_ns, ctime_ns, inode: meta.ino(), device: meta.dev() }
        }))
    }
    #[cfg(not(unix))]
    {
        let mtime = meta.modified()?.duration_since(UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_nanos()).ok());
        Ok(mtime.map(|mtime_ns| Stamp { size: meta.len(), mtime_ns, ctime_ns: 0, inode: 0, device: 0 }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A file whose modification time lies an hour back (old enough to record).
    fn old_file(path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
    }

    fn cache_json(out: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(STATE_DIR).join(DIGEST_FILE)).unwrap()).unwrap()
    }

    #[test]
    fn hashes_are_kept_and_used_while_files_stay_as_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let weights = dir.path().join("weights");
        old_file(&weights, b"weights");
        let want = crate::hash::sha256_hex(b"weights");
        let lock = ShardLock::try_acquire(&out, None).unwrap();

        let mut digests = FileDigests::load(&out);
        assert_eq!(digests.sha256(&weights).unwrap(), want);
        assert_eq!(digests.hashed(), &[(weights.clone(), 7)]);
        digests.save(&lock).unwrap();
        let key = weights.canonicalize().unwrap().to_str().unwrap().to_string();
        assert_eq!(cache_json(&out)["files"][&key]["sha256"], want.as_str());

        let mut again = FileDigests::load(&out);
        assert_eq!(again.sha256(&weights).unwrap(), want);
        assert!(again.hashed().is_empty(), "an unchanged file is not read again");

        // Same size, new content: the stamp no longer matches.
        old_file(&weights, b"WEIGHTS");
        let mut changed = FileDigests::load(&out);
        assert_eq!(changed.sha256(&weights).unwrap(), crate::hash::sha256_hex(b"WEIGHTS"));
        assert_eq!(changed.hashed().len(), 1);
    }

    #[test]
    fn corrupt_or_foreign_entries_are_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let file = dir.path().join("vocab.json");
        old_file(&file, b"{}");
        let want = crate::hash::sha256_hex(b"{}");
        let lock = ShardLock::try_acquire(&out, None).unwrap();
        let mut digests = FileDigests::load(&out);
        digests.sha256(&file).unwrap();
        digests.save(&lock).unwrap();
        let key = file.canonicalize().unwrap().to_str().unwrap().to_string();
        let good = cache_json(&out);
        let cache_path = out.join(STATE_DIR).join(DIGEST_FILE);
        let fake = "0".repeat(64);
        let mut bad_hash = good.clone();
        bad_hash["files"][&key]["sha256"] = "not a hash".into();
        let mut other_inode = good.clone();
        other_inode["files"][&key]["sha256"] = fake.as_str().into();
        other_inode["files"][&key]["inode"] = (good["files"][&key]["inode"].as_u64().unwrap() + 1).into();
        let mut other_version = good.clone();
        other_version["version"] = 2.into();
        other_version["files"][&key]["sha256"] = fake.as_str().into();
        let mut missing_field = good.clone();
        missing_field["files"][&key].as_object_mut().unwrap().remove("ctime_ns");
        missing_field["files"][&key]["sha256"] = fake.as_str().into();
        for cache in [
            b"{\"version\": 1, \"files\": {\"".to_vec(),
            b"\xff\xfe".to_vec(),
            serde_json::to_vec(&bad_hash).unwrap(),
            serde_json::to_vec(&other_inode).unwrap(),
            serde_json::to_vec(&other_version).unwrap(),
            serde_json::to_vec(&missing_field).unwrap(),
        ] {
            std::fs::write(&cache_path, &cache).unwrap();
            let mut digests = FileDigests::load(&out);
            assert_eq!(digests.sha256(&file).unwrap(), want, "{}", String::from_utf8_lossy(&cache));
            assert_eq!(digests.hashed().len(), 1);
        }
    }

    #[test]
    fn files_changed_just_before_hashing_are_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, b"{}").unwrap();
        let lock = ShardLock::try_acquire(&out, None).unwrap();
        let mut digests = FileDigests::load(&out);
        digests.sha256(&file).unwrap();
        digests.save(&lock).unwrap();
        assert!(!out.join(STATE_DIR).join(DIGEST_FILE).exists(), "nothing worth recording");
        let mut again = FileDigests::load(&out);
        again.sha256(&file).unwrap();
        assert_eq!(again.hashed().len(), 1);
    }
}
