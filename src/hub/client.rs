//! Requests to the hub's file protocol, written here on `ureq` (the `hf-hub`
//! crate neither resumes across runs safely, verifies downloads nor tells its
//! errors apart): a `HEAD` on `ENDPOINT/OWNER/NAME/resolve/REVISION/FILE`
//! gives the commit (`X-Repo-Commit`), the ETag (`X-Linked-Etag` for large
//! files, the SHA-256 of their content, else `ETag`), the size
//! (`X-Linked-Size` or `Content-Length`) and, for large files, where to
//! download them (`Location`); relative redirects (a renamed repository) are
//! followed, absolute ones (a CDN) are where the `GET` goes, without the token
//! when the host differs. Mirrors `get_hf_file_metadata`,
//! `_get_metadata_or_catch_error` and `http_get` in
//! <https://github.com/huggingface/huggingface_hub/blob/f7c9b7dfd5e5ee0eff8d936e17459771a578e47b/src/huggingface_hub/file_download.py>
//! and the error classes of `hf_raise_for_status` in
//! <https://github.com/huggingface/huggingface_hub/blob/01dd37b82d5a00b2f44932e49e37ae7afdf2c1d6/src/huggingface_hub/utils/_http.py#L440-L520>.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::cache::{RepoCache, is_commit};
use super::{Event, HubError};

/// Redirects followed before giving up (the hub needs one at most).
const MAX_REDIRECTS: usize = 10;
/// Bytes read from the network at a time.
const CHUNK: usize = 1 << 16;

/// A client of one hub endpoint.
pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    token: Option<String>,
}

/// What the hub said of a file.
pub enum Outcome {
    /// The file, in the cache's snapshot of `commit`.
    File(PathBuf),
    /// The revision has no such file.
    Absent,
}

/// One file fetched: what came of it and the commit the hub resolved.
pub struct Fetched {
    /// The file or its absence.
    pub outcome: Outcome,
    /// The commit the revision points at, when the hub said.
    pub commit: Option<String>,
}

/// What one request is about, for error messages.
pub struct Target<'a> {
    /// Repository id.
    pub repo: &'a str,
    /// The revision the user asked for.
    pub revision: &'a str,
    /// The revision put in URLs (the resolved commit once known).
    pub url_revision: &'a str,
    /// The file.
    pub file: &'a str,
}

/// The file facts a `HEAD` gives.
struct Metadata {
    commit: String,
    etag: String,
    size: u64,
    /// Where to `GET` the content.
    location: String,
}

impl Client {
    /// A client of `endpoint` (no trailing slash) sending `token` when given.
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Client, HubError> {
        let mut builder = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(60))
            .user_agent(concat!("tarjim/", env!("CARGO_PKG_VERSION"), "; rust"));
        if let Some((var, proxy)) = proxy_for(endpoint) {
            let proxy = ureq::Proxy::new(&proxy).map_err(|e| HubError::Protocol {
                url: proxy.clone(),
                problem: format!("invalid proxy in {var}: {e}"),
            })?;
            builder = builder.proxy(proxy);
        }
        Ok(Client { agent: builder.build(), endpoint: endpoint.to_string(), token })
    }

    /// The URL of a file at a revision; the revision is URL-encoded
    /// (`refs/pr/4` → `refs%2Fpr%2F4`), as `hf_hub_url` does.
    pub fn url(&self, repo: &str, revision: &str, file: &str) -> String {
        format!("{}/{repo}/resolve/{}/{file}", self.endpoint, encode(revision))
    }

    /// Fetches one file into the cache (or finds it there by its ETag).
    pub fn fetch(
        &self,
        cache: &RepoCache,
        target: &Target,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Fetched, HubError> {
        let url = self.url(target.repo, target.url_revision, target.file);
        let meta = match self.head(&url, target)? {
            Ok(meta) => meta,
            Err(commit) => {
                if let Some(commit) = &commit {
                    cache.mark_absent(commit, target.file)?;
                    cache.write_ref(target.revision, commit)?;
                }
                return Ok(Fetched { outcome: Outcome::Absent, commit });
            }
        };
        cache.write_ref(target.revision, &meta.commit)?;
        let pointer = cache.snapshot(&meta.commit).join(target.file);
        if pointer.is_file() {
            return Ok(Fetched { outcome: Outcome::File(pointer), commit: Some(meta.commit) });
        }
        let blob = cache.blob(&meta.etag);
        if let Some(parent) = blob.parent() {
            std::fs::create_dir_all(parent).map_err(HubError::write(parent))?;
        }
        // Held until the blob is in place: a second run waits, then finds it.
        let lock = cache.lock(&meta.etag)?;
        if !blob.is_file() {
            self.download(cache, target, &meta, &url, on_event)?;
        }
        drop(lock);
        let path = cache.link(&meta.commit, target.file, &meta.etag)?;
        Ok(Fetched { outcome: Outcome::File(path), commit: Some(meta.commit) })
    }

    /// The file's metadata, or `Err(commit)` when the revision has no such
    /// file (`404` with `X-Error-Code: EntryNotFound`).
    fn head(&self, url: &str, target: &Target) -> Result<Result<Metadata, Option<String>>, HubError> {
        let mut url = url.to_string();
        for _ in 0..MAX_REDIRECTS {
            let mut request = self.agent.head(&url).set("Accept-Encoding", "identity");
            if let Some(token) = &self.token {
                request = request.set("Authorization", &format!("Bearer {token}"));
            }
            let response = match request.call() {
                Ok(response) => response,
                Err(ureq::Error::Status(404, response)) if response.header("X-Error-Code") == Some("EntryNotFound") => {
                    let commit = response.header("X-Repo-Commit").filter(|c| is_commit(c)).map(str::to_string);
                    return Ok(Err(commit));
                }
                Err(ureq::Error::Status(status, response)) => return Err(self.refused(target, &url, status, &response)),
                Err(ureq::Error::Transport(error)) => return Err(unreachable(&url, &error)),
            };
            let location = response.header("Location").map(str::to_string);
            if (300..400).contains(&response.status())
                && let Some(location) = location.as_deref().filter(|l| l.starts_with('/'))
            {
                url = format!("{}{location}", origin(&url));
                continue;
            }
            return Ok(Ok(metadata(&url, &response)?));
        }
        Err(HubError::Protocol { url, problem: format!("more than {MAX_REDIRECTS} redirects") })
    }

    /// The error an HTTP status other than `EntryNotFound` stands for.
    fn refused(&self, target: &Target, url: &str, status: u16, response: &ureq::Response) -> HubError {
        let repo = target.repo.to_string();
        let endpoint = self.endpoint.clone();
        match response.header("X-Error-Code") {
            Some("RevisionNotFound") => {
                HubError::RevisionNotFound { repo, revision: target.revision.to_string(), endpoint }
            }
            Some("GatedRepo") => HubError::Gated { repo, endpoint },
            Some("RepoNotFound") => HubError::RepoNotFound { repo, endpoint },
            _ if status == 401 || status == 403 => HubError::Unauthorized {
                repo,
                url: url.to_string(),
                status,
                message: response.header("X-Error-Message").map(|m| format!(": {m}")).unwrap_or_default(),
            },
            _ => HubError::Protocol {
                url: url.to_string(),
                problem: format!(
                    "HTTP {status} {}{}",
                    response.status_text(),
                    response.header("X-Error-Message").map(|m| format!(": {m}")).unwrap_or_default()
                ),
            },
        }
    }

    /// Downloads the blob of `meta` into its `.incomplete` file, resuming a
    /// part a broken download left, checks its size and (for an ETag that is
    /// a SHA-256) its hash, and renames it into place. A part that cannot be
    /// resumed is started over; a file with the wrong hash is deleted.
    fn download(
        &self,
        cache: &RepoCache,
        target: &Target,
        meta: &Metadata,
        url: &str,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), HubError> {
        let path = cache.incomplete(&meta.etag);
        let write = HubError::write(&path);
        let mut part = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(HubError::write(&path))?;
        let mut have = part.metadata().map_err(HubError::write(&path))?.len();
        if have > meta.size {
            have = 0;
            part.set_len(0).map_err(HubError::write(&path))?;
        }
        let mut hasher = Sha256::new();
        hash_prefix(&mut part, have, &mut hasher).map_err(HubError::write(&path))?;

        let mut done = have;
        if have < meta.size {
            let response = self.get(&meta.location, url, have, target)?;
            let resumed = response.status() == 206;
            if resumed {
                let start = content_range_start(&response);
                if start != Some(have) {
                    return Err(HubError::Protocol {
                        url: meta.location.clone(),
                        problem: format!(
                            "answered a request for bytes from {have} with Content-Range {}",
                            response.header("Content-Range").unwrap_or("(none)")
                        ),
                    });
                }
            } else if have > 0 {
                // The whole file came back: start over.
                part.set_len(0).map_err(HubError::write(&path))?;
                part.seek(SeekFrom::Start(0)).map_err(HubError::write(&path))?;
                hasher = Sha256::new();
                done = 0;
            }
            on_event(Event::Started { file: target.file.to_string(), done, total: meta.size });
            let mut reader = response.into_reader();
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(interrupted(&meta.location, done, meta.size, &e.to_string())),
                };
                if done + n as u64 > meta.size {
                    drop(part);
                    let _ = std::fs::remove_file(&path);
                    return Err(HubError::Protocol {
                        url: meta.location.clone(),
                        problem: format!("sent more than the {} bytes announced; the download was deleted", meta.size),
                    });
                }
                part.write_all(&buf[..n]).map_err(HubError::write(&path))?;
                hasher.update(&buf[..n]);
                done += n as u64;
                on_event(Event::Progress { file: target.file.to_string(), done, total: meta.size });
            }
            if done < meta.size {
                return Err(interrupted(&meta.location, done, meta.size, "connection closed"));
            }
        } else {
            on_event(Event::Started { file: target.file.to_string(), done, total: meta.size });
        }
        part.flush().map_err(write)?;
        drop(part);
        if is_sha256(&meta.etag) {
            let actual = crate::hash::hex(&hasher.finalize());
            if actual != meta.etag {
                let _ = std::fs::remove_file(&path);
                return Err(HubError::HashMismatch {
                    repo: target.repo.to_string(),
                    revision: target.revision.to_string(),
                    file: target.file.to_string(),
                    expected: meta.etag.clone(),
                    actual,
                });
            }
        }
        let blob = cache.blob(&meta.etag);
        std::fs::rename(&path, &blob).map_err(HubError::write(&blob))?;
        on_event(Event::Finished { file: target.file.to_string(), total: meta.size });
        Ok(())
    }

    /// `GET location`, from byte `from` on; the token goes along only to the
    /// hub's own host (`resolve_url` is the URL the location came from).
    fn get(&self, location: &str, resolve_url: &str, from: u64, target: &Target) -> Result<ureq::Response, HubError> {
        let mut request = self.agent.get(location).set("Accept-Encoding", "identity");
        if from > 0 {
            request = request.set("Range", &format!("bytes={from}-"));
        }
        if let Some(token) = &self.token
            && origin(location) == origin(resolve_url)
        {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        match request.call() {
            Ok(response) if matches!(response.status(), 200 | 206) => Ok(response),
            Ok(response) => Err(HubError::Protocol {
                url: location.to_string(),
                problem: format!("HTTP {} {} where the file was expected", response.status(), response.status_text()),
            }),
            Err(ureq::Error::Status(status, response)) => Err(self.refused(target, location, status, &response)),
            Err(ureq::Error::Transport(error)) => Err(unreachable(location, &error)),
        }
    }
}

/// The metadata in a `HEAD` answer.
fn metadata(url: &str, response: &ureq::Response) -> Result<Metadata, HubError> {
    let missing = |header: &str| HubError::Protocol {
        url: url.to_string(),
        problem: format!("no {header} header: this is not a hub file endpoint (check HF_ENDPOINT)"),
    };
    let commit = response.header("X-Repo-Commit").ok_or_else(|| missing("X-Repo-Commit"))?;
    let etag = response.header("X-Linked-Etag").or_else(|| response.header("ETag")).ok_or_else(|| missing("ETag"))?;
    let etag = etag.trim().trim_start_matches("W/").trim_matches('"').to_string();
    let size = response
        .header("X-Linked-Size")
        .or_else(|| response.header("Content-Length"))
        .ok_or_else(|| missing("Content-Length"))?;
    let bad = |problem: String| HubError::Protocol { url: url.to_string(), problem };
    let size: u64 = size.trim().parse().map_err(|_| bad(format!("invalid file size `{size}`")))?;
    // The ETag names a cache file: it must be a plain name.
    if etag.is_empty() || !etag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(bad(format!("invalid ETag `{etag}`")));
    }
    if !is_commit(commit) {
        return Err(bad(format!("invalid X-Repo-Commit `{commit}`")));
    }
    let location = match response.header("Location") {
        Some(location) if (300..400).contains(&response.status()) => location.to_string(),
        _ => url.to_string(),
    };
    Ok(Metadata { commit: commit.to_string(), etag, size, location })
}

/// Feeds the first `len` bytes of `file` to `hasher`, leaving the file's
/// position at `len`.
fn hash_prefix(file: &mut File, len: u64, hasher: &mut Sha256) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut left = len;
    let mut buf = vec![0u8; CHUNK];
    while left > 0 {
        let want = left.min(CHUNK as u64) as usize;
        file.read_exact(&mut buf[..want])?;
        hasher.update(&buf[..want]);
        left -= want as u64;
    }
    file.seek(SeekFrom::Start(len))?;
    Ok(())
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` answer.
fn content_range_start(response: &ureq::Response) -> Option<u64> {
    let range = response.header("Content-Range")?.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

fn interrupted(url: &str, done: u64, total: u64, reason: &str) -> HubError {
    HubError::Interrupted { url: url.to_string(), done, total, reason: reason.to_string() }
}

/// A connection that could not be made, said briefly: the operating
/// system's words where there are some.
fn unreachable(url: &str, error: &ureq::Transport) -> HubError {
    let reason = match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => match error.message() {
            Some(message) => format!("{}: {message}", error.kind()),
            None => error.kind().to_string(),
        },
    };
    HubError::Unreachable { url: url.to_string(), reason }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Percent-encodes everything but unreserved characters, as Python's
/// `quote(revision, safe="")`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_sha256(etag: &str) -> bool {
    etag.len() == 64 && etag.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The proxy the environment names for `endpoint` (`HTTPS_PROXY` or
/// `HTTP_PROXY` by scheme, then `ALL_PROXY`, lowercase names too), unless
/// `NO_PROXY` lists its host.
fn proxy_for(endpoint: &str) -> Option<(String, String)> {
    let var = |name: &str| {
        [name.to_string(), name.to_ascii_lowercase()]
            .into_iter()
            .find_map(|n| std::env::var(&n).ok().filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    };
    let host = origin(endpoint).split("://").nth(1).unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_matches(['[', ']']);
    if let Some((_, list)) = var("NO_PROXY")
        && list.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.');
            entry == "*" || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
        })
    {
        return None;
    }
    let scheme = if endpoint.starts_with("https://") { "HTTPS_PROXY" } else { "HTTP_PROXY" };
    var(scheme).or_else(|| var("ALL_PROXY"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_encoded_as_huggingface_hub_quotes_them() {
        assert_eq!(encode("refs/pr/4"), "refs%2Fpr%2F4");
        assert_eq!(encode("main"), "main");
        assert_eq!(encode("v1.0_a-b~"), "v1.0_a-b~");
        let client = Client::new("http://127.0.0.1:9", None).unwrap();
        assert_eq!(
            client.url("Helsinki-NLP/opus-mt-ar-en", "refs/pr/4", "config.json"),
            "http://127.0.0.1:9/Helsinki-NLP/opus-mt-ar-en/resolve/refs%2Fpr%2F4/config.json"
        );
    }

    #[test]
    fn origins_keep_scheme_host_and_port() {
        assert_eq!(origin("https://huggingface.co/a/b/resolve/main/x"), "https://huggingface.co");
        assert_eq!(origin("http://127.0.0.1:8080/lfs/x"), "http://127.0.0.1:8080");
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
