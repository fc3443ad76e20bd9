//! The dashboard's routes over HTTP against the real binary (no browser): the
//! embedded files with their types and headers, public while every data route
//! stays behind the token; `POST /ui/search`, `/ui/explore` and `/ui/points` in
//! upstream's shapes with the debugger's additions; paging that visits every item
//! once; filter errors with their position.

mod support;

use std::collections::BTreeSet;
use std::io::Read;

use serde_json::{json, Value};
use support::{send, Server};

fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    s.json("POST", path, &body.to_string())
}

/// Status and head of a request (the body is not read).
fn head_of(s: &Server, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut c = s.connect();
    send(&mut c, method, path, None, token, true);
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(c.read(&mut byte).unwrap(), 1, "closed mid-head");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase())
}

/// An index of 60 points over 2 shards with text, linked in a chain, and a node
/// without a vector.
fn seeded(s: &Server) {
    let (st, _) = post(
        s,
        "/vector/actions/create",
        json!({"index_name": "t", "metric": "cosine", "text_language": "english"}),
    );
    assert_eq!(st, 200);
    let vectors: Vec<Value> = (0..60)
        .map(|i| {
            let x = i as f32 / 10.0;
            json!({"id": format!("p{i}"), "vector": [x.cos(), x.sin(), 0.5],
                "metadata": {"content": if i % 2 == 0 { "red apples and pears" } else { "fast sports cars" },
                             "n": i, "type": "chunk"}})
        })
        .collect();
    let (st, _) = post(
        s,
        "/vector/actions/add-batch",
        json!({"index_name": "t", "vectors": vectors}),
    );
    assert_eq!(st, 200);
    let (st, _) = post(
        s,
        "/vector/actions/add",
        json!({"index_name": "t", "id": "doc:a", "metadata": {"type": "document"}}),
    );
    assert_eq!(st, 200);
    for i in 0..59 {
        let (st, _) = post(
            s,
            "/graph/actions/link",
            json!({"source_id": format!("p{i}"), "target_id": format!("p{}", i + 1),
                   "relation_type": "next", "inverse_relation_type": "prev"}),
        );
        assert_eq!(st, 200);
    }
    for i in 0..5 {
        let (st, _) = post(
            s,
            "/graph/actions/link",
            json!({"source_id": "doc:a", "target_id": format!("p{i}"), "relation_type": "child"}),
        );
        assert_eq!(st, 200);
    }
}

#[test]
fn files_are_served_with_their_types_and_no_outside_sources() {
    let s = Server::start(&[]);
    let (st, head) = head_of(&s, "GET", "/ui/", None);
    assert_eq!(st, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    let (st, page) = s.call("GET", "/ui", None, None);
    assert_eq!(st, 200);
    assert!(page.contains("<script type=\"module\" src=\"/ui/app.js\">"));
    for (file, kind) in [
        ("app.js", "text/javascript"),
        ("graph.js", "text/javascript"),
        ("app.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let (st, head) = head_of(&s, "GET", &format!("/ui/{file}"), None);
        assert_eq!(st, 200, "{file}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{file}: {head}"
        );
    }
    let (st, head) = head_of(&s, "HEAD", "/ui/app.js", None);
    assert!(st == 200 && head.contains("content-length: "), "{head}");
    assert_eq!(s.call("GET", "/ui/nope.js", None, None).0, 404);
    assert_eq!(s.call("GET", "/ui/../Cargo.toml", None, None).0, 404);
    assert_eq!(s.call("POST", "/ui/app.js", Some("{}"), None).0, 405);
    assert_eq!(s.call("GET", "/ui/search", None, None).0, 405);
}

#[test]
fn the_page_is_public_and_every_data_route_needs_the_token() {
    let s = Server::start(&["-auth-token", "tok"]);
    for path in ["/ui/", "/ui/app.js", "/ui/api.js"] {
        assert_eq!(s.call("GET", path, None, None).0, 200, "{path}");
    }
    let body = r#"{"index_name":"t","query":"x"}"#;
    for (method, path) in [
        ("POST", "/ui/search"),
        ("POST", "/ui/explore"),
        ("POST", "/ui/points"),
        ("GET", "/ui/overview"),
        ("GET", "/vector/indexes"),
    ] {
        let (st, text) = s.call(method, path, Some(body), None);
        assert_eq!(st, 401, "{method} {path}: {text}");
        assert_eq!(s.call(method, path, Some(body), Some("bad")).0, 401);
    }
    let (st, v) = s.call("GET", "/ui/overview", None, Some("tok"));
    assert_eq!(st, 200, "{v}");
    let v: Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v["auth"], json!(true));
}

#[test]
fn ui_search_in_upstream_shape_with_score_parts_and_exact_reference() {
    let s = Server::start(&[]);
    seeded(&s);
    // Upstream's body: a text query (BM25 here: no embedder), relations hydrated.
    let (st, v) = post(
        &s,
        "/ui/search",
        json!({"index_name": "t", "query": "apples", "k": 3, "include_relations": ["next"], "hydrate": true}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["mode"], json!("text"));
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        assert!(r["node"]["metadata"]["content"]
            .as_str()
            .unwrap()
            .contains("apples"));
        let next = &r["node"]["connections"]["next"][0];
        assert!(next["metadata"].is_object(), "{r}");
        assert!(
            next["vector"].is_array(),
            "vectors unless include_vectors is false"
        );
        let parts = r["text_part"].as_f64().unwrap() + r["vector_part"].as_f64().unwrap();
        assert!((parts - r["score"].as_f64().unwrap()).abs() < 1e-4, "{r}");
    }
    // Hybrid: a vector with the text; the parts add up to the score.
    let q = json!({"index_name": "t", "query": "cars", "query_vector": [1.0, 0.2, 0.5], "k": 5,
                   "alpha": 0.7, "include_vectors": false, "filter": "n >= 10"});
    let (st, v) = post(&s, "/ui/search", q.clone());
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["mode"].clone(), v["alpha"].clone()),
        (json!("hybrid"), json!(0.7f32))
    );
    assert!(v["took_ms"]["search"].as_f64().unwrap() >= 0.0);
    for r in v["results"].as_array().unwrap() {
        assert!(r["node"].get("vector").is_none());
        assert!(r["node"]["metadata"]["n"].as_u64().unwrap() >= 10);
        let parts = r["text_part"].as_f64().unwrap() + r["vector_part"].as_f64().unwrap();
        assert!((parts - r["score"].as_f64().unwrap()).abs() < 1e-4, "{r}");
        let vs = r["vector_score"].as_f64().unwrap();
        assert!((r["vector_part"].as_f64().unwrap() - 0.7 * vs).abs() < 1e-4);
    }
    // The exact reference is the same query at the largest ef.
    let mut exact = q.clone();
    exact["exact"] = json!(true);
    let (st, e) = post(&s, "/ui/search", exact);
    assert_eq!(st, 200);
    assert_eq!(e["ef_search"], json!(100_000));
    assert_eq!(
        v["results"], e["results"],
        "60 points: HNSW at ef 100 is exact"
    );
    // Errors keep their statuses.
    let (st, e) = post(
        &s,
        "/ui/search",
        json!({"index_name": "t", "query": "x", "filter": "n <"}),
    );
    assert!(
        st == 400 && e["error"].as_str().unwrap().contains("at position 3"),
        "{e}"
    );
    assert_eq!(
        post(
            &s,
            "/ui/search",
            json!({"index_name": "nope", "query": "x"})
        )
        .0,
        404
    );
    assert_eq!(post(&s, "/ui/search", json!({"index_name": "t"})).0, 400);
}

#[test]
fn ui_explore_samples_and_expands() {
    let s = Server::start(&[]);
    seeded(&s);
    let (st, v) = post(&s, "/ui/explore", json!({"index_name": "t", "limit": 10}));
    assert_eq!(st, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    let with_edges = results
        .iter()
        .filter(|r| r["connections"].is_object() || r["incoming"].is_object())
        .count();
    assert_eq!(with_edges, 10, "every point of the chain has an edge");
    // A node's neighbourhood, ids only.
    let (st, v) = post(
        &s,
        "/ui/explore",
        json!({"index_name": "t", "ids": ["p3"], "hydrate": false, "include_vectors": false}),
    );
    assert_eq!(st, 200);
    let r = &v["results"][0];
    assert_eq!(r["id"], json!("p3"));
    assert!(r.get("vector").is_none());
    assert_eq!(r["connections"]["next"], json!([{"id": "p4"}]));
    assert_eq!(r["connections"]["prev"], json!([{"id": "p2"}]));
    assert_eq!(r["incoming"]["child"], json!([{"id": "doc:a"}]));
    // Relations filter and time travel (before anything was linked: no edge).
    let (_, v) = post(
        &s,
        "/ui/explore",
        json!({"index_name": "t", "ids": ["p3"], "relations": ["next"]}),
    );
    assert!(v["results"][0]["connections"]["prev"].is_null());
    assert_eq!(v["results"][0]["connections"]["next"][0]["id"], json!("p4"));
    let (_, v) = post(
        &s,
        "/ui/explore",
        json!({"index_name": "t", "ids": ["p3"], "at_time": 1}),
    );
    assert!(v["results"][0].get("connections").is_none(), "{v}");
    let (st, _) = post(
        &s,
        "/ui/explore",
        json!({"index_name": "t", "limit": 10_001}),
    );
    assert_eq!(st, 400);
    assert_eq!(
        post(&s, "/ui/explore", json!({"index_name": "nope"})).0,
        404
    );
}

#[test]
fn ui_points_pages_visit_every_item_once() {
    let s = Server::start(&[]);
    seeded(&s);
    let mut seen = BTreeSet::new();
    let mut offset = 0;
    loop {
        let (st, v) = post(
            &s,
            "/ui/points",
            json!({"index_name": "t", "offset": offset, "limit": 7}),
        );
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["total_count"], json!(61));
        assert_eq!(v["total_exact"], json!(true));
        for d in v["data"].as_array().unwrap() {
            assert!(seen.insert(d["id"].as_str().unwrap().to_owned()), "{d}");
        }
        offset = v["next_offset"].as_u64().unwrap() as usize;
        if !v["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(seen.len(), 61);
    // With a filter: the matching items only, in pages, ending with the exact total.
    let mut matched = BTreeSet::new();
    let mut offset = 0;
    loop {
        let (_, v) = post(
            &s,
            "/ui/points",
            json!({"index_name": "t", "offset": offset, "limit": 4, "filter": "n < 20 AND type = 'chunk'"}),
        );
        for d in v["data"].as_array().unwrap() {
            assert!(d["metadata"]["n"].as_u64().unwrap() < 20);
            assert_eq!(d["entity"], json!(false));
            matched.insert(d["id"].as_str().unwrap().to_owned());
        }
        offset = v["next_offset"].as_u64().unwrap() as usize;
        if !v["has_more"].as_bool().unwrap() {
            assert_eq!(
                (v["total_count"].clone(), v["total_exact"].clone()),
                (json!(20), json!(true))
            );
            break;
        }
    }
    assert_eq!(matched.len(), 20);
    let (_, v) = post(
        &s,
        "/ui/points",
        json!({"index_name": "t", "filter": "type = 'document'"}),
    );
    assert_eq!(v["data"][0]["id"], json!("doc:a"));
    assert_eq!(v["data"][0]["entity"], json!(true));
    let (st, e) = post(
        &s,
        "/ui/points",
        json!({"index_name": "t", "filter": "type = = 1"}),
    );
    assert!(
        st == 400 && e["error"].as_str().unwrap().contains("position 7"),
        "{e}"
    );
    assert_eq!(
        post(&s, "/ui/points", json!({"index_name": "t", "limit": 1001})).0,
        400
    );
    assert_eq!(
        post(&s, "/ui/points", json!({"index_name": "t", "limit": 0})).0,
        400
    );
    assert_eq!(post(&s, "/ui/points", json!({"index_name": "nope"})).0, 404);
}

#[test]
fn ui_overview_has_the_figures_of_every_index() {
    let s = Server::start(&[]);
    seeded(&s);
    let (st, v) = s.json("GET", "/ui/overview", "");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["shards"], json!(2));
    let t = &v["indexes"][0];
    assert_eq!(t["name"], json!("t"));
    assert_eq!(t["vector_count"], json!(61));
    assert_eq!(t["dimension"], json!(3));
    assert_eq!(t["text_language"], json!("english"));
    assert_eq!(t["deleted_rows"], json!(0));
    assert!(t["memory_bytes"].as_u64().unwrap() > 0);
    assert!(t["maintenance"]["vacuum_interval"].as_i64().unwrap() > 0);
    assert_eq!(t["embedder"], Value::Null);
    assert_eq!(post(&s, "/ui/overview", json!({})).0, 200);
}
