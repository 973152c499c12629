//! A small server of the Hugging Face hub's file protocol, for the tests and
//! `.ci/run`: it serves `ROOT/OWNER/NAME/REVISION/FILE` (a revision may hold
//! slashes, as `refs/pr/4` does; files lie directly in it) on 127.0.0.1 as
//! the hub serves repositories, so that `tarjim` reaches it through
//! `HF_ENDPOINT`:
//!
//! - `HEAD`/`GET /OWNER/NAME/resolve/REVISION/FILE` (the revision
//!   URL-encoded, or a commit hash) answers with `X-Repo-Commit` and an
//!   `ETag`; large files (by extension, as the hub's default `.gitattributes`
//!   puts them in LFS) are a `302` to an absolute URL of this server standing
//!   for the hub's CDN, with `X-Linked-Etag` (their SHA-256) and
//!   `X-Linked-Size`;
//! - `Range: bytes=START-[END]` is answered `206` with `Content-Range`;
//! - a missing file is `404` with `X-Error-Code: EntryNotFound`, a missing
//!   revision `404 RevisionNotFound`, a missing repository `RepoNotFound`
//!   (`401` without a token, `404` with one, as the hub answers), and
//!   without the token a server was started with, `401 GatedRepo`;
//! - `ROOT/OWNER/OLD` as a symbolic link to `NEW` is a renamed repository:
//!   a `307` to the relative `/OWNER/NEW/resolve/…`.
//!
//! Faults for the tests: drop the connection after some bytes of a large
//! file, announce a wrong SHA-256, answer ranges with the whole file.
//!
//! The commit of a revision is made up from its name and its files' names
//! and sizes (the hub's is a git commit). Mirrors the server side that
//! `get_hf_file_metadata` and `hf_raise_for_status` read in
//! <https://github.com/huggingface/huggingface_hub/blob/f7c9b7dfd5e5ee0eff8d936e17459771a578e47b/src/huggingface_hub/file_download.py>.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// Extensions the hub's default `.gitattributes` stores in LFS (those the
/// Marian repositories hold).
const LFS: [&str; 6] = ["bin", "safetensors", "h5", "ot", "msgpack", "model"];

/// What to serve and which faults to show.
pub struct Options {
    /// `ROOT/OWNER/NAME/REVISION/FILE`.
    pub root: PathBuf,
    /// Every repository is gated: `resolve` needs `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// Close the connection after this many bytes of a large file's content.
    pub drop_after: Option<u64>,
    /// Announce a SHA-256 that large files do not have.
    pub wrong_hash: bool,
    /// Answer `Range` requests with `200` and the whole file.
    pub ignore_range: bool,
    /// Told of every request answered, once its answer is sent (so answers to
    /// requests in flight together may be told in any order: [`Served::order`]
    /// gives the order they came in).
    pub on_request: Box<dyn Fn(&Served) + Send + Sync>,
}

/// One request answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// Its place among the requests, counted from 0 as each is read: a client
    /// that waits for each answer before its next request is served in
    /// this order.
    pub order: u64,
    /// `GET` or `HEAD`.
    pub method: String,
    /// The request target, as sent.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The `Range` header, when sent.
    pub range: Option<String>,
    /// The `Authorization` header, when sent.
    pub authorization: Option<String>,
    /// Body bytes sent.
    pub bytes: u64,
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} range={} authorization={} {} bytes",
            self.method,
            self.path,
            self.status,
            self.range.as_deref().unwrap_or("-"),
            if self.authorization.is_some() { "yes" } else { "no" },
            self.bytes
        )
    }
}

/// A running server; dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

struct Shared {
    options: Options,
    base: String,
    /// SHA-256 of files by path, size and modification time.
    hashes: Mutex<HashMap<(PathBuf, u64, std::time::SystemTime), String>>,
    /// Requests read so far.
    requests: AtomicU64,
}

impl Server {
    /// Starts serving on a free port of 127.0.0.1.
    pub fn start(options: Options) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            options,
            base: format!("http://{addr}"),
            hashes: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        });
        let serving = Arc::clone(&shared);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&serving);
                std::thread::spawn(move || handle(stream, &shared));
            }
        });
        Ok(Server { addr, stop, thread: Some(thread), shared })
    }

    /// How many requests have been read so far (each is told to
    /// `on_request` once its answer is sent).
    pub fn requests_read(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:PORT`, the value for `HF_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A parsed request head.
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// An answer: status, headers and body (a file region or bytes).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    Bytes(Vec<u8>),
    File { path: PathBuf, start: u64, len: u64, drop_after: Option<u64> },
}

impl Answer {
    fn new(status: u16) -> Answer {
        Answer { status, headers: Vec::new(), body: Body::Bytes(Vec::new()) }
    }

    fn header(mut self, name: &str, value: impl fmt::Display) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn error(status: u16, code: &str, message: &str) -> Answer {
        let body = format!("{{\"error\":\"{message}\"}}");
        Answer { status, headers: Vec::new(), body: Body::Bytes(body.into_bytes()) }
            .header("X-Error-Code", code)
            .header("X-Error-Message", message)
            .header("Content-Type", "application/json")
    }
}

fn handle(stream: TcpStream, shared: &Shared) {
    let Ok(reader) = stream.try_clone() else { return };
    let Some(request) = read_request(&mut BufReader::new(reader)) else { return };
    let order = shared.requests.fetch_add(1, Ordering::SeqCst);
    let answer = route(&request, shared);
    let status = answer.status;
    let bytes = send(stream, &request, answer).unwrap_or(0);
    let served = Served {
        order,
        method: request.method.clone(),
        path: request.path.clone(),
        status,
        range: request.header("Range").map(str::to_string),
        authorization: request.header("Authorization").map(str::to_string),
        bytes,
    };
    (shared.options.on_request)(&served);
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    Some(Request { method, path, headers })
}

/// Writes the answer; returns the body bytes sent.
fn send(mut stream: TcpStream, request: &Request, answer: Answer) -> std::io::Result<u64> {
    let status = answer.status;
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Error",
    };
    let len = match &answer.body {
        Body::Bytes(bytes) => bytes.len() as u64,
        Body::File { len, .. } => *len,
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {len}\r\nConnection: close\r\n\r\n"));
    stream.write_all(head.as_bytes())?;
    if request.method == "HEAD" {
        return Ok(0);
    }
    match answer.body {
        Body::Bytes(bytes) => {
            stream.write_all(&bytes)?;
            Ok(bytes.len() as u64)
        }
        Body::File { path, start, len, drop_after } => {
            let mut file = std::fs::File::open(path)?;
            std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start))?;
            let limit = drop_after.map_or(len, |n| n.min(len));
            let sent = std::io::copy(&mut file.take(limit), &mut stream)?;
            stream.flush()?;
            Ok(sent)
        }
    }
}

fn route(request: &Request, shared: &Shared) -> Answer {
    if request.method != "GET" && request.method != "HEAD" {
        return Answer::new(405);
    }
    let path = request.path.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, name, "resolve", revision, file @ ..] if !file.is_empty() => {
            resolve(request, shared, owner, name, revision, &file.join("/"))
        }
        ["lfs", owner, name, commit, file @ ..] if !file.is_empty() => {
            lfs(request, shared, owner, name, commit, &file.join("/"))
        }
        _ => Answer::error(404, "NotFound", "Not found"),
    }
}

fn resolve(request: &Request, shared: &Shared, owner: &str, name: &str, revision: &str, file: &str) -> Answer {
    let options = &shared.options;
    let repo = options.root.join(owner).join(name);
    if !plain(owner) || !plain(name) {
        return Answer::error(404, "RepoNotFound", "Repository not found");
    }
    if let Ok(target) = std::fs::read_link(&repo)
        && let Some(new_name) = target.to_str().filter(|t| plain(t))
    {
        return Answer::new(307).header("Location", format!("/{owner}/{new_name}/resolve/{revision}/{file}"));
    }
    if let Some(token) = &options.token
        && request.header("Authorization") != Some(&format!("Bearer {token}"))
    {
        return Answer::error(
            401,
            "GatedRepo",
            &format!(
                "Access to model {owner}/{name} is restricted. You must have access to it and be authenticated to access it. Please log in."
            ),
        );
    }
    if !repo.is_dir() {
        let status = if request.header("Authorization").is_some() { 404 } else { 401 };
        return Answer::error(status, "RepoNotFound", "Repository not found");
    }
    let Some((dir, commit)) = revision_dir(&repo, &decode(revision)) else {
        return Answer::error(404, "RevisionNotFound", &format!("Invalid rev id: {}", decode(revision)));
    };
    let file = decode(file);
    let path = dir.join(&file);
    if !plain_path(&file) || !path.is_file() {
        return Answer::error(404, "EntryNotFound", "Entry not found").header("X-Repo-Commit", &commit);
    }
    let Ok(len) = std::fs::metadata(&path).map(|m| m.len()) else {
        return Answer::error(500, "Internal", "cannot read the file");
    };
    let extension = Path::new(&file).extension().and_then(|e| e.to_str()).unwrap_or_default();
    if LFS.contains(&extension) {
        let Some(sha) = shared.sha256(&path) else {
            return Answer::error(500, "Internal", "cannot read the file");
        };
        let announced = if options.wrong_hash { hex(&Sha256::digest(sha.as_bytes())) } else { sha };
        let location = format!("{}/lfs/{owner}/{name}/{commit}/{file}", shared.base);
        let body = format!("Found. Redirecting to {location}");
        return Answer { status: 302, headers: Vec::new(), body: Body::Bytes(body.into_bytes()) }
            .header("Location", location)
            .header("X-Repo-Commit", &commit)
            .header("X-Linked-Etag", format!("\"{announced}\""))
            .header("X-Linked-Size", len)
            .header("ETag", format!("\"{}\"", git_id(&path, len)));
    }
    ranged(request, options, &path, len, None)
        .header("X-Repo-Commit", &commit)
        .header("ETag", format!("\"{}\"", git_id(&path, len)))
}

fn lfs(request: &Request, shared: &Shared, owner: &str, name: &str, commit: &str, file: &str) -> Answer {
    let repo = shared.options.root.join(owner).join(name);
    let file = decode(file);
    let found = (plain(owner) && plain(name) && plain_path(&file))
        .then(|| revision_dir(&repo, commit))
        .flatten()
        .map(|(dir, _)| dir.join(&file))
        .filter(|path| path.is_file());
    let Some(path) = found else {
        return Answer::error(404, "NotFound", "Not found");
    };
    let Ok(len) = std::fs::metadata(&path).map(|m| m.len()) else {
        return Answer::error(500, "Internal", "cannot read the file");
    };
    let etag = shared.sha256(&path).unwrap_or_default();
    ranged(request, &shared.options, &path, len, shared.options.drop_after)
        .header("ETag", format!("\"{etag}\""))
        .header("Content-Type", "application/octet-stream")
}

/// The file's content, or the part a `Range: bytes=START-[END]` asks for.
fn ranged(request: &Request, options: &Options, path: &Path, len: u64, drop_after: Option<u64>) -> Answer {
    let whole = Answer {
        status: 200,
        headers: vec![("Accept-Ranges".to_string(), "bytes".to_string())],
        body: Body::File { path: path.to_path_buf(), start: 0, len, drop_after },
    };
    let Some(range) = request.header("Range").filter(|_| !options.ignore_range) else {
        return whole;
    };
    let Some((start, end)) = range.trim().strip_prefix("bytes=").and_then(|r| r.split_once('-')) else {
        return whole;
    };
    let Ok(start) = start.trim().parse::<u64>() else {
        return whole;
    };
    let end = match end.trim() {
        "" => len.saturating_sub(1),
        end => match end.parse::<u64>() {
            Ok(end) => end.min(len.saturating_sub(1)),
            Err(_) => return whole,
        },
    };
    if start >= len || end < start {
        return Answer::new(416).header("Content-Range", format!("bytes */{len}"));
    }
    Answer {
        status: 206,
        headers: vec![("Content-Range".to_string(), format!("bytes {start}-{end}/{len}"))],
        body: Body::File { path: path.to_path_buf(), start, len: end - start + 1, drop_after },
    }
}

/// The directory of a revision name or commit hash, and its commit.
fn revision_dir(repo: &Path, revision: &str) -> Option<(PathBuf, String)> {
    if plain_path(revision) {
        let dir = repo.join(revision);
        if let Some(commit) = commit_of(&dir, revision) {
            return Some((dir, commit));
        }
    }
    revisions(repo, repo).into_iter().find(|(_, commit)| commit == revision)
}

/// Every revision directory under `dir` (one that holds files), with its commit.
fn revisions(repo: &Path, dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    if let Some(name) = dir.strip_prefix(repo).ok().and_then(|p| p.to_str())
        && let Some(commit) = commit_of(dir, name)
    {
        found.push((dir.to_path_buf(), commit));
    }
    for entry in entries.iter().filter(|e| e.is_dir()) {
        found.extend(revisions(repo, entry));
    }
    found
}

/// A commit hash for the revision `name` in `dir`, from its name and its
/// files' names and sizes; `None` when it holds no files.
fn commit_of(dir: &Path, name: &str) -> Option<String> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            Some((e.file_name().to_string_lossy().into_owned(), meta.len()))
        })
        .collect();
    if files.is_empty() || name.is_empty() {
        return None;
    }
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    for (file, len) in files {
        hasher.update(format!("\n{file} {len}").as_bytes());
    }
    Some(hex(&hasher.finalize())[..40].to_string())
}

impl Shared {
    fn sha256(&self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let key = (path.to_path_buf(), meta.len(), meta.modified().ok()?);
        if let Some(sha) = self.hashes.lock().ok()?.get(&key) {
            return Some(sha.clone());
        }
        let sha = hex(&Sha256::digest(std::fs::read(path).ok()?));
        self.hashes.lock().ok()?.insert(key, sha.clone());
        Some(sha)
    }
}

/// A 40-hex id of a small file's content, standing for the git blob id the
/// hub sends as its ETag.
fn git_id(path: &Path, len: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("blob {len}\0").as_bytes());
    hasher.update(std::fs::read(path).unwrap_or_default());
    hex(&hasher.finalize())[..40].to_string()
}

fn plain(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
}

fn plain_path(path: &str) -> bool {
    !path.is_empty() && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_digit = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
