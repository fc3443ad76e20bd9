//! Rebuilding a shard from a snapshot and the logs after it: what can go wrong, what
//! recovery found, and the replay of one log.

use kektordb_io::record::{self, Tail};
use kektordb_io::storage::Storage;
use thiserror::Error;

use crate::error::ShardError;
use crate::op::{Op, OpDecodeError};
use crate::shard::Shard;
use crate::snapshot::SnapshotError;

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

/// Applies every record of `log` to `shard`; a batch the log began and did not end
/// is linked at its end (a batch never spans two logs: a new log starts between
/// requests).
pub(super) fn replay<S: Storage>(
    shard: &mut Shard,
    log: &mut S,
    skip_corrupt: bool,
    report: &mut RecoveryReport,
) -> Result<(), RecoverError> {
    let out = replay_records(shard, log, skip_corrupt, report);
    shard.finish_open_batches();
    out
}

fn replay_records<S: Storage>(
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
