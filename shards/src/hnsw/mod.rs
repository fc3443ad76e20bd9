//! HNSW graph of one index part (Malkov & Yashunin), split by role:
//! - `links.rs`: adjacency storage (flat level-0 array, sparse upper levels),
//! - `visited.rs` and `candidate.rs`: search scratch,
//! - `search.rs`: greedy descent and the ef-bounded layer search (with an `accept`
//!   predicate so filters, deletes and entities are traversed but never returned),
//! - `insert.rs`: insertion with the paper's neighbour-selection heuristic,
//! - `batch.rs` and `chunk.rs`: batch insertion, its searches, neighbour choices and
//!   back-links computed in parallel on lent threads,
//! - `vacuum.rs`: removing soft-deleted nodes with a local repair of their neighbours.
//!
//! The graph does not own vectors: every call takes the [`VectorStore`] that does.
//! A graph is owned by one shard, which one thread drives: no locks anywhere.

mod batch;
mod candidate;
mod chunk;
mod insert;
pub(crate) mod links;
mod search;
mod vacuum;
mod visited;

pub use candidate::Candidate;

use crate::rng::SplitMix64;
use crate::vectors::{Query, VectorStore};
pub(crate) use links::Links;

/// Candidates rescored with full precision per requested result (int8).
pub const RESCORE_FACTOR: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Max links per node on levels above 0 (level 0 keeps `2 * m`).
    pub m: usize,
    pub ef_construction: usize,
    /// Seed of the level generator (reproducible graphs).
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            seed: 0x5eed_4b45_4b54_4f52,
        }
    }
}

pub struct Hnsw {
    params: HnswParams,
    links: Links,
    entry: Option<u32>,
    max_level: usize,
    rng: SplitMix64,
    level_mult: f64,
}

impl Hnsw {
    pub fn new(params: HnswParams) -> Hnsw {
        let m = params.m.max(2);
        Hnsw {
            params,
            links: Links::new(m, 2 * m),
            entry: None,
            max_level: 0,
            rng: SplitMix64(params.seed),
            level_mult: 1.0 / (m as f64).ln(),
        }
    }

    /// This graph with only the nodes in `kept` (ascending; dead nodes already
    /// vacuumed out), renumbered densely: frees the rows of deleted nodes.
    pub(crate) fn compacted(&self, kept: &[u32]) -> Hnsw {
        let mut remap = vec![u32::MAX; self.links.len()];
        for (new, &old) in kept.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let entry = self
            .entry
            .map(|e| remap[e as usize])
            .filter(|e| *e != u32::MAX);
        Hnsw {
            params: self.params,
            links: self.links.compacted(kept, &remap),
            entry,
            max_level: if entry.is_some() { self.max_level } else { 0 },
            rng: self.rng.clone(),
            level_mult: self.level_mult,
        }
    }

    /// The graph's state for a snapshot: (links, entry point, max level, level
    /// generator state).
    pub(crate) fn parts(&self) -> (&Links, Option<u32>, usize, u64) {
        (&self.links, self.entry, self.max_level, self.rng.0)
    }

    /// A graph from a snapshot's parts (`links` already checked by
    /// [`Links::from_parts`]).
    pub(crate) fn from_parts(
        params: HnswParams,
        links: Links,
        entry: Option<u32>,
        max_level: usize,
        rng: u64,
    ) -> Result<Hnsw, &'static str> {
        if let Some(e) = entry {
            if e as usize >= links.len() || links.level(e) != max_level {
                return Err("entry point out of bounds or not on the top level");
            }
        } else if links
            .raw()
            .0
            .chunks_exact(links.cap(0) + 1)
            .any(|l| l[0] > 0)
        {
            return Err("a graph with links has no entry point");
        }
        let m = params.m.max(2);
        if links.cap(0) != 2 * m || links.cap(1) != m {
            return Err("link caps do not match the index's m");
        }
        Ok(Hnsw {
            params,
            links,
            entry,
            max_level,
            rng: SplitMix64(rng),
            level_mult: 1.0 / (m as f64).ln(),
        })
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Number of node slots (linked or isolated).
    pub fn len(&self) -> usize {
        self.links.len()
    }
    pub fn is_empty(&self) -> bool {
        self.links.len() == 0
    }

    /// Adds a node that takes no part in the graph (a zero-vector entity): it gets a
    /// slot so node ids stay dense, but no links, so no search can reach it.
    pub fn push_isolated(&mut self, node: u32) {
        assert_eq!(node as usize, self.links.len());
        self.links.push_node(0);
    }

    /// Bytes held by the adjacency lists.
    pub fn memory_bytes(&self) -> usize {
        self.links.memory_bytes()
    }

    /// Neighbours of `node` on `level` (for tests and maintenance).
    pub fn neighbors(&self, node: u32, level: usize) -> &[u32] {
        self.links.neighbors(node, level)
    }

    /// k nearest accepted nodes to `q`, best first, searched with
    /// `ef = max(ef, k)`; `accept` None accepts every node. Rescored with full precision when the store keeps it.
    pub fn search(
        &self,
        store: &VectorStore,
        q: &Query,
        k: usize,
        ef: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<Candidate> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        if k == 0 {
            return Vec::new();
        }
        let ef = ef.max(k);
        let ep = self.descend(store, q, entry, 1);
        let mut found = self.search_layer(store, q, &[ep], ef, 0, accept);
        if store.rescores() {
            // Quantized order is close to exact: rescoring the best RESCORE_FACTOR * k
            // recovers full-precision recall without reading every candidate's
            // full-precision row.
            found.truncate((RESCORE_FACTOR * k).max(k));
            for c in &mut found {
                c.d = store.exact_distance(q, c.id);
            }
            found.sort_unstable();
        }
        found.truncate(k);
        found
    }
}
