//! `POST /ui/explore` (the graph explorer's call, upstream's shape: `{index_name,
//! limit}` → `{results: [GraphNode]}`) and `POST /ui/points` (the points browser:
//! a page with a filter, in the shape of upstream's export). Both read through
//! `Engine::export` (storage order, as upstream's explore) and
//! `Engine::neighbors`.

use std::collections::{BTreeMap, HashMap, HashSet};

use kektordb_shards::graph::Side;
use kektordb_shards::index::Item;
use kektordb_shards::ShardError;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::super::body;
use crate::engine::{at_or_now, EngineError};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;
use crate::json_floats::f32s_json;
use crate::limits::{UI_EXPLORE_NODES_DEFAULT, UI_EXPLORE_NODES_MAX, UI_POINTS_PAGE_MAX};

fn yes() -> bool {
    true
}

fn default_limit() -> usize {
    UI_EXPLORE_NODES_DEFAULT
}

#[derive(Deserialize)]
struct Explore {
    index_name: String,
    /// Nodes sampled (the first in storage order) when `ids` is not given.
    #[serde(default = "default_limit")]
    limit: usize,
    /// Explore these nodes (a node's neighbourhood, an expansion) instead.
    #[serde(default)]
    ids: Option<Vec<String>>,
    /// Relations followed (all when empty).
    #[serde(default)]
    relations: Vec<String>,
    /// The graph as it was then (unix ns; 0: now).
    #[serde(default)]
    at_time: i64,
    /// Neighbours come with their metadata (upstream's), else as bare ids.
    #[serde(default = "yes")]
    hydrate: bool,
    /// Vectors in the answer (upstream's nodes carry them); the dashboard says no.
    #[serde(default = "yes")]
    include_vectors: bool,
    #[serde(default)]
    compress_context: bool,
}

fn node_json(id: &str, item: Option<&Item>, vectors: bool) -> Value {
    let mut v = json!({"id": id});
    if let Some(it) = item {
        if vectors {
            v["vector"] = f32s_json(&it.vector);
        }
        v["metadata"] = Value::Object(it.metadata.clone());
    }
    v
}

pub async fn explore(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: Explore = body(raw)?;
    if b.index_name.is_empty() {
        return Err(ShardError::invalid("index_name", "is required").into());
    }
    if b.compress_context {
        return Err(EngineError::NotAvailable {
            what: "compress_context",
        }
        .into());
    }
    let engine = &state.engine;
    let (ids, items): (Vec<String>, Vec<Item>) = match b.ids {
        Some(ids) => {
            if ids.len() > UI_EXPLORE_NODES_MAX {
                return Err(ShardError::too_large("ids", ids.len(), UI_EXPLORE_NODES_MAX).into());
            }
            let items = engine.get_many(&b.index_name, ids.clone()).await?;
            (ids, items)
        }
        None => {
            if b.limit > UI_EXPLORE_NODES_MAX {
                return Err(ShardError::too_large("limit", b.limit, UI_EXPLORE_NODES_MAX).into());
            }
            let page = engine
                .export(&b.index_name, None, 0, b.limit.max(1))
                .await?;
            (
                page.items.iter().map(|i| i.id.clone()).collect(),
                page.items,
            )
        }
    };
    let mut known: HashMap<String, Item> =
        items.into_iter().map(|it| (it.id.clone(), it)).collect();
    let hop = engine
        .neighbors(
            ids.clone(),
            b.relations,
            vec![Side::Out, Side::In],
            at_or_now(b.at_time),
        )
        .await?;
    if b.hydrate {
        let missing: HashSet<String> = hop
            .iter()
            .map(|(.., e)| e.other.clone())
            .filter(|o| !known.contains_key(o))
            .collect();
        let missing: Vec<String> = missing.into_iter().collect();
        for chunk in missing.chunks(UI_EXPLORE_NODES_MAX) {
            for it in engine.get_many(&b.index_name, chunk.to_vec()).await? {
                known.insert(it.id.clone(), it);
            }
        }
    }
    type ByRel = BTreeMap<String, Vec<Value>>;
    let mut edges: HashMap<&str, (ByRel, ByRel)> = HashMap::new();
    for (node, side, rel, e) in &hop {
        let other = match b.hydrate {
            true => node_json(&e.other, known.get(&e.other), b.include_vectors),
            false => json!({"id": e.other}),
        };
        let slot = edges.entry(node.as_str()).or_default();
        match side {
            Side::Out => slot.0.entry(rel.clone()).or_default().push(other),
            Side::In => slot.1.entry(rel.clone()).or_default().push(other),
        }
    }
    let mut seen = HashSet::new();
    let results: Vec<Value> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .map(|id| {
            let mut v = node_json(id, known.get(id), b.include_vectors);
            if let Some((out, inc)) = edges.remove(id.as_str()) {
                let obj = |m: ByRel| -> Map<String, Value> {
                    m.into_iter().map(|(k, v)| (k, Value::Array(v))).collect()
                };
                if !out.is_empty() {
                    v["connections"] = Value::Object(obj(out));
                }
                if !inc.is_empty() {
                    v["incoming"] = Value::Object(obj(inc));
                }
            }
            v
        })
        .collect();
    Ok(Response::ok(json!({ "results": results })))
}

fn default_page() -> usize {
    50
}

#[derive(Deserialize)]
struct Points {
    index_name: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_page")]
    limit: usize,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    include_vectors: bool,
}

/// `POST /ui/points`: `{data: [{id, metadata, vector?}], has_more, next_offset,
/// total_count, total_exact}` (upstream's export shape; `total_count` is the real
/// total when `total_exact`, else what has been seen up to this page).
pub async fn points(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: Points = body(raw)?;
    if b.limit > UI_POINTS_PAGE_MAX {
        return Err(ShardError::too_large("limit", b.limit, UI_POINTS_PAGE_MAX).into());
    }
    let page = state
        .engine
        .export(&b.index_name, b.filter.as_deref(), b.offset, b.limit)
        .await?;
    let n = page.items.len();
    let data: Vec<Value> = page
        .items
        .iter()
        .map(|it| {
            let mut v = node_json(&it.id, Some(it), b.include_vectors);
            v["entity"] = json!(it.vector.is_empty());
            v
        })
        .collect();
    let seen = b.offset + n + usize::from(page.has_more);
    Ok(Response::ok(json!({
        "data": data,
        "has_more": page.has_more,
        "next_offset": b.offset + n,
        "total_count": page.total.unwrap_or(seen),
        "total_exact": page.total.is_some(),
    })))
}
