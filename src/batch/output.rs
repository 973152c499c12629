//! Output files: where a document's translation goes, what it holds, and how
//! it is written (a temporary file in the output directory, then a rename).

use std::path::{Component, Path, PathBuf};

use serde_json::json;

use super::Document;
use super::manifest::{STATE_DIR, TEMP_DIR};
use crate::article::Article;
use crate::exchange::tmx;
use crate::time::Utc;
use crate::translate::Translation;

/// How translations are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `NAME.en.txt`: one line per paragraph.
    Text,
    /// `NAME.en.jsonl`: one JSON object with the paragraphs, each sentence's
    /// source and translation, and what cleaning removed.
    Jsonl,
    /// `NAME.en.tmx`: a TMX 1.4b memory, one unit per sentence (see
    /// [`crate::exchange::tmx`]).
    Tmx,
}

/// Longest file-name component written, in bytes.
const MAX_COMPONENT: usize = 200;

/// A relative path made from an untrusted document id: `/`-separated parts,
/// empty, `.` and `..` parts dropped, characters that are not portable in file
/// names (controls, `\ : * ? " < > |`) replaced by `_`, a leading `.` replaced
/// by `_`, each part cut to 200 bytes. Never absolute, never leaves its base.
pub fn safe_relative_path(id: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in id.split(['/', '\\']) {
        if part.is_empty() || part == "." || part == ".." {
            continue;
        }
        let mut clean: String =
            part.chars().map(|c| if c.is_control() || "\\:*?\"<>|".contains(c) { '_' } else { c }).collect();
        if clean.starts_with('.') {
            clean.replace_range(0..1, "_");
        }
        let mut cut = MAX_COMPONENT.min(clean.len());
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        clean.truncate(cut);
        out.push(clean);
    }
    if out.as_os_str().is_empty() { PathBuf::from("_") } else { out }
}

/// The output file of a document with `stem`, relative to the output directory:
/// a `.txt` extension gives way to `.en.txt` (`a/b.txt` → `a/b.en.txt`), any
/// other name gets it appended.
pub fn output_path(stem: &Path, format: OutputFormat) -> PathBuf {
    let suffix = match format {
        OutputFormat::Text => "en.txt",
        OutputFormat::Jsonl => "en.jsonl",
        OutputFormat::Tmx => "en.tmx",
    };
    let base = if stem.extension().is_some_and(|e| e == "txt") { stem.with_extension("") } else { stem.to_path_buf() };
    let mut name = base.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".");
    name.push(suffix);
    base.with_file_name(name)
}

/// The bytes of a document's output (a memory records `created` as its
/// creation date).
pub(super) fn render(
    doc: &Document,
    article: &Article,
    translations: &[Translation],
    format: OutputFormat,
    created: &Utc,
) -> Vec<u8> {
    let mut next = translations.iter();
    let paragraphs: Vec<(usize, Vec<(&str, &str)>)> = article
        .paragraphs
        .iter()
        .map(|p| {
            (p.line, p.sentences.iter().map(|s| (s.as_str(), next.next().map_or("", |t| t.text.as_str()))).collect())
        })
        .collect();
    fn join<'a>(sentences: &[(&'a str, &'a str)], side: fn(&(&'a str, &'a str)) -> &'a str) -> String {
        sentences.iter().map(side).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
    }
    match format {
        OutputFormat::Text => {
            let mut out = String::new();
            for (_, sentences) in &paragraphs {
                out.push_str(&join(sentences, |s| s.1));
                out.push('\n');
            }
            out.into_bytes()
        }
        OutputFormat::Tmx => {
            let mut out = tmx::start(created);
            let sentences = article.paragraphs.iter().flat_map(|p| p.sentences.iter().map(move |s| (p.line, s)));
            for ((line, source), translation) in sentences.zip(translations) {
                out.push_str(&tmx::unit(&tmx::Unit {
                    document: &doc.id,
                    line,
                    source,
                    target: &translation.text,
                    terms: &translation.terms,
                }));
            }
            out.push_str(tmx::END);
            out.into_bytes()
        }
        OutputFormat::Jsonl => {
            let value = json!({
                "id": doc.id,
                "source": paragraphs.iter().map(|(_, s)| join(s, |s| s.0)).collect::<Vec<_>>().join("\n"),
                "translation": paragraphs.iter().map(|(_, s)| join(s, |s| s.1)).collect::<Vec<_>>().join("\n"),
                "paragraphs": paragraphs.iter().map(|(line, sentences)| json!({
                    "line": line,
                    "sentences": sentences.iter().map(|(s, t)| json!({"source": s, "translation": t})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "removed": article.removed.iter().map(|r| json!({"rule": r.rule, "line": r.line, "text": r.text})).collect::<Vec<_>>(),
            });
            let mut out = value.to_string().into_bytes();
            out.push(b'\n');
            out
        }
    }
}

/// Writes `bytes` to `root/rel` through a temporary file under
/// `root/.tarjim/tmp/` named with `prefix` (that of the shard whose lock the
/// caller holds), this process's id and a counter, synced, then renamed into
/// place. A failed write removes its temporary file.
pub(super) fn write_atomically(root: &Path, rel: &Path, bytes: &[u8], prefix: &str) -> std::io::Result<()> {
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(std::io::Error::other(format!("{} leaves the output directory", rel.display())));
    }
    let dest = root.join(rel);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    crate::atomic::write_via(&root.join(STATE_DIR).join(TEMP_DIR), prefix, &dest, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_safe_paths() {
        assert_eq!(safe_relative_path("a/b/c"), PathBuf::from("a/b/c"));
        assert_eq!(safe_relative_path("../../etc/passwd"), PathBuf::from("etc/passwd"));
        assert_eq!(safe_relative_path("/abs/./x"), PathBuf::from("abs/x"));
        assert_eq!(safe_relative_path(".hidden"), PathBuf::from("_hidden"));
        assert_eq!(safe_relative_path("a:b*c?\u{7}"), PathBuf::from("a_b_c__"));
        assert_eq!(safe_relative_path("C:\\Windows\\x"), PathBuf::from("C_/Windows/x"));
        assert_eq!(safe_relative_path(".."), PathBuf::from("_"));
        let long = "ب".repeat(150);
        assert_eq!(safe_relative_path(&long).as_os_str().len(), 200);
    }

    #[test]
    fn output_names() {
        assert_eq!(output_path(Path::new("a/b.txt"), OutputFormat::Text), PathBuf::from("a/b.en.txt"));
        assert_eq!(output_path(Path::new("a/b.md"), OutputFormat::Text), PathBuf::from("a/b.md.en.txt"));
        assert_eq!(output_path(Path::new("news/2024.17"), OutputFormat::Jsonl), PathBuf::from("news/2024.17.en.jsonl"));
        assert_eq!(output_path(Path::new("a/b.txt"), OutputFormat::Tmx), PathBuf::from("a/b.en.tmx"));
    }

    #[test]
    fn atomic_writes_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(STATE_DIR).join(TEMP_DIR)).unwrap();
        write_atomically(dir.path(), Path::new("x/y.en.txt"), b"hello\n", "all.").unwrap();
        assert_eq!(std::fs::read(dir.path().join("x/y.en.txt")).unwrap(), b"hello\n");
        assert!(write_atomically(dir.path(), Path::new("../y"), b"", "all.").is_err());
        assert_eq!(std::fs::read_dir(dir.path().join(STATE_DIR).join(TEMP_DIR)).unwrap().count(), 0);
    }
}
