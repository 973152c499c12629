//! Loading Hugging Face Marian checkpoints.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};

use super::torch_legacy::LegacyFile;
use super::{MarianConfig, MarianMTModel, ModelError, Precision};

/// Config file of a checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";
/// Preferred weight file.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// Weight file of older checkpoints (PyTorch zip or legacy format).
pub const PYTORCH_FILE: &str = "pytorch_model.bin";

/// Names a checkpoint may use for `model.shared.weight`: older saves also (or
/// only) carry the tied copies.
const SHARED_ALIASES: [&str; 3] =
    ["model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"];

/// Checkpoint tensors by name, resolving the key layouts `transformers` accepts:
/// the `model.` prefix may be absent (a saved `MarianModel`), and the shared
/// embedding may be stored only under its tied names.
/// The model takes each tensor once (the shared embedding too), so a taken
/// tensor leaves the checkpoint: a layer that repacks its weights then holds the
/// only copy. A safetensors or PyTorch legacy file is read one tensor at a time
/// as the model takes them, so loading holds the weights once plus the tensor
/// being packed.
struct Checkpoint {
    tensors: Mutex<Tensors>,
}

/// Where a checkpoint's tensors come from.
enum Tensors {
    Memory(HashMap<String, Tensor>),
    File(SafetensorsFile),
    Legacy(Box<LegacyFile>),
}

impl Tensors {
    fn contains(&self, key: &str) -> bool {
        match self {
            Self::Memory(tensors) => tensors.contains_key(key),
            Self::File(file) => file.index.contains_key(key),
            Self::Legacy(file) => file.contains(key),
        }
    }
}

impl Checkpoint {
    /// The key under which `name` is stored, if any.
    fn key(tensors: &Tensors, name: &str) -> Option<String> {
        let names: &[&str] = if name == SHARED_ALIASES[0] { &SHARED_ALIASES } else { &[name] };
        names.iter().find_map(|n| {
            [Some(*n), n.strip_prefix("model.")].into_iter().flatten().find(|k| tensors.contains(k)).map(str::to_string)
        })
    }

    fn take(&self, name: &str) -> candle_core::Result<Option<Tensor>> {
        let mut tensors = self.tensors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(key) = Self::key(&tensors, name) else { return Ok(None) };
        let msg = |err: ModelError| candle_core::Error::Msg(err.to_string());
        let tensor = match &mut *tensors {
            Tensors::Memory(map) => map.remove(&key),
            Tensors::File(file) => Some(file.take(&key).map_err(msg)?),
            Tensors::Legacy(file) => Some(file.take(&key).map_err(msg)?),
        };
        // The model takes `model.shared.weight` only when the embeddings are
        // shared, and then never its tied copies: drop them, so that a layer
        // that repacks the embedding holds its only copy (in a PyTorch file
        // the copies keep the shared storage alive).
        if name == SHARED_ALIASES[0] {
            for alias in SHARED_ALIASES.iter().flat_map(|n| [Some(*n), n.strip_prefix("model.")]).flatten() {
                match &mut *tensors {
                    Tensors::Memory(map) => drop(map.remove(alias)),
                    Tensors::File(file) => drop(file.index.remove(alias)),
                    Tensors::Legacy(file) => file.forget(alias),
                }
            }
        }
        Ok(tensor)
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
        let tensor = self.take(name)?.ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.to_string() })?;
        tensor.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        let tensors = self.tensors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::key(&tensors, name).is_some()
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
        error => ModelError::Build { origin, error },
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
    check_dtypes(&tensors, origin)?;
    build(cfg, Tensors::Memory(tensors), origin, device, Precision::F32)
}

/// Fails unless every tensor is f32, f16 or bf16.
fn check_dtypes(tensors: &HashMap<String, Tensor>, origin: &str) -> Result<(), ModelError> {
    match tensors.iter().find(|(_, t)| !matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16)) {
        Some((name, tensor)) => {
            Err(ModelError::TensorDtype { origin: origin.to_string(), name: name.clone(), dtype: tensor.dtype() })
        }
        None => Ok(()),
    }
}

fn build(
    cfg: &MarianConfig,
    tensors: Tensors,
    origin: &str,
    device: &Device,
    precision: Precision,
) -> Result<MarianMTModel, ModelError> {
    let vb =
        VarBuilder::from_backend(Box::new(Checkpoint { tensors: Mutex::new(tensors) }), DType::F32, device.clone());
    MarianMTModel::with_precision(cfg, vb, precision).map_err(|err| build_error(origin, err))
}

/// Bytes read at a time while loading a safetensors file.
const READ_CHUNK: usize = 1 << 20;
/// Largest safetensors header accepted.
const MAX_HEADER: u64 = 100_000_000;

/// `len_bytes` little-endian values of `size` bytes each, read from `file`
/// through a small buffer.
pub(super) fn read_values<T>(
    file: &mut impl Read,
    len_bytes: usize,
    size: usize,
    convert: fn(&[u8]) -> T,
) -> std::io::Result<Vec<T>> {
    let mut out = Vec::with_capacity(len_bytes / size);
    let mut buf = vec![0u8; READ_CHUNK.min(len_bytes.max(size))];
    let mut left = len_bytes;
    while left > 0 {
        let n = left.min(buf.len());
        file.read_exact(&mut buf[..n])?;
        out.extend(buf[..n].chunks_exact(size).map(convert));
        left -= n;
    }
    Ok(out)
}

/// Reads a safetensors file tensor by tensor with plain reads rather than a
/// memory map, so that loading holds each weight once (a mapped file's pages
/// count as resident too, doubling the peak).
fn read_safetensors(path: &Path) -> Result<HashMap<String, Tensor>, ModelError> {
    let mut file = SafetensorsFile::open(path)?;
    let names: Vec<String> = file.order.clone();
    names.into_iter().map(|name| Ok((name.clone(), file.take(&name)?))).collect()
}

/// What is wrong with a safetensors file of `file_len` bytes whose header
/// describes `expected` bytes (the header length, the header and the tensors).
fn size_mismatch(file_len: u128, expected: u128) -> String {
    if file_len < expected {
        format!("truncated: the file has {file_len} bytes, its header describes {expected}")
    } else {
        format!(
            "{} trailing bytes after the last tensor: the file has {file_len} bytes, its header describes {expected}",
            file_len - expected
        )
    }
}

/// A safetensors file whose header has been read and checked, and whose
/// tensors are read on request.
struct SafetensorsFile {
    path: std::path::PathBuf,
    file: File,
    data_start: u64,
    /// Tensors not read yet, by name.
    index: HashMap<String, safetensors::tensor::TensorInfo>,
    /// Every name, in file order.
    order: Vec<String>,
}

impl SafetensorsFile {
    /// Opens `path` and checks its header: size, JSON, dtypes, and that the
    /// tensors fill the file exactly.
    fn open(path: &Path) -> Result<Self, ModelError> {
        let bad = |msg: String| ModelError::Weights { path: path.to_path_buf(), error: candle_core::Error::Msg(msg) };
        let io = |err: std::io::Error| bad(err.to_string());
        let mut file = File::open(path).map_err(|error| ModelError::Io { path: path.to_path_buf(), error })?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len).map_err(|err| match err.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                bad(format!("truncated: the file has {file_len} bytes, fewer than the 8 of the header length"))
            }
            _ => io(err),
        })?;
        let header_len = u64::from_le_bytes(len);
        if header_len > MAX_HEADER {
            return Err(bad(format!("header length {header_len} is over the limit of {MAX_HEADER} bytes")));
        }
        if 8 + header_len > file_len {
            return Err(bad(format!(
                "truncated: the file has {file_len} bytes, its header of {header_len} bytes ends at byte {}",
                8 + header_len
            )));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(io)?;
        let metadata: safetensors::tensor::Metadata =
            serde_json::from_slice(&header).map_err(|e| bad(format!("invalid safetensors header: {e}")))?;
        let data_start = 8 + header_len;
        // In u128: the tensors may declare up to `usize::MAX` bytes.
        let expected = u128::from(data_start) + metadata.data_len() as u128;
        if expected != u128::from(file_len) {
            return Err(bad(size_mismatch(u128::from(file_len), expected)));
        }
        let mut infos: Vec<(String, safetensors::tensor::TensorInfo)> =
            metadata.tensors().into_iter().map(|(name, info)| (name, info.clone())).collect();
        infos.sort_by_key(|(_, info)| info.data_offsets.0);
        if let Some((name, info)) = infos.iter().find(|(_, info)| {
            !matches!(info.dtype, safetensors::Dtype::F32 | safetensors::Dtype::F16 | safetensors::Dtype::BF16)
        }) {
            return Err(bad(format!("tensor `{name}` is stored as {:?}, expected F32, F16 or BF16", info.dtype)));
        }
        // A tensor with a zero dimension holds no data whatever its other
        // dimensions are, but a tensor's strides must still be counted.
        if let Some((name, info)) =
            infos.iter().find(|(_, info)| info.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d.max(1))).is_none())
        {
            return Err(bad(format!("tensor `{name}` has shape {:?}, too large to index", info.shape)));
        }
        let order = infos.iter().map(|(name, _)| name.clone()).collect();
        Ok(Self { path: path.to_path_buf(), file, data_start, index: infos.into_iter().collect(), order })
    }

    /// Reads tensor `name` (once: it then leaves the index).
    fn take(&mut self, name: &str) -> Result<Tensor, ModelError> {
        let path = self.path.clone();
        let bad = |msg: String| ModelError::Weights { path: path.clone(), error: candle_core::Error::Msg(msg) };
        let info = self.index.remove(name).ok_or_else(|| bad(format!("tensor `{name}` was read already")))?;
        let io = |err: std::io::Error| bad(format!("tensor `{name}`: {err}"));
        let (start, end) = info.data_offsets;
        self.file.seek(SeekFrom::Start(self.data_start + start as u64)).map_err(io)?;
        let (bytes, shape, file) = (end - start, info.shape, &mut self.file);
        match info.dtype {
            safetensors::Dtype::F32 => {
                let values = read_values(file, bytes, 4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                Tensor::from_vec(values.map_err(io)?, shape, &Device::Cpu)
            }
            safetensors::Dtype::F16 => {
                let values = read_values(file, bytes, 2, |b| half::f16::from_le_bytes([b[0], b[1]]));
                Tensor::from_vec(values.map_err(io)?, shape, &Device::Cpu)
            }
            safetensors::Dtype::BF16 => {
                let values = read_values(file, bytes, 2, |b| half::bf16::from_le_bytes([b[0], b[1]]));
                Tensor::from_vec(values.map_err(io)?, shape, &Device::Cpu)
            }
            other => return Err(bad(format!("tensor `{name}` is stored as {other:?}, expected F32, F16 or BF16"))),
        }
        .map_err(|error| ModelError::Weights { path: self.path.clone(), error })
    }
}

/// How a weight file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeightFormat {
    Safetensors,
    /// `torch.save` since PyTorch 1.6: a zip archive.
    TorchZip,
    /// `torch.save` before PyTorch 1.6: pickles followed by raw storages.
    TorchLegacy,
}

/// The format of the weight file `path`, told by its first bytes (whatever
/// its name): the zip signature `_is_zipfile` of `torch/serialization.py`
/// checks, the legacy format's pickled magic number, or else safetensors.
fn weight_format(path: &Path) -> Result<WeightFormat, ModelError> {
    let io = |error| ModelError::Io { path: path.to_path_buf(), error };
    let mut head = Vec::with_capacity(14);
    File::open(path).map_err(io)?.take(14).read_to_end(&mut head).map_err(io)?;
    Ok(if head.starts_with(b"PK\x03\x04") {
        WeightFormat::TorchZip
    } else if super::torch_legacy::is_legacy(&head) {
        WeightFormat::TorchLegacy
    } else {
        WeightFormat::Safetensors
    })
}

/// Reads every tensor of a weight file on the CPU, in its stored dtype:
/// safetensors, a PyTorch zip checkpoint or a PyTorch legacy (pre-1.6)
/// checkpoint, told apart by their contents.
pub fn read_weights(path: &Path) -> Result<HashMap<String, Tensor>, ModelError> {
    match weight_format(path)? {
        WeightFormat::Safetensors => read_safetensors(path),
        WeightFormat::TorchLegacy => super::torch_legacy::read(path),
        WeightFormat::TorchZip => candle_core::pickle::read_all(path)
            .map(|tensors| tensors.into_iter().collect())
            .map_err(|error| ModelError::Weights { path: path.to_path_buf(), error }),
    }
}

/// Loads a Hugging Face Marian checkpoint directory: [`CONFIG_FILE`], and weights
/// from [`SAFETENSORS_FILE`] or else [`PYTORCH_FILE`] (in any format
/// [`read_weights`] reads), stored as f32, f16 or bf16 (computed in f32 on
/// `device`).
pub fn load_model(dir: &Path, device: &Device) -> Result<(MarianMTModel, MarianConfig), ModelError> {
    load_model_as(dir, device, Precision::F32)
}

/// [`load_model`] with the weights held in `precision` (int8 runs on the CPU
/// only): each weight is converted as it is read.
pub fn load_model_as(
    dir: &Path,
    device: &Device,
    precision: Precision,
) -> Result<(MarianMTModel, MarianConfig), ModelError> {
    let cfg = MarianConfig::from_file(&dir.join(CONFIG_FILE))?;
    let weights = [SAFETENSORS_FILE, PYTORCH_FILE]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| ModelError::MissingWeights { dir: dir.to_path_buf() })?;
    let origin = weights.display().to_string();
    let model = match weight_format(&weights)? {
        WeightFormat::Safetensors => {
            build(&cfg, Tensors::File(SafetensorsFile::open(&weights)?), &origin, device, precision)?
        }
        WeightFormat::TorchLegacy => {
            build(&cfg, Tensors::Legacy(Box::new(LegacyFile::open(&weights)?)), &origin, device, precision)?
        }
        WeightFormat::TorchZip => {
            let tensors = read_weights(&weights)?;
            check_dtypes(&tensors, &origin)?;
            build(&cfg, Tensors::Memory(tensors), &origin, device, precision)?
        }
    };
    Ok((model, cfg))
}
