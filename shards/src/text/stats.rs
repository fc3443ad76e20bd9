//! Corpus statistics that BM25's IDF and length normalization need.
//!
//! Scoring reads them through [`CorpusStats`], so one shard can score against the
//! statistics of the whole index. Two ways to sum over shards: [`StatsSnapshot`] is
//! an owned, serializable copy holding only the query's terms (cheap to send between
//! executor threads, merged with [`StatsSnapshot::merge`]); [`SummedStats`] sums live
//! borrowed sources on one thread.

use std::collections::HashMap;

/// The statistics BM25 needs about the collection being searched.
pub trait CorpusStats {
    /// Number of documents (nodes with at least one term).
    fn doc_count(&self) -> u64;
    /// Sum of the lengths, in terms, of all documents.
    fn total_len(&self) -> u64;
    /// Number of documents containing `term` (an analyzed term).
    fn doc_freq(&self, term: &str) -> u64;
}

/// Owned statistics for a set of terms; sums over shards with [`StatsSnapshot::merge`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    /// Number of documents.
    pub doc_count: u64,
    /// Sum of document lengths in terms.
    pub total_len: u64,
    /// Document frequency of each term the snapshot was taken for; a missing term
    /// counts as 0.
    pub doc_freqs: HashMap<String, u64>,
}

impl StatsSnapshot {
    /// Adds `other`'s counts into `self` (documents of disjoint shards).
    pub fn merge(&mut self, other: &StatsSnapshot) {
        self.doc_count += other.doc_count;
        self.total_len += other.total_len;
        for (term, df) in &other.doc_freqs {
            *self.doc_freqs.entry(term.clone()).or_insert(0) += df;
        }
    }

    /// The sum of `parts`.
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a StatsSnapshot>) -> StatsSnapshot {
        let mut sum = StatsSnapshot::default();
        for part in parts {
            sum.merge(part);
        }
        sum
    }
}

impl CorpusStats for StatsSnapshot {
    fn doc_count(&self) -> u64 {
        self.doc_count
    }

    fn total_len(&self) -> u64 {
        self.total_len
    }

    fn doc_freq(&self, term: &str) -> u64 {
        self.doc_freqs.get(term).copied().unwrap_or(0)
    }
}

/// Live sum of several borrowed statistics sources (e.g. every shard's index when
/// they are all reachable from one thread).
pub struct SummedStats<'a> {
    parts: Vec<&'a dyn CorpusStats>,
}

impl<'a> SummedStats<'a> {
    /// Sums `parts`, which must cover disjoint sets of documents.
    pub fn new(parts: Vec<&'a dyn CorpusStats>) -> Self {
        SummedStats { parts }
    }
}

impl CorpusStats for SummedStats<'_> {
    fn doc_count(&self) -> u64 {
        self.parts.iter().map(|p| p.doc_count()).sum()
    }

    fn total_len(&self) -> u64 {
        self.parts.iter().map(|p| p.total_len()).sum()
    }

    fn doc_freq(&self, term: &str) -> u64 {
        self.parts.iter().map(|p| p.doc_freq(term)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{Bm25Index, TextLanguage};

    const DOCS: &[&str] = &[
        "the quick brown fox jumps over the lazy dog",
        "a quick brown dog runs in the park",
        "foxes are running and jumping all day",
        "lazy cats sleep all day long",
        "the dog and the fox are friends",
        "brown bears eat honey in the forest",
        "quick quick quick",
        "running dogs chase running foxes",
        "nothing in common here",
        "the park is full of dogs and cats",
        "a fox, a dog and a cat walk into a bar",
    ];

    const QUERIES: &[&str] = &[
        "quick fox",
        "lazy dog",
        "running",
        "brown brown bear",
        "cat park day",
        "unknownword fox",
    ];

    fn build(parts: usize) -> Vec<Bm25Index> {
        let mut indexes: Vec<_> = (0..parts)
            .map(|_| Bm25Index::new(TextLanguage::English))
            .collect();
        for (node, text) in DOCS.iter().enumerate() {
            indexes[node % parts].insert(node as u32, text);
        }
        indexes
    }

    /// Checks that sharding plus stats merging is invisible to scoring: the docs are
    /// split round-robin over 2 and over 3 indexes; for each query the parts'
    /// `stats_for` snapshots are merged, every part searches with the merged
    /// snapshot, and the union of their hits (re-sorted) must equal, score for score
    /// (1e-5) and in order, the search of one index holding every doc. `score` and
    /// `SummedStats` over the live parts must agree too.
    #[test]
    fn merged_stats_score_like_one_index() {
        let whole = build(1).pop().unwrap();
        for parts in [2, 3] {
            let indexes = build(parts);
            for query in QUERIES {
                let terms = whole.analyzer().analyze(query);
                let snapshots: Vec<_> = indexes.iter().map(|i| i.stats_for(&terms)).collect();
                let merged = StatsSnapshot::merged(&snapshots);
                assert_eq!(merged, whole.stats_for(&terms));
                let summed =
                    SummedStats::new(indexes.iter().map(|i| i as &dyn CorpusStats).collect());

                let expected = whole.search(&terms, &whole, 100, None);
                assert!(!expected.is_empty() || query.starts_with("unknown"));
                let mut got: Vec<(u32, f32)> = indexes
                    .iter()
                    .flat_map(|i| i.search(&terms, &merged, 100, None))
                    .collect();
                got.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                assert_eq!(got.len(), expected.len(), "{query}");
                for (g, e) in got.iter().zip(&expected) {
                    assert_eq!(g.0, e.0, "{query}: {got:?} vs {expected:?}");
                    assert!((g.1 - e.1).abs() < 1e-5, "{query}: {got:?} vs {expected:?}");
                }

                for node in 0..DOCS.len() as u32 {
                    let part = &indexes[node as usize % parts];
                    let want = whole.score(node, &terms, &whole);
                    assert!((part.score(node, &terms, &merged) - want).abs() < 1e-5);
                    assert!((part.score(node, &terms, &summed) - want).abs() < 1e-5);
                }
            }
        }
    }

    /// Checks `merge` arithmetic directly: counts add, a term only one side has is
    /// carried over, and a missing term reads as doc_freq 0.
    #[test]
    fn merge_adds_counts() {
        let mut a = StatsSnapshot {
            doc_count: 2,
            total_len: 10,
            doc_freqs: [("x".to_string(), 1), ("y".to_string(), 2)].into(),
        };
        let b = StatsSnapshot {
            doc_count: 3,
            total_len: 7,
            doc_freqs: [("y".to_string(), 1), ("z".to_string(), 3)].into(),
        };
        a.merge(&b);
        assert_eq!((a.doc_count(), a.total_len()), (5, 17));
        assert_eq!(
            [a.doc_freq("x"), a.doc_freq("y"), a.doc_freq("z")],
            [1, 3, 3]
        );
        assert_eq!(a.doc_freq("w"), 0);
    }
}
