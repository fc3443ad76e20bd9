//! A shard with an append-only log: every mutation is applied, encoded as an `Op`
//! record into a pending buffer, and made durable by `commit` (one write and, with
//! `FsyncPolicy::Always`, one fsync for everything pending: group commit). The
//! owner acknowledges writes only after `commit` returned Ok. `snapshot_begin` copies
//! the state into a snapshot and switches to a fresh log. `recover_chain` rebuilds
//! the shard from the last snapshot and the logs after it: a torn tail is truncated;
//! corruption in the middle refuses to start (with its offset) unless told to skip
//! it.

mod policy;
mod recover;

use std::time::{Duration, Instant};

use kektordb_io::record;
use kektordb_io::snapfile::SnapWriter;
use kektordb_io::storage::Storage;

use crate::error::ShardError;
use crate::op::Op;
use crate::parallel::ParallelFor;
use crate::shard::Shard;
use crate::snapshot;

pub use policy::{FsyncPolicy, SnapshotPolicy, SNAPSHOT_LOG_BYTES_MIN};
use recover::replay;
pub use recover::{RecoverError, RecoveryReport};

/// Why the log cannot be written. While a shard has one, every logged write is
/// refused before it applies ([`ShardError::LogUnavailable`]); reads go on.
#[derive(Clone, Debug, PartialEq)]
pub struct LogFailure {
    pub reason: String,
    /// A failed write (EPERM, ENOSPC) is retried: the file is cut back to its last
    /// good length and the pending records written again; success clears the
    /// failure. A failed fsync is not retried: after one, the kernel may have
    /// dropped the dirty pages, so a later successful fsync would prove nothing.
    /// The shard stays read-only until restart.
    pub retryable: bool,
}

pub struct DurableShard<S: Storage> {
    shard: Shard,
    log: Option<S>,
    pending: Vec<u8>,
    payload: Vec<u8>,
    fsync: FsyncPolicy,
    unsynced: bool,
    last_sync: Instant,
    /// Writes applied since the last snapshot, when it happened and the log size
    /// it left.
    changes: u64,
    last_snapshot_at: Instant,
    last_snapshot_bytes: u64,
    /// Ops applied without logging (an import) since the last snapshot: automatic
    /// snapshots wait, so a half-done import never reaches the log.
    importing: bool,
    /// Bytes the owner appended to the log itself since it was opened
    /// ([`DurableShard::take_pending`]).
    appended: u64,
    failed: Option<LogFailure>,
}

impl<S: Storage> DurableShard<S> {
    fn new(shard: Shard, log: Option<S>, fsync: FsyncPolicy, last_snapshot_bytes: u64) -> Self {
        DurableShard {
            shard,
            log,
            pending: Vec::new(),
            payload: Vec::new(),
            fsync,
            unsynced: false,
            last_sync: Instant::now(),
            changes: 0,
            last_snapshot_at: Instant::now(),
            last_snapshot_bytes,
            importing: false,
            appended: 0,
            failed: None,
        }
    }

    /// A shard without a log (nothing is persisted).
    pub fn in_memory() -> DurableShard<S> {
        Self::new(Shard::new(), None, FsyncPolicy::No, 0)
    }

    /// Rebuilds the shard from `log` alone and keeps appending to it.
    pub fn recover(
        log: S,
        fsync: FsyncPolicy,
        skip_corrupt: bool,
    ) -> Result<(DurableShard<S>, RecoveryReport), RecoverError> {
        Self::recover_chain(None, vec![log], fsync, skip_corrupt)
    }

    /// Rebuilds the shard from a snapshot (if any) and the logs written after it,
    /// oldest first, and keeps appending to the last log. Each log's torn tail is
    /// truncated; corruption in the middle refuses to start unless skipped.
    pub fn recover_chain(
        snapshot: Option<&[u8]>,
        mut logs: Vec<S>,
        fsync: FsyncPolicy,
        skip_corrupt: bool,
    ) -> Result<(DurableShard<S>, RecoveryReport), RecoverError> {
        let mut report = RecoveryReport::default();
        let mut shard = match snapshot {
            Some(bytes) => {
                let (shard, nodes) = snapshot::decode(bytes)?;
                report.snapshot_nodes = nodes;
                report.snapshot_bytes = bytes.len() as u64;
                shard
            }
            None => Shard::new(),
        };
        for log in &mut logs {
            replay(&mut shard, log, skip_corrupt, &mut report)?;
        }
        let log = logs.pop();
        let bytes = report.snapshot_bytes;
        Ok((Self::new(shard, log, fsync, bytes), report))
    }

    pub fn shard(&self) -> &Shard {
        &self.shard
    }

    /// The shard, for changes that are not logged: maintenance steps that prepare a
    /// logged op (`Index::vacuum_step`, `Index::compress_step`) and soft state that
    /// may be lost in a crash and is kept by the next snapshot (retrieval boosts of
    /// memory decay). Never for anything an acknowledgement promises.
    pub fn prepare_mut(&mut self) -> &mut Shard {
        &mut self.shard
    }

    /// Applies `op`; when it succeeds and there is a log, queues its record. Refused
    /// while the log cannot be written ([`DurableShard::log_failure`]).
    pub fn apply(&mut self, op: Op) -> Result<(), ShardError> {
        if self.log.is_none() {
            return self.shard.apply(op);
        }
        self.refuse_if_failed()?;
        self.payload.clear();
        op.encode(&mut self.payload);
        self.shard.apply(op)?;
        record::encode(&self.payload, &mut self.pending);
        self.changes += 1;
        Ok(())
    }

    /// Runs `f` (which applies upserts to `index`) with their graph linking deferred,
    /// then links the new nodes in batches whose searches run on `par`'s threads
    /// (`Index::with_batch_linking`); the ops are logged as `f` applies them, between
    /// [`Op::BeginLinkBatch`] and [`Op::EndLinkBatch`], so replay links them the same
    /// way and rebuilds the same graph. The graph is whole again before this
    /// returns, so before any commit acknowledges them.
    pub fn with_batch_linking<R>(
        &mut self,
        index: &str,
        par: &dyn ParallelFor,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let began = self
            .shard
            .index_mut(index)
            .is_ok_and(|ix| ix.begin_batch_linking());
        if began {
            self.log_only(&Op::BeginLinkBatch {
                index: index.to_owned(),
            });
        }
        let out = f(self);
        if began {
            if let Ok(ix) = self.shard.index_mut(index) {
                ix.finish_batch_linking(par);
                self.log_only(&Op::EndLinkBatch {
                    index: index.to_owned(),
                });
            }
        }
        out
    }

    /// Queues `op`'s record without applying it (the caller made its effect); not
    /// counted as a change. Nothing while the log is refused: the ops around it are
    /// refused too.
    fn log_only(&mut self, op: &Op) {
        if self.log.is_none() || self.failed.is_some() {
            return;
        }
        self.payload.clear();
        op.encode(&mut self.payload);
        record::encode(&self.payload, &mut self.pending);
    }

    /// Applies `op` without logging it (import): it is lost on a crash until the
    /// next snapshot writes the whole state.
    pub fn apply_unlogged(&mut self, op: Op) -> Result<(), ShardError> {
        self.refuse_if_failed()?;
        self.shard.apply(op)?;
        if self.log.is_some() {
            self.importing = true;
            self.changes += 1;
        }
        Ok(())
    }

    fn refuse_if_failed(&self) -> Result<(), ShardError> {
        match &self.failed {
            Some(f) => Err(ShardError::LogUnavailable {
                reason: f.reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Why the log cannot be written, if it cannot.
    pub fn log_failure(&self) -> Option<&LogFailure> {
        self.failed.as_ref()
    }

    /// Records a failed write (`retryable`) or sync of the log, for an owner that
    /// writes the log itself (the server's DMA log).
    pub fn mark_failed(&mut self, reason: String, retryable: bool) {
        let retryable = retryable && self.failed.as_ref().is_none_or(|f| f.retryable);
        self.failed = Some(LogFailure { reason, retryable });
    }

    /// The owner's retry of a retryable failure succeeded.
    pub fn clear_failure(&mut self) {
        if self.failed.as_ref().is_some_and(|f| f.retryable) {
            self.failed = None;
        }
    }

    /// Writes every queued record and syncs as the policy says. Writes applied since
    /// the last commit may be acknowledged once this returns Ok. On an error the
    /// records stay queued and the shard refuses writes ([`LogFailure`]); calling
    /// `commit` again retries a retryable failure and clears it on success.
    pub fn commit(&mut self) -> std::io::Result<()> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if let Some(f) = self.failed.as_ref().filter(|f| !f.retryable) {
            return Err(std::io::Error::other(f.reason.clone()));
        }
        if !self.pending.is_empty() {
            if let Err(e) = log.append(&self.pending) {
                self.mark_failed(format!("log write failed: {e}"), true);
                return Err(e);
            }
            self.pending.clear();
            self.unsynced = true;
        }
        let due = self
            .fsync
            .sync_due(self.last_sync.elapsed() >= Duration::from_secs(1));
        if due && self.unsynced {
            self.sync_now()?;
        }
        self.clear_failure();
        Ok(())
    }

    fn sync_now(&mut self) -> std::io::Result<()> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if let Err(e) = log.sync() {
            self.mark_failed(format!("log sync failed: {e}"), false);
            return Err(e);
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Syncs if anything written is not yet synced (the `EverySec` timer, a clean
    /// stop).
    pub fn sync_if_unsynced(&mut self) -> std::io::Result<()> {
        if self.unsynced {
            self.sync_now()?;
        }
        Ok(())
    }

    /// Bytes in the log.
    pub fn log_bytes(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.len()) + self.appended
    }

    /// For an owner that writes the log itself (the server's DMA log) instead of
    /// [`DurableShard::commit`]: takes the records queued since the last call. The
    /// writes that queued them may be acknowledged once these bytes are written and
    /// synced as the policy says.
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// Puts back records whose write failed, ahead of anything queued since.
    pub fn return_pending(&mut self, mut bytes: Vec<u8>) {
        bytes.extend_from_slice(&self.pending);
        self.pending = bytes;
    }

    /// Records queued and not yet taken or committed.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Counts bytes the owner appended to the log (for the growth rule).
    pub fn note_appended(&mut self, bytes: u64) {
        self.appended += bytes;
    }

    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.fsync
    }

    /// Whether `policy` asks for a snapshot now.
    pub fn snapshot_due(&self, policy: &SnapshotPolicy) -> bool {
        if self.log.is_none() || self.importing {
            return false;
        }
        let by_save = policy.save.is_some_and(|(every, changes)| {
            self.changes >= changes.max(1) && self.last_snapshot_at.elapsed() >= every
        });
        let size = self.log_bytes();
        let by_growth = policy.rewrite_percentage.is_some_and(|p| {
            size >= SNAPSHOT_LOG_BYTES_MIN
                && size >= self.last_snapshot_bytes.saturating_mul(100 + p) / 100
        });
        by_save || by_growth
    }

    /// Starts a snapshot: commits and syncs what is pending, copies the whole state
    /// into a [`SnapWriter`] and continues appending to `fresh` (an empty log). The
    /// snapshot describes the state at the start of `fresh`. The caller finishes
    /// the writer and makes it durable (it may do so on another thread); until it
    /// has, the old log followed by `fresh` still describes the state, so nothing is
    /// lost if the snapshot never lands.
    pub fn snapshot_begin(&mut self, fresh: S) -> std::io::Result<SnapWriter> {
        if self.log.is_some() {
            self.commit()?;
            self.sync_if_unsynced()?;
        }
        let w = snapshot::encode(&self.shard);
        self.last_snapshot_bytes = w.len() as u64;
        self.appended = 0;
        self.log = Some(fresh);
        self.unsynced = false;
        self.changes = 0;
        self.last_snapshot_at = Instant::now();
        self.importing = false;
        Ok(w)
    }
}

#[cfg(test)]
mod tests;
