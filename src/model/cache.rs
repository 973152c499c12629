//! The decoder's self-attention cache: on the CPU the engine's step cache
//! ([`StepCache`]: blocks per step, read through each row's ancestry), on other
//! devices one tensor per layer, reordered when the next positions are appended.

use candle_core::{Device, Result, Tensor};

use super::layers::LayerCache;
use crate::cpu::{KeyValue, StepCache, out_of_rows};

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
    keys: CachedKeys,
}

/// Where a [`DecoderCache`] holds its keys and values.
#[derive(Debug, Clone)]
enum CachedKeys {
    /// Nothing decoded yet.
    Empty,
    /// Per layer, keys and values `(batch, heads, len, head_dim)`.
    Tensors(Vec<Option<KeyValue>>),
    /// Step blocks and ancestries, on the CPU.
    Steps(StepCache),
}

impl DecoderCache {
    /// An empty cache for a decoder of `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        Self { num_layers, len: 0, pending: None, keys: CachedKeys::Empty }
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
        if let CachedKeys::Empty = self.keys {
            self.keys = if device.is_cpu() {
                CachedKeys::Steps(StepCache::new(self.num_layers, rows, (heads, head_dim)))
            } else {
                CachedKeys::Tensors(vec![None; self.num_layers])
            };
        }
        let CachedKeys::Steps(steps) = &mut self.keys else { return Ok(pending) };
        if let Some(parents) = pending {
            steps.reorder(&parents)?;
        }
        steps.begin(rows, new_len, (heads, head_dim))?;
        Ok(None)
    }

    /// Ends appending `new_len` positions.
    pub(super) fn finish(&mut self, new_len: usize) {
        self.len += new_len;
    }

    /// The step store, for one new position per row on the CPU.
    pub(super) fn steps(&mut self) -> Option<&mut StepCache> {
        match &mut self.keys {
            CachedKeys::Steps(steps) => Some(steps),
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
        match &mut self.keys {
            CachedKeys::Empty => candle_core::bail!("the decoder cache was not started"),
            CachedKeys::Tensors(layers) => f(LayerCache { kv: &mut layers[layer], keep }),
            CachedKeys::Steps(steps) => {
                let mut kv = steps.materialize(layer, past_len, device)?;
                let out = f(LayerCache { kv: &mut kv, keep: None })?;
                let Some(kv) = kv else { candle_core::bail!("decoder layer {layer} appended nothing") };
                steps.append_tensors(layer, &kv, past_len)?;
                Ok(out)
            }
        }
    }
}
