//! ANN benchmark: builds an index from a `.fvecs` base, searches `.fvecs` queries and
//! scores recall@k against `.ivecs` ground truth. Prints one JSON line per ef.
//!
//! ```text
//! cargo run --release -p kektordb-benches --bin ann -- --base B.fvecs --queries Q.fvecs \
//!   --gt GT.ivecs --k 10 --m 16 --ef-construction 200 --ef 16,32,64,128,256 \
//!   --precision f32|f16|int8 --metric cosine|euclidean|dot --shards N --threads N
//! ```
//! Build: the base is split by id hash over `--shards`; with `--threads` up to the
//! shard count, threads each build a subset of the shards (a shard is only ever
//! touched by one thread); with more threads than shards, the shards are built in
//! turn, each spreading its insertion searches over every thread (batch linking,
//! `Index::with_batch_linking`); with threads up to the shard count, each shard is
//! batch-linked on its one thread, as the server links a large add-batch (a float32
//! batch searches int8 codes and re-ranks exactly, `Hnsw::link_batch`);
//! `--one-by-one` inserts one item at a time there instead (small writes). Search: each
//! of `--threads` threads runs its share of the queries one at a time through the
//! router (fan-out to every shard, merge top-k). Each ef: a warm-up, then the best
//! of `--passes` (3) timed passes, as the peers' scripts do; p50/p99 are from the
//! best pass. Memory: the index's own accounting (`bytes_per_vector`,
//! `rescore_bytes_per_vector`) and what the process holds resident for it
//! (`rss_bytes_per_vector`: resident set after the build, with the base's copy
//! freed and its bytes added back, minus the set before the build, per vector;
//! `rss_anon_bytes_per_vector` the same for anonymous memory only). `--cold-dir DIR` pages int8's full-precision
//! copy into a scratch file there, as the server does in its data directory
//! (`rescore_paged_bytes_per_vector`; the pages rescoring touches are counted in the
//! resident set, since they are mapped).
//!
//! `--filter-selectivities 0.01,0.1,0.5`: every item gets `bucket = id % 100`, and
//! each selectivity s is also measured with the filter `bucket < 100 s`, against a
//! ground truth computed by brute force over the items that pass (`"filter": s`).

use std::path::PathBuf;
use std::time::Instant;

use hdrhistogram::Histogram;
use kektordb::engine::lent_threads::LentThreads;
use kektordb_io::{read_fvecs, read_ivecs, Rows};
use kektordb_shards::index::IndexConfig;
use kektordb_shards::parallel::{ParallelFor, Sequential};
use kektordb_shards::shard_set::NewItem;
use kektordb_shards::{Metric, Precision, SearchRequest, ShardSet};

struct Args {
    base: PathBuf,
    queries: PathBuf,
    gt: PathBuf,
    k: usize,
    m: usize,
    ef_construction: usize,
    efs: Vec<usize>,
    precision: Precision,
    metric: Metric,
    shards: usize,
    threads: usize,
    limit: Option<usize>,
    passes: usize,
    cold_dir: Option<PathBuf>,
    /// Filter selectivities to measure besides the unfiltered search.
    filters: Vec<f64>,
    /// With threads <= shards, insert one item at a time instead of batch linking.
    one_by_one: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}\nusage: ann --base B.fvecs --queries Q.fvecs --gt GT.ivecs [--k 10] [--m 16] [--ef-construction 200] [--ef 16,32,64] [--precision f32|f16|int8] [--metric cosine|euclidean|dot] [--shards 1] [--threads 1] [--limit N] [--passes 3] [--cold-dir DIR] [--filter-selectivities 0.01,0.1,0.5] [--one-by-one]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        base: PathBuf::new(),
        queries: PathBuf::new(),
        gt: PathBuf::new(),
        k: 10,
        m: 16,
        ef_construction: 200,
        efs: vec![16, 32, 64, 128, 256],
        precision: Precision::Float32,
        metric: Metric::Cosine,
        shards: 1,
        threads: 1,
        limit: None,
        passes: 3,
        cold_dir: None,
        filters: Vec::new(),
        one_by_one: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--one-by-one" {
            a.one_by_one = true;
            continue;
        }
        let mut val = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        let num = |s: String| {
            s.parse::<usize>()
                .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
        };
        match flag.as_str() {
            "--base" => a.base = val().into(),
            "--queries" => a.queries = val().into(),
            "--gt" => a.gt = val().into(),
            "--k" => a.k = num(val()),
            "--m" => a.m = num(val()),
            "--ef-construction" => a.ef_construction = num(val()),
            "--ef" => {
                a.efs = val()
                    .split(',')
                    .map(|s| num(s.trim().to_string()))
                    .collect()
            }
            "--precision" => {
                a.precision =
                    Precision::parse(&val()).unwrap_or_else(|| usage("precision: f32|f16|int8"))
            }
            "--metric" => {
                a.metric =
                    Metric::parse(&val()).unwrap_or_else(|| usage("metric: cosine|euclidean|dot"))
            }
            "--shards" => a.shards = num(val()).max(1),
            "--threads" => a.threads = num(val()).max(1),
            "--limit" => a.limit = Some(num(val())),
            "--passes" => a.passes = num(val()).max(1),
            "--cold-dir" => a.cold_dir = Some(val().into()),
            "--filter-selectivities" => {
                a.filters = val()
                    .split(',')
                    .map(|s| match s.trim().parse::<f64>() {
                        Ok(f) if f > 0.0 && f <= 1.0 && (f * 100.0).fract() == 0.0 => f,
                        _ => usage("selectivities are whole percents in (0, 1], e.g. 0.01,0.1"),
                    })
                    .collect()
            }
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if a.base.as_os_str().is_empty()
        || a.queries.as_os_str().is_empty()
        || a.gt.as_os_str().is_empty()
    {
        usage("--base, --queries and --gt are required");
    }
    a
}

fn load(path: &std::path::Path) -> Rows<f32> {
    read_fvecs(path).unwrap_or_else(|e| usage(&e.to_string()))
}

/// The resident set of this process in bytes: (all, anonymous, file-backed) from
/// `/proc/self/status` (Linux; zeros elsewhere). File-backed pages are page cache
/// mapped in (e.g. paged rescoring rows), which the kernel may drop and read back.
fn rss_bytes() -> (u64, u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |k| k * 1024)
    };
    (kb("VmRSS:"), kb("RssAnon:"), kb("RssFile:"))
}

/// A measured case: (filter selectivity, filter expression, exact answers per
/// query); all None for the unfiltered search, scored against the ground truth file.
type Case = (Option<f64>, Option<String>, Option<Vec<Vec<i32>>>);

/// The exact k nearest of each query among the rows with `i % 100 < buckets`.
fn filtered_truth(
    a: &Args,
    base: &Rows<f32>,
    queries: &Rows<f32>,
    buckets: usize,
) -> Vec<Vec<i32>> {
    let norm = |v: &[f32]| {
        let n = v
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        v.iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let rows: Vec<usize> = (0..base.len()).filter(|i| i % 100 < buckets).collect();
    let prepared: Vec<Vec<f32>> = rows
        .iter()
        .map(|&i| match a.metric {
            Metric::Cosine => norm(base.row(i)),
            _ => base.row(i).to_vec(),
        })
        .collect();
    (0..queries.len())
        .map(|qi| {
            let q = match a.metric {
                Metric::Cosine => norm(queries.row(qi)),
                _ => queries.row(qi).to_vec(),
            };
            let mut d: Vec<(f32, i32)> = prepared
                .iter()
                .zip(&rows)
                .map(|(v, &i)| {
                    let dist = match a.metric {
                        Metric::Euclidean => v.iter().zip(&q).map(|(x, y)| (x - y) * (x - y)).sum(),
                        _ => -v.iter().zip(&q).map(|(x, y)| x * y).sum::<f32>(),
                    };
                    (dist, i as i32)
                })
                .collect();
            d.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            d.into_iter().take(a.k).map(|x| x.1).collect()
        })
        .collect()
}

fn main() {
    let a = parse_args();
    // The allocator setting the server makes at start (see kektordb::malloc_tune).
    kektordb::malloc_tune::fix_mmap_threshold();
    if let Some(dir) = &a.cold_dir {
        kektordb_shards::rows::page_cold_rows_in(dir.clone());
    }
    let mut base = load(&a.base);
    if let Some(l) = a.limit {
        base.data.truncate(l * base.dim);
    }
    let queries = load(&a.queries);
    let gt = read_ivecs(&a.gt).unwrap_or_else(|e| usage(&e.to_string()));
    if base.dim != queries.dim {
        usage("base and queries differ in dimension");
    }
    if gt.dim < a.k || gt.len() < queries.len() {
        usage("ground truth has fewer than k columns or fewer rows than queries");
    }
    let n = base.len();

    let mut set = ShardSet::new(a.shards);
    let mut cfg = IndexConfig::new("bench");
    cfg.metric = a.metric;
    cfg.precision = a.precision;
    cfg.m = a.m;
    cfg.ef_construction = a.ef_construction;
    set.create_index(cfg).expect("create index");
    // Every row is checked as the API would check it, in small slices (the copies
    // they make would otherwise stay in the allocator and blur the memory figure).
    const CHECK_SLICE: usize = 1024;
    const _: () = assert!(CHECK_SLICE <= kektordb_shards::limits::BATCH_MAX);
    for from in (0..n).step_by(CHECK_SLICE) {
        let slice: Vec<NewItem> = (from..(from + CHECK_SLICE).min(n))
            .map(|i| NewItem {
                id: i.to_string(),
                vector: base.row(i).to_vec(),
                metadata: Default::default(),
            })
            .collect();
        let dim = set.check_batch("bench", &slice).expect("valid batch");
        set.set_dim("bench", dim).expect("index exists");
    }
    // Filtered cases: (selectivity, filter, exact answers), computed before the base
    // is freed.
    let cases: Vec<Case> = std::iter::once((None, None, None))
        .chain(a.filters.iter().map(|&s| {
            let b = (s * 100.0).round() as usize;
            (
                Some(s),
                Some(format!("bucket < {b}")),
                Some(filtered_truth(&a, &base, &queries, b)),
            )
        }))
        .collect();
    let with_buckets = !a.filters.is_empty();
    // Rows by owning shard; inserted straight from the base (no per-item copies
    // left behind in the allocator to blur the resident-memory figure).
    let partitioner = set.partitioner();
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); a.shards];
    for i in 0..n {
        parts[partitioner.shard_of(&i.to_string())].push(i);
    }

    // Resident memory is measured from here (data loaded, filtered truths made):
    // after the build the base is freed, so its bytes are added back.
    let rss_before = rss_bytes();
    let base_bytes = (base.data.len() * 4) as u64;
    let t0 = Instant::now();
    let meta_of = |i: usize| {
        let mut meta = serde_json::Map::new();
        if with_buckets {
            meta.insert("bucket".into(), (i % 100).into());
        }
        meta
    };
    // One shard's part, its new nodes linked together with `par`'s threads.
    let batch_linked =
        |shard: &mut kektordb_shards::Shard, part: &[usize], par: &dyn ParallelFor| {
            shard
                .with_batch_linking("bench", par, |index| {
                    for &i in part {
                        index
                            .upsert(&i.to_string(), base.row(i), meta_of(i))
                            .expect("insert");
                    }
                })
                .expect("index exists");
        };
    if a.threads > a.shards {
        // More threads than shards: each shard in turn, its insertion searches
        // spread over every thread (batch linking).
        let lent = LentThreads(a.threads);
        for (shard, part) in set.shards_mut().iter_mut().zip(parts) {
            batch_linked(shard, &part, &lent);
        }
    } else {
        let threads = a.threads;
        let mut work: Vec<Vec<(&mut kektordb_shards::Shard, Vec<usize>)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, (shard, part)) in set.shards_mut().iter_mut().zip(parts).enumerate() {
            work[i % threads].push((shard, part));
        }
        let (base, meta_of, batch_linked) = (&base, &meta_of, &batch_linked);
        let one_by_one = a.one_by_one;
        std::thread::scope(|s| {
            for w in work {
                s.spawn(move || {
                    for (shard, part) in w {
                        if !one_by_one {
                            batch_linked(shard, &part, &Sequential);
                            continue;
                        }
                        for i in part {
                            shard
                                .upsert("bench", &i.to_string(), base.row(i), meta_of(i))
                                .expect("insert");
                        }
                    }
                });
            }
        });
    }
    let build_s = t0.elapsed().as_secs_f64();
    // benches/cold_rescore.sh waits for this line to shrink the memory limit.
    eprintln!("ann: built {n} vectors in {build_s:.2} s");
    let info = set.info("bench").expect("index");
    let mem = info.memory;
    let bytes_per_vector = (mem.vectors_bytes + mem.graph_bytes + mem.ids_bytes) as f64 / n as f64;
    let rescore_bytes_per_vector = mem.rescore_bytes as f64 / n as f64;
    let rescore_paged_bytes_per_vector = mem.rescore_paged_bytes as f64 / n as f64;
    drop(base);
    let rss_after = rss_bytes();
    let per_vector = |after: u64, before: u64| after.saturating_sub(before) as f64 / n as f64;
    let rss_bytes_per_vector = per_vector(rss_after.0 + base_bytes, rss_before.0);
    let rss_anon_bytes_per_vector = per_vector(rss_after.1 + base_bytes, rss_before.1);
    let rss_file_bytes_per_vector = per_vector(rss_after.2, rss_before.2);

    let nq = queries.len();
    for ((selectivity, filter, exact), &ef) in cases
        .iter()
        .flat_map(|c| a.efs.iter().map(move |ef| (c, ef)))
    {
        let run = |range: std::ops::Range<usize>| {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut hits = 0usize;
            for qi in range {
                let req = SearchRequest {
                    vector: Some(queries.row(qi).to_vec()),
                    k: a.k,
                    ef_search: Some(ef),
                    filter: filter.clone(),
                    ..Default::default()
                };
                let t = Instant::now();
                let res = set.search("bench", &req).expect("search");
                hist.record(t.elapsed().as_nanos() as u64).ok();
                let truth = match exact {
                    Some(rows) => &rows[qi][..],
                    None => &gt.row(qi)[..a.k],
                };
                hits += res
                    .iter()
                    .filter(|h| h.id.parse::<i32>().is_ok_and(|id| truth.contains(&id)))
                    .count();
            }
            (hits, hist)
        };
        run(0..nq.min(100)); // warm-up
        let pass = || {
            let t = Instant::now();
            let chunk = nq.div_ceil(a.threads);
            let results: Vec<(usize, Histogram<u64>)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..a.threads)
                    .map(|i| {
                        let r = (i * chunk).min(nq)..((i + 1) * chunk).min(nq);
                        s.spawn(move || run(r))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("search thread"))
                    .collect()
            });
            let secs = t.elapsed().as_secs_f64();
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut hits = 0;
            for (h, hs) in results {
                hits += h;
                hist.add(hs).ok();
            }
            (secs, hits, hist)
        };
        let (secs, hits, hist) = (0..a.passes)
            .map(|_| pass())
            .min_by(|x, y| x.0.total_cmp(&y.0))
            .expect("at least one pass");
        let line = serde_json::json!({
            "engine": "kektordb",
            "precision": match a.precision { Precision::Float32 => "f32", Precision::Float16 => "f16", Precision::Int8 => "int8" },
            "metric": a.metric.as_str(),
            "m": a.m,
            "ef_construction": a.ef_construction,
            "ef": ef,
            "k": a.k,
            "n": n,
            "shards": a.shards,
            "threads": a.threads,
            "search_threads": a.threads,
            "build_s": (build_s * 1000.0).round() / 1000.0,
            "recall": hits as f64 / (nq * a.k) as f64,
            "filter": selectivity,
            "qps": (nq as f64 / secs).round(),
            "p50_us": hist.value_at_quantile(0.5) as f64 / 1000.0,
            "p99_us": hist.value_at_quantile(0.99) as f64 / 1000.0,
            "bytes_per_vector": bytes_per_vector.round(),
            "rescore_bytes_per_vector": rescore_bytes_per_vector.round(),
            "rescore_paged_bytes_per_vector": rescore_paged_bytes_per_vector.round(),
            "rss_bytes_per_vector": rss_bytes_per_vector.round(),
            "rss_anon_bytes_per_vector": rss_anon_bytes_per_vector.round(),
            "rss_file_bytes_per_vector": rss_file_bytes_per_vector.round(),
            "passes": a.passes,
            "batch_link": !a.one_by_one || a.threads > a.shards,
        });
        println!("{line}");
    }
}
