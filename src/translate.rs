//! Sentences in, translations out: tokenizer, model and decoding together.
//!
//! [`Translator::translate`] sorts its lines by token count, decodes them in
//! batches of similar lengths, and returns the results in input order. A line that
//! cannot be translated (too long for the model, or a failed batch) gets its own
//! error; the others are unaffected. Progress is reported through [`Event`]s.

use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::Device;

use crate::decoding::{DecodeError, GenerationConfig, generate};
use crate::model::{MarianConfig, MarianMTModel, ModelError, load_model};
use crate::tokenizer::{MarianTokenizer, TokenizerError};

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
    /// Decoding the batch holding the line failed.
    #[error("decoding failed: {0}")]
    Decode(String),
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
}

/// What [`Translator::translate`] reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A batch is done.
    Batch {
        /// Lines in the batch.
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
}

impl Translator {
    /// Loads a checkpoint directory in Hugging Face layout onto `device`.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self, LoadError> {
        let tokenizer = MarianTokenizer::from_dir(dir)?;
        let (model, cfg) = load_model(dir, device)?;
        let generation = GenerationConfig::from_model_dir(dir, &cfg)?;
        Ok(Self::new(model, tokenizer, generation))
    }

    /// Puts together parts loaded elsewhere.
    pub fn new(model: MarianMTModel, tokenizer: MarianTokenizer, generation: GenerationConfig) -> Self {
        Self { model, tokenizer, generation }
    }

    /// The model's config.
    pub fn config(&self) -> &MarianConfig {
        self.model.config()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &MarianTokenizer {
        &self.tokenizer
    }

    /// The decoding settings (the checkpoint's unless changed).
    pub fn generation(&self) -> &GenerationConfig {
        &self.generation
    }

    /// Changes decoding settings.
    pub fn generation_mut(&mut self) -> &mut GenerationConfig {
        &mut self.generation
    }

    /// Translates `lines`, at most `batch_size` per model call, reporting each
    /// finished batch to `on_event`. Results come back in input order.
    pub fn translate(
        &self,
        lines: &[&str],
        batch_size: usize,
        on_event: &mut dyn FnMut(Event),
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
        for chunk in order.chunks(batch_size.max(1)) {
            let start = Instant::now();
            let sources: Vec<Vec<u32>> = chunk.iter().map(|&i| encoded[i].clone()).collect();
            let outcome = generate(&self.model, &sources, &self.generation);
            let time = start.elapsed();
            let share = time / chunk.len() as u32;
            match outcome {
                Ok(hypotheses) => {
                    let target_tokens = hypotheses.iter().map(|h| h.tokens.len()).sum();
                    for ((&i, source_ids), hyp) in chunk.iter().zip(sources).zip(hypotheses) {
                        results[i] = Some(Ok(Translation {
                            text: self.tokenizer.decode(&hyp.tokens),
                            source_ids,
                            target_ids: hyp.tokens,
                            score: hyp.score,
                            time: share,
                        }));
                    }
                    on_event(Event::Batch { lines: chunk.len(), target_tokens, time });
                }
                Err(err) => {
                    let err = LineError::Decode(err.to_string());
                    for &i in chunk {
                        results[i] = Some(Err(err.clone()));
                    }
                    on_event(Event::Batch { lines: chunk.len(), target_tokens: 0, time });
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(LineError::Decode("line was not scheduled".into()))))
            .collect()
    }
}
