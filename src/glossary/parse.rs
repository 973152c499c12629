//! Reading glossary files: UTF-8 TSV with the header row `arabic`, `english`,
//! `kind`, `variants`, `note` (tab-separated), or that row followed by the sense
//! columns `short`, `ambiguous`, `confirm`, `refute` ([`HEADER_SENSES`]):
//!
//! * `short`: parts of the name used alone, `ARABIC=English` separated by `|`
//!   (`ترامب=Trump`);
//! * `ambiguous`: forms of the entry (term, variants or short forms) that are
//!   also common words, separated by `|`;
//! * `confirm`, `refute`: context cues separated by `|` (see [`super::sense`]).
//!
//! Empty lines and lines starting with `#` are skipped. A byte-order mark and
//! CRLF line endings are accepted with a warning. Every error names the file,
//! the line and the (1-based, in characters) column where the problem starts.

use super::normalize::fold_str;
use super::{Cue, Entry, GlossaryError, Kind, Origin, ShortForm, Warning};

/// The header of a glossary file without sense columns.
pub const HEADER: &str = "arabic\tenglish\tkind\tvariants\tnote";
/// The header of a glossary file with sense columns.
pub const HEADER_SENSES: &str = "arabic\tenglish\tkind\tvariants\tnote\tshort\tambiguous\tconfirm\trefute";

/// The column names of [`HEADER_SENSES`].
const NAMES: [&str; 9] = ["arabic", "english", "kind", "variants", "note", "short", "ambiguous", "confirm", "refute"];

/// How many columns a file has: 5 ([`HEADER`]) or 9 ([`HEADER_SENSES`]).
/// `Basic < Senses`: the larger of two layouts holds what either holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Columns {
    /// The five basic columns.
    Basic,
    /// The basic columns and the sense columns.
    Senses,
}

impl Columns {
    /// The header row.
    pub fn header(self) -> &'static str {
        match self {
            Columns::Basic => HEADER,
            Columns::Senses => HEADER_SENSES,
        }
    }

    /// The column names, in order.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Columns::Basic => &NAMES[..5],
            Columns::Senses => &NAMES,
        }
    }

    fn count(self) -> usize {
        self.names().len()
    }

    /// The columns that `entries` need.
    pub fn for_entries<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Self {
        if entries.into_iter().any(Entry::has_senses) { Columns::Senses } else { Columns::Basic }
    }
}

fn error(file: &str, line: usize, column: usize, message: impl Into<String>) -> GlossaryError {
    GlossaryError::Parse { file: file.to_string(), line, column, message: message.into() }
}

pub(crate) fn has_arabic_letter(text: &str) -> bool {
    text.chars().any(|c| matches!(c, '\u{0620}'..='\u{064A}' | '\u{066E}'..='\u{06D3}' | '\u{FB50}'..='\u{FEFC}'))
}

/// A glossary file read to its end: its entries, the warnings about it, and every
/// malformed row (reading goes on past a bad row; a bad header ends it).
#[derive(Debug, Default)]
pub struct Parsed {
    /// Entries in file order.
    pub entries: Vec<Entry>,
    /// Warnings in file order.
    pub warnings: Vec<Warning>,
    /// Errors in file order.
    pub errors: Vec<GlossaryError>,
    /// The columns the header names (`None` without a valid header).
    pub columns: Option<Columns>,
}

/// Parses one glossary file's bytes; `file` names it in errors and origins.
/// Returns its entries in file order and the warnings about it, or the first error.
pub fn parse(bytes: &[u8], file: &str) -> Result<(Vec<Entry>, Vec<Warning>), GlossaryError> {
    parse_with_columns(bytes, file).map(|(entries, warnings, _)| (entries, warnings))
}

/// Parses one glossary file's bytes as [`parse`] does, and also returns the
/// columns its header names.
pub fn parse_with_columns(bytes: &[u8], file: &str) -> Result<(Vec<Entry>, Vec<Warning>, Columns), GlossaryError> {
    let parsed = parse_all(bytes, file);
    match parsed.errors.into_iter().next() {
        Some(err) => Err(err),
        // Without an error, the header was found.
        None => Ok((parsed.entries, parsed.warnings, parsed.columns.unwrap_or(Columns::Basic))),
    }
}

/// Parses one glossary file's bytes as [`parse`] does, but reads past malformed
/// rows and collects every error.
pub fn parse_all(bytes: &[u8], file: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let body = match bytes.strip_prefix("\u{FEFF}".as_bytes()) {
        Some(rest) => {
            parsed.warnings.push(Warning::Bom { file: file.to_string() });
            rest
        }
        None => bytes,
    };
    let mut columns: Option<Columns> = None;
    let mut crlf_reported = false;
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let raw = match raw.strip_suffix(b"\r") {
            Some(raw) => {
                if !crlf_reported {
                    parsed.warnings.push(Warning::Crlf { file: file.to_string(), line: number });
                    crlf_reported = true;
                }
                raw
            }
            None => raw,
        };
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line,
            Err(err) => {
                let column = String::from_utf8_lossy(&raw[..err.valid_up_to()]).chars().count() + 1;
                parsed.errors.push(error(file, number, column, "invalid UTF-8"));
                if columns.is_some() {
                    continue;
                }
                return parsed;
            }
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(columns) = columns else {
            columns = match line {
                HEADER => Some(Columns::Basic),
                HEADER_SENSES => Some(Columns::Senses),
                _ => {
                    parsed.errors.push(error(
                        file,
                        number,
                        1,
                        format!("expected the header `{}`", HEADER.replace('\t', "\\t")),
                    ));
                    return parsed;
                }
            };
            continue;
        };
        match parse_row(line, columns, file, number, &mut parsed.warnings) {
            Ok(entry) => parsed.entries.push(entry),
            Err(err) => parsed.errors.push(err),
        }
    }
    if columns.is_none() {
        parsed.errors.push(error(file, 1, 1, "empty glossary: no header"));
    }
    parsed.columns = columns;
    parsed
}

/// Makes an entry of a row's fields read from elsewhere (another file format,
/// the command line): the five basic columns, then optionally the four sense
/// columns. Whitespace is collapsed as the reader collapses it, and the fields
/// are checked as a row's are. An error is a bare message for the caller to
/// place; the warnings name `origin`.
pub(crate) fn entry_from_fields(fields: &[&str], origin: &Origin) -> Result<(Entry, Vec<Warning>), String> {
    let collapse = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let columns = match fields.len() {
        5 => Columns::Basic,
        9 => Columns::Senses,
        n => return Err(format!("{n} fields, expected 5 or 9")),
    };
    if fields.iter().any(|f| f.contains(['\t', '\n', '\r'])) {
        let what = if fields[4].contains(['\t', '\n', '\r']) { "the note" } else { "a field" };
        return Err(format!("{what} holds a tab or a line break, which a glossary row cannot hold"));
    }
    let arabic = collapse(fields[0]);
    if arabic.starts_with('#') {
        return Err(format!("Arabic term `{arabic}` starts with `#`, which marks a comment line"));
    }
    let mut cells = vec![arabic, collapse(fields[1]), fields[2].trim().to_string(), collapse(fields[3])];
    cells.push(fields[4].trim().to_string());
    cells.extend(fields[5..].iter().map(|f| collapse(f)));
    let line = cells.join("\t");
    let mut warnings = Vec::new();
    match parse_row(&line, columns, &origin.file, origin.line, &mut warnings) {
        Ok(entry) => Ok((entry, warnings)),
        Err(GlossaryError::Parse { message, .. }) => Err(message),
        Err(other) => Err(other.to_string()),
    }
}

fn parse_row(
    line: &str,
    columns: Columns,
    file: &str,
    number: usize,
    warnings: &mut Vec<Warning>,
) -> Result<Entry, GlossaryError> {
    let count = columns.count();
    // Fields with the character column each starts at.
    let mut fields: Vec<(usize, &str)> = Vec::with_capacity(count);
    let mut column = 1;
    for field in line.split('\t') {
        fields.push((column, field));
        column += field.chars().count() + 1;
    }
    if fields.len() != count {
        let at = if fields.len() > count { fields[count].0 } else { column - 1 };
        return Err(error(
            file,
            number,
            at,
            format!("expected {count} tab-separated columns ({}), found {}", NAMES[..count].join(", "), fields.len()),
        ));
    }
    let trimmed = |(column, field): (usize, &str), name: &str, warnings: &mut Vec<Warning>| {
        let value = field.split_whitespace().collect::<Vec<_>>().join(" ");
        if value != field {
            warnings.push(Warning::Whitespace {
                file: file.to_string(),
                line: number,
                column,
                field: name.to_string(),
            });
        }
        value
    };
    let arabic = trimmed(fields[0], "arabic", warnings);
    if arabic.is_empty() {
        return Err(error(file, number, fields[0].0, "empty Arabic term"));
    }
    if !has_arabic_letter(&arabic) {
        return Err(error(file, number, fields[0].0, format!("Arabic term `{arabic}` has no Arabic letter")));
    }
    let english = trimmed(fields[1], "english", warnings);
    if english.is_empty() {
        return Err(error(file, number, fields[1].0, format!("empty English rendering for `{arabic}`")));
    }
    let kind = match fields[2].1.trim() {
        "org" => Kind::Org,
        "person" => Kind::Person,
        "place" => Kind::Place,
        "other" => Kind::Other,
        other => {
            return Err(error(
                file,
                number,
                fields[2].0,
                format!("unknown kind `{other}` (expected org, person, place or other)"),
            ));
        }
    };
    let mut variants = Vec::new();
    for (variant_column, value) in items(fields[3]) {
        if value.is_empty() {
            return Err(error(file, number, variant_column, "empty variant between `|` separators"));
        }
        if !has_arabic_letter(&value) {
            return Err(error(file, number, variant_column, format!("variant `{value}` has no Arabic letter")));
        }
        if fold_str(&value) == fold_str(&arabic) {
            warnings.push(Warning::RedundantVariant { file: file.to_string(), line: number, variant: value });
        } else {
            variants.push(value);
        }
    }
    let note = fields[4].1.trim().to_string();
    let origin = Origin { file: file.to_string(), line: number };
    let mut entry = Entry::new(&arabic, &english, kind, variants, &note, origin);
    if columns == Columns::Senses {
        read_senses(&mut entry, &fields[5..], file, number)?;
    }
    Ok(entry)
}

/// The `|`-separated items of a field, each whitespace-collapsed, with the
/// character column it starts at; none for an empty field.
fn items((column, field): (usize, &str)) -> Vec<(usize, String)> {
    if field.trim().is_empty() {
        return Vec::new();
    }
    let mut at = column;
    let mut out = Vec::new();
    for item in field.split('|') {
        out.push((at, item.split_whitespace().collect::<Vec<_>>().join(" ")));
        at += item.chars().count() + 1;
    }
    out
}

/// Reads the sense columns (short, ambiguous, confirm, refute) into `entry`.
fn read_senses(entry: &mut Entry, fields: &[(usize, &str)], file: &str, number: usize) -> Result<(), GlossaryError> {
    for (column, item) in items(fields[0]) {
        let Some((arabic, english)) = item.split_once('=') else {
            return Err(error(file, number, column, format!("short form `{item}` is not `ARABIC=English`")));
        };
        let (arabic, english) = (arabic.trim().to_string(), english.trim().to_string());
        if !has_arabic_letter(&arabic) || has_arabic_letter(&english) || english.is_empty() {
            return Err(error(
                file,
                number,
                column,
                format!("short form `{item}` is not `ARABIC=English` (Arabic letters left of `=`, none right of it)"),
            ));
        }
        if entry.forms().any(|f| fold_str(f) == fold_str(&arabic)) {
            return Err(error(file, number, column, format!("short form `{arabic}` repeats a form of the entry")));
        }
        entry.short.push(ShortForm { arabic, english });
    }
    for (column, item) in items(fields[1]) {
        if !entry.forms().any(|f| fold_str(f) == fold_str(&item)) {
            return Err(error(
                file,
                number,
                column,
                format!("ambiguous form `{item}` is not the term, a variant or a short form of the entry"),
            ));
        }
        entry.ambiguous.push(item);
    }
    for (field, cues) in [(fields[2], &mut entry.confirm), (fields[3], &mut entry.refute)] {
        for (column, item) in items(field) {
            cues.push(Cue::parse(&item).map_err(|message| error(file, number, column, message))?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &[u8]) -> String {
        parse(text, "g.tsv").unwrap_err().to_string()
    }

    #[test]
    fn reads_rows_and_skips_comments() {
        let text = format!(
            "# names\n{HEADER}\n\nحزب الله\tHezbollah\torg\t\tLebanon\nفاطميون\tFatemiyoun\torg\tالفاطميون|فاطميين\t\n"
        );
        let (entries, warnings) = parse(text.as_bytes(), "g.tsv").unwrap();
        assert!(warnings.is_empty());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].arabic, "حزب الله");
        assert_eq!(entries[0].kind, Kind::Org);
        assert_eq!(entries[0].origin, Origin { file: "g.tsv".into(), line: 4 });
        assert_eq!(entries[1].variants, vec!["الفاطميون", "فاطميين"]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let head = format!("{HEADER}\n");
        assert_eq!(
            err(format!("{head}حزب الله\tHezbollah\torg\n").as_bytes()),
            "g.tsv:2:23: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 3"
        );
        assert_eq!(
            err(format!("{head}حزب\tHezbollah\torg\t\t\textra\n").as_bytes()),
            "g.tsv:2:21: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 6"
        );
        assert_eq!(err(format!("{head}حزب\t \torg\t\t\n").as_bytes()), "g.tsv:2:5: empty English rendering for `حزب`");
        assert_eq!(
            err(format!("{head}حزب\tX\tgroup\t\t\n").as_bytes()),
            "g.tsv:2:7: unknown kind `group` (expected org, person, place or other)"
        );
        assert_eq!(
            err(format!("{head}Hamas\tHamas\torg\t\t\n").as_bytes()),
            "g.tsv:2:1: Arabic term `Hamas` has no Arabic letter"
        );
        assert_eq!(
            err(format!("{head}حماس\tHamas\torg\tا||ب\t\n").as_bytes()),
            "g.tsv:2:18: empty variant between `|` separators"
        );
        assert_eq!(
            err(b"arabic,english\n"),
            "g.tsv:1:1: expected the header `arabic\\tenglish\\tkind\\tvariants\\tnote`"
        );
        assert_eq!(err(b""), "g.tsv:1:1: empty glossary: no header");
        let mut bad = format!("{head}حماس\tHam").into_bytes();
        bad.extend_from_slice(b"\xffas\torg\t\t\n");
        assert_eq!(err(&bad), "g.tsv:2:9: invalid UTF-8");
    }

    #[test]
    fn bom_crlf_and_whitespace_are_warnings() {
        let text = format!("\u{FEFF}{HEADER}\r\n حماس \tHamas  movement\torg\tحماس\t\r\n");
        let (entries, warnings) = parse(text.as_bytes(), "g.tsv").unwrap();
        assert_eq!(entries[0].arabic, "حماس");
        assert_eq!(entries[0].english, "Hamas movement");
        assert!(entries[0].variants.is_empty());
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "g.tsv: byte-order mark at the start of the file (ignored)",
                "g.tsv:1: CRLF line endings (accepted)",
                "g.tsv:2:1: extra whitespace in the arabic column (collapsed)",
                "g.tsv:2:8: extra whitespace in the english column (collapsed)",
                "g.tsv:2: variant `حماس` folds to the term itself (ignored)",
            ]
        );
    }
}
