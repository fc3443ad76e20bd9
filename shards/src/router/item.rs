//! What callers hand the router and get back about an index.

use serde_json::{Map, Value};

use crate::index::{IndexConfig, IndexMemory};

/// One item of an add-batch.
#[derive(Clone, Debug, PartialEq)]
pub struct NewItem {
    pub id: String,
    pub vector: Vec<f32>,
    pub metadata: Map<String, Value>,
}

/// What the router knows about an index: its config and its fixed dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexInfo {
    pub config: IndexConfig,
    pub dim: Option<usize>,
    pub len: usize,
    pub memory: IndexMemory,
}
