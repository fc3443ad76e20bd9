//! Asynchronous tasks: a long operation answers `202 {"id","status"}` at once and
//! runs on; `GET /system/tasks/{id}` reports `started|running|completed|failed`, a
//! progress message and the error. The registry keeps the newest `TASKS_MAX` tasks.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

/// Tasks remembered; older ones are forgotten first.
pub const TASKS_MAX: usize = 1_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: String,
    pub status: &'static str,
    pub progress_message: Option<String>,
    pub error: Option<String>,
}

impl Task {
    pub fn to_json(&self) -> Value {
        let mut v = json!({"id": self.id, "status": self.status});
        if let Some(p) = &self.progress_message {
            v["progress_message"] = json!(p);
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        v
    }
}

#[derive(Default)]
pub struct Tasks {
    inner: Mutex<(HashMap<String, Task>, VecDeque<String>)>,
    counter: AtomicU64,
}

impl Tasks {
    /// Registers a new task in state `started`.
    pub fn start(&self, what: &str) -> Task {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng =
            kektordb_shards::rng::SplitMix64(nanos ^ (n << 32) ^ u64::from(std::process::id()));
        let (a, b) = (rng.next_u64(), rng.next_u64());
        let id = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        );
        let task = Task {
            id: id.clone(),
            status: "started",
            progress_message: Some(format!("{what}: started")),
            error: None,
        };
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0.insert(id.clone(), task.clone());
        g.1.push_back(id);
        while g.1.len() > TASKS_MAX {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
        task
    }

    pub fn update(
        &self,
        id: &str,
        status: &'static str,
        progress: Option<String>,
        error: Option<String>,
    ) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = g.0.get_mut(id) {
            t.status = status;
            if progress.is_some() {
                t.progress_message = progress;
            }
            t.error = error;
        }
    }

    pub fn get(&self, id: &str) -> Option<Task> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .get(id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    //! Lifecycle, unique ids and the cap.
    use super::*;

    #[test]
    fn lifecycle_and_cap() {
        let t = Tasks::default();
        let a = t.start("x");
        assert_eq!(t.get(&a.id).unwrap().status, "started");
        t.update(&a.id, "running", Some("1/2".into()), None);
        t.update(&a.id, "failed", None, Some("disk full".into()));
        let got = t.get(&a.id).unwrap();
        assert_eq!(
            (
                got.status,
                got.progress_message.as_deref(),
                got.error.as_deref()
            ),
            ("failed", Some("1/2"), Some("disk full"))
        );
        let mut ids = std::collections::HashSet::new();
        for _ in 0..TASKS_MAX + 5 {
            assert!(ids.insert(t.start("y").id));
        }
        assert!(
            t.get(&a.id).is_none(),
            "the oldest task is forgotten past the cap"
        );
    }
}
