//! Loading Hugging Face Marian checkpoints.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};

use super::{MarianConfig, MarianMTModel, ModelError};

/// Config file of a checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";
/// Preferred weight file.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// Weight file of older checkpoints (PyTorch zip format).
pub const PYTORCH_FILE: &str = "pytorch_model.bin";

/// Names a checkpoint may use for `model.shared.weight`: older saves also (or
/// only) carry the tied copies.
const SHARED_ALIASES: [&str; 3] =
    ["model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"];

/// Checkpoint tensors by name, resolving the key layouts `transformers` accepts:
/// the `model.` prefix may be absent (a saved `MarianModel`), and the shared
/// embedding may be stored only under its tied names.
struct Checkpoint {
    tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    fn resolve(&self, name: &str) -> Option<&Tensor> {
        let names: &[&str] = if name == SHARED_ALIASES[0] { &SHARED_ALIASES } else { &[name] };
        names
            .iter()
            .find_map(|n| self.tensors.get(*n).or_else(|| n.strip_prefix("model.").and_then(|s| self.tensors.get(s))))
    }
}

impl SimpleBackend for Checkpoint {
    fn get(&self, shape: Shape, name: &str, _: Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let tensor = self.get_unchecked(name, dtype, dev)?;
        if tensor.shape() != &shape {
            // `msg` carries the bare name; `build_error` turns it into `TensorShape`.
            return Err(candle_core::Error::UnexpectedShape {
                msg: name.to_string(),
                expected: shape,
                got: tensor.shape().clone(),
            });
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let tensor =
            self.resolve(name).ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.to_string() })?;
        tensor.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.resolve(name).is_some()
    }
}

/// Maps an error of [`MarianMTModel::new`] on tensors from `origin` to a
/// [`ModelError`] naming the tensor.
pub(super) fn build_error(origin: &str, err: candle_core::Error) -> ModelError {
    let origin = origin.to_string();
    match err {
        candle_core::Error::CannotFindTensor { path } => ModelError::MissingTensor { origin, name: path },
        candle_core::Error::UnexpectedShape { msg, expected, got } => ModelError::TensorShape {
            origin,
            name: msg,
            expected: expected.dims().to_vec(),
            actual: got.dims().to_vec(),
        },
        source => ModelError::Build { origin, source },
    }
}

/// Builds a model from named tensors in memory (f32, f16 or bf16, any device),
/// in either key layout [`load_model`] accepts. `origin` labels errors (a file
/// name, or e.g. `"generated weights"`).
pub fn model_from_tensors(
    cfg: &MarianConfig,
    tensors: HashMap<String, Tensor>,
    origin: &str,
    device: &Device,
) -> Result<MarianMTModel, ModelError> {
    if let Some((name, tensor)) =
        tensors.iter().find(|(_, t)| !matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16))
    {
        return Err(ModelError::TensorDtype { origin: origin.to_string(), name: name.clone(), dtype: tensor.dtype() });
    }
    let vb = VarBuilder::from_backend(Box::new(Checkpoint { tensors }), DType::F32, device.clone());
    MarianMTModel::new(cfg, vb).map_err(|err| build_error(origin, err))
}

/// Reads every tensor of a weight file on the CPU, in its stored dtype:
/// safetensors, or a PyTorch zip checkpoint when the name ends in `.bin`/`.pt`/`.pth`.
pub fn read_weights(path: &Path) -> Result<HashMap<String, Tensor>, ModelError> {
    let is_pytorch = path.extension().is_some_and(|ext| ext == "bin" || ext == "pt" || ext == "pth");
    let tensors = if is_pytorch {
        candle_core::pickle::read_all(path).map(|tensors| tensors.into_iter().collect())
    } else {
        candle_core::safetensors::load(path, &Device::Cpu)
    };
    tensors.map_err(|source| ModelError::Weights { path: path.to_path_buf(), source })
}

/// Loads a Hugging Face Marian checkpoint directory: [`CONFIG_FILE`], and weights
/// from [`SAFETENSORS_FILE`] or else [`PYTORCH_FILE`], stored as f32, f16 or bf16
/// (computed in f32 on `device`).
pub fn load_model(dir: &Path, device: &Device) -> Result<(MarianMTModel, MarianConfig), ModelError> {
    let cfg = MarianConfig::from_file(&dir.join(CONFIG_FILE))?;
    let weights = [SAFETENSORS_FILE, PYTORCH_FILE]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| ModelError::MissingWeights { dir: dir.to_path_buf() })?;
    let tensors = read_weights(&weights)?;
    let model = model_from_tensors(&cfg, tensors, &weights.display().to_string(), device)?;
    Ok((model, cfg))
}
