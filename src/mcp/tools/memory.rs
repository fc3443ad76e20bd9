//! Memories one by one: save (embedded, logged, linked), get, delete, reinforce.

use kektordb_shards::graph::check_relation;
use kektordb_shards::index::check_id;
use serde_json::{json, Map, Value};

use super::{object, rfc3339, Ctx, Param, Tool, ADD, LAYERS, READ, UPSERT};
use crate::engine::{ItemInput, Link};
use crate::limits::{MCP_IDS_MAX, MCP_LINKS_MAX};
use crate::mcp::error::ToolError;
use crate::mcp::schema::{opt, req, Args, Ty};

const INDEX: Param = opt(
    "index_name",
    Ty::Name,
    "",
    "Index to use (default mcp_memory, created on first save)",
);

const SAVE: &[Param] = &[
    req("content", Ty::Text, "What to remember, as a self-contained statement"),
    INDEX,
    opt(
        "layer",
        Ty::Enum(LAYERS),
        "\"episodic\"",
        "episodic: events and conversations; semantic: facts and preferences; procedural: how to do things",
    ),
    opt(
        "links",
        Ty::Strings { max: MCP_LINKS_MAX },
        "",
        "Nodes to link this memory to: 'id' (relation related_to) or 'id:relation'",
    ),
    opt("tags", Ty::StringsOrCsv, "", "Tags: an array or a comma-separated string"),
    opt(
        "pin",
        Ty::Bool,
        "false",
        "Pinned memories do not decay",
    ),
    opt("_pinned", Ty::NullableBool, "", "Same as pin (upstream's name)"),
    opt(
        "session_id",
        Ty::Name,
        "",
        "The session (from start_session) this memory belongs to; linked belongs_to",
    ),
    opt(
        "user_id",
        Ty::Name,
        "",
        "Whose memory this is (default: the session's user)",
    ),
];

const GET: &[Param] = &[
    req("memory_id", Ty::Name, "The memory's id"),
    INDEX,
    opt(
        "include_vector",
        Ty::Bool,
        "false",
        "Also return the stored embedding",
    ),
];

const DELETE: &[Param] = &[req("memory_id", Ty::Name, "The memory's id"), INDEX];

const REINFORCE: &[Param] = &[
    req(
        "memory_ids",
        Ty::Strings { max: MCP_IDS_MAX },
        "Memories that proved useful: their decay starts again from now",
    ),
    INDEX,
];

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "save_memory",
        title: "Save a memory",
        description: "Save a memory (a fact, preference, decision or event) durably, embedded for recall_memory. Returns its id.",
        params: SAVE,
        output: save_out,
        hints: ADD,
        admin: false,
        run: save,
    },
    Tool {
        name: "get_memory",
        title: "Get a memory",
        description: "Read one memory (or any node) by id, with its metadata.",
        params: GET,
        output: get_out,
        hints: READ,
        admin: false,
        run: get,
    },
    Tool {
        name: "delete_memory",
        title: "Delete a memory",
        description: "Delete a memory (or any node) by id. deleted is false when there was none.",
        params: DELETE,
        output: delete_out,
        hints: UPSERT,
        admin: false,
        run: delete,
    },
    Tool {
        name: "reinforce_memory",
        title: "Reinforce memories",
        description: "Mark memories as useful: their decay restarts from now, so they rank higher in recall.",
        params: REINFORCE,
        output: reinforce_out,
        hints: super::Hints {
            read_only: false,
            destructive: false,
            idempotent: true,
        },
        admin: false,
        run: reinforce,
    },
];

fn save_out() -> Value {
    object(
        json!({"memory_id": {"type": "string"}, "status": {"type": "string"}, "links": {"type": "integer"}}),
    )
}

fn get_out() -> Value {
    let mut o = object(json!({
        "found": {"type": "boolean"},
        "memory_id": {"type": "string"},
        "content": {"type": "string"},
        "metadata": {"type": "object"},
    }));
    o["properties"]["vector"] = json!({"type": "array", "items": {"type": "number"}});
    o
}

fn delete_out() -> Value {
    object(json!({"deleted": {"type": "boolean"}, "memory_id": {"type": "string"}}))
}

fn reinforce_out() -> Value {
    object(json!({"reinforced": {"type": "integer"}, "requested": {"type": "integer"}}))
}

/// `id` or `id:relation`; a `::` inside an id (`session::1`) is not a separator.
fn parse_link(s: &str) -> (String, String) {
    if let Some(i) = s.rfind(':') {
        let (id, rel) = (&s[..i], &s[i + 1..]);
        if !id.is_empty() && !rel.is_empty() && !id.ends_with(':') {
            return (id.to_owned(), rel.to_owned());
        }
    }
    (s.to_owned(), "related_to".to_owned())
}

fn save(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let links: Vec<(String, String)> = a.strings("links").iter().map(|l| parse_link(l)).collect();
    for (target, rel) in &links {
        check_id(target).map_err(|e| ToolError::Invalid(format!("links: {e}")))?;
        check_relation(rel).map_err(|e| ToolError::Invalid(format!("links: {e}")))?;
    }
    ctx.ensure_index(&index)?;
    ctx.require_embedder(&index)?;
    let session = a.str("session_id");
    let mut user = a.str("user_id");
    if let (Some(s), None) = (&session, &user) {
        user = ctx.items(&index, vec![s.clone()])?.pop().and_then(|it| {
            it.metadata
                .get("user_id")
                .and_then(|v| v.as_str().map(str::to_owned))
        });
    }
    let ns = ctx.unique_ns();
    let id = format!("mem_{ns}");
    let mut m = Map::new();
    m.insert("content".into(), json!(a.string("content")));
    m.insert("timestamp".into(), json!(rfc3339(ns)));
    m.insert("created_at".into(), json!(ns));
    m.insert("source".into(), json!("mcp"));
    m.insert("type".into(), json!("memory"));
    m.insert("memory_layer".into(), json!(a.string("layer")));
    m.insert("tags".into(), json!(a.strings("tags")));
    let pinned = a.bool("pin") || a.bool("_pinned");
    m.insert("_pinned".into(), json!(pinned));
    if let Some(s) = &session {
        m.insert("session_id".into(), json!(s));
    }
    if let Some(u) = user {
        m.insert("user_id".into(), json!(u));
    }
    let input = ItemInput {
        id: id.clone(),
        vector: None,
        metadata: m,
    };
    ctx.wait(ctx.engine.add_inputs(&index, vec![input], true))?;
    let mut edges = links;
    if let Some(s) = session {
        edges.push((s, "belongs_to".to_owned()));
    }
    for (target, relation) in &edges {
        ctx.wait(ctx.engine.link(Link {
            source: id.clone(),
            target: target.clone(),
            relation: relation.clone(),
            inverse: None,
            weight: 1.0,
            props: Map::new(),
        }))?;
    }
    Ok(json!({"memory_id": id, "status": "saved", "links": edges.len()}))
}

fn get(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let id = a.string("memory_id");
    let Some(it) = ctx.items(&index, vec![id.clone()])?.pop() else {
        return Ok(json!({"found": false, "memory_id": id, "content": "", "metadata": {}}));
    };
    let mut o = json!({
        "found": true,
        "memory_id": id,
        "content": super::text_of(&it),
        "metadata": it.metadata,
    });
    if a.bool("include_vector") {
        o["vector"] = json!(it.vector);
    }
    Ok(o)
}

fn delete(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let id = a.string("memory_id");
    let deleted = ctx.exists(&index) && ctx.wait(ctx.engine.delete(&index, &id))?;
    Ok(json!({"deleted": deleted, "memory_id": id}))
}

fn reinforce(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let ids = a.strings("memory_ids");
    let requested = ids.len();
    let n = if ctx.exists(&index) && !ids.is_empty() {
        ctx.wait(ctx.engine.reinforce(&index, ids))?
    } else {
        0
    };
    Ok(json!({"reinforced": n, "requested": requested}))
}

#[cfg(test)]
mod tests {
    use super::parse_link;

    #[test]
    fn links() {
        let l = |s: &str| parse_link(s);
        assert_eq!(l("ent_1"), ("ent_1".into(), "related_to".into()));
        assert_eq!(l("ent_1:mentions"), ("ent_1".into(), "mentions".into()));
        assert_eq!(l("session::9"), ("session::9".into(), "related_to".into()));
        assert_eq!(l("session::9:in"), ("session::9".into(), "in".into()));
        assert_eq!(l(":x"), (":x".into(), "related_to".into()));
        assert_eq!(l("x:"), ("x:".into(), "related_to".into()));
    }
}
