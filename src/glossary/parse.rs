//! Reading and writing glossary files: UTF-8 TSV with the header row `arabic`, `english`,
//! `kind`, `variants`, `note` (tab-separated).
//!
//! Empty lines and lines starting with `#` are skipped. A byte-order mark and
//! CRLF line endings are accepted with a warning. Every error names the file,
//! the line and the (1-based, in characters) column where the problem starts.

use super::normalize::fold_str;
use super::{Entry, GlossaryError, Kind, Origin, Warning};

/// The header every glossary file starts with.
pub const HEADER: &str = "arabic\tenglish\tkind\tvariants\tnote";

const COLUMNS: usize = 5;

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
}

/// Parses one glossary file's bytes; `file` names it in errors and origins.
/// Returns its entries in file order and the warnings about it, or the first error.
pub fn parse(bytes: &[u8], file: &str) -> Result<(Vec<Entry>, Vec<Warning>), GlossaryError> {
    let parsed = parse_all(bytes, file);
    match parsed.errors.into_iter().next() {
        Some(err) => Err(err),
        None => Ok((parsed.entries, parsed.warnings)),
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
    let mut saw_header = false;
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
                if saw_header {
                    continue;
                }
                return parsed;
            }
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !saw_header {
            if line != HEADER {
                parsed.errors.push(error(
                    file,
                    number,
                    1,
                    format!("expected the header `{}`", HEADER.replace('\t', "\\t")),
                ));
                return parsed;
            }
            saw_header = true;
            continue;
        }
        match parse_row(line, file, number, &mut parsed.warnings) {
            Ok(entry) => parsed.entries.push(entry),
            Err(err) => parsed.errors.push(err),
        }
    }
    if !saw_header {
        parsed.errors.push(error(file, 1, 1, "empty glossary: no header"));
    }
    parsed
}

/// Makes an entry of a row's five fields read from elsewhere (another file format,
/// the command line): whitespace is collapsed as the reader collapses it, and the
/// fields are checked as a row's are. An error is a bare message for the caller to
/// place; the warnings name `origin`.
pub(crate) fn entry_from_fields(fields: [&str; 5], origin: &Origin) -> Result<(Entry, Vec<Warning>), String> {
    let collapse = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let [arabic, english, kind, variants, note] = fields;
    let note = note.trim();
    if note.contains(['\t', '\n', '\r']) {
        return Err("the note holds a tab or a line break, which a glossary row cannot hold".into());
    }
    let arabic = collapse(arabic);
    if arabic.starts_with('#') {
        return Err(format!("Arabic term `{arabic}` starts with `#`, which marks a comment line"));
    }
    let line = [arabic.as_str(), &collapse(english), kind.trim(), &collapse(variants), note].join("\t");
    let mut warnings = Vec::new();
    match parse_row(&line, &origin.file, origin.line, &mut warnings) {
        Ok(entry) => Ok((entry, warnings)),
        Err(GlossaryError::Parse { message, .. }) => Err(message),
        Err(other) => Err(other.to_string()),
    }
}

/// The canonical file of `entries`: the header, then one row per entry sorted by
/// the Arabic column (then by the English), `\n` line endings.
pub fn write_tsv(entries: &[Entry]) -> Result<String, GlossaryError> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.arabic.cmp(&b.arabic).then_with(|| a.english.cmp(&b.english)));
    let mut out = format!("{HEADER}\n");
    for entry in sorted {
        out.push_str(&row(entry)?);
        out.push('\n');
    }
    Ok(out)
}

/// An entry's row, without a line ending.
pub(crate) fn row(entry: &Entry) -> Result<String, GlossaryError> {
    let unwritable =
        |message: &str| GlossaryError::Unwritable { arabic: entry.arabic.clone(), message: message.into() };
    let fields = [&entry.arabic, &entry.english, &entry.note];
    if fields.into_iter().chain(&entry.variants).any(|f| f.contains(['\t', '\n', '\r'])) {
        return Err(unwritable("a field holds a tab or a line break"));
    }
    if entry.arabic.trim().is_empty() || entry.english.trim().is_empty() || entry.arabic.starts_with('#') {
        return Err(unwritable("the Arabic term or the English rendering is empty, or the term starts with `#`"));
    }
    if entry.variants.iter().any(|v| v.trim().is_empty() || v.contains('|')) {
        return Err(unwritable("a variant is empty or holds `|`"));
    }
    let kind = entry.kind.to_string();
    let variants = entry.variants.join("|");
    Ok([entry.arabic.as_str(), &entry.english, &kind, &variants, &entry.note].join("\t"))
}

fn parse_row(line: &str, file: &str, number: usize, warnings: &mut Vec<Warning>) -> Result<Entry, GlossaryError> {
    // Fields with the character column each starts at.
    let mut fields: Vec<(usize, &str)> = Vec::with_capacity(COLUMNS);
    let mut column = 1;
    for field in line.split('\t') {
        fields.push((column, field));
        column += field.chars().count() + 1;
    }
    if fields.len() != COLUMNS {
        let at = if fields.len() > COLUMNS { fields[COLUMNS].0 } else { column - 1 };
        return Err(error(
            file,
            number,
            at,
            format!(
                "expected {COLUMNS} tab-separated columns (arabic, english, kind, variants, note), found {}",
                fields.len()
            ),
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
    let mut variant_column = fields[3].0;
    for variant in fields[3].1.split('|') {
        let value = variant.split_whitespace().collect::<Vec<_>>().join(" ");
        if !fields[3].1.trim().is_empty() {
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
        variant_column += variant.chars().count() + 1;
    }
    let note = fields[4].1.trim().to_string();
    Ok(Entry { arabic, english, kind, variants, note, origin: Origin { file: file.to_string(), line: number } })
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
