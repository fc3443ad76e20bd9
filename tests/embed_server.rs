//! Embedders behind the HTTP API, with real processes: the built-in model
//! (`-embedder local`) embeds items sent without vectors and `query_text`
//! searches; remote embedders (`ollama_api`, `openai_compatible`) are driven
//! against a scripted server for exact assertions (batching, retries, the Ollama
//! fallback, Bearer keys, bad answers); and every refusal is a clear JSON error.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use support::{command, Server};

fn fixture() -> (Vec<String>, kektordb_io::Rows<f32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/embed_data");
    let docs = std::fs::read_to_string(dir.join("docs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (
        docs,
        kektordb_io::read_fvecs(&dir.join("vectors.fvecs")).unwrap(),
    )
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    s.json("POST", path, &body.to_string())
}

#[test]
fn the_local_model_embeds_items_and_queries() {
    let models = support::models_dir();
    let s = Server::spawn(command(&[
        "-embedder",
        "local",
        "-models-dir",
        models.to_str().unwrap(),
    ]));
    let (docs, reference) = fixture();
    let (st, _) = post(
        &s,
        "/vector/actions/create",
        json!({"index_name": "docs", "metric": "cosine", "text_language": "english"}),
    );
    assert_eq!(st, 200);
    let vectors: Vec<Value> = docs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("d{i}"), "metadata": {"content": t}}))
        .collect();
    let (st, v) = post(
        &s,
        "/vector/actions/add-batch",
        json!({"index_name": "docs", "vectors": vectors}),
    );
    assert_eq!(
        (st, v["vectors_added"].as_u64()),
        (200, Some(docs.len() as u64)),
        "{v}"
    );
    // `metadata.text` is embedded when there is no `content`.
    let (st, _) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "docs", "id": "t5", "metadata": {"text": docs[5]}}),
    );
    assert_eq!(st, 200);
    for (id, row) in [("d0", 0), ("d17", 17), ("d63", 63), ("t5", 5)] {
        let (st, v) = s.json("GET", &format!("/vector/indexes/docs/vectors/{id}"), "");
        assert_eq!(st, 200);
        let got: Vec<f32> = v["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let c = cosine(&got, reference.row(row));
        assert!(c >= 0.999, "{id}: cosine {c} to the reference row");
    }
    // A text-only search is embedded: a document's own opening finds it first.
    for i in [3usize, 21, 40] {
        let words: String = docs[i]
            .split_whitespace()
            .take(12)
            .collect::<Vec<_>>()
            .join(" ");
        let (st, v) = post(
            &s,
            "/vector/actions/search",
            json!({"index_name": "docs", "query_text": words, "k": 3, "alpha": 1.0}),
        );
        assert_eq!(st, 200, "{v}");
        let top = v["results"][0]["id"].as_str().or(v["results"][0].as_str());
        assert_eq!(top, Some(format!("d{i}").as_str()), "{v}");
    }
    // An index of another dimension: a text search with BM25 stays BM25; without
    // text search it is a clear 400; an item to embed is a clear 400.
    post(
        &s,
        "/vector/actions/create",
        json!({"index_name": "small", "text_language": "english"}),
    );
    post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "small", "id": "a", "vector": [1.0, 0.0, 0.0], "metadata": {"content": "red apples"}}),
    );
    let (st, v) = post(
        &s,
        "/vector/actions/search",
        json!({"index_name": "small", "query_text": "apples", "k": 1}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "small", "id": "b", "metadata": {"content": "green pears"}}),
    );
    assert_eq!(st, 400, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("384") && msg.contains("3-dimensional"),
        "{msg}"
    );
    post(&s, "/vector/actions/create", json!({"index_name": "plain"}));
    post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "plain", "id": "a", "vector": [1.0, 0.0]}),
    );
    let (st, v) = post(
        &s,
        "/vector/actions/search",
        json!({"index_name": "plain", "query_text": "apples", "k": 1}),
    );
    assert_eq!(st, 400, "{v}");
    // An explicit empty vector is still a graph entity, never embedded.
    let (st, _) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "small", "id": "e", "vector": [], "metadata": {"content": "an entity"}}),
    );
    assert_eq!(st, 200);
}

#[test]
fn without_an_embedder_text_only_requests_are_refused_clearly() {
    let s = Server::start(&[]);
    post(&s, "/vector/actions/create", json!({"index_name": "plain"}));
    post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "plain", "id": "a", "vector": [1.0, 0.0]}),
    );
    let (st, v) = post(
        &s,
        "/vector/actions/search",
        json!({"index_name": "plain", "query_text": "apples", "k": 1}),
    );
    assert_eq!(st, 503, "{v}");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("no embedder available for index 'plain'"));
    // Without an embedder an item without a vector is a node without one.
    let (st, _) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "plain", "id": "n", "metadata": {"content": "x"}}),
    );
    assert_eq!(st, 200);
}

/// What the scripted embedder saw.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(String, String, Value)>>,
    failures_left: AtomicUsize,
}

/// A scripted remote embedder: `/api/embed` (unless `no_batch`), `/api/embeddings`,
/// `/v1/embeddings` (Bearer `k1` required). Each text becomes a 4-d vector
/// `[len, 1, 0, 0]`; the first `failures` requests answer 503; a text `bad` gets
/// a malformed answer.
fn scripted(no_batch: bool, failures: usize) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    seen.failures_left.store(failures, Ordering::SeqCst);
    let st = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (mut len, mut auth) = (0usize, String::new());
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap(),
                    "authorization" => auth = v.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            st.requests
                .lock()
                .unwrap()
                .push((path.clone(), auth.clone(), body.clone()));
            let vec_of = |t: &str| json!([t.len() as f32, 1.0, 0.0, 0.0]);
            let texts: Vec<String> = match &body["input"] {
                Value::Array(a) => a.iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
                Value::String(t) => vec![t.clone()],
                _ => Vec::new(),
            };
            let (status, answer) = if st
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                (503, json!({"error": "warming up"}))
            } else if texts.iter().any(|t| t == "bad") {
                (200, json!({"embeddings": "nope"}))
            } else {
                match path.as_str() {
                    "/api/embed" if !no_batch => (
                        200,
                        json!({"embeddings": texts.iter().map(|t| vec_of(t)).collect::<Vec<_>>()}),
                    ),
                    "/api/embeddings" => (
                        200,
                        json!({"embedding": vec_of(body["prompt"].as_str().unwrap_or(""))}),
                    ),
                    "/v1/embeddings" if auth == "Bearer k1" => (
                        200,
                        // In reverse order: the client must order by `index`.
                        json!({"data": texts.iter().enumerate().rev()
                            .map(|(i, t)| json!({"index": i, "embedding": vec_of(t)}))
                            .collect::<Vec<_>>()}),
                    ),
                    "/v1/embeddings" => (401, json!({"error": "bad key"})),
                    _ => (404, json!({"error": "no route"})),
                }
            };
            let text = answer.to_string();
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, seen)
}

fn four_d_index(s: &Server) {
    let (st, _) = post(s, "/vector/actions/create", json!({"index_name": "r"}));
    assert_eq!(st, 200);
}

#[test]
fn ollama_batches_retries_and_falls_back_to_single_calls() {
    let (url, seen) = scripted(false, 1);
    let s = Server::spawn(command(&[
        "-embedder",
        "ollama_api",
        "-embedder-url",
        &format!("{url}/api/embeddings"),
        "-embedder-model",
        "m1",
    ]));
    four_d_index(&s);
    let items: Vec<Value> = (0..70)
        .map(|i| json!({"id": format!("i{i}"), "metadata": {"content": "x".repeat(i + 1)}}))
        .collect();
    let (st, v) = post(
        &s,
        "/vector/actions/add-batch",
        json!({"index_name": "r", "vectors": items}),
    );
    assert_eq!(st, 200, "{v}");
    {
        let reqs = seen.requests.lock().unwrap();
        // One 503 retried, then two batches (64 + 6) on the batch route.
        let paths: Vec<&str> = reqs.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            paths,
            ["/api/embed", "/api/embed", "/api/embed"],
            "{paths:?}"
        );
        assert_eq!(reqs[1].2["model"], "m1");
        assert_eq!(reqs[1].2["input"].as_array().unwrap().len(), 64);
        assert_eq!(reqs[2].2["input"].as_array().unwrap().len(), 6);
    }
    let (_, v) = s.json("GET", "/vector/indexes/r/vectors/i9", "");
    assert_eq!(v["vector"], json!([10.0, 1.0, 0.0, 0.0]));
    let (st, v) = post(
        &s,
        "/vector/actions/search",
        json!({"index_name": "r", "query_text": "abc", "k": 1}),
    );
    assert_eq!(st, 200, "{v}");
    // A malformed answer is a 502 naming the embedder's URL.
    let (st, v) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "r", "id": "z", "metadata": {"content": "bad"}}),
    );
    assert_eq!(st, 502, "{v}");
    assert!(v["error"].as_str().unwrap().contains("/api/embed"), "{v}");

    // An older Ollama without /api/embed: one /api/embeddings call per text.
    let (url, seen) = scripted(true, 0);
    let s = Server::spawn(command(&[
        "-embedder",
        "ollama_api",
        "-embedder-url",
        &format!("{url}/api/embeddings"),
    ]));
    four_d_index(&s);
    let (st, v) = post(
        &s,
        "/vector/actions/add-batch",
        json!({"index_name": "r", "vectors": [{"id": "a", "metadata": {"content": "aa"}}, {"id": "b", "metadata": {"text": "bbb"}}]}),
    );
    assert_eq!(st, 200, "{v}");
    let reqs = seen.requests.lock().unwrap();
    let paths: Vec<&str> = reqs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(paths, ["/api/embed", "/api/embeddings", "/api/embeddings"]);
    assert_eq!(
        reqs[2].2,
        json!({"model": "nomic-embed-text", "prompt": "bbb"})
    );
}

#[test]
fn openai_compatible_orders_by_index_and_sends_the_key() {
    let (url, seen) = scripted(false, 0);
    let s = Server::spawn(command(&[
        "-embedder",
        "openai_compatible",
        "-embedder-url",
        &format!("{url}/v1/embeddings"),
        "-embedder-api-key",
        "k1",
    ]));
    four_d_index(&s);
    let (st, v) = post(
        &s,
        "/vector/actions/add-batch",
        json!({"index_name": "r", "vectors": [{"id": "a", "metadata": {"content": "a"}}, {"id": "b", "metadata": {"content": "bbbbb"}}]}),
    );
    assert_eq!(st, 200, "{v}");
    let (_, v) = s.json("GET", "/vector/indexes/r/vectors/b", "");
    assert_eq!(v["vector"], json!([5.0, 1.0, 0.0, 0.0]));
    {
        let reqs = seen.requests.lock().unwrap();
        assert_eq!(reqs[0].1, "Bearer k1");
        assert_eq!(reqs[0].2["model"], "text-embedding-3-small");
    }
    // A wrong key: the embedder's 401 is a 502 that says so.
    let s = Server::spawn(command(&[
        "-embedder",
        "openai_compatible",
        "-embedder-url",
        &format!("{url}/v1/embeddings"),
        "-embedder-api-key",
        "wrong",
    ]));
    four_d_index(&s);
    let (st, v) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "r", "id": "a", "metadata": {"content": "a"}}),
    );
    assert_eq!(st, 502, "{v}");
    assert!(v["error"].as_str().unwrap().contains("401"), "{v}");
    // Nobody listening: 502 after the retries, with the address.
    let s = Server::spawn(command(&[
        "-embedder",
        "openai_compatible",
        "-embedder-url",
        "http://127.0.0.1:1/v1/embeddings",
    ]));
    four_d_index(&s);
    let (st, v) = post(
        &s,
        "/vector/actions/add",
        json!({"index_name": "r", "id": "a", "metadata": {"content": "a"}}),
    );
    assert_eq!(st, 502, "{v}");
    assert!(v["error"].as_str().unwrap().contains("127.0.0.1:1"), "{v}");
}

#[test]
fn bad_embedder_flags_stop_the_server_with_a_message() {
    let out = command(&["-embedder", "local", "-models-dir", "/nonexistent/models"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/models"), "{err}");
    let out = command(&["-embedder", "ollama_api", "-embedder-url", "ftp://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ftp://x"));
}
