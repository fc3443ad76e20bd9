//! Every mutation of a shard as an `Op`, its versioned binary encoding (the AOF
//! record payload), and applying it. Layout of a payload, all integers little-endian:
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
//! ```

use serde_json::{Map, Value};
use thiserror::Error;

use crate::error::ShardError;
use crate::graph::Side;
use crate::index::IndexConfig;
use crate::shard::Shard;

pub const OP_FORMAT_VERSION: u8 = 1;

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
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum OpDecodeError {
    #[error("payload cut short")]
    Truncated,
    #[error("unknown payload format version {0}")]
    Version(u8),
    #[error("unknown opcode {0}")]
    Opcode(u8),
    #[error("invalid UTF-8 in a string field")]
    Utf8,
    #[error("invalid JSON field: {0}")]
    Json(String),
    #[error("{0} trailing bytes after the op")]
    Trailing(usize),
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// A list of ids: u32 count, then each as a string.
fn put_ids(out: &mut Vec<u8>, ids: &[String]) {
    out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for id in ids {
        put_bytes(out, id.as_bytes());
    }
}

impl Op {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(OP_FORMAT_VERSION);
        match self {
            Op::CreateIndex(cfg) => {
                out.push(1);
                put_bytes(out, &serde_json::to_vec(cfg).expect("config serializes"));
            }
            Op::DropIndex { index } => {
                out.push(2);
                put_bytes(out, index.as_bytes());
            }
            Op::Upsert {
                index,
                id,
                vector,
                metadata,
                at,
            } => {
                out.push(11);
                put_bytes(out, index.as_bytes());
                put_bytes(out, id.as_bytes());
                out.extend_from_slice(&(vector.len() as u32).to_le_bytes());
                for x in vector {
                    out.extend_from_slice(&x.to_le_bytes());
                }
                put_bytes(
                    out,
                    &serde_json::to_vec(metadata).expect("metadata serializes"),
                );
                out.extend_from_slice(&at.to_le_bytes());
            }
            Op::SetMaintenance { index, config } => {
                out.push(15);
                put_bytes(out, index.as_bytes());
                put_bytes(out, &serde_json::to_vec(config).expect("config serializes"));
            }
            Op::GraphVacuum { before } => {
                out.push(16);
                out.extend_from_slice(&before.to_le_bytes());
            }
            Op::RepairDone { ids } | Op::RepairPending { ids } => {
                out.push(if matches!(self, Op::RepairDone { .. }) {
                    17
                } else {
                    18
                });
                put_ids(out, ids);
            }
            Op::Vacuum { index } => {
                out.push(13);
                put_bytes(out, index.as_bytes());
            }
            Op::Refine {
                index,
                from,
                count,
                ef,
            } => {
                out.push(14);
                put_bytes(out, index.as_bytes());
                for v in [from, count, ef] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Op::Reinforce { index, ids, at } => {
                out.push(12);
                put_bytes(out, index.as_bytes());
                put_ids(out, ids);
                out.extend_from_slice(&at.to_le_bytes());
            }
            Op::Delete { index, id } => {
                out.push(4);
                put_bytes(out, index.as_bytes());
                put_bytes(out, id.as_bytes());
            }
            Op::KvSet { key, value } => {
                out.push(5);
                put_bytes(out, key.as_bytes());
                put_bytes(out, value);
            }
            Op::KvDelete { key } => {
                out.push(6);
                put_bytes(out, key.as_bytes());
            }
            Op::GraphLink {
                side,
                node,
                relation,
                other,
                weight,
                at,
                props,
            } => {
                out.push(7);
                out.push(side_byte(*side));
                put_bytes(out, node.as_bytes());
                put_bytes(out, relation.as_bytes());
                put_bytes(out, other.as_bytes());
                out.extend_from_slice(&weight.to_le_bytes());
                out.extend_from_slice(&at.to_le_bytes());
                put_bytes(out, &serde_json::to_vec(props).expect("props serialize"));
            }
            Op::GraphUnlink {
                side,
                node,
                relation,
                other,
                at,
                hard,
            } => {
                out.push(8);
                out.push(side_byte(*side));
                put_bytes(out, node.as_bytes());
                put_bytes(out, relation.as_bytes());
                put_bytes(out, other.as_bytes());
                out.extend_from_slice(&at.to_le_bytes());
                out.push(u8::from(*hard));
            }
            Op::SetAutoLinks { index, rules } => {
                out.push(9);
                put_bytes(out, index.as_bytes());
                put_bytes(out, &serde_json::to_vec(rules).expect("rules serialize"));
            }
            Op::Compress { index, precision } => {
                out.push(10);
                put_bytes(out, index.as_bytes());
                put_bytes(out, precision.as_str().as_bytes());
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Op, OpDecodeError> {
        let mut r = Reader { b: bytes, at: 0 };
        let version = r.u8()?;
        if version != OP_FORMAT_VERSION {
            return Err(OpDecodeError::Version(version));
        }
        let opcode = r.u8()?;
        let op = match opcode {
            1 => Op::CreateIndex(r.json()?),
            2 => Op::DropIndex { index: r.string()? },
            3 => Op::Upsert {
                index: r.string()?,
                id: r.string()?,
                vector: r.vector()?,
                metadata: r.json()?,
                at: 0,
            },
            11 => Op::Upsert {
                index: r.string()?,
                id: r.string()?,
                vector: r.vector()?,
                metadata: r.json()?,
                at: r.i64()?,
            },
            13 => Op::Vacuum { index: r.string()? },
            16 => Op::GraphVacuum { before: r.i64()? },
            17 | 18 => {
                let ids = r.ids()?;
                if opcode == 17 {
                    Op::RepairDone { ids }
                } else {
                    Op::RepairPending { ids }
                }
            }
            15 => Op::SetMaintenance {
                index: r.string()?,
                config: r.json()?,
            },
            14 => Op::Refine {
                index: r.string()?,
                from: r.u32()? as u32,
                count: r.u32()? as u32,
                ef: r.u32()? as u32,
            },
            12 => Op::Reinforce {
                index: r.string()?,
                ids: r.ids()?,
                at: r.i64()?,
            },
            4 => Op::Delete {
                index: r.string()?,
                id: r.string()?,
            },
            5 => Op::KvSet {
                key: r.string()?,
                value: r.bytes()?.to_vec(),
            },
            6 => Op::KvDelete { key: r.string()? },
            7 => Op::GraphLink {
                side: r.side()?,
                node: r.string()?,
                relation: r.string()?,
                other: r.string()?,
                weight: f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes")),
                at: i64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes")),
                props: r.json()?,
            },
            8 => Op::GraphUnlink {
                side: r.side()?,
                node: r.string()?,
                relation: r.string()?,
                other: r.string()?,
                at: i64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes")),
                hard: r.u8()? != 0,
            },
            9 => Op::SetAutoLinks {
                index: r.string()?,
                rules: r.json()?,
            },
            10 => Op::Compress {
                index: r.string()?,
                precision: {
                    let p = r.string()?;
                    crate::metric::Precision::parse(&p)
                        .ok_or(OpDecodeError::Json(format!("unknown precision {p}")))?
                },
            },
            other => return Err(OpDecodeError::Opcode(other)),
        };
        match bytes.len() - r.at {
            0 => Ok(op),
            n => Err(OpDecodeError::Trailing(n)),
        }
    }
}

fn side_byte(side: Side) -> u8 {
    match side {
        Side::Out => 0,
        Side::In => 1,
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], OpDecodeError> {
        let end = self.at.checked_add(n).ok_or(OpDecodeError::Truncated)?;
        let s = self.b.get(self.at..end).ok_or(OpDecodeError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn i64(&mut self) -> Result<i64, OpDecodeError> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn u8(&mut self) -> Result<u8, OpDecodeError> {
        Ok(self.take(1)?[0])
    }
    fn side(&mut self) -> Result<Side, OpDecodeError> {
        match self.u8()? {
            0 => Ok(Side::Out),
            1 => Ok(Side::In),
            other => Err(OpDecodeError::Opcode(other)),
        }
    }
    fn u32(&mut self) -> Result<usize, OpDecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn bytes(&mut self) -> Result<&'a [u8], OpDecodeError> {
        let n = self.u32()?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, OpDecodeError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| OpDecodeError::Utf8)
    }
    fn ids(&mut self) -> Result<Vec<String>, OpDecodeError> {
        let n = self.u32()?;
        let mut ids = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            ids.push(self.string()?);
        }
        Ok(ids)
    }
    fn vector(&mut self) -> Result<Vec<f32>, OpDecodeError> {
        let n = self.u32()?;
        let raw = self.take(n.checked_mul(4).ok_or(OpDecodeError::Truncated)?)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
    fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, OpDecodeError> {
        serde_json::from_slice(self.bytes()?).map_err(|e| OpDecodeError::Json(e.to_string()))
    }
}

impl Shard {
    /// The ops that rebuild everything of this shard's state except the indexes'
    /// contents (indexes by name with their current config, KV keys by name, graph
    /// edges with their versions, ids awaiting self-repair): the first section of a
    /// snapshot.
    pub fn structure_ops(&self) -> impl Iterator<Item = Op> + '_ {
        let mut indexes: Vec<&crate::index::Index> = self.indexes().collect();
        indexes.sort_by(|a, b| a.config().name.cmp(&b.config().name));
        let mut keys: Vec<(&str, &[u8])> = self.kv().iter().collect();
        keys.sort();
        indexes
            .into_iter()
            .map(|ix| Op::CreateIndex(ix.config().clone()))
            .chain(keys.into_iter().map(|(k, v)| Op::KvSet {
                key: k.to_owned(),
                value: v.to_vec(),
            }))
            .chain([Side::Out, Side::In].into_iter().flat_map(move |side| {
                self.graph()
                    .all_versions(side)
                    .flat_map(move |(node, relation, e)| {
                        let link = Op::GraphLink {
                            side,
                            node: node.to_owned(),
                            relation: relation.to_owned(),
                            other: e.other.clone(),
                            weight: e.weight,
                            at: e.created,
                            props: e.props.clone(),
                        };
                        let unlink = e.deleted.map(|at| Op::GraphUnlink {
                            side,
                            node: node.to_owned(),
                            relation: relation.to_owned(),
                            other: e.other.clone(),
                            at,
                            hard: false,
                        });
                        std::iter::once(link).chain(unlink)
                    })
            }))
            .chain({
                let ids = self.graph().pending_repairs(usize::MAX);
                (!ids.is_empty()).then_some(Op::RepairPending { ids })
            })
    }

    /// Applies one op. Replaying a log applies exactly the ops that succeeded when
    /// they were logged, in the same order, so it reproduces the same state.
    pub fn apply(&mut self, op: Op) -> Result<(), ShardError> {
        match op {
            Op::CreateIndex(cfg) => self.create_index(cfg),
            Op::DropIndex { index } => {
                self.drop_index(&index);
                Ok(())
            }
            Op::Upsert {
                index,
                id,
                vector,
                metadata,
                at,
            } => {
                let ix = self.index_mut(&index)?;
                ix.upsert(&id, &vector, metadata)?;
                ix.touch(&id, at);
                Ok(())
            }
            Op::Vacuum { index } => {
                self.index_mut(&index)?.vacuum();
                Ok(())
            }
            Op::SetMaintenance { index, config } => self.index_mut(&index)?.set_maintenance(config),
            Op::GraphVacuum { before } => {
                self.graph_mut().vacuum(before);
                Ok(())
            }
            Op::RepairDone { ids } => {
                self.graph_mut().repair_done(&ids);
                Ok(())
            }
            Op::RepairPending { ids } => {
                for id in &ids {
                    self.graph_mut().mark_repair(id);
                }
                Ok(())
            }
            Op::Refine {
                index,
                from,
                count,
                ef,
            } => {
                self.index_mut(&index)?.refine(from, count, ef as usize);
                Ok(())
            }
            Op::Reinforce { index, ids, at } => {
                let ix = self.index_mut(&index)?;
                for id in &ids {
                    ix.touch(id, at);
                }
                Ok(())
            }
            Op::Delete { index, id } => {
                if self.delete(&index, &id)? && self.graph().has_live_edges(&id) {
                    self.graph_mut().mark_repair(&id);
                }
                Ok(())
            }
            Op::KvSet { key, value } => self.kv_mut().set(&key, value),
            Op::KvDelete { key } => {
                self.kv_mut().delete(&key);
                Ok(())
            }
            Op::GraphLink {
                side,
                node,
                relation,
                other,
                weight,
                at,
                props,
            } => {
                crate::graph::check_relation(&relation)?;
                crate::graph::check_props(&props)?;
                let edge = crate::graph::Edge {
                    other,
                    created: at,
                    deleted: None,
                    weight,
                    props,
                };
                self.graph_mut().link(side, &node, &relation, edge);
                Ok(())
            }
            Op::GraphUnlink {
                side,
                node,
                relation,
                other,
                at,
                hard,
            } => {
                self.graph_mut()
                    .unlink(side, &node, &relation, &other, at, hard);
                Ok(())
            }
            Op::SetAutoLinks { index, rules } => self.index_mut(&index)?.set_auto_links(rules),
            Op::Compress { index, precision } => self.index_mut(&index)?.compress(precision),
        }
    }
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
        ]
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
