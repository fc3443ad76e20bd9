//! What the RAG stage searches with, before retrieval: query rewriting (CQR) of
//! a multi-turn chat into a standalone question with `fast_llm` (else `llm`), and
//! grounded HyDe with `llm` (a hypothetical answer written from the top snippets
//! of the index, embedded instead of the question). Both are best effort: a
//! failed call is logged and counted by the caller, and retrieval goes on with
//! the question as it was (the "safety net").

use serde_json::{Map, Value};

use super::error::ProxyError;
use super::ProxyConfig;
use crate::engine::{item_text, SearchQuery};
use crate::llm::ChatModel;
use crate::Engine;

pub const DEFAULT_REWRITER_PROMPT: &str = "You are a query rewriting engine. Given a conversation, rewrite the LAST user message as a standalone question that can be understood without the conversation. If it is already standalone, return it exactly. DO NOT answer it. Keep the user's language. Reply with the question only.";

pub const DEFAULT_HYDE_PROMPT: &str = "Write a short passage, as a document would, that answers the user's question using only the context below.\n\nContext:\n{{context}}";

/// The models of the two refinements (each absent when not configured).
pub struct Refiners {
    pub rewriter: Option<ChatModel>,
    pub hyde: Option<ChatModel>,
}

/// Snippets HyDe shows the model, and bytes of each.
const HYDE_SNIPPETS: usize = 20;
const SNIPPET_BYTES: usize = 1000;
/// Messages of the conversation the rewriter sees.
const CQR_MESSAGES: usize = 4;

/// The chat's last messages as `User: ...` / `Assistant: ...` lines, when it has
/// more than one message (a single message is standalone already).
pub fn transcript(body: &Map<String, Value>) -> Option<String> {
    let msgs = body.get("messages")?.as_array()?;
    if msgs.len() <= 1 {
        return None;
    }
    let lines: Vec<String> = msgs[msgs.len().saturating_sub(CQR_MESSAGES)..]
        .iter()
        .filter_map(|m| {
            let text = match m.get("content")? {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => return None,
            };
            let who = if m.get("role").and_then(Value::as_str) == Some("assistant") {
                "Assistant"
            } else {
                "User"
            };
            Some(format!("{who}: {text}"))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The standalone question, or why there is none.
pub async fn rewrite(model: &ChatModel, prompt: &str, transcript: &str) -> Result<String, String> {
    let q = model.complete(prompt, transcript).await?;
    let q = q.trim().trim_matches('"').trim();
    if q.is_empty() {
        return Err("the rewriter answered nothing".into());
    }
    Ok(q.chars().take(4_000).collect())
}

/// Grounded HyDe's hypothetical answer: `None` when the index has nothing to
/// ground it on (a hypothesis from nothing would drift).
pub async fn hypothesis(
    engine: &Engine,
    cfg: &ProxyConfig,
    model: &ChatModel,
    query: &str,
    vector: Vec<f32>,
) -> Result<Option<String>, ProxyError> {
    let hits = engine
        .query(&SearchQuery {
            index_name: cfg.rag_index.clone(),
            k: HYDE_SNIPPETS,
            query_vector: Some(vector),
            ef_search: Some(cfg.rag_ef_search),
            ..SearchQuery::default()
        })
        .await?;
    let items = engine
        .get_many(&cfg.rag_index, hits.iter().map(|h| h.id.clone()).collect())
        .await?;
    let snippets: Vec<String> = items
        .iter()
        .filter_map(|it| item_text(&it.metadata))
        .map(|t| {
            let mut cut = SNIPPET_BYTES.min(t.len());
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            let more = if cut < t.len() { "…" } else { "" };
            format!("- {}{more}", t[..cut].replace('\n', " "))
        })
        .collect();
    if snippets.is_empty() {
        return Ok(None);
    }
    let context = snippets.join("\n");
    let system = if cfg.rag_grounded_hyde_prompt.contains("{{context}}") {
        cfg.rag_grounded_hyde_prompt
            .replace("{{context}}", &context)
    } else {
        format!("{}\n\nContext:\n{context}", cfg.rag_grounded_hyde_prompt)
    };
    let text = model
        .complete(&system, query)
        .await
        .map_err(ProxyError::Upstream)?;
    Ok(Some(text).filter(|t| !t.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transcripts_of_multi_turn_chats_only() {
        let one = json!({"messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(transcript(one.as_object().unwrap()), None);
        let many = json!({"messages": [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "tell me about tomatoes"},
            {"role": "assistant", "content": "they are red"},
            {"role": "user", "content": [{"type": "text", "text": "how do I water"}, {"type": "text", "text": "them?"}]},
            {"role": "user", "content": "daily?"},
        ]});
        assert_eq!(
            transcript(many.as_object().unwrap()).unwrap(),
            "User: tell me about tomatoes\nAssistant: they are red\nUser: how do I water them?\nUser: daily?"
        );
    }
}
