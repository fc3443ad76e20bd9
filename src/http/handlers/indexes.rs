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

pub async fn create(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: CreateIndex = body(raw)?;
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
    if let Some(m) = b.maintenance.filter(present_value) {
        cfg.maintenance = maintenance_from(cfg.maintenance, &m)?;
    }
    if let Some(mem) = b.memory_config.filter(present_value) {
        cfg.memory = Some(memory_config(&mem)?);
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
    v["maintenance"] = maintenance_json(&info.config.maintenance);
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

fn present_value(v: &Value) -> bool {
    !v.is_null()
}

/// `{"enabled": true, "decay_half_life": "24h" | nanoseconds}`.
fn memory_config(v: &Value) -> Result<kektordb_shards::index::MemoryConfig, ApiError> {
    let enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let half_life = match v.get("decay_half_life") {
        Some(Value::String(s)) => parse_duration(s)?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            ApiError::BadRequest("decay_half_life must be a whole number of nanoseconds".into())
        })?,
        None => 24 * 3_600 * 1_000_000_000,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "decay_half_life must be a duration like \"24h\"".into(),
            ))
        }
    };
    if half_life <= 0 {
        return Err(ApiError::BadRequest(
            "decay_half_life must be positive".into(),
        ));
    }
    Ok(kektordb_shards::index::MemoryConfig {
        enabled,
        decay_half_life_ns: half_life,
    })
}

/// Durations as Go writes them: a sequence of number+unit (`ns`, `us`, `ms`, `s`,
/// `m`, `h`), e.g. `1h30m`, `90s`, `500ms`; a bare number is nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, ApiError> {
    Ok(kektordb_shards::duration::parse_nanos(s)?)
}

/// Merges a maintenance block (`vacuum_interval`, `delete_threshold`,
/// `refine_enabled`, `refine_interval`, `refine_batch_size`, `refine_ef_construction`,
/// `graph_vacuum_interval`, `graph_retention`) into `base`. Durations are Go-style
/// strings or nanoseconds.
pub fn maintenance_from(
    mut base: kektordb_shards::index::MaintenanceConfig,
    v: &Value,
) -> Result<kektordb_shards::index::MaintenanceConfig, ApiError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::BadRequest("maintenance config must be an object".into()))?;
    let duration = |key: &str, x: &Value| -> Result<i64, ApiError> {
        match x {
            Value::String(s) => parse_duration(s),
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| ApiError::BadRequest(format!("{key}: whole nanoseconds expected"))),
            _ => Err(ApiError::BadRequest(format!(
                "{key}: a duration like \"5m\" expected"
            ))),
        }
    };
    for (key, x) in obj {
        match key.as_str() {
            "vacuum_interval" => base.vacuum_interval_ns = duration(key, x)?,
            "delete_threshold" => {
                base.delete_threshold = x.as_f64().ok_or_else(|| {
                    ApiError::BadRequest("delete_threshold: a number expected".into())
                })?
            }
            "refine_enabled" => {
                base.refine_enabled = x.as_bool().ok_or_else(|| {
                    ApiError::BadRequest("refine_enabled: true or false expected".into())
                })?
            }
            "refine_interval" => base.refine_interval_ns = duration(key, x)?,
            "refine_batch_size" => {
                base.refine_batch_size =
                    x.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            ApiError::BadRequest(
                                "refine_batch_size: a positive integer expected".into(),
                            )
                        })?
            }
            "refine_ef_construction" => {
                base.refine_ef_construction = x
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest("refine_ef_construction: an integer expected".into())
                    })?
            }
            "graph_vacuum_interval" => base.graph_vacuum_interval_ns = duration(key, x)?,
            "graph_retention" => base.graph_retention_ns = duration(key, x)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown maintenance setting '{other}'"
                )))
            }
        }
    }
    base.validate().map_err(ApiError::from)?;
    Ok(base)
}

/// `POST /vector/indexes/{name}/config`: merges settings into the current config.
pub async fn update_config(state: &State, name: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let v: Value = body(raw)?;
    let current = state.engine.info(name).await?.config.maintenance;
    let merged = maintenance_from(current, &v)?;
    state.engine.set_maintenance(name, merged).await?;
    Ok(Response::ok(
        json!({"status": "OK", "maintenance": maintenance_json(&merged)}),
    ))
}

pub fn maintenance_json(m: &kektordb_shards::index::MaintenanceConfig) -> Value {
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

#[cfg(test)]
mod tests {
    //! Go-style durations.
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("500ms").unwrap(), 500_000_000);
        assert_eq!(parse_duration("1500").unwrap(), 1500);
        for bad in ["", "5x", "h", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
