//! The KV routes: `/kv/{key}` GET, POST/PUT (`{"value": "..."}`), DELETE.

use kektordb_shards::ShardError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{body, ok};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

#[derive(Deserialize)]
struct KvValue {
    value: Value,
}

pub async fn get(state: &State, key: &str) -> Result<Response, ApiError> {
    let v = state.engine.kv_get_existing(key).await?;
    Ok(Response::ok(
        json!({"key": key, "value": String::from_utf8_lossy(&v)}),
    ))
}

pub async fn set(state: &State, key: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let b: KvValue = body(raw)?;
    let Value::String(s) = b.value else {
        return Err(ShardError::invalid("value", "must be a string").into());
    };
    state.engine.kv_set(key, s.into_bytes()).await?;
    Ok(ok())
}

pub async fn delete(state: &State, key: &str) -> Result<Response, ApiError> {
    state.engine.kv_delete_existing(key).await?;
    Ok(ok())
}
