//! Writing glossary files: the canonical TSV file and the cells of one row, in
//! the layout [`crate::glossary::parse`] reads.

use crate::glossary::Entry;
use crate::glossary::parse::Columns;

/// An entry that no glossary row can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{arabic}`: cannot be written as a glossary row: {message}")]
pub struct UnwritableEntry {
    /// The entry's Arabic term.
    pub arabic: String,
    /// Why.
    pub message: String,
}

/// The canonical file of `entries` with at least `columns` (the columns of the
/// file they come from, or [`Columns::Basic`] for as few as they need): the
/// header, with the sense columns when `columns` has them or an entry uses them,
/// then one row per entry sorted by the Arabic column (then by the English), `\n`
/// line endings.
pub fn write_tsv(entries: &[Entry], columns: Columns) -> Result<String, UnwritableEntry> {
    let columns = columns.max(Columns::for_entries(entries));
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.arabic.cmp(&b.arabic).then_with(|| a.english.cmp(&b.english)));
    let mut out = format!("{}\n", columns.header());
    for entry in sorted {
        out.push_str(&row(entry, columns)?);
        out.push('\n');
    }
    Ok(out)
}

/// An entry's row in a file with `columns`, without a line ending.
pub(crate) fn row(entry: &Entry, columns: Columns) -> Result<String, UnwritableEntry> {
    Ok(cells(entry, columns)?.join("\t"))
}

/// An entry's cells in a file with `columns`, as a row holds them (`|`-separated
/// lists, `ARABIC=English` short forms); an entry that no row can hold is refused.
pub(crate) fn cells(entry: &Entry, columns: Columns) -> Result<Vec<String>, UnwritableEntry> {
    let unwritable = |message: &str| UnwritableEntry { arabic: entry.arabic.clone(), message: message.into() };
    let cues = entry.confirm.iter().chain(&entry.refute).map(|c| c.text());
    let shorts = entry.short.iter().flat_map(|s| [s.arabic.as_str(), s.english.as_str()]);
    let fields = [entry.arabic.as_str(), &entry.english, &entry.note];
    let listed = || entry.variants.iter().chain(&entry.ambiguous).map(String::as_str).chain(shorts.clone());
    if fields.into_iter().chain(listed()).chain(cues.clone()).any(|f| f.contains(['\t', '\n', '\r'])) {
        return Err(unwritable("a field holds a tab or a line break"));
    }
    if entry.arabic.trim().is_empty() || entry.english.trim().is_empty() || entry.arabic.starts_with('#') {
        return Err(unwritable("the Arabic term or the English rendering is empty, or the term starts with `#`"));
    }
    if listed().chain(cues).any(|v| v.trim().is_empty() || v.contains('|')) {
        return Err(unwritable("a variant, short form, ambiguous form or cue is empty or holds `|`"));
    }
    if entry.short.iter().any(|s| s.arabic.contains('=')) {
        return Err(unwritable("a short form holds `=`"));
    }
    if columns == Columns::Basic && entry.has_senses() {
        return Err(unwritable("the file has no sense columns (short, ambiguous, confirm, refute)"));
    }
    let kind = entry.kind.to_string();
    let variants = entry.variants.join("|");
    let mut cells = vec![entry.arabic.clone(), entry.english.clone(), kind, variants, entry.note.clone()];
    if columns == Columns::Senses {
        cells.push(entry.short.iter().map(|s| format!("{}={}", s.arabic, s.english)).collect::<Vec<_>>().join("|"));
        cells.push(entry.ambiguous.join("|"));
        for cues in [&entry.confirm, &entry.refute] {
            cells.push(cues.iter().map(|c| c.text()).collect::<Vec<_>>().join("|"));
        }
    }
    Ok(cells)
}
