//! Format compatibility: `tests/compat_data/v1/` is a data directory written by log
//! format version 1 (one shard: create index, batch with an entity, upsert, delete,
//! create + drop of another index, KV set and delete). Every later version must open
//! it and find exactly this state.

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

#[test]
fn reads_format_v1() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat_data/v1");
    let dir = std::env::temp_dir().join(format!("kektor-compat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&fixture, &dir);
    let engine = Engine::open(Options {
        shards: 1,
        pin: false,
        data_dir: Some(dir.clone()),
        ..Options::default()
    })
    .unwrap();
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
