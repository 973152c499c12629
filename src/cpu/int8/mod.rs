//! Int8 weights for CPU inference, in the scheme of CTranslate2's `int8_float32`
//! ([`quantize`]): per output feature symmetric weights, per row activations,
//! products summed exactly in `i32` and scaled back to f32.
//!
//! The product runs on AMX tiles ([`amx`]) for whole tiles of 16 activation
//! rows where the CPU has them, on AVX-512 VNNI ([`vnni`], `vpdpbusd`: unsigned
//! activations times signed weights) where it has that, and on a portable loop
//! ([`portable`]) elsewhere. All sum the same integers and scale them back with
//! the same f32 operations, so their results are bitwise equal.

#[cfg(target_arch = "x86_64")]
mod amx;
mod portable;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod vnni;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape};
use rayon::prelude::*;

use super::isa;
use super::panels::{PANEL, PanelOut, TILE_ROWS, by_panels, linear_input};
pub(crate) use quantize::Int8Matrix;
use quantize::{ACT_OFFSET, QUAD_BYTES, dequantize, quantize_activation_row};

impl Int8Matrix {
    /// `x · selfᵀ (+ bias)` for the row-major `(m, inputs)` matrix `x`:
    /// row-major `(m, outputs)`.
    pub(crate) fn matmul(&self, x: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let inputs = self.inputs.max(1);
        let m = x.len() / inputs;
        let width = self.quads * 4;
        // Activations: per row, the scale and the unsigned bytes (value + 128),
        // zero-padded to whole groups of four.
        let mut act = vec![ACT_OFFSET as u8; m * width];
        let act_scales: Vec<f32> = x
            .par_chunks_exact(inputs)
            .zip(act.par_chunks_exact_mut(width.max(1)))
            .with_min_len(8)
            .map(|(row, dst)| quantize_activation_row(&row[..self.inputs], &mut dst[..self.inputs]))
            .collect();
        // Whole tiles of rows run on AMX where there is one; the rest on VNNI.
        let tiled = if amx_tiles(self.quads) { m / AMX_ROWS * AMX_ROWS } else { 0 };
        let operands = Operands { matrix: self, act: &act, width, act_scales: &act_scales, bias, m, tiled };
        // SAFETY: `Operands::panel` writes every row of its panel.
        unsafe { by_panels(m, self.outputs, |out| operands.panel(out)) }
    }
}

/// One product's operands: the quantized weights and activations.
struct Operands<'a> {
    matrix: &'a Int8Matrix,
    act: &'a [u8],
    width: usize,
    act_scales: &'a [f32],
    bias: Option<&'a [f32]>,
    m: usize,
    /// The first rows, whole tiles of them, whose products run on AMX tiles.
    tiled: usize,
}

impl Operands<'_> {
    /// Every activation row of one panel of the output.
    fn panel(&self, mut out: PanelOut<'_>) {
        let matrix = self.matrix;
        let first = out.first();
        let columns = first..first + out.valid();
        let weights = &matrix.packed[(first / PANEL) * matrix.quads * QUAD_BYTES..][..matrix.quads * QUAD_BYTES];
        // Output row `row` of the panel from its integer sums.
        let mut write = |row: usize, sums: &[i32; PANEL]| {
            dequantize(
                out.row(row),
                &sums[..columns.len()],
                &matrix.sums[columns.clone()],
                &matrix.scales[columns.clone()],
                self.bias.map(|bias| &bias[columns.clone()]),
                self.act_scales[row],
            );
        };
        #[cfg(target_arch = "x86_64")]
        if self.tiled > 0 {
            let mut acc = [[0i32; PANEL]; AMX_ROWS];
            // SAFETY: `tiled` is non-zero only where `isa::amx_int8()` holds.
            let tiles = unsafe { amx::Tiles::configure() };
            for row in (0..self.tiled).step_by(AMX_ROWS) {
                // SAFETY: the quads fill whole tile steps (`amx_tiles`) and
                // `act` holds the tile's rows.
                unsafe {
                    tiles.products(
                        &self.act[row * self.width..(row + AMX_ROWS) * self.width],
                        self.width,
                        weights,
                        &mut acc,
                    )
                };
                for (r, sums) in acc.iter().enumerate() {
                    write(row + r, sums);
                }
            }
        }
        let mut acc = [[0i32; PANEL]; TILE_ROWS];
        let mut row = self.tiled;
        while row < self.m {
            let tile = TILE_ROWS.min(self.m - row);
            let act = &self.act[row * self.width..(row + tile) * self.width];
            products(act, self.width, weights, matrix.quads, tile, &mut acc);
            for (r, sums) in acc.iter().take(tile).enumerate() {
                write(row + r, sums);
            }
            row += tile;
        }
    }
}

/// Integer products of `tile` activation rows (unsigned bytes, `width` apart)
/// with one packed panel: `acc[r][j] = Σ_k act[r][k] · w[j][k]`.
fn products(act: &[u8], width: usize, weights: &[i8], quads: usize, tile: usize, acc: &mut [[i32; PANEL]; TILE_ROWS]) {
    #[cfg(target_arch = "x86_64")]
    if isa::avx512_vnni() {
        // SAFETY: the CPU has the features the kernel is compiled for, and the
        // slices hold `tile` rows of `width >= 4 * quads` bytes and `quads` groups.
        unsafe { vnni::products(act, width, weights, quads, tile, acc) };
        return;
    }
    portable::products(act, width, weights, quads, tile, acc);
}

/// Activation rows per AMX tile.
const AMX_ROWS: usize = 16;

/// Whether products over `quads` groups of four input features run on AMX
/// tiles: the CPU has them and the features fill whole tile steps.
fn amx_tiles(quads: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        quads > 0 && quads.is_multiple_of(amx::QUADS) && isa::amx_int8()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = quads;
        false
    }
}

/// A linear layer `x · Wᵀ + b` with int8 weights, run as a candle op on CPU
/// tensors whose last dimension is the layer's input size.
#[derive(Debug)]
pub(crate) struct Int8Linear {
    weight: Int8Matrix,
    bias: Option<Vec<f32>>,
}

impl Int8Linear {
    /// A layer of the quantized `weight` and the f32 `bias` (one per output
    /// feature of `weight`).
    pub(crate) fn new(weight: Int8Matrix, bias: Option<Vec<f32>>) -> Self {
        Self { weight, bias }
    }

    /// The quantized weight.
    pub(crate) fn weight(&self) -> &Int8Matrix {
        &self.weight
    }
}

impl CustomOp1 for Int8Linear {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, shape) = linear_input("int8", storage, layout, self.weight.inputs, self.weight.outputs)?;
        Ok((CpuStorage::F32(self.weight.matmul(x, self.bias.as_deref())), shape))
    }
}

#[cfg(test)]
mod tests {
    use super::quantize::quantize_body;
    use super::*;

    /// Deterministic values in about [-1, 1].
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn product_is_close_to_f32() {
        let (m, n, k) = (5, 70, 64);
        let w = values(n * k, 1);
        let x = values(m * k, 2);
        let bias = values(n, 3);
        let got = Int8Matrix::quantize(&w, n, k).matmul(&x, Some(&bias));
        for i in 0..m {
            for j in 0..n {
                let exact: f32 = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + bias[j];
                assert!((got[i * n + j] - exact).abs() < 0.05, "({i}, {j}): {} vs {exact}", got[i * n + j]);
            }
        }
    }

    #[test]
    fn simd_and_portable_products_are_equal() {
        // Sizes with partial panels, partial tiles and columns not a multiple of four.
        for &(m, n, k) in &[(1, 1, 1), (3, 47, 5), (8, 48, 8), (9, 49, 37), (13, 100, 64), (17, 96, 2048)] {
            let weight = Int8Matrix::quantize(&values(n * k, k as u64), n, k);
            let x = values(m * k, 7);
            let width = weight.quads * 4;
            let act: Vec<u8> = (0..m * width).map(|i| (i * 37 % 256) as u8).collect();
            for panel in 0..n.div_ceil(PANEL) {
                let w = &weight.packed[panel * weight.quads * QUAD_BYTES..];
                let mut row = 0;
                while row < m {
                    let tile = TILE_ROWS.min(m - row);
                    let a = &act[row * width..];
                    let mut fast = [[0i32; PANEL]; TILE_ROWS];
                    let mut slow = [[0i32; PANEL]; TILE_ROWS];
                    products(a, width, w, weight.quads, tile, &mut fast);
                    portable::products(a, width, w, weight.quads, tile, &mut slow);
                    assert_eq!(fast[..tile], slow[..tile], "m {m} n {n} k {k} panel {panel} row {row}");
                    row += tile;
                }
            }
            // The whole product agrees with the integer sums it is built from.
            let out = weight.matmul(&x, None);
            assert_eq!(out.len(), m * n);
        }
    }

    #[test]
    fn amx_and_portable_products_are_equal() {
        if !amx_tiles(16) {
            eprintln!("no AMX tiles on this machine: nothing to compare");
            return;
        }
        for &(m, n, k) in &[(1usize, 48usize, 64usize), (16, 96, 128), (21, 100, 512), (40, 47, 2048)] {
            let weight = Int8Matrix::quantize(&values(n * k, k as u64), n, k);
            let width = weight.quads * 4;
            let rows = m.next_multiple_of(AMX_ROWS);
            let act: Vec<u8> = (0..rows * width).map(|i| (i * 37 % 256) as u8).collect();
            for panel in 0..n.div_ceil(PANEL) {
                let w = &weight.packed[panel * weight.quads * QUAD_BYTES..][..weight.quads * QUAD_BYTES];
                for row in (0..m).step_by(AMX_ROWS) {
                    let mut tiles = [[0i32; PANEL]; AMX_ROWS];
                    // SAFETY: AMX is available, `act` holds whole tiles of rows
                    // and `width` is a multiple of 64.
                    unsafe {
                        amx::Tiles::configure().products(
                            &act[row * width..(row + AMX_ROWS) * width],
                            width,
                            w,
                            &mut tiles,
                        )
                    };
                    for r in 0..AMX_ROWS.min(m - row) {
                        let mut slow = [[0i32; PANEL]; TILE_ROWS];
                        portable::products(&act[(row + r) * width..], width, w, weight.quads, 1, &mut slow);
                        assert_eq!(tiles[r], slow[0], "m {m} n {n} k {k} panel {panel} row {}", row + r);
                    }
                }
            }
        }
    }

    #[test]
    fn product_matches_integer_reference() {
        // The second size runs its first 16 rows on AMX tiles where there are
        // some, and the other 5 on VNNI.
        for (m, n, k) in [(11, 53, 30), (21, 53, 128)] {
            let weight = Int8Matrix::quantize(&values(n * k, 5), n, k);
            let x = values(m * k, 6);
            let out = weight.matmul(&x, None);
            let mut wq = vec![0i8; k];
            for (j, w_row) in values(n * k, 5).chunks_exact(k).enumerate() {
                let w_scale = quantize_body(w_row, &mut wq);
                assert_eq!(w_scale, weight.scales[j]);
                for (i, x_row) in x.chunks_exact(k).enumerate() {
                    let mut xq = vec![0i8; k];
                    let x_scale = quantize_body(x_row, &mut xq);
                    let exact: i32 = xq.iter().zip(&wq).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
                    assert_eq!(out[i * n + j], exact as f32 * (x_scale * w_scale), "{m}x{k}: ({i}, {j})");
                }
            }
        }
    }
}
