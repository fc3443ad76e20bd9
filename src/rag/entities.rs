//! Entity extraction (`graph_entity_extraction`): once per document, an
//! OpenAI-compatible chat model (the `llm:` block, upstream's keys and defaults)
//! names the document's key entities; each becomes a node `entity:<name>` (a graph
//! node without a vector, so retrieval returns chunks, not entity stubs) linked
//! `mentions` / `mentioned_in` with the document and with every chunk whose text
//! names it. A reply that is not a JSON array of strings is logged and skipped: the
//! file is still indexed. The call goes through the edge's HTTP client, never on a
//! shard executor.

use serde_json::{json, Value};

use super::config::LlmYaml;
use super::error::RagError;
use crate::edge::Edge;
use crate::limits::{RAG_ENTITIES_MAX, RAG_ENTITY_PREVIEW_CHARS, RAG_LLM_TIMEOUT};
use crate::llm::ChatModel;

const PROMPT: &str = "You are an entity extraction system. Read the document and return the top 3-5 key entities (Concepts, Projects, Technologies, People) it is about. Return a JSON array of strings, for example [\"Rust\", \"HNSW\"]. Return ONLY JSON.";

pub struct EntityExtractor {
    model: ChatModel,
}

impl EntityExtractor {
    pub fn new(edge: &Edge, llm: &LlmYaml) -> Result<EntityExtractor, RagError> {
        Ok(EntityExtractor {
            model: ChatModel::new(edge, llm, RAG_LLM_TIMEOUT).map_err(RagError::Config)?,
        })
    }

    /// The entities of a document whose chunks are `chunks` (the first ones up to
    /// [`RAG_ENTITY_PREVIEW_CHARS`] are shown to the model); `Ok(vec![])` when the
    /// text is too short to bother.
    pub async fn extract(&self, chunks: &[&str]) -> Result<Vec<String>, String> {
        let mut preview = String::new();
        for c in chunks {
            if preview.chars().count() >= RAG_ENTITY_PREVIEW_CHARS {
                break;
            }
            preview.push_str(c);
            preview.push('\n');
        }
        if preview.trim().chars().count() <= 50 {
            return Ok(Vec::new());
        }
        let text = self
            .model
            .complete(PROMPT, &preview)
            .await
            .map_err(|e| format!("entity extraction: {e}"))?;
        parse_entities(&text)
    }
}

/// The entity names of a model's reply: a JSON array of strings, possibly inside
/// a ```json fence or after some prose; trimmed, deduplicated (case-insensitive),
/// at most [`RAG_ENTITIES_MAX`], each at most 100 characters.
pub fn parse_entities(reply: &str) -> Result<Vec<String>, String> {
    let bad = || {
        let head: String = reply.chars().take(80).collect();
        format!("entity extraction: the model did not answer a JSON array of strings: {head:?}")
    };
    let start = reply.find('[').ok_or_else(bad)?;
    let end = reply.rfind(']').filter(|e| *e > start).ok_or_else(bad)?;
    let v: Value = serde_json::from_str(&reply[start..=end]).map_err(|_| bad())?;
    let arr = v.as_array().ok_or_else(bad)?;
    let mut out: Vec<String> = Vec::new();
    for x in arr {
        let s = x.as_str().ok_or_else(bad)?.trim();
        if s.is_empty() || s.chars().count() > 100 {
            continue;
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        }
        if out.len() == RAG_ENTITIES_MAX {
            break;
        }
    }
    Ok(out)
}

/// `entity:<lowercased name, spaces as _, quotes removed>` (upstream's ids).
pub fn entity_id(name: &str) -> String {
    let n: String = name
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '"' | '\''))
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    format!("entity:{n}")
}

/// Links a document's entities (see the module doc); returns the entity ids.
pub async fn link_entities(
    engine: &crate::engine::Engine,
    index: &str,
    doc: &str,
    chunks: &[(String, String)],
    names: &[String],
) -> crate::engine::Result<Vec<String>> {
    let mut ids = Vec::new();
    for name in names {
        let id = entity_id(name);
        if engine.get_one(index, &id).await.is_err() {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), json!("entity"));
            m.insert("name".into(), json!(name));
            m.insert("label".into(), json!(format!("Entity: {name}")));
            engine
                .add_batch(
                    index,
                    vec![kektordb_shards::router::NewItem {
                        id: id.clone(),
                        vector: Vec::new(),
                        metadata: m,
                    }],
                )
                .await?;
        }
        mention(engine, doc, &id).await?;
        let lower = name.to_lowercase();
        for (cid, text) in chunks {
            if text.to_lowercase().contains(&lower) {
                mention(engine, cid, &id).await?;
            }
        }
        ids.push(id);
    }
    Ok(ids)
}

async fn mention(
    engine: &crate::engine::Engine,
    from: &str,
    entity: &str,
) -> crate::engine::Result<()> {
    engine
        .link(crate::engine::Link {
            source: from.to_owned(),
            target: entity.to_owned(),
            relation: "mentions".into(),
            inverse: Some("mentioned_in".into()),
            weight: 1.0,
            props: serde_json::Map::new(),
        })
        .await
        .map(|_| ())
}

/// Drops the mentions of `entities` by nodes of the file whose node ids are
/// `doc` and `<path>_<i>`, then removes entities nothing mentions any more.
pub async fn unlink_entities(
    engine: &crate::engine::Engine,
    index: &str,
    doc: &str,
    path: &str,
    entities: &[String],
) -> crate::engine::Result<()> {
    use kektordb_shards::graph::Side;
    let chunk_prefix = format!("{path}_");
    let ours = |n: &str| {
        n == doc
            || n.strip_prefix(&chunk_prefix)
                .is_some_and(|i| i.chars().all(|c| c.is_ascii_digit()))
    };
    for e in entities {
        for (_, edge) in engine
            .edges(e, Some("mentioned_in"), Side::Out, i64::MAX)
            .await?
        {
            if ours(&edge.other) {
                engine.unlink(e, &edge.other, "mentioned_in", true).await?;
                engine.unlink(&edge.other, e, "mentions", true).await?;
            }
        }
        gc_entity(engine, index, e).await?;
    }
    Ok(())
}

/// Removes an entity node that nothing mentions any more.
pub async fn gc_entity(
    engine: &crate::engine::Engine,
    index: &str,
    entity: &str,
) -> crate::engine::Result<()> {
    use kektordb_shards::graph::Side;
    if engine
        .edges(entity, Some("mentioned_in"), Side::Out, i64::MAX)
        .await?
        .is_empty()
    {
        super::nodes::remove_node(engine, index, entity).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed_or_refused() {
        assert_eq!(
            parse_entities("```json\n[\"Rust\", \"HNSW\", \"rust\", \"\"]\n```").unwrap(),
            ["Rust", "HNSW"]
        );
        assert_eq!(
            parse_entities("Sure! [\"A\"] hope that helps").unwrap(),
            ["A"]
        );
        assert!(parse_entities("no entities here").is_err());
        assert!(parse_entities("[1, 2]").is_err());
        assert!(parse_entities("[\"a\"").is_err());
        let many: Vec<String> = (0..50).map(|i| format!("\"e{i}\"")).collect();
        assert_eq!(
            parse_entities(&format!("[{}]", many.join(",")))
                .unwrap()
                .len(),
            RAG_ENTITIES_MAX
        );
    }

    #[test]
    fn ids_are_upstreams() {
        assert_eq!(entity_id("  Machine Learning "), "entity:machine_learning");
        assert_eq!(entity_id("O'Reilly \"Books\""), "entity:oreilly_books");
    }
}
