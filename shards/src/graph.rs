//! The property graph of one shard: edges between any two item ids (of any index),
//! with relation, weight, properties and history. A shard keeps the outgoing edges of
//! the ids it owns and the incoming edges (the reverse index) of the ids it owns, so
//! "who points to me" is one lookup on the target's shard. Soft deletes stamp a
//! deletion time and keep the edge: reading "as of" a time shows the graph as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::error::{Result, ShardError};

pub use crate::limits::{
    EDGE_PROPS_BYTES_MAX, EDGE_PROPS_MAX, EDGE_VERSIONS_MAX, PROP_NAME_BYTES_MAX,
    RELATION_BYTES_MAX,
};

/// Which end of an edge a shard stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Stored under the source (outgoing).
    Out,
    /// Stored under the target (incoming, the reverse index).
    In,
}

/// One version of an edge as seen from the node it is stored under.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// The other end (target for outgoing, source for incoming).
    pub other: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub deleted: Option<i64>,
    pub weight: f32,
    pub props: Map<String, Value>,
}

impl Edge {
    /// Whether this version existed at `at` (unix nanoseconds).
    pub fn alive_at(&self, at: i64) -> bool {
        self.created <= at && self.deleted.is_none_or(|d| d > at)
    }
}

/// node -> relation -> versions of edges
type Adjacency = HashMap<String, BTreeMap<String, Vec<Edge>>>;

#[derive(Default)]
pub struct Graph {
    out: Adjacency,
    inc: Adjacency,
    /// Deleted ids of this shard whose live edges await self-repair (durable: set by
    /// the logged delete, cleared by a logged `RepairDone`).
    repairs: BTreeSet<String>,
}

pub fn check_relation(relation: &str) -> Result<()> {
    if relation.is_empty() {
        return Err(ShardError::invalid("relation_type", "must not be empty"));
    }
    if relation.len() > RELATION_BYTES_MAX {
        return Err(ShardError::too_large(
            "relation_type bytes",
            relation.len(),
            RELATION_BYTES_MAX,
        ));
    }
    Ok(())
}

pub fn check_props(props: &Map<String, Value>) -> Result<()> {
    if props.len() > EDGE_PROPS_MAX {
        return Err(ShardError::too_large(
            "edge props",
            props.len(),
            EDGE_PROPS_MAX,
        ));
    }
    let bytes = crate::metadata::json_len(props);
    if bytes > EDGE_PROPS_BYTES_MAX {
        return Err(ShardError::too_large(
            "edge props bytes",
            bytes,
            EDGE_PROPS_BYTES_MAX,
        ));
    }
    if let Some(k) = props
        .keys()
        .find(|k| k.is_empty() || k.len() > PROP_NAME_BYTES_MAX || k.chars().any(char::is_control))
    {
        return Err(ShardError::invalid(
            "props",
            format!("bad property name {k:?}"),
        ));
    }
    Ok(())
}

impl Graph {
    fn side(&mut self, side: Side) -> &mut Adjacency {
        match side {
            Side::Out => &mut self.out,
            Side::In => &mut self.inc,
        }
    }
    fn side_ref(&self, side: Side) -> &Adjacency {
        match side {
            Side::Out => &self.out,
            Side::In => &self.inc,
        }
    }

    /// Adds (or refreshes) `edge` under `node -[relation]-` on `side`. An edge to the
    /// same other end that is alive gets the new weight and props (keeping its
    /// creation time); otherwise `edge` starts a new version.
    pub fn link(&mut self, side: Side, node: &str, relation: &str, edge: Edge) {
        let versions = self
            .side(side)
            .entry(node.to_owned())
            .or_default()
            .entry(relation.to_owned())
            .or_default();
        if let Some(live) = versions
            .iter_mut()
            .find(|e| e.other == edge.other && e.deleted.is_none())
        {
            live.weight = edge.weight;
            live.props = edge.props;
            return;
        }
        if versions.iter().filter(|e| e.other == edge.other).count() >= EDGE_VERSIONS_MAX {
            if let Some(oldest) = versions.iter().position(|e| e.other == edge.other) {
                versions.remove(oldest);
            }
        }
        versions.push(Edge {
            deleted: None,
            ..edge
        });
    }

    /// Soft-deletes (stamps `at`) or, with `hard`, removes every version of the edge.
    /// Returns whether a live edge (soft) or any version (hard) was found.
    pub fn unlink(
        &mut self,
        side: Side,
        node: &str,
        relation: &str,
        other: &str,
        at: i64,
        hard: bool,
    ) -> bool {
        let adj = self.side(side);
        let Some(rels) = adj.get_mut(node) else {
            return false;
        };
        let Some(versions) = rels.get_mut(relation) else {
            return false;
        };
        let found = if hard {
            let before = versions.len();
            versions.retain(|e| e.other != other);
            versions.len() != before
        } else {
            match versions
                .iter_mut()
                .find(|e| e.other == other && e.deleted.is_none())
            {
                Some(e) => {
                    e.deleted = Some(at.max(e.created));
                    true
                }
                None => false,
            }
        };
        if versions.is_empty() {
            rels.remove(relation);
        }
        if rels.is_empty() {
            adj.remove(node);
        }
        found
    }

    /// Whether `node -[relation]- other` is stored on `side`: a live version, or with
    /// `any_version` also a soft-deleted one.
    pub fn has_edge(
        &self,
        side: Side,
        node: &str,
        relation: &str,
        other: &str,
        any_version: bool,
    ) -> bool {
        self.side_ref(side)
            .get(node)
            .and_then(|rels| rels.get(relation))
            .is_some_and(|vs| {
                vs.iter()
                    .any(|e| e.other == other && (any_version || e.deleted.is_none()))
            })
    }

    /// Edges of `node` on `side` alive at `at`, for one relation or all.
    pub fn edges(
        &self,
        side: Side,
        node: &str,
        relation: Option<&str>,
        at: i64,
    ) -> Vec<(String, Edge)> {
        let Some(rels) = self.side_ref(side).get(node) else {
            return Vec::new();
        };
        rels.iter()
            .filter(|(r, _)| relation.is_none_or(|want| want == r.as_str()))
            .flat_map(|(r, vs)| {
                vs.iter()
                    .filter(|e| e.alive_at(at))
                    .map(move |e| (r.clone(), e.clone()))
            })
            .collect()
    }

    /// Whether `node` has a live edge on either side.
    pub fn has_live_edges(&self, node: &str) -> bool {
        [&self.out, &self.inc].into_iter().any(|adj| {
            adj.get(node).is_some_and(|rels| {
                rels.values()
                    .any(|vs| vs.iter().any(|e| e.deleted.is_none()))
            })
        })
    }

    /// Queues `node` for self-repair.
    pub fn mark_repair(&mut self, node: &str) {
        self.repairs.insert(node.to_owned());
    }

    /// Up to `max` ids awaiting self-repair, in id order.
    pub fn pending_repairs(&self, max: usize) -> Vec<String> {
        self.repairs.iter().take(max).cloned().collect()
    }

    /// Marks ids as repaired.
    pub fn repair_done(&mut self, ids: &[String]) {
        for id in ids {
            self.repairs.remove(id);
        }
    }

    /// Edge versions (both sides) soft-deleted before `before`.
    pub fn deleted_before(&self, before: i64) -> usize {
        [Side::Out, Side::In]
            .into_iter()
            .flat_map(|side| self.all_versions(side))
            .filter(|(_, _, e)| e.deleted.is_some_and(|d| d < before))
            .count()
    }

    /// Graph vacuum: removes every edge version soft-deleted before `before` (unix
    /// ns), on both sides; returns how many. Time travel to before `before` no
    /// longer shows them.
    pub fn vacuum(&mut self, before: i64) -> usize {
        let mut removed = 0;
        for adj in [&mut self.out, &mut self.inc] {
            adj.retain(|_, rels| {
                rels.retain(|_, versions| {
                    let n = versions.len();
                    versions.retain(|e| e.deleted.is_none_or(|d| d >= before));
                    removed += n - versions.len();
                    !versions.is_empty()
                });
                !rels.is_empty()
            });
        }
        removed
    }

    /// Every version on `side` (for snapshots): (node, relation, edge).
    pub fn all_versions(&self, side: Side) -> impl Iterator<Item = (&str, &str, &Edge)> {
        self.side_ref(side).iter().flat_map(|(n, rels)| {
            rels.iter()
                .flat_map(move |(r, vs)| vs.iter().map(move |e| (n.as_str(), r.as_str(), e)))
        })
    }

    /// Edge versions stored (both sides).
    pub fn len(&self) -> usize {
        self.all_versions(Side::Out).count() + self.all_versions(Side::In).count()
    }
    pub fn is_empty(&self) -> bool {
        self.out.is_empty() && self.inc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    //! Time travel, refresh, soft and hard deletes, per side.
    use super::*;

    fn e(other: &str, weight: f32, created: i64) -> Edge {
        Edge {
            other: other.into(),
            created,
            deleted: None,
            weight,
            props: Map::new(),
        }
    }

    #[test]
    fn time_travel() {
        let mut g = Graph::default();
        g.link(Side::Out, "a", "next", e("b", 1.0, 10));
        g.link(Side::Out, "a", "next", e("c", 0.5, 20));
        assert!(g.unlink(Side::Out, "a", "next", "b", 30, false));
        assert!(
            !g.unlink(Side::Out, "a", "next", "b", 31, false),
            "already deleted"
        );
        g.link(Side::Out, "a", "next", e("b", 2.0, 40));
        fn at(g: &Graph, t: i64) -> Vec<String> {
            let mut v: Vec<String> = g
                .edges(Side::Out, "a", Some("next"), t)
                .into_iter()
                .map(|(_, e)| e.other)
                .collect();
            v.sort();
            v
        }
        assert_eq!(at(&g, 5), Vec::<String>::new());
        assert_eq!(at(&g, 15), ["b"]);
        assert_eq!(at(&g, 25), ["b", "c"]);
        assert_eq!(at(&g, 35), ["c"]);
        assert_eq!(at(&g, 45), ["b", "c"]);
        let now = g.edges(Side::Out, "a", None, i64::MAX);
        assert_eq!(
            now.iter().find(|(_, e)| e.other == "b").unwrap().1.weight,
            2.0
        );
        // Refreshing a live edge keeps its creation time.
        g.link(Side::Out, "a", "next", e("c", 9.0, 50));
        let c = g
            .edges(Side::Out, "a", None, i64::MAX)
            .into_iter()
            .find(|(_, e)| e.other == "c")
            .unwrap()
            .1;
        assert_eq!((c.created, c.weight), (20, 9.0));
        assert!(g.unlink(Side::Out, "a", "next", "b", 60, true));
        assert_eq!(
            at(&g, 15),
            Vec::<String>::new(),
            "hard delete removes the history too"
        );
        assert!(
            g.edges(Side::In, "a", None, i64::MAX).is_empty(),
            "sides are separate"
        );
    }

    #[test]
    fn limits() {
        assert!(check_relation("").is_err());
        assert!(check_relation(&"r".repeat(300)).is_err());
        let mut props = Map::new();
        for i in 0..65 {
            props.insert(format!("k{i}"), Value::Null);
        }
        assert!(check_props(&props).is_err());
    }

    #[test]
    fn vacuum_removes_versions_deleted_before_the_cutoff_only() {
        let mut g = Graph::default();
        for (other, created) in [("b", 10), ("c", 20), ("d", 30)] {
            g.link(Side::Out, "a", "r", e(other, 1.0, created));
        }
        assert!(g.unlink(Side::Out, "a", "r", "b", 15, false));
        assert!(g.unlink(Side::Out, "a", "r", "c", 40, false));
        assert_eq!(g.vacuum(40), 1, "only b was deleted before 40");
        let all: Vec<&str> = g
            .all_versions(Side::Out)
            .map(|(_, _, e)| e.other.as_str())
            .collect();
        assert_eq!(all, ["c", "d"]);
        assert_eq!(g.vacuum(i64::MAX), 1);
        assert_eq!(g.edges(Side::Out, "a", None, 50).len(), 1, "live d stays");
        assert!(g.unlink(Side::Out, "a", "r", "d", 60, false));
        assert_eq!(g.vacuum(i64::MAX), 1);
        assert!(g.is_empty());
    }
}
