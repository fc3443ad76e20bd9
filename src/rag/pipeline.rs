//! One vectorizer at work: a plain thread (never a shard executor) that scans its
//! folder at start, on every `schedule` tick, shortly after the watcher sees a
//! change (debounced), and on a trigger. A trigger or change during a scan is
//! queued: one more scan follows, nothing is dropped. Engine calls are awaited
//! through the edge runtime; parsing runs on the edge's CPU pool.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kektordb_shards::index::IndexSpec;

use super::config::Vectorizer;
use super::entities::EntityExtractor;
use super::error::RagError;
use super::ingest::{self, Outcome};
use super::source::{self, Filter};
use super::state;
use super::status::{rfc3339, Status};
use crate::edge::Edge;
use crate::engine::Engine;
use crate::limits::{RAG_DEBOUNCE, RAG_PROGRESS_EVERY};

#[derive(Default)]
struct Wake {
    pending: bool,
    changed_at: Option<Instant>,
    stop: bool,
}

pub struct Pipeline {
    pub v: Vectorizer,
    extractor: Option<EntityExtractor>,
    filter: Filter,
    status: Mutex<Status>,
    wake: Mutex<Wake>,
    bell: Condvar,
}

/// What a trigger did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triggered {
    Started,
    /// A scan is running; another one follows it.
    Queued,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pipeline {
    pub fn new(v: Vectorizer, embedder: String, edge: &Edge) -> Result<Pipeline, RagError> {
        let extractor = match &v.entities {
            Some(llm) => Some(EntityExtractor::new(edge, llm)?),
            None => None,
        };
        let filter = Filter::new(&v.include, &v.exclude)?;
        let status = Status {
            name: v.name.clone(),
            index: v.index.clone(),
            source_path: v.root_text.clone(),
            embedder,
            schedule_secs: v.schedule.as_secs(),
            current_state: "starting".into(),
            ..Status::default()
        };
        Ok(Pipeline {
            v,
            extractor,
            filter,
            status: Mutex::new(status),
            wake: Mutex::new(Wake {
                pending: true,
                ..Wake::default()
            }),
            bell: Condvar::new(),
        })
    }

    pub fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    pub fn trigger(&self) -> Triggered {
        let mut w = lock(&self.wake);
        w.pending = true;
        self.bell.notify_all();
        let mut st = lock(&self.status);
        if st.is_running {
            st.queued = true;
            Triggered::Queued
        } else {
            Triggered::Started
        }
    }

    fn changed(&self) {
        let mut w = lock(&self.wake);
        w.changed_at = Some(Instant::now());
        self.bell.notify_all();
        let mut st = lock(&self.status);
        if st.is_running {
            st.queued = true;
        }
    }

    pub fn stop(&self) {
        lock(&self.wake).stop = true;
        self.bell.notify_all();
    }

    fn stopping(&self) -> bool {
        lock(&self.wake).stop
    }

    /// Waits for the next reason to scan; false when stopping.
    fn wait_turn(&self, last: Instant) -> bool {
        let mut w = lock(&self.wake);
        loop {
            if w.stop {
                return false;
            }
            let now = Instant::now();
            if w.pending || now >= last + self.v.schedule {
                break;
            }
            let mut until = last + self.v.schedule;
            if let Some(at) = w.changed_at {
                if now >= at + RAG_DEBOUNCE {
                    break;
                }
                until = until.min(at + RAG_DEBOUNCE);
            }
            w = self
                .bell
                .wait_timeout(w, until.saturating_duration_since(now))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        w.pending = false;
        w.changed_at = None;
        true
    }

    /// The worker's loop (on its own thread).
    pub fn run(self: Arc<Self>, engine: Engine, edge: Edge) {
        let mut watcher = None;
        let mut last = Instant::now();
        while self.wait_turn(last) {
            if self.v.watch && watcher.is_none() {
                watcher = self.watch();
            }
            lock(&self.status).watching = watcher.is_some();
            last = Instant::now();
            let started = ingest::now_ns();
            {
                let mut st = lock(&self.status);
                st.is_running = true;
                st.queued = false;
                st.current_state = "scanning".into();
            }
            let result = edge.block_on(self.scan(&engine, &edge));
            let mut st = lock(&self.status);
            st.is_running = false;
            st.runs += 1;
            st.last_run = Some(rfc3339(started));
            st.last_run_ms = Some(last.elapsed().as_millis() as u64);
            match result {
                Ok(()) => {
                    st.last_error = None;
                    st.current_state = "idle".into();
                }
                Err(e) => {
                    eprintln!("kektordb: vectorizer '{}': {e}", self.v.name);
                    st.last_error = Some(e.to_string());
                    st.current_state = "error".into();
                }
            }
        }
    }

    fn watch(self: &Arc<Self>) -> Option<notify::RecommendedWatcher> {
        use notify::{RecursiveMode, Watcher};
        let me = Arc::downgrade(self);
        let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let (Ok(ev), Some(p)) = (ev, me.upgrade()) {
                if !ev.kind.is_access() {
                    p.changed();
                }
            }
        })
        .ok()?;
        match w.watch(&self.v.root, RecursiveMode::Recursive) {
            Ok(()) => Some(w),
            Err(e) => {
                eprintln!(
                    "kektordb: vectorizer '{}': not watching {} ({e}); scanning every {}s",
                    self.v.name,
                    self.v.root.display(),
                    self.v.schedule.as_secs()
                );
                None
            }
        }
    }

    async fn ensure_index(&self, engine: &Engine) -> Result<(), RagError> {
        let c = &self.v.index_config;
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_owned()
            } else {
                s.to_owned()
            }
        };
        let spec = IndexSpec {
            index_name: self.v.index.clone(),
            metric: or(&c.metric, "cosine"),
            precision: or(&c.precision, "float32"),
            m: c.m,
            ef_construction: c.ef_construction,
            text_language: or(&c.text_language, "english"),
            ..IndexSpec::default()
        };
        Ok(engine.ensure_index(spec).await?)
    }

    /// One full reconcile of the folder with the index.
    async fn scan(&self, engine: &Engine, edge: &Edge) -> Result<(), RagError> {
        self.ensure_index(engine).await?;
        let found = source::scan(&self.v.root, &self.filter)?;
        let name = &self.v.name;
        let current: BTreeSet<String> = found.files.iter().map(|f| f.rel.clone()).collect();
        let known = state::known_files(engine, name).await?;
        // Record new files before ingesting them (see state.rs).
        let union: BTreeSet<String> = known.union(&current).cloned().collect();
        if union != known {
            state::set_known_files(engine, name, &union).await?;
        }
        {
            let mut st = lock(&self.status);
            st.files_seen = found.files.len();
            st.progress.total = found.files.len();
            st.progress.done = 0;
            st.files_ingested = 0;
            st.files_unchanged = 0;
            st.files_removed = 0;
            st.failures.retain(|k, _| current.contains(k));
            for (dir, why) in &found.unreadable {
                st.fail(dir, format!("cannot list folder: {why}"));
            }
            if found.truncated {
                st.last_error = Some(format!(
                    "more than {} files match; the rest are not indexed",
                    crate::limits::RAG_FILES_MAX
                ));
            }
            st.files_failed = st.failures.len();
        }
        // Deleted or renamed-away files first.
        for rel in known.difference(&current) {
            let old = state::file_state(engine, name, rel).await?;
            ingest::remove_file(engine, &self.v, rel, old.as_ref()).await?;
            lock(&self.status).files_removed += 1;
        }
        if known.difference(&current).next().is_some() {
            state::set_known_files(engine, name, &current).await?;
        }
        let (mut chunks, mut indexed) = (0usize, 0usize);
        let mut last_log = Instant::now();
        for (i, f) in found.files.iter().enumerate() {
            if self.stopping() {
                return Ok(());
            }
            let old = state::file_state(engine, name, &f.rel).await?;
            let fast_same = old
                .as_ref()
                .is_some_and(|o| o.size == f.size && o.mtime_ns == f.mtime_ns);
            let outcome = if fast_same {
                Ok(Outcome::Unchanged)
            } else {
                ingest::ingest(
                    engine,
                    edge,
                    &self.v,
                    f,
                    old.as_ref(),
                    self.extractor.as_ref(),
                )
                .await
            };
            let mut st = lock(&self.status);
            st.progress.done = i + 1;
            match outcome {
                Ok(Outcome::Unchanged) => {
                    st.files_unchanged += 1;
                    st.failures.remove(&f.rel);
                    let n = old.map_or(0, |o| o.chunk_count);
                    chunks += n;
                    indexed += usize::from(n > 0);
                }
                Ok(Outcome::Ingested {
                    chunks: n,
                    embed_ms,
                }) => {
                    st.files_ingested += 1;
                    st.failures.remove(&f.rel);
                    st.chunks_embedded_total += n as u64;
                    st.embed_ms_total += embed_ms;
                    chunks += n;
                    indexed += usize::from(n > 0);
                }
                Err(reason) => {
                    st.fail(&f.rel, reason);
                    chunks += old.map_or(0, |o| o.chunk_count);
                }
            }
            st.files_failed = st.failures.len();
            if last_log.elapsed() >= RAG_PROGRESS_EVERY {
                last_log = Instant::now();
                eprintln!(
                    "kektordb: vectorizer '{name}': {}/{} files ({} ingested, {} failed)",
                    i + 1,
                    found.files.len(),
                    st.files_ingested,
                    st.files_failed
                );
            }
        }
        let mut st = lock(&self.status);
        st.chunks = chunks;
        st.files_indexed = indexed;
        Ok(())
    }
}

/// How long a stop waits for a pipeline's thread.
pub const STOP_WAIT: Duration = Duration::from_secs(10);
