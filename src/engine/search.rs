//! Search: vector, text, filtered and hybrid, one job per shard (two with text:
//! BM25 statistics first, so IDF is global), merged by the router; the retrieval
//! boost of memory indexes; the API's [`SearchQuery`] with its graph filter and
//! relation expansion.

use std::sync::Arc;

use kektordb_shards::router::SearchPlan;
use kektordb_shards::text::{CorpusStats, StatsSnapshot};
use kektordb_shards::{SearchHit, SearchRequest, ShardError};
use serde::Deserialize;

use super::error::{EngineError, Result};
use super::graph::Direction;
use super::state::{Job, ShardState};
use super::walk::WalkTree;
use super::{now_nanos, Engine};
use crate::limits::RELATIONS_K_MAX;

impl Engine {
    /// Vector, text, filtered and hybrid search: one job per shard (two with text:
    /// statistics first, so IDF is global), merged here.
    pub async fn search(&self, index: &str, req: SearchRequest) -> Result<Vec<SearchHit>> {
        self.search_within(index, req, None).await
    }

    /// A search whose results must be among `only_ids` (None: no restriction). A
    /// small set is scanned exactly on each shard, so recall holds.
    pub async fn search_within(
        &self,
        index: &str,
        req: SearchRequest,
        only_ids: Option<Vec<String>>,
    ) -> Result<Vec<SearchHit>> {
        let (mut plan, boosts) = {
            let cat = self.catalog();
            let entry = cat.get(index)?;
            let boosts = entry.config.memory.is_some_and(|m| m.enabled);
            (SearchPlan::new(entry, req, now_nanos())?, boosts)
        };
        plan.only_ids = only_ids;
        let plan = Arc::new(plan);
        let stats = match &plan.terms {
            Some(terms) => {
                let (index, terms) = (index.to_owned(), terms.clone());
                let parts = self
                    .ask_all(move |s| s.text_stats(&index, &terms))
                    .await?
                    .into_iter()
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Some(Arc::new(SearchPlan::merge_stats(parts)))
            }
            None => None,
        };
        let (owned, p, shards) = (index.to_owned(), plan.clone(), self.shards());
        let parts = self
            .ask_all(move |s| {
                let stats = stats
                    .as_deref()
                    .map(|x: &StatsSnapshot| x as &dyn CorpusStats);
                s.search_part(&owned, &p.part_query(shards), stats)
            })
            .await?
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let hits = plan.finish(parts);
        if boosts {
            self.boost(index, &hits);
        }
        Ok(hits)
    }

    /// Retrieval boost of a memory index: what a search returned counts as touched
    /// now (its decay restarts). Sent without waiting and not logged, so reads stay
    /// reads: a boost becomes durable with the next snapshot (an explicit
    /// `reinforce` is durable at once); a full mailbox skips it.
    fn boost(&self, index: &str, hits: &[SearchHit]) {
        let n = self.shards();
        let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); n];
        for h in hits {
            by_shard[self.shard_of(&h.id)].push(h.id.clone());
        }
        let now = now_nanos();
        for (s, ids) in by_shard.into_iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            let index = index.to_owned();
            let job: Job = Box::new(move |st: &mut ShardState| {
                if let Ok(ix) = st.durable.prepare_mut().index_mut(&index) {
                    for id in &ids {
                        ix.touch(id, now);
                    }
                }
                None
            });
            let _ = self.inner.mailboxes[s].try_send(job);
        }
    }
}

fn default_k() -> usize {
    10
}

/// A search as the API takes it (`POST /vector/actions/search` and
/// `search-with-scores`; MCP tools build the same): vector and/or text, filter,
/// graph filter, relations to expand.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub index_name: String,
    #[serde(default = "default_k")]
    pub k: usize,
    #[serde(default, deserialize_with = "crate::json_floats::opt_f32s")]
    pub query_vector: Option<Vec<f32>>,
    pub query_text: Option<String>,
    pub filter: Option<String>,
    /// 0 or absent: the default.
    pub ef_search: Option<usize>,
    pub alpha: Option<f32>,
    /// Dot-notation relation paths to expand on every result.
    pub include_relations: Option<Vec<String>>,
    /// Expand results with their related nodes' contents.
    #[serde(default)]
    pub hydrate_relations: bool,
    /// Only results reachable from a root.
    pub graph_filter: Option<GraphFilter>,
    /// Context compression by an LLM: not built (refused with a clear error).
    #[serde(default)]
    pub compress_context: bool,
}

/// Results must be reachable from `root_id` within `max_depth` hops (default 1).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GraphFilter {
    pub root_id: String,
    #[serde(default)]
    pub relations: Vec<String>,
    pub max_depth: Option<usize>,
    #[serde(default)]
    pub direction: Direction,
}

impl SearchQuery {
    /// Whether results are expanded with their relations.
    pub fn expands(&self) -> bool {
        self.hydrate_relations
            || self
                .include_relations
                .as_ref()
                .is_some_and(|p| !p.is_empty())
    }

    fn request(&self) -> SearchRequest {
        SearchRequest {
            vector: self.query_vector.clone(),
            k: self.k,
            ef_search: self.ef_search.filter(|e| *e > 0),
            filter: self.filter.clone(),
            text: self.query_text.clone(),
            alpha: self.alpha,
        }
    }
}

impl Engine {
    /// Runs a [`SearchQuery`] (graph filter applied first).
    pub async fn query(&self, q: &SearchQuery) -> Result<Vec<SearchHit>> {
        if q.compress_context {
            return Err(EngineError::NotAvailable {
                what: "compress_context",
            });
        }
        let only_ids = match &q.graph_filter {
            Some(g) => Some(
                self.reachable(
                    &g.root_id,
                    g.relations.clone(),
                    g.max_depth.unwrap_or(1),
                    g.direction,
                )
                .await?,
            ),
            None => None,
        };
        let mut req = q.request();
        req.validate()?;
        self.embed_query(&q.index_name, &mut req).await?;
        self.search_within(&q.index_name, req, only_ids).await
    }

    /// Runs a [`SearchQuery`] and expands every result with the tree of its
    /// `include_relations` (hydrated when `hydrate_relations`); k is at most
    /// [`RELATIONS_K_MAX`] then.
    pub async fn query_with_relations(
        &self,
        q: &SearchQuery,
    ) -> Result<Vec<(SearchHit, WalkTree)>> {
        if q.k > RELATIONS_K_MAX {
            return Err(ShardError::too_large("k with relations", q.k, RELATIONS_K_MAX).into());
        }
        let paths = q.include_relations.clone().unwrap_or_default();
        let hits = self.query(q).await?;
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let tree = self
                .walk_paths(&q.index_name, &h.id, &paths, q.hydrate_relations)
                .await?;
            out.push((h, tree));
        }
        Ok(out)
    }
}
