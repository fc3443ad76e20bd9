//! Hostile-connection flood against a running kektordb: holds N connections open
//! (a third idle, a third trickling a request head one byte at a time, a third
//! claiming a 500 MB body and sending one byte), reopening any the server closes,
//! while a legitimate client asks `/healthz` on a keep-alive connection every 10 ms
//! and on a new connection every 100 ms. Prints one JSON line: the server's peak
//! and final RSS, the hostile connections held, and the legitimate latencies
//! (hdrhistogram).
//!
//! ```text
//! flood --addr 127.0.0.1:9091 --pid PID --hostile 10000 --seconds 30 [--token T]
//! ```
//!
//! `--role attack` runs only the hostile connections and `--role measure` only the
//! legitimate client, so the attacker can run as its own process at a lower
//! priority (`nice`), as a remote attacker would not share the server's CPUs;
//! `flood.sh` reports both ways.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

struct Args {
    addr: String,
    pid: u32,
    hostile: usize,
    seconds: u64,
    token: Option<String>,
    /// "both", "attack" or "measure".
    role: String,
}

fn parse() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:9091".into(),
        pid: 0,
        hostile: 10_000,
        seconds: 30,
        token: None,
        role: "both".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--addr" => a.addr = v,
            "--pid" => a.pid = v.parse().expect("pid"),
            "--hostile" => a.hostile = v.parse().expect("number"),
            "--seconds" => a.seconds = v.parse().expect("number"),
            "--token" => a.token = Some(v),
            "--role" => a.role = v,
            _ => panic!("unknown flag {f}"),
        }
    }
    assert!(a.pid > 0, "--pid of the server is required (for its RSS)");
    a
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
enum Kind {
    Idle,
    Slowloris,
    BodyClaim,
}

struct Hostile {
    kind: Kind,
    sock: Option<TcpStream>,
    next_byte: Instant,
}

impl Hostile {
    fn open(&mut self, addr: &str) -> bool {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return false;
        };
        let first: &[u8] = match self.kind {
            Kind::Idle => b"",
            Kind::Slowloris => b"GET /healthz HTTP/1.1\r\nX-Pad: ",
            Kind::BodyClaim => b"PUT /kv/flood HTTP/1.1\r\nContent-Length: 500000000\r\n\r\nx",
        };
        if s.write_all(first).is_err() || s.set_nonblocking(true).is_err() {
            return false;
        }
        self.sock = Some(s);
        self.next_byte = Instant::now() + Duration::from_secs(2);
        true
    }

    /// Whether the server closed it (drains what it sent).
    fn closed(&mut self) -> bool {
        let Some(s) = self.sock.as_mut() else {
            return true;
        };
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
        }
    }
}

fn main() {
    let a = parse();
    let stop = AtomicBool::new(false);
    let held = AtomicUsize::new(0);
    let reopened = AtomicUsize::new(0);
    let keep_alive = Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap());
    let fresh = Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap());
    let failures = AtomicUsize::new(0);
    let rss_before = rss_kib(a.pid);
    let mut rss_peak = rss_before;
    let auth = a
        .token
        .as_ref()
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET /healthz HTTP/1.1\r\n{auth}\r\n");
    let attack = a.role != "measure";
    let measure = a.role != "attack";
    std::thread::scope(|s| {
        let workers = if attack { 4 } else { 0 };
        for w in 0..workers {
            let (stop, held, reopened, addr) = (&stop, &held, &reopened, a.addr.as_str());
            let n = a.hostile / workers + usize::from(w < a.hostile % workers);
            s.spawn(move || {
                let kinds = [Kind::Idle, Kind::Slowloris, Kind::BodyClaim];
                let mut conns: Vec<Hostile> = (0..n)
                    .map(|i| Hostile {
                        kind: kinds[i % 3],
                        sock: None,
                        next_byte: Instant::now(),
                    })
                    .collect();
                for c in &mut conns {
                    if c.open(addr) {
                        held.fetch_add(1, Ordering::Relaxed);
                    }
                }
                while !stop.load(Ordering::Relaxed) {
                    for c in &mut conns {
                        if c.closed() {
                            if c.sock.take().is_some() {
                                held.fetch_sub(1, Ordering::Relaxed);
                            }
                            if c.open(addr) {
                                held.fetch_add(1, Ordering::Relaxed);
                                reopened.fetch_add(1, Ordering::Relaxed);
                            }
                        } else if matches!(c.kind, Kind::Slowloris) && Instant::now() >= c.next_byte
                        {
                            if let Some(sock) = c.sock.as_mut() {
                                let _ = sock.write(b"a");
                            }
                            c.next_byte = Instant::now() + Duration::from_secs(2);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
        if !measure {
            std::thread::sleep(Duration::from_secs(a.seconds));
            stop.store(true, Ordering::Relaxed);
            return;
        }
        // Legitimate keep-alive client.
        let (stop_r, keep_alive_r, failures_r, addr, req) = (
            &stop,
            &keep_alive,
            &failures,
            a.addr.as_str(),
            request.as_str(),
        );
        s.spawn(move || {
            let mut conn: Option<TcpStream> = None;
            while !stop_r.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = (|| -> std::io::Result<()> {
                    if conn.is_none() {
                        let c = TcpStream::connect(addr)?;
                        c.set_read_timeout(Some(Duration::from_secs(10)))?;
                        conn = Some(c);
                    }
                    let c = conn.as_mut().expect("connected");
                    c.write_all(req.as_bytes())?;
                    read_one(c)
                })();
                match ok {
                    Ok(()) => {
                        let _ = keep_alive_r
                            .lock()
                            .unwrap()
                            .record(t.elapsed().as_micros() as u64);
                    }
                    Err(_) => {
                        failures_r.fetch_add(1, Ordering::Relaxed);
                        conn = None;
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        // Legitimate client on a new connection each time.
        let (stop_r, fresh_r, failures_r, addr, req) =
            (&stop, &fresh, &failures, a.addr.as_str(), request.as_str());
        s.spawn(move || {
            while !stop_r.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = (|| -> std::io::Result<()> {
                    let mut c = TcpStream::connect(addr)?;
                    c.set_read_timeout(Some(Duration::from_secs(10)))?;
                    c.write_all(req.as_bytes())?;
                    read_one(&mut c)
                })();
                match ok {
                    Ok(()) => {
                        let _ = fresh_r
                            .lock()
                            .unwrap()
                            .record(t.elapsed().as_micros() as u64);
                    }
                    Err(_) => {
                        failures_r.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(a.seconds) {
            std::thread::sleep(Duration::from_millis(500));
            rss_peak = rss_peak.max(rss_kib(a.pid));
        }
        stop.store(true, Ordering::Relaxed);
    });
    if !measure {
        return;
    }
    let rss_end = rss_kib(a.pid);
    let ka = keep_alive.into_inner().unwrap();
    let fr = fresh.into_inner().unwrap();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{{\"role\":\"{}\",\"hostile\":{},\"held_at_end\":{},\"reopened\":{},\"seconds\":{},\"token\":{},\"rss_before_mib\":{:.1},\"rss_peak_mib\":{:.1},\"rss_end_mib\":{:.1},\"keepalive_requests\":{},\"keepalive_p50_ms\":{:.2},\"keepalive_p99_ms\":{:.2},\"keepalive_max_ms\":{:.2},\"fresh_requests\":{},\"fresh_p50_ms\":{:.2},\"fresh_p99_ms\":{:.2},\"fresh_max_ms\":{:.2},\"failures\":{}}}",
        a.role,
        a.hostile,
        held.load(Ordering::Relaxed),
        reopened.load(Ordering::Relaxed),
        a.seconds,
        a.token.is_some(),
        rss_before as f64 / 1024.0,
        rss_peak as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        ka.len(),
        ms(&ka, 0.5),
        ms(&ka, 0.99),
        ka.max() as f64 / 1000.0,
        fr.len(),
        ms(&fr, 0.5),
        ms(&fr, 0.99),
        fr.max() as f64 / 1000.0,
        failures.load(Ordering::Relaxed),
    );
}

/// Reads one response with a Content-Length body.
fn read_one(c: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if c.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf);
    if !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(
            head.lines().next().unwrap_or("").to_owned(),
        ));
    }
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    c.read_exact(&mut body)
}
