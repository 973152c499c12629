//! The encoder-decoder, its encoder output and its decoder cache.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, Linear, VarBuilder};

use super::config::MarianConfig;
use super::layers::{DecoderLayer, EncoderLayer, KeyValue, causal_mask, padding_mask, sinusoidal_positions};

/// Token embedding times `embed_scale` plus the position rows `offset..offset + len`.
fn embed(tokens: &Embedding, scale: f64, positions: &Tensor, ids: &Tensor, offset: usize) -> Result<Tensor> {
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
    /// Additive mask `(batch, 1, 1, src_len)`.
    mask: Tensor,
    cross: Vec<KeyValue>,
}

impl EncoderOutput {
    /// Encoder output `(batch, src_len, d_model)`.
    pub fn hidden_states(&self) -> &Tensor {
        &self.hidden_states
    }

    /// Number of sources.
    pub fn batch_size(&self) -> usize {
        self.hidden_states.dims()[0]
    }

    /// The rows `rows` (u32 batch indices, repeats allowed) of everything: to expand
    /// each source to its beams, or to drop finished sources.
    pub fn index_select(&self, rows: &Tensor) -> Result<EncoderOutput> {
        Ok(Self {
            hidden_states: self.hidden_states.index_select(rows, 0)?,
            mask: self.mask.index_select(rows, 0)?,
            cross: self.cross.iter().map(|kv| kv.index_select(rows)).collect::<Result<_>>()?,
        })
    }
}

/// Decoder self-attention keys and values of the positions decoded so far, one
/// entry per decoder layer. Discard it if a [`MarianMTModel::decode`] call fails.
#[derive(Debug, Clone)]
pub struct DecoderCache {
    layers: Vec<Option<KeyValue>>,
    len: usize,
}

impl DecoderCache {
    /// An empty cache for a decoder of `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        Self { layers: vec![None; num_layers], len: 0 }
    }

    /// Number of positions decoded so far (the position of the next input).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been decoded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the batch rows `rows` (u32 indices, repeats allowed), in that order:
    /// beam reordering or dropping finished rows.
    pub fn reorder(&mut self, rows: &Tensor) -> Result<()> {
        for layer in self.layers.iter_mut().flatten() {
            *layer = layer.index_select(rows)?;
        }
        Ok(())
    }
}

/// Marian encoder: scaled token embeddings + sinusoidal positions, then the layers.
#[derive(Debug, Clone)]
struct Encoder {
    embed_tokens: Embedding,
    layers: Vec<EncoderLayer>,
}

/// Marian decoder layers with their token embedding.
#[derive(Debug, Clone)]
struct Decoder {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
}

/// `MarianMTModel`: encoder, decoder and the LM head tied to the decoder's token
/// embedding (`model.shared`), plus `final_logits_bias`. Computes in f32.
#[derive(Debug, Clone)]
pub struct MarianMTModel {
    cfg: MarianConfig,
    encoder: Encoder,
    decoder: Decoder,
    /// `(max_position_embeddings, d_model)`, shared by encoder and decoder.
    positions: Tensor,
    embed_scale: f64,
    lm_head: Linear,
    /// `(1, target_vocab)`.
    final_logits_bias: Tensor,
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
        let encoder_layers = model.pp("encoder.layers");
        let encoder = Encoder {
            embed_tokens: Embedding::new(encoder_embed, dim),
            layers: (0..cfg.encoder_layers)
                .map(|i| EncoderLayer::new(cfg, encoder_layers.pp(i)))
                .collect::<Result<_>>()?,
        };
        let decoder_layers = model.pp("decoder.layers");
        let decoder = Decoder {
            embed_tokens: Embedding::new(decoder_embed.clone(), dim),
            layers: (0..cfg.decoder_layers)
                .map(|i| DecoderLayer::new(cfg, decoder_layers.pp(i)))
                .collect::<Result<_>>()?,
        };
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, target_vocab), "final_logits_bias")?
        } else {
            Tensor::zeros((1, target_vocab), DType::F32, vb.device())?
        };
        Ok(Self {
            cfg: cfg.clone(),
            encoder,
            decoder,
            positions: sinusoidal_positions(cfg.max_position_embeddings, dim, vb.device())?,
            embed_scale: if cfg.scale_embedding { (dim as f64).sqrt() } else { 1.0 },
            lm_head: Linear::new(decoder_embed, None),
            final_logits_bias,
            device: vb.device().clone(),
        })
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
        Ok(EncoderOutput { hidden_states: xs, mask, cross })
    }

    /// Runs the decoder on `decoder_input_ids` (u32 `(batch, new_len)`, at positions
    /// `cache.len()..`) against `enc`, appending to `cache`. With `new_len > 1` the
    /// new positions attend causally (teacher forcing). Returns f32 logits
    /// `(batch, new_len, target_vocab)` including `final_logits_bias`.
    pub fn decode(&self, decoder_input_ids: &Tensor, enc: &EncoderOutput, cache: &mut DecoderCache) -> Result<Tensor> {
        if cache.layers.len() != self.decoder.layers.len() {
            candle_core::bail!(
                "decoder cache has {} layers, the model {}",
                cache.layers.len(),
                self.decoder.layers.len()
            );
        }
        let (_, new_len) = decoder_input_ids.dims2()?;
        let past = cache.len;
        let mut xs = embed(&self.decoder.embed_tokens, self.embed_scale, &self.positions, decoder_input_ids, past)?;
        let causal = if new_len > 1 { Some(causal_mask(past, new_len, &self.device)?) } else { None };
        for ((layer, layer_cache), cross) in self.decoder.layers.iter().zip(cache.layers.iter_mut()).zip(&enc.cross) {
            xs = layer.forward(&xs, causal.as_ref(), layer_cache, cross, &enc.mask)?;
        }
        cache.len = past + new_len;
        self.lm_head.forward(&xs)?.broadcast_add(&self.final_logits_bias)
    }
}
