//! Request counters and latency histograms (hdrhistogram), one set per executor so
//! recording takes only that executor's own, uncontended lock; `/metrics` sums them
//! into Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::engine::ShardStats;

#[derive(Default)]
struct Local {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram<u64>>,
}

/// Connection figures of one executor (written by its accept loop).
#[derive(Default)]
pub struct ConnStats {
    pub open: AtomicU64,
    /// Idle connections closed to make room for new ones.
    pub evicted: AtomicU64,
    /// New connections refused because every slot was busy.
    pub refused: AtomicU64,
}

pub struct Metrics {
    per_executor: Vec<Mutex<Local>>,
    pub connections: Vec<ConnStats>,
}

const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

impl Metrics {
    pub fn new(executors: usize) -> Metrics {
        Metrics {
            per_executor: (0..executors)
                .map(|_| Mutex::new(Local::default()))
                .collect(),
            connections: (0..executors).map(|_| ConnStats::default()).collect(),
        }
    }

    pub fn record(&self, executor: usize, route: &'static str, status: u16, took: Duration) {
        let Some(slot) = self.per_executor.get(executor) else {
            return;
        };
        let mut l = slot.lock().unwrap_or_else(|e| e.into_inner());
        *l.requests.entry((route, status)).or_default() += 1;
        let h = l.latency.entry(route).or_insert_with(|| {
            Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static bounds")
        });
        h.saturating_record(took.as_nanos().max(1) as u64);
    }

    /// Prometheus text exposition.
    /// `runs`: background maintenance runs by kind (from the engine).
    pub fn render(&self, shards: &[ShardStats], runs: &[(&'static str, u64)]) -> String {
        let mut requests: BTreeMap<(&'static str, u16), u64> = BTreeMap::new();
        let mut latency: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
        for slot in &self.per_executor {
            let l = slot.lock().unwrap_or_else(|e| e.into_inner());
            for (k, v) in &l.requests {
                *requests.entry(*k).or_default() += v;
            }
            for (route, h) in &l.latency {
                match latency.get_mut(route) {
                    Some(total) => {
                        let _ = total.add(h);
                    }
                    None => {
                        latency.insert(route, h.clone());
                    }
                }
            }
        }
        let mut out = String::new();
        out.push_str("# HELP kektordb_http_requests_total HTTP requests by route and status.\n# TYPE kektordb_http_requests_total counter\n");
        for ((route, status), n) in &requests {
            let _ = writeln!(
                out,
                "kektordb_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP kektordb_http_request_seconds Request latency quantiles by route.\n# TYPE kektordb_http_request_seconds summary\n");
        for (route, h) in &latency {
            for q in QUANTILES {
                let _ = writeln!(
                    out,
                    "kektordb_http_request_seconds{{route=\"{route}\",quantile=\"{q}\"}} {:.9}",
                    h.value_at_quantile(q) as f64 / 1e9
                );
            }
            let _ = writeln!(
                out,
                "kektordb_http_request_seconds_count{{route=\"{route}\"}} {}",
                h.len()
            );
        }
        out.push_str("# HELP kektordb_shard_vectors Live items per shard.\n# TYPE kektordb_shard_vectors gauge\n");
        for (i, s) in shards.iter().enumerate() {
            let _ = writeln!(out, "kektordb_shard_vectors{{shard=\"{i}\"}} {}", s.vectors);
        }
        out.push_str("# HELP kektordb_shard_kv_keys KV keys per shard.\n# TYPE kektordb_shard_kv_keys gauge\n");
        for (i, s) in shards.iter().enumerate() {
            let _ = writeln!(out, "kektordb_shard_kv_keys{{shard=\"{i}\"}} {}", s.kv_keys);
        }
        out.push_str("# HELP kektordb_shard_index_bytes Bytes held by index structures per shard.\n# TYPE kektordb_shard_index_bytes gauge\n");
        for (i, s) in shards.iter().enumerate() {
            let m = s.memory;
            let total = m.vectors_bytes
                + m.rescore_bytes
                + m.graph_bytes
                + m.ids_bytes
                + m.metadata_bytes
                + m.text_bytes;
            let _ = writeln!(out, "kektordb_shard_index_bytes{{shard=\"{i}\"}} {total}");
        }
        out.push_str("# HELP kektordb_maintenance_runs_total Background maintenance runs by type.\n# TYPE kektordb_maintenance_runs_total counter\n");
        for (kind, n) in runs {
            let _ = writeln!(
                out,
                "kektordb_maintenance_runs_total{{type=\"{kind}\"}} {n}"
            );
        }
        out.push_str("# HELP kektordb_http_connections Open HTTP connections per executor.\n# TYPE kektordb_http_connections gauge\n");
        for (i, c) in self.connections.iter().enumerate() {
            let _ = writeln!(
                out,
                "kektordb_http_connections{{executor=\"{i}\"}} {}",
                c.open.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP kektordb_http_connections_evicted_total Idle connections closed at the connection cap.\n# TYPE kektordb_http_connections_evicted_total counter\n");
        for (i, c) in self.connections.iter().enumerate() {
            let _ = writeln!(
                out,
                "kektordb_http_connections_evicted_total{{executor=\"{i}\"}} {}",
                c.evicted.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP kektordb_http_connections_refused_total Connections refused at the cap with every slot busy.\n# TYPE kektordb_http_connections_refused_total counter\n");
        for (i, c) in self.connections.iter().enumerate() {
            let _ = writeln!(
                out,
                "kektordb_http_connections_refused_total{{executor=\"{i}\"}} {}",
                c.refused.load(Ordering::Relaxed)
            );
        }
        if let Some(rss) = resident_bytes() {
            out.push_str("# HELP kektordb_resident_bytes Resident memory of the process.\n# TYPE kektordb_resident_bytes gauge\n");
            let _ = writeln!(out, "kektordb_resident_bytes {rss}");
        }
        out
    }
}

/// Resident set size from /proc (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
