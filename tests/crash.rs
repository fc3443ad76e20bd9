//! Process-crash durability: the real server (fsync always) takes writes from
//! concurrent clients and is killed with SIGKILL at a random moment, 20 times in a
//! row on the same data directory. After every restart, every write the server
//! acknowledged (HTTP 200) must be there, with its value, and the server must start
//! cleanly (a torn tail is truncated, nothing is corrupt). A snapshot is taken every
//! 200 writes, so kills also hit snapshots. Every other run uses `-log-direct`
//! (direct-I/O log, pipelined group commit), so both log modes are killed, and each
//! restarts on files the other wrote.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use support::Server;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = std::env::temp_dir().join(format!("kektor-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_str().unwrap().to_owned();
    // Compact whenever 200 writes accumulated, so kills also land mid-compaction.
    let args = ["-aof-path", dir_s.as_str(), "-save", "0 200"];
    let direct = ["-aof-path", dir_s.as_str(), "-save", "0 200", "-log-direct"];
    let mut server = Server::start(&args);
    assert_eq!(
        server
            .json(
                "POST",
                "/vector/actions/create",
                r#"{"index_name":"c","metric":"cosine"}"#
            )
            .0,
        200
    );
    let acked_items: Mutex<Vec<(String, f32)>> = Mutex::new(Vec::new());
    let acked_keys: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..20 {
        let stop = AtomicBool::new(false);
        let kill_after = Duration::from_millis(40 + rng.next() % 260);
        std::thread::scope(|s| {
            for t in 0..4 {
                let addr = server.addr.clone();
                let (stop, acked_items, acked_keys) = (&stop, &acked_items, &acked_keys);
                s.spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let id = format!("r{round}-t{t}-{n}");
                        let x = (round * 1000 + t * 100 + n) as f32;
                        let body = json!({"index_name": "c", "id": id, "vector": [x, 1.0, -1.0, 0.5], "metadata": {"x": x}});
                        if let Ok((200, _)) = try_call(&addr, "POST", "/vector/actions/add", &body.to_string()) {
                            acked_items.lock().unwrap().push((id.clone(), x));
                        }
                        let kv = json!({"value": format!("v-{id}")});
                        if let Ok((200, _)) = try_call(&addr, "PUT", &format!("/kv/k-{id}"), &kv.to_string()) {
                            acked_keys.lock().unwrap().push((format!("k-{id}"), format!("v-{id}")));
                        }
                    }
                });
            }
            std::thread::sleep(kill_after);
            server.child.kill().unwrap(); // SIGKILL
            server.child.wait().unwrap();
            stop.store(true, Ordering::Relaxed);
        });
        server = Server::start(if round % 2 == 0 {
            &direct[..]
        } else {
            &args[..]
        });
        verify(
            &server,
            &acked_items.lock().unwrap(),
            &acked_keys.lock().unwrap(),
            round,
        );
    }
    assert!(
        acked_items.lock().unwrap().len() > 100,
        "the test must actually write"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Like `Server::call`, but a dead server is an error, not a panic.
fn try_call(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    Ok((status, out))
}

fn verify(server: &Server, items: &[(String, f32)], keys: &[(String, String)], round: usize) {
    for chunk in items.chunks(500) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let (st, v) = server.json(
            "POST",
            "/vector/actions/get-vectors",
            &json!({"index_name": "c", "ids": ids}).to_string(),
        );
        assert_eq!(st, 200);
        let got: std::collections::HashMap<String, Value> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|it| {
                (
                    it["id"].as_str().unwrap().to_owned(),
                    it["metadata"]["x"].clone(),
                )
            })
            .collect();
        for (id, x) in chunk {
            let found = got
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: acknowledged item {id} is missing"));
            assert_eq!(
                found.as_f64().unwrap() as f32,
                *x,
                "round {round}: item {id} has the wrong metadata"
            );
        }
    }
    for (k, v) in keys {
        let (st, body) = server.json("GET", &format!("/kv/{k}"), "");
        assert_eq!(st, 200, "round {round}: acknowledged key {k} is missing");
        assert_eq!(body["value"].as_str(), Some(v.as_str()));
    }
}
