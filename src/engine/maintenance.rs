//! Maintenance in steps that yield to queries: compression, vacuum and refine run
//! one small step per job and rest a multiple of each step's time between steps
//! ([`Throttle`]); snapshots of every shard on request.

use std::future::Future;
use std::time::Duration;

use kektordb_shards::op::Op;
use kektordb_shards::{Precision, ShardError};

use super::error::{EngineError, Result};
use super::state::ShardState;
use super::tasks::Task;
use super::{now_nanos, Engine};

/// Maintenance steps rest three times their own time, so they take at most a
/// quarter of a shard's time and searches keep over 70% of their throughput
/// (`benches/src/maintenance.rs`).
pub const MAINTENANCE_REST_RATIO: f64 = 3.0;

/// How maintenance yields between steps: after a step that took `t`, it awaits
/// `pause(t * rest)`. On a shard executor `pause` is glommio's timer
/// ([`Throttle::on_executor`]); an in-process caller may pass its own.
pub struct Throttle<P> {
    pub rest: f64,
    pub pause: P,
}

impl<P, F> Throttle<P>
where
    P: Fn(Duration) -> F,
    F: Future,
{
    async fn rest_after(&self, step: Duration) {
        (self.pause)(step.mul_f64(self.rest.max(0.0))).await;
    }
}

impl Throttle<fn(Duration) -> glommio::timer::Timer> {
    /// The default throttle of tasks and the scheduler (they run on an executor).
    pub fn on_executor() -> Self {
        Throttle {
            rest: MAINTENANCE_REST_RATIO,
            pause: glommio::timer::Timer::new,
        }
    }
}

/// Rows a compression step converts (a few milliseconds of work at 384 dimensions).
pub const COMPRESS_STEP_ROWS: usize = 4_096;
/// Neighbour lists a vacuum step rebuilds.
pub const VACUUM_STEP_LISTS: usize = 64;

impl Engine {
    /// Converts an index to a smaller precision, one shard after the other. Each shard
    /// converts its rows in steps of [`COMPRESS_STEP_ROWS`] (searches keep using the
    /// current rows and run between steps; after each step `pause(step time * rest)`
    /// is awaited), then one logged `Compress` swaps the converted rows in.
    /// `progress(done, total)` counts rows.
    pub async fn compress<P, F>(
        &self,
        index: &str,
        precision: kektordb_shards::Precision,
        throttle: &Throttle<P>,
        progress: impl Fn(usize, usize),
    ) -> Result<()>
    where
        P: Fn(Duration) -> F,
        F: Future,
    {
        self.catalog().get(index)?;
        let n = self.shards();
        let mut finished = 0;
        for s in 0..n {
            let owned = index.to_owned();
            let step = move |st: &mut ShardState| {
                st.durable
                    .prepare_mut()
                    .index_mut(&owned)?
                    .compress_step(precision, COMPRESS_STEP_ROWS)
            };
            finished += self
                .run_steps(s, throttle, finished, &progress, step)
                .await?;
            let owned = index.to_owned();
            self.write_try(s, move |st| {
                st.durable.apply(Op::Compress {
                    index: owned,
                    precision,
                })
            })
            .await?;
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
        throttle: &Throttle<P>,
        finished: usize,
        progress: &impl Fn(usize, usize),
        step: S,
    ) -> Result<usize>
    where
        P: Fn(Duration) -> F,
        F: Future,
        S: Fn(&mut ShardState) -> std::result::Result<(usize, usize), ShardError>
            + Clone
            + Send
            + 'static,
    {
        loop {
            let started = std::time::Instant::now();
            let (done, total) = self.write_try(s, step.clone()).await?;
            progress(finished + done, finished + total);
            if done >= total {
                return Ok(total);
            }
            throttle.rest_after(started.elapsed()).await;
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
        throttle: &Throttle<P>,
        progress: impl Fn(usize, usize),
    ) -> Result<usize>
    where
        P: Fn(Duration) -> F,
        F: Future,
    {
        self.catalog().get(index)?;
        let n = self.shards();
        let mut removed = 0;
        let mut finished = 0;
        for s in 0..n {
            let owned = index.to_owned();
            let step = move |st: &mut ShardState| -> std::result::Result<_, ShardError> {
                let ix = st.durable.prepare_mut().index_mut(&owned)?;
                if ix.deleted() == 0 {
                    return Ok((0, 0));
                }
                Ok(ix.vacuum_step(VACUUM_STEP_LISTS))
            };
            finished += self
                .run_steps(s, throttle, finished, &progress, step)
                .await?;
            let owned = index.to_owned();
            removed += self
                .write(s, move |st| -> std::result::Result<usize, ShardError> {
                    let before = st.durable.shard().index(&owned)?.deleted();
                    if before == 0 {
                        return Ok(0);
                    }
                    st.durable.apply(Op::Vacuum { index: owned })?;
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
        throttle: &Throttle<P>,
        progress: impl Fn(usize, usize),
    ) -> Result<usize>
    where
        P: Fn(Duration) -> F,
        F: Future,
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
                    .write(s, move |st| -> std::result::Result<usize, ShardError> {
                        let slots = st.durable.shard().index(&owned)?.node_slots();
                        let in_range = slots.saturating_sub(from as usize).min(batch as usize);
                        st.durable.apply(Op::Refine {
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
                throttle.rest_after(started.elapsed()).await;
            }
        }
        Ok(refined)
    }

    /// Snapshots every shard now (`POST /system/save`, `aof-rewrite`, import
    /// commit) and waits until every snapshot is durable. Shards copy their state
    /// one after the other and keep serving while their snapshot is written;
    /// `progress(done, total)` is called as snapshots land. Returns their total size.
    pub async fn snapshot_all(&self, progress: impl Fn(usize, usize)) -> Result<u64> {
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
}

/// A maintenance run of one index, as asked for (the body of
/// `POST /vector/indexes/{name}/maintenance`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MaintenanceRequest {
    Vacuum,
    Refine {
        /// Nodes per batch (default 50, small so queries wait little).
        batch_size: Option<u32>,
        /// Search breadth (see `IndexConfig::refine_ef`).
        ef_construction: Option<u32>,
    },
    GraphVacuum,
}

/// Nodes per refine batch when a request gives none.
pub const REFINE_BATCH_DEFAULT: u32 = 50;

impl Engine {
    /// Snapshots every shard as a task (`aof-rewrite`, import commit).
    pub async fn start_snapshot(&self, what: &str) -> Result<Task> {
        self.spawn_task(what, |engine, progress| async move {
            let bytes = engine
                .snapshot_all(|done, total| {
                    progress(format!("snapshots written for {done} of {total} shards"))
                })
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "snapshot written: {bytes} bytes; the logs start empty"
            ))
        })
        .await
    }

    /// Compresses an index to a smaller precision as a task (the index stays
    /// searchable); refused at once when the precision is not smaller.
    pub async fn start_compress(&self, index: &str, precision: Precision) -> Result<Task> {
        let from = self.config(index)?.precision;
        if !from.can_compress_to(precision) {
            return Err(ShardError::invalid(
                "precision",
                format!(
                    "cannot compress {} to the larger {}",
                    from.as_str(),
                    precision.as_str()
                ),
            )
            .into());
        }
        let index = index.to_owned();
        self.spawn_task("compress", move |engine, progress| async move {
            engine
                .compress(
                    &index,
                    precision,
                    &Throttle::on_executor(),
                    |done, total| progress(format!("compressed {done} of {total} rows")),
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("index '{index}' is now {}", precision.as_str()))
        })
        .await
    }

    /// Starts a vacuum, refine or graph vacuum of `index` as a task.
    pub async fn start_maintenance(&self, index: &str, req: MaintenanceRequest) -> Result<Task> {
        let config = self.config(index)?;
        let index = index.to_owned();
        match req {
            MaintenanceRequest::Vacuum => {
                self.spawn_task("vacuum", move |engine, progress| async move {
                    let dead = engine
                        .vacuum(&index, &Throttle::on_executor(), |done, total| {
                            progress(format!("repaired {done} of {total} neighbour lists"))
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!(
                        "removed {dead} deleted nodes from the graph of '{index}'"
                    ))
                })
                .await
            }
            MaintenanceRequest::Refine {
                batch_size,
                ef_construction,
            } => {
                let ef = config.refine_ef(ef_construction);
                let batch = batch_size
                    .unwrap_or(REFINE_BATCH_DEFAULT)
                    .clamp(1, crate::limits::REFINE_BATCH_MAX);
                self.spawn_task("refine", move |engine, progress| async move {
                    let n = engine
                        .refine(
                            &index,
                            batch,
                            ef,
                            &Throttle::on_executor(),
                            |done, total| progress(format!("refined {done} of {total} nodes")),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("refined {n} nodes of '{index}' with ef {ef}"))
                })
                .await
            }
            MaintenanceRequest::GraphVacuum => {
                let retention = config.maintenance.graph_retention_ns;
                if retention == 0 {
                    return Err(ShardError::invalid(
                        "graph_retention",
                        format!(
                            "index '{index}' has graph_retention 0 (edge history kept forever); \
                             set graph_retention with POST /vector/indexes/{index}/config first"
                        ),
                    )
                    .into());
                }
                self.spawn_task("graph_vacuum", move |engine, _progress| async move {
                    let before = now_nanos() - retention;
                    let n = engine
                        .graph_vacuum(before)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("removed {n} soft-deleted edge versions"))
                })
                .await
            }
        }
    }
}
