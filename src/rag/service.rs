//! The RAG pipelines of a server, by name (upstream looked them up by position
//! in the config list, so a skipped entry shifted every name after it): starts
//! one worker thread per vectorizer, registers its embedder as its index's
//! embedder, and answers status, trigger and retrieve.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::config::Vectorizer;
use super::error::RagError;
use super::pipeline::{Pipeline, Triggered, STOP_WAIT};
use super::status::Status;
use crate::edge::Edge;
use crate::embed::Embedders;
use crate::engine::Engine;

pub struct Rag {
    pub(super) engine: Engine,
    pub(super) pipelines: BTreeMap<String, Arc<Pipeline>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Rag {
    /// Builds every pipeline's embedder (a failure names the vectorizer) and
    /// starts the workers. A vectorizer without an `embedder:` block uses the
    /// built-in model when it is installed, else the server's embedder.
    pub fn start(
        engine: &Engine,
        edge: &Edge,
        embedders: &Embedders,
        vectorizers: Vec<Vectorizer>,
    ) -> Result<Rag, RagError> {
        let mut pipelines = BTreeMap::new();
        for v in vectorizers {
            let built = embedders
                .build(&v.embedder)
                .map_err(|e| RagError::Config(format!("vectorizer '{}': embedder: {e}", v.name)))?;
            let e = match built.or_else(|| engine.embedder_for(&v.index)) {
                Some(e) => e,
                None => {
                    return Err(RagError::Config(format!(
                        "vectorizer '{}': no embedder (install the built-in model with deploy/fetch-models.sh, or give an embedder: block)",
                        v.name
                    )))
                }
            };
            engine.set_index_embedder(&v.index, e.clone());
            let p = Pipeline::new(v, e.name(), edge)?;
            pipelines.insert(p.v.name.clone(), Arc::new(p));
        }
        let mut threads = Vec::new();
        for p in pipelines.values() {
            let (p, engine, edge) = (p.clone(), engine.clone(), edge.clone());
            let t = std::thread::Builder::new()
                .name(format!("rag-{}", p.v.name))
                .spawn(move || p.run(engine, edge))
                .map_err(|e| RagError::Config(format!("cannot start a pipeline thread: {e}")))?;
            threads.push(t);
        }
        Ok(Rag {
            engine: engine.clone(),
            pipelines,
            threads: Mutex::new(threads),
        })
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.pipelines.values().map(|p| p.status()).collect()
    }

    pub fn pipeline(&self, name: &str) -> Result<&Arc<Pipeline>, RagError> {
        self.pipelines
            .get(name)
            .ok_or_else(|| RagError::NoPipeline(name.to_owned()))
    }

    pub fn trigger(&self, name: &str) -> Result<Triggered, RagError> {
        Ok(self.pipeline(name)?.trigger())
    }

    /// Stops every worker (a scan stops between files) and waits for them.
    pub fn stop(&self) {
        for p in self.pipelines.values() {
            p.stop();
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        // A scan stops between files; a file being embedded is waited for, within a
        // bound (what it wrote is durable; its state is rewritten by the next scan).
        let until = std::time::Instant::now() + STOP_WAIT;
        while threads.iter().any(|t| !t.is_finished()) && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for t in threads.into_iter().filter(|t| t.is_finished()) {
            let _ = t.join();
        }
    }
}
