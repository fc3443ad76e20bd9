//! The knowledge graph: entities, links between any nodes, and walks (explore
//! around a node, optionally guided by a query; a path between two nodes; the
//! subgraph around a node). Edges are global (not per index); nodes are read
//! from the index for their text.

use std::collections::{HashMap, HashSet, VecDeque};

use kektordb_shards::index::Item;
use serde_json::{json, Map, Value};

use super::{node_json, node_schema, object, text_of, Ctx, Param, Tool, ADD, READ, UPSERT};
use crate::engine::{EmbedPurpose, ItemInput, Link, PathRequest, SubgraphRequest};
use crate::limits::{MCP_LINKS_MAX, MCP_SUBGRAPH_NODES_MAX, PATH_DEPTH_MAX, SUBGRAPH_DEPTH_MAX};
use crate::mcp::error::ToolError;
use crate::mcp::schema::{opt, req, Args, Ty};

const INDEX: Param = opt(
    "index_name",
    Ty::Name,
    "",
    "Index of the nodes (default mcp_memory)",
);
const RELATIONS: Param = opt(
    "relations",
    Ty::Strings { max: MCP_LINKS_MAX },
    "",
    "Only these relations (all if absent)",
);
const AT_TIME: Param = opt(
    "at_time",
    Ty::Int {
        min: 0,
        max: i64::MAX,
    },
    "0",
    "The graph as it was at this time (unix nanoseconds; 0: now)",
);
const DEPTH: Ty = Ty::Int {
    min: 1,
    max: SUBGRAPH_DEPTH_MAX as i64,
};

const ENTITY: &[Param] = &[
    req(
        "entity_id",
        Ty::Name,
        "The entity's id, e.g. 'person:ada' or 'project_x'",
    ),
    req(
        "type",
        Ty::Name,
        "What it is: person, project, tool, concept ...",
    ),
    opt(
        "description",
        Ty::Text,
        "",
        "A short description (embedded for recall)",
    ),
    INDEX,
];

const CONNECT: &[Param] = &[
    req("source_id", Ty::Name, "The node the edge starts at"),
    req("target_id", Ty::Name, "The node the edge ends at"),
    req(
        "relation",
        Ty::Name,
        "The relation in active voice: works_on, uses, depends_on ...",
    ),
    INDEX,
];

const EXPLORE: &[Param] = &[
    req("root_id", Ty::Name, "The node to start from"),
    RELATIONS,
    opt("depth", DEPTH, "1", "Hops from the root"),
    opt(
        "guide_query",
        Ty::Text,
        "",
        "Keep only nodes similar to this text (and what connects them to the root)",
    ),
    opt(
        "threshold",
        Ty::Num {
            min: -1.0,
            max: 1.0,
        },
        "0.4",
        "Least cosine similarity to guide_query a node needs (only with guide_query)",
    ),
    AT_TIME,
    INDEX,
];

const PATH: &[Param] = &[
    req("source_id", Ty::Name, "Where the path starts"),
    req("target_id", Ty::Name, "Where the path ends"),
    RELATIONS,
    opt(
        "max_depth",
        Ty::Int {
            min: 1,
            max: PATH_DEPTH_MAX as i64,
        },
        "4",
        "Longest path, in hops (outgoing edges)",
    ),
];

const SUBGRAPH: &[Param] = &[
    req("root_id", Ty::Name, "The node at the centre"),
    RELATIONS,
    opt("depth", DEPTH, "2", "Hops from the root, both directions"),
    opt(
        "limit",
        Ty::Int {
            min: 1,
            max: MCP_SUBGRAPH_NODES_MAX as i64,
        },
        "100",
        "Most nodes returned (nearest first)",
    ),
    AT_TIME,
    INDEX,
];

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "create_entity",
        title: "Create an entity",
        description: "Create (or update) an entity node of the knowledge graph: a person, project, tool or concept that memories and other entities link to.",
        params: ENTITY,
        output: entity_out,
        hints: UPSERT,
        admin: false,
        run: create_entity,
    },
    Tool {
        name: "connect_entities",
        title: "Connect two nodes",
        description: "Add a directed edge source -[relation]-> target between entities or memories.",
        params: CONNECT,
        output: connect_out,
        hints: super::Hints { idempotent: true, ..ADD },
        admin: false,
        run: connect,
    },
    Tool {
        name: "explore_connections",
        title: "Explore connections",
        description: "Describe the nodes connected to root_id within depth hops, optionally only those related to guide_query.",
        params: EXPLORE,
        output: explore_out,
        hints: READ,
        admin: false,
        run: explore,
    },
    Tool {
        name: "find_connection",
        title: "Find a connection",
        description: "Find the shortest chain of outgoing edges from source_id to target_id.",
        params: PATH,
        output: path_out,
        hints: READ,
        admin: false,
        run: find_connection,
    },
    Tool {
        name: "extract_subgraph",
        title: "Extract a subgraph",
        description: "The nodes and edges around root_id (both directions) as JSON.",
        params: SUBGRAPH,
        output: subgraph_out,
        hints: READ,
        admin: false,
        run: subgraph,
    },
];

fn edge_schema() -> Value {
    object(
        json!({"source": {"type": "string"}, "target": {"type": "string"}, "relation": {"type": "string"}}),
    )
}

fn entity_out() -> Value {
    object(
        json!({"entity_id": {"type": "string"}, "status": {"type": "string"}, "embedded": {"type": "boolean"}}),
    )
}

fn connect_out() -> Value {
    object(json!({
        "status": {"type": "string"},
        "source_id": {"type": "string"},
        "target_id": {"type": "string"},
        "relation": {"type": "string"},
    }))
}

fn explore_out() -> Value {
    object(json!({
        "graph_description": {"type": "string"},
        "nodes": {"type": "array", "items": node_schema()},
        "edges": {"type": "array", "items": edge_schema()},
    }))
}

fn path_out() -> Value {
    object(json!({
        "found": {"type": "boolean"},
        "path": {"type": "array", "items": {"type": "string"}},
        "relations": {"type": "array", "items": {"type": "string"}},
        "path_description": {"type": "string"},
    }))
}

fn subgraph_out() -> Value {
    object(json!({
        "root_id": {"type": "string"},
        "nodes": {"type": "array", "items": node_schema()},
        "edges": {"type": "array", "items": edge_schema()},
        "truncated": {"type": "boolean"},
    }))
}

fn create_entity(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let id = a.string("entity_id");
    ctx.ensure_index(&index)?;
    if let Some(old) = ctx.items(&index, vec![id.clone()])?.pop() {
        if old.metadata.get("is_entity").and_then(Value::as_bool) != Some(true) {
            return Err(ToolError::Invalid(format!(
                "'{id}' is already a node that is not an entity (a memory?): choose another entity_id"
            )));
        }
    }
    let (kind, description) = (a.string("type"), a.str("description").unwrap_or_default());
    // Embedded when an embedder works, so recall finds entities by meaning; a node
    // without a vector otherwise (the graph needs none).
    let vector = match ctx.engine.embedder_for(&index) {
        Some(_) => {
            let text = format!("{id} ({kind}): {description}");
            ctx.wait(
                ctx.engine
                    .embed_for(&index, vec![text], EmbedPurpose::Passage),
            )
            .ok()
            .and_then(|mut v| v.pop())
        }
        None => None,
    };
    let embedded = vector.is_some();
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("description".into(), json!(description));
    m.insert("is_entity".into(), json!(true));
    m.insert("created_at".into(), json!(ctx.unique_ns()));
    let input = ItemInput {
        id: id.clone(),
        vector,
        metadata: m,
    };
    ctx.wait(ctx.engine.add_inputs(&index, vec![input], true))?;
    Ok(json!({"entity_id": id, "status": "created", "embedded": embedded}))
}

fn connect(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let (source, target, relation) = (
        a.string("source_id"),
        a.string("target_id"),
        a.string("relation"),
    );
    ctx.wait(ctx.engine.link(Link {
        source: source.clone(),
        target: target.clone(),
        relation: relation.clone(),
        inverse: None,
        weight: 1.0,
        props: Map::new(),
    }))?;
    Ok(
        json!({"status": "connected", "source_id": source, "target_id": target, "relation": relation}),
    )
}

/// The text of a node for a description line, cut to 120 characters.
fn brief(items: &HashMap<String, Item>, id: &str) -> String {
    match items.get(id) {
        Some(it) => {
            let t = text_of(it);
            let mut s: String = t.chars().take(120).collect();
            if s.len() < t.len() {
                s.push_str("...");
            }
            s
        }
        None => String::new(),
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let d = n(a) * n(b);
    if d > 0.0 {
        dot / d
    } else {
        0.0
    }
}

/// Node ids (root first, nearest first), their items, and the edges among them
/// as (source, target, relation).
type Around = (
    Vec<String>,
    HashMap<String, Item>,
    Vec<(String, String, String)>,
);

/// The subgraph around the root.
fn around(ctx: &Ctx, a: &Args, index: &str, depth: usize) -> Result<Around, ToolError> {
    let req = SubgraphRequest {
        index_name: if ctx.exists(index) {
            index.to_owned()
        } else {
            String::new()
        },
        root_id: a.string("root_id"),
        relations: a.strings("relations"),
        max_depth: Some(depth),
        at_time: a.int("at_time"),
        guide_vector: None,
    };
    let g = ctx.wait(ctx.engine.subgraph(&req))?;
    let ids = g.nodes.iter().map(|(id, _)| id.clone()).collect();
    let items = g
        .nodes
        .into_iter()
        .filter_map(|(id, it)| it.map(|it| (id, it)))
        .collect();
    let edges = g
        .edges
        .into_iter()
        .map(|e| (e.source, e.target, e.relation))
        .collect();
    Ok((ids, items, edges))
}

/// Nodes connected to `root` over `edges` (either direction), nearest first.
fn connected(
    root: &str,
    edges: &[(String, String, String)],
    keep: &HashSet<String>,
) -> Vec<String> {
    let mut seen = HashSet::from([root.to_owned()]);
    let mut order = vec![root.to_owned()];
    let mut queue = VecDeque::from([root.to_owned()]);
    while let Some(n) = queue.pop_front() {
        for (s, t, _) in edges {
            let other = if *s == n {
                t
            } else if *t == n {
                s
            } else {
                continue;
            };
            if keep.contains(other) && seen.insert(other.clone()) {
                order.push(other.clone());
                queue.push_back(other.clone());
            }
        }
    }
    order
}

fn explore(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let root = a.string("root_id");
    let (mut ids, items, mut edges) = around(ctx, a, &index, a.count("depth"))?;
    if let Some(guide) = a.str("guide_query") {
        ctx.require_embedder(&index)?;
        let g = ctx
            .wait(
                ctx.engine
                    .embed_for(&index, vec![guide], EmbedPurpose::Query),
            )?
            .pop()
            .unwrap_or_default();
        let threshold = a.number("threshold");
        let keep: HashSet<String> = ids
            .iter()
            .filter(|id| {
                **id == root
                    || items.get(*id).is_none_or(|it| {
                        it.vector.is_empty() || cosine(&g, &it.vector) >= threshold
                    })
            })
            .cloned()
            .collect();
        edges.retain(|(s, t, _)| keep.contains(s) && keep.contains(t));
        ids = connected(&root, &edges, &keep);
        let reach: HashSet<&String> = ids.iter().collect();
        edges.retain(|(s, t, _)| reach.contains(s) && reach.contains(t));
    }
    let mut lines = Vec::new();
    for (s, t, rel) in &edges {
        lines.push(if *s == root {
            format!("- [THIS] --({rel})--> {t}: {}", brief(&items, t))
        } else if *t == root {
            format!("- [THIS] <--({rel})-- {s}: {}", brief(&items, s))
        } else {
            format!("- {s} --({rel})--> {t}: {}", brief(&items, t))
        });
    }
    let description = if lines.is_empty() {
        format!("No connections found for {root}.")
    } else {
        format!(
            "Connections of {root} ({}):\n{}",
            brief(&items, &root),
            lines.join("\n")
        )
    };
    let nodes: Vec<Value> = ids.iter().map(|id| node_or_id(&items, id)).collect();
    let edges: Vec<Value> = edges
        .into_iter()
        .map(|(s, t, r)| json!({"source": s, "target": t, "relation": r}))
        .collect();
    Ok(json!({"graph_description": description, "nodes": nodes, "edges": edges}))
}

fn node_or_id(items: &HashMap<String, Item>, id: &str) -> Value {
    match items.get(id) {
        Some(it) => node_json(it, None),
        None => json!({"id": id, "content": ""}),
    }
}

fn find_connection(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let req = PathRequest {
        source_id: a.string("source_id"),
        target_id: a.string("target_id"),
        relations: a.strings("relations"),
        max_depth: Some(a.count("max_depth")),
    };
    let p = ctx.wait(ctx.engine.find_path(&req))?;
    let description = if p.found {
        let hops: Vec<String> = p
            .path
            .windows(2)
            .zip(&p.relations)
            .map(|(w, r)| format!("{} --({r})--> {}", w[0], w[1]))
            .collect();
        format!("{}\n{}", p.path.join(" -> "), hops.join("\n"))
    } else {
        format!(
            "No connection from {} to {} within {} hops.",
            req.source_id,
            req.target_id,
            a.count("max_depth")
        )
    };
    Ok(
        json!({"found": p.found, "path": p.path, "relations": p.relations, "path_description": description}),
    )
}

fn subgraph(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let (mut ids, items, mut edges) = around(ctx, a, &index, a.count("depth"))?;
    let limit = a.count("limit");
    let truncated = ids.len() > limit;
    ids.truncate(limit);
    let keep: HashSet<&String> = ids.iter().collect();
    edges.retain(|(s, t, _)| keep.contains(s) && keep.contains(t));
    let nodes: Vec<Value> = ids.iter().map(|id| node_or_id(&items, id)).collect();
    let edges: Vec<Value> = edges
        .into_iter()
        .map(|(s, t, r)| json!({"source": s, "target": t, "relation": r}))
        .collect();
    Ok(
        json!({"root_id": a.string("root_id"), "nodes": nodes, "edges": edges, "truncated": truncated}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruned_walk_keeps_what_connects() {
        let e = |s: &str, t: &str| (s.to_owned(), t.to_owned(), "r".to_owned());
        let edges = vec![e("root", "a"), e("a", "b"), e("c", "root"), e("x", "y")];
        let keep: HashSet<String> = ["root", "b", "c", "x", "y"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // "a" is pruned, so "b" (reached only through it) goes too.
        assert_eq!(connected("root", &edges, &keep), vec!["root", "c"]);
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-9);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
