//! Asynchronous tasks: a long operation (snapshot, compression, vacuum, refine,
//! graph vacuum) returns a [`Task`] at once and runs on a shard executor as a local
//! future; its status (`started|running|completed|failed`), progress message and
//! error are kept in the registry, which remembers the newest
//! [`crate::limits::TASKS_MAX`] tasks. Every front end reads the same registry.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::error::{EngineError, Result};
use super::Engine;
use crate::limits::TASKS_MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Started,
    Running,
    Completed,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub id: String,
    pub status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reports a task's progress message (on the executor the task runs on).
pub type Progress = Rc<dyn Fn(String)>;

#[derive(Default)]
pub struct Tasks {
    inner: Mutex<(HashMap<String, Task>, VecDeque<String>)>,
    counter: AtomicU64,
}

impl Tasks {
    /// Registers a new task in state `started`.
    pub fn start(&self, what: &str) -> Task {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = kektordb_shards::clock::now_nanos() as u64;
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
            status: TaskStatus::Started,
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
        status: TaskStatus,
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

    /// Every task the registry remembers, newest first.
    pub fn list(&self) -> Vec<Task> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.1.iter()
            .rev()
            .filter_map(|id| g.0.get(id).cloned())
            .collect()
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

impl Engine {
    /// Every remembered task (at most [`TASKS_MAX`]), newest first.
    pub fn tasks(&self) -> Vec<Task> {
        self.inner.tasks.list()
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Result<Task> {
        self.inner
            .tasks
            .get(id)
            .ok_or_else(|| EngineError::TaskNotFound { id: id.to_owned() })
    }

    /// Runs `work` as a task on a shard executor (they take turns); returns the task
    /// as registered. `work` builds the future there; it reports progress and
    /// finishes with a completion message or an error.
    pub async fn spawn_task<W, Fut>(&self, what: &str, work: W) -> Result<Task>
    where
        W: FnOnce(Engine, Progress) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<String, String>> + 'static,
    {
        let task = self.inner.tasks.start(what);
        let (tasks, id, engine) = (self.inner.tasks.clone(), task.id.clone(), self.clone());
        let shard = (self.inner.task_turn.fetch_add(1, Ordering::Relaxed) as usize) % self.shards();
        self.on_executor(shard, move || {
            glommio::spawn_local(run(tasks, id, engine, work)).detach();
        })
        .await?;
        Ok(task)
    }
}

async fn run<W, Fut>(tasks: Arc<Tasks>, id: String, engine: Engine, work: W)
where
    W: FnOnce(Engine, Progress) -> Fut,
    Fut: Future<Output = std::result::Result<String, String>>,
{
    let progress: Progress = {
        let (tasks, id) = (tasks.clone(), id.clone());
        Rc::new(move |msg| tasks.update(&id, TaskStatus::Running, Some(msg), None))
    };
    match work(engine, progress).await {
        Ok(msg) => tasks.update(&id, TaskStatus::Completed, Some(msg), None),
        Err(e) => tasks.update(&id, TaskStatus::Failed, None, Some(e)),
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
        assert_eq!(t.get(&a.id).unwrap().status, TaskStatus::Started);
        t.update(&a.id, TaskStatus::Running, Some("1/2".into()), None);
        t.update(&a.id, TaskStatus::Failed, None, Some("disk full".into()));
        let got = t.get(&a.id).unwrap();
        assert_eq!(
            (
                got.status,
                got.progress_message.as_deref(),
                got.error.as_deref()
            ),
            (TaskStatus::Failed, Some("1/2"), Some("disk full"))
        );
        assert_eq!(
            serde_json::to_value(&got).unwrap()["status"],
            serde_json::json!("failed")
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
