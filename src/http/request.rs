//! Reading one HTTP/1.1 request from a connection buffer: headers with `httparse`,
//! the body by `Content-Length`, with limits on both.

use futures_lite::{AsyncRead, AsyncReadExt};

/// Largest request head (request line and headers).
pub const HEAD_BYTES_MAX: usize = 16 * 1024;
/// Most headers in one request.
pub const HEADERS_MAX: usize = 64;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub authorization: Option<String>,
    pub keep_alive: bool,
    pub body: Vec<u8>,
}

/// Why a request could not be read. The connection is closed after answering.
#[derive(Debug, PartialEq)]
pub enum ReadError {
    /// The peer closed the connection between requests.
    Closed,
    Io,
    Malformed(String),
    HeadTooLarge,
    BodyTooLarge {
        got: usize,
        max: usize,
    },
    /// Chunked bodies are not supported; a Content-Length is required.
    LengthRequired,
}

/// Reads the next request from `stream`, using and keeping `buf` (bytes after the
/// request stay for the next one, so pipelining works).
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    body_bytes_max: usize,
) -> Result<Request, ReadError> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = req.method.unwrap_or("").to_owned();
                let target = req.path.unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/").to_owned();
                let http10 = req.version == Some(0);
                let mut content_length = 0usize;
                let mut authorization = None;
                let mut keep_alive = !http10;
                for h in req.headers.iter() {
                    let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                    if h.name.eq_ignore_ascii_case("content-length") {
                        content_length = value.parse().map_err(|_| {
                            ReadError::Malformed(format!("bad Content-Length '{value}'"))
                        })?;
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        if !value.eq_ignore_ascii_case("identity") {
                            return Err(ReadError::LengthRequired);
                        }
                    } else if h.name.eq_ignore_ascii_case("authorization") {
                        authorization = Some(value.to_owned());
                    } else if h.name.eq_ignore_ascii_case("connection") {
                        let v = value.to_ascii_lowercase();
                        if v.contains("close") {
                            keep_alive = false;
                        } else if v.contains("keep-alive") {
                            keep_alive = true;
                        }
                    }
                }
                if content_length > body_bytes_max {
                    return Err(ReadError::BodyTooLarge {
                        got: content_length,
                        max: body_bytes_max,
                    });
                }
                let total = head_len + content_length;
                while buf.len() < total {
                    let want = (total - buf.len()).min(1 << 20);
                    let start = buf.len();
                    buf.resize(start + want, 0);
                    let n = stream
                        .read(&mut buf[start..])
                        .await
                        .map_err(|_| ReadError::Io)?;
                    buf.truncate(start + n);
                    if n == 0 {
                        return Err(ReadError::Io);
                    }
                }
                let body = buf[head_len..total].to_vec();
                buf.drain(..total);
                return Ok(Request {
                    method,
                    path,
                    authorization,
                    keep_alive,
                    body,
                });
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > HEAD_BYTES_MAX {
                    return Err(ReadError::HeadTooLarge);
                }
            }
            Err(e) => return Err(ReadError::Malformed(e.to_string())),
        }
        let n = stream.read(&mut chunk).await.map_err(|_| ReadError::Io)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Io
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    //! Parsing over an in-memory stream: bodies, pipelining, limits, bad input.
    use super::*;
    use futures_lite::future::block_on;

    fn read(input: &[u8], max: usize) -> (Result<Request, ReadError>, Vec<u8>) {
        let mut stream = futures_lite::io::Cursor::new(input.to_vec());
        let mut buf = Vec::new();
        let r = block_on(read_request(&mut stream, &mut buf, max));
        (r, buf)
    }

    #[test]
    fn body_and_pipelining() {
        let raw = b"POST /a?x=1 HTTP/1.1\r\nContent-Length: 3\r\nAuthorization: Bearer t\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let mut stream = futures_lite::io::Cursor::new(raw.to_vec());
        let mut buf = Vec::new();
        let r = block_on(read_request(&mut stream, &mut buf, 100)).unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.body.as_slice()),
            ("POST", "/a", &b"abc"[..])
        );
        assert_eq!(r.authorization.as_deref(), Some("Bearer t"));
        assert!(r.keep_alive);
        let r2 = block_on(read_request(&mut stream, &mut buf, 100)).unwrap();
        assert_eq!(r2.path, "/b");
        assert_eq!(
            block_on(read_request(&mut stream, &mut buf, 100)).unwrap_err(),
            ReadError::Closed
        );
    }

    proptest::proptest! {
        /// Any bytes at all: an answer or an error, never a panic or a hang.
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let (r, _) = read(&input, 64);
            if let Ok(req) = r {
                proptest::prop_assert!(req.body.len() <= 64);
            }
        }

        /// Well-formed heads with random paths, headers and bodies parse back.
        #[test]
        fn well_formed_requests_parse(path in "/[a-z0-9/_-]{0,40}", body in "[ -~]{0,50}") {
            let raw = format!("POST {path} HTTP/1.1\r\nX-A: b\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            let (r, rest) = read(raw.as_bytes(), 64);
            let req = r.unwrap();
            proptest::prop_assert_eq!(req.path, path);
            proptest::prop_assert_eq!(req.body, body.as_bytes());
            proptest::prop_assert!(rest.is_empty());
        }
    }

    #[test]
    fn limits_and_errors() {
        let (r, _) = read(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", 10);
        assert_eq!(
            r.unwrap_err(),
            ReadError::BodyTooLarge { got: 1000, max: 10 }
        );
        let (r, _) = read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 10);
        assert_eq!(r.unwrap_err(), ReadError::LengthRequired);
        let (r, _) = read(b"\x00\x01garbage\r\n\r\n", 10);
        assert!(matches!(r.unwrap_err(), ReadError::Malformed(_)));
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', HEAD_BYTES_MAX + 10));
        let (r, _) = read(&huge, 10);
        assert_eq!(r.unwrap_err(), ReadError::HeadTooLarge);
        let (r, _) = read(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 10);
        assert_eq!(r.unwrap_err(), ReadError::Io, "truncated body");
        let (r, _) = read(b"GET / HTTP/1.0\r\n\r\n", 10);
        assert!(!r.unwrap().keep_alive);
    }
}
