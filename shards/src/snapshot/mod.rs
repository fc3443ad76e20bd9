//! Shard snapshots: the whole state of a shard in the section container of
//! [`kektordb_io::snapfile`]. Indexes are saved as their raw arrays (vectors, the
//! HNSW level-0 adjacency array, node flags), so loading one is a checksum and a
//! copy out of a memory map, not a rebuild: the graph after a restart is exactly
//! the graph before it. What is small or derived is saved as ops or rebuilt.
//!
//! Sections, in file order (payload layouts in `docs/design.md`):
//! - `OPS`: AOF records (same framing and op encoding as the log) that create every
//!   index with its current config, set every KV key, add every graph edge version
//!   and queue the ids awaiting edge self-repair ([`encode::structure_ops`]).
//! - per index part with at least one node: `INDEX` (head), then `IDS`, `FLAGS`,
//!   `TOUCHED`, `METADATA`, the vector arrays of its precision (`F32`, `F16`, `I8`,
//!   `I8_NORMS`), `LEVELS`, `LINKS0`, `UPPER`.
//!
//! Integers and floats are little-endian; this build refuses big-endian targets.

mod decode;
mod encode;

pub use decode::{decode, decode_sections};
pub use encode::encode;

use thiserror::Error;

#[cfg(target_endian = "big")]
compile_error!(
    "snapshots store arrays in little-endian order; big-endian targets are not supported"
);

pub const OPS: u32 = 1;
pub const INDEX: u32 = 2;
pub const IDS: u32 = 3;
pub const FLAGS: u32 = 4;
pub const TOUCHED: u32 = 5;
pub const METADATA: u32 = 6;
pub const F32: u32 = 7;
pub const F16: u32 = 8;
pub const I8: u32 = 9;
pub const I8_NORMS: u32 = 10;
pub const LEVELS: u32 = 11;
pub const LINKS0: u32 = 12;
pub const UPPER: u32 = 13;

/// `METADATA` length of a node without metadata (a deleted node).
pub const NO_METADATA: u32 = u32::MAX;
/// `INDEX` entry point of an empty graph.
pub const NO_ENTRY: u32 = u32::MAX;

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error(transparent)]
    File(#[from] kektordb_io::snapfile::SnapFileError),
    #[error("snapshot section at byte {offset}: {what}")]
    Malformed { offset: u64, what: String },
}

impl SnapshotError {
    fn at(offset: u64, what: impl Into<String>) -> SnapshotError {
        SnapshotError::Malformed {
            offset,
            what: what.into(),
        }
    }
}

#[cfg(test)]
mod tests;
