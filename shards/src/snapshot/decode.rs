//! Snapshot -> shard. Every length, count and node number is checked before it is
//! used, so a damaged or hostile snapshot is an error naming its section, never a
//! panic (fuzzed by `io/fuzz`'s `snapshot_read`).

use std::collections::HashMap;

use half::f16;
use kektordb_io::record::{self, Tail};
use kektordb_io::snapfile::{self, Section};

use super::*;
use crate::hnsw::{Hnsw, HnswParams, Links};
use crate::index::meta_texts::MetaTexts;
use crate::index::IndexParts;
use crate::limits::{DIM_MAX, NODES_PER_PART_MAX};
use crate::metric::Precision;
use crate::op::Op;
use crate::shard::Shard;
use crate::vectors::{StoreParts, VectorStore};

/// Reads a snapshot file's bytes (checked end to end) into a shard; returns the shard
/// and the number of index nodes loaded.
pub fn decode(bytes: &[u8]) -> Result<(Shard, usize), SnapshotError> {
    let sections = snapfile::read(bytes)?;
    decode_sections(&sections)
}

/// Sections (framing already checked) into a shard.
pub fn decode_sections(sections: &[Section]) -> Result<(Shard, usize), SnapshotError> {
    let mut shard = Shard::new();
    let mut it = sections.iter().peekable();
    let ops = it
        .next()
        .filter(|s| s.kind == OPS)
        .ok_or_else(|| SnapshotError::at(64, "the first section is not OPS"))?;
    apply_ops(&mut shard, ops)?;
    let mut nodes = 0;
    while let Some(head) = it.next() {
        if head.kind != INDEX {
            return Err(SnapshotError::at(head.offset, "expected an INDEX section"));
        }
        let mut group = Vec::new();
        while let Some(s) = it.next_if(|s| s.kind != INDEX) {
            group.push(*s);
        }
        nodes += decode_index(&mut shard, head, &group)?;
    }
    Ok((shard, nodes))
}

fn apply_ops(shard: &mut Shard, s: &Section) -> Result<(), SnapshotError> {
    let d = record::decode_all(s.payload);
    if d.tail != Tail::Clean {
        return Err(SnapshotError::at(s.offset, "OPS records are damaged"));
    }
    for payload in &d.records {
        let op = Op::decode(payload).map_err(|e| SnapshotError::at(s.offset, e.to_string()))?;
        match op {
            Op::CreateIndex(_)
            | Op::KvSet { .. }
            | Op::GraphLink { .. }
            | Op::GraphUnlink { .. }
            | Op::RepairPending { .. } => shard
                .apply(op)
                .map_err(|e| SnapshotError::at(s.offset, e.to_string()))?,
            _ => return Err(SnapshotError::at(s.offset, "OPS holds an op it may not")),
        }
    }
    Ok(())
}

/// Reads little-endian fields off a section payload.
struct Cur<'a> {
    b: &'a [u8],
    at: usize,
    offset: u64,
}

impl<'a> Cur<'a> {
    fn new(s: &Section<'a>) -> Cur<'a> {
        Cur {
            b: s.payload,
            at: 0,
            offset: s.offset,
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| SnapshotError::at(self.offset, "payload too short"))?;
        let out = &self.b[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn f32(&mut self) -> Result<f32, SnapshotError> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn done(&self) -> Result<(), SnapshotError> {
        if self.at == self.b.len() {
            Ok(())
        } else {
            Err(SnapshotError::at(self.offset, "payload has trailing bytes"))
        }
    }
}

/// A payload as a vector of `T`: one copy when the bytes are aligned (always, in a
/// mapped file), a bytewise copy otherwise.
fn array<T: bytemuck::Pod>(s: &Section, len: usize) -> Result<Vec<T>, SnapshotError> {
    let want = len
        .checked_mul(std::mem::size_of::<T>())
        .ok_or_else(|| SnapshotError::at(s.offset, "array length overflows"))?;
    if s.payload.len() != want {
        return Err(SnapshotError::at(
            s.offset,
            format!("array has {} bytes, expected {want}", s.payload.len()),
        ));
    }
    // Allocated at its exact length, a large array sits on huge pages with no
    // partly used page at its end (`huge_pages`).
    let mut out = crate::huge_pages::with_capacity(len);
    match bytemuck::try_cast_slice::<u8, T>(s.payload) {
        Ok(t) => out.extend_from_slice(t),
        Err(_) => out.extend(
            s.payload
                .chunks_exact(std::mem::size_of::<T>().max(1))
                .map(bytemuck::pod_read_unaligned::<T>),
        ),
    }
    Ok(out)
}

/// The sections of one index part, by kind.
struct Group<'s, 'a> {
    by_kind: HashMap<u32, &'s Section<'a>>,
    head: u64,
}

impl<'s, 'a> Group<'s, 'a> {
    fn get(&self, kind: u32) -> Result<&'s Section<'a>, SnapshotError> {
        self.by_kind
            .get(&kind)
            .copied()
            .ok_or_else(|| SnapshotError::at(self.head, format!("index lacks section {kind}")))
    }
}

fn decode_index(
    shard: &mut Shard,
    head: &Section,
    group: &[Section],
) -> Result<usize, SnapshotError> {
    let mut by_kind = HashMap::new();
    for s in group {
        if by_kind.insert(s.kind, s).is_some() || !(IDS..=UPPER).contains(&s.kind) {
            return Err(SnapshotError::at(
                s.offset,
                "unexpected or repeated section",
            ));
        }
    }
    let g = Group {
        by_kind,
        head: head.offset,
    };
    let bad = |what: &str| SnapshotError::at(head.offset, what.to_owned());
    let mut c = Cur::new(head);
    let name_len = c.u32()? as usize;
    let name = std::str::from_utf8(c.take(name_len)?).map_err(|_| bad("name is not UTF-8"))?;
    let n = c.u64()?;
    if n > NODES_PER_PART_MAX as u64 {
        return Err(bad("too many nodes"));
    }
    let n = n as usize;
    let vacuumed = c.u64()? as usize;
    let dim = c.u32()? as usize;
    let precision = match c.u32()? {
        0 => Precision::Float32,
        1 => Precision::Float16,
        2 => Precision::Int8,
        _ => return Err(bad("unknown precision")),
    };
    let scale = c.f32()?;
    let trained_at = c.u64()? as usize;
    let (m, m0) = (c.u32()? as usize, c.u32()? as usize);
    let entry = c.u32()?;
    let max_level = c.u32()? as usize;
    let rng = c.u64()?;
    c.done()?;

    let ix = shard
        .index_mut(name)
        .map_err(|_| bad("index is not created by OPS"))?;
    let config = ix.config().clone();
    if m != config.m.max(2) || m0 != 2 * m {
        return Err(bad("link caps do not match the index's m"));
    }

    let ids_s = g.get(IDS)?;
    let mut c = Cur::new(ids_s);
    let lens: Vec<usize> = (0..n)
        .map(|_| c.u32().map(|l| l as usize))
        .collect::<Result<_, _>>()?;
    let mut ids: Vec<Box<str>> = Vec::with_capacity(n);
    for len in lens {
        let s = std::str::from_utf8(c.take(len)?)
            .map_err(|_| SnapshotError::at(ids_s.offset, "id is not UTF-8"))?;
        ids.push(s.into());
    }
    c.done()?;

    let flags: Vec<u8> = array(g.get(FLAGS)?, n)?;
    let touched: Vec<i64> = array(g.get(TOUCHED)?, n)?;

    let meta_s = g.get(METADATA)?;
    let mut c = Cur::new(meta_s);
    let lens: Vec<u32> = (0..n).map(|_| c.u32()).collect::<Result<_, _>>()?;
    // Kept as the JSON text it is stored as; `Index::restore` parses it.
    let mut metadata = MetaTexts::new();
    for len in lens {
        if len == NO_METADATA {
            metadata.push(None);
            continue;
        }
        let j = c.take(len as usize)?;
        let text = std::str::from_utf8(j)
            .map_err(|e| SnapshotError::at(meta_s.offset, format!("metadata: {e}")))?;
        metadata.push(Some(text));
    }
    metadata.shrink_to_fit();
    c.done()?;

    let store = if dim == 0 {
        None
    } else {
        if dim > DIM_MAX {
            return Err(bad("dimension out of range"));
        }
        let cells = n * dim;
        let (f32s, f16s, i8s, i8_norms) = match precision {
            Precision::Float32 => (
                array(g.get(F32)?, cells)?,
                Vec::new(),
                Vec::new(),
                Vec::new(),
            ),
            Precision::Float16 => (
                Vec::new(),
                array::<f16>(g.get(F16)?, cells)?,
                Vec::new(),
                Vec::new(),
            ),
            Precision::Int8 => (
                array(g.get(F32)?, cells)?,
                Vec::new(),
                array::<i8>(g.get(I8)?, cells)?,
                array(g.get(I8_NORMS)?, n)?,
            ),
        };
        Some(
            VectorStore::from_parts(StoreParts {
                dim,
                metric: config.metric,
                precision,
                len: n,
                f32s,
                f16s,
                i8s,
                i8_norms,
                scale,
                trained_at,
            })
            .map_err(bad)?,
        )
    };

    let levels: Vec<u8> = array(g.get(LEVELS)?, n)?;
    let level0: Vec<u32> = array(g.get(LINKS0)?, n * (m0 + 1))?;
    let upper_s = g.get(UPPER)?;
    let mut c = Cur::new(upper_s);
    let mut upper = HashMap::new();
    for (node, &level) in levels.iter().enumerate().filter(|(_, l)| **l > 0) {
        let mut lists = Vec::with_capacity(level as usize);
        for _ in 0..level {
            let count = c.u32()? as usize;
            if count > m {
                return Err(SnapshotError::at(upper_s.offset, "upper list too long"));
            }
            lists.push(bytemuck::pod_collect_to_vec(c.take(4 * count)?));
        }
        upper.insert(node as u32, lists);
    }
    c.done()?;
    let links = Links::from_parts(m, m0, level0, levels, upper).map_err(bad)?;
    let params = HnswParams {
        m: config.m,
        ef_construction: config.ef_construction,
        ..HnswParams::default()
    };
    let entry = (entry != NO_ENTRY).then_some(entry);
    let hnsw = Hnsw::from_parts(params, links, entry, max_level, rng).map_err(bad)?;
    ix.restore(IndexParts {
        ids,
        flags,
        touched,
        metadata,
        store,
        hnsw,
        vacuumed,
    })
    .map_err(bad)?;
    Ok(n)
}
