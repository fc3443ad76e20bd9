//! The engine: shard executors plus the router, and the one typed API every front
//! end calls (HTTP, MCP, the proxy, the RAG pipeline, the dashboard through HTTP).
//! `Engine::open` starts one glommio executor per shard; every index is
//! hash-partitioned by id across them and each executor exclusively owns its part.
//! The router (this type, callable from any thread or executor) validates against
//! the catalog, sends owned jobs — one per shard per request, never one per item —
//! and merges the answers.
//!
//! The API, by file: `indexes.rs` (create from a spec, drop, list, info, config,
//! maintenance and auto-link settings), `items.rs` (add, import, get, delete,
//! reinforce), `export.rs` (pages of items in storage order, filtered or not, for
//! browsing), `search.rs` (`SearchQuery`: vector, text, hybrid, filters, graph
//! filter, relation expansion), `kv.rs`, `graph.rs` (link, unlink, edges, node
//! properties, search-nodes), `walk.rs` (subgraph, traverse, find-path, reachable),
//! `maintenance.rs` (compress, vacuum, refine, snapshots; as tasks), `tasks.rs`
//! (the task registry), `scheduler.rs` (background maintenance), `graph_upkeep.rs`
//! (graph retention, edge self-repair). Requests are plain Rust types (with serde
//! `Deserialize` in upstream's field names where a front end decodes them), errors
//! are `EngineError`. Nothing here waits on the outside world: no outbound
//! connection, no model inference (that is the edge layer's, `crate::edge`).
//!
//! With a data directory every shard keeps an append-only log (`shard-N/aof.G.log`);
//! a write is acknowledged only after the commit that covers it (see
//! `shard_loop.rs`), and `open` replays the logs.
//!
//! All methods are async; from plain threads use `futures_lite::future::block_on`.

mod commit;
mod dir_lock;
mod embedding;
mod error;
mod executors;
mod export;
mod files;
mod graph;
mod graph_upkeep;
mod indexes;
mod items;
mod kv;
pub mod lent_threads;
mod mailbox;
mod maintenance;
mod manifest;
mod oneshot;
mod queue;
mod recover;
mod scheduler;
mod search;
mod sessions;
mod shard_loop;
mod state;
mod sync;
mod tasks;
mod walk;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use kektordb_shards::durable::SnapshotPolicy;
use kektordb_shards::durable::{DurableShard, FsyncPolicy, RecoveryReport};

use kektordb_shards::index::IndexMemory;
use kektordb_shards::router::{Catalog, IndexEntry, Partitioner};

use dir_lock::DirLock;
pub use embedding::{
    item_text, EmbedFailure, EmbedFailureKind, EmbedFuture, EmbedPurpose, ItemInput, TextEmbedder,
};
pub use error::{EngineError, Result};
pub use executors::io_memory_bytes;
pub use export::ExportPage;
pub use graph::{Direction, Link};
pub use maintenance::{
    MaintenanceRequest, Throttle, COMPRESS_STEP_ROWS, MAINTENANCE_REST_RATIO, VACUUM_STEP_LISTS,
};
pub use search::{GraphFilter, SearchQuery};
pub use sessions::{SessionEnded, SessionStarted, StartSession};
pub use state::Job;
use state::ShardState;
pub use tasks::{Task, TaskStatus};
pub use walk::{
    at_or_now, PathFound, PathRequest, Subgraph, SubgraphEdge, SubgraphRequest, WalkTree,
};

#[derive(Clone, Debug)]
pub struct Options {
    /// Shard executors (default: one per CPU).
    pub shards: usize,
    /// Pin shard `i` to CPU `i % cpus`.
    pub pin: bool,
    /// Where the logs live; None keeps everything in memory only.
    pub data_dir: Option<PathBuf>,
    pub fsync: FsyncPolicy,
    /// Start even if a log is corrupt in the middle, skipping the bad bytes.
    pub skip_corrupt: bool,
    /// Write logs with direct I/O (glommio DMA files) and pipelined group commit.
    pub log_direct: bool,
    /// When shards take snapshots on their own.
    pub snapshots: SnapshotPolicy,
    /// Run background maintenance (scheduled vacuum, refine, graph retention, edge
    /// self-repair); benchmarks that measure maintenance turn it off.
    pub background: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shards: std::thread::available_parallelism().map_or(1, |p| p.get()),
            pin: true,
            data_dir: None,
            fsync: FsyncPolicy::Always,
            skip_corrupt: false,
            log_direct: false,
            snapshots: SnapshotPolicy {
                save: Some((Duration::from_secs(60), 1000)),
                rewrite_percentage: Some(100),
            },
            background: true,
        }
    }
}

struct Inner {
    mailboxes: Vec<queue::Sender<Job>>,
    partitioner: Partitioner,
    catalog: RwLock<Catalog>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handles: Mutex<Vec<glommio::ExecutorJoinHandle<()>>>,
    recovery: Vec<RecoveryReport>,
    /// The data directory's lock, released by `close`.
    lock: Mutex<Option<DirLock>>,
    tasks: Arc<tasks::Tasks>,
    /// Which executor the next task runs on.
    task_turn: std::sync::atomic::AtomicU64,
    /// Background maintenance runs by kind.
    runs: Mutex<std::collections::BTreeMap<&'static str, u64>>,
    embedders: embedding::EmbedderSlot,
    /// Threads each shard may lend itself for a large batch (its share of the cores).
    build_threads: usize,
    /// Whether the shard executors are pinned to CPUs (`Options::pin`).
    pinned: bool,
}

/// A handle to the running engine; cheap to clone and share.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub use kektordb_shards::clock::now_nanos;

/// Per-shard figures for metrics.
#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    pub vectors: usize,
    pub kv_keys: usize,
    pub memory: IndexMemory,
}

impl Engine {
    pub fn open(options: Options) -> Result<Engine> {
        let n = options.shards.max(1);
        let (shards, recovery, lock, hash) = match &options.data_dir {
            Some(dir) => {
                let lock = DirLock::acquire(dir)?;
                let hash = manifest::check_or_create(dir, n)?;
                // int8's full-precision copies (read only to rescore) live in
                // unlinked scratch files here, read through the page cache.
                kektordb_shards::rows::page_cold_rows_in(dir.join("cold"));
                let how = recover::Recovery {
                    fsync: options.fsync,
                    skip_corrupt: options.skip_corrupt,
                    policy: options.snapshots,
                };
                let (shards, recovery) = recover::recover_all(dir, n, how)?;
                (shards, recovery, Some(lock), hash)
            }
            None => (
                (0..n)
                    .map(|_| ShardState::new(DurableShard::in_memory(), None, options.snapshots))
                    .collect(),
                Vec::new(),
                None,
                manifest::NEW_DIR_HASH,
            ),
        };
        let catalog = rebuild_catalog(&shards);
        let sync_every = (options.data_dir.is_some() && options.fsync == FsyncPolicy::EverySec)
            .then_some(Duration::from_secs(1));
        let ex = executors::start(shards, options.pin, sync_every, options.log_direct)?;
        let engine = Engine {
            inner: Arc::new(Inner {
                mailboxes: ex.mailboxes,
                partitioner: Partitioner::new(n, hash),
                catalog: RwLock::new(catalog),
                stop: ex.stop,
                handles: Mutex::new(ex.handles),
                recovery,
                lock: Mutex::new(lock),
                tasks: Arc::default(),
                task_turn: Default::default(),
                runs: Mutex::default(),
                embedders: Default::default(),
                build_threads: lent_threads::LentThreads::per_shard(n).0,
                pinned: options.pin,
            }),
        };
        if options.background {
            engine.start_scheduler()?;
        }
        Ok(engine)
    }

    /// Which shard owns `key`.
    fn shard_of(&self, key: &str) -> usize {
        self.inner.partitioner.shard_of(key)
    }

    /// How ids are routed to shards.
    pub fn partitioner(&self) -> Partitioner {
        self.inner.partitioner
    }

    /// What recovery found in each shard's log at `open`.
    pub fn recovery(&self) -> &[RecoveryReport] {
        &self.inner.recovery
    }

    pub fn shards(&self) -> usize {
        self.inner.mailboxes.len()
    }

    /// Where the `i`-th executor started beside the shards (HTTP's) runs: on the
    /// CPU after the shards' when they are pinned (`(shards + i) % cpus`).
    pub fn placement_beside_shards(&self, i: usize) -> glommio::Placement {
        executors::placement(self.shards() + i, self.inner.pinned)
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.inner.catalog.read().unwrap_or_else(|e| e.into_inner())
    }
    fn catalog_mut(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.inner
            .catalog
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Vectors, keys and memory per shard (for metrics).
    pub async fn shard_stats(&self) -> Result<Vec<ShardStats>> {
        self.ask_all(|s| {
            let mut st = ShardStats {
                kv_keys: s.kv().len(),
                ..ShardStats::default()
            };
            for ix in s.indexes() {
                st.vectors += ix.len();
                st.memory += ix.memory();
            }
            st
        })
        .await
    }

    /// Stops the executors after the jobs already queued, and waits for them. Every
    /// clone of this engine answers `ShardDown` afterwards.
    pub fn close(&self) {
        self.inner
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
        for mb in &self.inner.mailboxes {
            let wake: Job = Box::new(|_: &mut ShardState| None);
            let _ = futures_lite::future::block_on(mb.send(wake));
        }
        let handles =
            std::mem::take(&mut *self.inner.handles.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            let _ = h.join();
        }
        self.inner
            .lock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

/// The catalog as the recovered shards describe it: every shard holds every index;
/// the dimension is whatever part has one.
fn rebuild_catalog(shards: &[ShardState]) -> Catalog {
    let mut catalog = Catalog::default();
    let Some(first) = shards.first() else {
        return catalog;
    };
    for ix in first.durable.shard().indexes() {
        let name = ix.config().name.clone();
        let dim = shards
            .iter()
            .find_map(|s| s.durable.shard().index(&name).ok().and_then(|p| p.dim()));
        catalog.restore(IndexEntry::new(ix.config().clone(), dim));
    }
    catalog
}
