//! A search split into the plan every shard answers and the merge of their answers
//! (k-way merge for vector search, fusion for text and hybrid search).

use crate::error::{Result, ShardError};
use crate::filter::{self, Expr};
use crate::index::{check_values, is_entity_vector, PartQuery};
use crate::limits::VALUE_ABS_MAX;
use crate::merge::merge_top_k;
use crate::metric::Metric;
use crate::search::{fuse, vector_hits, ByDistance, PartHit, SearchHit, SearchRequest};
use crate::text::StatsSnapshot;

use super::catalog::IndexEntry;

/// A validated search, ready to send to every shard.
#[derive(Clone, Debug)]
pub struct SearchPlan {
    pub metric: Metric,
    pub alpha: f32,
    pub k: usize,
    pub ef: usize,
    pub vector: Option<Vec<f32>>,
    pub filter: Option<Expr>,
    /// Analyzed query terms, when text takes part.
    pub terms: Option<Vec<String>>,
    /// Restrict results to these ids (set by a graph filter).
    pub only_ids: Option<Vec<String>>,
    /// The request's time (unix ns), for memory decay.
    pub now: i64,
    /// Whether each shard's beam may be narrowed ([`SearchPlan::part_query`]): a
    /// plain vector search of an index without memory decay.
    pub narrow: bool,
}

/// The share of `ef` each of several shards searches with, in percent. A shard
/// holds 1/S of the points, so its beam of `ef` covers a wider radius than the
/// same beam over all of them: measured on 38k MiniLM vectors (M 16, efC 200,
/// k 10), 2 and 4 shards at ef 48 reach recall@10 0.9925/0.9926 where one shard
/// needs ef 64 (0.9926), and 24 on 4 shards matches 32 on one (0.9809/0.9808).
/// Below [`PART_EF_FLOOR`] narrowing costs recall (24 on 2 shards: 0.9759 against
/// 0.9808 for 32 on one), so beams are never narrowed below it. So an `ef` means at
/// least the recall it has on one shard however many shards an index has, and the
/// work per query grows less with the shard count.
pub const PART_EF_PERCENT: usize = 75;

/// The narrowest beam [`PART_EF_PERCENT`] narrows to (an `ef` below it is kept).
pub const PART_EF_FLOOR: usize = 32;

impl SearchPlan {
    /// Validates `req` against `entry`; `now` (unix ns) is the request's time, for
    /// memory decay.
    pub fn new(entry: &IndexEntry, req: SearchRequest, now: i64) -> Result<SearchPlan> {
        req.validate()?;
        if let Some(v) = &req.vector {
            if let Some(d) = entry.dim {
                if v.len() != d {
                    return Err(ShardError::WrongDimension {
                        expected: d,
                        got: v.len(),
                    });
                }
            }
            if v.is_empty() {
                return Err(ShardError::invalid("query_vector", "must not be empty"));
            }
            check_values(v, (VALUE_ABS_MAX, "so that distances stay finite"))?;
            if entry.config.metric == Metric::Cosine && is_entity_vector(v) {
                return Err(ShardError::invalid(
                    "query_vector",
                    "is all zeros, which has no direction under the cosine metric",
                ));
            }
        }
        let filter = req
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(filter::parse)
            .transpose()?;
        let alpha = req.effective_alpha();
        let terms = match req
            .text
            .as_deref()
            .filter(|_| req.has_text() && alpha < 1.0)
        {
            Some(t) => match &entry.analyzer {
                Some(analyzer) => Some(analyzer.analyze(t)),
                None => {
                    return Err(ShardError::TextSearchDisabled {
                        index: entry.config.name.clone(),
                    })
                }
            },
            None => None,
        };
        Ok(SearchPlan {
            metric: entry.config.metric,
            alpha,
            k: req.k,
            ef: req.ef(),
            vector: req.vector.filter(|_| alpha > 0.0),
            filter,
            terms,
            only_ids: None,
            now,
            narrow: entry.config.memory.is_none_or(|m| !m.enabled),
        })
    }

    /// The beam each of `shards` shards searches with: `ef` on one shard (and for
    /// filtered, text, hybrid, restricted and decayed searches, whose candidates
    /// are re-ranked after the merge); [`PART_EF_PERCENT`] of it on several, but
    /// not below [`PART_EF_FLOOR`] (nor `ef` itself when it is smaller).
    pub fn part_ef(&self, shards: usize) -> usize {
        let plain = self.terms.is_none() && self.filter.is_none() && self.only_ids.is_none();
        if shards > 1 && plain && self.narrow {
            (self.ef * PART_EF_PERCENT)
                .div_ceil(100)
                .max(PART_EF_FLOOR.min(self.ef))
        } else {
            self.ef
        }
    }

    /// The part every one of `shards` shards answers.
    pub fn part_query(&self, shards: usize) -> PartQuery<'_> {
        PartQuery {
            vector: self.vector.as_deref(),
            k: self.k,
            ef: self.part_ef(shards),
            filter: self.filter.as_ref(),
            terms: self.terms.as_deref(),
            only_ids: self.only_ids.as_deref(),
            now: self.now,
        }
    }

    /// Sums per-shard statistics into the global ones.
    pub fn merge_stats(parts: impl IntoIterator<Item = Option<StatsSnapshot>>) -> StatsSnapshot {
        let mut total = StatsSnapshot::default();
        for p in parts.into_iter().flatten() {
            total.merge(&p);
        }
        total
    }

    /// Merges per-shard answers into the final top-k.
    pub fn finish(&self, parts: Vec<Vec<PartHit>>) -> Vec<SearchHit> {
        let decayed = parts.iter().flatten().any(|h| h.decay < 1.0);
        if self.terms.is_none() && decayed {
            return crate::search::decayed_vector_hits(
                self.metric,
                self.k,
                parts.into_iter().flatten().collect(),
            );
        }
        if self.terms.is_none() {
            let lists = parts
                .into_iter()
                .map(|p| p.into_iter().map(ByDistance).collect())
                .collect();
            return vector_hits(self.metric, merge_top_k(lists, self.k));
        }
        fuse(
            self.metric,
            self.alpha,
            self.k,
            parts.into_iter().flatten().collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexConfig;

    #[test]
    fn shards_narrow_only_plain_vector_searches() {
        let mut entry = IndexEntry::new(IndexConfig::new("t"), Some(2));
        let req = |filter: Option<&str>| SearchRequest {
            vector: Some(vec![1.0, 0.0]),
            k: 10,
            ef_search: Some(64),
            filter: filter.map(str::to_owned),
            ..Default::default()
        };
        let plan = SearchPlan::new(&entry, req(None), 0).unwrap();
        assert_eq!(plan.part_ef(1), 64);
        assert_eq!(plan.part_ef(2), 48);
        assert_eq!(plan.part_query(4).ef, 48);
        let filtered = SearchPlan::new(&entry, req(Some("a = 1")), 0).unwrap();
        assert_eq!(filtered.part_ef(2), 64);
        let ef = |ef: usize| {
            let r = SearchRequest {
                ef_search: Some(ef),
                ..req(None)
            };
            SearchPlan::new(&entry, r, 0).unwrap().part_ef(2)
        };
        assert_eq!((ef(11), ef(32), ef(40), ef(128)), (11, 32, 32, 96));
        let mut restricted = SearchPlan::new(&entry, req(None), 0).unwrap();
        restricted.only_ids = Some(vec!["a".into()]);
        assert_eq!(restricted.part_ef(2), 64);
        entry.config.memory = Some(crate::index::MemoryConfig {
            enabled: true,
            decay_half_life_ns: 1,
        });
        assert_eq!(
            SearchPlan::new(&entry, req(None), 0).unwrap().part_ef(2),
            64
        );
    }
}
