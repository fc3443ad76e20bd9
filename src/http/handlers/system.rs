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
        json!({"status": "OK", "message": "saved", "snapshot_bytes": bytes}),
    ))
}

/// `POST /system/aof-rewrite`: the same compaction as an asynchronous task (202).
pub fn aof_rewrite(state: &State) -> Result<Response, ApiError> {
    compaction_task(state, "aof-rewrite")
}

/// Reports a task's progress message.
pub type Progress = std::rc::Rc<dyn Fn(String)>;

/// Runs `work` as a task on this executor: answers 202 with the task now; progress
/// messages and the outcome (completion message or error) are recorded as it goes.
pub fn spawn_task<Fut>(
    state: &State,
    what: &str,
    work: impl FnOnce(crate::engine::Engine, Progress) -> Fut,
) -> Response
where
    Fut: std::future::Future<Output = Result<String, String>> + 'static,
{
    let task = state.tasks.start(what);
    let (tasks, id) = (state.tasks.clone(), task.id.clone());
    let progress: Progress = {
        let (tasks, id) = (tasks.clone(), id.clone());
        std::rc::Rc::new(move |msg| tasks.update(&id, "running", Some(msg), None))
    };
    let fut = work(state.engine.clone(), progress);
    glommio::spawn_local(async move {
        match fut.await {
            Ok(msg) => tasks.update(&id, "completed", Some(msg), None),
            Err(e) => tasks.update(&id, "failed", None, Some(e)),
        }
    })
    .detach();
    Response::json(202, &task.to_json())
}

/// Starts a compaction of every shard's log as a task; answers 202 with the task.
pub fn compaction_task(state: &State, what: &str) -> Result<Response, ApiError> {
    Ok(spawn_task(state, what, |engine, progress| async move {
        let bytes = engine
            .compact(|done, total| progress(format!("compacted {done} of {total} shard logs")))
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("log compacted to {bytes} bytes"))
    }))
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
    if !from.can_compress_to(precision) {
        return Err(ApiError::BadRequest(format!(
            "cannot compress {} to the larger {}",
            from.as_str(),
            precision.as_str()
        )));
    }
    let index = b.index_name;
    Ok(spawn_task(
        state,
        "compress",
        move |engine, progress| async move {
            engine
                .compress(
                    &index,
                    precision,
                    MAINTENANCE_REST,
                    glommio::timer::sleep,
                    |done, total| progress(format!("compressed {done} of {total} rows")),
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("index '{index}' is now {}", precision.as_str()))
        },
    ))
}

/// Maintenance steps rest three times their own time, so they take at most a quarter
/// of a shard's time and searches keep over 70% of their throughput
/// (`benches/src/maintenance.rs`).
pub const MAINTENANCE_REST: f64 = 3.0;

#[derive(serde::Deserialize)]
struct MaintenanceBody {
    #[serde(rename = "type")]
    kind: String,
    /// Refine: nodes per batch (default 50, small so queries wait little).
    batch_size: Option<u32>,
    /// Refine: search breadth (default the larger of the index's and 200).
    ef_construction: Option<u32>,
}

/// `POST /vector/indexes/{name}/maintenance {"type": "vacuum" | "refine" |
/// "graph_vacuum"}` as a task (202).
pub async fn maintenance(state: &State, index: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let b: MaintenanceBody = super::body(raw)?;
    state.engine.info(index).await?;
    match b.kind.as_str() {
        "vacuum" => {
            let index = index.to_owned();
            Ok(spawn_task(
                state,
                "vacuum",
                move |engine, progress| async move {
                    let dead = engine
                        .vacuum(
                            &index,
                            MAINTENANCE_REST,
                            glommio::timer::sleep,
                            |done, total| {
                                progress(format!("repaired {done} of {total} neighbour lists"))
                            },
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!(
                        "removed {dead} deleted nodes from the graph of '{index}'"
                    ))
                },
            ))
        }
        "refine" => {
            let info = state.engine.info(index).await?;
            let ef = b
                .ef_construction
                .unwrap_or((info.config.ef_construction as u32).max(200))
                .min(4096);
            let batch = b.batch_size.unwrap_or(50).clamp(1, 100_000);
            let index = index.to_owned();
            Ok(spawn_task(
                state,
                "refine",
                move |engine, progress| async move {
                    let n = engine
                        .refine(
                            &index,
                            batch,
                            ef,
                            MAINTENANCE_REST,
                            glommio::timer::sleep,
                            |done, total| progress(format!("refined {done} of {total} nodes")),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("refined {n} nodes of '{index}' with ef {ef}"))
                },
            ))
        }
        "graph_vacuum" => {
            let info = state.engine.info(index).await?;
            let retention = info.config.maintenance.graph_retention_ns;
            if retention == 0 {
                return Err(ApiError::BadRequest(format!(
                    "index '{index}' has graph_retention 0 (edge history kept forever); \
                     set graph_retention with POST /vector/indexes/{index}/config first"
                )));
            }
            Ok(spawn_task(
                state,
                "graph_vacuum",
                move |engine, _progress| async move {
                    let before = crate::engine::now_nanos() - retention;
                    let n = engine
                        .graph_vacuum(before)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("removed {n} soft-deleted edge versions"))
                },
            ))
        }
        other => Err(ApiError::BadRequest(format!(
            "maintenance type must be 'vacuum', 'refine' or 'graph_vacuum', got '{other}'"
        ))),
    }
}
