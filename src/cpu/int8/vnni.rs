//! The integer products on AVX-512 VNNI (`vpdpbusd`: unsigned activation
//! bytes times signed weight bytes, summed exactly in `i32`).

use std::arch::x86_64::*;

use super::{PANEL, QUAD_BYTES, TILE_ROWS};

/// `i32` lanes of a vector.
const LANES: usize = 16;
/// Vectors per panel.
const VECS: usize = PANEL / LANES;

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
