//! One shard: its part of every index and its KV partition. No threads, no locks:
//! the owner (an executor, or [`crate::ShardSet`] on the caller's thread) drives it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Result, ShardError};
use crate::graph::Graph;
use crate::index::{Index, IndexConfig, Item, PartQuery};
use crate::kv::KvStore;
use crate::parallel::ParallelFor;
use crate::search::PartHit;
use crate::text::{CorpusStats, StatsSnapshot};

#[derive(Default)]
pub struct Shard {
    indexes: HashMap<String, Index>,
    kv: KvStore,
    graph: Graph,
}

impl Shard {
    pub fn new() -> Shard {
        Shard::default()
    }

    pub fn create_index(&mut self, config: IndexConfig) -> Result<()> {
        if self.indexes.contains_key(&config.name) {
            return Err(ShardError::IndexExists { name: config.name });
        }
        let index = Index::new(config)?;
        self.indexes.insert(index.config().name.clone(), index);
        Ok(())
    }

    /// Drops an index; returns whether it existed.
    pub fn drop_index(&mut self, name: &str) -> bool {
        self.indexes.remove(name).is_some()
    }

    pub fn index(&self, name: &str) -> Result<&Index> {
        self.indexes
            .get(name)
            .ok_or_else(|| ShardError::IndexNotFound {
                name: name.to_owned(),
            })
    }

    pub fn index_mut(&mut self, name: &str) -> Result<&mut Index> {
        self.indexes
            .get_mut(name)
            .ok_or_else(|| ShardError::IndexNotFound {
                name: name.to_owned(),
            })
    }

    pub fn indexes(&self) -> impl Iterator<Item = &Index> {
        self.indexes.values()
    }

    pub fn upsert(
        &mut self,
        index: &str,
        id: &str,
        vector: &[f32],
        metadata: Map<String, Value>,
    ) -> Result<()> {
        self.index_mut(index)?.upsert(id, vector, metadata)
    }

    /// Links the nodes of batches a log began and did not end (a torn tail: the
    /// request that wrote them was not acknowledged), so no node stays unlinked.
    pub fn finish_open_batches(&mut self) {
        for index in self.indexes.values_mut() {
            index.finish_batch_linking(&crate::parallel::Sequential);
        }
    }

    /// [`Index::with_batch_linking`] on `index`.
    pub fn with_batch_linking<R>(
        &mut self,
        index: &str,
        par: &dyn ParallelFor,
        f: impl FnOnce(&mut Index) -> R,
    ) -> Result<R> {
        Ok(self.index_mut(index)?.with_batch_linking(par, f))
    }

    pub fn delete(&mut self, index: &str, id: &str) -> Result<bool> {
        Ok(self.index_mut(index)?.delete(id))
    }

    pub fn get(&self, index: &str, id: &str) -> Result<Option<Item>> {
        Ok(self.index(index)?.get(id))
    }

    pub fn text_stats(&self, index: &str, terms: &[String]) -> Result<Option<StatsSnapshot>> {
        Ok(self.index(index)?.text_stats(terms))
    }

    pub fn search_part(
        &self,
        index: &str,
        q: &PartQuery,
        stats: Option<&dyn CorpusStats>,
    ) -> Result<Vec<PartHit>> {
        self.index(index)?.search_part(q, stats)
    }

    pub fn kv(&self) -> &KvStore {
        &self.kv
    }
    pub fn kv_mut(&mut self) -> &mut KvStore {
        &mut self.kv
    }

    /// The edges stored on this shard (outgoing of its ids, incoming to its ids).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
    pub fn graph_mut(&mut self) -> &mut Graph {
        &mut self.graph
    }
}
