//! What every request handler can reach (the bottom of the `http` module graph:
//! handlers, routes and the server use it; it uses none of them).

use std::sync::Arc;

use super::limits::HttpLimits;
use super::metrics::Metrics;
use crate::engine::Engine;

/// What every request handler can reach.
pub struct State {
    pub engine: Engine,
    pub token: Option<String>,
    pub limits: HttpLimits,
    pub metrics: Arc<Metrics>,
    /// The RAG pipelines, when -vectorizers-config gave any.
    pub rag: Option<Arc<crate::rag::Rag>>,
    /// API keys (checked only when a root token is set).
    pub keys: Arc<crate::auth::Keys>,
    /// The AI proxy's counters, when it runs (`GET /system/proxy`).
    pub proxy: Option<Arc<crate::proxy::metrics::Metrics>>,
    /// Set once every front end is up; `/readyz` answers 503 before.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}
