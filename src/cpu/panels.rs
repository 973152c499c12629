//! What the packed f32 and the int8 products share: the output computed in
//! panels of [`PANEL`] features on every core, and the checks on a linear
//! layer's input as a candle op.

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Result, Shape};
use rayon::prelude::*;

/// Output features per packed panel: three 16-lane vectors.
pub(crate) const PANEL: usize = 48;
/// Activation rows per micro-tile.
pub(super) const TILE_ROWS: usize = 8;

/// The start of the output buffer, shared by the threads that write its panels.
struct OutputStart(*mut MaybeUninit<f32>);
// SAFETY: every thread writes only the columns of its own panels (`by_panels`).
unsafe impl Sync for OutputStart {}

impl OutputStart {
    fn get(&self) -> *mut MaybeUninit<f32> {
        self.0
    }
}

/// The columns of one panel in a row-major `(m, outputs)` output.
pub(super) struct PanelOut<'a> {
    start: *mut MaybeUninit<f32>,
    m: usize,
    outputs: usize,
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
        // SAFETY: row `r` < m and columns `first..first + valid` <= outputs lie
        // in the buffer; only this panel's `PanelOut` reaches these columns, and
        // `&mut self` keeps one row borrowed at a time.
        unsafe { std::slice::from_raw_parts_mut(self.start.add(r * self.outputs + self.first), self.valid) }
    }
}

/// A row-major `(m, outputs)` output whose panels `compute` writes on every
/// core, each panel once.
///
/// # Safety
/// `compute` must write every column of every one of the `m` rows of the
/// panel it is given.
pub(super) unsafe fn by_panels(m: usize, outputs: usize, compute: impl Fn(PanelOut<'_>) + Sync) -> Vec<f32> {
    let panels = outputs.div_ceil(PANEL);
    let mut out: Vec<f32> = Vec::with_capacity(m * outputs);
    let start = OutputStart(out.spare_capacity_mut().as_mut_ptr());
    let threads = rayon::current_num_threads().max(1);
    // A few chunks per thread so that uneven panels still balance.
    let chunk = panels.div_ceil(threads * 4).max(1);
    (0..panels.div_ceil(chunk)).into_par_iter().for_each(|c| {
        for panel in c * chunk..((c + 1) * chunk).min(panels) {
            let first = panel * PANEL;
            let valid = PANEL.min(outputs - first);
            compute(PanelOut { start: start.get(), m, outputs, first, valid, _out: PhantomData });
        }
    });
    // SAFETY: the panels cover every column, and `compute` writes every row of each.
    unsafe { out.set_len(m * outputs) };
    out
}

/// The contiguous f32 input of a `kind` linear layer (`"int8"`, `"packed"`)
/// over `inputs` features, and the shape of its output of `outputs` features.
pub(super) fn linear_input<'a>(
    kind: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
    inputs: usize,
    outputs: usize,
) -> Result<(&'a [f32], Shape)> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{kind} linear layers take f32 inputs, not {:?}", storage.dtype())
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{kind} linear layers take contiguous inputs")
    };
    let mut dims = layout.shape().dims().to_vec();
    match dims.last_mut() {
        Some(last) if *last == inputs => *last = outputs,
        _ => {
            candle_core::bail!(
                "{kind} linear layer of input size {inputs} applied to shape {:?}",
                layout.shape().dims()
            )
        }
    }
    Ok((&data[start..end], Shape::from(dims)))
}
