//! Distance kernels: dot product and squared L2 over f32, f32-vs-f16 and int8 vectors.
//!
//! [`kernels()`] picks the best [`Kernels`] set for this CPU once (runtime feature
//! detection) and hands out plain safe `fn` pointers. [`scalar_kernels()`] is the
//! accurate reference every SIMD set is tested against. Every kernel processes
//! `min(a.len(), b.len())` elements (callers pass equal lengths; debug builds assert it).

use std::sync::OnceLock;

pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;

/// One set of distance kernels for one instruction set.
#[derive(Debug)]
pub struct Kernels {
    /// Instruction set: "scalar", "avx2+fma+f16c", "avx512" or "avx512+vnni".
    pub isa: &'static str,
    /// Dot product.
    pub dot_f32: fn(&[f32], &[f32]) -> f32,
    /// Squared euclidean distance.
    pub l2sq_f32: fn(&[f32], &[f32]) -> f32,
    /// Dot product of an f32 query with a stored f16 vector.
    pub dot_f32_f16: fn(&[f32], &[half::f16]) -> f32,
    /// Squared euclidean distance of an f32 query to a stored f16 vector.
    pub l2sq_f32_f16: fn(&[f32], &[half::f16]) -> f32,
    /// Exact integer dot product.
    pub dot_i8: fn(&[i8], &[i8]) -> i32,
    /// Exact integer squared euclidean distance.
    pub l2sq_i8: fn(&[i8], &[i8]) -> u32,
}

static SCALAR: Kernels = Kernels {
    isa: "scalar",
    dot_f32: scalar::dot_f32,
    l2sq_f32: scalar::l2sq_f32,
    dot_f32_f16: scalar::dot_f32_f16,
    l2sq_f32_f16: scalar::l2sq_f32_f16,
    dot_i8: scalar::dot_i8,
    l2sq_i8: scalar::l2sq_i8,
};

/// The best kernel set for this CPU, chosen on first call.
pub fn kernels() -> &'static Kernels {
    static BEST: OnceLock<&'static Kernels> = OnceLock::new();
    BEST.get_or_init(|| available_kernels().last().copied().unwrap_or(&SCALAR))
}

/// The scalar reference kernels.
pub fn scalar_kernels() -> &'static Kernels {
    &SCALAR
}

/// Every kernel set this CPU can run, worst first (the last one is [`kernels()`]).
pub fn available_kernels() -> Vec<&'static Kernels> {
    #[allow(unused_mut)]
    let mut sets = vec![&SCALAR];
    #[cfg(target_arch = "x86_64")]
    {
        sets.extend(avx2::kernels());
        sets.extend(avx512::kernels());
        sets.extend(avx512::vnni_kernels());
    }
    sets
}

/// Scales `v` in place to unit length; a zero (or non-finite) vector is left unchanged.
pub fn normalize(v: &mut [f32]) {
    let sq = (kernels().dot_f32)(v, v);
    if sq.is_normal() {
        let inv = 1.0 / sq.sqrt();
        v.iter_mut().for_each(|x| *x *= inv);
        return;
    }
    // Zero, subnormal or overflowing sum of squares: redo it in f64.
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
    }
}

/// Hints the CPU to fetch the first (up to 4) cache lines of `data`. No-op off x86_64.
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(data);
        let p = data.as_ptr() as *const i8;
        for line in 0..bytes.div_ceil(64).min(4) {
            // SAFETY: prefetch is only a hint and never faults (SSE is baseline on
            // x86_64); the address stays inside the slice since line * 64 < bytes.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_set_matches_scalar_for_every_length() {
        for (i, k) in available_kernels().into_iter().enumerate() {
            scalar::testutil::check_against_scalar(k, 0xC0FFEE + i as u64);
        }
    }

    #[test]
    fn dispatcher_picks_the_last_available_set() {
        assert_eq!(kernels().isa, available_kernels().last().unwrap().isa);
        assert_eq!(available_kernels()[0].isa, "scalar");
    }

    #[test]
    fn normalize_gives_unit_norm_and_keeps_zero() {
        let mut rng = scalar::testutil::Rng::new(7);
        for n in 1..=300 {
            let mut v: Vec<f32> = (0..n).map(|_| rng.f32() * 50.0).collect();
            normalize(&mut v);
            let norm = (scalar::dot_f32(&v, &v) as f64).sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "n={n}: norm {norm}");
        }
        for n in 0..=40 {
            let mut z = vec![0.0f32; n];
            normalize(&mut z);
            assert!(z.iter().all(|&x| x == 0.0));
        }
        let mut tiny = vec![1e-30f32, 0.0, -1e-30];
        normalize(&mut tiny);
        assert!(
            (tiny[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6,
            "{tiny:?}"
        );
        let mut huge = vec![3e30f32, 4e30];
        normalize(&mut huge);
        assert!(
            (huge[0] - 0.6).abs() < 1e-6 && (huge[1] - 0.8).abs() < 1e-6,
            "{huge:?}"
        );
    }

    #[test]
    fn prefetch_accepts_any_slice() {
        prefetch::<f32>(&[]);
        prefetch(&[1u8]);
        prefetch(&vec![0.0f32; 1000]);
    }

    proptest! {
        #[test]
        fn prop_all_sets_match_scalar(
            pairs in prop::collection::vec((-1e3f32..1e3, -1e3f32..1e3), 0..600),
            ints in prop::collection::vec((any::<i8>(), any::<i8>()), 0..600),
        ) {
            let (a, b): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            let h: Vec<half::f16> = b.iter().map(|&x| half::f16::from_f32(x)).collect();
            let (x, y): (Vec<i8>, Vec<i8>) = ints.into_iter().unzip();
            let s = scalar_kernels();
            let mag: f32 = a.iter().zip(&b).map(|(p, q)| (p * q).abs() + (p - q) * (p - q)).sum();
            let tol = 1e-4 * mag + 1e-3;
            for k in available_kernels() {
                prop_assert!(((k.dot_f32)(&a, &b) - (s.dot_f32)(&a, &b)).abs() <= tol);
                prop_assert!(((k.l2sq_f32)(&a, &b) - (s.l2sq_f32)(&a, &b)).abs() <= tol);
                prop_assert!(((k.dot_f32_f16)(&a, &h) - (s.dot_f32_f16)(&a, &h)).abs() <= tol);
                prop_assert!(((k.l2sq_f32_f16)(&a, &h) - (s.l2sq_f32_f16)(&a, &h)).abs() <= tol);
                // Exact over the full i8 range, -128 included.
                prop_assert_eq!((k.dot_i8)(&x, &y), (s.dot_i8)(&x, &y));
                prop_assert_eq!((k.l2sq_i8)(&x, &y), (s.l2sq_i8)(&x, &y));
            }
        }
    }
}
