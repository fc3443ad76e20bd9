use super::*;

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = kektordb_shards::rng::SplitMix64(seed);
    (0..n).map(|_| rng.unit() as f32 - 0.5).collect()
}

/// `x · wᵀ + bias` in f64 from the unpacked weights.
fn reference(x: &[f32], n: usize, k: usize, w: &[f32], m: usize, bias: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; n * m];
    for r in 0..n {
        for c in 0..m {
            let s: f64 = (0..k)
                .map(|j| x[r * k + j] as f64 * w[c * k + j] as f64)
                .sum();
            out[r * m + c] = (s + bias[c] as f64) as f32;
        }
    }
    out
}

#[test]
fn every_kernel_matches_the_reference_on_ragged_shapes() {
    let kernels = available();
    assert_eq!(kernels[0].0, "scalar");
    for (n, k, m) in [
        (1, 1, 1),
        (5, 7, 31),
        (13, 384, 96),
        (32, 64, 33),
        (25, 3, 70),
        (100, 300, 130),
    ] {
        let (x, w, bias) = (data(n * k, 1), data(m * k, 2), data(m, 3));
        let want = reference(&x, n, k, &w, m, &bias);
        let dense = Dense::new(&w, &bias, m, k);
        for &(name, kernel) in &kernels {
            let mut got = vec![f32::NAN; n * m];
            dense.product_with(kernel, &x, n, 0, m, &mut got);
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                    "{name} {n}x{k}x{m} [{i}]: {g} vs {e}"
                );
            }
        }
    }
}

#[test]
fn a_split_layer_gives_the_same_values_as_one_thread() {
    let (n, k, m) = (29, 48, 200);
    let (x, w, bias) = (data(n * k, 4), data(m * k, 5), data(m, 6));
    let dense = Dense::new(&w, &bias, m, k);
    let mut one = vec![0.0f32; n * m];
    dense.forward(Threads(1), Act::Gelu, &x, n, &mut one);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for threads in [2, 3] {
        let mut split = vec![0.0f32; n * m];
        pool.install(|| dense.forward(Threads(threads), Act::Gelu, &x, n, &mut split));
        assert_eq!(split, one, "{threads} threads");
    }
    let mut plain = vec![0.0f32; n * m];
    dense.forward(Threads(1), Act::None, &x, n, &mut plain);
    assert_ne!(plain, one, "GELU was applied");
}
