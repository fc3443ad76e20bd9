//! A pipeline's durable memory, in the KV store (so it is logged, snapshotted and
//! recovered with everything else): per file `_rag_state:<pipeline>:<relative
//! path>` = [`FileState`] (its content hash, what it was turned into), and per
//! pipeline `_rag_files:<pipeline>` = every relative path that may have chunks.
//! The list is written before a new file is ingested and after removals, so a
//! crash at any point leaves it a superset of what is stored: a file deleted
//! while the server was down is still found and removed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;

use super::error::RagError;

/// What a file was turned into.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileState {
    /// BLAKE3 of the file's bytes, hex.
    pub hash: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub chunk_count: usize,
    /// Whether a `doc:` node and chunk links were made (graph_enabled).
    #[serde(default)]
    pub graph: bool,
    /// Unix nanoseconds of the ingestion.
    #[serde(default)]
    pub indexed_at: i64,
    /// Entity ids the document was linked to (graph_entity_extraction).
    #[serde(default)]
    pub entities: Vec<String>,
}

pub fn state_key(pipeline: &str, rel: &str) -> String {
    format!("_rag_state:{pipeline}:{rel}")
}

fn files_key(pipeline: &str) -> String {
    format!("_rag_files:{pipeline}")
}

pub async fn file_state(
    engine: &Engine,
    pipeline: &str,
    rel: &str,
) -> Result<Option<FileState>, RagError> {
    let raw = engine.kv_get(&state_key(pipeline, rel)).await?;
    // A state that does not parse (an older format, a hand edit) means "ingest again".
    Ok(raw.and_then(|b| serde_json::from_slice(&b).ok()))
}

pub async fn set_file_state(
    engine: &Engine,
    pipeline: &str,
    rel: &str,
    st: &FileState,
) -> Result<(), RagError> {
    let b = serde_json::to_vec(st).unwrap_or_default();
    engine.kv_set(&state_key(pipeline, rel), b).await?;
    Ok(())
}

pub async fn forget_file(engine: &Engine, pipeline: &str, rel: &str) -> Result<(), RagError> {
    engine.kv_delete(&state_key(pipeline, rel)).await?;
    Ok(())
}

pub async fn known_files(engine: &Engine, pipeline: &str) -> Result<BTreeSet<String>, RagError> {
    let raw = engine.kv_get(&files_key(pipeline)).await?;
    Ok(raw
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

pub async fn set_known_files(
    engine: &Engine,
    pipeline: &str,
    files: &BTreeSet<String>,
) -> Result<(), RagError> {
    let b = serde_json::to_vec(files).unwrap_or_default();
    engine.kv_set(&files_key(pipeline), b).await?;
    Ok(())
}
