//! The server on a real in-memory engine, fed lines as a client writes them:
//! framing, the handshake, protocol errors, and the tools with no embedder (graph
//! tools work, semantic ones say how to fix it) and with a small word-hash
//! embedder (save, recall, sessions). The real model over a real process is
//! `tests/mcp_stdio.rs`.

use std::io::Cursor;
use std::sync::Arc;

use serde_json::{json, Value};

use super::protocol::{read_frame, scan_id, Frame};
use super::{McpOptions, Server, SUPPORTED_VERSIONS};
use crate::engine::{EmbedFuture, EmbedPurpose, TextEmbedder};
use crate::{Engine, Options};

fn engine() -> Engine {
    Engine::open(Options {
        shards: 2,
        pin: false,
        background: false,
        ..Options::default()
    })
    .unwrap()
}

/// Words hashed into 32 dimensions: texts sharing words are near.
struct WordHash;

impl TextEmbedder for WordHash {
    fn name(&self) -> String {
        "test:wordhash".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(32)
    }
    fn embed(&self, texts: Vec<String>, _: EmbedPurpose) -> EmbedFuture {
        let out = texts
            .iter()
            .map(|t| {
                let mut v = vec![0.01f32; 32];
                for w in t.to_lowercase().split(|c: char| !c.is_alphanumeric()) {
                    if !w.is_empty() {
                        let h = w
                            .bytes()
                            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
                        v[(h % 32) as usize] += 1.0;
                    }
                }
                v
            })
            .collect();
        Box::pin(async move { Ok(out) })
    }
}

fn server(embedder: bool) -> Server {
    let e = engine();
    if embedder {
        e.set_embedder(Some(Arc::new(WordHash)));
    }
    Server::new(e, &McpOptions::default())
}

/// Feeds `lines` through `run` and returns the answers.
fn exchange(s: &Server, lines: &[String]) -> Vec<Value> {
    let input = lines.join("\n") + "\n";
    let mut out = Vec::new();
    s.run(Cursor::new(input.into_bytes()), &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn req(id: i64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn one(s: &Server, method: &str, params: Value) -> Value {
    let mut a = exchange(s, &[req(1, method, params)]);
    assert_eq!(a.len(), 1);
    a.remove(0)
}

/// Calls a tool; returns (isError, structuredContent or the error text).
fn call(s: &Server, tool: &str, args: Value) -> (bool, Value) {
    let a = one(s, "tools/call", json!({"name": tool, "arguments": args}));
    let r = &a["result"];
    assert!(a.get("error").is_none(), "{tool}: {a}");
    let text = r["content"][0]["text"].as_str().unwrap().to_owned();
    if r["isError"] == json!(true) {
        return (true, json!(text));
    }
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        r["structuredContent"]
    );
    (false, r["structuredContent"].clone())
}

fn code(a: &Value) -> i64 {
    a["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error: {a}"))
}

#[test]
fn framing() {
    let mut r = Cursor::new(b"{\"a\":1}\r\n\nabc".to_vec());
    assert_eq!(
        read_frame(&mut r, 100).unwrap(),
        Frame::Line(b"{\"a\":1}".to_vec())
    );
    assert_eq!(read_frame(&mut r, 100).unwrap(), Frame::Line(Vec::new()));
    assert_eq!(
        read_frame(&mut r, 100).unwrap(),
        Frame::Line(b"abc".to_vec())
    );
    assert_eq!(read_frame(&mut r, 100).unwrap(), Frame::Eof);
    // Over the limit in a small buffered reader: skipped to the newline, then on.
    let long = format!("{{\"id\":7,{}}}\nnext\n", "x".repeat(5000));
    let mut r = std::io::BufReader::with_capacity(64, Cursor::new(long.into_bytes()));
    match read_frame(&mut r, 1000).unwrap() {
        Frame::TooLong { prefix, bytes } => {
            assert_eq!(bytes, 5009);
            assert!(prefix.len() <= crate::limits::MCP_ID_SCAN_BYTES);
            assert_eq!(scan_id(&prefix), json!(7));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        read_frame(&mut r, 1000).unwrap(),
        Frame::Line(b"next".to_vec())
    );
}

#[test]
fn ids_of_cut_lines() {
    assert_eq!(
        scan_id(br#"{"jsonrpc":"2.0","id":"a\"b","method":"#),
        json!("a\"b")
    );
    assert_eq!(
        scan_id(br#"{"params":{"id":5,"x":"#),
        Value::Null,
        "nested ids are not the request's"
    );
    assert_eq!(scan_id(br#"{"params":{"id":5},"id":6,"#), json!(6));
    assert_eq!(
        scan_id(br#"{"method":"x","id":12"#),
        Value::Null,
        "may go on"
    );
    assert_eq!(scan_id(br#"{"content":"\"id\":3","id":4,"#), json!(4));
    assert_eq!(scan_id(b"garbage"), Value::Null);
}

#[test]
fn protocol_errors_and_the_server_goes_on() {
    let s = server(false);
    let answers = exchange(
        &s,
        &[
            "{not json".into(),
            "[1,2]".into(),
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#.into(),
            r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#.into(),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
            r#"{"jsonrpc":"2.0","id":9,"result":{}}"#.into(),
            req(4, "server/discover", json!({})),
            req(5, "tools/call", json!({"name": "nope"})),
            req(
                6,
                "tools/call",
                json!({"name": "get_memory", "arguments": {"memory_id": "x", "bogus": 1}}),
            ),
            req(
                7,
                "tools/call",
                json!({"name": "get_memory", "arguments": {}}),
            ),
            req(
                8,
                "tools/call",
                json!({"name": "recall_memory", "arguments": {"query": "q", "limit": 500}}),
            ),
            r#"{"jsonrpc":"2.0","id":10,"method":"ping","params":3}"#.into(),
            req(11, "ping", json!({})),
        ],
    );
    let codes: Vec<(Value, i64)> = answers
        .iter()
        .map(|a| (a["id"].clone(), a["error"]["code"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(
        codes,
        vec![
            (Value::Null, -32700),
            (Value::Null, -32600),
            (Value::Null, -32600),
            (json!(3), -32600),
            (json!(4), -32601),
            (json!(5), -32602),
            (json!(6), -32602),
            (json!(7), -32602),
            (json!(8), -32602),
            (json!(10), -32600),
            (json!(11), 0),
        ],
        "{answers:#?}"
    );
    assert!(answers[6]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bogus"));
    assert!(answers[7]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("memory_id"));
    assert_eq!(answers[10]["result"], json!({}));
}

#[test]
fn handshake_versions() {
    let s = server(false);
    for v in SUPPORTED_VERSIONS {
        let a = one(
            &s,
            "initialize",
            json!({"protocolVersion": v, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        assert_eq!(a["result"]["protocolVersion"], json!(v));
        assert_eq!(a["result"]["serverInfo"]["name"], json!("kektordb"));
        assert!(a["result"]["capabilities"]["tools"].is_object());
        assert!(a["result"]["capabilities"]["prompts"].is_object());
    }
    let a = one(&s, "initialize", json!({"protocolVersion": "1999-01-01"}));
    assert_eq!(a["result"]["protocolVersion"], json!("2025-11-25"));
    assert_eq!(code(&one(&s, "initialize", json!({}))), -32602);
    let p = one(&s, "prompts/list", json!({}));
    assert_eq!(
        p["result"]["prompts"][0]["name"],
        json!("memory_instructions")
    );
    let g = one(&s, "prompts/get", json!({"name": "memory_instructions"}));
    assert!(g["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("save_memory"));
    assert_eq!(code(&one(&s, "prompts/get", json!({"name": "x"}))), -32602);
}

#[test]
fn tools_list_has_schemas_and_annotations() {
    let s = server(false);
    let a = one(&s, "tools/list", json!({}));
    let tools = a["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), super::tool_names().len());
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], json!("object"), "{t}");
        assert_eq!(
            t["inputSchema"]["additionalProperties"],
            json!(false),
            "{t}"
        );
        assert_eq!(t["outputSchema"]["type"], json!("object"), "{t}");
        assert!(t["annotations"]["readOnlyHint"].is_boolean(), "{t}");
    }
    let save = tools.iter().find(|t| t["name"] == "save_memory").unwrap();
    assert_eq!(save["inputSchema"]["required"], json!(["content"]));
    assert_eq!(
        save["inputSchema"]["properties"]["layer"]["default"],
        json!("episodic")
    );
    assert_eq!(save["annotations"]["readOnlyHint"], json!(false));
    let recall = tools.iter().find(|t| t["name"] == "recall_memory").unwrap();
    assert_eq!(recall["annotations"]["readOnlyHint"], json!(true));
    assert_eq!(
        recall["inputSchema"]["properties"]["limit"]["default"],
        json!(5)
    );
    let only = Server::new(
        engine(),
        &McpOptions {
            tools: super::select_tools("admin").unwrap(),
            ..McpOptions::default()
        },
    );
    let names: Vec<Value> = one(&only, "tools/list", json!({}))["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("filter_vectors"), json!("list_vectors")]);
    assert_eq!(
        code(&one(
            &only,
            "tools/call",
            json!({"name": "save_memory", "arguments": {"content": "x"}})
        )),
        -32602
    );
}

#[test]
fn without_an_embedder_graph_tools_work_and_semantic_ones_say_how_to_fix_it() {
    let s = server(false);
    let (err, msg) = call(&s, "save_memory", json!({"content": "Ada likes tea"}));
    assert!(err);
    assert!(msg.as_str().unwrap().contains("fetch-models.sh"), "{msg}");
    let (err, _) = call(&s, "recall_memory", json!({"query": "tea"}));
    assert!(
        err,
        "the index exists now (save created it), so recall needs the embedder"
    );
    let (err, e) = call(
        &s,
        "create_entity",
        json!({"entity_id": "ada", "type": "person", "description": "an engineer"}),
    );
    assert!(!err, "{e}");
    assert_eq!(e["embedded"], json!(false));
    call(
        &s,
        "create_entity",
        json!({"entity_id": "kektor", "type": "project"}),
    );
    call(
        &s,
        "create_entity",
        json!({"entity_id": "rust", "type": "language"}),
    );
    let (err, _) = call(
        &s,
        "connect_entities",
        json!({"source_id": "ada", "target_id": "kektor", "relation": "works_on"}),
    );
    assert!(!err);
    call(
        &s,
        "connect_entities",
        json!({"source_id": "kektor", "target_id": "rust", "relation": "written_in"}),
    );
    let (_, x) = call(&s, "explore_connections", json!({"root_id": "kektor"}));
    let d = x["graph_description"].as_str().unwrap();
    assert!(d.contains("[THIS] <--(works_on)-- ada: an engineer"), "{d}");
    assert!(d.contains("[THIS] --(written_in)--> rust"), "{d}");
    let (_, p) = call(
        &s,
        "find_connection",
        json!({"source_id": "ada", "target_id": "rust"}),
    );
    assert_eq!(p["path"], json!(["ada", "kektor", "rust"]));
    assert_eq!(p["relations"], json!(["works_on", "written_in"]));
    let (_, none) = call(
        &s,
        "find_connection",
        json!({"source_id": "rust", "target_id": "ada"}),
    );
    assert_eq!(none["found"], json!(false));
    let (_, g) = call(
        &s,
        "extract_subgraph",
        json!({"root_id": "ada", "depth": 2}),
    );
    assert_eq!(g["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(g["edges"].as_array().unwrap().len(), 2);
    let (_, g1) = call(
        &s,
        "extract_subgraph",
        json!({"root_id": "ada", "depth": 2, "limit": 2}),
    );
    assert_eq!(
        (
            g1["nodes"].as_array().unwrap().len(),
            g1["truncated"].clone()
        ),
        (2, json!(true))
    );
    let (_, ix) = call(&s, "list_indexes", json!({}));
    assert_eq!(ix["indexes"][0]["name"], json!("mcp_memory"));
    assert_eq!(ix["indexes"][0]["half_life_days"], json!(30.0));
    let (_, st) = call(&s, "get_stats", json!({}));
    assert_eq!(
        (st["count"].clone(), st["embedder"].clone()),
        (json!(3), Value::Null)
    );
    let (_, f) = call(&s, "filter_vectors", json!({"filter": "type = 'person'"}));
    assert_eq!(f["results"], json!(["ada"]));
    let (err, bad) = call(&s, "filter_vectors", json!({"filter": "type = "}));
    assert!(
        err && bad.as_str().unwrap().contains("A filter looks like"),
        "{bad}"
    );
    let (_, page) = call(&s, "list_vectors", json!({"limit": 2}));
    assert_eq!(
        (page["has_more"].clone(), page["next_offset"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(page["vectors"][0]["id"], json!("ada"));
    let (_, last) = call(&s, "list_vectors", json!({"limit": 2, "offset": 2}));
    assert_eq!(last["vectors"][0]["id"], json!("rust"));
    assert_eq!(last["has_more"], json!(false));
    // Sessions are nodes; ending one without memories needs no embedder.
    let (_, st) = call(
        &s,
        "start_session",
        json!({"session_id": "s1", "user_id": "ada"}),
    );
    assert_eq!(st["status"], json!("active"));
    let (_, end) = call(&s, "end_session", json!({"session_id": "s1"}));
    assert_eq!(
        (end["status"].clone(), end["summary_id"].clone()),
        (json!("ended"), Value::Null)
    );
    let (err, _) = call(&s, "end_session", json!({"session_id": "nope"}));
    assert!(err);
    let (err, msg) = call(&s, "create_entity", json!({"entity_id": "s1", "type": "x"}));
    assert!(
        err && msg.as_str().unwrap().contains("not an entity"),
        "{msg}"
    );
}

#[test]
fn memories_with_an_embedder() {
    let s = server(true);
    let (_, sess) = call(
        &s,
        "start_session",
        json!({"user_id": "ada", "context": "trip planning"}),
    );
    let sid = sess["session_id"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("session::"));
    call(
        &s,
        "create_entity",
        json!({"entity_id": "ada", "type": "person"}),
    );
    let texts = [
        ("Ada drinks green tea every morning", "semantic"),
        (
            "The billing service was migrated to Postgres 16",
            "episodic",
        ),
        ("To release run make dist and tag the commit", "procedural"),
    ];
    let mut ids = Vec::new();
    for (t, layer) in texts {
        let (err, r) = call(
            &s,
            "save_memory",
            json!({"content": t, "layer": layer, "session_id": sid, "links": ["ada:about"], "tags": "a, b"}),
        );
        assert!(!err, "{r}");
        assert_eq!(
            (r["status"].clone(), r["links"].clone()),
            (json!("saved"), json!(2))
        );
        ids.push(r["memory_id"].as_str().unwrap().to_owned());
    }
    assert!(ids.windows(2).all(|w| w[0] != w[1]));
    let (_, m) = call(&s, "get_memory", json!({"memory_id": ids[0]}));
    assert_eq!(m["found"], json!(true));
    assert_eq!(m["metadata"]["user_id"], json!("ada"), "the session's user");
    assert_eq!(m["metadata"]["tags"], json!(["a", "b"]));
    assert!(m["metadata"]["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(m.get("vector").is_none());
    let (_, r) = call(
        &s,
        "recall_memory",
        json!({"query": "what tea does Ada drink", "limit": 2}),
    );
    assert_eq!(r["memories"][0]["id"], json!(ids[0]), "{r}");
    assert_eq!(
        r["results"][0],
        json!(format!("[{}] {}", ids[0], texts[0].0))
    );
    assert!(r["memories"][0]["score"].as_f64().unwrap() > 0.0);
    assert!(r["memories"].as_array().unwrap().len() <= 2);
    let (_, r) = call(
        &s,
        "recall_memory",
        json!({"query": "postgres", "layers": ["procedural"]}),
    );
    assert!(
        r["memories"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["layer"] == json!("procedural")),
        "{r}"
    );
    let (_, sc) = call(
        &s,
        "scoped_recall",
        json!({"query": "release", "root_id": "ada", "limit": 3}),
    );
    assert_eq!(sc["memories"].as_array().unwrap().len(), 3, "{sc}");
    assert_eq!(sc["memories"][0]["id"], json!(ids[2]), "{sc}");
    let (_, ws) = call(
        &s,
        "search_with_scores",
        json!({"query": "green tea", "k": 1}),
    );
    let b = &ws["results"][0]["score_breakdown"];
    assert!(
        b["decay_factor"].as_f64().unwrap() > 0.99 && b["similarity"].as_f64().unwrap() > 0.0,
        "{ws}"
    );
    let (_, re) = call(
        &s,
        "reinforce_memory",
        json!({"memory_ids": [ids[0], "missing"]}),
    );
    assert_eq!(
        (re["reinforced"].clone(), re["requested"].clone()),
        (json!(1), json!(2))
    );
    let (_, x) = call(
        &s,
        "explore_connections",
        json!({"root_id": "ada", "guide_query": "green tea morning", "threshold": 0.5}),
    );
    let kept: Vec<&str> = x["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(
        kept.contains(&ids[0].as_str()) && !kept.contains(&ids[1].as_str()),
        "{x}"
    );
    let (_, end) = call(&s, "end_session", json!({"session_id": sid}));
    assert_eq!(end["memories"], json!(3));
    let summary_id = end["summary_id"].as_str().unwrap().to_owned();
    let (_, sm) = call(
        &s,
        "get_memory",
        json!({"memory_id": summary_id, "include_vector": true}),
    );
    assert!(sm["content"].as_str().unwrap().contains("green tea"));
    assert_eq!(
        sm["vector"].as_array().unwrap().len(),
        32,
        "embedded, not a fixed-size zero vector"
    );
    let (_, again) = call(&s, "end_session", json!({"session_id": sid}));
    assert_eq!(again["summary_id"], json!(summary_id));
    let (_, d) = call(&s, "delete_memory", json!({"memory_id": ids[1]}));
    assert_eq!(d["deleted"], json!(true));
    let (_, d) = call(&s, "delete_memory", json!({"memory_id": ids[1]}));
    assert_eq!(d["deleted"], json!(false));
    let (_, gone) = call(&s, "get_memory", json!({"memory_id": ids[1]}));
    assert_eq!(gone["found"], json!(false));
    let long_relation = format!("ada:{}", "r".repeat(300));
    let (err, msg) = call(
        &s,
        "save_memory",
        json!({"content": "x", "links": [long_relation]}),
    );
    assert!(err && msg.as_str().unwrap().starts_with("links:"), "{msg}");
}
