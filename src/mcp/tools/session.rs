//! Sessions: durable nodes of the index (type `session`), not process memory, so
//! they survive a restart and every client sees the same ones. Ending a session
//! writes a summary node of its memories (embedded when an embedder works; never
//! a zero vector of some fixed dimension).

use serde_json::{json, Value};

use super::{nullable, object, Ctx, Param, Tool, ADD, UPSERT};
use crate::engine::StartSession;
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

fn start(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    ctx.ensure_index(&index)?;
    let req = StartSession {
        index_name: index,
        session_id: a.str("session_id"),
        agent_id: a.str("agent_id"),
        user_id: a.str("user_id"),
        context: a.str("context"),
    };
    let st = ctx.wait(ctx.engine.start_session(&req, ctx.unique_ns()))?;
    let message = if st.already_active {
        "session already active"
    } else {
        "session started: pass this session_id to save_memory, and call end_session when done"
    };
    Ok(json!({"session_id": st.session_id, "status": "active", "message": message}))
}

fn end(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let id = a.string("session_id");
    let e = ctx
        .wait(ctx.engine.end_session(&index, &id, ctx.unique_ns()))
        .map_err(|e| match e {
            crate::engine::EngineError::Shard(kektordb_shards::ShardError::IdNotFound {
                ..
            })
            | crate::engine::EngineError::Shard(kektordb_shards::ShardError::IndexNotFound {
                ..
            }) => ToolError::Invalid(format!(
                "no session '{id}' in index '{index}': start_session gives session ids"
            )),
            e => e.into(),
        })?;
    Ok(json!({
        "session_id": e.session_id,
        "status": "ended",
        "summary_id": e.summary_id,
        "memories": e.memories,
        "summary": e.summary,
    }))
}
