//! The public `kektordb` crate API as an embedder uses it: every call of the library
//! surface (create, add, add-batch, get, delete, search with filter / text / alpha /
//! ef, KV, drop) over two shards, checked against hand-worked expectations.

use kektordb::{
    IndexConfig, Metric, NewItem, Precision, SearchRequest, ShardError, ShardSet, TextLanguage,
};
use serde_json::json;

fn item(id: &str, v: [f32; 2], text: &str, year: i64) -> NewItem {
    NewItem {
        id: id.into(),
        vector: v.to_vec(),
        metadata: json!({"text": text, "year": year})
            .as_object()
            .cloned()
            .unwrap(),
    }
}

#[test]
fn embedder_round_trip() {
    let mut db = ShardSet::new(2);
    let mut cfg = IndexConfig::new("idx");
    cfg.metric = Metric::Euclidean;
    cfg.precision = Precision::Float16;
    cfg.text_language = Some(TextLanguage::Italian);
    db.create_index(cfg).unwrap();
    db.upsert("idx", item("uno", [0.0, 0.5], "la casa rossa", 2020))
        .unwrap();
    db.add_batch(
        "idx",
        vec![
            item("due", [1.0, 0.0], "il gatto nero", 2021),
            item("tre", [5.0, 5.0], "le case bianche", 2024),
        ],
    )
    .unwrap();
    let info = db.info("idx").unwrap();
    assert_eq!((info.len, info.dim), (3, Some(2)));
    assert_eq!(
        db.get("idx", "due").unwrap().unwrap().vector,
        vec![1.0, 0.0]
    );

    let near = |filter: Option<&str>| SearchRequest {
        vector: Some(vec![0.9, 0.0]),
        k: 3,
        ef_search: Some(10),
        filter: filter.map(str::to_owned),
        ..Default::default()
    };
    fn ids(db: &ShardSet, r: &SearchRequest) -> Vec<String> {
        db.search("idx", r)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    }
    assert_eq!(ids(&db, &near(None)), ["due", "uno", "tre"]);
    assert_eq!(ids(&db, &near(Some("year >= 2021"))), ["due", "tre"]);
    // Italian stemming: "case" and "casa" share a stem.
    let text = SearchRequest {
        text: Some("casa".into()),
        k: 3,
        ..Default::default()
    };
    let mut found = ids(&db, &text);
    found.sort();
    assert_eq!(found, ["tre", "uno"]);

    assert!(db.delete("idx", "due").unwrap());
    assert_eq!(ids(&db, &near(None)), ["uno", "tre"]);
    db.kv_set("k", b"v".to_vec()).unwrap();
    assert_eq!(db.kv_get("k"), Some(&b"v"[..]));
    db.drop_index("idx").unwrap();
    assert_eq!(
        db.info("idx"),
        Err(ShardError::IndexNotFound { name: "idx".into() })
    );
}
