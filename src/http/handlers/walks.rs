//! Graph walk and node routes: extract-subgraph, traverse, find-path,
//! set/get-node-properties, search-nodes.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{body, ok};
use crate::engine::{PathRequest, SubgraphRequest, WalkTree};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

#[derive(Deserialize)]
struct TraverseBody {
    #[serde(default)]
    index_name: String,
    source_id: String,
    paths: Vec<String>,
}

#[derive(Deserialize)]
struct SetPropsBody {
    index_name: String,
    node_id: String,
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
struct NodeBody {
    index_name: String,
    node_id: String,
}

fn ten() -> usize {
    10
}

#[derive(Deserialize)]
struct SearchNodesBody {
    index_name: String,
    property_filter: String,
    #[serde(default = "ten")]
    limit: usize,
}

/// `{id, vector?, metadata?, connections?: {relation: [node]}}`.
pub fn tree_json(t: WalkTree) -> Value {
    let mut v = json!({"id": t.id});
    if let Some(it) = t.item {
        v["vector"] = crate::json_floats::f32s_json(&it.vector);
        v["metadata"] = Value::Object(it.metadata);
    }
    if !t.connections.is_empty() {
        let conns: Map<String, Value> = t
            .connections
            .into_iter()
            .map(|(rel, kids)| (rel, Value::Array(kids.into_iter().map(tree_json).collect())))
            .collect();
        v["connections"] = Value::Object(conns);
    }
    v
}

pub async fn extract_subgraph(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let req: SubgraphRequest = body(raw)?;
    let g = state.engine.subgraph(&req).await?;
    let nodes: Vec<Value> = g
        .nodes
        .into_iter()
        .map(|(id, item)| {
            let metadata = item.map_or_else(|| json!({}), |i| Value::Object(i.metadata));
            json!({"id": id, "metadata": metadata})
        })
        .collect();
    let edges: Vec<Value> = g
        .edges
        .into_iter()
        .map(|e| {
            let dir = match e.dir {
                kektordb_shards::graph::Side::Out => "out",
                kektordb_shards::graph::Side::In => "in",
            };
            json!({"source": e.source, "target": e.target, "relation": e.relation, "dir": dir})
        })
        .collect();
    Ok(Response::ok(
        json!({"root_id": g.root_id, "nodes": nodes, "edges": edges}),
    ))
}

pub async fn traverse(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: TraverseBody = body(raw)?;
    let tree = state
        .engine
        .traverse(&b.index_name, &b.source_id, &b.paths)
        .await?;
    Ok(Response::ok(tree_json(tree)))
}

pub async fn find_path(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let req: PathRequest = body(raw)?;
    let p = state.engine.find_path(&req).await?;
    Ok(Response::ok(
        json!({"found": p.found, "path": p.path, "relations": p.relations}),
    ))
}

pub async fn set_node_properties(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: SetPropsBody = body(raw)?;
    state
        .engine
        .set_node_properties(&b.index_name, &b.node_id, b.properties)
        .await?;
    Ok(ok())
}

pub async fn get_node_properties(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: NodeBody = body(raw)?;
    let props = state
        .engine
        .node_properties(&b.index_name, &b.node_id)
        .await?;
    Ok(Response::ok(
        json!({"node_id": b.node_id, "properties": props}),
    ))
}

pub async fn search_nodes(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: SearchNodesBody = body(raw)?;
    let items = state
        .engine
        .search_nodes(&b.index_name, &b.property_filter, b.limit)
        .await?;
    let nodes: Vec<Value> = items
        .into_iter()
        .map(|it| json!({"id": it.id, "metadata": it.metadata}))
        .collect();
    Ok(Response::ok(json!({ "nodes": nodes })))
}
