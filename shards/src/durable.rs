//! A shard with an append-only log: every mutation is applied, encoded as an `Op`
//! record into a pending buffer, and made durable by `commit` (one write and, with
//! `FsyncPolicy::Always`, one fsync for everything pending: group commit). The
//! owner acknowledges writes only after `commit` returned Ok. `recover` rebuilds the
//! shard from its log: a torn tail is truncated; corruption in the middle refuses to
//! start (with its offset) unless told to skip it.

use std::time::{Duration, Instant};

use kektordb_io::record::{self, Tail};
use kektordb_io::storage::Storage;
use thiserror::Error;

use crate::error::ShardError;
use crate::op::{Op, OpDecodeError};
use crate::shard::Shard;

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
    #[error("log record at byte {offset} does not apply: {error}")]
    Apply { offset: u64, error: ShardError },
}

/// What recovery found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveryReport {
    pub records: usize,
    pub truncated_bytes: u64,
    /// (offset, bytes skipped) of corrupt regions skipped on request.
    pub skipped: Vec<(u64, u64)>,
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
        }
    }

    /// Rebuilds the shard from `log` and keeps appending to it.
    pub fn recover(
        mut log: S,
        fsync: FsyncPolicy,
        skip_corrupt: bool,
    ) -> Result<(DurableShard<S>, RecoveryReport), RecoverError> {
        let bytes = log.read_all()?;
        let mut shard = Shard::new();
        let mut report = RecoveryReport::default();
        let mut base = 0u64;
        loop {
            let d = record::decode_all(&bytes[base as usize..]);
            let mut off = base;
            for payload in &d.records {
                let op = Op::decode(payload)
                    .map_err(|error| RecoverError::BadOp { offset: off, error })?;
                shard
                    .apply(op)
                    .map_err(|error| RecoverError::Apply { offset: off, error })?;
                off += (record::HEADER_BYTES + payload.len()) as u64;
                report.records += 1;
            }
            match d.tail {
                Tail::Clean => break,
                Tail::Torn { offset } => {
                    let at = base + offset;
                    report.truncated_bytes = bytes.len() as u64 - at;
                    log.truncate(at)?;
                    break;
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
        let compacted_bytes = log.len();
        Ok((
            DurableShard {
                shard,
                log: Some(log),
                pending: Vec::new(),
                payload: Vec::new(),
                fsync,
                unsynced: false,
                last_sync: Instant::now(),
                changes: 0,
                compacted_at: Instant::now(),
                compacted_bytes,
                importing: false,
            },
            report,
        ))
    }

    pub fn shard(&self) -> &Shard {
        &self.shard
    }

    /// Applies `op`; when it succeeds and there is a log, queues its record.
    pub fn apply(&mut self, op: Op) -> Result<(), ShardError> {
        if self.log.is_none() {
            return self.shard.apply(op);
        }
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
        self.shard.apply(op)?;
        if self.log.is_some() {
            self.importing = true;
            self.changes += 1;
        }
        Ok(())
    }

    /// Writes every queued record and syncs as the policy says. Writes applied since
    /// the last commit may be acknowledged once this returns Ok.
    pub fn commit(&mut self) -> std::io::Result<()> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if !self.pending.is_empty() {
            log.append(&self.pending)?;
            self.pending.clear();
            self.unsynced = true;
        }
        let due = match self.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::EverySec => self.last_sync.elapsed() >= Duration::from_secs(1),
            FsyncPolicy::No => false,
        };
        if due && self.unsynced {
            log.sync()?;
            self.unsynced = false;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Syncs if anything written is not yet synced (the `EverySec` timer).
    pub fn sync_if_unsynced(&mut self) -> std::io::Result<()> {
        if let (Some(log), true) = (self.log.as_mut(), self.unsynced) {
            log.sync()?;
            self.unsynced = false;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Bytes in the log.
    pub fn log_bytes(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.len())
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

    /// Compacts the log: commits what is pending, writes the ops that rebuild the
    /// current state into `fresh`, syncs it, and continues appending there. The
    /// caller makes `fresh` the log (rename, directory sync) and drops the old one;
    /// until then the old log still describes the same state.
    pub fn compact_into(&mut self, mut fresh: S) -> std::io::Result<u64> {
        if self.log.is_none() {
            return Ok(0);
        }
        self.commit()?;
        let mut buf = Vec::with_capacity(1 << 20);
        for op in self.shard.state_ops() {
            self.payload.clear();
            op.encode(&mut self.payload);
            record::encode(&self.payload, &mut buf);
            if buf.len() >= 8 << 20 {
                fresh.append(&buf)?;
                buf.clear();
            }
        }
        fresh.append(&buf)?;
        fresh.sync()?;
        self.compacted_bytes = fresh.len();
        self.log = Some(fresh);
        self.unsynced = false;
        self.changes = 0;
        self.compacted_at = Instant::now();
        self.importing = false;
        Ok(self.compacted_bytes)
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
    fn compaction_rebuilds_the_same_state_from_a_smaller_log() {
        let ops = workload();
        let (mut d, _) =
            DurableShard::recover(MemStorage::default(), FsyncPolicy::Always, false).unwrap();
        for op in &ops {
            d.apply(op.clone()).unwrap();
        }
        d.commit().unwrap();
        let before = d.log_bytes();
        let expected = state(d.shard());
        let after = d.compact_into(MemStorage::default()).unwrap();
        assert!(after < before, "compacted {after} >= original {before}");
        // More writes go to the compacted log.
        d.apply(Op::KvSet {
            key: "late".into(),
            value: vec![9],
        })
        .unwrap();
        d.commit().unwrap();
        let log = d.log.take().unwrap();
        let (r, _) = DurableShard::recover(log, FsyncPolicy::Always, false).unwrap();
        let (items, mut kv) = expected;
        kv.push(("late".into(), vec![9]));
        kv.sort();
        assert_eq!(state(r.shard()), (items, kv));
        let policy = CompactPolicy {
            save: Some((Duration::ZERO, 1)),
            rewrite_percentage: None,
        };
        assert!(!r.compaction_due(&policy), "no writes since recovery");
    }

    #[test]
    fn unlogged_import_is_lost_on_crash_and_kept_by_compaction() {
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
        d.compact_into(fresh.clone()).unwrap();
        let (r, _) =
            DurableShard::recover(fresh.after_crash(), FsyncPolicy::Always, false).unwrap();
        assert_eq!(r.shard().kv().get("imported"), Some(&[2u8][..]));
    }

    fn decode_len(b: &[u8]) -> usize {
        record::decode_all(b).records.len()
    }
}
