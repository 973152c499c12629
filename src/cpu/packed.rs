//! f32 linear layers with their weights packed once for an AVX-512 product.
//!
//! candle's CPU matmul runs on AVX2 kernels and packs the weight on every call;
//! on a CPU with AVX-512 F these layers multiply by weights packed at load in
//! panels of [`PANEL`] output features, with every output summed in one fused
//! multiply-add chain over the input features (so a row's result does not
//! depend on the other rows in the batch). Elsewhere layers keep candle's
//! product.

use std::fmt;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape};
use rayon::prelude::*;

use super::isa;
use super::panels::{PANEL, PanelOut, TILE_ROWS, by_panels, linear_input};

/// `x · Wᵀ (+ b)` with `W` `(outputs, inputs)` packed: panel `p` holds, for
/// every input feature `k`, the [`PANEL`] weights of output features
/// `p·PANEL..` at `k`.
pub(crate) struct PackedLinear {
    outputs: usize,
    inputs: usize,
    packed: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl fmt::Debug for PackedLinear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackedLinear({}x{})", self.outputs, self.inputs)
    }
}

impl PackedLinear {
    /// Packs the row-major `(outputs, inputs)` `weights`, with one bias per
    /// output feature.
    pub(crate) fn new(weights: &[f32], outputs: usize, inputs: usize, bias: Option<Vec<f32>>) -> Self {
        assert_eq!(weights.len(), outputs * inputs, "weights must hold outputs * inputs values");
        let panels = outputs.div_ceil(PANEL);
        let mut packed = vec![0f32; panels * inputs * PANEL];
        // Panel by panel on every core, each written in order.
        packed.par_chunks_mut((inputs * PANEL).max(1)).enumerate().for_each(|(panel, dst)| {
            let first = panel * PANEL;
            let valid = PANEL.min(outputs.saturating_sub(first));
            for (k, group) in dst.chunks_exact_mut(PANEL).enumerate() {
                for (j, w) in group.iter_mut().take(valid).enumerate() {
                    *w = weights[(first + j) * inputs + k];
                }
            }
        });
        Self { outputs, inputs, packed, bias }
    }

    /// Number of output features.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }

    /// Number of input features.
    pub(crate) fn inputs(&self) -> usize {
        self.inputs
    }

    /// The bias, if any.
    pub(crate) fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }

    /// The weight, row-major `(outputs, inputs)`.
    pub(crate) fn weights(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.outputs * self.inputs);
        for n in 0..self.outputs {
            self.output_weights(n, &mut out);
        }
        out
    }

    /// The weights of output feature `n`, appended to `out`.
    pub(crate) fn output_weights(&self, n: usize, out: &mut Vec<f32>) {
        let base = (n / PANEL) * self.inputs * PANEL + n % PANEL;
        out.extend((0..self.inputs).map(|k| self.packed[base + k * PANEL]));
    }

    /// `x · Wᵀ (+ b)` for the row-major `(m, inputs)` matrix `x`: row-major
    /// `(m, outputs)`. Only on a CPU where [`isa::avx512`] holds.
    fn matmul(&self, x: &[f32]) -> Vec<f32> {
        assert!(isa::avx512(), "packed linear layers need AVX-512");
        let m = x.len() / self.inputs.max(1);
        // SAFETY: `panel` writes every row of its panel.
        unsafe { by_panels(m, self.outputs, |out| self.panel(x, m, out)) }
    }

    /// Every row of one panel of the product. Only on a CPU with AVX-512 F.
    fn panel(&self, x: &[f32], m: usize, mut out: PanelOut<'_>) {
        let (first, valid) = (out.first(), out.valid());
        let weights = &self.packed[first * self.inputs..(first + PANEL) * self.inputs];
        let mut acc = [[0f32; PANEL]; TILE_ROWS];
        let mut row = 0;
        while row < m {
            let tile = TILE_ROWS.min(m - row);
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `matmul` runs only where AVX-512 F is present; `x` holds
            // `tile` rows of `inputs` from `row` and `weights` `inputs` groups.
            unsafe {
                avx512::products(
                    &x[row * self.inputs..(row + tile) * self.inputs],
                    self.inputs,
                    weights,
                    tile,
                    &mut acc,
                )
            };
            for (r, sums) in acc.iter().take(tile).enumerate() {
                let dst = out.row(row + r);
                match &self.bias {
                    Some(bias) => {
                        for ((d, &s), &b) in dst.iter_mut().zip(sums).zip(&bias[first..first + valid]) {
                            d.write(s + b);
                        }
                    }
                    None => {
                        for (d, &s) in dst.iter_mut().zip(sums) {
                            d.write(s);
                        }
                    }
                }
            }
            row += tile;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{PANEL, TILE_ROWS};

    /// `acc[r][j] = Σ_k x[r][k] · w[j][k]` for `tile` rows of `x` (`inputs` apart)
    /// and one packed panel, each sum one fused multiply-add chain in `k` order.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F; `x` must hold `tile` rows of `inputs` values and
    /// `weights` `inputs * PANEL` values.
    pub(super) unsafe fn products(
        x: &[f32],
        inputs: usize,
        weights: &[f32],
        tile: usize,
        acc: &mut [[f32; PANEL]; TILE_ROWS],
    ) {
        debug_assert!(x.len() >= tile * inputs && weights.len() >= inputs * PANEL);
        // SAFETY: forwarded from the caller.
        unsafe {
            match tile {
                1 => tile_products::<1>(x, inputs, weights, acc),
                2 => tile_products::<2>(x, inputs, weights, acc),
                3 => tile_products::<3>(x, inputs, weights, acc),
                4 => tile_products::<4>(x, inputs, weights, acc),
                5 => tile_products::<5>(x, inputs, weights, acc),
                6 => tile_products::<6>(x, inputs, weights, acc),
                7 => tile_products::<7>(x, inputs, weights, acc),
                _ => tile_products::<8>(x, inputs, weights, acc),
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn tile_products<const R: usize>(
        x: &[f32],
        inputs: usize,
        weights: &[f32],
        acc: &mut [[f32; PANEL]; TILE_ROWS],
    ) {
        let mut sums = [[_mm512_setzero_ps(); 3]; R];
        let a = x.as_ptr();
        let w = weights.as_ptr();
        for k in 0..inputs {
            // SAFETY: the caller guarantees `inputs` weight groups and `R` rows.
            unsafe {
                let group = w.add(k * PANEL);
                let w0 = _mm512_loadu_ps(group);
                let w1 = _mm512_loadu_ps(group.add(16));
                let w2 = _mm512_loadu_ps(group.add(32));
                for (r, sum) in sums.iter_mut().enumerate() {
                    let value = _mm512_set1_ps(*a.add(r * inputs + k));
                    sum[0] = _mm512_fmadd_ps(value, w0, sum[0]);
                    sum[1] = _mm512_fmadd_ps(value, w1, sum[1]);
                    sum[2] = _mm512_fmadd_ps(value, w2, sum[2]);
                }
            }
        }
        for (dst, sum) in acc.iter_mut().zip(&sums) {
            for (c, vector) in sum.iter().enumerate() {
                // SAFETY: `dst` holds PANEL = 3 · 16 values.
                unsafe { _mm512_storeu_ps(dst[c * 16..].as_mut_ptr(), *vector) };
            }
        }
    }
}

impl CustomOp1 for PackedLinear {
    fn name(&self) -> &'static str {
        "packed-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, shape) = linear_input("packed", storage, layout, self.inputs, self.outputs)?;
        if !isa::avx512() {
            candle_core::bail!("packed linear layers need AVX-512");
        }
        Ok((CpuStorage::F32(self.matmul(x)), shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_product_equals_sequential_fused_sums() {
        if !isa::avx512() {
            return;
        }
        let values = |n: usize, seed: usize| -> Vec<f32> {
            (0..n).map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32 - 1000.0) / 997.0).collect()
        };
        for &(m, n, k) in &[(1, 1, 1), (3, 47, 5), (9, 49, 37), (17, 100, 64)] {
            let w = values(n * k, 1);
            let x = values(m * k, 2);
            let bias = values(n, 3);
            let layer = PackedLinear::new(&w, n, k, Some(bias.clone()));
            let got = layer.matmul(&x);
            for i in 0..m {
                for j in 0..n {
                    let sum = (0..k).fold(0f32, |s, t| x[i * k + t].mul_add(w[j * k + t], s));
                    assert_eq!(got[i * n + j], sum + bias[j], "m {m} n {n} k {k} ({i}, {j})");
                }
            }
            let mut row = Vec::new();
            layer.output_weights(n - 1, &mut row);
            assert_eq!(row, w[(n - 1) * k..].to_vec());
        }
    }
}
