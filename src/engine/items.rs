//! Items: add (logged) and import (durable at the next snapshot), get, delete,
//! reinforce. A batch is validated whole first, then applied with one job per
//! owning shard; auto-links ride in a second round of per-shard jobs.

use kektordb_shards::graph::Side;
use kektordb_shards::index::Item;
use kektordb_shards::limits::{GUIDED_BATCH_MIN, IDS_PER_REQUEST_MAX};
use kektordb_shards::op::Op;
use kektordb_shards::router::NewItem;
use kektordb_shards::ShardError;

use super::error::Result;
use super::lent_threads::LentThreads;
use super::state::Ctx;
use super::{now_nanos, Engine};

/// At most [`IDS_PER_REQUEST_MAX`] ids per request.
fn check_ids(ids: &[String]) -> std::result::Result<(), ShardError> {
    if ids.len() > IDS_PER_REQUEST_MAX {
        return Err(ShardError::too_large("ids", ids.len(), IDS_PER_REQUEST_MAX));
    }
    Ok(())
}

impl Engine {
    /// An item, or `IdNotFound`.
    pub async fn get_one(&self, index: &str, id: &str) -> Result<Item> {
        self.get_many(index, vec![id.to_owned()])
            .await?
            .pop()
            .ok_or_else(|| {
                ShardError::IdNotFound {
                    index: index.to_owned(),
                    id: id.to_owned(),
                }
                .into()
            })
    }

    /// Soft-deletes an item, or `IdNotFound` if it is not there.
    pub async fn delete_existing(&self, index: &str, id: &str) -> Result<()> {
        if self.delete(index, id).await? {
            Ok(())
        } else {
            Err(ShardError::IdNotFound {
                index: index.to_owned(),
                id: id.to_owned(),
            }
            .into())
        }
    }

    /// Adds or updates a batch; validated whole first, then applied on every owning
    /// shard in parallel (one job per shard). Returns the number of items.
    pub async fn add_batch(&self, index: &str, items: Vec<NewItem>) -> Result<usize> {
        self.add_items(index, items, true).await
    }

    /// Import: like `add_batch`, but the items are not logged one by one; they become
    /// durable at the next snapshot (`import/commit`). If the process dies first,
    /// none of the imported items is there after restart.
    pub async fn import_batch(&self, index: &str, items: Vec<NewItem>) -> Result<usize> {
        self.add_items(index, items, false).await
    }

    async fn add_items(&self, index: &str, items: Vec<NewItem>, logged: bool) -> Result<usize> {
        let dim = self.catalog().check_batch(index, &items)?;
        {
            let mut cat = self.catalog_mut();
            let current = cat.get(index)?.dim;
            match (current, dim) {
                (Some(c), Some(d)) if c != d => {
                    return Err(ShardError::WrongDimension {
                        expected: c,
                        got: d,
                    }
                    .into())
                }
                (None, Some(_)) => cat.set_dim(index, dim)?,
                _ => {}
            }
        }
        let n = items.len();
        let at = now_nanos();
        // Links the index's auto-link rules ask for, applied after the items.
        let rules = self.catalog().get(index)?.config.auto_links.clone();
        let mut links = Vec::new();
        for rule in &rules {
            for it in &items {
                let values: Vec<&str> = match it.metadata.get(&rule.metadata_field) {
                    Some(serde_json::Value::String(v)) => vec![v.as_str()],
                    Some(serde_json::Value::Array(a)) => {
                        a.iter().filter_map(|v| v.as_str()).collect()
                    }
                    _ => Vec::new(),
                };
                for target in values.into_iter().filter(|t| !t.is_empty() && *t != it.id) {
                    links.push((it.id.clone(), target.to_owned(), rule.relation_type.clone()));
                }
            }
        }
        let pending: Vec<_> = self
            .inner
            .partitioner
            .group(items, |it| it.id.as_str())
            .into_iter()
            .enumerate()
            .filter(|(_, part)| !part.is_empty())
            .map(|(s, part)| {
                let index = index.to_owned();
                let lent = LentThreads(self.inner.build_threads);
                let batch = part.len();
                self.write(s, move |st| -> std::result::Result<(), ShardError> {
                    let apply = |d: &mut Ctx| {
                        for it in part {
                            let op = Op::Upsert {
                                index: index.clone(),
                                id: it.id,
                                vector: it.vector,
                                metadata: it.metadata,
                                at,
                            };
                            if logged {
                                d.apply(op)?;
                            } else {
                                d.apply_unlogged(op)?;
                            }
                        }
                        Ok(())
                    };
                    if lent.0 > 1 || batch >= GUIDED_BATCH_MIN {
                        // The new nodes are linked together at the end: their
                        // searches spread over the shard's share of the cores (with
                        // fewer shards than cores), and a large float32 batch
                        // searches int8 codes (`Hnsw::link_batch`). The log marks
                        // the batch, so replay rebuilds the same graph.
                        st.durable.with_batch_linking(&index, &lent, apply)
                    } else {
                        apply(&mut st.durable)
                    }
                })
            })
            .collect();
        for p in pending {
            p.await??;
        }
        if !links.is_empty() {
            let at = now_nanos();
            let mut ops = Vec::with_capacity(links.len() * 2);
            for (source, target, relation) in links {
                let link = |side, node: &String, other: &String| Op::GraphLink {
                    side,
                    node: node.clone(),
                    relation: relation.clone(),
                    other: other.clone(),
                    weight: 1.0,
                    at,
                    props: serde_json::Map::new(),
                };
                ops.push((self.shard_of(&source), link(Side::Out, &source, &target)));
                ops.push((self.shard_of(&target), link(Side::In, &target, &source)));
            }
            self.apply_grouped(ops).await?;
        }
        Ok(n)
    }

    pub async fn get_many(&self, index: &str, ids: Vec<String>) -> Result<Vec<Item>> {
        self.catalog().get(index)?;
        check_ids(&ids)?;
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for id in ids {
            by_shard[self.shard_of(&id)].push(id);
        }
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(s, ids)| {
                let index = index.to_owned();
                self.ask(
                    s,
                    move |shard| -> std::result::Result<Vec<Item>, ShardError> {
                        let ix = shard.index(&index)?;
                        Ok(ids.iter().filter_map(|id| ix.get(id)).collect())
                    },
                )
            })
            .collect();
        let mut out = Vec::new();
        for p in pending {
            out.extend(p.await??);
        }
        Ok(out)
    }

    /// Soft-deletes an item; returns whether it existed.
    pub async fn delete(&self, index: &str, id: &str) -> Result<bool> {
        self.catalog().get(index)?;
        let (index, id) = (index.to_owned(), id.to_owned());
        let s = self.shard_of(&id);
        let deleted = self
            .write(s, move |st| -> std::result::Result<bool, ShardError> {
                if !st.durable.shard().index(&index)?.contains(&id) {
                    return Ok(false);
                }
                st.durable.apply(Op::Delete { index, id })?;
                Ok(true)
            })
            .await??;
        Ok(deleted)
    }

    /// Reinforces items (memory decay counts from now for them); returns how many of
    /// `ids` exist.
    pub async fn reinforce(&self, index: &str, ids: Vec<String>) -> Result<usize> {
        self.catalog().get(index)?;
        check_ids(&ids)?;
        let n = self.shards();
        let at = now_nanos();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for id in ids {
            by_shard[self.shard_of(&id)].push(id);
        }
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(s, ids)| {
                let index = index.to_owned();
                self.write(s, move |st| -> std::result::Result<usize, ShardError> {
                    let ix = st.durable.shard().index(&index)?;
                    let ids: Vec<String> = ids.into_iter().filter(|id| ix.contains(id)).collect();
                    let found = ids.len();
                    if found > 0 {
                        st.durable.apply(Op::Reinforce { index, ids, at })?;
                    }
                    Ok(found)
                })
            })
            .collect();
        let mut found = 0;
        for p in pending {
            found += p.await??;
        }
        Ok(found)
    }
}
