//! Elementwise math written to vectorize: an `exp` without float-to-integer
//! conversions, SiLU on every core with it, and [`widest!`], which compiles such
//! loops for the widest vectors the CPU has.

use rayon::prelude::*;

/// Defines `fn $name(args) -> ret` that calls the `#[inline(always)]` function
/// `$body` compiled for AVX-512 F where the CPU has it, else for AVX2, else
/// as built. The bodies use no fused operations, so every variant gives the
/// same results; only the vector width changes.
macro_rules! widest {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512 F.
                    return unsafe { avx512($($arg),*) };
                }
                if is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use widest;

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
pub(crate) fn silu_in_place(values: &mut [f32]) {
    const CHUNK: usize = 16 * 1024;
    values.par_chunks_mut(CHUNK).for_each(silu_chunk);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silu_matches_the_definition() {
        let input: Vec<f32> = (-2000..=2000).map(|i| i as f32 / 20.0).chain([-1e30, 1e30, 0.0, -0.0]).collect();
        let mut got = input.clone();
        silu_in_place(&mut got);
        for (&x, &y) in input.iter().zip(&got) {
            let want = f64::from(x) / (1.0 + (-f64::from(x)).exp());
            // Relative, except where e^-|x| is below f32's normal range (x < -87),
            // which gives 0.
            let tolerance = (4.0 * f64::from(f32::EPSILON) * want.abs()).max(1e-35);
            assert!((f64::from(y) - want).abs() <= tolerance, "silu({x}) = {y}, want {want}");
        }
    }
}
