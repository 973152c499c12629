//! The encoder-decoder, its encoder output and its decoder cache.

use std::sync::Arc;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, Linear, VarBuilder};

use super::Precision;
use super::attend::KeyValues;
use super::cache::DecoderCache;
use super::config::MarianConfig;
use super::int8::Int8Linear;
use super::layers::{
    DecoderLayer, EncoderLayer, KeyValue, Proj, causal_mask, pack, packed_to_int8, padding_mask, quantize,
    sinusoidal_positions,
};
use super::packed::{self, PackedLinear};
use super::with_f32;

/// A token embedding table in f32, or the rows of an int8 matrix (the LM head's,
/// when the embedding is tied to it).
#[derive(Debug, Clone)]
enum Embed {
    F32(Embedding),
    Packed(Arc<PackedLinear>),
    Int8(Arc<Int8Linear>),
}

impl Embed {
    /// Lookups of the rows of the LM head `head` (`dim` values each).
    fn rows_of(head: &Proj, dim: usize) -> Self {
        match head {
            Proj::F32(linear) => Self::F32(Embedding::new(linear.weight().clone(), dim)),
            Proj::Packed(table) => Self::Packed(table.clone()),
            Proj::Int8(table) => Self::Int8(table.clone()),
        }
    }

    /// Embeddings of the u32 `ids` `(batch, len)`: `(batch, len, dim)`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Self::F32(embedding) => embedding.forward(ids),
            Self::Packed(table) => lookup(ids, table.rows(), table.cols(), |id, out| table.weight_row(id, out)),
            Self::Int8(table) => {
                let table = table.weight();
                lookup(ids, table.rows(), table.cols(), |id, out| table.dequantize_row(id, out))
            }
        }
    }
}

/// The rows `ids` (u32 `(batch, len)`) of a table of `rows` rows of `cols`
/// values, each appended by `row`: `(batch, len, cols)`.
fn lookup(ids: &Tensor, rows: usize, cols: usize, row: impl Fn(usize, &mut Vec<f32>)) -> Result<Tensor> {
    let (batch, len) = ids.dims2()?;
    let mut values = Vec::with_capacity(batch * len * cols);
    for id in ids.flatten_all()?.to_vec1::<u32>()? {
        if id as usize >= rows {
            candle_core::bail!("token id {id} is outside the embedding of {rows} rows");
        }
        row(id as usize, &mut values);
    }
    Tensor::from_vec(values, (batch, len, cols), ids.device())
}

/// Token embedding times `embed_scale` plus the position rows `offset..offset + len`.
fn embed(tokens: &Embed, scale: f64, positions: &Tensor, ids: &Tensor, offset: usize) -> Result<Tensor> {
    let (_, len) = ids.dims2()?;
    let available = positions.dim(0)?;
    if offset + len > available {
        candle_core::bail!("positions {offset}..{} exceed max_position_embeddings {available}", offset + len);
    }
    let xs = (tokens.forward(ids)? * scale)?;
    xs.broadcast_add(&positions.narrow(0, offset, len)?)
}

/// What [`MarianMTModel::encode`] returns: the encoder's last hidden states, the
/// source padding mask and, for every decoder layer, the cross-attention keys and
/// values of those states (computed once per source batch).
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    hidden_states: Tensor,
    /// Additive mask `(stored, 1, 1, src_len)`.
    mask: Tensor,
    cross: Vec<KeyValue>,
    /// On the CPU, the stored source of each selected one ([`Self::index_select`]
    /// picks rows without copying them); `None` for all, in order.
    rows: Option<Vec<u32>>,
}

impl EncoderOutput {
    /// Encoder output `(batch, src_len, d_model)`.
    pub fn hidden_states(&self) -> Result<Tensor> {
        Ok(self.materialized()?.hidden_states)
    }

    /// Number of sources.
    pub fn batch_size(&self) -> usize {
        self.rows.as_ref().map_or_else(|| self.hidden_states.dims()[0], Vec::len)
    }

    /// The rows `rows` (u32 batch indices, repeats allowed) of everything: to
    /// drop finished sources, or to give each decoder row its own source. On
    /// the CPU the rows are only recorded, not copied.
    pub fn index_select(&self, rows: &Tensor) -> Result<EncoderOutput> {
        if !self.hidden_states.device().is_cpu() {
            return Ok(Self {
                hidden_states: self.hidden_states.index_select(rows, 0)?,
                mask: self.mask.index_select(rows, 0)?,
                cross: self.cross.iter().map(|kv| kv.index_select(rows)).collect::<Result<_>>()?,
                rows: None,
            });
        }
        let batch = self.batch_size();
        let selected = rows
            .to_vec1::<u32>()?
            .into_iter()
            .map(|r| match (&self.rows, (r as usize) < batch) {
                (_, false) => candle_core::bail!("source row {r} out of {batch}"),
                (Some(stored), true) => Ok(stored[r as usize]),
                (None, true) => Ok(r),
            })
            .collect::<Result<_>>()?;
        Ok(Self { rows: Some(selected), ..self.clone() })
    }

    /// The same output with the selected rows copied out, for the tensor path.
    fn materialized(&self) -> Result<Self> {
        let Some(rows) = &self.rows else { return Ok(self.clone()) };
        let rows = Tensor::new(rows.as_slice(), self.hidden_states.device())?;
        Ok(Self {
            hidden_states: self.hidden_states.index_select(&rows, 0)?,
            mask: self.mask.index_select(&rows, 0)?,
            cross: self.cross.iter().map(|kv| kv.index_select(&rows)).collect::<Result<_>>()?,
            rows: None,
        })
    }

    /// Fails unless `rows` decoder rows can attend to these sources: a multiple
    /// of them, the rows of one source side by side (its beams).
    fn check_rows(&self, rows: usize) -> Result<()> {
        let sources = self.batch_size();
        if rows == 0 || sources == 0 || !rows.is_multiple_of(sources) {
            candle_core::bail!("{rows} decoder rows cannot attend to {sources} sources");
        }
        Ok(())
    }
}

/// One decoder layer's cross-attention keys and values `(sources, heads,
/// src_len, head_dim)` and the sources' additive mask, read by decoder rows in
/// groups of `group` per source.
struct SourceView<'a> {
    key: &'a [f32],
    value: &'a [f32],
    mask: &'a [f32],
    /// The stored source of each selected one, if not all in order.
    stored: Option<&'a [u32]>,
    group: usize,
    heads: usize,
    len: usize,
    head_dim: usize,
}

impl SourceView<'_> {
    /// The stored source that decoder row `row` reads.
    #[inline(always)]
    fn source(&self, row: usize) -> usize {
        let source = row / self.group;
        self.stored.map_or(source, |stored| stored[source] as usize)
    }

    #[inline(always)]
    fn at<'b>(&self, values: &'b [f32], row: usize, head: usize, t: usize) -> &'b [f32] {
        &values[((self.source(row) * self.heads + head) * self.len + t) * self.head_dim..][..self.head_dim]
    }
}

impl KeyValues for SourceView<'_> {
    fn len(&self) -> usize {
        self.len
    }
    #[inline(always)]
    fn key(&self, row: usize, head: usize, t: usize) -> &[f32] {
        self.at(self.key, row, head, t)
    }
    #[inline(always)]
    fn value(&self, row: usize, head: usize, t: usize) -> &[f32] {
        self.at(self.value, row, head, t)
    }
    fn mask(&self, row: usize) -> Option<&[f32]> {
        Some(&self.mask[self.source(row) * self.len..][..self.len])
    }
}

/// Marian encoder: scaled token embeddings + sinusoidal positions, then the layers.
#[derive(Debug, Clone)]
struct Encoder {
    embed_tokens: Embed,
    layers: Vec<EncoderLayer>,
}

/// Marian decoder layers with their token embedding.
#[derive(Debug, Clone)]
struct Decoder {
    embed_tokens: Embed,
    layers: Vec<DecoderLayer>,
}

/// `MarianMTModel`: encoder, decoder and the LM head tied to the decoder's token
/// embedding (`model.shared`), plus `final_logits_bias`. Computes in f32, with
/// f32 weights or, after [`MarianMTModel::into_int8`], int8 ones.
#[derive(Debug, Clone)]
pub struct MarianMTModel {
    cfg: MarianConfig,
    encoder: Encoder,
    decoder: Decoder,
    /// `(max_position_embeddings, d_model)`, shared by encoder and decoder.
    positions: Tensor,
    embed_scale: f64,
    /// The LM head; with int8 weights it adds `final_logits_bias` itself.
    lm_head: Proj,
    /// `(1, target_vocab)`, added to the f32 LM head's output.
    final_logits_bias: Option<Tensor>,
    device: Device,
}

impl MarianMTModel {
    /// Builds the model from tensors named as in a `transformers` checkpoint
    /// (`model.shared.weight`, `model.encoder.layers.0.self_attn.q_proj.weight`,
    /// ..., `final_logits_bias`), all read as f32 on `vb`'s device. With
    /// `share_encoder_decoder_embeddings` false, the embeddings are
    /// `model.encoder.embed_tokens.weight` and `model.decoder.embed_tokens.weight`.
    /// A missing `final_logits_bias` is zeros, as in `transformers`.
    pub fn new(cfg: &MarianConfig, vb: VarBuilder) -> Result<Self> {
        Self::with_precision(cfg, vb, Precision::F32)
    }

    /// [`Self::new`] with weights held in `precision`: with int8, each weight is
    /// quantized as it is read (the same model as [`Self::into_int8`] of the f32
    /// one, without ever holding every f32 weight).
    pub fn with_precision(cfg: &MarianConfig, vb: VarBuilder, precision: Precision) -> Result<Self> {
        cfg.validate().map_err(candle_core::Error::Msg)?;
        let vb = vb.set_dtype(DType::F32);
        let dim = cfg.d_model;
        let target_vocab = cfg.target_vocab_size();
        let model = vb.pp("model");
        let (encoder_embed, decoder_embed) = if cfg.share_encoder_decoder_embeddings {
            let shared = model.get((cfg.vocab_size, dim), "shared.weight")?;
            (shared.clone(), shared)
        } else {
            (
                model.get((cfg.vocab_size, dim), "encoder.embed_tokens.weight")?,
                model.get((target_vocab, dim), "decoder.embed_tokens.weight")?,
            )
        };
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, target_vocab), "final_logits_bias")?
        } else {
            Tensor::zeros((1, target_vocab), DType::F32, vb.device())?
        };
        let int8 = precision == Precision::Int8;
        let (lm_head, final_logits_bias) = if int8 {
            (Proj::Int8(Arc::new(quantize(&decoder_embed, Some(&final_logits_bias))?)), None)
        } else if vb.device().is_cpu() && packed::available() {
            (Proj::Packed(Arc::new(pack(&decoder_embed, Some(&final_logits_bias))?)), None)
        } else {
            (Proj::F32(Linear::new(decoder_embed.clone(), None)), Some(final_logits_bias))
        };
        // Lookups read the LM head's rows, so the embedding is held once; a
        // packed or int8 head has its own copy, so the f32 table goes now rather
        // than after the layers are built.
        drop(decoder_embed);
        let decoder_embed = Embed::rows_of(&lm_head, dim);
        let encoder_embed = if cfg.share_encoder_decoder_embeddings {
            drop(encoder_embed);
            decoder_embed.clone()
        } else if int8 {
            Embed::Int8(Arc::new(quantize(&encoder_embed, None)?))
        } else {
            Embed::F32(Embedding::new(encoder_embed, dim))
        };
        let encoder_layers = model.pp("encoder.layers");
        let encoder = Encoder {
            embed_tokens: encoder_embed,
            layers: (0..cfg.encoder_layers)
                .map(|i| EncoderLayer::new(cfg, encoder_layers.pp(i), precision))
                .collect::<Result<_>>()?,
        };
        let decoder_layers = model.pp("decoder.layers");
        let decoder = Decoder {
            embed_tokens: decoder_embed,
            layers: (0..cfg.decoder_layers)
                .map(|i| DecoderLayer::new(cfg, decoder_layers.pp(i), precision))
                .collect::<Result<_>>()?,
        };
        Ok(Self {
            cfg: cfg.clone(),
            encoder,
            decoder,
            positions: sinusoidal_positions(cfg.max_position_embeddings, dim, vb.device())?,
            embed_scale: if cfg.scale_embedding { (dim as f64).sqrt() } else { 1.0 },
            lm_head,
            final_logits_bias,
            device: vb.device().clone(),
        })
    }

    /// The same model with int8 weights in every linear layer, the LM head and the
    /// token embeddings (one table per row scale, as CTranslate2's `int8`); layer
    /// norms, biases and positions stay f32. Runs on the CPU only. The f32
    /// weights are released as each layer is converted.
    pub fn into_int8(self) -> Result<Self> {
        let lm_head = Arc::new(match (&self.lm_head, &self.final_logits_bias) {
            (Proj::F32(head), bias) => quantize(head.weight(), bias.as_ref())?,
            (Proj::Packed(head), _) => packed_to_int8(head),
            (Proj::Int8(_), _) => return Ok(self),
        });
        let encoder_embed = match &self.encoder.embed_tokens {
            _ if self.cfg.share_encoder_decoder_embeddings => Embed::Int8(lm_head.clone()),
            Embed::F32(table) => Embed::Int8(Arc::new(quantize(table.embeddings(), None)?)),
            Embed::Packed(table) => Embed::Int8(Arc::new(packed_to_int8(table))),
            int8 @ Embed::Int8(_) => int8.clone(),
        };
        let Self { cfg, encoder, decoder, positions, embed_scale, device, .. } = self;
        let encoder = Encoder {
            embed_tokens: encoder_embed,
            layers: encoder.layers.into_iter().map(|layer| layer.to_int8()).collect::<Result<_>>()?,
        };
        let decoder = Decoder {
            embed_tokens: Embed::Int8(lm_head.clone()),
            layers: decoder.layers.into_iter().map(|layer| layer.to_int8()).collect::<Result<_>>()?,
        };
        Ok(Self {
            cfg,
            encoder,
            decoder,
            positions,
            embed_scale,
            lm_head: Proj::Int8(lm_head),
            final_logits_bias: None,
            device,
        })
    }

    /// Whether the weights are int8 ([`Self::into_int8`]).
    pub fn is_int8(&self) -> bool {
        matches!(self.lm_head, Proj::Int8(_))
    }

    /// Logits `(batch, len, target_vocab)` of the decoder's last hidden states.
    fn logits(&self, xs: &Tensor) -> Result<Tensor> {
        let logits = self.lm_head.forward(xs)?;
        match &self.final_logits_bias {
            Some(bias) => logits.broadcast_add(bias),
            None => Ok(logits),
        }
    }

    /// The config the model was built from.
    pub fn config(&self) -> &MarianConfig {
        &self.cfg
    }

    /// Device holding the weights; inputs must live there too.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs the encoder. `input_ids`: u32 `(batch, src_len)`; `attention_mask`: u32
    /// `(batch, src_len)`, 1 for tokens and 0 for (right) padding. Also computes every
    /// decoder layer's cross-attention keys and values.
    pub fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<EncoderOutput> {
        if input_ids.dims() != attention_mask.dims() {
            candle_core::bail!(
                "input_ids {:?} and attention_mask {:?} differ in shape",
                input_ids.dims(),
                attention_mask.dims()
            );
        }
        let mask = padding_mask(attention_mask)?;
        let mut xs = embed(&self.encoder.embed_tokens, self.embed_scale, &self.positions, input_ids, 0)?;
        for layer in &self.encoder.layers {
            xs = layer.forward(&xs, &mask)?;
        }
        let cross = self.decoder.layers.iter().map(|layer| layer.cross_key_value(&xs)).collect::<Result<_>>()?;
        Ok(EncoderOutput { hidden_states: xs, mask, cross, rows: None })
    }

    /// The head OPUS-MT models with guided alignment train on word alignments (and
    /// Marian's `--alignment` and CTranslate2's `return_attention` read): head 0 of
    /// the last decoder layer.
    pub fn alignment_head(&self) -> AttentionHead {
        AttentionHead { layer: self.decoder.layers.len().saturating_sub(1), head: 0 }
    }

    /// Fails unless the model has `head`.
    fn check_head(&self, head: AttentionHead) -> Result<()> {
        let (layers, heads) = (self.decoder.layers.len(), self.cfg.decoder_attention_heads);
        if head.layer >= layers || head.head >= heads {
            candle_core::bail!(
                "no cross-attention head {} in layer {}: the decoder has {layers} layers of {heads} heads",
                head.head,
                head.layer
            );
        }
        Ok(())
    }

    /// Embedded decoder input at positions `cache.len()..` and, for more than one
    /// new position, the causal mask.
    fn decoder_input(&self, decoder_input_ids: &Tensor, cache: &DecoderCache) -> Result<(Tensor, Option<Tensor>)> {
        if cache.num_layers() != self.decoder.layers.len() {
            candle_core::bail!(
                "decoder cache has {} layers, the model {}",
                cache.num_layers(),
                self.decoder.layers.len()
            );
        }
        let (_, new_len) = decoder_input_ids.dims2()?;
        let past = cache.len();
        let xs = embed(&self.decoder.embed_tokens, self.embed_scale, &self.positions, decoder_input_ids, past)?;
        let causal = if new_len > 1 { Some(causal_mask(past, new_len, &self.device)?) } else { None };
        Ok((xs, causal))
    }

    /// Heads and head size of the decoder's attention.
    fn head_shape(&self) -> (usize, usize) {
        let heads = self.cfg.decoder_attention_heads;
        (heads, self.cfg.d_model / heads)
    }

    /// Starts appending `decoder_input_ids` to `cache`: the embedded input, the
    /// causal mask and the cache rows to keep (see [`DecoderCache::begin`]).
    fn begin(
        &self,
        decoder_input_ids: &Tensor,
        enc: &EncoderOutput,
        cache: &mut DecoderCache,
    ) -> Result<(Tensor, Option<Tensor>, Option<Vec<u32>>)> {
        let (xs, causal) = self.decoder_input(decoder_input_ids, cache)?;
        let (rows, new_len) = decoder_input_ids.dims2()?;
        enc.check_rows(rows)?;
        let keep = cache.begin(rows, new_len, self.head_shape(), &self.device)?;
        Ok((xs, causal, keep))
    }

    /// Runs the decoder on `decoder_input_ids` (u32 `(rows, new_len)`, at
    /// positions `cache.len()..`) against `enc`, appending to `cache`. `rows` is
    /// the number of sources in `enc` or a multiple of it: then the rows of one
    /// source lie side by side (its beams) and share its encoder output. With
    /// `new_len > 1` the new positions attend causally (teacher forcing).
    /// Returns f32 logits `(rows, new_len, target_vocab)` including
    /// `final_logits_bias`.
    pub fn decode(&self, decoder_input_ids: &Tensor, enc: &EncoderOutput, cache: &mut DecoderCache) -> Result<Tensor> {
        let (mut xs, causal, keep) = self.begin(decoder_input_ids, enc, cache)?;
        let new_len = decoder_input_ids.dim(1)?;
        if let (1, Some(steps)) = (new_len, cache.steps()) {
            let (rows, sources) = (xs.dim(0)?, enc.batch_size());
            let (heads, head_dim) = self.head_shape();
            let mask = enc.mask.flatten_all()?.to_vec1::<f32>()?;
            let len = enc.mask.dim(3)?;
            let stored = enc.rows.as_deref();
            for (i, (layer, cross)) in self.decoder.layers.iter().zip(&enc.cross).enumerate() {
                xs = with_f32(&cross.key, |key| {
                    with_f32(&cross.value, |value| {
                        let view =
                            SourceView { key, value, mask: &mask, stored, group: rows / sources, heads, len, head_dim };
                        layer.forward_step(&xs, steps, i, &view)
                    })
                })?;
            }
        } else {
            let enc = enc.materialized()?;
            for (i, (layer, cross)) in self.decoder.layers.iter().zip(&enc.cross).enumerate() {
                xs = cache.with_tensors(i, keep.as_deref(), &self.device, |layer_cache| {
                    layer.forward(&xs, causal.as_ref(), layer_cache, cross, &enc.mask)
                })?;
            }
        }
        cache.finish(new_len);
        self.logits(&xs)
    }

    /// [`Self::decode`], also returning the cross-attention probabilities of `head`
    /// (what `transformers` returns in `cross_attentions[layer][:, head]` with
    /// `output_attentions=True`): f32 `(rows, new_len, src_len)`, each row a
    /// distribution over the source positions, zero at padding.
    pub fn decode_with_attention(
        &self,
        decoder_input_ids: &Tensor,
        enc: &EncoderOutput,
        cache: &mut DecoderCache,
        head: AttentionHead,
    ) -> Result<(Tensor, Tensor)> {
        self.check_head(head)?;
        let enc = &enc.materialized()?;
        let (mut xs, causal, keep) = self.begin(decoder_input_ids, enc, cache)?;
        let mut probs = None;
        for (i, (layer, cross)) in self.decoder.layers.iter().zip(&enc.cross).enumerate() {
            xs = cache.with_tensors(i, keep.as_deref(), &self.device, |layer_cache| {
                if i != head.layer {
                    return layer.forward(&xs, causal.as_ref(), layer_cache, cross, &enc.mask);
                }
                let (out, p) =
                    layer.forward_with_head(&xs, causal.as_ref(), layer_cache, cross, &enc.mask, head.head)?;
                probs = Some(p);
                Ok(out)
            })?;
        }
        let Some(probs) = probs else { return Err(missing_cross(head, enc)) };
        cache.finish(decoder_input_ids.dim(1)?);
        let logits = self.logits(&xs)?;
        Ok((logits, probs))
    }

    /// The cross-attention probabilities of `head` alone for a whole decoder input
    /// (teacher forcing from position 0): the same values as
    /// [`Self::decode_with_attention`] on an empty cache, `(rows, len, src_len)`,
    /// computed without the layers after `head.layer` and without the LM head.
    pub fn forced_attention(
        &self,
        decoder_input_ids: &Tensor,
        enc: &EncoderOutput,
        head: AttentionHead,
    ) -> Result<Tensor> {
        self.check_head(head)?;
        let enc = &enc.materialized()?;
        let mut cache = DecoderCache::new(self.decoder.layers.len());
        let (mut xs, causal, _) = self.begin(decoder_input_ids, enc, &mut cache)?;
        for (i, (layer, cross)) in self.decoder.layers.iter().zip(&enc.cross).enumerate() {
            if i == head.layer {
                return cache.with_tensors(i, None, &self.device, |layer_cache| {
                    layer.cross_attention_probs(&xs, causal.as_ref(), layer_cache, cross, &enc.mask, head.head)
                });
            }
            xs = cache.with_tensors(i, None, &self.device, |layer_cache| {
                layer.forward(&xs, causal.as_ref(), layer_cache, cross, &enc.mask)
            })?;
        }
        Err(missing_cross(head, enc))
    }
}

/// The error when `head.layer` was never reached: `enc` (from another model) has
/// fewer cross-attention layers.
fn missing_cross(head: AttentionHead, enc: &EncoderOutput) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "decoder layer {} was not run: the encoder output has {} cross-attention layers",
        head.layer,
        enc.cross.len()
    ))
}

/// One cross-attention head of the decoder: layer and head index, both 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionHead {
    /// Decoder layer.
    pub layer: usize,
    /// Head within the layer.
    pub head: usize,
}
