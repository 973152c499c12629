//! The int8 scheme of CTranslate2's `int8_float32`: every weight row (one
//! output feature) is quantized symmetrically to `[-127, 127]` with its own
//! scale, every activation row likewise at run time (as unsigned bytes, the
//! value plus 128), and integer sums are scaled back to f32; and the packed
//! layout the products read.

use std::fmt;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::super::panels::PANEL;
use super::super::widest;

/// Values per lane group in the row reductions.
const LANES: usize = 16;
/// Bytes of one panel per group of four input features.
pub(super) const QUAD_BYTES: usize = PANEL * 4;
/// Offset that turns a signed activation in `[-127, 127]` into an unsigned byte.
pub(super) const ACT_OFFSET: i32 = 128;

/// A weight matrix `(outputs, inputs)` quantized per output feature and packed
/// for the product: panels of [`PANEL`] output features, each stored as groups
/// of four input features, each group holding the four consecutive bytes of
/// every output feature of the panel.
pub(crate) struct Int8Matrix {
    pub(super) outputs: usize,
    pub(super) inputs: usize,
    /// `inputs` rounded up to a multiple of four.
    pub(super) quads: usize,
    pub(super) packed: Vec<i8>,
    /// Per output feature: `max |w| / 127`.
    pub(super) scales: Vec<f32>,
    /// Per output feature: the sum of its quantized weights (removes the
    /// activation offset).
    pub(super) sums: Vec<i32>,
}

impl fmt::Debug for Int8Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Int8Matrix({}x{})", self.outputs, self.inputs)
    }
}

/// 1.5 · 2^23: adding it to a float of magnitude below 2^22 rounds it to the
/// nearest integer (ties to even), held in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// `v` rounded to the nearest integer (ties to even), for `|v| < 2^22`, without
/// a float-to-integer conversion (so that loops of it vectorize).
#[inline(always)]
fn round_small(v: f32) -> i32 {
    ((v + ROUND).to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32)
}

/// `max |x| / 127` of a row and `127 / max |x|` (0 for a row of zeros or with
/// a non-finite value).
#[inline(always)]
fn row_scale(row: &[f32]) -> (f32, f32) {
    let mut lanes = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            let x = x.abs();
            *m = if x > *m { x } else { *m };
        }
    }
    let max = lanes.iter().chain(rest).fold(0f32, |m, &x| if x.abs() > m { x.abs() } else { m });
    if max == 0.0 || !max.is_finite() { (0.0, 0.0) } else { (max / 127.0, 127.0 / max) }
}

/// `x · inverse` rounded and clamped to `[-127, 127]`.
#[inline(always)]
fn quantize_value(x: f32, inverse: f32) -> i32 {
    round_small(x * inverse).clamp(-127, 127)
}

/// Quantizes `row` to `out` (same length) and returns its scale.
#[inline(always)]
pub(super) fn quantize_body(row: &[f32], out: &mut [i8]) -> f32 {
    let (scale, inverse) = row_scale(row);
    for (q, &x) in out.iter_mut().zip(row) {
        *q = quantize_value(x, inverse) as i8;
    }
    scale
}

/// Quantizes an activation row to unsigned bytes (value + 128) and returns its scale.
#[inline(always)]
fn quantize_activation_body(row: &[f32], out: &mut [u8]) -> f32 {
    let (scale, inverse) = row_scale(row);
    for (q, &x) in out.iter_mut().zip(row) {
        *q = (quantize_value(x, inverse) + ACT_OFFSET) as u8;
    }
    scale
}

/// `(sums - 128 · weight_sums) as f32 · (act_scale · weight_scales) (+ bias)`
/// written to `out`, all slices of one length.
#[inline(always)]
fn dequantize_body(
    out: &mut [MaybeUninit<f32>],
    sums: &[i32],
    weight_sums: &[i32],
    weight_scales: &[f32],
    bias: Option<&[f32]>,
    act_scale: f32,
) {
    let values = sums.iter().zip(weight_sums).zip(weight_scales);
    let value =
        |((&sum, &w_sum), &w_scale): ((&i32, &i32), &f32)| (sum - ACT_OFFSET * w_sum) as f32 * (act_scale * w_scale);
    match bias {
        Some(bias) => {
            for ((d, v), &b) in out.iter_mut().zip(values).zip(bias) {
                d.write(value(v) + b);
            }
        }
        None => {
            for (d, v) in out.iter_mut().zip(values) {
                d.write(value(v));
            }
        }
    }
}

widest! {
    /// Quantizes a weight row to `out` (same length) and returns its scale.
    fn quantize_weight_row(row: &[f32], out: &mut [i8]) -> f32 => quantize_body
}

widest! {
    /// Quantizes an activation row to `out` (value + 128, same length) and returns its scale.
    pub(super) fn quantize_activation_row(row: &[f32], out: &mut [u8]) -> f32 => quantize_activation_body
}

widest! {
    /// [`dequantize_body`] on the widest vectors the CPU has.
    pub(super) fn dequantize(
        out: &mut [MaybeUninit<f32>],
        sums: &[i32],
        weight_sums: &[i32],
        weight_scales: &[f32],
        bias: Option<&[f32]>,
        act_scale: f32,
    ) => dequantize_body
}

impl Int8Matrix {
    /// Quantizes the row-major `(outputs, inputs)` matrix `weights`.
    pub(crate) fn quantize(weights: &[f32], outputs: usize, inputs: usize) -> Self {
        assert_eq!(weights.len(), outputs * inputs, "weights must hold outputs * inputs values");
        let quads = inputs.div_ceil(4);
        let panels = outputs.div_ceil(PANEL);
        let mut packed = vec![0i8; panels * quads * QUAD_BYTES];
        // Panel by panel on every core: quantize its output features' weights,
        // then lay them out.
        let per_panel: Vec<(Vec<f32>, Vec<i32>)> = packed
            .par_chunks_mut((quads * QUAD_BYTES).max(1))
            .enumerate()
            .map(|(panel, dst)| {
                let first = panel * PANEL;
                let valid = PANEL.min(outputs.saturating_sub(first));
                let mut values = vec![0i8; inputs];
                let (mut scales, mut sums) = (Vec::with_capacity(valid), Vec::with_capacity(valid));
                for lane in 0..valid {
                    let n = first + lane;
                    scales.push(quantize_weight_row(&weights[n * inputs..(n + 1) * inputs], &mut values));
                    sums.push(values.iter().map(|&q| i32::from(q)).sum());
                    for (k, &q) in values.iter().enumerate() {
                        dst[(k / 4) * QUAD_BYTES + lane * 4 + k % 4] = q;
                    }
                }
                (scales, sums)
            })
            .collect();
        let (mut scales, mut sums) = (Vec::with_capacity(outputs), Vec::with_capacity(outputs));
        for (panel_scales, panel_sums) in per_panel {
            scales.extend(panel_scales);
            sums.extend(panel_sums);
        }
        if quads == 0 {
            scales.resize(outputs, 0.0);
            sums.resize(outputs, 0);
        }
        Self { outputs, inputs, quads, packed, scales, sums }
    }

    /// Number of output features.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }

    /// Number of input features.
    pub(crate) fn inputs(&self) -> usize {
        self.inputs
    }

    /// The weights of output feature `n` dequantized (quantized values times
    /// its scale), appended to `out`.
    pub(crate) fn dequantize_output(&self, n: usize, out: &mut Vec<f32>) {
        let base = (n / PANEL) * self.quads * QUAD_BYTES + (n % PANEL) * 4;
        let scale = self.scales[n];
        out.extend((0..self.inputs).map(|k| f32::from(self.packed[base + (k / 4) * QUAD_BYTES + k % 4]) * scale));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_quantize_symmetrically_with_their_own_scale() {
        let m = Int8Matrix::quantize(&[0.5, -1.0, 0.25, 0.0, 0.0, 0.0, 2.0, 1.0, -2.0], 3, 3);
        assert_eq!(m.scales, vec![1.0 / 127.0, 0.0, 2.0 / 127.0]);
        assert_eq!(m.sums, vec![64 - 127 + 32, 0, 127 + 64 - 127]);
        let mut row = Vec::new();
        m.dequantize_output(2, &mut row);
        assert_eq!(row, vec![2.0, 64.0 * 2.0 / 127.0, -2.0]);
    }
}
