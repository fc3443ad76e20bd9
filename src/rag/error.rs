//! The RAG layer's errors; the HTTP API maps them to statuses in one place
//! (`http/errors.rs`).

use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum RagError {
    /// vectorizers.yaml is wrong (names the key, the line or the vectorizer).
    #[error("{0}")]
    Config(String),
    /// A request is missing something or has a bad value.
    #[error("{0}")]
    BadRequest(String),
    #[error("vectorizer pipeline '{0}' not found")]
    NoPipeline(String),
    /// The pipeline layer is not running (no -vectorizers-config).
    #[error("no RAG pipelines are configured (start the server with -vectorizers-config)")]
    NotActive,
    #[error(transparent)]
    Engine(#[from] EngineError),
}
