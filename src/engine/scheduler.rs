//! Background maintenance by each index's configuration: every
//! [`SCHEDULER_TICK`], on executor 0, it repairs the edges of deleted items
//! ([`REPAIRS_PER_TICK`] ids a tick) and checks each index: a vacuum every
//! `vacuum_interval` when at least `delete_threshold` of its rows are
//! soft-deleted, a throttled refine every `refine_interval` when `refine_enabled`,
//! a graph vacuum every `graph_vacuum_interval` when `graph_retention` is set. Runs
//! are counted ([`Engine::maintenance_runs`]). Started by `Engine::open` unless
//! `Options::background` is off.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::error::Result;
use super::maintenance::Throttle;
use super::{now_nanos, Engine};
use crate::limits::{REPAIRS_PER_TICK, SCHEDULER_TICK};

fn nanos(n: i64) -> Duration {
    Duration::from_nanos(n.max(0) as u64)
}

impl Engine {
    /// Counts one background maintenance run of `kind`.
    fn count_run(&self, kind: &'static str) {
        *self
            .inner
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
    }

    /// Background maintenance runs so far, by kind.
    pub fn maintenance_runs(&self) -> Vec<(&'static str, u64)> {
        let runs = self.inner.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter().map(|(k, n)| (*k, *n)).collect()
    }

    /// Starts the scheduler on executor 0.
    pub(super) fn start_scheduler(&self) -> Result<()> {
        let e = self.clone();
        futures_lite::future::block_on(self.on_executor(0, move || {
            glommio::spawn_local(schedule(e)).detach();
        }))
    }
}

async fn schedule(engine: Engine) {
    let mut last_vacuum: HashMap<String, Instant> = HashMap::new();
    let mut last_refine: HashMap<String, Instant> = HashMap::new();
    let mut last_graph_vacuum: HashMap<String, Instant> = HashMap::new();
    let throttle = Throttle::on_executor();
    loop {
        glommio::timer::sleep(SCHEDULER_TICK).await;
        if let Ok(n) = engine.repair_edges(REPAIRS_PER_TICK).await {
            if n > 0 {
                engine.count_run("edge_repair");
            }
        }
        let names = engine.index_names();
        last_vacuum.retain(|n, _| names.contains(n));
        last_refine.retain(|n, _| names.contains(n));
        last_graph_vacuum.retain(|n, _| names.contains(n));
        for name in names {
            let Ok(config) = engine.config(&name) else {
                continue;
            };
            let m = config.maintenance;
            let now = Instant::now();
            let since = last_vacuum.entry(name.clone()).or_insert(now);
            if now.duration_since(*since) >= nanos(m.vacuum_interval_ns) {
                *since = now;
                if let Ok((dead, total)) = engine.deleted_rows(&name).await {
                    if dead > 0
                        && dead as f64 >= m.delete_threshold * total as f64
                        && engine.vacuum(&name, &throttle, |_, _| {}).await.is_ok()
                    {
                        engine.count_run("vacuum");
                    }
                }
            }
            if m.graph_retention_ns > 0 {
                let since = last_graph_vacuum.entry(name.clone()).or_insert(now);
                if now.duration_since(*since) >= nanos(m.graph_vacuum_interval_ns) {
                    *since = now;
                    let before = now_nanos() - m.graph_retention_ns;
                    if engine.graph_vacuum(before).await.is_ok() {
                        engine.count_run("graph_vacuum");
                    }
                }
            }
            if m.refine_enabled {
                let since = last_refine.entry(name.clone()).or_insert(now);
                if now.duration_since(*since) >= nanos(m.refine_interval_ns) {
                    *since = now;
                    let ef = config.refine_ef(None);
                    let run = engine.refine(&name, m.refine_batch_size, ef, &throttle, |_, _| {});
                    if run.await.is_ok() {
                        engine.count_run("refine");
                    }
                }
            }
        }
    }
}
