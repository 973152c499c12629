//! The decoder's self-attention keys and values on the CPU.
//!
//! Every decoded position's keys and values stay where they were written, one
//! block of rows per step, and each row keeps its ancestry: the row it
//! descends from at every step. A beam reorder or a finished row then rewrites
//! a few indices instead of copying the cache, and attention reads each row's
//! history through its ancestry. Rows no current row descends from are freed
//! once they are a third of the store.

use candle_core::{Device, Result, Tensor};

use super::KeyValue;
use super::attend::{Positions, View};

/// Every step's keys and values as written, and each row's ancestry.
#[derive(Debug, Clone)]
pub(crate) struct StepCache {
    /// Per layer and step, keys of `rows × dim` values (heads side by side).
    keys: Vec<Vec<Vec<f32>>>,
    /// Per layer and step, values laid out as the keys.
    values: Vec<Vec<Vec<f32>>>,
    /// Per current row, its row in every step's block.
    ancestry: Vec<Vec<u32>>,
    heads: usize,
    head_dim: usize,
}

impl StepCache {
    /// An empty cache of `num_layers` layers for `rows` rows of `heads` heads
    /// of `head_dim` values.
    pub(crate) fn new(num_layers: usize, rows: usize, (heads, head_dim): (usize, usize)) -> Self {
        let layers = vec![Vec::new(); num_layers];
        Self { keys: layers.clone(), values: layers, ancestry: vec![Vec::new(); rows], heads, head_dim }
    }

    /// Keeps the rows `parents` (indices, repeats allowed), in that order:
    /// only their ancestries are copied.
    pub(crate) fn reorder(&mut self, parents: &[u32]) -> Result<()> {
        self.ancestry = parents
            .iter()
            .map(|&p| self.ancestry.get(p as usize).cloned().ok_or_else(|| out_of_rows(p, self.ancestry.len())))
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// Starts appending `new_len` positions for `rows` rows of `heads` heads
    /// of `head_dim` values: frees what no row reads, and extends every
    /// ancestry by the rows of the new steps.
    pub(crate) fn begin(&mut self, rows: usize, new_len: usize, (heads, head_dim): (usize, usize)) -> Result<()> {
        self.drop_unread();
        if self.ancestry.len() != rows || (self.heads, self.head_dim) != (heads, head_dim) {
            candle_core::bail!(
                "the decoder cache holds {} rows of {}×{} values, the input {rows} rows of {heads}×{head_dim}",
                self.ancestry.len(),
                self.heads,
                self.head_dim
            );
        }
        for (row, ancestry) in self.ancestry.iter_mut().enumerate() {
            ancestry.extend(std::iter::repeat_n(row as u32, new_len));
        }
        Ok(())
    }

    /// Appends one step's keys and values for layer `layer`: `rows × dim` each.
    pub(crate) fn append(&mut self, layer: usize, key: Vec<f32>, value: Vec<f32>) {
        self.keys[layer].push(key);
        self.values[layer].push(value);
    }

    /// Layer `layer`'s keys and values so far, read through the ancestries.
    pub(crate) fn view(&self, layer: usize) -> StepView<'_> {
        View {
            keys: &self.keys[layer],
            values: &self.values[layer],
            positions: Ancestries {
                steps: self.keys[layer].len(),
                ancestry: &self.ancestry,
                dim: self.heads * self.head_dim,
                head_dim: self.head_dim,
            },
        }
    }

    /// Frees the stored rows no current row descends from (beams that lost,
    /// finished rows) once they are a third of what is stored, so the store
    /// holds at most half again what the rows read. The rows left keep their
    /// order within each step, and their keys and values are moved, not changed.
    fn drop_unread(&mut self) {
        let dim = self.heads * self.head_dim;
        let Some(blocks) = self.keys.first() else { return };
        if dim == 0 || blocks.is_empty() {
            return;
        }
        // Per step, each stored row's new index, or `u32::MAX` when unread.
        let mut moves: Vec<Vec<u32>> = blocks.iter().map(|block| vec![u32::MAX; block.len() / dim]).collect();
        for ancestry in &self.ancestry {
            for (step, &row) in moves.iter_mut().zip(ancestry) {
                step[row as usize] = 0;
            }
        }
        // Number each step's read rows from zero, in order.
        let stored: usize = moves.iter().map(Vec::len).sum();
        let mut read = 0;
        for step in &mut moves {
            for (next, slot) in step.iter_mut().filter(|slot| **slot == 0).enumerate() {
                *slot = next as u32;
                read += 1;
            }
        }
        if 3 * read > 2 * stored {
            return;
        }
        for blocks in self.keys.iter_mut().chain(self.values.iter_mut()) {
            for (block, step) in blocks.iter_mut().zip(&moves) {
                let kept = step.iter().filter(|&&r| r != u32::MAX).count();
                if kept == step.len() {
                    continue;
                }
                let mut compact = Vec::with_capacity(kept * dim);
                for (row, _) in step.iter().enumerate().filter(|(_, r)| **r != u32::MAX) {
                    compact.extend_from_slice(&block[row * dim..][..dim]);
                }
                *block = compact;
            }
        }
        for ancestry in &mut self.ancestry {
            for (row, step) in ancestry.iter_mut().zip(&moves) {
                *row = step[*row as usize];
            }
        }
    }

    /// The first `len` positions of layer `layer` as tensors `(rows, heads, len,
    /// head_dim)`, or `None` when there are none.
    pub(crate) fn materialize(&self, layer: usize, len: usize, device: &Device) -> Result<Option<KeyValue>> {
        if len == 0 {
            return Ok(None);
        }
        let (rows, heads, head_dim) = (self.ancestry.len(), self.heads, self.head_dim);
        let dim = heads * head_dim;
        let gather = |blocks: &[Vec<f32>]| {
            let mut out = Vec::with_capacity(rows * len * dim);
            for ancestry in &self.ancestry {
                for h in 0..heads {
                    for (block, &row) in blocks[..len].iter().zip(ancestry) {
                        out.extend_from_slice(&block[row as usize * dim + h * head_dim..][..head_dim]);
                    }
                }
            }
            Tensor::from_vec(out, (rows, heads, len, head_dim), device)
        };
        Ok(Some(KeyValue { key: gather(&self.keys[layer])?, value: gather(&self.values[layer])? }))
    }

    /// Appends the positions after `past_len` of `kv` `(rows, heads, len,
    /// head_dim)` as step blocks of layer `layer`.
    pub(crate) fn append_tensors(&mut self, layer: usize, kv: &KeyValue, past_len: usize) -> Result<()> {
        let (rows, heads, len, head_dim) = kv.key.dims4()?;
        let blocks = |t: &Tensor| -> Result<Vec<Vec<f32>>> {
            // (rows, heads, new, head_dim) → (new, rows, heads, head_dim).
            let t = t.narrow(2, past_len, len - past_len)?.permute((2, 0, 1, 3))?.contiguous()?;
            let values = t.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
            Ok(values.chunks(rows * heads * head_dim).map(<[f32]>::to_vec).collect())
        };
        let (keys, values) = (blocks(&kv.key)?, blocks(&kv.value)?);
        self.keys[layer].extend(keys);
        self.values[layer].extend(values);
        Ok(())
    }
}

/// One layer's cached keys and values read through the rows' ancestries.
pub(crate) type StepView<'a> = View<'a, Ancestries<'a>>;

/// Where each row's cached positions lie: in every step's block, at the row
/// its ancestry names.
pub(crate) struct Ancestries<'a> {
    steps: usize,
    ancestry: &'a [Vec<u32>],
    dim: usize,
    head_dim: usize,
}

impl Positions for Ancestries<'_> {
    type Store = [Vec<f32>];

    fn len(&self, _: usize) -> usize {
        self.steps
    }
    #[inline(always)]
    fn at<'s>(&self, blocks: &'s [Vec<f32>], row: usize, head: usize, t: usize) -> &'s [f32] {
        &blocks[t][self.ancestry[row][t] as usize * self.dim + head * self.head_dim..][..self.head_dim]
    }
    fn mask(&self, _: usize) -> Option<&[f32]> {
        None
    }
}

/// The error for a cache row `row` outside a batch of `batch` rows.
pub(crate) fn out_of_rows(row: u32, batch: usize) -> candle_core::Error {
    candle_core::Error::Msg(format!("cache row {row} out of {batch}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::KeyValues;

    /// Appends step `step` of `rows` rows (one head of two values) whose keys
    /// are `[step, row]` and values `[-step, -row]`.
    fn step(cache: &mut StepCache, step: usize, rows: usize) {
        let step = step as f32;
        cache.begin(rows, 1, (1, 2)).unwrap();
        let keys = (0..rows).flat_map(|r| [step, r as f32]).collect();
        let values = (0..rows).flat_map(|r| [-step, -(r as f32)]).collect();
        for layer in 0..cache.keys.len() {
            cache.append(layer, Vec::clone(&keys), Vec::clone(&values));
        }
    }

    /// Every row's keys and values, per layer, as read through the cache.
    fn read(cache: &StepCache) -> Vec<Vec<Vec<[f32; 2]>>> {
        (0..cache.keys.len())
            .map(|layer| {
                let view = cache.view(layer);
                (0..cache.ancestry.len())
                    .map(|row| {
                        (0..view.len(row))
                            .flat_map(|t| {
                                let (k, v) = (view.key(row, 0, t), view.value(row, 0, t));
                                [[k[0], k[1]], [v[0], v[1]]]
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn stored_rows(cache: &StepCache) -> Vec<usize> {
        cache.keys[0].iter().map(|block| block.len() / 2).collect()
    }

    #[test]
    fn unread_rows_are_freed_and_the_rest_read_the_same() {
        let mut cache = StepCache::new(2, 4, (1, 2));
        step(&mut cache, 0, 4);
        step(&mut cache, 1, 4);
        // Every beam continues row 1; the next step drops rows 0, 2 and 3 of
        // both blocks but row 1's history.
        cache.reorder(&[1, 1, 1, 1]).unwrap();
        cache.reorder(&[0, 3]).unwrap();
        step(&mut cache, 2, 2);
        assert_eq!(stored_rows(&cache), vec![1, 1, 2]);
        let want = |row: f32| vec![[0.0, 1.0], [-0.0, -1.0], [1.0, 1.0], [-1.0, -1.0], [2.0, row], [-2.0, -row]];
        assert_eq!(read(&cache), vec![vec![want(0.0), want(1.0)]; 2]);

        // Fewer than a third unread: nothing moves.
        cache.reorder(&[1, 0]).unwrap();
        step(&mut cache, 3, 2);
        assert_eq!(stored_rows(&cache), vec![1, 1, 2, 2]);
        let want = |row: f32, last: f32| {
            vec![
                [0.0, 1.0],
                [-0.0, -1.0],
                [1.0, 1.0],
                [-1.0, -1.0],
                [2.0, row],
                [-2.0, -row],
                [3.0, last],
                [-3.0, -last],
            ]
        };
        assert_eq!(read(&cache), vec![vec![want(1.0, 0.0), want(0.0, 1.0)]; 2]);
    }
}
