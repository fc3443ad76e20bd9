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
}

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
        })
    }

    /// The part every shard answers.
    pub fn part_query(&self) -> PartQuery<'_> {
        PartQuery {
            vector: self.vector.as_deref(),
            k: self.k,
            ef: self.ef,
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
