//! Sentence pairs to audit or mine: read from `tarjim batch` and `tarjim translate`
//! JSON-lines outputs, or from parallel plain files.
//!
//! * A batch output (`NAME.en.jsonl`) holds a document object with `paragraphs`,
//!   each with its `line` in the article and its `sentences` (`source`,
//!   `translation`): each sentence is a pair, located at the file and the
//!   paragraph's line.
//! * A `translate --format jsonl` output holds one object per line with `source`
//!   and `translation`, and with `--align` the word alignment (`alignment`, Pharaoh
//!   pairs, and `alignment_words`, both sides' words with character spans), which
//!   the pair keeps. Failed lines (an `error` and no `source`) are skipped.
//! * Parallel plain files: line `n` of the target translates line `n` of the
//!   source; both must have as many lines.
//!
//! Pairs with an empty side are skipped. Every error names the file and line.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Origin;
use crate::align::Alignment;

/// A word alignment of a pair: both sides' words as character spans, and the
/// `(source word, target word)` links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordLinks {
    /// Characters of the source each source word covers (`None`: not located).
    pub source: Vec<Option<Range<usize>>>,
    /// Characters of the target each target word covers.
    pub target: Vec<Option<Range<usize>>>,
    /// Linked `(source word, target word)` indices.
    pub pairs: Vec<(usize, usize)>,
}

impl WordLinks {
    /// The words of `alignment` with `pairs` read from it.
    pub fn new(alignment: &Alignment, pairs: Vec<(usize, usize)>) -> Self {
        Self {
            source: alignment.source_words.iter().map(|w| w.span.clone()).collect(),
            target: alignment.target_words.iter().map(|w| w.span.clone()).collect(),
            pairs,
        }
    }

    /// Target words linked to a source word that overlaps `source_chars`, in order.
    pub fn targets_of(&self, source_chars: &Range<usize>) -> Vec<usize> {
        let overlaps = |span: &Option<Range<usize>>| {
            span.as_ref().is_some_and(|s| s.start < source_chars.end && source_chars.start < s.end)
        };
        let mut out: Vec<usize> =
            self.pairs.iter().filter(|&&(s, _)| self.source.get(s).is_some_and(overlaps)).map(|&(_, t)| t).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// One sentence and its translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Where it was read.
    pub location: Origin,
    /// The Arabic sentence.
    pub source: String,
    /// Its English translation.
    pub target: String,
    /// Its word alignment, when known.
    pub links: Option<WordLinks>,
}

/// Why inputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
    /// A directory holds no `*.en.jsonl` file.
    #[error("{path}: no *.en.jsonl files in this directory")]
    NoOutputs {
        /// The directory.
        path: String,
    },
    /// A line is not UTF-8.
    #[error("{file}:{line}: invalid UTF-8 at byte {byte}")]
    Utf8 {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// Byte of the line where the invalid sequence starts.
        byte: usize,
    },
    /// A JSON line is malformed or of an unknown shape.
    #[error("{file}:{line}: {message}")]
    Json {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Parallel files of different lengths.
    #[error("{file}:{line}: {message}")]
    Lines {
        /// The file that is too long or too short.
        file: String,
        /// First line without a counterpart.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Splits on `\n` (a `\r` before it is dropped; a final newline ends the last
/// line) and checks each line's UTF-8.
fn lines<'a>(bytes: &'a [u8], file: &str) -> Result<Vec<&'a str>, CorpusError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            std::str::from_utf8(line).map_err(|e| CorpusError::Utf8 {
                file: file.to_string(),
                line: i + 1,
                byte: e.valid_up_to(),
            })
        })
        .collect()
}

/// A sentence of a batch output.
#[derive(Deserialize)]
struct Sentence {
    source: String,
    translation: String,
}

/// A paragraph of a batch output.
#[derive(Deserialize)]
struct Paragraph {
    line: usize,
    sentences: Vec<Sentence>,
}

/// A batch output document (other fields are not needed).
#[derive(Deserialize)]
struct BatchDocument {
    paragraphs: Vec<Paragraph>,
}

/// A word of `alignment_words`.
#[derive(Deserialize)]
struct JsonWord {
    span: Option<[usize; 2]>,
}

/// `alignment_words` of a translate line.
#[derive(Deserialize)]
struct JsonWords {
    source: Vec<JsonWord>,
    target: Vec<JsonWord>,
}

/// A `translate --format jsonl` line.
#[derive(Deserialize)]
struct TranslateLine {
    source: String,
    translation: String,
    alignment: Option<String>,
    alignment_words: Option<JsonWords>,
}

/// Parses Pharaoh pairs `i-j …` whose indices are below `sources` and `targets`.
fn parse_pharaoh(text: &str, sources: usize, targets: usize) -> Result<Vec<(usize, usize)>, String> {
    text.split_whitespace()
        .map(|pair| {
            let (s, t) = pair.split_once('-').ok_or_else(|| format!("alignment pair `{pair}` is not `i-j`"))?;
            let (s, t) = match (s.parse::<usize>(), t.parse::<usize>()) {
                (Ok(s), Ok(t)) => (s, t),
                _ => return Err(format!("alignment pair `{pair}` is not `i-j`")),
            };
            if s >= sources || t >= targets {
                return Err(format!("alignment pair `{pair}` names a word that `alignment_words` lacks"));
            }
            Ok((s, t))
        })
        .collect()
}

/// The word links of a translate line, when it has them.
fn translate_links(line: &TranslateLine) -> Result<Option<WordLinks>, String> {
    match (&line.alignment, &line.alignment_words) {
        (None, None) => Ok(None),
        (Some(pharaoh), Some(words)) => {
            let spans = |words: &[JsonWord]| -> Vec<Option<Range<usize>>> {
                words.iter().map(|w| w.span.map(|[a, b]| a..b)).collect()
            };
            let pairs = parse_pharaoh(pharaoh, words.source.len(), words.target.len())?;
            Ok(Some(WordLinks { source: spans(&words.source), target: spans(&words.target), pairs }))
        }
        _ => Err("`alignment` and `alignment_words` go together".into()),
    }
}

/// The pairs of a JSON-lines file: batch documents or translate lines (see the
/// module documentation); `file` names it in locations and errors.
pub fn read_jsonl(bytes: &[u8], file: &str) -> Result<Vec<Pair>, CorpusError> {
    let mut pairs = Vec::new();
    for (i, text) in lines(bytes, file)?.into_iter().enumerate() {
        let number = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let error = |message: String| CorpusError::Json { file: file.to_string(), line: number, message };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| error(format!("invalid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(error("not a JSON object".into()));
        };
        let mut push = |line: usize, source: String, target: String, links: Option<WordLinks>| {
            if !source.trim().is_empty() && !target.trim().is_empty() {
                pairs.push(Pair { location: Origin { file: file.to_string(), line }, source, target, links });
            }
        };
        if object.contains_key("paragraphs") {
            let doc: BatchDocument =
                serde_json::from_value(value).map_err(|e| error(format!("not a tarjim batch document: {e}")))?;
            for paragraph in doc.paragraphs {
                for sentence in paragraph.sentences {
                    push(paragraph.line, sentence.source, sentence.translation, None);
                }
            }
        } else if object.contains_key("source") || !object.contains_key("error") {
            let line: TranslateLine = serde_json::from_value(value).map_err(|e| {
                error(format!("neither a tarjim batch document (`paragraphs`) nor a translate line: {e}"))
            })?;
            let links = translate_links(&line).map_err(error)?;
            push(number, line.source, line.translation, links);
        }
    }
    Ok(pairs)
}

/// The pairs of parallel plain files (line `n` of `target` translates line `n` of
/// `source`); located at the source file's lines.
pub fn read_parallel(
    source: &[u8],
    source_name: &str,
    target: &[u8],
    target_name: &str,
) -> Result<Vec<Pair>, CorpusError> {
    let sources = lines(source, source_name)?;
    let targets = lines(target, target_name)?;
    let (a, b) = (sources.len(), targets.len());
    if a != b {
        let (line, what) = if a > b { (b + 1, "missing") } else { (a + 1, "extra line") };
        return Err(CorpusError::Lines {
            file: target_name.to_string(),
            line,
            message: format!("{what}: {source_name} has {}, {target_name} has {}", count(a), count(b)),
        });
    }
    Ok(sources
        .into_iter()
        .zip(targets)
        .enumerate()
        .filter(|(_, (s, t))| !s.trim().is_empty() && !t.trim().is_empty())
        .map(|(i, (s, t))| Pair {
            location: Origin { file: source_name.to_string(), line: i + 1 },
            source: s.to_string(),
            target: t.to_string(),
            links: None,
        })
        .collect())
}

/// `n line` or `n lines`.
fn count(n: usize) -> String {
    if n == 1 { "1 line".into() } else { format!("{n} lines") }
}

/// The JSON-lines files an argument stands for: a file itself, a directory's
/// `*.en.jsonl` files (recursively, sorted, job state under `.tarjim` left out).
pub fn jsonl_files(path: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let io = |path: &Path, error| CorpusError::Io { path: path.display().to_string(), error };
    let metadata = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let child = entry.path();
            let name = entry.file_name();
            let file_type = entry.file_type().map_err(|e| io(&child, e))?;
            if file_type.is_dir() {
                if name != ".tarjim" {
                    pending.push(child);
                }
            } else if name.to_string_lossy().ends_with(".en.jsonl") {
                found.push(child);
            }
        }
    }
    if found.is_empty() {
        return Err(CorpusError::NoOutputs { path: path.display().to_string() });
    }
    found.sort();
    Ok(found)
}

/// Reads every input: JSON-lines outputs (files or directories of them) and
/// `(source, target)` parallel plain files, in that order.
pub fn read_inputs(archives: &[PathBuf], parallel: &[(PathBuf, PathBuf)]) -> Result<Vec<Pair>, CorpusError> {
    let read =
        |path: &Path| std::fs::read(path).map_err(|error| CorpusError::Io { path: path.display().to_string(), error });
    let mut pairs = Vec::new();
    for archive in archives {
        for file in jsonl_files(archive)? {
            pairs.extend(read_jsonl(&read(&file)?, &file.display().to_string())?);
        }
    }
    for (source, target) in parallel {
        pairs.extend(read_parallel(
            &read(source)?,
            &source.display().to_string(),
            &read(target)?,
            &target.display().to_string(),
        )?);
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(file: &str, line: usize) -> Origin {
        Origin { file: file.into(), line }
    }

    #[test]
    fn batch_documents_give_each_sentence_at_its_paragraph_line() {
        let doc = r#"{"id":"a","source":"x","translation":"y","paragraphs":[{"line":1,"sentences":[{"source":"س1","translation":"T1"},{"source":"س2","translation":""}]},{"line":3,"sentences":[{"source":"س3","translation":"T3"}]}],"removed":[]}"#;
        let pairs = read_jsonl(format!("{doc}\n\n").as_bytes(), "a.en.jsonl").unwrap();
        let got: Vec<(Origin, &str, &str)> =
            pairs.iter().map(|p| (p.location.clone(), p.source.as_str(), p.target.as_str())).collect();
        assert_eq!(got, vec![(location("a.en.jsonl", 1), "س1", "T1"), (location("a.en.jsonl", 3), "س3", "T3")]);
        assert!(pairs.iter().all(|p| p.links.is_none()));
    }

    #[test]
    fn translate_lines_keep_their_alignment() {
        let text = concat!(
            r#"{"file":"<stdin>","line":1,"source":"قال زيد","translation":"Zaid said","alignment":"0-1 1-0","alignment_words":{"source":[{"text":"قال","span":[0,3]},{"text":"زيد","span":[4,7]}],"target":[{"text":"Zaid","span":[0,4]},{"text":"said","span":[5,9]}]}}"#,
            "\n",
            r#"{"file":"<stdin>","line":2,"error":"too long"}"#,
            "\n",
            r#"{"file":"<stdin>","line":3,"source":"ب","translation":"B"}"#,
            "\n",
        );
        let pairs = read_jsonl(text.as_bytes(), "t.jsonl").unwrap();
        assert_eq!(pairs.len(), 2);
        let links = pairs[0].links.as_ref().unwrap();
        assert_eq!(links.pairs, vec![(0, 1), (1, 0)]);
        assert_eq!(links.source, vec![Some(0..3), Some(4..7)]);
        assert_eq!(links.targets_of(&(4..7)), vec![0]);
        assert_eq!(links.targets_of(&(0..7)), vec![0, 1]);
        assert_eq!(pairs[1].location, location("t.jsonl", 3));
        assert_eq!(pairs[1].links, None);
    }

    #[test]
    fn bad_json_lines_are_errors_with_file_and_line() {
        let err = |text: &[u8]| read_jsonl(text, "f.jsonl").unwrap_err().to_string();
        assert_eq!(err(b"{\"source\":\"a\",\"translation\":\"b\"}\n\xff\n"), "f.jsonl:2: invalid UTF-8 at byte 0");
        assert_eq!(
            err(b"\n{\"source\": 1"),
            "f.jsonl:2: invalid JSON: EOF while parsing an object at line 1 column 12"
        );
        assert_eq!(err(b"[1]"), "f.jsonl:1: not a JSON object");
        assert_eq!(
            err(br#"{"paragraphs":[{"line":1}]}"#),
            "f.jsonl:1: not a tarjim batch document: missing field `sentences`"
        );
        assert_eq!(
            err(br#"{"text":"x"}"#),
            "f.jsonl:1: neither a tarjim batch document (`paragraphs`) nor a translate line: missing field `source`"
        );
        assert_eq!(
            err(br#"{"source":"a","translation":"b","alignment":"0-1","alignment_words":{"source":[{"span":[0,1]}],"target":[{"span":null}]}}"#),
            "f.jsonl:1: alignment pair `0-1` names a word that `alignment_words` lacks"
        );
        assert_eq!(
            err(br#"{"source":"a","translation":"b","alignment":"0-0"}"#),
            "f.jsonl:1: `alignment` and `alignment_words` go together"
        );
    }

    #[test]
    fn parallel_files_pair_lines_and_must_be_as_long() {
        let pairs = read_parallel("أ\n\nج\r\n".as_bytes(), "s.txt", b"A\nB\nC\n", "t.txt").unwrap();
        let got: Vec<(usize, &str, &str)> =
            pairs.iter().map(|p| (p.location.line, p.source.as_str(), p.target.as_str())).collect();
        assert_eq!(got, vec![(1, "أ", "A"), (3, "ج", "C")]);
        assert_eq!(
            read_parallel(b"a\nb\nc\n", "s.txt", b"A\n", "t.txt").unwrap_err().to_string(),
            "t.txt:2: missing: s.txt has 3 lines, t.txt has 1 line"
        );
        assert_eq!(
            read_parallel(b"a\n", "s.txt", b"A\nB\n", "t.txt").unwrap_err().to_string(),
            "t.txt:2: extra line: s.txt has 1 line, t.txt has 2 lines"
        );
        assert_eq!(
            read_parallel(b"a\n", "s.txt", b"\xc3\n", "t.txt").unwrap_err().to_string(),
            "t.txt:1: invalid UTF-8 at byte 0"
        );
    }
}
