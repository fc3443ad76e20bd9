//! Synthetic ANN data set generator: writes `base.fvecs`, `queries.fvecs` and exact
//! `gt.ivecs` (top-100 by the chosen metric) into a directory.
//!
//! The data is neither uniform noise (where every point is equally far) nor separated
//! clusters (where HNSW is trivially easy): points come from a low-rank latent model
//! like text embeddings. A latent vector (dim 32) is a draw around one of many
//! overlapping centres whose popularity follows a power law, mapped through a fixed
//! random D x 32 matrix, plus isotropic noise, then normalized to unit length.
//!
//! ```text
//! cargo run --release -p kektordb-benches --bin gen-synthetic -- --n 1000000 --dim 384 \
//!   --queries 1000 --out /tmp/synth --seed 1 [--metric cosine]
//! ```

use std::path::PathBuf;

use kektordb_io::{write_fvecs, write_ivecs, Rows};
use kektordb_shards::distance::{kernels, normalize};
use kektordb_shards::rng::SplitMix64 as Rng;

const LATENT: usize = 32;
const CENTRES: usize = 2_000;
const GT_K: usize = 100;

fn main() {
    let mut n = 100_000usize;
    let mut dim = 384usize;
    let mut nq = 1_000usize;
    let mut out = PathBuf::from("synthetic");
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(f) = args.next() {
        let v = args.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--n" => n = v.parse().expect("--n number"),
            "--dim" => dim = v.parse().expect("--dim number"),
            "--queries" => nq = v.parse().expect("--queries number"),
            "--out" => out = v.into(),
            "--seed" => seed = v.parse().expect("--seed number"),
            "--metric" if v == "cosine" => {}
            other => {
                eprintln!("unknown flag {other} (only cosine data is generated)");
                std::process::exit(2);
            }
        }
    }
    std::fs::create_dir_all(&out).expect("create output dir");
    let mut rng = Rng(seed);
    let proj: Vec<f32> = (0..dim * LATENT)
        .map(|_| rng.normal() / (LATENT as f32).sqrt())
        .collect();
    let centres: Vec<f32> = (0..CENTRES * LATENT).map(|_| rng.normal()).collect();
    let point = |rng: &mut Rng| {
        // Zipf-like popularity: centre index ~ CENTRES * u^3.
        let c = ((rng.unit().powi(3)) * CENTRES as f64) as usize;
        let spread = 0.6 + rng.unit() as f32;
        let z: Vec<f32> = (0..LATENT)
            .map(|j| centres[c * LATENT + j] + spread * rng.normal())
            .collect();
        let mut x: Vec<f32> = (0..dim)
            .map(|i| {
                let row = &proj[i * LATENT..(i + 1) * LATENT];
                row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>() + 0.3 * rng.normal()
            })
            .collect();
        normalize(&mut x);
        x
    };
    let base: Vec<f32> = (0..n).flat_map(|_| point(&mut rng)).collect();
    let queries: Vec<f32> = (0..nq).flat_map(|_| point(&mut rng)).collect();
    let k = kernels();
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let chunk = nq.div_ceil(threads);
    let gt: Vec<i32> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (base, queries) = (&base, &queries);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for q in (t * chunk).min(nq)..((t + 1) * chunk).min(nq) {
                        let qv = &queries[q * dim..(q + 1) * dim];
                        let mut d: Vec<(f32, i32)> = (0..n)
                            .map(|i| (-(k.dot_f32)(qv, &base[i * dim..(i + 1) * dim]), i as i32))
                            .collect();
                        let top = GT_K.min(n);
                        d.select_nth_unstable_by(top - 1, |a, b| a.0.total_cmp(&b.0));
                        d.truncate(top);
                        d.sort_by(|a, b| a.0.total_cmp(&b.0));
                        out.extend(d.iter().map(|x| x.1));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("gt thread"))
            .collect()
    });
    write_fvecs(&out.join("base.fvecs"), &Rows { dim, data: base }).expect("write base");
    write_fvecs(&out.join("queries.fvecs"), &Rows { dim, data: queries }).expect("write queries");
    write_ivecs(
        &out.join("gt.ivecs"),
        &Rows {
            dim: GT_K.min(n),
            data: gt,
        },
    )
    .expect("write gt");
    eprintln!(
        "wrote {n} x {dim} base, {nq} queries and top-{GT_K} ground truth to {}",
        out.display()
    );
}
