//! The encoder's keys and values for the decoder's cross-attention on the
//! CPU, each source's only up to its last unmasked position.

use std::sync::Arc;

use candle_core::{Device, Result, Tensor};

use super::attend::{Positions, View};
use super::{KeyValue, with_f32};

/// Cross-attention keys and values without the positions past each source's
/// last unmasked one, which the mask gives no weight: a batch of sources of
/// mixed lengths holds what its sources need, not `sources × longest`.
#[derive(Debug)]
pub(crate) struct SourceCache {
    /// Per layer, keys and values: each source's `(heads, len, head_dim)` block
    /// after the previous source's.
    layers: Vec<[Vec<f32>; 2]>,
    /// Per source, the start of its block and its length.
    starts: Vec<usize>,
    lens: Vec<usize>,
    heads: usize,
    head_dim: usize,
    /// The length of the padded source batch.
    width: usize,
}

impl SourceCache {
    /// No sources yet, for a decoder of `num_layers` layers, with room for
    /// `values` keys (and as many values) per layer.
    pub(crate) fn new(num_layers: usize, values: usize) -> Self {
        let layers = (0..num_layers).map(|_| [Vec::with_capacity(values), Vec::with_capacity(values)]).collect();
        Self { layers, starts: Vec::new(), lens: Vec::new(), heads: 0, head_dim: 0, width: 0 }
    }

    /// Appends sources of lengths `lens` from every layer's `(sources, heads,
    /// width, head_dim)` keys and values, trimmed.
    pub(crate) fn append(&mut self, layers: impl Iterator<Item = Result<KeyValue>>, lens: &[usize]) -> Result<()> {
        let mut pushed = 0;
        for (kv, [keys, values]) in layers.zip(&mut self.layers) {
            let kv = kv?;
            let (sources, heads, width, head_dim) = kv.key.dims4()?;
            if sources != lens.len() || lens.iter().any(|&len| len > width) {
                candle_core::bail!("cross keys of {sources} sources of {width} positions for lengths {lens:?}");
            }
            (self.heads, self.head_dim, self.width) = (heads, head_dim, width);
            let trim = |t: &Tensor, out: &mut Vec<f32>| {
                with_f32(&t.contiguous()?, |all| {
                    for (source, &len) in lens.iter().enumerate() {
                        for head in 0..heads {
                            out.extend_from_slice(
                                &all[((source * heads + head) * width) * head_dim..][..len * head_dim],
                            );
                        }
                    }
                    Ok(())
                })
            };
            trim(&kv.key, keys)?;
            trim(&kv.value, values)?;
            pushed += 1;
        }
        if pushed != self.layers.len() {
            candle_core::bail!("cross keys of {pushed} layers for a decoder of {}", self.layers.len());
        }
        self.lens.extend_from_slice(lens);
        self.set_starts();
        Ok(())
    }

    fn set_starts(&mut self) {
        let block = self.heads * self.head_dim;
        self.starts =
            self.lens.iter().scan(0, |start, &len| Some(std::mem::replace(start, *start + len * block))).collect();
    }

    /// The sources `sources` (stored indices) alone, copied out.
    fn copy_of(&self, sources: &[u32]) -> Self {
        let block = self.heads * self.head_dim;
        let layers = self
            .layers
            .iter()
            .map(|layer| {
                layer.each_ref().map(|all| {
                    let mut out =
                        Vec::with_capacity(sources.iter().map(|&s| self.lens[s as usize]).sum::<usize>() * block);
                    for &s in sources {
                        out.extend_from_slice(&all[self.starts[s as usize]..][..self.lens[s as usize] * block]);
                    }
                    out
                })
            })
            .collect();
        let lens = sources.iter().map(|&s| self.lens[s as usize]).collect();
        let mut kept = Self { layers, starts: Vec::new(), lens, ..*self };
        kept.set_starts();
        kept
    }

    /// [`Self::copy_of`] within the same buffers: `sources` ascending.
    fn keep_in_place(&mut self, sources: &[u32]) {
        let block = self.heads * self.head_dim;
        for layer in &mut self.layers {
            for all in layer {
                let mut end = 0;
                for &s in sources {
                    let (start, len) = (self.starts[s as usize], self.lens[s as usize] * block);
                    all.copy_within(start..start + len, end);
                    end += len;
                }
                all.truncate(end);
                all.shrink_to_fit();
            }
        }
        self.lens = sources.iter().map(|&s| self.lens[s as usize]).collect();
        self.set_starts();
    }

    /// The sources `sources` (stored indices, ascending) alone: within the
    /// same buffers where no other copy shares them, else copied out.
    pub(crate) fn keep(this: Arc<Self>, sources: &[u32]) -> Self {
        match Arc::try_unwrap(this) {
            Ok(mut cache) => {
                cache.keep_in_place(sources);
                cache
            }
            Err(shared) => shared.copy_of(sources),
        }
    }

    /// Number of sources stored.
    pub(crate) fn sources(&self) -> usize {
        self.lens.len()
    }

    /// Number of decoder layers.
    pub(crate) fn layers(&self) -> usize {
        self.layers.len()
    }

    /// Layer `layer`'s keys and values for decoder rows read in groups of
    /// `group` per selected source: `stored` is the stored source of each
    /// selected one (all, in order, for `None`) and `mask` the additive mask
    /// `(stored, width)`.
    pub(crate) fn view<'a>(
        &'a self,
        layer: usize,
        mask: &'a [f32],
        stored: Option<&'a [u32]>,
        group: usize,
    ) -> SourceView<'a> {
        let [keys, values] = &self.layers[layer];
        View { keys, values, positions: Sources { cache: self, mask, stored, group } }
    }

    /// Layer `layer`'s keys and values of the sources `sources` (all when
    /// `None`) as `(sources, heads, width, head_dim)` tensors, zero past each
    /// source's length.
    pub(crate) fn padded(&self, layer: usize, sources: Option<&[u32]>, device: &Device) -> Result<KeyValue> {
        let all: Vec<u32> = (0..self.lens.len() as u32).collect();
        let sources = sources.unwrap_or(&all);
        let (heads, head_dim, width) = (self.heads, self.head_dim, self.width);
        let pad = |values: &[f32]| {
            let mut out = vec![0f32; sources.len() * heads * width * head_dim];
            for (i, &s) in sources.iter().enumerate() {
                let (start, len) = (self.starts[s as usize], self.lens[s as usize]);
                for head in 0..heads {
                    let from = &values[start + head * len * head_dim..][..len * head_dim];
                    out[((i * heads + head) * width) * head_dim..][..len * head_dim].copy_from_slice(from);
                }
            }
            Tensor::from_vec(out, (sources.len(), heads, width, head_dim), device)
        };
        let [key, value] = &self.layers[layer];
        Ok(KeyValue { key: pad(key)?, value: pad(value)? })
    }
}

/// One decoder layer's trimmed cross-attention keys and values and the
/// sources' additive mask.
pub(crate) type SourceView<'a> = View<'a, Sources<'a>>;

/// Where each decoder row's source positions lie: in the block of its source,
/// read by decoder rows in groups of `group` per source.
pub(crate) struct Sources<'a> {
    cache: &'a SourceCache,
    /// `(stored, width)`.
    mask: &'a [f32],
    /// The stored source of each selected one, if not all in order.
    stored: Option<&'a [u32]>,
    group: usize,
}

impl Sources<'_> {
    /// The stored source that decoder row `row` reads.
    #[inline(always)]
    fn source(&self, row: usize) -> usize {
        let source = row / self.group;
        self.stored.map_or(source, |stored| stored[source] as usize)
    }
}

impl Positions for Sources<'_> {
    type Store = [f32];

    fn len(&self, row: usize) -> usize {
        self.cache.lens[self.source(row)]
    }
    #[inline(always)]
    fn at<'s>(&self, values: &'s [f32], row: usize, head: usize, t: usize) -> &'s [f32] {
        let (s, head_dim) = (self.source(row), self.cache.head_dim);
        &values[self.cache.starts[s] + (head * self.cache.lens[s] + t) * head_dim..][..head_dim]
    }
    fn mask(&self, row: usize) -> Option<&[f32]> {
        let s = self.source(row);
        Some(&self.mask[s * self.cache.width..][..self.cache.lens[s]])
    }
}
