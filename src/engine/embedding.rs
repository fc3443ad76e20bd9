//! The engine's port for text embedding. The engine never embeds by itself (that
//! is CPU-heavy or a network call, so it belongs to the edge layer); it holds the
//! embedders the front ends registered — one for the whole server, one per index
//! for a RAG pipeline's index — and awaits them: a search with `query_text` and no
//! vector, or an item with text and no vector, is embedded through them. The
//! futures they return run elsewhere (the edge runtime or its CPU pool); awaiting
//! one on a shard executor only waits.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use kektordb_shards::router::NewItem;
use kektordb_shards::search::SearchRequest;
use kektordb_shards::ShardError;

use super::error::{EngineError, Result};
use super::Engine;
use crate::limits::EMBED_TEXTS_PER_REQUEST_MAX;

/// What a text is embedded as (asymmetric models prefix queries and passages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedPurpose {
    Query,
    Passage,
}

/// What kind of failure an embedder had; each transport maps it to its codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedFailureKind {
    /// The text cannot be embedded (too long, empty): the caller's fault.
    Input,
    /// The embedder is not there or is overloaded (model missing, queue full).
    Unavailable,
    /// A remote embedder did not answer in time.
    Timeout,
    /// A remote embedder is unreachable or answered nonsense.
    BadUpstream,
    /// A remote embedder refused the request (a 4xx: bad key, unknown model).
    Rejected,
}

/// Why an embedder gave no embeddings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedFailure {
    pub kind: EmbedFailureKind,
    pub message: String,
}

/// The embeddings of a batch, or why there are none.
pub type EmbedFuture =
    Pin<Box<dyn Future<Output = std::result::Result<Vec<Vec<f32>>, EmbedFailure>> + Send>>;

/// A text embedder, as the engine sees it.
pub trait TextEmbedder: Send + Sync {
    /// For errors and status: `local:all-MiniLM-L6-v2`, `ollama_api:nomic-embed-text`.
    fn name(&self) -> String;
    /// The vector dimension, when known before the first call.
    fn dim(&self) -> Option<usize>;
    /// Embeds `texts` (in order).
    fn embed(&self, texts: Vec<String>, purpose: EmbedPurpose) -> EmbedFuture;
}

#[derive(Default)]
pub(super) struct Embedders {
    server: Option<Arc<dyn TextEmbedder>>,
    by_index: HashMap<String, Arc<dyn TextEmbedder>>,
}

pub(super) type EmbedderSlot = RwLock<Embedders>;

impl Engine {
    /// Sets (or clears) the server-wide embedder.
    pub fn set_embedder(&self, e: Option<Arc<dyn TextEmbedder>>) {
        self.inner
            .embedders
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .server = e;
    }

    /// Sets the embedder of one index (a RAG pipeline's); it wins over the
    /// server-wide one for that index.
    pub fn set_index_embedder(&self, index: &str, e: Arc<dyn TextEmbedder>) {
        self.inner
            .embedders
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .by_index
            .insert(index.to_owned(), e);
    }

    /// The embedder for `index`: its own, else the server-wide one.
    pub fn embedder_for(&self, index: &str) -> Option<Arc<dyn TextEmbedder>> {
        let g = self
            .inner
            .embedders
            .read()
            .unwrap_or_else(|p| p.into_inner());
        g.by_index.get(index).or(g.server.as_ref()).cloned()
    }

    /// Embeds `texts` with the embedder of `index`.
    pub async fn embed_for(
        &self,
        index: &str,
        texts: Vec<String>,
        purpose: EmbedPurpose,
    ) -> Result<Vec<Vec<f32>>> {
        let e = self
            .embedder_for(index)
            .ok_or_else(|| EngineError::NoEmbedder {
                index: index.to_owned(),
            })?;
        let n = texts.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let out = e
            .embed(texts, purpose)
            .await
            .map_err(|f| EngineError::Embed {
                embedder: e.name(),
                kind: f.kind,
                reason: f.message,
            })?;
        let bad = |reason: String| EngineError::Embed {
            embedder: e.name(),
            kind: EmbedFailureKind::BadUpstream,
            reason,
        };
        if out.len() != n {
            return Err(bad(format!("returned {} vectors for {n} texts", out.len())));
        }
        let dim = out[0].len();
        if dim == 0 || out.iter().any(|v| v.len() != dim) {
            return Err(bad("returned vectors of different or zero lengths".into()));
        }
        if out.iter().flatten().any(|x| !x.is_finite()) {
            return Err(bad("returned a non-finite value".into()));
        }
        if let Some(want) = self.catalog().get(index).ok().and_then(|entry| entry.dim) {
            if want != dim {
                return Err(EngineError::EmbedDimension {
                    index: index.to_owned(),
                    embedder: e.name(),
                    index_dim: want,
                    embedder_dim: dim,
                });
            }
        }
        Ok(out)
    }
}

/// An item as a front end gives it: without a vector, its text
/// (`metadata.content`, else `metadata.text`) is embedded when the index has an
/// embedder; without an embedder it is stored as a node without a vector (a graph
/// entity), as before.
#[derive(Clone, Debug, Default)]
pub struct ItemInput {
    pub id: String,
    pub vector: Option<Vec<f32>>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The text of an item that is embedded when it has no vector.
pub fn item_text(metadata: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    ["content", "text"]
        .iter()
        .find_map(|k| metadata.get(*k).and_then(|v| v.as_str()))
        .filter(|t| !t.trim().is_empty())
}

impl Engine {
    /// Turns inputs into items, embedding (in one call) the texts of those without
    /// a vector when `index` has an embedder.
    pub async fn embed_items(&self, index: &str, inputs: Vec<ItemInput>) -> Result<Vec<NewItem>> {
        self.catalog().get(index)?;
        let wanted: Vec<usize> = inputs
            .iter()
            .enumerate()
            .filter(|(_, it)| it.vector.is_none() && item_text(&it.metadata).is_some())
            .map(|(i, _)| i)
            .collect();
        let mut vectors = Vec::new();
        if !wanted.is_empty() && self.embedder_for(index).is_some() {
            if wanted.len() > EMBED_TEXTS_PER_REQUEST_MAX {
                return Err(ShardError::too_large(
                    "items to embed",
                    wanted.len(),
                    EMBED_TEXTS_PER_REQUEST_MAX,
                )
                .into());
            }
            let texts = wanted
                .iter()
                .map(|i| item_text(&inputs[*i].metadata).unwrap_or("").to_owned())
                .collect();
            vectors = self.embed_for(index, texts, EmbedPurpose::Passage).await?;
        }
        let mut vectors = wanted.into_iter().zip(vectors).peekable();
        Ok(inputs
            .into_iter()
            .enumerate()
            .map(|(i, it)| {
                let vector = match it.vector {
                    Some(v) => v,
                    None if vectors.peek().is_some_and(|(j, _)| *j == i) => {
                        vectors.next().map(|(_, v)| v).unwrap_or_default()
                    }
                    None => Vec::new(),
                };
                NewItem {
                    id: it.id,
                    vector,
                    metadata: it.metadata,
                }
            })
            .collect())
    }

    /// Adds items, embedding those without a vector (see [`ItemInput`]); logged
    /// like [`Engine::add_batch`], or imported when `!logged`.
    pub async fn add_inputs(
        &self,
        index: &str,
        inputs: Vec<ItemInput>,
        logged: bool,
    ) -> Result<usize> {
        let items = self.embed_items(index, inputs).await?;
        if logged {
            self.add_batch(index, items).await
        } else {
            self.import_batch(index, items).await
        }
    }

    /// Gives a text-only search its query vector when `index` has an embedder of
    /// the index's dimension (the search is then hybrid on an index with text
    /// search). Otherwise a text-only search stays a BM25 search on an index with
    /// text search, and is refused on one without ([`EngineError::NoEmbedder`], or
    /// [`EngineError::EmbedDimension`]).
    pub async fn embed_query(&self, index: &str, req: &mut SearchRequest) -> Result<()> {
        if req.vector.is_some() || !req.has_text() {
            return Ok(());
        }
        let text = req.text.clone().unwrap_or_default();
        let config = self.config(index)?;
        let bm25 = config.text_language.is_some();
        let Some(e) = self.embedder_for(index) else {
            if bm25 {
                return Ok(());
            }
            return Err(EngineError::NoEmbedder {
                index: index.to_owned(),
            });
        };
        let index_dim = self.catalog().get(index)?.dim;
        if bm25 && index_dim.is_some() && e.dim().is_some() && e.dim() != index_dim {
            // The index holds vectors of another model: a text search stays BM25.
            return Ok(());
        }
        match self.embed_for(index, vec![text], EmbedPurpose::Query).await {
            Ok(mut v) => {
                req.vector = v.pop();
                if !bm25 {
                    // The text became the vector; there is no BM25 side to give it to.
                    req.text = None;
                }
            }
            Err(EngineError::EmbedDimension { .. }) if bm25 => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }
}
