//! Graph walks and node properties: extract-subgraph (BFS), traverse (dot paths),
//! find-path (bidirectional BFS), set/get-node-properties and search-nodes. Every
//! walk moves one level at a time with one job per shard per level.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use kektordb_shards::graph::Side;
use kektordb_shards::index::Item;
use kektordb_shards::shard_set::NewItem;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::body;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::server::State;

/// Deepest `max_depth` of extract-subgraph (upstream caps at 5).
pub const SUBGRAPH_DEPTH_MAX: usize = 5;
/// Most nodes one subgraph or traversal returns.
pub const WALK_NODES_MAX: usize = 10_000;
/// Most segments in one traverse path, and the deepest find-path search.
pub const PATH_DEPTH_MAX: usize = 8;
/// Most results of search-nodes.
pub const SEARCH_NODES_MAX: usize = 10_000;
/// Most paths in one traverse (or one search's include_relations).
pub const PATHS_MAX: usize = 32;

#[derive(Deserialize)]
struct SubgraphBody {
    #[serde(default)]
    index_name: String,
    root_id: String,
    #[serde(default)]
    relations: Vec<String>,
    max_depth: Option<usize>,
    #[serde(default)]
    at_time: i64,
    guide_vector: Option<Value>,
}

async fn hydrate_items(
    state: &State,
    index: &str,
    ids: Vec<String>,
) -> Result<HashMap<String, Item>, ApiError> {
    if index.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(state
        .engine
        .get_many(index, ids)
        .await?
        .into_iter()
        .map(|it| (it.id.clone(), it))
        .collect())
}

fn at(at_time: i64) -> i64 {
    if at_time == 0 {
        i64::MAX
    } else {
        at_time
    }
}

pub async fn extract_subgraph(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: SubgraphBody = body(raw)?;
    if b.guide_vector.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(ApiError::NotAvailable(
            "guide_vector (semantic-guided traversal)".into(),
        ));
    }
    let depth = b.max_depth.unwrap_or(1).min(SUBGRAPH_DEPTH_MAX);
    let mut seen: HashSet<String> = HashSet::from([b.root_id.clone()]);
    let mut order = vec![b.root_id.clone()];
    let mut frontier = vec![b.root_id.clone()];
    let mut edges: Vec<Value> = Vec::new();
    let mut edge_seen: HashSet<(String, String, String)> = HashSet::new();
    for _ in 0..depth {
        if frontier.is_empty() || order.len() >= WALK_NODES_MAX {
            break;
        }
        let hop = state
            .engine
            .neighbors(
                frontier.clone(),
                b.relations.clone(),
                vec![Side::Out, Side::In],
                at(b.at_time),
            )
            .await?;
        frontier.clear();
        for (node, side, relation, e) in hop {
            let (source, target, dir) = match side {
                Side::Out => (node.clone(), e.other.clone(), "out"),
                Side::In => (e.other.clone(), node.clone(), "in"),
            };
            if edge_seen.insert((source.clone(), target.clone(), relation.clone())) {
                edges.push(
                    json!({"source": source, "target": target, "relation": relation, "dir": dir}),
                );
            }
            if order.len() < WALK_NODES_MAX && seen.insert(e.other.clone()) {
                order.push(e.other.clone());
                frontier.push(e.other);
            }
        }
    }
    let items = hydrate_items(state, &b.index_name, order.clone()).await?;
    let nodes: Vec<Value> = order
        .iter()
        .map(|id| json!({"id": id, "metadata": items.get(id).map(|i| Value::Object(i.metadata.clone())).unwrap_or(json!({}))}))
        .collect();
    Ok(Response::ok(
        json!({"root_id": b.root_id, "nodes": nodes, "edges": edges}),
    ))
}

#[derive(Deserialize)]
struct TraverseBody {
    #[serde(default)]
    index_name: String,
    source_id: String,
    paths: Vec<String>,
}

/// A node of a traversal tree: children by relation.
#[derive(Default)]
struct Tree {
    children: BTreeMap<String, Vec<(String, Tree)>>,
}

fn render(id: &str, tree: &Tree, items: &HashMap<String, Item>) -> Value {
    let mut v = json!({"id": id});
    if let Some(it) = items.get(id) {
        v["vector"] = json!(it.vector);
        v["metadata"] = Value::Object(it.metadata.clone());
    }
    if !tree.children.is_empty() {
        let conns: Map<String, Value> = tree
            .children
            .iter()
            .map(|(rel, kids)| {
                (
                    rel.clone(),
                    Value::Array(kids.iter().map(|(k, t)| render(k, t, items)).collect()),
                )
            })
            .collect();
        v["connections"] = Value::Object(conns);
    }
    v
}

pub async fn traverse(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: TraverseBody = body(raw)?;
    Ok(Response::ok(
        walk_paths(state, &b.index_name, &b.source_id, &b.paths, true).await?,
    ))
}

/// Follows dot-notation relation paths (`parent.child`) from `source` and returns
/// the nested tree `{id, vector?, metadata?, connections: {relation: [node]}}`,
/// hydrated from `index` when `hydrate`.
pub async fn walk_paths(
    state: &State,
    index: &str,
    source: &str,
    paths: &[String],
    hydrate: bool,
) -> Result<Value, ApiError> {
    if paths.len() > PATHS_MAX {
        return Err(ApiError::BadRequest(format!(
            "at most {PATHS_MAX} relation paths, got {}",
            paths.len()
        )));
    }
    let mut root = Tree::default();
    let mut all: HashSet<String> = HashSet::from([source.to_owned()]);
    for path in paths {
        let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
        if segments.len() > PATH_DEPTH_MAX {
            return Err(ApiError::BadRequest(format!(
                "path '{path}' has more than {PATH_DEPTH_MAX} segments"
            )));
        }
        // Walk level by level; `level` holds (node, route of indexes into the tree).
        let mut level: Vec<(String, Vec<(String, usize)>)> = vec![(source.to_owned(), Vec::new())];
        for seg in segments {
            let nodes: Vec<String> = level.iter().map(|(n, _)| n.clone()).collect();
            let hop = state
                .engine
                .neighbors(nodes, vec![seg.to_owned()], vec![Side::Out], i64::MAX)
                .await?;
            let mut next = Vec::new();
            for (node, route) in &level {
                let mut targets: Vec<String> = hop
                    .iter()
                    .filter(|(n, ..)| n == node)
                    .map(|(.., e)| e.other.clone())
                    .collect();
                targets.sort();
                for t in targets {
                    if all.len() >= WALK_NODES_MAX {
                        break;
                    }
                    // Find (or add) the child under the tree position of `node`.
                    let mut cur = &mut root;
                    for (rel, idx) in route {
                        cur = &mut cur.children.get_mut(rel).expect("route exists")[*idx].1;
                    }
                    let kids = cur.children.entry(seg.to_owned()).or_default();
                    let idx = match kids.iter().position(|(k, _)| *k == t) {
                        Some(i) => i,
                        None => {
                            kids.push((t.clone(), Tree::default()));
                            kids.len() - 1
                        }
                    };
                    all.insert(t.clone());
                    let mut r = route.clone();
                    r.push((seg.to_owned(), idx));
                    next.push((t, r));
                }
            }
            level = next;
        }
    }
    let items = if hydrate {
        hydrate_items(state, index, all.into_iter().collect()).await?
    } else {
        HashMap::new()
    };
    Ok(render(source, &root, &items))
}

/// Ids reachable from `root` within `max_depth` hops along `relations` (all if
/// empty) in `direction` (out, in or both), the root included.
pub async fn reachable(
    state: &State,
    root: &str,
    relations: Vec<String>,
    max_depth: usize,
    direction: &str,
) -> Result<Vec<String>, ApiError> {
    let sides = match direction {
        "" | "out" => vec![Side::Out],
        "in" => vec![Side::In],
        "both" => vec![Side::Out, Side::In],
        other => {
            return Err(ApiError::BadRequest(format!(
                "graph_filter.direction must be out, in or both, got '{other}'"
            )))
        }
    };
    let mut seen: HashSet<String> = HashSet::from([root.to_owned()]);
    let mut frontier = vec![root.to_owned()];
    for _ in 0..max_depth.min(PATH_DEPTH_MAX) {
        if frontier.is_empty() || seen.len() >= WALK_NODES_MAX {
            break;
        }
        let hop = state
            .engine
            .neighbors(
                std::mem::take(&mut frontier),
                relations.clone(),
                sides.clone(),
                i64::MAX,
            )
            .await?;
        for (.., e) in hop {
            if seen.len() < WALK_NODES_MAX && seen.insert(e.other.clone()) {
                frontier.push(e.other);
            }
        }
    }
    Ok(seen.into_iter().collect())
}

#[derive(Deserialize)]
struct FindPathBody {
    source_id: String,
    target_id: String,
    #[serde(default)]
    relations: Vec<String>,
    max_depth: Option<usize>,
}

/// Bidirectional BFS: forward along outgoing edges from the source, backward along
/// incoming edges from the target, expanding the smaller frontier each step.
pub async fn find_path(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: FindPathBody = body(raw)?;
    let depth = b.max_depth.unwrap_or(4).min(PATH_DEPTH_MAX);
    if b.source_id == b.target_id {
        return Ok(Response::ok(
            json!({"found": true, "path": [b.source_id], "relations": []}),
        ));
    }
    // node -> (previous node, relation) on each side.
    let mut fwd: HashMap<String, Option<(String, String)>> =
        HashMap::from([(b.source_id.clone(), None)]);
    let mut bwd: HashMap<String, Option<(String, String)>> =
        HashMap::from([(b.target_id.clone(), None)]);
    let (mut ff, mut bf) = (vec![b.source_id.clone()], vec![b.target_id.clone()]);
    let mut meet = None;
    for _ in 0..depth {
        if ff.is_empty() || bf.is_empty() || meet.is_some() {
            break;
        }
        let forward = ff.len() <= bf.len();
        let (frontier, side) = if forward {
            (&mut ff, Side::Out)
        } else {
            (&mut bf, Side::In)
        };
        let hop = state
            .engine
            .neighbors(
                std::mem::take(frontier),
                b.relations.clone(),
                vec![side],
                i64::MAX,
            )
            .await?;
        let (mine, theirs) = if forward {
            (&mut fwd, &bwd)
        } else {
            (&mut bwd, &fwd)
        };
        let mut next = Vec::new();
        for (node, _, rel, e) in hop {
            if !mine.contains_key(&e.other) && mine.len() < WALK_NODES_MAX {
                mine.insert(e.other.clone(), Some((node, rel)));
                if theirs.contains_key(&e.other) {
                    meet = Some(e.other.clone());
                    break;
                }
                next.push(e.other);
            }
        }
        if forward {
            ff = next;
        } else {
            bf = next;
        }
    }
    let Some(meet) = meet else {
        return Ok(Response::ok(
            json!({"found": false, "path": [], "relations": []}),
        ));
    };
    let mut path = VecDeque::from([meet.clone()]);
    let mut rels = VecDeque::new();
    let mut cur = meet.clone();
    while let Some(Some((prev, rel))) = fwd.get(&cur) {
        path.push_front(prev.clone());
        rels.push_front(rel.clone());
        cur = prev.clone();
    }
    let mut cur = meet;
    while let Some(Some((next, rel))) = bwd.get(&cur) {
        path.push_back(next.clone());
        rels.push_back(rel.clone());
        cur = next.clone();
    }
    Ok(Response::ok(
        json!({"found": true, "path": path, "relations": rels}),
    ))
}

#[derive(Deserialize)]
struct SetPropsBody {
    index_name: String,
    node_id: String,
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
struct NodeBody {
    index_name: String,
    node_id: String,
}

#[derive(Deserialize)]
struct SearchNodesBody {
    index_name: String,
    property_filter: String,
    #[serde(default = "ten")]
    limit: usize,
}

fn ten() -> usize {
    10
}

/// Merges `properties` into the node's metadata, keeping its vector; creates a
/// zero-vector entity node when the id is new.
pub async fn set_node_properties(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: SetPropsBody = body(raw)?;
    let existing = state
        .engine
        .get_many(&b.index_name, vec![b.node_id.clone()])
        .await?
        .pop();
    let (vector, mut metadata) = match existing {
        Some(it) => (it.vector, it.metadata),
        None => (Vec::new(), Map::new()),
    };
    metadata.extend(b.properties);
    state
        .engine
        .add_batch(
            &b.index_name,
            vec![NewItem {
                id: b.node_id,
                vector,
                metadata,
            }],
        )
        .await?;
    Ok(Response::ok(json!({"status": "OK"})))
}

pub async fn get_node_properties(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: NodeBody = body(raw)?;
    match state
        .engine
        .get_many(&b.index_name, vec![b.node_id.clone()])
        .await?
        .pop()
    {
        Some(it) => Ok(Response::ok(
            json!({"node_id": b.node_id, "properties": it.metadata}),
        )),
        None => Err(ApiError::NotFound(format!(
            "node '{}' not found in index '{}'",
            b.node_id, b.index_name
        ))),
    }
}

pub async fn search_nodes(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: SearchNodesBody = body(raw)?;
    if b.limit > SEARCH_NODES_MAX {
        return Err(ApiError::BadRequest(format!(
            "limit must be at most {SEARCH_NODES_MAX}"
        )));
    }
    let items = state
        .engine
        .find_nodes(&b.index_name, &b.property_filter, b.limit)
        .await?;
    let nodes: Vec<Value> = items
        .into_iter()
        .map(|it| json!({"id": it.id, "metadata": it.metadata}))
        .collect();
    Ok(Response::ok(json!({ "nodes": nodes })))
}
