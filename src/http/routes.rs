//! The route table: method and path to a [`Route`], resolved from the request head
//! alone (so unknown routes, wrong methods and missing tokens are answered before
//! any body byte is read); `dispatch.rs` runs it against the handlers. Features not
//! built yet answer 501 with a JSON error, never 404 or a hang.

use super::errors::ApiError;
use super::handlers::ui;
pub use super::url::{percent_decode, segments};

/// Actions under `POST /vector/actions/...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorAction {
    Create,
    Add,
    AddBatch,
    Import,
    ImportCommit,
    GetVectors,
    Delete,
    Search,
    SearchWithScores,
    Compress,
    Reinforce,
}

/// Actions under `POST /graph/actions/...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphAction {
    Link,
    Unlink,
    GetEdges,
    GetLinks,
    GetIncoming,
    GetAllRelations,
    GetAllIncoming,
    GetConnections,
    ExtractSubgraph,
    Traverse,
    FindPath,
    SetNodeProperties,
    GetNodeProperties,
    SearchNodes,
}

/// The dashboard's own calls, under `/ui/` (behind the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UiAction {
    Search,
    Explore,
    Points,
    Overview,
}

/// A resolved request: what to run, with its path parameters decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    Healthz,
    Readyz,
    Metrics,
    ListIndexes,
    CreateIndex,
    IndexInfo {
        name: String,
    },
    DropIndex {
        name: String,
    },
    GetVector {
        name: String,
        id: String,
    },
    GetAutoLinks {
        name: String,
    },
    SetAutoLinks {
        name: String,
    },
    Maintenance {
        name: String,
    },
    UpdateConfig {
        name: String,
    },
    Vector(VectorAction),
    KvGet {
        key: String,
    },
    KvSet {
        key: String,
    },
    KvDelete {
        key: String,
    },
    Task {
        id: String,
    },
    Save,
    AofRewrite,
    Graph(GraphAction),
    RagRetrieve,
    /// `query` is filled from the request's query string.
    Export {
        name: String,
        query: String,
    },
    Jwks,
    StartSession,
    EndSession {
        id: String,
    },
    /// `GET /users?index_name=`.
    Users {
        query: String,
    },
    UserProfile {
        id: String,
        query: String,
    },
    Reflections {
        name: String,
        query: String,
    },
    ResolveReflection {
        name: String,
        id: String,
    },
    CreateKey,
    ListKeys,
    RevokeKey {
        id: String,
    },
    Vectorizers,
    ProxyStats,
    Tasks,
    VectorizerTrigger {
        name: String,
    },
    /// A file of the dashboard (public: it holds no data).
    UiAsset {
        name: String,
    },
    Ui(UiAction),
    NotAvailable {
        label: &'static str,
        what: &'static str,
    },
}

impl Route {
    /// Gives the routes that read the query string their query.
    pub fn set_query(&mut self, q: &str) {
        if let Route::Export { query, .. }
        | Route::Users { query }
        | Route::UserProfile { query, .. }
        | Route::Reflections { query, .. } = self
        {
            q.clone_into(query);
        }
    }

    /// The label metrics count the route under.
    pub fn label(&self) -> &'static str {
        use GraphAction as G;
        use VectorAction as V;
        match self {
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::ListIndexes => "list_indexes",
            Route::CreateIndex | Route::Vector(V::Create) => "create_index",
            Route::IndexInfo { .. } => "index_info",
            Route::DropIndex { .. } => "drop_index",
            Route::GetVector { .. } => "get_vector",
            Route::GetAutoLinks { .. } | Route::SetAutoLinks { .. } => "auto_links",
            Route::Maintenance { .. } => "maintenance",
            Route::UpdateConfig { .. } => "config",
            Route::Vector(a) => match a {
                V::Create => "create_index",
                V::Add => "add",
                V::AddBatch => "add_batch",
                V::Import => "import",
                V::ImportCommit => "import_commit",
                V::GetVectors => "get_vectors",
                V::Delete => "delete_vector",
                V::Search | V::SearchWithScores => "search",
                V::Compress => "compress",
                V::Reinforce => "reinforce",
            },
            Route::KvGet { .. } => "kv_get",
            Route::KvSet { .. } => "kv_set",
            Route::KvDelete { .. } => "kv_delete",
            Route::Task { .. } => "task",
            Route::Save => "save",
            Route::AofRewrite => "aof_rewrite",
            Route::Graph(a) => match a {
                G::Link => "graph_link",
                G::Unlink => "graph_unlink",
                G::GetEdges
                | G::GetLinks
                | G::GetIncoming
                | G::GetAllRelations
                | G::GetAllIncoming
                | G::GetConnections => "graph_read",
                G::ExtractSubgraph | G::Traverse | G::FindPath => "graph_walk",
                G::SetNodeProperties | G::GetNodeProperties | G::SearchNodes => "graph_props",
            },
            Route::RagRetrieve => "rag_retrieve",
            Route::Jwks => "jwks",
            Route::StartSession | Route::EndSession { .. } => "sessions",
            Route::Users { .. } | Route::UserProfile { .. } => "users",
            Route::Reflections { .. } | Route::ResolveReflection { .. } => "reflections",
            Route::Export { .. } => "export",
            Route::CreateKey | Route::ListKeys | Route::RevokeKey { .. } => "auth_keys",
            Route::Vectorizers | Route::VectorizerTrigger { .. } => "vectorizers",
            Route::ProxyStats => "proxy_stats",
            Route::Tasks => "tasks",
            Route::UiAsset { .. } => "ui_asset",
            Route::Ui(a) => match a {
                UiAction::Search => "ui_search",
                UiAction::Explore => "ui_explore",
                UiAction::Points => "ui_points",
                UiAction::Overview => "ui_overview",
            },
            Route::NotAvailable { label, .. } => label,
        }
    }

    /// Whether the route answers without a token (liveness probes).
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Route::Healthz | Route::Readyz | Route::Jwks | Route::UiAsset { .. }
        )
    }
}

fn vector_action(a: &str) -> Option<VectorAction> {
    use VectorAction as V;
    Some(match a {
        "create" => V::Create,
        "add" => V::Add,
        "add-batch" => V::AddBatch,
        "import" => V::Import,
        "get-vectors" => V::GetVectors,
        "delete_vector" => V::Delete,
        "search" => V::Search,
        "search-with-scores" => V::SearchWithScores,
        "compress" => V::Compress,
        "reinforce" => V::Reinforce,
        _ => return None,
    })
}

fn graph_action(a: &str) -> Option<GraphAction> {
    use GraphAction as G;
    Some(match a {
        "link" => G::Link,
        "unlink" => G::Unlink,
        "get-edges" => G::GetEdges,
        "get-links" => G::GetLinks,
        "get-incoming" => G::GetIncoming,
        "get-all-relations" => G::GetAllRelations,
        "get-all-incoming" => G::GetAllIncoming,
        "get-connections" => G::GetConnections,
        "extract-subgraph" => G::ExtractSubgraph,
        "traverse" => G::Traverse,
        "find-path" => G::FindPath,
        "set-node-properties" => G::SetNodeProperties,
        "get-node-properties" => G::GetNodeProperties,
        "search-nodes" => G::SearchNodes,
        _ => return None,
    })
}

/// The dashboard's files: `GET /ui/` (the page) and `GET /ui/<file>`, answered
/// without a token (HEAD is GET). The API calls under `/ui/` are not files.
pub fn public_asset<S: AsRef<str>>(method: &str, segs: &[S]) -> Option<Route> {
    if !matches!(method, "GET" | "HEAD") {
        return None;
    }
    let segs: Vec<&str> = segs.iter().map(AsRef::as_ref).collect();
    let name = match segs.as_slice() {
        ["ui"] => "index.html",
        ["ui", f] if ui::assets::find(f).is_some() => f,
        _ => return None,
    };
    Some(Route::UiAsset {
        name: name.to_owned(),
    })
}

fn ui_action(rest: &[&str]) -> Option<UiAction> {
    Some(match rest {
        ["search"] => UiAction::Search,
        ["explore"] => UiAction::Explore,
        ["points"] => UiAction::Points,
        ["overview"] => UiAction::Overview,
        _ => return None,
    })
}

/// Resolves `method` on `segs` (HEAD is GET without a body).
pub fn resolve(method: &str, path: &str, segs: &[String]) -> Result<Route, ApiError> {
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = if method == "HEAD" { "GET" } else { method };
    let wrong = || ApiError::MethodNotAllowed {
        method: method.to_owned(),
        path: path.to_owned(),
    };
    let na = |label, what| Ok(Route::NotAvailable { label, what });
    let own = |s: &str| s.to_owned();
    match segs.as_slice() {
        ["healthz"] => match m {
            "GET" => Ok(Route::Healthz),
            _ => Err(wrong()),
        },
        ["readyz"] => match m {
            "GET" => Ok(Route::Readyz),
            _ => Err(wrong()),
        },
        ["metrics"] => match m {
            "GET" => Ok(Route::Metrics),
            _ => Err(wrong()),
        },
        ["vector", "indexes"] => match m {
            "GET" => Ok(Route::ListIndexes),
            "POST" => Ok(Route::CreateIndex),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name] => match m {
            "GET" => Ok(Route::IndexInfo { name: own(name) }),
            "DELETE" => Ok(Route::DropIndex { name: own(name) }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "vectors", id] => match m {
            "GET" => Ok(Route::GetVector {
                name: own(name),
                id: own(id),
            }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "auto-links"] => match m {
            "GET" => Ok(Route::GetAutoLinks { name: own(name) }),
            "PUT" | "POST" => Ok(Route::SetAutoLinks { name: own(name) }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "maintenance"] => match m {
            "POST" => Ok(Route::Maintenance { name: own(name) }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "config"] => match m {
            "POST" | "PUT" => Ok(Route::UpdateConfig { name: own(name) }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "export"] => match m {
            "GET" => Ok(Route::Export {
                name: own(name),
                query: String::new(),
            }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "reflections"] => match m {
            "GET" => Ok(Route::Reflections {
                name: own(name),
                query: String::new(),
            }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", name, "reflections", id, "resolve"] => match m {
            "POST" => Ok(Route::ResolveReflection {
                name: own(name),
                id: own(id),
            }),
            _ => Err(wrong()),
        },
        ["vector", "indexes", _, "cognitive", ..] => na(
            "cognitive",
            "the background reasoner (cognitive/think: no reflections are generated by this server)",
        ),
        ["vector", "actions", action @ ..] => {
            if m != "POST" {
                return Err(wrong());
            }
            match action {
                ["import", "commit"] => Ok(Route::Vector(VectorAction::ImportCommit)),
                [a] => match vector_action(a) {
                    Some(a) => Ok(Route::Vector(a)),
                    None => na("vector_action", "this vector action"),
                },
                _ => na("vector_action", "this vector action"),
            }
        }
        ["kv", key] => match m {
            "GET" => Ok(Route::KvGet { key: own(key) }),
            "POST" | "PUT" => Ok(Route::KvSet { key: own(key) }),
            "DELETE" => Ok(Route::KvDelete { key: own(key) }),
            _ => Err(wrong()),
        },
        ["system", "tasks"] => match m {
            "GET" => Ok(Route::Tasks),
            _ => Err(wrong()),
        },
        ["system", "tasks", id] => match m {
            "GET" => Ok(Route::Task { id: own(id) }),
            _ => Err(wrong()),
        },
        ["system", "save"] => match m {
            "POST" => Ok(Route::Save),
            _ => Err(wrong()),
        },
        ["system", "aof-rewrite"] => match m {
            "POST" => Ok(Route::AofRewrite),
            _ => Err(wrong()),
        },
        ["system", "proxy"] => match m {
            "GET" => Ok(Route::ProxyStats),
            _ => Err(wrong()),
        },
        ["system", "vectorizers"] => match m {
            "GET" => Ok(Route::Vectorizers),
            _ => Err(wrong()),
        },
        ["system", "vectorizers", name, "trigger"] => match m {
            "POST" => Ok(Route::VectorizerTrigger { name: own(name) }),
            _ => Err(wrong()),
        },
        ["rag", "retrieve"] => match m {
            "POST" => Ok(Route::RagRetrieve),
            _ => Err(wrong()),
        },
        ["rag", ..] => na("rag", "this RAG route"),
        ["graph", "actions", action] => {
            if m != "POST" {
                return Err(wrong());
            }
            match graph_action(action) {
                Some(a) => Ok(Route::Graph(a)),
                None => na("graph", "this graph action"),
            }
        }
        ["graph", ..] => na("graph", "this graph route"),
        ["ui", rest @ ..] => match (m, rest, ui_action(rest)) {
            ("GET", ..) if public_asset(m, &segs).is_some() => {
                public_asset(m, &segs).ok_or_else(wrong)
            }
            ("POST", _, Some(a)) | ("GET", _, Some(a @ UiAction::Overview)) => Ok(Route::Ui(a)),
            (_, [], _) | (_, _, Some(_)) => Err(wrong()),
            (_, [f], _) if ui::assets::find(f).is_some() => Err(wrong()),
            _ => Err(ApiError::NoRoute {
                method: method.to_owned(),
                path: path.to_owned(),
            }),
        },
        [".well-known", "jwks.json"] => match m {
            "GET" => Ok(Route::Jwks),
            _ => Err(wrong()),
        },
        ["auth", "keys"] => match m {
            "GET" => Ok(Route::ListKeys),
            "POST" => Ok(Route::CreateKey),
            _ => Err(wrong()),
        },
        ["auth", "keys", id] => match m {
            "DELETE" => Ok(Route::RevokeKey { id: own(id) }),
            _ => Err(wrong()),
        },
        ["sessions"] => match m {
            "POST" => Ok(Route::StartSession),
            _ => Err(wrong()),
        },
        ["sessions", id, "end"] => match m {
            "POST" => Ok(Route::EndSession { id: own(id) }),
            _ => Err(wrong()),
        },
        ["users"] => match m {
            "GET" => Ok(Route::Users {
                query: String::new(),
            }),
            _ => Err(wrong()),
        },
        ["users", id, "profile"] => match m {
            "GET" => Ok(Route::UserProfile {
                id: own(id),
                query: String::new(),
            }),
            _ => Err(wrong()),
        },
        ["sessions", ..] | ["users", ..] | ["auth", ..] | ["compile", ..] | ["artifacts", ..] => {
            na("other", "this route")
        }
        _ => Err(ApiError::NoRoute {
            method: method.to_owned(),
            path: path.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    //! Path decoding and route resolution from the head alone.
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b%2Fc").unwrap(), "a b/c");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4").unwrap(), "%zz%4");
        assert_eq!(percent_decode("caf%C3%A9").unwrap(), "café");
        assert_eq!(percent_decode("%EF%BF%BD").unwrap(), "\u{fffd}");
        assert!(
            percent_decode("%ff").is_err(),
            "invalid UTF-8 is refused, not replaced"
        );
    }

    fn route(method: &str, path: &str) -> Result<Route, ApiError> {
        resolve(method, path, &segments(path).unwrap())
    }

    #[test]
    fn resolution() {
        assert_eq!(route("GET", "/healthz").unwrap(), Route::Healthz);
        assert_eq!(route("HEAD", "/healthz").unwrap(), Route::Healthz);
        assert!(matches!(
            route("POST", "/healthz"),
            Err(ApiError::MethodNotAllowed { .. })
        ));
        assert_eq!(
            route("GET", "/kv/a%20b").unwrap(),
            Route::KvGet { key: "a b".into() }
        );
        assert_eq!(
            route("POST", "/vector/actions/import/commit").unwrap(),
            Route::Vector(VectorAction::ImportCommit)
        );
        assert!(matches!(
            route("GET", "/nope"),
            Err(ApiError::NoRoute { .. })
        ));
        assert!(matches!(
            route("GET", "/vector/actions/search"),
            Err(ApiError::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            route("POST", "/ui/x"),
            Err(ApiError::NoRoute { .. })
        ));
        assert!(matches!(
            route("POST", "/ui/app.js"),
            Err(ApiError::MethodNotAllowed { .. })
        ));
        assert_eq!(
            route("GET", "/ui/").unwrap(),
            Route::UiAsset {
                name: "index.html".into()
            }
        );
        assert_eq!(
            route("POST", "/ui/search").unwrap(),
            Route::Ui(UiAction::Search)
        );
        assert!(matches!(
            route("GET", "/ui/search"),
            Err(ApiError::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            route("GET", "/ui/nope.js"),
            Err(ApiError::NoRoute { .. })
        ));
        assert!(public_asset("GET", &["ui", "app.js"]).is_some());
        assert!(public_asset("GET", &["ui", "search"]).is_none());
        assert!(public_asset("POST", &["ui"]).is_none());
        assert!(route("GET", "/healthz").unwrap().is_public());
        assert!(!route("GET", "/metrics").unwrap().is_public());
    }
}
