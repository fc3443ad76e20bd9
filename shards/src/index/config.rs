//! An index's configuration: metric, precision, HNSW parameters, text language,
//! maintenance, memory decay and auto-link rules, and their validation.

use serde::{Deserialize, Serialize};

use crate::error::{Result, ShardError};
use crate::limits::{EF_CONSTRUCTION_MAX, M_MAX};
use crate::metric::{Metric, Precision};
use crate::text::TextLanguage;

use super::check::check_name;

pub use crate::limits::AUTO_LINK_RULES_MAX;

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
