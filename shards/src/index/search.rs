//! One part's answer to a search: vector (graph walk, or an exact scan of a small
//! allowed set), text (BM25) and hybrid candidates.

use std::collections::HashSet;

use roaring::RoaringBitmap;

use crate::error::{Result, ShardError};
use crate::filter::{self, Expr};
use crate::hnsw::Candidate;
use crate::metric::Metric;
use crate::search::PartHit;
use crate::text::CorpusStats;
use crate::vectors::VectorStore;

use super::{is_entity_vector, Index};

/// Filtered searches scan the allowed set exactly when it has at most this many
/// nodes (see [`exact_scan_pays`]).
pub const EXACT_SCAN_MIN: u64 = 2_048;
/// Extra candidates a shard looks at beyond k, so ties at the k-th distance can be
/// broken by id when shards are merged.
const TIE_SLACK: usize = 4;
pub const EXACT_SCAN_PERCENT: u64 = 3;

/// Whether a filtered search scans its `allowed` set of `live` nodes exactly rather
/// than walking the graph with beam `ef` (`m0` links per node): always for a set of
/// at most [`EXACT_SCAN_MIN`] nodes or [`EXACT_SCAN_PERCENT`] of the part (exact,
/// where a filtered walk would lose recall), and whenever the scan costs fewer
/// distances than the walk. A walk expands about `ef / s` nodes to gather `ef`
/// accepted ones at selectivity `s = allowed / live`, each with up to `m0` fresh
/// neighbours; a scanned row and a walked one cost about the same (38k MiniLM: a
/// 10% filter walked at ef 32 took 1.0 ms, a scan of its 3,847 rows 0.2-0.5 ms; a
/// 50% filter scanned at ef 128 over 2 shards was 3x slower than walked), so also
/// scan when `allowed <= ef * m0 / s`.
pub fn exact_scan_pays(allowed: u64, live: u64, ef: usize, m0: usize) -> bool {
    let walk = (ef as u64) * (m0 as u64) * live;
    allowed <= EXACT_SCAN_MIN
        || allowed * 100 <= EXACT_SCAN_PERCENT * live
        || allowed.saturating_mul(allowed) <= walk
}

/// What a shard needs to answer its part of a search.
pub struct PartQuery<'a> {
    pub vector: Option<&'a [f32]>,
    pub k: usize,
    pub ef: usize,
    pub filter: Option<&'a Expr>,
    /// Analyzed query terms (hybrid or text search).
    pub terms: Option<&'a [String]>,
    /// Only these ids may be returned (a graph filter's reachable set).
    pub only_ids: Option<&'a [String]>,
    /// The request's time (unix ns), for memory decay.
    pub now: i64,
}

impl Index {
    /// This part's candidates. Vector-only: the `k` nearest, by distance. With
    /// terms: the union of the vector side's best `ef` and the text side's best `ef`,
    /// each with both scores filled in, for [`crate::search::fuse`].
    pub fn search_part(
        &self,
        q: &PartQuery,
        stats: Option<&dyn CorpusStats>,
    ) -> Result<Vec<PartHit>> {
        let only = q.only_ids.map(|ids| {
            let mut set: RoaringBitmap = ids.iter().filter_map(|id| self.ids.get(id)).collect();
            set &= &self.searchable;
            set
        });
        let allowed = match (q.filter, only) {
            (Some(expr), Some(only)) => Some(filter::evaluate(expr, &self.meta_index, &only)),
            (Some(expr), None) => Some(filter::evaluate(expr, &self.meta_index, &self.searchable)),
            (None, only) => only,
        };
        let text_side = match (q.terms, &self.text) {
            (Some(_), None) => {
                return Err(ShardError::TextSearchDisabled {
                    index: self.config.name.clone(),
                })
            }
            (Some(terms), Some(t)) => Some((terms, t)),
            (None, _) => None,
        };
        let decays = self.config.memory.is_some_and(|m| m.enabled);
        let want = if text_side.is_some() || decays {
            q.ef.max(q.k)
        } else {
            q.k
        };
        let query = match (q.vector, &self.store) {
            // An all-zero query is a real point under euclidean and dot; under
            // cosine it has no direction (the router refuses it).
            (Some(v), Some(store))
                if self.config.metric != Metric::Cosine || !is_entity_vector(v) =>
            {
                if v.len() != store.dim() {
                    return Err(ShardError::WrongDimension {
                        expected: store.dim(),
                        got: v.len(),
                    });
                }
                Some((store.prepare(v), store))
            }
            _ => None,
        };
        let hit = |node: u32, distance: f32, text_score: f32| PartHit {
            id: self.ids.id(node).to_string(),
            distance,
            text_score,
            decay: self.decay(node, q.now),
        };
        let nearest = match &query {
            Some((prepared, store)) => {
                let mut c = self.vector_search(
                    store,
                    prepared,
                    want + TIE_SLACK,
                    q.ef.max(want + TIE_SLACK),
                    allowed.as_ref(),
                );
                // Keep the best `want`, and whatever ties with the last of them: the
                // merge breaks ties by id across shards, so a shard must not drop a
                // tied candidate by its internal node order.
                if c.len() > want {
                    let last = c[want.max(1) - 1].d;
                    let keep = want + c[want..].iter().take_while(|x| x.d <= last).count();
                    c.truncate(keep);
                }
                c
            }
            None => Vec::new(),
        };
        let Some((terms, text)) = text_side else {
            let mut hits: Vec<PartHit> = nearest.into_iter().map(|c| hit(c.id, c.d, 0.0)).collect();
            // The merge expects each part sorted as it merges: distance, then id.
            hits.sort_by(|a, b| {
                a.distance
                    .total_cmp(&b.distance)
                    .then_with(|| a.id.cmp(&b.id))
            });
            return Ok(hits);
        };
        // Hybrid / text: the union of both sides, each member scored by both.
        let stats: &dyn CorpusStats = stats.unwrap_or(text);
        let mut hits: Vec<PartHit> = Vec::with_capacity(2 * want);
        let mut seen: HashSet<u32> = HashSet::with_capacity(2 * want);
        for c in nearest {
            seen.insert(c.id);
            hits.push(hit(c.id, c.d, text.score(c.id, terms, stats)));
        }
        for (node, score) in text.search(terms, stats, want, allowed.as_ref()) {
            if !self.searchable.contains(node) || !seen.insert(node) {
                continue;
            }
            let distance = match &query {
                Some((p, store)) => store.exact_distance(p, node),
                None => f32::INFINITY,
            };
            hits.push(hit(node, distance, score));
        }
        Ok(hits)
    }

    fn vector_search(
        &self,
        store: &VectorStore,
        q: &crate::vectors::Query,
        k: usize,
        ef: usize,
        allowed: Option<&RoaringBitmap>,
    ) -> Vec<Candidate> {
        match allowed {
            Some(set)
                if exact_scan_pays(set.len(), self.live.len(), ef, 2 * self.hnsw.params().m) =>
            {
                let mut all: Vec<Candidate> = set
                    .iter()
                    .map(|id| Candidate {
                        d: store.exact_distance(q, id),
                        id,
                    })
                    .collect();
                let k = k.min(all.len());
                if k == 0 {
                    return Vec::new();
                }
                all.select_nth_unstable(k - 1);
                all.truncate(k);
                all.sort_unstable();
                all
            }
            Some(set) => self
                .hnsw
                .search(store, q, k, ef, Some(&|id| set.contains(id))),
            // Every node searchable: no per-node check on the hot path.
            None if self.searchable.len() as usize == self.ids.len() => {
                self.hnsw.search(store, q, k, ef, None)
            }
            None => self
                .hnsw
                .search(store, q, k, ef, Some(&|id| self.searchable.contains(id))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exact_scan_pays;

    #[test]
    fn a_scan_is_chosen_where_it_costs_less_than_the_walk() {
        // 38k MiniLM at 10% and 50%, ef 32, M 16: scan, then walk.
        assert!(exact_scan_pays(3_847, 38_472, 32, 32));
        assert!(!exact_scan_pays(19_236, 38_472, 32, 32));
        // A million rows: 1% is scanned, 10% walked.
        assert!(exact_scan_pays(10_000, 1_000_000, 32, 32));
        assert!(!exact_scan_pays(100_000, 1_000_000, 32, 32));
    }
}
