//! Metadata as an index part stores it (compact JSON text, a pinned set beside it).

use serde_json::{json, Map, Value};

use super::config::MemoryConfig;
use super::{Index, IndexConfig};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn index() -> Index {
    let mut cfg = IndexConfig::new("m");
    cfg.memory = Some(MemoryConfig {
        enabled: true,
        decay_half_life_ns: 1_000,
    });
    Index::new(cfg).unwrap()
}

#[test]
fn metadata_reads_back_and_pins_follow_updates_deletes_and_snapshots() {
    let mut ix = index();
    let md = obj(json!({"t": "x", "n": 1.5, "tags": ["a", "b"], "_pinned": true}));
    ix.upsert_at("a", &[1.0, 0.0], md.clone(), 0).unwrap();
    ix.upsert_at("b", &[0.0, 1.0], obj(json!({"t": "y"})), 0)
        .unwrap();
    assert_eq!(ix.get("a").unwrap().metadata, md);
    let (a, b) = (ix.ids.get("a").unwrap(), ix.ids.get("b").unwrap());
    assert_eq!(ix.decay(a, 10_000), 1.0, "pinned");
    assert!(ix.decay(b, 10_000) < 0.01, "not pinned");

    // Same vector, new metadata: unpinned, and the old fields leave the filters.
    ix.upsert_at("a", &[1.0, 0.0], obj(json!({"t": "z"})), 0)
        .unwrap();
    assert!(ix.decay(a, 10_000) < 0.01, "unpinned by the update");
    let x = crate::filter::parse("t = 'x'").unwrap();
    assert!(ix.find(&x, 10).is_empty());
    ix.upsert_at("b", &[0.0, 1.0], obj(json!({"_pinned": true})), 0)
        .unwrap();

    // A snapshot restores the text and rebuilds the pinned set.
    let mut copy = index();
    copy.restore(super::IndexParts {
        ids: ix.ids.iter().map(Into::into).collect(),
        flags: (0..ix.ids.len() as u32)
            .map(|n| {
                if ix.live.contains(n) {
                    super::FLAG_LIVE
                } else {
                    0
                }
            })
            .collect(),
        touched: ix.touched.clone(),
        metadata: ix.metadata.clone(),
        store: ix
            .store
            .as_ref()
            .map(|s| s.retain_rows(&(0..ix.ids.len() as u32).collect::<Vec<_>>())),
        hnsw: ix
            .hnsw
            .compacted(&(0..ix.ids.len() as u32).collect::<Vec<_>>()),
        vacuumed: 0,
    })
    .unwrap();
    let b2 = copy.ids.get("b").unwrap();
    assert_eq!(copy.decay(b2, 10_000), 1.0);
    assert_eq!(copy.get("a").unwrap().metadata, obj(json!({"t": "z"})));
    assert!(copy.delete("b"));
    assert!(!copy.pinned.contains(b2), "a deleted node is not pinned");
}

#[test]
fn one_small_field_costs_tens_of_bytes_not_a_b_tree_node() {
    let mut ix = index();
    for i in 0..2000 {
        let v = [1.0, i as f32];
        ix.upsert_at(&i.to_string(), &v, obj(json!({"bucket": i % 100})), 0)
            .unwrap();
    }
    let m = ix.memory();
    let stored: usize = ix.metadata.iter().flatten().map(|t| t.len()).sum();
    assert!(stored <= 2000 * 14, "{stored} bytes of JSON text");
    let per_node = (m.metadata_bytes - ix.meta_index.memory_bytes()) / 2000;
    assert!(per_node < 64, "{per_node} bytes per node");
}
