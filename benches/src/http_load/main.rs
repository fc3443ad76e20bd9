//! HTTP load generator for a running kektordb: keep-alive connections on one epoll
//! thread (`--client-threads N`: N such threads sharing the connections; `--client
//! threads`: a blocking thread each), latency in an hdrhistogram, one JSON line
//! per run.
//!
//! ```text
//! # trivial route
//! http-load --addr 127.0.0.1:9091 --route healthz --connections 64 --seconds 10
//! # search: loads the base with add-batch (unless --no-load), then searches
//! http-load --addr 127.0.0.1:9091 --route search --base B.fvecs --queries Q.fvecs \
//!   --gt GT.ivecs --k 10 --ef 64 --connections 64 --seconds 10
//! ```

use std::borrow::Cow;
use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kektordb_io::{read_fvecs, read_ivecs};
use response::{parse_response, request_bytes};

mod event_loop;
mod response;

struct Args {
    addr: String,
    route: String,
    connections: usize,
    seconds: u64,
    base: Option<PathBuf>,
    queries: Option<PathBuf>,
    gt: Option<PathBuf>,
    k: usize,
    ef: usize,
    load: bool,
    precision: String,
    /// `epoll` (default: every connection on one thread) or `threads` (a
    /// blocking thread per connection).
    client: String,
    /// Event-loop threads of the epoll client.
    client_threads: usize,
}

fn parse() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:9091".into(),
        route: "healthz".into(),
        connections: 64,
        seconds: 10,
        base: None,
        queries: None,
        gt: None,
        k: 10,
        ef: 64,
        load: true,
        precision: "float32".into(),
        client: "epoll".into(),
        client_threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        if f == "--no-load" {
            a.load = false;
            continue;
        }
        let v = it.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--addr" => a.addr = v,
            "--route" => a.route = v,
            "--connections" => a.connections = v.parse().expect("number"),
            "--seconds" => a.seconds = v.parse().expect("number"),
            "--base" => a.base = Some(v.into()),
            "--queries" => a.queries = Some(v.into()),
            "--gt" => a.gt = Some(v.into()),
            "--k" => a.k = v.parse().expect("number"),
            "--ef" => a.ef = v.parse().expect("number"),
            "--precision" => a.precision = v,
            "--client" if v == "epoll" || v == "threads" => a.client = v,
            "--client-threads" => a.client_threads = v.parse().expect("number"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A keep-alive connection with its buffers, reused from request to request so
/// the load generator spends as little CPU per request as it can on the cores it
/// shares with the server.
struct Conn {
    s: TcpStream,
    out: Vec<u8>,
    chunk: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).ok();
        Conn {
            s,
            out: Vec::new(),
            chunk: vec![0u8; 64 * 1024],
            buf: Vec::new(),
        }
    }

    /// Creates a cosine index (an index left from an earlier run answers an
    /// error, which is fine: the run reuses it).
    fn create_index(&mut self, name: &str, precision: &str) {
        let create =
            serde_json::json!({"index_name": name, "metric": "cosine", "precision": precision});
        self.request(
            "POST",
            "/vector/actions/create",
            create.to_string().as_bytes(),
        );
    }

    /// Sends one request (head and body in one write, as HTTP clients send a small
    /// request) and reads the whole response.
    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        use std::io::Write as _;
        let Conn { s, out, chunk, buf } = self;
        request_bytes(out, method, path, body);
        s.write_all(out).expect("write");
        buf.clear();
        loop {
            if let Some((status, body, _)) = parse_response(buf) {
                return (status, buf[body].to_vec());
            }
            let n = s.read(chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// CPU seconds this process has used (user + system, from /proc/self/stat in
/// clock ticks of 1/100 s, Linux's USER_HZ), so the report can say how much of
/// the machine the load generator itself took from the server.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn main() {
    let a = parse();
    let mut bodies: Vec<Vec<u8>> = vec![Vec::new()];
    let mut truth: Vec<Vec<i32>> = Vec::new();
    let (method, path) = match a.route.as_str() {
        "healthz" => ("GET", "/healthz"),
        "search" => ("POST", "/vector/actions/search"),
        "add" => ("POST", "/vector/actions/add"),
        "add-batch" => ("POST", "/vector/actions/add-batch"),
        "kv" => ("PUT", "/kv/"),
        other => panic!("unknown route {other} (healthz, search, add, add-batch, kv)"),
    };
    if a.route == "search" {
        let base = read_fvecs(a.base.as_ref().expect("--base")).expect("base");
        let queries = read_fvecs(a.queries.as_ref().expect("--queries")).expect("queries");
        let gt = read_ivecs(a.gt.as_ref().expect("--gt")).expect("gt");
        if a.load {
            let mut c = Conn::open(&a.addr);
            c.create_index("bench", &a.precision);
            let t = Instant::now();
            for start in (0..base.len()).step_by(5_000) {
                let vectors: Vec<serde_json::Value> = (start..(start + 5_000).min(base.len()))
                    .map(|i| serde_json::json!({"id": i.to_string(), "vector": base.row(i)}))
                    .collect();
                let body =
                    serde_json::json!({"index_name": "bench", "vectors": vectors}).to_string();
                let (st, b) = c.request("POST", "/vector/actions/add-batch", body.as_bytes());
                assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
            }
            eprintln!(
                "loaded {} vectors in {:.2}s",
                base.len(),
                t.elapsed().as_secs_f64()
            );
        }
        bodies = (0..queries.len())
            .map(|q| {
                serde_json::json!({"index_name": "bench", "k": a.k, "ef_search": a.ef, "query_vector": queries.row(q)})
                    .to_string()
                    .into_bytes()
            })
            .collect();
        truth = (0..queries.len())
            .map(|q| gt.row(q)[..a.k].to_vec())
            .collect();
    }
    // Writes: every request carries new ids (a 384-d vector each), so each one is an
    // acknowledged, logged write.
    let writes = matches!(a.route.as_str(), "add" | "add-batch" | "kv");
    if writes {
        Conn::open(&a.addr).create_index("wbench", &a.precision);
    }
    let vector_json: String = {
        let v: Vec<f32> = (0..384)
            .map(|i| ((i * 37 % 101) as f32 / 101.0) - 0.5)
            .collect();
        serde_json::to_string(&v).expect("json")
    };
    let write_body = |n: usize| -> (String, Vec<u8>) {
        match a.route.as_str() {
            "add" => (
                path.to_owned(),
                format!(r#"{{"index_name":"wbench","id":"w{n}","vector":{vector_json}}}"#)
                    .into_bytes(),
            ),
            "add-batch" => {
                let items: Vec<String> = (0..1000)
                    .map(|j| format!(r#"{{"id":"b{n}-{j}","vector":{vector_json}}}"#))
                    .collect();
                (
                    path.to_owned(),
                    format!(
                        r#"{{"index_name":"wbench","vectors":[{}]}}"#,
                        items.join(",")
                    )
                    .into_bytes(),
                )
            }
            _ => (format!("/kv/w{n}"), br#"{"value":"some value"}"#.to_vec()),
        }
    };
    let next = |n: usize| -> (Cow<'_, str>, Cow<'_, [u8]>, Option<usize>) {
        if writes {
            let (p, b) = write_body(n);
            return (Cow::Owned(p), Cow::Owned(b), None);
        }
        let i = n % bodies.len();
        let query = (!truth.is_empty()).then_some(i);
        (Cow::Borrowed(path), Cow::Borrowed(&bodies[i]), query)
    };
    let judge = |q: usize, body: &[u8]| -> (usize, usize) {
        let v: serde_json::Value = serde_json::from_slice(body).expect("json");
        let ids = v["results"].as_array().expect("results");
        let hits = ids
            .iter()
            .filter(|id| {
                id.as_str()
                    .and_then(|x| x.parse::<i32>().ok())
                    .is_some_and(|x| truth[q].contains(&x))
            })
            .count();
        (hits, truth[q].len())
    };
    let stop = AtomicBool::new(false);
    let issued = AtomicUsize::new(0);
    // Client threads: one per connection, or the event loops (at most one each).
    let client_threads = if a.client == "threads" {
        a.connections
    } else {
        a.client_threads.clamp(1, a.connections.max(1))
    };
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let results: Vec<(Histogram<u64>, usize, usize, usize)> = std::thread::scope(|sc| {
        let handles: Vec<_> = if a.client == "threads" {
            let issued = &issued;
            (0..a.connections)
                .map(|_| {
                    let (next, judge, stop, addr) = (&next, &judge, &stop, &a.addr);
                    sc.spawn(move || {
                        let mut c = Conn::open(addr);
                        let mut h = Histogram::<u64>::new(3).expect("hist");
                        let (mut n, mut hits, mut judged) = (0usize, 0usize, 0usize);
                        while !stop.load(Ordering::Relaxed) {
                            let (p, b, query) = next(issued.fetch_add(1, Ordering::Relaxed));
                            let t = Instant::now();
                            let (st, body) = c.request(method, &p, &b);
                            h.record(t.elapsed().as_nanos() as u64).ok();
                            assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
                            n += 1;
                            if let Some(q) = query {
                                let (hit, of) = judge(q, &body);
                                hits += hit;
                                judged += of;
                            }
                        }
                        (h, n, hits, judged)
                    })
                })
                .collect()
        } else {
            let threads = client_threads;
            (0..threads)
                .map(|t| {
                    let (next, judge, stop, addr) = (&next, &judge, &stop, &a.addr);
                    let issued = &issued;
                    // Connections split as evenly as they go.
                    let connections =
                        a.connections / threads + usize::from(t < a.connections % threads);
                    sc.spawn(move || {
                        event_loop::run(addr, connections, method, next, judge, stop, issued)
                    })
                })
                .collect()
        };
        std::thread::sleep(Duration::from_secs(a.seconds));
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let client_cpu = cpu_seconds() - cpu_before;
    let mut h = Histogram::<u64>::new(3).expect("hist");
    let (mut n, mut hits, mut judged) = (0, 0, 0);
    for (hh, nn, ht, j) in results {
        h.add(hh).ok();
        n += nn;
        hits += ht;
        judged += j;
    }
    println!(
        "{}",
        serde_json::json!({
            "route": a.route, "connections": a.connections, "seconds": secs,
                        "requests": n, "rps": (n as f64 / secs).round(),
            "vectors_per_s": match a.route.as_str() { "add" => serde_json::json!((n as f64 / secs).round()), "add-batch" => serde_json::json!((n as f64 * 1000.0 / secs).round()), _ => serde_json::Value::Null },
            "p50_us": h.value_at_quantile(0.5) as f64 / 1000.0,
            "p99_us": h.value_at_quantile(0.99) as f64 / 1000.0,
            "recall": if judged > 0 { serde_json::json!(hits as f64 / judged as f64) } else { serde_json::Value::Null },
            "client_cpu_cores": (client_cpu / secs * 100.0).round() / 100.0,
            "client": a.client,
            "client_threads": client_threads,
            "ef": if a.route == "search" { serde_json::json!(a.ef) } else { serde_json::Value::Null },
        })
    );
}
