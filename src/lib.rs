//! kektordb: a thread-per-core vector database that speaks KektorDB's HTTP API.
//!
//! Today this crate is the embeddable engine: [`ShardSet`] drives the per-core data
//! plane (`kektordb-shards`) from the caller's thread — create/drop indexes, add,
//! add-batch, get, delete, vector / filtered / text / hybrid search, and KV. The
//! glommio runtime, HTTP API, persistence, proxy, RAG and MCP front ends are built on
//! top of it by later work; until then the `kektordb` binary says so and exits.

pub mod config;
pub mod engine;
pub mod http;

pub use engine::{Engine, EngineError, Options};
pub use kektordb_shards::index::{IndexConfig, Item};
pub use kektordb_shards::shard_set::{IndexInfo, NewItem};
pub use kektordb_shards::text::TextLanguage;
pub use kektordb_shards::{Metric, Precision, SearchHit, SearchRequest, ShardError, ShardSet};
