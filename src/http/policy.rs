//! The one policy table of the HTTP API: what role and which index every route
//! needs when API keys are in use (the root token may do everything). The match
//! is exhaustive with no wildcard, so a new route does not compile until it is
//! classified. Roles as upstream: `/system/*` and `/auth/*` need admin; reads
//! (GETs and the search/get/walk actions) need read; everything else needs write.
//! The index is the path's `{name}`, else the body's `index_name`; a request
//! naming no index needs a key valid for every index (`*`).

use crate::auth::{is_reserved_key, Principal, Role};

use super::errors::ApiError;
use super::routes::{GraphAction as G, Route, UiAction, VectorAction as V};

/// Which index a route touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ns<'a> {
    /// Every index, or none in particular.
    All,
    Index(&'a str),
    /// The body's `index_name` (every index when it has none).
    Body,
}

/// What a route needs.
pub fn need(route: &Route) -> (Role, Ns<'_>) {
    use Role::{Admin, Read, Write};
    match route {
        Route::Healthz | Route::Readyz | Route::Jwks => (Read, Ns::All),
        Route::Metrics | Route::ListIndexes => (Read, Ns::All),
        Route::CreateIndex => (Write, Ns::Body),
        Route::IndexInfo { name }
        | Route::GetVector { name, .. }
        | Route::GetAutoLinks { name }
        | Route::Export { name, .. } => (Read, Ns::Index(name)),
        Route::DropIndex { name }
        | Route::SetAutoLinks { name }
        | Route::Maintenance { name }
        | Route::UpdateConfig { name } => (Write, Ns::Index(name)),
        Route::Vector(a) => match a {
            V::GetVectors | V::Search | V::SearchWithScores => (Read, Ns::Body),
            V::Create
            | V::Add
            | V::AddBatch
            | V::Import
            | V::ImportCommit
            | V::Delete
            | V::Compress
            | V::Reinforce => (Write, Ns::Body),
        },
        Route::KvGet { .. } => (Read, Ns::All),
        Route::KvSet { .. } | Route::KvDelete { .. } => (Write, Ns::All),
        Route::Task { .. }
        | Route::Save
        | Route::AofRewrite
        | Route::Vectorizers
        | Route::ProxyStats
        | Route::Tasks
        | Route::VectorizerTrigger { .. } => (Admin, Ns::All),
        Route::CreateKey | Route::ListKeys | Route::RevokeKey { .. } => (Admin, Ns::All),
        Route::Graph(a) => match a {
            G::Link | G::Unlink | G::SetNodeProperties => (Write, Ns::Body),
            G::GetEdges
            | G::GetLinks
            | G::GetIncoming
            | G::GetAllRelations
            | G::GetAllIncoming
            | G::GetConnections
            | G::ExtractSubgraph
            | G::Traverse
            | G::FindPath
            | G::GetNodeProperties
            | G::SearchNodes => (Read, Ns::Body),
        },
        Route::RagRetrieve => (Read, Ns::Body),
        Route::StartSession | Route::EndSession { .. } => (Write, Ns::Body),
        // Their index is in the query string: a key limited to some indexes
        // cannot use them (checked as "every index").
        Route::Users { .. } | Route::UserProfile { .. } => (Read, Ns::All),
        Route::Reflections { name, .. } => (Read, Ns::Index(name)),
        Route::ResolveReflection { name, .. } => (Write, Ns::Index(name)),
        Route::UiAsset { .. } => (Read, Ns::All),
        Route::Ui(a) => match a {
            UiAction::Search | UiAction::Explore | UiAction::Points => (Read, Ns::Body),
            UiAction::Overview => (Read, Ns::All),
        },
        Route::NotAvailable { .. } => (Read, Ns::All),
    }
}

fn forbidden(what: String) -> ApiError {
    ApiError::Auth(crate::auth::AuthError::Forbidden(what))
}

/// The checks the head alone allows: role, path index, reserved KV keys.
pub fn allow_head(p: &Principal, route: &Route) -> Result<(), ApiError> {
    if *p == Principal::Root {
        return Ok(());
    }
    if let Route::KvGet { key } | Route::KvSet { key } | Route::KvDelete { key } = route {
        if is_reserved_key(key) {
            return Err(forbidden(format!(
                "key '{key}' is reserved for the root token"
            )));
        }
    }
    let (role, ns) = need(route);
    if !p.may(role) {
        return Err(forbidden(
            format!("this route needs the {role:?} role").to_lowercase(),
        ));
    }
    match ns {
        Ns::Index(name) if !p.may_touch(name) => {
            Err(forbidden(format!("this key may not touch index '{name}'")))
        }
        Ns::All if !p.all_namespaces() => Err(forbidden(
            "this route touches every index; the key is limited to some".into(),
        )),
        _ => Ok(()),
    }
}

/// The check that needs the body: the `index_name` it names.
pub fn allow_body(p: &Principal, route: &Route, body: &[u8]) -> Result<(), ApiError> {
    if p.all_namespaces() || need(route).1 != Ns::Body {
        return Ok(());
    }
    let index = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("index_name")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
        });
    match index {
        Some(name) if p.may_touch(&name) => Ok(()),
        Some(name) => Err(forbidden(format!("this key may not touch index '{name}'"))),
        None => Err(forbidden(
            "the request names no index_name; the key is limited to some indexes".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    //! One case per route class and role.
    use super::*;

    fn key(role: Role, ns: &[&str]) -> Principal {
        Principal::Key {
            jti: "j".into(),
            role,
            namespaces: ns.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn roles_and_namespaces() {
        let read = key(Role::Read, &["*"]);
        let write_a = key(Role::Write, &["a"]);
        let admin = key(Role::Admin, &["*"]);
        let search = Route::Vector(V::Search);
        let add = Route::Vector(V::Add);
        let info_a = Route::IndexInfo { name: "a".into() };
        let info_b = Route::IndexInfo { name: "b".into() };
        assert!(allow_head(&read, &search).is_ok());
        assert!(allow_head(&read, &add).is_err());
        assert!(allow_head(&read, &Route::Save).is_err());
        assert!(allow_head(&admin, &Route::Save).is_ok());
        assert!(allow_head(&write_a, &info_a).is_ok());
        assert!(allow_head(&write_a, &info_b).is_err());
        assert!(allow_head(&write_a, &Route::ListIndexes).is_err());
        assert!(allow_head(&write_a, &add).is_ok());
        assert!(allow_body(&write_a, &add, br#"{"index_name":"a"}"#).is_ok());
        assert!(allow_body(&write_a, &add, br#"{"index_name":"b"}"#).is_err());
        assert!(allow_body(&write_a, &add, br#"{}"#).is_err());
        assert!(allow_head(&write_a, &Route::CreateKey).is_err());
        let reserved = Route::KvGet {
            key: "_sys_auth::signing_key".into(),
        };
        assert!(allow_head(&admin, &reserved).is_err());
        assert!(allow_head(&Principal::Root, &reserved).is_ok());
        assert!(allow_head(&read, &Route::KvGet { key: "x".into() }).is_ok());
        assert!(allow_head(&read, &Route::KvSet { key: "x".into() }).is_err());
    }
}
