//! The property graph across shards: link and unlink (the outgoing side on the
//! source's shard, the reverse index on the target's), edges and one-hop
//! neighbours (time travel by `at`), and nodes by metadata filter.

use std::sync::Arc;

use kektordb_shards::graph::{check_props, check_relation, Edge, Side};
use kektordb_shards::index::Item;
use kektordb_shards::op::Op;
use kektordb_shards::{Shard, ShardError};

use super::error::Result;
use super::{now_nanos, Engine};

/// Which edges a walk follows: outgoing, incoming or both (`""` means out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Direction {
    #[default]
    Out,
    In,
    Both,
}

impl TryFrom<String> for Direction {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Direction, String> {
        match s.as_str() {
            "" | "out" => Ok(Direction::Out),
            "in" => Ok(Direction::In),
            "both" => Ok(Direction::Both),
            other => Err(format!("direction must be out, in or both, got '{other}'")),
        }
    }
}

impl Direction {
    pub fn sides(self) -> Vec<Side> {
        match self {
            Direction::Out => vec![Side::Out],
            Direction::In => vec![Side::In],
            Direction::Both => vec![Side::Out, Side::In],
        }
    }

    /// The one side a lookup reads (get-edges): out or in.
    pub fn one_side(self) -> std::result::Result<Side, ShardError> {
        match self {
            Direction::Out => Ok(Side::Out),
            Direction::In => Ok(Side::In),
            Direction::Both => Err(ShardError::invalid("direction", "must be out or in here")),
        }
    }
}

/// One link request.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub source: String,
    pub target: String,
    pub relation: String,
    /// Also link `target -[inverse]-> source`.
    pub inverse: Option<String>,
    pub weight: f32,
    pub props: serde_json::Map<String, serde_json::Value>,
}

impl Engine {
    /// Unlinks an edge (see [`Engine::unlink`]), or `EdgeNotFound` if the outgoing
    /// side had none.
    pub async fn unlink_existing(
        &self,
        source: &str,
        target: &str,
        relation: &str,
        hard: bool,
    ) -> Result<()> {
        if self.unlink(source, target, relation, hard).await? {
            Ok(())
        } else {
            Err(ShardError::EdgeNotFound {
                source_id: source.to_owned(),
                relation: relation.to_owned(),
                target: target.to_owned(),
            }
            .into())
        }
    }

    /// The other ends of `node`'s live `relation` edges on `side`, sorted.
    pub async fn related(&self, node: &str, relation: &str, side: Side) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self
            .edges(node, Some(relation), side, i64::MAX)
            .await?
            .into_iter()
            .map(|(_, e)| e.other)
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every live relation of `node` on `side` with the other ends, sorted.
    pub async fn relations(
        &self,
        node: &str,
        side: Side,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let mut rels: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (relation, e) in self.edges(node, None, side, i64::MAX).await? {
            rels.entry(relation).or_default().push(e.other);
        }
        for v in rels.values_mut() {
            v.sort();
        }
        Ok(rels)
    }

    /// Merges `properties` into the node's metadata, keeping its vector; creates a
    /// zero-vector entity node when the id is new (upstream's set-node-properties).
    pub async fn set_node_properties(
        &self,
        index: &str,
        node: &str,
        properties: serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        let existing = self.get_many(index, vec![node.to_owned()]).await?.pop();
        let (vector, mut metadata) = match existing {
            Some(it) => (it.vector, it.metadata),
            None => (Vec::new(), serde_json::Map::new()),
        };
        metadata.extend(properties);
        let item = kektordb_shards::router::NewItem {
            id: node.to_owned(),
            vector,
            metadata,
        };
        self.add_batch(index, vec![item]).await?;
        Ok(())
    }

    /// A node's metadata.
    pub async fn node_properties(
        &self,
        index: &str,
        node: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        match self.get_many(index, vec![node.to_owned()]).await?.pop() {
            Some(it) => Ok(it.metadata),
            None => Err(ShardError::IdNotFound {
                index: index.to_owned(),
                id: node.to_owned(),
            }
            .into()),
        }
    }

    /// Search-nodes: items matching a metadata filter, at most `limit`
    /// (<= [`crate::limits::SEARCH_NODES_MAX`]), by id.
    pub async fn search_nodes(&self, index: &str, filter: &str, limit: usize) -> Result<Vec<Item>> {
        let max = crate::limits::SEARCH_NODES_MAX;
        if limit > max {
            return Err(ShardError::too_large("limit", limit, max).into());
        }
        self.find_nodes(index, filter, limit).await
    }

    /// Links `source -[relation]-> target` (and `target -[inverse]-> source`): the
    /// outgoing side goes to the source's shard, the incoming side (reverse index) to
    /// the target's; acknowledged once every side is durable. Returns the timestamp.
    pub async fn link(&self, link: Link) -> Result<i64> {
        kektordb_shards::index::check_id(&link.source)?;
        kektordb_shards::index::check_id(&link.target)?;
        check_relation(&link.relation)?;
        check_props(&link.props)?;
        if let Some(inv) = &link.inverse {
            check_relation(inv)?;
        }
        if !link.weight.is_finite() {
            return Err(ShardError::invalid("weight", "must be a finite number").into());
        }
        let at = now_nanos();
        let mut ops = vec![
            (&link.source, Side::Out, &link.relation, &link.target),
            (&link.target, Side::In, &link.relation, &link.source),
        ];
        if let Some(inv) = &link.inverse {
            ops.push((&link.target, Side::Out, inv, &link.source));
            ops.push((&link.source, Side::In, inv, &link.target));
        }
        let ops: Vec<(usize, Op)> = ops
            .into_iter()
            .map(|(node, side, relation, other)| {
                (
                    self.shard_of(node),
                    Op::GraphLink {
                        side,
                        node: node.clone(),
                        relation: relation.clone(),
                        other: other.clone(),
                        weight: link.weight,
                        at,
                        props: link.props.clone(),
                    },
                )
            })
            .collect();
        self.apply_grouped(ops).await?;
        Ok(at)
    }

    /// Soft-deletes (or with `hard`, removes) `source -[relation]-> target` on both
    /// sides. Returns whether the outgoing side had it.
    pub async fn unlink(
        &self,
        source: &str,
        target: &str,
        relation: &str,
        hard: bool,
    ) -> Result<bool> {
        check_relation(relation)?;
        let at = now_nanos();
        let out_shard = self.shard_of(source);
        let existed = self
            .ask(out_shard, {
                let (s, r, t) = (source.to_owned(), relation.to_owned(), target.to_owned());
                move |sh: &Shard| sh.graph().has_edge(Side::Out, &s, &r, &t, hard)
            })
            .await?;
        let op = |node: &str, side, other: &str| Op::GraphUnlink {
            side,
            node: node.to_owned(),
            relation: relation.to_owned(),
            other: other.to_owned(),
            at,
            hard,
        };
        self.apply_grouped(vec![
            (out_shard, op(source, Side::Out, target)),
            (self.shard_of(target), op(target, Side::In, source)),
        ])
        .await?;
        Ok(existed)
    }

    /// Edges of `node` alive at `at` (unix ns; `i64::MAX` = now): outgoing (`Side::Out`)
    /// or incoming (`Side::In`), for one relation or all: (relation, edge).
    pub async fn edges(
        &self,
        node: &str,
        relation: Option<&str>,
        side: Side,
        at: i64,
    ) -> Result<Vec<(String, Edge)>> {
        let (n, r) = (node.to_owned(), relation.map(str::to_owned));
        self.ask(self.shard_of(node), move |sh| {
            sh.graph().edges(side, &n, r.as_deref(), at)
        })
        .await
    }

    /// One hop from many nodes at once (one job per shard): every edge of each node on
    /// each of `sides`, alive at `at`, whose relation is in `relations` (all if empty).
    pub async fn neighbors(
        &self,
        nodes: Vec<String>,
        relations: Vec<String>,
        sides: Vec<Side>,
        at: i64,
    ) -> Result<Vec<(String, Side, String, Edge)>> {
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for node in nodes {
            by_shard[self.shard_of(&node)].push(node);
        }
        let relations = Arc::new(relations);
        let sides = Arc::new(sides);
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ns)| !ns.is_empty())
            .map(|(s, ns)| {
                let (relations, sides) = (relations.clone(), sides.clone());
                self.ask(s, move |sh| {
                    let mut out = Vec::new();
                    for node in &ns {
                        for side in sides.iter() {
                            for (rel, e) in sh.graph().edges(*side, node, None, at) {
                                if relations.is_empty() || relations.contains(&rel) {
                                    out.push((node.clone(), *side, rel, e));
                                }
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        let mut out = Vec::new();
        for p in pending {
            out.extend(p.await?);
        }
        Ok(out)
    }

    /// Items of `index` (entities included) matching a metadata filter, at most
    /// `limit`, ordered by id.
    pub async fn find_nodes(&self, index: &str, filter: &str, limit: usize) -> Result<Vec<Item>> {
        self.catalog().get(index)?;
        let expr = Arc::new(kektordb_shards::filter::parse(filter).map_err(ShardError::from)?);
        let owned = index.to_owned();
        let parts = self
            .ask_all(move |s| s.index(&owned).map(|ix| ix.find(&expr, limit)))
            .await?;
        let mut items = Vec::new();
        for p in parts {
            items.extend(p?);
        }
        items.sort_by(|a, b| a.id.cmp(&b.id));
        items.truncate(limit);
        Ok(items)
    }
}
