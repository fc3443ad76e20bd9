//! Search requests and results, and the hybrid fusion that runs after the per-shard
//! candidates are gathered (so text scores are normalized by the maximum over all
//! shards, and BM25 statistics are global).

use std::cmp::Ordering;

use crate::error::{Result, ShardError};
use crate::limits::{EF_SEARCH_MAX, FILTER_BYTES_MAX, K_MAX, QUERY_TEXT_BYTES_MAX};
use crate::metric::Metric;

/// `ef_search` when a request gives none (as the upstream RAG default).
pub const EF_SEARCH_DEFAULT: usize = 100;
/// `alpha` when a request has both a vector and a text and gives no alpha.
pub const ALPHA_DEFAULT: f32 = 0.5;

/// One search over one index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    pub vector: Option<Vec<f32>>,
    pub k: usize,
    pub ef_search: Option<usize>,
    pub filter: Option<String>,
    /// Query text for BM25 (needs an index with `text_language`).
    pub text: Option<String>,
    /// Weight of the vector score in hybrid search, 0..=1; None means 0.5.
    pub alpha: Option<f32>,
}

impl SearchRequest {
    /// Checks the request's own limits; index-specific checks happen later.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(ShardError::invalid("k", "must be at least 1"));
        }
        if self.k > K_MAX {
            return Err(ShardError::too_large("k", self.k, K_MAX));
        }
        if let Some(ef) = self.ef_search {
            if ef > EF_SEARCH_MAX {
                return Err(ShardError::too_large("ef_search", ef, EF_SEARCH_MAX));
            }
        }
        if let Some(a) = self.alpha {
            if !(0.0..=1.0).contains(&a) {
                return Err(ShardError::invalid(
                    "alpha",
                    format!("{a} is not within 0..=1"),
                ));
            }
        }
        if let Some(f) = &self.filter {
            if f.len() > FILTER_BYTES_MAX {
                return Err(ShardError::too_large(
                    "filter bytes",
                    f.len(),
                    FILTER_BYTES_MAX,
                ));
            }
        }
        if let Some(t) = &self.text {
            if t.len() > QUERY_TEXT_BYTES_MAX {
                return Err(ShardError::too_large(
                    "query_text bytes",
                    t.len(),
                    QUERY_TEXT_BYTES_MAX,
                ));
            }
        }
        if self.vector.is_none() && !self.has_text() {
            return Err(ShardError::invalid(
                "search",
                "needs query_vector or query_text",
            ));
        }
        Ok(())
    }

    /// Whether the request carries query text (blank text counts as none).
    pub fn has_text(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.trim().is_empty())
    }

    /// Effective ef: `max(ef_search, k)`.
    pub fn ef(&self) -> usize {
        self.ef_search.unwrap_or(EF_SEARCH_DEFAULT).max(self.k)
    }

    /// The vector weight actually used: 1 without text, 0 without a vector.
    pub fn effective_alpha(&self) -> f32 {
        match (self.vector.is_some(), self.has_text()) {
            (true, false) => 1.0,
            (false, _) => 0.0,
            (true, true) => self.alpha.unwrap_or(ALPHA_DEFAULT),
        }
    }
}

/// A candidate from one shard: distance (infinite when the vector side did not score
/// it) and raw BM25 score (0 without text).
#[derive(Clone, Debug, PartialEq)]
pub struct PartHit {
    pub id: String,
    pub distance: f32,
    pub text_score: f32,
    /// Memory decay factor in (0, 1] (1 when the index has no memory config, or the
    /// item is pinned).
    pub decay: f32,
}

/// Orders part hits by distance, then id (for merging vector-only results).
#[derive(Clone, Debug, PartialEq)]
pub struct ByDistance(pub PartHit);

impl Eq for ByDistance {}
impl Ord for ByDistance {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0
            .distance
            .total_cmp(&o.0.distance)
            .then_with(|| self.0.id.cmp(&o.0.id))
    }
}
impl PartialOrd for ByDistance {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// A final result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    pub id: String,
    /// Higher is better: `metric.score(distance)` for vector search, the fused score
    /// for hybrid and text search.
    pub score: f32,
    /// Vector distance when the vector side scored this hit.
    pub distance: Option<f32>,
}

/// Vector-only hits from a merged, distance-sorted list.
pub fn vector_hits(metric: Metric, merged: Vec<ByDistance>) -> Vec<SearchHit> {
    merged
        .into_iter()
        .map(|ByDistance(h)| SearchHit {
            score: metric.score(h.distance),
            distance: Some(h.distance),
            id: h.id,
        })
        .collect()
}

/// Vector hits ranked by decayed score (`metric.score(distance) * decay`), best
/// first, ties by id, top `k` (used when memory decay is on).
pub fn decayed_vector_hits(metric: Metric, k: usize, hits: Vec<PartHit>) -> Vec<SearchHit> {
    let mut out: Vec<SearchHit> = hits
        .into_iter()
        .filter(|h| h.distance.is_finite())
        .map(|h| SearchHit {
            score: metric.score(h.distance) * h.decay,
            distance: Some(h.distance),
            id: h.id,
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out.truncate(k);
    out
}

/// Hybrid fusion: `alpha * vector_score + (1 - alpha) * text_score / max_text_score`,
/// best first, ties by id, top `k`. Candidates the vector side did not score
/// (infinite distance) get vector score 0.
pub fn fuse(metric: Metric, alpha: f32, k: usize, hits: Vec<PartHit>) -> Vec<SearchHit> {
    let max_text = hits.iter().map(|h| h.text_score).fold(0.0f32, f32::max);
    let mut out: Vec<SearchHit> = hits
        .into_iter()
        .map(|h| {
            let v = if h.distance.is_finite() {
                metric.score(h.distance)
            } else {
                0.0
            };
            let t = if max_text > 0.0 {
                h.text_score / max_text
            } else {
                0.0
            };
            SearchHit {
                score: (alpha * v + (1.0 - alpha) * t) * h.decay,
                distance: h.distance.is_finite().then_some(h.distance),
                id: h.id,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    //! Request validation and the fusion formula on hand-computed values.
    use super::*;

    #[test]
    fn alpha_defaults() {
        let mut r = SearchRequest {
            vector: Some(vec![1.0]),
            k: 1,
            ..Default::default()
        };
        assert_eq!(r.effective_alpha(), 1.0);
        r.text = Some("hello".into());
        assert_eq!(r.effective_alpha(), 0.5);
        r.alpha = Some(0.2);
        assert_eq!(r.effective_alpha(), 0.2);
        r.vector = None;
        assert_eq!(r.effective_alpha(), 0.0);
    }

    #[test]
    fn validation() {
        let ok = SearchRequest {
            vector: Some(vec![1.0]),
            k: 10,
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let big_k = SearchRequest {
            k: K_MAX + 1,
            ..ok.clone()
        };
        assert!(matches!(big_k.validate(), Err(ShardError::TooLarge { .. })));
        let bad_alpha = SearchRequest {
            alpha: Some(1.5),
            ..ok.clone()
        };
        assert!(bad_alpha.validate().is_err());
        let nothing = SearchRequest {
            vector: None,
            ..ok.clone()
        };
        assert!(nothing.validate().is_err());
        assert_eq!(
            SearchRequest {
                ef_search: Some(5),
                ..ok
            }
            .ef(),
            10
        );
    }

    #[test]
    fn fusion_formula() {
        let hits = vec![
            PartHit {
                decay: 1.0,
                id: "a".into(),
                distance: 0.0,
                text_score: 0.0,
            },
            PartHit {
                decay: 1.0,
                id: "b".into(),
                distance: 1.0,
                text_score: 4.0,
            },
            PartHit {
                decay: 1.0,
                id: "c".into(),
                distance: f32::INFINITY,
                text_score: 2.0,
            },
        ];
        let out = fuse(Metric::Cosine, 0.5, 3, hits);
        // a: 0.5*1 + 0 = 0.5; b: 0.5*0.5 + 0.5*1 = 0.75; c: 0 + 0.5*0.5 = 0.25
        let ids: Vec<&str> = out.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        assert!((out[0].score - 0.75).abs() < 1e-6);
        assert_eq!(out[2].distance, None);
    }
}
