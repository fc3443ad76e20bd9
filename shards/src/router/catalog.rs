//! The catalog: which indexes exist, their configuration and fixed dimension, and
//! the checks a batch passes as a whole before any shard applies it.

use std::collections::HashMap;
use std::sync::Arc;

use super::item::NewItem;
use crate::error::{Result, ShardError};
use crate::index::{check_item, is_entity_vector, value_limit, IndexConfig};
use crate::limits::BATCH_MAX;
use crate::text::Analyzer;

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
        let entry = self.get(index)?;
        let mut dim = entry.dim;
        let limit = value_limit(entry.config.metric, entry.config.precision);
        for it in items {
            check_item(dim, limit, &it.id, &it.vector, &it.metadata)?;
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
