//! Errors of the engine layer: the data plane's typed errors plus what can go wrong
//! with executors, files and messages. Each transport maps them to its own codes in
//! one place (`http/errors.rs` for HTTP).

use kektordb_shards::durable::RecoverError;
use kektordb_shards::ShardError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error("shard {shard} is overloaded, try again")]
    Busy { shard: usize },
    #[error("shard {shard} is not running")]
    ShardDown { shard: usize },
    #[error("could not start shard executors: {0}")]
    Start(String),
    #[error("storage: {0}")]
    Storage(String),
    /// The log write or sync covering an applied write failed: the write is visible
    /// in memory but may not be durable. The shard refuses further writes until its
    /// log can be written again.
    #[error("outcome unknown: the log of shard {shard} could not be written ({reason}); this write was applied in memory but may not be durable, and the shard refuses writes until its log works again")]
    OutcomeUnknown { shard: usize, reason: String },
    #[error("recovering shard {shard}: {error}")]
    Recover {
        shard: usize,
        #[source]
        error: RecoverError,
    },
    #[error("recovering shard {shard}: the recovery thread panicked")]
    RecoverPanicked { shard: usize },
    #[error("index '{index}' is missing on shard(s) {missing:?} (a log or snapshot was lost or emptied); restore the files, or start with -skip-corrupt to re-create the missing parts empty")]
    Inconsistent { index: String, missing: Vec<usize> },
    #[error("data directory {dir} is in use by {holder}; stop it first or use another -aof-path")]
    Locked { dir: String, holder: String },
    #[error("{0}")]
    Manifest(String),
    #[error("{what} is not available yet in this version of kektordb-rs")]
    NotAvailable { what: &'static str },
    #[error("task '{id}' not found")]
    TaskNotFound { id: String },
    #[error("no embedder available for index '{index}': give a vector, or start the server with -embedder (local, ollama_api, openai_compatible)")]
    NoEmbedder { index: String },
    #[error("embedder {embedder} failed: {reason}")]
    Embed {
        embedder: String,
        kind: super::EmbedFailureKind,
        reason: String,
    },
    #[error("embedder {embedder} makes {embedder_dim}-dimensional vectors but index '{index}' holds {index_dim}-dimensional ones: use an index of the embedder's dimension, or another embedder")]
    EmbedDimension {
        index: String,
        embedder: String,
        index_dim: usize,
        embedder_dim: usize,
    },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
