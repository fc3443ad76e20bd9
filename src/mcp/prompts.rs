//! The one prompt, `memory_instructions`: when an agent should save and recall,
//! and what to put in a memory.

use serde_json::{json, Value};

use super::error::McpError;

pub const NAME: &str = "memory_instructions";
const DESCRIPTION: &str = "KektorDB memory protocol: when and how to save and recall memories";

const TEXT: &str = "You have a persistent memory (the KektorDB MCP tools). Use it so that what you learn outlasts this conversation.

When to recall:
- At the start of a task, call recall_memory with a short description of the task (and the user's name or project if known), before asking the user what you might already know.
- Before a decision that depends on the user's preferences, earlier decisions or how something was done before.
- When the user refers to something from the past (\"like last time\", \"the usual way\").
recall_memory returns ids, scores and content; scores are relative, so read the content. Use scoped_recall to search only around an entity (root_id), and explore_connections or find_connection to follow the graph.

When to save (save_memory), once per fact, as a self-contained statement that makes sense without this conversation:
- layer semantic: stable facts and preferences (\"Ada prefers tabs over spaces in Rust code\").
- layer episodic: what happened (\"2025-03-02: migrated the billing service to Postgres 16; the old replica was kept\").
- layer procedural: how to do something that worked (\"To release: bump Cargo.toml, run make dist, tag vX.Y.Z\").
Add tags for topics, links to the entities a memory is about (create_entity first: people, projects, tools), pin: true only for what must never fade, and session_id when you started a session (start_session at the beginning of a long task, end_session at the end: it writes a summary).
Do not save secrets (passwords, keys, tokens), nor what is already in the code or documents you can read again.

Keeping memory useful: when a recalled memory helped, call reinforce_memory with its id; when it is wrong or outdated, delete_memory it and save the corrected statement.";

pub fn list() -> Value {
    json!({"prompts": [{
        "name": NAME,
        "title": "Memory instructions",
        "description": DESCRIPTION,
        "arguments": [],
    }]})
}

/// `prompts/get`.
pub fn get(params: &Value) -> Result<Value, McpError> {
    match params.get("name").and_then(Value::as_str) {
        Some(NAME) => Ok(json!({
            "description": DESCRIPTION,
            "messages": [{"role": "user", "content": {"type": "text", "text": TEXT}}],
        })),
        Some(other) => Err(McpError::InvalidParams(format!(
            "unknown prompt '{other}' (prompts: {NAME})"
        ))),
        None => Err(McpError::InvalidParams("prompts/get needs \"name\"".into())),
    }
}
