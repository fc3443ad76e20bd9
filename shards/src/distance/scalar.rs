//! Scalar reference kernels: plain loops, f32 products accumulated in f64 and integer
//! products in 64 bits, so SIMD results are compared against a precise value. Runs on
//! every architecture.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::testutil::{check_against_scalar, Rng};
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
