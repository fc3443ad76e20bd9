//! Index management: create, list, info, drop.

use kektordb_shards::index::IndexConfig;
use kektordb_shards::shard_set::IndexInfo;
use kektordb_shards::text::TextLanguage;
use kektordb_shards::{Metric, Precision};
use serde_json::{json, Value};

use super::body;
use crate::http::dto::CreateIndex;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::server::State;

fn present(v: &Option<Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

pub async fn create(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: CreateIndex = body(raw)?;
    for (field, v) in [
        ("maintenance", &b.maintenance),
        ("memory_config", &b.memory_config),
    ] {
        if present(v) {
            return Err(ApiError::NotAvailable(format!(
                "'{field}' (index maintenance, auto-links and memory decay)"
            )));
        }
    }
    let mut cfg = IndexConfig::new(&b.index_name);
    cfg.metric = Metric::parse(&b.metric).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown metric '{}' (euclidean, cosine, dot)",
            b.metric
        ))
    })?;
    cfg.precision = Precision::parse(&b.precision).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown precision '{}' (float32, float16, int8)",
            b.precision
        ))
    })?;
    cfg.text_language = TextLanguage::parse(&b.text_language).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown text_language '{}' (english, italian or empty)",
            b.text_language
        ))
    })?;
    if let Some(rules) = b.auto_links.filter(|v| !v.is_null()) {
        cfg.auto_links = serde_json::from_value(rules)
            .map_err(|e| ApiError::BadRequest(format!("auto_links: {e}")))?;
    }
    cfg.m = b.m;
    cfg.ef_construction = b.ef_construction;
    state.engine.create_index(cfg).await?;
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
    let mut out = Vec::new();
    for name in state.engine.index_names() {
        match state.engine.info(&name).await {
            Ok(info) => out.push(summary(&info)),
            // Dropped between listing the names and asking for its figures.
            Err(crate::engine::EngineError::Shard(
                kektordb_shards::ShardError::IndexNotFound { .. },
            )) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Response::ok(Value::Array(out)))
}

pub async fn info(state: &State, name: &str) -> Result<Response, ApiError> {
    let info = state.engine.info(name).await?;
    let mut v = summary(&info);
    let m = info.memory;
    v["dimension"] = json!(info.dim);
    v["memory"] = json!({
        "vectors_bytes": m.vectors_bytes,
        "rescore_bytes": m.rescore_bytes,
        "graph_bytes": m.graph_bytes,
        "ids_bytes": m.ids_bytes,
        "metadata_bytes": m.metadata_bytes,
        "text_bytes": m.text_bytes,
        "node_slots": m.rows,
    });
    Ok(Response::ok(v))
}

pub async fn drop(state: &State, name: &str) -> Result<Response, ApiError> {
    state.engine.drop_index(name).await?;
    Ok(Response::ok(
        json!({"status": "OK", "message": "Index deleted"}),
    ))
}

pub async fn get_auto_links(state: &State, name: &str) -> Result<Response, ApiError> {
    let info = state.engine.info(name).await?;
    Ok(Response::ok(
        json!({"index_name": name, "rules": info.config.auto_links}),
    ))
}

#[derive(serde::Deserialize)]
struct RulesBody {
    rules: Vec<kektordb_shards::index::AutoLinkRule>,
}

pub async fn set_auto_links(state: &State, name: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let b: RulesBody = body(raw)?;
    state.engine.set_auto_links(name, b.rules).await?;
    Ok(Response::ok(json!({"status": "OK"})))
}
