//! Glossaries at decoding time: Arabic names with the English rendering they must get.
//!
//! * [`Glossary`]: entries stacked from the built-in list (`glossaries/builtin.tsv`)
//!   and user files; a later file's entry replaces an earlier one with the same
//!   (folded) Arabic form, and the replacement is reported.
//! * [`parse`]: the TSV format and its errors.
//! * [`normalize`]: Arabic folding for matching, with offsets back to the text.
//! * [`matcher`]: finds terms in running text, prefixed and inflected.
//! * [`sense`]: whether an ambiguous form names the entry where it stands.
//!
//! The maintenance tools (checking, converting, editing, auditing and mining
//! glossary files) are [`crate::glossary_tools`]; this module uses none of them,
//! nor the model or the aligner.

pub mod matcher;
pub mod normalize;
pub mod parse;
pub mod sense;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

pub use matcher::{Match, Matcher};
use normalize::fold_str;
pub use sense::{Cue, Decision, Mention, Senses};

/// The built-in glossary file.
pub const BUILTIN: &str = include_str!("../../glossaries/builtin.tsv");
/// The name the built-in glossary has in messages.
pub const BUILTIN_NAME: &str = "glossaries/builtin.tsv";

/// What a term names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An organization: armed group, party, government body, agency.
    Org,
    /// A person.
    Person,
    /// A place: country, city, province, shrine, crossing.
    Place,
    /// Anything else.
    Other,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Org => "org",
            Kind::Person => "person",
            Kind::Place => "place",
            Kind::Other => "other",
        })
    }
}

/// Where something was read: a glossary entry, a corpus pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file's name as given (or found in a given directory).
    pub file: String,
    /// 1-based line: of the file, or for a batch document of the article.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One glossary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The Arabic term in its base form.
    pub arabic: String,
    /// The English rendering it must get.
    pub english: String,
    /// What it names.
    pub kind: Kind,
    /// Other Arabic spellings of the same name.
    pub variants: Vec<String>,
    /// Free text.
    pub note: String,
    /// Parts of the name that news uses alone, each with the rendering it gets
    /// alone (ترامب → Trump for دونالد ترامب).
    pub short: Vec<ShortForm>,
    /// Forms (the term, variants or short forms, as written in them) that are
    /// also common words: enforced only where a cue or the document confirms
    /// the name.
    pub ambiguous: Vec<String>,
    /// Context that confirms the name sense of an ambiguous form.
    pub confirm: Vec<Cue>,
    /// Context that refutes the name sense of any form.
    pub refute: Vec<Cue>,
    /// Where it was read.
    pub origin: Origin,
}

/// A part of a name used alone, and its rendering alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortForm {
    /// The Arabic short form.
    pub arabic: String,
    /// Its English rendering.
    pub english: String,
}

/// Which of an entry's forms a text uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// The term itself.
    Term,
    /// A variant spelling (index into [`Entry::variants`]).
    Variant(usize),
    /// A short form (index into [`Entry::short`]).
    Short(usize),
}

impl Entry {
    /// An entry with no short forms, ambiguity or cues.
    pub fn new(arabic: &str, english: &str, kind: Kind, variants: Vec<String>, note: &str, origin: Origin) -> Self {
        Self {
            arabic: arabic.to_string(),
            english: english.to_string(),
            kind,
            variants,
            note: note.to_string(),
            short: Vec::new(),
            ambiguous: Vec::new(),
            confirm: Vec::new(),
            refute: Vec::new(),
            origin,
        }
    }

    /// Every Arabic form: the term, its variants, then its short forms.
    pub fn forms(&self) -> impl Iterator<Item = &str> {
        self.labelled_forms().map(|(_, form)| form)
    }

    /// Every Arabic form with which form it is.
    pub fn labelled_forms(&self) -> impl Iterator<Item = (Form, &str)> {
        std::iter::once((Form::Term, self.arabic.as_str()))
            .chain(self.variants.iter().enumerate().map(|(i, v)| (Form::Variant(i), v.as_str())))
            .chain(self.short.iter().enumerate().map(|(i, s)| (Form::Short(i), s.arabic.as_str())))
    }

    /// The Arabic text of one form.
    pub fn form_text(&self, form: Form) -> &str {
        match form {
            Form::Term => &self.arabic,
            Form::Variant(i) => &self.variants[i],
            Form::Short(i) => &self.short[i].arabic,
        }
    }

    /// The rendering a form gets: the entry's, or a short form's own.
    pub fn rendering(&self, form: Form) -> &str {
        match form {
            Form::Short(i) => &self.short[i].english,
            Form::Term | Form::Variant(_) => &self.english,
        }
    }

    /// Whether a form is marked ambiguous.
    pub fn is_ambiguous(&self, form: Form) -> bool {
        let folded = fold_str(self.form_text(form));
        self.ambiguous.iter().any(|a| fold_str(a) == folded)
    }

    /// Whether the entry uses any column beyond the first five.
    pub fn has_senses(&self) -> bool {
        !(self.short.is_empty() && self.ambiguous.is_empty() && self.confirm.is_empty() && self.refute.is_empty())
    }
}

/// Why a glossary could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GlossaryError {
    /// The file could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
    /// A row or the header is malformed.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Two entries of one file give one Arabic form different renderings.
    #[error("{second}: `{form}` is rendered `{second_english}` here but `{first_english}` at line {first_line}")]
    Conflict {
        /// The Arabic form (as written in the second entry).
        form: String,
        /// The later entry.
        second: Origin,
        /// Its rendering.
        second_english: String,
        /// Line of the earlier entry in the same file.
        first_line: usize,
        /// Its rendering.
        first_english: String,
    },
}

/// Something worth telling about a glossary that does not stop it being used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The file starts with a byte-order mark.
    Bom {
        /// The file.
        file: String,
    },
    /// The file has CRLF line endings (reported once, at the first).
    Crlf {
        /// The file.
        file: String,
        /// First line that ends with CRLF.
        line: usize,
    },
    /// A field had leading, trailing or repeated whitespace.
    Whitespace {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column of the field.
        column: usize,
        /// The column's name.
        field: String,
    },
    /// A variant folds to its own term.
    RedundantVariant {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The variant.
        variant: String,
    },
    /// The same entry appears twice in one file.
    Duplicate {
        /// The repeated entry.
        second: Origin,
        /// Line of the first.
        first_line: usize,
    },
    /// A later file's entry replaces an earlier one's rendering.
    Override {
        /// The Arabic form.
        form: String,
        /// The replacing entry.
        new: Origin,
        /// Its rendering.
        new_english: String,
        /// The replaced entry.
        old: Origin,
        /// Its rendering.
        old_english: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Bom { file } => write!(f, "{file}: byte-order mark at the start of the file (ignored)"),
            Warning::Crlf { file, line } => write!(f, "{file}:{line}: CRLF line endings (accepted)"),
            Warning::Whitespace { file, line, column, field } => {
                write!(f, "{file}:{line}:{column}: extra whitespace in the {field} column (collapsed)")
            }
            Warning::RedundantVariant { file, line, variant } => {
                write!(f, "{file}:{line}: variant `{variant}` folds to the term itself (ignored)")
            }
            Warning::Duplicate { second, first_line } => {
                write!(f, "{second}: repeats the entry at line {first_line} (ignored)")
            }
            Warning::Override { form, new, new_english, old, old_english } => {
                write!(f, "{new}: `{form}` is now rendered `{new_english}` (was `{old_english}` from {old})")
            }
        }
    }
}

/// Checks the entries of one file: a form given two renderings is an error; an
/// entry with a form that an earlier entry with the same rendering already has
/// repeats it, and is left out with a warning. Returns the entries kept.
pub fn dedup(entries: &[Entry]) -> Result<(Vec<Entry>, Vec<Warning>), GlossaryError> {
    let mut own: HashMap<String, &Entry> = HashMap::new();
    let mut keep = Vec::with_capacity(entries.len());
    let mut warnings = Vec::new();
    for entry in entries {
        let mut duplicate_of = None;
        for form in entry.forms() {
            let key = fold_str(form);
            if let Some(first) = own.get(&key) {
                if first.english != entry.english {
                    return Err(GlossaryError::Conflict {
                        form: form.to_string(),
                        second: entry.origin.clone(),
                        second_english: entry.english.clone(),
                        first_line: first.origin.line,
                        first_english: first.english.clone(),
                    });
                }
                duplicate_of.get_or_insert(first.origin.line);
            }
        }
        match duplicate_of {
            Some(first_line) => warnings.push(Warning::Duplicate { second: entry.origin.clone(), first_line }),
            None => {
                for form in entry.forms() {
                    own.insert(fold_str(form), entry);
                }
                keep.push(entry.clone());
            }
        }
    }
    Ok((keep, warnings))
}

/// Entries from stacked glossary files. Each folded Arabic form belongs to one
/// entry: the last one read that names it.
#[derive(Debug, Clone, Default)]
pub struct Glossary {
    entries: Vec<Entry>,
    /// Folded form → index into `entries` and which of its forms.
    forms: HashMap<String, (usize, Form)>,
}

impl Glossary {
    /// An empty glossary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in glossary alone.
    pub fn builtin() -> Result<(Self, Vec<Warning>), GlossaryError> {
        let mut glossary = Self::new();
        let warnings = glossary.add(BUILTIN.as_bytes(), BUILTIN_NAME)?;
        Ok((glossary, warnings))
    }

    /// Reads a glossary file and stacks it on top.
    pub fn add_file(&mut self, path: &Path) -> Result<Vec<Warning>, GlossaryError> {
        let bytes =
            std::fs::read(path).map_err(|error| GlossaryError::Io { path: path.display().to_string(), error })?;
        self.add(&bytes, &path.display().to_string())
    }

    /// Parses a glossary file's bytes and stacks its entries on top: within the
    /// file, a form given two renderings is an error; across files, the later
    /// entry wins and the override is reported.
    pub fn add(&mut self, bytes: &[u8], file: &str) -> Result<Vec<Warning>, GlossaryError> {
        let (entries, mut warnings) = parse::parse(bytes, file)?;
        // Check the file on its own first, so a failing file changes nothing.
        let (keep, duplicates) = dedup(&entries)?;
        warnings.extend(duplicates);
        for entry in keep {
            let index = self.entries.len();
            for (label, form) in entry.labelled_forms() {
                let key = fold_str(form);
                if let Some(&(old, _)) = self.forms.get(&key) {
                    let old = &self.entries[old];
                    if old.english != entry.english {
                        warnings.push(Warning::Override {
                            form: form.to_string(),
                            new: entry.origin.clone(),
                            new_english: entry.english.clone(),
                            old: old.origin.clone(),
                            old_english: old.english.clone(),
                        });
                    }
                }
                self.forms.insert(key, (index, label));
            }
            self.entries.push(entry);
        }
        Ok(warnings)
    }

    /// Every entry read, replaced ones included (see [`Glossary::active`]).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry that owns each folded form: `(folded form, entry)`, sorted by form.
    pub fn active(&self) -> Vec<(&str, &Entry)> {
        let mut forms: Vec<(&str, &Entry)> =
            self.forms.iter().map(|(form, &(index, _))| (form.as_str(), &self.entries[index])).collect();
        forms.sort_by(|a, b| a.0.cmp(b.0));
        forms
    }

    /// The entry for an Arabic form (folded before lookup).
    pub fn lookup(&self, arabic: &str) -> Option<&Entry> {
        self.forms.get(&fold_str(arabic)).map(|&(i, _)| &self.entries[i])
    }

    /// Every owned folded form with its entry's index and which form it is, sorted by form.
    pub fn owned_forms(&self) -> Vec<(&str, usize, Form)> {
        let mut forms: Vec<(&str, usize, Form)> =
            self.forms.iter().map(|(form, &(index, label))| (form.as_str(), index, label)).collect();
        forms.sort_by(|a, b| a.0.cmp(b.0));
        forms
    }

    /// Number of distinct folded forms.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    /// Whether no form is known.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::parse::HEADER;
    use super::*;

    fn file(rows: &[&str]) -> Vec<u8> {
        format!("{HEADER}\n{}\n", rows.join("\n")).into_bytes()
    }

    #[test]
    fn later_files_win_and_overrides_are_reported() {
        let mut g = Glossary::new();
        assert!(g.add(&file(&["حزب الله\tHezbollah\torg\t\t", "حماس\tHamas\torg\t\t"]), "a.tsv").unwrap().is_empty());
        let warnings = g.add(&file(&["حزب الله\tHizbullah\torg\t\t", "حماس\tHamas\torg\t\t"]), "b.tsv").unwrap();
        assert_eq!(
            warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec!["b.tsv:2: `حزب الله` is now rendered `Hizbullah` (was `Hezbollah` from a.tsv:2)"]
        );
        assert_eq!(g.lookup("حزب الله").unwrap().english, "Hizbullah");
        assert_eq!(g.lookup("حِزْب الله").unwrap().english, "Hizbullah");
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn conflicts_within_a_file_are_errors_and_duplicates_warnings() {
        let mut g = Glossary::new();
        let err = g
            .add(&file(&["حماس\tHamas\torg\t\t", "فاطميون\tFatemiyoun\torg\tحماس\t"]), "c.tsv")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "c.tsv:3: `حماس` is rendered `Fatemiyoun` here but `Hamas` at line 2");
        assert!(g.is_empty(), "a failing file adds nothing");
        let warnings = g.add(&file(&["حماس\tHamas\torg\t\t", "حماس\tHamas\torg\t\t"]), "d.tsv").unwrap();
        assert_eq!(
            warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec!["d.tsv:3: repeats the entry at line 2 (ignored)"]
        );
    }
}
