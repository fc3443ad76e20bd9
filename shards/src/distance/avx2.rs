//! AVX2 + FMA + F16C kernels (x86_64 only): f32 with 4 independent 8-lane FMA
//! accumulators, f16 widened with `vcvtph2ps`, int8 widened to i16 and multiplied with
//! `vpmaddwd` (differences squared the same way for L2). Scalar loops finish the tails.
//!
//! The `unsafe fn`s need AVX2, FMA and F16C; the safe wrappers are private and only
//! reachable through [`kernels()`], which detects those features first.

use super::Kernels;
use half::f16;
use std::arch::x86_64::*;

static KERNELS: Kernels = Kernels {
    isa: "avx2+fma+f16c",
    dot_f32,
    l2sq_f32,
    dot_f32_f16,
    l2sq_f32_f16,
    dot_i8,
    l2sq_i8,
};

/// The AVX2 set if this CPU has AVX2, FMA and F16C.
pub fn kernels() -> Option<&'static Kernels> {
    let ok = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c");
    ok.then_some(&KERNELS)
}

macro_rules! wrap {
    ($name:ident, $imp:expr, $a:ty, $b:ty, $r:ty) => {
        fn $name(a: &[$a], b: &[$b]) -> $r {
            debug_assert_eq!(a.len(), b.len());
            // SAFETY: this private fn is only reachable through KERNELS, which kernels()
            // returns only after detecting avx2, fma and f16c.
            unsafe { $imp(a, b) }
        }
    };
}
wrap!(dot_f32, f32_kernel::<false>, f32, f32, f32);
wrap!(l2sq_f32, f32_kernel::<true>, f32, f32, f32);
wrap!(dot_f32_f16, f16_kernel::<false>, f32, f16, f32);
wrap!(l2sq_f32_f16, f16_kernel::<true>, f32, f16, f32);
wrap!(dot_i8, i8_kernel::<false>, i8, i8, i32);
wrap!(l2sq_i8, l2sq_i8_bits, i8, i8, u32);

/// SAFETY: needs AVX2 + FMA; reads nothing.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn step<const L2: bool>(acc: __m256, x: __m256, y: __m256) -> __m256 {
    if L2 {
        let d = _mm256_sub_ps(x, y);
        _mm256_fmadd_ps(d, d, acc)
    } else {
        _mm256_fmadd_ps(x, y, acc)
    }
}

/// SAFETY: needs AVX2; reads nothing.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// SAFETY: needs AVX2; reads nothing. Wrapping sum of the 8 lanes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// SAFETY: needs F16C; the caller guarantees `p` points to 8 readable f16.
#[target_feature(enable = "avx2,f16c")]
#[inline]
unsafe fn load_f16(p: *const u16) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p.cast()))
}

/// Products (L2 = false) or squared differences (L2 = true) of 16 int8 pairs, summed
/// pairwise into 8 i32 lanes.
/// SAFETY: needs AVX2; the caller guarantees `pa` and `pb` point to 16 readable bytes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn madd16<const L2: bool>(pa: *const i8, pb: *const i8) -> __m256i {
    let x = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa.cast()));
    let y = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb.cast()));
    if L2 {
        let d = _mm256_sub_epi16(x, y);
        _mm256_madd_epi16(d, d)
    } else {
        _mm256_madd_epi16(x, y)
    }
}

/// Dot (L2 = false) or squared L2 (L2 = true) over f32.
/// SAFETY: needs AVX2 + FMA; every load covers elements i..i+8 with i + 8 <= n.
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_kernel<const L2: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let j = i + 8 * k;
            *acc = step::<L2>(*acc, _mm256_loadu_ps(pa.add(j)), _mm256_loadu_ps(pb.add(j)));
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = step::<L2>(
            acc[0],
            _mm256_loadu_ps(pa.add(i)),
            _mm256_loadu_ps(pb.add(i)),
        );
        i += 8;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut s = hsum_ps(sum);
    for (&x, &y) in a[i..n].iter().zip(&b[i..n]) {
        s += if L2 { (x - y) * (x - y) } else { x * y };
    }
    s
}

/// Dot or squared L2 of an f32 query with an f16 vector.
/// SAFETY: needs AVX2 + FMA + F16C; every load covers elements i..i+8 with i + 8 <= n
/// (8 f16 = 16 bytes; `f16` is a transparent `u16`).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_kernel<const L2: bool>(a: &[f32], b: &[f16]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr() as *const u16);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let j = i + 8 * k;
            *acc = step::<L2>(*acc, _mm256_loadu_ps(pa.add(j)), load_f16(pb.add(j)));
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = step::<L2>(acc[0], _mm256_loadu_ps(pa.add(i)), load_f16(pb.add(i)));
        i += 8;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut s = hsum_ps(sum);
    for (&x, y) in a[i..n].iter().zip(&b[i..n]) {
        let y = y.to_f32();
        s += if L2 { (x - y) * (x - y) } else { x * y };
    }
    s
}

/// Dot (L2 = false) or squared L2 bits (L2 = true) over int8, exact (wrapping i32 lanes).
/// SAFETY: needs AVX2; every load covers bytes i..i+16 with i + 16 <= n.
#[target_feature(enable = "avx2")]
unsafe fn i8_kernel<const L2: bool>(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    while i + 32 <= n {
        acc0 = _mm256_add_epi32(acc0, madd16::<L2>(pa.add(i), pb.add(i)));
        acc1 = _mm256_add_epi32(acc1, madd16::<L2>(pa.add(i + 16), pb.add(i + 16)));
        i += 32;
    }
    if i + 16 <= n {
        acc0 = _mm256_add_epi32(acc0, madd16::<L2>(pa.add(i), pb.add(i)));
        i += 16;
    }
    let mut s = hsum_epi32(_mm256_add_epi32(acc0, acc1));
    for (&x, &y) in a[i..n].iter().zip(&b[i..n]) {
        let d = if L2 {
            (x as i32 - y as i32).pow(2)
        } else {
            x as i32 * y as i32
        };
        s = s.wrapping_add(d);
    }
    s
}

/// SAFETY: needs AVX2. Lanes hold non-negative partial sums; reading the wrapping i32
/// total as u32 is exact whenever the true distance fits u32.
#[target_feature(enable = "avx2")]
unsafe fn l2sq_i8_bits(a: &[i8], b: &[i8]) -> u32 {
    i8_kernel::<true>(a, b) as u32
}

#[cfg(test)]
mod tests {
    use crate::distance::scalar::testutil::check_against_scalar;

    #[test]
    fn avx2_matches_scalar_for_every_length() {
        match super::kernels() {
            Some(k) => check_against_scalar(k, 0xA2),
            None => eprintln!("avx2+fma+f16c not detected; skipped"),
        }
    }
}
