//! Sentences in, translations out: tokenizer, model and decoding together.
//!
//! [`Translator::translate`] sorts its lines by token count, decodes them in
//! batches of similar lengths, and returns the results in input order. A line that
//! cannot be translated (too long for the model, or failing to decode: a batch
//! that fails is decoded again line by line) gets its own error; the others are
//! unaffected. Progress is reported batch by batch ([`Progress`]).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::Device;

use crate::align::Alignment;
use crate::decoding::{Constraint, DecodeError, GenerationConfig, generate, generate_constrained};
use crate::model::{MarianConfig, MarianMTModel, ModelError, Precision, load_model_as};
use crate::tokenizer::{MarianTokenizer, TokenizerError};

mod lines;
mod terms;

pub use lines::{LineTranslation, Sentence, Split};
pub use terms::{GlossaryMode, SkippedTerm, TermUse, Terms};
use terms::{LineTerms, NOT_CONSTRAINED, NOT_IN_OUTPUT, NOT_WITHIN_MAX_LENGTH, check_terms, place};

/// Why a model directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Weights or `config.json`.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// SentencePiece models or vocabulary.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// Generation settings.
    #[error(transparent)]
    Generation(#[from] DecodeError),
    /// `vocab.json` gives a token an id the model has no embedding row for.
    #[error(
        "vocab.json gives {piece:?} the id {id}, but the model has {rows} token embeddings (vocab_size in \
         config.json): the vocabulary does not belong to these weights"
    )]
    VocabularyId {
        /// The token with the largest id.
        piece: String,
        /// Its id.
        id: u32,
        /// `vocab_size` of the model.
        rows: usize,
    },
    /// The files of a checkpoint directory do not fit together.
    #[error("{dir}: {message}")]
    Checkpoint {
        /// The directory.
        dir: String,
        /// What does not fit.
        message: String,
    },
}

/// Why one line was not translated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    /// The line has more tokens than the model's position table.
    #[error("{tokens} tokens, more than the model's limit of {max}; split the line")]
    TooLong {
        /// Source tokens, `</s>` included.
        tokens: usize,
        /// `max_position_embeddings`.
        max: usize,
    },
    /// Decoding the line failed (alone: a failed batch is retried line by line).
    #[error("decoding failed: {0}")]
    Decode(String),
    /// A sentence split at commas and spaces still holds a word with more
    /// tokens than the model's position table.
    #[error("a word of {tokens} tokens is more than the model's limit of {max} and cannot be split")]
    WordTooLong {
        /// Source tokens of the piece holding it, `</s>` included.
        tokens: usize,
        /// `max_position_embeddings`.
        max: usize,
    },
    /// One sentence of a line of several failed.
    #[error("sentence {index} of {count}: {error}")]
    Sentence {
        /// 1-based index of the sentence in its line.
        index: usize,
        /// Sentences in the line.
        count: usize,
        /// Why it failed.
        error: Box<LineError>,
    },
}

/// One translated line.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The English text (special tokens never appear in it).
    pub text: String,
    /// Source token ids, `</s>` included.
    pub source_ids: Vec<u32>,
    /// Generated token ids, `</s>` included when produced.
    pub target_ids: Vec<u32>,
    /// The hypothesis score (length-normalized log-probability).
    pub score: f32,
    /// This line's share of its batch's wall time.
    pub time: Duration,
    /// Glossary terms found in the line and enforced, in order.
    pub terms: Vec<TermUse>,
    /// Glossary forms found in the line but not enforced, in order.
    pub skipped: Vec<SkippedTerm>,
}

impl Translation {
    /// Terms that were found but are not in the output.
    pub fn missed_terms(&self) -> usize {
        self.terms.iter().filter(|t| t.target_span.is_none()).count()
    }

    /// Sets each placed term's [`TermUse::aligned`] from a word alignment of this
    /// line and its translation and the `(source word, target word)` pairs read
    /// from it: true when every target word the rendering overlaps is linked to a
    /// source word that overlaps the term's source span.
    pub fn check_alignment(&mut self, alignment: &Alignment, pairs: &[(usize, usize)]) {
        check_terms(&mut self.terms, alignment, pairs);
    }
}

/// What [`Translator::translate`] reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A batch is done.
    Batch {
        /// Lines (or sentences) in the batch.
        lines: usize,
        /// Tokens generated for them.
        target_tokens: usize,
        /// Wall time of the batch.
        time: Duration,
    },
}

/// A loaded model with its tokenizer and generation settings.
#[derive(Debug)]
pub struct Translator {
    model: MarianMTModel,
    tokenizer: MarianTokenizer,
    generation: GenerationConfig,
    terms: Option<Terms>,
}

/// Character offset of byte offset `byte` in `text`.
fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

impl Translator {
    /// Loads a checkpoint directory in Hugging Face layout onto `device`.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self, LoadError> {
        Self::from_dir_as(dir, device, Precision::F32)
    }

    /// [`Self::from_dir`] with the weights held in `precision`.
    pub fn from_dir_as(dir: &Path, device: &Device, precision: Precision) -> Result<Self, LoadError> {
        let tokenizer = MarianTokenizer::from_dir(dir)?;
        let (model, cfg) = load_model_as(dir, device, precision)?;
        let generation = GenerationConfig::from_model_dir(dir, &cfg)?;
        // Say which checkpoint's files do not fit together.
        Self::new(model, tokenizer, generation).map_err(|err| match err {
            LoadError::VocabularyId { .. } | LoadError::Generation(DecodeError::Settings(_)) => {
                LoadError::Checkpoint { dir: dir.display().to_string(), message: err.to_string() }
            }
            other => other,
        })
    }

    /// Puts together parts loaded elsewhere, once they are known to fit: every
    /// `vocab.json` id has an embedding row, and `generation` passes
    /// [`GenerationConfig::validate`].
    pub fn new(
        model: MarianMTModel,
        tokenizer: MarianTokenizer,
        generation: GenerationConfig,
    ) -> Result<Self, LoadError> {
        let rows = model.config().vocab_size;
        if let Some((id, piece)) = tokenizer.largest_id().filter(|&(id, _)| id as usize >= rows) {
            return Err(LoadError::VocabularyId { piece: piece.to_string(), id, rows });
        }
        generation.validate(model.config())?;
        Ok(Self { model, tokenizer, generation, terms: None })
    }

    /// Uses a glossary from now on (or none).
    pub fn set_terms(&mut self, terms: Option<Terms>) {
        self.terms = terms;
    }

    /// The glossary terms of each line of one document and their constraints.
    fn plan(&self, lines: &[&str]) -> Vec<LineTerms> {
        match &self.terms {
            Some(terms) => terms.plan(lines, &self.tokenizer, self.model.config().target_vocab_size()),
            None => lines.iter().map(|_| LineTerms::empty()).collect(),
        }
    }

    /// The model's config.
    pub fn config(&self) -> &MarianConfig {
        self.model.config()
    }

    /// The model.
    pub fn model(&self) -> &MarianMTModel {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &MarianTokenizer {
        &self.tokenizer
    }

    /// The decoding settings (the checkpoint's unless changed).
    pub fn generation(&self) -> &GenerationConfig {
        &self.generation
    }

    /// Changes decoding settings. Settings that cannot work fail every batch
    /// (each line then fails with the reason); [`Self::set_generation`] checks
    /// them first.
    pub fn generation_mut(&mut self) -> &mut GenerationConfig {
        &mut self.generation
    }

    /// Uses `generation` from now on, once it passes
    /// [`GenerationConfig::fit`] against the model: returns the warning to
    /// give when `max_length` was lowered to the model's position table.
    pub fn set_generation(&mut self, mut generation: GenerationConfig) -> Result<Option<String>, DecodeError> {
        let warning = generation.fit(self.model.config())?;
        self.generation = generation;
        Ok(warning)
    }

    /// Translates `lines`, each its own document, at most `batch_size` per
    /// model call, reporting each finished batch to `on_event`. Results come
    /// back in input order.
    pub fn translate(
        &self,
        lines: &[&str],
        batch_size: usize,
        on_event: &mut dyn FnMut(Progress),
    ) -> Vec<Result<Translation, LineError>> {
        let documents: Vec<usize> = (0..lines.len()).collect();
        self.translate_documents(lines, &documents, batch_size, on_event)
    }

    /// Translates `lines`, where `documents[i]` names the document line `i`
    /// belongs to (lines of one document in reading order): glossary senses are
    /// decided per document, so a name confirmed in one line confirms its short
    /// and ambiguous forms in the others. Results come back in input order.
    ///
    /// In `constrain` mode a line with terms is first decoded like any other;
    /// only when that translation lacks one of its renderings is it decoded
    /// again under constraints.
    pub fn translate_documents(
        &self,
        lines: &[&str],
        documents: &[usize],
        batch_size: usize,
        on_event: &mut dyn FnMut(Progress),
    ) -> Vec<Result<Translation, LineError>> {
        let max = self.model.config().max_position_embeddings;
        let encoded: Vec<Vec<u32>> = lines.iter().map(|line| self.tokenizer.encode(line).ids).collect();
        let mut results: Vec<Option<Result<Translation, LineError>>> = vec![None; lines.len()];
        let mut order: Vec<usize> = Vec::with_capacity(lines.len());
        for (i, ids) in encoded.iter().enumerate() {
            if ids.len() > max {
                results[i] = Some(Err(LineError::TooLong { tokens: ids.len(), max }));
            } else {
                order.push(i);
            }
        }
        // Longest first: similar lengths share a batch and padding stays small.
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].len()));
        let mut plans: Vec<Option<LineTerms>> = (0..lines.len()).map(|_| None).collect();
        let mut by_document: Vec<Vec<usize>> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for (i, &document) in documents.iter().enumerate().take(lines.len()) {
            let at = *slot.entry(document).or_insert_with(|| {
                by_document.push(Vec::new());
                by_document.len() - 1
            });
            by_document[at].push(i);
        }
        // A line without a document stands alone.
        for i in documents.len()..lines.len() {
            by_document.push(vec![i]);
        }
        for members in &by_document {
            let texts: Vec<&str> = members.iter().map(|&i| lines[i]).collect();
            for (&i, plan) in members.iter().zip(self.plan(&texts)) {
                plans[i] = Some(plan);
            }
        }
        let mode = self.terms.as_ref().map(|t| t.mode);
        let mut spent: Vec<Duration> = vec![Duration::ZERO; lines.len()];
        // Every line first: lines without constraints keep the reference beam
        // search's output, and lines whose translation already holds their terms
        // need nothing forced.
        let mut constrained = Vec::new();
        for chunk in order.chunks(batch_size.max(1)) {
            let start = Instant::now();
            let outcomes = batch_or_alone(chunk, |lines| {
                let sources: Vec<Vec<u32>> = lines.iter().map(|&i| encoded[i].clone()).collect();
                generate(&self.model, &sources, &self.generation)
            });
            let time = start.elapsed();
            let share = time / share_count(chunk.len());
            let (mut target_tokens, mut waiting) = (0, 0);
            for (&i, outcome) in chunk.iter().zip(outcomes) {
                spent[i] += share;
                let hypothesis = match outcome {
                    Ok(hypothesis) => hypothesis,
                    Err(err) => {
                        results[i] = Some(Err(err));
                        continue;
                    }
                };
                target_tokens += hypothesis.tokens.len();
                let text = self.tokenizer.decode(&hypothesis.tokens);
                let Some(plan) = plans[i].as_mut() else { continue };
                let why = match mode {
                    Some(GlossaryMode::Report) => NOT_CONSTRAINED,
                    _ => NOT_IN_OUTPUT,
                };
                let mut uses = plan.uses.clone();
                let placed = place(&mut uses, &plan.accepted, &text, why, true);
                if !placed && !plan.constraints.is_empty() {
                    constrained.push(i);
                    waiting += 1;
                    continue;
                }
                let plan = plans[i].take().unwrap_or_else(LineTerms::empty);
                results[i] = Some(Ok(Translation {
                    text,
                    source_ids: encoded[i].clone(),
                    target_ids: hypothesis.tokens,
                    score: hypothesis.score,
                    time: spent[i],
                    terms: uses,
                    skipped: plan.skipped,
                }));
            }
            on_event(Progress::Batch { lines: chunk.len() - waiting, target_tokens, time });
        }
        // The lines whose translation lacks a term, under constraints.
        for chunk in constrained.chunks(batch_size.max(1)) {
            let start = Instant::now();
            let outcomes = batch_or_alone(chunk, |lines| {
                let sources: Vec<Vec<u32>> = lines.iter().map(|&i| encoded[i].clone()).collect();
                let constraints: Vec<Vec<Constraint>> = lines
                    .iter()
                    .map(|&i| plans[i].as_ref().map(|p| p.constraints.clone()).unwrap_or_default())
                    .collect();
                generate_constrained(&self.model, &sources, &constraints, &self.generation)
            });
            let time = start.elapsed();
            let share = time / share_count(chunk.len());
            let mut target_tokens = 0;
            for (&i, outcome) in chunk.iter().zip(outcomes) {
                let hypothesis = match outcome {
                    Ok(hypothesis) => hypothesis,
                    Err(err) => {
                        results[i] = Some(Err(err));
                        continue;
                    }
                };
                target_tokens += hypothesis.tokens.len();
                let text = self.tokenizer.decode(&hypothesis.tokens);
                let plan = plans[i].take().unwrap_or_else(LineTerms::empty);
                let mut uses = plan.uses;
                let why = if hypothesis.met.iter().any(|m| !m) { NOT_WITHIN_MAX_LENGTH } else { NOT_IN_OUTPUT };
                place(&mut uses, &plan.accepted, &text, why, false);
                results[i] = Some(Ok(Translation {
                    text,
                    source_ids: encoded[i].clone(),
                    target_ids: hypothesis.tokens,
                    score: hypothesis.score,
                    time: spent[i] + share,
                    terms: uses,
                    skipped: plan.skipped,
                }));
            }
            on_event(Progress::Batch { lines: chunk.len(), target_tokens, time });
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(LineError::Decode("line was not scheduled".into()))))
            .collect()
    }
}

/// Decodes the lines `chunk` together with `decode`; when the batch fails,
/// decodes each line alone, so that a failure costs only the lines that fail
/// alone, with their own error.
fn batch_or_alone<T>(
    chunk: &[usize],
    decode: impl Fn(&[usize]) -> Result<Vec<T>, DecodeError>,
) -> Vec<Result<T, LineError>> {
    let failed = |err: DecodeError| Err(LineError::Decode(err.to_string()));
    match decode(chunk) {
        Ok(outputs) if outputs.len() == chunk.len() => return outputs.into_iter().map(Ok).collect(),
        Err(err) if chunk.len() == 1 => return vec![failed(err)],
        _ => {}
    }
    chunk
        .iter()
        .map(|&i| match decode(&[i]) {
            Ok(outputs) => outputs.into_iter().next().ok_or_else(|| LineError::Decode("no output".into())),
            Err(err) => failed(err),
        })
        .collect()
}

/// The divisor that shares a batch's time among `lines` lines.
fn share_count(lines: usize) -> u32 {
    u32::try_from(lines).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Range;

    use crate::align::Word;
    use crate::glossary::Kind;

    fn word(text: &str, span: Range<usize>) -> Word {
        Word { text: text.into(), span: Some(span), pieces: 0..0 }
    }

    fn term(source_span: Range<usize>, target_span: Option<Range<usize>>) -> TermUse {
        TermUse {
            term: String::new(),
            english: String::new(),
            kind: Kind::Org,
            source_span,
            confirmed: None,
            target_span,
            problem: None,
            aligned: None,
        }
    }

    #[test]
    fn placed_terms_are_aligned_when_every_target_word_links_into_their_source_span() {
        // "قال حزب الله" → "Kataib Hezbollah said so"
        let alignment = Alignment {
            source_words: vec![word("قال", 0..3), word("حزب", 4..7), word("الله", 8..12)],
            target_words: vec![
                word("Kataib", 0..6),
                word("Hezbollah", 7..16),
                word("said", 17..21),
                word("so", 22..24),
            ],
            attention: Vec::new(),
            sentences: Vec::new(),
        };
        let mut translation = Translation {
            text: "Kataib Hezbollah said so".into(),
            source_ids: Vec::new(),
            target_ids: Vec::new(),
            score: 0.0,
            time: Duration::ZERO,
            terms: vec![term(4..12, Some(0..16)), term(4..12, Some(7..16)), term(0..3, Some(22..24)), term(0..3, None)],
            skipped: Vec::new(),
        };
        // Kataib → حزب, Hezbollah → الله, said → قال, so → الله.
        translation.check_alignment(&alignment, &[(0, 2), (1, 0), (2, 1), (2, 3)]);
        let aligned: Vec<Option<bool>> = translation.terms.iter().map(|t| t.aligned).collect();
        assert_eq!(aligned, [Some(true), Some(true), Some(false), None]);
        // A target word without a link.
        translation.check_alignment(&alignment, &[(1, 0)]);
        assert_eq!(translation.terms[0].aligned, Some(false));
    }
}
