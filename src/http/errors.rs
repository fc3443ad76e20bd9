//! Errors of the HTTP layer and the one place that decides each error's status.
//! The match is exhaustive with no wildcard: a new error variant anywhere below does
//! not compile until it has a status.

use kektordb_shards::ShardError;
use serde_json::json;
use thiserror::Error;

use super::limits::HttpLimits;
use super::request::ReadError;
use super::response::Response;
use crate::auth::AuthError;
use crate::engine::{EmbedFailureKind, EngineError};
use crate::limits::BODY_RATE_MIN_BYTES;
use crate::rag::RagError;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("invalid JSON body: {0}")]
    BadJson(String),
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("request body of {got} bytes exceeds the limit of {max} bytes")]
    BodyTooLarge { got: usize, max: usize },
    #[error("request head exceeds the limit")]
    HeadTooLarge,
    #[error("a Content-Length is required (chunked bodies are not supported)")]
    LengthRequired,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("more than one Authorization header")]
    AmbiguousAuthorization,
    #[error("path segment '{segment}' is not valid UTF-8 after percent-decoding")]
    BadPath { segment: String },
    #[error("malformed HTTP request: {0}")]
    Malformed(String),
    #[error("request not received in time (a head must be complete within {head_secs} s of its first byte; a body must arrive at {rate} bytes/s)")]
    RequestTimeout { head_secs: u64, rate: u64 },
    #[error("too many request bodies in flight on this executor; retry")]
    BodiesInFlight,
    #[error("the server is at its connection limit ({max} per executor); retry")]
    ConnectionLimit { max: usize },
    #[error("{0} is not available yet in this version of kektordb-rs")]
    NotAvailable(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Rag(#[from] RagError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<ShardError> for ApiError {
    fn from(e: ShardError) -> Self {
        ApiError::Engine(EngineError::Shard(e))
    }
}

fn shard_status(e: &ShardError) -> u16 {
    match e {
        ShardError::IndexNotFound { .. } => 404,
        ShardError::IdNotFound { .. } => 404,
        ShardError::KeyNotFound { .. } => 404,
        ShardError::EdgeNotFound { .. } => 404,
        ShardError::IndexExists { .. } => 409,
        ShardError::WrongDimension { .. } => 400,
        ShardError::DimensionOutOfRange { .. } => 400,
        ShardError::NonFiniteValue { .. } => 400,
        ShardError::ValueOutOfRange { .. } => 400,
        ShardError::LogUnavailable { .. } => 503,
        ShardError::TooLarge { .. } => 400,
        ShardError::Invalid { .. } => 400,
        ShardError::TextSearchDisabled { .. } => 400,
        ShardError::Filter(_) => 400,
    }
}

fn engine_status(e: &EngineError) -> u16 {
    match e {
        EngineError::Shard(s) => shard_status(s),
        EngineError::Busy { .. } => 503,
        EngineError::ShardDown { .. } => 503,
        EngineError::Start(_) => 500,
        EngineError::Storage(_) => 500,
        EngineError::OutcomeUnknown { .. } => 503,
        EngineError::Recover { .. } => 500,
        EngineError::RecoverPanicked { .. } => 500,
        EngineError::Inconsistent { .. } => 500,
        EngineError::Locked { .. } => 500,
        EngineError::Manifest(_) => 500,
        EngineError::NotAvailable { .. } => 501,
        EngineError::TaskNotFound { .. } => 404,
        EngineError::NoEmbedder { .. } => 503,
        EngineError::Embed { kind, .. } => match kind {
            EmbedFailureKind::Input => 400,
            EmbedFailureKind::Unavailable => 503,
            EmbedFailureKind::Timeout => 504,
            EmbedFailureKind::BadUpstream | EmbedFailureKind::Rejected => 502,
        },
        EngineError::EmbedDimension { .. } => 400,
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadJson(_) => 400,
            ApiError::NoRoute { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::BodyTooLarge { .. } => 413,
            ApiError::HeadTooLarge => 431,
            ApiError::LengthRequired => 411,
            ApiError::Unauthorized => 401,
            ApiError::AmbiguousAuthorization => 400,
            ApiError::BadPath { .. } => 400,
            ApiError::Malformed(_) => 400,
            ApiError::RequestTimeout { .. } => 408,
            ApiError::BodiesInFlight => 503,
            ApiError::ConnectionLimit { .. } => 503,
            ApiError::NotAvailable(_) => 501,
            ApiError::Rag(e) => match e {
                RagError::Config(_) => 500,
                RagError::BadRequest(_) => 400,
                RagError::NoPipeline(_) => 404,
                RagError::NotActive => 503,
                RagError::Engine(e) => engine_status(e),
            },
            ApiError::Auth(e) => match e {
                AuthError::BadToken(_) | AuthError::Expired | AuthError::Revoked => 401,
                AuthError::Forbidden(_) => 403,
                AuthError::BadRequest(_) => 400,
                AuthError::NotFound(_) => 404,
                AuthError::Engine(e) => engine_status(e),
            },
            ApiError::Engine(e) => engine_status(e),
        }
    }

    pub fn response(&self) -> Response {
        let body = match self {
            // A client must not take this 503 for "not written": say so in the body.
            ApiError::Engine(EngineError::OutcomeUnknown { .. }) => {
                json!({ "error": self.to_string(), "outcome": "unknown" })
            }
            _ => json!({ "error": self.to_string() }),
        };
        let r = Response::json(self.status(), &body);
        match self {
            ApiError::Unauthorized
            | ApiError::Auth(AuthError::BadToken(_) | AuthError::Expired | AuthError::Revoked) => {
                r.with_header("WWW-Authenticate", "Bearer realm=\"kektordb\"")
            }
            ApiError::BodiesInFlight | ApiError::ConnectionLimit { .. } => {
                r.with_header("Retry-After", "1")
            }
            ApiError::Engine(EngineError::OutcomeUnknown { .. } | EngineError::Busy { .. })
            | ApiError::Engine(EngineError::Shard(ShardError::LogUnavailable { .. })) => {
                r.with_header("Retry-After", "1")
            }
            _ => r,
        }
    }

    /// The answer to a request that could not be read, if one is owed (a closed or
    /// broken connection gets none).
    pub fn from_read(e: ReadError, limits: &HttpLimits) -> Option<ApiError> {
        Some(match e {
            ReadError::Closed | ReadError::Io => return None,
            ReadError::TimedOut => ApiError::RequestTimeout {
                head_secs: limits.head_timeout.as_secs(),
                rate: BODY_RATE_MIN_BYTES,
            },
            ReadError::Malformed(m) => ApiError::Malformed(m),
            ReadError::HeadTooLarge => ApiError::HeadTooLarge,
            ReadError::BodyTooLarge { got, max } => ApiError::BodyTooLarge { got, max },
            ReadError::LengthRequired => ApiError::LengthRequired,
            ReadError::Busy => ApiError::BodiesInFlight,
        })
    }
}
