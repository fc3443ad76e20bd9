//! The MCP memory server as a client meets it: the real binary with `--mcp` and
//! the real local model (all-MiniLM-L6-v2, installed by deploy/fetch-models.sh),
//! raw JSON-RPC lines on its stdin and stdout. Exact protocol answers, every
//! tool, durability across SIGKILL, the data directory lock, mcp-config, the log
//! file and the HTTP API beside MCP.

#[path = "mcp/harness.rs"]
mod harness;
mod support;

use harness::{command, temp_dir, Mcp};
use serde_json::{json, Value};

fn start(extra: &[&str]) -> Mcp {
    Mcp::spawn(command(&support::binary(), &support::models_dir(), extra))
}

const TOOLS: [&str; 17] = [
    "save_memory",
    "get_memory",
    "delete_memory",
    "reinforce_memory",
    "recall_memory",
    "scoped_recall",
    "search_with_scores",
    "create_entity",
    "connect_entities",
    "explore_connections",
    "find_connection",
    "extract_subgraph",
    "start_session",
    "end_session",
    "list_indexes",
    "get_stats",
    "filter_vectors",
];

#[test]
fn handshake_and_protocol_errors() {
    let mut m = start(&[]);
    for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let a = m.handshake(v);
        assert_eq!(a["result"]["protocolVersion"], json!(v), "{a}");
        assert_eq!(a["result"]["serverInfo"]["name"], json!("kektordb"));
        assert_eq!(
            a["result"]["capabilities"]["tools"],
            json!({"listChanged": false})
        );
    }
    assert_eq!(
        m.handshake("2099-01-01")["result"]["protocolVersion"],
        json!("2025-11-25")
    );
    assert_eq!(m.request("ping", json!({}))["result"], json!({}));
    // Bad JSON: -32700 with a null id, and the server keeps serving.
    m.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":");
    let a = m.recv();
    assert_eq!(
        (a["id"].clone(), a["error"]["code"].clone()),
        (Value::Null, json!(-32700)),
        "{a}"
    );
    m.send_raw(&[0xff, 0xfe, b'{']);
    assert_eq!(m.recv()["error"]["code"], json!(-32700));
    m.send_raw(b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    assert_eq!(m.recv()["error"]["code"], json!(-32600));
    assert_eq!(
        m.request("resources/list", json!({}))["error"]["code"],
        json!(-32601)
    );
    assert_eq!(
        m.request("server/discover", json!({}))["error"]["code"],
        json!(-32601)
    );
    let e = m.request(
        "tools/call",
        json!({"name": "save_memory", "arguments": {"content": "x", "colour": "red"}}),
    );
    assert_eq!(e["error"]["code"], json!(-32602));
    assert!(
        e["error"]["message"].as_str().unwrap().contains("colour"),
        "{e}"
    );
    let e = m.request(
        "tools/call",
        json!({"name": "save_memory", "arguments": {}}),
    );
    assert_eq!(e["error"]["code"], json!(-32602));
    assert!(
        e["error"]["message"].as_str().unwrap().contains("content"),
        "{e}"
    );
    let e = m.request(
        "tools/call",
        json!({"name": "save_memory", "arguments": {"content": 5}}),
    );
    assert_eq!(e["error"]["code"], json!(-32602));
    assert_eq!(
        m.request("tools/call", json!({"name": "no_such_tool"}))["error"]["code"],
        json!(-32602)
    );
    // A line over the 4 MiB limit: -32600 under its id, and on we go.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":777,\"method\":\"tools/call\",\"params\":{{\"name\":\"save_memory\",\"arguments\":{{\"content\":\"{}\"}}}}}}",
        "a".repeat(5 << 20)
    );
    m.send_raw(big.as_bytes());
    let a = m.recv();
    assert_eq!(
        (a["id"].clone(), a["error"]["code"].clone()),
        (json!(777), json!(-32600)),
        "{a}"
    );
    assert!(a["error"]["message"].as_str().unwrap().contains("limit"));
    // Content over the content limit (but within a line): -32602, nothing saved.
    let e = m.request(
        "tools/call",
        json!({"name": "save_memory", "arguments": {"content": "b".repeat(60_000)}}),
    );
    assert_eq!(e["error"]["code"], json!(-32602), "{e}");
    let tools = m.request("tools/list", json!({}));
    let tools = tools["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = TOOLS.to_vec();
    want.push("list_vectors");
    assert_eq!(names.len(), want.len(), "{names:?}");
    for w in &want {
        assert!(names.contains(w), "{w} missing from {names:?}");
    }
    for t in &tools {
        assert_eq!(
            t["inputSchema"]["additionalProperties"],
            json!(false),
            "{t}"
        );
        assert_eq!(t["outputSchema"]["type"], json!("object"), "{t}");
        for hint in ["readOnlyHint", "destructiveHint", "idempotentHint"] {
            assert!(t["annotations"][hint].is_boolean(), "{t}");
        }
    }
    let p = m.request("prompts/get", json!({"name": "memory_instructions"}));
    assert!(p["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("recall_memory"));
    let status = m.close();
    assert!(status.success(), "exit {status}; {}", m.stderr());
    assert!(m.stderr().contains("stopped cleanly"), "{}", m.stderr());
    assert!(
        m.garbage.lock().unwrap().is_empty(),
        "non-protocol stdout: {:?}",
        m.garbage
    );
}

#[test]
fn every_tool_with_the_local_model() {
    let mut m = start(&[]);
    m.handshake("2025-06-18");
    let sess = m.ok(
        "start_session",
        json!({"session_id": "s-1", "user_id": "ada", "context": "planning"}),
    );
    assert_eq!(sess["status"], json!("active"));
    let ada = m.ok(
        "create_entity",
        json!({"entity_id": "ada", "type": "person", "description": "software engineer"}),
    );
    assert_eq!(ada["embedded"], json!(true));
    m.ok(
        "create_entity",
        json!({"entity_id": "kektordb", "type": "project", "description": "vector database"}),
    );
    m.ok(
        "connect_entities",
        json!({"source_id": "ada", "target_id": "kektordb", "relation": "works_on"}),
    );
    let facts = [
        ("Ada's favourite programming language is Rust", "semantic"),
        (
            "Last Tuesday the team moved the billing service to Postgres 16",
            "episodic",
        ),
        (
            "To cut a release, bump the version in Cargo.toml and push a tag",
            "procedural",
        ),
        (
            "Ada is allergic to peanuts and avoids Thai restaurants",
            "semantic",
        ),
    ];
    let mut ids = Vec::new();
    for (text, layer) in facts {
        let r = m.ok("save_memory", json!({"content": text, "layer": layer, "session_id": "s-1", "links": ["ada:about"], "tags": ["t1"]}));
        assert_eq!(r["status"], json!("saved"));
        ids.push(r["memory_id"].as_str().unwrap().to_owned());
    }
    // Paraphrased questions find their memory first (hybrid search, real model).
    for (q, want) in [
        ("which coding language does Ada like best?", 0),
        ("what database does billing run on now", 1),
        ("how do we publish a new version", 2),
        ("food Ada cannot eat", 3),
    ] {
        let r = m.ok("recall_memory", json!({"query": q, "limit": 3}));
        assert_eq!(r["memories"][0]["id"], json!(ids[want]), "{q}: {r}");
        assert_eq!(
            r["results"][0],
            json!(format!("[{}] {}", ids[want], facts[want].0))
        );
        assert!(r["memories"][0]["score"].as_f64().unwrap() > 0.0);
        assert!(r["memories"].as_array().unwrap().len() <= 3);
    }
    let small = m.ok(
        "recall_memory",
        json!({"query": "Ada", "limit": 4, "max_tokens": 15}),
    );
    assert!(
        small["tokens"].as_u64().unwrap() <= 15 && small["truncated"] == json!(true),
        "{small}"
    );
    let only = m.ok(
        "recall_memory",
        json!({"query": "Ada", "layers": ["procedural"], "reinforce": true}),
    );
    assert_eq!(only["memories"].as_array().unwrap().len(), 1, "{only}");
    let sc = m.ok(
        "scoped_recall",
        json!({"query": "programming language", "root_id": "ada", "limit": 2}),
    );
    assert_eq!(sc["memories"][0]["id"], json!(ids[0]), "{sc}");
    let ws = m.ok(
        "search_with_scores",
        json!({"query": "peanut allergy", "k": 2}),
    );
    assert_eq!(ws["results"][0]["memory_id"], json!(ids[3]), "{ws}");
    assert!(
        ws["results"][0]["score_breakdown"]["decay_factor"]
            .as_f64()
            .unwrap()
            > 0.99
    );
    let g = m.ok("get_memory", json!({"memory_id": ids[0]}));
    assert_eq!(
        (g["found"].clone(), g["content"].clone()),
        (json!(true), json!(facts[0].0))
    );
    assert_eq!(g["metadata"]["user_id"], json!("ada"));
    let r = m.ok("reinforce_memory", json!({"memory_ids": [ids[0], ids[1]]}));
    assert_eq!(r["reinforced"], json!(2));
    let x = m.ok("explore_connections", json!({"root_id": "ada"}));
    let d = x["graph_description"].as_str().unwrap();
    assert!(
        d.contains("--(works_on)--> kektordb") && d.contains("<--(about)--"),
        "{d}"
    );
    let guided = m.ok(
        "explore_connections",
        json!({"root_id": "ada", "guide_query": "food allergy", "threshold": 0.3}),
    );
    let kept: Vec<&str> = guided["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert!(
        kept.contains(&ids[3].as_str()) && !kept.contains(&ids[2].as_str()),
        "{guided}"
    );
    let p = m.ok(
        "find_connection",
        json!({"source_id": ids[0], "target_id": "kektordb"}),
    );
    assert_eq!(p["path"], json!([ids[0], "ada", "kektordb"]), "{p}");
    let sg = m.ok("extract_subgraph", json!({"root_id": "ada", "depth": 1}));
    assert_eq!(sg["nodes"].as_array().unwrap().len(), 6, "{sg}");
    let ix = m.ok("list_indexes", json!({}));
    assert_eq!(ix["indexes"][0]["dimension"], json!(384));
    assert_eq!(ix["indexes"][0]["text_language"], json!("english"));
    let st = m.ok("get_stats", json!({}));
    assert_eq!(st["count"], json!(7), "{st}");
    assert!(
        st["embedder"]
            .as_str()
            .unwrap()
            .contains("all-MiniLM-L6-v2"),
        "{st}"
    );
    let f = m.ok(
        "filter_vectors",
        json!({"filter": "memory_layer = 'semantic'"}),
    );
    assert_eq!(f["results"].as_array().unwrap().len(), 2, "{f}");
    let l = m.ok("list_vectors", json!({"limit": 5}));
    assert_eq!(
        (l["total"].clone(), l["has_more"].clone()),
        (json!(7), json!(true))
    );
    let l2 = m.ok("list_vectors", json!({"limit": 5, "offset": 5}));
    assert_eq!(l2["vectors"].as_array().unwrap().len(), 2);
    let end = m.ok("end_session", json!({"session_id": "s-1"}));
    assert_eq!(end["memories"], json!(4));
    let sum = m.ok(
        "get_memory",
        json!({"memory_id": end["summary_id"], "include_vector": true}),
    );
    assert_eq!(
        sum["vector"].as_array().unwrap().len(),
        384,
        "the summary is embedded"
    );
    assert!(sum["content"].as_str().unwrap().contains("Rust"));
    let del = m.ok("delete_memory", json!({"memory_id": ids[1]}));
    assert_eq!(del["deleted"], json!(true));
    let after = m.ok(
        "recall_memory",
        json!({"query": "what database does billing run on now"}),
    );
    assert!(!after.to_string().contains(&ids[1]), "{after}");
    // Tool failures are results with isError and a way out.
    let e = m
        .call("end_session", json!({"session_id": "never"}))
        .unwrap_err();
    assert!(e.contains("start_session"), "{e}");
    let e = m
        .call("filter_vectors", json!({"filter": "memory_layer = "}))
        .unwrap_err();
    assert!(e.contains("A filter looks like"), "{e}");
    assert!(m.close().success());
    assert!(m.garbage.lock().unwrap().is_empty(), "{:?}", m.garbage);
}

#[test]
fn without_a_model_semantic_tools_say_how_to_fix_it() {
    let mut m = start(&["-embedder", "none"]);
    m.handshake("2025-11-25");
    let e = m.call("save_memory", json!({"content": "x"})).unwrap_err();
    assert!(
        e.contains("deploy/fetch-models.sh") && e.contains("-embedder ollama_api"),
        "{e}"
    );
    m.ok("create_entity", json!({"entity_id": "a", "type": "t"}));
    m.ok(
        "connect_entities",
        json!({"source_id": "a", "target_id": "b", "relation": "r"}),
    );
    let p = m.ok(
        "find_connection",
        json!({"source_id": "a", "target_id": "b"}),
    );
    assert_eq!(p["found"], json!(true));
}

#[test]
fn acknowledged_memories_survive_sigkill() {
    let dir = temp_dir("mcp-crash");
    let d = dir.to_str().unwrap();
    let mut m = start(&["-aof-path", d]);
    m.handshake("2025-06-18");
    m.ok(
        "save_memory",
        json!({"content": "warm-up: the index exists"}),
    );
    // Pipelined saves; SIGKILL once 25 are acknowledged, others in flight.
    let colours = [
        "red", "green", "blue", "amber", "violet", "silver", "black", "white",
    ];
    let animals = [
        "otter", "falcon", "badger", "heron", "lynx", "gecko", "walrus", "moth",
    ];
    let text = |i: usize| {
        format!(
            "Note {i}: the {} {} keeps its winter store in cave number {}",
            colours[i % 8],
            animals[(i / 8) % 8],
            i * 7 + 3
        )
    };
    let sent: Vec<(i64, String)> = (0..40)
        .map(|i| {
            (
                m.send(
                    "tools/call",
                    json!({"name": "save_memory", "arguments": {"content": text(i)}}),
                ),
                text(i),
            )
        })
        .collect();
    let mut acked = Vec::new();
    while acked.len() < 25 {
        let a = m.recv();
        let (_, content) = sent
            .iter()
            .find(|(id, _)| json!(*id) == a["id"])
            .expect("an answer to a save");
        let id = a["result"]["structuredContent"]["memory_id"]
            .as_str()
            .expect("saved")
            .to_owned();
        acked.push((id, content.clone()));
    }
    m.child.kill().unwrap();
    m.child.wait().unwrap();
    drop(m);
    let mut m = start(&["-aof-path", d]);
    m.handshake("2025-06-18");
    for (id, content) in &acked {
        let g = m.ok("get_memory", json!({"memory_id": id}));
        assert_eq!(
            (g["found"].clone(), g["content"].clone()),
            (json!(true), json!(content)),
            "{id}"
        );
        let r = m.ok("recall_memory", json!({"query": content, "limit": 3}));
        let top: Vec<&str> = r["memories"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["id"].as_str())
            .collect();
        assert!(top.contains(&id.as_str()), "{content}: {r}");
    }
    assert!(m.close().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_process_on_the_same_directory_is_refused() {
    let dir = temp_dir("mcp-lock");
    let d = dir.to_str().unwrap();
    let first = start(&["-aof-path", d]);
    first.wait_stderr("MCP server on stdio");
    let out = command(
        &support::binary(),
        &support::models_dir(),
        &["-aof-path", d],
    )
    .stdin(std::process::Stdio::null())
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        err.contains("is in use by") && err.contains(&first.child.id().to_string()),
        "{err}"
    );
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mcp_config_prints_what_a_client_needs() {
    let dir = temp_dir("mcp-config");
    let out = std::process::Command::new(support::binary())
        .args(["mcp-config", "-aof-path", "rel-data", "-tools", "agent"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let s = &v["mcpServers"]["kektordb"];
    let cmd = s["command"].as_str().unwrap();
    assert!(
        std::path::Path::new(cmd).is_absolute() && std::path::Path::new(cmd).exists(),
        "{cmd}"
    );
    let args: Vec<&str> = s["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[..2], ["--mcp", "-aof-path"]);
    assert_eq!(args[2], dir.join("rel-data").to_str().unwrap());
    let tools = args[args.iter().position(|a| *a == "-tools").unwrap() + 1];
    assert!(
        tools.contains("save_memory") && !tools.contains("list_vectors"),
        "{tools}"
    );
    let bad = std::process::Command::new(support::binary())
        .args(["--mcp", "-tools", "agent,frobnicate"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("frobnicate"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_file_and_http_beside_mcp() {
    let dir = temp_dir("mcp-log");
    let log = dir.join("mcp.log");
    let mut m = start(&[
        "-mcp-log-file",
        log.to_str().unwrap(),
        "-http-addr",
        "127.0.0.1:0",
    ]);
    m.handshake("2025-06-18");
    m.ok("create_entity", json!({"entity_id": "e1", "type": "t"}));
    let text = std::fs::read_to_string(&log).unwrap();
    let addr = text
        .split("HTTP API listening on http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no HTTP line in the log: {text}"))
        .to_owned();
    assert!(text.contains("MCP server on stdio"), "{text}");
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    support::send(
        &mut s,
        "GET",
        "/vector/indexes/mcp_memory",
        None,
        None,
        true,
    );
    let (status, body) = support::read_response(&mut s);
    assert_eq!(status, 200, "{body}");
    assert!(m.close().success());
    assert!(
        m.stderr().is_empty(),
        "stderr went to the log: {}",
        m.stderr()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
