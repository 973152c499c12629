//! Int8 weights for CPU inference, in the scheme of CTranslate2's `int8_float32`:
//! every weight row (one output feature) is quantized symmetrically to
//! `[-127, 127]` with its own scale, every activation row likewise at run time,
//! products are summed exactly in `i32` and scaled back to f32.
//!
//! The product runs on AVX-512 VNNI (`vpdpbusd`, unsigned activations times
//! signed weights) where the CPU has it, and on a portable loop elsewhere. Both
//! sum the same integers and scale them back with the same f32 operations, so
//! their results are bitwise equal.

use std::fmt;
use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape};
use rayon::prelude::*;

use super::panels::{PANEL, PanelOut, TILE_ROWS, by_panels, linear_input};
use crate::math::widest;

/// Values per lane group in the row reductions.
const LANES: usize = 16;
/// Vectors per panel.
const VECS: usize = PANEL / LANES;
/// Bytes of one panel per group of four input features.
const QUAD_BYTES: usize = PANEL * 4;
/// Offset that turns a signed activation in `[-127, 127]` into an unsigned byte.
const ACT_OFFSET: i32 = 128;

/// A weight matrix `(rows, cols)` quantized per row and packed for the product:
/// panels of [`PANEL`] rows, each stored as groups of four columns, each group
/// holding four consecutive bytes of every row of the panel.
pub struct Int8Matrix {
    rows: usize,
    cols: usize,
    /// `cols` rounded up to a multiple of four.
    quads: usize,
    packed: Vec<i8>,
    /// Per row: `max |w| / 127`.
    scales: Vec<f32>,
    /// Per row: the sum of its quantized values (removes the activation offset).
    sums: Vec<i32>,
}

impl fmt::Debug for Int8Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Int8Matrix({}x{})", self.rows, self.cols)
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
fn quantize_body(row: &[f32], out: &mut [i8]) -> f32 {
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
    fn quantize_activation_row(row: &[f32], out: &mut [u8]) -> f32 => quantize_activation_body
}

widest! {
    /// [`dequantize_body`] on the widest vectors the CPU has.
    fn dequantize(
        out: &mut [MaybeUninit<f32>],
        sums: &[i32],
        weight_sums: &[i32],
        weight_scales: &[f32],
        bias: Option<&[f32]>,
        act_scale: f32,
    ) => dequantize_body
}

impl Int8Matrix {
    /// Quantizes the row-major `(rows, cols)` matrix `weights`.
    pub fn quantize(weights: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(weights.len(), rows * cols, "weights must hold rows * cols values");
        let quads = cols.div_ceil(4);
        let panels = rows.div_ceil(PANEL);
        let mut packed = vec![0i8; panels * quads * QUAD_BYTES];
        // Panel by panel on every core: quantize its rows, then lay them out.
        let per_panel: Vec<(Vec<f32>, Vec<i32>)> = packed
            .par_chunks_mut((quads * QUAD_BYTES).max(1))
            .enumerate()
            .map(|(panel, dst)| {
                let first = panel * PANEL;
                let valid = PANEL.min(rows.saturating_sub(first));
                let mut values = vec![0i8; cols];
                let (mut scales, mut sums) = (Vec::with_capacity(valid), Vec::with_capacity(valid));
                for lane in 0..valid {
                    let n = first + lane;
                    scales.push(quantize_weight_row(&weights[n * cols..(n + 1) * cols], &mut values));
                    sums.push(values.iter().map(|&q| i32::from(q)).sum());
                    for (k, &q) in values.iter().enumerate() {
                        dst[(k / 4) * QUAD_BYTES + lane * 4 + k % 4] = q;
                    }
                }
                (scales, sums)
            })
            .collect();
        let (mut scales, mut sums) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for (panel_scales, panel_sums) in per_panel {
            scales.extend(panel_scales);
            sums.extend(panel_sums);
        }
        if quads == 0 {
            scales.resize(rows, 0.0);
            sums.resize(rows, 0);
        }
        Self { rows, cols, quads, packed, scales, sums }
    }

    /// Number of rows (output features).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (input features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `n` dequantized (quantized values times the row's scale), appended to `out`.
    pub fn dequantize_row(&self, n: usize, out: &mut Vec<f32>) {
        let base = (n / PANEL) * self.quads * QUAD_BYTES + (n % PANEL) * 4;
        let scale = self.scales[n];
        out.extend((0..self.cols).map(|k| f32::from(self.packed[base + (k / 4) * QUAD_BYTES + k % 4]) * scale));
    }

    /// `x · selfᵀ (+ bias)` for the row-major `(m, cols)` matrix `x`: row-major
    /// `(m, rows)`.
    pub fn matmul(&self, x: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let cols = self.cols.max(1);
        let m = x.len() / cols;
        let width = self.quads * 4;
        // Activations: per row, the scale and the unsigned bytes (value + 128),
        // zero-padded to whole groups of four.
        let mut act = vec![ACT_OFFSET as u8; m * width];
        let act_scales: Vec<f32> = x
            .par_chunks_exact(cols)
            .zip(act.par_chunks_exact_mut(width.max(1)))
            .with_min_len(8)
            .map(|(row, dst)| quantize_activation_row(&row[..self.cols], &mut dst[..self.cols]))
            .collect();
        // Whole tiles of rows run on AMX where there is one; the rest on VNNI.
        let tiled = if amx_tiles(self.quads) { m / AMX_ROWS * AMX_ROWS } else { 0 };
        let job = Job { matrix: self, act: &act, width, act_scales: &act_scales, bias, m, tiled };
        // SAFETY: `Job::panel` writes every row of its panel.
        unsafe { by_panels(m, self.rows, |out| job.panel(out)) }
    }
}

/// One product's inputs.
struct Job<'a> {
    matrix: &'a Int8Matrix,
    act: &'a [u8],
    width: usize,
    act_scales: &'a [f32],
    bias: Option<&'a [f32]>,
    m: usize,
    /// The first rows, whole tiles of them, whose products run on AMX tiles.
    tiled: usize,
}

impl Job<'_> {
    /// Every activation row of one panel of the output.
    fn panel(&self, mut out: PanelOut<'_>) {
        let matrix = self.matrix;
        let first = out.first();
        let columns = first..first + out.valid();
        let weights = &matrix.packed[(first / PANEL) * matrix.quads * QUAD_BYTES..][..matrix.quads * QUAD_BYTES];
        #[cfg(target_arch = "x86_64")]
        if self.tiled > 0 {
            let mut acc = [[0i32; PANEL]; AMX_ROWS];
            // SAFETY: `tiled` is non-zero only where `amx::available()` holds.
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
                    dequantize(
                        out.row(row + r),
                        &sums[..columns.len()],
                        &matrix.sums[columns.clone()],
                        &matrix.scales[columns.clone()],
                        self.bias.map(|bias| &bias[columns.clone()]),
                        self.act_scales[row + r],
                    );
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
                dequantize(
                    out.row(row + r),
                    &sums[..columns.len()],
                    &matrix.sums[columns.clone()],
                    &matrix.scales[columns.clone()],
                    self.bias.map(|bias| &bias[columns.clone()]),
                    self.act_scales[row + r],
                );
            }
            row += tile;
        }
    }
}

/// Integer products of `tile` activation rows (unsigned bytes, `width` apart)
/// with one packed panel: `acc[r][j] = Σ_k act[r][k] · w[j][k]`.
fn products(act: &[u8], width: usize, weights: &[i8], quads: usize, tile: usize, acc: &mut [[i32; PANEL]; TILE_ROWS]) {
    #[cfg(target_arch = "x86_64")]
    if vnni::available() {
        // SAFETY: the CPU has the features the kernel is compiled for, and the
        // slices hold `tile` rows of `width >= 4 * quads` bytes and `quads` groups.
        unsafe { vnni::products(act, width, weights, quads, tile, acc) };
        return;
    }
    portable_products(act, width, weights, quads, tile, acc);
}

/// Activation rows per AMX tile.
const AMX_ROWS: usize = 16;

/// Whether products over `quads` groups of four input features run on AMX
/// tiles: the CPU has them and the features fill whole tile steps.
fn amx_tiles(quads: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        quads > 0 && quads.is_multiple_of(amx::QUADS) && amx::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = quads;
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod amx {
    //! The integer products on Intel AMX tiles (`tdpbusd`: unsigned activation
    //! bytes times signed weight bytes, summed exactly in `i32`), with the
    //! panels as they are packed: a B tile is 16 groups of four input features
    //! of 16 output features, read 192 bytes apart. The sums are the ones the
    //! VNNI and portable loops compute.

    use std::arch::asm;
    use std::sync::OnceLock;

    use super::{AMX_ROWS, PANEL, QUAD_BYTES};

    /// Groups of four input features per tile step (64 bytes).
    pub(super) const QUADS: usize = 16;

    /// Whether the CPU has AMX-TILE and AMX-INT8 and the kernel lets this
    /// process use the tiles (Linux asks each process to request them).
    pub(super) fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            // CPUID leaf 7, sub-leaf 0: EDX bit 24 is AMX-TILE, bit 25 AMX-INT8.
            let leaf = std::arch::x86_64::__cpuid_count(7, 0);
            leaf.edx & (1 << 24) != 0 && leaf.edx & (1 << 25) != 0 && request_tiles()
        })
    }

    #[cfg(target_os = "linux")]
    fn request_tiles() -> bool {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: the request only changes this process's permissions.
        unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
    }

    #[cfg(not(target_os = "linux"))]
    fn request_tiles() -> bool {
        false
    }

    /// Palette 1 with tiles 0 to 6 of 16 rows of 64 bytes: 0-2 the sums of the
    /// panel's three groups of 16 output features, 3 the activations, 4-6 the
    /// weights.
    #[repr(C, align(64))]
    struct Config([u8; 64]);

    impl Config {
        fn new() -> Self {
            let mut bytes = [0u8; 64];
            bytes[0] = 1;
            for tile in 0..7 {
                bytes[16 + 2 * tile] = 64;
                bytes[48 + tile] = AMX_ROWS as u8;
            }
            Self(bytes)
        }
    }

    /// The tiles configured on this thread (as [`Config`]) until dropped.
    pub(super) struct Tiles(std::marker::PhantomData<*const ()>);

    impl Tiles {
        /// Configures the tiles on this thread.
        ///
        /// # Safety
        /// [`available`] must hold.
        pub(super) unsafe fn configure() -> Self {
            let config = Config::new();
            // SAFETY: AMX is available; the configuration is 64 valid bytes.
            unsafe { asm!("ldtilecfg [{0}]", in(reg) config.0.as_ptr(), options(nostack, readonly, preserves_flags)) };
            Self(std::marker::PhantomData)
        }

        /// `acc[r][j] = Σ_k act[r][k] · w[j][k]` for [`AMX_ROWS`] activation
        /// rows (`width` bytes apart) and one packed panel.
        ///
        /// # Safety
        /// `act` must hold [`AMX_ROWS`] rows of `width` bytes, `width` must be a
        /// multiple of 64, and `weights` must hold `width / 4` groups of
        /// [`QUAD_BYTES`].
        pub(super) unsafe fn products(
            &self,
            act: &[u8],
            width: usize,
            weights: &[i8],
            acc: &mut [[i32; PANEL]; AMX_ROWS],
        ) {
            debug_assert!(act.len() >= AMX_ROWS * width && weights.len() >= width / 4 * QUAD_BYTES);
            // SAFETY: the tiles are configured; every load reads 16 rows of 64
            // bytes inside `act` or `weights`, every store writes 16 rows of 64
            // bytes inside `acc` (rows PANEL · 4 bytes apart).
            unsafe {
                asm!("tilezero tmm0", "tilezero tmm1", "tilezero tmm2", options(nostack, nomem, preserves_flags));
                for step in 0..width / 64 {
                    let a = act.as_ptr().add(step * 64);
                    let b = weights.as_ptr().add(step * QUADS * QUAD_BYTES);
                    asm!(
                        "tileloadd tmm3, [{a} + {a_stride}*1]",
                        "tileloadd tmm4, [{b0} + {b_stride}*1]",
                        "tileloadd tmm5, [{b1} + {b_stride}*1]",
                        "tileloadd tmm6, [{b2} + {b_stride}*1]",
                        "tdpbusd tmm0, tmm3, tmm4",
                        "tdpbusd tmm1, tmm3, tmm5",
                        "tdpbusd tmm2, tmm3, tmm6",
                        a = in(reg) a,
                        a_stride = in(reg) width,
                        b0 = in(reg) b,
                        b1 = in(reg) b.add(64),
                        b2 = in(reg) b.add(128),
                        b_stride = in(reg) QUAD_BYTES,
                        options(nostack, readonly, preserves_flags),
                    );
                }
                let c = acc.as_mut_ptr().cast::<u8>();
                asm!(
                    "tilestored [{c0} + {c_stride}*1], tmm0",
                    "tilestored [{c1} + {c_stride}*1], tmm1",
                    "tilestored [{c2} + {c_stride}*1], tmm2",
                    c0 = in(reg) c,
                    c1 = in(reg) c.add(64),
                    c2 = in(reg) c.add(128),
                    c_stride = in(reg) PANEL * 4,
                    options(nostack, preserves_flags),
                );
            }
        }
    }

    impl Drop for Tiles {
        fn drop(&mut self) {
            // SAFETY: releases the configuration `configure` loaded on this thread.
            unsafe { asm!("tilerelease", options(nostack, nomem, preserves_flags)) };
        }
    }
}

/// [`products`] without SIMD.
fn portable_products(
    act: &[u8],
    width: usize,
    weights: &[i8],
    quads: usize,
    tile: usize,
    acc: &mut [[i32; PANEL]; TILE_ROWS],
) {
    for (r, sums) in acc.iter_mut().take(tile).enumerate() {
        sums.fill(0);
        let row = &act[r * width..r * width + quads * 4];
        for (q, group) in weights.chunks_exact(QUAD_BYTES).take(quads).enumerate() {
            let a = &row[q * 4..q * 4 + 4];
            for (sum, w) in sums.iter_mut().zip(group.chunks_exact(4)) {
                *sum += a.iter().zip(w).map(|(&a, &w)| i32::from(a) * i32::from(w)).sum::<i32>();
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    use super::{LANES, PANEL, QUAD_BYTES, TILE_ROWS, VECS};

    /// Whether the CPU runs the AVX-512 VNNI kernel.
    pub(super) fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
        })
    }

    /// [`super::products`] with `vpdpbusd`, dispatched on the tile's height so
    /// that the accumulators stay in registers.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI; `act` must hold `tile` rows of
    /// `width >= 4 * quads` bytes and `weights` `quads * QUAD_BYTES` bytes.
    pub(super) unsafe fn products(
        act: &[u8],
        width: usize,
        weights: &[i8],
        quads: usize,
        tile: usize,
        acc: &mut [[i32; PANEL]; TILE_ROWS],
    ) {
        debug_assert!(act.len() >= (tile - 1) * width + quads * 4 && weights.len() >= quads * QUAD_BYTES);
        // SAFETY: forwarded from the caller.
        unsafe {
            match tile {
                1 => tile_products::<1>(act, width, weights, quads, acc),
                2 => tile_products::<2>(act, width, weights, quads, acc),
                3 => tile_products::<3>(act, width, weights, quads, acc),
                4 => tile_products::<4>(act, width, weights, quads, acc),
                5 => tile_products::<5>(act, width, weights, quads, acc),
                6 => tile_products::<6>(act, width, weights, quads, acc),
                7 => tile_products::<7>(act, width, weights, quads, acc),
                _ => tile_products::<8>(act, width, weights, quads, acc),
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile_products<const R: usize>(
        act: &[u8],
        width: usize,
        weights: &[i8],
        quads: usize,
        acc: &mut [[i32; PANEL]; TILE_ROWS],
    ) {
        let mut sums = [[_mm512_setzero_si512(); VECS]; R];
        let a = act.as_ptr();
        let w = weights.as_ptr();
        for q in 0..quads {
            // SAFETY: the caller guarantees `quads` groups of weights and `R` rows
            // of at least `4 * quads` activation bytes.
            unsafe {
                let group = w.add(q * QUAD_BYTES);
                let w0 = _mm512_loadu_si512(group.cast());
                let w1 = _mm512_loadu_si512(group.add(64).cast());
                let w2 = _mm512_loadu_si512(group.add(128).cast());
                for (r, sum) in sums.iter_mut().enumerate() {
                    let four = a.add(r * width + q * 4).cast::<i32>().read_unaligned();
                    let broadcast = _mm512_set1_epi32(four);
                    sum[0] = _mm512_dpbusd_epi32(sum[0], broadcast, w0);
                    sum[1] = _mm512_dpbusd_epi32(sum[1], broadcast, w1);
                    sum[2] = _mm512_dpbusd_epi32(sum[2], broadcast, w2);
                }
            }
        }
        for (dst, sum) in acc.iter_mut().zip(&sums) {
            for (c, vector) in sum.iter().enumerate() {
                // SAFETY: `dst` holds PANEL = VECS * LANES values.
                unsafe { _mm512_storeu_si512(dst[c * LANES..].as_mut_ptr().cast(), *vector) };
            }
        }
    }
}

/// A linear layer `x · Wᵀ + b` with int8 weights, run as a candle op on CPU
/// tensors whose last dimension is the layer's input size.
#[derive(Debug)]
pub struct Int8Linear {
    weight: Int8Matrix,
    bias: Option<Vec<f32>>,
}

impl Int8Linear {
    /// A layer of the quantized `weight` and the f32 `bias` (one per row of `weight`).
    pub fn new(weight: Int8Matrix, bias: Option<Vec<f32>>) -> Self {
        Self { weight, bias }
    }

    /// The quantized weight.
    pub fn weight(&self) -> &Int8Matrix {
        &self.weight
    }
}

impl CustomOp1 for Int8Linear {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, shape) = linear_input("int8", storage, layout, self.weight.cols, self.weight.rows)?;
        Ok((CpuStorage::F32(self.weight.matmul(x, self.bias.as_deref())), shape))
    }
}

#[cfg(test)]
mod tests {
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
    fn rows_quantize_symmetrically_with_their_own_scale() {
        let m = Int8Matrix::quantize(&[0.5, -1.0, 0.25, 0.0, 0.0, 0.0, 2.0, 1.0, -2.0], 3, 3);
        assert_eq!(m.scales, vec![1.0 / 127.0, 0.0, 2.0 / 127.0]);
        assert_eq!(m.sums, vec![64 - 127 + 32, 0, 127 + 64 - 127]);
        let mut row = Vec::new();
        m.dequantize_row(2, &mut row);
        assert_eq!(row, vec![2.0, 64.0 * 2.0 / 127.0, -2.0]);
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
                    portable_products(a, width, w, weight.quads, tile, &mut slow);
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
                        portable_products(&act[(row + r) * width..], width, w, weight.quads, 1, &mut slow);
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
