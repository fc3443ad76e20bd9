//! Throughput of the built-in embedder (all-MiniLM-L6-v2 on the CPU) on the real
//! texts of `docs.jsonl`, batch 32, on 1 and on `--threads` threads (a batch is
//! split between them, as the server's CPU pool does), with the worst cosine against
//! the reference vectors of `base.fvecs`. One JSON line per thread count, with the
//! p50/p99 time of one batch. With `--batch 1` a text cannot be split between
//! threads: its matrix products are (on a rayon pool, as the server's
//! `CpuPool::wide` does), which is what a single query costs.
//!
//! ```text
//! embed --models models --data ../shared/data --n 2048 --batch 32 --threads 2 [--words 20]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use kektordb::embed::local::{balance, LocalModel, Threads};
use kektordb::engine::EmbedPurpose;

fn main() {
    let mut models = PathBuf::from("models");
    let mut data = PathBuf::from("../shared/data");
    let (mut n, mut batch, mut threads) = (2048usize, 32usize, 2usize);
    let mut words: Option<usize> = None;
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--models" => models = v.into(),
            "--data" => data = v.into(),
            "--n" => n = v.parse().expect("number"),
            "--batch" => batch = v.parse().expect("number"),
            "--threads" => threads = v.parse().expect("number"),
            "--words" => words = Some(v.parse().expect("number")),
            _ => panic!("unknown flag {f}"),
        }
    }
    let dir = LocalModel::default_dir(&models).expect("no model: run deploy/fetch-models.sh");
    let model = &LocalModel::load(&dir, None).expect("load");
    let texts: Vec<String> = std::fs::read_to_string(data.join("docs.jsonl"))
        .expect("docs.jsonl")
        .lines()
        .take(n)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            let text = v["text"].as_str().expect("text");
            match words {
                Some(w) => text
                    .split_whitespace()
                    .take(w)
                    .collect::<Vec<_>>()
                    .join(" "),
                None => text.to_owned(),
            }
        })
        .collect();
    let base = kektordb_io::read_fvecs(&data.join("base.fvecs")).expect("base.fvecs");
    let tokens: usize = texts
        .iter()
        .map(|t| model.tokens(t, EmbedPurpose::Passage).len())
        .sum();
    for t in [1, threads] {
        let wide = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("rayon pool");
        let mut hist = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
        let started = Instant::now();
        let mut out: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch) {
            // Tokenize, split by cost, embed the parts on `t` threads (as the server's
            // CPU pool does), put the answers back in order.
            let seqs: Vec<Vec<u32>> = chunk
                .iter()
                .map(|x| model.tokens(x, EmbedPurpose::Passage))
                .collect();
            let one = Instant::now();
            if seqs.len() == 1 && t > 1 {
                out.extend(wide.install(|| model.embed_tokens_on(&seqs, Threads(t))));
                hist.record(one.elapsed().as_micros() as u64).ok();
                continue;
            }
            let groups = balance(&seqs, t);
            let mut answers: Vec<Vec<f32>> = vec![Vec::new(); chunk.len()];
            std::thread::scope(|s| {
                let hs: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        let part: Vec<Vec<u32>> = g.iter().map(|&i| seqs[i].clone()).collect();
                        s.spawn(move || model.embed_tokens(&part))
                    })
                    .collect();
                for (g, h) in groups.iter().zip(hs) {
                    for (&i, v) in g.iter().zip(h.join().expect("thread")) {
                        answers[i] = v;
                    }
                }
            });
            out.extend(answers);
            hist.record(one.elapsed().as_micros() as u64).ok();
        }
        let secs = started.elapsed().as_secs_f64();
        // The reference vectors are of the whole texts: no comparison when cut.
        let worst = match words {
            Some(_) => "null".to_owned(),
            None => format!(
                "{:.6}",
                out.iter()
                    .enumerate()
                    .map(|(i, v)| v.iter().zip(base.row(i)).map(|(a, b)| a * b).sum::<f32>())
                    .fold(1.0f32, f32::min)
            ),
        };
        println!(
            "{{\"engine\":\"kektordb-local\",\"model\":\"{}\",\"texts\":{},\"tokens\":{tokens},\"batch\":{batch},\"threads\":{t},\"seconds\":{secs:.3},\"embeddings_per_s\":{:.1},\"tokens_per_s\":{:.0},\"batch_p50_ms\":{:.2},\"batch_p99_ms\":{:.2},\"worst_cosine\":{worst}}}",
            model.name(),
            texts.len(),
            texts.len() as f64 / secs,
            tokens as f64 / secs,
            hist.value_at_quantile(0.5) as f64 / 1000.0,
            hist.value_at_quantile(0.99) as f64 / 1000.0,
        );
    }
}
