//! Recall of HNSW search against brute force, for every metric x precision, on seeded
//! synthetic data shaped like embeddings (low-rank latent model plus noise, not
//! uniform noise, not separated clusters), and under selective filters. Each test
//! states its minimum.

mod common;

use kektordb_shards::index::IndexConfig;
use kektordb_shards::rng::SplitMix64 as Rng;
use kektordb_shards::{Metric, Precision, SearchRequest, ShardSet};
use serde_json::{json, Map, Value};

fn dataset(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let latent = 8;
    let proj: Vec<f32> = (0..dim * latent).map(|_| rng.normal()).collect();
    let centres: Vec<f32> = (0..50 * latent).map(|_| rng.normal()).collect();
    (0..n)
        .map(|_| {
            let c = (rng.unit().powi(2) as f32 * 50.0) as usize % 50;
            let z: Vec<f32> = (0..latent)
                .map(|j| centres[c * latent + j] + rng.normal())
                .collect();
            (0..dim)
                .map(|i| {
                    (0..latent)
                        .map(|j| proj[i * latent + j] * z[j])
                        .sum::<f32>()
                        * 0.3
                        + 0.5 * rng.normal()
                })
                .collect()
        })
        .collect()
}

fn exact_distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    match metric {
        Metric::Euclidean => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::Dot => -dot,
        Metric::Cosine => {
            let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            1.0 - dot / (na * nb)
        }
    }
}

fn brute_force(
    metric: Metric,
    data: &[Vec<f32>],
    q: &[f32],
    k: usize,
    allow: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut d: Vec<(f32, usize)> = (0..data.len())
        .filter(|i| allow(*i))
        .map(|i| (exact_distance(metric, q, &data[i]), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().take(k).map(|x| x.1).collect()
}

fn build(
    metric: Metric,
    precision: Precision,
    data: &[Vec<f32>],
    shards: usize,
    meta: impl Fn(usize) -> Map<String, Value>,
) -> ShardSet {
    let mut cfg = IndexConfig::new("t");
    cfg.metric = metric;
    cfg.precision = precision;
    common::index_of(cfg, shards, data, meta)
}

fn recall(
    set: &ShardSet,
    metric: Metric,
    data: &[Vec<f32>],
    queries: &[Vec<f32>],
    ef: usize,
    filter: Option<(&str, &dyn Fn(usize) -> bool)>,
) -> f64 {
    let k = 10;
    let mut hits = 0;
    let mut total = 0;
    for q in queries {
        let req = SearchRequest {
            vector: Some(q.clone()),
            k,
            ef_search: Some(ef),
            filter: filter.map(|f| f.0.to_string()),
            ..Default::default()
        };
        let got: Vec<usize> = set
            .search("t", &req)
            .unwrap()
            .iter()
            .map(|h| h.id.parse().unwrap())
            .collect();
        let truth = brute_force(metric, data, q, k, |i| filter.is_none_or(|f| (f.1)(i)));
        if let Some(f) = filter {
            assert!(got.iter().all(|i| (f.1)(*i)), "a result breaks the filter");
        }
        total += truth.len();
        hits += got.iter().filter(|i| truth.contains(i)).count();
    }
    hits as f64 / total as f64
}

#[test]
fn recall_every_metric_and_precision() {
    let data = dataset(4000, 48, 1);
    let queries = dataset(100, 48, 2);
    for metric in [Metric::Euclidean, Metric::Cosine, Metric::Dot] {
        for precision in [Precision::Float32, Precision::Float16, Precision::Int8] {
            let set = build(metric, precision, &data, 1, |_| Map::new());
            let r = recall(&set, metric, &data, &queries, 128, None);
            let min = 0.95;
            assert!(
                r >= min,
                "{metric:?}/{precision:?}: recall@10 {r:.4} < {min}"
            );
        }
    }
}

#[test]
fn sharded_recall_matches_single_shard() {
    let data = dataset(3000, 32, 3);
    let queries = dataset(50, 32, 4);
    let set = build(Metric::Cosine, Precision::Float32, &data, 3, |_| Map::new());
    let r = recall(&set, Metric::Cosine, &data, &queries, 64, None);
    assert!(r >= 0.97, "3 shards recall@10 {r:.4}");
}

#[test]
fn filtered_recall_at_one_percent_and_ten_percent() {
    let n = 20_000;
    let data = dataset(n, 32, 5);
    let queries = dataset(50, 32, 6);
    let set = build(Metric::Euclidean, Precision::Float32, &data, 2, |i| {
        let mut m = Map::new();
        m.insert("bucket".into(), json!(i % 100));
        m.insert("cat".into(), json!(if i % 10 == 3 { "A" } else { "B" }));
        m
    });
    // 1% of the points: the allowed set is scanned exactly.
    let one: &dyn Fn(usize) -> bool = &|i| i % 100 == 7;
    let r1 = recall(
        &set,
        Metric::Euclidean,
        &data,
        &queries,
        64,
        Some(("bucket = 7", one)),
    );
    assert!(r1 >= 0.95, "1% filter recall@10 {r1:.4}");
    // 10%: the graph walk traverses disallowed nodes instead of cutting them out.
    let ten: &dyn Fn(usize) -> bool = &|i| i % 10 == 3;
    let r10 = recall(
        &set,
        Metric::Euclidean,
        &data,
        &queries,
        64,
        Some(("cat = 'A'", ten)),
    );
    assert!(r10 >= 0.90, "10% filter recall@10 {r10:.4}");
    // A compound filter through the parser.
    let mixed: &dyn Fn(usize) -> bool = &|i| i % 10 == 3 && i % 100 >= 50;
    let rm = recall(
        &set,
        Metric::Euclidean,
        &data,
        &queries,
        64,
        Some(("cat = 'A' AND NOT bucket < 50", mixed)),
    );
    assert!(rm >= 0.90, "compound filter recall@10 {rm:.4}");
}

/// The real debian-minilm set, when present: int8 with rescoring reaches 0.99.
#[test]
fn real_data_int8_reaches_099() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let (Ok(base), Ok(queries), Ok(gt)) = (
        kektordb_io::read_fvecs(&dir.join("base.fvecs")),
        kektordb_io::read_fvecs(&dir.join("queries.fvecs")),
        kektordb_io::read_ivecs(&dir.join("gt.ivecs")),
    ) else {
        eprintln!("skipping: ../shared/data (debian-minilm) is absent");
        return;
    };
    let n = 10_000; // a prefix keeps the test quick; truth is recomputed for it
    let data: Vec<Vec<f32>> = (0..n).map(|i| base.row(i).to_vec()).collect();
    let qs: Vec<Vec<f32>> = (0..100).map(|i| queries.row(i).to_vec()).collect();
    assert!(gt.dim >= 10);
    let set = build(Metric::Cosine, Precision::Int8, &data, 1, |_| Map::new());
    let r = recall(&set, Metric::Cosine, &data, &qs, 128, None);
    assert!(r >= 0.99, "int8 recall@10 on debian-minilm prefix {r:.4}");
}

/// Several shards search with narrowed beams (`PART_EF_PERCENT` of ef each), and an
/// ef still means at least the recall it has on one shard, on the real set.
#[test]
fn narrowed_shard_beams_keep_one_shard_recall() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let (Ok(base), Ok(queries)) = (
        kektordb_io::read_fvecs(&dir.join("base.fvecs")),
        kektordb_io::read_fvecs(&dir.join("queries.fvecs")),
    ) else {
        eprintln!("skipping: ../shared/data (debian-minilm) is absent");
        return;
    };
    let n = 10_000;
    let data: Vec<Vec<f32>> = (0..n).map(|i| base.row(i).to_vec()).collect();
    let qs: Vec<Vec<f32>> = (0..200).map(|i| queries.row(i).to_vec()).collect();
    let one = build(Metric::Cosine, Precision::Float32, &data, 1, |_| Map::new());
    let two = build(Metric::Cosine, Precision::Float32, &data, 2, |_| Map::new());
    for ef in [32, 64, 128] {
        let (r1, r2) = (
            recall(&one, Metric::Cosine, &data, &qs, ef, None),
            recall(&two, Metric::Cosine, &data, &qs, ef, None),
        );
        assert!(
            r2 >= r1 - 0.003,
            "ef {ef}: 2 shards recall@10 {r2:.4} < 1 shard {r1:.4}"
        );
    }
}

/// Compressing a float32 index to float16 or int8 keeps the graph and the recall.
#[test]
fn compressed_index_keeps_recall() {
    let data = dataset(3000, 32, 9);
    let queries = dataset(50, 32, 10);
    for to in [Precision::Float16, Precision::Int8] {
        let mut set = build(Metric::Cosine, Precision::Float32, &data, 2, |_| Map::new());
        for shard in set.shards_mut() {
            shard
                .apply(kektordb_shards::op::Op::Compress {
                    index: "t".into(),
                    precision: to,
                })
                .unwrap();
        }
        assert_eq!(set.shards()[0].index("t").unwrap().config().precision, to);
        let r = recall(&set, Metric::Cosine, &data, &queries, 128, None);
        assert!(r >= 0.95, "{to:?} after compression: recall@10 {r:.4}");
    }
}

/// Deleting 30% of an index and vacuuming: recall over what remains is at least the
/// recall the full index had before the deletes, no result is a deleted item, and
/// the deleted rows are freed (the survivors renumbered).
#[test]
fn recall_after_deleting_30_percent_and_vacuum() {
    let data = dataset(4000, 32, 11);
    let queries = dataset(60, 32, 12);
    let mut set = build(Metric::Euclidean, Precision::Float32, &data, 1, |_| {
        Map::new()
    });
    let before = recall(&set, Metric::Euclidean, &data, &queries, 64, None);
    let mut rng = Rng(77);
    let deleted: std::collections::HashSet<usize> =
        (0..data.len()).filter(|_| rng.unit() < 0.3).collect();
    for i in &deleted {
        assert!(set.delete("t", &i.to_string()).unwrap());
    }
    let slots_before: usize = set
        .shards_mut()
        .iter()
        .map(|s| s.index("t").unwrap().node_slots())
        .sum();
    assert_eq!(slots_before, data.len(), "deletes only tombstone rows");
    for shard in set.shards_mut() {
        shard
            .apply(kektordb_shards::op::Op::Vacuum { index: "t".into() })
            .unwrap();
        let ix = shard.index("t").unwrap();
        assert_eq!(ix.node_slots(), ix.len(), "vacuum frees deleted rows");
        assert_eq!(ix.memory().rows, ix.len());
    }
    for i in (0..data.len()).filter(|i| !deleted.contains(i)).step_by(97) {
        let item = set.get("t", &i.to_string()).unwrap().unwrap();
        assert_eq!(item.vector, data[i], "renumbering kept item {i}'s vector");
    }
    let keep: &dyn Fn(usize) -> bool = &|i| !deleted.contains(&i);
    // The "filter" here only names the truth set; the search itself runs unfiltered.
    let mut hits = 0;
    let mut total = 0;
    for q in &queries {
        let req = SearchRequest {
            vector: Some(q.clone()),
            k: 10,
            ef_search: Some(64),
            ..Default::default()
        };
        let got: Vec<usize> = set
            .search("t", &req)
            .unwrap()
            .iter()
            .map(|h| h.id.parse().unwrap())
            .collect();
        assert!(got.iter().all(|i| keep(*i)), "a deleted item came back");
        let truth = brute_force(Metric::Euclidean, &data, q, 10, keep);
        total += truth.len();
        hits += got.iter().filter(|i| truth.contains(i)).count();
    }
    let after = hits as f64 / total as f64;
    assert!(
        after >= before,
        "recall after vacuum {after:.4} < before deletes {before:.4}"
    );
}

/// An index built with ef_construction 40 gains recall from a refine pass at 200.
#[test]
fn refine_improves_a_cheaply_built_index() {
    let data = dataset(5000, 48, 13);
    let queries = dataset(80, 48, 14);
    let mut cfg = IndexConfig::new("t");
    cfg.metric = Metric::Euclidean;
    cfg.m = 8;
    cfg.ef_construction = 40;
    let mut set = common::index_of(cfg, 1, &data, |_| Map::new());
    let before = recall(&set, Metric::Euclidean, &data, &queries, 16, None);
    for shard in set.shards_mut() {
        for from in (0..5000u32).step_by(500) {
            shard
                .apply(kektordb_shards::op::Op::Refine {
                    index: "t".into(),
                    from,
                    count: 500,
                    ef: 200,
                })
                .unwrap();
        }
    }
    let after = recall(&set, Metric::Euclidean, &data, &queries, 16, None);
    assert!(
        after > before,
        "refine did not improve recall: {before:.4} -> {after:.4}"
    );
    eprintln!("refine: recall@10 at ef 16 {before:.4} -> {after:.4}");
}

/// Lends two threads (the caller's and one scoped) to batch linking.
struct TwoThreads;

impl kektordb_shards::parallel::ParallelFor for TwoThreads {
    fn threads(&self) -> usize {
        2
    }
    fn run(&self, jobs: usize, f: &(dyn Fn(usize) + Sync)) {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= jobs {
                break;
            }
            f(i);
        };
        std::thread::scope(|s| {
            s.spawn(work);
            work();
        });
    }
}

#[test]
fn batch_linking_on_two_threads_keeps_the_recall_of_one_by_one_insertion() {
    let data = dataset(6000, 48, 7);
    let queries = dataset(100, 48, 8);
    for precision in [Precision::Float32, Precision::Int8] {
        let one_by_one = build(Metric::Cosine, precision, &data, 1, |_| Map::new());
        let mut cfg = IndexConfig::new("t");
        cfg.metric = Metric::Cosine;
        cfg.precision = precision;
        let mut set = ShardSet::new(1);
        set.create_index(cfg).unwrap();
        set.set_dim("t", Some(48)).unwrap();
        set.shards_mut()[0]
            .with_batch_linking("t", &TwoThreads, |ix| {
                // An update and an entity inside the batch take the ordinary paths.
                ix.upsert("0", &data[1], Map::new()).unwrap();
                ix.upsert("entity", &[0.0; 48], Map::new()).unwrap();
                for (i, v) in data.iter().enumerate() {
                    ix.upsert(&i.to_string(), v, Map::new()).unwrap();
                }
            })
            .unwrap();
        let (a, b) = (
            recall(&one_by_one, Metric::Cosine, &data, &queries, 128, None),
            recall(&set, Metric::Cosine, &data, &queries, 128, None),
        );
        assert!(
            b >= 0.95 && b >= a - 0.01,
            "{precision:?}: batch {b:.4}, one by one {a:.4}"
        );
        // Every item finds itself: no node was left unlinked.
        let lost = (0..data.len())
            .step_by(7)
            .filter(|&i| {
                let req = SearchRequest {
                    vector: Some(data[i].clone()),
                    k: 1,
                    ..Default::default()
                };
                set.search("t", &req).unwrap()[0].id != i.to_string()
            })
            .count();
        assert!(
            lost <= 2,
            "{precision:?}: {lost} items do not find themselves"
        );
        assert!(set.get("t", "entity").unwrap().is_some());
    }
}
