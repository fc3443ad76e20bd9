//! Insertion: draw a level, descend greedily, search each level with
//! `ef_construction`, pick neighbours with the paper's heuristic (Algorithm 4, no
//! extension, no kept pruned links, as hnswlib) and link both ways, shrinking full
//! lists with the same heuristic.

use super::candidate::Candidate;
use super::Hnsw;
use crate::limits::HNSW_LEVEL_MAX;
use crate::vectors::{Query, VectorStore};

impl Hnsw {
    pub(super) fn draw_level(&mut self) -> usize {
        let u = self.rng.unit();
        ((-u.ln() * self.level_mult) as usize).min(HNSW_LEVEL_MAX - 1)
    }

    /// Links `node` (already pushed to `store`) into the graph.
    pub fn insert(&mut self, store: &VectorStore, node: u32) {
        self.push_unlinked(node);
        self.link(store, node);
    }

    /// Links `node`, whose slot exists and has no links yet. Searching every level
    /// first and then connecting gives the same graph as interleaving the two: a
    /// level's connections change only that level's lists.
    pub(super) fn link(&mut self, store: &VectorStore, node: u32) {
        let level = self.links.level(node);
        if self.entry.is_none() {
            self.entry = Some(node);
            self.max_level = level;
            return;
        }
        let found = self.candidates(store, node);
        let mut scratch = Query::default();
        for lc in (0..=level.min(self.max_level)).rev() {
            self.connect(store, node, lc, &found[lc], &mut scratch);
        }
        if level > self.max_level {
            self.entry = Some(node);
            self.max_level = level;
        }
    }

    /// Gives `node` its neighbours on `level` from `sorted` candidates (heuristic, at
    /// most m) and links each of them back.
    pub(super) fn connect(
        &mut self,
        store: &VectorStore,
        node: u32,
        level: usize,
        sorted: &[Candidate],
        scratch: &mut Query,
    ) {
        let chosen = self.select(store, sorted, self.params.m, scratch);
        let ids: Vec<u32> = chosen.iter().map(|c| c.id).collect();
        self.links.set_neighbors(node, level, &ids);
        for c in &chosen {
            self.link_back(store, c.id, node, c.d, level, scratch);
        }
    }

    /// Adds `node` to `to`'s list on `level`, shrinking it with the heuristic when full.
    pub(super) fn link_back(
        &mut self,
        store: &VectorStore,
        to: u32,
        node: u32,
        d: f32,
        level: usize,
        scratch: &mut Query,
    ) {
        if self.links.try_push(to, level, node) {
            return;
        }
        let cap = self.links.cap(level);
        let full = self.links.neighbors(to, level);
        let ids = self.shrunk(store, to, full, Candidate { d, id: node }, cap, scratch);
        self.links.set_neighbors(to, level, &ids);
    }

    /// `to`'s full list `list` plus `added`, cut back to `cap` with the heuristic.
    pub(super) fn shrunk(
        &self,
        store: &VectorStore,
        to: u32,
        list: &[u32],
        added: Candidate,
        cap: usize,
        scratch: &mut Query,
    ) -> Vec<u32> {
        let mut cands: Vec<Candidate> = list
            .iter()
            .map(|&n| Candidate {
                d: store.node_distance(to, n, scratch),
                id: n,
            })
            .collect();
        cands.push(added);
        cands.sort_unstable();
        let kept = self.select(store, &cands, cap, scratch);
        kept.iter().map(|c| c.id).collect()
    }

    /// The neighbour-selection heuristic over `sorted` (ascending distance to the
    /// base node): keep a candidate only if it is closer to the base than to every
    /// candidate kept so far, up to `m`.
    pub(super) fn select(
        &self,
        store: &VectorStore,
        sorted: &[Candidate],
        m: usize,
        scratch: &mut Query,
    ) -> Vec<Candidate> {
        if sorted.len() <= m {
            return sorted.to_vec();
        }
        let mut kept: Vec<Candidate> = Vec::with_capacity(m);
        for c in sorted {
            if kept.len() >= m {
                break;
            }
            if kept
                .iter()
                .all(|k| store.node_distance(c.id, k.id, scratch) >= c.d)
            {
                kept.push(*c);
            }
        }
        kept
    }
}
