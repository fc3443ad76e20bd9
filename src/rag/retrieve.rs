//! `POST /rag/retrieve`: a pipeline's index searched with the pipeline's
//! embedder (hybrid with BM25, alpha 0.5, as upstream), the chunks' texts back;
//! with `include_provenance`, where each came from and its real score (upstream
//! gave a rank-based "relevance" of 1.0 - 0.1 * rank).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::RagError;
use super::service::Rag;
use crate::engine::SearchQuery;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RetrieveRequest {
    #[serde(default)]
    pub pipeline_name: String,
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub include_provenance: bool,
    #[serde(default)]
    pub compress_context: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct GraphPath {
    pub nodes: Vec<String>,
    pub edges: Vec<String>,
    pub formatted: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Source {
    pub chunk_id: String,
    pub document_id: String,
    pub source_file: String,
    pub filename: String,
    pub chunk_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u64>,
    pub content: String,
    /// The search's score (higher is better): fused vector + BM25.
    pub relevance: f32,
    /// Cosine (or the index's metric) distance of the vector part, when scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_distance: Option<f32>,
    pub graph_depth: u32,
    pub graph_path: GraphPath,
    /// The chunk was read back from the index just now.
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum RetrieveAnswer {
    Plain {
        results: Vec<String>,
    },
    Provenance {
        results: Vec<String>,
        response: String,
        sources: Vec<Source>,
        confidence: f32,
        total_tokens: usize,
        provenance: bool,
    },
}

impl Rag {
    pub async fn retrieve(&self, req: RetrieveRequest) -> Result<RetrieveAnswer, RagError> {
        if req.pipeline_name.is_empty() || req.query.trim().is_empty() {
            return Err(RagError::BadRequest(
                "pipeline_name and query are required".into(),
            ));
        }
        if req.compress_context {
            return Err(RagError::BadRequest(
                "compress_context is not available in this build".into(),
            ));
        }
        let p = self.pipeline(&req.pipeline_name)?;
        let k = req.k.unwrap_or(3);
        let q = SearchQuery {
            index_name: p.v.index.clone(),
            k,
            query_text: Some(req.query.clone()),
            alpha: Some(0.5),
            ..SearchQuery::default()
        };
        let hits = self.engine.query(&q).await?;
        let items = self
            .engine
            .get_many(&p.v.index, hits.iter().map(|h| h.id.clone()).collect())
            .await?;
        let by_id: std::collections::HashMap<&str, &crate::Item> =
            items.iter().map(|i| (i.id.as_str(), i)).collect();
        let mut results = Vec::new();
        let mut sources = Vec::new();
        for h in &hits {
            let Some(item) = by_id.get(h.id.as_str()) else {
                continue;
            };
            let m = &item.metadata;
            let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let text = crate::engine::item_text(m).unwrap_or("").to_owned();
            results.push(text.clone());
            sources.push(Source {
                chunk_id: h.id.clone(),
                document_id: s("parent_id"),
                source_file: s("source"),
                filename: s("filename"),
                chunk_index: m.get("chunk_index").and_then(Value::as_u64).unwrap_or(0),
                page_number: m.get("page_number").and_then(Value::as_u64),
                content: text,
                relevance: h.score,
                vector_distance: h.distance,
                graph_depth: 0,
                graph_path: GraphPath {
                    nodes: vec![h.id.clone()],
                    edges: Vec::new(),
                    formatted: h.id.clone(),
                },
                verified: true,
            });
        }
        if !req.include_provenance {
            return Ok(RetrieveAnswer::Plain { results });
        }
        let confidence = if sources.is_empty() {
            0.0
        } else {
            sources.iter().map(|s| s.relevance).sum::<f32>() / sources.len() as f32
        };
        let response = results.join("\n\n---\n\n");
        Ok(RetrieveAnswer::Provenance {
            total_tokens: response.chars().count() / 4,
            response,
            results,
            sources,
            confidence,
            provenance: true,
        })
    }
}
