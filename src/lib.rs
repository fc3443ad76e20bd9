//! kektordb: a thread-per-core vector database that speaks KektorDB's HTTP API.
//!
//! [`Engine`] runs one glommio executor per shard, each owning its part of every
//! index, of the graph and of the KV store with its log and snapshots (`engine`);
//! `http` serves the API on those executors; `config` reads the flags. [`ShardSet`]
//! drives the same per-core data plane (`kektordb-shards`) from the caller's thread.
//! `rag` is the folder-watching pipeline, `mcp` the MCP memory server on stdio and
//! `proxy` the AI gateway (OpenAI/Ollama-compatible, firewall, cache, RAG).

pub mod auth;
pub mod config;
pub mod edge;
pub mod embed;
pub mod engine;
pub mod http;
pub mod json_floats;
pub mod limits;
pub mod llm;
pub mod malloc_tune;
pub mod mcp;
pub mod proxy;
pub mod rag;

pub use engine::{Engine, EngineError, Options, SnapshotPolicy};
pub use kektordb_shards::index::{IndexConfig, Item};
pub use kektordb_shards::shard_set::{IndexInfo, NewItem};
pub use kektordb_shards::text::TextLanguage;
pub use kektordb_shards::{Metric, Precision, SearchHit, SearchRequest, ShardError, ShardSet};
