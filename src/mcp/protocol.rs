//! JSON-RPC 2.0 framing of the stdio transport: one message per line (UTF-8, no
//! embedded newline), lines bounded by [`MCP_LINE_BYTES_MAX`]. A line that is too
//! long is skipped without being held in memory; its request id is looked for in
//! its first bytes so the client's request still gets its error. Batches (JSON
//! arrays, removed from MCP in 2025-06-18) are refused.

use std::io::{self, BufRead};

use serde_json::{json, Map, Value};

use super::error::McpError;
use crate::limits::MCP_ID_SCAN_BYTES;

/// What one read from the input gave.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Eof,
    Line(Vec<u8>),
    /// A line of `bytes` bytes over the limit; `prefix` is its start.
    TooLong {
        prefix: Vec<u8>,
        bytes: usize,
    },
}

/// Reads one line of at most `max` bytes (the newline and a `\r` before it are
/// not part of it). Memory stays bounded by `max` whatever the input.
pub fn read_frame(r: &mut impl BufRead, max: usize) -> io::Result<Frame> {
    let mut line = Vec::new();
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if total == 0 && line.is_empty() {
                return Ok(Frame::Eof);
            }
            break;
        }
        let (n, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if !too_long {
            if line.len() + n > max {
                too_long = true;
                let keep = MCP_ID_SCAN_BYTES.saturating_sub(line.len()).min(n);
                line.extend_from_slice(&buf[..keep]);
                line.truncate(MCP_ID_SCAN_BYTES);
            } else {
                line.extend_from_slice(&buf[..n]);
            }
        }
        total += n;
        r.consume(n + usize::from(found));
        if found {
            break;
        }
    }
    if too_long {
        return Ok(Frame::TooLong {
            prefix: line,
            bytes: total,
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Frame::Line(line))
}

/// A message from the client.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// An answer to a request of ours (the server sends none): ignored.
    Response,
}

/// A request id as JSON-RPC allows it here: a string or an integer.
fn valid_id(v: &Value) -> bool {
    v.is_string() || v.is_i64() || v.is_u64()
}

/// Parses one line. An error comes with the id to answer it under (null when
/// the message has none that is valid).
pub fn parse(line: &[u8]) -> Result<Incoming, (Value, McpError)> {
    let text = std::str::from_utf8(line).map_err(|e| {
        (
            Value::Null,
            McpError::Parse(format!("not UTF-8 at byte {}", e.valid_up_to())),
        )
    })?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| (Value::Null, McpError::Parse(e.to_string())))?;
    let obj = match value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err((
                Value::Null,
                McpError::InvalidRequest(
                    "batches (JSON arrays) are not supported: send one message per line".into(),
                ),
            ))
        }
        _ => {
            return Err((
                Value::Null,
                McpError::InvalidRequest("a message must be a JSON object".into()),
            ))
        }
    };
    message(obj)
}

fn message(mut obj: Map<String, Value>) -> Result<Incoming, (Value, McpError)> {
    let id = obj.remove("id");
    let reply_id = id.clone().filter(valid_id).unwrap_or(Value::Null);
    let invalid = |why: &str| (reply_id.clone(), McpError::InvalidRequest(why.to_owned()));
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    let params = obj.remove("params");
    if params
        .as_ref()
        .is_some_and(|p| !p.is_object() && !p.is_array())
    {
        return Err(invalid("\"params\" must be an object"));
    }
    match (obj.remove("method"), id) {
        (Some(Value::String(method)), None) => Ok(Incoming::Notification { method, params }),
        (Some(Value::String(method)), Some(id)) if valid_id(&id) => {
            Ok(Incoming::Request { id, method, params })
        }
        (Some(Value::String(_)), Some(_)) => Err(invalid(
            "\"id\" must be a string or an integer (null is not allowed)",
        )),
        (Some(_), _) => Err(invalid("\"method\" must be a string")),
        (None, Some(id))
            if valid_id(&id) && (obj.contains_key("result") || obj.contains_key("error")) =>
        {
            Ok(Incoming::Response)
        }
        (None, _) => Err(invalid("a request needs \"method\"")),
    }
}

/// The answer to request `id`.
pub fn answer(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The error answer to request `id` (null when unknown).
pub fn error_answer(id: Value, e: &McpError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code(), "message": e.to_string()}})
}

/// The top-level `"id"` of a JSON object cut off after `prefix`: a string or an
/// integer, if it is complete within the prefix.
pub fn scan_id(prefix: &[u8]) -> Value {
    let mut depth = 0usize;
    let mut i = 0;
    while i < prefix.len() {
        match prefix[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let Some(end) = string_end(prefix, i) else {
                    return Value::Null;
                };
                let key = &prefix[i + 1..end];
                i = end + 1;
                if depth == 1 && key == b"id" {
                    let mut j = i;
                    while j < prefix.len() && prefix[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if prefix.get(j) == Some(&b':') {
                        return id_value(&prefix[j + 1..]);
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Value::Null
}

/// The index of the quote closing the string that opens at `start`.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A complete string or integer at the start of `rest` (after whitespace).
fn id_value(rest: &[u8]) -> Value {
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let rest = &rest[start..];
    let end = match rest.first() {
        Some(b'"') => match string_end(rest, 0) {
            Some(e) => e + 1,
            None => return Value::Null,
        },
        Some(b'-' | b'0'..=b'9') => {
            let n = 1 + rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n == rest.len() {
                return Value::Null; // the number may go on past the prefix
            }
            n
        }
        _ => return Value::Null,
    };
    serde_json::from_slice::<Value>(&rest[..end])
        .ok()
        .filter(valid_id)
        .unwrap_or(Value::Null)
}
