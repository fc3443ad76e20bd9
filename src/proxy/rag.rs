//! RAG injection: the user's question is searched in `rag_index` (vector, or
//! hybrid with BM25 when `rag_use_hybrid`), chunks scoring at least
//! `rag_threshold` (the search's score, higher is better, as upstream) are kept,
//! each with its neighbours' text (`prev`/`next` edges) and its source's name
//! (the `parent` document's `filename`, else the chunk's, else its `source`), and
//! written as `--- Source Document: <name> ---` blocks into `rag_system_prompt`
//! (`{{context}}`, `{{query}}`). The ids used (chunks and their documents) are the
//! cache entry's `sources`, so `/cache/invalidate` finds them.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::config::ProxyConfig;
use super::error::ProxyError;
use crate::engine::{item_text, SearchQuery};
use crate::limits::PROXY_RAG_CONTEXT_CHARS_MAX;
use crate::{Engine, Item};
use kektordb_shards::graph::Side;

/// What retrieval found.
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    /// The filled template.
    pub prompt: String,
    /// Chunk and document ids the context came from.
    pub sources: Vec<String>,
}

fn name_of(chunk: &Item, parent: Option<&Item>) -> String {
    let s = |i: &Item, k: &str| {
        i.metadata
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    parent
        .and_then(|p| s(p, "filename"))
        .or_else(|| s(chunk, "filename"))
        .or_else(|| s(chunk, "source").map(|src| src.rsplit('/').next().unwrap_or(&src).to_owned()))
        .unwrap_or_else(|| "Unknown Source".to_owned())
}

/// Fills the template: `{{context}}` and `{{query}}`; a template without
/// `{{context}}` gets the context appended.
pub fn fill(template: &str, context: &str, query: &str) -> String {
    let mut out = if template.contains("{{context}}") {
        template.replace("{{context}}", context)
    } else {
        format!("{template}\n\nContext:\n{context}")
    };
    out = if out.contains("{{query}}") {
        out.replace("{{query}}", query)
    } else {
        format!("{out}\n\nQuestion:\n{query}")
    };
    out
}

/// Retrieves context for `query`; `vector` is its embedding by the index's
/// embedder when the caller has it. `Ok(None)`: nothing above the threshold.
pub async fn retrieve(
    engine: &Engine,
    cfg: &ProxyConfig,
    query: &str,
    vector: Option<Vec<f32>>,
) -> Result<Option<Context>, ProxyError> {
    let text = (cfg.rag_use_hybrid || vector.is_none()).then(|| query.to_owned());
    let hits = engine
        .query(&SearchQuery {
            index_name: cfg.rag_index.clone(),
            k: cfg.rag_top_k,
            query_vector: vector,
            query_text: text,
            alpha: Some(if cfg.rag_use_hybrid {
                cfg.rag_hybrid_alpha
            } else {
                1.0
            }),
            ef_search: Some(cfg.rag_ef_search),
            ..SearchQuery::default()
        })
        .await?;
    let kept: Vec<_> = hits
        .into_iter()
        .filter(|h| h.score >= cfg.rag_threshold)
        .collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = kept.iter().map(|h| h.id.clone()).collect();
    // Neighbours: prev/next for the text around a chunk, parent for its name.
    let (mut prev, mut next, mut parent) = (HashMap::new(), HashMap::new(), HashMap::new());
    if cfg.rag_use_graph {
        let rels = vec!["prev".to_owned(), "next".to_owned(), "parent".to_owned()];
        for (node, _, rel, e) in engine
            .neighbors(ids.clone(), rels, vec![Side::Out], i64::MAX)
            .await?
        {
            let slot = match rel.as_str() {
                "prev" => &mut prev,
                "next" => &mut next,
                _ => &mut parent,
            };
            slot.entry(node).or_insert(e.other);
        }
    }
    let mut wanted: Vec<String> = ids.clone();
    wanted.extend(prev.values().cloned());
    wanted.extend(next.values().cloned());
    wanted.extend(parent.values().cloned());
    wanted.sort();
    wanted.dedup();
    let items = engine.get_many(&cfg.rag_index, wanted).await?;
    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    let text_of = |id: Option<&String>| {
        id.and_then(|i| by_id.get(i.as_str()))
            .and_then(|i| item_text(&i.metadata))
            .unwrap_or("")
            .to_owned()
    };
    let mut context = String::new();
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for id in &ids {
        let Some(chunk) = by_id.get(id.as_str()) else {
            continue;
        };
        let Some(main) = item_text(&chunk.metadata) else {
            continue;
        };
        let parent_id = parent.get(id).cloned().or_else(|| {
            chunk
                .metadata
                .get("parent_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let name = name_of(
            chunk,
            parent_id
                .as_ref()
                .and_then(|p| by_id.get(p.as_str()).copied()),
        );
        if !seen.insert((name.clone(), main.to_owned())) {
            continue;
        }
        let body = [
            text_of(prev.get(id)),
            main.to_owned(),
            text_of(next.get(id)),
        ]
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        let body = body.replace("](/assets/", &format!("]({}/assets/", cfg.asset_base_url));
        let block = format!("--- Source Document: {name} ---\n{body}\n\n");
        if context.chars().count() + block.chars().count() > PROXY_RAG_CONTEXT_CHARS_MAX {
            break;
        }
        context.push_str(&block);
        sources.push(id.clone());
        if let Some(p) = parent_id {
            if !sources.contains(&p) {
                sources.push(p);
            }
        }
    }
    if context.is_empty() {
        return Ok(None);
    }
    Ok(Some(Context {
        prompt: fill(&cfg.rag_system_prompt, context.trim_end(), query),
        sources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_filled() {
        assert_eq!(fill("C:{{context}} Q:{{query}}", "x", "y"), "C:x Q:y");
        let f = fill("Be brief.", "x", "y");
        assert!(
            f.contains("Context:\nx") && f.contains("Question:\ny"),
            "{f}"
        );
    }
}
