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
//! * `ambiguous-form` (warning): a one-word form (term, variant or short form)
//!   that is also a common word (see [`common_word`]) and is not marked
//!   ambiguous.
//! * `unconfirmed` (warning): forms marked ambiguous in an entry without a
//!   confirm cue: they are enforced only where another form of the entry
//!   confirms the name in the same document, and never when every form is
//!   ambiguous.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::LazyLock;

use serde::Serialize;

use crate::glossary::matcher::{CONJUNCTIONS, PREPOSITIONS};
use crate::glossary::normalize::fold_str;
use crate::glossary::parse::parse_all;
use crate::glossary::{Entry, Form as FormId, GlossaryError, Warning};
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

/// Arabic common words and their Zipf frequencies (log10 per billion words),
/// folded and sorted by word: the wordfreq list (CC BY-SA 4.0) that
/// `scripts/make_common_words.py` makes.
const COMMON_WORDS: &str = include_str!("../../glossaries/common-ar.tsv");

/// [`COMMON_WORDS`] read: `(word, occurrences per billion words)`, sorted by word.
static COMMON: LazyLock<Vec<(&'static str, f64)>> = LazyLock::new(|| read_common_words(COMMON_WORDS));

/// The `word<TAB>zipf` lines of a common-word list (`#` lines are comments), as
/// `(word, occurrences per billion words)`; a malformed line is skipped.
fn read_common_words(text: &str) -> Vec<(&str, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (word, zipf) = line.split_once('\t')?;
            Some((word, 10f64.powf(zipf.parse().ok()?)))
        })
        .collect()
}

/// The least Zipf frequency that a form's related forms reach together when it
/// is a common word: 3.5, about 3 occurrences per million words.
const COMMON_MIN_ZIPF: f64 = 3.5;
/// How many times as often as its related forms a common word may occur: a form
/// used more than this is mostly a name (the common word makes under a fifth of
/// its uses).
const FORM_PER_RELATED_MAX: f64 = 5.0;
/// The possessive suffixes of the third person. The others (ك, كم, نا) end
/// many unrelated words (تنفك is not التنف + ك).
const THIRD_PERSON_SUFFIXES: [&str; 5] = ["ه", "ها", "هم", "هما", "هن"];

/// How often a folded word occurs, per billion words.
pub(crate) fn per_billion(word: &str) -> f64 {
    COMMON.binary_search_by(|(w, _)| w.cmp(&word)).map_or(0.0, |i| COMMON[i].1)
}

/// How often a folded word occurs alone or with proclitics (و ف, then ب ل ك,
/// with لل for ل + ال), per billion words.
fn with_proclitics(word: &str) -> f64 {
    let mut total = 0.0;
    for conj in std::iter::once("").chain(CONJUNCTIONS) {
        total += per_billion(&format!("{conj}{word}"));
        for prep in PREPOSITIONS {
            total += match word.strip_prefix("ال") {
                Some(rest) if prep == "ل" => per_billion(&format!("{conj}لل{rest}")),
                _ => per_billion(&format!("{conj}{prep}{word}")),
            };
        }
    }
    total
}

/// The forms a common word takes that a name seldom does, for a folded
/// one-word form: without the article, the form with it; with the article, the
/// form without it; either way that form with a possessive suffix (ة written ت
/// before it). For a word without the article of four letters or more, also:
/// ending in ا not after ي, the word without that ا (درعا: درع with tanween,
/// while سوريا is no سوري), and starting with ت or ي, the other (تدمر "it
/// destroys", يدمر).
fn related_forms(form: &str) -> Vec<String> {
    let suffixed = |word: &str| -> Vec<String> {
        let stem = word.strip_suffix('ة').map_or_else(|| word.to_string(), |base| format!("{base}ت"));
        THIRD_PERSON_SUFFIXES.iter().map(|suffix| format!("{stem}{suffix}")).collect()
    };
    if let Some(rest) = form.strip_prefix("ال")
        && rest.chars().count() >= 3
    {
        let mut out = vec![rest.to_string()];
        out.extend(suffixed(rest));
        return out;
    }
    let mut out = vec![format!("ال{form}")];
    out.extend(suffixed(form));
    if form.chars().count() >= 4 {
        // A common noun with tanween takes the article too (درع, الدرع); a
        // stem only a name's other spellings share does not (ارن for إرنا).
        if let Some(stem) = form.strip_suffix('ا')
            && !stem.ends_with('ي')
            && with_proclitics(&format!("ال{stem}")) > 0.0
        {
            out.extend([stem.to_string(), format!("ال{stem}")]);
        }
        if let Some(rest) = form.strip_prefix('ت') {
            out.push(format!("ي{rest}"));
        } else if let Some(rest) = form.strip_prefix('ي') {
            out.push(format!("ت{rest}"));
        }
    }
    out
}

/// Whether a glossary form is also a common word, and if so its most frequent
/// related form (folded), for messages. Names do not take the article, a
/// possessive suffix or tanween, so a form whose related forms ([`related_forms`],
/// each with its proclitics) are frequent is a common word: they must reach a
/// Zipf frequency of [`COMMON_MIN_ZIPF`] together, and the form itself, with its
/// proclitics, may occur at most [`FORM_PER_RELATED_MAX`] times as often as they
/// do. Related forms in `same_name` (the other forms of the entry: خامنئي beside
/// الخامنئي) are the name itself and do not count. Forms of more than one word
/// are not checked.
pub fn common_word(form: &str, same_name: &[&str]) -> Option<String> {
    let form = fold_str(form);
    if form.is_empty() || form.contains(' ') {
        return None;
    }
    let same_name: Vec<String> = same_name.iter().map(|f| fold_str(f)).collect();
    let related: Vec<(String, f64)> = related_forms(&form)
        .into_iter()
        .filter(|word| !same_name.contains(word))
        .map(|word| {
            let freq = with_proclitics(&word);
            (word, freq)
        })
        .collect();
    let total: f64 = related.iter().map(|(_, freq)| freq).sum();
    if total <= 0.0 || total.log10() < COMMON_MIN_ZIPF || with_proclitics(&form) > total * FORM_PER_RELATED_MAX {
        return None;
    }
    related.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(word, _)| word)
}

/// What a form of an entry is, for messages.
fn form_name(form: FormId) -> &'static str {
    match form {
        FormId::Term => "term",
        FormId::Variant(_) => "variant",
        FormId::Short(_) => "short form",
    }
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

    /// Sense checks on an entry: common-word forms not marked ambiguous, and
    /// ambiguous forms without a confirm cue.
    fn senses(&mut self, file: &str, entry: &Entry) {
        let warn = Severity::Warning;
        let mut seen = HashSet::new();
        for (form, text) in entry.labelled_forms() {
            // A refuting cue says the keeper has weighed the common word.
            if !seen.insert(fold_str(text)) || entry.is_ambiguous(form) || !entry.refute.is_empty() {
                continue;
            }
            let others: Vec<&str> = entry.forms().filter(|f| *f != text).collect();
            if let Some(related) = common_word(text, &others) {
                let message = format!(
                    "{} `{text}` is also a common word (related forms such as `{related}` are frequent): mark it \
                     ambiguous and give confirm cues",
                    form_name(form)
                );
                self.push(file, entry.origin.line, None, warn, "ambiguous-form", message);
            }
        }
        if entry.ambiguous.is_empty() || !entry.confirm.is_empty() {
            return;
        }
        let forms = entry.ambiguous.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        let forms = if entry.ambiguous.len() == 1 { format!("form {forms}") } else { format!("forms {forms}") };
        let message = if entry.labelled_forms().all(|(form, _)| entry.is_ambiguous(form)) {
            format!("ambiguous {forms} without a confirm cue, and no unambiguous form: the entry is never enforced")
        } else {
            format!(
                "ambiguous {forms} without a confirm cue: enforced only where another form of the entry confirms \
                 the name in the same document"
            )
        };
        self.push(file, entry.origin.line, None, warn, "unconfirmed", message);
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
            lint.senses(name, entry);
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
    use crate::glossary::parse::{HEADER, HEADER_SENSES};

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
                "a.tsv:5: warning: variant `صنعا` is also a common word (related forms such as `صنع` are frequent): \
                 mark it ambiguous and give confirm cues",
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

    #[test]
    fn common_word_forms_need_an_ambiguous_mark_and_a_confirm_cue() {
        let rows = [
            "الجزيرة\tAl Jazeera\torg\t\t\t\t\t\t",
            "القائم\tAl-Qaim\tplace\t\t\t\tالقائم\tمدينة ~\t",
            "بشار الأسد\tBashar al-Assad\tperson\t\t\tالأسد=Assad\t\t\t",
            "مدينة تدمر\tPalmyra\tplace\tتدمر\t\t\t\t\t",
            "مقتدى الصدر\tMuqtada al-Sadr\tperson\t\t\tالصدر=Sadr\tالصدر\t\t",
            "دوما\tDouma\tplace\t\t\t\tدوما\t\t~ رأسه",
            "بغداد\tBaghdad\tplace\t\t\t\t\t\t",
            "حماس\tHamas\torg\tحركة حماس\t\t\t\t\t",
            "سوريا\tSyria\tplace\t\t\t\t\t\t",
        ];
        let text = format!("{HEADER_SENSES}\n{}\n", rows.join("\n"));
        let advice = "are frequent): mark it ambiguous and give confirm cues";
        assert_eq!(
            run(&[("s.tsv", &text)]),
            vec![
                format!(
                    "s.tsv:2: warning: term `الجزيرة` is also a common word (related forms such as `جزيرة` {advice}"
                ),
                format!(
                    "s.tsv:4: warning: short form `الأسد` is also a common word (related forms such as `اسد` {advice}"
                ),
                format!(
                    "s.tsv:5: warning: variant `تدمر` is also a common word (related forms such as `يدمر` {advice}"
                ),
                "s.tsv:6: warning: ambiguous form `الصدر` without a confirm cue: enforced only where another form of \
                 the entry confirms the name in the same document"
                    .to_string(),
                "s.tsv:7: warning: ambiguous form `دوما` without a confirm cue, and no unambiguous form: the entry is \
                 never enforced"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn the_common_word_test_separates_common_words_from_names() {
        let found = |forms: &str| -> Vec<(String, String)> {
            forms.split(' ').filter_map(|f| Some((f.to_string(), common_word(f, &[])?))).collect()
        };
        let pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(f, r)| (f.to_string(), r.to_string())).collect()
        };
        // Names that are also common words, with the related form that shows it,
        // but for three: the related forms of مخمور (drunk) and حماة (protectors)
        // are rarer than the list's floor (Zipf 3.06), and صالح (good) is more
        // than five times as frequent as its related forms.
        let words = "الجزيرة القائم حديثة دوما تدمر مخمور جدة الرمادي العمارة جنين درعا حماة الأسد السوداني الصدر \
                     صالح عون الشرع المعلم خطاب الضيف";
        assert_eq!(words.split(' ').count(), 21);
        assert_eq!(
            found(words),
            pairs(&[
                ("الجزيرة", "جزيرة"),
                ("القائم", "قائم"),
                ("حديثة", "الحديثة"),
                ("دوما", "دوم"),
                ("تدمر", "يدمر"),
                ("جدة", "جدتها"),
                ("الرمادي", "رمادي"),
                ("العمارة", "عمارة"),
                ("جنين", "الجنين"),
                ("درعا", "درع"),
                ("الأسد", "اسد"),
                ("السوداني", "سوداني"),
                ("الصدر", "صدر"),
                ("عون", "العون"),
                ("الشرع", "شرع"),
                ("المعلم", "معلم"),
                ("خطاب", "الخطاب"),
                ("الضيف", "ضيف"),
            ])
        );
        // Names that are not: their related forms are rare (سوري does not count
        // for سوريا), or the name is over five times as frequent as they are
        // (حماس: الحماس, "the enthusiasm").
        let names = "سوريا العراق بغداد دمشق طهران الأنبار كركوك أربيل إدلب حماس نتنياهو ترامب أردوغان بايدن لبنان \
                     إيران الحوثيون";
        assert_eq!(names.split(' ').count(), 17);
        assert_eq!(found(names), []);
        // Forms of more than one word are not checked; diacritics and alef forms fold.
        assert_eq!(common_word("حزب الله", &[]), None);
        assert_eq!(common_word("الجزيرة العربية", &[]), None);
        assert_eq!(common_word("الأَسَد", &[]), Some("اسد".to_string()));
        assert_eq!(common_word("", &[]), None);
    }

    #[test]
    fn the_common_word_list_is_sorted_well_formed_and_licensed() {
        let (header, body): (Vec<&str>, Vec<&str>) = COMMON_WORDS.lines().partition(|l| l.starts_with('#'));
        let header = header.join("\n");
        for needed in ["wordfreq 3.1.1", "CC BY-SA 4.0", "Apache-2.0", "scripts/make_common_words.py"] {
            assert!(header.contains(needed), "the header names {needed}");
        }
        assert!(header.contains(&format!("the {} most frequent", body.len())), "the header counts the words");
        let leading = COMMON_WORDS.lines().take_while(|l| l.starts_with('#')).count();
        assert_eq!(leading + body.len(), COMMON_WORDS.lines().count(), "comments only at the top");
        let mut previous = "";
        for &line in &body {
            let (word, zipf) = line.split_once('\t').unwrap_or_else(|| panic!("no tab: {line}"));
            assert!(!word.is_empty() && word.chars().all(|c| matches!(c, '\u{0621}'..='\u{064A}')), "{line}");
            assert_eq!(fold_str(word), word, "folded: {line}");
            let (units, hundredths) = zipf.split_once('.').unwrap_or_else(|| panic!("no decimals: {line}"));
            assert!(units.len() == 1 && hundredths.len() == 2, "{line}");
            assert!(zipf.parse::<f64>().is_ok_and(|z| (0.0..9.0).contains(&z)), "{line}");
            assert!(previous < word, "sorted and unique: `{previous}` before `{word}`");
            previous = word;
        }
        assert_eq!(read_common_words(COMMON_WORDS).len(), body.len());
        assert_eq!(per_billion("جزيرة"), 10f64.powf(4.89));
        assert_eq!(per_billion("جزيره"), 0.0);
    }
}
