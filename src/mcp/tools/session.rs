//! Sessions: durable nodes of the index (type `session`), not process memory, so
//! they survive a restart and every client sees the same ones. Ending a session
//! writes a summary node of its memories (embedded when an embedder works; never
//! a zero vector of some fixed dimension).

use serde_json::{json, Map, Value};

use super::{nullable, object, quote, rfc3339, Ctx, Param, Tool, ADD, UPSERT};
use crate::engine::{ItemInput, Link};
use crate::limits::{MCP_SCAN_MAX, MCP_SUMMARY_CHARS, MCP_SUMMARY_MEMORIES};
use crate::mcp::error::ToolError;
use crate::mcp::schema::{opt, req, Args, Ty};

const INDEX: Param = opt(
    "index_name",
    Ty::Name,
    "",
    "Index of the session (default mcp_memory)",
);

const START: &[Param] = &[
    opt(
        "session_id",
        Ty::Name,
        "",
        "The session's id (default session::<unix ns>)",
    ),
    opt(
        "agent_id",
        Ty::Name,
        "",
        "Which agent works in this session",
    ),
    opt(
        "user_id",
        Ty::Name,
        "",
        "For whom; memories saved with this session_id get it",
    ),
    opt("context", Ty::Text, "", "What the session is about"),
    INDEX,
];

const END: &[Param] = &[req("session_id", Ty::Name, "The session to end"), INDEX];

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "start_session",
        title: "Start a session",
        description: "Start a work session (a durable node). Pass its session_id to save_memory; call end_session at the end.",
        params: START,
        output: start_out,
        hints: ADD,
        admin: false,
        run: start,
    },
    Tool {
        name: "end_session",
        title: "End a session",
        description: "End a session: marks it ended and saves a summary node of its memories.",
        params: END,
        output: end_out,
        hints: UPSERT,
        admin: false,
        run: end,
    },
];

fn start_out() -> Value {
    object(
        json!({"session_id": {"type": "string"}, "status": {"type": "string"}, "message": {"type": "string"}}),
    )
}

fn end_out() -> Value {
    object(json!({
        "session_id": {"type": "string"},
        "status": {"type": "string"},
        "summary_id": nullable("string"),
        "memories": {"type": "integer"},
        "summary": {"type": "string"},
    }))
}

fn status(m: &Map<String, Value>) -> &str {
    m.get("session_status")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn start(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    ctx.ensure_index(&index)?;
    let ns = ctx.unique_ns();
    let id = a
        .str("session_id")
        .unwrap_or_else(|| format!("session::{ns}"));
    if let Some(old) = ctx.items(&index, vec![id.clone()])?.pop() {
        if old.metadata.get("type").and_then(Value::as_str) != Some("session") {
            return Err(ToolError::Invalid(format!(
                "'{id}' is a node that is not a session: choose another session_id"
            )));
        }
        if status(&old.metadata) == "active" {
            return Ok(
                json!({"session_id": id, "status": "active", "message": "session already active"}),
            );
        }
        return Err(ToolError::Invalid(format!(
            "session '{id}' has ended: start a new one with another session_id (or none)"
        )));
    }
    let mut m = Map::new();
    m.insert("type".into(), json!("session"));
    m.insert("session_status".into(), json!("active"));
    m.insert("started_at".into(), json!(rfc3339(ns)));
    m.insert("started_at_ns".into(), json!(ns));
    for key in ["agent_id", "user_id", "context"] {
        if let Some(v) = a.str(key) {
            m.insert(key.into(), json!(v));
        }
    }
    let input = ItemInput {
        id: id.clone(),
        vector: None,
        metadata: m,
    };
    ctx.wait(ctx.engine.add_inputs(&index, vec![input], true))?;
    Ok(json!({
        "session_id": id,
        "status": "active",
        "message": "session started: pass this session_id to save_memory, and call end_session when done",
    }))
}

fn end(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let id = a.string("session_id");
    let session = ctx
        .items(&index, vec![id.clone()])?
        .pop()
        .filter(|it| it.metadata.get("type").and_then(Value::as_str) == Some("session"))
        .ok_or_else(|| {
            ToolError::Invalid(format!(
                "no session '{id}' in index '{index}': start_session gives session ids"
            ))
        })?;
    if status(&session.metadata) == "ended" {
        let m = &session.metadata;
        return Ok(json!({
            "session_id": id,
            "status": "ended",
            "summary_id": m.get("summary_id").cloned().unwrap_or(Value::Null),
            "memories": m.get("memory_count").cloned().unwrap_or(json!(0)),
            "summary": m.get("summary").cloned().unwrap_or(json!("")),
        }));
    }
    let filter = format!("type = 'memory' AND session_id = {}", quote(&id));
    let mut memories = ctx.wait(ctx.engine.find_nodes(&index, &filter, MCP_SCAN_MAX))?;
    let at = |it: &kektordb_shards::index::Item| {
        it.metadata
            .get("created_at")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    memories.sort_by(|x, y| at(x).cmp(&at(y)).then_with(|| x.id.cmp(&y.id)));
    let ns = ctx.unique_ns();
    let (summary, summary_id) = if memories.is_empty() {
        (format!("Session {id} ended with no memories."), None)
    } else {
        let points: Vec<String> = memories
            .iter()
            .take(MCP_SUMMARY_MEMORIES)
            .enumerate()
            .map(|(i, it)| {
                let c = super::text_of(it);
                let mut s: String = c.chars().take(MCP_SUMMARY_CHARS).collect();
                if s.len() < c.len() {
                    s.push_str("...");
                }
                format!("{}. {s}", i + 1)
            })
            .collect();
        let text = format!(
            "Session {id} ({} memories): {}",
            memories.len(),
            points.join(" ")
        );
        let sid = format!("summary_{ns}");
        let mut m = Map::new();
        m.insert("content".into(), json!(text));
        m.insert("type".into(), json!("session_summary"));
        m.insert("memory_layer".into(), json!("episodic"));
        m.insert("session_id".into(), json!(id));
        m.insert("memory_count".into(), json!(memories.len()));
        m.insert("timestamp".into(), json!(rfc3339(ns)));
        m.insert("created_at".into(), json!(ns));
        m.insert("source".into(), json!("mcp"));
        if let Some(u) = session.metadata.get("user_id") {
            m.insert("user_id".into(), u.clone());
        }
        // Embedded from its content when the index has an embedder; a node
        // without a vector otherwise.
        let input = ItemInput {
            id: sid.clone(),
            vector: None,
            metadata: m,
        };
        ctx.wait(ctx.engine.add_inputs(&index, vec![input], true))?;
        ctx.wait(ctx.engine.link(Link {
            source: sid.clone(),
            target: id.clone(),
            relation: "summarizes".into(),
            inverse: None,
            weight: 1.0,
            props: Map::new(),
        }))?;
        (text, Some(sid))
    };
    let mut m = session.metadata;
    m.insert("session_status".into(), json!("ended"));
    m.insert("ended_at".into(), json!(rfc3339(ns)));
    m.insert("summary_id".into(), json!(summary_id));
    m.insert("memory_count".into(), json!(memories.len()));
    m.insert("summary".into(), json!(summary));
    let input = ItemInput {
        id: id.clone(),
        vector: (!session.vector.is_empty()).then_some(session.vector),
        metadata: m,
    };
    ctx.wait(ctx.engine.add_inputs(&index, vec![input], true))?;
    Ok(json!({
        "session_id": id,
        "status": "ended",
        "summary_id": summary_id,
        "memories": memories.len(),
        "summary": summary,
    }))
}
