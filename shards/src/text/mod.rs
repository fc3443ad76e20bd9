//! BM25 full-text search over one index part on one shard.
//!
//! Text goes through an [`Analyzer`] (tokenize, lowercase, drop stopwords, stem) into a
//! [`Bm25Index`] of postings keyed by interned term. Scoring needs corpus statistics
//! (document count, total length, document frequency per term); they sit behind
//! [`CorpusStats`] so a router can score every shard against the statistics of the
//! whole index: each shard answers [`Bm25Index::stats_for`] with a small
//! [`StatsSnapshot`] for the query's terms, the router merges them, and every shard
//! then searches with the merged snapshot.

mod analyzer;
mod bm25;
mod stats;

pub use analyzer::{Analyzer, TOKENS_PER_DOC_MAX, TOKEN_BYTES_MAX};
pub use bm25::{Bm25Index, B, K1};
pub use stats::{CorpusStats, StatsSnapshot, SummedStats};

/// Language of an index's text field: picks the stopword list and the stemmer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TextLanguage {
    /// English: NLTK stopwords, Porter2 stemmer.
    English,
    /// Italian: NLTK stopwords, Snowball Italian stemmer.
    Italian,
}

impl TextLanguage {
    /// Parses a `text_language` setting. `""` means text search is disabled
    /// (`Some(None)`); `"english"`/`"en"` and `"italian"`/`"it"` (any case) name a
    /// language; anything else is unknown (`None`).
    pub fn parse(s: &str) -> Option<Option<TextLanguage>> {
        match s.to_ascii_lowercase().as_str() {
            "" => Some(None),
            "english" | "en" => Some(Some(TextLanguage::English)),
            "italian" | "it" => Some(Some(TextLanguage::Italian)),
            _ => None,
        }
    }

    /// The canonical name, which [`TextLanguage::parse`] accepts back.
    pub fn as_str(self) -> &'static str {
        match self {
            TextLanguage::English => "english",
            TextLanguage::Italian => "italian",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use roaring::RoaringBitmap;
    use std::collections::HashMap;

    /// Checks `parse`: empty disables, full names and ISO codes in any case map to
    /// the language, unknown names are rejected, and `as_str` round-trips.
    #[test]
    fn language_parse_and_round_trip() {
        assert_eq!(TextLanguage::parse(""), Some(None));
        assert_eq!(TextLanguage::parse("en"), Some(Some(TextLanguage::English)));
        assert_eq!(
            TextLanguage::parse("English"),
            Some(Some(TextLanguage::English))
        );
        assert_eq!(TextLanguage::parse("it"), Some(Some(TextLanguage::Italian)));
        assert_eq!(
            TextLanguage::parse("italian"),
            Some(Some(TextLanguage::Italian))
        );
        assert_eq!(TextLanguage::parse("klingon"), None);
        for lang in [TextLanguage::English, TextLanguage::Italian] {
            assert_eq!(TextLanguage::parse(lang.as_str()), Some(Some(lang)));
        }
    }

    const VOCAB: &[&str] = &[
        "run", "running", "runs", "dog", "dogs", "cat", "the", "blue", "fox", "sky", "a",
    ];
    const NODES: u32 = 12;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32, Vec<usize>),
        Remove(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..NODES, prop::collection::vec(0..VOCAB.len(), 0..10))
                .prop_map(|(n, w)| Op::Insert(n, w)),
            1 => (0..NODES).prop_map(Op::Remove),
        ]
    }

    fn text(words: &[usize]) -> String {
        words
            .iter()
            .map(|&w| VOCAB[w])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// BM25 recomputed from scratch over analyzed docs, in f64.
    fn naive_scores(docs: &HashMap<u32, Vec<String>>, query: &[String]) -> Vec<(u32, f64)> {
        let n = docs.len() as f64;
        let avgdl = docs.values().map(|d| d.len()).sum::<usize>() as f64 / n;
        let mut out = Vec::new();
        for (&node, doc) in docs {
            let mut s = 0.0;
            for q in query {
                let df = docs.values().filter(|d| d.contains(q)).count() as f64;
                let tf = doc.iter().filter(|t| *t == q).count() as f64;
                if tf > 0.0 {
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    let (k1, b) = (1.2, 0.75);
                    s += idf * tf * (k1 + 1.0)
                        / (tf + k1 * (1.0 - b + b * doc.len() as f64 / avgdl));
                }
            }
            out.push((node, s));
        }
        out
    }

    proptest! {
        /// Checks the index against a naive BM25: random upserts and removes of docs
        /// over a small vocabulary (with stopwords and inflections) are applied both
        /// to the index and to a map of analyzed tokens; then for random queries,
        /// limits and allow-lists, the corpus stats, `score` of every node and the
        /// `search` hits must match the naive scores (abs 1e-4), and the hits must be
        /// the naive top-k by (score desc, id asc), allowing swaps only between
        /// scores equal within the tolerance.
        #[test]
        fn matches_naive_bm25(
            ops in prop::collection::vec(op(), 0..40),
            queries in prop::collection::vec(prop::collection::vec(0..VOCAB.len(), 0..5), 1..6),
            limit in 1usize..15,
            allowed in prop::option::of(prop::collection::vec(any::<bool>(), NODES as usize)),
        ) {
            let mut index = Bm25Index::new(TextLanguage::English);
            let mut docs: HashMap<u32, Vec<String>> = HashMap::new();
            for op in &ops {
                match op {
                    Op::Insert(node, words) => {
                        let text = text(words);
                        index.insert(*node, &text);
                        let terms = index.analyzer().analyze(&text);
                        if terms.is_empty() { docs.remove(node); } else { docs.insert(*node, terms); }
                    }
                    Op::Remove(node) => {
                        index.remove(*node);
                        docs.remove(node);
                    }
                }
            }
            prop_assert_eq!(index.len(), docs.len());
            prop_assert_eq!(index.total_len(), docs.values().map(|d| d.len() as u64).sum::<u64>());
            let bitmap: Option<RoaringBitmap> = allowed.as_ref().map(|a| {
                (0..NODES).filter(|&n| a[n as usize]).collect()
            });
            for words in &queries {
                let query = index.analyzer().analyze(&text(words));
                for q in &query {
                    let df = docs.values().filter(|d| d.contains(q)).count() as u64;
                    prop_assert_eq!(index.doc_freq(q), df);
                }
                let naive: HashMap<u32, f64> = naive_scores(&docs, &query).into_iter().collect();
                for node in 0..NODES {
                    let want = naive.get(&node).copied().unwrap_or(0.0);
                    let got = index.score(node, &query, &index) as f64;
                    prop_assert!((got - want).abs() < 1e-4, "node {} {} vs {}", node, got, want);
                }
                let allows = |n: u32| match &bitmap { Some(b) => b.contains(n), None => true };
                let mut want: Vec<(u32, f64)> =
                    naive.iter().map(|(&n, &s)| (n, s)).filter(|h| h.1 > 0.0 && allows(h.0)).collect();
                want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                want.truncate(limit);
                let got = index.search(&query, &index, limit, bitmap.as_ref());
                prop_assert_eq!(got.len(), want.len(), "{:?} vs {:?}", got, want);
                for w in got.windows(2) {
                    prop_assert!(w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0), "{:?}", got);
                }
                for (g, w) in got.iter().zip(&want) {
                    // Same rank, same score; a different node only on a near-tie.
                    let true_score = naive.get(&g.0).copied().unwrap_or(0.0);
                    prop_assert!(allows(g.0) && true_score > 0.0, "{:?}", got);
                    prop_assert!((true_score - w.1).abs() < 1e-4, "{:?} vs {:?}", got, want);
                    prop_assert!((g.1 as f64 - w.1).abs() < 1e-4, "{:?} vs {:?}", got, want);
                }
            }
        }
    }
}
