//! Shard executors: one glommio `LocalExecutor` (io_uring) per shard, pinned to a
//! CPU, owning its durable shard. Jobs arrive over a bounded channel and run in
//! `shard_loop.rs`, which commits the log with pipelined group commit.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};
use kektordb_io::storage::FileStorage;
use kektordb_shards::durable::{CompactPolicy, DurableShard};

use super::error::{EngineError, Result};
use super::files::{ShardFiles, SnapshotDone};

/// A shard with its log, as an executor owns it.
pub type Ctx = DurableShard<FileStorage>;

/// What a snapshot request is answered with once the snapshot is durable: its size.
pub type SnapshotReply = flume::Receiver<std::result::Result<u64, String>>;

/// Everything an executor owns: the durable shard, its log files (None in memory)
/// and when to snapshot them on its own.
pub struct ShardState {
    pub ctx: Ctx,
    pub files: Option<ShardFiles>,
    pub policy: CompactPolicy,
    /// Snapshot requests waiting for the log pipeline to drain.
    pub(super) snapshot_waiters: Vec<flume::Sender<std::result::Result<u64, String>>>,
    /// The everysec timer asked for a sync.
    pub(super) sync_due: bool,
}

impl ShardState {
    pub fn new(ctx: Ctx, files: Option<ShardFiles>, policy: CompactPolicy) -> ShardState {
        ShardState {
            ctx,
            files,
            policy,
            snapshot_waiters: Vec::new(),
            sync_due: false,
        }
    }

    /// Asks for a snapshot; it starts once every write before it is in the log.
    pub fn request_snapshot(&mut self) -> SnapshotReply {
        let (tx, rx) = flume::bounded(1);
        self.snapshot_waiters.push(tx);
        rx
    }

    /// Starts a snapshot now (None in memory); the receiver reports when it is
    /// durable. The caller makes sure no record is pending or being written.
    pub(super) fn snapshot(&mut self) -> std::result::Result<Option<SnapshotDone>, String> {
        if self.ctx.has_pending() {
            return Err("log records are pending; a snapshot waits for them".into());
        }
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
        self.files.as_ref().is_some_and(ShardFiles::busy)
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
/// Most jobs run between two looks at the log pipeline.
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
/// `sync_every` adds a timer that asks for a sync of unsynced log bytes (fsync
/// everysec); `direct` writes logs with direct I/O and pipelined group commit.
pub fn start(
    shards: Vec<ShardState>,
    pin: bool,
    sync_every: Option<Duration>,
    direct: bool,
) -> Result<Executors> {
    let n = shards.len();
    let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
    let io_memory = io_memory_bytes(n);
    let mut mailboxes = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let stop = Arc::new(AtomicBool::new(false));
    for (i, state) in shards.into_iter().enumerate() {
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
                            let job: Job = Box::new(|st| {
                                st.sync_due = true;
                                None
                            });
                            if tx.send_async(job).await.is_err() {
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
