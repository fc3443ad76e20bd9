//! Graph routes: link, unlink, get-edges (time travel), get-links, get-incoming,
//! get-all-relations, get-all-incoming, get-connections. `index_name` is accepted
//! and not needed: the graph links any two ids, whatever index they are in.
//! Edge JSON follows upstream's one-letter keys: `t` the other end (the target of an
//! outgoing edge, the source of an incoming one), `c` created and `d` deleted (unix
//! nanoseconds), `w` weight, `p` properties.

use std::collections::BTreeMap;

use kektordb_shards::graph::Side;
use kektordb_shards::ShardError;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::vectors::item_json;
use super::{body, ok};
use crate::engine::{at_or_now, Direction, Link};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

#[derive(Deserialize)]
struct LinkBody {
    source_id: String,
    target_id: String,
    relation_type: String,
    #[serde(default)]
    inverse_relation_type: String,
    weight: Option<f32>,
    #[serde(default)]
    props: Map<String, Value>,
}

#[derive(Deserialize)]
struct UnlinkBody {
    source_id: String,
    target_id: String,
    relation_type: String,
    #[serde(default)]
    hard_delete: bool,
}

#[derive(Deserialize)]
struct EdgesBody {
    source_id: String,
    #[serde(default)]
    relation_type: String,
    #[serde(default)]
    direction: Direction,
    #[serde(default)]
    at_time: i64,
}

#[derive(Deserialize)]
struct IncomingBody {
    target_id: String,
    relation_type: String,
}

#[derive(Deserialize)]
struct LinksBody {
    source_id: String,
    relation_type: String,
    #[serde(default)]
    index_name: String,
}

#[derive(Deserialize)]
struct NodeIdBody {
    node_id: String,
}

pub async fn link(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: LinkBody = body(raw)?;
    let at = state
        .engine
        .link(Link {
            source: b.source_id,
            target: b.target_id,
            relation: b.relation_type,
            inverse: Some(b.inverse_relation_type).filter(|r| !r.is_empty()),
            weight: b.weight.unwrap_or(1.0),
            props: b.props,
        })
        .await?;
    Ok(Response::ok(json!({"status": "OK", "created_at": at})))
}

pub async fn unlink(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: UnlinkBody = body(raw)?;
    state
        .engine
        .unlink_existing(&b.source_id, &b.target_id, &b.relation_type, b.hard_delete)
        .await?;
    Ok(ok())
}

pub async fn get_edges(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: EdgesBody = body(raw)?;
    let rel = Some(b.relation_type.as_str()).filter(|r| !r.is_empty());
    let side = b.direction.one_side()?;
    let edges = state
        .engine
        .edges(&b.source_id, rel, side, at_or_now(b.at_time))
        .await?;
    let out: Vec<Value> = edges
        .into_iter()
        .map(|(relation, e)| {
            let mut v = json!({"t": e.other, "c": e.created, "w": e.weight, "r": relation});
            if let Some(d) = e.deleted {
                v["d"] = json!(d);
            }
            if !e.props.is_empty() {
                v["p"] = Value::Object(e.props);
            }
            v
        })
        .collect();
    Ok(Response::ok(json!({ "edges": out })))
}

pub async fn get_links(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: LinksBody = body(raw)?;
    let targets = state
        .engine
        .related(&b.source_id, &b.relation_type, Side::Out)
        .await?;
    Ok(Response::ok(
        json!({"source_id": b.source_id, "relation_type": b.relation_type, "targets": targets}),
    ))
}

pub async fn get_incoming(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: IncomingBody = body(raw)?;
    let sources = state
        .engine
        .related(&b.target_id, &b.relation_type, Side::In)
        .await?;
    Ok(Response::ok(
        json!({"target_id": b.target_id, "relation_type": b.relation_type, "sources": sources}),
    ))
}

async fn grouped(state: &State, raw: &[u8], side: Side) -> Result<Response, ApiError> {
    let b: NodeIdBody = body(raw)?;
    let rels: BTreeMap<String, Vec<String>> = state.engine.relations(&b.node_id, side).await?;
    Ok(Response::ok(
        json!({"node_id": b.node_id, "relations": rels}),
    ))
}

pub async fn get_all_relations(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    grouped(state, raw, Side::Out).await
}

pub async fn get_all_incoming(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    grouped(state, raw, Side::In).await
}

/// Targets of `source -[relation]->`, hydrated (id, vector, metadata) from
/// `index_name`; targets not in that index are left out.
pub async fn get_connections(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: LinksBody = body(raw)?;
    if b.index_name.is_empty() {
        return Err(ShardError::invalid("index_name", "is required to hydrate connections").into());
    }
    let targets = state
        .engine
        .related(&b.source_id, &b.relation_type, Side::Out)
        .await?;
    let items = state.engine.get_many(&b.index_name, targets).await?;
    let results: Vec<Value> = items.into_iter().map(item_json).collect();
    Ok(Response::ok(json!({ "results": results })))
}
