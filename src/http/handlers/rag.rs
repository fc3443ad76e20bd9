//! RAG routes: `POST /rag/retrieve`, `GET /system/vectorizers`,
//! `POST /system/vectorizers/{name}/trigger` (decode, call the RAG service, encode).

use serde_json::json;

use super::body;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;
use crate::rag::{Rag, RagError, RetrieveRequest, Triggered};

fn rag(state: &State) -> Result<&Rag, ApiError> {
    state
        .rag
        .as_deref()
        .ok_or(ApiError::Rag(RagError::NotActive))
}

pub async fn retrieve(state: &State, b: &[u8]) -> Result<Response, ApiError> {
    let req: RetrieveRequest = body(b)?;
    let answer = rag(state)?.retrieve(req).await?;
    Ok(Response::ok(
        serde_json::to_value(answer).unwrap_or_default(),
    ))
}

/// Every pipeline's status; `[]` when none are configured (as upstream).
pub fn vectorizers(state: &State) -> Result<Response, ApiError> {
    let list = state.rag.as_deref().map(Rag::statuses).unwrap_or_default();
    Ok(Response::ok(serde_json::to_value(list).unwrap_or_default()))
}

pub fn trigger(state: &State, name: &str) -> Result<Response, ApiError> {
    let message = match rag(state)?.trigger(name)? {
        Triggered::Started => format!("Synchronization for vectorizer '{name}' triggered."),
        Triggered::Queued => format!(
            "Synchronization for vectorizer '{name}' queued: it runs when the current one ends."
        ),
    };
    Ok(Response::ok(json!({"status": "OK", "message": message})))
}

/// Prometheus lines of every pipeline (appended to `/metrics`).
pub fn metrics(state: &State) -> String {
    use std::fmt::Write;
    let Some(rag) = state.rag.as_deref() else {
        return String::new();
    };
    let mut out = String::new();
    type Row = (&'static str, &'static str, fn(&crate::rag::Status) -> f64);
    let rows: [Row; 8] = [
        ("kektordb_rag_files_seen", "gauge", |s| s.files_seen as f64),
        ("kektordb_rag_files_indexed", "gauge", |s| {
            s.files_indexed as f64
        }),
        ("kektordb_rag_files_failed", "gauge", |s| {
            s.files_failed as f64
        }),
        ("kektordb_rag_chunks", "gauge", |s| s.chunks as f64),
        ("kektordb_rag_runs_total", "counter", |s| s.runs as f64),
        ("kektordb_rag_chunks_embedded_total", "counter", |s| {
            s.chunks_embedded_total as f64
        }),
        ("kektordb_rag_embed_seconds_total", "counter", |s| {
            s.embed_ms_total as f64 / 1e3
        }),
        ("kektordb_rag_running", "gauge", |s| {
            f64::from(u8::from(s.is_running))
        }),
    ];
    let statuses = rag.statuses();
    for (name, kind, f) in rows {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in &statuses {
            let _ = writeln!(
                out,
                "{name}{{pipeline=\"{}\"}} {}",
                s.name.replace('"', "'"),
                f(s)
            );
        }
    }
    out
}
