//! When a durable shard syncs its log and when it takes a snapshot on its own.

use std::time::Duration;

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

    /// Whether a commit syncs now; `second_passed`: the everysec timer fired (or a
    /// second passed since the last sync).
    pub fn sync_due(self, second_passed: bool) -> bool {
        match self {
            FsyncPolicy::Always => true,
            FsyncPolicy::EverySec => second_passed,
            FsyncPolicy::No => false,
        }
    }
}

/// When a shard takes a snapshot on its own (and starts a fresh log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SnapshotPolicy {
    /// `-save "S C"`: after S seconds if at least C writes happened since.
    pub save: Option<(Duration, u64)>,
    /// `-aof-rewrite-percentage P`: when the log grew by P% since the last
    /// snapshot (and is over [`SNAPSHOT_LOG_BYTES_MIN`]).
    pub rewrite_percentage: Option<u64>,
}

/// Logs smaller than this never trigger a snapshot by the growth rule.
pub const SNAPSHOT_LOG_BYTES_MIN: u64 = 1 << 20;
