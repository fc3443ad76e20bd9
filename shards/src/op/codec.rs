//! The binary encoding of ops: a `Writer` and a `Reader` with the same field
//! vocabulary (string, bytes, i64, u32, ids, vector, JSON), so `encode` and
//! `decode` read side by side.

use super::{opcode, Op, OpDecodeError, OP_FORMAT_VERSION};
use crate::graph::Side;

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn f32(&mut self, v: f32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.out.extend_from_slice(b);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
    /// A list of ids: u32 count, then each as a string.
    fn ids(&mut self, ids: &[String]) -> &mut Self {
        self.u32(ids.len() as u32);
        for id in ids {
            self.str(id);
        }
        self
    }
    fn vector(&mut self, v: &[f32]) -> &mut Self {
        self.u32(v.len() as u32);
        for x in v {
            self.f32(*x);
        }
        self
    }
    fn json<T: serde::Serialize>(&mut self, v: &T) -> &mut Self {
        self.bytes(&serde_json::to_vec(v).expect("ops hold serializable JSON"))
    }
    fn side(&mut self, side: Side) -> &mut Self {
        self.u8(match side {
            Side::Out => 0,
            Side::In => 1,
        })
    }
}

impl Op {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer { out };
        w.u8(OP_FORMAT_VERSION);
        match self {
            Op::CreateIndex(cfg) => {
                w.u8(opcode::CREATE_INDEX).json(cfg);
            }
            Op::DropIndex { index } => {
                w.u8(opcode::DROP_INDEX).str(index);
            }
            Op::Upsert {
                index,
                id,
                vector,
                metadata,
                at,
            } => {
                w.u8(opcode::UPSERT)
                    .str(index)
                    .str(id)
                    .vector(vector)
                    .json(metadata)
                    .i64(*at);
            }
            Op::Delete { index, id } => {
                w.u8(opcode::DELETE).str(index).str(id);
            }
            Op::KvSet { key, value } => {
                w.u8(opcode::KV_SET).str(key).bytes(value);
            }
            Op::KvDelete { key } => {
                w.u8(opcode::KV_DELETE).str(key);
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
                w.u8(opcode::GRAPH_LINK)
                    .side(*side)
                    .str(node)
                    .str(relation)
                    .str(other)
                    .f32(*weight)
                    .i64(*at)
                    .json(props);
            }
            Op::GraphUnlink {
                side,
                node,
                relation,
                other,
                at,
                hard,
            } => {
                w.u8(opcode::GRAPH_UNLINK)
                    .side(*side)
                    .str(node)
                    .str(relation)
                    .str(other)
                    .i64(*at)
                    .u8(u8::from(*hard));
            }
            Op::SetAutoLinks { index, rules } => {
                w.u8(opcode::SET_AUTO_LINKS).str(index).json(rules);
            }
            Op::Compress { index, precision } => {
                w.u8(opcode::COMPRESS).str(index).str(precision.as_str());
            }
            Op::Reinforce { index, ids, at } => {
                w.u8(opcode::REINFORCE).str(index).ids(ids).i64(*at);
            }
            Op::Vacuum { index } => {
                w.u8(opcode::VACUUM).str(index);
            }
            Op::BeginLinkBatch { index } => {
                w.u8(opcode::BEGIN_LINK_BATCH).str(index);
            }
            Op::EndLinkBatch { index } => {
                w.u8(opcode::END_LINK_BATCH).str(index);
            }
            Op::Refine {
                index,
                from,
                count,
                ef,
            } => {
                w.u8(opcode::REFINE)
                    .str(index)
                    .u32(*from)
                    .u32(*count)
                    .u32(*ef);
            }
            Op::SetMaintenance { index, config } => {
                w.u8(opcode::SET_MAINTENANCE).str(index).json(config);
            }
            Op::GraphVacuum { before } => {
                w.u8(opcode::GRAPH_VACUUM).i64(*before);
            }
            Op::RepairDone { ids } => {
                w.u8(opcode::REPAIR_DONE).ids(ids);
            }
            Op::RepairPending { ids } => {
                w.u8(opcode::REPAIR_PENDING).ids(ids);
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Op, OpDecodeError> {
        let mut r = Reader { b: bytes, at: 0 };
        let version = r.u8()?;
        if version != OP_FORMAT_VERSION {
            return Err(OpDecodeError::Version(version));
        }
        let op = match r.u8()? {
            opcode::CREATE_INDEX => Op::CreateIndex(r.json()?),
            opcode::DROP_INDEX => Op::DropIndex { index: r.string()? },
            opcode::UPSERT_V1 => Op::Upsert {
                index: r.string()?,
                id: r.string()?,
                vector: r.vector()?,
                metadata: r.json()?,
                at: 0,
            },
            opcode::UPSERT => Op::Upsert {
                index: r.string()?,
                id: r.string()?,
                vector: r.vector()?,
                metadata: r.json()?,
                at: r.i64()?,
            },
            opcode::DELETE => Op::Delete {
                index: r.string()?,
                id: r.string()?,
            },
            opcode::KV_SET => Op::KvSet {
                key: r.string()?,
                value: r.bytes()?.to_vec(),
            },
            opcode::KV_DELETE => Op::KvDelete { key: r.string()? },
            opcode::GRAPH_LINK => Op::GraphLink {
                side: r.side()?,
                node: r.string()?,
                relation: r.string()?,
                other: r.string()?,
                weight: r.f32()?,
                at: r.i64()?,
                props: r.json()?,
            },
            opcode::GRAPH_UNLINK => Op::GraphUnlink {
                side: r.side()?,
                node: r.string()?,
                relation: r.string()?,
                other: r.string()?,
                at: r.i64()?,
                hard: r.u8()? != 0,
            },
            opcode::SET_AUTO_LINKS => Op::SetAutoLinks {
                index: r.string()?,
                rules: r.json()?,
            },
            opcode::COMPRESS => Op::Compress {
                index: r.string()?,
                precision: {
                    let p = r.string()?;
                    crate::metric::Precision::parse(&p)
                        .ok_or(OpDecodeError::Json(format!("unknown precision {p}")))?
                },
            },
            opcode::REINFORCE => Op::Reinforce {
                index: r.string()?,
                ids: r.ids()?,
                at: r.i64()?,
            },
            opcode::VACUUM => Op::Vacuum { index: r.string()? },
            opcode::BEGIN_LINK_BATCH => Op::BeginLinkBatch { index: r.string()? },
            opcode::END_LINK_BATCH => Op::EndLinkBatch { index: r.string()? },
            opcode::REFINE => Op::Refine {
                index: r.string()?,
                from: r.u32()?,
                count: r.u32()?,
                ef: r.u32()?,
            },
            opcode::SET_MAINTENANCE => Op::SetMaintenance {
                index: r.string()?,
                config: r.json()?,
            },
            opcode::GRAPH_VACUUM => Op::GraphVacuum { before: r.i64()? },
            opcode::REPAIR_DONE => Op::RepairDone { ids: r.ids()? },
            opcode::REPAIR_PENDING => Op::RepairPending { ids: r.ids()? },
            other => return Err(OpDecodeError::Opcode(other)),
        };
        match bytes.len() - r.at {
            0 => Ok(op),
            n => Err(OpDecodeError::Trailing(n)),
        }
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
    fn array<const N: usize>(&mut self) -> Result<[u8; N], OpDecodeError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }
    fn u8(&mut self) -> Result<u8, OpDecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, OpDecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, OpDecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn f32(&mut self) -> Result<f32, OpDecodeError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    fn side(&mut self) -> Result<Side, OpDecodeError> {
        match self.u8()? {
            0 => Ok(Side::Out),
            1 => Ok(Side::In),
            other => Err(OpDecodeError::Side(other)),
        }
    }
    fn bytes(&mut self) -> Result<&'a [u8], OpDecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, OpDecodeError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| OpDecodeError::Utf8)
    }
    fn ids(&mut self) -> Result<Vec<String>, OpDecodeError> {
        let n = self.u32()? as usize;
        let mut ids = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            ids.push(self.string()?);
        }
        Ok(ids)
    }
    fn vector(&mut self) -> Result<Vec<f32>, OpDecodeError> {
        let n = self.u32()? as usize;
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
