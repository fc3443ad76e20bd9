//! The server with its proxy for the proxy tests: starts the real binary with a
//! proxy.yaml, and the scripted LLM both test files talk to.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support;
use crate::upstream::{request, Gate, Reply, Seen};
use serde_json::{json, Value};

pub struct Proxied {
    pub server: support::Server,
    pub proxy: String,
}

impl Proxied {
    pub fn api(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.server.json("POST", path, &body.to_string());
        assert!(status < 300, "{path}: {status} {v}");
        v
    }
    pub fn metrics(&self) -> String {
        request(&self.proxy, "GET", "/metrics", &[], b"").text()
    }
}

/// Starts the binary with `-enable-proxy` and this proxy.yaml (the proxy on a
/// free loopback port).
pub fn start(yaml: &str, extra: &[&str]) -> Proxied {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kektor-proxy-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("proxy.yaml");
    std::fs::write(&file, yaml).unwrap();
    let file = file.to_string_lossy().into_owned();
    let mut args = vec![
        "-enable-proxy",
        "-proxy-config",
        file.as_str(),
        "-proxy-port",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let mut child = support::command(&args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kektordb");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut proxy, mut api) = (None, None);
    while proxy.is_none() || api.is_none() {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        eprintln!("{line}");
        if let Some(rest) = line.split("AI proxy on http://").nth(1) {
            proxy = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(rest) = line.split("listening on http://").nth(1) {
            api = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("{l}");
        }
    });
    Proxied {
        server: support::Server {
            child,
            addr: api.unwrap(),
        },
        proxy: proxy.unwrap(),
    }
}

pub fn local_model() -> Vec<String> {
    let dir = support::models_dir().to_string_lossy().into_owned();
    vec![
        "-embedder".into(),
        "local".into(),
        "-models-dir".into(),
        dir,
    ]
}

pub fn chat(text: &str, stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]})
}

pub fn completion(content: &str) -> String {
    json!({"id": "c1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
    .to_string()
}

pub const SSE: [&str; 3] = [
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
];
pub const NDJSON: [&str; 2] = [
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n",
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n",
];

pub fn llm(gate: Option<std::sync::Arc<Gate>>) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |r: &Seen| {
        let stream = r.json()["stream"].as_bool();
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/v1/models") => Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Upstream: models\r\nContent-Length: 37\r\nConnection: close\r\n\r\n{\"object\":\"list\",\"data\":[{\"id\":\"m\"}]}".to_vec(),
            ),
            ("GET", "/api/tags") => Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 29\r\nConnection: close\r\n\r\n{\"models\":[{\"name\":\"m:1b\"}]}".to_vec(),
            ),
            ("GET", "/missing?x=1") => Reply::Json(404, "{\"error\":\"nope\"}".into()),
            ("POST", "/v1/chat/completions") if stream == Some(true) => Reply::Stream {
                content_type: "text/event-stream",
                frames: SSE.iter().map(|s| s.to_string()).collect(),
                gate: gate.clone(),
            },
            ("POST", "/api/chat") if stream != Some(false) => Reply::Stream {
                content_type: "application/x-ndjson",
                frames: NDJSON.iter().map(|s| s.to_string()).collect(),
                gate: gate.clone(),
            },
            ("POST", "/slow") => Reply::Sleep(Duration::from_millis(3000), Box::new(Reply::Json(200, "{}".into()))),
            ("POST", "/api/generate") => Reply::Json(
                200,
                json!({"model": "m", "response": "gen", "done": true}).to_string(),
            ),
            _ => Reply::Json(200, completion("Paris")),
        }
    }
}
