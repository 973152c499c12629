//! Checking glossary files before they are used: every malformed row, and what
//! the reader accepts but a maintainer should see.
//!
//! Codes, with their severity:
//!
//! * `parse` (error): a row or header the reader refuses.
//! * `conflict` (error): a form (term or variant) folds like a form of an earlier
//!   entry, in the same file or an earlier one, that has another rendering.
//! * `variant-collision` (error): a variant folds like another entry's term or
//!   variant, or a term like another entry's variant, with the same rendering (the
//!   reader would drop the later entry whole); (warning) two variants of one entry
//!   fold alike.
//! * `duplicate` (warning): a term folds like an earlier entry's term with the same
//!   rendering.
//! * `mixed-script` (error): an Arabic letter in the English column; (warning) a
//!   Latin letter in the Arabic or variants column.
//! * `unwritable` (error): the model's target vocabulary cannot write the rendering.
//! * `whitespace` (warning): leading, trailing or repeated whitespace, or a space
//!   other than U+0020.
//! * `invisible` (warning): a zero-width, bidi or other invisible character.
//! * `redundant-variant` (warning): a variant folds to its own term.
//! * `bom`, `crlf` (warning): a byte-order mark, CRLF line endings.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::normalize::fold_str;
use super::parse::parse_all;
use super::{Entry, GlossaryError, Warning};
use crate::tokenizer::MarianTokenizer;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The glossary is wrong.
    Error,
    /// The glossary works but may not do what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One thing found in a glossary file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters, where it is known.
    pub column: Option<usize>,
    /// How bad it is.
    pub severity: Severity,
    /// What kind of finding it is (see the module documentation).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        write!(f, ": {}: {}", self.severity, self.message)
    }
}

/// The column names, in order.
const FIELDS: [&str; 5] = ["arabic", "english", "kind", "variants", "note"];

/// Zero-width, bidi and other invisible characters (folding removes them, but
/// they make two spellings that look alike differ).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}')
        || matches!(c, '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || (c.is_alphabetic() && matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}'))
}

fn is_arabic_letter(c: char) -> bool {
    c.is_alphabetic()
        && matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFC}')
}

/// A form of an entry, for messages.
#[derive(Clone, Copy)]
struct Form<'a> {
    entry: &'a Entry,
    text: &'a str,
    variant: bool,
}

impl fmt::Display for Form<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", if self.variant { "variant" } else { "term" }, self.text)
    }
}

/// Collects findings in the order of the files.
struct Lint {
    findings: Vec<(usize, Finding)>,
    file_index: usize,
}

impl Lint {
    fn push(
        &mut self,
        file: &str,
        line: usize,
        column: Option<usize>,
        severity: Severity,
        code: &'static str,
        message: String,
    ) {
        self.findings
            .push((self.file_index, Finding { file: file.to_string(), line, column, severity, code, message }));
    }

    fn error(&mut self, file: &str, err: &GlossaryError) {
        match err {
            GlossaryError::Parse { file, line, column, message } => {
                self.push(file, *line, Some(*column), Severity::Error, "parse", message.clone())
            }
            other => self.push(file, 1, None, Severity::Error, "parse", other.to_string()),
        }
    }

    fn warning(&mut self, warning: &Warning) {
        let warn = Severity::Warning;
        match warning {
            Warning::Bom { file } => {
                self.push(file, 1, Some(1), warn, "bom", "byte-order mark at the start of the file".into())
            }
            Warning::Crlf { file, line } => self.push(file, *line, None, warn, "crlf", "CRLF line endings".into()),
            Warning::Whitespace { file, line, column, field } => self.push(
                file,
                *line,
                Some(*column),
                warn,
                "whitespace",
                format!("leading, trailing or repeated whitespace in the {field} column"),
            ),
            Warning::RedundantVariant { file, line, variant } => self.push(
                file,
                *line,
                None,
                warn,
                "redundant-variant",
                format!("variant `{variant}` folds to the term itself"),
            ),
            // Only stacking and `dedup` report these; the form checks cover them.
            Warning::Duplicate { .. } | Warning::Override { .. } => {}
        }
    }

    /// Character checks on a row as written: scripts, odd spaces, invisible characters.
    fn scan_row(&mut self, file: &str, line: usize, raw: &str) {
        let mut column = 1;
        for (index, field) in raw.split('\t').enumerate() {
            let name = FIELDS.get(index).copied().unwrap_or("extra");
            let mut seen: HashSet<&'static str> = HashSet::new();
            for (offset, c) in field.chars().enumerate() {
                let at = Some(column + offset);
                let finding = if is_invisible(c) {
                    Some((
                        Severity::Warning,
                        "invisible",
                        format!("invisible character U+{:04X} in the {name} column", u32::from(c)),
                    ))
                } else if c.is_whitespace() && c != ' ' {
                    Some((
                        Severity::Warning,
                        "whitespace",
                        format!("unusual space U+{:04X} in the {name} column", u32::from(c)),
                    ))
                } else if matches!(index, 0 | 3) && is_latin_letter(c) {
                    Some((Severity::Warning, "mixed-script", format!("Latin letter `{c}` in the {name} column")))
                } else if index == 1 && is_arabic_letter(c) {
                    Some((Severity::Error, "mixed-script", format!("Arabic letter `{c}` in the {name} column")))
                } else {
                    None
                };
                if let Some((severity, code, message)) = finding
                    && seen.insert(code)
                {
                    self.push(file, line, at, severity, code, message);
                }
            }
            column += field.chars().count() + 1;
        }
    }
}

/// Checks glossary files, given as `(name, bytes)`, on their own and against each
/// other (in the order given, as `translate` stacks them); with a tokenizer, also
/// whether its target vocabulary can write each rendering. Findings come in file
/// order, then by line and column.
pub fn lint(files: &[(&str, &[u8])], tokenizer: Option<&MarianTokenizer>) -> Vec<Finding> {
    let mut lint = Lint { findings: Vec::new(), file_index: 0 };
    let mut parsed_files = Vec::with_capacity(files.len());
    for (index, (name, bytes)) in files.iter().enumerate() {
        lint.file_index = index;
        let parsed = parse_all(bytes, name);
        for err in &parsed.errors {
            lint.error(name, err);
        }
        for warning in &parsed.warnings {
            lint.warning(warning);
        }
        // Rows as written, for character checks and columns.
        let body = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
        let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        for entry in &parsed.entries {
            let raw = lines.get(entry.origin.line - 1).copied().unwrap_or_default();
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if let Ok(raw) = std::str::from_utf8(raw) {
                lint.scan_row(name, entry.origin.line, raw);
                if let Some(tokenizer) = tokenizer
                    && tokenizer.encode_target(&entry.english).is_none_or(|ids| ids.is_empty())
                {
                    let column = raw.split('\t').next().map_or(1, |f| f.chars().count() + 2);
                    lint.push(
                        name,
                        entry.origin.line,
                        Some(column),
                        Severity::Error,
                        "unwritable",
                        format!("the model's target vocabulary cannot write `{}`", entry.english),
                    );
                }
            }
        }
        parsed_files.push(parsed.entries);
    }
    // Forms against forms, across entries and files: the first entry to have a
    // folded form owns it.
    let mut owners: HashMap<String, (usize, Form)> = HashMap::new();
    for (file_index, entries) in parsed_files.iter().enumerate() {
        lint.file_index = file_index;
        for entry in entries {
            let mut reported = HashSet::new();
            let mut own: HashMap<String, &str> = HashMap::new();
            let forms = entry.forms().enumerate().map(|(i, text)| Form { entry, text, variant: i > 0 });
            for form in forms {
                let key = fold_str(form.text);
                if let Some(first) = own.get(&key) {
                    let message = format!("{form} folds like variant `{first}` of the same entry");
                    lint.push(
                        &entry.origin.file,
                        entry.origin.line,
                        None,
                        Severity::Warning,
                        "variant-collision",
                        message,
                    );
                    continue;
                }
                own.insert(key.clone(), form.text);
                let Some(&(owner_file, owner)) = owners.get(&key) else {
                    owners.insert(key, (file_index, form));
                    continue;
                };
                let other = owner.entry;
                if !reported.insert((owner_file, other.origin.line)) {
                    continue;
                }
                let (severity, code, message) = if other.english != entry.english {
                    let seen_as = if owner.text == form.text { String::new() } else { format!(" (as {owner})") };
                    (
                        Severity::Error,
                        "conflict",
                        format!(
                            "`{}` is rendered `{}` here but `{}` at {}{seen_as}",
                            form.text, entry.english, other.english, other.origin
                        ),
                    )
                } else if !form.variant && !owner.variant {
                    let at = if owner_file == file_index {
                        format!("line {}", other.origin.line)
                    } else {
                        other.origin.to_string()
                    };
                    (Severity::Warning, "duplicate", format!("repeats the entry at {at}"))
                } else {
                    (
                        Severity::Error,
                        "variant-collision",
                        format!("{form} folds like {owner} of the entry at {}", other.origin),
                    )
                };
                lint.push(&entry.origin.file, entry.origin.line, None, severity, code, message);
            }
        }
    }
    let mut findings = lint.findings;
    findings.sort_by_key(|(file, f)| (*file, f.line, f.column.unwrap_or(0)));
    findings.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::normalize::is_removed;
    use crate::glossary::parse::HEADER;

    fn run(files: &[(&str, &str)]) -> Vec<String> {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
        lint(&files, None).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_clean_file_has_no_findings() {
        assert!(run(&[("a.tsv", &format!("{HEADER}\nحماس\tHamas\torg\tحركة حماس\tnote\n"))]).is_empty());
    }

    #[test]
    fn rows_are_checked_past_the_first_error() {
        let text = format!(
            "\u{FEFF}{HEADER}\r\nحماس\tHamas\torg\r\nحزب  الله\tHezbollah\tgroup\t\t\r\nصنعاء\tSanaa\tplace\tصنعاء\t\r\n"
        );
        assert_eq!(
            run(&[("a.tsv", &text)]),
            vec![
                "a.tsv:1: warning: CRLF line endings",
                "a.tsv:1:1: warning: byte-order mark at the start of the file",
                "a.tsv:2:15: error: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 3",
                "a.tsv:3:1: warning: leading, trailing or repeated whitespace in the arabic column",
                "a.tsv:3:21: error: unknown kind `group` (expected org, person, place or other)",
                "a.tsv:4: warning: variant `صنعاء` folds to the term itself",
            ]
        );
    }

    #[test]
    fn forms_are_checked_across_entries_and_files() {
        let a = format!(
            "{HEADER}\nحزب الله\tHezbollah\torg\tحزب الله اللبناني\t\nحماس\tHamas\torg\t\t\nحِماس\tHamas\torg\t\t\nصنعاء\tSanaa\tplace\tصنعا|صنعأ\t\n"
        );
        let b = format!("{HEADER}\nحزب الله\tHizbullah\torg\t\t\nحركة حماس\tHamas\torg\tحماس\t\n");
        assert_eq!(
            run(&[("a.tsv", &a), ("b.tsv", &b)]),
            vec![
                "a.tsv:4: warning: repeats the entry at line 3",
                "a.tsv:5: warning: variant `صنعأ` folds like variant `صنعا` of the same entry",
                "b.tsv:2: error: `حزب الله` is rendered `Hizbullah` here but `Hezbollah` at a.tsv:2",
                "b.tsv:3: error: variant `حماس` folds like term `حماس` of the entry at a.tsv:3",
            ]
        );
    }

    #[test]
    fn scripts_spaces_and_invisible_characters() {
        let text = format!("{HEADER}\nحماسX\tHamas حماس\torg\tح\u{200F}ماس\t\nصنعاء\tSanaa\u{00A0}City\tplace\t\t\n");
        assert_eq!(
            run(&[("a.tsv", &text)]),
            vec![
                "a.tsv:2:5: warning: Latin letter `X` in the arabic column",
                "a.tsv:2:13: error: Arabic letter `ح` in the english column",
                "a.tsv:2:23: warning: invisible character U+200F in the variants column",
                "a.tsv:3:7: warning: leading, trailing or repeated whitespace in the english column",
                "a.tsv:3:12: warning: unusual space U+00A0 in the english column",
            ]
        );
    }

    #[test]
    fn invisible_characters_are_ones_folding_removes() {
        for c in ['\u{200B}', '\u{200F}', '\u{202B}', '\u{2066}', '\u{FEFF}', '\u{00AD}'] {
            assert!(is_invisible(c) && is_removed(c), "U+{:04X}", u32::from(c));
        }
    }
}
