//! Vacuum: removes soft-deleted nodes from the graph. Every live node that links to a
//! dead one gets its list rebuilt with the neighbour-selection heuristic over its live
//! neighbours plus the live neighbours of the dead ones (a local repair that keeps the
//! paths the dead node bridged); dead nodes are then unlinked and the entry point is
//! re-elected among live nodes. The index then frees their rows (renumbering). The
//! steps are public so a vacuum can run in small batches between queries.

use std::collections::HashSet;

use super::candidate::Candidate;
use super::Hnsw;
use crate::vectors::{Query, VectorStore};

impl Hnsw {
    /// Repairs the graph around nodes for which `dead` is true; returns how many
    /// neighbour lists were rebuilt. In one go: [`Hnsw::vacuum_plan`], a rebuild of
    /// every planned list, then [`Hnsw::vacuum_finish`].
    pub fn vacuum(&mut self, store: &VectorStore, dead: &dyn Fn(u32) -> bool) -> usize {
        let plan = self.vacuum_plan(dead);
        let mut scratch = Query::default();
        for &(level, node) in &plan {
            self.vacuum_rebuild(store, node, level as usize, dead, &mut scratch);
        }
        self.vacuum_finish(dead);
        plan.len()
    }

    /// The lists a vacuum rebuilds, as (level, node): on every level, live nodes that
    /// link to a dead node, and live nodes a dead node linked to (they may lose their
    /// only way in).
    pub fn vacuum_plan(&self, dead: &dyn Fn(u32) -> bool) -> Vec<(u8, u32)> {
        let n = self.links.len() as u32;
        let mut plan = Vec::new();
        for level in 0..=self.max_level {
            let mut affected: Vec<u32> = Vec::new();
            let mut mark: HashSet<u32> = HashSet::new();
            for node in 0..n {
                if self.links.level(node) < level {
                    continue;
                }
                if dead(node) {
                    for &x in self.links.neighbors(node, level) {
                        if !dead(x) && mark.insert(x) {
                            affected.push(x);
                        }
                    }
                } else if self.links.neighbors(node, level).iter().any(|&x| dead(x))
                    && mark.insert(node)
                {
                    affected.push(node);
                }
            }
            affected.sort_unstable();
            plan.extend(affected.into_iter().map(|x| (level as u8, x)));
        }
        plan
    }

    /// Rebuilds one planned list (skipped if `node` died since the plan).
    pub fn vacuum_rebuild(
        &mut self,
        store: &VectorStore,
        node: u32,
        level: usize,
        dead: &dyn Fn(u32) -> bool,
        scratch: &mut Query,
    ) {
        if dead(node) || node as usize >= self.links.len() || self.links.level(node) < level {
            return;
        }
        self.rebuild(
            store,
            node,
            level,
            self.params.ef_construction,
            dead,
            scratch,
        );
    }

    /// Unlinks the dead nodes and re-elects the entry point among live ones.
    pub fn vacuum_finish(&mut self, dead: &dyn Fn(u32) -> bool) {
        let n = self.links.len() as u32;
        for node in (0..n).filter(|&x| dead(x)) {
            for level in 0..=self.links.level(node) {
                self.links.set_neighbors(node, level, &[]);
            }
        }
        if self.entry.is_some_and(dead) {
            let best = (0..n)
                .filter(|&x| !dead(x) && !self.links.neighbors(x, 0).is_empty())
                .max_by_key(|&x| (self.links.level(x), std::cmp::Reverse(x)));
            self.entry = best;
            self.max_level = best.map_or(0, |b| self.links.level(b));
        }
    }

    /// Rebuilds `node`'s list on `level`: candidates are its live neighbours, the live
    /// neighbours of its dead ones and a local search with `ef`; the heuristic picks
    /// the list, and the chosen neighbours link back (as on insertion).
    pub(super) fn rebuild(
        &mut self,
        store: &VectorStore,
        node: u32,
        level: usize,
        ef: usize,
        dead: &dyn Fn(u32) -> bool,
        scratch: &mut Query,
    ) {
        let list = self.links.neighbors(node, level).to_vec();
        let mut seen: HashSet<u32> = HashSet::from([node]);
        let mut cands: Vec<Candidate> = Vec::new();
        let mut consider = |x: u32, cands: &mut Vec<Candidate>, scratch: &mut Query| {
            if !dead(x) && seen.insert(x) {
                cands.push(Candidate {
                    d: store.node_distance(node, x, scratch),
                    id: x,
                });
            }
        };
        for &x in &list {
            if dead(x) {
                for &y in self.links.neighbors(x, level) {
                    consider(y, &mut cands, scratch);
                }
            } else {
                consider(x, &mut cands, scratch);
            }
        }
        store.load_query(node, scratch);
        let q = scratch.clone();
        let entry = Candidate { d: 0.0, id: node };
        for c in self.search_layer(store, &q, &[entry], ef, level, Some(&|x| !dead(x))) {
            consider(c.id, &mut cands, scratch);
        }
        cands.sort_unstable();
        // As on insertion, the heuristic picks from the best `ef` candidates: the
        // dead neighbours' lists can bring hundreds, and selecting costs a distance
        // per (candidate, kept) pair.
        cands.truncate(ef.max(self.links.cap(level)));
        let kept = self.select(store, &cands, self.links.cap(level), scratch);
        let ids: Vec<u32> = kept.iter().map(|c| c.id).collect();
        self.links.set_neighbors(node, level, &ids);
        for c in &kept {
            if !self.links.neighbors(c.id, level).contains(&node) {
                self.link_back(store, c.id, node, c.d, level, scratch);
            }
        }
    }

    /// Refine: re-evaluates the neighbours of nodes `from..from + count` (skipping
    /// dead ones) with a search of breadth `ef`, on every level they are on. Returns
    /// the nodes processed.
    pub fn refine(
        &mut self,
        store: &VectorStore,
        from: u32,
        count: u32,
        ef: usize,
        dead: &dyn Fn(u32) -> bool,
    ) -> u32 {
        let n = self.links.len() as u32;
        let end = from.saturating_add(count).min(n);
        let mut scratch = Query::default();
        let mut done = 0;
        for node in from..end {
            if dead(node) || self.links.neighbors(node, 0).is_empty() && self.entry != Some(node) {
                continue;
            }
            for level in 0..=self.links.level(node) {
                self.rebuild(store, node, level, ef.max(1), dead, &mut scratch);
            }
            done += 1;
        }
        done
    }
}
