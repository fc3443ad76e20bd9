//! Format compatibility. Every later version must open these data directories and
//! find exactly their state:
//! - `tests/compat_data/v1/`: written by log format version 1 before snapshots
//!   existed (one shard: create index, batch with an entity, upsert, delete, create +
//!   drop of another index, KV set and delete);
//! - `tests/compat_data/snap-v1/`: snapshot format version 1 plus a log after it
//!   (int8 cosine index with text search, an entity and a delete; a float16 index;
//!   KV; a live and a soft-deleted edge; then, after the snapshot, one add and one
//!   KV set in the log).

use futures_lite::future::block_on;
use kektordb::{Engine, Options, Precision, SearchRequest};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Opens a copy of `tests/compat_data/<name>` (opening converts it, so never the
/// fixture itself) with one shard.
fn open_fixture(name: &str) -> (Engine, std::path::PathBuf) {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat_data")
        .join(name);
    let dir = std::env::temp_dir().join(format!("kektor-compat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&fixture, &dir);
    let engine = Engine::open(Options {
        shards: 1,
        pin: false,
        data_dir: Some(dir.clone()),
        ..Options::default()
    })
    .unwrap();
    (engine, dir)
}

#[test]
fn reads_format_v1() {
    let (engine, dir) = open_fixture("v1");
    assert_eq!(engine.recovery()[0].records, 11);
    assert_eq!(engine.index_names(), ["docs"]);
    let info = block_on(engine.info("docs")).unwrap();
    assert_eq!(
        (info.config.precision, info.config.m, info.dim, info.len),
        (Precision::Int8, 8, Some(3), 2)
    );
    let items =
        block_on(engine.get_many("docs", vec!["a".into(), "b".into(), "ent".into()])).unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["b", "ent"]);
    assert_eq!(items[0].metadata["text"], "gardening in autumn");
    assert_eq!(items[1].metadata["kind"], "person");
    let hits = block_on(engine.search(
        "docs",
        SearchRequest {
            text: Some("autumn".into()),
            k: 5,
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "b");
    assert_eq!(
        block_on(engine.kv_get("greeting")).unwrap(),
        Some(b"ciao".to_vec())
    );
    assert_eq!(block_on(engine.kv_get("tmp")).unwrap(), None);
    engine.close();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reads_snapshot_format_v1() {
    let (engine, dir) = open_fixture("snap-v1");
    let r = &engine.recovery()[0];
    assert_eq!((r.snapshot_nodes, r.records), (6, 2));
    assert_eq!(engine.index_names(), ["docs", "plain"]);
    let info = block_on(engine.info("docs")).unwrap();
    assert_eq!(
        (info.config.precision, info.config.m, info.dim, info.len),
        (Precision::Int8, 8, Some(3), 3)
    );
    let plain = block_on(engine.info("plain")).unwrap();
    assert_eq!((plain.config.precision, plain.len), (Precision::Float16, 3));
    let items = block_on(engine.get_many(
        "docs",
        vec!["a".into(), "b".into(), "c".into(), "ent".into()],
    ))
    .unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "ent"]);
    assert_eq!(items[1].metadata["text"], "gardening in autumn");
    let hits = block_on(engine.search(
        "docs",
        SearchRequest {
            vector: Some(vec![0.9, 0.1, 0.0]),
            k: 1,
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(hits[0].id, "a");
    let hits = block_on(engine.search(
        "docs",
        SearchRequest {
            text: Some("autumn".into()),
            k: 5,
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    let p3 = block_on(engine.get_many("plain", vec!["p3".into()])).unwrap();
    assert_eq!(p3[0].vector, vec![5.0, 6.0]);
    assert_eq!(
        block_on(engine.kv_get("greeting")).unwrap(),
        Some(b"ciao".to_vec())
    );
    assert_eq!(
        block_on(engine.kv_get("after")).unwrap(),
        Some(b"log".to_vec())
    );
    let live =
        block_on(engine.edges("a", None, kektordb_shards::graph::Side::Out, i64::MAX)).unwrap();
    assert_eq!(live.len(), 1);
    let gone =
        block_on(engine.edges("b", None, kektordb_shards::graph::Side::Out, i64::MAX)).unwrap();
    assert!(gone.is_empty(), "the soft-deleted edge stays deleted");
    engine.close();
    std::fs::remove_dir_all(&dir).unwrap();
}
