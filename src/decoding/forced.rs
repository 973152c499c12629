//! Forced decoding: a given target teacher-forced on its source, to read the
//! decoder's cross-attention (for word alignment).

use candle_core::Tensor;

use super::{DecodeError, encode_batch};
use crate::model::{AttentionHead, MarianMTModel};

/// One cross-attention matrix: a row per target token, a column per source token
/// (`</s>` included), each row a distribution over the source.
pub type AttentionMatrix = Vec<Vec<f32>>;

/// Teacher-forces `targets[i]` (target token ids without the decoder start; a final
/// `</s>` is kept as given) on `sources[i]` (ids ending with `</s>`) in one batch,
/// and returns the probabilities of `head`: row `t` is the attention of the decoder
/// step that predicts `targets[i][t]` (its input is the decoder start for `t = 0`,
/// else `targets[i][t - 1]`), as `generate` would have seen it producing that token.
pub fn forced_attention(
    model: &MarianMTModel,
    sources: &[Vec<u32>],
    targets: &[Vec<u32>],
    head: AttentionHead,
) -> Result<Vec<AttentionMatrix>, DecodeError> {
    if sources.len() != targets.len() {
        return Err(DecodeError::Settings(format!("{} sources but {} targets", sources.len(), targets.len())));
    }
    let cfg = model.config();
    let max = cfg.max_position_embeddings;
    let width = targets.iter().map(Vec::len).max().unwrap_or(0);
    if width > max {
        return Err(DecodeError::TargetTooLong { len: width, max });
    }
    if width == 0 {
        return Ok(vec![Vec::new(); sources.len()]);
    }
    let enc = encode_batch(model, sources)?;
    let start = cfg.decoder_start_token_id;
    let mut input = Vec::with_capacity(targets.len() * width);
    for target in targets {
        // Inputs: the start token, then every target token but the last; then padding,
        // which the causal mask keeps out of the rows that are read.
        input.push(start);
        input.extend(target.iter().take(target.len().saturating_sub(1)));
        input.extend(std::iter::repeat_n(cfg.pad_token_id, width - target.len().max(1)));
    }
    let input = Tensor::from_vec(input, (targets.len(), width), model.device())?;
    let probs = model.forced_attention(&input, &enc, head)?.to_vec3::<f32>()?;
    Ok(probs
        .into_iter()
        .zip(sources.iter().zip(targets))
        .map(|(rows, (source, target))| {
            rows.into_iter()
                .take(target.len())
                .map(|mut row| {
                    row.truncate(source.len());
                    row
                })
                .collect()
        })
        .collect())
}
