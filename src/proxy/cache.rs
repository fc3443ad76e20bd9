//! The semantic cache. An answer is found by an exact match first (a hash of the
//! API and the whole request), then by the nearest earlier question within
//! `cache_threshold` cosine distance among entries whose model, sampling
//! parameters, streaming flag and earlier turns are equal (the params key).
//! Entries live in the engine, so they are logged and recovered with the data:
//! an item of `cache_index` per entry (the question's vector, metadata `query`,
//! `created_at`, `params`, `exact`, `sources`, `kind`) and the answer's bytes in
//! the KV store (`_proxy_cache:<index>:<id>`), streams as the frames the upstream
//! sent. `cache_ttl` is enforced by a sweeper (and on every hit);
//! `max_cache_items` by evicting the least recently used entry (upstream stops
//! adding instead). `POST /cache/invalidate {"document_id"}` drops the entries
//! whose answer used that chunk or document.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::config::ProxyConfig;
use super::error::ProxyError;
use super::firewall::cosine_distance;
use super::metrics::{Count, Metrics};
use crate::engine::SearchQuery;
use crate::limits::PROXY_CACHE_NEIGHBOURS;
use crate::{Engine, NewItem};
use kektordb_shards::index::{GoDuration, IndexSpec, MaintenancePatch};

struct Entry {
    exact: String,
    created_ns: i64,
    used: u64,
    sources: Vec<String>,
}

#[derive(Default)]
struct State {
    by_id: HashMap<String, Entry>,
    by_exact: HashMap<String, String>,
    lru: BTreeMap<u64, String>,
    tick: u64,
}

impl State {
    fn touch(&mut self, id: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.by_id.get_mut(id) {
            self.lru.remove(&e.used);
            e.used = tick;
            self.lru.insert(tick, id.to_owned());
        }
    }

    fn insert(&mut self, id: String, mut e: Entry) {
        self.tick += 1;
        e.used = self.tick;
        self.lru.insert(e.used, id.clone());
        self.by_exact.insert(e.exact.clone(), id.clone());
        self.by_id.insert(id, e);
    }

    fn forget(&mut self, id: &str) -> bool {
        match self.by_id.remove(id) {
            Some(e) => {
                self.lru.remove(&e.used);
                if self.by_exact.get(&e.exact).is_some_and(|x| x == id) {
                    self.by_exact.remove(&e.exact);
                }
                true
            }
            None => false,
        }
    }
}

/// A cached answer.
pub struct Hit {
    pub id: String,
    pub content_type: String,
    pub stream: bool,
    pub body: Bytes,
    /// The cosine distance of a semantic hit; None for an exact one.
    pub distance: Option<f32>,
}

/// What is stored with an answer.
pub struct NewEntry {
    pub exact: String,
    pub params: String,
    pub vector: Option<Vec<f32>>,
    pub query: String,
    pub sources: Vec<String>,
    pub content_type: String,
    pub stream: bool,
}

pub struct Cache {
    engine: Engine,
    index: String,
    threshold: f32,
    ttl_ns: i64,
    max: usize,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
    seq: AtomicU64,
}

fn now_ns() -> i64 {
    kektordb_shards::index::now_nanos()
}

impl Cache {
    /// Opens the cache: creates `cache_index` when missing (cosine, M 16, ef 200,
    /// vacuum by `cache_vacuum_interval` / `cache_delete_threshold`, as upstream)
    /// and reloads the entries a previous run left.
    pub async fn open(
        engine: &Engine,
        cfg: &ProxyConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Cache, ProxyError> {
        if engine.config(&cfg.cache_index).is_err() {
            let spec = IndexSpec {
                index_name: cfg.cache_index.clone(),
                metric: "cosine".into(),
                precision: String::new(),
                m: 16,
                ef_construction: 200,
                text_language: String::new(),
                maintenance: Some(MaintenancePatch {
                    vacuum_interval: Some(GoDuration(cfg.cache_vacuum_interval.as_nanos() as i64)),
                    delete_threshold: Some(cfg.cache_delete_threshold),
                    ..MaintenancePatch::default()
                }),
                auto_links: None,
                memory_config: None,
            };
            match engine.create_index_from(spec).await {
                Ok(()) => {}
                // Created meanwhile by someone else: fine.
                Err(_) if engine.config(&cfg.cache_index).is_ok() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let cache = Cache {
            engine: engine.clone(),
            index: cfg.cache_index.clone(),
            threshold: cfg.cache_threshold,
            ttl_ns: cfg.cache_ttl.as_nanos().min(i64::MAX as u128) as i64,
            max: cfg.max_cache_items,
            state: Mutex::new(State::default()),
            metrics,
            seq: AtomicU64::new(0),
        };
        let mut items = engine
            .find_nodes(
                &cache.index,
                "kind = 'proxy_cache'",
                cache.max.saturating_mul(2),
            )
            .await?;
        items.sort_by_key(|i| i.touched);
        {
            let mut st = cache.lock();
            for it in items {
                let m = &it.metadata;
                st.insert(
                    it.id.clone(),
                    Entry {
                        exact: m
                            .get("exact")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        created_ns: (m.get("created_at").and_then(Value::as_f64).unwrap_or(0.0)
                            * 1e9) as i64,
                        used: 0,
                        sources: sources_of(m),
                    },
                );
            }
        }
        cache.evict_over_max().await;
        Ok(cache)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn kv_key(&self, id: &str) -> String {
        format!("_proxy_cache:{}:{id}", self.index)
    }

    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, e: &Entry, now: i64) -> bool {
        now.saturating_sub(e.created_ns) > self.ttl_ns
    }

    /// The answer stored for this exact request.
    pub async fn exact(&self, key: &str) -> Option<Hit> {
        let (id, expired) = {
            let st = self.lock();
            let id = st.by_exact.get(key)?.clone();
            let expired = self.expired(st.by_id.get(&id)?, now_ns());
            (id, expired)
        };
        if expired {
            self.remove(vec![id], Count::CacheExpired).await;
            return None;
        }
        self.load(id, None).await
    }

    /// The answer of the nearest earlier question with the same params key,
    /// if it is within the threshold.
    pub async fn nearest(&self, vector: &[f32], params: &str) -> Result<Option<Hit>, ProxyError> {
        let config = self.engine.config(&self.index)?;
        let hits = self
            .engine
            .query(&SearchQuery {
                index_name: self.index.clone(),
                k: PROXY_CACHE_NEIGHBOURS,
                query_vector: Some(vector.to_vec()),
                filter: Some(format!("params = '{params}'")),
                ..SearchQuery::default()
            })
            .await?;
        let now = now_ns();
        for h in hits {
            let Some(d) = h.distance.map(|d| cosine_distance(config.metric, d)) else {
                continue;
            };
            if d > self.threshold {
                break;
            }
            let live = {
                let st = self.lock();
                st.by_id.get(&h.id).map(|e| !self.expired(e, now))
            };
            match live {
                Some(true) => {
                    if let Some(hit) = self.load(h.id, Some(d)).await {
                        return Ok(Some(hit));
                    }
                }
                Some(false) => self.remove(vec![h.id], Count::CacheExpired).await,
                None => {}
            }
        }
        Ok(None)
    }

    async fn load(&self, id: String, distance: Option<f32>) -> Option<Hit> {
        let raw = match self.engine.kv_get(&self.kv_key(&id)).await {
            Ok(Some(v)) => Bytes::from(v),
            _ => {
                self.remove(vec![id], Count::CacheExpired).await;
                return None;
            }
        };
        let nl = raw.iter().position(|b| *b == b'\n')?;
        let head: Value = serde_json::from_slice(&raw[..nl]).ok()?;
        self.lock().touch(&id);
        Some(Hit {
            id,
            content_type: head["content_type"]
                .as_str()
                .unwrap_or("application/json")
                .to_owned(),
            stream: head["stream"].as_bool().unwrap_or(false),
            body: raw.slice(nl + 1..),
            distance,
        })
    }

    /// Stores an answer; the least recently used entries go past `max_cache_items`.
    pub async fn store(&self, e: NewEntry, body: Bytes) -> Result<(), ProxyError> {
        let now = now_ns();
        let id = format!("cache_{now}_{}", self.seq.fetch_add(1, Ordering::Relaxed));
        let mut m = Map::new();
        m.insert("kind".into(), json!("proxy_cache"));
        m.insert(
            "query".into(),
            json!(e.query.chars().take(2000).collect::<String>()),
        );
        m.insert("created_at".into(), json!(now as f64 / 1e9));
        m.insert("params".into(), json!(e.params));
        m.insert("exact".into(), json!(e.exact));
        m.insert("sources".into(), json!(e.sources));
        let head = json!({"content_type": e.content_type, "stream": e.stream}).to_string();
        let mut value = Vec::with_capacity(head.len() + 1 + body.len());
        value.extend_from_slice(head.as_bytes());
        value.push(b'\n');
        value.extend_from_slice(&body);
        self.engine.kv_set(&self.kv_key(&id), value).await?;
        self.engine
            .add_batch(
                &self.index,
                vec![NewItem {
                    id: id.clone(),
                    vector: e.vector.unwrap_or_default(),
                    metadata: m,
                }],
            )
            .await?;
        let replaced = {
            let mut st = self.lock();
            let old = st.by_exact.get(&e.exact).cloned();
            st.insert(
                id,
                Entry {
                    exact: e.exact,
                    created_ns: now,
                    used: 0,
                    sources: e.sources,
                },
            );
            old
        };
        self.metrics.count(Count::CacheStored);
        if let Some(old) = replaced {
            self.remove(vec![old], Count::CacheEvicted).await;
        }
        self.evict_over_max().await;
        Ok(())
    }

    async fn evict_over_max(&self) {
        let victims: Vec<String> = {
            let st = self.lock();
            let over = st.by_id.len().saturating_sub(self.max);
            st.lru.values().take(over).cloned().collect()
        };
        if !victims.is_empty() {
            self.remove(victims, Count::CacheEvicted).await;
        }
    }

    /// Removes expired entries; returns how many.
    pub async fn sweep(&self) -> usize {
        let now = now_ns();
        let old: Vec<String> = {
            let st = self.lock();
            st.by_id
                .iter()
                .filter(|(_, e)| self.expired(e, now))
                .map(|(id, _)| id.clone())
                .collect()
        };
        let n = old.len();
        if n > 0 {
            self.remove(old, Count::CacheExpired).await;
        }
        n
    }

    /// Removes the entries whose answer used `document_id` (a chunk id, or a
    /// document id, `doc:<path>`); returns how many.
    pub async fn invalidate(&self, document_id: &str) -> usize {
        let ids: Vec<String> = {
            let st = self.lock();
            st.by_id
                .iter()
                .filter(|(_, e)| e.sources.iter().any(|s| s == document_id))
                .map(|(id, _)| id.clone())
                .collect()
        };
        let n = ids.len();
        self.remove(ids, Count::CacheInvalidated).await;
        n
    }

    async fn remove(&self, ids: Vec<String>, why: Count) {
        for id in ids {
            if !self.lock().forget(&id) {
                continue;
            }
            self.metrics.count(why);
            let _ = self.engine.kv_delete(&self.kv_key(&id)).await;
            if let Err(e) = self.engine.delete(&self.index, &id).await {
                eprintln!("kektordb: proxy: cache: removing {id}: {e}");
            }
        }
    }

    /// Runs the TTL sweeper every `interval` until `stop` says so.
    pub async fn sweeper(
        self: Arc<Self>,
        interval: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            self.sweep().await;
        }
    }
}

fn sources_of(m: &Map<String, Value>) -> Vec<String> {
    match m.get("sources") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}
