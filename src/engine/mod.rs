//! The engine: shard executors plus the router. `Engine::open` starts one glommio
//! executor per shard; every index is hash-partitioned by id across them and each
//! executor exclusively owns its part. The router (this type, callable from any
//! thread or executor) validates against the catalog, sends owned jobs — one per shard
//! per request, never one per item — and merges the answers.
//!
//! With a data directory every shard keeps an append-only log (`shard-N/aof.G.log`);
//! a write is acknowledged only after the commit that covers it (see
//! `executors.rs`), and `open` replays the logs.
//!
//! All methods are async; from plain threads use `futures_lite::future::block_on`.

mod dir_lock;
mod error;
mod executors;
mod files;
mod graph_upkeep;
mod manifest;
mod recover;
mod shard_loop;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use kektordb_shards::durable::CompactPolicy;
use kektordb_shards::durable::{DurableShard, FsyncPolicy, RecoveryReport};
use kektordb_shards::graph::{check_props, check_relation, Edge, Side};
use kektordb_shards::op::Op;

use kektordb_shards::index::{IndexConfig, IndexMemory, Item};
use kektordb_shards::router::{Catalog, IndexEntry, Partitioner, SearchPlan};
use kektordb_shards::shard_set::{IndexInfo, NewItem};
use kektordb_shards::text::{CorpusStats, StatsSnapshot};
use kektordb_shards::{SearchHit, SearchRequest, Shard, ShardError};

use dir_lock::DirLock;
pub use error::{EngineError, Result};
pub use executors::{io_memory_bytes, Job, GROUP_JOBS_MAX, MAILBOX_JOBS_MAX};
use executors::{Ack, ShardState};

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
    /// When logs compact on their own.
    pub compact: CompactPolicy,
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
            compact: CompactPolicy {
                save: Some((Duration::from_secs(60), 1000)),
                rewrite_percentage: Some(100),
            },
        }
    }
}

struct Inner {
    mailboxes: Vec<flume::Sender<Job>>,
    partitioner: Partitioner,
    catalog: RwLock<Catalog>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handles: Mutex<Vec<glommio::ExecutorJoinHandle<()>>>,
    recovery: Vec<RecoveryReport>,
    /// The data directory's lock, released by `close`.
    lock: Mutex<Option<DirLock>>,
}

/// Receives a write's result once the commit covering it is done.
type Acked<R> = flume::Receiver<std::result::Result<R, String>>;

/// A handle to the running engine; cheap to clone and share.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// One link request.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub source: String,
    pub target: String,
    pub relation: String,
    /// Also link `target -[inverse]-> source`.
    pub inverse: Option<String>,
    pub weight: f32,
    pub props: serde_json::Map<String, serde_json::Value>,
}

/// Unix time in nanoseconds (the graph's timestamps).
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

/// Per-shard figures for metrics.
#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    pub vectors: usize,
    pub kv_keys: usize,
    pub memory: IndexMemory,
}

/// Rows a compression step converts (a few milliseconds of work at 384 dimensions).
pub const COMPRESS_STEP_ROWS: usize = 4_096;
/// Neighbour lists a vacuum step rebuilds.
pub const VACUUM_STEP_LISTS: usize = 64;

impl Engine {
    pub fn open(options: Options) -> Result<Engine> {
        let n = options.shards.max(1);
        let (shards, recovery, lock, hash) = match &options.data_dir {
            Some(dir) => {
                let lock = DirLock::acquire(dir)?;
                let hash = manifest::check_or_create(dir, n)?;
                let how = recover::Recovery {
                    fsync: options.fsync,
                    skip_corrupt: options.skip_corrupt,
                    policy: options.compact,
                };
                let (shards, recovery) = recover::recover_all(dir, n, how)?;
                (shards, recovery, Some(lock), hash)
            }
            None => (
                (0..n)
                    .map(|_| ShardState::new(DurableShard::in_memory(), None, options.compact))
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
        Ok(Engine {
            inner: Arc::new(Inner {
                mailboxes: ex.mailboxes,
                partitioner: Partitioner::new(n, hash),
                catalog: RwLock::new(catalog),
                stop: ex.stop,
                handles: Mutex::new(ex.handles),
                recovery,
                lock: Mutex::new(lock),
            }),
        })
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

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.inner.catalog.read().unwrap_or_else(|e| e.into_inner())
    }
    fn catalog_mut(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.inner
            .catalog
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, shard: usize, job: Job) -> impl Future<Output = Result<()>> {
        let sent = self.inner.mailboxes[shard].try_send(job);
        let mailbox = self.inner.mailboxes[shard].clone();
        async move {
            match sent {
                Ok(()) => Ok(()),
                Err(flume::TrySendError::Full(job)) => mailbox
                    .send_async(job)
                    .await
                    .map_err(|_| EngineError::ShardDown { shard }),
                Err(flume::TrySendError::Disconnected(_)) => Err(EngineError::ShardDown { shard }),
            }
        }
    }

    /// Runs a read on `shard` (sent now); the future waits for its answer.
    fn ask<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&Shard) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        let (tx, rx) = flume::bounded(1);
        let job: Job = Box::new(move |ctx| {
            let _ = tx.send(f(ctx.shard()));
            None
        });
        let sent = self.send(shard, job);
        async move {
            sent.await?;
            rx.recv_async()
                .await
                .map_err(|_| EngineError::ShardDown { shard })
        }
    }

    fn write_job<R: Send + 'static>(
        f: impl FnOnce(&mut ShardState) -> R + Send + 'static,
    ) -> (Job, Acked<R>) {
        let (tx, rx) = flume::bounded(1);
        let job: Job = Box::new(move |ctx| {
            let r = f(ctx);
            let ack: Ack = Box::new(move |durable| {
                let _ = tx.send(durable.map(|_| r));
            });
            Some(ack)
        });
        (job, rx)
    }

    async fn acked<R>(shard: usize, rx: Acked<R>) -> Result<R> {
        match rx.recv_async().await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(reason)) => Err(EngineError::OutcomeUnknown { shard, reason }),
            Err(_) => Err(EngineError::ShardDown { shard }),
        }
    }

    /// Runs a write on `shard`; the future resolves once the write is durable (as
    /// the fsync policy defines it).
    fn write<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&mut ShardState) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        let (job, rx) = Self::write_job(f);
        let sent = self.send(shard, job);
        async move {
            sent.await?;
            Self::acked(shard, rx).await
        }
    }

    /// Sends `f` to every shard at once, then collects the answers in shard order.
    async fn ask_all<R: Send + 'static>(
        &self,
        f: impl Fn(&Shard) -> R + Clone + Send + 'static,
    ) -> Result<Vec<R>> {
        let pending: Vec<_> = (0..self.shards()).map(|s| self.ask(s, f.clone())).collect();
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(p.await?);
        }
        Ok(out)
    }

    /// Enqueues the same write on every shard without waiting (used while the
    /// catalog lock is held, so no request can reach a shard before it does).
    fn enqueue_all<R: Send + 'static>(
        &self,
        f: impl Fn(&mut ShardState) -> R + Clone + Send + 'static,
    ) -> Result<Vec<Acked<R>>> {
        let mut rxs = Vec::with_capacity(self.shards());
        for (s, mb) in self.inner.mailboxes.iter().enumerate() {
            let (job, rx) = Self::write_job(f.clone());
            mb.try_send(job).map_err(|e| match e {
                flume::TrySendError::Full(_) => EngineError::Busy { shard: s },
                flume::TrySendError::Disconnected(_) => EngineError::ShardDown { shard: s },
            })?;
            rxs.push(rx);
        }
        Ok(rxs)
    }

    async fn collect<R>(rxs: Vec<Acked<R>>) -> Result<Vec<R>> {
        let mut out = Vec::with_capacity(rxs.len());
        for (shard, rx) in rxs.into_iter().enumerate() {
            out.push(Self::acked(shard, rx).await?);
        }
        Ok(out)
    }

    /// Runs `f` on `shard`'s executor thread, inside its glommio context (e.g. to
    /// spawn the HTTP accept loop there).
    pub fn on_executor<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        self.ask(shard, move |_| f())
    }

    pub async fn create_index(&self, config: IndexConfig) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            let config = cat.create(config)?;
            let name = config.name.clone();
            match self.enqueue_all(move |s| s.apply(Op::CreateIndex(config.clone()))) {
                Ok(rxs) => rxs,
                Err(e) => {
                    let _ = cat.drop_index(&name);
                    return Err(e);
                }
            }
        };
        for r in Self::collect(rxs).await? {
            r?;
        }
        Ok(())
    }

    pub async fn drop_index(&self, name: &str) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            cat.get(name)?;
            let owned = name.to_owned();
            let rxs = self.enqueue_all(move |s| {
                s.apply(Op::DropIndex {
                    index: owned.clone(),
                })
            })?;
            cat.drop_index(name)?;
            rxs
        };
        Self::collect(rxs).await?;
        Ok(())
    }

    pub fn index_names(&self) -> Vec<String> {
        self.catalog().names()
    }

    pub async fn info(&self, name: &str) -> Result<IndexInfo> {
        let entry = self.catalog().get(name)?.clone();
        let owned = name.to_owned();
        let parts = self
            .ask_all(move |s| s.index(&owned).map(|ix| (ix.len(), ix.memory())))
            .await?;
        let mut info = IndexInfo {
            config: entry.config,
            dim: entry.dim,
            len: 0,
            memory: IndexMemory::default(),
        };
        for p in parts {
            let (len, mem) = p?;
            info.len += len;
            info.memory += mem;
        }
        Ok(info)
    }

    /// Adds or updates a batch; validated whole first, then applied on every owning
    /// shard in parallel (one job per shard). Returns the number of items.
    pub async fn add_batch(&self, index: &str, items: Vec<NewItem>) -> Result<usize> {
        self.add_items(index, items, true).await
    }

    /// Converts an index to a smaller precision, one shard after the other. Each shard
    /// converts its rows in steps of [`COMPRESS_STEP_ROWS`] (searches keep using the
    /// current rows and run between steps; after each step `pause(step time * rest)`
    /// is awaited), then one logged `Compress` swaps the converted rows in.
    /// `progress(done, total)` counts rows.
    pub async fn compress<P, F>(
        &self,
        index: &str,
        precision: kektordb_shards::Precision,
        rest: f64,
        pause: P,
        progress: impl Fn(usize, usize),
    ) -> Result<()>
    where
        P: Fn(Duration) -> F,
        F: Future<Output = ()>,
    {
        self.catalog().get(index)?;
        let n = self.shards();
        let mut finished = 0;
        for s in 0..n {
            let owned = index.to_owned();
            let step = move |ctx: &mut ShardState| {
                ctx.prepare_mut()
                    .index_mut(&owned)?
                    .compress_step(precision, COMPRESS_STEP_ROWS)
            };
            finished += self
                .run_steps(s, rest, &pause, finished, &progress, step)
                .await?;
            let owned = index.to_owned();
            self.write(s, move |ctx| {
                ctx.apply(Op::Compress {
                    index: owned,
                    precision,
                })
            })
            .await??;
        }
        self.catalog_mut().set_precision(index, precision)?;
        Ok(())
    }

    /// Runs `step` on shard `s` until it reports `(done, total)` with `done >= total`,
    /// awaiting `pause(step time * rest)` between steps so searches keep the shard
    /// most of the time; `progress` gets the counts offset by `finished`. Returns the
    /// shard's total.
    async fn run_steps<P, F, S>(
        &self,
        s: usize,
        rest: f64,
        pause: &P,
        finished: usize,
        progress: &impl Fn(usize, usize),
        step: S,
    ) -> Result<usize>
    where
        P: Fn(Duration) -> F,
        F: Future<Output = ()>,
        S: Fn(&mut ShardState) -> std::result::Result<(usize, usize), ShardError>
            + Clone
            + Send
            + 'static,
    {
        loop {
            let started = std::time::Instant::now();
            let (done, total) = self.write(s, step.clone()).await??;
            progress(finished + done, finished + total);
            if done >= total {
                return Ok(total);
            }
            pause(started.elapsed().mul_f64(rest.max(0.0))).await;
        }
    }

    /// Vacuums an index on every shard, one after the other. Each shard rebuilds the
    /// affected neighbour lists in steps of [`VACUUM_STEP_LISTS`] (searches run
    /// between steps; `pause(step time * rest)` after each), then one logged `Vacuum`
    /// repairs what changed meanwhile and frees the deleted rows. Returns how many
    /// deleted nodes it removed; `progress(done, total)` counts lists.
    pub async fn vacuum<P, F>(
        &self,
        index: &str,
        rest: f64,
        pause: P,
        progress: impl Fn(usize, usize),
    ) -> Result<usize>
    where
        P: Fn(Duration) -> F,
        F: Future<Output = ()>,
    {
        self.catalog().get(index)?;
        let n = self.shards();
        let mut removed = 0;
        let mut finished = 0;
        for s in 0..n {
            let owned = index.to_owned();
            let step = move |ctx: &mut ShardState| -> std::result::Result<_, ShardError> {
                let ix = ctx.prepare_mut().index_mut(&owned)?;
                if ix.deleted() == 0 {
                    return Ok((0, 0));
                }
                Ok(ix.vacuum_step(VACUUM_STEP_LISTS))
            };
            finished += self
                .run_steps(s, rest, &pause, finished, &progress, step)
                .await?;
            let owned = index.to_owned();
            removed += self
                .write(s, move |ctx| -> std::result::Result<usize, ShardError> {
                    let before = ctx.shard().index(&owned)?.deleted();
                    if before == 0 {
                        return Ok(0);
                    }
                    ctx.apply(Op::Vacuum { index: owned })?;
                    Ok(before)
                })
                .await??;
        }
        Ok(removed)
    }

    /// Refines an index: every shard re-evaluates its nodes' neighbours in batches of
    /// `batch` nodes, each batch a separate job so queries run between batches.
    /// `progress(done_nodes, total_nodes)` after each batch. Returns nodes refined.
    ///
    /// After each batch, `pause(d)` is awaited with `d` = the batch's duration times
    /// `rest`, so refine takes at most `1 / (1 + rest)` of a shard's time and searches
    /// keep most of their throughput.
    pub async fn refine<P, F>(
        &self,
        index: &str,
        batch: u32,
        ef: u32,
        rest: f64,
        pause: P,
        progress: impl Fn(usize, usize),
    ) -> Result<usize>
    where
        P: Fn(Duration) -> F,
        F: Future<Output = ()>,
    {
        self.catalog().get(index)?;
        let owned = index.to_owned();
        let slots = self
            .ask_all(move |s| s.index(&owned).map(|ix| ix.node_slots()))
            .await?
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let total: usize = slots.iter().sum();
        let (mut done, mut refined) = (0usize, 0usize);
        let batch = batch.max(1);
        for (s, &n) in slots.iter().enumerate() {
            let mut from = 0u32;
            while (from as usize) < n {
                let owned = index.to_owned();
                let started = std::time::Instant::now();
                refined += self
                    .write(s, move |ctx| -> std::result::Result<usize, ShardError> {
                        let slots = ctx.shard().index(&owned)?.node_slots();
                        let in_range = slots.saturating_sub(from as usize).min(batch as usize);
                        ctx.apply(Op::Refine {
                            index: owned,
                            from,
                            count: batch,
                            ef,
                        })?;
                        Ok(in_range)
                    })
                    .await??;
                from = from.saturating_add(batch);
                done = (done + batch as usize).min(total);
                progress(done, total);
                pause(started.elapsed().mul_f64(rest.max(0.0))).await;
            }
        }
        Ok(refined)
    }

    /// Replaces an index's maintenance configuration (durable on every shard).
    pub async fn set_maintenance(
        &self,
        index: &str,
        config: kektordb_shards::index::MaintenanceConfig,
    ) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            cat.set_maintenance(index, config)?;
            let owned = index.to_owned();
            self.enqueue_all(move |s| {
                s.apply(Op::SetMaintenance {
                    index: owned.clone(),
                    config,
                })
            })?
        };
        for r in Self::collect(rxs).await? {
            r?;
        }
        Ok(())
    }

    /// Soft-deleted rows and all rows of an index, summed over shards.
    pub async fn deleted_rows(&self, index: &str) -> Result<(usize, usize)> {
        let owned = index.to_owned();
        let parts = self
            .ask_all(move |s| s.index(&owned).map(|ix| (ix.deleted(), ix.node_slots())))
            .await?;
        let mut total = (0, 0);
        for p in parts {
            let (d, n) = p?;
            total.0 += d;
            total.1 += n;
        }
        Ok(total)
    }

    /// Reinforces items (memory decay counts from now for them); returns how many of
    /// `ids` exist.
    pub async fn reinforce(&self, index: &str, ids: Vec<String>) -> Result<usize> {
        self.catalog().get(index)?;
        let n = self.shards();
        let at = now_nanos();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for id in ids {
            by_shard[self.shard_of(&id)].push(id);
        }
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(s, ids)| {
                let index = index.to_owned();
                self.write(s, move |ctx| -> std::result::Result<usize, ShardError> {
                    let ix = ctx.shard().index(&index)?;
                    let ids: Vec<String> = ids.into_iter().filter(|id| ix.contains(id)).collect();
                    let found = ids.len();
                    if found > 0 {
                        ctx.apply(Op::Reinforce { index, ids, at })?;
                    }
                    Ok(found)
                })
            })
            .collect();
        let mut found = 0;
        for p in pending {
            found += p.await??;
        }
        Ok(found)
    }

    /// Replaces an index's auto-link rules (durable on every shard before it returns).
    pub async fn set_auto_links(
        &self,
        index: &str,
        rules: Vec<kektordb_shards::index::AutoLinkRule>,
    ) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            cat.set_auto_links(index, rules.clone())?;
            let owned = index.to_owned();
            self.enqueue_all(move |s| {
                s.apply(Op::SetAutoLinks {
                    index: owned.clone(),
                    rules: rules.clone(),
                })
            })?
        };
        for r in Self::collect(rxs).await? {
            r?;
        }
        Ok(())
    }

    async fn add_items(&self, index: &str, items: Vec<NewItem>, logged: bool) -> Result<usize> {
        let dim = self.catalog().check_batch(index, &items)?;
        {
            let mut cat = self.catalog_mut();
            let current = cat.get(index)?.dim;
            match (current, dim) {
                (Some(c), Some(d)) if c != d => {
                    return Err(ShardError::WrongDimension {
                        expected: c,
                        got: d,
                    }
                    .into())
                }
                (None, Some(_)) => cat.set_dim(index, dim)?,
                _ => {}
            }
        }
        let n = items.len();
        let at = now_nanos();
        // Links the index's auto-link rules ask for, applied after the items.
        let rules = self.catalog().get(index)?.config.auto_links.clone();
        let mut links = Vec::new();
        for rule in &rules {
            for it in &items {
                let values: Vec<&str> = match it.metadata.get(&rule.metadata_field) {
                    Some(serde_json::Value::String(v)) => vec![v.as_str()],
                    Some(serde_json::Value::Array(a)) => {
                        a.iter().filter_map(|v| v.as_str()).collect()
                    }
                    _ => Vec::new(),
                };
                for target in values.into_iter().filter(|t| !t.is_empty() && *t != it.id) {
                    links.push((it.id.clone(), target.to_owned(), rule.relation_type.clone()));
                }
            }
        }
        let pending: Vec<_> = self
            .inner
            .partitioner
            .group(items, |it| it.id.as_str())
            .into_iter()
            .enumerate()
            .filter(|(_, part)| !part.is_empty())
            .map(|(s, part)| {
                let index = index.to_owned();
                self.write(s, move |ctx| -> std::result::Result<(), ShardError> {
                    for it in part {
                        let op = Op::Upsert {
                            index: index.clone(),
                            id: it.id,
                            vector: it.vector,
                            metadata: it.metadata,
                            at,
                        };
                        if logged {
                            ctx.apply(op)?;
                        } else {
                            ctx.apply_unlogged(op)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for p in pending {
            p.await??;
        }
        if !links.is_empty() {
            let at = now_nanos();
            let mut ops = Vec::with_capacity(links.len() * 2);
            for (source, target, relation) in links {
                let link = |side, node: &String, other: &String| Op::GraphLink {
                    side,
                    node: node.clone(),
                    relation: relation.clone(),
                    other: other.clone(),
                    weight: 1.0,
                    at,
                    props: serde_json::Map::new(),
                };
                ops.push((self.shard_of(&source), link(Side::Out, &source, &target)));
                ops.push((self.shard_of(&target), link(Side::In, &target, &source)));
            }
            self.apply_grouped(ops).await?;
        }
        Ok(n)
    }

    /// Import: like `add_batch`, but the items are not logged one by one; they become
    /// durable at the next compaction (`import/commit`). If the process dies first,
    /// none of the imported items is there after restart.
    pub async fn import_batch(&self, index: &str, items: Vec<NewItem>) -> Result<usize> {
        self.add_items(index, items, false).await
    }

    pub async fn get_many(&self, index: &str, ids: Vec<String>) -> Result<Vec<Item>> {
        self.catalog().get(index)?;
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for id in ids {
            by_shard[self.shard_of(&id)].push(id);
        }
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(s, ids)| {
                let index = index.to_owned();
                self.ask(
                    s,
                    move |shard| -> std::result::Result<Vec<Item>, ShardError> {
                        let ix = shard.index(&index)?;
                        Ok(ids.iter().filter_map(|id| ix.get(id)).collect())
                    },
                )
            })
            .collect();
        let mut out = Vec::new();
        for p in pending {
            out.extend(p.await??);
        }
        Ok(out)
    }

    /// Soft-deletes an item; returns whether it existed.
    pub async fn delete(&self, index: &str, id: &str) -> Result<bool> {
        self.catalog().get(index)?;
        let (index, id) = (index.to_owned(), id.to_owned());
        let s = self.shard_of(&id);
        let deleted = self
            .write(s, move |ctx| -> std::result::Result<bool, ShardError> {
                if !ctx.shard().index(&index)?.contains(&id) {
                    return Ok(false);
                }
                ctx.apply(Op::Delete { index, id })?;
                Ok(true)
            })
            .await??;
        Ok(deleted)
    }

    /// Vector, text, filtered and hybrid search: one job per shard (two with text:
    /// statistics first, so IDF is global), merged here.
    pub async fn search(&self, index: &str, req: SearchRequest) -> Result<Vec<SearchHit>> {
        self.search_within(index, req, None).await
    }

    /// A search whose results must be among `only_ids` (None: no restriction). A
    /// small set is scanned exactly on each shard, so recall holds.
    pub async fn search_within(
        &self,
        index: &str,
        req: SearchRequest,
        only_ids: Option<Vec<String>>,
    ) -> Result<Vec<SearchHit>> {
        let (mut plan, boosts) = {
            let cat = self.catalog();
            let entry = cat.get(index)?;
            let boosts = entry.config.memory.is_some_and(|m| m.enabled);
            (SearchPlan::new(entry, req)?, boosts)
        };
        plan.only_ids = only_ids;
        let plan = Arc::new(plan);
        let stats = match &plan.terms {
            Some(terms) => {
                let (index, terms) = (index.to_owned(), terms.clone());
                let parts = self
                    .ask_all(move |s| s.text_stats(&index, &terms))
                    .await?
                    .into_iter()
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Some(Arc::new(SearchPlan::merge_stats(parts)))
            }
            None => None,
        };
        let (owned, p) = (index.to_owned(), plan.clone());
        let parts = self
            .ask_all(move |s| {
                let stats = stats
                    .as_deref()
                    .map(|x: &StatsSnapshot| x as &dyn CorpusStats);
                s.search_part(&owned, &p.part_query(), stats)
            })
            .await?
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let hits = plan.finish(parts);
        if boosts {
            self.boost(index, &hits);
        }
        Ok(hits)
    }

    /// Retrieval boost of a memory index: what a search returned counts as touched
    /// now (its decay restarts). Sent without waiting and not logged, so reads stay
    /// reads: a boost becomes durable with the next snapshot (an explicit
    /// `reinforce` is durable at once); a full mailbox skips it.
    fn boost(&self, index: &str, hits: &[SearchHit]) {
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for h in hits {
            by_shard[self.shard_of(&h.id)].push(h.id.clone());
        }
        let now = now_nanos();
        for (s, ids) in by_shard.into_iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            let index = index.to_owned();
            let job: Job = Box::new(move |ctx: &mut ShardState| {
                if let Ok(ix) = ctx.prepare_mut().index_mut(&index) {
                    for id in &ids {
                        ix.touch(id, now);
                    }
                }
                None
            });
            let _ = self.inner.mailboxes[s].try_send(job);
        }
    }

    pub async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let k = key.to_owned();
        let s = self.shard_of(key);
        self.ask(s, move |shard| shard.kv().get(&k).map(<[u8]>::to_vec))
            .await
    }

    pub async fn kv_set(&self, key: &str, value: Vec<u8>) -> Result<()> {
        let k = key.to_owned();
        let s = self.shard_of(key);
        Ok(self
            .write(s, move |ctx| ctx.apply(Op::KvSet { key: k, value }))
            .await??)
    }

    /// Removes a key; returns whether it existed.
    pub async fn kv_delete(&self, key: &str) -> Result<bool> {
        let k = key.to_owned();
        let s = self.shard_of(key);
        Ok(self
            .write(s, move |ctx| -> std::result::Result<bool, ShardError> {
                if ctx.shard().kv().get(&k).is_none() {
                    return Ok(false);
                }
                ctx.apply(Op::KvDelete { key: k })?;
                Ok(true)
            })
            .await??)
    }

    /// Snapshots every shard now (`POST /system/save`, `aof-rewrite`, import
    /// commit) and waits until every snapshot is durable. Shards copy their state
    /// one after the other and keep serving while their snapshot is written;
    /// `progress(done, total)` is called as snapshots land. Returns their total size.
    pub async fn compact(&self, progress: impl Fn(usize, usize)) -> Result<u64> {
        let n = self.shards();
        let mut pending = Vec::with_capacity(n);
        for s in 0..n {
            pending.push(self.write(s, |st| st.request_snapshot()).await?);
        }
        let mut total = 0;
        for (s, done) in pending.into_iter().enumerate() {
            total += done
                .recv_async()
                .await
                .unwrap_or_else(|_| Err("shard stopped before its snapshot".into()))
                .map_err(EngineError::Storage)?;
            progress(s + 1, n);
        }
        Ok(total)
    }

    /// Links `source -[relation]-> target` (and `target -[inverse]-> source`): the
    /// outgoing side goes to the source's shard, the incoming side (reverse index) to
    /// the target's; acknowledged once every side is durable. Returns the timestamp.
    pub async fn link(&self, link: Link) -> Result<i64> {
        kektordb_shards::index::check_id(&link.source)?;
        kektordb_shards::index::check_id(&link.target)?;
        check_relation(&link.relation)?;
        check_props(&link.props)?;
        if let Some(inv) = &link.inverse {
            check_relation(inv)?;
        }
        if !link.weight.is_finite() {
            return Err(ShardError::invalid("weight", "must be a finite number").into());
        }
        let at = now_nanos();
        let mut ops = vec![
            (&link.source, Side::Out, &link.relation, &link.target),
            (&link.target, Side::In, &link.relation, &link.source),
        ];
        if let Some(inv) = &link.inverse {
            ops.push((&link.target, Side::Out, inv, &link.source));
            ops.push((&link.source, Side::In, inv, &link.target));
        }
        let ops: Vec<(usize, Op)> = ops
            .into_iter()
            .map(|(node, side, relation, other)| {
                (
                    self.shard_of(node),
                    Op::GraphLink {
                        side,
                        node: node.clone(),
                        relation: relation.clone(),
                        other: other.clone(),
                        weight: link.weight,
                        at,
                        props: link.props.clone(),
                    },
                )
            })
            .collect();
        self.apply_grouped(ops).await?;
        Ok(at)
    }

    /// Soft-deletes (or with `hard`, removes) `source -[relation]-> target` on both
    /// sides. Returns whether the outgoing side had it.
    pub async fn unlink(
        &self,
        source: &str,
        target: &str,
        relation: &str,
        hard: bool,
    ) -> Result<bool> {
        check_relation(relation)?;
        let at = now_nanos();
        let out_shard = self.shard_of(source);
        let existed = self
            .ask(out_shard, {
                let (s, r, t) = (source.to_owned(), relation.to_owned(), target.to_owned());
                move |sh: &Shard| sh.graph().has_edge(Side::Out, &s, &r, &t, hard)
            })
            .await?;
        let op = |node: &str, side, other: &str| Op::GraphUnlink {
            side,
            node: node.to_owned(),
            relation: relation.to_owned(),
            other: other.to_owned(),
            at,
            hard,
        };
        self.apply_grouped(vec![
            (out_shard, op(source, Side::Out, target)),
            (self.shard_of(target), op(target, Side::In, source)),
        ])
        .await?;
        Ok(existed)
    }

    /// Applies ops grouped into one write job per shard, all shards in parallel.
    async fn apply_grouped(&self, ops: Vec<(usize, Op)>) -> Result<()> {
        let mut by_shard: Vec<Vec<Op>> = (0..self.shards()).map(|_| Vec::new()).collect();
        for (s, op) in ops {
            by_shard[s].push(op);
        }
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(s, ops)| {
                self.write(s, move |ctx| -> std::result::Result<(), ShardError> {
                    for op in ops {
                        ctx.apply(op)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for p in pending {
            p.await??;
        }
        Ok(())
    }

    /// Edges of `node` alive at `at` (unix ns; `i64::MAX` = now): outgoing (`Side::Out`)
    /// or incoming (`Side::In`), for one relation or all: (relation, edge).
    pub async fn edges(
        &self,
        node: &str,
        relation: Option<&str>,
        side: Side,
        at: i64,
    ) -> Result<Vec<(String, Edge)>> {
        let (n, r) = (node.to_owned(), relation.map(str::to_owned));
        self.ask(self.shard_of(node), move |sh| {
            sh.graph().edges(side, &n, r.as_deref(), at)
        })
        .await
    }

    /// One hop from many nodes at once (one job per shard): every edge of each node on
    /// each of `sides`, alive at `at`, whose relation is in `relations` (all if empty).
    pub async fn neighbors(
        &self,
        nodes: Vec<String>,
        relations: Vec<String>,
        sides: Vec<Side>,
        at: i64,
    ) -> Result<Vec<(String, Side, String, Edge)>> {
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for node in nodes {
            by_shard[self.shard_of(&node)].push(node);
        }
        let relations = Arc::new(relations);
        let sides = Arc::new(sides);
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ns)| !ns.is_empty())
            .map(|(s, ns)| {
                let (relations, sides) = (relations.clone(), sides.clone());
                self.ask(s, move |sh| {
                    let mut out = Vec::new();
                    for node in &ns {
                        for side in sides.iter() {
                            for (rel, e) in sh.graph().edges(*side, node, None, at) {
                                if relations.is_empty() || relations.contains(&rel) {
                                    out.push((node.clone(), *side, rel, e));
                                }
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        let mut out = Vec::new();
        for p in pending {
            out.extend(p.await?);
        }
        Ok(out)
    }

    /// Items of `index` (entities included) matching a metadata filter, at most
    /// `limit`, ordered by id.
    pub async fn find_nodes(&self, index: &str, filter: &str, limit: usize) -> Result<Vec<Item>> {
        self.catalog().get(index)?;
        let expr = Arc::new(kektordb_shards::filter::parse(filter).map_err(ShardError::from)?);
        let owned = index.to_owned();
        let parts = self
            .ask_all(move |s| s.index(&owned).map(|ix| ix.find(&expr, limit)))
            .await?;
        let mut items = Vec::new();
        for p in parts {
            items.extend(p?);
        }
        items.sort_by(|a, b| a.id.cmp(&b.id));
        items.truncate(limit);
        Ok(items)
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
            let _ = mb.send(Box::new(|_: &mut ShardState| None));
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
    for ix in first.shard().indexes() {
        let name = ix.config().name.clone();
        let dim = shards
            .iter()
            .find_map(|s| s.shard().index(&name).ok().and_then(|p| p.dim()));
        catalog.restore(IndexEntry::new(ix.config().clone(), dim));
    }
    catalog
}
