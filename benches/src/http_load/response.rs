//! HTTP/1.1 framing for the load generator: the request bytes and the one
//! response shape the server sends (a head with Content-Length, then the body).

use std::ops::Range;

/// Judges a search answer: (hits, judged) for query `q` and the response body.
pub type Judge<'a> = dyn Fn(usize, &[u8]) -> (usize, usize) + Sync + 'a;

/// Writes a request (head and body, one buffer, so it goes in one write).
pub fn request_bytes(out: &mut Vec<u8>, method: &str, path: &str, body: &[u8]) {
    use std::io::Write as _;
    out.clear();
    write!(
        out,
        "{method} {path} HTTP/1.1\r\nHost: b\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("format");
    out.extend_from_slice(body);
}

/// A whole response at the start of `buf`: (status, body range, bytes it takes);
/// None while part of it is still to come.
pub fn parse_response(buf: &[u8]) -> Option<(u16, Range<usize>, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).expect("utf8 head");
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .expect("status");
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().expect("len"))
        })
        .unwrap_or(0);
    let total = end + 4 + len;
    (buf.len() >= total).then(|| (status, end + 4..total, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_whole_only_with_its_body() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_response(&r[..r.len() - 1]), None);
        let (status, body, total) = parse_response(r).unwrap();
        assert_eq!((status, &r[body], total), (200, &b"hello"[..], r.len()));
        let mut out = Vec::new();
        request_bytes(&mut out, "GET", "/healthz", b"");
        assert_eq!(
            out,
            b"GET /healthz HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
