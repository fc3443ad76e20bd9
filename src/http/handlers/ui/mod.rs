//! The dashboard (`/ui/`): the embedded page and its files (`assets.rs`, public),
//! and the calls only it makes, behind the token like every data route:
//! `POST /ui/search` (`search.rs`), `POST /ui/explore` and `POST /ui/points`
//! (`explore.rs`), and `/ui/overview` here. Everything else the page shows comes
//! from the API's own routes.

pub mod assets;
pub mod explore;
pub mod search;

use serde_json::{json, Map, Value};

use super::indexes::info_json;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

/// Removes `vector` from a node and from the nodes under its `connections`.
pub fn without_vectors(node: &mut Value) {
    if let Some(o) = node.as_object_mut() {
        o.remove("vector");
        if let Some(Value::Object(conns)) = o.get_mut("connections") {
            for kids in conns.values_mut() {
                if let Value::Array(kids) = kids {
                    kids.iter_mut().for_each(without_vectors);
                }
            }
        }
    }
}

/// `GET|POST /ui/overview`: every index with what the indexes view shows (counts,
/// metric, precision, memory, text language, maintenance settings, deleted rows,
/// the embedder that serves its text queries), the shard count and the background
/// maintenance runs.
pub async fn overview(state: &State) -> Result<Response, ApiError> {
    let engine = &state.engine;
    let mut indexes = Vec::new();
    for info in engine.list_indexes().await? {
        let name = info.config.name.clone();
        let mut v = info_json(&info);
        let m = info.memory;
        v["memory_bytes"] = json!(
            m.vectors_bytes
                + m.rescore_bytes
                + m.graph_bytes
                + m.ids_bytes
                + m.metadata_bytes
                + m.text_bytes
        );
        v["memory_decay"] = json!(info.config.memory.is_some_and(|c| c.enabled));
        v["auto_links"] = json!(info.config.auto_links.len());
        // An index dropped meanwhile keeps its figures without the deleted rows.
        if let Ok((deleted, slots)) = engine.deleted_rows(&name).await {
            v["deleted_rows"] = json!(deleted);
            v["node_slots"] = json!(slots);
        }
        v["embedder"] = engine
            .embedder_for(&name)
            .map_or(Value::Null, |e| json!(e.name()));
        indexes.push(v);
    }
    let runs: Map<String, Value> = engine
        .maintenance_runs()
        .into_iter()
        .map(|(k, n)| (k.to_owned(), json!(n)))
        .collect();
    Ok(Response::ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "shards": engine.shards(),
        "indexes": indexes,
        "maintenance_runs": runs,
        "auth": state.token.is_some(),
        "vectorizers": state.rag.is_some(),
    })))
}
