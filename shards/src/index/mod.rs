//! One index's part on one shard: ids, vectors, HNSW graph, metadata index and BM25
//! postings for the items whose id hashes to this shard.

use std::collections::{HashMap, HashSet};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, ShardError};
use crate::filter::{self, Expr};
use crate::hnsw::{Candidate, Hnsw, HnswParams};
use crate::limits::{
    DIM_MAX, EF_CONSTRUCTION_MAX, F16_ABS_MAX, ID_BYTES_MAX, INDEX_NAME_BYTES_MAX,
    METADATA_BYTES_MAX, M_MAX, NODES_PER_PART_MAX, VALUE_ABS_MAX,
};
use crate::metadata::MetadataIndex;
use crate::metric::{Metric, Precision};
use crate::search::PartHit;
use crate::text::{Bm25Index, CorpusStats, StatsSnapshot, TextLanguage};
use crate::vectors::VectorStore;

mod steps;

/// Filtered searches scan the allowed set exactly when it has at most this many
/// nodes, or when it is at most [`EXACT_SCAN_PERCENT`] of the part: cheaper than a
/// graph walk and exact, where a filtered graph walk would lose recall.
pub const EXACT_SCAN_MIN: u64 = 2_048;
/// Extra candidates a shard looks at beyond k, so ties at the k-th distance can be
/// broken by id when shards are merged.
const TIE_SLACK: usize = 4;
pub const EXACT_SCAN_PERCENT: u64 = 3;

/// Most auto-link rules on one index.
pub const AUTO_LINK_RULES_MAX: usize = 32;

/// "When an item has metadata field `metadata_field`, link it to the item whose id
/// is that value (each value, for an array) with `relation_type`." Targets need not
/// exist yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoLinkRule {
    pub metadata_field: String,
    pub relation_type: String,
    /// Accepted for compatibility; links to missing targets are always kept.
    #[serde(default = "default_true")]
    pub create_node: bool,
}

fn default_true() -> bool {
    true
}

/// Checks a rule set's limits.
pub fn check_auto_links(rules: &[AutoLinkRule]) -> Result<()> {
    if rules.len() > AUTO_LINK_RULES_MAX {
        return Err(ShardError::too_large(
            "auto_links rules",
            rules.len(),
            AUTO_LINK_RULES_MAX,
        ));
    }
    for r in rules {
        if r.metadata_field.is_empty() {
            return Err(ShardError::invalid(
                "auto_links",
                "metadata_field must not be empty",
            ));
        }
        crate::graph::check_relation(&r.relation_type)?;
    }
    Ok(())
}

/// Memory decay: a result's score is multiplied by `0.5 ^ (age / half_life)`, age
/// being the time since the item was added or last reinforced; items with metadata
/// `_pinned: true` do not decay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryConfig {
    pub enabled: bool,
    /// Half-life in nanoseconds (> 0).
    pub decay_half_life_ns: i64,
}

/// Background maintenance of an index (durations in nanoseconds).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MaintenanceConfig {
    /// How often to check whether a vacuum is due.
    pub vacuum_interval_ns: i64,
    /// Fraction of soft-deleted rows that makes a vacuum due.
    pub delete_threshold: f64,
    pub refine_enabled: bool,
    pub refine_interval_ns: i64,
    pub refine_batch_size: u32,
    /// 0 = the larger of the index's ef_construction and 200.
    pub refine_ef_construction: u32,
    /// How often the graph vacuum runs (when `graph_retention_ns` > 0).
    pub graph_vacuum_interval_ns: i64,
    /// Soft-deleted edge versions older than this are removed by the graph vacuum;
    /// 0 keeps them forever (time travel sees all history). The graph is shared by
    /// every index, so the shortest retention set on any index applies to it.
    pub graph_retention_ns: i64,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            vacuum_interval_ns: 5 * 60 * 1_000_000_000,
            delete_threshold: 0.1,
            refine_enabled: false,
            refine_interval_ns: 30 * 60 * 1_000_000_000,
            refine_batch_size: 500,
            refine_ef_construction: 0,
            graph_vacuum_interval_ns: 60 * 60 * 1_000_000_000,
            graph_retention_ns: 0,
        }
    }
}

impl MaintenanceConfig {
    pub fn validate(&self) -> Result<()> {
        if self.graph_retention_ns < 0 {
            return Err(ShardError::invalid(
                "graph_retention",
                "must not be negative (0 keeps history forever)",
            ));
        }
        if self.vacuum_interval_ns <= 0
            || self.refine_interval_ns <= 0
            || self.graph_vacuum_interval_ns <= 0
        {
            return Err(ShardError::invalid(
                "maintenance",
                "intervals must be positive",
            ));
        }
        if !(0.0..=1.0).contains(&self.delete_threshold) {
            return Err(ShardError::invalid(
                "delete_threshold",
                "must be within 0..=1",
            ));
        }
        if self.refine_batch_size == 0 || self.refine_batch_size > 100_000 {
            return Err(ShardError::invalid(
                "refine_batch_size",
                "must be within 1..=100000",
            ));
        }
        if self.refine_ef_construction as usize > EF_CONSTRUCTION_MAX {
            return Err(ShardError::too_large(
                "refine_ef_construction",
                self.refine_ef_construction as usize,
                EF_CONSTRUCTION_MAX,
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    pub name: String,
    pub metric: Metric,
    pub precision: Precision,
    pub m: usize,
    pub ef_construction: usize,
    pub text_language: Option<TextLanguage>,
    /// Metadata-driven graph links (absent in format-v1 logs: none).
    #[serde(default)]
    pub auto_links: Vec<AutoLinkRule>,
    /// Memory decay (absent in format-v1 logs: none).
    #[serde(default)]
    pub memory: Option<MemoryConfig>,
    /// Background maintenance (absent in format-v1 logs: the defaults).
    #[serde(default)]
    pub maintenance: MaintenanceConfig,
}

impl IndexConfig {
    /// Config with upstream defaults (euclidean, float32, m 16, ef_construction 200).
    pub fn new(name: &str) -> IndexConfig {
        IndexConfig {
            name: name.to_owned(),
            metric: Metric::Euclidean,
            precision: Precision::Float32,
            m: 16,
            ef_construction: 200,
            text_language: None,
            auto_links: Vec::new(),
            memory: None,
            maintenance: MaintenanceConfig::default(),
        }
    }

    /// Checks limits; `m == 0` and `ef_construction == 0` mean the defaults.
    pub fn validated(mut self) -> Result<IndexConfig> {
        check_name(&self.name)?;
        if self.m == 0 {
            self.m = 16;
        }
        if self.ef_construction == 0 {
            self.ef_construction = 200;
        }
        if !(2..=M_MAX).contains(&self.m) {
            return Err(ShardError::invalid(
                "m",
                format!("{} is not within 2..={M_MAX}", self.m),
            ));
        }
        check_auto_links(&self.auto_links)?;
        self.maintenance.validate()?;
        if let Some(mem) = self.memory {
            if mem.decay_half_life_ns <= 0 {
                return Err(ShardError::invalid(
                    "memory_config",
                    "decay_half_life must be positive",
                ));
            }
        }
        if self.ef_construction > EF_CONSTRUCTION_MAX {
            return Err(ShardError::too_large(
                "ef_construction",
                self.ef_construction,
                EF_CONSTRUCTION_MAX,
            ));
        }
        Ok(self)
    }
}

pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(ShardError::invalid("index_name", "must not be empty"));
    }
    if name.len() > INDEX_NAME_BYTES_MAX {
        return Err(ShardError::too_large(
            "index_name bytes",
            name.len(),
            INDEX_NAME_BYTES_MAX,
        ));
    }
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(ShardError::invalid(
            "index_name",
            "must not contain '/' or control characters",
        ));
    }
    Ok(())
}

pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(ShardError::invalid("id", "must not be empty"));
    }
    if id.len() > ID_BYTES_MAX {
        return Err(ShardError::too_large("id bytes", id.len(), ID_BYTES_MAX));
    }
    Ok(())
}

/// A zero vector of any length (including empty, and the client's `[0.0]`) marks a
/// graph entity: stored, filterable, never returned by vector search.
pub fn is_entity_vector(v: &[f32]) -> bool {
    v.iter().all(|x| *x == 0.0)
}

/// The largest |x| an index of `metric` and `precision` stores, with the reason
/// for the error message.
pub fn value_limit(metric: Metric, precision: Precision) -> (f32, &'static str) {
    if precision == Precision::Float16 && metric != Metric::Cosine {
        (
            F16_ABS_MAX,
            "in a float16 index (the largest half-precision value)",
        )
    } else {
        (VALUE_ABS_MAX, "so that distances stay finite")
    }
}

/// Checks that every value of `v` is finite and within `limit` (see
/// [`value_limit`]).
pub fn check_values(v: &[f32], limit: (f32, &'static str)) -> Result<()> {
    for (position, x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(ShardError::NonFiniteValue { position });
        }
        if x.abs() > limit.0 {
            return Err(ShardError::ValueOutOfRange {
                position,
                value: *x,
                max: limit.0,
                why: limit.1,
            });
        }
    }
    Ok(())
}

/// Checks one item against limits, the index dimension (`dim` None = not fixed
/// yet) and the value range of its precision (`limit`, see [`value_limit`]).
pub fn check_item(
    dim: Option<usize>,
    limit: (f32, &'static str),
    id: &str,
    vector: &[f32],
    metadata: &Map<String, Value>,
) -> Result<()> {
    check_id(id)?;
    if !is_entity_vector(vector) {
        if vector.len() > DIM_MAX {
            return Err(ShardError::DimensionOutOfRange {
                got: vector.len(),
                max: DIM_MAX,
            });
        }
        if let Some(d) = dim {
            if vector.len() != d {
                return Err(ShardError::WrongDimension {
                    expected: d,
                    got: vector.len(),
                });
            }
        }
        check_values(vector, limit)?;
    }
    if !metadata.is_empty() {
        let bytes = json_len(metadata);
        if bytes > METADATA_BYTES_MAX {
            return Err(ShardError::too_large(
                "metadata bytes",
                bytes,
                METADATA_BYTES_MAX,
            ));
        }
    }
    Ok(())
}

/// Length of a value's JSON encoding, counted without building the string.
pub(crate) fn json_len(v: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match serde_json::to_writer(&mut c, v) {
        Ok(()) => c.0,
        Err(_) => usize::MAX,
    }
}

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

/// What a shard needs to answer its part of a search.
pub struct PartQuery<'a> {
    pub vector: Option<&'a [f32]>,
    pub k: usize,
    pub ef: usize,
    pub filter: Option<&'a Expr>,
    /// Analyzed query terms (hybrid or text search).
    pub terms: Option<&'a [String]>,
    /// Only these ids may be returned (a graph filter's reachable set).
    pub only_ids: Option<&'a [String]>,
    /// The request's time (unix ns), for memory decay.
    pub now: i64,
}

/// Node flags in a snapshot.
pub(crate) const FLAG_LIVE: u8 = 1;
pub(crate) const FLAG_ENTITY: u8 = 2;

/// A part's state, borrowed for a snapshot.
pub(crate) struct IndexView<'a> {
    pub ids: &'a [Box<str>],
    pub live: &'a RoaringBitmap,
    pub entities: &'a RoaringBitmap,
    pub touched: &'a [i64],
    pub metadata: &'a [Option<Map<String, Value>>],
    pub store: Option<&'a VectorStore>,
    pub hnsw: &'a Hnsw,
    pub vacuumed: usize,
}

/// A part's state, read from a snapshot, for [`Index::restore`].
pub(crate) struct IndexParts {
    pub ids: Vec<Box<str>>,
    /// Per node: [`FLAG_LIVE`] | [`FLAG_ENTITY`].
    pub flags: Vec<u8>,
    pub touched: Vec<i64>,
    pub metadata: Vec<Option<Map<String, Value>>>,
    pub store: Option<VectorStore>,
    pub hnsw: Hnsw,
    pub vacuumed: usize,
}

pub struct Index {
    config: IndexConfig,
    store: Option<VectorStore>,
    hnsw: Hnsw,
    ids: Vec<Box<str>>,
    by_id: HashMap<Box<str>, u32>,
    /// Live (not deleted) nodes, entities included.
    live: RoaringBitmap,
    entities: RoaringBitmap,
    /// Live nodes that vector search may return (live minus entities), kept so
    /// filtered queries do not rebuild it.
    searchable: RoaringBitmap,
    metadata: Vec<Option<Map<String, Value>>>,
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
            ids: Vec::new(),
            by_id: HashMap::new(),
            live: RoaringBitmap::new(),
            entities: RoaringBitmap::new(),
            searchable: RoaringBitmap::new(),
            metadata: Vec::new(),
            touched: Vec::new(),
            vacuumed: 0,
            meta_index: MetadataIndex::new(),
            vacuum_plan: None,
            pending_store: None,
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
            ids: kept.iter().map(|&n| self.ids[n as usize].clone()).collect(),
            flags,
            touched: kept.iter().map(|&n| self.touched[n as usize]).collect(),
            metadata: kept
                .iter()
                .map(|&n| self.metadata[n as usize].take())
                .collect(),
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
        self.by_id.get(id).is_some_and(|n| self.live.contains(*n))
    }

    /// Adds or updates an item. A changed vector gets a new node (the old one is
    /// soft-deleted and stays a graph bridge until vacuum); an unchanged vector keeps
    /// its node and only its metadata changes.
    pub fn upsert(&mut self, id: &str, vector: &[f32], metadata: Map<String, Value>) -> Result<()> {
        let limit = value_limit(self.config.metric, self.config.precision);
        check_item(self.dim(), limit, id, vector, &metadata)?;
        let entity = is_entity_vector(vector);
        if let Some(&old) = self.by_id.get(id) {
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
            self.hnsw.insert(store, node);
        }
        self.ids.push(id.into());
        self.by_id.insert(id.into(), node);
        self.live.insert(node);
        if !entity {
            self.searchable.insert(node);
        }
        self.metadata.push(None);
        self.touched.push(now_nanos());
        self.set_metadata(node, metadata);
        Ok(())
    }

    /// Sets when `id` was last touched (added or reinforced); returns whether it exists.
    pub fn touch(&mut self, id: &str, at: i64) -> bool {
        match self.by_id.get(id) {
            Some(&node) if self.live.contains(node) => {
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
        let pinned = self.metadata[node as usize]
            .as_ref()
            .and_then(|m| m.get("_pinned"))
            .is_some_and(|v| v.as_bool() == Some(true));
        if pinned {
            return 1.0;
        }
        let age = (now - self.touched[node as usize]).max(0) as f64;
        0.5f64.powf(age / mem.decay_half_life_ns as f64) as f32
    }

    fn set_metadata(&mut self, node: u32, metadata: Map<String, Value>) {
        if let Some(old) = self.metadata[node as usize].take() {
            self.meta_index.remove(node, &old);
        }
        self.meta_index.insert(node, &metadata);
        if let Some(text) = self.text.as_mut() {
            text.insert(node, &text_of(&metadata));
        }
        self.metadata[node as usize] = Some(metadata);
    }

    fn remove_node(&mut self, node: u32) {
        self.live.remove(node);
        self.entities.remove(node);
        self.searchable.remove(node);
        if let Some(old) = self.metadata[node as usize].take() {
            self.meta_index.remove(node, &old);
        }
        if let Some(text) = self.text.as_mut() {
            text.remove(node);
        }
    }

    /// Soft-deletes an item; returns whether it existed.
    pub fn delete(&mut self, id: &str) -> bool {
        match self.by_id.remove(id) {
            Some(node) if self.live.contains(node) => {
                self.remove_node(node);
                true
            }
            _ => false,
        }
    }

    /// Every live item (entities included), in node order: the state a compacted log
    /// must rebuild. Vectors are as stored (normalized for cosine; empty for entities).
    pub fn live_items(&self) -> impl Iterator<Item = Item> + '_ {
        self.live.iter().map(move |node| Item {
            id: self.ids[node as usize].to_string(),
            vector: match &self.store {
                Some(s) if !self.entities.contains(node) => s.vector(node),
                _ => Vec::new(),
            },
            metadata: self.metadata[node as usize].clone().unwrap_or_default(),
            touched: self.touched[node as usize],
        })
    }

    /// Live items (entities included) whose metadata matches `expr`, at most `limit`,
    /// in node order.
    pub fn find(&self, expr: &Expr, limit: usize) -> Vec<Item> {
        filter::evaluate(expr, &self.meta_index, &self.live)
            .iter()
            .take(limit)
            .filter_map(|node| self.get(&self.ids[node as usize]))
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<Item> {
        let &node = self.by_id.get(id)?;
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
            metadata: self.metadata[node as usize].clone().unwrap_or_default(),
            touched: self.touched[node as usize],
        })
    }

    /// BM25 statistics of this part for the query terms (None without text search).
    pub fn text_stats(&self, terms: &[String]) -> Option<StatsSnapshot> {
        self.text.as_ref().map(|t| t.stats_for(terms))
    }

    /// This part's candidates. Vector-only: the `k` nearest, by distance. With
    /// terms: the union of the vector side's best `ef` and the text side's best `ef`,
    /// each with both scores filled in, for [`crate::search::fuse`].
    pub fn search_part(
        &self,
        q: &PartQuery,
        stats: Option<&dyn CorpusStats>,
    ) -> Result<Vec<PartHit>> {
        let only = q.only_ids.map(|ids| {
            let mut set: RoaringBitmap = ids
                .iter()
                .filter_map(|id| self.by_id.get(id.as_str()).copied())
                .collect();
            set &= &self.searchable;
            set
        });
        let allowed = match (q.filter, only) {
            (Some(expr), Some(only)) => Some(filter::evaluate(expr, &self.meta_index, &only)),
            (Some(expr), None) => Some(filter::evaluate(expr, &self.meta_index, &self.searchable)),
            (None, only) => only,
        };
        let text_side = match (q.terms, &self.text) {
            (Some(_), None) => {
                return Err(ShardError::TextSearchDisabled {
                    index: self.config.name.clone(),
                })
            }
            (Some(terms), Some(t)) => Some((terms, t)),
            (None, _) => None,
        };
        let decays = self.config.memory.is_some_and(|m| m.enabled);
        let want = if text_side.is_some() || decays {
            q.ef.max(q.k)
        } else {
            q.k
        };
        let query = match (q.vector, &self.store) {
            // An all-zero query is a real point under euclidean and dot; under
            // cosine it has no direction (the router refuses it).
            (Some(v), Some(store))
                if self.config.metric != Metric::Cosine || !is_entity_vector(v) =>
            {
                if v.len() != store.dim() {
                    return Err(ShardError::WrongDimension {
                        expected: store.dim(),
                        got: v.len(),
                    });
                }
                Some((store.prepare(v), store))
            }
            _ => None,
        };
        let hit = |node: u32, distance: f32, text_score: f32| PartHit {
            id: self.ids[node as usize].to_string(),
            distance,
            text_score,
            decay: self.decay(node, q.now),
        };
        let nearest = match &query {
            Some((prepared, store)) => {
                let mut c = self.vector_search(
                    store,
                    prepared,
                    want + TIE_SLACK,
                    q.ef.max(want + TIE_SLACK),
                    allowed.as_ref(),
                );
                // Keep the best `want`, and whatever ties with the last of them: the
                // merge breaks ties by id across shards, so a shard must not drop a
                // tied candidate by its internal node order.
                if c.len() > want {
                    let last = c[want.max(1) - 1].d;
                    let keep = want + c[want..].iter().take_while(|x| x.d <= last).count();
                    c.truncate(keep);
                }
                c
            }
            None => Vec::new(),
        };
        let Some((terms, text)) = text_side else {
            let mut hits: Vec<PartHit> = nearest.into_iter().map(|c| hit(c.id, c.d, 0.0)).collect();
            // The merge expects each part sorted as it merges: distance, then id.
            hits.sort_by(|a, b| {
                a.distance
                    .total_cmp(&b.distance)
                    .then_with(|| a.id.cmp(&b.id))
            });
            return Ok(hits);
        };
        // Hybrid / text: the union of both sides, each member scored by both.
        let stats: &dyn CorpusStats = stats.unwrap_or(text);
        let mut hits: Vec<PartHit> = Vec::with_capacity(2 * want);
        let mut seen: HashSet<u32> = HashSet::with_capacity(2 * want);
        for c in nearest {
            seen.insert(c.id);
            hits.push(hit(c.id, c.d, text.score(c.id, terms, stats)));
        }
        for (node, score) in text.search(terms, stats, want, allowed.as_ref()) {
            if !self.searchable.contains(node) || !seen.insert(node) {
                continue;
            }
            let distance = match &query {
                Some((p, store)) => store.exact_distance(p, node),
                None => f32::INFINITY,
            };
            hits.push(hit(node, distance, score));
        }
        Ok(hits)
    }

    fn vector_search(
        &self,
        store: &VectorStore,
        q: &crate::vectors::Query,
        k: usize,
        ef: usize,
        allowed: Option<&RoaringBitmap>,
    ) -> Vec<Candidate> {
        match allowed {
            Some(set)
                if set.len() <= EXACT_SCAN_MIN
                    || set.len() * 100 <= EXACT_SCAN_PERCENT * self.live.len() =>
            {
                let mut all: Vec<Candidate> = set
                    .iter()
                    .map(|id| Candidate {
                        d: store.exact_distance(q, id),
                        id,
                    })
                    .collect();
                let k = k.min(all.len());
                if k == 0 {
                    return Vec::new();
                }
                all.select_nth_unstable(k - 1);
                all.truncate(k);
                all.sort_unstable();
                all
            }
            Some(set) => self
                .hnsw
                .search(store, q, k, ef, Some(&|id| set.contains(id))),
            // Every node searchable: no per-node check on the hot path.
            None if self.searchable.len() as usize == self.ids.len() => {
                self.hnsw.search(store, q, k, ef, None)
            }
            None => self
                .hnsw
                .search(store, q, k, ef, Some(&|id| self.searchable.contains(id))),
        }
    }

    /// Borrowed state for a snapshot.
    pub(crate) fn view(&self) -> IndexView<'_> {
        IndexView {
            ids: &self.ids,
            live: &self.live,
            entities: &self.entities,
            touched: &self.touched,
            metadata: &self.metadata,
            store: self.store.as_ref(),
            hnsw: &self.hnsw,
            vacuumed: self.vacuumed,
        }
    }

    /// Replaces this (empty) part's contents with a snapshot's, rebuilding what is
    /// derived (id map, bitmaps, metadata and text indexes). Checks that the parts
    /// agree with each other, so a damaged snapshot is an error, not a panic.
    pub(crate) fn restore(&mut self, p: IndexParts) -> std::result::Result<(), &'static str> {
        let n = p.ids.len();
        if p.flags.len() != n || p.touched.len() != n || p.metadata.len() != n {
            return Err("node arrays differ in length");
        }
        if p.hnsw.len() != n || p.store.as_ref().is_some_and(|s| s.len() != n) {
            return Err("graph or vectors do not match the node count");
        }
        if n > NODES_PER_PART_MAX || p.vacuumed > n {
            return Err("node count out of range");
        }
        if let Some(s) = &p.store {
            if s.precision() != self.config.precision || s.metric() != self.config.metric {
                return Err("vectors are not in the index's precision and metric");
            }
        }
        let mut by_id = HashMap::with_capacity(n);
        let (mut live, mut entities) = (RoaringBitmap::new(), RoaringBitmap::new());
        for (node, (id, f)) in p.ids.iter().zip(&p.flags).enumerate() {
            if f & FLAG_LIVE == 0 {
                continue;
            }
            let node = node as u32;
            live.insert(node);
            if f & FLAG_ENTITY != 0 {
                entities.insert(node);
            }
            if by_id.insert(id.clone(), node).is_some() {
                return Err("an id is live twice");
            }
        }
        if p.store.is_none() && entities.len() != live.len() {
            return Err("vectors are missing");
        }
        let mut meta_index = MetadataIndex::new();
        let mut text = self.config.text_language.map(Bm25Index::new);
        for (node, md) in p.metadata.iter().enumerate() {
            match md {
                Some(md) if live.contains(node as u32) => {
                    meta_index.insert(node as u32, md);
                    if let Some(t) = text.as_mut() {
                        t.insert(node as u32, &text_of(md));
                    }
                }
                Some(_) => return Err("a deleted node has metadata"),
                None => {}
            }
        }
        self.searchable = &live - &entities;
        self.live = live;
        self.entities = entities;
        self.by_id = by_id;
        self.ids = p.ids;
        self.touched = p.touched;
        self.metadata = p.metadata;
        self.store = p.store;
        self.hnsw = p.hnsw;
        self.vacuumed = p.vacuumed;
        self.meta_index = meta_index;
        self.text = text;
        self.vacuum_plan = None;
        self.pending_store = None;
        Ok(())
    }

    /// Memory held by this part, split into what searches touch and the rest.
    pub fn memory(&self) -> IndexMemory {
        let rows = self.ids.len();
        let (hot, cold) = match &self.store {
            Some(s) => (s.hot_bytes_per_row() * rows, s.cold_bytes_per_row() * rows),
            None => (0, 0),
        };
        let ids: usize = self.ids.iter().map(|s| 2 * s.len() + 16 + 16 + 8).sum();
        IndexMemory {
            vectors_bytes: hot,
            rescore_bytes: cold,
            graph_bytes: self.hnsw.memory_bytes(),
            ids_bytes: ids,
            metadata_bytes: self.meta_index.memory_bytes(),
            text_bytes: self.text.as_ref().map_or(0, Bm25Index::memory_bytes),
            rows,
        }
    }
}

impl std::ops::AddAssign for IndexMemory {
    fn add_assign(&mut self, o: IndexMemory) {
        self.vectors_bytes += o.vectors_bytes;
        self.rescore_bytes += o.rescore_bytes;
        self.graph_bytes += o.graph_bytes;
        self.ids_bytes += o.ids_bytes;
        self.metadata_bytes += o.metadata_bytes;
        self.text_bytes += o.text_bytes;
        self.rows += o.rows;
    }
}

/// Bytes held by one index part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexMemory {
    /// Codes and norms every traversal touches.
    pub vectors_bytes: usize,
    /// int8's full-precision copy, read only to rescore final candidates.
    pub rescore_bytes: usize,
    pub graph_bytes: usize,
    pub ids_bytes: usize,
    pub metadata_bytes: usize,
    pub text_bytes: usize,
    /// Node slots (live, deleted and entities).
    pub rows: usize,
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

/// Unix time in nanoseconds.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}
