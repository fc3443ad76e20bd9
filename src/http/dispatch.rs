//! Runs a resolved [`Route`] against its handler (decode, call the engine, encode).

use super::errors::ApiError;
use super::handlers::{
    cognitive, graph, indexes, keys, kv, rag, sessions, system, ui, vectors, walks,
};
use super::response::Response;
use super::routes::{GraphAction, Route, UiAction, VectorAction};
use super::state::State;

/// Runs a resolved route with its body.
pub async fn run(state: &State, route: &Route, b: &[u8]) -> Result<Response, ApiError> {
    use GraphAction as G;
    use VectorAction as V;
    match route {
        Route::Healthz => Ok(system::healthz()),
        Route::Readyz => Ok(system::readyz(state)),
        Route::Metrics => system::metrics(state).await,
        Route::ListIndexes => indexes::list(state).await,
        Route::CreateIndex | Route::Vector(V::Create) => indexes::create(state, b).await,
        Route::IndexInfo { name } => indexes::info(state, name).await,
        Route::DropIndex { name } => indexes::drop(state, name).await,
        Route::GetVector { name, id } => vectors::get_one(state, name, id).await,
        Route::GetAutoLinks { name } => indexes::get_auto_links(state, name).await,
        Route::SetAutoLinks { name } => indexes::set_auto_links(state, name, b).await,
        Route::Maintenance { name } => system::maintenance(state, name, b).await,
        Route::UpdateConfig { name } => indexes::update_config(state, name, b).await,
        Route::Vector(a) => match a {
            V::Create => indexes::create(state, b).await,
            V::Add => vectors::add(state, b).await,
            V::AddBatch => vectors::add_batch(state, b).await,
            V::Import => vectors::import(state, b).await,
            V::ImportCommit => vectors::import_commit(state, b).await,
            V::GetVectors => vectors::get_many(state, b).await,
            V::Delete => vectors::delete(state, b).await,
            V::Search => vectors::search(state, b).await,
            V::SearchWithScores => vectors::search_with_scores(state, b).await,
            V::Compress => system::compress(state, b).await,
            V::Reinforce => vectors::reinforce(state, b).await,
        },
        Route::KvGet { key } => kv::get(state, key).await,
        Route::KvSet { key } => kv::set(state, key, b).await,
        Route::KvDelete { key } => kv::delete(state, key).await,
        Route::Task { id } => system::task(state, id),
        Route::Save => system::save(state).await,
        Route::AofRewrite => system::aof_rewrite(state).await,
        Route::Graph(a) => match a {
            G::Link => graph::link(state, b).await,
            G::Unlink => graph::unlink(state, b).await,
            G::GetEdges => graph::get_edges(state, b).await,
            G::GetLinks => graph::get_links(state, b).await,
            G::GetIncoming => graph::get_incoming(state, b).await,
            G::GetAllRelations => graph::get_all_relations(state, b).await,
            G::GetAllIncoming => graph::get_all_incoming(state, b).await,
            G::GetConnections => graph::get_connections(state, b).await,
            G::ExtractSubgraph => walks::extract_subgraph(state, b).await,
            G::Traverse => walks::traverse(state, b).await,
            G::FindPath => walks::find_path(state, b).await,
            G::SetNodeProperties => walks::set_node_properties(state, b).await,
            G::GetNodeProperties => walks::get_node_properties(state, b).await,
            G::SearchNodes => walks::search_nodes(state, b).await,
        },
        Route::RagRetrieve => rag::retrieve(state, b).await,
        Route::Jwks => Ok(keys::jwks(state)),
        Route::StartSession => sessions::start(state, b).await,
        Route::Users { query } => cognitive::users(state, query).await,
        Route::UserProfile { id, query } => cognitive::profile(state, id, query).await,
        Route::Reflections { name, query } => cognitive::reflections(state, name, query).await,
        Route::ResolveReflection { name, id } => cognitive::resolve(state, name, id, b).await,
        Route::EndSession { id } => sessions::end(state, id, b).await,
        Route::Export { name, query } => vectors::export(state, name, query).await,
        Route::CreateKey => keys::create(state, b).await,
        Route::ListKeys => Ok(keys::list(state)),
        Route::RevokeKey { id } => keys::revoke(state, id).await,
        Route::Vectorizers => rag::vectorizers(state),
        Route::ProxyStats => Ok(system::proxy_stats(state)),
        Route::Tasks => Ok(system::tasks(state)),
        Route::VectorizerTrigger { name } => rag::trigger(state, name),
        Route::UiAsset { name } => ui::assets::serve(name),
        Route::Ui(a) => match a {
            UiAction::Search => ui::search::search(state, b).await,
            UiAction::Explore => ui::explore::explore(state, b).await,
            UiAction::Points => ui::explore::points(state, b).await,
            UiAction::Overview => ui::overview(state).await,
        },
        Route::NotAvailable { what, .. } => Err(ApiError::NotAvailable((*what).to_owned())),
    }
}
