//! Logits processors and selection on rows of scores, as `transformers` applies
//! them: banned words, minimum length, forced `</s>` at the last position, then
//! renormalization.

use super::GenerationConfig;

/// In-place `log_softmax` of one row, computed as `(x - max) - ln Σ exp(x - max)`.
pub(super) fn log_softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return;
    }
    let sum: f64 = row.iter().map(|&x| f64::from((x - max).exp())).sum();
    let log_sum = sum.ln() as f32;
    for x in row.iter_mut() {
        *x = (*x - max) - log_sum;
    }
}

/// Applies the processors of `cfg` to `scores` (one row over the target
/// vocabulary) for a hypothesis whose tokens so far are `seq` (decoder start
/// included, so `seq.len()` is `generate`'s `cur_len`).
pub(super) fn process(cfg: &GenerationConfig, seq: &[u32], scores: &mut [f32]) {
    for word in &cfg.bad_words_ids {
        if let Some((&last, prefix)) = word.split_last()
            && seq.ends_with(prefix)
        {
            scores[last as usize] = f32::NEG_INFINITY;
        }
    }
    let cur_len = seq.len();
    if cur_len < cfg.min_length {
        scores[cfg.eos_token_id as usize] = f32::NEG_INFINITY;
    }
    if let Some(eos) = cfg.forced_eos_token_id
        && cur_len + 1 == cfg.max_length
    {
        scores.fill(f32::NEG_INFINITY);
        scores[eos as usize] = 0.0;
    }
    if cfg.renormalize_logits {
        log_softmax(scores);
    }
}

/// Index of the first largest value.
pub(super) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate() {
        if x > row[best] {
            best = i;
        }
    }
    best
}

/// The `k` largest `(value, index)` pairs over the concatenation of `rows`, each
/// row's values shifted by its offset (`row[t] + offset`, one f32 addition), in
/// descending order; equal values keep the lower flat index first. The flat index
/// of `rows[b][t]` is `b * row_len + t`.
pub(super) fn top_k(rows: &[(&[f32], f32)], k: usize) -> Vec<(f32, usize)> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    let mut flat = 0;
    for &(row, offset) in rows {
        for &x in row {
            let value = x + offset;
            if best.len() < k || value > best[best.len() - 1].0 {
                let at = best.partition_point(|&(v, _)| v >= value);
                best.insert(at, (value, flat));
                best.truncate(k);
            }
            flat += 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoding::EarlyStopping;

    fn cfg() -> GenerationConfig {
        GenerationConfig {
            num_beams: 2,
            max_length: 5,
            min_length: 3,
            eos_token_id: 0,
            pad_token_id: 4,
            decoder_start_token_id: 4,
            bad_words_ids: vec![vec![4], vec![2, 3]],
            forced_eos_token_id: Some(0),
            renormalize_logits: false,
            length_penalty: 1.0,
            early_stopping: EarlyStopping::Heuristic,
        }
    }

    #[test]
    fn processors_ban_force_and_keep_min_length() {
        let cfg = cfg();
        let inf = f32::NEG_INFINITY;
        let mut row = vec![1.0, 2.0, 3.0, 4.0, 5.0];
        process(&cfg, &[4, 2], &mut row);
        assert_eq!(row, vec![inf, 2.0, 3.0, inf, inf]);
        let mut row = vec![1.0, 2.0, 3.0, 4.0, 5.0];
        process(&cfg, &[4, 1, 1], &mut row);
        assert_eq!(row, vec![1.0, 2.0, 3.0, 4.0, inf]);
        let mut row = vec![1.0, 2.0, 3.0, 4.0, 5.0];
        process(&cfg, &[4, 1, 1, 1], &mut row);
        assert_eq!(row, vec![0.0, inf, inf, inf, inf]);
    }

    #[test]
    fn log_softmax_matches_definition() {
        let mut row = vec![1.0f32, 2.0, f32::NEG_INFINITY, 0.5];
        log_softmax(&mut row);
        let z = 1f64.exp() + 2f64.exp() + 0.5f64.exp();
        for (got, x) in row.iter().zip([1.0f64, 2.0, f64::NEG_INFINITY, 0.5]) {
            if x.is_finite() {
                assert!((f64::from(*got) - (x - z.ln())).abs() < 1e-6);
            } else {
                assert_eq!(*got, f32::NEG_INFINITY);
            }
        }
    }

    #[test]
    fn top_k_orders_and_breaks_ties_by_index() {
        let a = [0.5f32, 3.0, 1.0];
        let b = [3.0f32, 2.0, -1.0];
        let got = top_k(&[(&a, 0.0), (&b, 0.0)], 4);
        assert_eq!(got, vec![(3.0, 1), (3.0, 3), (2.0, 4), (1.0, 2)]);
        let got = top_k(&[(&a, -10.0), (&b, 0.0)], 2);
        assert_eq!(got, vec![(3.0, 3), (2.0, 4)]);
        assert_eq!(argmax(&[1.0, 5.0, 5.0, 2.0]), 1);
    }
}
