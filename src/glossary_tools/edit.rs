//! Adding an entry to a glossary file, keeping the file sorted and valid.
//!
//! The file's other lines (comments, blank lines, line endings, a byte-order mark)
//! stay as they are; the new row goes before the first row whose Arabic term sorts
//! after its own. An entry with short forms, ambiguous forms or cues added to a
//! file without the sense columns upgrades the file: its header gets them, and
//! every row four empty cells at its end; nothing else changes.

use super::ToolError;
use super::write::row;
use crate::glossary::normalize::fold_str;
use crate::glossary::parse::{Columns, HEADER, HEADER_SENSES, entry_from_fields, parse_with_columns};
use crate::glossary::{Entry, Kind, Origin, Warning, dedup};

/// An entry to add, as the command line gives it.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// The Arabic term.
    pub arabic: &'a str,
    /// Its rendering.
    pub english: &'a str,
    /// What it names.
    pub kind: Kind,
    /// Other spellings, separated by `|` (may be empty).
    pub variants: &'a str,
    /// Free text (may be empty).
    pub note: &'a str,
    /// Short forms, `ARABIC=English` separated by `|` (may be empty).
    pub short: &'a str,
    /// Ambiguous forms, separated by `|` (may be empty).
    pub ambiguous: &'a str,
    /// Confirming cues, separated by `|` (may be empty).
    pub confirm: &'a str,
    /// Refuting cues, separated by `|` (may be empty).
    pub refute: &'a str,
}

/// What adding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// The entry was inserted.
    Inserted {
        /// The file's new text.
        text: String,
        /// The entry, its origin the line it now has (boxed: it is the bulk of
        /// the variant).
        entry: Box<Entry>,
        /// Warnings about the entry (a variant that folds to the term).
        warnings: Vec<Warning>,
        /// Whether the file gained the sense columns to hold the entry.
        upgraded: bool,
    },
    /// The same entry is already there.
    Present {
        /// Where.
        origin: Origin,
    },
}

/// Adds `new` to the glossary file `file` whose bytes are `bytes` (`None`: the
/// file does not exist yet and is started with the header it needs). The file
/// must be valid; a form of the new entry that an existing entry has is refused,
/// unless that entry is the same in every column.
pub fn add(bytes: Option<&[u8]>, file: &str, new: &NewEntry) -> Result<Added, ToolError> {
    let existing = match bytes {
        Some(bytes) => {
            let (entries, _, columns) = parse_with_columns(bytes, file)?;
            dedup(&entries)?;
            // Parsing has checked that every line is UTF-8.
            Some((String::from_utf8_lossy(bytes).into_owned(), entries, columns))
        }
        None => None,
    };
    let kind = new.kind.to_string();
    let fields =
        [new.arabic, new.english, &kind, new.variants, new.note, new.short, new.ambiguous, new.confirm, new.refute];
    let (mut entry, warnings) = entry_from_fields(&fields, &Origin { file: file.to_string(), line: 0 })
        .map_err(|message| ToolError::NewEntry { message })?;
    let needed = Columns::for_entries([&entry]);
    let (text, entries, columns) = existing.unwrap_or_else(|| (format!("{}\n", needed.header()), Vec::new(), needed));
    let same = |e: &Entry| Entry { origin: entry.origin.clone(), ..e.clone() } == entry;
    if let Some(existing) = entries.iter().find(|e| same(e)) {
        return Ok(Added::Present { origin: existing.origin.clone() });
    }
    for form in entry.forms() {
        let key = fold_str(form);
        if let Some(existing) = entries.iter().find(|e| e.forms().any(|f| fold_str(f) == key)) {
            return Err(if existing.english != entry.english {
                ToolError::Taken {
                    form: form.to_string(),
                    existing: existing.origin.clone(),
                    existing_english: existing.english.clone(),
                    english: entry.english.clone(),
                }
            } else {
                ToolError::Overlaps {
                    form: form.to_string(),
                    existing: existing.origin.clone(),
                    existing_arabic: existing.arabic.clone(),
                }
            });
        }
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let upgraded = needed > columns;
    if upgraded {
        let header = header_line(&lines);
        if let Some(line) = lines.get_mut(header) {
            *line = line.replacen(HEADER, HEADER_SENSES, 1);
        }
        for existing in &entries {
            if let Some(line) = lines.get_mut(existing.origin.line - 1) {
                let end = line.trim_end_matches(['\n', '\r']).len();
                line.insert_str(end, "\t\t\t\t");
            }
        }
    }
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // 0-based index of the line the new row takes.
    let at = match entries.iter().find(|e| e.arabic > entry.arabic) {
        Some(next) => next.origin.line - 1,
        None => match entries.last() {
            Some(last) => last.origin.line,
            None => header_line(&lines) + 1,
        },
    };
    if at == lines.len()
        && let Some(last) = lines.last_mut()
        && !last.ends_with('\n')
    {
        last.push_str(eol);
    }
    lines.insert(at.min(lines.len()), format!("{}{eol}", row(&entry, columns.max(needed))?));
    entry.origin.line = at + 1;
    let mut warnings = warnings;
    for warning in &mut warnings {
        if let Warning::RedundantVariant { line, .. } = warning {
            *line = at + 1;
        }
    }
    Ok(Added::Inserted { text: lines.concat(), entry: Box::new(entry), warnings, upgraded })
}

/// 0-based index of the header line (the first that is neither blank nor a comment).
fn header_line(lines: &[String]) -> usize {
    lines
        .iter()
        .position(|line| {
            let line = line.trim_start_matches('\u{FEFF}');
            !line.trim().is_empty() && !line.starts_with('#')
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(arabic: &'a str, english: &'a str, variants: &'a str) -> NewEntry<'a> {
        NewEntry {
            arabic,
            english,
            kind: Kind::Org,
            variants,
            note: "",
            short: "",
            ambiguous: "",
            confirm: "",
            refute: "",
        }
    }

    fn text(added: Added) -> String {
        match added {
            Added::Inserted { text, .. } => text,
            Added::Present { origin } => panic!("present at {origin}"),
        }
    }

    #[test]
    fn inserts_in_order_and_keeps_other_lines() {
        let file = format!("# names\n{HEADER}\nحزب الله\tHezbollah\torg\t\t\n\nصنعاء\tSanaa\tplace\t\t\n");
        let added = add(Some(file.as_bytes()), "g.tsv", &entry("حماس", "Hamas", "حركة حماس")).unwrap();
        let Added::Inserted { text, entry: new, warnings, upgraded } = added else { panic!("not inserted") };
        assert!(!upgraded);
        assert_eq!(
            text,
            format!(
                "# names\n{HEADER}\nحزب الله\tHezbollah\torg\t\t\n\nحماس\tHamas\torg\tحركة حماس\t\nصنعاء\tSanaa\tplace\t\t\n"
            )
        );
        assert_eq!(new.origin.line, 5);
        assert!(warnings.is_empty());
        let last = text_of(add(Some(file.as_bytes()), "g.tsv", &entry("يمن", "Yemen", "")));
        assert!(last.ends_with("صنعاء\tSanaa\tplace\t\t\nيمن\tYemen\torg\t\t\n"), "{last}");
        let first = text_of(add(Some(file.as_bytes()), "g.tsv", &entry("أنصار الله", "Ansar Allah", "")));
        assert!(first.starts_with(&format!("# names\n{HEADER}\nأنصار الله\t")), "{first}");
    }

    fn text_of(result: Result<Added, ToolError>) -> String {
        text(result.unwrap())
    }

    #[test]
    fn keeps_crlf_and_a_missing_final_newline() {
        let file = format!("{HEADER}\r\nحزب الله\tHezbollah\torg\t\t");
        assert_eq!(
            text_of(add(Some(file.as_bytes()), "g.tsv", &entry("صنعاء", "Sanaa", ""))),
            format!("{HEADER}\r\nحزب الله\tHezbollah\torg\t\t\r\nصنعاء\tSanaa\torg\t\t\r\n")
        );
        assert_eq!(
            text_of(add(None, "g.tsv", &entry("صنعاء", "Sanaa", ""))),
            format!("{HEADER}\nصنعاء\tSanaa\torg\t\t\n")
        );
    }

    #[test]
    fn refuses_conflicts_and_overlaps_and_sees_identical_entries() {
        let file = format!("{HEADER}\nحماس\tHamas\torg\tحركة حماس\t\n");
        let bytes = Some(file.as_bytes());
        assert_eq!(
            add(bytes, "g.tsv", &entry("حماس", "Hamas", "حركة حماس")).unwrap(),
            Added::Present { origin: Origin { file: "g.tsv".into(), line: 2 } }
        );
        assert_eq!(
            add(bytes, "g.tsv", &entry("حَماس", "HAMAS", "")).unwrap_err().to_string(),
            "g.tsv:2: `حَماس` is already rendered `Hamas` there, not `HAMAS`"
        );
        assert_eq!(
            add(bytes, "g.tsv", &entry("حماس", "Hamas", "")).unwrap_err().to_string(),
            "g.tsv:2: `حماس` is already a form of `حماس` there; edit that line instead"
        );
        assert_eq!(
            add(bytes, "g.tsv", &entry("Hamas", "Hamas", "")).unwrap_err().to_string(),
            "new entry: Arabic term `Hamas` has no Arabic letter"
        );
        let note = NewEntry { note: "a\nb", ..entry("صنعاء", "Sanaa", "") };
        assert_eq!(
            add(bytes, "g.tsv", &note).unwrap_err().to_string(),
            "new entry: the note holds a tab or a line break, which a glossary row cannot hold"
        );
        let broken = format!("{HEADER}\nحماس\tHamas\n");
        assert_eq!(
            add(Some(broken.as_bytes()), "g.tsv", &entry("صنعاء", "Sanaa", "")).unwrap_err().to_string(),
            "g.tsv:2:11: expected 5 tab-separated columns (arabic, english, kind, variants, note), found 2"
        );
    }

    fn trump<'a>() -> NewEntry<'a> {
        NewEntry {
            kind: Kind::Person,
            short: "ترامب=Trump",
            refute: "~ البرتقالي",
            ..entry("دونالد ترامب", "Donald Trump", "")
        }
    }

    #[test]
    fn sense_columns_upgrade_a_basic_file_and_nothing_else() {
        let file = format!("\u{FEFF}# names\r\n{HEADER}\r\nبغداد\tBaghdad\tplace\t\t \r\n\r\nصنعاء\tSanaa\tplace\t\t");
        let added = add(Some(file.as_bytes()), "g.tsv", &trump()).unwrap();
        let Added::Inserted { text, entry: new, upgraded, .. } = added else { panic!("not inserted") };
        assert!(upgraded);
        assert_eq!(new.origin.line, 5);
        assert_eq!(
            text,
            format!(
                "\u{FEFF}# names\r\n{HEADER_SENSES}\r\nبغداد\tBaghdad\tplace\t\t \t\t\t\t\r\n\r\n\
                 دونالد ترامب\tDonald Trump\tperson\t\t\tترامب=Trump\t\t\t~ البرتقالي\r\nصنعاء\tSanaa\tplace\t\t\t\t\t\t"
            )
        );
        // The same entry again is there; a file with the sense columns stays as it is.
        assert_eq!(
            add(Some(text.as_bytes()), "g.tsv", &trump()).unwrap(),
            Added::Present { origin: Origin { file: "g.tsv".into(), line: 5 } }
        );
        let Added::Inserted { text, upgraded, .. } =
            add(Some(text.as_bytes()), "g.tsv", &entry("حماس", "Hamas", "")).unwrap()
        else {
            panic!("not inserted")
        };
        assert!(!upgraded);
        assert_eq!(
            text,
            format!(
                "\u{FEFF}# names\r\n{HEADER_SENSES}\r\nبغداد\tBaghdad\tplace\t\t \t\t\t\t\r\n\r\n\
                 حماس\tHamas\torg\t\t\t\t\t\t\r\n\
                 دونالد ترامب\tDonald Trump\tperson\t\t\tترامب=Trump\t\t\t~ البرتقالي\r\nصنعاء\tSanaa\tplace\t\t\t\t\t\t"
            )
        );
        // A new file starts with the header the entry needs.
        assert_eq!(
            text_of(add(None, "g.tsv", &trump())),
            format!("{HEADER_SENSES}\nدونالد ترامب\tDonald Trump\tperson\t\t\tترامب=Trump\t\t\t~ البرتقالي\n")
        );
        let bad = NewEntry { ambiguous: "ترمب", ..trump() };
        assert_eq!(
            add(None, "g.tsv", &bad).unwrap_err().to_string(),
            "new entry: ambiguous form `ترمب` is not the term, a variant or a short form of the entry"
        );
    }
}
