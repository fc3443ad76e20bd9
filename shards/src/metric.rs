//! Distance metric and storage precision of an index.

use serde::{Deserialize, Serialize};

/// How two vectors are compared. Smaller distance = more similar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Squared L2 distance.
    #[default]
    Euclidean,
    /// `1 - cos(a, b)`; vectors are normalized on insert.
    Cosine,
    /// `-dot(a, b)` (larger dot = closer).
    Dot,
}

impl Metric {
    pub fn parse(s: &str) -> Option<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "" | "euclidean" | "l2" => Some(Metric::Euclidean),
            "cosine" => Some(Metric::Cosine),
            "dot" | "ip" | "inner_product" => Some(Metric::Dot),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Euclidean => "euclidean",
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
        }
    }
    /// Similarity score in (0, 1] (higher is better) from a distance, as upstream:
    /// `1 / (1 + d)` for euclidean and cosine; a logistic of the dot product for dot.
    pub fn score(self, distance: f32) -> f32 {
        match self {
            Metric::Euclidean | Metric::Cosine => 1.0 / (1.0 + distance.max(0.0)),
            Metric::Dot => 1.0 / (1.0 + distance.exp()),
        }
    }
}

/// How vectors are kept in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Precision {
    #[default]
    #[serde(rename = "float32")]
    Float32,
    #[serde(rename = "float16")]
    Float16,
    #[serde(rename = "int8")]
    Int8,
}

impl Precision {
    pub fn parse(s: &str) -> Option<Precision> {
        match s.to_ascii_lowercase().as_str() {
            "" | "float32" | "f32" => Some(Precision::Float32),
            "float16" | "f16" => Some(Precision::Float16),
            "int8" | "i8" => Some(Precision::Int8),
            _ => None,
        }
    }
    /// Whether an index in this precision can be compressed to `to` (the same or a
    /// smaller precision: float32 > float16 > int8).
    pub fn can_compress_to(self, to: Precision) -> bool {
        let rank = |p: Precision| match p {
            Precision::Float32 => 2,
            Precision::Float16 => 1,
            Precision::Int8 => 0,
        };
        rank(to) <= rank(self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Float32 => "float32",
            Precision::Float16 => "float16",
            Precision::Int8 => "int8",
        }
    }
}
