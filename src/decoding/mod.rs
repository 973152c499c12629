//! Greedy and beam search over a [`MarianMTModel`], outside the model, matching
//! `transformers`' `generate` detail for detail: the logits processors the hub's
//! opus-mt configs switch on (`bad_words_ids`, `min_length`, `forced_eos_token_id`,
//! `renormalize_logits`), beam search with `length_penalty` and the three
//! `early_stopping` modes, and `max_length` counted with the decoder start token.
//!
//! * [`GenerationConfig`]: the settings, from `generation_config.json` or the
//!   generation fields of `config.json`.
//! * [`generate`]: one batch of token-id sequences in, one [`Hypothesis`] per
//!   sequence out. Batches may mix lengths: sources are right-padded and masked.
//! * [`forced_attention`]: given targets teacher-forced, one cross-attention
//!   head's probabilities per target token (for word alignment).

mod beam;
mod config;
mod constrained;
mod forced;
mod greedy;
mod logits;

use candle_core::Tensor;

use crate::model::{EncoderOutput, MarianMTModel};

pub use config::{EarlyStopping, GENERATION_CONFIG_FILE, GenerationConfig, max_beams, max_length_limit};
pub use constrained::{ConstrainedHypothesis, Constraint};
pub use forced::{AttentionMatrix, forced_attention};

/// Fewest beams constrained search runs with: dynamic beam allocation needs room
/// for hypotheses that place terms next to ones that do not yet.
pub const MIN_CONSTRAINED_BEAMS: usize = 4;

/// Why decoding failed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A source is longer than the model's position table.
    #[error("source has {len} tokens, the model accepts at most {max}")]
    SourceTooLong {
        /// Tokens in the source, `</s>` included.
        len: usize,
        /// `max_position_embeddings` of the model.
        max: usize,
    },
    /// A target to teacher-force is longer than the model's position table.
    #[error("target has {len} tokens, the model accepts at most {max}")]
    TargetTooLong {
        /// Tokens in the target.
        len: usize,
        /// `max_position_embeddings` of the model.
        max: usize,
    },
    /// The settings cannot be used with this model.
    #[error("invalid generation settings: {0}")]
    Settings(String),
    /// A generation settings file cannot be read or used.
    #[error("{path}: invalid generation settings: {message}")]
    SettingsFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The model's logits hold NaN or `+inf`: its weights (or the activations
    /// they produce for this source) are not finite numbers.
    #[error("the model produced NaN or infinite logits; its weights may be broken")]
    NotFinite,
    /// The model failed (shape or device error; its message is part of this one's).
    #[error("model: {0}")]
    Model(candle_core::Error),
}

impl From<candle_core::Error> for DecodeError {
    fn from(err: candle_core::Error) -> Self {
        Self::Model(err)
    }
}

/// The best output for one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Generated token ids, after the decoder start token; ends with `</s>`
    /// unless generation stopped at `max_length` without it.
    pub tokens: Vec<u32>,
    /// Sum of the token log-probabilities divided by `len^length_penalty`
    /// (beam search's ranking score; greedy uses `length_penalty` 1).
    pub score: f32,
}

/// Translates a batch: `sources` are token ids (each ending with `</s>`, as the
/// tokenizer gives them), decoded greedily when `cfg.num_beams` is 1 and with
/// beam search otherwise. Returns one hypothesis per source, in order.
///
/// `cfg` must pass [`GenerationConfig::validate`]; a `max_length` above
/// [`max_length_limit`] stops there, as [`GenerationConfig::fit`] would set it.
/// Logits that are not finite fail the batch with [`DecodeError::NotFinite`].
pub fn generate(
    model: &MarianMTModel,
    sources: &[Vec<u32>],
    cfg: &GenerationConfig,
) -> Result<Vec<Hypothesis>, DecodeError> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let cfg = &fitted(model, cfg)?;
    let enc = encode_batch(model, sources)?;
    if cfg.num_beams == 1 { greedy::search(model, enc, cfg) } else { beam::search(model, enc, cfg) }
}

/// `cfg` checked against `model`, with `max_length` within its position table.
fn fitted(model: &MarianMTModel, cfg: &GenerationConfig) -> Result<GenerationConfig, DecodeError> {
    let mut cfg = cfg.clone();
    cfg.fit(model.config())?;
    Ok(cfg)
}

/// Translates a batch under lexical constraints: `constraints[i]` lists the term
/// occurrences source `i` must render (see [`Constraint`]). Beam search with
/// dynamic beam allocation, with at least [`MIN_CONSTRAINED_BEAMS`] beams;
/// settings and logits as for [`generate`].
pub fn generate_constrained(
    model: &MarianMTModel,
    sources: &[Vec<u32>],
    constraints: &[Vec<Constraint>],
    cfg: &GenerationConfig,
) -> Result<Vec<ConstrainedHypothesis>, DecodeError> {
    if sources.len() != constraints.len() {
        return Err(DecodeError::Settings(format!(
            "{} sources but {} constraint lists",
            sources.len(),
            constraints.len()
        )));
    }
    if constraints.iter().flatten().any(|c| {
        (c.alternatives.is_empty() && c.sentence_start.is_empty())
            || c.alternatives.iter().chain(&c.sentence_start).any(Vec::is_empty)
    }) {
        return Err(DecodeError::Settings("a constraint has no tokens".into()));
    }
    let vocab = model.config().target_vocab_size();
    if let Some(id) = constraints
        .iter()
        .flatten()
        .flat_map(|c| c.alternatives.iter().chain(&c.sentence_start))
        .flatten()
        .find(|&&id| id as usize >= vocab)
    {
        return Err(DecodeError::Settings(format!(
            "constraint token id {id} is outside the target vocabulary of {vocab}"
        )));
    }
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    cfg.validate(model.config())?;
    let mut cfg = GenerationConfig { num_beams: cfg.num_beams.max(MIN_CONSTRAINED_BEAMS), ..cfg.clone() };
    cfg.fit(model.config())?;
    let enc = encode_batch(model, sources)?;
    constrained::search(model, enc, constraints, &cfg)
}

/// Right-pads `sources` with `<pad>` into one tensor and runs the encoder.
pub fn encode_batch(model: &MarianMTModel, sources: &[Vec<u32>]) -> Result<EncoderOutput, DecodeError> {
    let max_positions = model.config().max_position_embeddings;
    let pad = model.config().pad_token_id;
    let width = sources.iter().map(Vec::len).max().unwrap_or(0).max(1);
    if width > max_positions {
        return Err(DecodeError::SourceTooLong { len: width, max: max_positions });
    }
    let mut ids = Vec::with_capacity(sources.len() * width);
    let mut mask = Vec::with_capacity(sources.len() * width);
    for source in sources {
        ids.extend(source.iter().copied().chain(std::iter::repeat_n(pad, width - source.len())));
        mask.extend((0..width).map(|i| u32::from(i < source.len())));
    }
    let device = model.device();
    let ids = Tensor::from_vec(ids, (sources.len(), width), device)?;
    let mask = Tensor::from_vec(mask, (sources.len(), width), device)?;
    Ok(model.encode(&ids, &mask)?)
}

/// `(rows, 1)` tensor of the last tokens, to feed the decoder one step.
fn step_input(model: &MarianMTModel, tokens: Vec<u32>) -> candle_core::Result<Tensor> {
    let rows = tokens.len();
    Tensor::from_vec(tokens, (rows, 1), model.device())
}

/// Row indices as a u32 tensor, for `index_select`.
fn rows_tensor(model: &MarianMTModel, rows: &[usize]) -> candle_core::Result<Tensor> {
    let rows: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
    let len = rows.len();
    Tensor::from_vec(rows, len, model.device())
}

/// Runs `f` on the values of the f32 `logits` `(rows, vocab)`, row-major, read
/// in place (after a copy to the CPU if they live elsewhere).
fn with_logits<R>(logits: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let logits = logits.to_device(&candle_core::Device::Cpu)?.contiguous()?;
    crate::cpu::with_f32(&logits, |values| Ok(f(values)))
}
