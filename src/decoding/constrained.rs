//! Lexically constrained beam search with dynamic beam allocation (Post & Vilar
//! 2018; batched as in Hu et al. 2019): every hypothesis tracks which
//! constraints it has written and how far into one it is; each step considers
//! the usual best continuations plus, for every beam, the next token of each
//! constraint it may start or continue; the beam is then shared out round-robin
//! among banks of hypotheses that have written the same number of constraint
//! tokens, so hypotheses that place terms survive next to fluent ones. `</s>` is
//! allowed only once every constraint is met, unless `max_length` forces it.
//!
//! A constraint is one occurrence of a term: a list of alternative token
//! sequences (e.g. the rendering as written and capitalized), one of which must
//! appear. Sources are decoded together; their decoder rows are reordered
//! explicitly after every step.

use super::logits::{check_finite, log_softmax, process, top_k};
use super::{DecodeError, GenerationConfig, rows_tensor, step_input};
use crate::model::{DecoderCache, EncoderOutput, MarianMTModel};

/// One required occurrence of a term: any one of `alternatives` satisfies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Token sequences, each non-empty.
    pub alternatives: Vec<Vec<u32>>,
    /// Token sequences that satisfy it only as the first tokens of the output
    /// (the rendering capitalized to open the sentence).
    pub sentence_start: Vec<Vec<u32>>,
}

impl Constraint {
    /// Alternative `a`: the `alternatives`, then the `sentence_start` ones.
    fn alternative(&self, a: usize) -> &[u32] {
        match self.alternatives.get(a) {
            Some(alt) => alt,
            None => &self.sentence_start[a - self.alternatives.len()],
        }
    }

    /// The alternatives usable at this point: `(index, tokens)`.
    fn usable(&self, at_start: bool) -> impl Iterator<Item = (usize, &[u32])> {
        let n = if at_start { self.alternatives.len() + self.sentence_start.len() } else { self.alternatives.len() };
        (0..n).map(|a| (a, self.alternative(a)))
    }

    /// How often the output `tokens` contains the constraint (non-overlapping;
    /// a sentence-start alternative counts only at the start).
    fn occurrences(&self, tokens: &[u32]) -> usize {
        let mut count = 0;
        let mut i = 0;
        while i < tokens.len() {
            let hit = self.usable(i == 0).map(|(_, alt)| alt).find(|alt| tokens[i..].starts_with(alt));
            match hit {
                Some(alt) => {
                    count += 1;
                    i += alt.len();
                }
                None => i += 1,
            }
        }
        count
    }
}

/// The best output for one source under its constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstrainedHypothesis {
    /// Generated token ids, after the decoder start token.
    pub tokens: Vec<u32>,
    /// Length-normalized log-probability.
    pub score: f32,
    /// For each constraint, whether the output contains it.
    pub met: Vec<bool>,
}

/// Which constraints a hypothesis has written, and the one it is writing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    met: Vec<bool>,
    /// `(constraint, alternative, tokens written)` of a constraint under way.
    writing: Option<(usize, usize, usize)>,
}

impl State {
    fn new(n: usize) -> Self {
        Self { met: vec![false; n], writing: None }
    }

    fn all_met(&self) -> bool {
        self.writing.is_none() && self.met.iter().all(|&m| m)
    }

    /// Constraint tokens written: the bank a hypothesis belongs to.
    fn progress(&self, constraints: &[Constraint]) -> usize {
        let done: usize = self
            .met
            .iter()
            .zip(constraints)
            .filter(|(m, _)| **m)
            .map(|(_, c)| c.alternatives.iter().chain(&c.sentence_start).map(Vec::len).min().unwrap_or(0))
            .sum();
        done + self.writing.map_or(0, |(_, _, k)| k)
    }

    /// The state after writing `token` (`at_start`: it is the output's first).
    fn advance(&self, constraints: &[Constraint], token: u32, at_start: bool) -> State {
        let mut next = self.clone();
        if let Some((c, a, k)) = self.writing {
            let alt = constraints[c].alternative(a);
            if alt[k] == token {
                if k + 1 == alt.len() {
                    next.met[c] = true;
                    next.writing = None;
                } else {
                    next.writing = Some((c, a, k + 1));
                }
                return next;
            }
            // Abandoned: the constraint is unmet again; the token may start another.
            next.writing = None;
        }
        if let Some((c, a)) = self.starts(constraints, token, at_start) {
            if constraints[c].alternative(a).len() == 1 {
                next.met[c] = true;
            } else {
                next.writing = Some((c, a, 1));
            }
        }
        next
    }

    /// The first unmet constraint (and its longest alternative) that `token` starts.
    fn starts(&self, constraints: &[Constraint], token: u32, at_start: bool) -> Option<(usize, usize)> {
        constraints.iter().enumerate().filter(|(c, _)| !self.met[*c]).find_map(|(c, constraint)| {
            constraint
                .usable(at_start)
                .filter(|(_, alt)| alt.first() == Some(&token))
                .max_by_key(|(_, alt)| alt.len())
                .map(|(a, _)| (c, a))
        })
    }

    /// Tokens that start or continue a constraint from this state.
    fn wanted(&self, constraints: &[Constraint], at_start: bool) -> Vec<u32> {
        if let Some((c, a, k)) = self.writing {
            return vec![constraints[c].alternative(a)[k]];
        }
        let mut out: Vec<u32> = constraints
            .iter()
            .enumerate()
            .filter(|(c, _)| !self.met[*c])
            .flat_map(|(_, constraint)| constraint.usable(at_start).filter_map(|(_, alt)| alt.first().copied()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A hypothesis still being extended, with the constraints it has met.
#[derive(Debug, Clone)]
struct OpenConstrained {
    seq: Vec<u32>,
    score: f32,
    state: State,
}

/// A finished hypothesis, with the constraints it met.
#[derive(Debug, Clone)]
struct FinishedConstrained {
    seq: Vec<u32>,
    score: f32,
    state: State,
}

/// One source's search.
struct ConstrainedSearch<'a> {
    constraints: &'a [Constraint],
    running: Vec<OpenConstrained>,
    finished: Vec<FinishedConstrained>,
    done: bool,
}

/// A hypothesis extended by one token, before the beam is chosen.
struct Extension {
    parent: usize,
    token: u32,
    score: f32,
    state: State,
}

impl<'a> ConstrainedSearch<'a> {
    fn new(cfg: &GenerationConfig, constraints: &'a [Constraint]) -> Self {
        let start =
            OpenConstrained { seq: vec![cfg.decoder_start_token_id], score: 0.0, state: State::new(constraints.len()) };
        Self { constraints, running: vec![start], finished: Vec::new(), done: false }
    }

    fn normalized(cfg: &GenerationConfig, score: f32, generated: usize) -> f32 {
        score / (generated.max(1) as f64).powf(f64::from(cfg.length_penalty)) as f32
    }

    /// One step from the processed log-probabilities of each running beam; returns
    /// the parent of each new running beam.
    fn step(&mut self, cfg: &GenerationConfig, log_probs: &[Vec<f32>]) -> Vec<usize> {
        let k = cfg.num_beams;
        let cur_len = self.running[0].seq.len();
        let forced_end = cur_len + 1 >= cfg.max_length;
        // Extensions (parent, token) pairs: the best overall, each beam's best, and
        // each beam's constraint tokens.
        let rows: Vec<(&[f32], f32)> =
            log_probs.iter().zip(&self.running).map(|(row, beam)| (row.as_slice(), beam.score)).collect();
        let vocab = log_probs[0].len();
        let mut pairs: Vec<(usize, u32)> =
            top_k(&rows, 2 * k).into_iter().map(|(_, flat)| (flat / vocab, (flat % vocab) as u32)).collect();
        for (b, (row, beam)) in log_probs.iter().zip(&self.running).enumerate() {
            let best = top_k(&[(row.as_slice(), 0.0)], 1);
            pairs.extend(best.into_iter().map(|(_, t)| (b, t as u32)));
            pairs.extend(beam.state.wanted(self.constraints, beam.seq.len() == 1).into_iter().map(|t| (b, t)));
        }
        pairs.sort_unstable();
        pairs.dedup();

        let mut candidates = Vec::with_capacity(pairs.len());
        for (parent, token) in pairs {
            let logp = log_probs[parent][token as usize];
            if logp == f32::NEG_INFINITY {
                continue;
            }
            let beam = &self.running[parent];
            let score = beam.score + logp;
            let state = beam.state.advance(self.constraints, token, beam.seq.len() == 1);
            if token == cfg.eos_token_id || forced_end {
                // Finished: kept when every constraint is met, or when the length
                // limit leaves no choice (its misses are reported).
                if beam.state.all_met() || forced_end {
                    let mut seq = beam.seq.clone();
                    seq.push(token);
                    let norm = Self::normalized(cfg, score, seq.len() - 1);
                    self.finished.push(FinishedConstrained {
                        seq,
                        score: norm,
                        state: if token == cfg.eos_token_id { beam.state.clone() } else { state },
                    });
                }
                continue;
            }
            candidates.push(Extension { parent, token, score, state });
        }
        // Dynamic beam allocation: banks by progress, filled round-robin from the
        // most advanced bank, best first within a bank.
        let mut banks: Vec<(usize, Vec<Extension>)> = Vec::new();
        for candidate in candidates {
            let progress = candidate.state.progress(self.constraints);
            match banks.iter_mut().find(|(p, _)| *p == progress) {
                Some((_, bank)) => bank.push(candidate),
                None => banks.push((progress, vec![candidate])),
            }
        }
        banks.sort_by_key(|bank| std::cmp::Reverse(bank.0));
        for (_, bank) in &mut banks {
            bank.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.parent.cmp(&b.parent)).then(a.token.cmp(&b.token)));
            bank.reverse(); // pop() takes the best
        }
        let mut chosen: Vec<Extension> = Vec::with_capacity(k);
        while chosen.len() < k && banks.iter().any(|(_, bank)| !bank.is_empty()) {
            for (_, bank) in &mut banks {
                if chosen.len() == k {
                    break;
                }
                if let Some(c) = bank.pop() {
                    chosen.push(c);
                }
            }
        }
        let parents = chosen.iter().map(|c| c.parent).collect();
        self.running = chosen
            .into_iter()
            .map(|c| {
                let mut seq = self.running[c.parent].seq.clone();
                seq.push(c.token);
                OpenConstrained { seq, score: c.score, state: c.state }
            })
            .collect();
        self.update_done(cfg);
        parents
    }

    /// Done when no beam runs, or `num_beams` hypotheses meeting every constraint
    /// are finished and no running one can beat the worst of them.
    fn update_done(&mut self, cfg: &GenerationConfig) {
        if self.running.is_empty() {
            self.done = true;
            return;
        }
        let mut complete: Vec<f32> = self.finished.iter().filter(|f| f.state.all_met()).map(|f| f.score).collect();
        if complete.len() < cfg.num_beams {
            return;
        }
        complete.sort_by(|a, b| b.total_cmp(a));
        let worst = complete[cfg.num_beams - 1];
        let best_running = self
            .running
            .iter()
            .map(|b| Self::normalized(cfg, b.score, b.seq.len() - 1))
            .fold(f32::NEG_INFINITY, f32::max);
        if best_running <= worst {
            self.done = true;
        }
    }

    /// Whether a finished output holds some term more often than the source
    /// does (a term must appear exactly once per occurrence).
    fn repeats_a_term(&self, seq: &[u32]) -> bool {
        let tokens = &seq[1..];
        self.constraints.iter().enumerate().any(|(i, c)| {
            let required = self.constraints.iter().filter(|d| *d == c).count();
            // Count each group of identical constraints once.
            self.constraints.iter().position(|d| d == c) == Some(i) && c.occurrences(tokens) > required
        })
    }

    /// The best finished hypothesis: most constraints met, then no term
    /// repeated, then the best score.
    fn best(self) -> ConstrainedHypothesis {
        let count = |s: &State| s.met.iter().filter(|&&m| m).count();
        let ranked: Vec<(usize, bool, &FinishedConstrained)> =
            self.finished.iter().map(|f| (count(&f.state), !self.repeats_a_term(&f.seq), f)).collect();
        let best = ranked
            .into_iter()
            .max_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.cmp(&b.1))
                    .then(a.2.score.total_cmp(&b.2.score))
                    .then(b.2.seq.len().cmp(&a.2.seq.len()))
            })
            .map(|(_, _, f)| f.clone());
        match best {
            Some(f) => ConstrainedHypothesis { tokens: f.seq[1..].to_vec(), score: f.score, met: f.state.met },
            None => ConstrainedHypothesis {
                tokens: Vec::new(),
                score: f32::NEG_INFINITY,
                met: vec![false; self.constraints.len()],
            },
        }
    }
}

/// Beam search over every source of `enc` with each source's constraints.
pub(super) fn search(
    model: &MarianMTModel,
    enc: EncoderOutput,
    constraints: &[Vec<Constraint>],
    cfg: &GenerationConfig,
) -> Result<Vec<ConstrainedHypothesis>, DecodeError> {
    let mut sources: Vec<ConstrainedSearch> = constraints.iter().map(|c| ConstrainedSearch::new(cfg, c)).collect();
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    // Row r of the decoder batch belongs to source `row_source[r]`.
    let mut row_source: Vec<usize> = (0..sources.len()).collect();
    let mut enc_rows: Vec<usize> = (0..sources.len()).collect();
    let mut enc_current = enc.clone();
    let mut cur_len = 1;
    while cur_len < cfg.max_length && !row_source.is_empty() {
        let last: Vec<u32> = {
            let mut out = Vec::with_capacity(row_source.len());
            let mut seen = vec![0usize; sources.len()];
            for &s in &row_source {
                out.push(sources[s].running[seen[s]].seq[cur_len - 1]);
                seen[s] += 1;
            }
            out
        };
        let logits = model.decode(&step_input(model, last)?, &enc_current, &mut cache)?.squeeze(1)?.to_vec2::<f32>()?;
        // Group rows by source, in row order.
        let mut per_source: Vec<Vec<(usize, Vec<f32>)>> = vec![Vec::new(); sources.len()];
        for (r, (mut row, &s)) in logits.into_iter().zip(&row_source).enumerate() {
            check_finite(&row)?;
            let beam = &sources[s].running[per_source[s].len()];
            log_softmax(&mut row);
            process(cfg, &beam.seq, &mut row);
            per_source[s].push((r, row));
        }
        let mut next_rows = Vec::new();
        let mut next_source = Vec::new();
        for (s, rows) in per_source.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let (row_ids, log_probs): (Vec<usize>, Vec<Vec<f32>>) = rows.into_iter().unzip();
            let parents = sources[s].step(cfg, &log_probs);
            if sources[s].done {
                continue;
            }
            for p in parents {
                next_rows.push(row_ids[p]);
                next_source.push(s);
            }
        }
        cur_len += 1;
        if next_rows.is_empty() {
            break;
        }
        let index = rows_tensor(model, &next_rows)?;
        cache.reorder(&index)?;
        // Beams of one source share its encoder rows: gather them again only
        // when the rows' sources change (beams fill up, sources finish).
        let next_enc_rows: Vec<usize> = next_rows.iter().map(|&r| enc_rows[r]).collect();
        if next_enc_rows != enc_rows {
            enc_current = enc.index_select(&rows_tensor(model, &next_enc_rows)?)?;
            enc_rows = next_enc_rows;
        }
        row_source = next_source;
    }
    Ok(sources.into_iter().map(ConstrainedSearch::best).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraints() -> Vec<Constraint> {
        vec![
            Constraint { alternatives: vec![vec![5, 6, 7], vec![9, 6, 7]], sentence_start: vec![vec![4, 6, 7]] },
            Constraint { alternatives: vec![vec![8]], sentence_start: vec![] },
        ]
    }

    #[test]
    fn states_advance_abandon_and_meet() {
        let cs = constraints();
        let s = State::new(2);
        assert_eq!(s.wanted(&cs, true), vec![4, 5, 8, 9]);
        assert_eq!(s.wanted(&cs, false), vec![5, 8, 9], "the capitalized form only opens the sentence");
        assert_eq!(s.advance(&cs, 4, false), s);
        assert_eq!(s.advance(&cs, 4, true).writing, Some((0, 2, 1)));
        let s = s.advance(&cs, 9, true);
        assert_eq!(s.writing, Some((0, 1, 1)));
        assert_eq!(s.wanted(&cs, false), vec![6]);
        assert_eq!(s.progress(&cs), 1);
        // A wrong token abandons the constraint; 8 meets the second at once.
        let s = s.advance(&cs, 8, false);
        assert_eq!((s.writing, s.met.clone()), (None, vec![false, true]));
        let s = s.advance(&cs, 5, false).advance(&cs, 6, false).advance(&cs, 7, false);
        assert!(s.all_met());
        assert_eq!(s.progress(&cs), 4);
        assert!(s.wanted(&cs, false).is_empty());
    }

    #[test]
    fn occurrences_count_whole_alternatives() {
        let c = &constraints()[0];
        assert_eq!(c.occurrences(&[5, 6, 7, 1, 9, 6, 7, 5, 6]), 2);
        assert_eq!(c.occurrences(&[4, 6, 7, 4, 6, 7]), 1, "the sentence-start form counts only at the start");
    }
}
