//! Persistence through the real binary: data survives a clean restart, the log is
//! compacted on request (`POST /system/save`, and `POST /system/aof-rewrite` as an
//! asynchronous task polled through `/system/tasks/{id}`) and on its own when it
//! grows, and a data directory is refused under another shard count.

mod support;

use serde_json::{json, Value};
use support::Server;

/// Bytes recovery reads: each shard's newest snapshot and the logs after it (the
/// previous generation, kept as a fallback, is not counted).
fn log_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for shard in std::fs::read_dir(dir).unwrap() {
        let shard = shard.unwrap().path();
        if !shard.is_dir() {
            continue;
        }
        let files: Vec<(String, u64)> = std::fs::read_dir(&shard)
            .unwrap()
            .map(|f| {
                let f = f.unwrap();
                let name = f.file_name().to_string_lossy().into_owned();
                (name, f.metadata().unwrap().len())
            })
            .collect();
        let generation = |name: &str, prefix: &str, suffix: &str| -> Option<u64> {
            name.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()
        };
        let newest = files
            .iter()
            .filter_map(|(n, _)| generation(n, "snap.", ".bin"))
            .max()
            .unwrap_or(0);
        for (name, len) in &files {
            let live = generation(name, "snap.", ".bin") == Some(newest)
                || generation(name, "aof.", ".log").is_some_and(|g| g >= newest);
            if live {
                total += len;
            }
        }
    }
    total
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kektor-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn restart_and_compaction_on_request() {
    let dir = temp_dir("persist");
    let d = dir.to_str().unwrap();
    let s = Server::start(&["-aof-path", d, "-save", "", "-aof-rewrite-percentage", "0"]);
    s.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"p","metric":"euclidean","text_language":"english"}"#,
    );
    // Overwrite the same items many times: the log grows, the state does not.
    for round in 0..20 {
        let vectors: Vec<Value> = (0..50)
            .map(|i| json!({"id": format!("x{i}"), "vector": [i as f32, round as f32], "metadata": {"round": round, "text": "hello world"}}))
            .collect();
        assert_eq!(
            s.json(
                "POST",
                "/vector/actions/add-batch",
                &json!({"index_name": "p", "vectors": vectors}).to_string()
            )
            .0,
            200
        );
    }
    s.json("PUT", "/kv/a", r#"{"value":"1"}"#);
    assert_eq!(
        s.json(
            "POST",
            "/vector/actions/delete_vector",
            r#"{"index_name":"p","id":"x0"}"#
        )
        .0,
        200
    );
    s.json(
        "POST",
        "/vector/actions/delete_vector",
        r#"{"index_name":"p","id":"x1"}"#,
    );
    let before = log_bytes(&dir);
    // Vacuum frees the rows of the 950 replaced vectors; the rewrite then snapshots
    // the 48 that remain and starts empty logs.
    let (st, v) = s.json(
        "POST",
        "/vector/indexes/p/maintenance",
        r#"{"type":"vacuum"}"#,
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(wait_task(&s, v["id"].as_str().unwrap()), "completed");
    let (st, v) = s.json("POST", "/system/aof-rewrite", "");
    assert_eq!(st, 202, "{v}");
    assert_eq!(wait_task(&s, v["id"].as_str().unwrap()), "completed");
    let after = log_bytes(&dir);
    assert!(
        after * 5 < before,
        "compaction should shrink the files a lot: {before} -> {after}"
    );
    // More writes after compaction, then a clean restart.
    s.json("PUT", "/kv/b", r#"{"value":"2"}"#);
    assert_eq!(s.json("POST", "/system/save", "").0, 200);
    s.json("PUT", "/kv/c", r#"{"value":"3"}"#);
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    let (_, v) = s.json("GET", "/vector/indexes/p", "");
    assert_eq!(v["vector_count"], 48);
    let (_, v) = s.json(
        "POST",
        "/vector/actions/get-vectors",
        r#"{"index_name":"p","ids":["x0","x1","x7"]}"#,
    );
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["metadata"]["round"], 19);
    assert_eq!(items[0]["vector"], json!([7.0, 19.0]));
    for (k, want) in [("a", "1"), ("b", "2"), ("c", "3")] {
        assert_eq!(s.json("GET", &format!("/kv/{k}"), "").1["value"], want);
    }
    let (_, v) = s.json(
        "POST",
        "/vector/actions/search",
        r#"{"index_name":"p","k":1,"query_vector":[7.0,19.0]}"#,
    );
    assert_eq!(v["results"], json!(["x7"]));
    let (_, v) = s.json(
        "POST",
        "/vector/actions/search",
        r#"{"index_name":"p","k":3,"query_text":"hello"}"#,
    );
    assert_eq!(
        v["results"].as_array().unwrap().len(),
        3,
        "BM25 postings are rebuilt on replay"
    );
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_log_compacts_itself_when_it_grows() {
    let dir = temp_dir("autocompact");
    let d = dir.to_str().unwrap();
    let s = Server::start(&["-aof-path", d, "-save", "", "-aof-rewrite-percentage", "50"]);
    let value = "v".repeat(4000);
    for i in 0..1000 {
        let body = json!({"value": format!("{i}-{value}")}).to_string();
        assert_eq!(s.json("PUT", &format!("/kv/key{}", i % 10), &body).0, 200);
    }
    let bytes = log_bytes(&dir);
    assert!(
        bytes < 2_500_000,
        "4 MB of overwrites should have been compacted, log is {bytes} bytes"
    );
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    assert!(s.json("GET", "/kv/key9", "").1["value"]
        .as_str()
        .unwrap()
        .starts_with("999-"));
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn another_shard_count_is_refused() {
    let dir = temp_dir("manifest");
    let d = dir.to_str().unwrap();
    drop(Server::start(&["-aof-path", d]));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kektordb"))
        .args(["-http-addr", "127.0.0.1:0", "-aof-path", d, "-shards", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("written by 2 shards") && err.contains("-shards 2"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn wait_task(s: &Server, id: &str) -> String {
    for _ in 0..500 {
        let (_, t) = s.json("GET", &format!("/system/tasks/{id}"), "");
        let status = t["status"].as_str().unwrap().to_owned();
        if status == "completed" || status == "failed" {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("task {id} did not finish")
}

#[test]
fn import_is_all_or_nothing_across_a_crash() {
    let dir = temp_dir("import");
    let d = dir.to_str().unwrap();
    let batch = |from: usize| {
        let vectors: Vec<Value> = (from..from + 100)
            .map(|i| json!({"id": format!("i{i}"), "vector": [i as f32, 1.0]}))
            .collect();
        json!({"index_name": "imp", "vectors": vectors}).to_string()
    };
    let mut s = Server::start(&["-aof-path", d]);
    s.json("POST", "/vector/actions/create", r#"{"index_name":"imp"}"#);
    s.json(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"imp","id":"logged","vector":[0.5,0.5]}"#,
    );
    assert_eq!(s.json("POST", "/vector/actions/import", &batch(0)).0, 200);
    assert_eq!(s.json("POST", "/vector/actions/import", &batch(100)).0, 200);
    assert_eq!(
        s.json("GET", "/vector/indexes/imp", "").1["vector_count"],
        201
    );
    // Killed before the commit: none of the import is there, the logged write is.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    drop(s);
    let mut s = Server::start(&["-aof-path", d]);
    assert_eq!(
        s.json("GET", "/vector/indexes/imp", "").1["vector_count"],
        1
    );
    // Imported and committed: all of it survives a kill.
    s.json("POST", "/vector/actions/import", &batch(0));
    s.json("POST", "/vector/actions/import", &batch(100));
    let (st, t) = s.json(
        "POST",
        "/vector/actions/import/commit",
        r#"{"index_name":"imp"}"#,
    );
    assert_eq!(st, 202);
    assert_eq!(wait_task(&s, t["id"].as_str().unwrap()), "completed");
    let (_, t) = s.json(
        "GET",
        &format!("/system/tasks/{}", t["id"].as_str().unwrap()),
        "",
    );
    assert!(
        t["progress_message"]
            .as_str()
            .unwrap()
            .contains("snapshot written"),
        "{t}"
    );
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    assert_eq!(
        s.json("GET", "/vector/indexes/imp", "").1["vector_count"],
        201
    );
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A large add-batch is linked as one batch (its searches on int8 codes); the log
/// marks it, so replay after a kill links it the same way: every node is found
/// again and the answers at a narrow beam are the same, distances included (a
/// replay one by one changes some of them; the graph itself is compared in
/// `durable::tests::a_batch_linked_log_replays_to_the_same_graph`).
#[test]
fn a_batch_linked_add_batch_replays_to_the_same_answers_after_a_kill() {
    let dir = temp_dir("batch-replay");
    let d = dir.to_str().unwrap();
    let args = ["-aof-path", d, "-save", "", "-aof-rewrite-percentage", "0"];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let rows: Vec<Vec<f32>> = (0..4_000)
        .map(|_| (0..128).map(|_| next()).collect())
        .collect();
    let queries: Vec<Vec<f32>> = (0..300)
        .map(|_| (0..128).map(|_| next()).collect())
        .collect();
    let mut s = Server::start(&args);
    s.json("POST", "/vector/actions/create", r#"{"index_name":"b"}"#);
    let vectors: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"id": format!("r{i}"), "vector": v}))
        .collect();
    let (st, body) = s.json(
        "POST",
        "/vector/actions/add-batch",
        &json!({"index_name": "b", "vectors": vectors}).to_string(),
    );
    assert_eq!(st, 200, "{body}");
    let answers = |s: &Server| -> Vec<Value> {
        queries
            .iter()
            .map(|q| {
                let (st, v) = s.json(
                    "POST",
                    "/vector/actions/search-with-scores",
                    &json!({"index_name": "b", "k": 10, "ef_search": 10, "query_vector": q})
                        .to_string(),
                );
                assert_eq!(st, 200, "{v}");
                v
            })
            .collect()
    };
    let before = answers(&s);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    drop(s);
    let s = Server::start(&args);
    assert_eq!(
        s.json("GET", "/vector/indexes/b", "").1["vector_count"],
        4_000
    );
    let after = answers(&s);
    let changed = after.iter().zip(&before).filter(|(a, b)| a != b).count();
    assert_eq!(changed, 0, "{changed} of {} answers changed", before.len());
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn graph_survives_restart_and_compaction_with_its_history() {
    let dir = temp_dir("graph");
    let d = dir.to_str().unwrap();
    let s = Server::start(&["-aof-path", d]);
    let link = |src: &str, dst: &str, rel: &str| {
        let body = json!({"source_id": src, "target_id": dst, "relation_type": rel, "weight": 0.5, "props": {"k": src}});
        let (st, v) = s.json("POST", "/graph/actions/link", &body.to_string());
        assert_eq!(st, 200, "{v}");
        v["created_at"].as_i64().unwrap()
    };
    let t_ab = link("a", "b", "next");
    link("b", "c", "next");
    link("a", "c", "related");
    let (st, _) = s.json(
        "POST",
        "/graph/actions/unlink",
        r#"{"source_id":"a","target_id":"b","relation_type":"next"}"#,
    );
    assert_eq!(st, 200);
    let (st, _) = s.json(
        "POST",
        "/graph/actions/unlink",
        r#"{"source_id":"a","target_id":"c","relation_type":"related","hard_delete":true}"#,
    );
    assert_eq!(st, 200);
    let check = |s: &Server| {
        let edges = |body: Value| {
            s.json("POST", "/graph/actions/get-edges", &body.to_string())
                .1["edges"]
                .clone()
        };
        // Now: a->b is soft-deleted, a->c is gone, b->c stands.
        assert_eq!(edges(json!({"source_id": "a"})), json!([]));
        let past = edges(json!({"source_id": "a", "relation_type": "next", "at_time": t_ab + 1}));
        assert_eq!(
            past.as_array().unwrap().len(),
            1,
            "time travel sees the soft-deleted edge: {past}"
        );
        assert_eq!(past[0]["t"], "b");
        assert_eq!(past[0]["p"]["k"], "a");
        assert!(past[0]["d"].as_i64().unwrap() > t_ab);
        let incoming = s
            .json(
                "POST",
                "/graph/actions/get-incoming",
                r#"{"target_id":"c","relation_type":"next"}"#,
            )
            .1;
        assert_eq!(incoming["sources"], json!(["b"]));
        let hard =
            edges(json!({"source_id": "a", "relation_type": "related", "at_time": t_ab + 1}));
        assert_eq!(hard, json!([]), "a hard delete leaves no history");
    };
    check(&s);
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    check(&s);
    assert_eq!(s.json("POST", "/system/save", "").0, 200);
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    check(&s);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn deleted_items_lose_their_edges_and_graph_vacuum_drops_old_history() {
    let dir = temp_dir("graph-upkeep");
    let d = dir.to_str().unwrap();
    let s = Server::start(&["-aof-path", d]);
    assert_eq!(
        s.json("POST", "/vector/actions/create", r#"{"index_name":"g"}"#)
            .0,
        200
    );
    let add = r#"{"index_name":"g","vectors":[{"id":"a","vector":[1,0]},{"id":"b","vector":[0,1]},{"id":"c","vector":[1,1]}]}"#;
    assert_eq!(s.json("POST", "/vector/actions/add-batch", add).0, 200);
    let link = |src: &str, dst: &str, rel: &str| {
        let body = json!({"source_id": src, "target_id": dst, "relation_type": rel});
        let (st, v) = s.json("POST", "/graph/actions/link", &body.to_string());
        assert_eq!(st, 200, "{v}");
        v["created_at"].as_i64().unwrap()
    };
    let t_ab = link("a", "b", "next");
    link("c", "a", "cites");
    link("b", "c", "next");
    let edges = |s: &Server, body: Value| {
        s.json("POST", "/graph/actions/get-edges", &body.to_string())
            .1["edges"]
            .clone()
    };
    let incoming = |s: &Server, target: &str, relation: &str| {
        s.json(
            "POST",
            "/graph/actions/get-incoming",
            &json!({"target_id": target, "relation_type": relation}).to_string(),
        )
        .1["sources"]
            .clone()
    };
    assert_eq!(
        s.json(
            "POST",
            "/vector/actions/delete_vector",
            r#"{"index_name":"g","id":"a"}"#
        )
        .0,
        200
    );
    // Self-repair runs in the background (the scheduler ticks every second).
    let mut repaired = false;
    for _ in 0..100 {
        if edges(&s, json!({"source_id": "a"})) == json!([])
            && incoming(&s, "a", "cites") == json!([])
        {
            repaired = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(repaired, "the deleted item's edges were not repaired");
    assert_eq!(
        incoming(&s, "b", "next"),
        json!([]),
        "both halves are unlinked"
    );
    let past = edges(&s, json!({"source_id": "a", "at_time": t_ab + 1}));
    assert_eq!(past.as_array().unwrap().len(), 1, "history stays: {past}");
    // A graph vacuum with a retention of 1 ns drops that history; live edges stay.
    let (st, v) = s.json("POST", "/graph/actions/link", "{}");
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.json(
        "POST",
        "/vector/indexes/g/maintenance",
        r#"{"type":"graph_vacuum"}"#,
    );
    assert_eq!(st, 400, "retention 0 keeps history: {v}");
    let (st, v) = s.json(
        "POST",
        "/vector/indexes/g/config",
        r#"{"graph_retention": 1}"#,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["maintenance"]["graph_retention"], 1);
    let (st, v) = s.json(
        "POST",
        "/vector/indexes/g/maintenance",
        r#"{"type":"graph_vacuum"}"#,
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(wait_task(&s, v["id"].as_str().unwrap()), "completed");
    let check = |s: &Server| {
        assert_eq!(
            edges(s, json!({"source_id": "a", "at_time": t_ab + 1})),
            json!([]),
            "vacuumed history is gone"
        );
        assert_eq!(incoming(s, "c", "next"), json!(["b"]), "live edges stay");
    };
    check(&s);
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    check(&s);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn memory_decay_times_survive_restart_and_compaction() {
    let dir = temp_dir("memory");
    let d = dir.to_str().unwrap();
    let s = Server::start(&["-aof-path", d]);
    let create = r#"{"index_name":"m","memory_config":{"enabled":true,"decay_half_life":"1h"}}"#;
    assert_eq!(s.json("POST", "/vector/actions/create", create).0, 200);
    s.json(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"m","id":"x","vector":[1.0,0.0]}"#,
    );
    let score = |s: &Server| {
        let (_, v) = s.json(
            "POST",
            "/vector/actions/search-with-scores",
            r#"{"index_name":"m","k":1,"query_vector":[1.0,0.0]}"#,
        );
        v["results"][0]["score"].as_f64().unwrap()
    };
    assert!(score(&s) > 0.99);
    drop(s);
    // The add time is in the log: after a restart (and a compaction) the item is
    // still fresh, not decayed from the epoch.
    let s = Server::start(&["-aof-path", d]);
    assert!(score(&s) > 0.99, "decay clock reset by replay");
    assert_eq!(s.json("POST", "/system/save", "").0, 200);
    drop(s);
    let s = Server::start(&["-aof-path", d]);
    assert!(score(&s) > 0.99, "decay clock reset by compaction");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}
