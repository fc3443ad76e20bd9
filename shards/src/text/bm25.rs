//! BM25 postings for one index part on one shard.
//!
//! Layout: terms are interned to `u32` ids; each term id owns an unordered posting
//! list of `(node, tf, doc length)`; each node owns its document length and its
//! distinct term ids, each with the position of the node's posting in that term's
//! list. Removing a node swap-removes its postings and fixes the one moved posting's
//! position in its owner's (sorted) term list, so remove costs O(terms of the doc ×
//! log) rather than O(posting list length). Term ids whose list empties are recycled.
//!
//! Scoring is Okapi BM25 with [`K1`] and [`B`]:
//! `score(d, q) = Σ_{t in q} idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))`,
//! `idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5))`, with `N`, `df` and `avgdl = total_len/N`
//! taken from a [`CorpusStats`] (possibly summed over shards). The sum runs over the
//! query terms as given: a term repeated in the query counts once per occurrence.
//! A text that analyzes to no terms is not a document (as in Lucene's docCount):
//! inserting one removes the node's previous text.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::{Analyzer, CorpusStats, StatsSnapshot, TextLanguage};

/// BM25 term-frequency saturation.
pub const K1: f32 = 1.2;
/// BM25 length normalization.
pub const B: f32 = 0.75;

#[derive(Clone, Copy, Debug)]
struct Posting {
    node: u32,
    tf: u32,
    /// The node's document length, copied here so scoring needs no lookup.
    len: u32,
}

#[derive(Debug)]
struct Doc {
    len: u32,
    /// `(term id, position in postings[term id])`, sorted by term id.
    terms: Vec<(u32, u32)>,
}

/// BM25 full-text index over `u32` node ids.
pub struct Bm25Index {
    analyzer: Analyzer,
    term_ids: HashMap<String, u32>,
    /// Term id -> term; empty for recycled ids.
    term_names: Vec<String>,
    postings: Vec<Vec<Posting>>,
    free_terms: Vec<u32>,
    docs: HashMap<u32, Doc>,
    total_len: u64,
}

// Shards move between executor threads and share read-only snapshots.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Bm25Index>();
};

impl std::fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Index")
            .field("language", &self.analyzer.language())
            .field("docs", &self.docs.len())
            .field("terms", &self.term_ids.len())
            .field("total_len", &self.total_len)
            .finish()
    }
}

/// Per-search constants derived from the statistics.
struct Scorer {
    n: u64,
    avgdl: f32,
}

impl Scorer {
    fn new(stats: &dyn CorpusStats) -> Self {
        let n = stats.doc_count();
        let total = stats.total_len();
        // Guards keep scores finite and positive even on inconsistent statistics.
        let avgdl = if n == 0 || total == 0 {
            1.0
        } else {
            (total as f64 / n as f64) as f32
        };
        Scorer { n, avgdl }
    }

    fn idf(&self, df: u64) -> f32 {
        let n = self.n.max(df) as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32
    }

    fn term(&self, idf: f32, tf: u32, len: u32) -> f32 {
        let tf = tf as f32;
        let norm = K1 * (1.0 - B + B * len as f32 / self.avgdl);
        idf * tf * (K1 + 1.0) / (tf + norm)
    }
}

fn by_score_then_node(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

impl Bm25Index {
    /// An empty index analyzing text as `lang`.
    pub fn new(lang: TextLanguage) -> Self {
        Bm25Index {
            analyzer: Analyzer::new(lang),
            term_ids: HashMap::new(),
            term_names: Vec::new(),
            postings: Vec::new(),
            free_terms: Vec::new(),
            docs: HashMap::new(),
            total_len: 0,
        }
    }

    /// The analyzer documents go through; queries must use it too.
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Number of documents (nodes whose text has at least one term).
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when no node has text.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Sets `node`'s text, replacing any previous text. A text with no terms
    /// (empty, only stopwords or separators) leaves the node without text.
    pub fn insert(&mut self, node: u32, text: &str) {
        self.remove(node);
        let mut tokens = self.analyzer.analyze(text);
        if tokens.is_empty() {
            return;
        }
        let len = tokens.len() as u32;
        tokens.sort_unstable();
        let mut terms = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let run = tokens[i..].iter().take_while(|t| **t == tokens[i]).count();
            let id = self.intern(&tokens[i]);
            let list = &mut self.postings[id as usize];
            terms.push((id, list.len() as u32));
            list.push(Posting {
                node,
                tf: run as u32,
                len,
            });
            i += run;
        }
        terms.sort_unstable_by_key(|&(id, _)| id);
        self.total_len += u64::from(len);
        self.docs.insert(node, Doc { len, terms });
    }

    /// Removes `node`'s text, if any.
    pub fn remove(&mut self, node: u32) {
        let Some(doc) = self.docs.remove(&node) else {
            return;
        };
        self.total_len -= u64::from(doc.len);
        for (id, pos) in doc.terms {
            let list = &mut self.postings[id as usize];
            list.swap_remove(pos as usize);
            if let Some(moved) = list.get(pos as usize) {
                let owner = self
                    .docs
                    .get_mut(&moved.node)
                    .expect("posting of a live doc");
                let at = owner
                    .terms
                    .binary_search_by_key(&id, |&(t, _)| t)
                    .expect("doc lists its postings");
                owner.terms[at].1 = pos;
            } else if list.is_empty() {
                *list = Vec::new();
                let name = std::mem::take(&mut self.term_names[id as usize]);
                self.term_ids.remove(&name);
                self.free_terms.push(id);
            }
        }
    }

    fn intern(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.term_ids.get(term) {
            return id;
        }
        let id = match self.free_terms.pop() {
            Some(id) => {
                self.term_names[id as usize] = term.to_owned();
                id
            }
            None => {
                self.term_names.push(term.to_owned());
                self.postings.push(Vec::new());
                u32::try_from(self.postings.len() - 1).expect("fewer than 2^32 terms")
            }
        };
        self.term_ids.insert(term.to_owned(), id);
        id
    }

    fn postings_of(&self, term: &str) -> &[Posting] {
        match self.term_ids.get(term) {
            Some(&id) => &self.postings[id as usize],
            None => &[],
        }
    }

    /// This shard's statistics for `terms` (every given term gets an entry, 0 if
    /// absent), to be merged with other shards' before searching.
    pub fn stats_for(&self, terms: &[String]) -> StatsSnapshot {
        StatsSnapshot {
            doc_count: self.doc_count(),
            total_len: self.total_len,
            doc_freqs: terms
                .iter()
                .map(|t| (t.clone(), self.doc_freq(t)))
                .collect(),
        }
    }

    /// The best `limit` nodes for the analyzed query `terms`, best first (ties by
    /// node id ascending), scored against `stats`. Only nodes matching at least one
    /// term (score > 0) and, if given, contained in `allowed` are returned.
    pub fn search(
        &self,
        terms: &[String],
        stats: &dyn CorpusStats,
        limit: usize,
        allowed: Option<&RoaringBitmap>,
    ) -> Vec<(u32, f32)> {
        if limit == 0 {
            return Vec::new();
        }
        let scorer = Scorer::new(stats);
        let mut acc: HashMap<u32, f32> = HashMap::new();
        for term in terms {
            let postings = self.postings_of(term);
            if postings.is_empty() {
                continue;
            }
            let idf = scorer.idf(stats.doc_freq(term));
            for p in postings {
                if allowed.is_some_and(|a| !a.contains(p.node)) {
                    continue;
                }
                *acc.entry(p.node).or_insert(0.0) += scorer.term(idf, p.tf, p.len);
            }
        }
        let mut hits: Vec<(u32, f32)> = acc.into_iter().collect();
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, by_score_then_node);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(by_score_then_node);
        hits
    }

    /// `node`'s BM25 score for the analyzed query `terms` against `stats`; 0 if the
    /// node has no text. Equals the score [`Bm25Index::search`] reports for it.
    pub fn score(&self, node: u32, terms: &[String], stats: &dyn CorpusStats) -> f32 {
        let Some(doc) = self.docs.get(&node) else {
            return 0.0;
        };
        let scorer = Scorer::new(stats);
        let mut score = 0.0;
        for term in terms {
            let Some(&id) = self.term_ids.get(term.as_str()) else {
                continue;
            };
            let Ok(at) = doc.terms.binary_search_by_key(&id, |&(t, _)| t) else {
                continue;
            };
            let posting = self.postings[id as usize][doc.terms[at].1 as usize];
            score += scorer.term(scorer.idf(stats.doc_freq(term)), posting.tf, doc.len);
        }
        score
    }

    /// Estimated heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let strings: usize = self.term_names.iter().map(String::capacity).sum();
        let postings: usize = self.postings.iter().map(|l| l.capacity()).sum::<usize>()
            * size_of::<Posting>()
            + self.postings.capacity() * size_of::<Vec<Posting>>();
        let docs: usize = self
            .docs
            .values()
            .map(|d| d.terms.capacity())
            .sum::<usize>()
            * size_of::<(u32, u32)>()
            + self.docs.capacity() * (size_of::<(u32, Doc)>() + 1);
        let names = self.term_names.capacity() * size_of::<String>() + strings;
        let ids = self.term_ids.capacity() * (size_of::<(String, u32)>() + 1) + strings;
        postings + docs + names + ids + self.free_terms.capacity() * size_of::<u32>()
    }
}

impl CorpusStats for Bm25Index {
    fn doc_count(&self) -> u64 {
        self.docs.len() as u64
    }

    fn total_len(&self) -> u64 {
        self.total_len
    }

    fn doc_freq(&self, term: &str) -> u64 {
        self.postings_of(term).len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks upsert and remove bookkeeping: re-inserting a node replaces its old
    /// terms (the old term stops matching), a stopword-only text clears the node,
    /// removing everything empties the stats, and recycled term ids still work.
    #[test]
    fn upsert_remove_and_recycle() {
        let mut index = Bm25Index::new(TextLanguage::English);
        let q = |s: &str| index_terms(s);
        index.insert(1, "red apple");
        index.insert(2, "green apple");
        index.insert(1, "yellow banana");
        assert_eq!(index.len(), 2);
        assert_eq!(index.search(&q("red"), &index, 10, None), vec![]);
        assert_eq!(index.search(&q("apple"), &index, 10, None).len(), 1);
        assert_eq!(index.search(&q("banana"), &index, 10, None)[0].0, 1);
        index.insert(2, "the and of");
        assert_eq!((index.len(), index.doc_freq("appl")), (1, 0));
        index.remove(1);
        index.remove(1);
        assert!(index.is_empty());
        assert_eq!((index.total_len(), index.term_ids.len()), (0, 0));
        index.insert(3, "kiwi mango");
        let hits = index.search(&q("mango"), &index, 10, None);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].1 > 0.0 && index.memory_bytes() > 0);
    }

    fn index_terms(s: &str) -> Vec<String> {
        Analyzer::new(TextLanguage::English).analyze(s)
    }
}
