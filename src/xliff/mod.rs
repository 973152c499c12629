//! XLIFF pre-translation: fill the empty targets of an XLIFF 1.2 or 2.x file
//! and leave every other byte as it was.
//!
//! 1. **Reading** ([`Document::parse`], `read.rs`): the file is decoded (UTF-8,
//!    or UTF-16 with a byte-order mark; other encodings are refused) and walked
//!    once with quick-xml, which checks that it is well-formed. Elements are
//!    told by their namespace (the version's XLIFF namespace, or none), not by
//!    their prefix: `<xlf:trans-unit>` is a unit, a tool's own `<segment>` in
//!    its namespace is not; what tarjim writes gets the unit's prefix. The walk records
//!    the byte ranges of every target to fill: a `<trans-unit>` (1.2) or
//!    `<segment>` (2.x) that is translatable (`translate` is not `no` on it or an
//!    ancestor), not approved (1.2), not final (2.x `state="final"`; 1.2 `state`
//!    `final`, `translated` or `signed-off` on an existing target) and whose
//!    target is missing or holds only whitespace. tarjim never merges or splits
//!    segments, so `canResegment` does not restrict it. A 1.2 unit segmented in
//!    its `<seg-source>` (`<mrk mtype="seg" mid="…">`, as Okapi and Trados write)
//!    is filled segment by segment ([`Segmented`]): a missing or blank target is
//!    written as a copy of the seg-source whose segment `<mrk>`s hold their
//!    translations; a target with segment `<mrk>`s gets only its blank ones
//!    filled.
//! 2. **Inline codes** (`inline.rs`): a source is read into plain text (what the
//!    model translates) and codes, each at a character offset of that text.
//!    Paired codes (`<g>`, `<pc>`, `<mrk>`, and the standalone pairs
//!    `<bx/>`/`<ex/>`, `<bpt>`/`<ept>`, `<sc/>`/`<ec/>`, `<sm/>`/`<em/>` matched in
//!    the same source) span the words they enclose; the others are points.
//!    Codes whose content is not text to translate (`<ph>`, `<bpt>`, `<ept>`,
//!    `<it>`, `<x/>`, `<cp/>`, `<mrk translate="no">`, 1.2 `<mrk mtype="protected">`)
//!    are copied whole; the text between a 2.x `<sm translate="no"/>` and its
//!    `<em/>` is kept as written, as point codes at the marker's offset, so the
//!    model never sees protected text.
//!    The CLI translates each source sentence by sentence
//!    (`Translator::translate_lines` with `Split::Sentences`) and aligns the
//!    joined translation, so offsets count characters of the whole source.
//! 3. **Placing** ([`place`]): each code goes to the target words the word
//!    alignment links to the source words it encloses or stands next to. Codes
//!    keep their source order (which keeps pairs well nested and respects
//!    `canReorder="no"`): a code aligned before the previous one is moved up to it.
//! 4. **Writing** (`write.rs`): the file is spliced: only the filled targets, the
//!    state attributes, the notes and (2.x) a missing `trgLang` are written; every
//!    other byte is copied.

mod inline;
mod read;
mod write;

use std::ops::Range;

pub use inline::{Code, CodeKind, Inline, place};
pub use read::{Document, Encoding, NotesAt, Scope, Segment, Segmented, TargetAt, Unit, Version};
pub use write::{Filled, splices, write};

/// Why an XLIFF file cannot be pre-translated (nothing is written for it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XliffError {
    /// The file is not well-formed XML, or not XLIFF where it must be.
    #[error("{line}:{column}: {message}")]
    Xml {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Something tarjim does not handle: an encoding, a version, languages.
    #[error("{0}")]
    Unsupported(String),
}

impl XliffError {
    /// The message for `file`: `FILE:LINE:COL: problem` or `FILE: problem`.
    pub fn located(&self, file: &str) -> String {
        match self {
            Self::Xml { .. } => format!("{file}:{self}"),
            Self::Unsupported(_) => format!("{file}: {self}"),
        }
    }

    /// An [`XliffError::Xml`] at byte `offset` of `text`.
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = crate::text::line_column(text, offset);
        Self::Xml { line, column, message: message.into() }
    }
}

/// One edit of a document: the bytes of `range` replaced by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Byte range of the document's text replaced (empty for an insertion).
    pub range: Range<usize>,
    /// What goes there.
    pub text: String,
}
