//! Test helpers for the AI proxy: a scripted upstream that can stream (SSE and
//! NDJSON frames as chunks, each after a gate the test opens), sleep or answer
//! exact bytes; and a small HTTP/1.1 client that reads chunked answers chunk by
//! chunk. Plain threads and std sockets: no runtime of their own.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the upstream saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Lets a streamed answer go on: the upstream waits on it before every frame
/// after the first.
pub struct Gate {
    tx: Mutex<Sender<()>>,
    rx: Mutex<Receiver<()>>,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        let (tx, rx) = channel();
        Arc::new(Gate {
            tx: Mutex::new(tx),
            rx: Mutex::new(rx),
        })
    }
    pub fn open(&self) {
        let _ = self.tx.lock().unwrap().send(());
    }
    fn wait(&self) {
        let _ = self
            .rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(20));
    }
}

pub enum Reply {
    /// These bytes exactly (a whole response), then close.
    Raw(Vec<u8>),
    Json(u16, String),
    /// Chunked frames with this content type.
    Stream {
        content_type: &'static str,
        frames: Vec<String>,
        gate: Option<Arc<Gate>>,
    },
    Sleep(Duration, Box<Reply>),
}

pub struct Upstream {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    pub fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

fn write_reply(conn: &mut TcpStream, r: Reply) {
    match r {
        Reply::Raw(b) => {
            let _ = conn.write_all(&b);
        }
        Reply::Json(status, body) => {
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Reply::Stream {
            content_type,
            frames,
            gate,
        } => {
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    if let Some(g) = &gate {
                        g.wait();
                    }
                }
                let _ = write!(conn, "{:x}\r\n{f}\r\n", f.len());
                let _ = conn.flush();
            }
            let _ = conn.write_all(b"0\r\n\r\n");
        }
        Reply::Sleep(d, then) => {
            std::thread::sleep(d);
            write_reply(conn, *then);
        }
    }
}

/// Starts the scripted upstream on loopback.
pub fn upstream(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let script = Arc::new(script);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let (log, script) = (log.clone(), script.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let Some(req) = read_request(&mut reader) else {
                    return;
                };
                log.lock().unwrap().push(req.clone());
                write_reply(&mut conn, script(&req));
            });
        }
    });
    Upstream { url, seen }
}

/// An answer read through the proxy.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// An answer whose body is read chunk by chunk.
pub struct Streaming {
    reader: BufReader<TcpStream>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    chunked: bool,
    left: Option<usize>,
    done: bool,
}

impl Streaming {
    /// The next chunk of the body (for a Content-Length body, what is there).
    pub fn next_chunk(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        if self.chunked {
            let mut line = String::new();
            self.reader.read_line(&mut line).ok()?;
            let n = usize::from_str_radix(line.trim(), 16).ok()?;
            if n == 0 {
                let mut end = String::new();
                let _ = self.reader.read_line(&mut end);
                self.done = true;
                return None;
            }
            let mut b = vec![0u8; n + 2];
            self.reader.read_exact(&mut b).ok()?;
            b.truncate(n);
            return Some(b);
        }
        let mut buf = vec![0u8; 64 * 1024];
        let want = self.left.map_or(buf.len(), |l| l.min(buf.len()));
        if want == 0 {
            self.done = true;
            return None;
        }
        let n = self.reader.read(&mut buf[..want]).ok()?;
        if n == 0 {
            self.done = true;
            return None;
        }
        if let Some(l) = &mut self.left {
            *l -= n;
        }
        buf.truncate(n);
        Some(buf)
    }

    pub fn rest(mut self) -> Resp {
        let mut body = Vec::new();
        while let Some(c) = self.next_chunk() {
            body.extend_from_slice(&c);
        }
        Resp {
            status: self.status,
            headers: self.headers,
            body,
        }
    }
}

/// Sends one request on a new connection and reads the answer's head.
pub fn open(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Streaming {
    let mut s = TcpStream::connect(addr).expect("connect to the proxy");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let chunked = find("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let left = find("content-length").and_then(|v| v.parse().ok());
    Streaming {
        reader,
        status,
        headers,
        chunked,
        left,
        done: false,
    }
}

pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    open(addr, method, path, headers, body).rest()
}

pub fn post_json(addr: &str, path: &str, body: &serde_json::Value) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}
