//! Greedy search: the most likely token at every step, as `generate` with
//! `num_beams=1, do_sample=False`.

use rayon::prelude::*;

use super::logits::{check_finite, row_argmax};
use super::{DecodeError, GenerationConfig, Hypothesis, rows_tensor, step_input, with_logits};
use crate::model::{DecoderCache, EncoderOutput, MarianMTModel};

/// Decodes every row of `enc` greedily. Finished rows leave the batch (their
/// cache rows and encoder rows are dropped), which leaves the others unchanged.
pub(super) fn search(
    model: &MarianMTModel,
    mut enc: EncoderOutput,
    cfg: &GenerationConfig,
) -> Result<Vec<Hypothesis>, DecodeError> {
    let batch = enc.batch_size();
    let mut seqs: Vec<Vec<u32>> = vec![vec![cfg.decoder_start_token_id]; batch];
    let mut log_prob_sums = vec![0f32; batch];
    // Rows still decoding, as indices into `seqs`.
    let mut active: Vec<usize> = (0..batch).collect();
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    let mut cur_len = 1;
    while !active.is_empty() && cur_len < cfg.max_length {
        let input = step_input(model, active.iter().map(|&r| seqs[r][cur_len - 1]).collect())?;
        let logits = model.decode(&input, &enc, &mut cache)?.squeeze(1)?;
        let vocab = logits.dim(1)?;
        // Rows are independent: process them on every core.
        let picked: Vec<(usize, f32)> = with_logits(&logits, |values| {
            check_finite(values)?;
            Ok::<_, DecodeError>(
                values
                    .par_chunks(vocab)
                    .zip(active.par_iter())
                    .map(|(row, &r)| row_argmax(cfg, &seqs[r], row))
                    .collect(),
            )
        })??;
        let mut keep = Vec::with_capacity(active.len());
        for (pos, (&row, (token, log_prob))) in active.iter().zip(picked).enumerate() {
            log_prob_sums[row] += log_prob;
            seqs[row].push(token as u32);
            if token as u32 != cfg.eos_token_id {
                keep.push(pos);
            }
        }
        cur_len += 1;
        if keep.len() < active.len() && !keep.is_empty() {
            let rows = rows_tensor(model, &keep)?;
            cache.reorder(&rows)?;
            enc = enc.retain(&rows)?;
        }
        active = keep.iter().map(|&pos| active[pos]).collect();
    }
    Ok(seqs
        .into_iter()
        .zip(log_prob_sums)
        .map(|(mut seq, sum)| {
            seq.remove(0);
            let score = sum / seq.len().max(1) as f32;
            Hypothesis { tokens: seq, score }
        })
        .collect())
}
