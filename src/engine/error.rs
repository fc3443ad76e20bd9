//! Errors of the engine layer: the data plane's typed errors plus what can go wrong
//! with executors and messages.

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
    #[error("recovering shard {shard}: {reason}")]
    Recover { shard: usize, reason: String },
    #[error("{0}")]
    Manifest(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
