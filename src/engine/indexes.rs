//! Index management on the catalog and every shard: create, drop, list, info, the
//! configuration (maintenance, auto-links) and the figures the scheduler reads.

use kektordb_shards::index::{
    AutoLinkRule, IndexConfig, IndexMemory, IndexSpec, MaintenanceConfig, MaintenancePatch,
};
use kektordb_shards::op::Op;
use kektordb_shards::router::IndexInfo;
use kektordb_shards::ShardError;

use super::error::{EngineError, Result};
use super::Engine;

impl Engine {
    pub async fn create_index(&self, config: IndexConfig) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            let config = cat.create(config)?;
            let name = config.name.clone();
            match self.enqueue_all(move |st| st.durable.apply(Op::CreateIndex(config.clone()))) {
                Ok(rxs) => rxs,
                Err(e) => {
                    let _ = cat.drop_index(&name);
                    return Err(e);
                }
            }
        };
        for r in Self::collect(rxs).await? {
            r?;
        }
        Ok(())
    }

    pub async fn drop_index(&self, name: &str) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            cat.get(name)?;
            let owned = name.to_owned();
            let rxs = self.enqueue_all(move |st| {
                st.durable.apply(Op::DropIndex {
                    index: owned.clone(),
                })
            })?;
            cat.drop_index(name)?;
            rxs
        };
        Self::collect(rxs).await?;
        Ok(())
    }

    pub fn index_names(&self) -> Vec<String> {
        self.catalog().names()
    }

    pub async fn info(&self, name: &str) -> Result<IndexInfo> {
        let entry = self.catalog().get(name)?.clone();
        let owned = name.to_owned();
        let parts = self
            .ask_all(move |s| s.index(&owned).map(|ix| (ix.len(), ix.memory())))
            .await?;
        let mut info = IndexInfo {
            config: entry.config,
            dim: entry.dim,
            len: 0,
            memory: IndexMemory::default(),
        };
        for p in parts {
            let (len, mem) = p?;
            info.len += len;
            info.memory += mem;
        }
        Ok(info)
    }

    /// Replaces an index's maintenance configuration (durable on every shard).
    pub async fn set_maintenance(
        &self,
        index: &str,
        config: kektordb_shards::index::MaintenanceConfig,
    ) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            cat.set_maintenance(index, config)?;
            let owned = index.to_owned();
            self.enqueue_all(move |st| {
                st.durable.apply(Op::SetMaintenance {
                    index: owned.clone(),
                    config,
                })
            })?
        };
        for r in Self::collect(rxs).await? {
            r?;
        }
        Ok(())
    }

    /// Replaces an index's auto-link rules (durable on every shard before it returns).
    pub async fn set_auto_links(
        &self,
        index: &str,
        rules: Vec<kektordb_shards::index::AutoLinkRule>,
    ) -> Result<()> {
        let rxs = {
            let mut cat = self.catalog_mut();
            cat.set_auto_links(index, rules.clone())?;
            let owned = index.to_owned();
            self.enqueue_all(move |st| {
                st.durable.apply(Op::SetAutoLinks {
                    index: owned.clone(),
                    rules: rules.clone(),
                })
            })?
        };
        for r in Self::collect(rxs).await? {
            r?;
        }
        Ok(())
    }

    /// Soft-deleted rows and all rows of an index, summed over shards.
    pub async fn deleted_rows(&self, index: &str) -> Result<(usize, usize)> {
        let owned = index.to_owned();
        let parts = self
            .ask_all(move |s| s.index(&owned).map(|ix| (ix.deleted(), ix.node_slots())))
            .await?;
        let mut total = (0, 0);
        for p in parts {
            let (d, n) = p?;
            total.0 += d;
            total.1 += n;
        }
        Ok(total)
    }
}

impl Engine {
    /// Creates an index from its user-facing description (names, Go durations).
    pub async fn create_index_from(&self, spec: IndexSpec) -> Result<()> {
        self.create_index(spec.into_config()?).await
    }

    /// Creates an index from `spec` unless one of that name exists (front ends that
    /// create their index on demand: pipelines, the proxy, MCP). An index created
    /// by another caller meanwhile counts as existing.
    pub async fn ensure_index(&self, spec: IndexSpec) -> Result<()> {
        if self.catalog().get(&spec.index_name).is_ok() {
            return Ok(());
        }
        let name = spec.index_name.clone();
        match self.create_index_from(spec).await {
            Err(_) if self.catalog().get(&name).is_ok() => Ok(()),
            r => r,
        }
    }

    /// An index's configuration, from the catalog (no shard is asked).
    pub fn config(&self, name: &str) -> Result<IndexConfig> {
        Ok(self.catalog().get(name)?.config.clone())
    }

    /// Every index with its figures, by name. An index dropped while the list is
    /// gathered is left out.
    pub async fn list_indexes(&self) -> Result<Vec<IndexInfo>> {
        let mut out = Vec::new();
        for name in self.index_names() {
            match self.info(&name).await {
                Ok(info) => out.push(info),
                Err(EngineError::Shard(ShardError::IndexNotFound { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Applies `patch` to an index's maintenance configuration (validated, durable
    /// on every shard); returns the new configuration.
    pub async fn update_maintenance(
        &self,
        name: &str,
        patch: &MaintenancePatch,
    ) -> Result<MaintenanceConfig> {
        let merged = self.config(name)?.maintenance.merged(patch)?;
        self.set_maintenance(name, merged).await?;
        Ok(merged)
    }

    /// An index's auto-link rules.
    pub fn auto_links(&self, name: &str) -> Result<Vec<AutoLinkRule>> {
        Ok(self.config(name)?.auto_links)
    }
}
