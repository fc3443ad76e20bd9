//! Remote embedders through the edge's HTTP client: Ollama (`/api/embed` for
//! batches, `/api/embeddings` one text at a time, used when the batch route is
//! missing) and any OpenAI-compatible `/v1/embeddings` (Bearer key). Texts go in
//! batches of [`EMBED_BATCH_MAX`]; a call that failed for a passing reason
//! (timeout, connection refused, 429, 5xx) is retried [`EMBED_ATTEMPTS_MAX`]
//! times with doubling backoff; anything else fails at once.

use std::future::Future;

use serde_json::{json, Value};

use super::error::EmbedError;
use crate::edge::{Edge, EdgeError, HttpClient};
use crate::engine::{EmbedFuture, EmbedPurpose, TextEmbedder};
use crate::limits::{EMBED_ATTEMPTS_MAX, EMBED_BACKOFF, EMBED_BATCH_MAX};

/// The wire protocol of a remote embedder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Ollama,
    OpenAi,
}

pub struct RemoteEmbedder {
    protocol: Protocol,
    client: HttpClient,
    edge: Edge,
    url: String,
    model: String,
    api_key: Option<String>,
}

fn retryable(e: &EdgeError) -> bool {
    match e {
        EdgeError::Timeout { .. } | EdgeError::Connect { .. } => true,
        EdgeError::Status { status, .. } => *status == 429 || *status >= 500,
        _ => false,
    }
}

/// Runs `call` until it succeeds, fails for good, or used its attempts.
async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, EdgeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, EdgeError>>,
{
    let mut wait = EMBED_BACKOFF;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < EMBED_ATTEMPTS_MAX && retryable(&e) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A JSON array of numbers as a vector.
fn vector(v: &Value) -> Option<Vec<f32>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect()
}

/// Reads `{"embeddings": [[...]]}` (Ollama) or `{"data": [{"embedding", "index"}]}`
/// (OpenAI, ordered by `index`).
fn parse_batch(url: &str, answer: &Value, n: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let bad = |reason: &str| EmbedError::BadAnswer {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let out: Vec<Vec<f32>> = if let Some(rows) = answer.get("embeddings").and_then(Value::as_array)
    {
        rows.iter()
            .map(vector)
            .collect::<Option<_>>()
            .ok_or_else(|| bad("an embedding is not an array of numbers"))?
    } else if let Some(rows) = answer.get("data").and_then(Value::as_array) {
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; rows.len()];
        for (pos, row) in rows.iter().enumerate() {
            let at = row
                .get("index")
                .and_then(Value::as_u64)
                .map_or(pos, |i| i as usize);
            let v = row
                .get("embedding")
                .and_then(vector)
                .ok_or_else(|| bad("data[].embedding is not an array of numbers"))?;
            let slot = slots
                .get_mut(at)
                .ok_or_else(|| bad("data[].index is out of range"))?;
            *slot = Some(v);
        }
        slots
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| bad("data[].index repeats"))?
    } else {
        return Err(bad("no 'embeddings' or 'data' array"));
    };
    if out.len() != n {
        return Err(bad(&format!("{} embeddings for {n} texts", out.len())));
    }
    Ok(out)
}

impl RemoteEmbedder {
    pub fn new(
        protocol: Protocol,
        edge: Edge,
        client: HttpClient,
        url: String,
        model: String,
        api_key: Option<String>,
    ) -> Self {
        RemoteEmbedder {
            protocol,
            client,
            edge,
            url,
            model,
            api_key,
        }
    }

    async fn run(
        protocol: Protocol,
        client: HttpClient,
        url: String,
        model: String,
        key: Option<String>,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        super::check_lengths(&texts)?;
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH_MAX) {
            match protocol {
                Protocol::OpenAi => {
                    let body = json!({"model": model, "input": batch});
                    let answer =
                        with_retries(|| client.post_json(&url, &body, key.as_deref())).await?;
                    out.extend(parse_batch(&url, &answer, batch.len())?);
                }
                Protocol::Ollama => out.extend(
                    Self::ollama_batch(&client, &url, &model, key.as_deref(), batch).await?,
                ),
            }
        }
        Ok(out)
    }

    /// Ollama: the batch route first (`/api/embed`); if it is missing (404, an
    /// older server), one `/api/embeddings` call per text.
    async fn ollama_batch(
        client: &HttpClient,
        url: &str,
        model: &str,
        key: Option<&str>,
        batch: &[String],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (single, multi) = if let Some(base) = url.strip_suffix("/api/embed") {
            (format!("{base}/api/embeddings"), url.to_owned())
        } else {
            (url.to_owned(), url.replace("/api/embeddings", "/api/embed"))
        };
        let body = json!({"model": model, "input": batch});
        match with_retries(|| client.post_json(&multi, &body, key)).await {
            Ok(answer) => return parse_batch(&multi, &answer, batch.len()),
            Err(EdgeError::Status {
                status: 404 | 405, ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        let mut out = Vec::with_capacity(batch.len());
        for text in batch {
            let body = json!({"model": model, "prompt": text});
            let answer = with_retries(|| client.post_json(&single, &body, key)).await?;
            let v =
                answer
                    .get("embedding")
                    .and_then(vector)
                    .ok_or_else(|| EmbedError::BadAnswer {
                        url: single.clone(),
                        reason: "no 'embedding' array of numbers".into(),
                    })?;
            out.push(v);
        }
        Ok(out)
    }
}

impl TextEmbedder for RemoteEmbedder {
    fn name(&self) -> String {
        let kind = match self.protocol {
            Protocol::Ollama => "ollama_api",
            Protocol::OpenAi => "openai_compatible",
        };
        format!("{kind}:{}", self.model)
    }

    fn dim(&self) -> Option<usize> {
        None
    }

    fn embed(&self, texts: Vec<String>, _purpose: EmbedPurpose) -> EmbedFuture {
        let job = Self::run(
            self.protocol,
            self.client.clone(),
            self.url.clone(),
            self.model.clone(),
            self.api_key.clone(),
            texts,
        );
        super::on_edge(&self.edge, job)
    }
}
