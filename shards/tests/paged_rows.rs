//! int8's full-precision copy paged into a scratch file (`rows::page_cold_rows_in`,
//! one setting per process, hence a test binary of its own): rescoring, updates,
//! vacuum, compression and a snapshot round trip work on paged rows as on rows in
//! memory, and the memory figures say where the copy lives.

mod common;

use kektordb_shards::index::IndexConfig;
use kektordb_shards::op::Op;
use kektordb_shards::rng::SplitMix64;
use kektordb_shards::shard_set::NewItem;
use kektordb_shards::{Metric, Precision, SearchRequest, ShardSet};

fn rows(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SplitMix64(seed);
    (0..n)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect()
}

fn set_of(precision: Precision, data: &[Vec<f32>]) -> ShardSet {
    let mut cfg = IndexConfig::new("t");
    cfg.metric = Metric::Cosine;
    cfg.precision = precision;
    common::index_of(cfg, 2, data, |_| Default::default())
}

/// Every stored row, asked for, comes back first (rescored with its exact vector,
/// so at distance ~0).
fn finds_itself(set: &ShardSet, data: &[Vec<f32>], skip: impl Fn(usize) -> bool) {
    for (i, v) in data.iter().enumerate().step_by(7) {
        if skip(i) {
            continue;
        }
        let req = SearchRequest {
            vector: Some(v.clone()),
            k: 3,
            ef_search: Some(64),
            ..Default::default()
        };
        let hits = set.search("t", &req).unwrap();
        assert_eq!(hits[0].id, i.to_string(), "row {i}");
        assert!(hits[0].score > 0.9999, "row {i}: score {}", hits[0].score);
    }
}

#[test]
fn paged_full_precision_rows_serve_like_rows_in_memory() {
    let dir = std::env::temp_dir().join(format!("kektor-paged-{}", std::process::id()));
    kektordb_shards::rows::page_cold_rows_in(dir.clone());
    let (n, dim) = (3000, 24);
    let data = rows(n, dim, 1);

    let mut set = set_of(Precision::Int8, &data);
    let mem = set.info("t").unwrap().memory;
    assert_eq!(mem.rescore_bytes, 0, "nothing of the copy in memory");
    assert_eq!(mem.rescore_paged_bytes, n * dim * 4);
    finds_itself(&set, &data, |_| false);
    // Nothing is left in the directory: the scratch files are unlinked.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);

    // Update and delete, then vacuum (the rows are copied into new files).
    let mut data = data;
    data[7] = rows(1, dim, 99).remove(0);
    set.upsert(
        "t",
        NewItem {
            id: "7".into(),
            vector: data[7].clone(),
            metadata: Default::default(),
        },
    )
    .unwrap();
    for i in (0..n).filter(|i| i % 5 == 1) {
        assert!(set.delete("t", &i.to_string()).unwrap());
    }
    for shard in set.shards_mut() {
        shard.apply(Op::Vacuum { index: "t".into() }).unwrap();
    }
    assert_eq!(
        set.info("t").unwrap().memory.rescore_paged_bytes,
        (n - n / 5) * dim * 4
    );
    finds_itself(&set, &data, |i| i % 5 == 1);

    // A snapshot of each shard decodes into a shard whose rows are paged again.
    for shard in set.shards_mut() {
        let bytes = kektordb_shards::snapshot::encode(shard).finish();
        let (back, _) = kektordb_shards::snapshot::decode(&bytes).unwrap();
        let m = back.index("t").unwrap().memory();
        assert_eq!(m.rescore_bytes, 0);
        assert_eq!(
            m.rescore_paged_bytes,
            shard.index("t").unwrap().memory().rescore_paged_bytes
        );
        *shard = back;
    }
    finds_itself(&set, &data, |i| i % 5 == 1);

    // Compressing a float32 index to int8 pages the copy it keeps.
    let mut f32set = set_of(Precision::Float32, &data);
    assert_eq!(f32set.info("t").unwrap().memory.rescore_paged_bytes, 0);
    for shard in f32set.shards_mut() {
        shard
            .apply(Op::Compress {
                index: "t".into(),
                precision: Precision::Int8,
            })
            .unwrap();
    }
    let m = f32set.info("t").unwrap().memory;
    assert_eq!((m.rescore_bytes, m.rescore_paged_bytes), (0, n * dim * 4));
    finds_itself(&f32set, &data, |_| false);
    std::fs::remove_dir_all(&dir).ok();
}
