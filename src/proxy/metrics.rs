//! The proxy's counters and latencies, served as Prometheus text on
//! `GET /metrics` of the proxy's port: requests by route, blocks, cache hits and
//! misses, degraded stages, upstream errors, the upstream's time to its answer
//! head, and the latency each stage adds (hdrhistogram, microseconds).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::wire::Api;

/// Stages whose added latency is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading and parsing the request.
    Inspect,
    StaticFirewall,
    /// Embedding the user's text (firewall, cache, RAG share it).
    Embed,
    SemanticFirewall,
    CacheLookup,
    Rag,
    /// Everything the proxy did before the upstream call started.
    Added,
    /// The upstream's time to its answer head.
    Upstream,
}

const STAGES: [(Stage, &str); 8] = [
    (Stage::Inspect, "inspect"),
    (Stage::StaticFirewall, "static_firewall"),
    (Stage::Embed, "embed"),
    (Stage::SemanticFirewall, "semantic_firewall"),
    (Stage::CacheLookup, "cache_lookup"),
    (Stage::Rag, "rag"),
    (Stage::Added, "added"),
    (Stage::Upstream, "upstream"),
];

/// Counters with a label each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    BlockStatic,
    BlockSemantic,
    CacheHitExact,
    CacheHitSemantic,
    CacheMiss,
    CacheStored,
    CacheEvicted,
    CacheExpired,
    CacheInvalidated,
    DegradedEmbed,
    DegradedFirewall,
    DegradedCache,
    DegradedRag,
    DegradedRewrite,
    DegradedHyde,
    Rewritten,
    HydeUsed,
    RagInjected,
    RagNoContext,
    UpstreamUnreachable,
    UpstreamTimeout,
    UpstreamOther,
    BadRequest,
}

const COUNTS: [(Count, &str, &str); 23] = [
    (
        Count::BlockStatic,
        "kektor_proxy_blocks_total",
        "kind=\"static\"",
    ),
    (
        Count::BlockSemantic,
        "kektor_proxy_blocks_total",
        "kind=\"semantic\"",
    ),
    (
        Count::CacheHitExact,
        "kektor_proxy_cache_total",
        "result=\"hit\",match=\"exact\"",
    ),
    (
        Count::CacheHitSemantic,
        "kektor_proxy_cache_total",
        "result=\"hit\",match=\"semantic\"",
    ),
    (
        Count::CacheMiss,
        "kektor_proxy_cache_total",
        "result=\"miss\"",
    ),
    (
        Count::CacheStored,
        "kektor_proxy_cache_entries_total",
        "event=\"stored\"",
    ),
    (
        Count::CacheEvicted,
        "kektor_proxy_cache_entries_total",
        "event=\"evicted_lru\"",
    ),
    (
        Count::CacheExpired,
        "kektor_proxy_cache_entries_total",
        "event=\"expired\"",
    ),
    (
        Count::CacheInvalidated,
        "kektor_proxy_cache_entries_total",
        "event=\"invalidated\"",
    ),
    (
        Count::DegradedEmbed,
        "kektor_proxy_degraded_total",
        "stage=\"embed\"",
    ),
    (
        Count::DegradedFirewall,
        "kektor_proxy_degraded_total",
        "stage=\"semantic_firewall\"",
    ),
    (
        Count::DegradedCache,
        "kektor_proxy_degraded_total",
        "stage=\"cache\"",
    ),
    (
        Count::DegradedRag,
        "kektor_proxy_degraded_total",
        "stage=\"rag\"",
    ),
    (
        Count::DegradedRewrite,
        "kektor_proxy_degraded_total",
        "stage=\"rewrite\"",
    ),
    (
        Count::DegradedHyde,
        "kektor_proxy_degraded_total",
        "stage=\"hyde\"",
    ),
    (Count::Rewritten, "kektor_proxy_rag_rewritten_total", ""),
    (Count::HydeUsed, "kektor_proxy_rag_hyde_total", ""),
    (
        Count::RagInjected,
        "kektor_proxy_rag_total",
        "result=\"injected\"",
    ),
    (
        Count::RagNoContext,
        "kektor_proxy_rag_total",
        "result=\"no_context\"",
    ),
    (
        Count::UpstreamUnreachable,
        "kektor_proxy_upstream_errors_total",
        "kind=\"unreachable\"",
    ),
    (
        Count::UpstreamTimeout,
        "kektor_proxy_upstream_errors_total",
        "kind=\"timeout\"",
    ),
    (
        Count::UpstreamOther,
        "kektor_proxy_upstream_errors_total",
        "kind=\"other\"",
    ),
    (Count::BadRequest, "kektor_proxy_bad_requests_total", ""),
];

/// Routes counted: the four inspected APIs, everything passed through, the
/// proxy's own endpoints.
const ROUTES: [&str; 6] = [
    "openai_chat",
    "openai_completions",
    "ollama_chat",
    "ollama_generate",
    "passthrough",
    "proxy",
];

pub struct Metrics {
    requests: [AtomicU64; 6],
    counts: [AtomicU64; 23],
    stages: Vec<Mutex<Histogram<u64>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Default::default(),
            counts: Default::default(),
            stages: STAGES
                .iter()
                .map(|_| {
                    Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("bounds"))
                })
                .collect(),
        }
    }
}

/// Which route a request counts under.
#[derive(Clone, Copy, Debug)]
pub enum Route {
    Api(Api),
    Passthrough,
    Proxy,
}

impl Metrics {
    pub fn request(&self, r: Route) {
        let i = match r {
            Route::Api(a) => Api::ALL.iter().position(|x| *x == a).unwrap_or(0),
            Route::Passthrough => 4,
            Route::Proxy => 5,
        };
        self.requests[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self, c: Count) {
        if let Some(i) = COUNTS.iter().position(|(x, _, _)| *x == c) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, c: Count) -> u64 {
        COUNTS
            .iter()
            .position(|(x, _, _)| *x == c)
            .map_or(0, |i| self.counts[i].load(Ordering::Relaxed))
    }

    pub fn time(&self, s: Stage, d: Duration) {
        if let Some(i) = STAGES.iter().position(|(x, _)| *x == s) {
            let us = (d.as_micros() as u64).clamp(1, 3_600_000_000);
            if let Ok(mut h) = self.stages[i].lock() {
                let _ = h.record(us);
            }
        }
    }

    /// The same figures as JSON, for the dashboard (`GET /system/proxy`):
    /// requests by route, every counter by name and labels, p50/p99 of each stage
    /// in milliseconds.
    pub fn snapshot(&self) -> serde_json::Value {
        let requests: serde_json::Map<String, serde_json::Value> = ROUTES
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    (*r).to_owned(),
                    self.requests[i].load(Ordering::Relaxed).into(),
                )
            })
            .collect();
        let counts: Vec<serde_json::Value> = COUNTS
            .iter()
            .enumerate()
            .map(|(i, (_, name, labels))| {
                serde_json::json!({"name": name, "labels": labels,
                    "value": self.counts[i].load(Ordering::Relaxed)})
            })
            .collect();
        let stages: serde_json::Map<String, serde_json::Value> = STAGES
            .iter()
            .enumerate()
            .filter_map(|(i, (_, name))| {
                let h = self.stages[i].lock().ok()?;
                let ms = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
                Some((
                    (*name).to_owned(),
                    serde_json::json!({"count": h.len(), "p50_ms": ms(0.5), "p99_ms": ms(0.99)}),
                ))
            })
            .collect();
        serde_json::json!({"requests": requests, "counts": counts, "stages": stages})
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP kektor_proxy_requests_total Requests the proxy received, by route.\n# TYPE kektor_proxy_requests_total counter\n");
        for (i, r) in ROUTES.iter().enumerate() {
            let n = self.requests[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "kektor_proxy_requests_total{{route=\"{r}\"}} {n}");
        }
        let mut last = "";
        for (i, (_, name, labels)) in COUNTS.iter().enumerate() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let n = self.counts[i].load(Ordering::Relaxed);
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {n}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {n}");
            }
        }
        out.push_str("# HELP kektor_proxy_stage_seconds Latency of each stage (added is all the proxy did before calling the upstream; upstream is the upstream's time to its answer head).\n# TYPE kektor_proxy_stage_seconds summary\n");
        for (i, (_, name)) in STAGES.iter().enumerate() {
            let Ok(h) = self.stages[i].lock() else {
                continue;
            };
            for q in [0.5, 0.9, 0.99] {
                let v = h.value_at_quantile(q) as f64 / 1e6;
                let _ = writeln!(
                    out,
                    "kektor_proxy_stage_seconds{{stage=\"{name}\",quantile=\"{q}\"}} {v}"
                );
            }
            let sum = h.mean() * h.len() as f64 / 1e6;
            let _ = writeln!(
                out,
                "kektor_proxy_stage_seconds_sum{{stage=\"{name}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "kektor_proxy_stage_seconds_count{{stage=\"{name}\"}} {}",
                h.len()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series() {
        let m = Metrics::default();
        m.request(Route::Api(Api::OllamaChat));
        m.count(Count::BlockSemantic);
        m.time(Stage::Added, Duration::from_micros(250));
        let t = m.render();
        assert!(
            t.contains("kektor_proxy_requests_total{route=\"ollama_chat\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("kektor_proxy_blocks_total{kind=\"semantic\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("kektor_proxy_stage_seconds_count{stage=\"added\"} 1"),
            "{t}"
        );
        assert_eq!(m.get(Count::BlockSemantic), 1);
    }
}
