//! Route handlers, one file per area of the API.

pub mod graph;
pub mod graph_walk;
pub mod indexes;
pub mod kv;
pub mod system;
pub mod vectors;

use serde::de::DeserializeOwned;

use super::errors::ApiError;

/// Decodes a JSON body (one decoder for every route: serde_json, strict types,
/// unknown fields ignored).
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadJson(e.to_string()))
}
