//! Vector routes: add, add-batch, import (and its commit), get, delete, search,
//! search-with-scores, reinforce.

use kektordb_shards::index::Item;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::walks::tree_json;
use super::{accepted, body, ok};
use crate::engine::{ItemInput, SearchQuery};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

#[derive(Deserialize)]
struct VectorItem {
    id: String,
    /// Missing or all zeros: a graph entity.
    #[serde(default, deserialize_with = "crate::json_floats::opt_f32s")]
    vector: Option<Vec<f32>>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

impl From<VectorItem> for ItemInput {
    fn from(v: VectorItem) -> ItemInput {
        ItemInput {
            id: v.id,
            vector: v.vector,
            metadata: v.metadata.unwrap_or_default(),
        }
    }
}

/// One item beside its index's name (the fields written out, not a flattened
/// `VectorItem`: serde's flatten buffers values, and the vector is read raw).
#[derive(Deserialize)]
struct AddOne {
    index_name: String,
    id: String,
    #[serde(default, deserialize_with = "crate::json_floats::opt_f32s")]
    vector: Option<Vec<f32>>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct AddBatch {
    index_name: String,
    vectors: Vec<VectorItem>,
}

#[derive(Deserialize)]
struct IndexOnly {
    index_name: String,
}

#[derive(Deserialize)]
struct GetVectors {
    index_name: String,
    ids: Vec<String>,
    #[serde(default)]
    compress_context: bool,
}

#[derive(Deserialize)]
struct DeleteVector {
    index_name: String,
    id: String,
}

#[derive(Deserialize)]
struct ReinforceBody {
    index_name: String,
    ids: Vec<String>,
}

pub fn item_json(it: Item) -> Value {
    json!({"id": it.id, "vector": crate::json_floats::f32s_json(&it.vector), "metadata": it.metadata})
}

pub async fn add(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: AddOne = body(raw)?;
    state
        .engine
        .add_inputs(
            &b.index_name,
            vec![ItemInput {
                id: b.id,
                vector: b.vector,
                metadata: b.metadata.unwrap_or_default(),
            }],
            true,
        )
        .await?;
    Ok(ok())
}

pub async fn add_batch(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: AddBatch = body(raw)?;
    let items = b.vectors.into_iter().map(ItemInput::from).collect();
    let n = state.engine.add_inputs(&b.index_name, items, true).await?;
    Ok(Response::ok(json!({"status": "OK", "vectors_added": n})))
}

/// Import: applied without per-item logging; durable after `import/commit`.
pub async fn import(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: AddBatch = body(raw)?;
    let items = b.vectors.into_iter().map(ItemInput::from).collect();
    let n = state.engine.add_inputs(&b.index_name, items, false).await?;
    Ok(Response::ok(json!({
        "status": "OK",
        "vectors_imported": n,
        "message": "imported; durable after /vector/actions/import/commit",
    })))
}

/// Commit of an import: snapshots every shard (the imported items become durable)
/// as an asynchronous task with progress.
pub async fn import_commit(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: IndexOnly = body(raw)?;
    state.engine.config(&b.index_name)?;
    Ok(accepted(
        &state.engine.start_snapshot("import commit").await?,
    ))
}

pub async fn get_many(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: GetVectors = body(raw)?;
    if b.compress_context {
        return Err(crate::engine::EngineError::NotAvailable {
            what: "compress_context",
        }
        .into());
    }
    let items = state.engine.get_many(&b.index_name, b.ids).await?;
    Ok(Response::ok(Value::Array(
        items.into_iter().map(item_json).collect(),
    )))
}

pub async fn get_one(state: &State, index: &str, id: &str) -> Result<Response, ApiError> {
    Ok(Response::ok(item_json(
        state.engine.get_one(index, id).await?,
    )))
}

pub async fn delete(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: DeleteVector = body(raw)?;
    state.engine.delete_existing(&b.index_name, &b.id).await?;
    Ok(ok())
}

pub async fn search(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let q: SearchQuery = body(raw)?;
    if !q.expands() {
        let ids: Vec<String> = state
            .engine
            .query(&q)
            .await?
            .into_iter()
            .map(|h| h.id)
            .collect();
        return Ok(Response::ok(json!({ "results": ids })));
    }
    // With relations: each result carries its node and the related nodes.
    let results: Vec<Value> = state
        .engine
        .query_with_relations(&q)
        .await?
        .into_iter()
        .map(|(h, tree)| json!({"id": h.id, "score": h.score, "node": tree_json(tree)}))
        .collect();
    Ok(Response::ok(json!({ "results": results })))
}

pub async fn search_with_scores(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let q: SearchQuery = body(raw)?;
    let results: Vec<Value> = state
        .engine
        .query(&q)
        .await?
        .into_iter()
        .map(|h| {
            // A hit only the text side scored has no distance: the key is left out
            // rather than written as null.
            let mut o = json!({"id": h.id, "score": h.score});
            if let Some(d) = h.distance {
                o["distance"] = json!(d);
            }
            o
        })
        .collect();
    Ok(Response::ok(json!({ "results": results })))
}

/// `POST /vector/actions/reinforce`: memory decay restarts from now for these ids.
pub async fn reinforce(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: ReinforceBody = body(raw)?;
    let n = state.engine.reinforce(&b.index_name, b.ids).await?;
    Ok(Response::ok(json!({"status": "OK", "reinforced": n})))
}

/// `GET /vector/indexes/{name}/export?limit=1000&offset=0[&include_vectors=true]
/// [&filter=...]`: a page of items in storage order, upstream's shape
/// (`data`, `has_more`, `next_offset`, `total_count`), with `total_count` the real
/// number of items (upstream gave offset + page size) when it is known.
pub async fn export(state: &State, name: &str, query: &str) -> Result<Response, ApiError> {
    let mut limit = 1000usize;
    let (mut offset, mut vectors, mut filter) = (0usize, false, None);
    for (k, v) in super::query_pairs(query)? {
        let num = |what: &'static str| {
            v.parse::<usize>().map_err(|_| {
                ApiError::Engine(
                    kektordb_shards::ShardError::invalid(what, format!("'{v}' is not a count"))
                        .into(),
                )
            })
        };
        match k.as_str() {
            "limit" => limit = num("limit")?,
            "offset" => offset = num("offset")?,
            "include_vectors" => vectors = matches!(v.as_str(), "true" | "1"),
            "filter" => filter = Some(v),
            _ => {}
        }
    }
    let page = state
        .engine
        .export(name, filter.as_deref(), offset, limit)
        .await?;
    let n = page.items.len();
    let data: Vec<Value> = page
        .items
        .into_iter()
        .map(|it| {
            if vectors {
                item_json(it)
            } else {
                json!({"id": it.id, "metadata": it.metadata})
            }
        })
        .collect();
    Ok(Response::ok(json!({
        "data": data,
        "has_more": page.has_more,
        "next_offset": offset + n,
        "total_count": page.total.unwrap_or(offset + n),
    })))
}
