//! Attention of one new position per row on the CPU, reading every key and
//! value where it lies: the decoder's cached steps through each row's beam
//! ancestry, and the encoder's keys and values once per source whatever the
//! number of beams. Nothing is gathered, transposed or concatenated.
//!
//! Per row and head it computes what `eager_attention_forward` does: scores
//! `q·k` times `head_dim^-0.5` plus the additive mask, a softmax (max, `exp` of
//! the differences, their sum in order, then each divided by the sum) and the
//! probability-weighted sum of the values in position order.

use rayon::prelude::*;

use super::widest;

/// Keys and values one attention reads, per query row.
pub(crate) trait KeyValues: Sync {
    /// Number of positions row `row` attends to.
    fn len(&self, row: usize) -> usize;
    /// Key of head `head` at position `t` for row `row`: `head_dim` values.
    fn key(&self, row: usize, head: usize, t: usize) -> &[f32];
    /// Value of head `head` at position `t` for row `row`: `head_dim` values.
    fn value(&self, row: usize, head: usize, t: usize) -> &[f32];
    /// Additive mask of position `t` for row `row`, when there is one.
    fn mask(&self, row: usize) -> Option<&[f32]>;
}

/// Where one layer's keys lie for each query row, and its values at the same
/// places: the layout a [`View`] reads.
pub(crate) trait Positions: Sync {
    /// What the keys (and the values) are held in.
    type Store: ?Sized + Sync;
    /// Number of positions row `row` attends to.
    fn len(&self, row: usize) -> usize;
    /// The `head_dim` values of head `head` at position `t` for row `row` in `store`.
    fn at<'s>(&self, store: &'s Self::Store, row: usize, head: usize, t: usize) -> &'s [f32];
    /// Additive mask of position `t` for row `row`, when there is one.
    fn mask(&self, row: usize) -> Option<&[f32]>;
}

/// One layer's keys and values, laid out alike as `P` says.
pub(crate) struct View<'a, P: Positions> {
    pub(crate) keys: &'a P::Store,
    pub(crate) values: &'a P::Store,
    pub(crate) positions: P,
}

impl<P: Positions> KeyValues for View<'_, P> {
    fn len(&self, row: usize) -> usize {
        self.positions.len(row)
    }
    #[inline(always)]
    fn key(&self, row: usize, head: usize, t: usize) -> &[f32] {
        self.positions.at(self.keys, row, head, t)
    }
    #[inline(always)]
    fn value(&self, row: usize, head: usize, t: usize) -> &[f32] {
        self.positions.at(self.values, row, head, t)
    }
    fn mask(&self, row: usize) -> Option<&[f32]> {
        self.positions.mask(row)
    }
}

/// Attention of `query` (`rows × heads × head_dim` values, heads side by side as
/// `q_proj` gives them) over `kv`: the same layout, ready for `out_proj`.
pub(crate) fn attend(query: &[f32], heads: usize, head_dim: usize, scale: f32, kv: &impl KeyValues) -> Vec<f32> {
    let dim = heads * head_dim;
    let mut out = vec![0f32; query.len()];
    out.par_chunks_mut(dim).zip(query.par_chunks(dim)).enumerate().for_each(|(row, (out, query))| {
        let mut scores = Vec::with_capacity(kv.len(row));
        for (head, (out, query)) in out.chunks_mut(head_dim).zip(query.chunks(head_dim)).enumerate() {
            attend_head(query, scale, kv, row, head, &mut scores, out);
        }
    });
    out
}

widest! {
    /// One row's attention for one head, into `out` (zeros on entry).
    fn attend_head(
        query: &[f32],
        scale: f32,
        kv: &impl KeyValues,
        row: usize,
        head: usize,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) => attend_head_body
}

#[inline(always)]
fn attend_head_body(
    query: &[f32],
    scale: f32,
    kv: &impl KeyValues,
    row: usize,
    head: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    // Plain loops: iterator adapters that are not inlined would run without
    // the caller's target features.
    let len = kv.len(row);
    scores.clear();
    scores.resize(len, 0.0);
    match kv.mask(row) {
        // A position masked with `f32::MIN` gets no weight (`exp` of its score
        // is 0): its key and value are not read.
        Some(mask) => {
            for (t, (score, &m)) in scores.iter_mut().zip(mask).enumerate() {
                *score = if m == f32::MIN { f32::NEG_INFINITY } else { dot(query, kv.key(row, head, t)) * scale + m };
            }
        }
        None => {
            for (t, score) in scores.iter_mut().enumerate() {
                *score = dot(query, kv.key(row, head, t)) * scale;
            }
        }
    }
    let mut max = f32::NEG_INFINITY;
    for &score in scores.iter() {
        max = max.max(score);
    }
    if max == f32::NEG_INFINITY {
        // Every position masked: the masked scores are all `f32::MIN` and equal,
        // so each position gets the same weight.
        scores.fill(0.0);
        max = 0.0;
    }
    let mut sum = 0f32;
    for score in scores.iter_mut() {
        *score = (*score - max).exp();
        sum += *score;
    }
    for (t, &score) in scores.iter().enumerate() {
        if score == 0.0 {
            continue;
        }
        let p = score / sum;
        let value = kv.value(row, head, t);
        for (o, v) in out.iter_mut().zip(value) {
            *o += p * v;
        }
    }
}

/// Lanes of the dot product's partial sums.
const LANES: usize = 16;

/// `a·b` in [`LANES`] partial sums, added pairwise at the end.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let mut tail = 0f32;
    for (x, y) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        tail += x * y;
    }
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    acc[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of `len` positions with keys and values laid out `(row, head, t, dim)`.
    struct Dense {
        keys: Vec<f32>,
        values: Vec<f32>,
        mask: Option<Vec<f32>>,
        heads: usize,
        len: usize,
        dim: usize,
    }

    impl KeyValues for Dense {
        fn len(&self, _: usize) -> usize {
            self.len
        }
        fn key(&self, row: usize, head: usize, t: usize) -> &[f32] {
            &self.keys[((row * self.heads + head) * self.len + t) * self.dim..][..self.dim]
        }
        fn value(&self, row: usize, head: usize, t: usize) -> &[f32] {
            &self.values[((row * self.heads + head) * self.len + t) * self.dim..][..self.dim]
        }
        fn mask(&self, row: usize) -> Option<&[f32]> {
            self.mask.as_ref().map(|m| &m[row * self.len..][..self.len])
        }
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// The definition in f64: softmax of the scaled, masked scores, then the
    /// weighted values.
    fn reference(query: &[f32], kv: &Dense, scale: f64) -> Vec<f64> {
        let (heads, dim) = (kv.heads, kv.dim);
        let mut out = Vec::new();
        for (row, query) in query.chunks(heads * dim).enumerate() {
            for head in 0..heads {
                let q = &query[head * dim..][..dim];
                let scores: Vec<f64> = (0..kv.len)
                    .map(|t| {
                        let s: f64 =
                            q.iter().zip(kv.key(row, head, t)).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                        s * scale + kv.mask(row).map_or(0.0, |m| f64::from(m[t]))
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = exps.iter().sum();
                out.extend(
                    (0..dim).map(|d| {
                        (0..kv.len).map(|t| exps[t] / sum * f64::from(kv.value(row, head, t)[d])).sum::<f64>()
                    }),
                );
            }
        }
        out
    }

    #[test]
    fn attention_matches_the_definition_and_skips_masked_positions() {
        let (rows, heads, dim, len) = (3, 2, 20, 7);
        let mut mask = vec![0f32; rows * len];
        // Row 1 attends to its first 4 positions only.
        mask[len + 4..2 * len].fill(f32::MIN);
        let kv = Dense {
            keys: values(rows * heads * len * dim, 1),
            values: values(rows * heads * len * dim, 2),
            mask: Some(mask),
            heads,
            len,
            dim,
        };
        let query = values(rows * heads * dim, 3);
        let scale = (dim as f64).powf(-0.5);
        let got = attend(&query, heads, dim, scale as f32, &kv);
        let want = reference(&query, &kv, scale);
        for (g, w) in got.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{g} against {w}");
        }
        // Masked positions have no weight: changing their values changes nothing.
        let mut changed = Dense { values: kv.values.clone(), ..kv };
        for head in 0..heads {
            for t in 4..len {
                let at = ((heads + head) * len + t) * dim;
                changed.values[at..at + dim].fill(100.0);
            }
        }
        assert_eq!(attend(&query, heads, dim, scale as f32, &changed), got);
    }
}
