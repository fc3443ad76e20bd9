//! A snapshot restores exactly the state it saved: same items, same KV and edges,
//! and the same graph (searches return identical results, distances included).
//! Damage is an error, never a panic.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::graph::Side;
use crate::index::{IndexConfig, PartQuery};
use crate::metric::{Metric, Precision};
use crate::op::Op;
use crate::rng::SplitMix64;
use crate::shard::Shard;
use crate::text::TextLanguage;

fn shard() -> Shard {
    let mut s = Shard::new();
    let mut rng = SplitMix64(7);
    for (name, precision, metric) in [
        ("f32", Precision::Float32, Metric::Cosine),
        ("f16", Precision::Float16, Metric::Euclidean),
        ("i8", Precision::Int8, Metric::Cosine),
    ] {
        let mut cfg = IndexConfig::new(name);
        cfg.precision = precision;
        cfg.metric = metric;
        cfg.m = 6;
        cfg.text_language = Some(TextLanguage::English);
        s.apply(Op::CreateIndex(cfg)).unwrap();
        for i in 0..400 {
            let v: Vec<f32> = (0..12).map(|_| rng.normal()).collect();
            s.apply(Op::Upsert {
                index: name.into(),
                id: format!("n{}", i % 350),
                vector: v,
                metadata: json!({"i": i, "t": format!("word{} common", i % 9)})
                    .as_object()
                    .cloned()
                    .unwrap(),
                at: 1_000 + i,
            })
            .unwrap();
        }
        s.apply(Op::Upsert {
            index: name.into(),
            id: "entity".into(),
            vector: vec![0.0],
            metadata: json!({"kind": "person"}).as_object().cloned().unwrap(),
            at: 5,
        })
        .unwrap();
        for i in (0..350).step_by(7) {
            s.apply(Op::Delete {
                index: name.into(),
                id: format!("n{i}"),
            })
            .unwrap();
        }
    }
    s.apply(Op::Vacuum {
        index: "f16".into(),
    })
    .unwrap();
    s.apply(Op::CreateIndex(IndexConfig::new("empty"))).unwrap();
    s.apply(Op::KvSet {
        key: "k".into(),
        value: vec![1, 2, 3],
    })
    .unwrap();
    for (side, node, other) in [(Side::Out, "n1", "n2"), (Side::In, "n2", "n1")] {
        s.apply(Op::GraphLink {
            side,
            node: node.into(),
            relation: "rel".into(),
            other: other.into(),
            weight: 0.5,
            at: 10,
            props: Default::default(),
        })
        .unwrap();
        s.apply(Op::GraphUnlink {
            side,
            node: node.into(),
            relation: "rel".into(),
            other: other.into(),
            at: 20,
            hard: false,
        })
        .unwrap();
    }
    s
}

fn round_trip(s: &Shard) -> Shard {
    let bytes = encode(s).finish();
    decode(&bytes).unwrap().0
}

fn results(s: &Shard, index: &str, terms: Option<&[String]>) -> Vec<(String, u32, u32)> {
    let mut rng = SplitMix64(99);
    let mut out = Vec::new();
    for _ in 0..20 {
        let q: Vec<f32> = (0..12).map(|_| rng.normal()).collect();
        let hits = s
            .search_part(
                index,
                &PartQuery {
                    vector: Some(&q),
                    k: 10,
                    ef: 40,
                    filter: None,
                    terms,
                    only_ids: None,
                    now: 0,
                },
                None,
            )
            .unwrap();
        out.extend(
            hits.into_iter()
                .map(|h| (h.id, h.distance.to_bits(), h.text_score.to_bits())),
        );
    }
    out
}

#[test]
fn restores_items_graph_kv_and_edges_exactly() {
    let s = shard();
    let r = round_trip(&s);
    let terms = vec!["word3".to_owned()];
    for name in ["f32", "f16", "i8"] {
        let (a, b) = (s.index(name).unwrap(), r.index(name).unwrap());
        assert_eq!(a.config(), b.config());
        assert_eq!(
            (a.len(), a.node_slots(), a.deleted()),
            (b.len(), b.node_slots(), b.deleted())
        );
        assert_eq!(
            a.live_items().collect::<Vec<_>>(),
            b.live_items().collect::<Vec<_>>()
        );
        assert_eq!(b.get("n7"), None, "deleted stays deleted");
        assert_eq!(results(&s, name, None), results(&r, name, None), "{name}");
        assert_eq!(
            results(&s, name, Some(&terms)),
            results(&r, name, Some(&terms)),
            "{name} hybrid"
        );
    }
    assert_eq!(r.index("empty").unwrap().len(), 0);
    assert_eq!(r.kv().get("k"), Some(&[1u8, 2, 3][..]));
    let versions = |s: &Shard| {
        s.graph()
            .all_versions(Side::Out)
            .map(|(n, rel, e)| (n.to_owned(), rel.to_owned(), e.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(versions(&s), versions(&r));
    assert_eq!(versions(&r)[0].2.deleted, Some(20));
}

#[test]
fn later_inserts_continue_the_same_graph() {
    // The level generator's state is saved: inserting after a restore builds the
    // same graph as inserting without one.
    let (mut a, mut b) = (shard(), round_trip(&shard()));
    let mut rng = SplitMix64(3);
    for i in 0..50 {
        let v: Vec<f32> = (0..12).map(|_| rng.normal()).collect();
        for s in [&mut a, &mut b] {
            s.upsert("f32", &format!("late{i}"), &v, Default::default())
                .unwrap();
        }
    }
    assert_eq!(results(&a, "f32", None), results(&b, "f32", None));
}

#[test]
fn damage_is_an_error_not_a_panic() {
    let bytes = encode(&shard()).finish();
    for i in (0..bytes.len()).step_by(97) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x5a;
        let _ = decode(&bad);
    }
    assert!(decode(&bytes[..bytes.len() - 64]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Sections with valid framing but arbitrary contents (what a bug, not a disk,
    /// would produce) are rejected without panicking.
    #[test]
    fn arbitrary_sections_never_panic(
        cuts in proptest::collection::vec((0usize..4096, 0u32..15), 0..12),
        flip in 0usize..100_000,
    ) {
        let good = encode(&shard()).finish();
        let sections = kektordb_io::snapfile::read(&good).unwrap();
        let mut w = kektordb_io::snapfile::SnapWriter::new();
        for (i, s) in sections.iter().enumerate() {
            let mut p = s.payload.to_vec();
            if let Some((cut, kind)) = cuts.get(i) {
                if !p.is_empty() {
                    let at = flip % p.len();
                    p[at] = p[at].wrapping_add(1);
                }
                p.truncate(p.len().min(*cut * 16));
                w.section(if *kind == 0 { s.kind } else { *kind }, &p);
            } else {
                w.section(s.kind, &p);
            }
        }
        let _ = decode(&w.finish());
    }
}

#[test]
fn edge_repairs_queued_by_deletes_survive_a_snapshot() {
    let mut s = Shard::new();
    s.apply(Op::CreateIndex(IndexConfig::new("i"))).unwrap();
    for id in ["a", "b"] {
        s.upsert("i", id, &[1.0, 0.0], Default::default()).unwrap();
    }
    s.apply(Op::GraphLink {
        side: Side::Out,
        node: "a".into(),
        relation: "r".into(),
        other: "x".into(),
        weight: 1.0,
        at: 1,
        props: Default::default(),
    })
    .unwrap();
    for id in ["a", "b"] {
        s.apply(Op::Delete {
            index: "i".into(),
            id: id.into(),
        })
        .unwrap();
    }
    assert_eq!(
        s.graph().pending_repairs(10),
        ["a"],
        "only an id with live edges is queued"
    );
    let mut r = round_trip(&s);
    assert_eq!(r.graph().pending_repairs(10), ["a"]);
    r.apply(Op::RepairDone {
        ids: vec!["a".into()],
    })
    .unwrap();
    assert!(r.graph().pending_repairs(10).is_empty());
}
