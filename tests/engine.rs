//! The engine on real glommio executors: every operation gives the same answer as the
//! single-threaded `ShardSet` over the same data and shard count (both route by the
//! same hash and run the same per-shard code), including under concurrent callers.

use futures_lite::future::block_on;
use kektordb::EngineError;
use kektordb::{
    Engine, IndexConfig, Metric, NewItem, Options, SearchRequest, ShardError, ShardSet,
    TextLanguage,
};
use serde_json::json;

fn items(n: usize) -> Vec<NewItem> {
    let words = ["rust", "vector", "garden", "database", "music", "engine"];
    (0..n)
        .map(|i| {
            let x = i as f32;
            NewItem {
                id: format!("doc-{i}"),
                vector: vec![(x * 0.37).sin(), (x * 0.11).cos(), (x * 0.05).sin(), 1.0],
                metadata: json!({
                    "text": format!("{} {}", words[i % 6], words[(i / 6) % 6]),
                    "n": i,
                    "cat": if i % 3 == 0 { "A" } else { "B" },
                })
                .as_object()
                .cloned()
                .unwrap(),
            }
        })
        .collect()
}

fn config() -> IndexConfig {
    let mut c = IndexConfig::new("docs");
    c.metric = Metric::Cosine;
    c.text_language = Some(TextLanguage::English);
    c
}

#[test]
fn engine_matches_shard_set() {
    let engine = Engine::open(Options {
        shards: 2,
        pin: false,
        ..Options::default()
    })
    .unwrap();
    let mut reference = ShardSet::new(2);
    block_on(engine.create_index(config())).unwrap();
    reference.create_index(config()).unwrap();
    let data = items(600);
    assert_eq!(
        block_on(engine.add_batch("docs", data.clone())).unwrap(),
        600
    );
    reference.add_batch("docs", data).unwrap();

    let queries = [
        SearchRequest {
            vector: Some(vec![0.3, 0.9, 0.1, 1.0]),
            k: 10,
            ..Default::default()
        },
        SearchRequest {
            vector: Some(vec![0.3, 0.9, 0.1, 1.0]),
            k: 5,
            filter: Some("cat = 'A' AND n < 300".into()),
            ..Default::default()
        },
        SearchRequest {
            text: Some("rust database".into()),
            k: 8,
            ..Default::default()
        },
        SearchRequest {
            vector: Some(vec![-0.5, 0.1, 0.8, 1.0]),
            text: Some("garden".into()),
            k: 7,
            alpha: Some(0.3),
            ..Default::default()
        },
    ];
    for q in queries {
        let got = block_on(engine.search("docs", q.clone())).unwrap();
        assert_eq!(got, reference.search("docs", &q).unwrap(), "query {q:?}");
        assert!(!got.is_empty());
    }
    let got =
        block_on(engine.get_many("docs", vec!["doc-5".into(), "nope".into(), "doc-77".into()]))
            .unwrap();
    let mut ids: Vec<&str> = got.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["doc-5", "doc-77"]);
    assert!(block_on(engine.delete("docs", "doc-5")).unwrap());
    assert!(!block_on(engine.delete("docs", "doc-5")).unwrap());
    let info = block_on(engine.info("docs")).unwrap();
    assert_eq!((info.len, info.dim), (599, Some(4)));
    let per_shard = block_on(engine.shard_stats()).unwrap();
    assert_eq!(per_shard.iter().map(|s| s.vectors).sum::<usize>(), 599);
    assert!(
        per_shard.iter().all(|s| s.vectors > 200),
        "hash spreads ids: {per_shard:?}"
    );
    engine.close();
}

#[test]
fn errors_and_kv_and_concurrency() {
    let engine = Engine::open(Options {
        shards: 2,
        pin: false,
        ..Options::default()
    })
    .unwrap();
    block_on(engine.create_index(config())).unwrap();
    assert!(matches!(
        block_on(engine.create_index(config())),
        Err(EngineError::Shard(ShardError::IndexExists { .. }))
    ));
    block_on(engine.add_batch("docs", items(10))).unwrap();
    let wrong = vec![NewItem {
        id: "x".into(),
        vector: vec![1.0, 2.0],
        metadata: Default::default(),
    }];
    assert!(matches!(
        block_on(engine.add_batch("docs", wrong)),
        Err(EngineError::Shard(ShardError::WrongDimension {
            expected: 4,
            got: 2
        }))
    ));
    assert!(matches!(
        block_on(engine.search(
            "nope",
            SearchRequest {
                vector: Some(vec![1.0]),
                k: 1,
                ..Default::default()
            }
        )),
        Err(EngineError::Shard(ShardError::IndexNotFound { .. }))
    ));
    // Concurrent writers and readers from plain threads.
    std::thread::scope(|s| {
        for t in 0..4 {
            let engine = engine.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let key = format!("t{t}-k{i}");
                    block_on(engine.kv_set(&key, vec![t as u8, i as u8])).unwrap();
                    assert_eq!(
                        block_on(engine.kv_get(&key)).unwrap(),
                        Some(vec![t as u8, i as u8])
                    );
                    let hits = block_on(engine.search(
                        "docs",
                        SearchRequest {
                            vector: Some(vec![1.0, 0.0, 0.0, 1.0]),
                            k: 3,
                            ..Default::default()
                        },
                    ))
                    .unwrap();
                    assert_eq!(hits.len(), 3);
                }
            });
        }
    });
    assert!(block_on(engine.kv_delete("t0-k0")).unwrap());
    assert_eq!(block_on(engine.kv_get("t0-k0")).unwrap(), None);
    block_on(engine.drop_index("docs")).unwrap();
    assert!(block_on(engine.info("docs")).is_err());
    engine.close();
    assert!(matches!(
        block_on(engine.kv_get("a")),
        Err(EngineError::ShardDown { .. })
    ));
}

/// Memory decay: what a search returns is boosted (its decay restarts), so a second
/// search sees it undecayed while an item that was not returned keeps decaying.
#[test]
fn retrieval_boosts_what_a_search_returned() {
    let engine = Engine::open(Options {
        shards: 2,
        pin: false,
        ..Options::default()
    })
    .unwrap();
    let mut cfg = IndexConfig::new("mem");
    cfg.metric = Metric::Euclidean;
    cfg.memory = Some(kektordb_shards::index::MemoryConfig {
        enabled: true,
        decay_half_life_ns: 100_000_000,
    });
    block_on(engine.create_index(cfg)).unwrap();
    let item = |id: &str, v: Vec<f32>| NewItem {
        id: id.into(),
        vector: v,
        metadata: Default::default(),
    };
    block_on(engine.add_batch(
        "mem",
        vec![item("a", vec![1.0, 0.0]), item("b", vec![0.0, 1.0])],
    ))
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let search = |q: Vec<f32>, k: usize| {
        block_on(engine.search(
            "mem",
            SearchRequest {
                vector: Some(q),
                k,
                ..Default::default()
            },
        ))
        .unwrap()
    };
    // Both decayed by ~1/16; this search returns (and boosts) only "a".
    let first = search(vec![1.0, 0.0], 1);
    assert_eq!(first[0].id, "a");
    // Query halfway between: equal raw scores, so the order and ratio are the decay's.
    let hits = search(vec![0.5, 0.5], 2);
    let score = |id: &str| hits.iter().find(|h| h.id == id).unwrap().score;
    assert_eq!(hits[0].id, "a", "{hits:?}");
    assert!(
        score("a") > 4.0 * score("b"),
        "a was boosted, b was not: {hits:?}"
    );
    engine.close();
}

/// One shard on a machine with more cores: a large batch is linked with the cores
/// lent to the shard (searches in parallel), and gives exactly the graph the same
/// batch linking gives on one thread (the parallel phase only reads), so the same
/// answers as the single-threaded reference.
#[test]
fn one_shard_links_a_large_batch_on_lent_cores_with_the_same_answers() {
    let engine = Engine::open(Options {
        shards: 1,
        pin: false,
        ..Options::default()
    })
    .unwrap();
    let mut cfg = IndexConfig::new("wide");
    cfg.metric = Metric::Cosine;
    block_on(engine.create_index(cfg.clone())).unwrap();
    let mut rng = kektordb_shards::rng::SplitMix64(11);
    let data: Vec<NewItem> = (0..3000)
        .map(|i| NewItem {
            id: format!("w{i}"),
            vector: (0..16).map(|_| rng.normal()).collect(),
            metadata: Default::default(),
        })
        .collect();
    assert_eq!(
        block_on(engine.add_batch("wide", data.clone())).unwrap(),
        3000
    );

    let mut reference = ShardSet::new(1);
    reference.create_index(cfg).unwrap();
    reference.set_dim("wide", Some(16)).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let add_all = |ix: &mut kektordb_shards::Index| {
        for it in &data {
            ix.upsert(&it.id, &it.vector, it.metadata.clone()).unwrap();
        }
    };
    let shard = &mut reference.shards_mut()[0];
    if cores > 1 {
        let one = kektordb_shards::parallel::Sequential;
        shard.with_batch_linking("wide", &one, add_all).unwrap();
    } else {
        add_all(shard.index_mut("wide").unwrap());
    }
    for (i, it) in data.iter().enumerate().step_by(37) {
        let q = SearchRequest {
            vector: Some(it.vector.clone()),
            k: 10,
            ..Default::default()
        };
        let got = block_on(engine.search("wide", q.clone())).unwrap();
        assert_eq!(got, reference.search("wide", &q).unwrap(), "query {i}");
        assert_eq!(got[0].id, it.id, "an item finds itself");
    }
    engine.close();
}
