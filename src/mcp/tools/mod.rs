//! The tool registry and what every tool shares: [`Tool`] (name, description,
//! parameters, output schema, annotations, profile, handler), the selection by
//! `--tools`, and [`Ctx`], through which handlers reach the engine. One file per
//! family: `memory.rs` (save, get, delete, reinforce), `recall.rs` (recall,
//! scoped recall, scores), `graph.rs` (entities, links, walks), `session.rs`,
//! `admin.rs` (indexes, stats, listings).

mod admin;
mod graph;
mod memory;
mod recall;
mod session;

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};

use kektordb_shards::index::{GoDuration, IndexSpec, Item, MemorySpec};
use serde_json::{json, Map, Value};

use super::error::ToolError;
use super::schema::Args;
pub use super::schema::Param;
use crate::engine::{now_nanos, Engine, EngineError};

/// Annotations: hints a client may use to ask before running a tool.
#[derive(Clone, Copy, Debug)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

pub const READ: Hints = Hints {
    read_only: true,
    destructive: false,
    idempotent: true,
};
pub const ADD: Hints = Hints {
    read_only: false,
    destructive: false,
    idempotent: false,
};
pub const UPSERT: Hints = Hints {
    read_only: false,
    destructive: true,
    idempotent: true,
};

pub type Handler = fn(&Ctx, &Args) -> Result<Value, ToolError>;

/// One tool.
pub struct Tool {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub params: &'static [Param],
    /// The `outputSchema` (the shape of `structuredContent`).
    pub output: fn() -> Value,
    pub hints: Hints,
    /// In the admin profile (else the agent profile), as upstream.
    pub admin: bool,
    pub run: Handler,
}

/// Every tool, in `tools/list` order.
pub fn all() -> impl Iterator<Item = &'static Tool> {
    [
        memory::TOOLS,
        recall::TOOLS,
        graph::TOOLS,
        session::TOOLS,
        admin::TOOLS,
    ]
    .into_iter()
    .flatten()
}

pub fn find(name: &str) -> Option<&'static Tool> {
    all().find(|t| t.name == name)
}

/// Every tool name.
pub fn tool_names() -> Vec<&'static str> {
    all().map(|t| t.name).collect()
}

/// The tools `spec` names: `all`, `agent`, `admin` or a comma list of profiles
/// and tool names; the unknown names are the error.
pub fn select_tools(spec: &str) -> Result<Vec<String>, Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let picked: Vec<&Tool> = match word {
            "all" => all().collect(),
            "agent" => all().filter(|t| !t.admin).collect(),
            "admin" => all().filter(|t| t.admin).collect(),
            name => match find(name) {
                Some(t) => vec![t],
                None => {
                    unknown.push(name.to_owned());
                    continue;
                }
            },
        };
        for t in picked {
            if !out.iter().any(|n| n == t.name) {
                out.push(t.name.to_owned());
            }
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    if out.is_empty() {
        return Err(vec![format!("'{spec}' (no tool)")]);
    }
    // Registry order, whatever order they were named in.
    Ok(all()
        .filter(|t| out.iter().any(|n| n == t.name))
        .map(|t| t.name.to_owned())
        .collect())
}

/// What a handler works with.
pub struct Ctx {
    pub engine: Engine,
    pub default_index: String,
    pub embedder_hint: String,
    last_ns: AtomicI64,
}

/// The memory layers (upstream's).
pub const LAYERS: &[&str] = &["episodic", "semantic", "procedural"];

/// Upstream's memory index: cosine, M 16, ef 200, English BM25, decay with a
/// 30-day half-life.
pub const HALF_LIFE_DAYS: i64 = 30;

impl Ctx {
    pub fn new(engine: Engine, default_index: String, embedder_hint: String) -> Ctx {
        Ctx {
            engine,
            default_index,
            embedder_hint,
            last_ns: AtomicI64::new(0),
        }
    }

    /// Waits for an engine future on this (plain) thread.
    pub fn wait<F: Future>(&self, f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }

    /// `index_name`, else the default index.
    pub fn index(&self, a: &Args) -> String {
        a.str("index_name")
            .unwrap_or_else(|| self.default_index.clone())
    }

    pub fn exists(&self, index: &str) -> bool {
        self.engine.config(index).is_ok()
    }

    /// Creates `index` as a memory index unless it exists.
    pub fn ensure_index(&self, index: &str) -> Result<(), ToolError> {
        if self.exists(index) {
            return Ok(());
        }
        let spec = IndexSpec {
            index_name: index.to_owned(),
            metric: "cosine".into(),
            precision: "float32".into(),
            m: 16,
            ef_construction: 200,
            text_language: "english".into(),
            memory_config: Some(MemorySpec {
                enabled: true,
                decay_half_life: Some(GoDuration(HALF_LIFE_DAYS * 86_400 * 1_000_000_000)),
            }),
            ..IndexSpec::default()
        };
        Ok(self.wait(self.engine.ensure_index(spec))?)
    }

    /// Refuses with the fix when `index` has no embedder.
    pub fn require_embedder(&self, index: &str) -> Result<(), ToolError> {
        match self.engine.embedder_for(index) {
            Some(_) => Ok(()),
            None => Err(EngineError::NoEmbedder {
                index: index.to_owned(),
            }
            .into()),
        }
    }

    /// A timestamp for a new id: now, and later than every earlier one.
    pub fn unique_ns(&self) -> i64 {
        let now = now_nanos();
        let prev = self
            .last_ns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(prev + 1)
    }

    /// Items by id; none when the index does not exist.
    pub fn items(&self, index: &str, ids: Vec<String>) -> Result<Vec<Item>, ToolError> {
        if !self.exists(index) || ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.wait(self.engine.get_many(index, ids))?)
    }
}

/// A filter literal: `'text'` with `\` and `'` escaped.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub use kektordb_shards::clock::rfc3339;

fn meta_str<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

/// Upstream's one-line form of a node: `[id] content`, `[ENTITY: id]
/// description`, or `[NODE: id]`.
pub fn line_of(it: &Item) -> String {
    let m = &it.metadata;
    if let Some(c) = meta_str(m, "content") {
        format!("[{}] {c}", it.id)
    } else if m.get("is_entity").and_then(Value::as_bool) == Some(true) {
        format!(
            "[ENTITY: {}] {}",
            it.id,
            meta_str(m, "description").unwrap_or("")
        )
    } else {
        format!("[NODE: {}]", it.id)
    }
}

/// The text of a node (content, else description).
pub fn text_of(it: &Item) -> String {
    let m = &it.metadata;
    meta_str(m, "content")
        .or_else(|| meta_str(m, "description"))
        .unwrap_or("")
        .to_owned()
}

/// A node as tools return it: id, its text and the metadata a model needs.
pub fn node_json(it: &Item, score: Option<f32>) -> Value {
    let m = &it.metadata;
    let mut o = json!({"id": it.id, "content": text_of(it)});
    if let Some(s) = score {
        o["score"] = json!(s);
    }
    for (from, to) in [
        ("type", "type"),
        ("memory_layer", "layer"),
        ("timestamp", "timestamp"),
        ("session_id", "session_id"),
        ("user_id", "user_id"),
    ] {
        if let Some(v) = meta_str(m, from) {
            o[to] = json!(v);
        }
    }
    if let Some(t) = m.get("tags").filter(|t| t.is_array()) {
        o["tags"] = t.clone();
    }
    o
}

/// The JSON Schema of one node as [`node_json`] writes it.
pub fn node_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "content": {"type": "string"},
            "score": {"type": "number"},
            "type": {"type": "string"},
            "layer": {"type": "string"},
            "timestamp": {"type": "string"},
            "session_id": {"type": "string"},
            "user_id": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["id", "content"]
    })
}

/// A value of JSON type `ty` or null (`anyOf`, which more clients map than a
/// list of types).
pub fn nullable(ty: &str) -> Value {
    json!({"anyOf": [{"type": ty}, {"type": "null"}]})
}

/// An object schema with these properties, all required.
pub fn object(props: Value) -> Value {
    let required: Vec<String> = props
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "properties": props, "required": required})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("it's"), r"'it\'s'");
        assert_eq!(quote(r"a\b"), r"'a\\b'");
        let f = format!("session_id = {}", quote("x'y\\"));
        assert!(kektordb_shards::filter::parse(&f).is_ok(), "{f}");
    }

    #[test]
    fn selection() {
        let all = select_tools("all").unwrap();
        assert_eq!(all.len(), tool_names().len());
        let agent = select_tools("agent").unwrap();
        let admin = select_tools("admin").unwrap();
        assert_eq!(agent.len() + admin.len(), all.len());
        assert!(admin.contains(&"list_vectors".to_owned()));
        assert!(agent.contains(&"save_memory".to_owned()));
        assert_eq!(
            select_tools("recall_memory, save_memory,recall_memory").unwrap(),
            vec!["save_memory".to_owned(), "recall_memory".to_owned()]
        );
        assert_eq!(select_tools("agent,nope,x").unwrap_err(), vec!["nope", "x"]);
        assert!(select_tools(" , ").is_err());
        let mut names = tool_names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len(), "tool names are unique");
        for n in tool_names() {
            assert!(
                n.len() <= 128
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
                "{n}"
            );
        }
    }
}
