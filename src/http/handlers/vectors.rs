//! Vector data: add, add-batch, import, get, delete, search.

use kektordb_shards::index::Item;
use kektordb_shards::shard_set::NewItem;
use kektordb_shards::{SearchHit, SearchRequest};
use serde_json::{json, Value};

use super::body;
use super::graph_walk;
use crate::http::dto::{AddBatch, AddOne, DeleteVector, GetVectors, IndexOnly, Search, VectorItem};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::server::State;

fn new_item(v: VectorItem) -> NewItem {
    NewItem {
        id: v.id,
        vector: v.vector.unwrap_or_default(),
        metadata: v.metadata.unwrap_or_default(),
    }
}

fn item_json(it: Item) -> Value {
    json!({"id": it.id, "vector": it.vector, "metadata": it.metadata})
}

pub async fn add(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: AddOne = body(raw)?;
    state
        .engine
        .add_batch(&b.index_name, vec![new_item(b.item)])
        .await?;
    Ok(Response::ok(json!({"status": "OK"})))
}

pub async fn add_batch(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: AddBatch = body(raw)?;
    let items = b.vectors.into_iter().map(new_item).collect();
    let n = state.engine.add_batch(&b.index_name, items).await?;
    Ok(Response::ok(json!({"status": "OK", "vectors_added": n})))
}

/// Import: applied without per-item logging; durable after `import/commit`.
pub async fn import(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: AddBatch = body(raw)?;
    let items = b.vectors.into_iter().map(new_item).collect();
    let n = state.engine.import_batch(&b.index_name, items).await?;
    Ok(Response::ok(json!({
        "status": "OK",
        "vectors_imported": n,
        "message": "imported; durable after /vector/actions/import/commit",
    })))
}

/// Commit of an import: compacts every shard's log (the imported items become
/// durable) as an asynchronous task with progress.
pub async fn import_commit(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: IndexOnly = body(raw)?;
    state.engine.info(&b.index_name).await?;
    crate::http::handlers::system::compaction_task(state, "import commit")
}

pub async fn get_many(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: GetVectors = body(raw)?;
    if b.compress_context {
        return Err(ApiError::NotAvailable("compress_context".into()));
    }
    let items = state.engine.get_many(&b.index_name, b.ids).await?;
    Ok(Response::ok(Value::Array(
        items.into_iter().map(item_json).collect(),
    )))
}

pub async fn get_one(state: &State, index: &str, id: &str) -> Result<Response, ApiError> {
    let mut items = state.engine.get_many(index, vec![id.to_owned()]).await?;
    match items.pop() {
        Some(it) => Ok(Response::ok(item_json(it))),
        None => Err(ApiError::NotFound(format!(
            "id '{id}' not found in index '{index}'"
        ))),
    }
}

pub async fn delete(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: DeleteVector = body(raw)?;
    if state.engine.delete(&b.index_name, &b.id).await? {
        Ok(Response::ok(json!({"status": "OK"})))
    } else {
        Err(ApiError::NotFound(format!(
            "id '{}' not found in index '{}'",
            b.id, b.index_name
        )))
    }
}

/// Largest k when every result is expanded with its relations.
pub const RELATIONS_K_MAX: usize = 1_000;

#[derive(serde::Deserialize)]
struct GraphFilter {
    root_id: String,
    #[serde(default)]
    relations: Vec<String>,
    max_depth: Option<usize>,
    #[serde(default)]
    direction: String,
}

async fn run_search(state: &State, b: &Search) -> Result<Vec<SearchHit>, ApiError> {
    if b.compress_context {
        return Err(ApiError::NotAvailable("compress_context".into()));
    }
    let only_ids = match b.graph_filter.as_ref().filter(|g| !g.is_null()) {
        Some(g) => {
            let g: GraphFilter = serde_json::from_value(g.clone())
                .map_err(|e| ApiError::BadRequest(format!("graph_filter: {e}")))?;
            let depth = g.max_depth.unwrap_or(1);
            Some(graph_walk::reachable(state, &g.root_id, g.relations, depth, &g.direction).await?)
        }
        None => None,
    };
    let req = SearchRequest {
        vector: b.query_vector.clone(),
        k: b.k,
        ef_search: b.ef_search.filter(|e| *e > 0),
        filter: b.filter.clone(),
        text: b.query_text.clone(),
        alpha: b.alpha,
    };
    Ok(state
        .engine
        .search_within(&b.index_name, req, only_ids)
        .await?)
}

pub async fn search(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: Search = body(raw)?;
    let paths = b.include_relations.clone().unwrap_or_default();
    if (!paths.is_empty() || b.hydrate_relations) && b.k > RELATIONS_K_MAX {
        return Err(ApiError::BadRequest(format!(
            "k must be at most {RELATIONS_K_MAX} with include_relations or hydrate_relations"
        )));
    }
    let hits = run_search(state, &b).await?;
    if paths.is_empty() && !b.hydrate_relations {
        let ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
        return Ok(Response::ok(json!({ "results": ids })));
    }
    // With relations: each result carries its node and the related nodes.
    let mut results = Vec::with_capacity(hits.len());
    for h in hits {
        let node = graph_walk::walk_paths(state, &b.index_name, &h.id, &paths, b.hydrate_relations)
            .await?;
        results.push(json!({"id": h.id, "score": h.score, "node": node}));
    }
    Ok(Response::ok(json!({ "results": results })))
}

pub async fn search_with_scores(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: Search = body(raw)?;
    let hits = run_search(state, &b).await?;
    let results: Vec<Value> = hits
        .into_iter()
        .map(|h| json!({"id": h.id, "score": h.score, "distance": h.distance}))
        .collect();
    Ok(Response::ok(json!({ "results": results })))
}

#[derive(serde::Deserialize)]
struct ReinforceBody {
    index_name: String,
    ids: Vec<String>,
}

/// `POST /vector/actions/reinforce`: memory decay restarts from now for these ids.
pub async fn reinforce(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: ReinforceBody = body(raw)?;
    if b.ids.len() > kektordb_shards::limits::BATCH_MAX {
        return Err(ApiError::BadRequest(format!(
            "at most {} ids",
            kektordb_shards::limits::BATCH_MAX
        )));
    }
    let n = state.engine.reinforce(&b.index_name, b.ids).await?;
    Ok(Response::ok(json!({"status": "OK", "reinforced": n})))
}
