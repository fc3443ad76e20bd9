//! A shard with an append-only log: every mutation is applied, encoded as an `Op`
//! record into a pending buffer, and made durable by `commit` (one write and, with
//! `FsyncPolicy::Always`, one fsync for everything pending: group commit). The
//! owner acknowledges writes only after `commit` returned Ok. `snapshot_begin` copies
//! the state into a snapshot and switches to a fresh log. `recover_chain` rebuilds
//! the shard from the last snapshot and the logs after it: a torn tail is truncated;
//! corruption in the middle refuses to start (with its offset) unless told to skip
//! it.

use std::time::{Duration, Instant};

use kektordb_io::record::{self, Tail};
use kektordb_io::snapfile::SnapWriter;
use kektordb_io::storage::Storage;
use thiserror::Error;

use crate::error::ShardError;
use crate::op::{Op, OpDecodeError};
use crate::shard::Shard;
use crate::snapshot::{self, SnapshotError};

/// When appended records are fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Before any write is acknowledged (the default).
    Always,
    /// At most once a second: up to a second of acknowledged writes can be lost.
    EverySec,
    /// Never (the OS decides).
    No,
}

impl FsyncPolicy {
    pub fn parse(s: &str) -> Option<FsyncPolicy> {
        match s {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }
}

#[derive(Debug, Error)]
pub enum RecoverError {
    #[error("reading the log: {0}")]
    Io(#[from] std::io::Error),
    #[error("log corrupt at byte {offset}: {error} (valid records follow at byte {resume_at}); start with the skip-corrupt option to skip it")]
    Corrupt {
        offset: u64,
        error: kektordb_io::record::RecordError,
        resume_at: u64,
    },
    #[error("log record at byte {offset} does not decode: {error}")]
    BadOp { offset: u64, error: OpDecodeError },
    #[error("snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    #[error("log record at byte {offset} does not apply: {error}")]
    Apply { offset: u64, error: ShardError },
}

/// What recovery found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveryReport {
    /// Index nodes and bytes loaded from the snapshot (0 without one).
    pub snapshot_nodes: usize,
    pub snapshot_bytes: u64,
    /// Log records replayed.
    pub records: usize,
    pub truncated_bytes: u64,
    /// (offset, bytes skipped) of corrupt regions skipped on request.
    pub skipped: Vec<(u64, u64)>,
    /// What the owner did beyond replaying (a damaged snapshot set aside, a missing
    /// index part re-created), one sentence each, for the operator.
    pub notes: Vec<String>,
}

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

/// When the log is compacted on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CompactPolicy {
    /// `-save "S C"`: after S seconds if at least C writes happened since.
    pub save: Option<(Duration, u64)>,
    /// `-aof-rewrite-percentage P`: when the log grew by P% since the last
    /// compaction (and is over [`COMPACT_BYTES_MIN`]).
    pub rewrite_percentage: Option<u64>,
}

/// Logs smaller than this are never compacted by the growth rule.
pub const COMPACT_BYTES_MIN: u64 = 1 << 20;

pub struct DurableShard<S: Storage> {
    shard: Shard,
    log: Option<S>,
    pending: Vec<u8>,
    payload: Vec<u8>,
    fsync: FsyncPolicy,
    unsynced: bool,
    last_sync: Instant,
    /// Writes applied since the last compaction, when it happened and the log size
    /// it left.
    changes: u64,
    compacted_at: Instant,
    compacted_bytes: u64,
    /// Ops applied without logging (an import) since the last compaction: automatic
    /// compaction waits, so a half-done import never reaches the log.
    importing: bool,
    /// Bytes the owner appended to the log itself since it was opened
    /// ([`DurableShard::take_pending`]).
    appended: u64,
    failed: Option<LogFailure>,
}

impl<S: Storage> DurableShard<S> {
    /// A shard without a log (nothing is persisted).
    pub fn in_memory() -> DurableShard<S> {
        DurableShard {
            shard: Shard::new(),
            log: None,
            pending: Vec::new(),
            payload: Vec::new(),
            fsync: FsyncPolicy::No,
            unsynced: false,
            last_sync: Instant::now(),
            changes: 0,
            compacted_at: Instant::now(),
            compacted_bytes: 0,
            importing: false,
            appended: 0,
            failed: None,
        }
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
        let compacted_bytes = report.snapshot_bytes;
        Ok((
            DurableShard {
                shard,
                log,
                pending: Vec::new(),
                payload: Vec::new(),
                fsync,
                unsynced: false,
                last_sync: Instant::now(),
                changes: 0,
                compacted_at: Instant::now(),
                compacted_bytes,
                importing: false,
                appended: 0,
                failed: None,
            },
            report,
        ))
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

    /// Applies `op` without logging it (import): it is lost on a crash until the
    /// next compaction writes the whole state.
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
        let due = match self.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::EverySec => self.last_sync.elapsed() >= Duration::from_secs(1),
            FsyncPolicy::No => false,
        };
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

    /// Whether `policy` asks for a compaction now.
    pub fn compaction_due(&self, policy: &CompactPolicy) -> bool {
        if self.log.is_none() || self.importing {
            return false;
        }
        let by_save = policy.save.is_some_and(|(every, changes)| {
            self.changes >= changes.max(1) && self.compacted_at.elapsed() >= every
        });
        let size = self.log_bytes();
        let by_growth = policy.rewrite_percentage.is_some_and(|p| {
            size >= COMPACT_BYTES_MIN && size >= self.compacted_bytes.saturating_mul(100 + p) / 100
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
        self.compacted_bytes = w.len() as u64;
        self.appended = 0;
        self.log = Some(fresh);
        self.unsynced = false;
        self.changes = 0;
        self.compacted_at = Instant::now();
        self.importing = false;
        Ok(w)
    }
}

/// Applies every record of `log` to `shard`.
fn replay<S: Storage>(
    shard: &mut Shard,
    log: &mut S,
    skip_corrupt: bool,
    report: &mut RecoveryReport,
) -> Result<(), RecoverError> {
    let bytes = log.read_all()?;
    let mut base = 0u64;
    loop {
        let d = record::decode_all(&bytes[base as usize..]);
        let mut off = base;
        for payload in &d.records {
            let op =
                Op::decode(payload).map_err(|error| RecoverError::BadOp { offset: off, error })?;
            shard
                .apply(op)
                .map_err(|error| RecoverError::Apply { offset: off, error })?;
            off += (record::HEADER_BYTES + payload.len()) as u64;
            report.records += 1;
        }
        match d.tail {
            Tail::Clean => return Ok(()),
            Tail::Torn { offset } => {
                let at = base + offset;
                // Zeros are the block padding of direct-I/O appends, not a torn write.
                if bytes[at as usize..].iter().any(|b| *b != 0) {
                    report.truncated_bytes += bytes.len() as u64 - at;
                }
                log.truncate(at)?;
                return Ok(());
            }
            Tail::Corrupt { offset, error } => {
                let resume = base + d.resume_at.expect("corrupt has a resume point");
                if !skip_corrupt {
                    return Err(RecoverError::Corrupt {
                        offset: base + offset,
                        error,
                        resume_at: resume,
                    });
                }
                report
                    .skipped
                    .push((base + offset, resume - (base + offset)));
                base = resume;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Crash consistency with `CrashStorage`: a scripted workload commits after every
    //! op; for every N, the machine "loses power" at the Nth sync. Recovery must give
    //! exactly the state after some prefix of the ops, and that prefix must contain
    //! every op whose commit returned Ok before the crash point (acknowledged).
    use super::*;
    use crate::index::IndexConfig;
    use kektordb_io::storage::{CrashAt, CrashStorage, MemStorage};
    use serde_json::json;

    fn workload() -> Vec<Op> {
        let mut ops = vec![Op::CreateIndex(IndexConfig::new("i"))];
        for i in 0..12 {
            ops.push(Op::Upsert {
                index: "i".into(),
                id: format!("v{}", i % 7),
                vector: vec![i as f32, 1.0, (i * i) as f32],
                metadata: json!({"n": i}).as_object().cloned().unwrap(),
                at: 1_000 + i as i64,
            });
            if i % 4 == 3 {
                ops.push(Op::Delete {
                    index: "i".into(),
                    id: format!("v{}", i % 5),
                });
            }
            ops.push(Op::KvSet {
                key: format!("k{}", i % 3),
                value: vec![i as u8],
            });
        }
        ops.push(Op::KvDelete { key: "k1".into() });
        ops
    }

    /// A comparable fingerprint of a shard's state.
    /// (items as (id, vector, metadata JSON), KV pairs)
    type State = (Vec<(String, Vec<f32>, String)>, Vec<(String, Vec<u8>)>);

    fn state(s: &Shard) -> State {
        let mut items = Vec::new();
        if let Ok(ix) = s.index("i") {
            for n in 0..7 {
                if let Some(it) = ix.get(&format!("v{n}")) {
                    items.push((
                        it.id,
                        it.vector,
                        serde_json::to_string(&it.metadata).unwrap(),
                    ));
                }
            }
        }
        let mut kv: Vec<(String, Vec<u8>)> = s
            .kv()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect();
        kv.sort();
        (items, kv)
    }

    #[test]
    fn freeze_at_every_sync_recovers_a_prefix_with_every_acknowledged_op() {
        let ops = workload();
        // States after each prefix, from a reference shard.
        let mut reference = Shard::new();
        let mut prefixes = vec![state(&reference)];
        for op in &ops {
            reference.apply(op.clone()).unwrap();
            prefixes.push(state(&reference));
        }
        for n in 1..=ops.len() as u64 + 1 {
            let storage = CrashStorage::new(CrashAt::Freeze(n));
            let (mut d, _) =
                DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
            let mut acked = 0;
            for (i, op) in ops.iter().enumerate() {
                d.apply(op.clone()).unwrap();
                d.commit().unwrap();
                // Syncs before the freeze point made ops durable; later ones did not.
                if (i as u64) + 1 < n {
                    acked = i + 1;
                }
            }
            let (recovered, report) =
                DurableShard::recover(storage.after_crash(), FsyncPolicy::Always, false).unwrap();
            assert_eq!(report.records, acked, "freeze at sync {n}");
            assert_eq!(
                state(recovered.shard()),
                prefixes[acked],
                "freeze at sync {n}"
            );
        }
    }

    #[test]
    fn failed_sync_is_reported_not_acknowledged() {
        let storage = CrashStorage::new(CrashAt::Fail(2));
        let (mut d, _) =
            DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
        d.apply(Op::KvSet {
            key: "a".into(),
            value: vec![1],
        })
        .unwrap();
        assert!(d.commit().is_ok());
        d.apply(Op::KvSet {
            key: "b".into(),
            value: vec![2],
        })
        .unwrap();
        assert!(
            d.commit().is_err(),
            "the caller must not acknowledge this write"
        );
        let (r, _) =
            DurableShard::recover(storage.after_crash(), FsyncPolicy::Always, false).unwrap();
        assert_eq!(r.shard().kv().get("a"), Some(&[1u8][..]));
        assert_eq!(r.shard().kv().get("b"), None);
    }

    #[test]
    fn torn_tail_truncated_and_middle_corruption_refused() {
        let mut log = MemStorage::default();
        {
            let (mut d, _) =
                DurableShard::recover(log.clone(), FsyncPolicy::Always, false).unwrap();
            for i in 0..3u8 {
                d.apply(Op::KvSet {
                    key: format!("k{i}"),
                    value: vec![i],
                })
                .unwrap();
            }
            d.commit().unwrap();
            log = d.log.take().unwrap();
        }
        let full = log.bytes.clone();
        // Torn tail: cut inside the last record.
        let mut torn = MemStorage {
            bytes: full[..full.len() - 2].to_vec(),
        };
        let (d, report) = DurableShard::recover(torn.clone(), FsyncPolicy::Always, false).unwrap();
        assert_eq!((report.records, d.shard().kv().len()), (2, 2));
        assert!(report.truncated_bytes > 0);
        torn = d.log.unwrap();
        assert_eq!(decode_len(&torn.bytes), 2, "the torn bytes were truncated");
        // Corruption in the middle record: refused, with its offset; skipped on request.
        let mut bad = full.clone();
        let second = record::HEADER_BYTES + (full.len() / 3 - record::HEADER_BYTES);
        bad[second + record::HEADER_BYTES] ^= 0xFF;
        match DurableShard::recover(
            MemStorage { bytes: bad.clone() },
            FsyncPolicy::Always,
            false,
        ) {
            Err(RecoverError::Corrupt { offset, .. }) => assert_eq!(offset as usize, second),
            other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r)),
        }
        let (d, report) =
            DurableShard::recover(MemStorage { bytes: bad }, FsyncPolicy::Always, true).unwrap();
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(d.shard().kv().len(), 2);
    }

    #[test]
    fn snapshot_then_fresh_log_rebuilds_the_state_with_or_without_the_snapshot() {
        let ops = workload();
        let (mut d, _) =
            DurableShard::recover(MemStorage::default(), FsyncPolicy::Always, false).unwrap();
        let (first, second) = ops.split_at(ops.len() / 2);
        for op in first {
            d.apply(op.clone()).unwrap();
        }
        d.commit().unwrap();
        let old = d.log.clone().unwrap();
        let snap = d.snapshot_begin(MemStorage::default()).unwrap().finish();
        for op in second {
            d.apply(op.clone()).unwrap();
        }
        d.commit().unwrap();
        let fresh = d.log.clone().unwrap();
        let expected = state(d.shard());
        // The snapshot landed: it plus the fresh log.
        let (r, report) = DurableShard::recover_chain(
            Some(&snap),
            vec![fresh.clone()],
            FsyncPolicy::Always,
            false,
        )
        .unwrap();
        assert_eq!(state(r.shard()), expected);
        assert_eq!(report.records, second.len());
        // It did not (crash while writing it): the old log, then the fresh one.
        let (r, _) =
            DurableShard::recover_chain(None, vec![old, fresh], FsyncPolicy::Always, false)
                .unwrap();
        assert_eq!(state(r.shard()), expected);
        let policy = CompactPolicy {
            save: Some((Duration::ZERO, 1)),
            rewrite_percentage: None,
        };
        assert!(!r.compaction_due(&policy), "no writes since recovery");
    }

    #[test]
    fn unlogged_import_is_lost_on_crash_and_kept_by_a_snapshot() {
        let storage = CrashStorage::new(CrashAt::Never);
        let (mut d, _) =
            DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
        d.apply(Op::KvSet {
            key: "logged".into(),
            value: vec![1],
        })
        .unwrap();
        d.apply_unlogged(Op::KvSet {
            key: "imported".into(),
            value: vec![2],
        })
        .unwrap();
        d.commit().unwrap();
        let policy = CompactPolicy {
            save: Some((Duration::ZERO, 1)),
            rewrite_percentage: Some(0),
        };
        assert!(
            !d.compaction_due(&policy),
            "no automatic compaction in the middle of an import"
        );
        let (r, _) =
            DurableShard::recover(storage.after_crash(), FsyncPolicy::Always, false).unwrap();
        assert_eq!(
            (r.shard().kv().get("logged"), r.shard().kv().get("imported")),
            (Some(&[1u8][..]), None)
        );
        let fresh = CrashStorage::new(CrashAt::Never);
        let snap = d.snapshot_begin(fresh.clone()).unwrap().finish();
        let (r, _) = DurableShard::recover_chain(
            Some(&snap),
            vec![fresh.after_crash()],
            FsyncPolicy::Always,
            false,
        )
        .unwrap();
        assert_eq!(r.shard().kv().get("imported"), Some(&[2u8][..]));
    }

    fn decode_len(b: &[u8]) -> usize {
        record::decode_all(b).records.len()
    }
}
