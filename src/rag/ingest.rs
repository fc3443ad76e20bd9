//! One file in, its chunks out: read (size-limited) and hash the file, and, when
//! the content changed, parse and chunk it on the edge's CPU pool (time-limited),
//! embed the chunks with the index's embedder, store them (replacing the old
//! ones; chunks left over from a longer old version are removed), link them when
//! the graph is on, and record the new state. A deleted file's chunks, its
//! `doc:` node and every edge of them are removed.

use std::time::Instant;

use kektordb_shards::router::NewItem;
use serde_json::{json, Map, Value};

use super::chunk::{self, Chunk};
use super::config::{fill, Vectorizer};
use super::entities::{self, EntityExtractor};
use super::load;
use super::nodes::remove_node;
use super::source::FileEntry;
use super::state::{self, FileState};
use super::status::rfc3339;
use crate::edge::Edge;
use crate::engine::{EmbedPurpose, Engine, Link};
use crate::limits::{RAG_CHUNKS_PER_FILE_MAX, RAG_EMBED_GROUP};

/// What ingesting one file did.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Same bytes as recorded (maybe a new mtime; the state is refreshed).
    Unchanged,
    Ingested {
        chunks: usize,
        embed_ms: u64,
    },
}

/// The ids of a file's nodes.
pub fn doc_path(v: &Vectorizer, rel: &str) -> String {
    let root = v.root_text.trim_start_matches("./");
    if root.is_empty() || root == "." {
        rel.to_owned()
    } else {
        format!("{root}/{rel}")
    }
}

pub fn chunk_id(path: &str, i: usize) -> String {
    format!("{path}_{i}")
}

pub fn doc_id(path: &str) -> String {
    format!("doc:{path}")
}

/// What the CPU job hands back.
enum Parsed {
    Same {
        hash: String,
    },
    Pages {
        hash: String,
        kind: &'static str,
        chunks: Vec<(Option<u32>, Chunk)>,
    },
}

fn read_and_parse(
    entry: &FileEntry,
    max_bytes: u64,
    old_hash: Option<String>,
    cfg: chunk::ChunkConfig,
) -> Result<Parsed, String> {
    if entry.size > max_bytes {
        return Err(load::LoadError::TooLarge {
            size: entry.size,
            limit: max_bytes,
        }
        .to_string());
    }
    let bytes = std::fs::read(&entry.abs).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(load::LoadError::TooLarge {
            size: bytes.len() as u64,
            limit: max_bytes,
        }
        .to_string());
    }
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if old_hash.as_deref() == Some(hash.as_str()) {
        return Ok(Parsed::Same { hash });
    }
    let loaded = load::load(&entry.abs, &bytes).map_err(|e| e.to_string())?;
    let mut chunks = Vec::new();
    for page in loaded.pages {
        for c in chunk::split(&page.text, &cfg) {
            if c.text.trim().is_empty() {
                continue;
            }
            chunks.push((page.number, c));
            if chunks.len() > RAG_CHUNKS_PER_FILE_MAX {
                return Err(format!(
                    "more than {RAG_CHUNKS_PER_FILE_MAX} chunks (raise chunk_size or split the file)"
                ));
            }
        }
    }
    Ok(Parsed::Pages {
        hash,
        kind: loaded.kind,
        chunks,
    })
}

/// Ingests `entry` if its content differs from `old`. Errors are the reasons
/// recorded for the file.
pub async fn ingest(
    engine: &Engine,
    edge: &Edge,
    v: &Vectorizer,
    entry: &FileEntry,
    old: Option<&FileState>,
    extractor: Option<&EntityExtractor>,
) -> Result<Outcome, String> {
    let job_entry = entry.clone();
    let (max, cfg) = (v.max_file_bytes, v.chunking.clone());
    let old_hash = old.map(|o| o.hash.clone());
    let parsed = edge
        .cpu()
        .run("parsing a file", v.parse_timeout, move || {
            read_and_parse(&job_entry, max, old_hash, cfg)
        })
        .await
        .map_err(|e| e.to_string())??;
    let now = now_ns();
    let (hash, kind, chunks) = match parsed {
        Parsed::Same { hash } => {
            let mut st = old.cloned().unwrap_or_default();
            st.hash = hash;
            st.size = entry.size;
            st.mtime_ns = entry.mtime_ns;
            state::set_file_state(engine, &v.name, &entry.rel, &st)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(Outcome::Unchanged);
        }
        Parsed::Pages { hash, kind, chunks } => (hash, kind, chunks),
    };
    let path = doc_path(v, &entry.rel);
    let filename = entry
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&entry.rel)
        .to_owned();
    let mod_time = rfc3339(entry.mtime_ns);
    let template: Map<String, Value> = v
        .metadata_template
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                Value::String(fill(t, &path, &filename, &mod_time)),
            )
        })
        .collect();
    // Embed in groups (progress and bounded requests), then store.
    let started = Instant::now();
    let mut items = Vec::with_capacity(chunks.len());
    for group in chunks.chunks(RAG_EMBED_GROUP) {
        let texts = group.iter().map(|(_, c)| c.text.clone()).collect();
        let vectors = engine
            .embed_for(&v.index, texts, EmbedPurpose::Passage)
            .await
            .map_err(|e| format!("embedding failed: {e}"))?;
        for ((page, c), vector) in group.iter().zip(vectors) {
            let i = items.len();
            let mut m = template.clone();
            m.insert("source".into(), json!(path));
            m.insert("filename".into(), json!(filename));
            m.insert("chunk_index".into(), json!(i));
            m.insert("content".into(), json!(c.text));
            m.insert("type".into(), json!("chunk"));
            m.insert("parent_id".into(), json!(doc_id(&path)));
            m.insert("file_type".into(), json!(kind));
            m.insert("char_start".into(), json!(c.start));
            m.insert("char_end".into(), json!(c.end));
            m.insert("mod_time".into(), json!(mod_time));
            if let Some(p) = page {
                m.insert("page_number".into(), json!(p));
            }
            items.push(NewItem {
                id: chunk_id(&path, i),
                vector,
                metadata: m,
            });
        }
    }
    let embed_ms = started.elapsed().as_millis() as u64;
    let n = items.len();
    if v.graph {
        let mut m = template.clone();
        m.insert("source".into(), json!(path));
        m.insert("filename".into(), json!(filename));
        m.insert("type".into(), json!("document"));
        m.insert("chunk_count".into(), json!(n));
        m.insert("file_type".into(), json!(kind));
        m.insert("mod_time".into(), json!(mod_time));
        items.push(NewItem {
            id: doc_id(&path),
            vector: Vec::new(),
            metadata: m,
        });
    }
    let fail = |e: crate::engine::EngineError| format!("storing chunks failed: {e}");
    for group in items.chunks(1024) {
        engine
            .add_batch(&v.index, group.to_vec())
            .await
            .map_err(fail)?;
    }
    // A shorter new version: the old tail goes, with its edges.
    if let Some(o) = old {
        for i in n..o.chunk_count {
            remove_node(engine, &v.index, &chunk_id(&path, i))
                .await
                .map_err(fail)?;
        }
        if o.graph && !v.graph {
            remove_node(engine, &v.index, &doc_id(&path))
                .await
                .map_err(fail)?;
        }
    }
    if v.graph {
        for i in 0..n {
            let id = chunk_id(&path, i);
            if i > 0 {
                link(engine, &chunk_id(&path, i - 1), &id, "next", "prev")
                    .await
                    .map_err(fail)?;
            }
            link(engine, &id, &doc_id(&path), "parent", "child")
                .await
                .map_err(fail)?;
        }
    }
    // The old version's mentions go; the new version's entities are linked.
    if let Some(o) = old.filter(|o| !o.entities.is_empty()) {
        entities::unlink_entities(engine, &v.index, &doc_id(&path), &path, &o.entities)
            .await
            .map_err(fail)?;
    }
    let mut linked = Vec::new();
    if let (Some(x), true) = (extractor, v.graph && n > 0) {
        let texts: Vec<&str> = chunks.iter().map(|(_, c)| c.text.as_str()).collect();
        match x.extract(&texts).await {
            Ok(names) => {
                let nodes: Vec<(String, String)> = chunks
                    .iter()
                    .enumerate()
                    .map(|(i, (_, c))| (chunk_id(&path, i), c.text.clone()))
                    .collect();
                linked = entities::link_entities(engine, &v.index, &doc_id(&path), &nodes, &names)
                    .await
                    .map_err(fail)?;
            }
            // Bad or missing model output: logged, the file stays indexed.
            Err(e) => eprintln!("kektordb: vectorizer '{}': {}: {e}", v.name, entry.rel),
        }
    }
    let st = FileState {
        hash,
        size: entry.size,
        mtime_ns: entry.mtime_ns,
        chunk_count: n,
        graph: v.graph,
        indexed_at: now,
        entities: linked,
    };
    state::set_file_state(engine, &v.name, &entry.rel, &st)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Outcome::Ingested {
        chunks: n,
        embed_ms,
    })
}

async fn link(
    engine: &Engine,
    from: &str,
    to: &str,
    rel: &str,
    inverse: &str,
) -> crate::engine::Result<()> {
    engine
        .link(Link {
            source: from.to_owned(),
            target: to.to_owned(),
            relation: rel.to_owned(),
            inverse: Some(inverse.to_owned()),
            weight: 1.0,
            props: Map::new(),
        })
        .await
        .map(|_| ())
}

/// Removes everything a deleted (or renamed-away) file left: chunks, `doc:` node,
/// their edges, its state.
pub async fn remove_file(
    engine: &Engine,
    v: &Vectorizer,
    rel: &str,
    old: Option<&FileState>,
) -> crate::engine::Result<usize> {
    let path = doc_path(v, rel);
    let n = old.map_or(0, |o| o.chunk_count);
    for i in 0..n {
        remove_node(engine, &v.index, &chunk_id(&path, i)).await?;
    }
    remove_node(engine, &v.index, &doc_id(&path)).await?;
    for e in old.map(|o| o.entities.as_slice()).unwrap_or_default() {
        entities::gc_entity(engine, &v.index, e).await?;
    }
    let _ = state::forget_file(engine, &v.name, rel).await;
    Ok(n)
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
