//! Glossaries in other formats: plain CSV, TBX, and the CSV glossaries of DeepL,
//! Google Cloud Translation and Amazon Translate.
//!
//! * `csv`: the TSV columns as RFC 4180 CSV, cell for cell, with the header
//!   `arabic,english,kind,variants,note`, or with the sense columns
//!   `…,note,short,ambiguous,confirm,refute` when the file has them or an entry
//!   uses them. Import takes either header. Lossless.
//! * `tbx`: TBX-Basic (ISO 30042:2019, the DCA style): one `conceptEntry` per
//!   entry, with
//!   - the kind as `<descrip type="subjectField">`, the note as `<note>`;
//!   - each context cue as a `<note>` of its own, `confirm: CUE` or `refute: CUE`
//!     (`confirm: قناة ~`); a note of the entry that starts with `confirm:` or
//!     `refute:` cannot be written;
//!   - an `ar` `langSec` whose first `termSec` is the term (administrative status
//!     `preferredTerm-admn-sts`) and whose further ones are the variants, then the
//!     short forms (`admittedTerm-admn-sts`); a short form's `termSec` has
//!     `<termNote type="termType">shortForm</termNote>`, and an ambiguous form's
//!     `<termNote type="usageNote">ambiguous</termNote>`;
//!   - an `en` `langSec` with the rendering, then the short forms' renderings,
//!     each `termType` `shortForm`: the Arabic and English short forms pair in
//!     order, and import refuses unequal counts.
//!
//!   A file with the sense columns is recorded by the processing instruction
//!   `<?tarjim columns="9"?>` after the XML declaration, so that import writes
//!   them even when no entry fills them. Lossless, except that the ambiguous
//!   forms are read back in the order of the forms and spelled as the forms are
//!   (export reports entries that list them otherwise). Import also reads TBX
//!   2008 (`martif`, `termEntry`, `langSet`, `tig`, `ntig`).
//! * `deepl`: two columns (source, target), no header, one row per Arabic form,
//!   a short form with its own rendering.
//! * `google`: the same two columns (Cloud Translation's unidirectional glossary
//!   CSV); import skips a header row `ar,en`.
//! * `amazon`: Amazon Translate's custom terminology CSV: the header `ar,en`, then
//!   one row per Arabic form.
//!
//! The two-column formats have no kind, note, variants, short forms or cues, and
//! would force a rendering wherever a form appears: export leaves ambiguous forms
//! out and reports what it leaves out or flattens, and import makes every row an
//! entry of its own with the kind it is given and an empty note.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::write::{UnwritableEntry, cells};
use crate::glossary::parse::{Columns, entry_from_fields};
use crate::glossary::{Entry, Form, GlossaryError, Kind, Origin, Warning, dedup};

/// The language codes of the two-column formats' header.
const LANGUAGES: [&str; 2] = ["ar", "en"];
/// DeepL's limit on each source or target phrase, in UTF-8 bytes.
const DEEPL_MAX_PHRASE_BYTES: usize = 1024;
const PREFERRED: &str = "preferredTerm-admn-sts";
const ADMITTED: &str = "admittedTerm-admn-sts";
/// The `termType` of a short form.
const SHORT_FORM: &str = "shortForm";
/// The `usageNote` of an ambiguous form.
const AMBIGUOUS: &str = "ambiguous";
/// The prefixes of the notes that hold confirming and refuting cues.
const CONFIRM: &str = "confirm:";
const REFUTE: &str = "refute:";
/// The processing instruction that records the sense columns: target, content.
const INSTRUCTION: (&str, &str) = ("tarjim", "columns=\"9\"");

/// A glossary format other than tarjim's TSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlossaryFormat {
    /// The TSV columns as CSV.
    Csv,
    /// TBX-Basic XML.
    Tbx,
    /// DeepL glossary entries (CSV).
    Deepl,
    /// Google Cloud Translation unidirectional glossary (CSV).
    Google,
    /// Amazon Translate custom terminology (CSV).
    Amazon,
}

impl fmt::Display for GlossaryFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GlossaryFormat::Csv => "csv",
            GlossaryFormat::Tbx => "tbx",
            GlossaryFormat::Deepl => "deepl",
            GlossaryFormat::Google => "google",
            GlossaryFormat::Amazon => "amazon",
        })
    }
}

/// Why a glossary could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file is not UTF-8.
    #[error("{file}:{line}:{column}: invalid UTF-8")]
    Utf8 {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// A row or record is malformed.
    #[error("{file}:{line}: {message}")]
    Row {
        /// The file.
        file: String,
        /// 1-based line where the row or record starts.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The XML is broken or is not TBX.
    #[error("{file}:{line}:{column}: {message}")]
    Xml {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The entries do not make a valid glossary.
    #[error(transparent)]
    Glossary(#[from] GlossaryError),
    /// An entry cannot be written as a glossary row.
    #[error(transparent)]
    Entry(#[from] UnwritableEntry),
    /// CSV could not be written (the CSV error's message is part of this one's).
    #[error("cannot write CSV: {0}")]
    Csv(csv::Error),
    /// An entry cannot be written in the format.
    #[error("{format}: `{arabic}`: {message}")]
    Unwritable {
        /// The format.
        format: GlossaryFormat,
        /// The entry's Arabic term.
        arabic: String,
        /// Why.
        message: String,
    },
}

/// Something an export leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// The format.
    pub format: GlossaryFormat,
    /// What is left out.
    pub what: String,
    /// How many entries lose it.
    pub entries: usize,
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; {} entries affected", self.format, self.what, self.entries)
    }
}

/// An exported glossary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The file's text.
    pub text: String,
    /// What the format could not hold.
    pub losses: Vec<Loss>,
}

/// An imported glossary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Its entries, in file order (repeated ones left out).
    pub entries: Vec<Entry>,
    /// Warnings: variants that fold to their term, repeated entries.
    pub warnings: Vec<Warning>,
    /// The columns the file declares (a `csv` header, the `tbx` instruction),
    /// [`Columns::Basic`] where it declares none: [`super::write::write_tsv`]
    /// with them writes the file that was exported.
    pub columns: Columns,
}

/// Writes `entries` (in their order) in `format`. `columns` are those of the
/// file they come from: `csv` writes them and `tbx` records the sense columns
/// (both do as well when an entry uses the sense columns), so that import gives
/// the same file back.
pub fn export(entries: &[Entry], columns: Columns, format: GlossaryFormat) -> Result<Exported, FormatError> {
    let columns = columns.max(Columns::for_entries(entries));
    match format {
        GlossaryFormat::Csv => {
            let mut rows = vec![columns.names().iter().map(|name| name.to_string()).collect()];
            for entry in entries {
                rows.push(cells(entry, columns)?);
            }
            Ok(Exported { text: write_csv(&rows)?, losses: Vec::new() })
        }
        GlossaryFormat::Tbx => write_tbx(entries, columns),
        GlossaryFormat::Deepl | GlossaryFormat::Google | GlossaryFormat::Amazon => export_pairs(entries, format),
    }
}

/// Writes `entries` in a two-column format: one row per form and its rendering,
/// ambiguous forms left out.
fn export_pairs(entries: &[Entry], format: GlossaryFormat) -> Result<Exported, FormatError> {
    let mut rows = Vec::new();
    if format == GlossaryFormat::Amazon {
        rows.push(LANGUAGES.map(String::from).to_vec());
    }
    let mut left_out = Vec::new();
    let mut with_ambiguous = 0;
    for entry in entries {
        let before = left_out.len();
        for (label, form) in entry.labelled_forms() {
            if entry.is_ambiguous(label) {
                left_out.push(format!("`{form}`"));
                continue;
            }
            let rendering = entry.rendering(label);
            if format == GlossaryFormat::Deepl {
                for phrase in [form, rendering] {
                    if phrase.len() > DEEPL_MAX_PHRASE_BYTES {
                        return Err(FormatError::Unwritable {
                            format,
                            arabic: entry.arabic.clone(),
                            message: format!(
                                "`{phrase}` is {} bytes long; DeepL takes at most {DEEPL_MAX_PHRASE_BYTES}",
                                phrase.len()
                            ),
                        });
                    }
                }
            }
            rows.push(vec![form.to_string(), rendering.to_string()]);
        }
        if left_out.len() > before {
            with_ambiguous += 1;
        }
    }
    let count = |has: fn(&Entry) -> bool| entries.iter().filter(|e| has(e)).count();
    let losses = [
        (
            "kind and note columns are not representable".to_string(),
            count(|e| e.kind != Kind::Other || !e.note.is_empty()),
        ),
        (
            "variants become rows of their own and are read back as entries of their own".to_string(),
            count(|e| !e.variants.is_empty()),
        ),
        (
            "short forms become rows of their own with their own rendering and are read back as entries of their own"
                .to_string(),
            count(|e| !e.short.is_empty()),
        ),
        (
            format!(
                "ambiguous forms are left out, as the rendering would be forced wherever the common word appears: {}",
                left_out.join(", ")
            ),
            with_ambiguous,
        ),
        (
            "context cues (confirm, refute) are not representable".to_string(),
            count(|e| !e.confirm.is_empty() || !e.refute.is_empty()),
        ),
    ];
    let losses = losses.into_iter().filter(|&(_, n)| n > 0).map(|(what, entries)| Loss { format, what, entries });
    Ok(Exported { text: write_csv(&rows)?, losses: losses.collect() })
}

/// Reads a glossary in `format` from `bytes`; `file` names it in errors. Rows of
/// the two-column formats, and TBX entries without a subject field, get `kind`.
/// The entries are checked as a TSV file's are (a form given two renderings is an
/// error, a repeated entry is left out with a warning).
pub fn import(bytes: &[u8], file: &str, format: GlossaryFormat, kind: Kind) -> Result<Imported, FormatError> {
    let text = decode(bytes, file)?;
    let (columns, rows) = match format {
        GlossaryFormat::Csv => read_csv(text, file)?,
        GlossaryFormat::Tbx => read_tbx(text, file, kind)?,
        GlossaryFormat::Deepl | GlossaryFormat::Google | GlossaryFormat::Amazon => {
            (Columns::Basic, read_pairs(text, file, format, kind)?)
        }
    };
    let mut entries = Vec::with_capacity(rows.len());
    let mut warnings = Vec::new();
    for Row { line, fields } in rows {
        let origin = Origin { file: file.to_string(), line };
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let (entry, entry_warnings) = entry_from_fields(&fields, &origin).map_err(|message| FormatError::Row {
            file: file.into(),
            line,
            message,
        })?;
        entries.push(entry);
        warnings.extend(entry_warnings);
    }
    let (entries, duplicates) = dedup(&entries)?;
    warnings.extend(duplicates);
    Ok(Imported { entries, warnings, columns })
}

/// One entry read from another format: its line and its TSV fields (the five
/// basic columns, or all nine).
struct Row {
    line: usize,
    fields: Vec<String>,
}

/// Where each line of a text starts, found once, so that the line and column of
/// any byte offset is a binary search rather than a count from the start. Import
/// names the line of every record: counted from the start each time, 20,000 TBX
/// entries took 35 s and 100,000 did not finish; with the index, 100,000 entries
/// import in 0.6 s (TBX, 48 MB) and 0.3 s (CSV), as fast as they export (release
/// build, one core).
struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of each line's first byte: 0, then each offset after a `\n`.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let breaks = text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1);
        LineIndex { text, starts: std::iter::once(0).chain(breaks).collect() }
    }

    /// The 1-based line of byte `offset` (clamped to the text).
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        // `starts[0]` is 0, so at least one start is at or before `offset`.
        self.starts.partition_point(|&start| start <= offset)
    }

    /// The 1-based line and column (in characters) of byte `offset`; an offset
    /// inside a character counts as that character's start.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let line = self.line(end);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        (line, self.text.get(start..end).map_or(0, |before| before.chars().count()) + 1)
    }
}

/// The file's text, without a byte-order mark.
fn decode<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, FormatError> {
    let bytes = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|err| {
        let (line, column) = crate::text::utf8_error_position(bytes, &err);
        FormatError::Utf8 { file: file.to_string(), line, column }
    })
}

fn write_csv(rows: &[Vec<String>]) -> Result<String, FormatError> {
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(FormatError::Csv)?;
    }
    let bytes = writer.into_inner().map_err(|err| FormatError::Csv(csv::Error::from(err.into_error())))?;
    // Every field is a `String`, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The records of a CSV text with the line each starts at.
fn csv_records(text: &str, file: &str) -> Result<Vec<(usize, csv::StringRecord)>, FormatError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let lines = LineIndex::new(text);
    let byte =
        |position: Option<&csv::Position>| position.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| FormatError::Row {
            file: file.to_string(),
            line: lines.line(byte(err.position())),
            message: err.to_string(),
        })?;
        // The reader's own line count skips blank lines, and a record's byte offset is
        // where the blank lines before it start: count from its first character.
        let start = byte(record.position()).min(text.len());
        let at =
            text.get(start..).and_then(|rest| rest.find(|c| c != '\n' && c != '\r')).map_or(text.len(), |i| start + i);
        records.push((lines.line(at), record));
    }
    Ok(records)
}

fn read_csv(text: &str, file: &str) -> Result<(Columns, Vec<Row>), FormatError> {
    let row_error = |line: usize, message: String| FormatError::Row { file: file.to_string(), line, message };
    let headers = [Columns::Basic, Columns::Senses].map(|columns| format!("`{}`", columns.names().join(",")));
    let expected = format!("the header {} or {}", headers[0], headers[1]);
    let mut records = csv_records(text, file)?.into_iter();
    let columns = match records.next() {
        Some((line, header)) => [Columns::Basic, Columns::Senses]
            .into_iter()
            .find(|columns| header.iter().eq(columns.names().iter().copied()))
            .ok_or_else(|| row_error(line, format!("expected {expected}")))?,
        None => return Err(row_error(1, format!("empty file: expected {expected}"))),
    };
    let names = columns.names();
    let rows = records
        .map(|(line, record)| {
            if record.len() == names.len() {
                Ok(Row { line, fields: record.iter().map(String::from).collect() })
            } else {
                Err(row_error(
                    line,
                    format!("expected {} columns ({}), found {}", names.len(), names.join(", "), record.len()),
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok((columns, rows))
}

fn read_pairs(text: &str, file: &str, format: GlossaryFormat, kind: Kind) -> Result<Vec<Row>, FormatError> {
    let row_error = |line: usize, message: String| FormatError::Row { file: file.to_string(), line, message };
    let is_header = |record: &csv::StringRecord| {
        record.len() == 2 && record.iter().zip(LANGUAGES).all(|(field, code)| field.trim().eq_ignore_ascii_case(code))
    };
    let mut records = csv_records(text, file)?.into_iter().peekable();
    match records.peek() {
        Some((_, first)) if format != GlossaryFormat::Deepl && is_header(first) => {
            records.next();
        }
        Some((line, _)) if format == GlossaryFormat::Amazon => {
            return Err(row_error(
                *line,
                format!("expected the header `{}` (the languages' codes)", LANGUAGES.join(",")),
            ));
        }
        _ => {}
    }
    let kind = kind.to_string();
    records
        .map(|(line, record)| match <[&str; 2]>::try_from(record.iter().collect::<Vec<_>>()) {
            Ok([arabic, english]) => Ok(Row {
                line,
                fields: vec![arabic.into(), english.into(), kind.clone(), String::new(), String::new()],
            }),
            Err(found) => Err(row_error(line, format!("expected 2 columns (Arabic, English), found {}", found.len()))),
        })
        .collect()
}

/// Escapes `text` for XML content, refusing characters XML 1.0 cannot carry.
fn xml_text(text: &str, entry: &Entry) -> Result<String, FormatError> {
    let allowed =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    match text.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(FormatError::Unwritable {
            format: GlossaryFormat::Tbx,
            arabic: entry.arabic.clone(),
            message: format!("U+{:04X} cannot appear in XML", u32::from(c)),
        }),
        None => Ok(quick_xml::escape::escape(text).into_owned()),
    }
}

/// Appends a `termSec` with `term` (escaped) and its `termNote`s (type, value).
fn term_sec(out: &mut String, term: &str, notes: &[(&str, &str)]) {
    out.push_str(&format!("          <termSec>\n            <term>{term}</term>\n"));
    for (kind, value) in notes {
        out.push_str(&format!("            <termNote type=\"{kind}\">{value}</termNote>\n"));
    }
    out.push_str("          </termSec>\n");
}

fn write_tbx(entries: &[Entry], columns: Columns) -> Result<Exported, FormatError> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if columns == Columns::Senses {
        let (target, content) = INSTRUCTION;
        out.push_str(&format!("<?{target} {content}?>\n"));
    }
    out.push_str(concat!(
        "<tbx type=\"TBX-Basic\" style=\"dca\" xml:lang=\"en\" xmlns=\"urn:iso:std:iso:30042:ed-2\">\n",
        "  <tbxHeader>\n",
        "    <fileDesc>\n",
        "      <sourceDesc>\n",
        "        <p>Arabic names with the English renderings tarjim enforces</p>\n",
        "      </sourceDesc>\n",
        "    </fileDesc>\n",
        "  </tbxHeader>\n",
        "  <text>\n",
        "    <body>\n",
    ));
    let mut reordered = 0;
    for (index, entry) in entries.iter().enumerate() {
        let xml = |text: &str| xml_text(text, entry);
        out.push_str(&format!("      <conceptEntry id=\"c{}\">\n", index + 1));
        out.push_str(&format!("        <descrip type=\"subjectField\">{}</descrip>\n", entry.kind));
        if !entry.note.is_empty() {
            if entry.note.starts_with(CONFIRM) || entry.note.starts_with(REFUTE) {
                return Err(FormatError::Unwritable {
                    format: GlossaryFormat::Tbx,
                    arabic: entry.arabic.clone(),
                    message: format!(
                        "the note starts with `{CONFIRM}` or `{REFUTE}`, which marks a context cue in TBX"
                    ),
                });
            }
            out.push_str(&format!("        <note>{}</note>\n", xml(&entry.note)?));
        }
        for (prefix, cues) in [(CONFIRM, &entry.confirm), (REFUTE, &entry.refute)] {
            for cue in cues {
                out.push_str(&format!("        <note>{prefix} {}</note>\n", xml(cue.text())?));
            }
        }
        out.push_str("        <langSec xml:lang=\"ar\">\n");
        let mut marked = Vec::new();
        for (label, form) in entry.labelled_forms() {
            let status = if label == Form::Term { PREFERRED } else { ADMITTED };
            let mut notes = vec![("administrativeStatus", status)];
            if let Form::Short(_) = label {
                notes.push(("termType", SHORT_FORM));
            }
            if entry.is_ambiguous(label) {
                notes.push(("usageNote", AMBIGUOUS));
                marked.push(form);
            }
            term_sec(&mut out, &xml(form)?, &notes);
        }
        if !marked.iter().copied().eq(entry.ambiguous.iter().map(String::as_str)) {
            reordered += 1;
        }
        out.push_str("        </langSec>\n        <langSec xml:lang=\"en\">\n");
        term_sec(&mut out, &xml(&entry.english)?, &[]);
        for short in &entry.short {
            term_sec(&mut out, &xml(&short.english)?, &[("termType", SHORT_FORM)]);
        }
        out.push_str("        </langSec>\n      </conceptEntry>\n");
    }
    out.push_str("    </body>\n  </text>\n</tbx>\n");
    let losses = (reordered > 0).then(|| Loss {
        format: GlossaryFormat::Tbx,
        what: "ambiguous forms are read back in the order of the forms and spelled as the forms are".to_string(),
        entries: reordered,
    });
    Ok(Exported { text: out, losses: losses.into_iter().collect() })
}

/// Which language a TBX language section holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Arabic,
    English,
    Other,
}

/// What text being read belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Term,
    Status,
    TermType,
    Usage,
    Kind,
    Note,
}

#[derive(Default)]
struct TbxTerm {
    text: String,
    preferred: bool,
    /// `termType` `shortForm`.
    short: bool,
    /// `usageNote` `ambiguous`.
    ambiguous: bool,
}

/// A concept entry being read.
#[derive(Default)]
struct TbxEntry {
    /// Byte offset of its start tag.
    at: usize,
    kind: Option<String>,
    notes: Vec<String>,
    confirm: Vec<String>,
    refute: Vec<String>,
    arabic: Vec<TbxTerm>,
    english: Vec<TbxTerm>,
}

/// The state of a TBX file being read.
struct TbxReader<'a> {
    lines: LineIndex<'a>,
    file: &'a str,
    kind: String,
    /// Open elements: local name and the byte offset of the start tag.
    open: Vec<(String, usize)>,
    entry: Option<TbxEntry>,
    lang: Option<Lang>,
    term: Option<TbxTerm>,
    /// The field whose text is being read, the depth of its element, and the text.
    capture: Option<(Field, usize, String)>,
    rows: Vec<Row>,
    seen_root: bool,
    /// The columns the file declares.
    columns: Columns,
}

impl TbxReader<'_> {
    fn error(&self, at: usize, message: impl Into<String>) -> FormatError {
        let (line, column) = self.lines.line_column(at);
        FormatError::Xml { file: self.file.to_string(), line, column, message: message.into() }
    }

    fn attribute(&self, element: &BytesStart, name: &str, at: usize) -> Result<Option<String>, FormatError> {
        match element.try_get_attribute(name) {
            Ok(Some(attribute)) => match attribute.normalized_value(XmlVersion::Implicit1_0) {
                Ok(value) => Ok(Some(value.into_owned())),
                Err(err) => Err(self.error(at, err.to_string())),
            },
            Ok(None) => Ok(None),
            Err(err) => Err(self.error(at, err.to_string())),
        }
    }

    fn start(&mut self, element: &BytesStart, at: usize) -> Result<(), FormatError> {
        let local_name = element.local_name();
        let name: String = String::from(AsRef::<str>::as_ref(&local_name));
        if self.open.is_empty() {
            if self.seen_root {
                return Err(self.error(at, "broken XML: a second root element"));
            }
            if !matches!(name.as_str(), "tbx" | "martif") {
                return Err(self.error(at, format!("not a TBX file: the root element is `{name}`, not `tbx`")));
            }
            self.seen_root = true;
        }
        let depth = self.open.len() + 1;
        let type_is = |this: &Self, value: &str| -> Result<bool, FormatError> {
            Ok(this.attribute(element, "type", at)?.as_deref() == Some(value))
        };
        match name.as_str() {
            "conceptEntry" | "termEntry" => {
                if self.entry.is_some() {
                    return Err(self.error(at, format!("`{name}` inside another entry")));
                }
                self.entry = Some(TbxEntry { at, ..TbxEntry::default() });
            }
            "langSec" | "langSet" if self.entry.is_some() => {
                let code = self.attribute(element, "xml:lang", at)?.unwrap_or_default();
                let primary = code.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
                self.lang = Some(match primary.as_str() {
                    "ar" => Lang::Arabic,
                    "en" => Lang::English,
                    _ => Lang::Other,
                });
            }
            "termSec" | "tig" | "ntig" if self.lang.is_some() => self.term = Some(TbxTerm::default()),
            "term" if self.term.is_some() => self.capture = Some((Field::Term, depth, String::new())),
            "termNote" if self.term.is_some() => {
                let field = match self.attribute(element, "type", at)?.as_deref() {
                    Some("administrativeStatus") => Some(Field::Status),
                    Some("termType") => Some(Field::TermType),
                    Some("usageNote") => Some(Field::Usage),
                    _ => None,
                };
                if let Some(field) = field {
                    self.capture = Some((field, depth, String::new()));
                }
            }
            "descrip" if self.entry.is_some() && self.lang.is_none() && type_is(self, "subjectField")? => {
                self.capture = Some((Field::Kind, depth, String::new()));
            }
            "note" if self.entry.is_some() && self.lang.is_none() => {
                self.capture = Some((Field::Note, depth, String::new()))
            }
            _ => {}
        }
        self.open.push((name, at));
        Ok(())
    }

    fn end(&mut self) -> Result<(), FormatError> {
        let depth = self.open.len();
        let Some((name, _)) = self.open.pop() else { return Ok(()) };
        if let Some((field, _, text)) = self.capture.take_if(|(_, d, _)| *d == depth) {
            match field {
                Field::Term => {
                    if let Some(term) = self.term.as_mut() {
                        term.text.push_str(&text);
                    }
                }
                Field::Status => {
                    if let Some(term) = self.term.as_mut() {
                        term.preferred = text.trim() == PREFERRED;
                    }
                }
                Field::TermType => {
                    if let Some(term) = self.term.as_mut() {
                        term.short = text.trim() == SHORT_FORM;
                    }
                }
                Field::Usage => {
                    if let Some(term) = self.term.as_mut() {
                        term.ambiguous |= text.trim() == AMBIGUOUS;
                    }
                }
                Field::Kind => {
                    if let Some(entry) = self.entry.as_mut() {
                        entry.kind = Some(text.trim().to_string());
                    }
                }
                Field::Note => {
                    if let Some(entry) = self.entry.as_mut() {
                        let text = text.trim();
                        if let Some(cue) = text.strip_prefix(CONFIRM) {
                            entry.confirm.push(cue.trim().to_string());
                        } else if let Some(cue) = text.strip_prefix(REFUTE) {
                            entry.refute.push(cue.trim().to_string());
                        } else {
                            entry.notes.push(text.to_string());
                        }
                    }
                }
            }
        }
        match name.as_str() {
            "termSec" | "tig" | "ntig" => {
                if let (Some(term), Some(lang), Some(entry)) = (self.term.take(), self.lang, self.entry.as_mut()) {
                    match lang {
                        Lang::Arabic => entry.arabic.push(term),
                        Lang::English => entry.english.push(term),
                        Lang::Other => {}
                    }
                }
            }
            "langSec" | "langSet" => self.lang = None,
            "conceptEntry" | "termEntry" => {
                if let Some(entry) = self.entry.take() {
                    let row = self.finish(entry)?;
                    self.rows.push(row);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The row of a concept entry read to its end.
    fn finish(&self, entry: TbxEntry) -> Result<Row, FormatError> {
        let at = entry.at;
        // Each item of a `|`-separated cell: not empty, without `|`.
        let item = |what: &str, text: &str| {
            if text.trim().is_empty() {
                Err(self.error(at, format!("empty {what}")))
            } else if text.contains('|') {
                Err(self.error(at, format!("{what} `{text}` holds `|`, which separates the items of a glossary cell")))
            } else {
                Ok(())
            }
        };
        let (short_arabic, mut arabic): (Vec<TbxTerm>, Vec<TbxTerm>) = entry.arabic.into_iter().partition(|t| t.short);
        let (short_english, english): (Vec<TbxTerm>, Vec<TbxTerm>) = entry.english.into_iter().partition(|t| t.short);
        if arabic.is_empty() {
            return Err(self.error(at, "the entry has no Arabic term (a langSec with xml:lang=\"ar\")"));
        }
        if short_arabic.len() != short_english.len() {
            return Err(self.error(
                at,
                format!(
                    "the entry has {} Arabic and {} English short forms (termType shortForm); they pair in order",
                    short_arabic.len(),
                    short_english.len()
                ),
            ));
        }
        let first = arabic.iter().position(|t| t.preferred).unwrap_or(0);
        let term = arabic.remove(first);
        for variant in &arabic {
            item("variant", &variant.text)?;
        }
        let mut short = Vec::with_capacity(short_arabic.len());
        for (arabic, english) in short_arabic.iter().zip(&short_english) {
            item("short form", &arabic.text)?;
            item("short form", &english.text)?;
            if arabic.text.contains('=') {
                return Err(self.error(
                    at,
                    format!("short form `{}` holds `=`, which separates it from its rendering", arabic.text),
                ));
            }
            short.push(format!("{}={}", arabic.text, english.text));
        }
        let mut ambiguous = Vec::new();
        for form in std::iter::once(&term).chain(&arabic).chain(&short_arabic).filter(|t| t.ambiguous) {
            item("ambiguous form", &form.text)?;
            ambiguous.push(form.text.as_str());
        }
        for cue in entry.confirm.iter().chain(&entry.refute) {
            item("cue", cue)?;
        }
        let preferred: Vec<&TbxTerm> = english.iter().filter(|t| t.preferred).collect();
        let rendering = match (english.as_slice(), preferred.as_slice()) {
            ([], _) => return Err(self.error(at, "the entry has no English term (a langSec with xml:lang=\"en\")")),
            ([only], _) => only.text.clone(),
            (_, [only]) => only.text.clone(),
            (all, _) => {
                return Err(self.error(
                    at,
                    format!("the entry has {} English terms and not one preferred; a rendering must be one", all.len()),
                ));
            }
        };
        let kind = entry.kind.unwrap_or_else(|| self.kind.clone());
        let variants: Vec<&str> = arabic.iter().map(|t| t.text.as_str()).collect();
        let line = self.lines.line(at);
        let fields = vec![
            term.text.clone(),
            rendering,
            kind,
            variants.join("|"),
            entry.notes.join("; "),
            short.join("|"),
            ambiguous.join("|"),
            entry.confirm.join("|"),
            entry.refute.join("|"),
        ];
        Ok(Row { line, fields })
    }

    /// Reads a processing instruction: `<?tarjim columns="9"?>` declares the
    /// sense columns; other targets are skipped.
    fn instruction(&mut self, target: &str, content: &str, at: usize) -> Result<(), FormatError> {
        let (ours, senses) = INSTRUCTION;
        if target != ours {
            return Ok(());
        }
        if content.trim() != senses {
            return Err(self.error(
                at,
                format!("unknown instruction `<?{target}{content}?>`; tarjim writes `<?{ours} {senses}?>`"),
            ));
        }
        self.columns = Columns::Senses;
        Ok(())
    }
}

fn read_tbx(text: &str, file: &str, kind: Kind) -> Result<(Columns, Vec<Row>), FormatError> {
    let mut reader = Reader::from_str(text);
    let mut state = TbxReader {
        lines: LineIndex::new(text),
        file,
        kind: kind.to_string(),
        open: Vec::new(),
        entry: None,
        lang: None,
        term: None,
        capture: None,
        rows: Vec::new(),
        seen_root: false,
        columns: Columns::Basic,
    };
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(text.len());
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX).min(text.len());
                return Err(state.error(at, format!("broken XML: {err}")));
            }
        };
        match event {
            Event::Start(element) => state.start(&element, at)?,
            Event::Empty(element) => {
                state.start(&element, at)?;
                state.end()?;
            }
            Event::End(_) => state.end()?,
            Event::Text(content) => {
                if let Some((_, _, buffer)) = state.capture.as_mut() {
                    buffer.push_str(&content.xml10_content());
                } else if state.open.is_empty() && !content.xml10_content().trim().is_empty() {
                    return Err(state.error(at, "broken XML: text outside the root element"));
                }
            }
            Event::CData(content) => {
                if let Some((_, _, buffer)) = state.capture.as_mut() {
                    buffer.push_str(&content.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(text) => text.to_string(),
                            None => return Err(state.error(at, format!("broken XML: unknown entity `&{name};`"))),
                        }
                    }
                    Err(err) => return Err(state.error(at, format!("broken XML: {err}"))),
                };
                if let Some((_, _, buffer)) = state.capture.as_mut() {
                    buffer.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::PI(instruction) => state.instruction(instruction.target(), instruction.content(), at)?,
            Event::Comment(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
    if let Some((name, at)) = state.open.last() {
        return Err(state.error(*at, format!("broken XML: `<{name}>` is never closed")));
    }
    if !state.seen_root {
        return Err(state.error(text.len(), "not a TBX file: no root element"));
    }
    Ok((state.columns, state.rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::BUILTIN;
    use crate::glossary::parse::{HEADER, HEADER_SENSES, parse, parse_with_columns};
    use crate::glossary_tools::write::write_tsv;

    fn entries(tsv: &str) -> Vec<Entry> {
        parse(tsv.as_bytes(), "g.tsv").unwrap().0
    }

    fn sample() -> Vec<Entry> {
        entries(&format!(
            "{HEADER}\nحزب الله\tHezbollah\torg\tحزب الله اللبناني|حزبالله\tLebanese party, \"armed\"\nصنعاء\tSanaa\tplace\t\t\n"
        ))
    }

    fn import_str(text: &str, format: GlossaryFormat) -> Result<Vec<Entry>, FormatError> {
        import(text.as_bytes(), "in", format, Kind::Other).map(|i| i.entries)
    }

    #[test]
    fn csv_quotes_as_rfc_4180_and_reads_back() {
        let out = export(&sample(), Columns::Basic, GlossaryFormat::Csv).unwrap();
        assert_eq!(
            out.text,
            "arabic,english,kind,variants,note\n\
             حزب الله,Hezbollah,org,حزب الله اللبناني|حزبالله,\"Lebanese party, \"\"armed\"\"\"\n\
             صنعاء,Sanaa,place,,\n"
        );
        assert!(out.losses.is_empty());
        let back = import_str(&out.text, GlossaryFormat::Csv).unwrap();
        assert_eq!(write_tsv(&back, Columns::Basic).unwrap(), write_tsv(&sample(), Columns::Basic).unwrap());
    }

    #[test]
    fn two_column_formats_write_one_row_per_form_and_report_losses() {
        let deepl = export(&sample(), Columns::Basic, GlossaryFormat::Deepl).unwrap();
        assert_eq!(deepl.text, "حزب الله,Hezbollah\nحزب الله اللبناني,Hezbollah\nحزبالله,Hezbollah\nصنعاء,Sanaa\n");
        assert_eq!(
            deepl.losses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "deepl: kind and note columns are not representable; 2 entries affected",
                "deepl: variants become rows of their own and are read back as entries of their own; 1 entries affected",
            ]
        );
        assert_eq!(export(&sample(), Columns::Basic, GlossaryFormat::Google).unwrap().text, deepl.text);
        assert_eq!(
            export(&sample(), Columns::Basic, GlossaryFormat::Amazon).unwrap().text,
            format!("ar,en\n{}", deepl.text)
        );
        let back =
            import("ar,en\nحماس,Hamas\n\"حزب, الله\",Hezbollah\n".as_bytes(), "in", GlossaryFormat::Google, Kind::Org)
                .unwrap();
        assert_eq!(
            write_tsv(&back.entries, Columns::Basic).unwrap(),
            format!("{HEADER}\nحزب, الله\tHezbollah\torg\t\t\nحماس\tHamas\torg\t\t\n")
        );
        let long = format!("{HEADER}\nحماس\t{}\torg\t\t\n", "A".repeat(1025));
        let err = export(&entries(&long), Columns::Basic, GlossaryFormat::Deepl).unwrap_err().to_string();
        assert!(err.starts_with("deepl: `حماس`: `AAAA"), "{err}");
        assert!(err.ends_with("` is 1025 bytes long; DeepL takes at most 1024"), "{err}");
    }

    #[test]
    fn two_column_import_errors_name_the_line() {
        assert_eq!(
            import_str("حماس,Hamas\n\nحزب الله,Hezbollah,org\n", GlossaryFormat::Deepl).unwrap_err().to_string(),
            "in:3: expected 2 columns (Arabic, English), found 3"
        );
        assert_eq!(
            import_str("حماس,Hamas\n", GlossaryFormat::Amazon).unwrap_err().to_string(),
            "in:1: expected the header `ar,en` (the languages' codes)"
        );
        assert_eq!(
            import_str("ar,en\nحماس,Hamas\nحماس,Hamas movement\n", GlossaryFormat::Google).unwrap_err().to_string(),
            "in:3: `حماس` is rendered `Hamas movement` here but `Hamas` at line 2"
        );
        assert_eq!(
            import_str("Hamas,حماس\n", GlossaryFormat::Deepl).unwrap_err().to_string(),
            "in:1: Arabic term `Hamas` has no Arabic letter"
        );
        let imported = import(b"\xEF\xBB\xBFar,en\nhamas,x\n", "in", GlossaryFormat::Amazon, Kind::Other);
        assert_eq!(imported.unwrap_err().to_string(), "in:2: Arabic term `hamas` has no Arabic letter");
        assert_eq!(import_str("حماس,Hamas\nحماس,Hamas\n", GlossaryFormat::Deepl).unwrap().len(), 1);
    }

    #[test]
    fn csv_import_errors_name_the_line() {
        assert_eq!(
            import_str("arabic,english\n", GlossaryFormat::Csv).unwrap_err().to_string(),
            "in:1: expected the header `arabic,english,kind,variants,note` or \
             `arabic,english,kind,variants,note,short,ambiguous,confirm,refute`"
        );
        assert_eq!(
            import_str("", GlossaryFormat::Csv).unwrap_err().to_string(),
            "in:1: empty file: expected the header `arabic,english,kind,variants,note` or \
             `arabic,english,kind,variants,note,short,ambiguous,confirm,refute`"
        );
        assert_eq!(
            import_str(
                "arabic,english,kind,variants,note\n\"حماس\nx\",Hamas,org,,\nحزب,Hezbollah\n",
                GlossaryFormat::Csv
            )
            .unwrap_err()
            .to_string(),
            "in:4: expected 5 columns (arabic, english, kind, variants, note), found 2"
        );
        assert_eq!(
            import_str("arabic,english,kind,variants,note\nحماس,Hamas,group,,\n", GlossaryFormat::Csv)
                .unwrap_err()
                .to_string(),
            "in:2: unknown kind `group` (expected org, person, place or other)"
        );
        assert_eq!(
            import_str("arabic,english,kind,variants,note\nحماس,Hamas,org,,\"a\tb\"\n", GlossaryFormat::Csv)
                .unwrap_err()
                .to_string(),
            "in:2: the note holds a tab or a line break, which a glossary row cannot hold"
        );
        let mut bad = b"arabic,english,kind,variants,note\n\xd8\xad\xd9".to_vec();
        bad.extend_from_slice(b",x,org,,\n");
        let err = import(&bad, "in", GlossaryFormat::Csv, Kind::Other).unwrap_err().to_string();
        assert_eq!(err, "in:2:2: invalid UTF-8");
    }

    #[test]
    fn tbx_round_trips_and_reads_tbx_2008() {
        let out = export(&sample(), Columns::Basic, GlossaryFormat::Tbx).unwrap();
        assert!(out.losses.is_empty());
        assert!(out.text.contains(concat!(
            "      <conceptEntry id=\"c1\">\n",
            "        <descrip type=\"subjectField\">org</descrip>\n",
            "        <note>Lebanese party, &quot;armed&quot;</note>\n",
            "        <langSec xml:lang=\"ar\">\n",
            "          <termSec>\n",
            "            <term>حزب الله</term>\n",
            "            <termNote type=\"administrativeStatus\">preferredTerm-admn-sts</termNote>\n",
            "          </termSec>\n",
        )));
        let back = import_str(&out.text, GlossaryFormat::Tbx).unwrap();
        assert_eq!(write_tsv(&back, Columns::Basic).unwrap(), write_tsv(&sample(), Columns::Basic).unwrap());
        assert_eq!(back[1].origin.line, 35);

        let old = r#"<?xml version="1.0"?>
<martif type="TBX" xml:lang="en"><text><body>
<termEntry>
  <descripGrp><descrip type="subjectField">person</descrip></descripGrp>
  <langSet xml:lang="en-US"><tig><term>Amos Hochstein</term></tig></langSet>
  <langSet xml:lang="fr"><tig><term>Amos Hochstein</term></tig></langSet>
  <langSet xml:lang="AR"><ntig><termGrp><term>هوكستين</term></termGrp></ntig>
    <tig><term>آموس &#x647;وكستين</term><termNote type="administrativeStatus">preferredTerm-admn-sts</termNote></tig></langSet>
</termEntry>
<termEntry><langSet xml:lang="ar"><tig><term><![CDATA[صنعاء]]></term></tig></langSet>
  <langSet xml:lang="en"><tig><term>Sanaa &amp; Co</term></tig></langSet></termEntry>
</body></text></martif>"#;
        let read = import(old.as_bytes(), "old.tbx", GlossaryFormat::Tbx, Kind::Place).unwrap().entries;
        assert_eq!(
            write_tsv(&read, Columns::Basic).unwrap(),
            format!("{HEADER}\nآموس هوكستين\tAmos Hochstein\tperson\tهوكستين\t\nصنعاء\tSanaa & Co\tplace\t\t\n")
        );
    }

    #[test]
    fn broken_or_foreign_xml_is_a_one_line_error() {
        let cases = [
            (
                "<tbx><text><body><conceptEntry></body></text></tbx>",
                "in:1:32: broken XML: ill-formed document: expected `</conceptEntry>`, but `</body>` was found",
            ),
            ("<tbx>\n  <text>", "in:2:3: broken XML: `<text>` is never closed"),
            ("<html></html>", "in:1:1: not a TBX file: the root element is `html`, not `tbx`"),
            ("", "in:1:1: not a TBX file: no root element"),
            ("<tbx>&nbsp;</tbx>", "in:1:6: broken XML: unknown entity `&nbsp;`"),
            (
                "<tbx><conceptEntry>\n<langSec xml:lang=\"en\"><termSec><term>X</term></termSec></langSec></conceptEntry></tbx>",
                "in:1:6: the entry has no Arabic term (a langSec with xml:lang=\"ar\")",
            ),
            (
                "<tbx><conceptEntry><langSec xml:lang=\"ar\"><termSec><term>حماس</term></termSec></langSec>\
                 <langSec xml:lang=\"en\"><termSec><term>A</term></termSec><termSec><term>B</term></termSec></langSec>\
                 </conceptEntry></tbx>",
                "in:1:6: the entry has 2 English terms and not one preferred; a rendering must be one",
            ),
        ];
        for (xml, want) in cases {
            let err = import_str(xml, GlossaryFormat::Tbx).unwrap_err().to_string();
            assert!(err.starts_with(want), "{xml}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn builtin_round_trips_through_csv_and_tbx() {
        let (builtin, _, columns) = parse_with_columns(BUILTIN.as_bytes(), "builtin.tsv").unwrap();
        let canonical = write_tsv(&builtin, columns).unwrap();
        assert_eq!(canonical, BUILTIN, "the built-in glossary is canonical");
        for format in [GlossaryFormat::Csv, GlossaryFormat::Tbx] {
            let out = export(&builtin, columns, format).unwrap();
            assert!(out.losses.is_empty(), "{format}: {:?}", out.losses);
            let back = import(out.text.as_bytes(), "out", format, Kind::Other).unwrap();
            assert!(back.warnings.is_empty(), "{format}: {:?}", back.warnings);
            assert_eq!(write_tsv(&back.entries, back.columns).unwrap(), canonical, "{format}");
        }
    }

    /// A file with the sense columns, each of them used.
    fn senses_tsv() -> String {
        format!(
            "{HEADER_SENSES}\n\
             الجزيرة\tAl Jazeera\torg\tقناة الجزيرة\tQatari network, \"the island\"\t\tالجزيرة\tقناة ~|~ الإخبارية\tشبه ~|~ العربية\n\
             بشار الأسد\tBashar al-Assad\tperson\tبشار حافظ الأسد\t\tالأسد=Assad|بشار=Bashar\tالأسد\tالرئيس ~|دمشق\tعرين ~\n\
             صنعاء\tSanaa\tplace\t\t\t\t\t\t\n"
        )
    }

    /// The `tbx` export of the second entry of [`senses_tsv`].
    const ASSAD_TBX: &str = concat!(
        "      <conceptEntry id=\"c2\">\n",
        "        <descrip type=\"subjectField\">person</descrip>\n",
        "        <note>confirm: الرئيس ~</note>\n",
        "        <note>confirm: دمشق</note>\n",
        "        <note>refute: عرين ~</note>\n",
        "        <langSec xml:lang=\"ar\">\n",
        "          <termSec>\n",
        "            <term>بشار الأسد</term>\n",
        "            <termNote type=\"administrativeStatus\">preferredTerm-admn-sts</termNote>\n",
        "          </termSec>\n",
        "          <termSec>\n",
        "            <term>بشار حافظ الأسد</term>\n",
        "            <termNote type=\"administrativeStatus\">admittedTerm-admn-sts</termNote>\n",
        "          </termSec>\n",
        "          <termSec>\n",
        "            <term>الأسد</term>\n",
        "            <termNote type=\"administrativeStatus\">admittedTerm-admn-sts</termNote>\n",
        "            <termNote type=\"termType\">shortForm</termNote>\n",
        "            <termNote type=\"usageNote\">ambiguous</termNote>\n",
        "          </termSec>\n",
        "          <termSec>\n",
        "            <term>بشار</term>\n",
        "            <termNote type=\"administrativeStatus\">admittedTerm-admn-sts</termNote>\n",
        "            <termNote type=\"termType\">shortForm</termNote>\n",
        "          </termSec>\n",
        "        </langSec>\n",
        "        <langSec xml:lang=\"en\">\n",
        "          <termSec>\n",
        "            <term>Bashar al-Assad</term>\n",
        "          </termSec>\n",
        "          <termSec>\n",
        "            <term>Assad</term>\n",
        "            <termNote type=\"termType\">shortForm</termNote>\n",
        "          </termSec>\n",
        "          <termSec>\n",
        "            <term>Bashar</term>\n",
        "            <termNote type=\"termType\">shortForm</termNote>\n",
        "          </termSec>\n",
        "        </langSec>\n",
        "      </conceptEntry>\n",
    );

    #[test]
    fn sense_columns_round_trip_through_csv_and_tbx() {
        let tsv = senses_tsv();
        let (entries, _, columns) = parse_with_columns(tsv.as_bytes(), "g.tsv").unwrap();
        assert_eq!(write_tsv(&entries, columns).unwrap(), tsv);
        let csv = export(&entries, columns, GlossaryFormat::Csv).unwrap();
        assert_eq!(
            csv.text,
            "arabic,english,kind,variants,note,short,ambiguous,confirm,refute\n\
             الجزيرة,Al Jazeera,org,قناة الجزيرة,\"Qatari network, \"\"the island\"\"\",,الجزيرة,قناة ~|~ الإخبارية,شبه ~|~ العربية\n\
             بشار الأسد,Bashar al-Assad,person,بشار حافظ الأسد,,الأسد=Assad|بشار=Bashar,الأسد,الرئيس ~|دمشق,عرين ~\n\
             صنعاء,Sanaa,place,,,,,,\n"
        );
        let tbx = export(&entries, columns, GlossaryFormat::Tbx).unwrap();
        assert!(tbx.text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?tarjim columns=\"9\"?>\n<tbx "));
        assert!(tbx.text.contains(ASSAD_TBX), "{}", tbx.text);
        assert!(tbx.text.contains(
            "        <note>Qatari network, &quot;the island&quot;</note>\n        <note>confirm: قناة ~</note>\n"
        ));
        for out in [&csv, &tbx] {
            assert!(out.losses.is_empty());
        }
        for (format, out) in [(GlossaryFormat::Csv, csv), (GlossaryFormat::Tbx, tbx)] {
            let back = import(out.text.as_bytes(), "in", format, Kind::Other).unwrap();
            assert_eq!(back.columns, Columns::Senses, "{format}");
            assert_eq!(write_tsv(&back.entries, back.columns).unwrap(), tsv, "{format}");
        }
        // A file with the sense columns but no entry using them keeps them.
        let empty = format!("{HEADER_SENSES}\nصنعاء\tSanaa\tplace\t\t\t\t\t\t\n");
        let (entries, _, columns) = parse_with_columns(empty.as_bytes(), "g.tsv").unwrap();
        for format in [GlossaryFormat::Csv, GlossaryFormat::Tbx] {
            let out = export(&entries, columns, format).unwrap();
            let back = import(out.text.as_bytes(), "in", format, Kind::Other).unwrap();
            assert_eq!(write_tsv(&back.entries, back.columns).unwrap(), empty, "{format}");
        }
        // A basic file stays basic.
        let basic = export(&sample(), Columns::Basic, GlossaryFormat::Tbx).unwrap();
        assert_eq!(import_str(&basic.text, GlossaryFormat::Tbx).map(|e| e.len()).unwrap(), 2);
        assert_eq!(
            import(basic.text.as_bytes(), "in", GlossaryFormat::Tbx, Kind::Other).unwrap().columns,
            Columns::Basic
        );
    }

    #[test]
    fn tbx_reports_ambiguous_forms_it_reorders_and_refuses_cue_like_notes() {
        let tsv = format!("{HEADER_SENSES}\nبشار الأسد\tBashar al-Assad\tperson\t\t\tالأسد=Assad\tالاسد|بشار الأسد\t\t\n");
        let out = export(&entries(&tsv), Columns::Senses, GlossaryFormat::Tbx).unwrap();
        assert_eq!(
            out.losses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "tbx: ambiguous forms are read back in the order of the forms and spelled as the forms are; 1 entries affected"
            ]
        );
        let back = import_str(&out.text, GlossaryFormat::Tbx).unwrap();
        assert_eq!(back[0].ambiguous, vec!["بشار الأسد", "الأسد"]);
        let note = format!("{HEADER}\nصنعاء\tSanaa\tplace\t\trefute: not a cue\n");
        assert_eq!(
            export(&entries(&note), Columns::Basic, GlossaryFormat::Tbx).unwrap_err().to_string(),
            "tbx: `صنعاء`: the note starts with `confirm:` or `refute:`, which marks a context cue in TBX"
        );
    }

    #[test]
    fn tbx_sense_errors_name_the_entry() {
        let entry = |ar: &str, en: &str, notes: &str| {
            format!(
                "<tbx>\n<conceptEntry>{notes}<langSec xml:lang=\"ar\"><termSec><term>بشار الأسد</term></termSec>{ar}</langSec>\n\
                 <langSec xml:lang=\"en\"><termSec><term>Bashar al-Assad</term></termSec>{en}</langSec></conceptEntry></tbx>"
            )
        };
        let short = |term: &str| {
            format!("<termSec><term>{term}</term><termNote type=\"termType\">shortForm</termNote></termSec>")
        };
        let cases = [
            (
                entry(&format!("{}{}", short("الأسد"), short("بشار")), &short("Assad"), ""),
                "in:2:1: the entry has 2 Arabic and 1 English short forms (termType shortForm); they pair in order",
            ),
            (
                entry(&short("الأسد"), &short("As|sad"), ""),
                "in:2:1: short form `As|sad` holds `|`, which separates the items of a glossary cell",
            ),
            (
                entry(&short("الأسد=x"), &short("Assad"), ""),
                "in:2:1: short form `الأسد=x` holds `=`, which separates it from its rendering",
            ),
            (
                entry("", "", "<note>confirm: دمشق|حمص</note>"),
                "in:2:1: cue `دمشق|حمص` holds `|`, which separates the items of a glossary cell",
            ),
            (entry("", "", "<note>refute:</note>"), "in:2:1: empty cue"),
            (entry("", "", "<note>confirm: Damascus</note>"), "in:2: cue `Damascus`: `Damascus` is not an Arabic word"),
            (
                "<?tarjim columns=\"5\"?>\n<tbx/>".to_string(),
                "in:1:1: unknown instruction `<?tarjim columns=\"5\"?>`; tarjim writes `<?tarjim columns=\"9\"?>`",
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(import_str(&xml, GlossaryFormat::Tbx).unwrap_err().to_string(), want, "{xml}");
        }
        // Other processing instructions are skipped.
        assert!(import_str("<?xml-model href=\"basic.rng\"?><tbx/>", GlossaryFormat::Tbx).unwrap().is_empty());
    }

    #[test]
    fn csv_with_sense_columns_checks_its_rows() {
        let head = "arabic,english,kind,variants,note,short,ambiguous,confirm,refute\n";
        assert_eq!(
            import_str(&format!("{head}حماس,Hamas,org,,\n"), GlossaryFormat::Csv).unwrap_err().to_string(),
            "in:2: expected 9 columns (arabic, english, kind, variants, note, short, ambiguous, confirm, refute), found 5"
        );
        assert_eq!(
            import_str(&format!("{head}حماس,Hamas,org,,,حماس=Hamas,,,\n"), GlossaryFormat::Csv)
                .unwrap_err()
                .to_string(),
            "in:2: short form `حماس` repeats a form of the entry"
        );
    }

    #[test]
    fn two_column_formats_write_short_forms_and_leave_ambiguous_forms_out() {
        let (entries, _, columns) = parse_with_columns(senses_tsv().as_bytes(), "g.tsv").unwrap();
        let deepl = export(&entries, columns, GlossaryFormat::Deepl).unwrap();
        assert_eq!(
            deepl.text,
            "قناة الجزيرة,Al Jazeera\nبشار الأسد,Bashar al-Assad\nبشار حافظ الأسد,Bashar al-Assad\nبشار,Bashar\nصنعاء,Sanaa\n"
        );
        assert_eq!(
            deepl.losses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "deepl: kind and note columns are not representable; 3 entries affected",
                "deepl: variants become rows of their own and are read back as entries of their own; 2 entries affected",
                "deepl: short forms become rows of their own with their own rendering and are read back as entries of \
                 their own; 1 entries affected",
                "deepl: ambiguous forms are left out, as the rendering would be forced wherever the common word \
                 appears: `الجزيرة`, `الأسد`; 2 entries affected",
                "deepl: context cues (confirm, refute) are not representable; 2 entries affected",
            ]
        );
    }

    #[test]
    fn line_index_gives_the_line_and_column_of_offsets_deep_in_a_file() {
        let text = (0..5000).map(|i| format!("سطر {i}\tline {i}\r\n")).collect::<String>() + "آخر";
        let lines = LineIndex::new(&text);
        let at = text.find("سطر 4320\t").unwrap();
        assert_eq!(lines.line_column(at), (4321, 1));
        assert_eq!(lines.line_column(at + 1), (4321, 1), "inside a character");
        assert_eq!(lines.line_column(at + "سطر 4320\tl".len()), (4321, 11));
        assert_eq!(lines.line_column(at - 1), (4320, 20), "the line break ends the line before");
        assert_eq!(lines.line_column(0), (1, 1));
        assert_eq!(lines.line_column(text.len()), (5001, 4));
        assert_eq!(lines.line_column(text.len() + 9), (5001, 4), "past the end");
        assert_eq!(lines.line(at), 4321);
        for offset in (0..=text.len()).step_by(997) {
            assert_eq!(lines.line_column(offset), crate::text::line_column(&text, offset), "{offset}");
        }
    }

    /// `n` entries without notes, with distinct terms: `س` and three letters.
    fn generated(n: usize) -> Vec<Entry> {
        let letters: Vec<char> = "بتثجحخدذرزسشصضطظعغفقكلمنهوي".chars().collect();
        let row = |i: usize| {
            let letter = |place: u32| letters[i / letters.len().pow(place) % letters.len()];
            format!("س{}{}{}\tName {i}\torg\t\t\n", letter(2), letter(1), letter(0))
        };
        entries(&format!("{HEADER}\n{}", (0..n).map(row).collect::<String>()))
    }

    #[test]
    fn tbx_import_places_entries_and_errors_deep_in_a_5k_entry_file() {
        let tbx = export(&generated(5000), Columns::Basic, GlossaryFormat::Tbx).unwrap().text;
        // 11 lines of header, then 14 lines per entry.
        let back = import_str(&tbx, GlossaryFormat::Tbx).unwrap();
        assert_eq!((back[4320].english.as_str(), back[4320].origin.line), ("Name 4320", 60_492));
        let entry = tbx.find("<conceptEntry id=\"c4321\">").unwrap();
        assert_eq!(crate::text::line_column(&tbx, entry), (60_492, 7));

        // Entry 4321 without its English section.
        let en = entry + tbx[entry..].find("        <langSec xml:lang=\"en\">").unwrap();
        let end = en + tbx[en..].find("</langSec>\n").unwrap() + "</langSec>\n".len();
        let no_english = format!("{}{}", &tbx[..en], &tbx[end..]);
        assert_eq!(
            import_str(&no_english, GlossaryFormat::Tbx).unwrap_err().to_string(),
            "in:60492:7: the entry has no English term (a langSec with xml:lang=\"en\")"
        );
        // Its term's end tag misspelt: the error is at the tag, on the entry's fifth line.
        let misspelt = format!("{}{}", &tbx[..entry], tbx[entry..].replacen("</term>", "</trem>", 1));
        assert_eq!(
            import_str(&misspelt, GlossaryFormat::Tbx).unwrap_err().to_string(),
            "in:60496:23: broken XML: ill-formed document: expected `</term>`, but `</trem>` was found"
        );
    }

    #[test]
    fn csv_import_places_rows_and_errors_deep_in_a_5k_entry_file() {
        let csv = export(&generated(5000), Columns::Basic, GlossaryFormat::Csv).unwrap().text;
        // Two blank lines after the header: row 4321 is on line 4324.
        let csv = csv.replacen('\n', "\n\n\n", 1);
        let back = import_str(&csv, GlossaryFormat::Csv).unwrap();
        assert_eq!((back[4320].english.as_str(), back[4320].origin.line), ("Name 4320", 4324));
        let short = csv.replacen("Name 4320,org,,\n", "Name 4320,org,\n", 1);
        assert_eq!(
            import_str(&short, GlossaryFormat::Csv).unwrap_err().to_string(),
            "in:4324: expected 5 columns (arabic, english, kind, variants, note), found 4"
        );
        let mut bytes = csv.into_bytes();
        let row = bytes.windows(10).position(|w| w == b"Name 4320,").unwrap();
        bytes[row + 2] = 0xff;
        assert_eq!(
            import(&bytes, "in", GlossaryFormat::Csv, Kind::Other).unwrap_err().to_string(),
            "in:4324:8: invalid UTF-8"
        );
    }
}
