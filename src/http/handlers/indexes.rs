//! Index routes: create, list, info, drop, auto-links, config.

use kektordb_shards::index::{AutoLinkRule, IndexSpec, MaintenanceConfig, MaintenancePatch};
use kektordb_shards::router::IndexInfo;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{body, ok};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

pub async fn create(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let spec: IndexSpec = body(raw)?;
    state.engine.create_index_from(spec).await?;
    Ok(Response::ok(
        json!({"status": "OK", "message": "Index created"}),
    ))
}

pub fn summary(info: &IndexInfo) -> Value {
    let c = &info.config;
    json!({
        "name": c.name,
        "metric": c.metric.as_str(),
        "precision": c.precision.as_str(),
        "m": c.m,
        "ef_construction": c.ef_construction,
        "vector_count": info.len,
        "text_language": c.text_language.map_or("", |l| l.as_str()),
    })
}

pub async fn list(state: &State) -> Result<Response, ApiError> {
    let all = state.engine.list_indexes().await?;
    Ok(Response::ok(Value::Array(
        all.iter().map(summary).collect(),
    )))
}

/// `GET /vector/indexes/{name}`'s body: the summary, dimension, maintenance and
/// memory by part (the dashboard's overview starts from it too).
pub fn info_json(info: &IndexInfo) -> Value {
    let mut v = summary(info);
    let m = &info.memory;
    v["dimension"] = json!(info.dim);
    v["maintenance"] = maintenance_json(&info.config.maintenance);
    v["memory"] = json!({
        "vectors_bytes": m.vectors_bytes,
        "rescore_bytes": m.rescore_bytes,
        "rescore_paged_bytes": m.rescore_paged_bytes,
        "graph_bytes": m.graph_bytes,
        "ids_bytes": m.ids_bytes,
        "metadata_bytes": m.metadata_bytes,
        "text_bytes": m.text_bytes,
        "node_slots": m.rows,
    });
    v
}

pub async fn info(state: &State, name: &str) -> Result<Response, ApiError> {
    let info = state.engine.info(name).await?;
    Ok(Response::ok(info_json(&info)))
}

pub async fn drop(state: &State, name: &str) -> Result<Response, ApiError> {
    state.engine.drop_index(name).await?;
    Ok(Response::ok(
        json!({"status": "OK", "message": "Index deleted"}),
    ))
}

pub async fn get_auto_links(state: &State, name: &str) -> Result<Response, ApiError> {
    let rules = state.engine.auto_links(name)?;
    Ok(Response::ok(json!({"index_name": name, "rules": rules})))
}

#[derive(Deserialize)]
struct RulesBody {
    rules: Vec<AutoLinkRule>,
}

pub async fn set_auto_links(state: &State, name: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let b: RulesBody = body(raw)?;
    state.engine.set_auto_links(name, b.rules).await?;
    Ok(ok())
}

/// `POST /vector/indexes/{name}/config`: merges settings into the current config.
pub async fn update_config(state: &State, name: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let patch: MaintenancePatch = body(raw)?;
    let merged = state.engine.update_maintenance(name, &patch).await?;
    Ok(Response::ok(
        json!({"status": "OK", "maintenance": maintenance_json(&merged)}),
    ))
}

pub fn maintenance_json(m: &MaintenanceConfig) -> Value {
    json!({
        "vacuum_interval": m.vacuum_interval_ns,
        "delete_threshold": m.delete_threshold,
        "refine_enabled": m.refine_enabled,
        "refine_interval": m.refine_interval_ns,
        "refine_batch_size": m.refine_batch_size,
        "refine_ef_construction": m.refine_ef_construction,
        "graph_vacuum_interval": m.graph_vacuum_interval_ns,
        "graph_retention": m.graph_retention_ns,
    })
}
