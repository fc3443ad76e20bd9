//! Route handlers, one file per area of the API. A handler decodes the body into
//! the engine's request type, calls the engine, and encodes the answer in
//! upstream's JSON shape; nothing else (validation, defaults, walks and config
//! parsing live in the engine and the data plane).

pub mod cognitive;
pub mod graph;
pub mod indexes;
pub mod keys;
pub mod kv;
pub mod rag;
pub mod sessions;
pub mod system;
pub mod ui;
pub mod vectors;
pub mod walks;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::ApiError;
use super::response::Response;
use crate::engine::Task;

/// Decodes a JSON body (one decoder for every route: serde_json, strict types,
/// unknown fields ignored unless the type refuses them).
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadJson(e.to_string()))
}

pub use crate::http::url::query_pairs;

/// `{"status": "OK"}`.
pub fn ok() -> Response {
    Response::ok(serde_json::json!({"status": "OK"}))
}

/// A task's JSON (`id`, `status`, `progress_message`, `error`).
pub fn task_json(t: &Task) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// 202 with the task that was started.
pub fn accepted(t: &Task) -> Response {
    Response::json(202, &task_json(t))
}
