//! The real binary over HTTP: every route of the API that exists, the 501 answers of
//! routes not built yet, and bad input of every kind getting the right 4xx with a
//! JSON `{"error": ...}` (never a panic, hang or dropped connection).

mod support;

use serde_json::{json, Value};
use support::{read_response, send, Server};

#[test]
fn routes_end_to_end() {
    let s = Server::start(&[]);
    assert_eq!(s.json("GET", "/healthz", "").1, json!({"status": "ok"}));
    let (st, v) = s.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"docs","metric":"cosine","precision":"float16","text_language":"english","m":8}"#,
    );
    assert_eq!(
        (st, v),
        (200, json!({"status": "OK", "message": "Index created"}))
    );
    let (st, _) = s.json("POST", "/vector/indexes", r#"{"index_name":"other"}"#);
    assert_eq!(st, 200);
    let mut batch = Vec::new();
    for i in 0..200 {
        let x = i as f32;
        batch.push(json!({"id": format!("d{i}"), "vector": [x.sin(), x.cos(), 1.0],
            "metadata": {"text": if i % 2 == 0 { "rust database" } else { "green garden" }, "n": i}}));
    }
    let (st, v) = s.json(
        "POST",
        "/vector/actions/add-batch",
        &json!({"index_name": "docs", "vectors": batch}).to_string(),
    );
    assert_eq!((st, v["vectors_added"].clone()), (200, json!(200)));
    let (st, _) = s.json(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"docs","id":"ent","vector":[0.0],"metadata":{"kind":"person"}}"#,
    );
    assert_eq!(st, 200);

    let (st, v) = s.json("GET", "/vector/indexes", "");
    assert_eq!(st, 200);
    let docs = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "docs")
        .unwrap()
        .clone();
    assert_eq!(docs["vector_count"], 201);
    assert_eq!(
        (
            docs["metric"].as_str(),
            docs["precision"].as_str(),
            docs["m"].as_u64()
        ),
        (Some("cosine"), Some("float16"), Some(8))
    );
    let (_, v) = s.json("GET", "/vector/indexes/docs", "");
    assert_eq!(v["dimension"], 3);

    // Search: plain, filtered, hybrid, with scores.
    let (st, v) = s.json(
        "POST",
        "/vector/actions/search",
        r#"{"index_name":"docs","k":5,"query_vector":[0.0,1.0,1.0]}"#,
    );
    assert_eq!(st, 200);
    assert_eq!(v["results"].as_array().unwrap().len(), 5);
    // d0 = [0,1,1] matches exactly; d44 is within float16 rounding of it.
    assert!(
        v["results"].as_array().unwrap()[..2].contains(&json!("d0")),
        "{v}"
    );
    let (_, v) = s.json("POST", "/vector/actions/search", r#"{"index_name":"docs","k":50,"query_vector":[0.0,1.0,1.0],"filter":"n >= 190 AND text = 'green garden'"}"#);
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(ids
        .iter()
        .all(|id| id[1..].parse::<u32>().unwrap() % 2 == 1));
    let (_, v) = s.json(
        "POST",
        "/vector/actions/search-with-scores",
        r#"{"index_name":"docs","k":3,"query_text":"garden"}"#,
    );
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert!(r
        .iter()
        .all(|h| h["id"].as_str().unwrap()[1..].parse::<u32>().unwrap() % 2 == 1));
    assert!(
        (r[0]["score"].as_f64().unwrap() - 1.0).abs() < 1e-6,
        "text-only scores are normalized"
    );
    let (_, v) = s.json("POST", "/vector/actions/search", r#"{"index_name":"docs","k":3,"query_vector":[0.0,1.0,1.0],"query_text":"rust","alpha":0.5}"#);
    assert!(
        v["results"].as_array().unwrap()[..2].contains(&json!("d0")),
        "{v}"
    );

    // Get and delete.
    let (st, v) = s.json("GET", "/vector/indexes/docs/vectors/d3", "");
    assert_eq!(
        (st, v["id"].clone(), v["metadata"]["n"].clone()),
        (200, json!("d3"), json!(3))
    );
    let (_, v) = s.json(
        "POST",
        "/vector/actions/get-vectors",
        r#"{"index_name":"docs","ids":["d1","nope","ent"]}"#,
    );
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (st, _) = s.json(
        "POST",
        "/vector/actions/delete_vector",
        r#"{"index_name":"docs","id":"d0"}"#,
    );
    assert_eq!(st, 200);
    let (st, _) = s.json(
        "POST",
        "/vector/actions/delete_vector",
        r#"{"index_name":"docs","id":"d0"}"#,
    );
    assert_eq!(st, 404);
    let (_, v) = s.json(
        "POST",
        "/vector/actions/search",
        r#"{"index_name":"docs","k":10,"query_vector":[0.0,1.0,1.0]}"#,
    );
    assert!(
        !v["results"].as_array().unwrap().contains(&json!("d0")),
        "deleted: {v}"
    );

    // Import and commit.
    let (st, v) = s.json(
        "POST",
        "/vector/actions/import",
        r#"{"index_name":"other","vectors":[{"id":"x","vector":[1,2]}]}"#,
    );
    assert_eq!((st, v["vectors_imported"].clone()), (200, json!(1)));
    let (st, v) = s.json(
        "POST",
        "/vector/actions/import/commit",
        r#"{"index_name":"other"}"#,
    );
    assert_eq!(st, 202, "{v}");
    assert!(v["id"].is_string());
    assert_eq!(
        s.json("GET", "/vector/indexes/other", "").1["vector_count"],
        1
    );

    // KV.
    assert_eq!(
        s.json("POST", "/kv/greeting", r#"{"value":"hello"}"#).0,
        200
    );
    assert_eq!(s.json("GET", "/kv/greeting", "").1["value"], "hello");
    assert_eq!(s.json("PUT", "/kv/greeting", r#"{"value":"hi"}"#).0, 200);
    assert_eq!(s.json("GET", "/kv/greeting", "").1["value"], "hi");
    assert_eq!(s.json("DELETE", "/kv/greeting", "").0, 200);
    assert_eq!(s.json("GET", "/kv/greeting", "").0, 404);

    // Metrics.
    let (st, text) = s.call("GET", "/metrics", None, None);
    assert_eq!(st, 200);
    assert!(
        text.contains("kektordb_http_requests_total{route=\"search\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("kektordb_shard_vectors{shard=\"1\"}"));

    // Drop.
    assert_eq!(s.json("DELETE", "/vector/indexes/other", "").0, 200);
    assert_eq!(s.json("GET", "/vector/indexes/other", "").0, 404);
}

fn error_of(s: &Server, method: &str, path: &str, body: &str) -> (u16, String) {
    let (st, text) = s.call(method, path, Some(body), None);
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is not JSON: {text}"));
    (
        st,
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {text}"))
            .to_owned(),
    )
}

#[test]
fn bad_input_gets_the_right_4xx() {
    let s = Server::start(&["-body-bytes-max", "100000"]);
    s.json("POST", "/vector/actions/create", r#"{"index_name":"v"}"#);
    s.json(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"v","id":"a","vector":[1,2,3]}"#,
    );
    let cases: &[(&str, &str, &str, u16)] = &[
        ("POST", "/vector/actions/search", "{not json", 400),
        (
            "POST",
            "/vector/actions/search",
            r#"{"index_name":"v","k":"ten","query_vector":[1,2,3]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/search",
            r#"{"index_name":"v","k":100000,"query_vector":[1,2,3]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/search",
            r#"{"index_name":"v","k":1,"query_vector":[1,2]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/search",
            r#"{"index_name":"v","k":1,"query_vector":[1,2,3],"filter":"a = "}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/search",
            r#"{"index_name":"v","k":1,"query_text":"x"}"#,
            503,
        ),
        (
            "POST",
            "/vector/actions/search",
            r#"{"index_name":"nope","k":1,"query_vector":[1,2,3]}"#,
            404,
        ),
        (
            "POST",
            "/vector/actions/add",
            r#"{"index_name":"v","id":"b","vector":[1,2]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/add",
            r#"{"index_name":"v","id":"","vector":[1,2,3]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/add",
            r#"{"index_name":"v","vector":[1,2,3]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/create",
            r#"{"index_name":"v"}"#,
            409,
        ),
        (
            "POST",
            "/vector/actions/create",
            r#"{"index_name":"w","metric":"manhattan"}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/create",
            r#"{"index_name":"w","m":100000}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/create",
            r#"{"index_name":"w","auto_links":[{"metadata_field":"p"}]}"#,
            400,
        ),
        (
            "POST",
            "/vector/actions/create",
            r#"{"index_name":"w","maintenance":{"graph_retention":-5}}"#,
            400,
        ),
        ("GET", "/vector/indexes/nope", "", 404),
        ("GET", "/vector/indexes/v/vectors/zzz", "", 404),
        ("GET", "/kv/missing", "", 404),
        ("POST", "/kv/k", r#"{"value": 5}"#, 400),
        ("GET", "/vector/actions/search", "", 405),
        ("PATCH", "/kv/k", "", 405),
        ("GET", "/no/such/route", "", 404),
        ("POST", "/graph/actions/invalidate", "{}", 501),
        ("POST", "/graph/actions/traverse", "{}", 400),
        (
            "POST",
            "/graph/actions/get-node-properties",
            r#"{"index_name":"v","node_id":"zz"}"#,
            404,
        ),
        (
            "POST",
            "/graph/actions/search-nodes",
            r#"{"index_name":"v","property_filter":"a ="}"#,
            400,
        ),
        ("POST", "/graph/actions/link", "{}", 400),
        (
            "POST",
            "/graph/actions/link",
            r#"{"source_id":"a","target_id":"b","relation_type":""}"#,
            400,
        ),
        (
            "POST",
            "/graph/actions/get-edges",
            r#"{"source_id":"a","direction":"sideways"}"#,
            400,
        ),
        (
            "POST",
            "/graph/actions/unlink",
            r#"{"source_id":"a","target_id":"b","relation_type":"r"}"#,
            404,
        ),
        ("POST", "/rag/retrieve", "{}", 503),
        (
            "POST",
            "/vector/actions/compress",
            r#"{"index_name":"v","precision":"float64"}"#,
            400,
        ),
        ("GET", "/system/tasks/123", "", 404),
        ("GET", "/system/save", "", 405),
    ];
    for (method, path, body, want) in cases {
        let (st, err) = error_of(&s, method, path, body);
        assert_eq!(st, *want, "{method} {path} {body}: {err}");
        assert!(!err.is_empty());
    }
    // Body over the limit: 413, connection closed after the answer.
    let big = format!(
        r#"{{"index_name":"v","vectors":[{}]}}"#,
        "1,".repeat(60_000)
    );
    assert_eq!(
        error_of(&s, "POST", "/vector/actions/add-batch", &big).0,
        413
    );
    // Malformed HTTP: 400.
    let mut c = s.connect();
    use std::io::Write;
    c.write_all(b"\x01\x02 nonsense\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut c).0, 400);
    // The server is still fine, and keep-alive carries several requests.
    let mut c = s.connect();
    for _ in 0..3 {
        send(&mut c, "GET", "/healthz", None, None, false);
        assert_eq!(read_response(&mut c).0, 200);
    }
}

#[test]
fn bearer_token_is_required_when_set() {
    let s = Server::start(&["-auth-token", "s3cret"]);
    let (st, body) = s.call("GET", "/vector/indexes", None, None);
    assert_eq!(st, 401);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    assert_eq!(s.call("GET", "/vector/indexes", None, Some("wrong")).0, 401);
    assert_eq!(
        s.call("GET", "/vector/indexes", None, Some("s3cret")).0,
        200
    );
    assert_eq!(
        s.call("GET", "/healthz", None, None).0,
        200,
        "health stays open for probes"
    );
}

#[test]
fn unknown_flags_are_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kektordb"))
        .args(["-cognitive-config", "c.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown flag"));
}

#[test]
fn readyz_is_public_and_ready_once_listening() {
    let s = Server::start(&["-auth-token", "t0ken"]);
    let (st, body) = s.call("GET", "/readyz", None, None);
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("ready"), "{body}");
    assert_eq!(s.call("GET", "/healthz", None, None).0, 200);
    assert_eq!(s.call("GET", "/vector/indexes", None, None).0, 401);
    assert_eq!(s.call("POST", "/readyz", Some("{}"), Some("t0ken")).0, 405);
}

#[test]
fn sessions_profiles_and_reflections() {
    let s = Server::start(&[]);
    let ok = |m: &str, p: &str, b: &str| {
        let (st, v) = s.json(m, p, b);
        assert!(st < 300, "{m} {p}: {st} {v}");
        v
    };
    ok(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"c","metric":"euclidean"}"#,
    );
    // Sessions: durable nodes; a memory of the session is summarized at the end.
    let v = ok(
        "POST",
        "/sessions",
        r#"{"index_name":"c","session_id":"s1","user_id":"ada"}"#,
    );
    assert_eq!(v["status"], "active");
    ok(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"c","id":"m1","vector":[1,2],"metadata":{"type":"memory","content":"likes tea","session_id":"s1"}}"#,
    );
    let v = ok("POST", "/sessions/s1/end", r#"{"index_name":"c"}"#);
    assert_eq!(
        (v["status"].as_str(), v["memories"].as_u64()),
        (Some("ended"), Some(1)),
        "{v}"
    );
    let sum = v["summary_id"].as_str().unwrap().to_owned();
    let (_, node) = s.json("GET", &format!("/vector/indexes/c/vectors/{sum}"), "");
    assert!(
        node["metadata"]["content"]
            .as_str()
            .unwrap()
            .contains("likes tea"),
        "{node}"
    );
    assert_eq!(
        s.json("POST", "/sessions/nope/end", r#"{"index_name":"c"}"#)
            .0,
        404
    );
    assert_eq!(
        s.json(
            "POST",
            "/sessions",
            r#"{"index_name":"c","session_id":"m1"}"#
        )
        .0,
        400
    );
    // Profiles.
    ok(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"c","id":"_profile::ada","vector":[],"metadata":{"type":"user_profile","language":"en","expertise_areas":"rust, go","confidence":0.8}}"#,
    );
    let v = ok("GET", "/users?index_name=c", "");
    assert_eq!(
        (v["count"].as_u64(), v["profiles"][0]["user_id"].as_str()),
        (Some(1), Some("ada")),
        "{v}"
    );
    let v = ok("GET", "/users/ada/profile?index_name=c", "");
    assert_eq!(v["expertise_areas"], json!(["rust", "go"]));
    assert_eq!(s.json("GET", "/users/bob/profile?index_name=c", "").0, 404);
    assert_eq!(s.json("GET", "/users", "").0, 400);
    // Reflections: listed by type and status, resolved with a discard.
    ok(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"c","id":"r1","vector":[],"metadata":{"type":"reflection","status":"unresolved","content":"m1 contradicts m2"}}"#,
    );
    ok(
        "POST",
        "/vector/actions/add",
        r#"{"index_name":"c","id":"m2","vector":[2,1],"metadata":{"type":"memory"}}"#,
    );
    let v = ok("GET", "/vector/indexes/c/reflections?status=unresolved", "");
    assert_eq!(v["reflections"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        s.json("GET", "/vector/indexes/c/reflections?status=bogus", "")
            .0,
        400
    );
    ok(
        "POST",
        "/vector/indexes/c/reflections/r1/resolve",
        r#"{"resolution":"keep m1","discard_id":"m2"}"#,
    );
    let v = ok("GET", "/vector/indexes/c/reflections?status=resolved", "");
    assert_eq!(v["reflections"][0]["metadata"]["resolution"], "keep m1");
    assert_eq!(s.json("GET", "/vector/indexes/c/vectors/m2", "").0, 404);
    let (st, v) = s.json("POST", "/vector/indexes/c/cognitive/think", "{}");
    assert_eq!(st, 501, "{v}");
}

#[test]
fn every_remembered_task_is_listed() {
    let s = Server::start(&[]);
    assert_eq!(s.json("GET", "/system/tasks", "").1, json!({"tasks": []}));
    let (st, t) = s.json("POST", "/system/aof-rewrite", "");
    assert_eq!(st, 202, "{t}");
    let (st, v) = s.json("GET", "/system/tasks", "");
    assert_eq!(st, 200);
    let id = t["id"].as_str().expect("a task id");
    assert_eq!(v["tasks"][0]["id"].as_str(), Some(id), "{v} {t}");
}

/// `-http-executors`: with fewer shards than HTTP executors asked for, the accept
/// loops run on executors of their own (the metrics count connections on each),
/// requests reach the shard through the engine as before, and SIGTERM still drains
/// and stops the server cleanly.
#[test]
fn http_on_executors_of_its_own() {
    // A later -shards overrides the tests' default of 2.
    let mut s = Server::start(&["-shards", "1", "-http-executors", "2"]);
    let (st, _) = s.json("POST", "/vector/actions/create", r#"{"index_name":"h"}"#);
    assert_eq!(st, 200);
    let batch: Vec<_> = (0..100)
        .map(|i| json!({"id": format!("v{i}"), "vector": [i as f32, 1.0, (i % 7) as f32]}))
        .collect();
    let (st, _) = s.json(
        "POST",
        "/vector/actions/add-batch",
        &json!({"index_name": "h", "vectors": batch}).to_string(),
    );
    assert_eq!(st, 200);
    // Several keep-alive connections at once, so both executors get some.
    let open: Vec<_> = (0..8).map(|_| s.connect()).collect();
    let (_, v) = s.json(
        "POST",
        "/vector/actions/search",
        r#"{"index_name":"h","k":1,"query_vector":[42.0,1.0,0.0]}"#,
    );
    assert_eq!(v["results"], json!(["v42"]));
    let (_, metrics) = s.call("GET", "/metrics", None, None);
    let executors: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("kektordb_http_connections{"))
        .collect();
    assert_eq!(
        executors.len(),
        2,
        "two HTTP executors for one shard: {metrics}"
    );
    let open_total: u64 = executors
        .iter()
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum();
    assert!(
        open_total >= 8,
        "the open connections are counted: {metrics}"
    );
    drop(open);
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &s.pid().to_string()])
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "clean stop");
}
