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
