//! Scalar reference kernels: plain loops, f32 products accumulated in f64 and integer
//! products in 64 bits, so SIMD results are compared against a precise value. Runs on
//! every architecture. Also holds `testutil`, the shared test that compares a kernel set
//! with this reference.

use half::f16;

/// Dot product (accumulated in f64).
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum::<f64>() as f32
}

/// Squared euclidean distance (accumulated in f64).
pub fn l2sq_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>() as f32
}

/// Dot product of an f32 query with a stored f16 vector.
pub fn dot_f32_f16(a: &[f32], b: &[f16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, y)| x as f64 * y.to_f64())
        .sum::<f64>() as f32
}

/// Squared euclidean distance of an f32 query to a stored f16 vector.
pub fn l2sq_f32_f16(a: &[f32], b: &[f16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, y)| (x as f64 - y.to_f64()).powi(2))
        .sum::<f64>() as f32
}

/// Exact integer dot product.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| x as i64 * y as i64)
        .sum::<i64>() as i32
}

/// Exact integer squared euclidean distance.
pub fn l2sq_i8(a: &[i8], b: &[i8]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as i64 - y as i64).pow(2))
        .sum::<i64>() as u32
}

/// Shared checks of a kernel set against the scalar reference (used by every file's tests).
#[cfg(test)]
pub(crate) mod testutil {
    use crate::distance::{scalar_kernels, Kernels};
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
    use super::testutil::{check_against_scalar, Rng};
    use super::*;
    use crate::distance::{available_kernels, scalar_kernels};

    #[test]
    fn known_values() {
        assert_eq!(dot_f32(&[], &[]), 0.0);
        assert_eq!(dot_f32(&[1.0, 2.0, 3.0], &[4.0, -5.0, 6.0]), 12.0);
        assert_eq!(l2sq_f32(&[1.0, 2.0], &[4.0, -2.0]), 25.0);
        let h = [f16::from_f32(0.5), f16::from_f32(-2.0)];
        assert_eq!(dot_f32_f16(&[4.0, 1.0], &h), 0.0);
        assert_eq!(l2sq_f32_f16(&[1.5, 0.0], &h), 5.0);
        assert_eq!(
            dot_i8(&[127, -128, 3], &[-127, -128, 2]),
            -16129 + 16384 + 6
        );
        assert_eq!(l2sq_i8(&[127, -128], &[-128, 127]), 2 * 255 * 255);
    }

    #[test]
    fn precise_where_naive_f32_sums_lose_bits() {
        // 1e8 + 1 - 1e8 loses the 1 in f32 but not in the f64 reference.
        assert_eq!(dot_f32(&[1e4, 1.0, -1e4], &[1e4, 1.0, 1e4]), 1.0);
    }

    #[test]
    fn i8_extremes_at_the_largest_dimension() {
        let n = crate::limits::DIM_MAX;
        let (p, m) = (vec![127i8; n], vec![-127i8; n]);
        assert_eq!(dot_i8(&p, &m) as i64, -127 * 127 * n as i64);
        assert_eq!(l2sq_i8(&p, &m) as u64, 254 * 254 * n as u64);
        for k in available_kernels() {
            assert_eq!((k.dot_i8)(&p, &m), dot_i8(&p, &m), "{}", k.isa);
            assert_eq!((k.l2sq_i8)(&p, &m), l2sq_i8(&p, &m), "{}", k.isa);
        }
    }

    #[test]
    fn every_set_matches_scalar_for_every_length() {
        // The reference itself must pass, then every SIMD set this CPU runs.
        check_against_scalar(scalar_kernels(), 11);
        for k in available_kernels() {
            check_against_scalar(k, 12);
        }
        let mut rng = Rng::new(3);
        let a: Vec<f32> = (0..100).map(|_| rng.f32()).collect();
        assert_eq!(dot_f32(&a, &a), l2sq_f32(&a, &vec![0.0; 100]));
    }
}
