//! Several shards driven from the caller's thread: routes writes by id hash, fans
//! searches out, sums BM25 statistics so IDF is global, and merges top-k. This is the
//! embeddable library API; the server runs the same [`Shard`]s on per-core executors.

use crate::error::Result;
use crate::index::{IndexConfig, IndexMemory, Item};
use crate::router::{Catalog, Partitioner, RouteHash, SearchPlan};
use crate::search::{SearchHit, SearchRequest};
use crate::shard::Shard;
use crate::text::CorpusStats;

pub use crate::router::{IndexInfo, NewItem};

pub struct ShardSet {
    shards: Vec<Shard>,
    catalog: Catalog,
    partitioner: Partitioner,
}

impl ShardSet {
    pub fn new(shards: usize) -> ShardSet {
        ShardSet::with_hash(shards, RouteHash::Fnv1aMix)
    }

    /// Shards that route ids with `hash` (the server's data directories record
    /// theirs; see [`RouteHash`]).
    pub fn with_hash(shards: usize, hash: RouteHash) -> ShardSet {
        assert!(shards >= 1, "at least one shard");
        ShardSet {
            shards: (0..shards).map(|_| Shard::new()).collect(),
            catalog: Catalog::default(),
            partitioner: Partitioner::new(shards, hash),
        }
    }

    /// Which shard owns which id.
    pub fn partitioner(&self) -> Partitioner {
        self.partitioner
    }

    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }
    /// Mutable shards, e.g. to build them on several threads.
    pub fn shards_mut(&mut self) -> &mut [Shard] {
        &mut self.shards
    }

    pub fn create_index(&mut self, config: IndexConfig) -> Result<()> {
        let config = self.catalog.create(config)?;
        for s in &mut self.shards {
            s.create_index(config.clone())?;
        }
        Ok(())
    }

    pub fn drop_index(&mut self, name: &str) -> Result<()> {
        self.catalog.drop_index(name)?;
        for s in &mut self.shards {
            s.drop_index(name);
        }
        Ok(())
    }

    fn dim(&self, name: &str) -> Result<Option<usize>> {
        Ok(self.catalog.get(name)?.dim)
    }

    pub fn index_names(&self) -> Vec<String> {
        self.catalog.names()
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

    /// Checks a batch as a whole (see [`Catalog::check_batch`]).
    pub fn check_batch(&self, index: &str, items: &[NewItem]) -> Result<Option<usize>> {
        self.catalog.check_batch(index, items)
    }

    pub fn upsert(&mut self, index: &str, item: NewItem) -> Result<()> {
        self.add_batch(index, vec![item])
    }

    /// Adds or updates a batch; all-or-nothing on validation errors.
    pub fn add_batch(&mut self, index: &str, items: Vec<NewItem>) -> Result<()> {
        let dim = self.check_batch(index, &items)?;
        self.catalog.set_dim(index, dim)?;
        for it in items {
            let s = self.partitioner.shard_of(&it.id);
            self.shards[s].upsert(index, &it.id, &it.vector, it.metadata)?;
        }
        Ok(())
    }

    /// Splits a batch by owning shard (for callers that apply parts in parallel,
    /// after [`ShardSet::check_batch`] and [`ShardSet::set_dim`]).
    pub fn split_batch(&self, items: Vec<NewItem>) -> Vec<Vec<NewItem>> {
        self.partitioner.group(items, |it| it.id.as_str())
    }

    /// Records an index's dimension (as returned by [`ShardSet::check_batch`]).
    pub fn set_dim(&mut self, index: &str, dim: Option<usize>) -> Result<()> {
        self.catalog.set_dim(index, dim)
    }

    pub fn delete(&mut self, index: &str, id: &str) -> Result<bool> {
        self.dim(index)?;
        let s = self.partitioner.shard_of(id);
        self.shards[s].delete(index, id)
    }

    pub fn get(&self, index: &str, id: &str) -> Result<Option<Item>> {
        self.dim(index)?;
        self.shards[self.partitioner.shard_of(id)].get(index, id)
    }

    /// Vector, text, filtered and hybrid search over every shard.
    pub fn search(&self, index: &str, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        let plan = SearchPlan::new(
            self.catalog.get(index)?,
            req.clone(),
            crate::clock::now_nanos(),
        )?;
        let stats = match &plan.terms {
            Some(terms) => Some(SearchPlan::merge_stats(
                self.shards
                    .iter()
                    .map(|s| s.text_stats(index, terms))
                    .collect::<Result<Vec<_>>>()?,
            )),
            None => None,
        };
        let q = plan.part_query(self.shards.len());
        let stats_ref = stats.as_ref().map(|s| s as &dyn CorpusStats);
        let parts = self
            .shards
            .iter()
            .map(|s| s.search_part(index, &q, stats_ref))
            .collect::<Result<Vec<_>>>()?;
        Ok(plan.finish(parts))
    }

    pub fn kv_set(&mut self, key: &str, value: Vec<u8>) -> Result<()> {
        let s = self.partitioner.shard_of(key);
        self.shards[s].kv_mut().set(key, value)
    }

    pub fn kv_get(&self, key: &str) -> Option<&[u8]> {
        self.shards[self.partitioner.shard_of(key)].kv().get(key)
    }

    pub fn kv_delete(&mut self, key: &str) -> bool {
        let s = self.partitioner.shard_of(key);
        self.shards[s].kv_mut().delete(key)
    }
}
