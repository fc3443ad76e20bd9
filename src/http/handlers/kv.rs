//! The KV routes: `/kv/{key}` GET, POST/PUT (`{"value": "..."}`), DELETE.

use serde_json::{json, Value};

use super::body;
use crate::http::dto::KvValue;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::server::State;

pub async fn get(state: &State, key: &str) -> Result<Response, ApiError> {
    match state.engine.kv_get(key).await? {
        Some(v) => Ok(Response::ok(
            json!({"key": key, "value": String::from_utf8_lossy(&v)}),
        )),
        None => Err(ApiError::NotFound(format!("key '{key}' not found"))),
    }
}

pub async fn set(state: &State, key: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let b: KvValue = body(raw)?;
    let bytes = match b.value {
        Value::String(s) => s.into_bytes(),
        _ => return Err(ApiError::BadRequest("'value' must be a string".into())),
    };
    kektordb_shards::kv::KvStore::check_key(key)?;
    state.engine.kv_set(key, bytes).await?;
    Ok(Response::ok(json!({"status": "OK"})))
}

pub async fn delete(state: &State, key: &str) -> Result<Response, ApiError> {
    if state.engine.kv_delete(key).await? {
        Ok(Response::ok(json!({"status": "OK"})))
    } else {
        Err(ApiError::NotFound(format!("key '{key}' not found")))
    }
}
