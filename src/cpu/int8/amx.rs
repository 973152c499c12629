//! The integer products on Intel AMX tiles (`tdpbusd`: unsigned activation
//! bytes times signed weight bytes, summed exactly in `i32`), with the
//! panels as they are packed: a B tile is 16 groups of four input features
//! of 16 output features, read 192 bytes apart. The sums are the ones the
//! VNNI and portable loops compute.

use std::arch::asm;

use super::{AMX_ROWS, PANEL, QUAD_BYTES};

/// Groups of four input features per tile step (64 bytes).
pub(super) const QUADS: usize = 16;

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
    /// [`isa::amx_int8`](super::isa::amx_int8) must hold.
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
    pub(super) unsafe fn products(&self, act: &[u8], width: usize, weights: &[i8], acc: &mut [[i32; PANEL]; AMX_ROWS]) {
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
