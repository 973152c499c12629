//! Marian models with formula-generated weights, bit-identical to
//! `exact_shape_state_dict()` in `scripts/gen_model_fixtures.py`.
//!
//! No trained opus-mt-ar-en weights are available to the tests, so parity with
//! `transformers` at the real model's shapes is checked on weights both sides compute
//! from the same formula, in f32 with the same operation order:
//!
//! 1. seed = FNV-1a 64 of the tensor's name (UTF-8);
//! 2. element `i` (row-major) takes splitmix64 of `seed + (i + 1) * 0x9E3779B97F4A7C15`
//!    (wrapping), keeps its top 24 bits `t` and maps them to
//!    `u = t * 2^-23 - 1`, uniform in `[-1, 1)` and exact in f32;
//! 3. by name: `model.shared.weight` = `0.05 * u` with the `<pad>` row zero;
//!    `final_logits_bias` = `0.1 * u` with `[eos]` = [`EOS_LOGIT_BIAS`];
//!    `*layer_norm.weight` = `0.1 * u + 1`; `*layer_norm.bias` = `0.1 * u`; other
//!    biases = `0.05 * u`; weights `(out, in)` = `s * u` with
//!    `s = f32(gain / sqrt(in))`, gain 1.0 for `*encoder_attn.out_proj.weight`, 4.0
//!    for `*q_proj.weight` and `*k_proj.weight` (sharp attention), 3.0 for
//!    `*fc1.weight` and `*fc2.weight` (each step's output a new function of token,
//!    position and source, so outputs do not repeat one token), 1.0 otherwise.
//! 4. ReLU models (transformer-big) change three of those ([`Gains::for_activation`]):
//!    ReLU's outputs share a large common mean that `fc2` turns into the same vector
//!    at every step, so that outputs repeat one token; their `*fc1.bias` =
//!    `0.05 * u - 1.5` (sparser activations), the `fc1`/`fc2` gain is 6.0, and
//!    `final_logits_bias[eos]` = 3.0 (greedy outputs that end at once, early, or at
//!    `max_length`).
//!
//! Products and sums are single f32 operations (no fused multiply-add).

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};

use super::load::build_error;
use super::{Activation, MarianConfig, MarianMTModel, ModelError};
use crate::hash::fnv1a64;

/// `final_logits_bias[eos]` of generated models: large enough that `</s>` wins
/// some steps, so generated sequences end at varied lengths.
pub const EOS_LOGIT_BIAS: f32 = 2.5;

/// The gains of step 3 that depend on the model's feed-forward activation (step 4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gains {
    /// Gain of `*fc1.weight` and `*fc2.weight`.
    pub ffn: f64,
    /// Offset of `*fc1.bias`.
    pub fc1_bias_offset: f32,
    /// `final_logits_bias[eos]`.
    pub eos_logit_bias: f32,
}

impl Gains {
    /// ReLU models' gains (step 4), everyone else's (step 3).
    pub fn for_activation(activation: Activation) -> Self {
        match activation {
            Activation::Relu => Self { ffn: 6.0, fc1_bias_offset: -1.5, eos_logit_bias: 3.0 },
            _ => Self { ffn: 3.0, fc1_bias_offset: 0.0, eos_logit_bias: EOS_LOGIT_BIAS },
        }
    }
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// `len` uniform values in `[-1, 1)` for the tensor `name` (steps 1 and 2 above).
pub fn uniform(name: &str, len: usize) -> Vec<f32> {
    let mut state = fnv1a64(name.as_bytes());
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        state = state.wrapping_add(GOLDEN_GAMMA);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push((z >> 40) as f32 * (1.0 / 8_388_608.0) - 1.0);
    }
    out
}

fn scaled(name: &str, len: usize, scale: f32, offset: f32) -> Vec<f32> {
    let mut values = uniform(name, len);
    for v in &mut values {
        *v = *v * scale + offset;
    }
    values
}

/// The values of tensor `name` with shape `dims` (steps 3 and 4 above); `None` for
/// a name the formula does not cover.
pub fn tensor_values(name: &str, dims: &[usize], pad: u32, eos: u32, gains: Gains) -> Option<Vec<f32>> {
    let len = dims.iter().product();
    let fan_in_scale = |gain: f64| match dims {
        [_, fan_in] => Some((gain / (*fan_in as f64).sqrt()) as f32),
        _ => None,
    };
    let values = if name == "model.shared.weight" {
        let mut values = scaled(name, len, 0.05, 0.0);
        let [_, dim] = dims else { return None };
        let row = pad as usize * dim;
        values.get_mut(row..row + dim)?.fill(0.0);
        values
    } else if name == "final_logits_bias" {
        let mut values = scaled(name, len, 0.1, 0.0);
        *values.get_mut(eos as usize)? = gains.eos_logit_bias;
        values
    } else if name.ends_with("layer_norm.weight") {
        scaled(name, len, 0.1, 1.0)
    } else if name.ends_with("layer_norm.bias") {
        scaled(name, len, 0.1, 0.0)
    } else if name.ends_with("fc1.bias") {
        scaled(name, len, 0.05, gains.fc1_bias_offset)
    } else if name.ends_with(".bias") {
        scaled(name, len, 0.05, 0.0)
    } else if name.ends_with("q_proj.weight") || name.ends_with("k_proj.weight") {
        scaled(name, len, fan_in_scale(4.0)?, 0.0)
    } else if name.ends_with("fc1.weight") || name.ends_with("fc2.weight") {
        scaled(name, len, fan_in_scale(gains.ffn)?, 0.0)
    } else if name.ends_with(".weight") {
        scaled(name, len, fan_in_scale(1.0)?, 0.0)
    } else {
        return None;
    };
    Some(values)
}

/// Generates every tensor it is asked for from its name and shape.
struct Generated {
    pad: u32,
    eos: u32,
    gains: Gains,
}

impl SimpleBackend for Generated {
    fn get(&self, shape: Shape, name: &str, _: Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let values = tensor_values(name, shape.dims(), self.pad, self.eos, self.gains)
            .ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.to_string() })?;
        Tensor::from_vec(values, shape, dev)?.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("generated tensor `{name}` needs a shape")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// opus-mt-ar-en's config: vocabulary 62834 (`<pad>` = decoder start = 62833,
/// `</s>` = 0), 6 + 6 layers, `d_model` 512, 8 heads, feed-forward 2048, swish,
/// scaled embeddings, 512 positions, and its generation fields.
pub fn exact_shape_config() -> MarianConfig {
    MarianConfig {
        vocab_size: 62834,
        decoder_vocab_size: Some(62834),
        d_model: 512,
        encoder_layers: 6,
        decoder_layers: 6,
        encoder_attention_heads: 8,
        decoder_attention_heads: 8,
        encoder_ffn_dim: 2048,
        decoder_ffn_dim: 2048,
        activation_function: Activation::Swish,
        scale_embedding: true,
        max_position_embeddings: 512,
        pad_token_id: 62833,
        eos_token_id: 0,
        decoder_start_token_id: 62833,
        share_encoder_decoder_embeddings: true,
        num_beams: Some(4),
        max_length: Some(512),
        bad_words_ids: Some(vec![vec![62833]]),
        forced_eos_token_id: Some(0),
    }
}

/// opus-mt-tc-big-ar-en's config (transformer-big): vocabulary 61109 (`<pad>` =
/// decoder start = 61108, `</s>` = 25894, not 0 as in the 2020 models), 6 + 6
/// layers, `d_model` 1024, 16 heads, feed-forward 4096, ReLU, scaled embeddings
/// shared by encoder, decoder and LM head, 1024 positions, and its generation
/// fields. The values and where they come from: `big_shape_config` in
/// `scripts/gen_model_fixtures.py`.
pub fn big_shape_config() -> MarianConfig {
    MarianConfig {
        vocab_size: 61109,
        decoder_vocab_size: Some(61109),
        d_model: 1024,
        encoder_layers: 6,
        decoder_layers: 6,
        encoder_attention_heads: 16,
        decoder_attention_heads: 16,
        encoder_ffn_dim: 4096,
        decoder_ffn_dim: 4096,
        activation_function: Activation::Relu,
        scale_embedding: true,
        max_position_embeddings: 1024,
        pad_token_id: 61108,
        eos_token_id: 25894,
        decoder_start_token_id: 61108,
        share_encoder_decoder_embeddings: true,
        num_beams: Some(4),
        max_length: Some(512),
        bad_words_ids: Some(vec![vec![61108]]),
        forced_eos_token_id: Some(25894),
    }
}

/// A model of `cfg`'s shapes with generated weights.
pub fn generated_model(cfg: &MarianConfig, device: &Device) -> Result<MarianMTModel, ModelError> {
    let gains = Gains::for_activation(cfg.activation_function);
    let backend = Generated { pad: cfg.pad_token_id, eos: cfg.eos_token_id, gains };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
    MarianMTModel::new(cfg, vb).map_err(|err| build_error("generated weights", err))
}

/// The opus-mt-ar-en-shaped model with generated weights, and its config.
pub fn exact_shape_model(device: &Device) -> Result<(MarianMTModel, MarianConfig), ModelError> {
    let cfg = exact_shape_config();
    Ok((generated_model(&cfg, device)?, cfg))
}

/// The opus-mt-tc-big-ar-en-shaped model with generated weights, and its config.
pub fn big_shape_model(device: &Device) -> Result<(MarianMTModel, MarianConfig), ModelError> {
    let cfg = big_shape_config();
    Ok((generated_model(&cfg, device)?, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_and_uniform_reference_values() {
        // FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let u = uniform("final_logits_bias", 1000);
        assert!(u.iter().all(|v| (-1.0..1.0).contains(v)));
        let mean = u.iter().sum::<f32>() / u.len() as f32;
        assert!(mean.abs() < 0.1, "{mean}");
    }

    #[test]
    fn rules() {
        let gains = Gains::for_activation(Activation::Swish);
        let shared = tensor_values("model.shared.weight", &[4, 3], 2, 0, gains).unwrap();
        assert_eq!(&shared[6..9], &[0.0, 0.0, 0.0]);
        assert!(shared.iter().all(|v| v.abs() <= 0.05));
        let bias = tensor_values("final_logits_bias", &[1, 4], 3, 1, gains).unwrap();
        assert_eq!(bias[1], EOS_LOGIT_BIAS);
        let ln = tensor_values("x.final_layer_norm.weight", &[8], 0, 0, gains).unwrap();
        assert!(ln.iter().all(|v| (0.9..=1.1).contains(v)));
        assert!(tensor_values("x.fc1.weight", &[8], 0, 0, gains).is_none());
        assert!(tensor_values("x.unknown", &[8], 0, 0, gains).is_none());
        let fc1_bias = tensor_values("x.fc1.bias", &[8], 0, 0, gains).unwrap();
        assert!(fc1_bias.iter().all(|v| v.abs() <= 0.05));
    }

    #[test]
    fn relu_models_take_sparser_stronger_feed_forward_blocks() {
        let (swish, relu) = (Gains::for_activation(Activation::Swish), Gains::for_activation(Activation::Relu));
        for act in [Activation::Gelu, Activation::GeluTanh] {
            assert_eq!(Gains::for_activation(act), swish);
        }
        let fc1_bias = tensor_values("x.fc1.bias", &[8], 0, 0, relu).unwrap();
        assert!(fc1_bias.iter().all(|v| (-1.55..=-1.45).contains(v)), "{fc1_bias:?}");
        // fc2 biases keep the common rule.
        assert_eq!(tensor_values("x.fc2.bias", &[8], 0, 0, relu), tensor_values("x.fc2.bias", &[8], 0, 0, swish));
        let (a, b) = (
            tensor_values("x.fc2.weight", &[2, 16], 0, 0, relu).unwrap(),
            tensor_values("x.fc2.weight", &[2, 16], 0, 0, swish).unwrap(),
        );
        for (a, b) in a.iter().zip(&b) {
            assert!((a - 2.0 * b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(tensor_values("final_logits_bias", &[1, 4], 3, 2, relu).unwrap()[2], 3.0);
    }

    #[test]
    fn big_shape_config_is_opus_mt_tc_big_ar_en() {
        let cfg = big_shape_config();
        cfg.validate().unwrap();
        assert_eq!((cfg.d_model, cfg.encoder_attention_heads, cfg.encoder_ffn_dim), (1024, 16, 4096));
        assert_eq!((cfg.eos_token_id, cfg.pad_token_id, cfg.target_vocab_size()), (25894, 61108, 61109));
        assert_eq!(cfg.activation_function, Activation::Relu);
    }
}
