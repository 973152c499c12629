//! Batched beam search, step for step as `transformers`' `_beam_search`: per
//! source, the top `2 × num_beams` continuations over all beams; the best
//! `num_beams` of those that did not stop run on; those that stopped among the
//! top `num_beams` are length-normalized and merged into the finished set; a
//! source is done when its finished set can no longer change. Done sources leave
//! the batch, and the decoder cache is reordered explicitly after every step.

use rayon::prelude::*;

use super::logits::{check_finite, merge_top_k, row_top_k};
use super::{DecodeError, EarlyStopping, GenerationConfig, Hypothesis, rows_tensor, step_input, with_logits};
use crate::model::{DecoderCache, EncoderOutput, MarianMTModel};

/// The most logits one step computes at once, in bytes, unless one tile of
/// rows holds more.
const LOGITS_BYTES: usize = 8 << 20;

/// Rows of a tile of the LM head's products (int8 on AMX takes 16).
const LOGITS_TILE: usize = 16;

/// Score `transformers` gives to slots that must not be chosen.
const EXCLUDED: f32 = -1.0e9;

/// A hypothesis still being extended.
#[derive(Debug, Clone)]
struct OpenHypothesis {
    /// Tokens so far, decoder start included.
    seq: Vec<u32>,
    /// Sum of log-probabilities.
    score: f32,
}

/// One of the `num_beams` places for a finished hypothesis.
#[derive(Debug, Clone)]
struct FinishedSlot {
    seq: Vec<u32>,
    score: f32,
    /// Whether this slot holds a real hypothesis (slots start empty).
    done: bool,
}

/// One source's search state.
#[derive(Debug)]
struct SourceSearch {
    running: Vec<OpenHypothesis>,
    finished: Vec<FinishedSlot>,
    /// `transformers`' `is_early_stop_heuristic_unsatisfied`.
    improvable: bool,
}

impl SourceSearch {
    fn new(cfg: &GenerationConfig) -> Self {
        let n = cfg.num_beams;
        let start = vec![cfg.decoder_start_token_id];
        Self {
            running: (0..n)
                .map(|i| OpenHypothesis { seq: start.clone(), score: if i == 0 { 0.0 } else { EXCLUDED } })
                .collect(),
            finished: vec![FinishedSlot { seq: Vec::new(), score: EXCLUDED, done: false }; n],
            improvable: true,
        }
    }

    fn all_finished(&self) -> bool {
        self.finished.iter().all(|f| f.done)
    }

    /// Whether the finished set can no longer change.
    fn is_done(&self, cfg: &GenerationConfig) -> bool {
        !self.improvable || (cfg.early_stopping == EarlyStopping::Always && self.all_finished())
    }

    /// One step from the `2 × num_beams` best continuations over all running
    /// beams: `(score, beam * vocab + token)`, best first, scores being the beam's
    /// score plus the token's processed log-probability. Returns, for each new
    /// running beam, the index of the beam it extends.
    fn step(
        &mut self,
        cfg: &GenerationConfig,
        candidates: &[(f32, usize)],
        vocab: usize,
        cur_len: usize,
    ) -> Vec<usize> {
        let n = cfg.num_beams;
        let hits_max_length = cur_len + 1 >= cfg.max_length;
        let extended: Vec<(Vec<u32>, f32, usize, bool)> = candidates
            .iter()
            .map(|&(score, flat)| {
                let (beam, token) = (flat / vocab, (flat % vocab) as u32);
                let mut seq = self.running[beam].seq.clone();
                seq.push(token);
                (seq, score, beam, hits_max_length || token == cfg.eos_token_id)
            })
            .collect();

        // Running beams for the next step: the best candidates that did not stop.
        let running_scores: Vec<f32> =
            extended.iter().map(|(_, score, _, hit)| if *hit { score + EXCLUDED } else { *score }).collect();
        let order = top_indices(&running_scores, n);
        let parents = order.iter().map(|&i| extended[i].2).collect();
        let next_running =
            order.iter().map(|&i| OpenHypothesis { seq: extended[i].0.clone(), score: running_scores[i] }).collect();

        // Finished hypotheses: candidates among the top `n` that stopped.
        let length = (cur_len as f64).powf(f64::from(cfg.length_penalty)) as f32;
        let full = cfg.early_stopping == EarlyStopping::Always && self.all_finished();
        let mut merged: Vec<FinishedSlot> = self.finished.clone();
        for (i, (seq, score, _, hit)) in extended.into_iter().enumerate() {
            let just_finished = hit && i < n;
            let mut score = score / length;
            if full {
                score += EXCLUDED;
            }
            if !self.improvable {
                score += EXCLUDED;
            }
            if !just_finished {
                score += EXCLUDED;
            }
            merged.push(FinishedSlot { seq, score, done: just_finished });
        }
        let scores: Vec<f32> = merged.iter().map(|f| f.score).collect();
        self.finished = top_indices(&scores, n).into_iter().map(|i| merged[i].clone()).collect();
        self.running = next_running;
        parents
    }

    /// `_check_early_stop_heuristic` after the step that made `cur_len` tokens.
    fn update_improvable(&mut self, cfg: &GenerationConfig, cur_len: usize) {
        let generated = match cfg.early_stopping {
            EarlyStopping::Never if cfg.length_penalty > 0.0 => cfg.max_length - 1,
            _ => cur_len - 1,
        };
        let best = self.running[0].score / (generated as f64).powf(f64::from(cfg.length_penalty)) as f32;
        let worst = self.finished.iter().map(|f| f.score).fold(f32::INFINITY, f32::min);
        self.improvable &= self.finished.iter().any(|f| best > if f.done { worst } else { EXCLUDED });
    }

    fn best(self) -> Hypothesis {
        let best = self.finished.into_iter().next().filter(|f| f.done);
        let (seq, score) = match best {
            Some(f) => (f.seq, f.score),
            None => (Vec::new(), f32::NEG_INFINITY),
        };
        Hypothesis { tokens: seq.into_iter().skip(1).collect(), score }
    }
}

/// Indices of the `k` largest values, descending; ties keep the lower index first.
fn top_indices(values: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// Beam search over every source of `enc`.
pub(super) fn search(
    model: &MarianMTModel,
    enc: EncoderOutput,
    cfg: &GenerationConfig,
) -> Result<Vec<Hypothesis>, DecodeError> {
    // One step's logits of every beam would outweigh the rest of the search's
    // memory: a few rows' at a time, in whole tiles of the LM head's products.
    let row_bytes = model.config().target_vocab_size() * std::mem::size_of::<f32>();
    let rows = LOGITS_BYTES / row_bytes.max(1) / LOGITS_TILE;
    search_in_chunks(model, enc, cfg, rows.max(1) * LOGITS_TILE)
}

/// [`search`] computing the logits of `logits_rows` decoder rows at a time.
fn search_in_chunks(
    model: &MarianMTModel,
    mut enc: EncoderOutput,
    cfg: &GenerationConfig,
    logits_rows: usize,
) -> Result<Vec<Hypothesis>, DecodeError> {
    let (n, vocab) = (cfg.num_beams, model.config().target_vocab_size());
    let batch = enc.batch_size();
    let mut sources: Vec<SourceSearch> = (0..batch).map(|_| SourceSearch::new(cfg)).collect();
    // Decoder row `s * n + b` is beam `b` of the `s`-th active source, which
    // reads that source's encoder output.
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    // Sources still searching, in the order of their rows in `enc` and `cache`.
    let mut active: Vec<usize> = (0..batch).collect();
    let mut cur_len = 1;
    while !active.is_empty() && cur_len < cfg.max_length {
        let last: Vec<u32> =
            active.iter().flat_map(|&s| sources[s].running.iter().map(|b| b.seq[cur_len - 1])).collect();
        let hidden = model.decode_hidden(&step_input(model, last)?, &enc, &mut cache)?;
        let beams: Vec<(&[u32], f32)> =
            active.iter().flat_map(|&s| sources[s].running.iter().map(|b| (b.seq.as_slice(), b.score))).collect();
        // Each row's best continuations, on every core.
        let mut per_beam: Vec<Vec<(f32, usize)>> = Vec::with_capacity(beams.len());
        for beams in beams.chunks(logits_rows) {
            let logits = model.logits(&hidden.narrow(0, per_beam.len(), beams.len())?)?.squeeze(1)?;
            per_beam.extend(with_logits(&logits, |values| {
                check_finite(values)?;
                Ok::<_, DecodeError>(
                    values
                        .par_chunks(vocab)
                        .zip(beams.par_iter())
                        .map(|(row, &(seq, score))| row_top_k(cfg, seq, row, score, 2 * n))
                        .collect::<Vec<_>>(),
                )
            })??);
        }
        let mut reorder = Vec::with_capacity(active.len() * n);
        let mut still_active = Vec::with_capacity(active.len());
        for (pos, (&s, rows)) in active.iter().zip(per_beam.chunks(n)).enumerate() {
            let source = &mut sources[s];
            let candidates = merge_top_k(rows, vocab, 2 * n);
            let parents = source.step(cfg, &candidates, vocab, cur_len);
            source.update_improvable(cfg, cur_len + 1);
            if !source.is_done(cfg) {
                still_active.push(s);
                reorder.extend(parents.iter().map(|&b| pos * n + b));
            }
        }
        cur_len += 1;
        if still_active.is_empty() {
            break;
        }
        let reorder_rows = rows_tensor(model, &reorder)?;
        cache.reorder(&reorder_rows)?;
        if still_active.len() < active.len() {
            let kept: Vec<usize> =
                active.iter().enumerate().filter(|(_, s)| still_active.contains(s)).map(|(pos, _)| pos).collect();
            enc = enc.retain(&rows_tensor(model, &kept)?)?;
        }
        active = still_active;
    }
    Ok(sources.into_iter().map(SourceSearch::best).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_taken_a_row_at_a_time_give_the_same_search() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny"));
        let (model, config) = crate::model::load_model(dir, &candle_core::Device::Cpu).unwrap();
        let cfg = GenerationConfig::from_model_dir(dir, &config).unwrap();
        let sources = [vec![5, 17, 42, 0], vec![9, 0], vec![100, 200, 300, 12, 7, 31, 0]];
        let run = |rows| search_in_chunks(&model, super::super::encode_batch(&model, &sources).unwrap(), &cfg, rows);
        let whole = run(usize::MAX).unwrap();
        assert_eq!(run(1).unwrap(), whole);
        assert_eq!(run(3).unwrap(), whole);
        assert_eq!(search(&model, super::super::encode_batch(&model, &sources).unwrap(), &cfg).unwrap(), whole);
    }

    #[test]
    fn top_indices_is_stable() {
        assert_eq!(top_indices(&[1.0, 3.0, 3.0, -1e9, 2.0], 3), vec![1, 2, 4]);
    }
}
