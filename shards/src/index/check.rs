//! Checks of names, ids, vectors (dimension and value range) and metadata against
//! the limits, shared by the router (whole batches before anything applies) and
//! the index itself.

use serde_json::{Map, Value};

use crate::error::{Result, ShardError};
use crate::limits::{
    DIM_MAX, F16_ABS_MAX, ID_BYTES_MAX, INDEX_NAME_BYTES_MAX, METADATA_BYTES_MAX, VALUE_ABS_MAX,
};
use crate::metadata::json_len;
use crate::metric::{Metric, Precision};

pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(ShardError::invalid("index_name", "must not be empty"));
    }
    if name.len() > INDEX_NAME_BYTES_MAX {
        return Err(ShardError::too_large(
            "index_name bytes",
            name.len(),
            INDEX_NAME_BYTES_MAX,
        ));
    }
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(ShardError::invalid(
            "index_name",
            "must not contain '/' or control characters",
        ));
    }
    Ok(())
}

pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(ShardError::invalid("id", "must not be empty"));
    }
    if id.len() > ID_BYTES_MAX {
        return Err(ShardError::too_large("id bytes", id.len(), ID_BYTES_MAX));
    }
    Ok(())
}

/// A zero vector of any length (including empty, and the client's `[0.0]`) marks a
/// graph entity: stored, filterable, never returned by vector search.
pub fn is_entity_vector(v: &[f32]) -> bool {
    v.iter().all(|x| *x == 0.0)
}

/// The largest |x| an index of `metric` and `precision` stores, with the reason
/// for the error message.
pub fn value_limit(metric: Metric, precision: Precision) -> (f32, &'static str) {
    if precision == Precision::Float16 && metric != Metric::Cosine {
        (
            F16_ABS_MAX,
            "in a float16 index (the largest half-precision value)",
        )
    } else {
        (VALUE_ABS_MAX, "so that distances stay finite")
    }
}

/// Checks that every value of `v` is finite and within `limit` (see
/// [`value_limit`]).
pub fn check_values(v: &[f32], limit: (f32, &'static str)) -> Result<()> {
    for (position, x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(ShardError::NonFiniteValue { position });
        }
        if x.abs() > limit.0 {
            return Err(ShardError::ValueOutOfRange {
                position,
                value: *x,
                max: limit.0,
                why: limit.1,
            });
        }
    }
    Ok(())
}

/// Checks one item against limits, the index dimension (`dim` None = not fixed
/// yet) and the value range of its precision (`limit`, see [`value_limit`]).
pub fn check_item(
    dim: Option<usize>,
    limit: (f32, &'static str),
    id: &str,
    vector: &[f32],
    metadata: &Map<String, Value>,
) -> Result<()> {
    check_id(id)?;
    if !is_entity_vector(vector) {
        if vector.len() > DIM_MAX {
            return Err(ShardError::DimensionOutOfRange {
                got: vector.len(),
                max: DIM_MAX,
            });
        }
        if let Some(d) = dim {
            if vector.len() != d {
                return Err(ShardError::WrongDimension {
                    expected: d,
                    got: vector.len(),
                });
            }
        }
        check_values(vector, limit)?;
    }
    if !metadata.is_empty() {
        let bytes = json_len(metadata);
        if bytes > METADATA_BYTES_MAX {
            return Err(ShardError::too_large(
                "metadata bytes",
                bytes,
                METADATA_BYTES_MAX,
            ));
        }
    }
    Ok(())
}
