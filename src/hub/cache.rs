//! The hub cache, laid out as Python's `huggingface_hub` lays it out so that
//! both share downloads:
//!
//! ```text
//! HF_HUB_CACHE/models--OWNER--NAME/refs/REVISION          the commit a branch or tag points at
//! HF_HUB_CACHE/models--OWNER--NAME/blobs/ETAG             file contents, named by ETag
//! HF_HUB_CACHE/models--OWNER--NAME/blobs/ETAG.incomplete  a download under way or broken off
//! HF_HUB_CACHE/models--OWNER--NAME/snapshots/COMMIT/FILE  relative symlinks to blobs
//! HF_HUB_CACHE/models--OWNER--NAME/.no_exist/COMMIT/FILE  files known to be absent
//! HF_HUB_CACHE/.locks/models--OWNER--NAME/ETAG.lock       held while a blob is downloaded
//! ```
//!
//! Mirrors `try_to_load_from_cache` and `_hf_hub_download_to_cache_dir` in
//! <https://github.com/huggingface/huggingface_hub/blob/f7c9b7dfd5e5ee0eff8d936e17459771a578e47b/src/huggingface_hub/file_download.py>.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::HubError;

/// What the cache knows of a file at a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// The file, in its snapshot directory.
    File(PathBuf),
    /// The hub said the revision has no such file.
    Absent,
    /// Nothing is known.
    Unknown,
}

/// One repository's part of the cache.
#[derive(Debug, Clone)]
pub struct RepoCache {
    /// The whole cache (`HF_HUB_CACHE`).
    root: PathBuf,
    /// `models--OWNER--NAME`.
    folder: String,
}

impl RepoCache {
    /// The cache of model repository `repo` (`owner/name`) under `root`.
    pub fn new(root: &Path, repo: &str) -> RepoCache {
        RepoCache { root: root.to_path_buf(), folder: format!("models--{}", repo.replace('/', "--")) }
    }

    fn dir(&self) -> PathBuf {
        self.root.join(&self.folder)
    }

    /// The commit `revision` stands for: the one its ref names, or the
    /// revision itself when it is a commit hash.
    pub fn commit(&self, revision: &str) -> Option<String> {
        match std::fs::read_to_string(self.dir().join("refs").join(revision)) {
            Ok(text) if is_commit(text.trim()) => Some(text.trim().to_string()),
            _ if is_commit(revision) => Some(revision.to_string()),
            _ => None,
        }
    }

    /// What the cache holds of `file` at `revision`.
    pub fn lookup(&self, revision: &str, file: &str) -> Cached {
        let Some(commit) = self.commit(revision) else {
            return Cached::Unknown;
        };
        let path = self.snapshot(&commit).join(file);
        if path.is_file() {
            Cached::File(path)
        } else if self.dir().join(".no_exist").join(&commit).join(file).is_file() {
            Cached::Absent
        } else {
            Cached::Unknown
        }
    }

    /// The snapshot directory of a commit.
    pub fn snapshot(&self, commit: &str) -> PathBuf {
        self.dir().join("snapshots").join(commit)
    }

    /// Records that `revision` points at `commit` (nothing when the revision is that commit).
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<(), HubError> {
        if revision == commit {
            return Ok(());
        }
        let path = self.dir().join("refs").join(revision);
        write_atomic(&path, commit.as_bytes())
    }

    /// Records that the hub has no `file` at `commit`.
    pub fn mark_absent(&self, commit: &str, file: &str) -> Result<(), HubError> {
        let path = self.dir().join(".no_exist").join(commit).join(file);
        write_atomic(&path, b"")
    }

    /// Where the blob with this ETag lives once complete.
    pub fn blob(&self, etag: &str) -> PathBuf {
        self.dir().join("blobs").join(etag)
    }

    /// Where the blob with this ETag is downloaded to; a broken download stays there.
    pub fn incomplete(&self, etag: &str) -> PathBuf {
        self.dir().join("blobs").join(format!("{etag}.incomplete"))
    }

    /// Takes the lock of a blob, waiting while another process holds it. The
    /// lock is released when the returned file is closed.
    pub fn lock(&self, etag: &str) -> Result<File, HubError> {
        let path = self.root.join(".locks").join(&self.folder).join(format!("{etag}.lock"));
        create_parent(&path)?;
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(HubError::write(&path))?;
        file.lock().map_err(HubError::write(&path))?;
        Ok(file)
    }

    /// Puts `file` of `commit` in its snapshot as a link to the blob of `etag`;
    /// returns its path.
    pub fn link(&self, commit: &str, file: &str, etag: &str) -> Result<PathBuf, HubError> {
        let pointer = self.snapshot(commit).join(file);
        create_parent(&pointer)?;
        let temp = temp_beside(&pointer);
        // From snapshots/COMMIT/FILE back up to the repository folder.
        let mut target = PathBuf::from("..");
        for _ in Path::new(file).components() {
            target.push("..");
        }
        target.push("blobs");
        target.push(etag);
        place_link(&target, &self.blob(etag), &temp).map_err(HubError::write(&temp))?;
        std::fs::rename(&temp, &pointer).map_err(|error| {
            let _ = std::fs::remove_file(&temp);
            HubError::CacheWrite { path: pointer.clone(), error }
        })?;
        Ok(pointer)
    }
}

/// Whether `text` is a full commit hash (40 lowercase hex digits).
pub fn is_commit(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(unix)]
fn place_link(target: &Path, _blob: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// Without symbolic links the snapshot holds a copy, as `huggingface_hub` does.
#[cfg(not(unix))]
fn place_link(_target: &Path, blob: &Path, at: &Path) -> std::io::Result<()> {
    std::fs::copy(blob, at).map(|_| ())
}

fn create_parent(path: &Path) -> Result<(), HubError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(HubError::write(parent)),
        None => Ok(()),
    }
}

/// A name beside `path` that no other process or thread uses.
fn temp_beside(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!("{}{}.{n}.tmp", crate::atomic::beside_prefix(path), std::process::id()))
}

/// Writes `bytes` to `path` atomically.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    create_parent(path)?;
    crate::atomic::write(path, bytes).map_err(|error| HubError::CacheWrite { path: path.to_path_buf(), error })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn refs_with_slashes_resolve_to_their_commit_and_commits_stand_for_themselves() {
        let root = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(root.path(), "Helsinki-NLP/opus-mt-ar-en");
        assert_eq!(cache.commit("refs/pr/4"), None);
        cache.write_ref("refs/pr/4", COMMIT).unwrap();
        assert_eq!(cache.commit("refs/pr/4").as_deref(), Some(COMMIT));
        assert!(root.path().join("models--Helsinki-NLP--opus-mt-ar-en/refs/refs/pr/4").is_file());
        assert_eq!(cache.commit(COMMIT).as_deref(), Some(COMMIT));
        assert_eq!(cache.lookup("refs/pr/4", "config.json"), Cached::Unknown);
        cache.mark_absent(COMMIT, "model.safetensors").unwrap();
        assert_eq!(cache.lookup("refs/pr/4", "model.safetensors"), Cached::Absent);
    }

    #[cfg(unix)]
    #[test]
    fn snapshot_files_are_relative_links_to_blobs() {
        let root = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(root.path(), "o/n");
        std::fs::create_dir_all(cache.blob("e").parent().unwrap()).unwrap();
        std::fs::write(cache.blob("e"), b"{}").unwrap();
        let path = cache.link(COMMIT, "config.json", "e").unwrap();
        assert_eq!(std::fs::read_link(&path).unwrap(), Path::new("../../blobs/e"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert_eq!(cache.lookup(COMMIT, "config.json"), Cached::File(path));
    }
}
