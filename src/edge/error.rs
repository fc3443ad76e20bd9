//! Errors of the edge layer: what can go wrong when waiting on the outside world.
//! Each front end maps them to its own codes (the proxy to 502/504, the RAG
//! pipeline to a file's failure reason, MCP to a tool error).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EdgeError {
    #[error("could not start the edge runtime: {0}")]
    Start(String),
    #[error("{what} is busy: {queued} jobs are waiting; retry")]
    Busy { what: &'static str, queued: usize },
    #[error("{what} did not answer within {millis} ms")]
    Timeout { what: String, millis: u64 },
    #[error("cannot reach {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} sent more than {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("{url} sent a body that does not decode: {reason}")]
    Decode { url: String, reason: String },
    #[error("the edge runtime stopped")]
    Stopped,
    #[error("{0}")]
    Job(String),
}
