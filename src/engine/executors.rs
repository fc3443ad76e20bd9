//! Shard executors: one glommio `LocalExecutor` (io_uring) per shard, pinned to a
//! CPU, owning its `Shard`. Work arrives as owned jobs over a bounded channel and runs
//! to completion on the shard's thread; replies go back over one-shot channels.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};
use kektordb_shards::Shard;

use super::error::{EngineError, Result};

/// A unit of work for one shard.
pub type Job = Box<dyn FnOnce(&mut Shard) + Send>;

/// Jobs queued per shard before senders wait (backpressure).
pub const MAILBOX_JOBS_MAX: usize = 4_096;

/// Smallest io_uring buffer area glommio accepts.
const IO_MEMORY_MIN_BYTES: usize = 512 * 1024;

/// io_uring registered-buffer memory per executor, sized from RLIMIT_MEMLOCK so the
/// server starts as non-root (glommio registers buffers in three rings).
pub fn io_memory_bytes(executors: usize) -> usize {
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
        .map(|(soft, _)| soft as usize)
        .unwrap_or(8 << 20);
    let per = limit / (3 * executors.max(1) + 1);
    per.clamp(IO_MEMORY_MIN_BYTES, 10 << 20)
}

pub struct Executors {
    pub mailboxes: Vec<flume::Sender<Job>>,
    /// Set, then wake each executor with any job, to stop them.
    pub stop: Arc<AtomicBool>,
    pub handles: Vec<ExecutorJoinHandle<()>>,
}

/// Starts `n` shard executors. `pin` binds shard `i` to CPU `i % cpus`.
pub fn start(n: usize, pin: bool) -> Result<Executors> {
    let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
    let io_memory = io_memory_bytes(n);
    let mut mailboxes = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let stop = Arc::new(AtomicBool::new(false));
    for i in 0..n {
        let (tx, rx) = flume::bounded::<Job>(MAILBOX_JOBS_MAX);
        let placement = if pin {
            Placement::Fixed(i % cpus)
        } else {
            Placement::Unbound
        };
        let stop_flag = stop.clone();
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{i}"))
            .io_memory(io_memory)
            .spawn(move || async move {
                let mut shard = Shard::new();
                while let Ok(job) = rx.recv_async().await {
                    job(&mut shard);
                    if stop_flag.load(Ordering::Acquire) {
                        break;
                    }
                }
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
