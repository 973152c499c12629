//! Adding an entry to a glossary file, keeping the file sorted and valid.
//!
//! The file's other lines (comments, blank lines, line endings, a byte-order mark)
//! stay as they are; the new row goes before the first row whose Arabic term sorts
//! after its own.

use super::normalize::fold_str;
use super::parse::{Columns, HEADER, entry_from_fields, parse_all, row};
use super::{Entry, GlossaryError, Kind, Origin, Warning, dedup};

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
    },
    /// The same entry is already there.
    Present {
        /// Where.
        origin: Origin,
    },
}

/// Adds `new` to the glossary file `file` whose bytes are `bytes` (`None`: the
/// file does not exist yet and is started with the header). The file must be
/// valid; a form of the new entry that an existing entry has is refused, unless
/// that entry is the same in every column.
pub fn add(bytes: Option<&[u8]>, file: &str, new: &NewEntry) -> Result<Added, GlossaryError> {
    let (text, entries, columns) = match bytes {
        Some(bytes) => {
            let parsed = parse_all(bytes, file);
            if let Some(err) = parsed.errors.into_iter().next() {
                return Err(err);
            }
            // `parse_all` has checked every line's UTF-8 and found the header.
            (String::from_utf8_lossy(bytes).into_owned(), parsed.entries, parsed.columns.unwrap_or(Columns::Basic))
        }
        None => (format!("{HEADER}\n"), Vec::new(), Columns::Basic),
    };
    dedup(&entries)?;
    let kind = new.kind.to_string();
    let fields = [new.arabic, new.english, &kind, new.variants, new.note];
    let (mut entry, warnings) = entry_from_fields(&fields, &Origin { file: file.to_string(), line: 0 })
        .map_err(|message| GlossaryError::NewEntry { message })?;
    let same = |e: &Entry| {
        (&e.arabic, &e.english, e.kind, &e.variants, &e.note)
            == (&entry.arabic, &entry.english, entry.kind, &entry.variants, &entry.note)
    };
    if let Some(existing) = entries.iter().find(|e| same(e)) {
        return Ok(Added::Present { origin: existing.origin.clone() });
    }
    for form in entry.forms() {
        let key = fold_str(form);
        if let Some(existing) = entries.iter().find(|e| e.forms().any(|f| fold_str(f) == key)) {
            return Err(if existing.english != entry.english {
                GlossaryError::Taken {
                    form: form.to_string(),
                    existing: existing.origin.clone(),
                    existing_english: existing.english.clone(),
                    english: entry.english.clone(),
                }
            } else {
                GlossaryError::Overlaps {
                    form: form.to_string(),
                    existing: existing.origin.clone(),
                    existing_arabic: existing.arabic.clone(),
                }
            });
        }
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
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
    lines.insert(at.min(lines.len()), format!("{}{eol}", row(&entry, columns)?));
    entry.origin.line = at + 1;
    let mut warnings = warnings;
    for warning in &mut warnings {
        if let Warning::RedundantVariant { line, .. } = warning {
            *line = at + 1;
        }
    }
    Ok(Added::Inserted { text: lines.concat(), entry: Box::new(entry), warnings })
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
        NewEntry { arabic, english, kind: Kind::Org, variants, note: "" }
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
        let Added::Inserted { text, entry: new, warnings } = added else { panic!("not inserted") };
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

    fn text_of(result: Result<Added, GlossaryError>) -> String {
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
}
