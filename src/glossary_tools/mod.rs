//! Glossary maintenance: the tools that check, convert, edit, audit and mine
//! glossary files, apart from the decoding-time core in [`crate::glossary`].
//!
//! Named `glossary_tools` rather than `terms`: the translator's enforced terms
//! are `translate::Terms`, and the bench `terms` measures the core's matching;
//! this module is what `tarjim glossary` runs, and nothing here is used while
//! translating.
//!
//! * [`lint`], [`formats`], [`edit`], [`write`]: checking files, converting them
//!   to and from other glossary formats, adding entries, writing canonical TSV.
//! * [`corpus`], [`audit`], [`suggest`]: translated sentence pairs, checked for
//!   consistent renderings and mined for new entries (`names` reads names on
//!   both sides).

pub mod audit;
pub mod corpus;
pub mod edit;
pub mod formats;
pub mod lint;
mod names;
pub mod suggest;
pub mod write;

use crate::glossary::{GlossaryError, Origin};
pub use write::UnwritableEntry;

/// Why a glossary file could not be written or edited.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The file could not be read as a glossary.
    #[error(transparent)]
    Glossary(#[from] GlossaryError),
    /// An entry cannot be written as a glossary row.
    #[error(transparent)]
    Unwritable(#[from] UnwritableEntry),
    /// The command line's new entry is malformed.
    #[error("new entry: {message}")]
    NewEntry {
        /// What is wrong.
        message: String,
    },
    /// A form of a new entry belongs to an entry with another rendering.
    #[error("{existing}: `{form}` is already rendered `{existing_english}` there, not `{english}`")]
    Taken {
        /// The new entry's form.
        form: String,
        /// The entry that has it.
        existing: Origin,
        /// That entry's rendering.
        existing_english: String,
        /// The new entry's rendering.
        english: String,
    },
    /// A form of a new entry belongs to another entry with the same rendering.
    #[error("{existing}: `{form}` is already a form of `{existing_arabic}` there; edit that line instead")]
    Overlaps {
        /// The new entry's form.
        form: String,
        /// The entry that has it.
        existing: Origin,
        /// That entry's Arabic term.
        existing_arabic: String,
    },
}
