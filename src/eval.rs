//! Evaluation measures for benchmarks: corpus chrF as sacrebleu computes it.

use std::collections::HashMap;

/// Character n-gram orders of chrF.
const CHAR_ORDER: usize = 6;
/// Recall weight β of chrF (β² weights recall in the F-score).
const BETA: f64 = 2.0;

fn char_ngrams(text: &str, n: usize) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    for w in bounds.windows(n + 1) {
        *counts.entry(&text[w[0]..w[n]]).or_insert(0) += 1;
    }
    counts
}

/// Corpus chrF (character orders 1–6, β = 2, whitespace removed, no word
/// n-grams) on a 0–100 scale, as sacrebleu's `corpus_chrf` with its defaults:
/// n-gram statistics are summed over the corpus, precision and recall averaged
/// over the orders that occur on both sides, then combined.
pub fn corpus_chrf<S: AsRef<str>, R: AsRef<str>>(hypotheses: &[S], references: &[R]) -> f64 {
    let mut stats = [[0usize; 3]; CHAR_ORDER]; // hyp, ref, match
    for (hyp, reference) in hypotheses.iter().zip(references) {
        let hyp: String = hyp.as_ref().split_whitespace().collect();
        let reference: String = reference.as_ref().split_whitespace().collect();
        for (n, stat) in stats.iter_mut().enumerate() {
            let h = char_ngrams(&hyp, n + 1);
            let r = char_ngrams(&reference, n + 1);
            stat[0] += h.values().sum::<usize>();
            stat[1] += r.values().sum::<usize>();
            stat[2] += h.iter().map(|(g, &c)| c.min(r.get(g).copied().unwrap_or(0))).sum::<usize>();
        }
    }
    let (mut precision, mut recall, mut orders) = (0.0, 0.0, 0);
    for [hyp, reference, matched] in stats {
        if hyp > 0 && reference > 0 {
            precision += matched as f64 / hyp as f64;
            recall += matched as f64 / reference as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    let (precision, recall) = (precision / orders as f64, recall / orders as f64);
    let factor = BETA * BETA;
    if precision + recall == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + factor) * precision * recall / (factor * precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sacrebleu() {
        // sacrebleu 2.5.1 `corpus_chrf(h, [r]).score` on the same sentences.
        let h = ["The cat sat on the mat.", "Hayat Tahrir al-Sham seized Aleppo on Friday.", ""];
        let r = ["The cat is on the mat.", "HTS captured the city of Aleppo on Friday.", "Nothing here."];
        assert!((corpus_chrf(&h, &r) - 43.712039396024004).abs() < 1e-9);
        assert!((corpus_chrf(&h[..2], &r[..2]) - 50.763454038067735).abs() < 1e-9);
        assert_eq!(corpus_chrf(&["same text"], &["same text"]), 100.0);
        assert_eq!(corpus_chrf(&["abc"], &["xyz"]), 0.0);
    }
}
