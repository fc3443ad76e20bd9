//! Indexes and listings: list_indexes, get_stats (agent profile), filter_vectors,
//! list_vectors (admin profile, as upstream).

use kektordb_shards::index::IndexConfig;
use serde_json::{json, Value};

use super::{nullable, object, Ctx, Param, Tool, READ};
use crate::limits::{MCP_RESULTS_MAX, MCP_SCAN_MAX};
use crate::mcp::error::ToolError;
use crate::mcp::schema::{opt, req, Args, Ty};

const INDEX: Param = opt("index_name", Ty::Name, "", "The index (default mcp_memory)");

const STATS: &[Param] = &[INDEX];

const FILTER: &[Param] = &[
    INDEX,
    req(
        "filter",
        Ty::Text,
        "Metadata filter, e.g. type = 'memory' AND memory_layer = 'semantic', CONTAINS(content, 'word'), tags = 'x'",
    ),
    opt(
        "limit",
        Ty::Int {
            min: 1,
            max: MCP_RESULTS_MAX as i64,
        },
        "10",
        "Most ids returned (in id order)",
    ),
];

const LIST: &[Param] = &[
    INDEX,
    opt(
        "limit",
        Ty::Int {
            min: 1,
            max: MCP_RESULTS_MAX as i64,
        },
        "50",
        "Items per page",
    ),
    opt(
        "offset",
        Ty::Int {
            min: 0,
            max: MCP_SCAN_MAX as i64,
        },
        "0",
        "Items to skip (next_offset of the previous page)",
    ),
];

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "list_indexes",
        title: "List indexes",
        description: "Every index with its size, dimension, metric and settings.",
        params: &[],
        output: list_indexes_out,
        hints: READ,
        admin: false,
        run: list_indexes,
    },
    Tool {
        name: "get_stats",
        title: "Index statistics",
        description:
            "Statistics of one index: items, dimension, metric, decay, memory used, embedder.",
        params: STATS,
        output: stats_out,
        hints: READ,
        admin: false,
        run: stats,
    },
    Tool {
        name: "filter_vectors",
        title: "Filter nodes by metadata",
        description: "Ids of the nodes whose metadata matches a filter.",
        params: FILTER,
        output: filter_out,
        hints: READ,
        admin: true,
        run: filter,
    },
    Tool {
        name: "list_vectors",
        title: "List nodes",
        description: "Page through an index's nodes in id order, with their metadata.",
        params: LIST,
        output: list_out,
        hints: READ,
        admin: true,
        run: list,
    },
];

fn index_schema() -> Value {
    let mut o = object(json!({
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "metric": {"type": "string"},
        "precision": {"type": "string"},
        "memory_decay": {"type": "boolean"},
    }));
    o["properties"]["dimension"] = nullable("integer");
    o["properties"]["text_language"] = nullable("string");
    o["properties"]["half_life_days"] = nullable("number");
    o
}

fn list_indexes_out() -> Value {
    object(json!({"indexes": {"type": "array", "items": index_schema()}}))
}

fn stats_out() -> Value {
    let mut o = index_schema();
    if let Some(r) = o["required"].as_array_mut() {
        r.extend(["exists", "memory_bytes", "shards"].map(|k| json!(k)));
    }
    o["properties"]["exists"] = json!({"type": "boolean"});
    o["properties"]["memory_bytes"] = json!({"type": "integer"});
    o["properties"]["shards"] = json!({"type": "integer"});
    o["properties"]["embedder"] = nullable("string");
    o
}

fn filter_out() -> Value {
    object(json!({"results": {"type": "array", "items": {"type": "string"}}}))
}

fn list_out() -> Value {
    object(json!({
        "vectors": {"type": "array", "items": object(json!({"id": {"type": "string"}, "metadata": {"type": "object"}}))},
        "has_more": {"type": "boolean"},
        "total": {"type": "integer"},
        "next_offset": nullable("integer"),
        "scanned_all": {"type": "boolean"},
    }))
}

fn describe(c: &IndexConfig, dim: Option<usize>, count: usize) -> Value {
    let memory = c.memory.filter(|m| m.enabled);
    json!({
        "name": c.name,
        "count": count,
        "dimension": dim,
        "metric": c.metric.as_str(),
        "precision": c.precision.as_str(),
        "text_language": c.text_language.map(|l| l.as_str()),
        "memory_decay": memory.is_some(),
        "half_life_days": memory.map(|m| m.decay_half_life_ns as f64 / 86_400e9),
    })
}

fn list_indexes(ctx: &Ctx, _: &Args) -> Result<Value, ToolError> {
    let all = ctx.wait(ctx.engine.list_indexes())?;
    let indexes: Vec<Value> = all
        .iter()
        .map(|i| describe(&i.config, i.dim, i.len))
        .collect();
    Ok(json!({ "indexes": indexes }))
}

fn stats(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let embedder = ctx.engine.embedder_for(&index).map(|e| e.name());
    let shards = ctx.engine.shards();
    if !ctx.exists(&index) {
        // The default index is created on the first save.
        let mut o = describe(&IndexConfig::new(&index), None, 0);
        o["exists"] = json!(false);
        o["memory_bytes"] = json!(0);
        o["shards"] = json!(shards);
        o["embedder"] = json!(embedder);
        return Ok(o);
    }
    let info = ctx.wait(ctx.engine.info(&index))?;
    let m = info.memory;
    let mut o = describe(&info.config, info.dim, info.len);
    o["exists"] = json!(true);
    o["memory_bytes"] = json!(
        m.vectors_bytes
            + m.rescore_bytes
            + m.graph_bytes
            + m.ids_bytes
            + m.metadata_bytes
            + m.text_bytes
    );
    o["shards"] = json!(shards);
    o["embedder"] = json!(embedder);
    Ok(o)
}

fn filter(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    ctx.engine.config(&index)?;
    let items = ctx.wait(
        ctx.engine
            .find_nodes(&index, &a.string("filter"), a.count("limit")),
    )?;
    let ids: Vec<String> = items.into_iter().map(|it| it.id).collect();
    Ok(json!({ "results": ids }))
}

/// Matches every node (no node has this field).
const EVERYTHING: &str = "_mcp_no_such_field != 'x'";

fn list(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let (limit, offset) = (a.count("limit"), a.count("offset"));
    if !ctx.exists(&index) {
        return Ok(
            json!({"vectors": [], "has_more": false, "total": 0, "next_offset": null, "scanned_all": true}),
        );
    }
    let total = ctx.wait(ctx.engine.info(&index))?.len;
    // Exact id order needs every node at once: up to MCP_SCAN_MAX of them.
    let all = ctx.wait(ctx.engine.find_nodes(&index, EVERYTHING, MCP_SCAN_MAX))?;
    let seen = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|it| json!({"id": it.id, "metadata": it.metadata}))
        .collect();
    let has_more = offset + page.len() < seen;
    Ok(json!({
        "vectors": page,
        "has_more": has_more,
        "total": total,
        "next_offset": has_more.then_some(offset + limit),
        "scanned_all": seen >= total,
    }))
}
