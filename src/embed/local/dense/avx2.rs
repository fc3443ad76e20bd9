//! The AVX2+FMA dense-layer kernel (x86_64 only, for CPUs without AVX-512): tiles of
//! 3 token rows × 32 features of a panel in 12 ymm accumulators (16 registers in all).
//! The `unsafe fn` needs AVX2 and FMA; the safe wrapper is only handed out by
//! [`kernel`], which detects both first, and checks every slice bound the kernel's
//! pointers reach. Each tile starts from and ends in a stack buffer.

use super::{Kernel, Tile, PANEL};
use std::arch::x86_64::*;

/// The kernel if this CPU has AVX2 and FMA.
pub fn kernel() -> Option<Kernel> {
    (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(run as Kernel)
}

fn run(t: &Tile, dst: &mut [f32], ld: usize, width: usize) {
    t.check(dst, ld, width);
    let rows = t.rows;
    let mut r = 0;
    while r < rows {
        let n = (rows - r).min(3);
        // A panel in strips of 32 features (12 accumulators, 16 registers in all).
        for strip in (0..width).step_by(32) {
            let cols = (width - strip).min(32);
            // The accumulators start from the bias or from what dst holds.
            let mut out = [[0.0f32; 32]; 3];
            for (i, o) in out.iter_mut().take(n).enumerate() {
                match t.bias {
                    Some(b) => o.copy_from_slice(&b[strip..strip + 32]),
                    None => {
                        let at = (r + i) * ld + strip;
                        o[..cols].copy_from_slice(&dst[at..at + cols]);
                    }
                }
            }
            // SAFETY: only reachable after `kernel()` detected AVX2 and FMA; the
            // checks above bound the reads of x (k inputs of rows r..r+n, stride
            // xs) and of w (k·PANEL, columns strip..strip+32 <= PANEL of each input
            // index); `out` is local.
            unsafe {
                tile(
                    t.x.as_ptr().add(r * t.xs),
                    t.xs,
                    n,
                    t.k,
                    t.w.as_ptr().add(strip),
                    &mut out,
                )
            };
            for (i, o) in out.iter().take(n).enumerate() {
                let at = (r + i) * ld + strip;
                dst[at..at + cols].copy_from_slice(&o[..cols]);
            }
        }
        r += n;
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn tile(
    x: *const f32,
    stride: usize,
    n: usize,
    k: usize,
    w: *const f32,
    out: &mut [[f32; 32]; 3],
) {
    let mut acc = [[_mm256_setzero_ps(); 4]; 3];
    for (a, o) in acc.iter_mut().zip(out.iter()) {
        for (q, v) in a.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(o.as_ptr().add(q * 8));
        }
    }
    for j in 0..k {
        let wv = [
            _mm256_loadu_ps(w.add(j * PANEL)),
            _mm256_loadu_ps(w.add(j * PANEL + 8)),
            _mm256_loadu_ps(w.add(j * PANEL + 16)),
            _mm256_loadu_ps(w.add(j * PANEL + 24)),
        ];
        // Rows past `n` read row 0 again (always in bounds) and are dropped.
        for (r, a) in acc.iter_mut().enumerate() {
            let row = if r < n { r } else { 0 };
            let xv = _mm256_set1_ps(*x.add(row * stride + j));
            for (q, v) in a.iter_mut().zip(&wv) {
                *q = _mm256_fmadd_ps(xv, *v, *q);
            }
        }
    }
    for (a, o) in acc.iter().zip(out.iter_mut()) {
        for (q, v) in a.iter().enumerate() {
            _mm256_storeu_ps(o.as_mut_ptr().add(q * 8), *v);
        }
    }
}
