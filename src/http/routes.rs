//! The route table: path and method to handler, the bearer-token check, and the
//! routes of features not built yet (501 with a JSON error, never 404 or a hang).

use super::errors::ApiError;
use super::handlers::{graph, graph_walk, indexes, kv, system, vectors};
use super::request::Request;
use super::response::Response;
use super::server::State;

/// Decodes `%XX` escapes in a path segment (invalid escapes stay as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Constant-time comparison of the presented token with the configured one.
fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = presented.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        diff |= usize::from(presented.get(i).copied().unwrap_or(0) ^ e);
    }
    diff == 0
}

fn authorized(state: &State, req: &Request) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    let presented = req
        .authorization
        .as_deref()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .unwrap_or("");
    token_matches(presented.trim().as_bytes(), token.as_bytes())
}

fn not_available(what: &str) -> Result<Response, ApiError> {
    Err(ApiError::NotAvailable(what.to_owned()))
}

/// Answers one request; returns the route label (for metrics) and the response.
pub async fn handle(state: &State, req: &Request) -> (&'static str, Response) {
    let (label, result) = dispatch(state, req).await;
    (label, result.unwrap_or_else(|e| e.response()))
}

async fn dispatch(state: &State, req: &Request) -> (&'static str, Result<Response, ApiError>) {
    let segs: Vec<String> = req
        .path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    if segs == ["healthz"] && m == "GET" {
        return ("healthz", Ok(system::healthz()));
    }
    if !authorized(state, req) {
        return ("unauthorized", Err(ApiError::Unauthorized));
    }
    let wrong = || ApiError::MethodNotAllowed {
        method: req.method.clone(),
        path: req.path.clone(),
    };
    let b = &req.body[..];
    match segs.as_slice() {
        ["healthz"] => ("healthz", Err(wrong())),
        ["metrics"] => match m {
            "GET" => ("metrics", system::metrics(state).await),
            _ => ("metrics", Err(wrong())),
        },
        ["vector", "indexes"] => match m {
            "GET" => ("list_indexes", indexes::list(state).await),
            "POST" => ("create_index", indexes::create(state, b).await),
            _ => ("list_indexes", Err(wrong())),
        },
        ["vector", "indexes", name] => match m {
            "GET" => ("index_info", indexes::info(state, name).await),
            "DELETE" => ("drop_index", indexes::drop(state, name).await),
            _ => ("index_info", Err(wrong())),
        },
        ["vector", "indexes", name, "vectors", id] => match m {
            "GET" => ("get_vector", vectors::get_one(state, name, id).await),
            _ => ("get_vector", Err(wrong())),
        },
        ["vector", "indexes", name, "auto-links"] => match m {
            "GET" => ("auto_links", indexes::get_auto_links(state, name).await),
            "PUT" | "POST" => ("auto_links", indexes::set_auto_links(state, name, b).await),
            _ => ("auto_links", Err(wrong())),
        },
        ["vector", "indexes", name, "maintenance"] => match m {
            "POST" => ("maintenance", system::maintenance(state, name, b).await),
            _ => ("maintenance", Err(wrong())),
        },
        ["vector", "indexes", name, "config"] => match m {
            "POST" | "PUT" => ("config", indexes::update_config(state, name, b).await),
            _ => ("config", Err(wrong())),
        },
        ["vector", "indexes", _, "export"] => ("export", not_available("index export")),
        ["vector", "indexes", _, "cognitive", ..] => {
            ("cognitive", not_available("cognitive routes"))
        }
        ["vector", "actions", action @ ..] => {
            if m != "POST" {
                return ("vector_action", Err(wrong()));
            }
            match action {
                ["create"] => ("create_index", indexes::create(state, b).await),
                ["add"] => ("add", vectors::add(state, b).await),
                ["add-batch"] => ("add_batch", vectors::add_batch(state, b).await),
                ["import"] => ("import", vectors::import(state, b).await),
                ["import", "commit"] => ("import_commit", vectors::import_commit(state, b).await),
                ["get-vectors"] => ("get_vectors", vectors::get_many(state, b).await),
                ["delete_vector"] => ("delete_vector", vectors::delete(state, b).await),
                ["search"] => ("search", vectors::search(state, b).await),
                ["search-with-scores"] => ("search", vectors::search_with_scores(state, b).await),
                ["compress"] => ("compress", system::compress(state, b).await),
                ["reinforce"] => ("reinforce", vectors::reinforce(state, b).await),
                _ => ("vector_action", not_available("this vector action")),
            }
        }
        ["kv", key] => match m {
            "GET" => ("kv_get", kv::get(state, key).await),
            "POST" | "PUT" => ("kv_set", kv::set(state, key, b).await),
            "DELETE" => ("kv_delete", kv::delete(state, key).await),
            _ => ("kv", Err(wrong())),
        },
        ["system", "tasks", id] => match m {
            "GET" => ("task", system::task(state, id)),
            _ => ("task", Err(wrong())),
        },
        ["system", "save"] => match m {
            "POST" => ("save", system::save(state).await),
            _ => ("save", Err(wrong())),
        },
        ["system", "aof-rewrite"] => match m {
            "POST" => ("aof_rewrite", system::aof_rewrite(state)),
            _ => ("aof_rewrite", Err(wrong())),
        },
        ["system", "vectorizers", ..] | ["rag", ..] => ("rag", not_available("the RAG pipeline")),
        ["graph", "actions", action] => {
            if m != "POST" {
                return ("graph", Err(wrong()));
            }
            match *action {
                "link" => ("graph_link", graph::link(state, b).await),
                "unlink" => ("graph_unlink", graph::unlink(state, b).await),
                "get-edges" => ("graph_read", graph::get_edges(state, b).await),
                "get-links" => ("graph_read", graph::get_links(state, b).await),
                "get-incoming" => ("graph_read", graph::get_incoming(state, b).await),
                "get-all-relations" => ("graph_read", graph::get_all_relations(state, b).await),
                "get-all-incoming" => ("graph_read", graph::get_all_incoming(state, b).await),
                "get-connections" => ("graph_read", graph::get_connections(state, b).await),
                "extract-subgraph" => ("graph_walk", graph_walk::extract_subgraph(state, b).await),
                "traverse" => ("graph_walk", graph_walk::traverse(state, b).await),
                "find-path" => ("graph_walk", graph_walk::find_path(state, b).await),
                "set-node-properties" => (
                    "graph_props",
                    graph_walk::set_node_properties(state, b).await,
                ),
                "get-node-properties" => (
                    "graph_props",
                    graph_walk::get_node_properties(state, b).await,
                ),
                "search-nodes" => ("graph_props", graph_walk::search_nodes(state, b).await),
                _ => ("graph", not_available("this graph action")),
            }
        }
        ["graph", ..] => ("graph", not_available("this graph route")),
        ["ui", ..] => ("ui", not_available("the dashboard")),
        ["sessions", ..] | ["users", ..] | ["auth", ..] | ["compile", ..] | ["artifacts", ..] => {
            ("other", not_available("this route"))
        }
        _ => (
            "no_route",
            Err(ApiError::NoRoute {
                method: req.method.clone(),
                path: req.path.clone(),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    //! Path decoding and the constant-time token check.
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }

    #[test]
    fn tokens() {
        assert!(token_matches(b"secret", b"secret"));
        assert!(!token_matches(b"secreT", b"secret"));
        assert!(!token_matches(b"secret2", b"secret"));
        assert!(!token_matches(b"", b"secret"));
    }
}
