//! Greedy descent through the upper levels and the ef-bounded best-first search of
//! one level. `accept` decides which nodes may enter the result set; every linked node
//! is still traversed, so filters and soft deletes do not cut the graph apart.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::candidate::Candidate;
use super::visited::Visited;
use super::Hnsw;
use crate::vectors::{Query, VectorStore};

thread_local! {
    static VISITED: RefCell<Visited> = const { RefCell::new(Visited::new()) };
}

impl Hnsw {
    /// Greedy walk from `entry` down to level `stop` (inclusive); returns the closest
    /// node found on level `stop`.
    pub(super) fn descend(
        &self,
        store: &VectorStore,
        q: &Query,
        entry: u32,
        stop: usize,
    ) -> Candidate {
        let mut cur = Candidate {
            d: store.distance(q, entry),
            id: entry,
        };
        for level in (stop..=self.max_level).rev() {
            loop {
                let mut changed = false;
                for &n in self.links.neighbors(cur.id, level) {
                    let d = store.distance(q, n);
                    if d < cur.d {
                        cur = Candidate { d, id: n };
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        cur
    }

    /// Collects `node`'s not-yet-visited neighbours on `level` into `fresh`, marking
    /// them visited and prefetching their vectors before any distance is computed.
    #[inline]
    fn unvisited_neighbors(
        &self,
        store: &VectorStore,
        visited: &mut Visited,
        node: u32,
        level: usize,
        fresh: &mut Vec<u32>,
    ) {
        fresh.clear();
        for &n in self.links.neighbors(node, level) {
            if visited.insert(n) {
                store.prefetch(n);
                fresh.push(n);
            }
        }
    }

    /// Best-first search of `level` from `entries`; returns up to `ef` accepted nodes
    /// sorted by distance (all nodes are accepted when `accept` is None).
    pub(super) fn search_layer(
        &self,
        store: &VectorStore,
        q: &Query,
        entries: &[Candidate],
        ef: usize,
        level: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<Candidate> {
        match accept {
            None => self.search_pool(store, q, entries, ef, level),
            Some(ok) => self.search_heaps(store, q, entries, ef, level, ok),
        }
    }

    /// The unfiltered search as one sorted pool of the best `ef` nodes seen, each
    /// flagged once expanded (bit 31 of the id): expand the closest unexpanded node
    /// until every pool member is expanded. Same result as the two-heap version, with
    /// a short memmove instead of heap sifts.
    fn search_pool(
        &self,
        store: &VectorStore,
        q: &Query,
        entries: &[Candidate],
        ef: usize,
        level: usize,
    ) -> Vec<Candidate> {
        const DONE: u32 = 1 << 31;
        VISITED.with(|v| {
            let mut visited = v.borrow_mut();
            visited.reset(self.links.len());
            let mut pool: Vec<Candidate> = Vec::with_capacity(ef + 1);
            for &e in entries {
                if visited.insert(e.id) {
                    let at = pool.partition_point(|x| x.d < e.d);
                    pool.insert(at, e);
                }
            }
            pool.truncate(ef);
            let mut fresh: Vec<u32> = Vec::with_capacity(self.links.cap(level));
            let mut cur = 0;
            while cur < pool.len() {
                let node = pool[cur].id;
                pool[cur].id |= DONE;
                if let Some(next) = pool[cur + 1..].iter().find(|c| c.id & DONE == 0) {
                    self.links.prefetch(next.id, level);
                }
                self.unvisited_neighbors(store, &mut visited, node, level, &mut fresh);
                let mut lowest = pool.len();
                for &n in &fresh {
                    let d = store.distance(q, n);
                    if pool.len() >= ef && pool.last().is_some_and(|w| d >= w.d) {
                        continue;
                    }
                    let at = pool.partition_point(|x| x.d < d);
                    pool.insert(at, Candidate { d, id: n });
                    pool.truncate(ef);
                    lowest = lowest.min(at);
                }
                cur = if lowest <= cur {
                    lowest
                } else {
                    cur + 1
                        + pool[cur + 1..]
                            .iter()
                            .position(|c| c.id & DONE == 0)
                            .unwrap_or(pool.len())
                };
                while cur < pool.len() && pool[cur].id & DONE != 0 {
                    cur += 1;
                }
            }
            for c in &mut pool {
                c.id &= !DONE;
            }
            pool
        })
    }

    /// The filtered search: candidates in a min-heap (every node is traversed), results
    /// in a max-heap of at most `ef` nodes that `ok` accepts.
    fn search_heaps(
        &self,
        store: &VectorStore,
        q: &Query,
        entries: &[Candidate],
        ef: usize,
        level: usize,
        ok: &dyn Fn(u32) -> bool,
    ) -> Vec<Candidate> {
        VISITED.with(|v| {
            let mut visited = v.borrow_mut();
            visited.reset(self.links.len());
            let mut todo: BinaryHeap<Reverse<Candidate>> = BinaryHeap::with_capacity(ef * 2);
            let mut best: BinaryHeap<Candidate> = BinaryHeap::with_capacity(ef + 1);
            for &e in entries {
                if visited.insert(e.id) {
                    todo.push(Reverse(e));
                    if ok(e.id) {
                        best.push(e);
                    }
                }
            }
            let mut fresh: Vec<u32> = Vec::with_capacity(self.links.cap(level));
            while let Some(Reverse(c)) = todo.pop() {
                if best.len() >= ef && best.peek().is_some_and(|w| c.d > w.d) {
                    break;
                }
                if let Some(Reverse(next)) = todo.peek() {
                    self.links.prefetch(next.id, level);
                }
                self.unvisited_neighbors(store, &mut visited, c.id, level, &mut fresh);
                for &n in &fresh {
                    let d = store.distance(q, n);
                    let worst = best.peek().map_or(f32::INFINITY, |w| w.d);
                    if best.len() < ef || d < worst {
                        let cand = Candidate { d, id: n };
                        todo.push(Reverse(cand));
                        if ok(n) {
                            best.push(cand);
                            if best.len() > ef {
                                best.pop();
                            }
                        }
                    }
                }
            }
            best.into_sorted_vec()
        })
    }
}
