//! Distance kernel timings: ns per call at a given dimension for every kernel set this
//! CPU runs (best of 20 rounds of 100k calls).
//!
//! `cargo run --release -p kektordb-benches --bin kernels -- [dim]`

use std::hint::black_box;
use std::time::Instant;

use kektordb_shards::distance::available_kernels;

fn main() {
    let dim: usize = std::env::args()
        .nth(1)
        .map_or(384, |s| s.parse().expect("dim"));
    let mut s = 1u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    let a: Vec<f32> = (0..dim)
        .map(|_| next() as f32 / u32::MAX as f32 - 0.25)
        .collect();
    let b: Vec<f32> = (0..dim)
        .map(|_| next() as f32 / u32::MAX as f32 - 0.25)
        .collect();
    let h: Vec<half::f16> = b.iter().map(|&x| half::f16::from_f32(x)).collect();
    let x: Vec<i8> = (0..dim).map(|_| (next() % 255) as i32 as i8).collect();
    let y: Vec<i8> = (0..dim).map(|_| (next() % 255) as i32 as i8).collect();
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
    println!("dim {dim}, ns per call");
    for k in available_kernels() {
        println!(
            "{:>14}: dot_f32 {:6.1}  l2sq_f32 {:6.1}  dot_f32_f16 {:6.1}  dot_i8 {:6.1}  l2sq_i8 {:6.1}",
            k.isa,
            time(&|| (k.dot_f32)(black_box(&a), black_box(&b))),
            time(&|| (k.l2sq_f32)(black_box(&a), black_box(&b))),
            time(&|| (k.dot_f32_f16)(black_box(&a), black_box(&h))),
            time(&|| (k.dot_i8)(black_box(&x), black_box(&y)) as f32),
            time(&|| (k.l2sq_i8)(black_box(&x), black_box(&y)) as f32),
        );
    }
}
