//! Restart benchmark: how long the engine takes to open a data directory.
//!
//! 1. Snapshot restart: imports `--n` random `--dim`-d f32 vectors (cosine, M 16,
//!    `--ef-construction`), snapshots (`Engine::snapshot_all`, as `POST /system/save`
//!    does), closes, and times `Engine::open` on the directory: loading the mapped
//!    snapshots (checksums, array copies, id maps) until the engine answers.
//! 2. Log replay: adds `--replay-n` vectors through the logged path (no snapshot of
//!    them), closes, and times `Engine::open`, which replays every record and
//!    rebuilds the graph: the AOF replay rate.
//!
//! `--cold` drops the page cache before each open (needs root), so the files are
//! read from the device. `--reuse` keeps the directories and, when the snapshot
//! directory is already there, skips building it.
//!
//! cargo run --release -p kektordb-benches --bin restart -- --n 1000000

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_lite::future::block_on;
use kektordb::{Engine, IndexConfig, Metric, NewItem, Options, SearchRequest, SnapshotPolicy};
use kektordb_shards::rng::SplitMix64;

struct Args {
    n: usize,
    dim: usize,
    shards: usize,
    ef_construction: usize,
    replay_n: usize,
    dir: PathBuf,
    cold: bool,
    reuse: bool,
}

fn parse() -> Args {
    let mut a = Args {
        n: 1_000_000,
        dim: 384,
        shards: 2,
        ef_construction: 100,
        replay_n: 50_000,
        dir: std::env::temp_dir().join("kektor-restart-bench"),
        cold: false,
        reuse: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--n" => a.n = v.parse().expect("--n"),
            "--dim" => a.dim = v.parse().expect("--dim"),
            "--shards" => a.shards = v.parse().expect("--shards"),
            "--ef-construction" => a.ef_construction = v.parse().expect("--ef-construction"),
            "--replay-n" => a.replay_n = v.parse().expect("--replay-n"),
            "--dir" => a.dir = PathBuf::from(v),
            "--cold" => {
                a.cold = true;
                i += 1;
                continue;
            }
            "--reuse" => {
                a.reuse = true;
                i += 1;
                continue;
            }
            other => panic!("unknown flag {other}"),
        }
        i += 2;
    }
    a
}

fn options(dir: &Path, shards: usize) -> Options {
    Options {
        shards,
        pin: true,
        data_dir: Some(dir.to_owned()),
        snapshots: SnapshotPolicy::default(),
        ..Options::default()
    }
}

fn batch(rng: &mut SplitMix64, from: usize, count: usize, dim: usize) -> Vec<NewItem> {
    (from..from + count)
        .map(|i| NewItem {
            id: format!("v{i}"),
            vector: (0..dim).map(|_| rng.normal()).collect(),
            metadata: Default::default(),
        })
        .collect()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        total += if p.is_dir() {
            dir_bytes(&p)
        } else {
            e.metadata().map_or(0, |m| m.len())
        };
    }
    total
}

fn drop_caches(cold: bool) {
    if !cold {
        return;
    }
    let ok = std::process::Command::new("sync").status().is_ok()
        && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    println!(
        "page cache dropped: {}",
        if ok { "yes" } else { "no (needs root)" }
    );
}

/// Opens `dir`, checks the index holds `n` items and answers a search; returns the
/// seconds `Engine::open` took.
fn timed_open(a: &Args, dir: &Path, n: usize) -> f64 {
    drop_caches(a.cold);
    let t = Instant::now();
    let engine = Engine::open(options(dir, a.shards)).expect("open");
    let secs = t.elapsed().as_secs_f64();
    let info = block_on(engine.info("bench")).expect("info");
    assert_eq!(info.len, n, "every vector is back");
    let hits = block_on(engine.search(
        "bench",
        SearchRequest {
            vector: Some(vec![0.5; a.dim]),
            k: 10,
            ..Default::default()
        },
    ))
    .expect("search");
    assert_eq!(hits.len(), 10.min(n));
    let records: usize = engine.recovery().iter().map(|r| r.records).sum();
    let nodes: usize = engine.recovery().iter().map(|r| r.snapshot_nodes).sum();
    println!(
        "  opened in {secs:.3} s: {nodes} nodes from snapshots, {records} log records replayed"
    );
    engine.close();
    secs
}

fn create(engine: &Engine, a: &Args) {
    let mut cfg = IndexConfig::new("bench");
    cfg.metric = Metric::Cosine;
    cfg.ef_construction = a.ef_construction;
    block_on(engine.create_index(cfg)).expect("create");
}

fn build_snapshot(a: &Args, snap_dir: &Path) {
    let _ = std::fs::remove_dir_all(snap_dir);
    let engine = Engine::open(options(snap_dir, a.shards)).expect("open");
    create(&engine, a);
    let mut rng = SplitMix64(42);
    let t = Instant::now();
    for from in (0..a.n).step_by(1000) {
        let items = batch(&mut rng, from, 1000.min(a.n - from), a.dim);
        block_on(engine.import_batch("bench", items)).expect("import");
        if from % 100_000 == 0 && from > 0 {
            println!(
                "  built {from} ({:.0} vectors/s)",
                from as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    let build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    block_on(engine.snapshot_all(|_, _| {})).expect("snapshot");
    let snap = t.elapsed().as_secs_f64();
    engine.close();
    let bytes = dir_bytes(snap_dir);
    println!(
        "built in {build:.1} s; snapshot of {:.2} GB written in {snap:.2} s",
        bytes as f64 / 1e9
    );
}

fn main() {
    let a = parse();
    println!(
        "restart bench: n {} x {} f32, {} shards, ef_construction {}",
        a.n, a.dim, a.shards, a.ef_construction
    );
    let snap_dir = a.dir.join("snapshot");
    if !(a.reuse && snap_dir.exists()) {
        build_snapshot(&a, &snap_dir);
    }
    let bytes = dir_bytes(&snap_dir);
    let restart = timed_open(&a, &snap_dir, a.n);
    println!(
        "RESULT snapshot restart: {} vectors in {restart:.3} s ({:.2} GB/s, {:.0} vectors/s)",
        a.n,
        bytes as f64 / 1e9 / restart,
        a.n as f64 / restart
    );

    let mut rng = SplitMix64(43);
    let log_dir = a.dir.join("replay");
    let _ = std::fs::remove_dir_all(&log_dir);
    let engine = Engine::open(Options {
        snapshots: SnapshotPolicy::default(),
        ..options(&log_dir, a.shards)
    })
    .expect("open");
    create(&engine, &a);
    for from in (0..a.replay_n).step_by(1000) {
        let items = batch(&mut rng, from, 1000.min(a.replay_n - from), a.dim);
        block_on(engine.add_batch("bench", items)).expect("add");
    }
    engine.close();
    let replay = timed_open(&a, &log_dir, a.replay_n);
    println!(
        "RESULT log replay: {} vectors in {replay:.3} s ({:.0} records/s, {:.1} MB/s of log)",
        a.replay_n,
        a.replay_n as f64 / replay,
        dir_bytes(&log_dir) as f64 / 1e6 / replay
    );
    if !a.reuse {
        let _ = std::fs::remove_dir_all(&a.dir);
    }
}
