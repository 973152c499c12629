//! Elementwise math written to vectorize: an `exp` without float-to-integer
//! conversions, and SiLU on every core with it (on slices, and written over a
//! candle tensor), compiled by [`widest!`] for the widest vectors the CPU has.

use candle_core::{CpuStorage, InplaceOp1, Layout, Result, Tensor};
use rayon::prelude::*;

use super::widest;

/// `e^x` for `x <= 0` as Cephes' `expf`: `2^n · e^r` with `n = round(x / ln 2)`
/// and a degree-6 polynomial for `e^r`; within 2 ulp, 0 below -87. Written
/// without float-to-integer conversions so that it vectorizes.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    // 1.5 · 2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let clamped = if x < -87.0 { -87.0 } else { x };
    let shifted = clamped * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let poly = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let value = poly * (r * r) + r + 1.0;
    // 2^n: n + 127 in the exponent field.
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    if x < -87.0 { 0.0 } else { value * scale }
}

/// `x · sigmoid(x)` as `x / (1 + e^-x)`, with `e^-|x|` from
/// [`exp_nonpositive`] (for `x < 0`, `sigmoid(x) = e^x / (1 + e^x)`).
#[inline(always)]
fn silu_one(x: f32) -> f32 {
    let e = exp_nonpositive(-x.abs());
    let sigmoid = if x >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
    x * sigmoid
}

#[inline(always)]
fn silu_body(values: &mut [f32]) {
    for x in values.iter_mut() {
        *x = silu_one(*x);
    }
}

widest! {
    /// [`silu_body`] on the widest vectors the CPU has.
    fn silu_chunk(values: &mut [f32]) => silu_body
}

/// SiLU of every value in place, on every core.
fn silu_values(values: &mut [f32]) {
    const CHUNK: usize = 16 * 1024;
    values.par_chunks_mut(CHUNK).for_each(silu_chunk);
}

/// SiLU of `xs`, f32 values on the CPU, written over them (made contiguous
/// first), so `xs` must not share its storage with a tensor still in use.
pub(crate) fn silu_in_place(xs: Tensor) -> Result<Tensor> {
    let xs = xs.contiguous()?;
    xs.inplace_op1(&SiluInPlace)?;
    Ok(xs)
}

/// SiLU of contiguous f32 values on the CPU, written over them.
struct SiluInPlace;

impl InplaceOp1 for SiluInPlace {
    fn name(&self) -> &'static str {
        "silu-in-place"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        match (storage, layout.contiguous_offsets()) {
            (CpuStorage::F32(values), Some((start, end))) => {
                silu_values(&mut values[start..end]);
                Ok(())
            }
            _ => candle_core::bail!("in-place SiLU needs contiguous f32 values"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silu_matches_the_definition() {
        let input: Vec<f32> = (-2000..=2000).map(|i| i as f32 / 20.0).chain([-1e30, 1e30, 0.0, -0.0]).collect();
        let mut got = input.clone();
        silu_values(&mut got);
        for (&x, &y) in input.iter().zip(&got) {
            let want = f64::from(x) / (1.0 + (-f64::from(x)).exp());
            // Relative, except where e^-|x| is below f32's normal range (x < -87),
            // which gives 0.
            let tolerance = (4.0 * f64::from(f32::EPSILON) * want.abs()).max(1e-35);
            assert!((f64::from(y) - want).abs() <= tolerance, "silu({x}) = {y}, want {want}");
        }
    }
}
