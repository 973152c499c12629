//! Finding and reading the documents of a job's inputs.
//!
//! Only regular files are read: a FIFO, socket or device in an input tree is
//! skipped without being opened, and every file is opened without blocking and
//! checked again once open. Symbolic links are followed; a directory or file
//! reached a second time (a link back to an ancestor, two links to one target)
//! is taken once. What is skipped, and every bad line of a JSON-lines input,
//! becomes a [`Notice`]; the rest of the inputs are still taken.

use std::collections::HashMap;
use std::fmt;
use std::fs::FileType;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{BatchError, Document, OutputFormat, Source, io, output_path, safe_relative_path, shard_of};

/// The documents of a job's inputs, and what was skipped on the way.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The documents, in input order (directories in byte order of paths).
    pub documents: Vec<Document>,
    /// What was skipped, and why, in the order found.
    pub notices: Vec<Notice>,
}

/// An input path, or a line of one, that was skipped, or read with a warning
/// (a byte-order mark).
#[derive(Debug)]
pub struct Notice {
    /// The path, as reached from the inputs.
    pub path: PathBuf,
    /// 1-based line of a JSON-lines input.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: InputProblem,
}

impl Notice {
    /// Whether a document may have been lost: an entry that could not be
    /// examined or listed, a bad JSON-lines line, or a document whose output
    /// an earlier one takes. Special files, links to nothing or to what is
    /// already taken, and a byte-order mark lose nothing.
    pub fn is_failure(&self) -> bool {
        !matches!(
            self.problem,
            InputProblem::NotRegular(_)
                | InputProblem::SymlinkLoop
                | InputProblem::BrokenLink
                | InputProblem::Repeated { .. }
                | InputProblem::Bom
        )
    }

    /// The shard (`0..n`) that reports the notice, so that shard workers
    /// report each one once: a hash of its path and line.
    pub fn shard(&self, n: u32) -> u32 {
        let line = self.line.map(|l| format!(":{l}")).unwrap_or_default();
        shard_of(&format!("{}{line}", self.path.display()), n)
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.problem),
            None => write!(f, "{}: {}", self.path.display(), self.problem),
        }
    }
}

/// Why an input path or line gave no document.
#[derive(Debug, thiserror::Error)]
pub enum InputProblem {
    /// A FIFO, socket or device: never opened.
    #[error("skipped: not a regular file ({0})")]
    NotRegular(&'static str),
    /// A link to one of its own ancestors, or a link that resolves to itself.
    #[error("skipped: symlink loop")]
    SymlinkLoop,
    /// A directory or file already reached by another path.
    #[error("skipped: same {} as {}", if *.directory { "directory" } else { "file" }, .first.display())]
    Repeated {
        /// The path it was first reached by.
        first: PathBuf,
        /// A directory, not a file.
        directory: bool,
    },
    /// A link to nothing.
    #[error("skipped: broken symlink")]
    BrokenLink,
    /// The entry could not be examined or listed.
    #[error("skipped: {0}")]
    Unreadable(std::io::Error),
    /// A byte-order mark at the start of a JSON-lines file (the file is read).
    #[error("byte-order mark at the start of the file (ignored)")]
    Bom,
    /// A JSON-lines line that is not valid UTF-8.
    #[error("invalid UTF-8 at column {0}")]
    InvalidUtf8(usize),
    /// A JSON-lines line that is not `{"id", "text"}`.
    #[error("not a document {{\"id\", \"text\"}}: {0}")]
    NotADocument(String),
    /// A JSON-lines id that is neither a string nor a number.
    #[error("id must be a string or number, not {0}")]
    BadId(String),
    /// A JSON-lines id already used by an earlier line of the file.
    #[error("duplicate id `{id}`, first at line {first}")]
    DuplicateId {
        /// The id.
        id: String,
        /// The line that keeps it.
        first: usize,
    },
    /// A document whose output would overwrite an earlier document's.
    #[error("document `{id}` has the same output as `{first}`")]
    SameOutput {
        /// The document.
        id: String,
        /// The earlier document that keeps the output.
        first: String,
    },
}

#[derive(Deserialize)]
struct JsonDocument {
    id: serde_json::Value,
    text: String,
}

/// Lists the documents of `inputs`: a directory gives every regular file
/// under it (recursively, following links, hidden entries skipped, in byte
/// order of paths); a `.jsonl` file gives one document per line
/// (`{"id": …, "text": …}`); any other regular file is one document. Ids and
/// outputs are unique: a later document that would share one is reported and
/// left out. Fails only when an input itself cannot be read.
pub fn discover(inputs: &[PathBuf]) -> Result<Discovery, BatchError> {
    let mut walker = Walker::default();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(io(input))?;
        let canonical = input.canonicalize().map_err(io(input))?;
        if meta.is_dir() {
            if let Some(first) = walker.dirs.get(&canonical) {
                let problem = InputProblem::Repeated { first: first.clone(), directory: true };
                walker.notice(input, None, problem);
                continue;
            }
            walker.dirs.insert(canonical.clone(), input.clone());
            let entries = std::fs::read_dir(input).map_err(io(input))?;
            walker.walk(input, input, entries, &canonical, &mut vec![canonical.clone()]);
        } else if !meta.is_file() {
            walker.notice(input, None, InputProblem::NotRegular(kind_name(meta.file_type())));
        } else if let Some(first) = walker.files.get(&canonical) {
            let problem = InputProblem::Repeated { first: first.clone(), directory: false };
            walker.notice(input, None, problem);
        } else {
            walker.files.insert(canonical, input.clone());
            if input.extension().is_some_and(|e| e == "jsonl") {
                let bytes = read_regular(input).map_err(io(input))?;
                walker.jsonl(input, &bytes);
            } else {
                let name = input.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("document"));
                walker.documents.push(Document {
                    id: name.to_string_lossy().into_owned(),
                    stem: name,
                    source: Source::File(input.clone()),
                });
            }
        }
    }
    let Walker { documents, mut notices, .. } = walker;
    let mut kept = Vec::with_capacity(documents.len());
    let mut outputs: HashMap<PathBuf, String> = HashMap::new();
    for doc in documents {
        let output = output_path(&doc.stem, OutputFormat::Text);
        if let Some(first) = outputs.get(&output) {
            let (path, line) = match &doc.source {
                Source::File(path) => (path.clone(), None),
                Source::Inline { file, line, .. } => (file.clone(), Some(*line)),
            };
            notices.push(Notice { path, line, problem: InputProblem::SameOutput { id: doc.id, first: first.clone() } });
        } else {
            outputs.insert(output, doc.id.clone());
            kept.push(doc);
        }
    }
    Ok(Discovery { documents: kept, notices })
}

/// Discovery state: what was found, and every directory and file taken so
/// far by canonical path (with the path it was reached by).
#[derive(Default)]
struct Walker {
    documents: Vec<Document>,
    notices: Vec<Notice>,
    dirs: HashMap<PathBuf, PathBuf>,
    files: HashMap<PathBuf, PathBuf>,
}

impl Walker {
    fn notice(&mut self, path: &Path, line: Option<usize>, problem: InputProblem) {
        self.notices.push(Notice { path: path.to_path_buf(), line, problem });
    }

    /// Takes the entries of `dir` (canonically `canonical`, inside `root`),
    /// in byte order of names, descending into directories. `ancestors` holds
    /// the canonical paths of the directories from `root` down to `dir`.
    fn walk(
        &mut self,
        root: &Path,
        dir: &Path,
        entries: std::fs::ReadDir,
        canonical: &Path,
        ancestors: &mut Vec<PathBuf>,
    ) {
        let mut listed = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => listed.push(entry),
                Err(err) => self.notice(dir, None, InputProblem::Unreadable(err)),
            }
        }
        listed.sort_by_key(std::fs::DirEntry::file_name);
        for entry in listed {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let (kind, target) = match entry.file_type() {
                Ok(kind) if kind.is_symlink() => match resolve(&path) {
                    Ok(resolved) => resolved,
                    Err(problem) => {
                        self.notice(&path, None, problem);
                        continue;
                    }
                },
                Ok(kind) => (kind, canonical.join(&name)),
                Err(err) => {
                    self.notice(&path, None, InputProblem::Unreadable(err));
                    continue;
                }
            };
            if kind.is_dir() {
                if ancestors.contains(&target) {
                    self.notice(&path, None, InputProblem::SymlinkLoop);
                } else if let Some(first) = self.dirs.get(&target) {
                    let problem = InputProblem::Repeated { first: first.clone(), directory: true };
                    self.notice(&path, None, problem);
                } else {
                    self.dirs.insert(target.clone(), path.clone());
                    match std::fs::read_dir(&path) {
                        Ok(entries) => {
                            ancestors.push(target.clone());
                            self.walk(root, &path, entries, &target, ancestors);
                            ancestors.pop();
                        }
                        Err(err) => self.notice(&path, None, InputProblem::Unreadable(err)),
                    }
                }
            } else if !kind.is_file() {
                self.notice(&path, None, InputProblem::NotRegular(kind_name(kind)));
            } else if let Some(first) = self.files.get(&target) {
                let problem = InputProblem::Repeated { first: first.clone(), directory: false };
                self.notice(&path, None, problem);
            } else {
                self.files.insert(target, path.clone());
                let rel = path.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
                let id = rel.to_string_lossy().replace('\\', "/");
                self.documents.push(Document { id, stem: rel, source: Source::File(path) });
            }
        }
    }

    /// One document per line of a JSON-lines file; a bad line costs only
    /// itself.
    fn jsonl(&mut self, input: &Path, bytes: &[u8]) {
        let stem = input.file_stem().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("jsonl"));
        let bytes = match bytes.strip_prefix(b"\xef\xbb\xbf") {
            Some(rest) => {
                self.notice(input, None, InputProblem::Bom);
                rest
            }
            None => bytes,
        };
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let number = i + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let (id, text) = match parse_line(line) {
                Ok(doc) => doc,
                Err(problem) => {
                    self.notice(input, Some(number), problem);
                    continue;
                }
            };
            if let Some(&first) = ids.get(&id) {
                self.notice(input, Some(number), InputProblem::DuplicateId { id, first });
                continue;
            }
            ids.insert(id.clone(), number);
            self.documents.push(Document {
                id: format!("{}/{id}", stem.display()),
                stem: stem.join(safe_relative_path(&id)),
                source: Source::Inline { file: input.to_path_buf(), line: number, text },
            });
        }
    }
}

/// The id and text of one JSON-lines line.
fn parse_line(line: &[u8]) -> Result<(String, String), InputProblem> {
    let line = std::str::from_utf8(line)
        .map_err(|e| InputProblem::InvalidUtf8(crate::text::utf8_error_position(line, &e).1))?;
    let doc: JsonDocument = serde_json::from_str(line).map_err(|e| InputProblem::NotADocument(e.to_string()))?;
    let id = match doc.id {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(InputProblem::BadId(other.to_string())),
    };
    Ok((id, doc.text))
}

/// The type and canonical path of what a link leads to.
fn resolve(link: &Path) -> Result<(FileType, PathBuf), InputProblem> {
    let followed = |err: std::io::Error| {
        if is_loop(&err) {
            InputProblem::SymlinkLoop
        } else if err.kind() == std::io::ErrorKind::NotFound {
            InputProblem::BrokenLink
        } else {
            InputProblem::Unreadable(err)
        }
    };
    let meta = std::fs::metadata(link).map_err(followed)?;
    let canonical = link.canonicalize().map_err(followed)?;
    Ok((meta.file_type(), canonical))
}

#[cfg(unix)]
fn is_loop(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_loop(_: &std::io::Error) -> bool {
    false
}

/// What a file that is neither a directory nor a regular file is.
fn kind_name(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "fifo";
        }
        if kind.is_socket() {
            return "socket";
        }
        if kind.is_char_device() {
            return "character device";
        }
        if kind.is_block_device() {
            return "block device";
        }
    }
    "special file"
}

/// The bytes of a regular file. The file is opened without blocking (a FIFO
/// put in its place is not waited on) and refused unless regular once open;
/// a file whose size changes while it is read is refused too (a later run
/// reads it again).
pub(super) fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let kind = kind_name(meta.file_type());
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a regular file ({kind})")));
    }
    let size = meta.len();
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(usize::try_from(size).unwrap_or(usize::MAX))?;
    // One byte more than the size tells a file that grew from one that did not.
    file.take(size.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != size {
        return Err(std::io::Error::other(format!("changed while being read ({size} bytes when opened)")));
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn file_replaced_by_a_fifo_after_discovery_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "سوريا").unwrap();
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found.documents.len(), 1);
        assert_eq!(found.documents[0].read().unwrap(), "سوريا".as_bytes());
        std::fs::remove_file(&path).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(&path).status().unwrap().success());
        let err = found.documents[0].read().unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (fifo)");
    }
}
