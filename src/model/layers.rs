//! Marian building blocks, named after the checkpoint's tensors.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{LayerNorm, VarBuilder};

use super::Precision;
use super::cache::Steps;
use super::config::{Activation, MarianConfig};
use crate::cpu::{KeyValues, Linear, attend, with_f32};

/// `nn.LayerNorm`'s default epsilon, which Marian layers use.
const LAYER_NORM_EPS: f64 = 1e-5;

/// Sinusoidal position table `(num_positions, dim)` exactly as
/// `MarianSinusoidalPositionalEmbedding.create_weight`: angles
/// `pos / 10000^(2*(j/2)/dim)` in f64, `sin` of the even columns in the first half,
/// `cos` of the odd columns in the second half, then rounded to f32.
pub fn sinusoidal_positions(num_positions: usize, dim: usize, device: &Device) -> Result<Tensor> {
    let sin_cols = dim.div_ceil(2);
    // Denominator of column j: 10000^(2*(j/2)/dim). Sin column c is j = 2c, cos column
    // c is j = 2c + 1: both use 2c.
    let denominators: Vec<f64> = (0..sin_cols).map(|c| 10000f64.powf((2 * c) as f64 / dim as f64)).collect();
    let mut table = Vec::with_capacity(num_positions * dim);
    for pos in 0..num_positions {
        let pos = pos as f64;
        table.extend(denominators.iter().map(|d| (pos / d).sin() as f32));
        table.extend(denominators[..dim / 2].iter().map(|d| (pos / d).cos() as f32));
    }
    Tensor::from_vec(table, (num_positions, dim), device)
}

fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder, precision: Precision) -> Result<Linear> {
    let weight = vb.get((out_dim, in_dim), "weight")?;
    let bias = vb.get(out_dim, "bias")?;
    Linear::new(weight, Some(bias), precision)
}

fn layer_norm(dim: usize, vb: VarBuilder) -> Result<LayerNorm> {
    let weight = vb.get(dim, "weight")?;
    let bias = vb.get(dim, "bias")?;
    Ok(LayerNorm::new(weight, bias, LAYER_NORM_EPS))
}

/// Additive mask `(batch, 1, 1, src_len)` from a 0/1 attention mask: 0 where the
/// mask is 1, `f32::MIN` (`torch.finfo(float32).min`) where it is 0.
pub(super) fn padding_mask(attention_mask: &Tensor) -> Result<Tensor> {
    let (batch, len) = attention_mask.dims2()?;
    attention_mask
        .to_dtype(DType::F32)?
        // (1 - m) * MIN == m * MAX + MIN, exact for m in {0, 1}.
        .affine(f64::from(f32::MAX), f64::from(f32::MIN))?
        .reshape((batch, 1, 1, len))
}

/// Additive causal mask `(1, 1, new_len, past + new_len)` for queries at positions
/// `past..past + new_len`: `f32::MIN` where the key lies in the query's future.
pub(super) fn causal_mask(past: usize, new_len: usize, device: &Device) -> Result<Tensor> {
    let total = past + new_len;
    let mask: Vec<f32> =
        (0..new_len).flat_map(|i| (0..total).map(move |j| if j > past + i { f32::MIN } else { 0.0 })).collect();
    Tensor::from_vec(mask, (1, 1, new_len, total), device)
}

/// Multi-head attention (`q_proj`, `k_proj`, `v_proj`, `out_proj`), scores scaled by
/// `head_dim^-0.5` after the `q·kᵀ` product as in `eager_attention_forward`.
#[derive(Debug, Clone)]
pub(super) struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    num_heads: usize,
    head_dim: usize,
    scaling: f64,
}

impl Attention {
    pub(super) fn new(embed_dim: usize, num_heads: usize, vb: VarBuilder, precision: Precision) -> Result<Self> {
        let head_dim = embed_dim / num_heads;
        Ok(Self {
            q_proj: linear(embed_dim, embed_dim, vb.pp("q_proj"), precision)?,
            k_proj: linear(embed_dim, embed_dim, vb.pp("k_proj"), precision)?,
            v_proj: linear(embed_dim, embed_dim, vb.pp("v_proj"), precision)?,
            out_proj: linear(embed_dim, embed_dim, vb.pp("out_proj"), precision)?,
            num_heads,
            head_dim,
            scaling: (head_dim as f64).powf(-0.5),
        })
    }

    fn to_int8(&self) -> Result<Self> {
        Ok(Self {
            q_proj: self.q_proj.to_int8()?,
            k_proj: self.k_proj.to_int8()?,
            v_proj: self.v_proj.to_int8()?,
            out_proj: self.out_proj.to_int8()?,
            ..self.clone()
        })
    }

    /// `(batch, len, embed_dim)` → contiguous `(batch, heads, len, head_dim)`.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (batch, len, _) = xs.dims3()?;
        xs.reshape((batch, len, self.num_heads, self.head_dim))?.transpose(1, 2)?.contiguous()
    }

    /// Projected queries, `(batch, heads, len, head_dim)`.
    pub(super) fn query(&self, xs: &Tensor) -> Result<Tensor> {
        self.split_heads(&self.q_proj.forward(xs)?)
    }

    /// Projected keys and values, each `(batch, heads, len, head_dim)`.
    pub(super) fn key_value(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.split_heads(&self.k_proj.forward(xs)?)?, self.split_heads(&self.v_proj.forward(xs)?)?))
    }

    /// Attention probabilities `(batch, heads, q_len, k_len)` of `query` over `key`
    /// with an optional additive `mask` (broadcast to that shape).
    fn probs(&self, query: &Tensor, key: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let scores = (query.matmul(&key.t()?)? * self.scaling)?;
        let scores = match mask {
            Some(mask) => scores.broadcast_add(mask)?,
            None => scores,
        };
        candle_nn::ops::softmax_last_dim(&scores)
    }

    /// Heads merged, through `out_proj`: `(batch, len, embed_dim)` from `(batch,
    /// heads, len, head_dim)`.
    fn merge(&self, out: &Tensor) -> Result<Tensor> {
        let (batch, heads, len, head_dim) = out.dims4()?;
        let out = out.transpose(1, 2)?.reshape((batch, len, heads * head_dim))?;
        self.out_proj.forward(&out)
    }

    /// Attention of `query` `(rows, heads, q_len, head_dim)` over `key`/`value`
    /// `(sources, heads, k_len, head_dim)` with an optional additive `mask`
    /// (broadcast to `(sources, heads, q_len, k_len)`), through `out_proj`:
    /// `(rows, q_len, embed_dim)`. `rows` is a multiple of `sources`: row `r`
    /// attends to source `r / (rows / sources)` (the beams of one source).
    pub(super) fn attend(&self, query: &Tensor, key: &Tensor, value: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let rows = query.dim(0)?;
        let probs = self.probs(&group(query, key.dim(0)?)?, key, mask)?;
        self.merge(&ungroup(&probs.matmul(value)?, rows)?)
    }

    /// The probabilities of head `head` alone, `(rows, q_len, k_len)`, as
    /// [`Self::attend`] computes them for every head.
    fn head_probs(&self, query: &Tensor, key: &Tensor, mask: Option<&Tensor>, head: usize) -> Result<Tensor> {
        let rows = query.dim(0)?;
        let query = group(query, key.dim(0)?)?.narrow(1, head, 1)?;
        let key = key.narrow(1, head, 1)?;
        ungroup(&self.probs(&query, &key, mask)?, rows)?.squeeze(1)
    }

    /// [`Self::attend`], also returning the probabilities of head `head`:
    /// `(rows, q_len, k_len)`.
    fn attend_with_head(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        mask: Option<&Tensor>,
        head: usize,
    ) -> Result<(Tensor, Tensor)> {
        let rows = query.dim(0)?;
        let probs = self.probs(&group(query, key.dim(0)?)?, key, mask)?;
        let head_probs = ungroup(&probs.narrow(1, head, 1)?, rows)?.squeeze(1)?;
        Ok((self.merge(&ungroup(&probs.matmul(value)?, rows)?)?, head_probs))
    }

    /// Attention of one new position per row, on the CPU: `query` holds `rows ×
    /// embed_dim` values (`q_proj`'s output); the result goes through `out_proj`,
    /// `(rows, 1, embed_dim)`.
    fn attend_rows(&self, query: &Tensor, kv: &impl KeyValues) -> Result<Tensor> {
        let (rows, _, dim) = query.dims3()?;
        let out = with_f32(&query.contiguous()?, |query| {
            Ok(attend(query, self.num_heads, self.head_dim, self.scaling as f32, kv))
        })?;
        self.out_proj.forward(&Tensor::from_vec(out, (rows, 1, dim), query.device())?)
    }

    /// Self-attention over `xs` without a cache.
    pub(super) fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (key, value) = self.key_value(xs)?;
        self.attend(&self.query(xs)?, &key, &value, mask)
    }
}

/// `query` `(rows, heads, len, dim)` with the rows of each of `sources` sources
/// side by side: `(sources, heads, rows / sources * len, dim)`.
fn group(query: &Tensor, sources: usize) -> Result<Tensor> {
    let (rows, heads, len, dim) = query.dims4()?;
    if rows == sources {
        return Ok(query.clone());
    }
    if sources == 0 || !rows.is_multiple_of(sources) {
        candle_core::bail!("{rows} query rows cannot attend to {sources} sources");
    }
    query.reshape((sources, rows / sources, heads, len, dim))?.transpose(1, 2)?.contiguous()?.reshape((
        sources,
        heads,
        rows / sources * len,
        dim,
    ))
}

/// The inverse of [`group`]: `(rows, heads, len, dim)`.
fn ungroup(xs: &Tensor, rows: usize) -> Result<Tensor> {
    let (sources, heads, grouped, dim) = xs.dims4()?;
    if rows == sources {
        return Ok(xs.clone());
    }
    let group = rows / sources;
    xs.reshape((sources, heads, group, grouped / group, dim))?.transpose(1, 2)?.contiguous()?.reshape((
        rows,
        heads,
        grouped / group,
        dim,
    ))
}

/// `fc1` → activation → `fc2`.
#[derive(Debug, Clone)]
struct FeedForward {
    fc1: Linear,
    fc2: Linear,
    activation: Activation,
}

impl FeedForward {
    fn new(dim: usize, ffn_dim: usize, activation: Activation, vb: &VarBuilder, precision: Precision) -> Result<Self> {
        Ok(Self {
            fc1: linear(dim, ffn_dim, vb.pp("fc1"), precision)?,
            fc2: linear(ffn_dim, dim, vb.pp("fc2"), precision)?,
            activation,
        })
    }

    fn to_int8(&self) -> Result<Self> {
        Ok(Self { fc1: self.fc1.to_int8()?, fc2: self.fc2.to_int8()?, activation: self.activation })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // fc1's output is this call's alone: the activation overwrites it.
        self.fc2.forward(&self.activation.apply_in_place(self.fc1.forward(xs)?)?)
    }
}

/// Post-norm encoder layer: `self_attn` + `self_attn_layer_norm`, then the
/// feed-forward block + `final_layer_norm`.
#[derive(Debug, Clone)]
pub(super) struct EncoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
}

impl EncoderLayer {
    pub(super) fn new(cfg: &MarianConfig, vb: VarBuilder, precision: Precision) -> Result<Self> {
        let dim = cfg.d_model;
        Ok(Self {
            self_attn: Attention::new(dim, cfg.encoder_attention_heads, vb.pp("self_attn"), precision)?,
            self_attn_layer_norm: layer_norm(dim, vb.pp("self_attn_layer_norm"))?,
            ffn: FeedForward::new(dim, cfg.encoder_ffn_dim, cfg.activation_function, &vb, precision)?,
            final_layer_norm: layer_norm(dim, vb.pp("final_layer_norm"))?,
        })
    }

    /// The same layer with int8 weights in its linear layers.
    pub(super) fn to_int8(&self) -> Result<Self> {
        Ok(Self { self_attn: self.self_attn.to_int8()?, ffn: self.ffn.to_int8()?, ..self.clone() })
    }

    /// `xs`: `(batch, src_len, d_model)`; `mask`: additive padding mask.
    pub(super) fn forward(&self, xs: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let attn = self.self_attn.forward(xs, Some(mask))?;
        let xs = self.self_attn_layer_norm.forward(&(xs + attn)?)?;
        let ffn = self.ffn.forward(&xs)?;
        self.final_layer_norm.forward(&(xs + ffn)?)
    }
}

/// One decoder layer's self-attention keys and values so far, each
/// `(batch, heads, len, head_dim)`.
#[derive(Debug, Clone)]
pub(super) struct KeyValue {
    pub(super) key: Tensor,
    pub(super) value: Tensor,
}

impl KeyValue {
    pub(super) fn index_select(&self, rows: &Tensor) -> Result<Self> {
        Ok(Self { key: self.key.index_select(rows, 0)?, value: self.value.index_select(rows, 0)? })
    }

    /// The batch rows `rows` of `self` (all of them for `None`), each extended by
    /// the matching row of `new` along the length: one copy instead of a
    /// reorder and then a concatenation.
    fn gather_append(&self, rows: Option<&[u32]>, new: &KeyValue) -> Result<Self> {
        Ok(Self {
            key: gather_append(&self.key, rows, &new.key)?,
            value: gather_append(&self.value, rows, &new.value)?,
        })
    }
}

/// `cat([past[rows], new], 2)` for `past` `(batch, heads, len, dim)` and `new`
/// `(rows, heads, new_len, dim)`, in one pass over contiguous f32 CPU tensors.
fn gather_append(past: &Tensor, rows: Option<&[u32]>, new: &Tensor) -> Result<Tensor> {
    let (batch, heads, len, dim) = past.dims4()?;
    let (out_rows, new_heads, new_len, new_dim) = new.dims4()?;
    if (new_heads, new_dim) != (heads, dim) || rows.map_or(batch, <[u32]>::len) != out_rows {
        candle_core::bail!("cannot append keys {:?} to a cache {:?}", new.dims(), past.dims());
    }
    if let Some(rows) = rows
        && let Some(&row) = rows.iter().find(|&&r| r as usize >= batch)
    {
        candle_core::bail!("cache row {row} out of {batch}");
    }
    let (past_storage, past_layout) = past.storage_and_layout();
    let (new_storage, new_layout) = new.storage_and_layout();
    let (
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(past_data)),
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(new_data)),
        Some((past_start, _)),
        Some((new_start, _)),
    ) = (&*past_storage, &*new_storage, past_layout.contiguous_offsets(), new_layout.contiguous_offsets())
    else {
        drop((past_storage, new_storage));
        let past = match rows {
            Some(rows) => past.index_select(&Tensor::new(rows, past.device())?, 0)?,
            None => past.clone(),
        };
        return Tensor::cat(&[&past, new], 2);
    };
    let (past_block, new_block) = (len * dim, new_len * dim);
    let mut out = Vec::with_capacity(out_rows * heads * (past_block + new_block));
    for r in 0..out_rows {
        let source = rows.map_or(r, |rows| rows[r] as usize);
        for h in 0..heads {
            let at = past_start + (source * heads + h) * past_block;
            out.extend_from_slice(&past_data[at..at + past_block]);
            let at = new_start + (r * heads + h) * new_block;
            out.extend_from_slice(&new_data[at..at + new_block]);
        }
    }
    Tensor::from_vec(out, (out_rows, heads, len + new_len, dim), past.device())
}

/// One decoder layer's self-attention cache and the batch rows to keep from it
/// (all, in order, for `None`).
pub(super) struct LayerCache<'a> {
    pub(super) kv: &'a mut Option<KeyValue>,
    pub(super) keep: Option<&'a [u32]>,
}

/// Post-norm decoder layer: causal `self_attn`, `encoder_attn` over the encoder
/// output, feed-forward block, each followed by its layer norm.
#[derive(Debug, Clone)]
pub(super) struct DecoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    encoder_attn: Attention,
    encoder_attn_layer_norm: LayerNorm,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
}

impl DecoderLayer {
    pub(super) fn new(cfg: &MarianConfig, vb: VarBuilder, precision: Precision) -> Result<Self> {
        let dim = cfg.d_model;
        let heads = cfg.decoder_attention_heads;
        Ok(Self {
            self_attn: Attention::new(dim, heads, vb.pp("self_attn"), precision)?,
            self_attn_layer_norm: layer_norm(dim, vb.pp("self_attn_layer_norm"))?,
            encoder_attn: Attention::new(dim, heads, vb.pp("encoder_attn"), precision)?,
            encoder_attn_layer_norm: layer_norm(dim, vb.pp("encoder_attn_layer_norm"))?,
            ffn: FeedForward::new(dim, cfg.decoder_ffn_dim, cfg.activation_function, &vb, precision)?,
            final_layer_norm: layer_norm(dim, vb.pp("final_layer_norm"))?,
        })
    }

    /// The same layer with int8 weights in its linear layers.
    pub(super) fn to_int8(&self) -> Result<Self> {
        Ok(Self {
            self_attn: self.self_attn.to_int8()?,
            encoder_attn: self.encoder_attn.to_int8()?,
            ffn: self.ffn.to_int8()?,
            ..self.clone()
        })
    }

    /// Cross-attention keys and values of the encoder output for this layer.
    pub(super) fn cross_key_value(&self, encoder_hidden: &Tensor) -> Result<KeyValue> {
        let (key, value) = self.encoder_attn.key_value(encoder_hidden)?;
        Ok(KeyValue { key, value })
    }

    /// `xs`: `(batch, new_len, d_model)` at positions after those in `cache`, which
    /// is extended with the new keys and values. `causal`: additive mask when
    /// `new_len > 1`; `cross`: this layer's encoder keys/values; `encoder_mask`:
    /// additive padding mask of the source.
    pub(super) fn forward(
        &self,
        xs: &Tensor,
        causal: Option<&Tensor>,
        cache: LayerCache,
        cross: &KeyValue,
        encoder_mask: &Tensor,
    ) -> Result<Tensor> {
        let xs = self.self_attention(xs, causal, cache)?;
        let query = self.encoder_attn.query(&xs)?;
        let attn = self.encoder_attn.attend(&query, &cross.key, &cross.value, Some(encoder_mask))?;
        self.feed_forward(&xs, &attn)
    }

    /// [`Self::forward`], also returning the cross-attention probabilities of head
    /// `head`: `(batch, new_len, src_len)`.
    pub(super) fn forward_with_head(
        &self,
        xs: &Tensor,
        causal: Option<&Tensor>,
        cache: LayerCache,
        cross: &KeyValue,
        encoder_mask: &Tensor,
        head: usize,
    ) -> Result<(Tensor, Tensor)> {
        let xs = self.self_attention(xs, causal, cache)?;
        let query = self.encoder_attn.query(&xs)?;
        let (attn, probs) =
            self.encoder_attn.attend_with_head(&query, &cross.key, &cross.value, Some(encoder_mask), head)?;
        Ok((self.feed_forward(&xs, &attn)?, probs))
    }

    /// Only the cross-attention probabilities of head `head` that [`Self::forward`]
    /// computes, `(batch, new_len, src_len)`; `cache` is extended as there.
    pub(super) fn cross_attention_probs(
        &self,
        xs: &Tensor,
        causal: Option<&Tensor>,
        cache: LayerCache,
        cross: &KeyValue,
        encoder_mask: &Tensor,
        head: usize,
    ) -> Result<Tensor> {
        let xs = self.self_attention(xs, causal, cache)?;
        let query = self.encoder_attn.query(&xs)?;
        self.encoder_attn.head_probs(&query, &cross.key, Some(encoder_mask), head)
    }

    /// [`Self::forward`] for one new position per row on the CPU: the new keys
    /// and values are appended to `steps` as layer `layer`'s next block, and
    /// attention reads the cache through the rows' ancestries and the encoder's
    /// keys and values through `cross`.
    pub(super) fn forward_step(
        &self,
        xs: &Tensor,
        steps: &mut Steps,
        layer: usize,
        cross: &impl KeyValues,
    ) -> Result<Tensor> {
        let attn = &self.self_attn;
        let rows_of = |t: Tensor| t.flatten_all()?.to_vec1::<f32>();
        steps.push(layer, rows_of(attn.k_proj.forward(xs)?)?, rows_of(attn.v_proj.forward(xs)?)?);
        let out = attn.attend_rows(&attn.q_proj.forward(xs)?, &steps.view(layer))?;
        let xs = self.self_attn_layer_norm.forward(&(xs + out)?)?;
        let out = self.encoder_attn.attend_rows(&self.encoder_attn.q_proj.forward(&xs)?, cross)?;
        self.feed_forward(&xs, &out)
    }

    /// The self-attention block: `self_attn` over the cache (its batch rows
    /// `reorder` first, when given) and `xs`, residual, layer norm.
    fn self_attention(&self, xs: &Tensor, causal: Option<&Tensor>, cache: LayerCache) -> Result<Tensor> {
        let query = self.self_attn.query(xs)?;
        let (key, value) = self.self_attn.key_value(xs)?;
        let new = KeyValue { key, value };
        let kv = match cache.kv.take() {
            Some(past) => past.gather_append(cache.keep, &new)?,
            None => new,
        };
        let attn = self.self_attn.attend(&query, &kv.key, &kv.value, causal)?;
        *cache.kv = Some(kv);
        self.self_attn_layer_norm.forward(&(xs + attn)?)
    }

    /// What follows the cross-attention output `attn` of `xs`: residual, layer norm,
    /// feed-forward block, residual, layer norm.
    fn feed_forward(&self, xs: &Tensor, attn: &Tensor) -> Result<Tensor> {
        let xs = self.encoder_attn_layer_norm.forward(&(xs + attn)?)?;
        let ffn = self.ffn.forward(&xs)?;
        self.final_layer_norm.forward(&(xs + ffn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_hf_layout() {
        let dev = Device::Cpu;
        let table = sinusoidal_positions(5, 6, &dev).unwrap().to_vec2::<f32>().unwrap();
        // Row 0: sin(0) = 0 in the first half, cos(0) = 1 in the second.
        assert_eq!(table[0], vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        // Row 3, column 1: sin(3 / 10000^(2/6)); column 4: cos of the same angle.
        let angle = 3.0f64 / 10000f64.powf(2.0 / 6.0);
        assert_eq!(table[3][1], angle.sin() as f32);
        assert_eq!(table[3][4], angle.cos() as f32);
        // Odd dim: ceil(dim/2) sin columns, floor(dim/2) cos columns.
        let odd = sinusoidal_positions(2, 5, &dev).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(odd[0], vec![0.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(odd[1][2], (1.0f64 / 10000f64.powf(4.0 / 5.0)).sin() as f32);
    }

    #[test]
    fn masks() {
        let dev = Device::Cpu;
        let m = Tensor::new(&[[1u32, 1, 0], [1, 1, 1]], &dev).unwrap();
        let add = padding_mask(&m).unwrap();
        assert_eq!(add.dims(), &[2, 1, 1, 3]);
        assert_eq!(add.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![0.0, 0.0, f32::MIN, 0.0, 0.0, 0.0]);
        let causal = causal_mask(1, 2, &dev).unwrap();
        assert_eq!(causal.dims(), &[1, 1, 2, 3]);
        assert_eq!(causal.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![0.0, 0.0, f32::MIN, 0.0, 0.0, 0.0]);
    }
}
