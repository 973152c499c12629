//! Alignment pairs from a word-level attention matrix.

use super::AlignError;

/// How pairs are read from the attention matrix (rows: target words, columns:
/// source words).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Each target word to the source word it attends to most (hard alignment).
    Argmax,
    /// Every pair whose attention is at least the threshold (soft alignment): a
    /// target word may get several source words, or none.
    Threshold(f32),
    /// Pairs that are the argmax both ways: the source word a target word attends
    /// to most, which among all target words attends most to that source word.
    Intersect,
}

impl Method {
    /// [`Method::Threshold`], for a threshold in `[0, 1]`.
    pub fn threshold(threshold: f32) -> Result<Self, AlignError> {
        if (0.0..=1.0).contains(&threshold) {
            Ok(Self::Threshold(threshold))
        } else {
            Err(AlignError::Threshold(threshold))
        }
    }
}

/// Index of the largest value (the first of equal ones); `None` when empty.
fn argmax(values: impl Iterator<Item = f32>) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in values.enumerate() {
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// `(source, target)` pairs from `matrix` (`matrix[target][source]`, every row as
/// long as the number of source words) by `method`, sorted.
pub fn extract(matrix: &[Vec<f32>], method: Method) -> Vec<(usize, usize)> {
    let sources = matrix.first().map_or(0, Vec::len);
    let forward = || matrix.iter().enumerate().filter_map(|(t, row)| argmax(row.iter().copied()).map(|s| (s, t)));
    let mut pairs: Vec<(usize, usize)> = match method {
        Method::Argmax => forward().collect(),
        Method::Threshold(threshold) => matrix
            .iter()
            .enumerate()
            .flat_map(|(t, row)| {
                row.iter().enumerate().filter(move |(_, v)| **v >= threshold).map(move |(s, _)| (s, t))
            })
            .collect(),
        Method::Intersect => {
            let backward: Vec<Option<usize>> = (0..sources).map(|s| argmax(matrix.iter().map(|row| row[s]))).collect();
            forward().filter(|&(s, t)| backward[s] == Some(t)).collect()
        }
    };
    pairs.sort_unstable();
    pairs
}

/// Pairs in Pharaoh format, as fast_align, eflomal and Marian write them:
/// `source-target` word indices (0-based), separated by spaces.
pub fn pharaoh(pairs: &[(usize, usize)]) -> String {
    pairs.iter().map(|(s, t)| format!("{s}-{t}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Target words × source words.
    fn matrix() -> Vec<Vec<f32>> {
        vec![
            vec![0.7, 0.2, 0.1, 0.0],
            vec![0.1, 0.3, 0.6, 0.0],
            vec![0.0, 0.35, 0.4, 0.25],
            vec![0.25, 0.25, 0.25, 0.25],
        ]
    }

    #[test]
    fn argmax_takes_each_target_words_best_source_word() {
        // Row 3 ties: the first source word wins.
        assert_eq!(extract(&matrix(), Method::Argmax), vec![(0, 0), (0, 3), (2, 1), (2, 2)]);
    }

    #[test]
    fn threshold_takes_every_pair_at_or_above_it() {
        let m = matrix();
        assert_eq!(
            extract(&m, Method::threshold(0.25).unwrap()),
            vec![(0, 0), (0, 3), (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 2), (3, 3)]
        );
        assert_eq!(extract(&m, Method::threshold(0.6).unwrap()), vec![(0, 0), (2, 1)]);
        assert_eq!(extract(&m, Method::threshold(1.0).unwrap()), vec![]);
        assert_eq!(extract(&m, Method::threshold(0.0).unwrap()).len(), 16);
    }

    #[test]
    fn intersect_keeps_pairs_that_are_the_argmax_both_ways() {
        // Forward: 0→0, 1→2, 2→2, 3→0. Backward (per source word, the best target
        // word): 0→0, 1→2, 2→1, 3→2 (ties take the first).
        assert_eq!(extract(&matrix(), Method::Intersect), vec![(0, 0), (2, 1)]);
    }

    #[test]
    fn empty_sides_give_no_pairs() {
        for method in [Method::Argmax, Method::Threshold(0.0), Method::Intersect] {
            assert_eq!(extract(&[], method), vec![]);
            assert_eq!(extract(&[vec![], vec![]], method), vec![]);
        }
    }

    #[test]
    fn thresholds_outside_0_1_are_rejected() {
        for bad in [-0.1, 1.5, f32::NAN, f32::INFINITY] {
            assert!(matches!(Method::threshold(bad), Err(AlignError::Threshold(_))), "{bad}");
        }
    }

    #[test]
    fn pharaoh_format() {
        assert_eq!(pharaoh(&[(0, 0), (2, 1), (10, 3)]), "0-0 2-1 10-3");
        assert_eq!(pharaoh(&[]), "");
    }
}
