//! The engine: shard executors plus the router. `Engine::open` starts one glommio
//! executor per shard; every index is hash-partitioned by id across them and each
//! executor exclusively owns its part. The router (this type, callable from any
//! thread or executor) validates against the catalog, sends owned jobs — one per shard
//! per request, never one per item — and merges the answers.
//!
//! All methods are async; from plain threads use `futures_lite::future::block_on`.

mod error;
mod executors;

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};

use kektordb_shards::index::{IndexConfig, IndexMemory, Item};
use kektordb_shards::router::{shard_of, split_by_shard, Catalog, SearchPlan};
use kektordb_shards::shard_set::{IndexInfo, NewItem};
use kektordb_shards::text::{CorpusStats, StatsSnapshot};
use kektordb_shards::{SearchHit, SearchRequest, Shard, ShardError};

pub use error::{EngineError, Result};
pub use executors::{io_memory_bytes, Job, MAILBOX_JOBS_MAX};

#[derive(Clone, Debug)]
pub struct Options {
    /// Shard executors (default: one per CPU).
    pub shards: usize,
    /// Pin shard `i` to CPU `i % cpus`.
    pub pin: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shards: std::thread::available_parallelism().map_or(1, |p| p.get()),
            pin: true,
        }
    }
}

struct Inner {
    mailboxes: Vec<flume::Sender<Job>>,
    catalog: RwLock<Catalog>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handles: Mutex<Vec<glommio::ExecutorJoinHandle<()>>>,
}

/// A handle to the running engine; cheap to clone and share.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

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
        let ex = executors::start(n, options.pin)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                mailboxes: ex.mailboxes,
                catalog: RwLock::new(Catalog::default()),
                stop: ex.stop,
                handles: Mutex::new(ex.handles),
            }),
        })
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

    fn job<R: Send + 'static>(
        f: impl FnOnce(&mut Shard) -> R + Send + 'static,
    ) -> (Job, flume::Receiver<R>) {
        let (tx, rx) = flume::bounded(1);
        let job: Job = Box::new(move |shard| {
            let _ = tx.send(f(shard));
        });
        (job, rx)
    }

    /// Sends `f` to `shard` now; the returned future waits for its answer.
    fn ask<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&mut Shard) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        let (job, rx) = Self::job(f);
        let sent = self.inner.mailboxes[shard].try_send(job);
        let mailbox = self.inner.mailboxes[shard].clone();
        async move {
            match sent {
                Ok(()) => {}
                Err(flume::TrySendError::Full(job)) => mailbox
                    .send_async(job)
                    .await
                    .map_err(|_| EngineError::ShardDown { shard })?,
                Err(flume::TrySendError::Disconnected(_)) => {
                    return Err(EngineError::ShardDown { shard })
                }
            }
            rx.recv_async()
                .await
                .map_err(|_| EngineError::ShardDown { shard })
        }
    }

    /// Sends `f` to every shard at once, then collects the answers in shard order.
    async fn ask_all<R: Send + 'static>(
        &self,
        f: impl Fn(&mut Shard) -> R + Clone + Send + 'static,
    ) -> Result<Vec<R>> {
        let pending: Vec<_> = (0..self.shards()).map(|s| self.ask(s, f.clone())).collect();
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(p.await?);
        }
        Ok(out)
    }

    /// Enqueues the same job on every shard without waiting (used while the catalog
    /// lock is held, so no request can reach a shard before the job does).
    fn enqueue_all<R: Send + 'static>(
        &self,
        f: impl Fn(&mut Shard) -> R + Clone + Send + 'static,
    ) -> Result<Vec<flume::Receiver<R>>> {
        let mut rxs = Vec::with_capacity(self.shards());
        for (s, mb) in self.inner.mailboxes.iter().enumerate() {
            let (job, rx) = Self::job(f.clone());
            mb.try_send(job).map_err(|e| match e {
                flume::TrySendError::Full(_) => EngineError::Busy { shard: s },
                flume::TrySendError::Disconnected(_) => EngineError::ShardDown { shard: s },
            })?;
            rxs.push(rx);
        }
        Ok(rxs)
    }

    async fn collect<R>(rxs: Vec<flume::Receiver<R>>) -> Result<Vec<R>> {
        let mut out = Vec::with_capacity(rxs.len());
        for (shard, rx) in rxs.into_iter().enumerate() {
            out.push(
                rx.recv_async()
                    .await
                    .map_err(|_| EngineError::ShardDown { shard })?,
            );
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
            match self.enqueue_all(move |s| s.create_index(config.clone())) {
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
            let rxs = self.enqueue_all(move |s| s.drop_index(&owned))?;
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
        let pending: Vec<_> = split_by_shard(items, self.shards())
            .into_iter()
            .enumerate()
            .filter(|(_, part)| !part.is_empty())
            .map(|(s, part)| {
                let index = index.to_owned();
                self.ask(s, move |shard| -> std::result::Result<(), ShardError> {
                    for it in part {
                        shard.upsert(&index, &it.id, &it.vector, it.metadata)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for p in pending {
            p.await??;
        }
        Ok(n)
    }

    pub async fn get_many(&self, index: &str, ids: Vec<String>) -> Result<Vec<Item>> {
        self.catalog().get(index)?;
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for id in ids {
            by_shard[shard_of(&id, n)].push(id);
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
        let s = shard_of(&id, self.shards());
        Ok(self
            .ask(s, move |shard| shard.delete(&index, &id))
            .await??)
    }

    /// Vector, text, filtered and hybrid search: one job per shard (two with text:
    /// statistics first, so IDF is global), merged here.
    pub async fn search(&self, index: &str, req: SearchRequest) -> Result<Vec<SearchHit>> {
        let plan = Arc::new(SearchPlan::new(self.catalog().get(index)?, req)?);
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
        Ok(plan.finish(parts))
    }

    pub async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let k = key.to_owned();
        let s = shard_of(key, self.shards());
        self.ask(s, move |shard| shard.kv().get(&k).map(<[u8]>::to_vec))
            .await
    }

    pub async fn kv_set(&self, key: &str, value: Vec<u8>) -> Result<()> {
        let k = key.to_owned();
        let s = shard_of(key, self.shards());
        Ok(self
            .ask(s, move |shard| shard.kv_mut().set(&k, value))
            .await??)
    }

    /// Removes a key; returns whether it existed.
    pub async fn kv_delete(&self, key: &str) -> Result<bool> {
        let k = key.to_owned();
        let s = shard_of(key, self.shards());
        self.ask(s, move |shard| shard.kv_mut().delete(&k)).await
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
            let _ = mb.send(Box::new(|_: &mut Shard| {}));
        }
        let handles =
            std::mem::take(&mut *self.inner.handles.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            let _ = h.join();
        }
    }
}
