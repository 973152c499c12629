//! The decoder's self-attention cache.
//!
//! On the CPU every decoded position's keys and values stay where they were
//! written, one block of rows per step, and each row keeps its ancestry: the
//! row it descends from at every step. A beam reorder or a finished row then
//! rewrites a few indices instead of copying the cache, and attention reads
//! each row's history through its ancestry. Rows no current row descends from
//! are freed once they are a third of the store. On other devices the cache is one
//! tensor per layer, reordered when the next positions are appended.

use candle_core::{Device, Result, Tensor};

use super::layers::{KeyValue, LayerCache};
use crate::cpu::KeyValues;

/// Decoder self-attention keys and values of the positions decoded so far, one
/// entry per decoder layer. Discard it if a [`MarianMTModel::decode`] call fails.
///
/// [`MarianMTModel::decode`]: super::MarianMTModel::decode
#[derive(Debug, Clone)]
pub struct DecoderCache {
    num_layers: usize,
    len: usize,
    /// Batch rows to keep, applied when the next positions are appended.
    pending: Option<Vec<u32>>,
    store: Store,
}

#[derive(Debug, Clone)]
enum Store {
    /// Nothing decoded yet.
    Empty,
    /// Per layer, keys and values `(batch, heads, len, head_dim)`.
    Tensors(Vec<Option<KeyValue>>),
    /// Step blocks and ancestries, on the CPU.
    Steps(Steps),
}

/// Every step's keys and values as written, and each row's ancestry.
#[derive(Debug, Clone)]
pub(super) struct Steps {
    /// Per layer and step, keys of `rows × dim` values (heads side by side).
    keys: Vec<Vec<Vec<f32>>>,
    /// Per layer and step, values laid out as the keys.
    values: Vec<Vec<Vec<f32>>>,
    /// Per current row, its row in every step's block.
    ancestry: Vec<Vec<u32>>,
    heads: usize,
    head_dim: usize,
}

impl DecoderCache {
    /// An empty cache for a decoder of `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        Self { num_layers, len: 0, pending: None, store: Store::Empty }
    }

    /// Number of positions decoded so far (the position of the next input).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been decoded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn num_layers(&self) -> usize {
        self.num_layers
    }

    /// Keeps the batch rows `rows` (u32 indices, repeats allowed), in that order:
    /// beam reordering or dropping finished rows. Nothing is copied: the rows
    /// are taken when the next positions are appended.
    pub fn reorder(&mut self, rows: &Tensor) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let rows = rows.to_device(&Device::Cpu)?.to_vec1::<u32>()?;
        self.pending = Some(match self.pending.take() {
            Some(earlier) => rows
                .iter()
                .map(|&r| earlier.get(r as usize).copied().ok_or_else(|| out_of_rows(r, earlier.len())))
                .collect::<Result<_>>()?,
            None => rows,
        });
        Ok(())
    }

    /// Starts appending `new_len` positions for `rows` rows of `heads` heads of
    /// `head_dim` values on `device`: applies a pending reorder to the ancestries
    /// (or returns it, for tensors, to apply while appending).
    pub(super) fn begin(
        &mut self,
        rows: usize,
        new_len: usize,
        (heads, head_dim): (usize, usize),
        device: &Device,
    ) -> Result<Option<Vec<u32>>> {
        let pending = self.pending.take();
        if let Store::Empty = self.store {
            self.store = if device.is_cpu() {
                let layers = vec![Vec::new(); self.num_layers];
                Store::Steps(Steps {
                    keys: layers.clone(),
                    values: layers,
                    ancestry: vec![Vec::new(); rows],
                    heads,
                    head_dim,
                })
            } else {
                Store::Tensors(vec![None; self.num_layers])
            };
        }
        let Store::Steps(steps) = &mut self.store else { return Ok(pending) };
        if let Some(parents) = pending {
            steps.ancestry = parents
                .iter()
                .map(|&p| steps.ancestry.get(p as usize).cloned().ok_or_else(|| out_of_rows(p, steps.ancestry.len())))
                .collect::<Result<_>>()?;
        }
        steps.drop_unread();
        if steps.ancestry.len() != rows || (steps.heads, steps.head_dim) != (heads, head_dim) {
            candle_core::bail!(
                "the decoder cache holds {} rows of {}×{} values, the input {rows} rows of {heads}×{head_dim}",
                steps.ancestry.len(),
                steps.heads,
                steps.head_dim
            );
        }
        for (row, ancestry) in steps.ancestry.iter_mut().enumerate() {
            ancestry.extend(std::iter::repeat_n(row as u32, new_len));
        }
        Ok(None)
    }

    /// Ends appending `new_len` positions.
    pub(super) fn finish(&mut self, new_len: usize) {
        self.len += new_len;
    }

    /// The step store, for one new position per row on the CPU.
    pub(super) fn steps(&mut self) -> Option<&mut Steps> {
        match &mut self.store {
            Store::Steps(steps) => Some(steps),
            _ => None,
        }
    }

    /// Runs `f` with layer `layer`'s keys and values so far as tensors (rows
    /// `keep` of them, for a tensor store), which `f` extends by the new positions.
    pub(super) fn with_tensors<R>(
        &mut self,
        layer: usize,
        keep: Option<&[u32]>,
        device: &Device,
        f: impl FnOnce(LayerCache) -> Result<R>,
    ) -> Result<R> {
        let past_len = self.len;
        match &mut self.store {
            Store::Empty => candle_core::bail!("the decoder cache was not started"),
            Store::Tensors(layers) => f(LayerCache { kv: &mut layers[layer], keep }),
            Store::Steps(steps) => {
                let mut kv = steps.materialize(layer, past_len, device)?;
                let out = f(LayerCache { kv: &mut kv, keep: None })?;
                let Some(kv) = kv else { candle_core::bail!("decoder layer {layer} appended nothing") };
                steps.push_tensors(layer, &kv, past_len)?;
                Ok(out)
            }
        }
    }
}

impl Steps {
    /// Appends one step's keys and values for layer `layer`: `rows × dim` each.
    pub(super) fn push(&mut self, layer: usize, key: Vec<f32>, value: Vec<f32>) {
        self.keys[layer].push(key);
        self.values[layer].push(value);
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

    /// Layer `layer`'s keys and values so far, read through the ancestries.
    pub(super) fn view(&self, layer: usize) -> StepView<'_> {
        StepView {
            keys: &self.keys[layer],
            values: &self.values[layer],
            ancestry: &self.ancestry,
            dim: self.heads * self.head_dim,
            head_dim: self.head_dim,
        }
    }

    /// The first `len` positions of layer `layer` as tensors `(rows, heads, len,
    /// head_dim)`, or `None` when there are none.
    fn materialize(&self, layer: usize, len: usize, device: &Device) -> Result<Option<KeyValue>> {
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
    fn push_tensors(&mut self, layer: usize, kv: &KeyValue, past_len: usize) -> Result<()> {
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
pub(super) struct StepView<'a> {
    keys: &'a [Vec<f32>],
    values: &'a [Vec<f32>],
    ancestry: &'a [Vec<u32>],
    dim: usize,
    head_dim: usize,
}

impl StepView<'_> {
    #[inline(always)]
    fn at<'b>(&self, blocks: &'b [Vec<f32>], row: usize, head: usize, t: usize) -> &'b [f32] {
        &blocks[t][self.ancestry[row][t] as usize * self.dim + head * self.head_dim..][..self.head_dim]
    }
}

impl KeyValues for StepView<'_> {
    fn len(&self, _: usize) -> usize {
        self.keys.len()
    }
    #[inline(always)]
    fn key(&self, row: usize, head: usize, t: usize) -> &[f32] {
        self.at(self.keys, row, head, t)
    }
    #[inline(always)]
    fn value(&self, row: usize, head: usize, t: usize) -> &[f32] {
        self.at(self.values, row, head, t)
    }
    fn mask(&self, _: usize) -> Option<&[f32]> {
        None
    }
}

/// The error for a cache row `row` outside a batch of `batch` rows.
fn out_of_rows(row: u32, batch: usize) -> candle_core::Error {
    candle_core::Error::Msg(format!("cache row {row} out of {batch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends one step of `rows` rows (one head of two values) whose keys are
    /// `[step, row]` and values `[-step, -row]`.
    fn step(cache: &mut DecoderCache, rows: usize) {
        let step = cache.len() as f32;
        cache.begin(rows, 1, (1, 2), &Device::Cpu).unwrap();
        let keys = (0..rows).flat_map(|r| [step, r as f32]).collect();
        let values = (0..rows).flat_map(|r| [-step, -(r as f32)]).collect();
        for layer in 0..cache.num_layers() {
            cache.steps().unwrap().push(layer, Vec::clone(&keys), Vec::clone(&values));
        }
        cache.finish(1);
    }

    /// Every row's keys and values, per layer, as read through the cache.
    fn read(cache: &mut DecoderCache) -> Vec<Vec<Vec<[f32; 2]>>> {
        let layers = cache.num_layers();
        let steps = cache.steps().unwrap();
        (0..layers)
            .map(|layer| {
                let view = steps.view(layer);
                (0..view.ancestry.len())
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

    fn stored_rows(cache: &mut DecoderCache) -> Vec<usize> {
        cache.steps().unwrap().keys[0].iter().map(|block| block.len() / 2).collect()
    }

    #[test]
    fn unread_rows_are_freed_and_the_rest_read_the_same() {
        let mut cache = DecoderCache::new(2);
        step(&mut cache, 4);
        step(&mut cache, 4);
        // Every beam continues row 1; the next step drops rows 0, 2 and 3 of
        // both blocks but row 1's history.
        cache.reorder(&Tensor::new(&[1u32, 1, 1, 1], &Device::Cpu).unwrap()).unwrap();
        cache.reorder(&Tensor::new(&[0u32, 3], &Device::Cpu).unwrap()).unwrap();
        step(&mut cache, 2);
        assert_eq!(stored_rows(&mut cache), vec![1, 1, 2]);
        let want = |row: f32| vec![[0.0, 1.0], [-0.0, -1.0], [1.0, 1.0], [-1.0, -1.0], [2.0, row], [-2.0, -row]];
        assert_eq!(read(&mut cache), vec![vec![want(0.0), want(1.0)]; 2]);

        // Fewer than a third unread: nothing moves.
        cache.reorder(&Tensor::new(&[1u32, 0], &Device::Cpu).unwrap()).unwrap();
        step(&mut cache, 2);
        assert_eq!(stored_rows(&mut cache), vec![1, 1, 2, 2]);
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
        assert_eq!(read(&mut cache), vec![vec![want(1.0, 0.0), want(0.0, 1.0)]; 2]);
    }
}
