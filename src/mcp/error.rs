//! Errors of the MCP layer and the one place that maps them to the protocol:
//! [`McpError`] is a protocol error (a JSON-RPC error code), [`ToolError`] a tool
//! that ran and failed (a result with `isError: true` whose text says how to fix
//! it, so the model can correct itself). The match over engine errors is
//! exhaustive with no wildcard: a new variant does not compile until it has a
//! message.

use kektordb_shards::ShardError;
use serde_json::{json, Value};
use thiserror::Error;

use crate::engine::{EmbedFailureKind, EngineError};

/// A protocol error, answered with its JSON-RPC code.
#[derive(Debug, Error, PartialEq)]
pub enum McpError {
    #[error("parse error: {0}")]
    Parse(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("method not found: {0}")]
    MethodNotFound(String),
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl McpError {
    /// The JSON-RPC 2.0 error code.
    pub fn code(&self) -> i64 {
        match self {
            McpError::Parse(_) => -32700,
            McpError::InvalidRequest(_) => -32600,
            McpError::MethodNotFound(_) => -32601,
            McpError::InvalidParams(_) => -32602,
            McpError::Internal(_) => -32603,
        }
    }
}

/// A tool that ran and failed.
#[derive(Debug, Error)]
pub enum ToolError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// An argument the schema cannot rule out (empty content, a bad link).
    #[error("{0}")]
    Invalid(String),
}

impl From<ShardError> for ToolError {
    fn from(e: ShardError) -> Self {
        ToolError::Engine(EngineError::Shard(e))
    }
}

fn shard_message(e: &ShardError) -> String {
    match e {
        ShardError::IndexNotFound { .. } => format!(
            "{e}: save_memory creates the default index; list_indexes shows the indexes there are"
        ),
        ShardError::IdNotFound { .. } => {
            format!("{e}: recall_memory or list_vectors show the ids there are")
        }
        ShardError::WrongDimension { .. } => format!(
            "{e}: the index holds vectors of another embedding model; use another index_name"
        ),
        ShardError::Filter(_) => format!(
            "{e}. A filter looks like: type = 'memory' AND memory_layer IN ('semantic', 'episodic'), or CONTAINS(content, 'word')"
        ),
        ShardError::LogUnavailable { .. } => format!(
            "{e}: the data directory cannot be written (is the disk full?); retry the write later"
        ),
        ShardError::IndexExists { .. }
        | ShardError::KeyNotFound { .. }
        | ShardError::EdgeNotFound { .. }
        | ShardError::DimensionOutOfRange { .. }
        | ShardError::NonFiniteValue { .. }
        | ShardError::ValueOutOfRange { .. }
        | ShardError::TooLarge { .. }
        | ShardError::Invalid { .. }
        | ShardError::TextSearchDisabled { .. } => e.to_string(),
    }
}

fn engine_message(e: &EngineError, embedder_hint: &str) -> String {
    match e {
        EngineError::Shard(s) => shard_message(s),
        EngineError::Busy { .. } => e.to_string(),
        EngineError::ShardDown { .. } => format!("{e}: the server is stopping"),
        EngineError::OutcomeUnknown { .. } => {
            format!("{e}. Check with get_memory before saving again")
        }
        EngineError::Start(_)
        | EngineError::Storage(_)
        | EngineError::Recover { .. }
        | EngineError::RecoverPanicked { .. }
        | EngineError::Inconsistent { .. }
        | EngineError::Locked { .. }
        | EngineError::Manifest(_) => format!("internal error: {e}"),
        EngineError::NotAvailable { .. } | EngineError::TaskNotFound { .. } => e.to_string(),
        EngineError::NoEmbedder { index } => format!(
            "no text embedder for index '{index}', so memories cannot be saved or recalled by meaning: {embedder_hint}. Graph tools (create_entity, connect_entities, explore_connections, find_connection, extract_subgraph) and listings work without one"
        ),
        EngineError::Embed { kind, .. } => match kind {
            EmbedFailureKind::Input => format!("{e}: shorten or change the text"),
            EmbedFailureKind::Unavailable => format!("{e}: {embedder_hint}"),
            EmbedFailureKind::Timeout => format!("{e}: the embedder did not answer in time; retry"),
            EmbedFailureKind::BadUpstream | EmbedFailureKind::Rejected => {
                format!("{e}: check -embedder-url and -embedder-model (or MCP_EMBEDDER_URL, MCP_EMBEDDER_MODEL)")
            }
        },
        EngineError::EmbedDimension { .. } => e.to_string(),
    }
}

impl ToolError {
    /// What the model reads: the error and how to fix it.
    pub fn message(&self, embedder_hint: &str) -> String {
        match self {
            ToolError::Engine(e) => engine_message(e, embedder_hint),
            ToolError::Invalid(m) => m.clone(),
        }
    }

    /// The `tools/call` result of a failed tool.
    pub fn into_result(self, embedder_hint: &str) -> Value {
        json!({
            "content": [{"type": "text", "text": self.message(embedder_hint)}],
            "isError": true,
        })
    }
}
