//! The embeddable API end to end over several shards: upsert semantics, soft delete,
//! zero-vector entities, dimension checks, all-or-nothing batches, BM25 and hybrid
//! search with global statistics, and KV routing. Each case compares against values
//! worked out by hand or against a one-shard run of the same data.

use kektordb_shards::index::IndexConfig;
use kektordb_shards::shard_set::NewItem;
use kektordb_shards::text::TextLanguage;
use kektordb_shards::{Metric, SearchRequest, ShardError, ShardSet};
use serde_json::{json, Map, Value};

fn meta(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn item(id: &str, v: &[f32], m: Value) -> NewItem {
    NewItem {
        id: id.into(),
        vector: v.to_vec(),
        metadata: meta(m),
    }
}

fn set_with(shards: usize, text: bool) -> ShardSet {
    let mut s = ShardSet::new(shards);
    let mut cfg = IndexConfig::new("docs");
    cfg.metric = Metric::Cosine;
    cfg.text_language = text.then_some(TextLanguage::English);
    s.create_index(cfg).unwrap();
    s
}

fn ids(set: &ShardSet, req: &SearchRequest) -> Vec<String> {
    set.search("docs", req)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn vreq(v: &[f32], k: usize) -> SearchRequest {
    SearchRequest {
        vector: Some(v.to_vec()),
        k,
        ..Default::default()
    }
}

#[test]
fn upsert_delete_and_entities() {
    let mut s = set_with(3, false);
    s.add_batch(
        "docs",
        vec![
            item("a", &[1.0, 0.0, 0.0], json!({"tag": "x"})),
            item("b", &[0.0, 1.0, 0.0], json!({"tag": "y"})),
            item("person:ann", &[0.0], json!({"kind": "person"})),
        ],
    )
    .unwrap();
    // The entity is stored and retrievable but never a vector result.
    assert_eq!(
        s.get("docs", "person:ann").unwrap().unwrap().metadata["kind"],
        "person"
    );
    assert_eq!(ids(&s, &vreq(&[0.0, 0.0, 1.0], 10)), ["a", "b"]);
    // Upsert moves "a" next to the query.
    s.upsert("docs", item("a", &[0.0, 0.1, 1.0], json!({"tag": "z"})))
        .unwrap();
    assert_eq!(ids(&s, &vreq(&[0.0, 0.0, 1.0], 1)), ["a"]);
    assert_eq!(s.get("docs", "a").unwrap().unwrap().metadata["tag"], "z");
    let f = SearchRequest {
        filter: Some("tag = 'x'".into()),
        ..vreq(&[0.0, 0.0, 1.0], 10)
    };
    assert!(
        ids(&s, &f).is_empty(),
        "old metadata must be gone after upsert"
    );
    // Soft delete hides the item everywhere.
    assert!(s.delete("docs", "b").unwrap());
    assert!(!s.delete("docs", "b").unwrap());
    assert_eq!(s.get("docs", "b").unwrap(), None);
    assert_eq!(ids(&s, &vreq(&[0.0, 1.0, 0.0], 10)), ["a"]);
    assert_eq!(s.info("docs").unwrap().len, 2);
}

#[test]
fn dimension_and_batch_errors() {
    let mut s = set_with(2, false);
    s.add_batch("docs", vec![item("a", &[1.0, 0.0], json!({}))])
        .unwrap();
    let bad = s.add_batch(
        "docs",
        vec![
            item("b", &[1.0, 0.0], json!({})),
            item("c", &[1.0, 0.0, 0.0], json!({})),
        ],
    );
    assert_eq!(
        bad,
        Err(ShardError::WrongDimension {
            expected: 2,
            got: 3
        })
    );
    assert_eq!(
        s.get("docs", "b").unwrap(),
        None,
        "a rejected batch applies nothing"
    );
    let nan = s.add_batch("docs", vec![item("d", &[f32::NAN, 0.0], json!({}))]);
    assert_eq!(nan, Err(ShardError::NonFiniteValue { position: 0 }));
    assert!(matches!(
        s.search("docs", &vreq(&[1.0], 1)),
        Err(ShardError::WrongDimension { .. })
    ));
    assert!(matches!(
        s.search("nope", &vreq(&[1.0], 1)),
        Err(ShardError::IndexNotFound { .. })
    ));
    assert!(matches!(
        s.create_index(IndexConfig::new("docs")),
        Err(ShardError::IndexExists { .. })
    ));
    let parse = SearchRequest {
        filter: Some("tag = ".into()),
        ..vreq(&[1.0, 0.0], 1)
    };
    match s.search("docs", &parse) {
        Err(ShardError::Filter(e)) => assert_eq!(e.position, 6),
        other => panic!("expected a filter error, got {other:?}"),
    }
    let text = SearchRequest {
        text: Some("hello".into()),
        ..vreq(&[1.0, 0.0], 1)
    };
    assert!(matches!(
        s.search("docs", &text),
        Err(ShardError::TextSearchDisabled { .. })
    ));
    s.drop_index("docs").unwrap();
    assert!(matches!(
        s.get("docs", "a"),
        Err(ShardError::IndexNotFound { .. })
    ));
}

fn corpus() -> Vec<NewItem> {
    let texts = [
        ("d1", "rust database engine for vectors", [1.0, 0.0, 0.0]),
        ("d2", "python web framework", [0.9, 0.1, 0.0]),
        (
            "d3",
            "a fast vector database written in rust",
            [0.0, 1.0, 0.0],
        ),
        ("d4", "gardening tips for spring", [0.0, 0.0, 1.0]),
        ("d5", "database backups and restores", [0.5, 0.5, 0.0]),
        ("d6", "the rust compiler", [0.1, 0.0, 0.9]),
    ];
    texts
        .iter()
        .map(|(id, t, v)| item(id, v, json!({"text": t})))
        .collect()
}

#[test]
fn text_and_hybrid_search_use_global_statistics() {
    let mut one = set_with(1, true);
    let mut many = set_with(4, true);
    one.add_batch("docs", corpus()).unwrap();
    many.add_batch("docs", corpus()).unwrap();
    let text = SearchRequest {
        text: Some("rust database".into()),
        k: 10,
        ..Default::default()
    };
    let a = one.search("docs", &text).unwrap();
    let b = many.search("docs", &text).unwrap();
    assert_eq!(
        a, b,
        "sharding must not change BM25 scores (IDF is summed over shards)"
    );
    let top: Vec<&str> = a.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(&top[..2], ["d1", "d3"], "both terms beat one term");
    assert!(top.contains(&"d5") && top.contains(&"d6") && !top.contains(&"d4"));
    assert!(
        (a[0].score - 1.0).abs() < 1e-6,
        "text scores are normalized by the maximum"
    );

    // Hybrid: the vector points at d4 (no text match); alpha moves the balance.
    let hybrid = |alpha: Option<f32>| SearchRequest {
        vector: Some(vec![0.0, 0.0, 1.0]),
        text: Some("rust database".into()),
        k: 6,
        alpha,
        ..Default::default()
    };
    let vector_heavy = ids(&many, &hybrid(Some(1.0)));
    assert_eq!(vector_heavy[0], "d4");
    let text_heavy = ids(&many, &hybrid(Some(0.0)));
    assert_eq!(text_heavy[0], "d1");
    let default_alpha = many.search("docs", &hybrid(None)).unwrap();
    let half = many.search("docs", &hybrid(Some(0.5))).unwrap();
    assert_eq!(default_alpha, half, "an omitted alpha means 0.5");
    // d6 matches "rust" and is near the vector: it must win at 0.5.
    assert_eq!(default_alpha[0].id, "d6");

    // Text search honours filters.
    let filtered = SearchRequest {
        filter: Some("CONTAINS(text, 'fast')".into()),
        ..text
    };
    assert_eq!(ids(&many, &filtered), ["d3"]);
}

#[test]
fn kv_routes_by_key() {
    let mut s = ShardSet::new(3);
    for i in 0..100 {
        s.kv_set(&format!("k{i}"), vec![i as u8]).unwrap();
    }
    for i in 0..100 {
        assert_eq!(s.kv_get(&format!("k{i}")), Some(&[i as u8][..]));
    }
    let per_shard: Vec<usize> = s.shards().iter().map(|sh| sh.kv().len()).collect();
    assert_eq!(per_shard.iter().sum::<usize>(), 100);
    assert!(
        per_shard.iter().all(|n| *n > 10),
        "keys spread over shards: {per_shard:?}"
    );
    assert!(s.kv_delete("k5"));
    assert_eq!(s.kv_get("k5"), None);
}

#[test]
fn metadata_only_upsert_keeps_the_node_in_every_precision() {
    use kektordb_shards::Precision;
    for precision in [Precision::Float32, Precision::Float16, Precision::Int8] {
        let mut s = ShardSet::new(1);
        let mut cfg = IndexConfig::new("docs");
        cfg.precision = precision;
        s.create_index(cfg).unwrap();
        let v = [0.123_456_7, -3.3, 7.77];
        s.upsert("docs", item("a", &v, json!({"n": 1}))).unwrap();
        s.upsert("docs", item("a", &v, json!({"n": 2}))).unwrap();
        let info = s.info("docs").unwrap();
        assert_eq!(
            info.memory.rows, 1,
            "{precision:?}: same vector must not add a node"
        );
        assert_eq!(s.get("docs", "a").unwrap().unwrap().metadata["n"], 2);
        s.upsert("docs", item("a", &[1.0, 2.0, 3.0], json!({"n": 3})))
            .unwrap();
        assert_eq!(
            s.info("docs").unwrap().memory.rows,
            2,
            "{precision:?}: a new vector gets a new node"
        );
        assert_eq!(s.info("docs").unwrap().len, 1);
    }
}
