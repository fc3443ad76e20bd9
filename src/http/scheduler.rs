//! Background maintenance by each index's configuration: every second, on executor 0,
//! it checks each index — a vacuum every `vacuum_interval` when at least
//! `delete_threshold` of its rows are soft-deleted, a throttled refine every
//! `refine_interval` when `refine_enabled`, a graph vacuum every
//! `graph_vacuum_interval` when `graph_retention` is set — repairs the edges of
//! deleted items ([`REPAIRS_PER_TICK`] ids a tick) and counts the runs in the
//! metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handlers::system::MAINTENANCE_REST;
use super::metrics::Metrics;
use crate::engine::Engine;

/// How often the scheduler looks at the indexes.
pub const TICK: Duration = Duration::from_secs(1);
/// Deleted ids whose edges are repaired per tick, per shard.
pub const REPAIRS_PER_TICK: usize = 1_000;

pub fn spawn(engine: &Engine, metrics: Arc<Metrics>) -> Result<(), String> {
    let e = engine.clone();
    futures_lite::future::block_on(engine.on_executor(0, move || {
        glommio::spawn_local(run(e, metrics)).detach();
    }))
    .map_err(|e| e.to_string())
}

fn nanos(n: i64) -> Duration {
    Duration::from_nanos(n.max(0) as u64)
}

async fn run(engine: Engine, metrics: Arc<Metrics>) {
    let mut last_vacuum: HashMap<String, Instant> = HashMap::new();
    let mut last_refine: HashMap<String, Instant> = HashMap::new();
    let mut last_graph_vacuum: HashMap<String, Instant> = HashMap::new();
    loop {
        glommio::timer::sleep(TICK).await;
        if let Ok(n) = engine.repair_edges(REPAIRS_PER_TICK).await {
            if n > 0 {
                metrics.count_maintenance("edge_repair");
            }
        }
        let names = engine.index_names();
        last_vacuum.retain(|n, _| names.contains(n));
        last_refine.retain(|n, _| names.contains(n));
        last_graph_vacuum.retain(|n, _| names.contains(n));
        for name in names {
            let Ok(info) = engine.info(&name).await else {
                continue;
            };
            let m = info.config.maintenance;
            let now = Instant::now();
            let since = last_vacuum.entry(name.clone()).or_insert(now);
            if now.duration_since(*since) >= nanos(m.vacuum_interval_ns) {
                *since = now;
                if let Ok((dead, total)) = engine.deleted_rows(&name).await {
                    if dead > 0
                        && dead as f64 >= m.delete_threshold * total as f64
                        && engine
                            .vacuum(&name, MAINTENANCE_REST, glommio::timer::sleep, |_, _| {})
                            .await
                            .is_ok()
                    {
                        metrics.count_maintenance("vacuum");
                    }
                }
            }
            if m.graph_retention_ns > 0 {
                let since = last_graph_vacuum.entry(name.clone()).or_insert(now);
                if now.duration_since(*since) >= nanos(m.graph_vacuum_interval_ns) {
                    *since = now;
                    let before = crate::engine::now_nanos() - m.graph_retention_ns;
                    if engine.graph_vacuum(before).await.is_ok() {
                        metrics.count_maintenance("graph_vacuum");
                    }
                }
            }
            if m.refine_enabled {
                let since = last_refine.entry(name.clone()).or_insert(now);
                if now.duration_since(*since) >= nanos(m.refine_interval_ns) {
                    *since = now;
                    let ef = if m.refine_ef_construction == 0 {
                        (info.config.ef_construction as u32).max(200)
                    } else {
                        m.refine_ef_construction
                    };
                    let run = engine.refine(
                        &name,
                        m.refine_batch_size,
                        ef,
                        MAINTENANCE_REST,
                        glommio::timer::sleep,
                        |_, _| {},
                    );
                    if run.await.is_ok() {
                        metrics.count_maintenance("refine");
                    }
                }
            }
        }
    }
}
