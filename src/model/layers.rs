//! Marian building blocks, named after the checkpoint's tensors.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{LayerNorm, VarBuilder};

use super::Precision;
use super::config::{Activation, MarianConfig};
use crate::cpu::{KeyValue, KeyValues, Linear, SourceView, StepCache, attend, with_f32};

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
    fn query(&self, xs: &Tensor) -> Result<Tensor> {
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
    /// `(rows, q_len, embed_dim)`, and for `head`, that head's probabilities
    /// `(rows, q_len, k_len)`. `rows` is a multiple of `sources`: row `r`
    /// attends to source `r / (rows / sources)` (the beams of one source).
    fn attend(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        mask: Option<&Tensor>,
        head: Option<usize>,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let rows = query.dim(0)?;
        let probs = self.probs(&group(query, key.dim(0)?)?, key, mask)?;
        let head_probs = head.map(|head| ungroup(&probs.narrow(1, head, 1)?, rows)?.squeeze(1)).transpose()?;
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
    fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (key, value) = self.key_value(xs)?;
        Ok(self.attend(&self.query(xs)?, &key, &value, mask, None)?.0)
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

/// One decoder layer's self-attention cache as tensors and the batch rows to
/// keep from it (all, in order, for `None`).
pub(super) struct LayerCache<'a> {
    pub(super) kv: &'a mut Option<KeyValue>,
    pub(super) keep: Option<&'a [u32]>,
}

/// What a decoder layer's self-attention reads and extends.
pub(super) enum PastKeys<'a> {
    /// The layer's cache as tensors, and the additive causal mask for more
    /// than one new position.
    Tensors { cache: LayerCache<'a>, causal: Option<&'a Tensor> },
    /// One new position per row on the CPU: layer `layer` of the step cache,
    /// read through the rows' ancestries.
    Steps { steps: &'a mut StepCache, layer: usize },
}

/// What a decoder layer's cross-attention reads.
pub(super) enum SourceKeys<'a> {
    /// The layer's keys and values `(sources, heads, src_len, head_dim)` and
    /// the sources' additive padding mask.
    Tensors { kv: &'a KeyValue, mask: &'a Tensor },
    /// One new position per row on the CPU: the trimmed sources.
    Trimmed(SourceView<'a>),
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

    /// `xs`: `(rows, new_len, d_model)` at positions after those in `past`,
    /// which is extended with the new keys and values, attending to `source`.
    /// Returns the layer's output and, for `head`, the cross-attention
    /// probabilities of that head: `(rows, new_len, src_len)`.
    pub(super) fn forward(
        &self,
        xs: &Tensor,
        past: PastKeys,
        source: SourceKeys,
        head: Option<usize>,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let xs = self.self_attention(xs, past)?;
        let attn = &self.encoder_attn;
        let (out, probs) = match source {
            SourceKeys::Tensors { kv, mask } => attn.attend(&attn.query(&xs)?, &kv.key, &kv.value, Some(mask), head)?,
            SourceKeys::Trimmed(_) if head.is_some() => {
                candle_core::bail!("attention probabilities are read from padded sources only")
            }
            SourceKeys::Trimmed(view) => (attn.attend_rows(&attn.q_proj.forward(&xs)?, &view)?, None),
        };
        Ok((self.feed_forward(&xs, &out)?, probs))
    }

    /// The self-attention block: `self_attn` over the past keys and values
    /// and `xs`, residual, layer norm.
    fn self_attention(&self, xs: &Tensor, past: PastKeys) -> Result<Tensor> {
        let attn = &self.self_attn;
        let out = match past {
            PastKeys::Tensors { cache, causal } => {
                let query = attn.query(xs)?;
                let (key, value) = attn.key_value(xs)?;
                let new = KeyValue { key, value };
                let kv = match cache.kv.take() {
                    Some(past) => past.gather_append(cache.keep, &new)?,
                    None => new,
                };
                let (out, _) = attn.attend(&query, &kv.key, &kv.value, causal, None)?;
                *cache.kv = Some(kv);
                out
            }
            PastKeys::Steps { steps, layer } => {
                let rows_of = |t: Tensor| t.flatten_all()?.to_vec1::<f32>();
                steps.append(layer, rows_of(attn.k_proj.forward(xs)?)?, rows_of(attn.v_proj.forward(xs)?)?);
                attn.attend_rows(&attn.q_proj.forward(xs)?, &steps.view(layer))?
            }
        };
        self.self_attn_layer_norm.forward(&(xs + out)?)
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
