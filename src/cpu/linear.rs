//! A linear layer whose weight format is chosen once, when it is built, from
//! the precision and the CPU: candle's f32 product, f32 weights packed for
//! AVX-512 ([`PackedLinear`]), or int8 weights ([`Int8Linear`]).

use std::sync::Arc;

use candle_core::{DType, Device, Module, Result, Tensor};

use super::int8::{Int8Linear, Int8Matrix};
use super::packed::PackedLinear;
use super::{isa, with_f32};

/// How a model holds its weights. Every computation is in f32 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 weights, as in the checkpoint: outputs equal `transformers`'.
    #[default]
    F32,
    /// int8 weights per output feature (see
    /// [`MarianMTModel::into_int8`](crate::model::MarianMTModel::into_int8)),
    /// quantized as each tensor is read: faster on a CPU, outputs may differ
    /// from f32.
    Int8,
}

/// `x · Wᵀ (+ b)` for a weight `W` `(outputs, inputs)`, whose rows (one per
/// output feature) also serve as an embedding table ([`Self::lookup`]).
#[derive(Debug, Clone)]
pub(crate) struct Linear(Weights);

/// A linear layer's weight in the format its product runs on.
#[derive(Debug, Clone)]
enum Weights {
    /// candle's product (any device).
    F32(candle_nn::Linear),
    /// Packed once for the AVX-512 product.
    Packed(Arc<PackedLinear>),
    /// Quantized to int8 (CPU only).
    Int8(Arc<Int8Linear>),
}

/// What a weight is used for: products, or only lookups of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Product,
    Lookup,
}

impl Linear {
    /// The layer of `weight` `(outputs, inputs)` and `bias` held in `precision`.
    pub(crate) fn new(weight: Tensor, bias: Option<Tensor>, precision: Precision) -> Result<Self> {
        Self::build(weight, bias, precision, Use::Product)
    }

    /// An embedding table `(entries, dim)` that is only looked up
    /// ([`Self::lookup`]), never multiplied: f32 weights stay candle's.
    pub(crate) fn table(weight: Tensor, precision: Precision) -> Result<Self> {
        Self::build(weight, None, precision, Use::Lookup)
    }

    /// The one place a weight's format is chosen.
    fn build(weight: Tensor, bias: Option<Tensor>, precision: Precision, use_: Use) -> Result<Self> {
        let weights = match precision {
            Precision::Int8 => Weights::Int8(Arc::new(quantize(&weight, bias.as_ref())?)),
            Precision::F32 if use_ == Use::Product && weight.device().is_cpu() && isa::avx512() => {
                Weights::Packed(Arc::new(with_linear_values(&weight, bias.as_ref(), PackedLinear::new)?))
            }
            Precision::F32 => Weights::F32(candle_nn::Linear::new(weight, bias)),
        };
        Ok(Self(weights))
    }

    /// `xs · Wᵀ (+ b)` over the last dimension of `xs`.
    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match &self.0 {
            Weights::F32(linear) => linear.forward(xs),
            Weights::Packed(linear) => xs.contiguous()?.apply_op1_no_bwd(linear.as_ref()),
            Weights::Int8(linear) => xs.contiguous()?.apply_op1_no_bwd(linear.as_ref()),
        }
    }

    /// The same layer with int8 weights.
    pub(crate) fn to_int8(&self) -> Result<Self> {
        let int8 = match &self.0 {
            Weights::F32(linear) => quantize(linear.weight(), linear.bias())?,
            Weights::Packed(linear) => {
                let weight = Int8Matrix::quantize(&linear.weights(), linear.outputs(), linear.inputs());
                Int8Linear::new(weight, linear.bias().map(<[f32]>::to_vec))
            }
            Weights::Int8(_) => return Ok(self.clone()),
        };
        Ok(Self(Weights::Int8(Arc::new(int8))))
    }

    /// Whether the weights are int8.
    pub(crate) fn is_int8(&self) -> bool {
        matches!(self.0, Weights::Int8(_))
    }

    /// The weight's rows `ids` (u32 `(batch, len)`), as an embedding of
    /// `inputs` values per entry: `(batch, len, inputs)`.
    pub(crate) fn lookup(&self, ids: &Tensor) -> Result<Tensor> {
        match &self.0 {
            Weights::F32(linear) => {
                let (_, dim) = linear.weight().dims2()?;
                candle_nn::Embedding::new(linear.weight().clone(), dim).forward(ids)
            }
            Weights::Packed(table) => {
                lookup(ids, table.outputs(), table.inputs(), |id, out| table.output_weights(id, out))
            }
            Weights::Int8(table) => {
                let table = table.weight();
                lookup(ids, table.outputs(), table.inputs(), |id, out| table.dequantize_output(id, out))
            }
        }
    }
}

/// The entries `ids` (u32 `(batch, len)`) of a table of `entries` entries of
/// `dim` values, each appended by `entry`: `(batch, len, dim)`.
fn lookup(ids: &Tensor, entries: usize, dim: usize, entry: impl Fn(usize, &mut Vec<f32>)) -> Result<Tensor> {
    let (batch, len) = ids.dims2()?;
    let mut values = Vec::with_capacity(batch * len * dim);
    for id in ids.flatten_all()?.to_vec1::<u32>()? {
        if id as usize >= entries {
            candle_core::bail!("token id {id} is outside the embedding of {entries} rows");
        }
        entry(id as usize, &mut values);
    }
    Tensor::from_vec(values, (batch, len, dim), ids.device())
}

/// Runs `f` on a linear layer's parameters as f32 values: `weight` `(outputs,
/// inputs)` row-major, read in place when it is already f32 on the CPU, its
/// output and input counts, and the bias.
fn with_linear_values<R>(
    weight: &Tensor,
    bias: Option<&Tensor>,
    f: impl FnOnce(&[f32], usize, usize, Option<Vec<f32>>) -> R,
) -> Result<R> {
    let (outputs, inputs) = weight.dims2()?;
    let bias = bias.map(|b| b.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()).transpose()?;
    let weight = weight.to_dtype(DType::F32)?.to_device(&Device::Cpu)?.contiguous()?;
    with_f32(&weight, |values| Ok(f(values, outputs, inputs, bias)))
}

/// `weight` `(outputs, inputs)` quantized to int8 per output feature, with
/// `bias` kept in f32.
fn quantize(weight: &Tensor, bias: Option<&Tensor>) -> Result<Int8Linear> {
    if !weight.device().is_cpu() {
        candle_core::bail!("int8 weights run on the CPU only");
    }
    with_linear_values(weight, bias, |values, outputs, inputs, bias| {
        Int8Linear::new(Int8Matrix::quantize(values, outputs, inputs), bias)
    })
}
