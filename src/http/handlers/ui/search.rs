//! `POST /ui/search`, the search debugger's call, in upstream's shape
//! (`{index_name, query, k, include_relations, hydrate}` → `{results: [...]}`),
//! run by the engine search `/vector/actions/search` uses (`Engine::query`,
//! `Engine::query_with_relations`). Beyond upstream it takes the rest of a
//! `SearchQuery` (`query_vector`, `filter`, `ef_search`, `alpha`, `graph_filter`)
//! and answers what a debugger shows: each hit's distance, the vector and BM25
//! parts of its score, the effective alpha and ef, and the time taken. `exact`
//! runs the same query with the largest ef ([`EF_SEARCH_MAX`]) as the reference
//! for recall@k: every node within reach of the graph is visited, so it is exact
//! for an index whose parts hold at most that many points each.

use std::time::Instant;

use kektordb_shards::limits::EF_SEARCH_MAX;
use kektordb_shards::search::EF_SEARCH_DEFAULT;
use kektordb_shards::SearchRequest;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::body;
use super::super::walks::tree_json;
use super::without_vectors;
use crate::engine::{GraphFilter, SearchQuery, WalkTree};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

fn default_k() -> usize {
    10
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct UiSearch {
    index_name: String,
    /// Upstream's name of the query text.
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    query_text: Option<String>,
    #[serde(default, deserialize_with = "crate::json_floats::opt_f32s")]
    query_vector: Option<Vec<f32>>,
    #[serde(default = "default_k")]
    k: usize,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    ef_search: Option<usize>,
    #[serde(default)]
    alpha: Option<f32>,
    #[serde(default)]
    include_relations: Option<Vec<String>>,
    /// Results and related nodes come with their metadata (upstream's default).
    #[serde(default = "yes")]
    hydrate: bool,
    #[serde(default)]
    graph_filter: Option<GraphFilter>,
    /// Vectors in the answer (upstream's nodes carry them); the dashboard says no.
    #[serde(default = "yes")]
    include_vectors: bool,
    /// The exact reference: the same query with ef = EF_SEARCH_MAX.
    #[serde(default)]
    exact: bool,
    #[serde(default)]
    compress_context: bool,
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

pub async fn search(state: &State, raw: &[u8]) -> Result<Response, ApiError> {
    let b: UiSearch = body(raw)?;
    let started = Instant::now();
    let engine = &state.engine;
    let config = engine.config(&b.index_name)?;
    let ef = if b.exact {
        Some(EF_SEARCH_MAX)
    } else {
        b.ef_search.filter(|e| *e > 0)
    };
    // The query as the engine will run it: the text embedded first (timed apart),
    // so the answer can say whether the search was vector, text or hybrid.
    let mut req = SearchRequest {
        vector: b.query_vector,
        k: b.k,
        ef_search: ef,
        filter: b.filter.filter(|f| !f.trim().is_empty()),
        text: b.query_text.or(b.query).filter(|t| !t.trim().is_empty()),
        alpha: b.alpha,
    };
    req.validate()?;
    let t = Instant::now();
    engine.embed_query(&b.index_name, &mut req).await?;
    let embed_ms = ms(t);
    let alpha = req.effective_alpha();
    let mode = match (req.vector.is_some(), req.has_text()) {
        (true, true) => "hybrid",
        (true, false) => "vector",
        _ => "text",
    };
    let q = SearchQuery {
        index_name: b.index_name.clone(),
        k: req.k,
        query_vector: req.vector.clone(),
        query_text: req.text.clone(),
        filter: req.filter.clone(),
        ef_search: req.ef_search,
        alpha: req.alpha,
        include_relations: b.include_relations,
        hydrate_relations: b.hydrate,
        graph_filter: b.graph_filter,
        compress_context: b.compress_context,
    };
    let t = Instant::now();
    let hits: Vec<(kektordb_shards::SearchHit, WalkTree)> = if q.expands() {
        engine.query_with_relations(&q).await?
    } else {
        let hits = engine.query(&q).await?;
        let mut items: std::collections::HashMap<String, _> = if b.hydrate {
            let ids = hits.iter().map(|h| h.id.clone()).collect();
            engine
                .get_many(&b.index_name, ids)
                .await?
                .into_iter()
                .map(|it| (it.id.clone(), it))
                .collect()
        } else {
            Default::default()
        };
        hits.into_iter()
            .map(|h| {
                let item = items.remove(&h.id);
                let tree = WalkTree {
                    id: h.id.clone(),
                    item,
                    connections: Default::default(),
                };
                (h, tree)
            })
            .collect()
    };
    let search_ms = ms(t);
    // Memory decay multiplies the fused score by a factor the answer does not
    // carry: the parts are given only without it.
    let decays = config.memory.is_some_and(|m| m.enabled);
    let results: Vec<Value> = hits
        .into_iter()
        .map(|(h, tree)| {
            let mut node = tree_json(tree);
            if !b.include_vectors {
                without_vectors(&mut node);
            }
            let mut o = json!({"id": h.id, "score": h.score, "node": node});
            if let Some(d) = h.distance {
                o["distance"] = json!(d);
            }
            if !decays {
                let v = h.distance.map_or(0.0, |d| config.metric.score(d));
                let vector_part = alpha * v;
                o["vector_score"] = json!(v);
                o["vector_part"] = json!(vector_part);
                o["text_part"] = json!((h.score - vector_part).max(0.0));
            }
            o
        })
        .collect();
    Ok(Response::ok(json!({
        "results": results,
        "mode": mode,
        "alpha": alpha,
        "k": req.k,
        "ef_search": req.ef(),
        "ef_default": EF_SEARCH_DEFAULT,
        "exact": b.exact,
        "metric": config.metric.as_str(),
        "decay": decays,
        "took_ms": {"embed": embed_ms, "search": search_ms, "total": ms(started)},
    })))
}
