//! Recall: hybrid search (vector + BM25, decayed by age) over the memories,
//! bounded by count and by a token budget; the same within a node's graph
//! neighbourhood; and search with the parts of each score.

use std::collections::{HashMap, HashSet};

use kektordb_shards::index::Item;
use kektordb_shards::SearchHit;
use serde_json::{json, Value};

use super::{line_of, node_json, node_schema, object, Ctx, Param, Tool, LAYERS, READ};
use crate::engine::{Direction, GraphFilter, SearchQuery};
use crate::limits::{MCP_RECALL_TOKENS_MAX, MCP_RESULTS_MAX, SUBGRAPH_DEPTH_MAX};
use crate::mcp::error::ToolError;
use crate::mcp::schema::{opt, req, Args, Ty};

const RESULTS: Ty = Ty::Int {
    min: 1,
    max: MCP_RESULTS_MAX as i64,
};
const INDEX: Param = opt(
    "index_name",
    Ty::Name,
    "",
    "Index to search (default mcp_memory)",
);
const MAX_TOKENS: Param = opt(
    "max_tokens",
    Ty::Int {
        min: 1,
        max: MCP_RECALL_TOKENS_MAX as i64,
    },
    "2000",
    "Token budget of the results (a token counted as 4 characters); results stop before it is exceeded",
);

const RECALL: &[Param] = &[
    req("query", Ty::Text, "What to remember: a question or keywords"),
    INDEX,
    opt("limit", RESULTS, "5", "Most memories returned"),
    opt(
        "reinforce",
        Ty::Bool,
        "false",
        "Also reinforce the memories returned (their decay restarts, durably)",
    ),
    opt("layers", Ty::EnumList(LAYERS), "", "Only these memory layers"),
    opt(
        "layer_weights",
        Ty::NumberMap,
        "",
        "Reorder by score times the weight of each memory's layer (unnamed layers: semantic 0.5, episodic 0.4, procedural 0.1)",
    ),
    MAX_TOKENS,
];

const SCOPED: &[Param] = &[
    req("query", Ty::Text, "What to remember"),
    req(
        "root_id",
        Ty::Name,
        "The node whose neighbourhood is searched",
    ),
    opt(
        "direction",
        Ty::Enum(&["out", "in", "both"]),
        "\"both\"",
        "Which edges to follow from the root",
    ),
    opt(
        "depth",
        Ty::Int {
            min: 1,
            max: SUBGRAPH_DEPTH_MAX as i64,
        },
        "2",
        "Hops from the root",
    ),
    opt("limit", RESULTS, "5", "Most memories returned"),
    INDEX,
    MAX_TOKENS,
];

const SCORES: &[Param] = &[
    req("query", Ty::Text, "What to search for"),
    opt("k", RESULTS, "5", "Most results"),
    INDEX,
    opt(
        "filter",
        Ty::Text,
        "",
        "Metadata filter, e.g. memory_layer = 'semantic' AND CONTAINS(content, 'rust')",
    ),
];

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "recall_memory",
        title: "Recall memories",
        description: "Find the memories most relevant to a query (hybrid: meaning and keywords, recent ones first; entities are left to the graph tools). Returns ids, scores and content within a token budget.",
        params: RECALL,
        output: recall_out,
        hints: READ,
        admin: false,
        run: recall,
    },
    Tool {
        name: "scoped_recall",
        title: "Recall around a node",
        description: "Recall memories among the nodes connected to root_id (within depth hops); fills up with connected nodes when the search finds fewer than limit.",
        params: SCOPED,
        output: recall_out,
        hints: READ,
        admin: false,
        run: scoped,
    },
    Tool {
        name: "search_with_scores",
        title: "Search with scores",
        description: "Search memories and return each score with its parts (similarity and the decay factor of its age) and the metadata.",
        params: SCORES,
        output: scores_out,
        hints: READ,
        admin: false,
        run: scores,
    },
];

fn recall_out() -> Value {
    object(json!({
        "results": {"type": "array", "items": {"type": "string"}},
        "memories": {"type": "array", "items": node_schema()},
        "tokens": {"type": "integer"},
        "truncated": {"type": "boolean"},
    }))
}

fn scores_out() -> Value {
    object(json!({"results": {"type": "array", "items": object(json!({
        "memory_id": {"type": "string"},
        "score": {"type": "number"},
        "score_breakdown": object(json!({
            "similarity": {"type": "number"},
            "decay_factor": {"type": "number"},
        })),
        "metadata": {"type": "object"},
    }))}}))
}

/// What recall leaves out: entities (the graph tools and scoped_recall's fill-up
/// reach them), session nodes, and what upstream marks historical.
fn recall_filter(layers: &[String]) -> String {
    let mut f =
        "is_entity != true AND type != 'session' AND _is_historical != true AND _archived != true"
            .to_owned();
    if !layers.is_empty() {
        let list: Vec<String> = layers.iter().map(|l| super::quote(l)).collect();
        f.push_str(&format!(" AND memory_layer IN ({})", list.join(", ")));
    }
    f
}

fn search(ctx: &Ctx, q: &SearchQuery) -> Result<Vec<(Item, f32)>, ToolError> {
    let hits: Vec<SearchHit> = ctx.wait(ctx.engine.query(q))?;
    let ids = hits.iter().map(|h| h.id.clone()).collect();
    let mut items: HashMap<String, Item> = ctx
        .items(&q.index_name, ids)?
        .into_iter()
        .map(|it| (it.id.clone(), it))
        .collect();
    Ok(hits
        .into_iter()
        .filter_map(|h| items.remove(&h.id).map(|it| (it, h.score)))
        .collect())
}

/// The recall result: upstream's `results` lines and the structured memories,
/// within `max_tokens` (the first one is cut to fit if it alone is over).
fn render(found: Vec<(Item, Option<f32>)>, max_tokens: usize) -> Value {
    if found.is_empty() {
        return json!({"results": ["Memory is empty."], "memories": [], "tokens": 0, "truncated": false});
    }
    let (mut lines, mut memories, mut used, mut truncated) = (Vec::new(), Vec::new(), 0, false);
    for (it, score) in found {
        let line = line_of(&it);
        let tokens = line.chars().count().div_ceil(4);
        if used + tokens > max_tokens {
            truncated = true;
            if lines.is_empty() {
                // The line is a prefix ("[id] ") and the text: cut the text.
                let text = super::text_of(&it);
                let prefix = line.chars().count() - text.chars().count();
                let keep = (max_tokens * 4).saturating_sub(prefix);
                let text: String = text.chars().take(keep).collect();
                let mut m = node_json(&it, score);
                m["content"] = json!(text);
                lines.push(line.chars().take(prefix).collect::<String>() + &text);
                memories.push(m);
                used = max_tokens;
            }
            break;
        }
        used += tokens;
        lines.push(line);
        memories.push(node_json(&it, score));
    }
    json!({"results": lines, "memories": memories, "tokens": used, "truncated": truncated})
}

fn layer_weight(weights: &[(String, f64)], layer: Option<&str>) -> f64 {
    let layer = layer.unwrap_or("");
    weights
        .iter()
        .find(|(l, _)| l == layer)
        .map(|(_, w)| *w)
        .unwrap_or(match layer {
            "semantic" => 0.5,
            "episodic" => 0.4,
            "procedural" => 0.1,
            _ => 0.4,
        })
}

fn recall(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let limit = a.count("limit");
    if !ctx.exists(&index) {
        return Ok(render(Vec::new(), 0));
    }
    ctx.require_embedder(&index)?;
    let q = SearchQuery {
        index_name: index.clone(),
        k: 2 * limit,
        query_text: Some(a.string("query")),
        filter: Some(recall_filter(&a.strings("layers"))),
        ..SearchQuery::default()
    };
    let mut found = search(ctx, &q)?;
    let weights = a.numbers("layer_weights");
    if a.has("layer_weights") {
        let w = |it: &Item, s: f32| {
            f64::from(s)
                * layer_weight(
                    &weights,
                    it.metadata.get("memory_layer").and_then(Value::as_str),
                )
        };
        found.sort_by(|(x, sx), (y, sy)| {
            w(y, *sy)
                .total_cmp(&w(x, *sx))
                .then_with(|| x.id.cmp(&y.id))
        });
    }
    found.truncate(limit);
    let out = render(
        found.into_iter().map(|(it, s)| (it, Some(s))).collect(),
        a.count("max_tokens"),
    );
    if a.bool("reinforce") {
        let ids: Vec<String> = out["memories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect();
        if !ids.is_empty() {
            ctx.wait(ctx.engine.reinforce(&index, ids))?;
        }
    }
    Ok(out)
}

fn scoped(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    let limit = a.count("limit");
    if !ctx.exists(&index) {
        return Ok(render(Vec::new(), 0));
    }
    ctx.require_embedder(&index)?;
    let root = a.string("root_id");
    let direction = Direction::try_from(a.string("direction")).map_err(ToolError::Invalid)?;
    let depth = a.count("depth");
    let q = SearchQuery {
        index_name: index.clone(),
        k: limit,
        query_text: Some(a.string("query")),
        filter: Some(recall_filter(&[])),
        graph_filter: Some(GraphFilter {
            root_id: root.clone(),
            relations: Vec::new(),
            max_depth: Some(depth),
            direction,
        }),
        ..SearchQuery::default()
    };
    let mut found: Vec<(Item, Option<f32>)> = search(ctx, &q)?
        .into_iter()
        .map(|(it, s)| (it, Some(s)))
        .collect();
    if found.len() < limit {
        // Fill up with the connected nodes the search did not rank (entities
        // without a vector, nodes of other kinds), nearest ids first.
        let have: HashSet<String> = found.iter().map(|(it, _)| it.id.clone()).collect();
        let mut rest: Vec<String> = ctx
            .wait(ctx.engine.reachable(&root, Vec::new(), depth, direction))?
            .into_iter()
            .filter(|id| *id != root && !have.contains(id))
            .collect();
        rest.sort();
        let mut extra = ctx.items(&index, rest)?;
        extra.sort_by(|x, y| x.id.cmp(&y.id));
        extra.retain(|it| it.metadata.get("type").and_then(Value::as_str) != Some("session"));
        found.extend(
            extra
                .into_iter()
                .take(limit - found.len())
                .map(|it| (it, None)),
        );
    }
    Ok(render(found, a.count("max_tokens")))
}

fn scores(ctx: &Ctx, a: &Args) -> Result<Value, ToolError> {
    let index = ctx.index(a);
    if !ctx.exists(&index) {
        return Ok(json!({"results": []}));
    }
    ctx.require_embedder(&index)?;
    let q = SearchQuery {
        index_name: index.clone(),
        k: a.count("k"),
        query_text: Some(a.string("query")),
        filter: a.str("filter"),
        ..SearchQuery::default()
    };
    let half_life = ctx
        .engine
        .config(&index)?
        .memory
        .filter(|m| m.enabled)
        .map(|m| m.decay_half_life_ns);
    let now = crate::engine::now_nanos();
    let results: Vec<Value> = search(ctx, &q)?
        .into_iter()
        .map(|(it, score)| {
            let pinned = it.metadata.get("_pinned").and_then(Value::as_bool) == Some(true);
            let decay = match half_life {
                Some(h) if !pinned => 0.5f64.powf((now - it.touched).max(0) as f64 / h as f64),
                _ => 1.0,
            };
            let similarity = if decay > 1e-9 {
                f64::from(score) / decay
            } else {
                0.0
            };
            json!({
                "memory_id": it.id,
                "score": score,
                "score_breakdown": {"similarity": similarity, "decay_factor": decay},
                "metadata": it.metadata,
            })
        })
        .collect();
    Ok(json!({ "results": results }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, content: &str) -> Item {
        let mut metadata = serde_json::Map::new();
        metadata.insert("content".into(), json!(content));
        Item {
            id: id.into(),
            vector: Vec::new(),
            metadata,
            touched: 0,
        }
    }

    #[test]
    fn token_budget() {
        let found = vec![
            (item("a", &"x".repeat(40)), Some(0.9)),
            (item("b", &"y".repeat(40)), Some(0.8)),
        ];
        // "[a] " + 40 = 44 chars = 11 tokens each.
        let all = render(found.clone(), 100);
        assert_eq!(all["memories"].as_array().unwrap().len(), 2);
        assert_eq!(
            (all["tokens"].as_u64(), all["truncated"].as_bool()),
            (Some(22), Some(false))
        );
        let one = render(found.clone(), 15);
        assert_eq!(one["memories"].as_array().unwrap().len(), 1);
        assert_eq!(one["truncated"], json!(true));
        let cut = render(found, 5);
        assert_eq!(cut["results"][0].as_str().unwrap().chars().count(), 20);
        assert_eq!(cut["memories"][0]["content"].as_str().unwrap().len(), 16);
        assert_eq!(
            render(Vec::new(), 5)["results"][0],
            json!("Memory is empty.")
        );
    }

    #[test]
    fn filters_parse() {
        for layers in [vec![], vec!["semantic".to_owned(), "episodic".to_owned()]] {
            let f = recall_filter(&layers);
            assert!(kektordb_shards::filter::parse(&f).is_ok(), "{f}");
        }
    }
}
