//! Errors of the HTTP layer and the one place that decides each error's status.
//! The match is exhaustive with no wildcard: a new error variant anywhere below does
//! not compile until it has a status.

use kektordb_shards::ShardError;
use serde_json::json;
use thiserror::Error;

use super::response::Response;
use crate::engine::EngineError;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("invalid JSON body: {0}")]
    BadJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("request body of {got} bytes exceeds the limit of {max} bytes")]
    BodyTooLarge { got: usize, max: usize },
    #[error("request head exceeds the limit")]
    HeadTooLarge,
    #[error("a Content-Length is required (chunked bodies are not supported)")]
    LengthRequired,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0} is not available yet in this version of kektordb-rs")]
    NotAvailable(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<ShardError> for ApiError {
    fn from(e: ShardError) -> Self {
        ApiError::Engine(EngineError::Shard(e))
    }
}

fn shard_status(e: &ShardError) -> u16 {
    match e {
        ShardError::IndexNotFound { .. } => 404,
        ShardError::IdNotFound { .. } => 404,
        ShardError::KeyNotFound { .. } => 404,
        ShardError::IndexExists { .. } => 409,
        ShardError::WrongDimension { .. } => 400,
        ShardError::DimensionOutOfRange { .. } => 400,
        ShardError::NonFiniteValue { .. } => 400,
        ShardError::TooLarge { .. } => 400,
        ShardError::Invalid { .. } => 400,
        ShardError::TextSearchDisabled { .. } => 400,
        ShardError::Filter(_) => 400,
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadJson(_) => 400,
            ApiError::BadRequest(_) => 400,
            ApiError::NoRoute { .. } => 404,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::BodyTooLarge { .. } => 413,
            ApiError::HeadTooLarge => 431,
            ApiError::LengthRequired => 411,
            ApiError::Unauthorized => 401,
            ApiError::NotAvailable(_) => 501,
            ApiError::Engine(e) => match e {
                EngineError::Shard(s) => shard_status(s),
                EngineError::Busy { .. } => 503,
                EngineError::ShardDown { .. } => 503,
                EngineError::Start(_) => 500,
                EngineError::Storage(_) => 500,
                EngineError::Recover { .. } => 500,
                EngineError::Manifest(_) => 500,
            },
        }
    }

    pub fn response(&self) -> Response {
        Response::json(self.status(), &json!({ "error": self.to_string() }))
    }
}
