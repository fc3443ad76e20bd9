//! Tensors from a `.safetensors` file (an 8-byte little-endian header length, a JSON
//! header naming each tensor's dtype, shape and byte range, then the data). Only F32
//! tensors are read; names may carry a `bert.` prefix (checkpoints saved from
//! `BertForMaskedLM` and friends).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

pub struct Weights {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Weights {
    pub fn load(path: &Path) -> Result<Weights, String> {
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let bytes = std::fs::read(path).map_err(|e| err(&e))?;
        if bytes.len() < 8 {
            return Err(err(&"too short for a safetensors file"));
        }
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
        let header_end = 8usize
            .checked_add(n)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| err(&"header length past the end"))?;
        let header: Value = serde_json::from_slice(&bytes[8..header_end]).map_err(|e| err(&e))?;
        let data = &bytes[header_end..];
        let mut tensors = HashMap::new();
        for (name, t) in header
            .as_object()
            .ok_or_else(|| err(&"header is not an object"))?
        {
            if name == "__metadata__" || t.get("dtype").and_then(Value::as_str) != Some("F32") {
                continue;
            }
            let shape: Vec<usize> = t
                .get("shape")
                .and_then(Value::as_array)
                .ok_or_else(|| err(&format!("{name}: no shape")))?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| err(&format!("{name}: bad shape")))?;
            let off = t
                .get("data_offsets")
                .and_then(Value::as_array)
                .filter(|o| o.len() == 2)
                .ok_or_else(|| err(&format!("{name}: no data_offsets")))?;
            let (a, b) = (
                off[0].as_u64().unwrap_or(u64::MAX) as usize,
                off[1].as_u64().unwrap_or(u64::MAX) as usize,
            );
            let count: usize = shape.iter().product();
            if a > b || b > data.len() || b - a != count * 4 {
                return Err(err(&format!("{name}: data range does not match its shape")));
            }
            let values = data[a..b]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            let key = name.strip_prefix("bert.").unwrap_or(name).to_owned();
            tensors.insert(key, (shape, values));
        }
        Ok(Weights { tensors })
    }

    /// Takes tensor `name`, checking its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let (s, v) = self
            .tensors
            .remove(name)
            .ok_or_else(|| format!("the model has no tensor {name}"))?;
        if s != shape {
            return Err(format!("{name} has shape {s:?}, expected {shape:?}"));
        }
        Ok(v)
    }
}
