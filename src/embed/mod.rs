//! Embedders shared by every front end: `local` (a BERT model in-process, run on
//! the edge's CPU pool), `ollama_api` and `openai_compatible` (remote, through the
//! edge's HTTP client, batched, with retries and backoff). Each is a
//! [`crate::engine::TextEmbedder`], so the engine embeds search text and items
//! without knowing where the work runs; none of it ever runs on a shard executor.

pub mod config;
pub mod error;
pub mod local;
pub mod local_embedder;
pub mod remote;

pub use config::{EmbedderConfig, Embedders};
pub use error::EmbedError;
pub use local::LocalModel;
