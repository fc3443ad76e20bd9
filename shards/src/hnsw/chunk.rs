//! Linking one chunk of a batch ([`Hnsw::link_batch`]) with every costly phase on
//! lent threads. A list changes only through its own node's choice (first: a node
//! is chosen only by later nodes of its chunk) and then its back-links in chunk
//! order, so computing each choice and each rebuilt list independently gives the
//! graph that linking the chunk node by node gives, on any schedule. On one shard
//! with two threads this took the sequential share of a build from about a third
//! to the two short writes.

use std::sync::OnceLock;

use super::candidate::Candidate;
use super::Hnsw;
use crate::parallel::ParallelFor;
use crate::vectors::{Query, VectorStore};

impl Hnsw {
    /// Links the nodes of one chunk. Every phase but two short sequential writes runs
    /// on `par`: each node's search and its choice of neighbours among what it found
    /// plus the chunk's nodes before it (read-only: the heuristic reads only
    /// distances); its lists written in order; every list the chunk links back to,
    /// each rebuilt by one call from its additions in chunk order (read-only); those
    /// written.
    pub(super) fn link_chunk(
        &mut self,
        store: &VectorStore,
        guide: Option<&VectorStore>,
        part: &[u32],
        par: &dyn ParallelFor,
    ) {
        let chosen: Vec<OnceLock<Vec<Vec<Candidate>>>> =
            (0..part.len()).map(|_| OnceLock::new()).collect();
        {
            let graph = &*self;
            par.run(part.len(), &|i| {
                chosen[i].get_or_init(|| {
                    let found = match guide {
                        None => graph.candidates(store, part[i]),
                        Some(codes) => graph.guided_candidates(codes, store, part[i]),
                    };
                    graph.choose(store, part, i, found)
                });
            });
        }
        // Each node's own lists, and what links back to whom, in chunk order.
        let mut back: Vec<BackLink> = Vec::new();
        for (i, c) in chosen.into_iter().enumerate() {
            let node = part[i];
            let levels = c.into_inner().expect("every node's job ran");
            for (lc, picked) in levels.iter().enumerate().rev() {
                let ids: Vec<u32> = picked.iter().map(|c| c.id).collect();
                self.links.set_neighbors(node, lc, &ids);
                back.extend(picked.iter().map(|c| BackLink {
                    to: c.id,
                    level: lc as u8,
                    from: node,
                    d: c.d,
                }));
            }
            let level = self.links.level(node);
            if level > self.max_level {
                self.entry = Some(node);
                self.max_level = level;
            }
        }
        // Group by list, keeping chunk order inside each (a stable sort).
        back.sort_by_key(|b| (b.to, b.level));
        let groups: Vec<&[BackLink]> = back
            .chunk_by(|a, b| (a.to, a.level) == (b.to, b.level))
            .collect();
        let lists: Vec<OnceLock<Vec<u32>>> = (0..groups.len()).map(|_| OnceLock::new()).collect();
        {
            let graph = &*self;
            par.run(groups.len(), &|g| {
                lists[g].get_or_init(|| graph.linked_back(store, groups[g]));
            });
        }
        for (g, list) in groups.iter().zip(lists) {
            let list = list.into_inner().expect("every group ran");
            self.links
                .set_neighbors(g[0].to, g[0].level as usize, &list);
        }
    }

    /// What part[i] links to on each of its levels: the heuristic's pick among `prior`
    /// (what its search found, per level) and the chunk's nodes before it.
    fn choose(
        &self,
        store: &VectorStore,
        part: &[u32],
        i: usize,
        mut prior: Vec<Vec<Candidate>>,
    ) -> Vec<Vec<Candidate>> {
        let node = part[i];
        let level = self.links.level(node);
        prior.resize(level + 1, Vec::new());
        let mut scratch = Query::default();
        for (lc, cands) in prior.iter_mut().enumerate() {
            for &e in &part[..i] {
                if self.links.level(e) >= lc {
                    let d = store.node_distance(node, e, &mut scratch);
                    cands.push(Candidate { d, id: e });
                }
            }
            cands.sort_unstable();
            *cands = self.select(store, cands, self.params.m, &mut scratch);
        }
        prior
    }

    /// The list `adds[0].to` has on `adds[0].level` after `adds` link back to it in
    /// order, each as [`Hnsw::link_back`] would.
    fn linked_back(&self, store: &VectorStore, adds: &[BackLink]) -> Vec<u32> {
        let (to, level) = (adds[0].to, adds[0].level as usize);
        let cap = self.links.cap(level);
        let mut list = self.links.neighbors(to, level).to_vec();
        let mut scratch = Query::default();
        for a in adds {
            let added = Candidate { d: a.d, id: a.from };
            if list.len() < cap {
                list.push(a.from);
            } else {
                list = self.shrunk(store, to, &list, added, cap, &mut scratch);
            }
        }
        list
    }
}

/// `from` (just linked, at distance `d`) links back to `to`'s list on `level`.
struct BackLink {
    to: u32,
    level: u8,
    from: u32,
    d: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::HnswParams;
    use crate::metric::{Metric, Precision};
    use crate::parallel::Sequential;

    /// Jobs in reverse order, or odd ones first (as threads might run them; the
    /// data plane has no threads of its own, and `tests/recall.rs` links on two).
    struct Scrambled(bool);

    impl ParallelFor for Scrambled {
        fn threads(&self) -> usize {
            2
        }
        fn run(&self, jobs: usize, f: &(dyn Fn(usize) + Sync)) {
            if self.0 {
                return (0..jobs).rev().for_each(f);
            }
            (1..jobs).step_by(2).chain((0..jobs).step_by(2)).for_each(f);
        }
    }

    /// The chunk linked node by node, as batch linking did before its link phase ran
    /// in parallel: the reference.
    fn node_by_node(g: &mut Hnsw, store: &VectorStore, part: &[u32]) {
        let found: Vec<_> = part.iter().map(|&n| g.candidates(store, n)).collect();
        let mut scratch = Query::default();
        for (i, (&node, mut prior)) in part.iter().zip(found).enumerate() {
            let level = g.links.level(node);
            prior.resize(level + 1, Vec::new());
            for lc in (0..=level).rev() {
                let mut cands = std::mem::take(&mut prior[lc]);
                for &e in &part[..i] {
                    if g.links.level(e) >= lc {
                        let d = store.node_distance(node, e, &mut scratch);
                        cands.push(Candidate { d, id: e });
                    }
                }
                cands.sort_unstable();
                g.connect(store, node, lc, &cands, &mut scratch);
            }
            if level > g.max_level {
                g.entry = Some(node);
                g.max_level = level;
            }
        }
    }

    fn lists(g: &Hnsw) -> Vec<Vec<Vec<u32>>> {
        (0..g.links.len() as u32)
            .map(|n| {
                (0..=g.links.level(n))
                    .map(|l| g.links.neighbors(n, l).to_vec())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn builds_the_graph_node_by_node_linking_builds_on_any_schedule() {
        let mut rng = crate::rng::SplitMix64(3);
        let (dim, old, new) = (8, 600, 300);
        for precision in [Precision::Float32, Precision::Int8] {
            let mut store = VectorStore::new(dim, Metric::Euclidean, precision);
            // Small m: most back-links land on full lists and shrink them.
            let mut g = Hnsw::new(HnswParams {
                m: 4,
                ef_construction: 24,
                ..HnswParams::default()
            });
            for n in 0..old + new {
                let v: Vec<f32> = (0..dim).map(|_| rng.unit() as f32).collect();
                store.push(&v);
                if n < old {
                    g.insert(&store, n as u32);
                } else {
                    g.push_unlinked(n as u32);
                }
            }
            let part: Vec<u32> = (old as u32..(old + new) as u32).collect();
            let all: Vec<u32> = (0..(old + new) as u32).collect();
            let mut want = g.compacted(&all);
            node_by_node(&mut want, &store, &part);
            assert!(want.max_level > 0, "upper levels are exercised");
            for par in [
                &Sequential as &dyn ParallelFor,
                &Scrambled(true),
                &Scrambled(false),
            ] {
                let mut got = g.compacted(&all);
                got.link_chunk(&store, None, &part, par);
                assert_eq!(lists(&got), lists(&want), "{precision:?}");
                assert_eq!((got.entry, got.max_level), (want.entry, want.max_level));
            }
        }
    }
}
