//! `POST /sessions` and `POST /sessions/{id}/end` (upstream's shapes; the
//! sessions are the engine's durable session nodes, shared with MCP).

use serde::Deserialize;
use serde_json::json;

use super::body;
use crate::engine::{now_nanos, StartSession};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

pub async fn start(state: &State, b: &[u8]) -> Result<Response, ApiError> {
    let req: StartSession = body(b)?;
    let st = state.engine.start_session(&req, now_nanos()).await?;
    let message = if st.already_active {
        "Session already active"
    } else {
        "Session started successfully"
    };
    Ok(Response::json(
        201,
        &json!({"session_id": st.session_id, "status": "active", "message": message}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndBody {
    index_name: String,
}

pub async fn end(state: &State, id: &str, b: &[u8]) -> Result<Response, ApiError> {
    let req: EndBody = body(b)?;
    let e = state
        .engine
        .end_session(&req.index_name, id, now_nanos())
        .await?;
    Ok(Response::ok(json!({
        "session_id": e.session_id,
        "status": "ended",
        "message": "Session ended",
        "summary_id": e.summary_id,
        "memories": e.memories,
        "summary": e.summary,
    })))
}
