//! Forwarding to the upstream through the edge's streaming client: the URL is
//! `target_url` joined with the request's path and query (as Go's
//! `NewSingleHostReverseProxy` joins them), hop-by-hop headers are dropped both
//! ways (and `Host`, which the client sets from `target_url`), everything else —
//! status, headers, body bytes — passes unchanged, and the answer's body streams
//! back chunk by chunk as it arrives.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http::{Method, Response};

use super::body::ProxyBody;
use super::error::ProxyError;
use crate::edge::client::RawRequest;
use crate::edge::HttpClient;

/// Headers that belong to one connection (RFC 9110 §7.6.1), never forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Drops hop-by-hop headers, and those the `Connection` header names.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in HOP_BY_HOP.iter().chain(named.iter()) {
        h.remove(n);
    }
    h.remove("proxy-connection");
}

/// `target` joined with `path_and_query` with exactly one slash between.
pub fn upstream_url(target: &str, path_and_query: &str) -> String {
    let p = path_and_query.strip_prefix('/').unwrap_or(path_and_query);
    format!("{}/{p}", target.trim_end_matches('/'))
}

/// One forwarded request.
pub struct Outgoing {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What came back: the response to send on, and the upstream's status.
pub struct Answer {
    pub response: Response<ProxyBody>,
    pub status: u16,
}

/// Sends `out` upstream and returns the answer with its body still streaming.
pub async fn forward(
    client: &HttpClient,
    target: &str,
    mut out: Outgoing,
) -> Result<Answer, ProxyError> {
    strip_hop_by_hop(&mut out.headers);
    out.headers.remove(header::HOST);
    out.headers.remove(header::CONTENT_LENGTH);
    let raw = client
        .send_raw(RawRequest {
            method: out.method,
            url: upstream_url(target, &out.path_and_query),
            headers: out.headers,
            body: out.body,
        })
        .await?;
    let mut headers = raw.headers;
    strip_hop_by_hop(&mut headers);
    let status = raw.status;
    let mut response = Response::new(ProxyBody::Upstream {
        inner: raw.body,
        tee: None,
    });
    *response.status_mut() =
        http::StatusCode::from_u16(status).map_err(|e| ProxyError::Upstream(e.to_string()))?;
    *response.headers_mut() = headers;
    Ok(Answer { response, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_headers() {
        assert_eq!(
            upstream_url("http://h:1", "/v1/models?x=1"),
            "http://h:1/v1/models?x=1"
        );
        assert_eq!(
            upstream_url("http://h:1/base/", "/api/tags"),
            "http://h:1/base/api/tags"
        );
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert(header::AUTHORIZATION, "Bearer k".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::AUTHORIZATION));
    }
}
