//! Shard executors: one glommio `LocalExecutor` (io_uring) per shard, pinned to a
//! CPU, owning its durable shard. Jobs arrive over a bounded channel. The loop takes
//! every job already waiting (up to `GROUP_JOBS_MAX`), runs them, then commits the
//! shard's log once — one write and one fsync for the whole group — and only then
//! acknowledges the writes among them (group commit). Reads answer as they run.
//! Snapshots are copied on the executor and written by a background thread (see
//! `logfiles.rs`), so the shard keeps serving while one is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};
use kektordb_io::storage::FileStorage;
use kektordb_shards::durable::{CompactPolicy, DurableShard};

use super::error::{EngineError, Result};
use super::logfiles::{ShardLog, SnapshotDone};

/// A shard with its log, as an executor owns it.
pub type Ctx = DurableShard<FileStorage>;

/// Everything an executor owns: the durable shard, its log files (None in memory)
/// and when to compact them on its own.
pub struct ShardState {
    pub ctx: Ctx,
    pub files: Option<ShardLog>,
    pub policy: CompactPolicy,
}

impl ShardState {
    /// Starts a snapshot (None in memory); the receiver reports when it is durable.
    pub fn snapshot(&mut self) -> std::result::Result<Option<SnapshotDone>, String> {
        match self.files.as_mut() {
            Some(files) => files
                .snapshot(&mut self.ctx)
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    /// Whether a snapshot is being written in the background.
    pub fn snapshot_busy(&self) -> bool {
        self.files.as_ref().is_some_and(ShardLog::busy)
    }
}

impl std::ops::Deref for ShardState {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl std::ops::DerefMut for ShardState {
    fn deref_mut(&mut self) -> &mut Ctx {
        &mut self.ctx
    }
}
/// Sent the outcome of the commit that covers a write.
pub type Ack = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
/// A unit of work: runs on the shard's thread; returns an `Ack` if it wrote.
pub type Job = Box<dyn FnOnce(&mut ShardState) -> Option<Ack> + Send>;

/// Jobs queued per shard before senders wait (backpressure).
pub const MAILBOX_JOBS_MAX: usize = 4_096;
/// Most jobs that share one commit.
pub const GROUP_JOBS_MAX: usize = 1_024;

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

/// Starts one executor per shard. `pin` binds shard `i` to CPU `i % cpus`;
/// `sync_every` adds a timer that syncs unsynced log bytes (fsync everysec).
pub fn start(
    shards: Vec<ShardState>,
    pin: bool,
    sync_every: Option<Duration>,
) -> Result<Executors> {
    let n = shards.len();
    let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
    let io_memory = io_memory_bytes(n);
    let mut mailboxes = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let stop = Arc::new(AtomicBool::new(false));
    for (i, mut ctx) in shards.into_iter().enumerate() {
        let (tx, rx) = flume::bounded::<Job>(MAILBOX_JOBS_MAX);
        let placement = if pin {
            Placement::Fixed(i % cpus)
        } else {
            Placement::Unbound
        };
        let stop_flag = stop.clone();
        let ticker_tx = tx.downgrade();
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{i}"))
            .io_memory(io_memory)
            .spawn(move || async move {
                if let Some(every) = sync_every {
                    glommio::spawn_local(async move {
                        loop {
                            glommio::timer::sleep(every).await;
                            let Some(tx) = ticker_tx.upgrade() else { break };
                            let job: Job = Box::new(|ctx| {
                                let _ = ctx.sync_if_unsynced();
                                None
                            });
                            if tx.send_async(job).await.is_err() {
                                break;
                            }
                        }
                    })
                    .detach();
                }
                let mut acks: Vec<Ack> = Vec::new();
                while let Ok(job) = rx.recv_async().await {
                    acks.extend(job(&mut ctx));
                    for _ in 1..GROUP_JOBS_MAX {
                        match rx.try_recv() {
                            Ok(job) => acks.extend(job(&mut ctx)),
                            Err(_) => break,
                        }
                    }
                    let outcome = ctx.commit().map_err(|e| e.to_string());
                    for ack in acks.drain(..) {
                        ack(outcome.clone());
                    }
                    if outcome.is_ok() && !ctx.snapshot_busy() && ctx.compaction_due(&ctx.policy) {
                        if let Err(e) = ctx.snapshot() {
                            eprintln!("kektordb: shard {i}: snapshot failed: {e}");
                        }
                    }
                    if stop_flag.load(Ordering::Acquire) {
                        break;
                    }
                }
                if let Some(files) = ctx.files.as_mut() {
                    files.wait();
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
