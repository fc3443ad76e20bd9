//! The proxy's errors and the one place they become replies (status and a JSON
//! body in the caller's API shape: OpenAI's `{"error":{"message","type","code"}}`
//! on `/v1/...` paths, `{"error":"..."}` elsewhere, as Ollama and KektorDB answer).
//! Failures of the firewall, cache or RAG stages never reach a client: they are
//! logged, counted and the request goes on (see `handler.rs`).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use thiserror::Error;

use super::body::ProxyBody;
use crate::edge::EdgeError;
use crate::engine::EngineError;

#[derive(Debug, Error)]
pub enum ProxyError {
    #[error("proxy config: {0}")]
    Config(String),
    #[error("could not start the proxy: {0}")]
    Start(String),
    #[error("the request body is larger than {max} bytes (max_body_bytes)")]
    BodyTooLarge { max: usize },
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the upstream {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the upstream did not answer in time: {what} took more than {millis} ms")]
    UpstreamTimeout { what: String, millis: u64 },
    #[error("the upstream request failed: {0}")]
    Upstream(String),
    #[error("the proxy is stopping")]
    Stopped,
    #[error("missing or invalid bearer token for this proxy admin route")]
    Unauthorized,
    #[error("forbidden: the proxy's admin routes need the admin role")]
    Forbidden,
    #[error("{0}")]
    Engine(#[from] EngineError),
}

impl From<EdgeError> for ProxyError {
    fn from(e: EdgeError) -> ProxyError {
        match e {
            EdgeError::Timeout { what, millis } => ProxyError::UpstreamTimeout { what, millis },
            EdgeError::Connect { url, reason } => ProxyError::Unreachable { url, reason },
            EdgeError::Stopped => ProxyError::Stopped,
            other => ProxyError::Upstream(other.to_string()),
        }
    }
}

impl ProxyError {
    /// The status of this error's reply (exhaustive on purpose).
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::Config(_) | ProxyError::Start(_) | ProxyError::Engine(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::BodyRead(_) | ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::Unreachable { .. } | ProxyError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Unauthorized => StatusCode::UNAUTHORIZED,
            ProxyError::Forbidden => StatusCode::FORBIDDEN,
        }
    }

    /// A short machine-readable name (OpenAI's `code`).
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::Config(_) | ProxyError::Start(_) | ProxyError::Engine(_) => "proxy_error",
            ProxyError::BodyTooLarge { .. } => "request_too_large",
            ProxyError::BodyRead(_) | ProxyError::BadRequest(_) => "bad_request",
            ProxyError::Unreachable { .. } => "upstream_unreachable",
            ProxyError::Upstream(_) => "upstream_error",
            ProxyError::UpstreamTimeout { .. } => "upstream_timeout",
            ProxyError::Stopped => "proxy_stopping",
            ProxyError::Unauthorized => "unauthorized",
            ProxyError::Forbidden => "forbidden",
        }
    }

    /// The reply for a request to `path`.
    pub fn reply(&self, path: &str) -> Response<ProxyBody> {
        json_error(self.status(), path, &self.to_string(), self.code())
    }
}

/// A JSON error reply in the shape the API of `path` uses (also for blocks).
pub fn json_error(
    status: StatusCode,
    path: &str,
    message: &str,
    code: &str,
) -> Response<ProxyBody> {
    let body = if path.starts_with("/v1/") {
        serde_json::json!({"error": {"message": message, "type": code, "param": null, "code": code}})
    } else {
        serde_json::json!({ "error": message })
    };
    let mut r = Response::new(ProxyBody::full(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_errors_map_to_gateway_codes() {
        let t: ProxyError = EdgeError::Timeout {
            what: "http://u".into(),
            millis: 5,
        }
        .into();
        assert_eq!(t.status(), StatusCode::GATEWAY_TIMEOUT);
        let c: ProxyError = EdgeError::Connect {
            url: "http://u".into(),
            reason: "refused".into(),
        }
        .into();
        assert_eq!(c.status(), StatusCode::BAD_GATEWAY);
        assert!(c.to_string().contains("unreachable"));
        assert_eq!(
            ProxyError::BodyTooLarge { max: 1 }.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
