//! The server loop and its methods: `initialize` (the version handshake), `ping`,
//! `tools/list`, `tools/call`, `prompts/list`, `prompts/get`; notifications are
//! accepted and need no answer; every other method is -32601. A bad line gets its
//! error and the loop reads the next one; a tool that fails answers `isError`; a
//! tool that panics is -32603, and the server goes on.

use std::io::{self, BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::{json, Map, Value};

use super::error::McpError;
use super::protocol::{self, answer, error_answer, read_frame, scan_id, Frame, Incoming};
use super::tools::{self, Ctx, Tool};
use super::{prompts, schema, McpOptions};
use crate::engine::Engine;
use crate::limits::MCP_LINE_BYTES_MAX;

/// The handshake revisions served, oldest first; a client asking for another
/// gets the latest.
pub const SUPPORTED_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

const INSTRUCTIONS: &str = "Persistent memory: recall_memory before answering from what you might already know, save_memory for facts, preferences, decisions and events worth keeping. The prompt memory_instructions says more.";

/// The MCP server over one engine.
pub struct Server {
    ctx: Ctx,
    tools: Vec<&'static Tool>,
}

impl Server {
    pub fn new(engine: Engine, options: &McpOptions) -> Server {
        Server {
            ctx: Ctx::new(
                engine,
                options.default_index.clone(),
                options.embedder_hint.clone(),
            ),
            tools: tools::all()
                .filter(|t| options.tools.iter().any(|n| n == t.name))
                .collect(),
        }
    }

    /// Names of the tools offered.
    pub fn tool_names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name).collect()
    }

    /// Serves messages from `input` until it ends, one answer line per request.
    pub fn run(&self, mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
        loop {
            let reply = match read_frame(&mut input, MCP_LINE_BYTES_MAX)? {
                Frame::Eof => return Ok(()),
                Frame::Line(l) if l.iter().all(u8::is_ascii_whitespace) => continue,
                Frame::Line(l) => self.handle(&l),
                Frame::TooLong { prefix, bytes } => {
                    let e = McpError::InvalidRequest(format!(
                        "message of {bytes} bytes is over the limit of {MCP_LINE_BYTES_MAX} bytes per line"
                    ));
                    eprintln!("kektordb: mcp: {e}");
                    Some(error_answer(scan_id(&prefix), &e))
                }
            };
            if let Some(r) = reply {
                let mut line = serde_json::to_vec(&r).map_err(io::Error::other)?;
                line.push(b'\n');
                output.write_all(&line)?;
                output.flush()?;
            }
        }
    }

    /// The answer to one line, if it is owed one.
    pub fn handle(&self, line: &[u8]) -> Option<Value> {
        match protocol::parse(line) {
            Err((id, e)) => {
                eprintln!("kektordb: mcp: {e}");
                Some(error_answer(id, &e))
            }
            Ok(Incoming::Response | Incoming::Notification { .. }) => None,
            Ok(Incoming::Request { id, method, params }) => {
                Some(match self.request(&method, params) {
                    Ok(r) => answer(id, r),
                    Err(e) => {
                        eprintln!("kektordb: mcp: {method}: {e}");
                        error_answer(id, &e)
                    }
                })
            }
        }
    }

    fn request(&self, method: &str, params: Option<Value>) -> Result<Value, McpError> {
        let params = match params {
            None => Value::Object(Map::new()),
            Some(Value::Object(o)) => Value::Object(o),
            Some(_) => return Err(McpError::InvalidParams("params must be an object".into())),
        };
        match method {
            "initialize" => initialize(&params),
            "ping" => Ok(json!({})),
            "tools/list" => self.list(&params),
            "tools/call" => self.call(&params),
            "prompts/list" => Ok(prompts::list()),
            "prompts/get" => prompts::get(&params),
            other => Err(McpError::MethodNotFound(format!(
                "'{other}' (this server speaks MCP {} over stdio: initialize, ping, tools/list, tools/call, prompts/list, prompts/get)",
                SUPPORTED_VERSIONS.join(", ")
            ))),
        }
    }

    fn list(&self, params: &Value) -> Result<Value, McpError> {
        if params.get("cursor").is_some_and(|c| !c.is_null()) {
            return Err(McpError::InvalidParams(
                "unknown cursor: tools/list answers in one page".into(),
            ));
        }
        let tools: Vec<Value> = self.tools.iter().map(|t| describe(t)).collect();
        Ok(json!({ "tools": tools }))
    }

    fn call(&self, params: &Value) -> Result<Value, McpError> {
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| McpError::InvalidParams("tools/call needs \"name\"".into()))?;
        let tool = self.tools.iter().find(|t| t.name == name).ok_or_else(|| {
            McpError::InvalidParams(format!(
                "unknown tool '{name}' (tools: {})",
                self.tool_names().join(", ")
            ))
        })?;
        let args = schema::check(name, tool.params, params.get("arguments"))?;
        let ran = catch_unwind(AssertUnwindSafe(|| (tool.run)(&self.ctx, &args)))
            .map_err(|_| McpError::Internal(format!("tool {name} failed unexpectedly")))?;
        Ok(match ran {
            Ok(value) => json!({
                "content": [{"type": "text", "text": value.to_string()}],
                "structuredContent": value,
                "isError": false,
            }),
            Err(e) => {
                let r = e.into_result(&self.ctx.embedder_hint);
                eprintln!("kektordb: mcp: {name}: {}", r["content"][0]["text"]);
                r
            }
        })
    }
}

fn initialize(params: &Value) -> Result<Value, McpError> {
    let asked = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            McpError::InvalidParams("initialize needs \"protocolVersion\" (a string)".into())
        })?;
    let version = SUPPORTED_VERSIONS
        .iter()
        .find(|v| **v == asked)
        .or(SUPPORTED_VERSIONS.last())
        .copied()
        .unwrap_or_default();
    Ok(json!({
        "protocolVersion": version,
        "capabilities": {
            "tools": {"listChanged": false},
            "prompts": {"listChanged": false},
        },
        "serverInfo": {
            "name": "kektordb",
            "title": "KektorDB memory",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "instructions": INSTRUCTIONS,
    }))
}

/// A tool as `tools/list` shows it.
fn describe(t: &Tool) -> Value {
    json!({
        "name": t.name,
        "title": t.title,
        "description": t.description,
        "inputSchema": schema::input_schema(t.params),
        "outputSchema": (t.output)(),
        "annotations": {
            "title": t.title,
            "readOnlyHint": t.hints.read_only,
            "destructiveHint": t.hints.destructive,
            "idempotentHint": t.hints.idempotent,
            "openWorldHint": false,
        },
    })
}
