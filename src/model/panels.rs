//! What the packed f32 and the int8 products share: the output computed in
//! panels of [`PANEL`] features on every core, and the checks on a linear
//! layer's input as a candle op.

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Result, Shape};
use rayon::prelude::*;

/// Output features per packed panel: three 16-lane vectors.
pub(super) const PANEL: usize = 48;
/// Activation rows per micro-tile.
pub(super) const TILE_ROWS: usize = 8;

/// Whether the CPU has AVX-512 F.
pub(super) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(|| is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The output buffer, shared by the threads that write its panels.
struct Base(*mut MaybeUninit<f32>);
// SAFETY: every thread writes only the columns of its own panels (`by_panels`).
unsafe impl Sync for Base {}

impl Base {
    fn get(&self) -> *mut MaybeUninit<f32> {
        self.0
    }
}

/// The columns of one panel in a row-major `(m, rows)` output.
pub(super) struct PanelOut<'a> {
    base: *mut MaybeUninit<f32>,
    m: usize,
    rows: usize,
    first: usize,
    valid: usize,
    _out: PhantomData<&'a mut [MaybeUninit<f32>]>,
}

impl PanelOut<'_> {
    /// Index of the panel's first output feature.
    pub(super) fn first(&self) -> usize {
        self.first
    }

    /// Number of output features in the panel (fewer than [`PANEL`] at the end).
    pub(super) fn valid(&self) -> usize {
        self.valid
    }

    /// The panel's columns of output row `r`.
    pub(super) fn row(&mut self, r: usize) -> &mut [MaybeUninit<f32>] {
        assert!(r < self.m, "output row {r} out of {}", self.m);
        // SAFETY: row `r` < m and columns `first..first + valid` <= rows lie in
        // the buffer; only this panel's `PanelOut` reaches these columns, and
        // `&mut self` keeps one row borrowed at a time.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(r * self.rows + self.first), self.valid) }
    }
}

/// A row-major `(m, rows)` output whose panels `compute` writes on every core,
/// each panel once.
///
/// # Safety
/// `compute` must write every column of every one of the `m` rows of the
/// panel it is given.
pub(super) unsafe fn by_panels(m: usize, rows: usize, compute: impl Fn(PanelOut<'_>) + Sync) -> Vec<f32> {
    let panels = rows.div_ceil(PANEL);
    let mut out: Vec<f32> = Vec::with_capacity(m * rows);
    let base = Base(out.spare_capacity_mut().as_mut_ptr());
    let threads = rayon::current_num_threads().max(1);
    // A few chunks per thread so that uneven panels still balance.
    let chunk = panels.div_ceil(threads * 4).max(1);
    (0..panels.div_ceil(chunk)).into_par_iter().for_each(|c| {
        for panel in c * chunk..((c + 1) * chunk).min(panels) {
            let first = panel * PANEL;
            compute(PanelOut { base: base.get(), m, rows, first, valid: PANEL.min(rows - first), _out: PhantomData });
        }
    });
    // SAFETY: the panels cover every column, and `compute` writes every row of each.
    unsafe { out.set_len(m * rows) };
    out
}

/// The contiguous f32 input of a `kind` linear layer (`"int8"`, `"packed"`)
/// over `cols` features, and the shape of its output of `rows` features.
pub(super) fn linear_input<'a>(
    kind: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
    cols: usize,
    rows: usize,
) -> Result<(&'a [f32], Shape)> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{kind} linear layers take f32 inputs, not {:?}", storage.dtype())
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{kind} linear layers take contiguous inputs")
    };
    let mut dims = layout.shape().dims().to_vec();
    match dims.last_mut() {
        Some(last) if *last == cols => *last = rows,
        _ => {
            candle_core::bail!("{kind} linear layer of input size {cols} applied to shape {:?}", layout.shape().dims())
        }
    }
    Ok((&data[start..end], Shape::from(dims)))
}
