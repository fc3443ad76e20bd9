//! Tool parameters: one declaration per parameter gives the JSON Schema a client
//! sees (`inputSchema`, with `additionalProperties: false`), the check of the
//! arguments a call brings (unknown, missing or mistyped arguments are -32602),
//! and the default a tool reads. So a description and its default cannot
//! disagree (an upstream defect): the default is written once, here.

use serde_json::{json, Map, Value};

use super::error::McpError;
use crate::limits::{MCP_CONTENT_BYTES_MAX, MCP_NAME_BYTES_MAX};

/// A parameter's type and bounds.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    /// A name, id or query: at most [`MCP_NAME_BYTES_MAX`] bytes, not empty.
    Name,
    /// A text: at most [`MCP_CONTENT_BYTES_MAX`] bytes.
    Text,
    Int {
        min: i64,
        max: i64,
    },
    /// A finite number in `min..=max`.
    Num {
        min: f64,
        max: f64,
    },
    Bool,
    /// A boolean or null (upstream's `_pinned`).
    NullableBool,
    /// Strings, at most `max` of them.
    Strings {
        max: usize,
    },
    /// An array of strings or one comma-separated string (upstream's `tags`).
    StringsOrCsv,
    Enum(&'static [&'static str]),
    /// Strings from a fixed set.
    EnumList(&'static [&'static str]),
    /// An object of finite numbers by name.
    NumberMap,
}

/// One parameter of a tool.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub description: &'static str,
    /// The default as JSON text ("" for none); the schema shows it and
    /// [`Args`] returns it for an absent argument.
    pub default: &'static str,
}

pub const fn req(name: &'static str, ty: Ty, description: &'static str) -> Param {
    Param {
        name,
        ty,
        required: true,
        description,
        default: "",
    }
}

pub const fn opt(
    name: &'static str,
    ty: Ty,
    default: &'static str,
    description: &'static str,
) -> Param {
    Param {
        name,
        ty,
        required: false,
        description,
        default,
    }
}

impl Ty {
    fn schema(self) -> Value {
        match self {
            Ty::Name => json!({"type": "string", "minLength": 1, "maxLength": MCP_NAME_BYTES_MAX}),
            Ty::Text => {
                json!({"type": "string", "minLength": 1, "maxLength": MCP_CONTENT_BYTES_MAX})
            }
            Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Ty::Num { min, max } => json!({"type": "number", "minimum": min, "maximum": max}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::NullableBool => json!({"anyOf": [{"type": "boolean"}, {"type": "null"}]}),
            Ty::Strings { max } => {
                json!({"type": "array", "items": {"type": "string"}, "maxItems": max})
            }
            Ty::StringsOrCsv => json!({"anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string"}
            ]}),
            Ty::Enum(values) => json!({"type": "string", "enum": values}),
            Ty::EnumList(values) => {
                json!({"type": "array", "items": {"type": "string", "enum": values}})
            }
            Ty::NumberMap => json!({"type": "object", "additionalProperties": {"type": "number"}}),
        }
    }

    /// Why `v` is not of this type, if it is not.
    fn check(self, v: &Value) -> Option<String> {
        let strings = |a: &Vec<Value>| a.iter().all(Value::is_string);
        match (self, v) {
            (Ty::Name, Value::String(s)) if s.is_empty() => Some("must not be empty".into()),
            (Ty::Name, Value::String(s)) if s.len() > MCP_NAME_BYTES_MAX => Some(format!(
                "must be at most {MCP_NAME_BYTES_MAX} bytes, got {}",
                s.len()
            )),
            (Ty::Text, Value::String(s)) if s.trim().is_empty() => Some("must not be empty".into()),
            (Ty::Text, Value::String(s)) if s.len() > MCP_CONTENT_BYTES_MAX => Some(format!(
                "must be at most {MCP_CONTENT_BYTES_MAX} bytes, got {}",
                s.len()
            )),
            (Ty::Name | Ty::Text, Value::String(_)) => None,
            (Ty::Int { min, max }, v) => match integer(v) {
                Some(n) if n >= min && n <= max => None,
                Some(n) => Some(format!("must be between {min} and {max}, got {n}")),
                None => Some("must be an integer".into()),
            },
            (Ty::Num { min, max }, v) => match v.as_f64() {
                Some(x) if x >= min && x <= max => None,
                Some(x) => Some(format!("must be between {min} and {max}, got {x}")),
                None => Some("must be a number".into()),
            },
            (Ty::Bool, Value::Bool(_)) | (Ty::NullableBool, Value::Bool(_) | Value::Null) => None,
            (Ty::Strings { max }, Value::Array(a)) if strings(a) => {
                (a.len() > max).then(|| format!("must have at most {max} items, got {}", a.len()))
            }
            (Ty::StringsOrCsv, Value::String(_)) => None,
            (Ty::StringsOrCsv, Value::Array(a)) if strings(a) => None,
            (Ty::Enum(values), Value::String(s)) => (!values.contains(&s.as_str()))
                .then(|| format!("must be one of {}, got '{s}'", values.join(", "))),
            (Ty::EnumList(values), Value::Array(a)) => a
                .iter()
                .find(|x| !x.as_str().is_some_and(|s| values.contains(&s)))
                .map(|x| format!("items must be among {}, got {x}", values.join(", "))),
            (Ty::NumberMap, Value::Object(o)) => o
                .iter()
                .find(|(_, x)| !x.as_f64().is_some_and(f64::is_finite))
                .map(|(k, _)| format!("'{k}' must be a number")),
            (ty, _) => Some(format!("must be {}", ty.noun())),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Ty::Name | Ty::Text | Ty::Enum(_) => "a string",
            Ty::Int { .. } => "an integer",
            Ty::Num { .. } => "a number",
            Ty::Bool => "a boolean",
            Ty::NullableBool => "a boolean or null",
            Ty::Strings { .. } | Ty::EnumList(_) => "an array of strings",
            Ty::StringsOrCsv => "an array of strings or a comma-separated string",
            Ty::NumberMap => "an object of numbers",
        }
    }
}

/// An integer, also when written as a float with no fraction (`5.0`).
fn integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// The `inputSchema` of a tool with these parameters.
pub fn input_schema(params: &[Param]) -> Value {
    let mut props = Map::new();
    for p in params {
        let mut s = p.ty.schema();
        s["description"] = Value::String(p.description.to_owned());
        if let Ok(d) = serde_json::from_str::<Value>(p.default) {
            s["default"] = d;
        }
        props.insert(p.name.to_owned(), s);
    }
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    let mut schema = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// A call's arguments, checked against the tool's parameters.
#[derive(Debug)]
pub struct Args {
    values: Map<String, Value>,
    params: &'static [Param],
}

/// Checks `arguments` (absent means none) against `params`.
pub fn check(
    tool: &str,
    params: &'static [Param],
    arguments: Option<&Value>,
) -> Result<Args, McpError> {
    let values = match arguments {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => {
            return Err(McpError::InvalidParams(format!(
                "{tool}: arguments must be an object"
            )))
        }
    };
    for (k, v) in &values {
        let Some(p) = params.iter().find(|p| p.name == k) else {
            let known: Vec<&str> = params.iter().map(|p| p.name).collect();
            return Err(McpError::InvalidParams(format!(
                "{tool}: unknown argument '{k}' (arguments: {})",
                known.join(", ")
            )));
        };
        if let Some(why) = p.ty.check(v) {
            return Err(McpError::InvalidParams(format!("{tool}: '{k}' {why}")));
        }
    }
    if let Some(p) = params
        .iter()
        .find(|p| p.required && !values.contains_key(p.name))
    {
        return Err(McpError::InvalidParams(format!(
            "{tool}: missing required argument '{}'",
            p.name
        )));
    }
    Ok(Args { values, params })
}

impl Args {
    /// The argument, else the parameter's default.
    fn get(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.values.get(name).filter(|v| !v.is_null()) {
            return Some(v.clone());
        }
        let p = self.params.iter().find(|p| p.name == name)?;
        serde_json::from_str(p.default).ok()
    }

    /// Whether the call gave this argument.
    pub fn has(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| v.as_str().map(str::to_owned))
    }

    /// A required string (checked present by [`check`]).
    pub fn string(&self, name: &str) -> String {
        self.str(name).unwrap_or_default()
    }

    pub fn int(&self, name: &str) -> i64 {
        self.get(name).as_ref().and_then(integer).unwrap_or(0)
    }

    /// A non-negative integer (the schema's minimum keeps it so).
    pub fn count(&self, name: &str) -> usize {
        usize::try_from(self.int(name)).unwrap_or(0)
    }

    pub fn number(&self, name: &str) -> f64 {
        self.get(name).and_then(|v| v.as_f64()).unwrap_or(0.0)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name).and_then(|v| v.as_bool()).unwrap_or(false)
    }

    /// Strings from an array, or from one comma-separated string; blanks dropped.
    pub fn strings(&self, name: &str) -> Vec<String> {
        let raw: Vec<String> = match self.get(name) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => s.split(',').map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        raw.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn numbers(&self, name: &str) -> Vec<(String, f64)> {
        match self.get(name) {
            Some(Value::Object(o)) => o
                .into_iter()
                .filter_map(|(k, v)| v.as_f64().map(|f| (k, f)))
                .collect(),
            _ => Vec::new(),
        }
    }
}
