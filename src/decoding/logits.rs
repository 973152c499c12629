//! Logits processors and selection on rows of scores, as `transformers` applies
//! them: banned words, minimum length, forced `</s>` at the last position, then
//! renormalization.

use super::{DecodeError, GenerationConfig};
use crate::cpu::{exp_nonpositive, widest};

/// Values per SIMD-friendly lane group in the row reductions.
const LANES: usize = 16;

/// Largest value of `row` (NaN ignored), `-inf` for an empty row.
#[inline(always)]
fn max_body(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = if x > *m { x } else { *m };
        }
    }
    lanes.iter().chain(rest).fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// One term of [`exp_sum_body`]: `e^min(((x - a) - b) - c, 0)`.
#[inline(always)]
fn exp_term(x: f32, a: f32, b: f32, c: f32) -> f64 {
    let arg = ((x - a) - b) - c;
    f64::from(exp_nonpositive(if arg > 0.0 { 0.0 } else { arg }))
}

/// `Σ e^min(((x - a) - b) - c, 0)` over `row`, summed in f64. With `b = c = 0`
/// and `a` the maximum this is softmax's denominator; with `(a, b)` the row's
/// log-softmax shift and `c` the largest allowed log-probability, the
/// denominator of the renormalization.
#[inline(always)]
fn exp_sum_body(row: &[f32], a: f32, b: f32, c: f32) -> f64 {
    let mut lanes = [0f64; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (sum, &x) in lanes.iter_mut().zip(chunk) {
            *sum += exp_term(x, a, b, c);
        }
    }
    lanes.iter().sum::<f64>() + rest.iter().map(|&x| exp_term(x, a, b, c)).sum::<f64>()
}

/// Whether every value is below `+inf` and not NaN (`-inf` is a probability
/// of zero and passes).
#[inline(always)]
fn below_infinity_body(values: &[f32]) -> bool {
    let mut lanes = [true; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (ok, &x) in lanes.iter_mut().zip(chunk) {
            *ok &= x < f32::INFINITY;
        }
    }
    lanes.iter().all(|&ok| ok) && rest.iter().all(|&x| x < f32::INFINITY)
}

widest! {
    /// [`below_infinity_body`] on the widest vectors the CPU has.
    fn below_infinity(values: &[f32]) -> bool => below_infinity_body
}

/// Fails with [`DecodeError::NotFinite`] when raw logits hold NaN or `+inf`,
/// which no processor or ranking can make sense of.
pub(super) fn check_finite(logits: &[f32]) -> Result<(), DecodeError> {
    if below_infinity(logits) { Ok(()) } else { Err(DecodeError::NotFinite) }
}

widest! {
    /// Largest value of `row` (NaN ignored) on the widest vectors the CPU has.
    fn row_max(row: &[f32]) -> f32 => max_body
}

widest! {
    /// [`exp_sum_body`] on the widest vectors the CPU has.
    fn exp_sum(row: &[f32], a: f32, b: f32, c: f32) -> f64 => exp_sum_body
}

/// `(max, ln Σ e^(x - max))` of a row: its log-softmax is `(x - max) - log_sum`.
/// `None` when every value is `-inf` (or the row is empty).
pub(super) fn softmax_stats(row: &[f32]) -> Option<(f32, f32)> {
    let max = row_max(row);
    (max != f32::NEG_INFINITY).then(|| (max, exp_sum(row, max, 0.0, 0.0).ln() as f32))
}

/// In-place `log_softmax` of one row, computed as `(x - max) - ln Σ exp(x - max)`.
pub(super) fn log_softmax(row: &mut [f32]) {
    let Some((max, log_sum)) = softmax_stats(row) else { return };
    for x in row.iter_mut() {
        *x = (*x - max) - log_sum;
    }
}

/// The tokens the processors set to `-inf` for a hypothesis `seq` (decoder
/// start included): the last token of every banned word whose prefix `seq`
/// ends with, and `</s>` before `min_length`.
fn banned_tokens(cfg: &GenerationConfig, seq: &[u32]) -> Vec<u32> {
    let mut banned: Vec<u32> = cfg
        .bad_words_ids
        .iter()
        .filter_map(|word| word.split_last().filter(|(_, prefix)| seq.ends_with(prefix)).map(|(&last, _)| last))
        .collect();
    if seq.len() < cfg.min_length {
        banned.push(cfg.eos_token_id);
    }
    banned
}

/// Applies the processors of `cfg` to `scores` (one row over the target
/// vocabulary) for a hypothesis whose tokens so far are `seq` (decoder start
/// included, so `seq.len()` is `generate`'s `cur_len`).
pub(super) fn process(cfg: &GenerationConfig, seq: &[u32], scores: &mut [f32]) {
    for token in banned_tokens(cfg, seq) {
        scores[token as usize] = f32::NEG_INFINITY;
    }
    if forces_eos(cfg, seq) {
        scores.fill(f32::NEG_INFINITY);
        if let Some(eos) = cfg.forced_eos_token_id {
            scores[eos as usize] = 0.0;
        }
    }
    if cfg.renormalize_logits {
        log_softmax(scores);
    }
}

/// Whether the processors force `</s>` after `seq` (the last position).
fn forces_eos(cfg: &GenerationConfig, seq: &[u32]) -> bool {
    cfg.forced_eos_token_id.is_some() && seq.len() + 1 == cfg.max_length
}

/// The `k` best `(processed[t] + offset, t)` of one raw logit row, where
/// `processed` is what [`process`] makes of the row's log-softmax, ranked as
/// [`top_k`] ranks them, without writing the row: the log-softmax (and, with
/// `renormalize_logits`, the second one over the allowed tokens) is taken on the
/// fly, and tokens whose raw logit is below the current `k`-th best are skipped
/// (every step is monotone in the logit).
pub(super) fn row_top_k(cfg: &GenerationConfig, seq: &[u32], row: &[f32], offset: f32, k: usize) -> Vec<(f32, usize)> {
    let fast = if forces_eos(cfg, seq) { None } else { fast_shift(cfg, seq, row) };
    let Some((banned, [max, log_sum, max2, log_sum2])) = fast else {
        let mut row = row.to_vec();
        log_softmax(&mut row);
        process(cfg, seq, &mut row);
        return top_k(&[(&row, offset)], k);
    };
    let mut best = TopK::new(k);
    // Raw logit of the k-th best once there are k, unless that one is banned.
    let mut threshold = f32::NEG_INFINITY;
    for (t, &x) in row.iter().enumerate() {
        if best.is_full() && (x < threshold || x.is_nan()) {
            continue;
        }
        let is_banned = banned.contains(&(t as u32));
        let value = if is_banned { f32::NEG_INFINITY } else { (((x - max) - log_sum) - max2) - log_sum2 } + offset;
        if best.offer(value, t, if is_banned { f32::NEG_INFINITY } else { x }) && best.is_full() {
            threshold = best.last_raw();
        }
    }
    best.into_pairs()
}

/// Greedy search's choice on one raw logit row: the first largest of what
/// [`process`] makes of the row, and its log-softmax over those processed
/// scores; the same as processing a copy, taking [`argmax`] and then
/// [`softmax_stats`], without writing the row.
pub(super) fn row_argmax(cfg: &GenerationConfig, seq: &[u32], row: &[f32]) -> (usize, f32) {
    let stats = if forces_eos(cfg, seq) { None } else { allowed_stats(cfg, seq, row) };
    let Some((banned, max, log_sum)) = stats else {
        let mut scores = row.to_vec();
        process(cfg, seq, &mut scores);
        let token = argmax(&scores);
        let log_prob = match softmax_stats(&scores) {
            Some((max, log_sum)) => (scores[token] - max) - log_sum,
            None => scores[token],
        };
        return (token, log_prob);
    };
    let allowed = |t: usize| banned.binary_search(&(t as u32)).is_err();
    if !cfg.renormalize_logits {
        // The processed scores are the raw ones: the first allowed maximum.
        let token = row.iter().enumerate().position(|(t, &x)| x == max && allowed(t)).unwrap_or(0);
        return (token, -log_sum);
    }
    // Renormalized scores `(x - max) - log_sum` are largest, `-log_sum`, at the
    // maximum, and may round to it just below.
    let best = -log_sum;
    let token = row.iter().enumerate().position(|(t, &x)| (x - max) - log_sum == best && allowed(t)).unwrap_or(0);
    // The log-softmax of the renormalized scores at their maximum.
    let banned_terms: f64 = banned.iter().map(|&b| exp_term(row[b as usize], max, log_sum, best)).sum();
    let log_sum2 = (exp_sum(row, max, log_sum, best) - banned_terms).ln() as f32;
    (token, -log_sum2)
}

/// The banned tokens of a row (sorted) and the max and log-sum-exp of its
/// allowed logits: `None` when no allowed logit is finite.
fn allowed_stats(cfg: &GenerationConfig, seq: &[u32], row: &[f32]) -> Option<(Vec<u32>, f32, f32)> {
    let mut banned = banned_tokens(cfg, seq);
    banned.sort_unstable();
    banned.dedup();
    let max = row_max(row);
    let max = if banned.iter().any(|&b| row[b as usize] >= max || row[b as usize].is_nan()) {
        row.iter()
            .enumerate()
            .filter(|(t, _)| banned.binary_search(&(*t as u32)).is_err())
            .fold(f32::NEG_INFINITY, |m, (_, &x)| if x > m { x } else { m })
    } else {
        max
    };
    if max == f32::NEG_INFINITY {
        return None;
    }
    let banned_terms: f64 = banned.iter().map(|&b| exp_term(row[b as usize], max, 0.0, 0.0)).sum();
    let log_sum = (exp_sum(row, max, 0.0, 0.0) - banned_terms).ln() as f32;
    Some((banned, max, log_sum))
}

/// For a row the processors only ban tokens in: the banned tokens and the
/// shifts `[max, log_sum, max2, log_sum2]` such that the processed value of an
/// allowed logit `x` is `(((x - max) - log_sum) - max2) - log_sum2` (the last two
/// are 0 without `renormalize_logits`). `None` when the row has no allowed
/// finite value.
fn fast_shift(cfg: &GenerationConfig, seq: &[u32], row: &[f32]) -> Option<(Vec<u32>, [f32; 4])> {
    let (max, log_sum) = softmax_stats(row)?;
    let mut banned = banned_tokens(cfg, seq);
    banned.sort_unstable();
    banned.dedup();
    if !cfg.renormalize_logits {
        return Some((banned, [max, log_sum, 0.0, 0.0]));
    }
    let first = |x: f32| (x - max) - log_sum;
    // The largest allowed logit: the maximum unless a banned token holds it.
    let best_allowed = if banned.iter().any(|&b| row[b as usize] >= max || row[b as usize].is_nan()) {
        row.iter()
            .enumerate()
            .filter(|(t, _)| !banned.contains(&(*t as u32)))
            .fold(f32::NEG_INFINITY, |m, (_, &x)| if x > m { x } else { m })
    } else {
        max
    };
    if best_allowed == f32::NEG_INFINITY {
        return None;
    }
    let max2 = first(best_allowed);
    let banned_terms: f64 = banned.iter().map(|&b| exp_term(row[b as usize], max, log_sum, max2)).sum();
    let log_sum2 = (exp_sum(row, max, log_sum, max2) - banned_terms).ln() as f32;
    Some((banned, [max, log_sum, max2, log_sum2]))
}

/// The `k` best `(value, index)` pairs offered so far, descending; equal values
/// keep the one offered first (the lower index). Each pair carries a raw key
/// for [`row_top_k`]'s skipping.
struct TopK {
    k: usize,
    best: Vec<(f32, usize, f32)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, best: Vec::with_capacity(k + 1) }
    }

    fn is_full(&self) -> bool {
        self.best.len() >= self.k
    }

    /// Offers `value` at `index`; returns whether it was kept.
    fn offer(&mut self, value: f32, index: usize, raw: f32) -> bool {
        if self.best.len() < self.k || value > self.best[self.best.len() - 1].0 {
            let at = self.best.partition_point(|&(v, _, _)| v >= value);
            self.best.insert(at, (value, index, raw));
            self.best.truncate(self.k);
            return true;
        }
        false
    }

    fn last_raw(&self) -> f32 {
        self.best.last().map_or(f32::NEG_INFINITY, |&(_, _, raw)| raw)
    }

    fn into_pairs(self) -> Vec<(f32, usize)> {
        self.best.into_iter().map(|(value, index, _)| (value, index)).collect()
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
    let mut best = TopK::new(k);
    let mut flat = 0;
    for &(row, offset) in rows {
        for &x in row {
            best.offer(x + offset, flat, 0.0);
            flat += 1;
        }
    }
    best.into_pairs()
}

/// The `k` best of the per-row lists `rows` (each from [`row_top_k`], indices
/// within the row), ranked as [`top_k`] ranks the whole rows: flat index
/// `b * row_len + t`.
pub(super) fn merge_top_k(rows: &[Vec<(f32, usize)>], row_len: usize, k: usize) -> Vec<(f32, usize)> {
    let mut best = TopK::new(k);
    for (b, row) in rows.iter().enumerate() {
        let mut row = row.clone();
        row.sort_by_key(|&(_, t)| t);
        for (value, t) in row {
            best.offer(value, b * row_len + t, 0.0);
        }
    }
    best.into_pairs()
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

    #[test]
    fn logits_with_nan_or_positive_infinity_are_not_finite() {
        let mut row = vec![0.5f32; 100];
        row[7] = f32::NEG_INFINITY;
        assert!(check_finite(&row).is_ok(), "-inf is a probability of zero");
        for (at, bad) in [(3, f32::NAN), (99, f32::NAN), (40, f32::INFINITY)] {
            let mut row = row.clone();
            row[at] = bad;
            assert!(matches!(check_finite(&row), Err(DecodeError::NotFinite)), "{bad} at {at}");
        }
    }
}
