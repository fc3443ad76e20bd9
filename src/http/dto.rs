//! Request bodies of the HTTP API (field names as the spec and `kektordb-client`
//! 0.6.2 send them). Unknown fields are ignored; wrong types are a 400.

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
pub struct CreateIndex {
    pub index_name: String,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub precision: String,
    #[serde(default)]
    pub m: usize,
    #[serde(default)]
    pub ef_construction: usize,
    #[serde(default)]
    pub text_language: String,
    pub maintenance: Option<Value>,
    pub auto_links: Option<Value>,
    pub memory_config: Option<Value>,
}

#[derive(Deserialize)]
pub struct VectorItem {
    pub id: String,
    /// Missing or all zeros: a graph entity.
    #[serde(default)]
    pub vector: Option<Vec<f32>>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
pub struct AddOne {
    pub index_name: String,
    #[serde(flatten)]
    pub item: VectorItem,
}

#[derive(Deserialize)]
pub struct AddBatch {
    pub index_name: String,
    pub vectors: Vec<VectorItem>,
}

#[derive(Deserialize)]
pub struct IndexOnly {
    pub index_name: String,
}

#[derive(Deserialize)]
pub struct GetVectors {
    pub index_name: String,
    pub ids: Vec<String>,
    #[serde(default)]
    pub compress_context: bool,
}

#[derive(Deserialize)]
pub struct DeleteVector {
    pub index_name: String,
    pub id: String,
}

#[derive(Deserialize)]
pub struct Search {
    pub index_name: String,
    #[serde(default = "default_k")]
    pub k: usize,
    pub query_vector: Option<Vec<f32>>,
    pub query_text: Option<String>,
    pub filter: Option<String>,
    pub ef_search: Option<usize>,
    pub alpha: Option<f32>,
    pub include_relations: Option<Vec<String>>,
    #[serde(default)]
    pub hydrate_relations: bool,
    pub graph_filter: Option<Value>,
    #[serde(default)]
    pub compress_context: bool,
}

fn default_k() -> usize {
    10
}

#[derive(Deserialize)]
pub struct KvValue {
    pub value: Value,
}
