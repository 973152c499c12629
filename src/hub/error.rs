//! What can go wrong while finding, fetching or checking a model. Each
//! message is one line that says what to do about it.

use std::path::PathBuf;

/// What can go wrong while finding, fetching or checking a model.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Neither a directory nor a repository id.
    #[error("model `{0}` is neither a directory nor a hub repository id (owner/name[@revision])")]
    BadSpec(String),
    /// A file the model needs is missing from a local directory.
    #[error("{dir}: missing model file `{file}`")]
    Missing {
        /// The model directory.
        dir: PathBuf,
        /// The missing file.
        file: String,
    },
    /// No hub cache directory can be found.
    #[error("no hub cache directory: set HF_HOME (or HOME)")]
    NoCacheDir,
    /// A file is not in the local cache and the hub may not be asked.
    #[error(
        "{repo}@{revision}: `{file}` is not in the hub cache {cache} and offline mode is on (--offline or HF_HUB_OFFLINE); run once online to fill the cache, or use --model DIR"
    )]
    NotCached {
        /// Repository id.
        repo: String,
        /// Revision asked for.
        revision: String,
        /// The missing file (or the weight files, joined by ` or `).
        file: String,
        /// The cache directory searched.
        cache: PathBuf,
    },
    /// The hub cannot be reached at all (no network, connection refused, DNS).
    #[error("cannot reach {url}: {reason} — use --model DIR, or run once online to fill the cache, then --offline")]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The repository does not exist (or is private and no valid token was sent).
    #[error(
        "{repo}: repository not found on {endpoint}; check the name, or set HF_TOKEN to a token that can read it if it is private"
    )]
    RepoNotFound {
        /// Repository id.
        repo: String,
        /// The hub asked.
        endpoint: String,
    },
    /// The repository is gated and the request was not authorized.
    #[error(
        "{repo} is gated on {endpoint}: accept its licence at {endpoint}/{repo} and set HF_TOKEN to a token of that account"
    )]
    Gated {
        /// Repository id.
        repo: String,
        /// The hub asked.
        endpoint: String,
    },
    /// The hub refused the request (401 or 403 without a more precise cause).
    #[error("{url}: access refused (HTTP {status}{message}); set HF_TOKEN to a token that can read {repo}")]
    Unauthorized {
        /// Repository id.
        repo: String,
        /// The URL asked for.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The hub's message, as `: MESSAGE`, or empty.
        message: String,
    },
    /// The repository has no such revision.
    #[error("{repo}: no revision `{revision}` on {endpoint}")]
    RevisionNotFound {
        /// Repository id.
        repo: String,
        /// Revision asked for.
        revision: String,
        /// The hub asked.
        endpoint: String,
    },
    /// The revision has no such file.
    #[error("{repo}@{revision} has no file `{file}`")]
    EntryNotFound {
        /// Repository id.
        repo: String,
        /// Revision asked for.
        revision: String,
        /// The missing file (or the weight files, joined by ` or `).
        file: String,
    },
    /// The hub answered in a way this client cannot use.
    #[error("{url}: {problem}")]
    Protocol {
        /// The URL asked for.
        url: String,
        /// What is wrong with the answer.
        problem: String,
    },
    /// A download broke off; the part received is kept and the next run resumes it.
    #[error("{url}: download broke off at {done} of {total} bytes ({reason}); run again to resume")]
    Interrupted {
        /// The URL downloaded.
        url: String,
        /// Bytes received, counting a resumed part.
        done: u64,
        /// Bytes announced.
        total: u64,
        /// What the connection said.
        reason: String,
    },
    /// A downloaded file does not have the SHA-256 the hub announced; it was deleted.
    #[error(
        "{repo}@{revision}: `{file}` has SHA-256 {actual} but the hub announced {expected}; the download was deleted, run again"
    )]
    HashMismatch {
        /// Repository id.
        repo: String,
        /// Revision asked for.
        revision: String,
        /// The file.
        file: String,
        /// The hash the hub announced (its ETag).
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// A file's hash differs from the manifest's.
    #[error("{path}: SHA-256 {actual} does not match the manifest's {expected} (truncated or altered file)")]
    Checksum {
        /// The file checked.
        path: PathBuf,
        /// The manifest's hash.
        expected: String,
        /// The file's hash.
        actual: String,
    },
    /// The manifest itself is unreadable.
    #[error("{path}: invalid model manifest: {reason}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
    /// The hub cache could not be written.
    #[error("{path}: cannot write to the hub cache: {error}")]
    CacheWrite {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
}

impl HubError {
    /// A failed write into the hub cache at `path`.
    pub(crate) fn write(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
        move |error| HubError::CacheWrite { path: path.to_path_buf(), error }
    }
}
