//! Word alignment from the decoder's cross-attention.
//!
//! OPUS-MT's transformer-align models were trained with guided alignment: one
//! cross-attention head (head 0 of the last decoder layer, the head Marian's
//! `--alignment` and CTranslate2's `return_attention` read) learned eflomal word
//! alignments. [`Aligner`] reads that head (or any other) and turns it into word
//! pairs:
//!
//! 1. **Forced decoding.** The target is teacher-forced on the source
//!    ([`crate::decoding::forced_attention`]): row `t` of the attention matrix is
//!    the step that predicts target token `t`. A translation the model produced is
//!    aligned by forcing its generated token ids, which reproduces the attention the
//!    search saw for that hypothesis (translate first, then force: simpler than
//!    carrying attention through beam reordering, and the same numbers). A given
//!    translation is tokenized with the target SentencePiece model first.
//! 2. **Pieces.** The source `</s>` column is dropped (without renormalizing the
//!    rows); the target's `</s>` is never a row. The decoder start is an input, not
//!    a row.
//! 3. **Words** ([`group_words`]): pieces group into whitespace words on both
//!    sides, a word starting at each piece with SentencePiece's `▁`. The word-level
//!    attention of target word `j` to source word `i` is the mean over the pieces
//!    of `j` of the summed attention to the pieces of `i` (each row stays a share of
//!    the attention mass).
//! 4. **Pairs** ([`extract`]): [`Method::Argmax`] (default), [`Method::Threshold`]
//!    or [`Method::Intersect`], written as Pharaoh `i-j` pairs ([`pharaoh`]).
//!
//! **Character spans.** Source pieces come from
//! [`MarianTokenizer::encode_tokens`](crate::tokenizer::MarianTokenizer::encode_tokens),
//! which follows SentencePiece's normalizer alignment back to the bytes of the
//! original line (NFKC folding and whitespace collapsing included); a given
//! translation's pieces come the same way from the target model. Generated pieces
//! are located in the decoded translation by walking it: each piece's text, `▁` as
//! a space, is matched after the previous piece past whitespace. Spans count
//! characters (Unicode scalar values) and exclude surrounding whitespace.

mod extract;
mod words;

use std::ops::Range;

pub use extract::{Method, extract, pharaoh};
pub use words::{Word, group_words};

use crate::decoding::{DecodeError, forced_attention};
use crate::model::{AttentionHead, MarianMTModel};
use crate::tokenizer::{MarianTokenizer, Token};

/// Why alignment could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlignError {
    /// The model has no such cross-attention head.
    #[error(
        "no cross-attention head {head} in decoder layer {layer}: the model has {layers} decoder layers of {heads} heads"
    )]
    NoSuchHead {
        /// Requested layer.
        layer: usize,
        /// Requested head.
        head: usize,
        /// Decoder layers of the model.
        layers: usize,
        /// Heads per decoder layer.
        heads: usize,
    },
    /// A threshold outside `[0, 1]`.
    #[error("threshold {0} is not between 0 and 1")]
    Threshold(f32),
    /// Forced decoding of the line failed (too long, or a model error).
    #[error("{0}")]
    Decode(String),
}

impl From<DecodeError> for AlignError {
    fn from(err: DecodeError) -> Self {
        Self::Decode(err.to_string())
    }
}

/// The target of one line to align.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A translation given as text, tokenized with the target model; target spans
    /// point into it.
    Text(&'a str),
    /// Token ids the model generated (a final `</s>` is ignored) and their decoded
    /// text, into which target spans point.
    Generated {
        /// Generated ids, after the decoder start.
        ids: &'a [u32],
        /// `MarianTokenizer::decode` of `ids`.
        text: &'a str,
    },
}

/// One line's words and their attention.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Words of the source line.
    pub source_words: Vec<Word>,
    /// Words of the target.
    pub target_words: Vec<Word>,
    /// Word-level attention, `attention[target word][source word]`.
    pub attention: Vec<Vec<f32>>,
    /// For a line aligned sentence by sentence ([`Alignment::concat`]), each
    /// sentence's source and target word ranges: pairs are read within each
    /// sentence, never across. Empty for a line aligned whole.
    pub sentences: Vec<(Range<usize>, Range<usize>)>,
}

impl Alignment {
    /// The `(source word, target word)` pairs `method` reads, sorted.
    pub fn pairs(&self, method: Method) -> Vec<(usize, usize)> {
        if self.sentences.is_empty() {
            return extract(&self.attention, method);
        }
        let mut pairs = Vec::new();
        for (sources, targets) in &self.sentences {
            let block: Vec<Vec<f32>> =
                self.attention[targets.clone()].iter().map(|row| row[sources.clone()].to_vec()).collect();
            pairs.extend(extract(&block, method).into_iter().map(|(s, t)| (s + sources.start, t + targets.start)));
        }
        pairs
    }

    /// The alignment of a line from those of its sentences: each given with the
    /// character offsets of the sentence in the line and of its translation in
    /// the line's translation. Words are numbered through the line and their
    /// spans count characters of the line (and of its translation); a word's
    /// pieces are numbered through the line's tokens; attention across
    /// sentences is 0.
    pub fn concat(parts: Vec<(Alignment, usize, usize)>) -> Self {
        let source_total: usize = parts.iter().map(|(a, _, _)| a.source_words.len()).sum();
        let mut out =
            Self { source_words: Vec::new(), target_words: Vec::new(), attention: Vec::new(), sentences: Vec::new() };
        let (mut source_pieces, mut target_pieces) = (0, 0);
        for (alignment, source_offset, target_offset) in parts {
            let sources = out.source_words.len()..out.source_words.len() + alignment.source_words.len();
            let targets = out.target_words.len()..out.target_words.len() + alignment.target_words.len();
            let shift = |words: Vec<Word>, chars: usize, pieces: usize| -> (Vec<Word>, usize) {
                let end = words.iter().map(|w| w.pieces.end).max().unwrap_or(0);
                let words = words
                    .into_iter()
                    .map(|w| Word {
                        span: w.span.map(|s| s.start + chars..s.end + chars),
                        pieces: w.pieces.start + pieces..w.pieces.end + pieces,
                        ..w
                    })
                    .collect();
                (words, pieces + end)
            };
            let (words, next) = shift(alignment.source_words, source_offset, source_pieces);
            out.source_words.extend(words);
            source_pieces = next;
            let (words, next) = shift(alignment.target_words, target_offset, target_pieces);
            out.target_words.extend(words);
            target_pieces = next;
            for row in alignment.attention {
                let mut full = vec![0.0; source_total];
                full[sources.clone()].copy_from_slice(&row);
                out.attention.push(full);
            }
            out.sentences.push((sources, targets));
        }
        out
    }
}

/// Aligns lines with one cross-attention head of a model.
#[derive(Debug, Clone, Copy)]
pub struct Aligner<'a> {
    model: &'a MarianMTModel,
    tokenizer: &'a MarianTokenizer,
    head: AttentionHead,
}

/// A line, tokenized on both sides, ready for forced decoding.
struct Prepared {
    source: Vec<Token>,
    target_ids: Vec<u32>,
    target_pieces: Vec<String>,
    target_spans: Vec<Option<Range<usize>>>,
}

impl<'a> Aligner<'a> {
    /// An aligner reading `head` (see [`MarianMTModel::alignment_head`] for the
    /// usual one) of `model`, whose tokenizer is `tokenizer`.
    pub fn new(
        model: &'a MarianMTModel,
        tokenizer: &'a MarianTokenizer,
        head: AttentionHead,
    ) -> Result<Self, AlignError> {
        let cfg = model.config();
        let (layers, heads) = (cfg.decoder_layers, cfg.decoder_attention_heads);
        if head.layer >= layers || head.head >= heads {
            return Err(AlignError::NoSuchHead { layer: head.layer, head: head.head, layers, heads });
        }
        Ok(Self { model, tokenizer, head })
    }

    /// Tokenizes the source and target of a line.
    fn prepare(&self, source: &str, target: Target) -> Prepared {
        let source = self.tokenizer.encode_tokens(source);
        match target {
            Target::Text(text) => {
                let tokens = self.tokenizer.encode_target_tokens(text);
                Prepared {
                    source,
                    target_ids: tokens.iter().map(|t| t.id).collect(),
                    target_spans: tokens.iter().map(|t| Some(t.span.clone())).collect(),
                    target_pieces: tokens.into_iter().map(|t| t.piece).collect(),
                }
            }
            Target::Generated { ids, text } => {
                let ids = ids.strip_suffix(&[self.tokenizer.eos_id()]).unwrap_or(ids);
                let pieces: Vec<String> = ids
                    .iter()
                    .map(|&id| match self.tokenizer.id_to_piece(id) {
                        Some(piece) if !self.tokenizer.is_special(id) => piece.to_owned(),
                        _ => String::new(),
                    })
                    .collect();
                let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
                Prepared {
                    source,
                    target_ids: ids.to_vec(),
                    target_spans: words::locate(text, &refs),
                    target_pieces: pieces,
                }
            }
        }
    }

    /// Aligns `lines` (source text and target), at most `batch_size` per model call.
    /// Results come back in input order; a line that fails does not affect the
    /// others unless the model call of its batch fails.
    pub fn align(&self, lines: &[(&str, Target)], batch_size: usize) -> Vec<Result<Alignment, AlignError>> {
        let prepared: Vec<Prepared> = lines.iter().map(|&(source, target)| self.prepare(source, target)).collect();
        let max = self.model.config().max_position_embeddings;
        let mut results: Vec<Option<Result<Alignment, AlignError>>> = vec![None; lines.len()];
        let mut order = Vec::with_capacity(lines.len());
        for (i, p) in prepared.iter().enumerate() {
            if p.source.len() > max {
                results[i] = Some(Err(DecodeError::SourceTooLong { len: p.source.len(), max }.into()));
            } else if p.target_ids.len() > max {
                results[i] = Some(Err(DecodeError::TargetTooLong { len: p.target_ids.len(), max }.into()));
            } else {
                order.push(i);
            }
        }
        // Longest first: similar lengths share a batch.
        order.sort_by_key(|&i| std::cmp::Reverse(prepared[i].source.len()));
        for chunk in order.chunks(batch_size.max(1)) {
            let sources: Vec<Vec<u32>> =
                chunk.iter().map(|&i| prepared[i].source.iter().map(|t| t.id).collect()).collect();
            let targets: Vec<Vec<u32>> = chunk.iter().map(|&i| prepared[i].target_ids.clone()).collect();
            match forced_attention(self.model, &sources, &targets, self.head) {
                Ok(matrices) => {
                    for (&i, matrix) in chunk.iter().zip(matrices) {
                        let (source, target) = lines[i];
                        let target_text = match target {
                            Target::Text(text) | Target::Generated { text, .. } => text,
                        };
                        results[i] = Some(Ok(word_alignment(source, target_text, &prepared[i], &matrix)));
                    }
                }
                Err(err) => {
                    let err = AlignError::from(err);
                    for &i in chunk {
                        results[i] = Some(Err(err.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(AlignError::Decode("line was not scheduled".into()))))
            .collect()
    }
}

/// Words of both sides and the word-level attention from the piece-level
/// `matrix` (target pieces × source tokens, `</s>` included).
fn word_alignment(source: &str, target: &str, prepared: &Prepared, matrix: &[Vec<f32>]) -> Alignment {
    // Every source token but the final `</s>`.
    let source_tokens = &prepared.source[..prepared.source.len().saturating_sub(1)];
    let source_words = words::token_words(source, source_tokens);
    let pieces: Vec<&str> = prepared.target_pieces.iter().map(String::as_str).collect();
    let target_words = words::words(target, &pieces, &prepared.target_spans);
    let attention = word_attention(matrix, &source_words, &target_words);
    Alignment { source_words, target_words, attention, sentences: Vec::new() }
}

/// Word-level attention: for each target word, the mean over its pieces' rows of
/// the attention summed over each source word's pieces.
fn word_attention(matrix: &[Vec<f32>], source_words: &[Word], target_words: &[Word]) -> Vec<Vec<f32>> {
    target_words
        .iter()
        .map(|tw| {
            let rows = &matrix[tw.pieces.clone()];
            source_words
                .iter()
                .map(|sw| {
                    let sum: f32 = rows.iter().map(|row| row[sw.pieces.clone()].iter().sum::<f32>()).sum();
                    sum / rows.len().max(1) as f32
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(pieces: Range<usize>) -> Word {
        Word { text: String::new(), span: None, pieces }
    }

    #[test]
    fn word_attention_sums_source_pieces_and_averages_target_pieces() {
        // 3 target pieces × 4 source tokens (the last is </s>).
        let matrix = vec![vec![0.5, 0.25, 0.125, 0.125], vec![0.0, 0.5, 0.5, 0.0], vec![0.25, 0.25, 0.0, 0.5]];
        let source = [word(0..1), word(1..3)];
        let target = [word(0..2), word(2..3)];
        assert_eq!(word_attention(&matrix, &source, &target), vec![vec![0.25, 0.6875], vec![0.25, 0.25]]);
    }

    fn spanned(text: &str, span: Range<usize>, pieces: Range<usize>) -> Word {
        Word { text: text.into(), span: Some(span), pieces }
    }

    #[test]
    fn sentences_concatenate_with_line_offsets_and_pairs_never_cross_them() {
        // "أ ب. ج" → "A B. C": sentence 1 is characters 0..4 → 0..4, sentence 2 is 5..6 → 5..6.
        let first = Alignment {
            source_words: vec![spanned("أ", 0..1, 0..1), spanned("ب.", 2..4, 1..3)],
            target_words: vec![spanned("A", 0..1, 0..1), spanned("B.", 2..4, 1..2)],
            attention: vec![vec![0.9, 0.1], vec![0.0, 0.0]],
            sentences: Vec::new(),
        };
        let second = Alignment {
            source_words: vec![spanned("ج", 0..1, 0..1)],
            target_words: vec![spanned("C", 0..1, 0..1)],
            attention: vec![vec![0.0]],
            sentences: Vec::new(),
        };
        let line = Alignment::concat(vec![(first, 0, 0), (second, 5, 5)]);
        assert_eq!(line.source_words[2], spanned("ج", 5..6, 3..4));
        assert_eq!(line.target_words[2], spanned("C", 5..6, 2..3));
        assert_eq!(line.attention, vec![vec![0.9, 0.1, 0.0], vec![0.0, 0.0, 0.0], vec![0.0, 0.0, 0.0]]);
        // Rows of zeros still link within their own sentence: B. → أ, C → ج.
        assert_eq!(line.pairs(Method::Argmax), vec![(0, 0), (0, 1), (2, 2)]);
        assert_eq!(line.pairs(Method::threshold(0.0).unwrap()).len(), 5, "2 × 2 + 1 × 1");
    }
}
