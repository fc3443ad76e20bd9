//! Crash consistency with `CrashStorage`: a scripted workload commits after every
//! op; for every N, the machine "loses power" at the Nth sync. Recovery must give
//! exactly the state after some prefix of the ops, and that prefix must contain
//! every op whose commit returned Ok before the crash point (acknowledged).
use super::*;
use crate::index::IndexConfig;
use kektordb_io::storage::{CrashAt, CrashStorage, MemStorage};
use serde_json::json;

fn workload() -> Vec<Op> {
    let mut ops = vec![Op::CreateIndex(IndexConfig::new("i"))];
    for i in 0..12 {
        ops.push(Op::Upsert {
            index: "i".into(),
            id: format!("v{}", i % 7),
            vector: vec![i as f32, 1.0, (i * i) as f32],
            metadata: json!({"n": i}).as_object().cloned().unwrap(),
            at: 1_000 + i as i64,
        });
        if i % 4 == 3 {
            ops.push(Op::Delete {
                index: "i".into(),
                id: format!("v{}", i % 5),
            });
        }
        ops.push(Op::KvSet {
            key: format!("k{}", i % 3),
            value: vec![i as u8],
        });
    }
    ops.push(Op::KvDelete { key: "k1".into() });
    ops
}

/// A comparable fingerprint of a shard's state.
/// (items as (id, vector, metadata JSON), KV pairs)
type State = (Vec<(String, Vec<f32>, String)>, Vec<(String, Vec<u8>)>);

fn state(s: &Shard) -> State {
    let mut items = Vec::new();
    if let Ok(ix) = s.index("i") {
        for n in 0..7 {
            if let Some(it) = ix.get(&format!("v{n}")) {
                items.push((
                    it.id,
                    it.vector,
                    serde_json::to_string(&it.metadata).unwrap(),
                ));
            }
        }
    }
    let mut kv: Vec<(String, Vec<u8>)> = s
        .kv()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_vec()))
        .collect();
    kv.sort();
    (items, kv)
}

#[test]
fn freeze_at_every_sync_recovers_a_prefix_with_every_acknowledged_op() {
    let ops = workload();
    // States after each prefix, from a reference shard.
    let mut reference = Shard::new();
    let mut prefixes = vec![state(&reference)];
    for op in &ops {
        reference.apply(op.clone()).unwrap();
        prefixes.push(state(&reference));
    }
    for n in 1..=ops.len() as u64 + 1 {
        let storage = CrashStorage::new(CrashAt::Freeze(n));
        let (mut d, _) =
            DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
        let mut acked = 0;
        for (i, op) in ops.iter().enumerate() {
            d.apply(op.clone()).unwrap();
            d.commit().unwrap();
            // Syncs before the freeze point made ops durable; later ones did not.
            if (i as u64) + 1 < n {
                acked = i + 1;
            }
        }
        let (recovered, report) =
            DurableShard::recover(storage.after_crash(), FsyncPolicy::Always, false).unwrap();
        assert_eq!(report.records, acked, "freeze at sync {n}");
        assert_eq!(
            state(recovered.shard()),
            prefixes[acked],
            "freeze at sync {n}"
        );
    }
}

#[test]
fn failed_sync_is_reported_not_acknowledged() {
    let storage = CrashStorage::new(CrashAt::Fail(2));
    let (mut d, _) = DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
    d.apply(Op::KvSet {
        key: "a".into(),
        value: vec![1],
    })
    .unwrap();
    assert!(d.commit().is_ok());
    d.apply(Op::KvSet {
        key: "b".into(),
        value: vec![2],
    })
    .unwrap();
    assert!(
        d.commit().is_err(),
        "the caller must not acknowledge this write"
    );
    let (r, _) = DurableShard::recover(storage.after_crash(), FsyncPolicy::Always, false).unwrap();
    assert_eq!(r.shard().kv().get("a"), Some(&[1u8][..]));
    assert_eq!(r.shard().kv().get("b"), None);
}

#[test]
fn torn_tail_truncated_and_middle_corruption_refused() {
    let mut log = MemStorage::default();
    {
        let (mut d, _) = DurableShard::recover(log.clone(), FsyncPolicy::Always, false).unwrap();
        for i in 0..3u8 {
            d.apply(Op::KvSet {
                key: format!("k{i}"),
                value: vec![i],
            })
            .unwrap();
        }
        d.commit().unwrap();
        log = d.log.take().unwrap();
    }
    let full = log.bytes.clone();
    // Torn tail: cut inside the last record.
    let mut torn = MemStorage {
        bytes: full[..full.len() - 2].to_vec(),
    };
    let (d, report) = DurableShard::recover(torn.clone(), FsyncPolicy::Always, false).unwrap();
    assert_eq!((report.records, d.shard().kv().len()), (2, 2));
    assert!(report.truncated_bytes > 0);
    torn = d.log.unwrap();
    assert_eq!(decode_len(&torn.bytes), 2, "the torn bytes were truncated");
    // Corruption in the middle record: refused, with its offset; skipped on request.
    let mut bad = full.clone();
    let second = record::HEADER_BYTES + (full.len() / 3 - record::HEADER_BYTES);
    bad[second + record::HEADER_BYTES] ^= 0xFF;
    match DurableShard::recover(
        MemStorage { bytes: bad.clone() },
        FsyncPolicy::Always,
        false,
    ) {
        Err(RecoverError::Corrupt { offset, .. }) => assert_eq!(offset as usize, second),
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r)),
    }
    let (d, report) =
        DurableShard::recover(MemStorage { bytes: bad }, FsyncPolicy::Always, true).unwrap();
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(d.shard().kv().len(), 2);
}

#[test]
fn snapshot_then_fresh_log_rebuilds_the_state_with_or_without_the_snapshot() {
    let ops = workload();
    let (mut d, _) =
        DurableShard::recover(MemStorage::default(), FsyncPolicy::Always, false).unwrap();
    let (first, second) = ops.split_at(ops.len() / 2);
    for op in first {
        d.apply(op.clone()).unwrap();
    }
    d.commit().unwrap();
    let old = d.log.clone().unwrap();
    let snap = d.snapshot_begin(MemStorage::default()).unwrap().finish();
    for op in second {
        d.apply(op.clone()).unwrap();
    }
    d.commit().unwrap();
    let fresh = d.log.clone().unwrap();
    let expected = state(d.shard());
    // The snapshot landed: it plus the fresh log.
    let (r, report) =
        DurableShard::recover_chain(Some(&snap), vec![fresh.clone()], FsyncPolicy::Always, false)
            .unwrap();
    assert_eq!(state(r.shard()), expected);
    assert_eq!(report.records, second.len());
    // It did not (crash while writing it): the old log, then the fresh one.
    let (r, _) =
        DurableShard::recover_chain(None, vec![old, fresh], FsyncPolicy::Always, false).unwrap();
    assert_eq!(state(r.shard()), expected);
    let policy = SnapshotPolicy {
        save: Some((Duration::ZERO, 1)),
        rewrite_percentage: None,
    };
    assert!(!r.snapshot_due(&policy), "no writes since recovery");
}

#[test]
fn unlogged_import_is_lost_on_crash_and_kept_by_a_snapshot() {
    let storage = CrashStorage::new(CrashAt::Never);
    let (mut d, _) = DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
    d.apply(Op::KvSet {
        key: "logged".into(),
        value: vec![1],
    })
    .unwrap();
    d.apply_unlogged(Op::KvSet {
        key: "imported".into(),
        value: vec![2],
    })
    .unwrap();
    d.commit().unwrap();
    let policy = SnapshotPolicy {
        save: Some((Duration::ZERO, 1)),
        rewrite_percentage: Some(0),
    };
    assert!(
        !d.snapshot_due(&policy),
        "no automatic snapshot in the middle of an import"
    );
    let (r, _) = DurableShard::recover(storage.after_crash(), FsyncPolicy::Always, false).unwrap();
    assert_eq!(
        (r.shard().kv().get("logged"), r.shard().kv().get("imported")),
        (Some(&[1u8][..]), None)
    );
    let fresh = CrashStorage::new(CrashAt::Never);
    let snap = d.snapshot_begin(fresh.clone()).unwrap().finish();
    let (r, _) = DurableShard::recover_chain(
        Some(&snap),
        vec![fresh.after_crash()],
        FsyncPolicy::Always,
        false,
    )
    .unwrap();
    assert_eq!(r.shard().kv().get("imported"), Some(&[2u8][..]));
}

fn decode_len(b: &[u8]) -> usize {
    record::decode_all(b).records.len()
}

/// Runs the jobs in reverse order: the graph must not depend on the order in which
/// a batch's searches ran (as on threads).
struct Reversed;

impl crate::parallel::ParallelFor for Reversed {
    fn threads(&self) -> usize {
        2
    }
    fn run(&self, jobs: usize, f: &(dyn Fn(usize) + Sync)) {
        (0..jobs).rev().for_each(f);
    }
}

fn batch_rows(n: usize) -> Vec<Vec<f32>> {
    let mut rng = crate::rng::SplitMix64(5);
    (0..n)
        .map(|_| (0..16).map(|_| rng.normal()).collect())
        .collect()
}

fn upsert(i: usize, v: &[f32]) -> Op {
    Op::Upsert {
        index: "i".into(),
        id: format!("n{i}"),
        vector: v.to_vec(),
        metadata: serde_json::Map::new(),
        at: 1,
    }
}

/// Every node's lists on the first levels, and its nearest neighbours.
fn graph(s: &Shard) -> (Vec<Vec<u32>>, Vec<(String, u32)>) {
    let ix = s.index("i").unwrap();
    let view = ix.view();
    let lists = (0..view.hnsw.len() as u32)
        .flat_map(|n| (0..4).map(move |l| (n, l)))
        .map(|(n, l)| view.hnsw.neighbors(n, l).to_vec())
        .collect();
    let mut hits = Vec::new();
    for q in batch_rows(30).iter().step_by(3) {
        let found = nearest(s, q, 10);
        hits.extend(found.into_iter().map(|h| (h.id, h.distance.to_bits())));
    }
    (lists, hits)
}

/// A shard logging to memory, with index "i".
fn logged_index() -> DurableShard<MemStorage> {
    let (mut d, _) =
        DurableShard::recover(MemStorage::default(), FsyncPolicy::Always, false).unwrap();
    d.apply(Op::CreateIndex(IndexConfig::new("i"))).unwrap();
    d
}

fn nearest(s: &Shard, q: &[f32], k: usize) -> Vec<crate::search::PartHit> {
    let query = crate::index::PartQuery {
        vector: Some(q),
        k,
        ef: 40,
        filter: None,
        terms: None,
        only_ids: None,
        now: 0,
    };
    s.search_part("i", &query, None).unwrap()
}

#[test]
fn a_batch_linked_log_replays_to_the_same_graph() {
    let rows = batch_rows(1_500);
    let mut d = logged_index();
    for (i, v) in rows[..100].iter().enumerate() {
        d.apply(upsert(i, v)).unwrap();
    }
    // A batch large enough to search int8 codes (GUIDED_BATCH_MIN), then one that
    // is too small for them.
    for range in [100..1_400, 1_400..1_500] {
        d.with_batch_linking("i", &Reversed, |d| {
            for i in range.clone() {
                d.apply(upsert(i, &rows[i])).unwrap();
            }
        });
    }
    d.commit().unwrap();
    let live = graph(d.shard());
    let log = d.log.take().unwrap();
    let (replayed, report) = DurableShard::recover(log, FsyncPolicy::Always, false).unwrap();
    assert_eq!(report.records, 1 + 1_500 + 4);
    assert_eq!(graph(replayed.shard()), live);
}

#[test]
fn a_batch_cut_off_by_a_crash_is_linked_at_recovery() {
    let rows = batch_rows(300);
    let mut d = logged_index();
    d.apply(upsert(0, &rows[0])).unwrap();
    // The begin marker and the upserts reached the log; the end marker did not.
    d.apply(Op::BeginLinkBatch { index: "i".into() }).unwrap();
    for (i, v) in rows.iter().enumerate().skip(1) {
        d.apply(upsert(i, v)).unwrap();
    }
    d.commit().unwrap();
    let log = d.log.take().unwrap();
    let (recovered, _) = DurableShard::recover(log, FsyncPolicy::Always, false).unwrap();
    for (i, v) in rows.iter().enumerate() {
        let hits = nearest(recovered.shard(), v, 1);
        assert_eq!(hits[0].id, format!("n{i}"), "node {i} is linked");
    }
}
