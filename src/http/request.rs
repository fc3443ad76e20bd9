//! Reading one HTTP/1.1 request from a connection in two steps: the head (with
//! `httparse`, under a deadline), then — only after the caller checked route,
//! method, token and size — the body by `Content-Length`, under a minimum rate and
//! a per-executor budget. Buffers grow with the bytes received, never by what a
//! header claims.

use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite};

use crate::limits::{
    BODY_RATE_MIN_BYTES, BODY_READ_MAX_BYTES, BODY_READ_MIN_BYTES, HEADERS_MAX, HEAD_BYTES_MAX,
    HEAD_READ_BYTES, IO_GRACE,
};

/// A connection the server reads and writes with timeouts (glommio's TcpStream; a
/// cursor in tests).
pub trait Conn: AsyncRead + AsyncWrite + Unpin {
    fn set_read_timeout(&mut self, d: Duration);
    fn set_write_timeout(&mut self, d: Duration);
}

impl Conn for glommio::net::TcpStream {
    fn set_read_timeout(&mut self, d: Duration) {
        let _ =
            glommio::net::TcpStream::set_read_timeout(self, Some(d.max(Duration::from_millis(1))));
    }
    fn set_write_timeout(&mut self, d: Duration) {
        let _ =
            glommio::net::TcpStream::set_write_timeout(self, Some(d.max(Duration::from_millis(1))));
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub method: String,
    /// Path without the query string, still percent-encoded.
    pub path: String,
    /// The query string (after `?`), still percent-encoded; empty when none.
    pub query: String,
    pub authorization: Authorization,
    pub keep_alive: bool,
    pub content_length: usize,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Bytes of the head in the buffer.
    pub head_len: usize,
}

/// The Authorization header as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Authorization {
    Missing,
    One(String),
    /// More than one header: ambiguous, refused.
    Several,
}

/// A complete request.
#[derive(Debug)]
pub struct Request {
    pub head: Head,
    pub body: Vec<u8>,
}

/// Why a request could not be read. The connection is closed after answering.
#[derive(Debug, PartialEq)]
pub enum ReadError {
    /// The peer closed the connection between requests.
    Closed,
    Io,
    /// No complete head in time, an idle connection, or a body too slow.
    TimedOut,
    Malformed(String),
    HeadTooLarge,
    BodyTooLarge {
        got: usize,
        max: usize,
    },
    /// Chunked bodies are not supported; a Content-Length is required.
    LengthRequired,
    /// The executor's budget for request bodies in flight is used up.
    Busy,
}

/// Reads into `buf` at most `want` more bytes, waiting at most `timeout`.
async fn read_more<S: Conn>(
    s: &mut S,
    buf: &mut Vec<u8>,
    want: usize,
    timeout: Duration,
) -> Result<usize, ReadError> {
    if timeout.is_zero() {
        return Err(ReadError::TimedOut);
    }
    let start = buf.len();
    buf.resize(start + want, 0);
    s.set_read_timeout(timeout);
    let r = s.read(&mut buf[start..]).await;
    let n = *r.as_ref().unwrap_or(&0);
    buf.truncate(start + n);
    match r {
        Ok(0) => Err(if start == 0 {
            ReadError::Closed
        } else {
            ReadError::Io
        }),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(ReadError::TimedOut),
        Err(_) => Err(ReadError::Io),
    }
}

/// Reads the next request head into `buf` (bytes after it stay there, so
/// pipelining works). Waits `idle` for its first byte and then `head_timeout` for
/// the whole head.
pub async fn read_head<S: Conn>(
    s: &mut S,
    buf: &mut Vec<u8>,
    idle: Duration,
    head_timeout: Duration,
) -> Result<Head, ReadError> {
    let mut deadline = (!buf.is_empty()).then(|| Instant::now() + head_timeout);
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf)? {
                return Ok(head);
            }
            if buf.len() > HEAD_BYTES_MAX {
                return Err(ReadError::HeadTooLarge);
            }
        }
        let timeout = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => idle,
        };
        read_more(s, buf, HEAD_READ_BYTES, timeout).await?;
        deadline.get_or_insert_with(|| Instant::now() + head_timeout);
    }
}

/// `1*DIGIT` only (no sign, no spaces inside, no list): RFC 9112 §6.3.
fn parse_content_length(v: &str) -> Result<usize, ReadError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReadError::Malformed(format!("bad Content-Length '{v}'")));
    }
    v.parse()
        .map_err(|_| ReadError::Malformed(format!("bad Content-Length '{v}'")))
}

/// Parses a complete head at the start of `buf`, or None if more bytes are needed.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ReadError::Malformed(e.to_string())),
    };
    let method = req.method.unwrap_or("").to_owned();
    let target = req.path.unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.to_owned(), String::new()),
    };
    let http10 = req.version == Some(0);
    let mut content_length: Option<usize> = None;
    let mut authorization = Authorization::Missing;
    let mut keep_alive = !http10;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| ReadError::Malformed(format!("header {} is not UTF-8", h.name)))?
            .trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(value)?;
            if content_length.is_some_and(|c| c != n) {
                return Err(ReadError::Malformed(
                    "differing Content-Length headers".into(),
                ));
            }
            content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("identity") {
                return Err(ReadError::LengthRequired);
            }
        } else if h.name.eq_ignore_ascii_case("authorization") {
            authorization = match authorization {
                Authorization::Missing => Authorization::One(value.to_owned()),
                _ => Authorization::Several,
            };
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
    }
    Ok(Some(Head {
        method,
        path,
        query,
        authorization,
        keep_alive,
        content_length: content_length.unwrap_or(0),
        expect_continue,
        head_len,
    }))
}

/// Counts the body bytes an executor holds; `take` fails when the budget is used.
pub struct BodyBudget {
    used: std::cell::Cell<usize>,
    max: usize,
}

impl BodyBudget {
    pub fn new(max: usize) -> BodyBudget {
        BodyBudget {
            used: std::cell::Cell::new(0),
            max,
        }
    }
    fn take(&self, n: usize) -> bool {
        let used = self.used.get();
        if used + n > self.max {
            return false;
        }
        self.used.set(used + n);
        true
    }
    fn give(&self, n: usize) {
        self.used.set(self.used.get().saturating_sub(n));
    }
    pub fn used(&self) -> usize {
        self.used.get()
    }
}

/// Body bytes held against a budget, returned when dropped.
pub struct Held<'a> {
    budget: &'a BodyBudget,
    bytes: usize,
}

impl Held<'_> {
    fn add(&mut self, n: usize) -> bool {
        let ok = self.budget.take(n);
        if ok {
            self.bytes += n;
        }
        ok
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.give(self.bytes);
    }
}

/// Reads the body `head` announces (after its head in `buf`) and removes the
/// request from `buf`. The body must arrive at [`BODY_RATE_MIN_BYTES`] per second
/// on average once [`IO_GRACE`] has passed; its bytes count against `budget` until
/// the returned guard is dropped.
pub async fn read_body<'b, S: Conn>(
    s: &mut S,
    buf: &mut Vec<u8>,
    head: Head,
    budget: &'b BodyBudget,
) -> Result<(Request, Held<'b>), ReadError> {
    let total = head.head_len + head.content_length;
    let mut held = Held { budget, bytes: 0 };
    if !held.add(buf.len().min(total) - head.head_len) {
        return Err(ReadError::Busy);
    }
    let started = Instant::now();
    let rate = |bytes: usize| Duration::from_secs_f64(bytes as f64 / BODY_RATE_MIN_BYTES as f64);
    while buf.len() < total {
        let received = buf.len() - head.head_len;
        let want = (total - buf.len())
            .min(received.max(BODY_READ_MIN_BYTES))
            .min(BODY_READ_MAX_BYTES);
        // The time by which more than `received` bytes must have arrived.
        let allowed = IO_GRACE + rate(received + 1);
        let timeout = allowed.saturating_sub(started.elapsed());
        let n = read_more(s, buf, want, timeout).await?;
        if !held.add(n) {
            return Err(ReadError::Busy);
        }
    }
    let rest = buf.split_off(total);
    let mut body = std::mem::replace(buf, rest);
    body.drain(..head.head_len);
    Ok((Request { head, body }, held))
}

/// Writes `bytes`, never waiting longer than `stall` for progress and finishing
/// within [`IO_GRACE`] plus the time [`BODY_RATE_MIN_BYTES`] per second needs.
pub async fn write_all<S: Conn>(s: &mut S, bytes: &[u8], stall: Duration) -> Result<(), ReadError> {
    use futures_lite::AsyncWriteExt;
    let started = Instant::now();
    let budget =
        IO_GRACE + Duration::from_secs_f64(bytes.len() as f64 / BODY_RATE_MIN_BYTES as f64);
    for chunk in bytes.chunks(crate::limits::WRITE_CHUNK_BYTES) {
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(ReadError::TimedOut);
        }
        s.set_write_timeout(stall.min(left));
        s.write_all(chunk).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut => ReadError::TimedOut,
            _ => ReadError::Io,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Parsing over an in-memory stream: bodies, pipelining, limits, bad input.
    use super::*;
    use futures_lite::future::block_on;

    struct Mem(futures_lite::io::Cursor<Vec<u8>>);
    impl AsyncRead for Mem {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }
    impl AsyncWrite for Mem {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_close(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_close(cx)
        }
    }
    impl Conn for Mem {
        fn set_read_timeout(&mut self, _: Duration) {}
        fn set_write_timeout(&mut self, _: Duration) {}
    }

    const T: Duration = Duration::from_secs(5);

    fn mem(input: &[u8]) -> Mem {
        Mem(futures_lite::io::Cursor::new(input.to_vec()))
    }

    /// Head and body as the server reads them (no route checks).
    fn read(s: &mut Mem, buf: &mut Vec<u8>, max: usize) -> Result<Request, ReadError> {
        let budget = BodyBudget::new(1 << 20);
        block_on(async {
            let head = read_head(s, buf, T, T).await?;
            if head.content_length > max {
                return Err(ReadError::BodyTooLarge {
                    got: head.content_length,
                    max,
                });
            }
            read_body(s, buf, head, &budget).await.map(|(r, _)| r)
        })
    }

    fn read_one(input: &[u8], max: usize) -> Result<Request, ReadError> {
        read(&mut mem(input), &mut Vec::new(), max)
    }

    #[test]
    fn body_and_pipelining() {
        let raw = b"POST /a?x=1 HTTP/1.1\r\nContent-Length: 3\r\nAuthorization: Bearer t\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let mut s = mem(raw);
        let mut buf = Vec::new();
        let r = read(&mut s, &mut buf, 100).unwrap();
        assert_eq!(
            (
                r.head.method.as_str(),
                r.head.path.as_str(),
                r.body.as_slice()
            ),
            ("POST", "/a", &b"abc"[..])
        );
        assert_eq!(r.head.authorization, Authorization::One("Bearer t".into()));
        assert!(r.head.keep_alive);
        let r2 = read(&mut s, &mut buf, 100).unwrap();
        assert_eq!(r2.head.path, "/b");
        assert_eq!(read(&mut s, &mut buf, 100).unwrap_err(), ReadError::Closed);
    }

    proptest::proptest! {
        /// Any bytes at all: an answer or an error, never a panic or a hang.
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            if let Ok(req) = read_one(&input, 64) {
                proptest::prop_assert!(req.body.len() <= 64);
            }
        }

        /// Well-formed heads with random paths, headers and bodies parse back.
        #[test]
        fn well_formed_requests_parse(path in "/[a-z0-9/_-]{0,40}", body in "[ -~]{0,50}") {
            let raw = format!("POST {path} HTTP/1.1\r\nX-A: b\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            let mut buf = Vec::new();
            let req = read(&mut mem(raw.as_bytes()), &mut buf, 64).unwrap();
            proptest::prop_assert_eq!(req.head.path, path);
            proptest::prop_assert_eq!(req.body, body.as_bytes());
            proptest::prop_assert!(buf.is_empty());
        }
    }

    #[test]
    fn limits_and_errors() {
        let r = read_one(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", 10);
        assert_eq!(
            r.unwrap_err(),
            ReadError::BodyTooLarge { got: 1000, max: 10 }
        );
        let r = read_one(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 10);
        assert_eq!(r.unwrap_err(), ReadError::LengthRequired);
        assert!(matches!(
            read_one(b"\x00\x01garbage\r\n\r\n", 10).unwrap_err(),
            ReadError::Malformed(_)
        ));
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', HEAD_BYTES_MAX + 10));
        assert_eq!(read_one(&huge, 10).unwrap_err(), ReadError::HeadTooLarge);
        let r = read_one(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 10);
        assert_eq!(r.unwrap_err(), ReadError::Io, "truncated body");
        assert!(
            !read_one(b"GET / HTTP/1.0\r\n\r\n", 10)
                .unwrap()
                .head
                .keep_alive
        );
    }

    /// RFC 9112 §6.3: differing duplicate lengths and anything but digits are
    /// refused (request smuggling behind a proxy that reads the other one).
    #[test]
    fn content_length_is_strict() {
        for bad in [
            "Content-Length: 0\r\nContent-Length: 13",
            "Content-Length: 13\r\nContent-Length: 0",
            "Content-Length: +13",
            "Content-Length: -1",
            "Content-Length: 0x0d",
            "Content-Length: 13, 13",
            "Content-Length: 1 3",
            "Content-Length: 99999999999999999999999",
        ] {
            let raw = format!("PUT /kv/x HTTP/1.1\r\n{bad}\r\n\r\n{{\"value\":\"1\"}}");
            assert!(
                matches!(
                    read_one(raw.as_bytes(), 100).unwrap_err(),
                    ReadError::Malformed(_)
                ),
                "{bad}"
            );
        }
        let same = b"PUT /kv/x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(read_one(same, 100).unwrap().body, b"abc");
    }

    #[test]
    fn authorization_and_expect() {
        let two = b"GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n";
        assert_eq!(
            read_one(two, 10).unwrap().head.authorization,
            Authorization::Several
        );
        let exp = b"PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx";
        assert!(read_one(exp, 10).unwrap().head.expect_continue);
    }

    /// A body may not push the executor past its budget.
    #[test]
    fn budget_is_enforced_and_returned() {
        let budget = BodyBudget::new(8);
        let raw = b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde";
        let mut s = mem(raw);
        let mut buf = Vec::new();
        let (req, held) = block_on(async {
            let head = read_head(&mut s, &mut buf, T, T).await.unwrap();
            read_body(&mut s, &mut buf, head, &budget).await
        })
        .unwrap();
        assert_eq!(req.body, b"abcde");
        assert_eq!(budget.used(), 5);
        let raw2 = b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde";
        let mut s2 = mem(raw2);
        let mut buf2 = Vec::new();
        let r = block_on(async {
            let head = read_head(&mut s2, &mut buf2, T, T).await.unwrap();
            read_body(&mut s2, &mut buf2, head, &budget)
                .await
                .map(|_| ())
        });
        assert_eq!(r.unwrap_err(), ReadError::Busy);
        drop(held);
        assert_eq!(budget.used(), 0);
    }
}
