//! The MCP memory server: newline-delimited JSON-RPC 2.0 on stdin/stdout (the
//! Model Context Protocol's stdio transport, handshake revisions 2024-11-05 to
//! 2025-11-25), so LLM agents keep persistent memory in this database. A front end
//! like HTTP: every tool builds typed engine requests (`crate::engine`), and errors
//! are mapped to JSON-RPC codes or `isError` tool results in one place
//! (`error.rs`).
//!
//! By file: `protocol.rs` (framing: bounded lines, messages, answers),
//! `server.rs` (the loop and the methods: initialize, ping, tools, prompts),
//! `schema.rs` (tool parameters: the JSON Schema a client sees and the checks of
//! arguments against it), `tools/` (the registry and one file per family),
//! `prompts.rs` (`memory_instructions`), `stdio.rs` (stdout for protocol messages
//! only, logs to stderr or a file), `error.rs`.
//!
//! One request is served at a time, in order. Engine and embedder futures are
//! runtime-agnostic (the embedders run on the edge layer), so the loop's thread
//! waits on them with a plain `block_on`.

mod error;
mod prompts;
mod protocol;
mod schema;
mod server;
mod stdio;
mod tools;

#[cfg(test)]
mod tests;

pub use error::{McpError, ToolError};
pub use server::{Server, SUPPORTED_VERSIONS};
pub use stdio::{log_to_file, protocol_stdout};
pub use tools::{select_tools, tool_names};

/// The index tools use when they are given no `index_name` (upstream's).
pub const DEFAULT_INDEX: &str = "mcp_memory";

/// What the MCP server is started with.
#[derive(Clone, Debug)]
pub struct McpOptions {
    /// Tool names offered (see [`select_tools`]).
    pub tools: Vec<String>,
    /// The index used when a tool is given none.
    pub default_index: String,
    /// How to get an embedder working, for the errors of semantic tools.
    pub embedder_hint: String,
}

impl Default for McpOptions {
    fn default() -> Self {
        McpOptions {
            tools: select_tools("all").unwrap_or_default(),
            default_index: DEFAULT_INDEX.to_owned(),
            embedder_hint: "run deploy/fetch-models.sh (installs all-MiniLM-L6-v2 in models/) and start with -models-dir DIR, or start with -embedder ollama_api -embedder-url http://localhost:11434/api/embed -embedder-model nomic-embed-text".to_owned(),
        }
    }
}

/// The `mcpServers` entry an MCP client (Claude Code's `.mcp.json`, Cursor's
/// `mcp.json`) needs to start this server: `command` with `args`.
pub fn client_config(command: &str, args: &[String]) -> serde_json::Value {
    serde_json::json!({"mcpServers": {"kektordb": {"command": command, "args": args}}})
}
