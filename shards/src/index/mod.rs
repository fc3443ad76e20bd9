//! One index's part on one shard: ids, vectors, HNSW graph, metadata index and BM25
//! postings for the items whose id hashes to this shard.

use roaring::RoaringBitmap;
use serde_json::{Map, Value};

use crate::error::{Result, ShardError};
use crate::filter::{self, Expr};
use crate::hnsw::{Hnsw, HnswParams};
use crate::limits::NODES_PER_PART_MAX;
use crate::metadata::MetadataIndex;
use crate::metric::Precision;
use crate::parallel::ParallelFor;
use crate::text::{Bm25Index, StatsSnapshot};
use crate::vectors::VectorStore;
use ids::Ids;
use meta_texts::MetaTexts;

mod check;
mod config;
pub(crate) mod ids;
mod memory;
pub(crate) mod meta_texts;
mod parts;
mod search;
mod spec;
mod steps;
#[cfg(test)]
mod tests;

pub use crate::clock::now_nanos;
pub use check::{check_id, check_item, check_name, check_values, is_entity_vector, value_limit};
pub use config::{
    check_auto_links, AutoLinkRule, IndexConfig, MaintenanceConfig, MemoryConfig,
    AUTO_LINK_RULES_MAX,
};
pub use memory::IndexMemory;
pub(crate) use parts::{IndexParts, IndexView, FLAG_ENTITY, FLAG_LIVE};
pub use search::{PartQuery, EXACT_SCAN_MIN, EXACT_SCAN_PERCENT};
pub use spec::{GoDuration, IndexSpec, MaintenancePatch, MemorySpec, DECAY_HALF_LIFE_DEFAULT_NS};

/// A stored item as returned by `get`.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: String,
    /// As stored (normalized for cosine); empty for entities.
    pub vector: Vec<f32>,
    pub metadata: Map<String, Value>,
    /// When it was added or last reinforced (unix ns).
    pub touched: i64,
}

pub struct Index {
    config: IndexConfig,
    store: Option<VectorStore>,
    hnsw: Hnsw,
    ids: Ids,
    /// Live (not deleted) nodes, entities included.
    live: RoaringBitmap,
    entities: RoaringBitmap,
    /// Live nodes that vector search may return (live minus entities), kept so
    /// filtered queries do not rebuild it.
    searchable: RoaringBitmap,
    /// Per node: its metadata as compact JSON text (none once deleted); a parsed
    /// map costs ~650 bytes even with one field (a B-tree leaf), the text ~22.
    metadata: MetaTexts,
    /// Nodes whose metadata has `"_pinned": true` (memory decay skips them).
    pinned: RoaringBitmap,
    /// Per node: when it was added or last reinforced (unix ns).
    touched: Vec<i64>,
    /// Dead rows already removed from the graph by vacuum.
    vacuumed: usize,
    meta_index: MetadataIndex,
    text: Option<Bm25Index>,
    /// A vacuum being prepared in steps ([`Index::vacuum_step`]).
    vacuum_plan: Option<steps::VacuumPlan>,
    /// A compression being prepared in steps ([`Index::compress_step`]).
    pending_store: Option<steps::PendingStore>,
    /// Nodes pushed but not yet linked into the graph ([`Index::with_batch_linking`]).
    unlinked: Option<Vec<u32>>,
}

impl Index {
    pub fn new(config: IndexConfig) -> Result<Index> {
        let config = config.validated()?;
        let hnsw = Hnsw::new(HnswParams {
            m: config.m,
            ef_construction: config.ef_construction,
            ..HnswParams::default()
        });
        Ok(Index {
            text: config.text_language.map(Bm25Index::new),
            config,
            store: None,
            hnsw,
            ids: Ids::new(),
            live: RoaringBitmap::new(),
            entities: RoaringBitmap::new(),
            searchable: RoaringBitmap::new(),
            metadata: MetaTexts::new(),
            pinned: RoaringBitmap::new(),
            touched: Vec::new(),
            vacuumed: 0,
            meta_index: MetadataIndex::new(),
            vacuum_plan: None,
            pending_store: None,
            unlinked: None,
        })
    }

    /// Converts the stored vectors to a smaller precision (float32 -> float16 or int8,
    /// float16 -> int8), keeping the graph.
    pub fn compress(&mut self, precision: Precision) -> Result<()> {
        if precision == self.config.precision {
            return Ok(());
        }
        self.check_compress(precision)?;
        self.check_range_for(precision)?;
        self.store = self.take_converted(precision);
        self.config.precision = precision;
        Ok(())
    }

    /// Removes soft-deleted nodes from the HNSW graph (local repair of their live
    /// neighbours); returns how many neighbour lists were rebuilt.
    pub fn vacuum(&mut self) -> usize {
        let Some(store) = &self.store else {
            return 0;
        };
        self.vacuum_plan = None;
        let live = &self.live;
        let rebuilt = self.hnsw.vacuum(store, &|node| !live.contains(node));
        self.vacuumed = self.ids.len() - self.live.len() as usize;
        self.free_dead_rows();
        rebuilt
    }

    /// Drops the rows of deleted nodes (already out of the graph) and renumbers the
    /// rest densely: vectors, links, ids, metadata and the derived indexes.
    fn free_dead_rows(&mut self) {
        if self.vacuumed == 0 {
            return;
        }
        let kept: Vec<u32> = self.live.iter().collect();
        let flags = kept
            .iter()
            .map(|&n| {
                FLAG_LIVE
                    | if self.entities.contains(n) {
                        FLAG_ENTITY
                    } else {
                        0
                    }
            })
            .collect();
        let parts = IndexParts {
            ids: kept.iter().map(|&n| self.ids.id(n).into()).collect(),
            flags,
            touched: kept.iter().map(|&n| self.touched[n as usize]).collect(),
            metadata: kept.iter().map(|&n| self.metadata.get(n)).collect(),
            store: self.store.as_ref().map(|s| s.retain_rows(&kept)),
            hnsw: self.hnsw.compacted(&kept),
            vacuumed: 0,
        };
        self.restore(parts)
            .expect("parts taken from a consistent index are consistent");
    }

    /// Refines nodes `from..from + count` with a search of breadth `ef`; returns the
    /// nodes processed.
    pub fn refine(&mut self, from: u32, count: u32, ef: usize) -> u32 {
        let Some(store) = &self.store else {
            return 0;
        };
        let live = &self.live;
        self.hnsw
            .refine(store, from, count, ef, &|node| !live.contains(node))
    }

    /// Node slots (live, deleted and entities): the range refine walks.
    pub fn node_slots(&self) -> usize {
        self.ids.len()
    }

    /// Soft-deleted node slots not yet vacuumed out of the graph.
    pub fn deleted(&self) -> usize {
        self.ids.len() - self.live.len() as usize - self.vacuumed
    }

    /// Replaces the maintenance configuration.
    pub fn set_maintenance(&mut self, config: MaintenanceConfig) -> Result<()> {
        config.validate()?;
        self.config.maintenance = config;
        Ok(())
    }

    /// Replaces the auto-link rules.
    pub fn set_auto_links(&mut self, rules: Vec<AutoLinkRule>) -> Result<()> {
        check_auto_links(&rules)?;
        self.config.auto_links = rules;
        Ok(())
    }

    pub fn config(&self) -> &IndexConfig {
        &self.config
    }
    pub fn dim(&self) -> Option<usize> {
        self.store.as_ref().map(VectorStore::dim)
    }
    /// Live items (entities included).
    pub fn len(&self) -> usize {
        self.live.len() as usize
    }
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
    pub fn contains(&self, id: &str) -> bool {
        self.ids.get(id).is_some_and(|n| self.live.contains(n))
    }

    /// Adds or updates an item. A changed vector gets a new node (the old one is
    /// soft-deleted and stays a graph bridge until vacuum); an unchanged vector keeps
    /// its node and only its metadata changes.
    pub fn upsert(&mut self, id: &str, vector: &[f32], metadata: Map<String, Value>) -> Result<()> {
        self.upsert_at(id, vector, metadata, now_nanos())
    }

    /// [`Index::upsert`] at a given time (unix ns: when memory decay counts from);
    /// the logged op carries it, so replay does not read the clock.
    pub fn upsert_at(
        &mut self,
        id: &str,
        vector: &[f32],
        metadata: Map<String, Value>,
        at: i64,
    ) -> Result<()> {
        let limit = value_limit(self.config.metric, self.config.precision);
        check_item(self.dim(), limit, id, vector, &metadata)?;
        let entity = is_entity_vector(vector);
        if let Some(old) = self.ids.get(id) {
            if self.live.contains(old) {
                let same = if entity {
                    self.entities.contains(old)
                } else {
                    !self.entities.contains(old)
                        && self
                            .store
                            .as_ref()
                            .is_some_and(|s| s.stores_same(old, vector))
                };
                if same {
                    self.set_metadata(old, metadata);
                    self.touched[old as usize] = at;
                    return Ok(());
                }
                self.remove_node(old);
            }
        }
        if self.ids.len() >= NODES_PER_PART_MAX {
            return Err(ShardError::too_large(
                "nodes in one index part",
                self.ids.len() + 1,
                NODES_PER_PART_MAX,
            ));
        }
        let node = self.ids.len() as u32;
        if !entity && self.store.is_none() {
            let mut store =
                VectorStore::new(vector.len(), self.config.metric, self.config.precision);
            for _ in 0..node {
                store.push(&vec![0.0; vector.len()]);
            }
            self.store = Some(store);
        }
        if let Some(store) = self.store.as_mut() {
            if entity {
                store.push(&vec![0.0; store.dim()]);
            } else {
                store.push(vector);
            }
        }
        if entity {
            self.hnsw.push_isolated(node);
            self.entities.insert(node);
        } else {
            let store = self.store.as_ref().expect("created above");
            match &mut self.unlinked {
                Some(nodes) => {
                    self.hnsw.push_unlinked(node);
                    nodes.push(node);
                }
                None => self.hnsw.insert(store, node),
            }
        }
        self.ids.push(id);
        self.ids.insert(node);
        self.live.insert(node);
        if !entity {
            self.searchable.insert(node);
        }
        self.metadata.push(None);
        self.touched.push(at);
        self.set_metadata(node, metadata);
        Ok(())
    }

    /// Runs `f` (which adds items, e.g. with [`Index::upsert_at`]) with the graph
    /// linking of every new node deferred, then links them all in batches whose
    /// searches run on `par`'s threads (`Hnsw::link_batch`). Searches made inside `f`
    /// do not find the items `f` added.
    pub fn with_batch_linking<R>(
        &mut self,
        par: &dyn ParallelFor,
        f: impl FnOnce(&mut Index) -> R,
    ) -> R {
        let began = self.begin_batch_linking();
        let out = f(self);
        if began {
            self.finish_batch_linking(par);
        }
        out
    }

    /// From now on, new nodes are pushed unlinked until
    /// [`Index::finish_batch_linking`]; false (and no change) if already deferring.
    pub fn begin_batch_linking(&mut self) -> bool {
        if self.unlinked.is_some() {
            return false;
        }
        self.unlinked = Some(Vec::new());
        true
    }

    /// Links every node pushed since [`Index::begin_batch_linking`], on `par`.
    pub fn finish_batch_linking(&mut self, par: &dyn ParallelFor) {
        let nodes = self.unlinked.take().unwrap_or_default();
        if let Some(store) = &self.store {
            self.hnsw.link_batch(store, &nodes, par);
        }
    }

    /// Sets when `id` was last touched (added or reinforced); returns whether it exists.
    pub fn touch(&mut self, id: &str, at: i64) -> bool {
        match self.ids.get(id) {
            Some(node) if self.live.contains(node) => {
                self.touched[node as usize] = at;
                true
            }
            _ => false,
        }
    }

    /// The decay factor of `node` at `now` (1 without memory config or when pinned).
    fn decay(&self, node: u32, now: i64) -> f32 {
        let Some(mem) = self.config.memory.filter(|m| m.enabled) else {
            return 1.0;
        };
        if self.pinned.contains(node) {
            return 1.0;
        }
        let age = (now - self.touched[node as usize]).max(0) as f64;
        0.5f64.powf(age / mem.decay_half_life_ns as f64) as f32
    }

    fn set_metadata(&mut self, node: u32, metadata: Map<String, Value>) {
        if let Some(old) = self.metadata.get(node) {
            self.meta_index.remove(node, &parse_metadata(old));
        }
        self.meta_index.insert(node, &metadata);
        if let Some(text) = self.text.as_mut() {
            text.insert(node, &text_of(&metadata));
        }
        if is_pinned(&metadata) {
            self.pinned.insert(node);
        } else {
            self.pinned.remove(node);
        }
        let text = compact_metadata(&metadata);
        self.metadata.set(node, Some(&text));
    }

    /// `node`'s metadata as a map (empty when it has none).
    fn metadata_of(&self, node: u32) -> Map<String, Value> {
        self.metadata
            .get(node)
            .map(parse_metadata)
            .unwrap_or_default()
    }

    fn remove_node(&mut self, node: u32) {
        self.live.remove(node);
        self.entities.remove(node);
        self.searchable.remove(node);
        self.pinned.remove(node);
        if let Some(old) = self.metadata.get(node) {
            self.meta_index.remove(node, &parse_metadata(old));
        }
        self.metadata.set(node, None);
        if let Some(text) = self.text.as_mut() {
            text.remove(node);
        }
    }

    /// Soft-deletes an item; returns whether it existed.
    pub fn delete(&mut self, id: &str) -> bool {
        match self.ids.remove(id) {
            Some(node) if self.live.contains(node) => {
                self.remove_node(node);
                true
            }
            _ => false,
        }
    }

    /// Every live item (entities included), in node order: the state a snapshot
    /// must rebuild. Vectors are as stored (normalized for cosine; empty for entities).
    pub fn live_items(&self) -> impl Iterator<Item = Item> + '_ {
        self.live.iter().map(move |node| Item {
            id: self.ids.id(node).to_string(),
            vector: match &self.store {
                Some(s) if !self.entities.contains(node) => s.vector(node),
                _ => Vec::new(),
            },
            metadata: self.metadata_of(node),
            touched: self.touched[node as usize],
        })
    }

    /// Live items (entities included) whose metadata matches `expr`, at most `limit`,
    /// in node order.
    pub fn find(&self, expr: &Expr, limit: usize) -> Vec<Item> {
        filter::evaluate(expr, &self.meta_index, &self.live)
            .iter()
            .take(limit)
            .filter_map(|node| self.get(self.ids.id(node)))
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<Item> {
        let node = self.ids.get(id)?;
        if !self.live.contains(node) {
            return None;
        }
        let vector = match &self.store {
            Some(s) if !self.entities.contains(node) => s.vector(node),
            _ => Vec::new(),
        };
        Some(Item {
            id: id.to_owned(),
            vector,
            metadata: self.metadata_of(node),
            touched: self.touched[node as usize],
        })
    }

    /// BM25 statistics of this part for the query terms (None without text search).
    pub fn text_stats(&self, terms: &[String]) -> Option<StatsSnapshot> {
        self.text.as_ref().map(|t| t.stats_for(terms))
    }
}

/// Metadata as stored: compact JSON text.
pub(crate) fn compact_metadata(m: &Map<String, Value>) -> Box<str> {
    serde_json::to_string(m).map_or_else(|_| "{}".into(), String::into_boxed_str)
}

/// Stored metadata back as a map; text that does not parse (never written by
/// [`compact_metadata`], refused by `restore`) reads as no metadata.
pub(crate) fn parse_metadata(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Whether metadata pins an item against memory decay (`"_pinned": true`).
pub(crate) fn is_pinned(m: &Map<String, Value>) -> bool {
    m.get("_pinned").is_some_and(|v| v.as_bool() == Some(true))
}

/// The text BM25 indexes for an item: its string metadata values (and string array
/// elements), in key order, joined by spaces.
pub fn text_of(metadata: &Map<String, Value>) -> String {
    let mut out = String::new();
    for v in metadata.values() {
        match v {
            Value::String(s) => push_text(&mut out, s),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .for_each(|s| push_text(&mut out, s)),
            _ => {}
        }
    }
    out
}

fn push_text(out: &mut String, s: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(s);
}
