//! Shard executors: one glommio `LocalExecutor` (io_uring) per shard, pinned to a
//! CPU, owning its durable shard (`state.rs`). This file only starts the threads;
//! jobs arrive over a bounded channel and run in `shard_loop.rs`, which commits the
//! log with group commit.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use super::error::{EngineError, Result};
use super::state::{Job, ShardState};
use crate::limits::{IO_MEMORY_MAX_BYTES, IO_MEMORY_MIN_BYTES, MAILBOX_JOBS_MAX};

/// io_uring registered-buffer memory per executor, sized from RLIMIT_MEMLOCK so the
/// server starts as non-root (glommio registers buffers in three rings).
pub fn io_memory_bytes(executors: usize) -> usize {
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
        .map(|(soft, _)| soft as usize)
        .unwrap_or(8 << 20);
    let per = limit / (3 * executors.max(1) + 1);
    per.clamp(IO_MEMORY_MIN_BYTES, IO_MEMORY_MAX_BYTES)
}

/// Where an executor for CPU slot `cpu` runs: pinned to `cpu % cpus` when `pin`,
/// anywhere otherwise. Shard `i` takes slot `i`; executors started beside the
/// shards (HTTP's) take the slots after them.
pub fn placement(cpu: usize, pin: bool) -> Placement {
    let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
    if pin {
        Placement::Fixed(cpu % cpus)
    } else {
        Placement::Unbound
    }
}

pub struct Executors {
    pub mailboxes: Vec<super::queue::Sender<Job>>,
    /// Set, then wake each executor with any job, to stop them.
    pub stop: Arc<AtomicBool>,
    pub handles: Vec<ExecutorJoinHandle<()>>,
}

/// Starts one executor per shard. `pin` binds shard `i` to CPU `i % cpus`;
/// `sync_every` adds a timer that asks for a sync of unsynced log bytes (fsync
/// everysec); `direct` writes logs with direct I/O and pipelined group commit.
pub fn start(
    shards: Vec<ShardState>,
    pin: bool,
    sync_every: Option<Duration>,
    direct: bool,
) -> Result<Executors> {
    let n = shards.len();
    let io_memory = io_memory_bytes(n);
    let mut mailboxes = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let stop = Arc::new(AtomicBool::new(false));
    for (i, state) in shards.into_iter().enumerate() {
        let (tx, rx) = super::queue::bounded::<Job>(MAILBOX_JOBS_MAX);
        let stop_flag = stop.clone();
        let ticker_tx = tx.downgrade();
        let handle = LocalExecutorBuilder::new(placement(i, pin))
            .name(&format!("shard-{i}"))
            .io_memory(io_memory)
            .spawn(move || async move {
                if let Some(every) = sync_every {
                    glommio::spawn_local(async move {
                        loop {
                            glommio::timer::sleep(every).await;
                            let Some(tx) = ticker_tx.upgrade() else { break };
                            let job: Job = Box::new(|st| {
                                st.sync_due = true;
                                None
                            });
                            if tx.send(job).await.is_err() {
                                break;
                            }
                        }
                    })
                    .detach();
                }
                super::shard_loop::run(i, state, rx, stop_flag, direct).await;
            })
            .map_err(|e| EngineError::Start(format!("shard {i}: {e}")))?;
        mailboxes.push(tx);
        handles.push(handle);
    }
    Ok(Executors {
        mailboxes,
        stop,
        handles,
    })
}
