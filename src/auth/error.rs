//! Errors of API keys; each transport maps them to its codes (HTTP: 401/403/400/404
//! in `http/errors.rs`).

use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid API key: {0}")]
    BadToken(String),
    #[error("API key expired")]
    Expired,
    #[error("API key revoked")]
    Revoked,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("API key '{0}' not found")]
    NotFound(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}
