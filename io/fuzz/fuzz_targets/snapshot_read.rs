//! Snapshots: any bytes as a snapshot file are checked and refused or loaded, never
//! a panic; and, to get past the checksums, a valid snapshot with one section's
//! payload replaced by the fuzz input (its first byte picks the section) is decoded
//! without panicking either.
#![no_main]

use std::sync::OnceLock;

use kektordb_io::snapfile::{self, SnapWriter};
use kektordb_shards::index::IndexConfig;
use kektordb_shards::op::Op;
use kektordb_shards::shard::Shard;
use kektordb_shards::snapshot;
use libfuzzer_sys::fuzz_target;

fn good() -> &'static [u8] {
    static GOOD: OnceLock<Vec<u8>> = OnceLock::new();
    GOOD.get_or_init(|| {
        let mut s = Shard::new();
        let mut cfg = IndexConfig::new("i");
        cfg.m = 4;
        s.apply(Op::CreateIndex(cfg)).unwrap();
        for i in 0..40u32 {
            let mut md = serde_json::Map::new();
            md.insert("n".into(), i.into());
            s.apply(Op::Upsert {
                index: "i".into(),
                id: format!("v{i}"),
                vector: vec![i as f32, (i * 7 % 11) as f32, 1.0],
                metadata: md,
                at: i as i64,
            })
            .unwrap();
        }
        s.apply(Op::Delete { index: "i".into(), id: "v3".into() }).unwrap();
        s.apply(Op::KvSet { key: "k".into(), value: vec![1] }).unwrap();
        snapshot::encode(&s).finish()
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = snapshot::decode(data);
    let Some((&pick, payload)) = data.split_first() else { return };
    let sections = snapfile::read(good()).expect("the seed snapshot is valid");
    let replace = pick as usize % sections.len();
    let mut w = SnapWriter::new();
    for (i, s) in sections.iter().enumerate() {
        w.section(s.kind, if i == replace { payload } else { s.payload });
    }
    let _ = snapshot::decode(&w.finish());
});
