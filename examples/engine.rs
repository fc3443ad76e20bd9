//! The engine the server runs, embedded without HTTP: shard executors on glommio,
//! async calls driven here with `block_on`.
//!
//! `cargo run --example engine`

use futures_lite::future::block_on;
use kektordb::{Engine, IndexConfig, Metric, NewItem, Options, SearchRequest};
use serde_json::json;

fn main() -> Result<(), kektordb::EngineError> {
    let engine = Engine::open(Options {
        shards: 2,
        pin: false,
        ..Options::default()
    })?;
    let mut cfg = IndexConfig::new("docs");
    cfg.metric = Metric::Cosine;
    block_on(engine.create_index(cfg))?;
    let items = (0..1000)
        .map(|i| NewItem {
            id: format!("doc-{i}"),
            vector: vec![(i as f32).sin(), (i as f32).cos(), 1.0],
            metadata: json!({"n": i}).as_object().cloned().unwrap_or_default(),
        })
        .collect();
    block_on(engine.add_batch("docs", items))?;
    let hits = block_on(engine.search(
        "docs",
        SearchRequest {
            vector: Some(vec![0.0, 1.0, 1.0]),
            k: 3,
            filter: Some("n < 500".into()),
            ..Default::default()
        },
    ))?;
    println!("{hits:?}");
    engine.close();
    Ok(())
}
