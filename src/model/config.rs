//! `MarianConfig`: the fields of a Hugging Face Marian `config.json` that tarjim uses.

use std::path::Path;

use candle_core::{DType, Result, Tensor};
use serde::Deserialize;

use super::ModelError;

/// Feed-forward activation, named as in `transformers`' `ACT2FN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// `x * sigmoid(x)` (`"swish"` or `"silu"`), what opus-mt checkpoints use.
    #[serde(rename = "swish", alias = "silu")]
    Swish,
    /// Exact GELU with `erf` (`"gelu"`).
    #[serde(rename = "gelu")]
    Gelu,
    /// GELU with the `tanh` approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`, `"gelu_fast"`).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    /// `max(x, 0)` (`"relu"`).
    #[serde(rename = "relu")]
    Relu,
}

impl Activation {
    /// Applies the activation elementwise.
    pub fn apply(self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::Swish if xs.device().is_cpu() && xs.dtype() == DType::F32 => self.apply_in_place(xs.copy()?),
            Self::Swish => xs.silu(),
            Self::Gelu => xs.gelu_erf(),
            Self::GeluTanh => xs.gelu(),
            Self::Relu => xs.relu(),
        }
    }

    /// [`Self::apply`] into `xs` itself where it can (SiLU of f32 on the CPU), so
    /// `xs` must not share its storage with a tensor still in use.
    pub(super) fn apply_in_place(self, xs: Tensor) -> Result<Tensor> {
        match self {
            Self::Swish if xs.device().is_cpu() && xs.dtype() == DType::F32 => crate::cpu::silu_in_place(xs),
            _ => self.apply(&xs),
        }
    }
}

fn default_activation() -> Activation {
    // transformers' MarianConfig default.
    Activation::Gelu
}

fn default_true() -> bool {
    true
}

/// A Marian checkpoint's `config.json`.
///
/// The architecture fields are required (a missing one is an error naming it);
/// fields with a `transformers` default that every hub config spells out anyway
/// (`activation_function`, `scale_embedding`, `share_encoder_decoder_embeddings`)
/// take that default. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarianConfig {
    /// Size of the (shared) vocabulary: rows of `model.shared.weight`.
    pub vocab_size: usize,
    /// Size of the decoder vocabulary; `None` means `vocab_size`.
    #[serde(default)]
    pub decoder_vocab_size: Option<usize>,
    /// Hidden size.
    pub d_model: usize,
    /// Number of encoder layers.
    pub encoder_layers: usize,
    /// Number of decoder layers.
    pub decoder_layers: usize,
    /// Attention heads in each encoder layer.
    pub encoder_attention_heads: usize,
    /// Attention heads in each decoder layer (self- and cross-attention).
    pub decoder_attention_heads: usize,
    /// Inner size of the encoder feed-forward blocks.
    pub encoder_ffn_dim: usize,
    /// Inner size of the decoder feed-forward blocks.
    pub decoder_ffn_dim: usize,
    /// Feed-forward activation.
    #[serde(default = "default_activation")]
    pub activation_function: Activation,
    /// Multiply token embeddings by `sqrt(d_model)`.
    #[serde(default)]
    pub scale_embedding: bool,
    /// Rows of the sinusoidal position table: the longest source or target sequence.
    pub max_position_embeddings: usize,
    /// Id of `<pad>`.
    pub pad_token_id: u32,
    /// Id of `</s>`.
    pub eos_token_id: u32,
    /// First decoder input (Marian uses `<pad>`).
    pub decoder_start_token_id: u32,
    /// Encoder and decoder share `model.shared` (all opus-mt models do).
    #[serde(default = "default_true")]
    pub share_encoder_decoder_embeddings: bool,
    /// Generation: beam width hub configs ask for.
    #[serde(default)]
    pub num_beams: Option<usize>,
    /// Generation: longest output, in tokens including the start token.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Generation: token sequences never to produce (opus-mt: `[[pad]]`).
    #[serde(default)]
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
    /// Generation: token forced when `max_length` is reached.
    #[serde(default)]
    pub forced_eos_token_id: Option<u32>,
}

impl MarianConfig {
    /// Parses a `config.json` document (see [`MarianConfig::validate`] for the checks).
    pub fn from_json(json: &str) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Reads, parses and validates `config.json` at `path`.
    pub fn from_file(path: &Path) -> std::result::Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|error| ModelError::Io { path: path.to_path_buf(), error })?;
        let cfg = Self::from_json(&text).map_err(|error| ModelError::Config { path: path.to_path_buf(), error })?;
        cfg.validate().map_err(|reason| ModelError::InvalidConfig { path: path.to_path_buf(), reason })?;
        Ok(cfg)
    }

    /// Rows of the decoder embedding, the LM head and `final_logits_bias`.
    pub fn target_vocab_size(&self) -> usize {
        if self.share_encoder_decoder_embeddings {
            self.vocab_size
        } else {
            self.decoder_vocab_size.unwrap_or(self.vocab_size)
        }
    }

    /// Checks the invariants the model relies on; the error says which one fails.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("encoder_attention_heads", self.encoder_attention_heads),
            ("decoder_attention_heads", self.decoder_attention_heads),
            ("encoder_ffn_dim", self.encoder_ffn_dim),
            ("decoder_ffn_dim", self.decoder_ffn_dim),
            ("max_position_embeddings", self.max_position_embeddings),
            ("target vocabulary size", self.target_vocab_size()),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be positive"));
        }
        for (name, heads) in [
            ("encoder_attention_heads", self.encoder_attention_heads),
            ("decoder_attention_heads", self.decoder_attention_heads),
        ] {
            if !self.d_model.is_multiple_of(heads) {
                return Err(format!("d_model {} is not divisible by {name} {heads}", self.d_model));
            }
        }
        let target_vocab = self.target_vocab_size();
        for (name, id) in [
            ("pad_token_id", self.pad_token_id),
            ("eos_token_id", self.eos_token_id),
            ("decoder_start_token_id", self.decoder_start_token_id),
        ] {
            if id as usize >= target_vocab {
                return Err(format!("{name} {id} is outside the target vocabulary of {target_vocab}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPUS_LIKE: &str = r#"{
        "_name_or_path": "/tmp/Helsinki-NLP/opus-mt-ar-en",
        "activation_function": "swish",
        "architectures": ["MarianMTModel"],
        "bad_words_ids": [[62833]],
        "d_model": 512,
        "decoder_attention_heads": 8,
        "decoder_ffn_dim": 2048,
        "decoder_layers": 6,
        "decoder_start_token_id": 62833,
        "decoder_vocab_size": 62834,
        "encoder_attention_heads": 8,
        "encoder_ffn_dim": 2048,
        "encoder_layers": 6,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "id2label": {"0": "LABEL_0"},
        "max_length": 512,
        "max_position_embeddings": 512,
        "model_type": "marian",
        "num_beams": 4,
        "pad_token_id": 62833,
        "scale_embedding": true,
        "share_encoder_decoder_embeddings": true,
        "static_position_embeddings": true,
        "vocab_size": 62834
    }"#;

    #[test]
    fn parses_hub_config_and_ignores_unknown_fields() {
        let cfg = MarianConfig::from_json(OPUS_LIKE).unwrap();
        assert_eq!(cfg.vocab_size, 62834);
        assert_eq!(cfg.decoder_vocab_size, Some(62834));
        assert_eq!(cfg.activation_function, Activation::Swish);
        assert!(cfg.scale_embedding);
        assert_eq!(cfg.bad_words_ids, Some(vec![vec![62833]]));
        assert_eq!(cfg.forced_eos_token_id, Some(0));
        assert_eq!(cfg.num_beams, Some(4));
        assert_eq!(cfg.max_length, Some(512));
        assert_eq!(cfg.target_vocab_size(), 62834);
        cfg.validate().unwrap();
    }

    #[test]
    fn missing_required_field_is_named() {
        let json = OPUS_LIKE.replace("\"d_model\": 512,", "");
        let err = MarianConfig::from_json(&json).unwrap_err().to_string();
        assert!(err.contains("missing field `d_model`"), "{err}");
    }

    #[test]
    fn activations_and_defaults() {
        for (name, act) in [
            ("silu", Activation::Swish),
            ("gelu", Activation::Gelu),
            ("gelu_pytorch_tanh", Activation::GeluTanh),
            ("gelu_fast", Activation::GeluTanh),
            ("relu", Activation::Relu),
        ] {
            let json = OPUS_LIKE.replace("\"swish\"", &format!("\"{name}\""));
            assert_eq!(MarianConfig::from_json(&json).unwrap().activation_function, act);
        }
        let json = OPUS_LIKE.replace("\"swish\"", "\"mish\"");
        let err = MarianConfig::from_json(&json).unwrap_err().to_string();
        assert!(err.contains("unknown variant `mish`"), "{err}");

        let json = OPUS_LIKE
            .replace("\"activation_function\": \"swish\",", "")
            .replace("\"num_beams\": 4,", "")
            .replace("\"share_encoder_decoder_embeddings\": true,", "");
        let cfg = MarianConfig::from_json(&json).unwrap();
        assert_eq!(cfg.activation_function, Activation::Gelu);
        assert_eq!(cfg.num_beams, None);
        assert!(cfg.share_encoder_decoder_embeddings);
    }

    #[test]
    fn activation_values() {
        let dev = candle_core::Device::Cpu;
        let xs = Tensor::new(&[-2.0f32, -0.5, 0.0, 1.0, 3.0], &dev).unwrap();
        let expect: [(Activation, [f32; 5]); 4] = [
            (Activation::Swish, [-0.238_405_84, -0.188_770_34, 0.0, 0.731_058_6, 2.857_722_5]),
            (Activation::Gelu, [-0.045_500_28, -0.154_268_77, 0.0, 0.841_344_7, 2.995_949_7]),
            (Activation::GeluTanh, [-0.045_402_29, -0.154_286, 0.0, 0.841_192, 2.996_362_7]),
            (Activation::Relu, [0.0, 0.0, 0.0, 1.0, 3.0]),
        ];
        for (act, want) in expect {
            let got = act.apply(&xs).unwrap().to_vec1::<f32>().unwrap();
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-5, "{act:?}: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let mut cfg = MarianConfig::from_json(OPUS_LIKE).unwrap();
        cfg.decoder_attention_heads = 3;
        assert_eq!(cfg.validate().unwrap_err(), "d_model 512 is not divisible by decoder_attention_heads 3");
        cfg.decoder_attention_heads = 8;
        cfg.pad_token_id = 62834;
        assert_eq!(cfg.validate().unwrap_err(), "pad_token_id 62834 is outside the target vocabulary of 62834");
    }
}
