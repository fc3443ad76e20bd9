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

/// Shared checks of a kernel set against the scalar reference (used by every file's tests).
#[cfg(test)]
pub(crate) mod testutil {
    use super::{scalar_kernels, Kernels};
    use half::f16;

    /// xorshift64*: a seeded generator, so failures reproduce.
    pub(crate) struct Rng(u64);
    impl Rng {
        pub(crate) fn new(seed: u64) -> Self {
            Rng(seed | 1)
        }
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Uniform in [-1, 1).
        pub(crate) fn f32(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
        /// In -127..=127, with the extremes drawn often.
        pub(crate) fn i8(&mut self) -> i8 {
            match self.next() % 8 {
                0 => 127,
                1 => -127,
                _ => ((self.next() % 255) as i32 - 127) as i8,
            }
        }
    }

    fn close(isa: &str, what: &str, n: usize, got: f32, want: f32, mag: f64) {
        let tol = 1e-4 * mag + 1e-30;
        assert!(
            ((got as f64) - (want as f64)).abs() <= tol,
            "{isa} {what} n={n}: got {got}, want {want} (magnitude {mag})"
        );
    }

    /// Compares `k` with the scalar reference for every length 0..=1024, with random
    /// values at odd offsets, and with ±127 everywhere for the int8 kernels.
    pub(crate) fn check_against_scalar(k: &Kernels, seed: u64) {
        let s = scalar_kernels();
        let mut rng = Rng::new(seed);
        let scale = [1.0f32, 1e-3, 1e3];
        for n in 0..=1024usize {
            let off = n % 3;
            let sc = scale[n % 3];
            let a: Vec<f32> = (0..n + off).map(|_| rng.f32() * sc).collect();
            let b: Vec<f32> = (0..n + off).map(|_| rng.f32() * sc).collect();
            let (a, b) = (&a[off..], &b[off..]);
            let h: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
            let hf: Vec<f32> = h.iter().map(|x| x.to_f32()).collect();
            let mag = |b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(&x, &y)| (x as f64 * y as f64).abs())
                    .sum()
            };
            let l2 = |b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
                    .sum()
            };
            close(
                k.isa,
                "dot_f32",
                n,
                (k.dot_f32)(a, b),
                (s.dot_f32)(a, b),
                mag(b),
            );
            close(
                k.isa,
                "l2sq_f32",
                n,
                (k.l2sq_f32)(a, b),
                (s.l2sq_f32)(a, b),
                l2(b),
            );
            let (got, want) = ((k.dot_f32_f16)(a, &h), (s.dot_f32_f16)(a, &h));
            close(k.isa, "dot_f32_f16", n, got, want, mag(&hf));
            let (got, want) = ((k.l2sq_f32_f16)(a, &h), (s.l2sq_f32_f16)(a, &h));
            close(k.isa, "l2sq_f32_f16", n, got, want, l2(&hf));

            let x: Vec<i8> = (0..n + off).map(|_| rng.i8()).collect();
            let y: Vec<i8> = (0..n + off).map(|_| rng.i8()).collect();
            let (x, y) = (&x[off..], &y[off..]);
            assert_eq!((k.dot_i8)(x, y), (s.dot_i8)(x, y), "{} dot_i8 n={n}", k.isa);
            assert_eq!(
                (k.l2sq_i8)(x, y),
                (s.l2sq_i8)(x, y),
                "{} l2sq_i8 n={n}",
                k.isa
            );

            let (p, m) = (vec![127i8; n], vec![-127i8; n]);
            let sq = 127 * 127 * n as i64;
            assert_eq!(
                (k.dot_i8)(&p, &m) as i64,
                -sq,
                "{} dot_i8 extremes n={n}",
                k.isa
            );
            assert_eq!(
                (k.dot_i8)(&m, &m) as i64,
                sq,
                "{} dot_i8 extremes n={n}",
                k.isa
            );
            assert_eq!(
                (k.dot_i8)(&p, &p) as i64,
                sq,
                "{} dot_i8 extremes n={n}",
                k.isa
            );
            assert_eq!(
                (k.l2sq_i8)(&p, &m) as i64,
                4 * sq,
                "{} l2sq_i8 extremes n={n}",
                k.isa
            );
            assert_eq!(
                (k.l2sq_i8)(&m, &p) as i64,
                4 * sq,
                "{} l2sq_i8 extremes n={n}",
                k.isa
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_set_matches_scalar_for_every_length() {
        for (i, k) in available_kernels().into_iter().enumerate() {
            testutil::check_against_scalar(k, 0xC0FFEE + i as u64);
        }
    }

    #[test]
    fn dispatcher_picks_the_last_available_set() {
        assert_eq!(kernels().isa, available_kernels().last().unwrap().isa);
        assert_eq!(available_kernels()[0].isa, "scalar");
    }

    #[test]
    fn normalize_gives_unit_norm_and_keeps_zero() {
        let mut rng = testutil::Rng::new(7);
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

    /// `cargo test -p kektordb-shards --release --lib distance::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing_384() {
        use std::hint::black_box;
        use std::time::Instant;
        let mut rng = testutil::Rng::new(1);
        let a: Vec<f32> = (0..384).map(|_| rng.f32()).collect();
        let b: Vec<f32> = (0..384).map(|_| rng.f32()).collect();
        let h: Vec<half::f16> = b.iter().map(|&x| half::f16::from_f32(x)).collect();
        let x: Vec<i8> = (0..384).map(|_| rng.i8()).collect();
        let y: Vec<i8> = (0..384).map(|_| rng.i8()).collect();
        // Best of 20 rounds, to shrug off other load on the machine.
        const N: u32 = 100_000;
        let time = |f: &dyn Fn() -> f32| {
            let round = || {
                let t = Instant::now();
                for _ in 0..N {
                    black_box(f());
                }
                t.elapsed().as_nanos() as f64 / N as f64
            };
            (0..20).map(|_| round()).fold(f64::INFINITY, f64::min)
        };
        for k in available_kernels() {
            println!(
                "{:>14}: dot_f32 {:5.1} ns  l2sq_f32 {:5.1}  dot_f32_f16 {:5.1}  dot_i8 {:5.1}  l2sq_i8 {:5.1}",
                k.isa,
                time(&|| (k.dot_f32)(black_box(&a), black_box(&b))),
                time(&|| (k.l2sq_f32)(black_box(&a), black_box(&b))),
                time(&|| (k.dot_f32_f16)(black_box(&a), black_box(&h))),
                time(&|| (k.dot_i8)(black_box(&x), black_box(&y)) as f32),
                time(&|| (k.l2sq_i8)(black_box(&x), black_box(&y)) as f32),
            );
        }
    }
}
