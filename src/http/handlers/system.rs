//! System routes: health and metrics.

use serde_json::json;

use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::server::State;

pub fn healthz() -> Response {
    Response::ok(json!({"status": "ok"}))
}

pub async fn metrics(state: &State) -> Result<Response, ApiError> {
    let shards = state.engine.shard_stats().await?;
    Ok(Response::text(
        200,
        "text/plain; version=0.0.4",
        state.metrics.render(&shards),
    ))
}

/// `POST /system/save`: compacts every shard's log now and answers when it is done.
pub async fn save(state: &State) -> Result<Response, ApiError> {
    let bytes = state.engine.compact(|_, _| {}).await?;
    Ok(Response::ok(
        json!({"status": "OK", "message": "saved", "log_bytes": bytes}),
    ))
}

/// `POST /system/aof-rewrite`: the same compaction as an asynchronous task (202).
pub fn aof_rewrite(state: &State) -> Result<Response, ApiError> {
    compaction_task(state, "aof-rewrite")
}

/// Starts a compaction of every shard's log as a task; answers 202 with the task.
pub fn compaction_task(state: &State, what: &str) -> Result<Response, ApiError> {
    let task = state.tasks.start(what);
    let (engine, tasks, id) = (state.engine.clone(), state.tasks.clone(), task.id.clone());
    glommio::spawn_local(async move {
        let progress = |done: usize, total: usize| {
            tasks.update(
                &id,
                "running",
                Some(format!("compacted {done} of {total} shard logs")),
                None,
            );
        };
        match engine.compact(progress).await {
            Ok(bytes) => tasks.update(
                &id,
                "completed",
                Some(format!("log compacted to {bytes} bytes")),
                None,
            ),
            Err(e) => tasks.update(&id, "failed", None, Some(e.to_string())),
        }
    })
    .detach();
    Ok(Response::json(202, &task.to_json()))
}

pub fn task(state: &State, id: &str) -> Result<Response, ApiError> {
    match state.tasks.get(id) {
        Some(t) => Ok(Response::ok(t.to_json())),
        None => Err(ApiError::NotFound(format!("task '{id}' not found"))),
    }
}

#[derive(serde::Deserialize)]
struct CompressBody {
    index_name: String,
    precision: String,
}

/// `POST /vector/actions/compress`: converts an index to float16 or int8 in the
/// background (202 with a task; the index stays searchable).
pub async fn compress(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: CompressBody = super::body(raw)?;
    let precision = kektordb_shards::Precision::parse(&b.precision).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown precision '{}' (float16, int8)",
            b.precision
        ))
    })?;
    let info = state.engine.info(&b.index_name).await?;
    let from = info.config.precision;
    if from != precision
        && matches!(
            (from, precision),
            (_, kektordb_shards::Precision::Float32) | (kektordb_shards::Precision::Int8, _)
        )
    {
        return Err(ApiError::BadRequest(format!(
            "cannot compress {} to the larger {}",
            from.as_str(),
            precision.as_str()
        )));
    }
    let task = state.tasks.start("compress");
    let (engine, tasks, id) = (state.engine.clone(), state.tasks.clone(), task.id.clone());
    glommio::spawn_local(async move {
        let progress = |done: usize, total: usize| {
            tasks.update(
                &id,
                "running",
                Some(format!("compressed {done} of {total} shards")),
                None,
            );
        };
        match engine.compress(&b.index_name, precision, progress).await {
            Ok(()) => tasks.update(
                &id,
                "completed",
                Some(format!(
                    "index '{}' is now {}",
                    b.index_name,
                    precision.as_str()
                )),
                None,
            ),
            Err(e) => tasks.update(&id, "failed", None, Some(e.to_string())),
        }
    })
    .detach();
    Ok(Response::json(202, &task.to_json()))
}
