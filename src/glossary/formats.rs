//! Glossaries in other formats: plain CSV, TBX, and the CSV glossaries of DeepL,
//! Google Cloud Translation and Amazon Translate.
//!
//! * `csv`: the five TSV columns as RFC 4180 CSV, with the header
//!   `arabic,english,kind,variants,note`. Lossless.
//! * `tbx`: TBX-Basic (ISO 30042:2019, the DCA style): one `conceptEntry` per
//!   entry, the kind as `<descrip type="subjectField">`, the note as `<note>`, an
//!   `ar` `langSec` whose first `termSec` is the term (administrative status
//!   `preferredTerm-admn-sts`) and whose further ones are the variants
//!   (`admittedTerm-admn-sts`), and an `en` `langSec` with the rendering. Lossless.
//!   Import also reads TBX 2008 (`martif`, `termEntry`, `langSet`, `tig`, `ntig`).
//! * `deepl`: two columns (source, target), no header, one row per Arabic form.
//! * `google`: the same two columns (Cloud Translation's unidirectional glossary
//!   CSV); import skips a header row `ar,en`.
//! * `amazon`: Amazon Translate's custom terminology CSV: the header `ar,en`, then
//!   one row per Arabic form.
//!
//! The two-column formats have no kind, note or variants: export reports what it
//! leaves out, and import makes every row an entry of its own with the kind it is
//! given and an empty note.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::parse::{HEADER, entry_from_fields};
use super::{Entry, GlossaryError, Kind, Origin, Warning, dedup};

/// The CSV header of the `csv` format.
const CSV_HEADER: [&str; 5] = ["arabic", "english", "kind", "variants", "note"];
/// The language codes of the two-column formats' header.
const LANGUAGES: [&str; 2] = ["ar", "en"];
/// DeepL's limit on each source or target phrase, in UTF-8 bytes.
const DEEPL_MAX_PHRASE_BYTES: usize = 1024;
const PREFERRED: &str = "preferredTerm-admn-sts";
const ADMITTED: &str = "admittedTerm-admn-sts";

/// A glossary format other than tarjim's TSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
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

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Tbx => "tbx",
            Format::Deepl => "deepl",
            Format::Google => "google",
            Format::Amazon => "amazon",
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
    /// CSV could not be written.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// An entry cannot be written in the format.
    #[error("{format}: `{arabic}`: {message}")]
    Unwritable {
        /// The format.
        format: Format,
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
    pub format: Format,
    /// What is left out.
    pub what: &'static str,
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
}

/// Writes `entries` (in their order) in `format`.
pub fn export(entries: &[Entry], format: Format) -> Result<Exported, FormatError> {
    match format {
        Format::Csv => {
            let mut rows = vec![CSV_HEADER.map(String::from).to_vec()];
            rows.extend(entries.iter().map(|e| {
                vec![e.arabic.clone(), e.english.clone(), e.kind.to_string(), e.variants.join("|"), e.note.clone()]
            }));
            Ok(Exported { text: write_csv(&rows)?, losses: Vec::new() })
        }
        Format::Tbx => Ok(Exported { text: write_tbx(entries)?, losses: Vec::new() }),
        Format::Deepl | Format::Google | Format::Amazon => {
            let mut rows = Vec::new();
            if format == Format::Amazon {
                rows.push(LANGUAGES.map(String::from).to_vec());
            }
            for entry in entries {
                for form in entry.forms() {
                    if format == Format::Deepl {
                        for phrase in [form, &entry.english] {
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
                    rows.push(vec![form.to_string(), entry.english.clone()]);
                }
            }
            let mut losses = Vec::new();
            let described = entries.iter().filter(|e| e.kind != Kind::Other || !e.note.is_empty()).count();
            if described > 0 {
                losses.push(Loss { format, what: "kind and note columns are not representable", entries: described });
            }
            let with_variants = entries.iter().filter(|e| !e.variants.is_empty()).count();
            if with_variants > 0 {
                losses.push(Loss {
                    format,
                    what: "variants become rows of their own and are read back as entries of their own",
                    entries: with_variants,
                });
            }
            Ok(Exported { text: write_csv(&rows)?, losses })
        }
    }
}

/// Reads a glossary in `format` from `bytes`; `file` names it in errors. Rows of
/// the two-column formats, and TBX entries without a subject field, get `kind`.
/// The entries are checked as a TSV file's are (a form given two renderings is an
/// error, a repeated entry is left out with a warning).
pub fn import(bytes: &[u8], file: &str, format: Format, kind: Kind) -> Result<Imported, FormatError> {
    let text = decode(bytes, file)?;
    let rows = match format {
        Format::Csv => read_csv(text, file)?,
        Format::Tbx => read_tbx(text, file, kind)?,
        Format::Deepl | Format::Google | Format::Amazon => read_pairs(text, file, format, kind)?,
    };
    let mut entries = Vec::with_capacity(rows.len());
    let mut warnings = Vec::new();
    for Row { line, fields } in rows {
        let origin = Origin { file: file.to_string(), line };
        let fields = [&fields[0], &fields[1], &fields[2], &fields[3], &fields[4]].map(String::as_str);
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
    Ok(Imported { entries, warnings })
}

/// One entry read from another format: its line and its five TSV fields.
struct Row {
    line: usize,
    fields: [String; 5],
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
        writer.write_record(row)?;
    }
    let bytes = writer.into_inner().map_err(|err| csv::Error::from(err.into_error()))?;
    // Every field is a `String`, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The records of a CSV text with the line each starts at.
fn csv_records(text: &str, file: &str) -> Result<Vec<(usize, csv::StringRecord)>, FormatError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| FormatError::Row {
            file: file.to_string(),
            line: err.position().map_or(1, |p| p.line() as usize),
            message: err.to_string(),
        })?;
        // The reader's own line count skips blank lines, and a record's byte offset is
        // where the blank lines before it start: count from its first character.
        let start = record.position().map_or(0, |p| p.byte() as usize).min(text.len());
        let at =
            text.get(start..).and_then(|rest| rest.find(|c| c != '\n' && c != '\r')).map_or(text.len(), |i| start + i);
        records.push((text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1, record));
    }
    Ok(records)
}

fn read_csv(text: &str, file: &str) -> Result<Vec<Row>, FormatError> {
    let row_error = |line: usize, message: String| FormatError::Row { file: file.to_string(), line, message };
    let mut records = csv_records(text, file)?.into_iter();
    match records.next() {
        Some((_, header)) if header.iter().eq(CSV_HEADER) => {}
        Some((line, _)) => return Err(row_error(line, format!("expected the header `{}`", CSV_HEADER.join(",")))),
        None => return Err(row_error(1, format!("empty file: expected the header `{}`", CSV_HEADER.join(",")))),
    }
    records
        .map(|(line, record)| match <[&str; 5]>::try_from(record.iter().collect::<Vec<_>>()) {
            Ok(fields) => Ok(Row { line, fields: fields.map(String::from) }),
            Err(found) => Err(row_error(
                line,
                format!(
                    "expected {} columns ({}), found {}",
                    CSV_HEADER.len(),
                    HEADER.replace('\t', ", "),
                    found.len()
                ),
            )),
        })
        .collect()
}

fn read_pairs(text: &str, file: &str, format: Format, kind: Kind) -> Result<Vec<Row>, FormatError> {
    let row_error = |line: usize, message: String| FormatError::Row { file: file.to_string(), line, message };
    let is_header = |record: &csv::StringRecord| {
        record.len() == 2 && record.iter().zip(LANGUAGES).all(|(field, code)| field.trim().eq_ignore_ascii_case(code))
    };
    let mut records = csv_records(text, file)?.into_iter().peekable();
    match records.peek() {
        Some((_, first)) if format != Format::Deepl && is_header(first) => {
            records.next();
        }
        Some((line, _)) if format == Format::Amazon => {
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
            Ok([arabic, english]) => {
                Ok(Row { line, fields: [arabic.into(), english.into(), kind.clone(), String::new(), String::new()] })
            }
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
            format: Format::Tbx,
            arabic: entry.arabic.clone(),
            message: format!("U+{:04X} cannot appear in XML", u32::from(c)),
        }),
        None => Ok(quick_xml::escape::escape(text).into_owned()),
    }
}

fn write_tbx(entries: &[Entry]) -> Result<String, FormatError> {
    let mut out = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
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
    for (index, entry) in entries.iter().enumerate() {
        out.push_str(&format!("      <conceptEntry id=\"c{}\">\n", index + 1));
        out.push_str(&format!("        <descrip type=\"subjectField\">{}</descrip>\n", entry.kind));
        if !entry.note.is_empty() {
            out.push_str(&format!("        <note>{}</note>\n", xml_text(&entry.note, entry)?));
        }
        out.push_str("        <langSec xml:lang=\"ar\">\n");
        for (i, form) in entry.forms().enumerate() {
            let status = if i == 0 { PREFERRED } else { ADMITTED };
            out.push_str(&format!(
                concat!(
                    "          <termSec>\n",
                    "            <term>{}</term>\n",
                    "            <termNote type=\"administrativeStatus\">{}</termNote>\n",
                    "          </termSec>\n",
                ),
                xml_text(form, entry)?,
                status
            ));
        }
        out.push_str("        </langSec>\n");
        out.push_str(&format!(
            concat!(
                "        <langSec xml:lang=\"en\">\n",
                "          <termSec>\n",
                "            <term>{}</term>\n",
                "          </termSec>\n",
                "        </langSec>\n",
            ),
            xml_text(&entry.english, entry)?
        ));
        out.push_str("      </conceptEntry>\n");
    }
    out.push_str("    </body>\n  </text>\n</tbx>\n");
    Ok(out)
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
    Kind,
    Note,
}

#[derive(Default)]
struct TbxTerm {
    text: String,
    preferred: bool,
}

/// A concept entry being read.
struct TbxEntry {
    /// Byte offset of its start tag.
    at: usize,
    kind: Option<String>,
    notes: Vec<String>,
    arabic: Vec<TbxTerm>,
    english: Vec<TbxTerm>,
}

/// The state of a TBX file being read.
struct TbxReader<'a> {
    text: &'a str,
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
}

impl TbxReader<'_> {
    fn error(&self, at: usize, message: impl Into<String>) -> FormatError {
        let (line, column) = crate::text::line_column(self.text, at);
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
                self.entry =
                    Some(TbxEntry { at, kind: None, notes: Vec::new(), arabic: Vec::new(), english: Vec::new() });
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
            "termNote" if self.term.is_some() && type_is(self, "administrativeStatus")? => {
                self.capture = Some((Field::Status, depth, String::new()));
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
                Field::Kind => {
                    if let Some(entry) = self.entry.as_mut() {
                        entry.kind = Some(text.trim().to_string());
                    }
                }
                Field::Note => {
                    if let Some(entry) = self.entry.as_mut() {
                        entry.notes.push(text.trim().to_string());
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
        let mut arabic = entry.arabic;
        if arabic.is_empty() {
            return Err(self.error(at, "the entry has no Arabic term (a langSec with xml:lang=\"ar\")"));
        }
        let first = arabic.iter().position(|t| t.preferred).unwrap_or(0);
        let term = arabic.remove(first).text;
        let mut variants = Vec::new();
        for variant in arabic {
            if variant.text.contains('|') {
                return Err(self.error(at, format!("variant `{}` holds `|`, which separates variants", variant.text)));
            }
            variants.push(variant.text);
        }
        let preferred: Vec<&TbxTerm> = entry.english.iter().filter(|t| t.preferred).collect();
        let english = match (entry.english.as_slice(), preferred.as_slice()) {
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
        let (line, _) = crate::text::line_column(self.text, at);
        Ok(Row { line, fields: [term, english, kind, variants.join("|"), entry.notes.join("; ")] })
    }
}

fn read_tbx(text: &str, file: &str, kind: Kind) -> Result<Vec<Row>, FormatError> {
    let mut reader = Reader::from_str(text);
    let mut state = TbxReader {
        text,
        file,
        kind: kind.to_string(),
        open: Vec::new(),
        entry: None,
        lang: None,
        term: None,
        capture: None,
        rows: Vec::new(),
        seen_root: false,
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
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some((name, at)) = state.open.last() {
        return Err(state.error(*at, format!("broken XML: `<{name}>` is never closed")));
    }
    if !state.seen_root {
        return Err(state.error(text.len(), "not a TBX file: no root element"));
    }
    Ok(state.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::BUILTIN;
    use crate::glossary::parse::{parse, write_tsv};

    fn entries(tsv: &str) -> Vec<Entry> {
        parse(tsv.as_bytes(), "g.tsv").unwrap().0
    }

    fn sample() -> Vec<Entry> {
        entries(&format!(
            "{HEADER}\nحزب الله\tHezbollah\torg\tحزب الله اللبناني|حزبالله\tLebanese party, \"armed\"\nصنعاء\tSanaa\tplace\t\t\n"
        ))
    }

    fn import_str(text: &str, format: Format) -> Result<Vec<Entry>, FormatError> {
        import(text.as_bytes(), "in", format, Kind::Other).map(|i| i.entries)
    }

    #[test]
    fn csv_quotes_as_rfc_4180_and_reads_back() {
        let out = export(&sample(), Format::Csv).unwrap();
        assert_eq!(
            out.text,
            "arabic,english,kind,variants,note\n\
             حزب الله,Hezbollah,org,حزب الله اللبناني|حزبالله,\"Lebanese party, \"\"armed\"\"\"\n\
             صنعاء,Sanaa,place,,\n"
        );
        assert!(out.losses.is_empty());
        let back = import_str(&out.text, Format::Csv).unwrap();
        assert_eq!(write_tsv(&back).unwrap(), write_tsv(&sample()).unwrap());
    }

    #[test]
    fn two_column_formats_write_one_row_per_form_and_report_losses() {
        let deepl = export(&sample(), Format::Deepl).unwrap();
        assert_eq!(deepl.text, "حزب الله,Hezbollah\nحزب الله اللبناني,Hezbollah\nحزبالله,Hezbollah\nصنعاء,Sanaa\n");
        assert_eq!(
            deepl.losses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "deepl: kind and note columns are not representable; 2 entries affected",
                "deepl: variants become rows of their own and are read back as entries of their own; 1 entries affected",
            ]
        );
        assert_eq!(export(&sample(), Format::Google).unwrap().text, deepl.text);
        assert_eq!(export(&sample(), Format::Amazon).unwrap().text, format!("ar,en\n{}", deepl.text));
        let back =
            import("ar,en\nحماس,Hamas\n\"حزب, الله\",Hezbollah\n".as_bytes(), "in", Format::Google, Kind::Org).unwrap();
        assert_eq!(
            write_tsv(&back.entries).unwrap(),
            format!("{HEADER}\nحزب, الله\tHezbollah\torg\t\t\nحماس\tHamas\torg\t\t\n")
        );
        let long = format!("{HEADER}\nحماس\t{}\torg\t\t\n", "A".repeat(1025));
        let err = export(&entries(&long), Format::Deepl).unwrap_err().to_string();
        assert!(err.starts_with("deepl: `حماس`: `AAAA"), "{err}");
        assert!(err.ends_with("` is 1025 bytes long; DeepL takes at most 1024"), "{err}");
    }

    #[test]
    fn two_column_import_errors_name_the_line() {
        assert_eq!(
            import_str("حماس,Hamas\n\nحزب الله,Hezbollah,org\n", Format::Deepl).unwrap_err().to_string(),
            "in:3: expected 2 columns (Arabic, English), found 3"
        );
        assert_eq!(
            import_str("حماس,Hamas\n", Format::Amazon).unwrap_err().to_string(),
            "in:1: expected the header `ar,en` (the languages' codes)"
        );
        assert_eq!(
            import_str("ar,en\nحماس,Hamas\nحماس,Hamas movement\n", Format::Google).unwrap_err().to_string(),
            "in:3: `حماس` is rendered `Hamas movement` here but `Hamas` at line 2"
        );
        assert_eq!(
            import_str("Hamas,حماس\n", Format::Deepl).unwrap_err().to_string(),
            "in:1: Arabic term `Hamas` has no Arabic letter"
        );
        let imported = import(b"\xEF\xBB\xBFar,en\nhamas,x\n", "in", Format::Amazon, Kind::Other);
        assert_eq!(imported.unwrap_err().to_string(), "in:2: Arabic term `hamas` has no Arabic letter");
        assert_eq!(import_str("حماس,Hamas\nحماس,Hamas\n", Format::Deepl).unwrap().len(), 1);
    }

    #[test]
    fn csv_import_errors_name_the_line() {
        assert_eq!(
            import_str("arabic,english\n", Format::Csv).unwrap_err().to_string(),
            "in:1: expected the header `arabic,english,kind,variants,note`"
        );
        assert_eq!(
            import_str("", Format::Csv).unwrap_err().to_string(),
            "in:1: empty file: expected the header `arabic,english,kind,variants,note`"
        );
        assert_eq!(
            import_str("arabic,english,kind,variants,note\n\"حماس\nx\",Hamas,org,,\nحزب,Hezbollah\n", Format::Csv)
                .unwrap_err()
                .to_string(),
            "in:4: expected 5 columns (arabic, english, kind, variants, note), found 2"
        );
        assert_eq!(
            import_str("arabic,english,kind,variants,note\nحماس,Hamas,group,,\n", Format::Csv).unwrap_err().to_string(),
            "in:2: unknown kind `group` (expected org, person, place or other)"
        );
        assert_eq!(
            import_str("arabic,english,kind,variants,note\nحماس,Hamas,org,,\"a\tb\"\n", Format::Csv)
                .unwrap_err()
                .to_string(),
            "in:2: the note holds a tab or a line break, which a glossary row cannot hold"
        );
        let mut bad = b"arabic,english,kind,variants,note\n\xd8\xad\xd9".to_vec();
        bad.extend_from_slice(b",x,org,,\n");
        let err = import(&bad, "in", Format::Csv, Kind::Other).unwrap_err().to_string();
        assert_eq!(err, "in:2:2: invalid UTF-8");
    }

    #[test]
    fn tbx_round_trips_and_reads_tbx_2008() {
        let out = export(&sample(), Format::Tbx).unwrap();
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
        let back = import_str(&out.text, Format::Tbx).unwrap();
        assert_eq!(write_tsv(&back).unwrap(), write_tsv(&sample()).unwrap());
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
        let read = import(old.as_bytes(), "old.tbx", Format::Tbx, Kind::Place).unwrap().entries;
        assert_eq!(
            write_tsv(&read).unwrap(),
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
            let err = import_str(xml, Format::Tbx).unwrap_err().to_string();
            assert!(err.starts_with(want), "{xml}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn builtin_round_trips_through_csv_and_tbx() {
        let (builtin, _) = parse(BUILTIN.as_bytes(), "builtin.tsv").unwrap();
        let canonical = write_tsv(&builtin).unwrap();
        assert_eq!(canonical, BUILTIN, "the built-in glossary is canonical");
        for format in [Format::Csv, Format::Tbx] {
            let out = export(&builtin, format).unwrap();
            let back = import(out.text.as_bytes(), "out", format, Kind::Other).unwrap();
            assert!(back.warnings.is_empty(), "{format}: {:?}", back.warnings);
            assert_eq!(write_tsv(&back.entries).unwrap(), canonical, "{format}");
        }
    }
}
