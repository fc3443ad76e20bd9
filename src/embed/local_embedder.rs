//! The `local` embedder as a service: texts are cut into batches of
//! [`EMBED_BATCH_MAX`], each batch is tokenized on the CPU pool, split into as
//! many parts of equal work as the pool has threads ([`local::balance`]), and the
//! parts run side by side on the pool. A batch of one text (a query) runs as one
//! job whose matrix products are split over the pool's threads instead. Every job waits in the pool's bounded
//! queue (full: [`EdgeError::Busy`]) and is awaited with the configured timeout.

use std::sync::Arc;
use std::time::Duration;

use super::error::EmbedError;
use super::local::{self, LocalModel, Threads};
use crate::edge::{Edge, EdgeError};
use crate::engine::{EmbedFuture, EmbedPurpose, TextEmbedder};
use crate::limits::EMBED_BATCH_MAX;

pub struct LocalEmbedder {
    model: Arc<LocalModel>,
    edge: Edge,
    parts: usize,
    timeout: Duration,
}

impl LocalEmbedder {
    /// `parts`: how many pool threads one batch is spread over.
    pub fn new(model: Arc<LocalModel>, edge: Edge, parts: usize, timeout: Duration) -> Self {
        LocalEmbedder {
            model,
            edge,
            parts: parts.max(1),
            timeout,
        }
    }

    async fn run(
        model: Arc<LocalModel>,
        edge: Edge,
        parts: usize,
        timeout: Duration,
        texts: Vec<String>,
        purpose: EmbedPurpose,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        super::check_lengths(&texts)?;
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH_MAX) {
            let (m, batch) = (model.clone(), batch.to_vec());
            let seqs = edge
                .cpu()
                .run("the embedder's tokenizer", timeout, move || {
                    batch
                        .iter()
                        .map(|t| m.tokens(t, purpose))
                        .collect::<Vec<_>>()
                })
                .await?;
            let seqs = Arc::new(seqs);
            let split: Vec<Vec<usize>> = local::balance(&seqs, parts)
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
            // One text alone (a query) cannot be split by rows: its matrix
            // products are split over the pool's threads instead.
            let wide = split.len() == 1 && parts > 1;
            let mut jobs = Vec::with_capacity(split.len());
            for rows in split.clone() {
                let (m, seqs, pool) = (model.clone(), seqs.clone(), edge.cpu().clone());
                jobs.push(tokio::spawn(async move {
                    let inner = pool.clone();
                    pool.run("the local embedder", timeout, move || {
                        let part: Vec<Vec<u32>> = rows.iter().map(|r| seqs[*r].clone()).collect();
                        if wide {
                            inner.wide(|| m.embed_tokens_on(&part, Threads(parts)))
                        } else {
                            m.embed_tokens(&part)
                        }
                    })
                    .await
                }));
            }
            let mut rows: Vec<Option<Vec<f32>>> = vec![None; seqs.len()];
            for (job, ids) in jobs.into_iter().zip(&split) {
                let vectors = job.await.map_err(|e| EdgeError::Job(e.to_string()))??;
                for (id, v) in ids.iter().zip(vectors) {
                    rows[*id] = Some(v);
                }
            }
            out.extend(rows.into_iter().map(Option::unwrap_or_default));
        }
        Ok(out)
    }
}

impl TextEmbedder for LocalEmbedder {
    fn name(&self) -> String {
        format!("local:{}", self.model.name())
    }

    fn dim(&self) -> Option<usize> {
        Some(self.model.dim())
    }

    fn embed(&self, texts: Vec<String>, purpose: EmbedPurpose) -> EmbedFuture {
        let job = Self::run(
            self.model.clone(),
            self.edge.clone(),
            self.parts,
            self.timeout,
            texts,
            purpose,
        );
        super::on_edge(&self.edge, job)
    }
}
