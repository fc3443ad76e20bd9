//! Several shards driven from the caller's thread: routes writes by id hash, fans
//! searches out, sums BM25 statistics so IDF is global, and merges top-k. This is the
//! embeddable library API; the server runs the same [`Shard`]s on per-core executors.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Result, ShardError};
use crate::filter;
use crate::index::{check_item, is_entity_vector, IndexConfig, IndexMemory, Item, PartQuery};
use crate::limits::BATCH_MAX;
use crate::merge::merge_top_k;
use crate::search::{fuse, vector_hits, ByDistance, SearchHit, SearchRequest};
use crate::shard::Shard;
use crate::text::{CorpusStats, StatsSnapshot};

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

/// One item of an add-batch.
#[derive(Clone, Debug, PartialEq)]
pub struct NewItem {
    pub id: String,
    pub vector: Vec<f32>,
    pub metadata: Map<String, Value>,
}

/// What the router knows about an index: its config and its fixed dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexInfo {
    pub config: IndexConfig,
    pub dim: Option<usize>,
    pub len: usize,
    pub memory: IndexMemory,
}

pub struct ShardSet {
    shards: Vec<Shard>,
    dims: HashMap<String, Option<usize>>,
}

impl ShardSet {
    pub fn new(shards: usize) -> ShardSet {
        assert!(shards >= 1, "at least one shard");
        ShardSet {
            shards: (0..shards).map(|_| Shard::new()).collect(),
            dims: HashMap::new(),
        }
    }

    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }
    /// Mutable shards, e.g. to build them on several threads.
    pub fn shards_mut(&mut self) -> &mut [Shard] {
        &mut self.shards
    }

    pub fn create_index(&mut self, config: IndexConfig) -> Result<()> {
        let config = config.validated()?;
        if self.dims.contains_key(&config.name) {
            return Err(ShardError::IndexExists { name: config.name });
        }
        for s in &mut self.shards {
            s.create_index(config.clone())?;
        }
        self.dims.insert(config.name, None);
        Ok(())
    }

    pub fn drop_index(&mut self, name: &str) -> Result<()> {
        if self.dims.remove(name).is_none() {
            return Err(ShardError::IndexNotFound {
                name: name.to_owned(),
            });
        }
        for s in &mut self.shards {
            s.drop_index(name);
        }
        Ok(())
    }

    fn dim(&self, name: &str) -> Result<Option<usize>> {
        self.dims
            .get(name)
            .copied()
            .ok_or_else(|| ShardError::IndexNotFound {
                name: name.to_owned(),
            })
    }

    pub fn index_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.dims.keys().cloned().collect();
        v.sort();
        v
    }

    pub fn info(&self, name: &str) -> Result<IndexInfo> {
        let dim = self.dim(name)?;
        let mut len = 0;
        let mut mem = IndexMemory::default();
        let mut config = None;
        for s in &self.shards {
            let ix = s.index(name)?;
            len += ix.len();
            let m = ix.memory();
            mem += m;
            config.get_or_insert_with(|| ix.config().clone());
        }
        Ok(IndexInfo {
            config: config.expect("at least one shard"),
            dim,
            len,
            memory: mem,
        })
    }

    /// Checks a batch as a whole (limits, one dimension) before anything is applied,
    /// so a bad item rejects the batch instead of leaving half of it.
    pub fn check_batch(&self, index: &str, items: &[NewItem]) -> Result<Option<usize>> {
        if items.len() > BATCH_MAX {
            return Err(ShardError::too_large("batch size", items.len(), BATCH_MAX));
        }
        let mut dim = self.dim(index)?;
        for it in items {
            check_item(dim, &it.id, &it.vector, &it.metadata)?;
            if !is_entity_vector(&it.vector) {
                dim = Some(it.vector.len());
            }
        }
        Ok(dim)
    }

    pub fn upsert(&mut self, index: &str, item: NewItem) -> Result<()> {
        self.add_batch(index, vec![item])
    }

    /// Adds or updates a batch; all-or-nothing on validation errors.
    pub fn add_batch(&mut self, index: &str, items: Vec<NewItem>) -> Result<()> {
        let dim = self.check_batch(index, &items)?;
        self.dims.insert(index.to_owned(), dim);
        let n = self.shards.len();
        for it in items {
            let s = shard_of(&it.id, n);
            self.shards[s].upsert(index, &it.id, &it.vector, it.metadata)?;
        }
        Ok(())
    }

    /// Splits a batch by owning shard (for callers that apply parts in parallel,
    /// after [`ShardSet::check_batch`] and [`ShardSet::set_dim`]).
    pub fn split_batch(&self, items: Vec<NewItem>) -> Vec<Vec<NewItem>> {
        let n = self.shards.len();
        let mut parts: Vec<Vec<NewItem>> = (0..n).map(|_| Vec::new()).collect();
        for it in items {
            parts[shard_of(&it.id, n)].push(it);
        }
        parts
    }

    /// Records an index's dimension (as returned by [`ShardSet::check_batch`]).
    pub fn set_dim(&mut self, index: &str, dim: Option<usize>) -> Result<()> {
        self.dim(index)?;
        self.dims.insert(index.to_owned(), dim);
        Ok(())
    }

    pub fn delete(&mut self, index: &str, id: &str) -> Result<bool> {
        self.dim(index)?;
        let s = shard_of(id, self.shards.len());
        self.shards[s].delete(index, id)
    }

    pub fn get(&self, index: &str, id: &str) -> Result<Option<Item>> {
        self.dim(index)?;
        self.shards[shard_of(id, self.shards.len())].get(index, id)
    }

    /// Vector, text, filtered and hybrid search over every shard.
    pub fn search(&self, index: &str, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        req.validate()?;
        let dim = self.dim(index)?;
        if let (Some(v), Some(d)) = (&req.vector, dim) {
            if v.len() != d && !is_entity_vector(v) {
                return Err(ShardError::WrongDimension {
                    expected: d,
                    got: v.len(),
                });
            }
        }
        let expr = req
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(filter::parse)
            .transpose()?;
        let alpha = req.effective_alpha();
        let text = req
            .text
            .as_deref()
            .filter(|_| req.has_text() && alpha < 1.0);
        let terms = match text {
            Some(t) => Some(self.shards[0].index(index)?.analyze(t)?),
            None => None,
        };
        let stats = match &terms {
            Some(terms) => {
                let mut total = StatsSnapshot::default();
                for s in &self.shards {
                    if let Some(st) = s.text_stats(index, terms)? {
                        total.merge(&st);
                    }
                }
                Some(total)
            }
            None => None,
        };
        let q = PartQuery {
            vector: req.vector.as_deref().filter(|_| alpha > 0.0),
            k: req.k,
            ef: req.ef(),
            filter: expr.as_ref(),
            terms: terms.as_deref(),
        };
        let metric = self.shards[0].index(index)?.config().metric;
        let stats_ref = stats.as_ref().map(|s| s as &dyn CorpusStats);
        let mut parts = Vec::with_capacity(self.shards.len());
        for s in &self.shards {
            parts.push(s.search_part(index, &q, stats_ref)?);
        }
        if terms.is_none() {
            let lists = parts
                .into_iter()
                .map(|p| p.into_iter().map(ByDistance).collect())
                .collect();
            return Ok(vector_hits(metric, merge_top_k(lists, req.k)));
        }
        Ok(fuse(
            metric,
            alpha,
            req.k,
            parts.into_iter().flatten().collect(),
        ))
    }

    pub fn kv_set(&mut self, key: &str, value: Vec<u8>) -> Result<()> {
        let s = shard_of(key, self.shards.len());
        self.shards[s].kv_mut().set(key, value)
    }

    pub fn kv_get(&self, key: &str) -> Option<&[u8]> {
        self.shards[shard_of(key, self.shards.len())].kv().get(key)
    }

    pub fn kv_delete(&mut self, key: &str) -> bool {
        let s = shard_of(key, self.shards.len());
        self.shards[s].kv_mut().delete(key)
    }
}
