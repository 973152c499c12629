//! The CPU engine the model runs on, apart from the Marian graph (as
//! CTranslate2 keeps `src/cpu/`): what the CPU can run ([`isa`]), vectorized
//! math, linear layers ([`Linear`]: their weight format chosen once, from the
//! precision and the CPU) with weights packed for AVX-512 ([`packed`]) or
//! quantized to int8 ([`int8`]), the key/value stores the decoder reads one
//! new position per row from (its own steps, [`StepCache`], and the encoder's
//! trimmed sources, [`SourceCache`]), and attention over them that reads every
//! key and value where it lies ([`attend`]).

mod attend;
mod int8;
mod isa;
mod key_value;
mod linear;
mod math;
mod packed;
mod panels;
mod sources;
mod steps;

use candle_core::{CpuStorage, Storage, Tensor};

pub(crate) use attend::{KeyValues, attend};
pub(crate) use isa::widest;
pub(crate) use key_value::KeyValue;
pub(crate) use linear::Linear;
pub use linear::Precision;
pub(crate) use math::{exp_nonpositive, silu_in_place};
pub(crate) use sources::{SourceCache, SourceView};
pub(crate) use steps::{StepCache, out_of_rows};

/// Runs `f` on the values of `t`, read in place: a contiguous f32 tensor on the CPU.
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> candle_core::Result<R>) -> candle_core::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) => f(&data[start..end]),
        _ => candle_core::bail!("expected contiguous f32 values on the CPU, got {:?} {:?}", t.dtype(), t.device()),
    }
}
