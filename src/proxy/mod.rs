//! The AI proxy (`-enable-proxy`, `-proxy-config proxy.yaml`, port 9092): an
//! OpenAI- and Ollama-compatible gateway between an application and its LLM. It
//! inspects `POST /v1/chat/completions`, `/v1/completions`, `/api/chat` and
//! `/api/generate` — firewall (deny list and known bad prompts), semantic cache,
//! RAG injection — and passes every other path and method through untouched;
//! answers stream back frame by frame as they arrive (SSE and NDJSON).
//!
//! A front end on the engine API like HTTP and RAG, but everything here runs on
//! the edge runtime: the listener (`server.rs`, hyper), the upstream calls (the
//! edge's streaming client, `forward.rs`), the embeddings (the edge's CPU pool or
//! its client). Nothing waits on a shard executor.
//!
//! Files: `config.rs` (proxy.yaml), `handler.rs` (the request flow), `wire.rs`
//! (the four APIs' shapes), `firewall.rs`, `cache.rs`, `rag.rs`, `forward.rs`,
//! `body.rs` (streamed, replayed and copied bodies), `metrics.rs` (`/metrics`),
//! `error.rs` (errors and their one mapping to replies).

pub mod body;
pub mod cache;
pub mod config;
pub mod error;
pub mod firewall;
pub mod forward;
pub mod handler;
pub mod metrics;
pub mod rag;
pub mod refine;
pub mod server;
pub mod wire;

use std::sync::Arc;

pub use config::ProxyConfig;
pub use error::ProxyError;

use crate::edge::client::ClientOptions;
use crate::edge::Edge;
use crate::embed::Embedders;
use crate::Engine;
use kektordb_shards::index::IndexSpec;

/// A running proxy.
pub struct Proxy {
    listener: server::Listener,
    stop: tokio::sync::watch::Sender<bool>,
    metrics: Arc<metrics::Metrics>,
    cache: Option<Arc<cache::Cache>>,
}

impl Proxy {
    /// Starts the proxy on the edge runtime: the dedicated embedder (when
    /// proxy.yaml names one), the firewall and cache indexes, the listener, the
    /// cache's TTL sweeper. Call from a plain thread (it waits on the edge).
    pub fn start(
        engine: &Engine,
        edge: &Edge,
        embedders: &Embedders,
        cfg: ProxyConfig,
        admin: Option<handler::AdminAuth>,
    ) -> Result<Proxy, ProxyError> {
        if let Some(ec) = &cfg.embedder {
            match embedders.build(ec) {
                Ok(Some(e)) => {
                    engine.set_index_embedder(&cfg.firewall_index, e.clone());
                    engine.set_index_embedder(&cfg.cache_index, e);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(ProxyError::Config(format!(
                        "embedder_type {}: {e}",
                        ec.kind
                    )))
                }
            }
        }
        let metrics = Arc::new(metrics::Metrics::default());
        let firewall = if cfg.firewall_enabled {
            let f = firewall::Firewall::new(
                &cfg.deny_list,
                &cfg.firewall_index,
                cfg.firewall_threshold,
            )?;
            // A cosine index for the guard prompts, when it is missing.
            edge.block_on(engine.ensure_index(IndexSpec {
                index_name: cfg.firewall_index.clone(),
                metric: "cosine".into(),
                m: 16,
                ef_construction: 200,
                ..IndexSpec::default()
            }))?;
            Some(f)
        } else {
            None
        };
        let cache = if cfg.cache_enabled {
            Some(Arc::new(edge.block_on(cache::Cache::open(
                engine,
                &cfg,
                metrics.clone(),
            ))?))
        } else {
            None
        };
        for (on, what, index) in [
            (
                cfg.firewall_enabled,
                "the semantic firewall",
                &cfg.firewall_index,
            ),
            (
                cfg.cache_enabled,
                "the semantic cache (exact matches still hit)",
                &cfg.cache_index,
            ),
            (
                cfg.rag_enabled,
                "RAG injection (BM25 only if the index has text search)",
                &cfg.rag_index,
            ),
        ] {
            if on && engine.embedder_for(index).is_none() {
                eprintln!(
                    "kektordb: proxy: warning: no embedder for index '{index}': {what} is off"
                );
            }
        }
        let client = edge
            .http_client(ClientOptions {
                connect_timeout: cfg.upstream_connect_timeout,
                timeout: cfg.upstream_timeout,
                response_bytes_max: usize::MAX,
                in_flight_max: cfg.max_upstream_connections,
                body_idle_timeout: Some(cfg.upstream_timeout),
            })
            .map_err(|e| ProxyError::Start(e.to_string()))?;
        let model = |llm: &Option<crate::rag::config::LlmYaml>| -> Result<_, ProxyError> {
            llm.as_ref()
                .filter(|_| cfg.rag_enabled)
                .map(|l| crate::llm::ChatModel::new(edge, l, cfg.upstream_timeout))
                .transpose()
                .map_err(ProxyError::Config)
        };
        let (rewriter, hyde) = (model(&cfg.rewriter)?, model(&cfg.hyde)?);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        if let Some(c) = &cache {
            edge.spawn(c.clone().sweeper(cfg.cache_vacuum_interval, stopped));
        }
        let addr = cfg.addr.clone();
        let mut handler = handler::Handler::new(
            engine.clone(),
            cfg,
            client,
            firewall,
            cache.clone(),
            metrics.clone(),
            refine::Refiners { rewriter, hyde },
        );
        handler.admin = admin;
        let handler = Arc::new(handler);
        let listener = server::listen(edge, &addr, handler)?;
        Ok(Proxy {
            listener,
            stop,
            metrics,
            cache,
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.listener.addr()
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    /// The counters, shared (the dashboard shows them through the HTTP API).
    pub fn metrics_handle(&self) -> Arc<metrics::Metrics> {
        self.metrics.clone()
    }

    /// Cache entries held (0 without a cache).
    pub fn cache_len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }

    /// Stops accepting, lets requests in flight finish (bounded), stops the
    /// sweeper.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        self.listener.shutdown();
    }
}
