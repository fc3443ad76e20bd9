//! The edge layer: the only place that waits on the outside world. Outbound HTTP
//! (embedders, LLMs, the proxy's upstream) runs on a small tokio runtime
//! ([`Edge::spawn`], [`client::HttpClient`]); CPU-heavy work (local model
//! inference) runs on a bounded pool of plain threads ([`cpu::CpuPool`]). Neither
//! ever runs on a shard executor: the shards are pinned to their cores and answer
//! searches; these threads are not pinned, and every queue here has a bound and
//! every wait a timeout.
//!
//! Who may use it: the front ends that need it (the proxy, the RAG pipeline, the
//! MCP server's embedder). The engine and the HTTP API on the shard executors
//! never import it; `tests/architecture.rs` checks that, and that nothing else in
//! the crate opens outbound connections.

pub mod client;
pub mod cpu;
pub mod error;

use std::future::Future;
use std::sync::Arc;

pub use client::HttpClient;
pub use cpu::CpuPool;
pub use error::EdgeError;

/// Threads and queue sizes of the edge layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeOptions {
    /// tokio worker threads for outbound I/O and the proxy's listener.
    pub io_threads: usize,
    /// Threads for CPU-heavy jobs (model inference).
    pub cpu_threads: usize,
    /// CPU jobs waiting at most; more are refused with [`EdgeError::Busy`].
    pub cpu_queue_max: usize,
}

impl Default for EdgeOptions {
    fn default() -> Self {
        EdgeOptions {
            io_threads: 2,
            cpu_threads: 1,
            cpu_queue_max: crate::limits::EDGE_CPU_QUEUE_MAX,
        }
    }
}

/// A handle to the edge runtime and pool; cheap to clone.
#[derive(Clone)]
pub struct Edge {
    rt: Arc<tokio::runtime::Runtime>,
    cpu: CpuPool,
}

impl Edge {
    pub fn start(options: EdgeOptions) -> Result<Edge, EdgeError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.io_threads.max(1))
            .thread_name("edge-io")
            .enable_all()
            .build()
            .map_err(|e| EdgeError::Start(e.to_string()))?;
        let cpu = CpuPool::start(options.cpu_threads.max(1), options.cpu_queue_max)?;
        Ok(Edge {
            rt: Arc::new(rt),
            cpu,
        })
    }

    /// Runs `fut` on the edge runtime; the handle resolves to its output (awaitable
    /// from any executor or thread).
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(fut)
    }

    /// Blocks the calling (plain) thread on `fut` run by the edge runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// The pool for CPU-heavy jobs.
    pub fn cpu(&self) -> &CpuPool {
        &self.cpu
    }

    /// The runtime handle, for clients and servers that run on it.
    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }
}
