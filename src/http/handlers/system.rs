//! System routes: health, metrics, save, aof-rewrite, tasks, and the maintenance
//! routes that start tasks (compress, vacuum, refine, graph vacuum).

use kektordb_shards::{Precision, ShardError};
use serde::Deserialize;
use serde_json::json;

use super::{accepted, body, task_json};
use crate::engine::MaintenanceRequest;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

pub fn healthz() -> Response {
    Response::ok(json!({"status": "ok"}))
}

/// `GET /system/proxy`: the AI proxy's counters (`{"enabled": false}` when it
/// does not run).
pub fn proxy_stats(state: &State) -> Response {
    match &state.proxy {
        Some(m) => {
            let mut v = m.snapshot();
            v["enabled"] = json!(true);
            Response::ok(v)
        }
        None => Response::ok(json!({"enabled": false})),
    }
}

/// Readiness: 200 once recovery is done and every front end is up, 503 before
/// that and while stopping.
pub fn readyz(state: &State) -> Response {
    if state.ready.load(std::sync::atomic::Ordering::SeqCst) {
        Response::ok(json!({"status": "ready"}))
    } else {
        Response::json(503, &json!({"status": "starting"}))
    }
}

pub async fn metrics(state: &State) -> Result<Response, ApiError> {
    let shards = state.engine.shard_stats().await?;
    let runs = state.engine.maintenance_runs();
    Ok(Response::text(
        200,
        "text/plain; version=0.0.4",
        state.metrics.render(&shards, &runs) + &super::rag::metrics(state),
    ))
}

/// `POST /system/save`: snapshots every shard now and answers when they are durable.
pub async fn save(state: &State) -> Result<Response, ApiError> {
    let bytes = state.engine.snapshot_all(|_, _| {}).await?;
    Ok(Response::ok(
        json!({"status": "OK", "message": "saved", "snapshot_bytes": bytes}),
    ))
}

/// `POST /system/aof-rewrite`: the same snapshot as an asynchronous task (202).
pub async fn aof_rewrite(state: &State) -> Result<Response, ApiError> {
    Ok(accepted(&state.engine.start_snapshot("aof-rewrite").await?))
}

/// `GET /system/tasks`: every task the server remembers, newest first.
pub fn tasks(state: &State) -> Response {
    let list: Vec<serde_json::Value> = state.engine.tasks().iter().map(task_json).collect();
    Response::ok(json!({ "tasks": list }))
}

pub fn task(state: &State, id: &str) -> Result<Response, ApiError> {
    Ok(Response::ok(task_json(&state.engine.task(id)?)))
}

#[derive(Deserialize)]
struct CompressBody {
    index_name: String,
    precision: String,
}

/// `POST /vector/actions/compress`: converts an index to float16 or int8 in the
/// background (202 with a task; the index stays searchable).
pub async fn compress(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: CompressBody = body(raw)?;
    let precision = Precision::parse(&b.precision).ok_or_else(|| {
        ShardError::invalid(
            "precision",
            format!("unknown precision '{}' (float16, int8)", b.precision),
        )
    })?;
    let task = state
        .engine
        .start_compress(&b.index_name, precision)
        .await?;
    Ok(accepted(&task))
}

/// `POST /vector/indexes/{name}/maintenance {"type": "vacuum" | "refine" |
/// "graph_vacuum"}` as a task (202).
pub async fn maintenance(state: &State, index: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let req: MaintenanceRequest = body(raw)?;
    Ok(accepted(&state.engine.start_maintenance(index, req).await?))
}
