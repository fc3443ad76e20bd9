//! Search throughput while maintenance runs, against idle throughput, in one run.
//!
//! Builds `--n` random `--dim`-d vectors (euclidean, f32) on `--shards` executors,
//! then `--clients` threads search as fast as they can (k 10, ef 64) while the
//! driver measures QPS during a vacuum after deleting 30% of the items, a refine
//! pass (ef 200, batches of 50) and a compression to int8, each against an idle
//! window on the same state just before it (and the vacuum also against the idle
//! QPS before the deletes). Every maintenance op runs as the server runs it: in
//! steps, resting `MAINTENANCE_REST_RATIO` times each step's time.
//!
//! cargo run --release -p kektordb-benches --bin maintenance -- --n 20000

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use kektordb::engine::{Throttle, MAINTENANCE_REST_RATIO};
use kektordb::{Engine, IndexConfig, Metric, NewItem, Options, Precision, SearchRequest};
use kektordb_shards::rng::SplitMix64;

fn arg(name: &str, default: usize) -> usize {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn vector(rng: &mut SplitMix64, dim: usize) -> Vec<f32> {
    (0..dim).map(|_| rng.normal()).collect()
}

/// Thread-blocking pause for the driver thread (the server uses a glommio timer).
async fn pause(d: Duration) {
    std::thread::sleep(d);
}

/// Runs `op` while the clients search; returns (QPS during it, seconds it took).
fn during(done: &AtomicU64, op: impl FnOnce()) -> (f64, f64) {
    let (before, t) = (done.load(Ordering::Relaxed), Instant::now());
    op();
    let secs = t.elapsed().as_secs_f64();
    ((done.load(Ordering::Relaxed) - before) as f64 / secs, secs)
}

fn main() {
    let (n, dim, shards, clients) = (
        arg("--n", 20_000),
        arg("--dim", 384),
        arg("--shards", 2),
        arg("--clients", 8),
    );
    let engine = Engine::open(Options {
        shards,
        pin: true,
        // The scheduler stays off: only the runs measured here maintain the index.
        background: false,
        ..Options::default()
    })
    .expect("open");
    let mut cfg = IndexConfig::new("m");
    cfg.metric = Metric::Euclidean;
    cfg.ef_construction = 100;
    block_on(engine.create_index(cfg)).expect("create");
    let throttle = Throttle {
        rest: MAINTENANCE_REST_RATIO,
        pause,
    };
    let mut rng = SplitMix64(9);
    for from in (0..n).step_by(1000) {
        let items = (from..(from + 1000).min(n))
            .map(|i| NewItem {
                id: i.to_string(),
                vector: vector(&mut rng, dim),
                metadata: Default::default(),
            })
            .collect();
        block_on(engine.add_batch("m", items)).expect("add");
    }
    println!("maintenance bench: {n} x {dim}, {shards} shards, {clients} search clients");

    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (engine, done, stop) = (engine.clone(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = SplitMix64(100 + c as u64);
                while !stop.load(Ordering::Relaxed) {
                    let req = SearchRequest {
                        vector: Some(vector(&mut rng, dim)),
                        k: 10,
                        ef_search: Some(64),
                        ..Default::default()
                    };
                    block_on(engine.search("m", req)).expect("search");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(1));
    // Each op is compared with an idle window on the same index state just before it.
    let idle = || during(&done, || std::thread::sleep(Duration::from_secs(4))).0;
    let report = |what: &str, idle: f64, (qps, secs): (f64, f64)| {
        println!(
            "RESULT {what}: {qps:.0} QPS for {secs:.1} s vs {idle:.0} idle = {:.2}",
            qps / idle
        );
    };
    let full = idle();
    println!("RESULT idle before deleting: {full:.0} QPS");
    for i in (0..n).filter(|i| i % 10 < 3) {
        block_on(engine.delete("m", &i.to_string())).expect("delete");
    }
    let base = idle();
    let run = during(&done, || {
        block_on(engine.vacuum("m", &throttle, |_, _| {})).expect("vacuum");
    });
    report("vacuum (30% deleted)", base, run);
    report("vacuum, against idle before the deletes", full, run);
    let base = idle();
    let run = during(&done, || {
        block_on(engine.refine("m", 50, 200, &throttle, |_, _| {})).expect("refine");
    });
    report("refine (ef 200, batches of 50)", base, run);
    let base = idle();
    let run = during(&done, || {
        block_on(engine.compress("m", Precision::Int8, &throttle, |_, _| {})).expect("compress");
    });
    report("compress f32 -> int8", base, run);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    engine.close();
}
