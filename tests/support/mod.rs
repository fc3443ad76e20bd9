//! Starts the real `kektordb` binary on a free port and talks HTTP/1.1 to it over a
//! plain TCP socket.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub addr: String,
}

/// The server binary under test (`KEKTOR_TEST_BIN` points the tests at another
/// build, e.g. an older commit's, to see which of them fail there).
pub fn binary() -> String {
    std::env::var("KEKTOR_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kektordb").to_owned())
}

/// The server's command with the tests' defaults (loopback, port 0, 2 shards, in
/// memory, no embedder unless `extra` names one).
pub fn command(extra: &[&str]) -> Command {
    let mut c = Command::new(binary());
    c.args(["-http-addr", "127.0.0.1:0", "-shards", "2", "-no-pin"])
        .args(if extra.contains(&"-aof-path") {
            &[][..]
        } else {
            &["-in-memory"][..]
        })
        .args(if extra.contains(&"-embedder") {
            &[][..]
        } else {
            &["-embedder", "none"][..]
        })
        .args(extra)
        .env_remove("KEKTOR_PORT")
        .env_remove("KEKTOR_TOKEN")
        .env_remove("KEKTOR_DATA_DIR");
    c
}

impl Server {
    /// Starts `cmd` (see [`command`]); waits for its "listening on" line.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd.stderr(Stdio::piped()).spawn().expect("start kektordb");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read stderr");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().expect("address").to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// Starts the server with extra flags; waits for its "listening on" line.
    pub fn start(extra: &[&str]) -> Server {
        Server::spawn(command(extra))
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// One request on a new connection: returns (status, body).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, String) {
        let mut s = self.connect();
        send(&mut s, method, path, body, token, true);
        read_response(&mut s)
    }

    pub fn json(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (status, text) = self.call(method, path, Some(body), None);
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send(
    s: &mut TcpStream,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
    close: bool,
) {
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
}

/// Reads one response (status line, headers, Content-Length body).
pub fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).expect("read head") == 0 {
            panic!(
                "connection closed mid-head: {:?}",
                String::from_utf8_lossy(&buf)
            );
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

/// The models directory with the built-in embedder installed: runs
/// `deploy/fetch-models.sh` (idempotent, cached outside the clone) once per test
/// binary. A failed fetch fails the test: nothing is skipped.
pub fn models_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::var("KEKTOR_MODELS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| root.join("models"));
        let status = Command::new("bash")
            .arg(root.join("deploy/fetch-models.sh"))
            .env("KEKTOR_MODELS_DIR", &dir)
            .stdout(Stdio::null())
            .status()
            .expect("run deploy/fetch-models.sh");
        assert!(status.success(), "deploy/fetch-models.sh failed: {status}");
        dir
    })
    .clone()
}

/// A request a scripted server saw: path, Authorization header, JSON body.
pub type Seen = (String, String, serde_json::Value);

/// A scripted HTTP/1.1 server on loopback for exact assertions (beside, never
/// instead of, the real parts): every POST's JSON body goes to `answer`, whose
/// (status, JSON) is sent back. Returns its base URL and the requests it saw.
pub fn scripted_http(
    answer: impl Fn(&str, &serde_json::Value) -> (u16, serde_json::Value) + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (mut len, mut auth) = (0usize, String::new());
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    break;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    match k.to_ascii_lowercase().as_str() {
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        "authorization" => auth = v.trim().to_owned(),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let body: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            log.lock().unwrap().push((path.clone(), auth, body.clone()));
            let (status, v) = answer(&path, &body);
            let text = v.to_string();
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, seen)
}
