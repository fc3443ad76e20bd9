//! What a shard executor owns and the messages it takes: the bottom of the engine's
//! module graph: executors, the shard loop and the router use it; it uses only
//! `files` and `commit`.

use kektordb_io::storage::FileStorage;
use kektordb_shards::durable::{DurableShard, SnapshotPolicy};

use super::files::{ShardFiles, SnapshotDone};

/// A shard with its log, as an executor owns it.
pub type Ctx = DurableShard<FileStorage>;

/// Everything an executor owns: the durable shard, its log files (None in memory)
/// and when to snapshot them on its own.
pub struct ShardState {
    pub durable: Ctx,
    pub files: Option<ShardFiles>,
    pub policy: SnapshotPolicy,
    /// Snapshot requests waiting for the log pipeline to drain.
    pub(super) snapshot_waiters: Vec<flume::Sender<std::result::Result<u64, String>>>,
    /// The everysec timer asked for a sync.
    pub(super) sync_due: bool,
}

impl ShardState {
    pub fn new(durable: Ctx, files: Option<ShardFiles>, policy: SnapshotPolicy) -> ShardState {
        ShardState {
            durable,
            files,
            policy,
            snapshot_waiters: Vec::new(),
            sync_due: false,
        }
    }

    /// Asks for a snapshot; it starts once every write before it is in the log.
    pub fn request_snapshot(&mut self) -> SnapshotDone {
        let (tx, rx) = flume::bounded(1);
        self.snapshot_waiters.push(tx);
        rx
    }

    /// Starts a snapshot now (None in memory); the receiver reports when it is
    /// durable. The caller makes sure no record is pending or being written.
    pub(super) fn snapshot(&mut self) -> std::result::Result<Option<SnapshotDone>, String> {
        if self.durable.has_pending() {
            return Err("log records are pending; a snapshot waits for them".into());
        }
        match self.files.as_mut() {
            Some(files) => files
                .snapshot(&mut self.durable)
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

pub use super::commit::Ack;
/// A unit of work: runs on the shard's thread; returns an `Ack` if it wrote.
pub type Job = super::commit::Job<ShardState>;
