//! The real `kektordb --mcp` process, spoken to in raw JSON-RPC lines over its
//! stdin and stdout (shared by the `tests/mcp_*.rs` tests). Every stdout line is
//! checked to be a JSON-RPC 2.0 message; stderr is kept for assertions.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

pub struct Mcp {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// stdout lines that are not JSON-RPC messages (must stay empty).
    pub garbage: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
    next_id: i64,
}

/// `kektordb --mcp` with the tests' defaults: 2 shards, not pinned, in memory
/// unless `extra` names `-aof-path`, the local model from `models`.
pub fn command(bin: &str, models: &std::path::Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(["--mcp", "-shards", "2", "-no-pin"])
        .arg("-models-dir")
        .arg(models)
        .args(if extra.contains(&"-embedder") {
            &[][..]
        } else {
            &["-embedder", "local"][..]
        })
        .args(if extra.contains(&"-aof-path") {
            &[][..]
        } else {
            &["-in-memory"][..]
        })
        .args(extra);
    for v in [
        "KEKTOR_PORT",
        "KEKTOR_TOKEN",
        "KEKTOR_DATA_DIR",
        "KEKTOR_ENABLE_MCP",
        "KEKTOR_EMBEDDER",
        "MCP_EMBEDDER_URL",
        "MCP_EMBEDDER_MODEL",
    ] {
        c.env_remove(v);
    }
    c
}

impl Mcp {
    pub fn spawn(mut cmd: Command) -> Mcp {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kektordb --mcp");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        let garbage = Arc::new(Mutex::new(Vec::new()));
        let g = garbage.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let ok = serde_json::from_str::<Value>(&line)
                    .is_ok_and(|v| v.is_object() && v["jsonrpc"] == json!("2.0"));
                if !ok {
                    g.lock().unwrap().push(line.clone());
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = Arc::new(Mutex::new(Vec::new()));
        let e = err.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                e.lock().unwrap().push(line);
            }
        });
        Mcp {
            stdin: child.stdin.take(),
            child,
            lines,
            garbage,
            stderr: err,
            next_id: 1,
        }
    }

    pub fn send_raw(&mut self, line: &[u8]) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(line).unwrap();
        s.write_all(b"\n").unwrap();
        s.flush().unwrap();
    }

    pub fn recv(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("no answer ({e}); stderr: {:?}", self.stderr()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Sends a request and returns its id (answers come in order).
    pub fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(msg.to_string().as_bytes());
        id
    }

    /// A request and its answer (checked to carry its id).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        let a = self.recv();
        assert_eq!(a["id"], json!(id), "{a}");
        a
    }

    /// initialize + notifications/initialized.
    pub fn handshake(&mut self, version: &str) -> Value {
        let a = self.request(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "mcp_stdio test", "version": "1"}}),
        );
        self.send_raw(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        a
    }

    /// Calls a tool: Ok(structuredContent) or Err(error text); panics on a
    /// protocol error.
    pub fn call(&mut self, tool: &str, args: Value) -> Result<Value, String> {
        let a = self.request("tools/call", json!({"name": tool, "arguments": args}));
        let r = a
            .get("result")
            .unwrap_or_else(|| panic!("{tool}: protocol error {a}"));
        let text = r["content"][0]["text"].as_str().unwrap_or("").to_owned();
        if r["isError"] == json!(true) {
            return Err(text);
        }
        let parsed: Value = serde_json::from_str(&text).expect("text block is JSON");
        assert_eq!(
            parsed, r["structuredContent"],
            "{tool}: text block = structuredContent"
        );
        Ok(r["structuredContent"].clone())
    }

    pub fn ok(&mut self, tool: &str, args: Value) -> Value {
        self.call(tool, args)
            .unwrap_or_else(|e| panic!("{tool} failed: {e}"))
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Closes stdin and waits for the exit status.
    pub fn close(&mut self) -> std::process::ExitStatus {
        self.stdin.take();
        for _ in 0..600 {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not exit after stdin closed");
    }

    /// Waits for a stderr line containing `what`.
    pub fn wait_stderr(&self, what: &str) {
        for _ in 0..1200 {
            if self.stderr().contains(what) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no '{what}' on stderr: {}", self.stderr());
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the target dir.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
