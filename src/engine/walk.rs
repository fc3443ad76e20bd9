//! Graph walks over every shard, one level at a time with one job per shard per
//! level: the subgraph around a node (BFS both ways), dot-path traversal
//! (`parent.child`) into a tree, a path between two nodes (bidirectional BFS) and
//! the set reachable from a root (the graph filter of searches). Every walk is
//! bounded by `crate::limits` (depth, nodes, paths).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use kektordb_shards::graph::Side;
use kektordb_shards::index::Item;
use kektordb_shards::ShardError;
use serde::Deserialize;

use super::error::{EngineError, Result};
use super::graph::Direction;
use super::Engine;
use crate::limits::{PATHS_MAX, PATH_DEPTH_MAX, SUBGRAPH_DEPTH_MAX, WALK_NODES_MAX};

/// `at_time` as the API takes it: 0 means now.
pub fn at_or_now(at_time: i64) -> i64 {
    if at_time == 0 {
        i64::MAX
    } else {
        at_time
    }
}

/// Extract-subgraph: the nodes within `max_depth` hops of `root_id` along
/// `relations` (all if empty), both directions, as the graph was at `at_time`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SubgraphRequest {
    /// Hydrates node metadata from this index (none if empty).
    #[serde(default)]
    pub index_name: String,
    pub root_id: String,
    #[serde(default)]
    pub relations: Vec<String>,
    /// Default 1, at most [`SUBGRAPH_DEPTH_MAX`].
    pub max_depth: Option<usize>,
    #[serde(default)]
    pub at_time: i64,
    /// Semantic-guided traversal: not built (refused with a clear error).
    pub guide_vector: Option<serde_json::Value>,
}

/// One edge of a subgraph; `dir` is the side it was found from.
#[derive(Clone, Debug, PartialEq)]
pub struct SubgraphEdge {
    pub source: String,
    pub target: String,
    pub relation: String,
    pub dir: Side,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subgraph {
    pub root_id: String,
    /// In discovery order (root first), with metadata when hydrated.
    pub nodes: Vec<(String, Option<Item>)>,
    pub edges: Vec<SubgraphEdge>,
}

/// A traversal tree: the node (hydrated when asked) and its children by relation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WalkTree {
    pub id: String,
    pub item: Option<Item>,
    pub connections: BTreeMap<String, Vec<WalkTree>>,
}

/// Find-path between two nodes along `relations` (all if empty).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PathRequest {
    pub source_id: String,
    pub target_id: String,
    #[serde(default)]
    pub relations: Vec<String>,
    /// Default 4, at most [`PATH_DEPTH_MAX`].
    pub max_depth: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathFound {
    pub found: bool,
    /// Node ids from source to target.
    pub path: Vec<String>,
    /// The relation of each hop.
    pub relations: Vec<String>,
}

/// A tree under construction: children by relation, in insertion order.
#[derive(Default)]
struct Tree {
    children: BTreeMap<String, Vec<(String, Tree)>>,
}

impl Engine {
    /// Items of `index` by id (none when `index` is empty: the graph is global).
    async fn hydrate(&self, index: &str, ids: Vec<String>) -> Result<HashMap<String, Item>> {
        if index.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .get_many(index, ids)
            .await?
            .into_iter()
            .map(|it| (it.id.clone(), it))
            .collect())
    }

    pub async fn subgraph(&self, req: &SubgraphRequest) -> Result<Subgraph> {
        if req.guide_vector.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(EngineError::NotAvailable {
                what: "guide_vector (semantic-guided traversal)",
            });
        }
        let depth = req.max_depth.unwrap_or(1).min(SUBGRAPH_DEPTH_MAX);
        let mut seen: HashSet<String> = HashSet::from([req.root_id.clone()]);
        let mut order = vec![req.root_id.clone()];
        let mut frontier = vec![req.root_id.clone()];
        let mut edges = Vec::new();
        let mut edge_seen: HashSet<(String, String, String)> = HashSet::new();
        for _ in 0..depth {
            if frontier.is_empty() || order.len() >= WALK_NODES_MAX {
                break;
            }
            let hop = self
                .neighbors(
                    std::mem::take(&mut frontier),
                    req.relations.clone(),
                    vec![Side::Out, Side::In],
                    at_or_now(req.at_time),
                )
                .await?;
            for (node, side, relation, e) in hop {
                let (source, target) = match side {
                    Side::Out => (node.clone(), e.other.clone()),
                    Side::In => (e.other.clone(), node.clone()),
                };
                if edge_seen.insert((source.clone(), target.clone(), relation.clone())) {
                    edges.push(SubgraphEdge {
                        source,
                        target,
                        relation,
                        dir: side,
                    });
                }
                if order.len() < WALK_NODES_MAX && seen.insert(e.other.clone()) {
                    order.push(e.other.clone());
                    frontier.push(e.other);
                }
            }
        }
        let mut items = self.hydrate(&req.index_name, order.clone()).await?;
        Ok(Subgraph {
            root_id: req.root_id.clone(),
            nodes: order
                .into_iter()
                .map(|id| {
                    let item = items.remove(&id);
                    (id, item)
                })
                .collect(),
            edges,
        })
    }

    /// Whether `id` is a node: an item of `index` (when given) or an end of any edge.
    pub async fn node_exists(&self, index: &str, id: &str) -> Result<bool> {
        if !index.is_empty() && !self.get_many(index, vec![id.to_owned()]).await?.is_empty() {
            return Ok(true);
        }
        for side in [Side::Out, Side::In] {
            if !self.edges(id, None, side, i64::MAX).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Traverse: follows dot-notation relation paths from `source` (which must be a
    /// node, see [`Engine::node_exists`]) and returns the tree, hydrated from `index`.
    pub async fn traverse(&self, index: &str, source: &str, paths: &[String]) -> Result<WalkTree> {
        if !self.node_exists(index, source).await? {
            return Err(ShardError::IdNotFound {
                index: index.to_owned(),
                id: source.to_owned(),
            }
            .into());
        }
        self.walk_paths(index, source, paths, true).await
    }

    /// Follows `paths` from `source` (see [`Engine::traverse`]), hydrated from
    /// `index` when `hydrate`.
    pub async fn walk_paths(
        &self,
        index: &str,
        source: &str,
        paths: &[String],
        hydrate: bool,
    ) -> Result<WalkTree> {
        if paths.len() > PATHS_MAX {
            return Err(ShardError::too_large("relation paths", paths.len(), PATHS_MAX).into());
        }
        let mut root = Tree::default();
        let mut all: HashSet<String> = HashSet::from([source.to_owned()]);
        for path in paths {
            let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
            if segments.len() > PATH_DEPTH_MAX {
                return Err(
                    ShardError::too_large("path segments", segments.len(), PATH_DEPTH_MAX).into(),
                );
            }
            // Level by level; `level` holds (node, route of indexes into the tree).
            let mut level: Vec<(String, Vec<(String, usize)>)> =
                vec![(source.to_owned(), Vec::new())];
            for seg in segments {
                let nodes: Vec<String> = level.iter().map(|(n, _)| n.clone()).collect();
                let hop = self
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
        let mut items = if hydrate {
            self.hydrate(index, all.into_iter().collect()).await?
        } else {
            HashMap::new()
        };
        Ok(build(source.to_owned(), root, &mut items))
    }

    /// Ids reachable from `root` within `max_depth` hops (at most
    /// [`PATH_DEPTH_MAX`]) along `relations` (all if empty), the root included.
    pub async fn reachable(
        &self,
        root: &str,
        relations: Vec<String>,
        max_depth: usize,
        direction: Direction,
    ) -> Result<Vec<String>> {
        let sides = direction.sides();
        let mut seen: HashSet<String> = HashSet::from([root.to_owned()]);
        let mut frontier = vec![root.to_owned()];
        for _ in 0..max_depth.min(PATH_DEPTH_MAX) {
            if frontier.is_empty() || seen.len() >= WALK_NODES_MAX {
                break;
            }
            let hop = self
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

    /// Bidirectional BFS: forward along outgoing edges from the source, backward
    /// along incoming edges from the target, expanding the smaller frontier.
    pub async fn find_path(&self, req: &PathRequest) -> Result<PathFound> {
        let depth = req.max_depth.unwrap_or(4).min(PATH_DEPTH_MAX);
        if req.source_id == req.target_id {
            return Ok(PathFound {
                found: true,
                path: vec![req.source_id.clone()],
                relations: Vec::new(),
            });
        }
        type Back = HashMap<String, Option<(String, String)>>;
        let mut fwd: Back = HashMap::from([(req.source_id.clone(), None)]);
        let mut bwd: Back = HashMap::from([(req.target_id.clone(), None)]);
        let (mut ff, mut bf) = (vec![req.source_id.clone()], vec![req.target_id.clone()]);
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
            let hop = self
                .neighbors(
                    std::mem::take(frontier),
                    req.relations.clone(),
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
            return Ok(PathFound {
                found: false,
                path: Vec::new(),
                relations: Vec::new(),
            });
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
        Ok(PathFound {
            found: true,
            path: path.into(),
            relations: rels.into(),
        })
    }
}

fn build(id: String, tree: Tree, items: &mut HashMap<String, Item>) -> WalkTree {
    let item = items.get(&id).cloned();
    WalkTree {
        id,
        item,
        connections: tree
            .children
            .into_iter()
            .map(|(rel, kids)| {
                let kids = kids.into_iter().map(|(k, t)| build(k, t, items)).collect();
                (rel, kids)
            })
            .collect(),
    }
}
