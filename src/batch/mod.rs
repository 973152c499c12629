//! Translating archives: documents from directory trees or JSON-lines files,
//! cleaned, split, pooled across documents into length-sorted batches, and
//! written one output file per document, atomically, under one output
//! directory. A manifest of finished documents makes a job resumable after a
//! kill at any moment and lets shard workers (`--shard K/N`) share nothing but
//! the output tree.
//!
//! * [`discover`] lists the documents of the inputs, and what it skipped.
//! * [`ShardLock`] gives one run at a time a shard of an output directory.
//! * [`FileDigests`] hashes the model files for the settings digest, cached.
//! * [`Job::run`] translates those of its shard that the manifest does not list
//!   as done with the same input and settings, reporting [`Event`]s.

mod digest;
mod input;
mod lock;
mod manifest;
mod output;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hash::{fnv1a64, sha256_hex};

use crate::article::Article;
use crate::translate::{Translation, Translator};
pub use digest::FileDigests;
pub use input::{Discovery, InputProblem, Notice, discover};
use lock::shard_name;
pub use lock::{Holder, ShardLock};
pub use manifest::{Ledger, LedgerEntry};
pub use output::{OutputFormat, output_path, safe_relative_path};

/// Why a job could not run at all (single documents fail on their own, see
/// [`Event::Failed`]).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// An input or output path could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
    /// `--shard` is not `K/N` with `K < N`.
    #[error("invalid shard `{0}`: expected K/N with 0 <= K < N")]
    Shard(String),
    /// The output directory lies inside an input directory.
    #[error("the output directory {0} is inside an input directory")]
    OutputInsideInput(PathBuf),
    /// Another run holds the lock of this shard of the output directory.
    #[error(
        "{}{} is in use by {} (lock file {})",
        .output.display(),
        .shard.map_or_else(String::new, |(k, n)| format!(" shard {k}/{n}")),
        .holder.as_ref().map_or_else(|| "another run".to_string(), Holder::to_string),
        .lock.display()
    )]
    Busy {
        /// The output directory.
        output: PathBuf,
        /// The shard, `None` for the whole job.
        shard: Option<(u32, u32)>,
        /// Who holds it, as its lock file says (`None` while it is unwritten).
        holder: Option<Holder>,
        /// The lock file.
        lock: PathBuf,
    },
    /// [`Job::run`] was given the lock of another shard or output.
    #[error("{output}: shard {shard} is not locked by this run")]
    NotLocked {
        /// The output directory.
        output: PathBuf,
        /// The job's shard name.
        shard: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BatchError + '_ {
    move |error| BatchError::Io { path: path.to_path_buf(), error }
}

/// Where a document's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file of its own.
    File(PathBuf),
    /// A line of a JSON-lines file (its text, already read).
    Inline {
        /// The JSON-lines file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The document text.
        text: String,
    },
}

/// One document of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Stable identifier: the path relative to its input directory, or
    /// `FILE-STEM/ID` for a JSON-lines document.
    pub id: String,
    /// Output path relative to the output directory, without the extension
    /// the format adds.
    pub stem: PathBuf,
    /// Where its text is.
    pub source: Source,
}

impl Document {
    /// The document's bytes (a file only if it is a regular file, see
    /// [`discover`]).
    pub fn read(&self) -> Result<Vec<u8>, std::io::Error> {
        match &self.source {
            Source::File(path) => input::read_regular(path),
            Source::Inline { text, .. } => Ok(text.clone().into_bytes()),
        }
    }

    /// Where line `line` of the document's text is: `line N`, and for a
    /// JSON-lines document the file and line that hold its text.
    pub fn locate(&self, line: usize) -> String {
        match &self.source {
            Source::File(_) => format!("line {line}"),
            Source::Inline { file, line: at, .. } => {
                format!("line {line} of the document at {}:{at}", file.display())
            }
        }
    }

    /// The shard (`0..n`) the document belongs to: FNV-1a 64 of its id, mod `n`.
    pub fn shard(&self, n: u32) -> u32 {
        shard_of(&self.id, n)
    }
}

/// FNV-1a 64 of `key`, mod `n`.
fn shard_of(key: &str, n: u32) -> u32 {
    (fnv1a64(key.as_bytes()) % u64::from(n.max(1))) as u32
}

/// Creates the output directory and checks that it is not inside an input
/// directory (its files would become inputs of the next run).
pub fn prepare_output(inputs: &[PathBuf], output: &Path) -> Result<(), BatchError> {
    std::fs::create_dir_all(output).map_err(io(output))?;
    let out = output.canonicalize().map_err(io(output))?;
    for input in inputs.iter().filter(|i| i.is_dir()) {
        let input = input.canonicalize().map_err(io(input))?;
        if out.starts_with(&input) {
            return Err(BatchError::OutputInsideInput(output.to_path_buf()));
        }
    }
    Ok(())
}

/// Parses `K/N`.
pub fn parse_shard(text: &str) -> Result<(u32, u32), BatchError> {
    let bad = || BatchError::Shard(text.to_string());
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// What a job reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The plan: documents of this shard, and those already done.
    Planned {
        /// Documents of this shard.
        total: usize,
        /// Already finished with the same input and settings.
        done: usize,
    },
    /// A document was translated and written.
    Finished {
        /// Its id.
        id: String,
        /// Its sentences.
        sentences: usize,
        /// Glossary terms placed in it.
        terms: usize,
        /// Glossary terms found but not placed.
        missed: usize,
    },
    /// A document could not be translated; the job goes on.
    Failed {
        /// Its id.
        id: String,
        /// Why.
        problem: String,
    },
    /// A document would be translated (dry run).
    WouldTranslate {
        /// Its id.
        id: String,
        /// Where its output would go.
        output: PathBuf,
    },
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Documents translated in this run.
    pub translated: usize,
    /// Documents skipped as already done.
    pub skipped: usize,
    /// Documents that failed.
    pub failed: usize,
    /// Sentences translated.
    pub sentences: usize,
    /// Glossary terms placed.
    pub terms: usize,
    /// Glossary terms missed.
    pub missed_terms: usize,
    /// Scraping artifacts removed, by cleaning rule.
    pub removed: std::collections::BTreeMap<&'static str, usize>,
    /// Wall time.
    pub time: Duration,
}

/// Settings of a batch job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The output directory.
    pub output: PathBuf,
    /// Output format.
    pub format: OutputFormat,
    /// `(K, N)`: translate only documents of shard K of N.
    pub shard: Option<(u32, u32)>,
    /// A digest of everything that changes outputs (model, glossary, decoding
    /// settings, format); a finished document with another digest is redone.
    pub settings: String,
    /// Sentences per model call.
    pub batch_size: usize,
    /// Sentences pooled (across documents) before translating.
    pub pool_sentences: usize,
    /// Longest sentence in tokens before it is split.
    pub max_tokens: usize,
}

/// Documents to translate, with their bytes.
type Todo<'d> = Vec<(&'d Document, Vec<u8>)>;

/// A document read and split, waiting in the pool.
struct Pending {
    doc: Document,
    input_hash: String,
    article: Article,
}

impl Job {
    /// Lists, as [`Event::WouldTranslate`], the documents of this job's shard
    /// that [`Job::run`] would translate now; writes nothing.
    pub fn dry_run(&self, docs: &[Document], on_event: &mut dyn FnMut(Event)) -> Result<Summary, BatchError> {
        let start = Instant::now();
        let (mut summary, todo) = self.plan(docs, on_event)?;
        for (doc, _) in &todo {
            on_event(Event::WouldTranslate { id: doc.id.clone(), output: output_path(&doc.stem, self.format) });
        }
        summary.time = start.elapsed();
        Ok(summary)
    }

    /// Translates the documents of this job's shard that are not done yet,
    /// holding `lock`, the shard's lock (see [`ShardLock`]).
    pub fn run(
        &self,
        lock: &ShardLock,
        translator: &Translator,
        docs: &[Document],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, BatchError> {
        let start = Instant::now();
        let same_output = lock
            .output()
            .canonicalize()
            .ok()
            .is_some_and(|held| self.output.canonicalize().ok().is_some_and(|output| output == held));
        if !same_output || lock.shard() != shard_name(self.shard) {
            return Err(BatchError::NotLocked { output: self.output.clone(), shard: shard_name(self.shard) });
        }
        let (mut summary, todo) = self.plan(docs, on_event)?;
        let state = self.output.join(manifest::STATE_DIR);
        let mut writer = manifest::Writer::open(&state, lock)?;
        let count = |s: &str| translator.tokenizer().encode(s).ids.len();
        let mut pool: Vec<Pending> = Vec::new();
        let mut pooled = 0;
        for (i, (doc, bytes)) in todo.iter().enumerate() {
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    let article = Article::prepare(text, self.max_tokens, &count);
                    pooled += article.sentence_count();
                    pool.push(Pending { doc: (*doc).clone(), input_hash: sha256_hex(bytes), article });
                }
                Err(err) => {
                    summary.failed += 1;
                    let (line, column) = crate::text::utf8_error_position(bytes, &err);
                    on_event(Event::Failed {
                        id: doc.id.clone(),
                        problem: format!("invalid UTF-8 at line {line}, column {column}"),
                    });
                }
            }
            if pooled >= self.pool_sentences || i + 1 == todo.len() {
                self.flush(translator, std::mem::take(&mut pool), &mut writer, &mut summary, on_event)?;
                pooled = 0;
            }
        }
        summary.time = start.elapsed();
        Ok(summary)
    }

    /// Reads this shard's documents and the manifest: the documents not done
    /// yet with their bytes, and a summary counting those done and those that
    /// cannot be read. Reports [`Event::Planned`].
    fn plan<'d>(
        &self,
        docs: &'d [Document],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(Summary, Todo<'d>), BatchError> {
        let mine: Vec<&Document> = docs.iter().filter(|d| self.shard.is_none_or(|(k, n)| d.shard(n) == k)).collect();
        let done = Ledger::load(&self.output.join(manifest::STATE_DIR))?;
        let mut summary = Summary::default();
        let mut todo: Todo = Vec::new();
        for doc in mine.iter().copied() {
            let bytes = match doc.read() {
                Ok(bytes) => bytes,
                Err(err) => {
                    summary.failed += 1;
                    on_event(Event::Failed { id: doc.id.clone(), problem: format!("cannot read: {err}") });
                    continue;
                }
            };
            let output = self.output.join(output_path(&doc.stem, self.format));
            if done.is_done(&doc.id, &sha256_hex(&bytes), &self.settings) && output.is_file() {
                summary.skipped += 1;
            } else {
                todo.push((doc, bytes));
            }
        }
        on_event(Event::Planned { total: mine.len(), done: summary.skipped });
        Ok((summary, todo))
    }

    /// Translates every sentence of the pooled documents in one call, then
    /// writes each document and records it.
    fn flush(
        &self,
        translator: &Translator,
        pool: Vec<Pending>,
        writer: &mut manifest::Writer,
        summary: &mut Summary,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), BatchError> {
        let mut sentences: Vec<&str> = Vec::new();
        let mut documents: Vec<usize> = Vec::new();
        for (document, pending) in pool.iter().enumerate() {
            for sentence in pending.article.paragraphs.iter().flat_map(|para| para.sentences.iter()) {
                sentences.push(sentence);
                documents.push(document);
            }
        }
        // Glossary senses are decided per document: a name confirmed once in an
        // article confirms its short forms elsewhere in it.
        let mut results =
            translator.translate_documents(&sentences, &documents, self.batch_size, &mut |_| {}).into_iter();
        let created = crate::time::Utc::now();
        for pending in pool {
            let n = pending.article.sentence_count();
            let outcome: Vec<Result<Translation, String>> =
                results.by_ref().take(n).map(|r| r.map_err(|e| e.to_string())).collect();
            let lines = pending.article.paragraphs.iter().flat_map(|p| p.sentences.iter().map(|_| p.line));
            if let Some((line, problem)) = lines.zip(&outcome).find_map(|(line, r)| r.as_ref().err().map(|e| (line, e)))
            {
                summary.failed += 1;
                let problem = format!("{}: {problem}", pending.doc.locate(line));
                on_event(Event::Failed { id: pending.doc.id.clone(), problem });
                continue;
            }
            let translations: Vec<Translation> = outcome.into_iter().filter_map(Result::ok).collect();
            let rel = output_path(&pending.doc.stem, self.format);
            let bytes = output::render(&pending.doc, &pending.article, &translations, self.format, &created);
            output::write_atomically(&self.output, &rel, &bytes, &writer.temp_prefix()).map_err(io(&rel))?;
            writer.record(&LedgerEntry {
                id: pending.doc.id.clone(),
                input: pending.input_hash,
                settings: self.settings.clone(),
                output: rel.to_string_lossy().into_owned(),
            })?;
            let terms: usize = translations.iter().map(|t| t.terms.len() - t.missed_terms()).sum();
            let missed: usize = translations.iter().map(Translation::missed_terms).sum();
            for removal in &pending.article.removed {
                *summary.removed.entry(removal.rule).or_default() += 1;
            }
            summary.translated += 1;
            summary.sentences += n;
            summary.terms += terms;
            summary.missed_terms += missed;
            on_event(Event::Finished { id: pending.doc.id.clone(), sentences: n, terms, missed });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_and_parse() {
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        assert!(parse_shard("3/3").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_shard("0/0").unwrap_err().to_string(), "invalid shard `0/0`: expected K/N with 0 <= K < N");
        let docs: Vec<Document> = (0..300)
            .map(|i| Document {
                id: format!("doc{i}"),
                stem: PathBuf::from(format!("doc{i}")),
                source: Source::File(PathBuf::new()),
            })
            .collect();
        let counts = (0..3).map(|k| docs.iter().filter(|d| d.shard(3) == k).count()).collect::<Vec<_>>();
        assert_eq!(counts.iter().sum::<usize>(), 300);
        assert!(counts.iter().all(|&c| c > 70), "{counts:?}");
        assert_eq!(docs[0].shard(3), docs[0].shard(3));
    }

    /// A document's shard is recorded in every output directory a sharded run
    /// made: these values must never change (FNV-1a 64 of the id, mod N).
    #[test]
    fn shard_assignment_never_changes() {
        let pinned = [
            ("doc0", 3, 2),
            ("doc1", 3, 1),
            ("doc2", 7, 5),
            ("news/2024/a.txt", 4, 1),
            ("سوريا.txt", 5, 2),
            ("", 2, 1),
            ("x", 1, 0),
        ];
        for (id, n, shard) in pinned {
            assert_eq!(shard_of(id, n), shard, "{id} of {n}");
        }
        assert_eq!(fnv1a64("news/2024/a.txt".as_bytes()), 0x5eef_0ea4_a51c_da6d);
    }
}
