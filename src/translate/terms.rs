//! Glossary enforcement: the terms found in each line ([`Terms`]), the
//! constraints that make the decoder write them ([`Terms::plan`]), and where
//! their renderings landed in a translation ([`place`]), with why a term is
//! missing.

use std::ops::Range;

use super::char_offset;
use crate::align::{Alignment, Word};
use crate::decoding::Constraint;
use crate::glossary::{Decision, Glossary, Kind, Senses};
use crate::tokenizer::MarianTokenizer;

/// Why a term is missing: the target vocabulary has no pieces for its rendering.
pub(super) const UNWRITABLE: &str = "the target vocabulary cannot write the rendering";
/// Why a term is missing: `report` mode leaves decoding alone.
pub(super) const NOT_CONSTRAINED: &str = "not constrained (glossary mode report)";
/// Why a term is missing: the detokenized output does not show its rendering.
pub(super) const NOT_IN_OUTPUT: &str = "the rendering is not in the detokenized output";
/// Why a term is missing: constrained search ended before writing it.
pub(super) const NOT_WITHIN_MAX_LENGTH: &str = "no hypothesis within max_length contains it";

/// One glossary term found in a source line, and where its rendering landed.
#[derive(Debug, Clone, PartialEq)]
pub struct TermUse {
    /// The glossary entry's Arabic term.
    pub term: String,
    /// The rendering the glossary asks for.
    pub english: String,
    /// What the term names.
    pub kind: Kind,
    /// Character range of the term in the source line (proclitics excluded).
    pub source_span: Range<usize>,
    /// How an ambiguous form was confirmed as the name (`None` for a form that
    /// is not ambiguous).
    pub confirmed: Option<String>,
    /// Character range of its rendering in the translation, when present.
    pub target_span: Option<Range<usize>>,
    /// Why the rendering is missing, when it is.
    pub problem: Option<String>,
    /// Whether a word alignment of the translation links every target word of the
    /// placed rendering to a source word of the term (see
    /// [`Translation::check_alignment`]); `None` until checked, and for a term not
    /// placed.
    pub aligned: Option<bool>,
}

/// A glossary form found in a source line but not enforced: an ambiguous form
/// nothing confirmed, or a form a cue refuted.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedTerm {
    /// The glossary entry's Arabic term.
    pub term: String,
    /// The rendering it would have got.
    pub english: String,
    /// What the entry names.
    pub kind: Kind,
    /// Character range of the form in the source line (proclitics excluded).
    pub source_span: Range<usize>,
    /// Why it is not enforced.
    pub why: String,
}

/// How glossary terms are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlossaryMode {
    /// Constrained beam search writes every term's rendering.
    Constrain,
    /// Terms are found and reported, decoding is left alone.
    Report,
}

/// A glossary ready for use.
#[derive(Debug, Clone)]
pub struct Terms {
    glossary: Glossary,
    senses: Senses,
    pub(super) mode: GlossaryMode,
}

impl Terms {
    /// Prepares `glossary` for matching.
    pub fn new(glossary: Glossary, mode: GlossaryMode) -> Self {
        let senses = Senses::new(&glossary);
        Self { glossary, senses, mode }
    }

    /// The terms of each line of one document (lines in reading order): the
    /// mentions enforced and those skipped, decided as [`Senses::document`] does.
    pub fn find(&self, lines: &[&str]) -> Vec<(Vec<TermUse>, Vec<SkippedTerm>)> {
        self.senses
            .document(&self.glossary, lines)
            .into_iter()
            .zip(lines)
            .map(|(mentions, line)| {
                let (mut uses, mut skipped) = (Vec::new(), Vec::new());
                for m in mentions {
                    let entry = &self.glossary.entries()[m.entry];
                    let source_span = char_offset(line, m.span.start)..char_offset(line, m.span.end);
                    let (term, english, kind) = (entry.arabic.clone(), entry.rendering(m.form).to_string(), entry.kind);
                    match m.decision {
                        Decision::Enforce { confirmed } => uses.push(TermUse {
                            term,
                            english,
                            kind,
                            source_span,
                            confirmed,
                            target_span: None,
                            problem: None,
                            aligned: None,
                        }),
                        Decision::Skip { why } => skipped.push(SkippedTerm { term, english, kind, source_span, why }),
                    }
                }
                (uses, skipped)
            })
            .collect()
    }
}

impl Terms {
    /// Finds the glossary terms of each line of one document and builds their
    /// constraints (ids below `vocab` that `tokenizer` gives their renderings).
    pub(super) fn plan(&self, lines: &[&str], tokenizer: &MarianTokenizer, vocab: usize) -> Vec<LineTerms> {
        self.find(lines)
            .into_iter()
            .map(|(mut uses, skipped)| {
                let mut constraints = Vec::new();
                let mut accepted = Vec::new();
                for term in &mut uses {
                    let full = self.glossary.lookup(&term.term).map(|e| e.english.clone());
                    accepted.push(std::iter::once(term.english.clone()).chain(full).collect());
                    if self.mode != GlossaryMode::Constrain {
                        continue;
                    }
                    let writable = |text: &str| {
                        tokenizer
                            .encode_target(text)
                            .filter(|ids| !ids.is_empty() && ids.iter().all(|&id| (id as usize) < vocab))
                    };
                    let upper = capitalized(&term.english);
                    let alternatives: Vec<Vec<u32>> = writable(&term.english).into_iter().collect();
                    let sentence_start: Vec<Vec<u32>> =
                        if upper == term.english { Vec::new() } else { writable(&upper).into_iter().collect() };
                    if alternatives.is_empty() && sentence_start.is_empty() {
                        term.problem = Some(UNWRITABLE.to_string());
                    } else {
                        constraints.push(Constraint { alternatives, sentence_start });
                    }
                }
                LineTerms { uses, skipped, constraints, accepted }
            })
            .collect()
    }
}

/// A line's terms before decoding: what was found and the constraints built.
pub(super) struct LineTerms {
    pub(super) uses: Vec<TermUse>,
    pub(super) skipped: Vec<SkippedTerm>,
    pub(super) constraints: Vec<Constraint>,
    /// Per use, the renderings that show it in a translation: its own, and for
    /// a short form the full name's (the model may say more than the source).
    pub(super) accepted: Vec<Vec<String>>,
}

impl LineTerms {
    /// A line with no terms.
    pub(super) fn empty() -> Self {
        Self { uses: Vec::new(), skipped: Vec::new(), constraints: Vec::new(), accepted: Vec::new() }
    }
}

/// Locates each term's rendering in `text` (any of its accepted renderings,
/// capitalized or not; as whole words when `whole_words`, which a
/// translation decoded without constraints must show), the k-th use of a
/// rendering at its k-th occurrence; marks the others missed with `why`.
/// Returns whether every term was placed.
pub(super) fn place(uses: &mut [TermUse], accepted: &[Vec<String>], text: &str, why: &str, whole_words: bool) -> bool {
    let mut taken: Vec<Range<usize>> = Vec::new();
    let mut all = true;
    for (term, renderings) in uses.iter_mut().zip(accepted) {
        let mut found = None;
        'renderings: for rendering in renderings.iter().flat_map(|r| [r.clone(), capitalized(r)]) {
            let mut from = 0;
            while let Some(at) = text[from..].find(&rendering) {
                let start = from + at;
                let end = start + rendering.len();
                let span = char_offset(text, start)..char_offset(text, end);
                let whole = !text[..start].chars().next_back().is_some_and(char::is_alphanumeric)
                    && !text[end..].chars().next().is_some_and(char::is_alphanumeric);
                if (whole || !whole_words) && !taken.iter().any(|t| t.start < span.end && span.start < t.end) {
                    found = Some(span);
                    break 'renderings;
                }
                from = start + rendering.len().max(1);
            }
        }
        match found {
            Some(span) => {
                taken.push(span.clone());
                term.target_span = Some(span);
                term.problem = None;
            }
            None => {
                all = false;
                term.problem.get_or_insert_with(|| why.to_string());
            }
        }
    }
    all
}

/// The first letter upper-cased (for a term that opens the sentence).
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Sets each placed term's [`TermUse::aligned`] (see [`Translation::check_alignment`]).
pub(super) fn check_terms(terms: &mut [TermUse], alignment: &Alignment, pairs: &[(usize, usize)]) {
    let overlapping = |words: &[Word], span: &Range<usize>| -> Vec<usize> {
        words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.span.as_ref().is_some_and(|s| s.start < span.end && span.start < s.end))
            .map(|(i, _)| i)
            .collect()
    };
    for term in terms {
        term.aligned = term.target_span.as_ref().map(|target_span| {
            let sources = overlapping(&alignment.source_words, &term.source_span);
            let targets = overlapping(&alignment.target_words, target_span);
            !targets.is_empty() && targets.iter().all(|t| pairs.iter().any(|(s, pt)| pt == t && sources.contains(s)))
        });
    }
}
