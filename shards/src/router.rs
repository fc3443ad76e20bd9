//! Router logic shared by every way of driving shards ([`crate::ShardSet`] on one
//! thread, the server's executors over channels): the catalog of indexes (config and
//! fixed dimension), batch checks, and a search split into the plan sent to every
//! shard and the merge of their answers. Nothing here touches a shard.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Result, ShardError};
use crate::filter::{self, Expr};
use crate::index::{check_item, is_entity_vector, IndexConfig, PartQuery};
use crate::limits::BATCH_MAX;
use crate::merge::merge_top_k;
use crate::metric::Metric;
use crate::search::{fuse, vector_hits, ByDistance, PartHit, SearchHit, SearchRequest};
use crate::shard_set::NewItem;
use crate::text::{Analyzer, StatsSnapshot};

/// Stable hash (FNV-1a, 64 bit) used for routing: the same id goes to the same
/// shard in every process and version.
pub fn route_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Shard that owns `key` among `shards`.
pub fn shard_of(key: &str, shards: usize) -> usize {
    (route_hash(key) % shards as u64) as usize
}

/// Splits items by owning shard.
pub fn split_by_shard(items: Vec<NewItem>, shards: usize) -> Vec<Vec<NewItem>> {
    let mut parts: Vec<Vec<NewItem>> = (0..shards).map(|_| Vec::new()).collect();
    for it in items {
        parts[shard_of(&it.id, shards)].push(it);
    }
    parts
}

/// What the router knows of one index.
#[derive(Clone, Debug)]
pub struct IndexEntry {
    pub config: IndexConfig,
    /// Fixed by the first non-entity vector.
    pub dim: Option<usize>,
    /// Query-text analyzer (built once: stemmer and stopword set).
    pub analyzer: Option<Arc<Analyzer>>,
}

impl IndexEntry {
    pub fn new(config: IndexConfig, dim: Option<usize>) -> IndexEntry {
        IndexEntry {
            analyzer: config.text_language.map(|l| Arc::new(Analyzer::new(l))),
            config,
            dim,
        }
    }
}

/// The indexes that exist and their dimensions.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    indexes: HashMap<String, IndexEntry>,
}

impl Catalog {
    /// Validates and records a new index; returns the validated config.
    pub fn create(&mut self, config: IndexConfig) -> Result<IndexConfig> {
        let config = config.validated()?;
        if self.indexes.contains_key(&config.name) {
            return Err(ShardError::IndexExists { name: config.name });
        }
        self.indexes
            .insert(config.name.clone(), IndexEntry::new(config.clone(), None));
        Ok(config)
    }

    /// Records an index that already exists (rebuilt from recovered shards).
    pub fn restore(&mut self, entry: IndexEntry) {
        self.indexes.insert(entry.config.name.clone(), entry);
    }

    pub fn drop_index(&mut self, name: &str) -> Result<()> {
        self.indexes
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| ShardError::IndexNotFound {
                name: name.to_owned(),
            })
    }

    pub fn get(&self, name: &str) -> Result<&IndexEntry> {
        self.indexes
            .get(name)
            .ok_or_else(|| ShardError::IndexNotFound {
                name: name.to_owned(),
            })
    }

    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.indexes.keys().cloned().collect();
        v.sort();
        v
    }

    /// Checks a batch as a whole (limits, one dimension) before anything is applied,
    /// so a bad item rejects the batch instead of leaving half of it. Returns the
    /// index's dimension after the batch.
    pub fn check_batch(&self, index: &str, items: &[NewItem]) -> Result<Option<usize>> {
        if items.len() > BATCH_MAX {
            return Err(ShardError::too_large("batch size", items.len(), BATCH_MAX));
        }
        let mut dim = self.get(index)?.dim;
        for it in items {
            check_item(dim, &it.id, &it.vector, &it.metadata)?;
            if !is_entity_vector(&it.vector) {
                dim = Some(it.vector.len());
            }
        }
        Ok(dim)
    }

    fn entry_mut(&mut self, index: &str) -> Result<&mut IndexEntry> {
        self.indexes
            .get_mut(index)
            .ok_or_else(|| ShardError::IndexNotFound {
                name: index.to_owned(),
            })
    }

    /// Replaces an index's auto-link rules in the catalog.
    pub fn set_auto_links(
        &mut self,
        index: &str,
        rules: Vec<crate::index::AutoLinkRule>,
    ) -> Result<()> {
        crate::index::check_auto_links(&rules)?;
        let e = self.entry_mut(index)?;
        e.config.auto_links = rules;
        Ok(())
    }

    /// Replaces an index's maintenance configuration in the catalog.
    pub fn set_maintenance(
        &mut self,
        index: &str,
        config: crate::index::MaintenanceConfig,
    ) -> Result<()> {
        config.validate()?;
        self.entry_mut(index)?.config.maintenance = config;
        Ok(())
    }

    /// Records an index's new precision after a compression.
    pub fn set_precision(
        &mut self,
        index: &str,
        precision: crate::metric::Precision,
    ) -> Result<()> {
        let e = self.entry_mut(index)?;
        e.config.precision = precision;
        Ok(())
    }

    pub fn set_dim(&mut self, index: &str, dim: Option<usize>) -> Result<()> {
        let e = self.entry_mut(index)?;
        e.dim = dim;
        Ok(())
    }
}

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
    pub fn new(entry: &IndexEntry, req: SearchRequest) -> Result<SearchPlan> {
        req.validate()?;
        if let (Some(v), Some(d)) = (&req.vector, entry.dim) {
            if v.len() != d && !is_entity_vector(v) {
                return Err(ShardError::WrongDimension {
                    expected: d,
                    got: v.len(),
                });
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
            now: crate::index::now_nanos(),
        })
    }

    /// Whether shards must first report BM25 statistics (a second round trip).
    pub fn needs_stats(&self) -> bool {
        self.terms.is_some()
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
