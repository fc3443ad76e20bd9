//! Typed errors of the data plane. The server maps each variant to an HTTP status in
//! one exhaustive `match` (no wildcard), so a new variant needs a status to compile.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ShardError {
    #[error("index '{name}' not found")]
    IndexNotFound { name: String },
    #[error("index '{name}' already exists")]
    IndexExists { name: String },
    #[error("id '{id}' not found in index '{index}'")]
    IdNotFound { index: String, id: String },
    #[error("key '{key}' not found")]
    KeyNotFound { key: String },
    #[error("no edge {source_id} -[{relation}]-> {target}")]
    EdgeNotFound {
        source_id: String,
        relation: String,
        target: String,
    },
    #[error("vector dimension mismatch: index has {expected}, got {got}")]
    WrongDimension { expected: usize, got: usize },
    #[error("vector dimension {got} is out of range 1..={max}")]
    DimensionOutOfRange { got: usize, max: usize },
    #[error("vector has a non-finite value at position {position}")]
    NonFiniteValue { position: usize },
    /// A finite value whose arithmetic would overflow (distances, norms) or that
    /// the index's precision cannot represent (float16 above 65504).
    #[error("vector value {value} at position {position} is out of range: |x| must be at most {max} {why}")]
    ValueOutOfRange {
        position: usize,
        value: f32,
        max: f32,
        why: &'static str,
    },
    #[error("{what} must be at most {max}, got {got}")]
    TooLarge {
        what: &'static str,
        got: usize,
        max: usize,
    },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("index '{index}' has no text search (create it with text_language)")]
    TextSearchDisabled { index: String },
    #[error("filter: {0}")]
    Filter(#[from] crate::filter::FilterError),
    /// The shard's log cannot be written: writes are refused, reads go on.
    #[error("writes are refused: {reason}; reads still work")]
    LogUnavailable { reason: String },
}

impl ShardError {
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        ShardError::Invalid {
            what,
            reason: reason.into(),
        }
    }
    pub fn too_large(what: &'static str, got: usize, max: usize) -> Self {
        ShardError::TooLarge { what, got, max }
    }
}

pub type Result<T, E = ShardError> = std::result::Result<T, E>;
