//! Sessions: durable nodes of an index (type `session`), not process memory, so
//! they survive a restart and every front end (HTTP `/sessions`, MCP
//! `start_session`/`end_session`) sees the same ones. Ending a session writes a
//! summary node of its memories (type `session_summary`, embedded from its text
//! when the index has an embedder, a node without a vector otherwise; never a
//! zero vector of some fixed dimension, as upstream did) linked `summarizes`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use kektordb_shards::clock::rfc3339;
use kektordb_shards::index::Item;
use kektordb_shards::ShardError;

use super::error::Result;
use super::{Engine, ItemInput, Link};
use crate::limits::{SESSION_SCAN_MAX, SESSION_SUMMARY_CHARS, SESSION_SUMMARY_MEMORIES};

/// `POST /sessions` and MCP `start_session`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    #[serde(default)]
    pub index_name: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub context: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionStarted {
    pub session_id: String,
    /// It existed and was active already (starting it again is a no-op).
    pub already_active: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionEnded {
    pub session_id: String,
    pub summary_id: Option<String>,
    pub memories: usize,
    pub summary: String,
}

fn status(m: &Map<String, Value>) -> &str {
    m.get("session_status")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn is_session(it: &Item) -> bool {
    it.metadata.get("type").and_then(Value::as_str) == Some("session")
}

/// A filter literal: `'text'` with `\` and `'` escaped.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Engine {
    /// Starts a session at `ns` (unix ns; the id defaults to `session::<ns>`).
    pub async fn start_session(&self, req: &StartSession, ns: i64) -> Result<SessionStarted> {
        let index = &req.index_name;
        self.catalog().get(index)?;
        let id = req
            .session_id
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("session::{ns}"));
        if let Some(old) = self.get_many(index, vec![id.clone()]).await?.pop() {
            if !is_session(&old) {
                return Err(ShardError::invalid(
                    "session_id",
                    format!("'{id}' is a node that is not a session: choose another session_id"),
                )
                .into());
            }
            if status(&old.metadata) == "active" {
                return Ok(SessionStarted {
                    session_id: id,
                    already_active: true,
                });
            }
            return Err(ShardError::invalid(
                "session_id",
                format!(
                    "session '{id}' has ended: start a new one with another session_id (or none)"
                ),
            )
            .into());
        }
        let mut m = Map::new();
        m.insert("type".into(), json!("session"));
        m.insert("session_status".into(), json!("active"));
        m.insert("started_at".into(), json!(rfc3339(ns)));
        m.insert("started_at_ns".into(), json!(ns));
        for (key, v) in [
            ("agent_id", &req.agent_id),
            ("user_id", &req.user_id),
            ("context", &req.context),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                m.insert(key.into(), json!(v));
            }
        }
        let input = ItemInput {
            id: id.clone(),
            vector: None,
            metadata: m,
        };
        self.add_inputs(index, vec![input], true).await?;
        Ok(SessionStarted {
            session_id: id,
            already_active: false,
        })
    }

    /// Ends a session at `ns`: summary node, status `ended`. Ending an ended
    /// session answers what it ended with.
    pub async fn end_session(&self, index: &str, id: &str, ns: i64) -> Result<SessionEnded> {
        let session = self
            .get_many(index, vec![id.to_owned()])
            .await?
            .pop()
            .filter(is_session)
            .ok_or_else(|| ShardError::IdNotFound {
                index: index.to_owned(),
                id: id.to_owned(),
            })?;
        let m = &session.metadata;
        if status(m) == "ended" {
            return Ok(SessionEnded {
                session_id: id.to_owned(),
                summary_id: m
                    .get("summary_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                memories: m.get("memory_count").and_then(Value::as_u64).unwrap_or(0) as usize,
                summary: m
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        let filter = format!("type = 'memory' AND session_id = {}", quote(id));
        let mut memories = self.find_nodes(index, &filter, SESSION_SCAN_MAX).await?;
        let at = |it: &Item| {
            it.metadata
                .get("created_at")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        memories.sort_by(|x, y| at(x).cmp(&at(y)).then_with(|| x.id.cmp(&y.id)));
        let (summary, summary_id) = if memories.is_empty() {
            (format!("Session {id} ended with no memories."), None)
        } else {
            let points: Vec<String> = memories
                .iter()
                .take(SESSION_SUMMARY_MEMORIES)
                .enumerate()
                .map(|(i, it)| {
                    let c = it
                        .metadata
                        .get("content")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let mut s: String = c.chars().take(SESSION_SUMMARY_CHARS).collect();
                    if s.len() < c.len() {
                        s.push_str("...");
                    }
                    format!("{}. {s}", i + 1)
                })
                .collect();
            let text = format!(
                "Session {id} ({} memories): {}",
                memories.len(),
                points.join(" ")
            );
            let sid = format!("summary_{ns}");
            let mut sm = Map::new();
            sm.insert("content".into(), json!(text));
            sm.insert("type".into(), json!("session_summary"));
            sm.insert("memory_layer".into(), json!("episodic"));
            sm.insert("session_id".into(), json!(id));
            sm.insert("memory_count".into(), json!(memories.len()));
            sm.insert("timestamp".into(), json!(rfc3339(ns)));
            sm.insert("created_at".into(), json!(ns));
            if let Some(u) = m.get("user_id") {
                sm.insert("user_id".into(), u.clone());
            }
            let input = ItemInput {
                id: sid.clone(),
                vector: None,
                metadata: sm,
            };
            self.add_inputs(index, vec![input], true).await?;
            self.link(Link {
                source: sid.clone(),
                target: id.to_owned(),
                relation: "summarizes".into(),
                inverse: None,
                weight: 1.0,
                props: Map::new(),
            })
            .await?;
            (text, Some(sid))
        };
        let mut m = session.metadata;
        m.insert("session_status".into(), json!("ended"));
        m.insert("ended_at".into(), json!(rfc3339(ns)));
        m.insert("summary_id".into(), json!(summary_id));
        m.insert("memory_count".into(), json!(memories.len()));
        m.insert("summary".into(), json!(summary));
        let input = ItemInput {
            id: id.to_owned(),
            vector: (!session.vector.is_empty()).then_some(session.vector),
            metadata: m,
        };
        self.add_inputs(index, vec![input], true).await?;
        Ok(SessionEnded {
            session_id: id.to_owned(),
            summary_id,
            memories: memories.len(),
            summary,
        })
    }
}
