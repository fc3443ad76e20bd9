//! Per-core data plane of kektordb.
//!
//! One [`Shard`] owns its part of every index (vectors, HNSW graph, metadata index,
//! BM25 postings) and its KV partition. A shard has no threads and no locks: the
//! caller (an executor in the server, or a test) drives it. [`ShardSet`] routes by id
//! over several shards on the caller's thread and merges their answers; the server
//! runs the same shards on per-core executors.

pub mod clock;
pub mod distance;
pub mod durable;
pub mod duration;
pub mod error;
pub mod filter;
pub mod graph;
pub mod hnsw;
pub mod huge_pages;
pub mod index;
pub mod kv;
pub mod limits;
pub mod merge;
pub mod metadata;
pub mod metric;
pub mod op;
pub mod parallel;
pub mod quant;
pub mod rng;
pub mod router;
pub mod rows;
pub mod search;
pub mod shard;
pub mod shard_set;
pub mod snapshot;
pub mod text;
pub mod vectors;

pub use error::ShardError;
pub use index::{Index, IndexConfig};
pub use metric::{Metric, Precision};
pub use search::{SearchHit, SearchRequest};
pub use shard::Shard;
pub use shard_set::ShardSet;
