//! Every mutation of a shard as an `Op`: the enum and its opcodes here, the versioned
//! binary encoding (the AOF record payload) in `codec.rs`, applying it to a shard in
//! `apply.rs`. Layout of a payload, all integers little-endian:
//!
//! ```text
//! u8 format version (1) | u8 opcode | fields
//! string / bytes: u32 length + bytes          vector: u32 n + n x f32
//! json (index config, metadata): u32 length + UTF-8 JSON
//! 1 CreateIndex: json config      2 DropIndex: string index
//! 3 Upsert: string index, string id, vector, json metadata
//! 4 Delete: string index, string id
//! 5 KvSet: string key, bytes value    6 KvDelete: string key
//! 7 GraphLink: u8 side (0 out, 1 in), string node, string relation, string other,
//!   f32 weight, i64 at (unix ns), json props
//! 8 GraphUnlink: u8 side, string node, string relation, string other, i64 at, u8 hard
//! 9 SetAutoLinks: string index, json rules
//! 10 Compress: string index, string precision ("float16", "int8")
//! 11 Upsert (with time): as 3, then i64 at (unix ns; opcode 3 reads as at = 0)
//! 12 Reinforce: string index, u32 n, n x string id, i64 at
//! 13 Vacuum: string index
//! 14 Refine: string index, u32 from, u32 count, u32 ef
//! 15 SetMaintenance: string index, json maintenance config
//! 16 GraphVacuum: i64 before (unix ns)
//! 17 RepairDone: u32 n, n x string id (self-repair of their edges finished)
//! 18 RepairPending: u32 n, n x string id (queued for self-repair; snapshots)
//! 19 BeginLinkBatch: string index (upserts that follow are linked together at 20)
//! 20 EndLinkBatch: string index
//! ```

mod apply;
mod codec;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::graph::Side;
use crate::index::IndexConfig;

pub const OP_FORMAT_VERSION: u8 = 1;

/// The opcode of each op, as written in payloads (the table above; `docs/design.md`
/// restates it). Numbers are never reused.
pub mod opcode {
    pub const CREATE_INDEX: u8 = 1;
    pub const DROP_INDEX: u8 = 2;
    /// Upsert without a time (format v1 logs; read as `at = 0`, never written).
    pub const UPSERT_V1: u8 = 3;
    pub const DELETE: u8 = 4;
    pub const KV_SET: u8 = 5;
    pub const KV_DELETE: u8 = 6;
    pub const GRAPH_LINK: u8 = 7;
    pub const GRAPH_UNLINK: u8 = 8;
    pub const SET_AUTO_LINKS: u8 = 9;
    pub const COMPRESS: u8 = 10;
    pub const UPSERT: u8 = 11;
    pub const REINFORCE: u8 = 12;
    pub const VACUUM: u8 = 13;
    pub const REFINE: u8 = 14;
    pub const SET_MAINTENANCE: u8 = 15;
    pub const GRAPH_VACUUM: u8 = 16;
    pub const REPAIR_DONE: u8 = 17;
    pub const REPAIR_PENDING: u8 = 18;
    pub const BEGIN_LINK_BATCH: u8 = 19;
    pub const END_LINK_BATCH: u8 = 20;
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    CreateIndex(IndexConfig),
    DropIndex {
        index: String,
    },
    Upsert {
        index: String,
        id: String,
        vector: Vec<f32>,
        metadata: Map<String, Value>,
        /// When it was added (unix ns; memory decay counts from here).
        at: i64,
    },
    Reinforce {
        index: String,
        ids: Vec<String>,
        at: i64,
    },
    /// Repairs the graph around soft-deleted nodes (deterministic: replay repeats it).
    Vacuum {
        index: String,
    },
    SetMaintenance {
        index: String,
        config: crate::index::MaintenanceConfig,
    },
    /// Removes edge versions soft-deleted before `before` (graph retention).
    GraphVacuum {
        before: i64,
    },
    /// The edges of these deleted ids were repaired (self-repair done).
    RepairDone {
        ids: Vec<String>,
    },
    /// These deleted ids await self-repair (written by snapshots; a logged delete
    /// queues its id itself).
    RepairPending {
        ids: Vec<String>,
    },
    /// Re-evaluates the neighbours of nodes `from..from + count` (deterministic).
    Refine {
        index: String,
        from: u32,
        count: u32,
        ef: u32,
    },
    Delete {
        index: String,
        id: String,
    },
    KvSet {
        key: String,
        value: Vec<u8>,
    },
    KvDelete {
        key: String,
    },
    /// One side of an edge: `node -[relation]-> other` (Out) or
    /// `other -[relation]-> node` stored under `node` (In).
    GraphLink {
        side: Side,
        node: String,
        relation: String,
        other: String,
        weight: f32,
        at: i64,
        props: Map<String, Value>,
    },
    GraphUnlink {
        side: Side,
        node: String,
        relation: String,
        other: String,
        at: i64,
        hard: bool,
    },
    SetAutoLinks {
        index: String,
        rules: Vec<crate::index::AutoLinkRule>,
    },
    Compress {
        index: String,
        precision: crate::metric::Precision,
    },
    /// The upserts into `index` that follow are pushed unlinked until
    /// [`Op::EndLinkBatch`] (`Index::begin_batch_linking`), so replay builds the
    /// same graph as the batch insertion that logged them.
    BeginLinkBatch {
        index: String,
    },
    /// Links the nodes pushed since [`Op::BeginLinkBatch`] (`Hnsw::link_batch`; the
    /// graph does not depend on how many threads linked it).
    EndLinkBatch {
        index: String,
    },
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum OpDecodeError {
    #[error("payload cut short")]
    Truncated,
    #[error("unknown payload format version {0}")]
    Version(u8),
    #[error("unknown opcode {0}")]
    Opcode(u8),
    #[error("unknown edge side byte {0}")]
    Side(u8),
    #[error("invalid UTF-8 in a string field")]
    Utf8,
    #[error("invalid JSON field: {0}")]
    Json(String),
    #[error("{0} trailing bytes after the op")]
    Trailing(usize),
}

#[cfg(test)]
mod tests {
    //! Every op round-trips through its encoding; damaged payloads are errors, not
    //! panics.
    use super::*;
    use proptest::prelude::*;

    fn ops() -> Vec<Op> {
        vec![
            Op::CreateIndex(IndexConfig::new("docs")),
            Op::DropIndex {
                index: "docs".into(),
            },
            Op::Upsert {
                index: "docs".into(),
                id: "é1".into(),
                vector: vec![1.5, -0.0, f32::MIN_POSITIVE],
                metadata: serde_json::json!({"a": [1, "x"], "b": {"c": null}})
                    .as_object()
                    .cloned()
                    .unwrap(),
                at: 1_700_000_000_000_000_000,
            },
            Op::Delete {
                index: "docs".into(),
                id: "x".into(),
            },
            Op::KvSet {
                key: "k".into(),
                value: vec![0, 255, 7],
            },
            Op::KvDelete { key: "k".into() },
            Op::GraphLink {
                side: Side::In,
                node: "b".into(),
                relation: "next".into(),
                other: "a".into(),
                weight: 0.5,
                at: -3,
                props: serde_json::json!({"p": 1}).as_object().cloned().unwrap(),
            },
            Op::Reinforce {
                index: "docs".into(),
                ids: vec!["a".into(), "b".into()],
                at: 42,
            },
            Op::Vacuum {
                index: "docs".into(),
            },
            Op::GraphVacuum { before: 123 },
            Op::RepairDone {
                ids: vec!["a".into(), "b".into()],
            },
            Op::RepairPending { ids: vec![] },
            Op::SetMaintenance {
                index: "docs".into(),
                config: crate::index::MaintenanceConfig::default(),
            },
            Op::Refine {
                index: "docs".into(),
                from: 3,
                count: 500,
                ef: 200,
            },
            Op::GraphUnlink {
                side: Side::Out,
                node: "a".into(),
                relation: "next".into(),
                other: "b".into(),
                at: 1_700_000_000_000_000_000,
                hard: true,
            },
            Op::SetAutoLinks {
                index: "docs".into(),
                rules: vec![crate::index::AutoLinkRule {
                    metadata_field: "parent".into(),
                    relation_type: "child_of".into(),
                    create_node: true,
                }],
            },
            Op::Compress {
                index: "docs".into(),
                precision: crate::metric::Precision::Int8,
            },
            Op::BeginLinkBatch {
                index: "docs".into(),
            },
            Op::EndLinkBatch {
                index: "docs".into(),
            },
        ]
    }

    /// A number per variant; the match is exhaustive, so a new variant does not
    /// compile until it has one, and `VARIANTS` then asks for a sample of it.
    fn variant(op: &Op) -> usize {
        match op {
            Op::CreateIndex(_) => 0,
            Op::DropIndex { .. } => 1,
            Op::Upsert { .. } => 2,
            Op::Reinforce { .. } => 3,
            Op::Vacuum { .. } => 4,
            Op::SetMaintenance { .. } => 5,
            Op::GraphVacuum { .. } => 6,
            Op::RepairDone { .. } => 7,
            Op::RepairPending { .. } => 8,
            Op::Refine { .. } => 9,
            Op::Delete { .. } => 10,
            Op::KvSet { .. } => 11,
            Op::KvDelete { .. } => 12,
            Op::GraphLink { .. } => 13,
            Op::GraphUnlink { .. } => 14,
            Op::SetAutoLinks { .. } => 15,
            Op::Compress { .. } => 16,
            Op::BeginLinkBatch { .. } => 17,
            Op::EndLinkBatch { .. } => 18,
        }
    }
    const VARIANTS: usize = 19;

    #[test]
    fn the_samples_cover_every_variant() {
        let mut seen = [false; VARIANTS];
        for op in ops() {
            seen[variant(&op)] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    #[test]
    fn round_trip() {
        for op in ops() {
            let mut b = Vec::new();
            op.encode(&mut b);
            assert_eq!(Op::decode(&b), Ok(op.clone()));
            for cut in 0..b.len() {
                assert!(Op::decode(&b[..cut]).is_err());
            }
            let mut long = b.clone();
            long.push(0);
            assert_eq!(Op::decode(&long), Err(OpDecodeError::Trailing(1)));
        }
        assert_eq!(Op::decode(&[9, 1]), Err(OpDecodeError::Version(9)));
        assert_eq!(Op::decode(&[1, 77]), Err(OpDecodeError::Opcode(77)));
    }

    proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Op::decode(&b);
        }
    }
}
