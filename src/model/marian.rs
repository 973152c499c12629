//! The encoder-decoder, its encoder output and its decoder cache.

use std::sync::Arc;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;

use super::Precision;
use super::cache::DecoderCache;
use super::config::MarianConfig;
use super::layers::{
    DecoderLayer, EncoderLayer, PastKeys, SourceKeys, causal_mask, padding_mask, sinusoidal_positions,
};
use crate::cpu::{KeyValue, Linear, SourceCache};

/// Source tokens per encoder run on the CPU ([`MarianMTModel::encode`]).
const ENCODER_CHUNK_TOKENS: usize = 256;

/// Token embedding times `embed_scale` plus the position rows `offset..offset + len`.
fn embed(tokens: &Linear, scale: f64, positions: &Tensor, ids: &Tensor, offset: usize) -> Result<Tensor> {
    let (_, len) = ids.dims2()?;
    let available = positions.dim(0)?;
    if offset + len > available {
        candle_core::bail!("positions {offset}..{} exceed max_position_embeddings {available}", offset + len);
    }
    let xs = (tokens.lookup(ids)? * scale)?;
    xs.broadcast_add(&positions.narrow(0, offset, len)?)
}

/// What [`MarianMTModel::encode`] returns: the source padding mask and, for every
/// decoder layer, the cross-attention keys and values of the encoder's last
/// hidden states (computed once per source batch), which is all the decoder
/// reads of them.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// Additive mask `(stored, 1, 1, src_len)`.
    mask: Tensor,
    cross: CrossKeyValues,
    /// On the CPU, the stored source of each selected one ([`Self::index_select`]
    /// picks rows without copying them); `None` for all, in order.
    rows: Option<Vec<u32>>,
}

/// Every decoder layer's cross-attention keys and values.
#[derive(Debug, Clone)]
enum CrossKeyValues {
    /// Per layer, `(sources, heads, src_len, head_dim)`.
    Tensors(Vec<KeyValue>),
    /// On the CPU, each source's only up to its last unmasked position.
    Trimmed(Arc<SourceCache>),
}

/// An encoder output with its selected rows copied out and its cross keys and
/// values padded, for the decoder's tensor path.
struct Padded {
    mask: Tensor,
    cross: Vec<KeyValue>,
}

impl EncoderOutput {
    /// Number of sources.
    pub fn batch_size(&self) -> usize {
        self.rows.as_ref().map_or_else(|| self.mask.dims()[0], Vec::len)
    }

    /// The rows `rows` (u32 batch indices, repeats allowed) of everything: to
    /// give each decoder row its own source, or to drop finished sources (see
    /// [`Self::retain`]).
    pub fn index_select(&self, rows: &Tensor) -> Result<EncoderOutput> {
        self.clone().retain(rows)
    }

    /// [`Self::index_select`] in place of `self`. On the CPU the rows are only
    /// recorded, not copied, until they are half the stored sources or fewer:
    /// then the others are freed, and their memory is reused where no other
    /// copy of this output shares it.
    pub fn retain(self, rows: &Tensor) -> Result<EncoderOutput> {
        let batch = self.batch_size();
        let trimmed = match self.cross {
            CrossKeyValues::Trimmed(trimmed) => trimmed,
            CrossKeyValues::Tensors(cross) => {
                return Ok(Self {
                    mask: self.mask.index_select(rows, 0)?,
                    cross: CrossKeyValues::Tensors(
                        cross.iter().map(|kv| kv.index_select(rows)).collect::<Result<_>>()?,
                    ),
                    rows: None,
                });
            }
        };
        let selected: Vec<u32> = rows
            .to_vec1::<u32>()?
            .into_iter()
            .map(|r| match (&self.rows, (r as usize) < batch) {
                (_, false) => candle_core::bail!("source row {r} out of {batch}"),
                (Some(stored), true) => Ok(stored[r as usize]),
                (None, true) => Ok(r),
            })
            .collect::<Result<_>>()?;
        let mut sources = selected.clone();
        sources.sort_unstable();
        sources.dedup();
        if 2 * sources.len() > trimmed.sources() {
            return Ok(Self { mask: self.mask, cross: CrossKeyValues::Trimmed(trimmed), rows: Some(selected) });
        }
        let kept = Tensor::new(sources.as_slice(), self.mask.device())?;
        let rows: Vec<u32> = selected.iter().map(|s| sources.partition_point(|k| k < s) as u32).collect();
        let in_order = rows.iter().enumerate().all(|(i, &r)| r as usize == i) && rows.len() == sources.len();
        let trimmed = SourceCache::keep(trimmed, &sources);
        Ok(Self {
            mask: self.mask.index_select(&kept, 0)?,
            cross: CrossKeyValues::Trimmed(Arc::new(trimmed)),
            rows: (!in_order).then_some(rows),
        })
    }

    /// The selected rows' mask and cross keys and values as tensors, for the
    /// tensor path.
    fn padded(&self) -> Result<Padded> {
        let device = self.mask.device();
        let mask = match &self.rows {
            Some(rows) => self.mask.index_select(&Tensor::new(rows.as_slice(), device)?, 0)?,
            None => self.mask.clone(),
        };
        let cross = match &self.cross {
            CrossKeyValues::Tensors(cross) => cross.clone(),
            CrossKeyValues::Trimmed(trimmed) => (0..trimmed.layers())
                .map(|layer| trimmed.padded(layer, self.rows.as_deref(), device))
                .collect::<Result<_>>()?,
        };
        Ok(Padded { mask, cross })
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

/// Marian encoder: scaled token embeddings + sinusoidal positions, then the layers.
#[derive(Debug, Clone)]
struct Encoder {
    /// Token embedding: the LM head's weight, or a table of its own.
    embed_tokens: Linear,
    layers: Vec<EncoderLayer>,
}

/// Marian decoder layers with their token embedding.
#[derive(Debug, Clone)]
struct Decoder {
    /// Token embedding: the LM head's weight.
    embed_tokens: Linear,
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
    /// The LM head, with `final_logits_bias` as its bias.
    lm_head: Linear,
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
        // Lookups read the LM head's rows, so the embedding is held once; a
        // packed or int8 head has its own copy, so the f32 table goes now rather
        // than after the layers are built.
        let lm_head = Linear::new(decoder_embed, Some(final_logits_bias), precision)?;
        let decoder_embed = lm_head.clone();
        let encoder_embed = if cfg.share_encoder_decoder_embeddings {
            drop(encoder_embed);
            decoder_embed.clone()
        } else {
            Linear::table(encoder_embed, precision)?
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
            device: vb.device().clone(),
        })
    }

    /// The same model with int8 weights in every linear layer, the LM head and the
    /// token embeddings (one table per row scale, as CTranslate2's `int8`); layer
    /// norms, biases and positions stay f32. Runs on the CPU only. The f32
    /// weights are released as each layer is converted.
    pub fn into_int8(self) -> Result<Self> {
        if self.is_int8() {
            return Ok(self);
        }
        let lm_head = self.lm_head.to_int8()?;
        let encoder_embed = if self.cfg.share_encoder_decoder_embeddings {
            lm_head.clone()
        } else {
            self.encoder.embed_tokens.to_int8()?
        };
        let Self { cfg, encoder, decoder, positions, embed_scale, device, .. } = self;
        let encoder = Encoder {
            embed_tokens: encoder_embed,
            layers: encoder.layers.into_iter().map(|layer| layer.to_int8()).collect::<Result<_>>()?,
        };
        let decoder = Decoder {
            embed_tokens: lm_head.clone(),
            layers: decoder.layers.into_iter().map(|layer| layer.to_int8()).collect::<Result<_>>()?,
        };
        Ok(Self { cfg, encoder, decoder, positions, embed_scale, lm_head, device })
    }

    /// Whether the weights are int8 ([`Self::into_int8`]).
    pub fn is_int8(&self) -> bool {
        self.lm_head.is_int8()
    }

    /// Logits `(rows, len, target_vocab)` of decoder hidden states `(rows, len,
    /// d_model)` ([`Self::decode_hidden`]), `final_logits_bias` included. A row's
    /// logits do not depend on the other rows, so a caller may take them a few
    /// rows at a time.
    pub fn logits(&self, xs: &Tensor) -> Result<Tensor> {
        self.lm_head.forward(xs)
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
    /// `(batch, src_len)`, 1 for tokens and 0 for (right) padding. Returns every
    /// decoder layer's cross-attention keys and values of its output.
    pub fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<EncoderOutput> {
        if input_ids.dims() != attention_mask.dims() {
            candle_core::bail!(
                "input_ids {:?} and attention_mask {:?} differ in shape",
                input_ids.dims(),
                attention_mask.dims()
            );
        }
        let mask = padding_mask(attention_mask)?;
        if !self.device.is_cpu() {
            let xs = self.encoder_layers(input_ids, &mask)?;
            let cross = self.decoder.layers.iter().map(|layer| layer.cross_key_value(&xs)).collect::<Result<_>>()?;
            return Ok(EncoderOutput { mask, cross: CrossKeyValues::Tensors(cross), rows: None });
        }
        // On the CPU, a few sources at a time (every row's result is the same
        // as in one batch): the layers' intermediate values then weigh little
        // next to the output. Each source's cross keys and values are kept up
        // to its last unmasked position (all of them when every position is
        // masked, whose attention weighs them equally).
        let (batch, width) = attention_mask.dims2()?;
        let lens: Vec<usize> = attention_mask
            .to_vec2::<u32>()?
            .iter()
            .map(|row| row.iter().rposition(|&m| m != 0).map_or(width, |last| last + 1))
            .collect();
        let per_chunk = (ENCODER_CHUNK_TOKENS / width.max(1)).max(1);
        let values = lens.iter().sum::<usize>() * self.cfg.d_model;
        let mut trimmed = SourceCache::new(self.decoder.layers.len(), values);
        for first in (0..batch).step_by(per_chunk) {
            let n = per_chunk.min(batch - first);
            let xs = self.encoder_layers(&input_ids.narrow(0, first, n)?, &mask.narrow(0, first, n)?)?;
            let cross = self.decoder.layers.iter().map(|layer| layer.cross_key_value(&xs));
            trimmed.append(cross, &lens[first..first + n])?;
        }
        Ok(EncoderOutput { mask, cross: CrossKeyValues::Trimmed(Arc::new(trimmed)), rows: None })
    }

    /// The encoder's last hidden states of `input_ids` with the additive padding mask `mask`.
    fn encoder_layers(&self, input_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let mut xs = embed(&self.encoder.embed_tokens, self.embed_scale, &self.positions, input_ids, 0)?;
        for layer in &self.encoder.layers {
            xs = layer.forward(&xs, mask)?;
        }
        Ok(xs)
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
        self.logits(&self.decode_hidden(decoder_input_ids, enc, cache)?)
    }

    /// [`Self::decode`] without the LM head: the decoder's last hidden states
    /// `(rows, new_len, d_model)`, for [`Self::logits`].
    pub fn decode_hidden(
        &self,
        decoder_input_ids: &Tensor,
        enc: &EncoderOutput,
        cache: &mut DecoderCache,
    ) -> Result<Tensor> {
        Ok(self.run_decoder(decoder_input_ids, enc, cache, None)?.0)
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
        let (xs, probs) = self.run_decoder(decoder_input_ids, enc, cache, Some((head, Through::AllLayers)))?;
        let probs = probs.ok_or_else(|| missing_cross(head, enc))?;
        Ok((self.logits(&xs)?, probs))
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
        let mut cache = DecoderCache::new(self.decoder.layers.len());
        let (_, probs) = self.run_decoder(decoder_input_ids, enc, &mut cache, Some((head, Through::HeadLayer)))?;
        probs.ok_or_else(|| missing_cross(head, enc))
    }

    /// Runs the decoder layers on `decoder_input_ids` (see [`Self::decode`]),
    /// appending to `cache`: the last hidden states and, for `head`, its
    /// cross-attention probabilities (`None` when `enc` has fewer layers than
    /// `head.layer`). One new position per row without a head reads the CPU's
    /// step cache and trimmed sources where they lie; everything else runs on
    /// tensors.
    fn run_decoder(
        &self,
        decoder_input_ids: &Tensor,
        enc: &EncoderOutput,
        cache: &mut DecoderCache,
        head: Option<(AttentionHead, Through)>,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let (mut xs, causal, keep) = self.begin(decoder_input_ids, enc, cache)?;
        let new_len = decoder_input_ids.dim(1)?;
        let mut probs = None;
        if let (1, None, Some(steps)) = (new_len, head, cache.steps()) {
            let CrossKeyValues::Trimmed(trimmed) = &enc.cross else {
                candle_core::bail!("an encoder output on another device than the decoder cache")
            };
            let group = xs.dim(0)? / enc.batch_size();
            let mask = enc.mask.flatten_all()?.to_vec1::<f32>()?;
            let stored = enc.rows.as_deref();
            for (layer, decoder_layer) in self.decoder.layers.iter().enumerate() {
                let past = PastKeys::Steps { steps, layer };
                let source = SourceKeys::Trimmed(trimmed.view(layer, &mask, stored, group));
                (xs, _) = decoder_layer.forward(&xs, past, source, None)?;
            }
        } else {
            let enc = enc.padded()?;
            for (i, (layer, cross)) in self.decoder.layers.iter().zip(&enc.cross).enumerate() {
                let here = head.filter(|(head, _)| head.layer == i);
                let out = cache.with_tensors(i, keep.as_deref(), &self.device, |cache| {
                    let past = PastKeys::Tensors { cache, causal: causal.as_ref() };
                    let source = SourceKeys::Tensors { kv: cross, mask: &enc.mask };
                    layer.forward(&xs, past, source, here.map(|(head, _)| head.head))
                })?;
                (xs, probs) = (out.0, out.1.or(probs));
                if let Some((_, Through::HeadLayer)) = here {
                    return Ok((xs, probs));
                }
            }
        }
        cache.finish(new_len);
        Ok((xs, probs))
    }
}

/// How far [`MarianMTModel::run_decoder`] runs when it returns a head's
/// probabilities.
#[derive(Debug, Clone, Copy)]
enum Through {
    /// Every layer: the hidden states are wanted too.
    AllLayers,
    /// Up to the head's layer: only its probabilities are wanted.
    HeadLayer,
}

/// The error when `head.layer` was never reached: `enc` (from another model) has
/// fewer cross-attention layers.
fn missing_cross(head: AttentionHead, enc: &EncoderOutput) -> candle_core::Error {
    let layers = match &enc.cross {
        CrossKeyValues::Tensors(cross) => cross.len(),
        CrossKeyValues::Trimmed(trimmed) => trimmed.layers(),
    };
    candle_core::Error::Msg(format!(
        "decoder layer {} was not run: the encoder output has {layers} cross-attention layers",
        head.layer
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
