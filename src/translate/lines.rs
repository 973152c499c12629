//! Lines translated sentence by sentence.
//!
//! [`Translator::translate_lines`] splits each line into sentences
//! ([`segment::split`]: a sentence over the model's limit is split at commas,
//! then spaces), translates every sentence of every line together (batched and
//! length-sorted as [`Translator::translate_documents`] does, each line's
//! sentences one document unless the caller groups lines into documents), and
//! joins each line's translations with one space. Offsets are kept: every
//! sentence knows its characters in the line and in the line's translation,
//! and the line's glossary terms carry spans into the whole line and the whole
//! translation.

use std::ops::Range;
use std::time::Duration;

use super::terms::check_terms;
use super::{LineError, Progress, SkippedTerm, TermUse, Translation, Translator, char_offset};
use crate::align::Alignment;
use crate::article::segment;

/// How input lines are cut into model inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Each line into its sentences (see the module documentation).
    Sentences,
    /// Each line whole, for input that is already one sentence a line.
    Lines,
}

/// One sentence of a line and its translation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// Characters of the line it covers.
    pub source_span: Range<usize>,
    /// Characters of the line's translation that its translation covers.
    pub target_span: Range<usize>,
    /// Its translation; the spans of its terms count characters of the
    /// sentence and of its own translation.
    pub translation: Translation,
}

/// One line translated sentence by sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct LineTranslation {
    /// The sentences' translations joined by one space (empty ones left out).
    pub text: String,
    /// The sentences, in order (none for a line of whitespace).
    pub sentences: Vec<Sentence>,
    /// Glossary terms enforced in the line, in order, with spans into the line
    /// and into [`Self::text`].
    pub terms: Vec<TermUse>,
    /// Glossary forms found but not enforced, with spans into the line.
    pub skipped: Vec<SkippedTerm>,
}

impl LineTranslation {
    /// Terms that were found but are not in the output.
    pub fn missed_terms(&self) -> usize {
        self.terms.iter().filter(|t| t.target_span.is_none()).count()
    }

    /// Source tokens of all sentences (each with its `</s>`).
    pub fn source_tokens(&self) -> usize {
        self.sentences.iter().map(|s| s.translation.source_ids.len()).sum()
    }

    /// Generated tokens of all sentences.
    pub fn target_tokens(&self) -> usize {
        self.sentences.iter().map(|s| s.translation.target_ids.len()).sum()
    }

    /// The sentences' scores, each weighted by its generated tokens (the
    /// sentence's own score for one sentence; 0 for none).
    pub fn score(&self) -> f32 {
        let tokens = self.target_tokens();
        if tokens == 0 {
            return self.sentences.first().map_or(0.0, |s| s.translation.score);
        }
        let total: f32 =
            self.sentences.iter().map(|s| s.translation.score * s.translation.target_ids.len() as f32).sum();
        total / tokens as f32
    }

    /// The sentences' shares of their batches' wall time, summed.
    pub fn time(&self) -> Duration {
        self.sentences.iter().map(|s| s.translation.time).sum()
    }

    /// Sets each placed term's [`TermUse::aligned`] from a word alignment of the
    /// line and its translation (see [`Translation::check_alignment`]).
    pub fn check_alignment(&mut self, alignment: &Alignment, pairs: &[(usize, usize)]) {
        check_terms(&mut self.terms, alignment, pairs);
    }
}

/// Shifts a character range by `by`.
fn shifted(span: &Range<usize>, by: usize) -> Range<usize> {
    span.start + by..span.end + by
}

impl Translator {
    /// Translates `lines`, each cut as `split` says, at most `batch_size`
    /// sentences per model call. `documents[i]` names the document line `i`
    /// belongs to (lines of one document in reading order; a line past the end
    /// of `documents` is a document of its own): glossary senses are decided per
    /// document, over its lines' sentences. Results come back in input order;
    /// a line fails when one of its sentences does, with that sentence's error.
    pub fn translate_lines(
        &self,
        lines: &[&str],
        documents: &[usize],
        split: Split,
        batch_size: usize,
        on_event: &mut dyn FnMut(Progress),
    ) -> Vec<Result<LineTranslation, LineError>> {
        let max = self.model.config().max_position_embeddings;
        let count = |text: &str| self.tokenizer.encode(text).ids.len();
        let fresh = documents.iter().max().map_or(0, |&d| d + 1);
        let mut units: Vec<&str> = Vec::new();
        let mut unit_documents: Vec<usize> = Vec::new();
        let pieces: Vec<Vec<Range<usize>>> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let spans = match split {
                    Split::Sentences => segment::split(line, max, &count),
                    Split::Lines => std::iter::once(0..line.len()).collect(),
                };
                let document = documents.get(i).copied().unwrap_or(fresh + i);
                for span in &spans {
                    units.push(&line[span.clone()]);
                    unit_documents.push(document);
                }
                spans
            })
            .collect();
        let mut results = self.translate_documents(&units, &unit_documents, batch_size, on_event).into_iter();
        lines
            .iter()
            .zip(pieces)
            .map(|(line, spans)| {
                let outcomes: Vec<Result<Translation, LineError>> = results.by_ref().take(spans.len()).collect();
                let count = spans.len();
                let mut out = LineTranslation {
                    text: String::new(),
                    sentences: Vec::with_capacity(count),
                    terms: Vec::new(),
                    skipped: Vec::new(),
                };
                let mut target_chars = 0;
                for (index, (span, outcome)) in spans.into_iter().zip(outcomes).enumerate() {
                    let translation = outcome.map_err(|error| {
                        // What is left over the limit once split is a single word.
                        let error = match (split, error) {
                            (Split::Sentences, LineError::TooLong { tokens, max }) => {
                                LineError::WordTooLong { tokens, max }
                            }
                            (_, error) => error,
                        };
                        if count > 1 {
                            LineError::Sentence { index: index + 1, count, error: Box::new(error) }
                        } else {
                            error
                        }
                    })?;
                    let source_span = char_offset(line, span.start)..char_offset(line, span.end);
                    if !translation.text.is_empty() && !out.text.is_empty() {
                        out.text.push(' ');
                        target_chars += 1;
                    }
                    let target_start = target_chars;
                    out.text.push_str(&translation.text);
                    target_chars += translation.text.chars().count();
                    out.terms.extend(translation.terms.iter().map(|term| TermUse {
                        source_span: shifted(&term.source_span, source_span.start),
                        target_span: term.target_span.as_ref().map(|s| shifted(s, target_start)),
                        ..term.clone()
                    }));
                    out.skipped.extend(translation.skipped.iter().map(|term| SkippedTerm {
                        source_span: shifted(&term.source_span, source_span.start),
                        ..term.clone()
                    }));
                    out.sentences.push(Sentence { source_span, target_span: target_start..target_chars, translation });
                }
                Ok(out)
            })
            .collect()
    }
}
