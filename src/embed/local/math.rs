//! The element-wise parts of the forward pass, written so the compiler vectorizes
//! them: sums with eight accumulators (a single `f32` accumulator is a chain of
//! dependent adds the compiler may not reorder), and branch-free `exp` and `erf`
//! (library calls do not vectorize). Each is tested against a plain reference.

const LANES: usize = 8;

/// The sum of `xs`, in eight interleaved partial sums.
#[inline]
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// The largest element of `xs` (`-inf` when empty).
#[inline]
fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a = if *x > *a { *x } else { *a };
        }
    }
    acc.iter()
        .chain(chunks.remainder())
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// LayerNorm of one row in place: `(x - mean) / sqrt(var + eps) * weight + bias`.
pub fn layer_norm(row: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let mut acc = [0.0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += (x - mean) * (x - mean);
        }
    }
    let rest: f32 = chunks
        .remainder()
        .iter()
        .map(|x| (x - mean) * (x - mean))
        .sum();
    let var = (acc.iter().sum::<f32>() + rest) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(weight).zip(bias) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// Softmax of one row in place.
pub fn softmax(row: &mut [f32]) {
    let m = max(row);
    for v in row.iter_mut() {
        *v = exp(*v - m);
    }
    let inv = 1.0 / sum(row);
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `e^x` for x <= 0 (softmax's range; larger x is clamped to 0), branch-free:
/// x = n ln 2 + r with |r| <= ln2/2, e^r by the Cephes degree-6 polynomial, 2^n put
/// in the exponent bits. Relative error about 2e-7; below -87 it returns e^-87 (about 1.6e-38, the
/// smallest normal f32), which is 0 for every sum softmax makes.
#[inline]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 0.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let er = p * r * r + r + 1.0;
    let scale = f32::from_bits((((n as i32) + 127) as u32) << 23);
    er * scale
}

/// GELU as BERT defines it: `x * Φ(x)` with the normal CDF, `Φ(x) = (1 +
/// erf(x / √2)) / 2`, over a slice.
pub fn gelu(xs: &mut [f32]) {
    for v in xs.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf in single precision without branches: a rational approximation on [-4, 4]
/// (odd degree-13 numerator, even degree-8 denominator; the coefficients Eigen and
/// TensorFlow use; plain multiply-adds, as `mul_add` without a compile-time FMA is
/// a library call), ±1 outside, where single precision cannot tell erf from ±1. Max
/// error about 1e-7 (tested against libm's `erff`); libm's own is ~15x slower per
/// call, and GELU's erf was a third of the embedder's time.
#[inline]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    p / q
}

#[cfg(test)]
mod tests {
    //! Against plain references (f64 sums, libm's erf, std's exp).
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = kektordb_shards::rng::SplitMix64(seed);
        (0..n)
            .map(|_| (rng.next_u64() % 20_000) as f32 / 1000.0 - 10.0)
            .collect()
    }

    #[test]
    fn erf_matches_libm() {
        let mut worst = 0.0f32;
        for i in -80_000..=80_000 {
            let x = i as f32 / 10_000.0;
            worst = worst.max((erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 1e-6, "max error {worst}");
    }

    #[test]
    fn exp_matches_std() {
        let mut worst = 0.0f32;
        for i in 0..=870_000 {
            let x = -(i as f32) / 10_000.0;
            let want = x.exp();
            let got = exp(x);
            if want > 1e-30 {
                worst = worst.max(((got - want) / want).abs());
            } else {
                assert!(got < 1e-29, "{x}: {got}");
            }
        }
        assert!(worst < 1e-6, "max relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1.7e-38 && exp(-1000.0) > 0.0);
    }

    #[test]
    fn gelu_values() {
        let mut xs = [0.0f32, 1.0, -1.0, 3.0];
        gelu(&mut xs);
        for (got, want) in xs.iter().zip([0.0f32, 0.841_345, -0.158_655, 2.995_95]) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn sums_and_norms_match_the_reference() {
        for n in [0usize, 1, 7, 8, 9, 31, 384, 385] {
            let xs = data(n, n as u64 + 1);
            let want: f64 = xs.iter().map(|&x| x as f64).sum();
            assert!((sum(&xs) as f64 - want).abs() < 1e-3, "sum of {n}");
            if n == 0 {
                continue;
            }
            let mut s = xs.clone();
            softmax(&mut s);
            let m = xs.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x as f64));
            let z: f64 = xs.iter().map(|&x| (x as f64 - m).exp()).sum();
            for (g, &x) in s.iter().zip(&xs) {
                let w = (x as f64 - m).exp() / z;
                assert!((*g as f64 - w).abs() < 1e-6, "softmax of {n}");
            }
            let (w, b) = (data(n, 99), data(n, 98));
            let mut r = xs.clone();
            layer_norm(&mut r, &w, &b, 1e-12);
            let mean = want / n as f64;
            let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            for i in 0..n {
                let e = (xs[i] as f64 - mean) / (var + 1e-12).sqrt() * w[i] as f64 + b[i] as f64;
                assert!((r[i] as f64 - e).abs() < 1e-3, "layer norm of {n} at {i}");
            }
        }
    }
}
