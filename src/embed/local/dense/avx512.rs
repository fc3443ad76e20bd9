//! The AVX-512 dense-layer kernel (x86_64 only): a tile of R ≤ 12 token rows × one
//! 32-feature panel in 2R zmm accumulators, each input index one broadcast and two
//! FMAs per row. The `unsafe fn` needs AVX-512 F; the safe wrapper is only handed out
//! by [`kernel`], which detects it first, and checks every slice bound the kernel's
//! pointers reach. `bias` is null when the tile adds to what `dst` holds.

use super::{Kernel, Tile, PANEL};
use std::arch::x86_64::*;

/// The kernel if this CPU has AVX-512 F.
pub fn kernel() -> Option<Kernel> {
    is_x86_feature_detected!("avx512f").then_some(run as Kernel)
}

fn run(t: &Tile, dst: &mut [f32], ld: usize, width: usize) {
    t.check(dst, ld, width);
    let (x, xs, k, w, d) = (t.x.as_ptr(), t.xs, t.k, t.w.as_ptr(), dst.as_mut_ptr());
    let b = t.bias.map_or(std::ptr::null(), <[f32]>::as_ptr);
    macro_rules! tiles {
        ($($r:literal)*) => {
            match t.rows {
                // SAFETY: only reachable after `kernel()` detected AVX-512 F; the
                // checks above bound every read (x: k of each row of stride xs,
                // w: k·PANEL, bias:
                // PANEL when not null, else dst as written) and every write (the first
                // `width` columns of `rows` rows of stride `ld`, masked), and `dst` is
                // borrowed mutably, so it aliases no input.
                $($r => unsafe { tile::<$r>(x, xs, k, w, b, d, ld, width) },)*
                _ => unreachable!("rows checked above"),
            }
        };
    }
    tiles!(1 2 3 4 5 6);
}

/// zmm registers per panel row.
const SEGS: usize = PANEL / 16;

#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const R: usize>(
    x: *const f32,
    xs: usize,
    k: usize,
    w: *const f32,
    bias: *const f32,
    dst: *mut f32,
    ld: usize,
    width: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); SEGS]; R];
    for (r, a) in acc.iter_mut().enumerate() {
        for (q, v) in a.iter_mut().enumerate() {
            let lanes = width.saturating_sub(16 * q).min(16);
            *v = if !bias.is_null() {
                _mm512_loadu_ps(bias.add(16 * q))
            } else if lanes > 0 {
                let mask = ((1u32 << lanes) - 1) as __mmask16;
                _mm512_maskz_loadu_ps(mask, dst.add(r * ld + 16 * q))
            } else {
                _mm512_setzero_ps()
            };
        }
    }
    for j in 0..k {
        let mut wv = [_mm512_setzero_ps(); SEGS];
        for (q, v) in wv.iter_mut().enumerate() {
            *v = _mm512_loadu_ps(w.add(j * PANEL + 16 * q));
        }
        for (r, a) in acc.iter_mut().enumerate() {
            let xv = _mm512_set1_ps(*x.add(r * xs + j));
            for (q, v) in a.iter_mut().zip(&wv) {
                *q = _mm512_fmadd_ps(xv, *v, *q);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        for (q, v) in a.iter().enumerate() {
            let lanes = width.saturating_sub(16 * q).min(16);
            if lanes > 0 {
                let mask = ((1u32 << lanes) - 1) as __mmask16;
                _mm512_mask_storeu_ps(dst.add(r * ld + 16 * q), mask, *v);
            }
        }
    }
}
