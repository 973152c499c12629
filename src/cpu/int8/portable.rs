//! The integer products in plain Rust, for CPUs without VNNI: the reference
//! the SIMD kernels are tested against.

use super::{PANEL, QUAD_BYTES, TILE_ROWS};

/// [`super::products`] without SIMD.
pub(super) fn products(
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
