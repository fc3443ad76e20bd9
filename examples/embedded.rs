//! Embedding the engine: create an index, add items, search with a filter and with
//! text, use the KV store.
//!
//! `cargo run --example embedded`

use kektordb::{IndexConfig, Metric, NewItem, SearchRequest, ShardSet, TextLanguage};
use serde_json::json;

fn main() -> Result<(), kektordb::ShardError> {
    let mut db = ShardSet::new(2);
    let mut cfg = IndexConfig::new("docs");
    cfg.metric = Metric::Cosine;
    cfg.text_language = Some(TextLanguage::English);
    db.create_index(cfg)?;
    let docs = [
        ("a", [1.0, 0.0, 0.0], "rust vector database", "db"),
        ("b", [0.0, 1.0, 0.0], "gardening in spring", "home"),
        ("c", [0.7, 0.7, 0.0], "databases for gardeners", "db"),
    ];
    let items = docs
        .iter()
        .map(|(id, v, text, cat)| NewItem {
            id: id.to_string(),
            vector: v.to_vec(),
            metadata: json!({"text": text, "category": cat})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    db.add_batch("docs", items)?;
    let hits = db.search(
        "docs",
        &SearchRequest {
            vector: Some(vec![0.9, 0.1, 0.0]),
            k: 2,
            filter: Some("category = 'db'".into()),
            ..Default::default()
        },
    )?;
    println!("filtered vector search: {hits:?}");
    let hybrid = db.search(
        "docs",
        &SearchRequest {
            vector: Some(vec![0.0, 1.0, 0.0]),
            text: Some("database".into()),
            k: 3,
            ..Default::default()
        },
    )?;
    println!("hybrid search (alpha 0.5): {hybrid:?}");
    db.kv_set("greeting", b"hello".to_vec())?;
    println!(
        "kv: {:?}",
        db.kv_get("greeting").map(String::from_utf8_lossy)
    );
    Ok(())
}
