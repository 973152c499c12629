//! MarianMT encoder-decoder on candle, written to match `transformers`'
//! `modeling_marian.py` (post-norm layers, sinusoidal positions, tied LM head with
//! `final_logits_bias`).
//!
//! * [`MarianConfig`]: the checkpoint's `config.json`.
//! * [`MarianMTModel`]: [`MarianMTModel::encode`] once per batch of sources, then
//!   [`MarianMTModel::decode`] with a [`DecoderCache`] per step (or once over a whole
//!   target for teacher forcing); [`MarianMTModel::decode_with_attention`] also
//!   returns one cross-attention head's probabilities, and
//!   [`MarianMTModel::forced_attention`] only those (for word alignment).
//! * [`load_model`] reads a Hugging Face checkpoint directory; [`model_from_tensors`]
//!   builds from tensors in memory; `generated` (feature `test-support`) builds
//!   opus-mt-ar-en-shaped models with formula-generated weights for parity tests.

mod cache;
mod config;
#[cfg(any(test, feature = "test-support"))]
pub mod generated;
mod layers;
mod load;
mod marian;
mod torch_legacy;

use std::path::PathBuf;

pub use crate::cpu::Precision;
pub use cache::DecoderCache;
pub use config::{Activation, MarianConfig};
pub use layers::sinusoidal_positions;
pub use load::{
    CONFIG_FILE, PYTORCH_FILE, SAFETENSORS_FILE, load_model, load_model_as, model_from_tensors, read_weights,
};
pub use marian::{AttentionHead, EncoderOutput, MarianMTModel};

/// Why a model could not be loaded or built.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (its message is part of this one's).
        error: std::io::Error,
    },
    /// `config.json` is not valid JSON or lacks a required field.
    #[error("{path}: invalid model config: {error}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// The parse error (names the missing or malformed field; its message
        /// is part of this one's).
        error: serde_json::Error,
    },
    /// `config.json` parses but describes an impossible model.
    #[error("{path}: invalid model config: {reason}")]
    InvalidConfig {
        /// The config file.
        path: PathBuf,
        /// Which invariant fails.
        reason: String,
    },
    /// The directory holds neither weight file.
    #[error("{dir}: no weights: expected {SAFETENSORS_FILE} or {PYTORCH_FILE}")]
    MissingWeights {
        /// The checkpoint directory.
        dir: PathBuf,
    },
    /// The weight file is truncated, corrupt or not in a supported format.
    #[error("{path}: cannot read weights: {error}")]
    Weights {
        /// The weight file.
        path: PathBuf,
        /// What the reader reported (its message is part of this one's).
        error: candle_core::Error,
    },
    /// A tensor the model needs is absent.
    #[error("{origin}: missing tensor `{name}`")]
    MissingTensor {
        /// The weight file (or the label of an in-memory map).
        origin: String,
        /// The tensor's name as `transformers` writes it.
        name: String,
    },
    /// A tensor has the wrong shape for the config.
    #[error("{origin}: tensor `{name}` has shape {actual:?}, the config needs {expected:?}")]
    TensorShape {
        /// The weight file (or the label of an in-memory map).
        origin: String,
        /// The tensor's name.
        name: String,
        /// Shape the config implies.
        expected: Vec<usize>,
        /// Shape found.
        actual: Vec<usize>,
    },
    /// A tensor is stored in a dtype other than f32, f16 or bf16.
    #[error("{origin}: tensor `{name}` is stored as {dtype:?}, expected f32, f16 or bf16")]
    TensorDtype {
        /// The weight file (or the label of an in-memory map).
        origin: String,
        /// The tensor's name.
        name: String,
        /// Dtype found.
        dtype: candle_core::DType,
    },
    /// Any other failure while building the model.
    #[error("{origin}: cannot build the model: {error}")]
    Build {
        /// The weight file (or the label of an in-memory map).
        origin: String,
        /// The underlying error (its message is part of this one's).
        error: candle_core::Error,
    },
}
