//! Regression tests of the reliability probe's defects (D1-D12), each against the
//! real binary in its own process: what an attacker or a careless operator can do
//! must not lose acknowledged data, exhaust memory or connections, or hang.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{command, read_response, Server};

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kektor-hard-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs a server command that should refuse to start: (success, stderr), or None
/// if it was still running after 10 s (then it is killed).
fn run_to_exit(mut cmd: std::process::Command) -> Option<(bool, String)> {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    Some((status.success(), err))
}

/// Sends raw bytes on a new connection and returns the status of the answer.
fn raw_status(s: &Server, bytes: &[u8]) -> u16 {
    let mut c = s.connect();
    c.write_all(bytes).unwrap();
    read_response(&mut c).0
}

/// D1: a second server on the same data directory is refused, naming the pid
/// that holds it, and the first one's acknowledged writes are intact.
#[test]
fn a_second_process_on_one_directory_is_refused() {
    let dir = temp_dir("lock");
    let d = dir.to_str().unwrap();
    let first = Server::start(&["-aof-path", d]);
    first.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"d","metric":"euclidean"}"#,
    );
    for i in 0..50 {
        let body = json!({"index_name": "d", "id": format!("one_{i}"), "vector": [i, 1]});
        assert_eq!(
            first
                .json("POST", "/vector/actions/add", &body.to_string())
                .0,
            200
        );
    }
    let mut second = command(&["-aof-path", d])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(st) = second.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = second.kill();
            panic!("the second server kept running on a locked directory");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success());
    assert!(
        err.contains(&format!("in use by pid {}", first.pid())),
        "{err}"
    );
    assert_eq!(first.json("POST", "/system/save", "").0, 200);
    drop(first);
    let again = Server::start(&["-aof-path", d]);
    let (_, v) = again.json("GET", "/vector/indexes/d", "");
    assert_eq!(v["vector_count"], 50, "{v}");
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// D2: heads claiming huge bodies make the server reserve nothing before the
/// token is checked (the old server took ~1 MB per 65-byte request).
#[test]
fn preauth_body_claims_cost_no_memory() {
    let s = Server::start(&["-auth-token", "secret"]);
    // Warm up the allocator and the executors.
    assert_eq!(s.call("GET", "/healthz", None, None).0, 200);
    let before = s.rss_kib();
    let mut conns = Vec::new();
    for _ in 0..1000 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.write_all(b"PUT /kv/x HTTP/1.1\r\nContent-Length: 500000000\r\n\r\nx")
            .unwrap();
        conns.push(c);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let during = s.rss_kib();
    assert!(
        during < before + 64 * 1024,
        "RSS grew from {before} KiB to {during} KiB for 1000 unauthenticated body claims"
    );
    // Every one of them was answered 401 without reading the body.
    let mut c = conns.pop().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(read_response(&mut c).0, 401);
    // Without a token the claim is served, but memory follows the bytes received.
    let open = Server::start(&[]);
    let before = open.rss_kib();
    let mut held = Vec::new();
    for _ in 0..1000 {
        let mut c = TcpStream::connect(&open.addr).unwrap();
        c.write_all(b"PUT /kv/x HTTP/1.1\r\nContent-Length: 500000000\r\n\r\nx")
            .unwrap();
        held.push(c);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let during = open.rss_kib();
    assert!(
        during < before + 128 * 1024,
        "RSS grew from {before} KiB to {during} KiB for 1000 one-byte bodies"
    );
}

/// D3: more connections than the fd limit allows: idle ones are closed to make
/// room, so a legitimate client is still served (the old server stopped
/// accepting at EMFILE while its cap was never reached).
#[test]
fn connection_exhaustion_still_serves_a_client() {
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--nofile=600:600", "--"]).arg(support::binary());
    let inner = command(&[]);
    cmd.args(inner.get_args());
    cmd.env_remove("KEKTOR_PORT")
        .env_remove("KEKTOR_TOKEN")
        .env_remove("KEKTOR_DATA_DIR");
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let s = Server::spawn(cmd);
    let mut flood = Vec::new();
    for _ in 0..900 {
        match TcpStream::connect(&s.addr) {
            Ok(c) => flood.push(c),
            Err(e) => panic!("connect: {e}"),
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut c = s.connect();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    support::send(&mut c, "GET", "/healthz", None, None, true);
    let (status, _) = read_response(&mut c);
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    let (_, metrics) = s.call("GET", "/metrics", None, None);
    let evicted: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("kektordb_http_connections_evicted_total{"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum();
    assert!(evicted > 0, "idle connections made room: {metrics}");
}

/// D3: a head trickling in (slowloris) is cut at the head deadline (10 s by
/// default); meanwhile other clients are served.
#[test]
fn slowloris_is_cut_at_the_head_deadline() {
    let s = Server::start(&[]);
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    for c in &mut slow {
        c.write_all(b"GET /healthz HTTP/1.1\r\nX-A: ").unwrap();
    }
    let started = Instant::now();
    let mut closed = vec![false; slow.len()];
    while started.elapsed() < Duration::from_secs(14) && closed.iter().any(|c| !c) {
        std::thread::sleep(Duration::from_millis(500));
        for (i, c) in slow.iter_mut().enumerate() {
            if !closed[i] && c.write_all(b"a").is_err() {
                closed[i] = true;
            }
        }
        assert_eq!(s.call("GET", "/healthz", None, None).0, 200);
    }
    // A closed connection also shows as EOF (after the 408) on read.
    for (i, c) in slow.iter_mut().enumerate() {
        if !closed[i] {
            c.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = Vec::new();
            let _ = c.read_to_end(&mut buf);
            closed[i] = String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408");
        }
    }
    assert!(
        closed.iter().all(|c| *c),
        "slowloris connections still open after 14 s"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "not cut before the deadline"
    );
}

/// D4: a client that asks for a large value and never reads is disconnected
/// once the response makes no progress for the write timeout.
#[test]
fn a_client_that_never_reads_is_cut() {
    let s = Server::start(&["-http-write-timeout", "2"]);
    let value = "v".repeat(8_000_000);
    let body = json!({ "value": value }).to_string();
    assert_eq!(s.call("PUT", "/kv/big", Some(&body), None).0, 200);
    let mut c = socket_with_small_buffer(&s.addr);
    c.write_all(b"GET /kv/big HTTP/1.1\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_secs(5));
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    assert!(
        got < body.len(),
        "the whole {} bytes arrived: the stalled response was not cut",
        body.len()
    );
}

/// A TCP stream whose receive buffer is small (set before connecting, so the
/// window stays small), so a non-reading client stalls the server's writes soon.
fn socket_with_small_buffer(addr: &str) -> TcpStream {
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    sock.into()
}

/// D5: values the index cannot represent or compute with are refused, on add,
/// search and compression; no float is ever `null`.
#[test]
fn overflowing_values_are_refused() {
    let s = Server::start(&[]);
    let create = |name: &str, metric: &str, precision: &str| {
        let body = json!({"index_name": name, "metric": metric, "precision": precision});
        assert_eq!(
            s.json("POST", "/vector/actions/create", &body.to_string())
                .0,
            200
        );
    };
    create("h", "euclidean", "float16");
    let add = |index: &str, v: Value| {
        s.json(
            "POST",
            "/vector/actions/add",
            &json!({"index_name": index, "id": "x", "vector": v}).to_string(),
        )
    };
    let (st, v) = add("h", json!([70000, 1]));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("65504"), "{v}");
    assert_eq!(add("h", json!([65504, 1])).0, 200);
    let (_, v) = s.json(
        "POST",
        "/vector/actions/get-vectors",
        r#"{"index_name":"h","ids":["x"]}"#,
    );
    assert_eq!(v[0]["vector"], json!([65504.0, 1.0]));
    create("e", "euclidean", "float32");
    assert_eq!(add("e", json!([3e38, 1])).0, 400);
    assert_eq!(add("e", json!([1e6, 1])).0, 200);
    for q in [json!([1e39, 1]), json!([3e38, 1]), json!([]), json!([1])] {
        let body = json!({"index_name": "e", "k": 1, "query_vector": q});
        let (st, v) = s.json("POST", "/vector/actions/search", &body.to_string());
        assert_eq!(st, 400, "{q}: {v}");
    }
    let (st, v) = s.json(
        "POST",
        "/vector/actions/search-with-scores",
        r#"{"index_name":"e","k":1,"query_vector":[0,0]}"#,
    );
    assert_eq!(
        st, 200,
        "an all-zero query is a real point under euclidean: {v}"
    );
    assert!(v["results"][0]["distance"].is_f64(), "{v}");
    create("c", "cosine", "float32");
    assert_eq!(add("c", json!([1, 1])).0, 200);
    let (st, _) = s.json(
        "POST",
        "/vector/actions/search",
        r#"{"index_name":"c","k":1,"query_vector":[0,0]}"#,
    );
    assert_eq!(st, 400, "zero has no direction under cosine");
    // Compressing the euclidean index holding 1e6 to float16 would make it inf.
    let (st, v) = s.json(
        "POST",
        "/vector/actions/compress",
        r#"{"index_name":"e","precision":"float16"}"#,
    );
    let failed = match st {
        400 => true,
        202 => wait_task(&s, v["id"].as_str().unwrap()) == "failed",
        _ => false,
    };
    assert!(failed, "{st} {v}");
    let (_, v) = s.json("GET", "/vector/indexes/e", "");
    assert_eq!(v["precision"], "float32", "{v}");
}

fn wait_task(s: &Server, id: &str) -> String {
    for _ in 0..500 {
        let (_, t) = s.json("GET", &format!("/system/tasks/{id}"), "");
        let status = t["status"].as_str().unwrap_or("").to_owned();
        if status == "completed" || status == "failed" {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("task {id} did not finish");
}

/// D7: differing duplicate Content-Length and non-digit lengths are 400
/// (RFC 9112 §6.3), so a front proxy and this server cannot disagree.
#[test]
fn request_smuggling_shapes_are_refused() {
    let s = Server::start(&[]);
    for head in [
        "Content-Length: 0\r\nContent-Length: 13",
        "Content-Length: 13\r\nContent-Length: 0",
        "Content-Length: +13",
    ] {
        let raw = format!(
            "PUT /kv/smug HTTP/1.1\r\n{head}\r\nConnection: close\r\n\r\n{{\"value\":\"1\"}}"
        );
        assert_eq!(raw_status(&s, raw.as_bytes()), 400, "{head}");
    }
    assert_eq!(
        s.call("GET", "/kv/smug", None, None).0,
        404,
        "nothing was written"
    );
}

/// D9: a flipped bit in the newest snapshot: the start falls back to the previous
/// generation and its logs, losing nothing; the damaged file is set aside.
#[test]
fn a_damaged_newest_snapshot_is_recovered_from_the_previous_generation() {
    let dir = temp_dir("snapfall");
    let d = dir.to_str().unwrap();
    let args = [
        "-aof-path",
        d,
        "-save",
        "",
        "-aof-rewrite-percentage",
        "0",
        "-shards",
        "1",
    ];
    let s = Server::start(&args);
    s.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"p","metric":"euclidean"}"#,
    );
    for i in 0..200 {
        let body = json!({"index_name": "p", "id": format!("a{i}"), "vector": [i, 1], "metadata": {"n": i}});
        s.json("POST", "/vector/actions/add", &body.to_string());
    }
    assert_eq!(s.json("POST", "/system/save", "").0, 200);
    for i in 200..300 {
        let body = json!({"index_name": "p", "id": format!("a{i}"), "vector": [i, 2]});
        s.json("POST", "/vector/actions/add", &body.to_string());
    }
    s.json("PUT", "/kv/k", r#"{"value":"after"}"#);
    assert_eq!(s.json("POST", "/system/save", "").0, 200);
    s.json("PUT", "/kv/late", r#"{"value":"tail"}"#);
    drop(s);
    let shard = dir.join("shard-0");
    let mut snaps: Vec<String> = std::fs::read_dir(&shard)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snap.") && n.ends_with(".bin"))
        .collect();
    snaps.sort_by_key(|n| n[5..n.len() - 4].parse::<u64>().unwrap());
    assert!(
        snaps.len() >= 2,
        "the previous generation is kept: {snaps:?}"
    );
    let newest = shard.join(snaps.last().unwrap());
    let mut bytes = std::fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&newest, &bytes).unwrap();
    let s = Server::start(&args);
    let (_, v) = s.json("GET", "/vector/indexes/p", "");
    assert_eq!(v["vector_count"], 300, "{v}");
    assert_eq!(s.json("GET", "/kv/k", "").1["value"], "after");
    assert_eq!(s.json("GET", "/kv/late", "").1["value"], "tail");
    let (_, v) = s.json(
        "POST",
        "/vector/actions/get-vectors",
        r#"{"index_name":"p","ids":["a250"]}"#,
    );
    assert_eq!(v[0]["vector"], json!([250.0, 2.0]));
    assert!(shard
        .join(format!("{}.corrupt", snaps.last().unwrap()))
        .exists());
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// D8: an index missing on one shard (its files emptied) is refused at start,
/// naming the index and the shard; -skip-corrupt re-creates the part.
#[test]
fn an_index_missing_on_one_shard_is_detected() {
    let dir = temp_dir("missing");
    let d = dir.to_str().unwrap();
    let args = ["-aof-path", d, "-save", "", "-aof-rewrite-percentage", "0"];
    let s = Server::start(&args);
    s.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"m","metric":"euclidean"}"#,
    );
    for i in 0..40 {
        let body = json!({"index_name": "m", "id": format!("i{i}"), "vector": [i, 1]});
        s.json("POST", "/vector/actions/add", &body.to_string());
    }
    drop(s);
    for f in std::fs::read_dir(dir.join("shard-0")).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("snap.") {
            std::fs::remove_file(&p).unwrap();
        } else if name.starts_with("aof.") {
            std::fs::write(&p, b"").unwrap();
        }
    }
    let (ok, err) =
        run_to_exit(command(&args)).expect("the server started with a shard missing an index");
    assert!(!ok);
    assert!(
        err.contains("index 'm' is missing on shard(s) [0]"),
        "{err}"
    );
    let mut repair: Vec<&str> = args.to_vec();
    repair.push("-skip-corrupt");
    let s = Server::start(&repair);
    let (st, v) = s.json("GET", "/vector/indexes/m", "");
    assert_eq!(st, 200, "{v}");
    assert!(
        v["vector_count"].as_u64().unwrap() > 0,
        "shard 1's items remain"
    );
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Structured ids (all digits even) spread evenly: within 10% of an even split
/// on each shard of a new data directory.
#[test]
fn structured_ids_spread_evenly_over_shards() {
    let s = Server::start(&[]);
    s.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"b","metric":"euclidean"}"#,
    );
    let ids: Vec<String> = (0..5usize.pow(5))
        .map(|mut n| {
            let mut digits = Vec::new();
            loop {
                digits.push(char::from(b'0' + 2 * (n % 5) as u8));
                n /= 5;
                if n == 0 {
                    break;
                }
            }
            format!("a{}", digits.iter().rev().collect::<String>())
        })
        .collect();
    for chunk in ids.chunks(1000) {
        let vectors: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"id": id, "vector": [1, 2]}))
            .collect();
        let body = json!({"index_name": "b", "vectors": vectors}).to_string();
        assert_eq!(s.json("POST", "/vector/actions/add-batch", &body).0, 200);
    }
    let (_, metrics) = s.call("GET", "/metrics", None, None);
    let per_shard: Vec<f64> = metrics
        .lines()
        .filter(|l| l.starts_with("kektordb_shard_vectors{"))
        .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
        .collect();
    assert_eq!(per_shard.len(), 2);
    let mean = ids.len() as f64 / 2.0;
    for n in &per_shard {
        assert!((n - mean).abs() <= 0.1 * mean, "{per_shard:?}");
    }
}

/// D6: while the log cannot be written, a write is answered 503 "outcome unknown"
/// and later writes are refused (reads go on); once it can, writes are accepted
/// again and nothing acknowledged is lost. Needs `chattr` on a filesystem that
/// honours the immutable flag, as root.
#[test]
fn a_log_that_cannot_be_written_makes_the_shard_read_only() {
    read_only_while_the_log_fails(false);
    read_only_while_the_log_fails(true);
}

fn read_only_while_the_log_fails(direct: bool) {
    let dir = temp_dir(if direct {
        "readonly-direct"
    } else {
        "readonly"
    });
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "-aof-path",
        d,
        "-save",
        "",
        "-aof-rewrite-percentage",
        "0",
        "-shards",
        "1",
    ];
    if direct {
        args.push("-log-direct");
    }
    let s = Server::start(&args);
    s.json(
        "POST",
        "/vector/actions/create",
        r#"{"index_name":"r","metric":"euclidean"}"#,
    );
    assert_eq!(s.json("PUT", "/kv/ok", r#"{"value":"1"}"#).0, 200);
    let logs: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("shard-0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("aof."))
        .collect();
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .args(&logs)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !chattr("+i") {
        eprintln!("skipped: chattr +i is not possible here (needs root and ext4/xfs)");
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    let (st, v) = s.json("PUT", "/kv/first", r#"{"value":"x"}"#);
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["outcome"], "unknown", "{v}");
    let (st, v) = s.json("PUT", "/kv/second", r#"{"value":"x"}"#);
    assert_eq!(st, 503, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("writes are refused"),
        "{v}"
    );
    assert_eq!(s.json("GET", "/kv/ok", "").0, 200, "reads go on");
    assert_eq!(
        s.json("GET", "/kv/second", "").0,
        404,
        "the refused write did nothing"
    );
    assert!(chattr("-i"));
    let started = Instant::now();
    loop {
        let (st, v) = s.json("PUT", "/kv/third", r#"{"value":"y"}"#);
        if st == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still refused: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(s);
    let s = Server::start(&args);
    assert_eq!(s.json("GET", "/kv/ok", "").1["value"], "1");
    assert_eq!(s.json("GET", "/kv/third", "").1["value"], "y");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// D11: SIGTERM during writes under `-fsync everysec`: the server stops with exit
/// code 0, and every write it acknowledged is there after a restart.
#[test]
fn sigterm_stops_cleanly_and_keeps_every_acknowledged_write() {
    let dir = temp_dir("sigterm");
    let d = dir.to_str().unwrap();
    let args = ["-aof-path", d, "-fsync", "everysec"];
    let mut s = Server::start(&args);
    let acked = std::sync::Mutex::new(Vec::new());
    let addr = s.addr.clone();
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let (addr, acked) = (addr.clone(), &acked);
                scope.spawn(move || {
                    for i in 0..100_000 {
                        let Ok(mut c) = TcpStream::connect(&addr) else { break };
                        let key = format!("t{t}-{i}");
                        let body = format!(r#"{{"value":"{i}"}}"#);
                        let head = format!(
                            "PUT /kv/{key} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        if c.write_all(head.as_bytes()).is_err() {
                            break;
                        }
                        let mut resp = Vec::new();
                        let _ = c.read_to_end(&mut resp);
                        if resp.starts_with(b"HTTP/1.1 200") {
                            acked.lock().unwrap().push(key);
                        } else if resp.is_empty() {
                            break;
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        let pid = s.pid().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let started = Instant::now();
        let status = loop {
            if let Some(st) = s.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "clean stop");
        for w in writers {
            w.join().unwrap();
        }
    });
    let acked = acked.into_inner().unwrap();
    assert!(acked.len() > 50, "only {} writes acknowledged", acked.len());
    let s = Server::start(&args);
    for key in &acked {
        let (st, _) = s.json("GET", &format!("/kv/{key}"), "");
        assert_eq!(st, 200, "{key} was acknowledged and is gone");
    }
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// D10/D12: HEAD, Expect: 100-continue, WWW-Authenticate, the scheme's case,
/// duplicate Authorization headers, lossy percent-decoding, edge props size.
#[test]
fn small_protocol_gaps_are_closed() {
    let s = Server::start(&["-auth-token", "secret"]);
    let mut c = s.connect();
    c.write_all(b"HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let text = String::from_utf8(all).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "HEAD has no body: {text}");
    let (st, _) = s.call("GET", "/metrics", None, None);
    assert_eq!(st, 401);
    let mut c = s.connect();
    c.write_all(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    assert!(all.contains("WWW-Authenticate: Bearer"), "{all}");
    let upper =
        b"GET /kv/none HTTP/1.1\r\nAuthorization: BEARER secret\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(&s, upper), 404, "scheme is case-insensitive");
    let two = b"GET /kv/none HTTP/1.1\r\nAuthorization: Bearer x\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(&s, two), 400);
    let bad = b"GET /kv/%ff HTTP/1.1\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n";
    assert_eq!(
        raw_status(&s, bad),
        400,
        "invalid UTF-8 in a path is refused"
    );
    // Expect: 100-continue gets its interim answer before the body is sent.
    let mut c = s.connect();
    let body = r#"{"value":"v"}"#;
    let head = format!(
        "PUT /kv/e HTTP/1.1\r\nAuthorization: Bearer secret\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    c.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.write_all(body.as_bytes()).unwrap();
    assert_eq!(read_response(&mut c).0, 200);
    // Without a token, a wrong Expect request is answered 401 at once.
    let mut c = s.connect();
    c.write_all(b"PUT /kv/e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3000000\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut c).0, 401);
    let props: serde_json::Map<String, Value> = (0..60)
        .map(|i| (format!("p{i}"), json!("x".repeat(2000))))
        .collect();
    let link = json!({"source_id": "a", "target_id": "b", "relation_type": "r", "props": props});
    let (st, body) = s.call(
        "POST",
        "/graph/actions/link",
        Some(&link.to_string()),
        Some("secret"),
    );
    assert_eq!(st, 400, "{body}");
}
