//! User profiles and reflections, read from the nodes a reasoner writes
//! (`GET /users`, `GET /users/{id}/profile`, `GET /vector/indexes/{name}/reflections`,
//! `POST .../reflections/{id}/resolve`), upstream's shapes. This server has no
//! background reasoner: `cognitive/think` answers 501, so these read what clients
//! or tools stored (nodes of type `user_profile`, `reflection`, ...).

use serde::Deserialize;
use serde_json::{json, Value};

use super::{body, query_pairs};
use crate::engine::{now_nanos, ItemInput};
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;
use kektordb_shards::ShardError;

const REFLECTION_TYPES: &[&str] = &[
    "reflection",
    "user_profile_insight",
    "failure_pattern",
    "knowledge_evolution",
];
const STATUSES: &[&str] = &[
    "unresolved",
    "insight",
    "active",
    "high_confidence",
    "resolved",
];

fn index_of(query: &str) -> Result<String, ApiError> {
    query_pairs(query)?
        .into_iter()
        .find(|(k, _)| k == "index_name")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ShardError::invalid("index_name", "the query needs ?index_name=").into())
}

fn s<'a>(m: &'a serde_json::Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

pub async fn users(state: &State, query: &str) -> Result<Response, ApiError> {
    let index = index_of(query)?;
    let nodes = state
        .engine
        .find_nodes(&index, "type = 'user_profile'", 100)
        .await?;
    let profiles: Vec<Value> = nodes
        .iter()
        .map(|it| {
            let m = &it.metadata;
            let user = it.id.strip_prefix("_profile::").unwrap_or(&it.id);
            json!({
                "user_id": user,
                "confidence": m.get("confidence").cloned().unwrap_or(json!(0.0)),
                "last_updated": s(m, "last_updated"),
                "communication_style": s(m, "communication_style"),
            })
        })
        .collect();
    Ok(Response::ok(
        json!({"count": profiles.len(), "profiles": profiles}),
    ))
}

pub async fn profile(state: &State, id: &str, query: &str) -> Result<Response, ApiError> {
    let index = index_of(query)?;
    let node = format!("_profile::{id}");
    let it = state.engine.get_one(&index, &node).await?;
    let m = &it.metadata;
    let list = |k: &str| -> Vec<String> {
        match m.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(t)) => t
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    };
    Ok(Response::ok(json!({
        "user_id": id,
        "communication_style": s(m, "communication_style"),
        "language": s(m, "language"),
        "expertise_areas": list("expertise_areas"),
        "dislikes": list("dislikes"),
        "response_length": s(m, "response_length"),
        "confidence": m.get("confidence").cloned().unwrap_or(json!(0.0)),
        "last_updated": s(m, "last_updated"),
        "profile_data": m.get("profile_data").cloned().unwrap_or(json!({})),
    })))
}

pub async fn reflections(state: &State, name: &str, query: &str) -> Result<Response, ApiError> {
    let mut filter = format!(
        "({})",
        REFLECTION_TYPES
            .iter()
            .map(|t| format!("type = '{t}'"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    if let Some((_, st)) = query_pairs(query)?.into_iter().find(|(k, _)| k == "status") {
        if !STATUSES.contains(&st.as_str()) {
            return Err(ShardError::invalid(
                "status",
                format!("'{st}' is not one of {}", STATUSES.join(", ")),
            )
            .into());
        }
        filter = format!("{filter} AND status = '{st}'");
    }
    let nodes = state.engine.find_nodes(name, &filter, 50).await?;
    let list: Vec<Value> = nodes
        .into_iter()
        .map(|it| json!({"id": it.id, "metadata": it.metadata}))
        .collect();
    Ok(Response::ok(json!({"reflections": list})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    resolution: String,
    #[serde(default)]
    discard_id: Option<String>,
}

pub async fn resolve(state: &State, name: &str, id: &str, b: &[u8]) -> Result<Response, ApiError> {
    let req: ResolveBody = body(b)?;
    let it = state.engine.get_one(name, id).await?;
    if !REFLECTION_TYPES.contains(&s(&it.metadata, "type")) {
        return Err(ShardError::invalid("id", format!("'{id}' is not a reflection")).into());
    }
    let mut m = it.metadata;
    m.insert("status".into(), json!("resolved"));
    m.insert("resolution".into(), json!(req.resolution));
    m.insert("_updated_at".into(), json!(now_nanos()));
    if let Some(d) = req.discard_id.as_deref().filter(|d| !d.is_empty()) {
        state.engine.delete_existing(name, d).await?;
        m.insert("discarded_id".into(), json!(d));
    }
    let input = ItemInput {
        id: id.to_owned(),
        vector: (!it.vector.is_empty()).then_some(it.vector),
        metadata: m,
    };
    state.engine.add_inputs(name, vec![input], true).await?;
    Ok(Response::ok(json!({"status": "resolved", "id": id})))
}
