//! Shard -> snapshot sections. Runs on the shard's own thread; it only copies
//! (arrays are appended as their bytes), and leaves checksums to
//! [`SnapWriter::finish`], which the caller may run elsewhere.

use kektordb_io::record;
use kektordb_io::snapfile::SnapWriter;

use super::*;
use crate::graph::Side;
use crate::index::{IndexView, FLAG_ENTITY, FLAG_LIVE};
use crate::metric::Precision;
use crate::op::Op;
use crate::shard::Shard;

pub(super) fn precision_code(p: Precision) -> u32 {
    match p {
        Precision::Float32 => 0,
        Precision::Float16 => 1,
        Precision::Int8 => 2,
    }
}

/// The snapshot of `shard`, checksums not yet computed.
pub fn encode(shard: &Shard) -> SnapWriter {
    let mut w = SnapWriter::new();
    w.begin(OPS);
    let (mut payload, mut framed) = (Vec::new(), Vec::new());
    for op in structure_ops(shard) {
        payload.clear();
        framed.clear();
        op.encode(&mut payload);
        record::encode(&payload, &mut framed);
        w.bytes(&framed);
    }
    let mut indexes: Vec<_> = shard.indexes().collect();
    indexes.sort_by(|a, b| a.config().name.cmp(&b.config().name));
    for ix in indexes {
        let v = ix.view();
        if !v.ids.is_empty() {
            encode_index(&mut w, &ix.config().name, &v);
        }
    }
    w
}

use crate::limits::REPAIR_IDS_PER_OP;

/// The ops that rebuild everything of a shard's state except the indexes'
/// contents (indexes by name with their current config, KV keys by name, graph
/// edges with their versions, ids awaiting self-repair in chunks): the first
/// section of a snapshot.
pub fn structure_ops(shard: &Shard) -> impl Iterator<Item = Op> + '_ {
    let mut indexes: Vec<&crate::index::Index> = shard.indexes().collect();
    indexes.sort_by(|a, b| a.config().name.cmp(&b.config().name));
    let mut keys: Vec<(&str, &[u8])> = shard.kv().iter().collect();
    keys.sort();
    let repairs = shard.graph().pending_repairs(usize::MAX);
    let repair_ops: Vec<Op> = repairs
        .chunks(REPAIR_IDS_PER_OP)
        .map(|ids| Op::RepairPending { ids: ids.to_vec() })
        .collect();
    indexes
        .into_iter()
        .map(|ix| Op::CreateIndex(ix.config().clone()))
        .chain(keys.into_iter().map(|(k, v)| Op::KvSet {
            key: k.to_owned(),
            value: v.to_vec(),
        }))
        .chain([Side::Out, Side::In].into_iter().flat_map(move |side| {
            shard
                .graph()
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
        .chain(repair_ops)
}

fn encode_index(w: &mut SnapWriter, name: &str, v: &IndexView) {
    let n = v.ids.len();
    let (links, entry, max_level, rng) = v.hnsw.parts();
    let (level0, levels, upper) = links.raw();
    w.begin(INDEX);
    w.u32(name.len() as u32);
    w.bytes(name.as_bytes());
    w.u64(n as u64);
    w.u64(v.vacuumed as u64);
    match v.store {
        Some(s) => {
            let (scale, trained_at) = s.training();
            w.u32(s.dim() as u32);
            w.u32(precision_code(s.precision()));
            w.bytes(&scale.to_le_bytes());
            w.u64(trained_at as u64);
        }
        None => {
            w.u32(0);
            w.u32(0);
            w.bytes(&1f32.to_le_bytes());
            w.u64(0);
        }
    }
    w.u32(links.cap(1) as u32);
    w.u32(links.cap(0) as u32);
    w.u32(entry.unwrap_or(NO_ENTRY));
    w.u32(max_level as u32);
    w.u64(rng);

    w.begin(IDS);
    for id in v.ids.iter() {
        w.u32(id.len() as u32);
    }
    for id in v.ids.iter() {
        w.bytes(id.as_bytes());
    }

    let flags: Vec<u8> = (0..n as u32)
        .map(|node| {
            let mut f = 0;
            if v.live.contains(node) {
                f |= FLAG_LIVE;
            }
            if v.entities.contains(node) {
                f |= FLAG_ENTITY;
            }
            f
        })
        .collect();
    w.section(FLAGS, &flags);
    w.section(TOUCHED, bytemuck::cast_slice(v.touched));

    w.begin(METADATA);
    for j in v.metadata.iter() {
        w.u32(j.map_or(NO_METADATA, |j| j.len() as u32));
    }
    for j in v.metadata.iter().flatten() {
        w.bytes(j.as_bytes());
    }

    if let Some(s) = v.store {
        let (f32s, f16s, i8s, norms) = s.arrays();
        match s.precision() {
            Precision::Float32 => w.section(F32, bytemuck::cast_slice(f32s)),
            Precision::Float16 => w.section(F16, bytemuck::cast_slice(f16s)),
            Precision::Int8 => {
                w.section(F32, bytemuck::cast_slice(f32s));
                w.section(I8, bytemuck::cast_slice(i8s));
                w.section(I8_NORMS, bytemuck::cast_slice(norms));
            }
        }
    }
    w.section(LEVELS, levels);
    w.section(LINKS0, bytemuck::cast_slice(level0));
    w.begin(UPPER);
    let mut nodes: Vec<&u32> = upper.keys().collect();
    nodes.sort_unstable();
    for node in nodes {
        for list in &upper[node] {
            w.u32(list.len() as u32);
            w.bytes(bytemuck::cast_slice(list));
        }
    }
}
