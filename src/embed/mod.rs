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

use std::future::Future;

use crate::edge::{Edge, EdgeError};
use crate::engine::EmbedFuture;
use crate::limits::EMBED_TEXT_BYTES_MAX;

/// Refuses a text longer than [`EMBED_TEXT_BYTES_MAX`] (every embedder's bound).
pub(crate) fn check_lengths(texts: &[String]) -> Result<(), EmbedError> {
    match texts.iter().find(|t| t.len() > EMBED_TEXT_BYTES_MAX) {
        Some(t) => Err(EmbedError::Input(format!(
            "a text of {} bytes is longer than the {EMBED_TEXT_BYTES_MAX} an embedder takes",
            t.len()
        ))),
        None => Ok(()),
    }
}

/// Runs an embedding job on the edge runtime and hands the engine a future of its
/// result (awaitable on any executor).
pub(crate) fn on_edge<F>(edge: &Edge, job: F) -> EmbedFuture
where
    F: Future<Output = Result<Vec<Vec<f32>>, EmbedError>> + Send + 'static,
{
    let handle = edge.spawn(job);
    Box::pin(async move {
        match handle.await {
            Ok(r) => r.map_err(|e| e.failure()),
            Err(e) => Err(EmbedError::Edge(EdgeError::Job(e.to_string())).failure()),
        }
    })
}
