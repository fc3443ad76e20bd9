//! The four inspected APIs on the wire: which request is which, what the user
//! asked (the last user message or the prompt), whether the answer streams, the
//! cache keys, the context injection, and the replies the proxy writes itself
//! (a block as an error or as an ordinary assistant answer, plain or streamed, in
//! OpenAI's SSE or Ollama's NDJSON).

use bytes::Bytes;
use serde_json::{json, Map, Value};

/// An inspected endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `POST /v1/chat/completions`
    OpenAiChat,
    /// `POST /v1/completions`
    OpenAiCompletion,
    /// `POST /api/chat`
    OllamaChat,
    /// `POST /api/generate`
    OllamaGenerate,
}

impl Api {
    pub const ALL: [Api; 4] = [
        Api::OpenAiChat,
        Api::OpenAiCompletion,
        Api::OllamaChat,
        Api::OllamaGenerate,
    ];

    pub fn of(method: &http::Method, path: &str) -> Option<Api> {
        if method != http::Method::POST {
            return None;
        }
        match path.trim_end_matches('/') {
            "/v1/chat/completions" => Some(Api::OpenAiChat),
            "/v1/completions" => Some(Api::OpenAiCompletion),
            "/api/chat" => Some(Api::OllamaChat),
            "/api/generate" => Some(Api::OllamaGenerate),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::OpenAiChat => "openai_chat",
            Api::OpenAiCompletion => "openai_completions",
            Api::OllamaChat => "ollama_chat",
            Api::OllamaGenerate => "ollama_generate",
        }
    }

    pub fn openai(self) -> bool {
        matches!(self, Api::OpenAiChat | Api::OpenAiCompletion)
    }

    fn chat(self) -> bool {
        matches!(self, Api::OpenAiChat | Api::OllamaChat)
    }

    /// The content type of a streamed answer.
    pub fn stream_type(self) -> &'static str {
        if self.openai() {
            "text/event-stream"
        } else {
            "application/x-ndjson"
        }
    }
}

/// A request of an inspected API whose body is a JSON object.
#[derive(Clone, Debug)]
pub struct Inspected {
    pub api: Api,
    pub body: Map<String, Value>,
    pub stream: bool,
    pub model: String,
    /// The last user message's text (or the prompt); None: nothing to inspect.
    pub query: Option<String>,
    /// Every user-written text (the static firewall looks at all of them).
    pub user_texts: Vec<String>,
}

/// The text of a message's `content`: a string, or the text parts of an array.
fn content_text(c: &Value) -> Option<String> {
    match c {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

fn last_user(body: &Map<String, Value>) -> Option<usize> {
    let msgs = body.get("messages")?.as_array()?;
    msgs.iter()
        .rposition(|m| m.get("role").and_then(Value::as_str) == Some("user"))
}

/// Reads a request body; None when it is not a JSON object (passed through).
pub fn inspect(api: Api, raw: &[u8]) -> Option<Inspected> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(raw) else {
        return None;
    };
    // Ollama streams unless told not to; OpenAI does not unless told to.
    let stream = body
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(!api.openai());
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut user_texts = Vec::new();
    let query = if api.chat() {
        if let Some(msgs) = body.get("messages").and_then(Value::as_array) {
            for m in msgs {
                if m.get("role").and_then(Value::as_str) == Some("user") {
                    if let Some(t) = m.get("content").and_then(content_text) {
                        user_texts.push(t);
                    }
                }
            }
        }
        last_user(&body).and_then(|i| body["messages"][i].get("content").and_then(content_text))
    } else {
        let p = match body.get("prompt") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) => a.iter().rev().find_map(|v| v.as_str().map(str::to_owned)),
            _ => None,
        };
        if let Some(s) = body.get("system").and_then(Value::as_str) {
            user_texts.push(s.to_owned());
        }
        user_texts.extend(p.clone());
        p
    };
    let query = query.filter(|q| !q.trim().is_empty());
    Some(Inspected {
        api,
        body,
        stream,
        model,
        query,
        user_texts,
    })
}

impl Inspected {
    /// Open WebUI's own housekeeping prompts (titles, tags, follow-ups): not
    /// cached and given no context, as upstream does (they are still checked by
    /// the firewall).
    pub fn is_system_task(&self) -> bool {
        let q = self.query.as_deref().unwrap_or("");
        q.contains("### Task:")
            || (q.contains("Generate a concise") && q.contains("title"))
            || q.contains("Generate 1-3 broad tags")
            || q.contains("Suggest 3-5 relevant follow-up")
    }

    /// Exact-match key: the API and the whole request.
    pub fn exact_key(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(self.api.name().as_bytes());
        h.update(&[0]);
        h.update(Value::Object(self.body.clone()).to_string().as_bytes());
        h.finalize().to_hex().to_string()
    }

    /// Semantic-match key: everything but the last user text (model, sampling
    /// parameters, streaming, system prompt, earlier turns) must be equal.
    pub fn params_key(&self) -> String {
        let mut b = self.body.clone();
        if self.api.chat() {
            if let Some(i) = last_user(&b) {
                if let Some(m) = b
                    .get_mut("messages")
                    .and_then(|m| m.get_mut(i))
                    .and_then(Value::as_object_mut)
                {
                    m.remove("content");
                }
            }
        } else {
            b.remove("prompt");
        }
        b.insert("stream".into(), Value::Bool(self.stream));
        let mut h = blake3::Hasher::new();
        h.update(self.api.name().as_bytes());
        h.update(&[0]);
        h.update(Value::Object(b).to_string().as_bytes());
        h.finalize().to_hex().as_str()[..32].to_owned()
    }

    /// Replaces the user's text with `text` (the filled RAG template): the last
    /// user message's content, or the prompt.
    pub fn inject(&mut self, text: String) {
        if self.api.chat() {
            if let Some(i) = last_user(&self.body) {
                if let Some(m) = self
                    .body
                    .get_mut("messages")
                    .and_then(|m| m.get_mut(i))
                    .and_then(Value::as_object_mut)
                {
                    m.insert("content".into(), Value::String(text));
                }
            }
        } else {
            self.body.insert("prompt".into(), Value::String(text));
        }
    }

    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(Value::Object(self.body.clone()).to_string())
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn ndjson(v: Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// An ordinary assistant answer saying `text` in `api`'s format: (content type,
/// frames). One frame when not streamed.
pub fn assistant_reply(
    api: Api,
    model: &str,
    text: &str,
    stream: bool,
) -> (&'static str, Vec<Bytes>) {
    let (id, created) = ("kektor-proxy", now_secs());
    let at = crate::rag::status::rfc3339(created.saturating_mul(1_000_000_000));
    match (api, stream) {
        (Api::OpenAiChat, false) => (
            "application/json",
            vec![Bytes::from(
                json!({"id": id, "object": "chat.completion", "created": created, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})
                .to_string(),
            )],
        ),
        (Api::OpenAiChat, true) => {
            let chunk = |delta: Value, finish: Value| {
                sse(&json!({"id": id, "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))
            };
            (
                "text/event-stream",
                vec![
                    chunk(json!({"role": "assistant", "content": text}), Value::Null),
                    chunk(json!({}), json!("stop")),
                    Bytes::from_static(b"data: [DONE]\n\n"),
                ],
            )
        }
        (Api::OpenAiCompletion, false) => (
            "application/json",
            vec![Bytes::from(
                json!({"id": id, "object": "text_completion", "created": created, "model": model,
                    "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})
                .to_string(),
            )],
        ),
        (Api::OpenAiCompletion, true) => {
            let chunk = |t: &str, finish: Value| {
                sse(&json!({"id": id, "object": "text_completion", "created": created, "model": model,
                    "choices": [{"index": 0, "text": t, "logprobs": null, "finish_reason": finish}]}))
            };
            (
                "text/event-stream",
                vec![
                    chunk(text, Value::Null),
                    chunk("", json!("stop")),
                    Bytes::from_static(b"data: [DONE]\n\n"),
                ],
            )
        }
        (Api::OllamaChat, _) => {
            let msg = |t: &str| json!({"role": "assistant", "content": t});
            let done = json!({"model": model, "created_at": at, "message": msg(if stream { "" } else { text }),
                "done": true, "done_reason": "stop"});
            let frames = if stream {
                vec![
                    ndjson(json!({"model": model, "created_at": at, "message": msg(text), "done": false})),
                    ndjson(done),
                ]
            } else {
                vec![Bytes::from(done.to_string())]
            };
            (if stream { "application/x-ndjson" } else { "application/json" }, frames)
        }
        (Api::OllamaGenerate, _) => {
            let done = json!({"model": model, "created_at": at, "response": if stream { "" } else { text },
                "done": true, "done_reason": "stop"});
            let frames = if stream {
                vec![
                    ndjson(json!({"model": model, "created_at": at, "response": text, "done": false})),
                    ndjson(done),
                ]
            } else {
                vec![Bytes::from(done.to_string())]
            };
            (if stream { "application/x-ndjson" } else { "application/json" }, frames)
        }
    }
}

/// A stored stream cut back into its frames (SSE events end with a blank line,
/// NDJSON records with a newline), so a replay sends what the upstream sent.
pub fn split_frames(body: &Bytes, sse: bool) -> Vec<Bytes> {
    let sep: &[u8] = if sse { b"\n\n" } else { b"\n" };
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= body.len() {
        if &body[i..i + sep.len()] == sep {
            out.push(body.slice(start..i + sep.len()));
            start = i + sep.len();
            i = start;
        } else {
            i += 1;
        }
    }
    if start < body.len() {
        out.push(body.slice(start..));
    }
    out
}

/// Whether a finished answer is worth caching: complete (a stream that ended
/// with its end marker) and not cut off by `max_tokens`.
pub fn complete_answer(api: Api, stream: bool, body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    if text.contains("\"finish_reason\":\"length\"") || text.contains("\"done_reason\":\"length\"")
    {
        return false;
    }
    if !stream {
        // A body cut short by a client that hung up is not valid JSON.
        return serde_json::from_slice::<Value>(body).is_ok();
    }
    if api.openai() {
        text.contains("data: [DONE]")
    } else {
        text.contains("\"done\":true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_streams_and_keys() {
        let b = br#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"},{"role":"assistant","content":"a"},{"role":"user","content":[{"type":"text","text":"what now"}]}]}"#;
        let r = inspect(Api::OpenAiChat, b).unwrap();
        assert_eq!(r.query.as_deref(), Some("what now"));
        assert_eq!(r.user_texts, vec!["hi".to_owned(), "what now".to_owned()]);
        assert!(!r.stream);
        let o = inspect(Api::OllamaChat, b).unwrap();
        assert!(o.stream, "Ollama streams by default");
        let g = inspect(Api::OllamaGenerate, br#"{"model":"m","prompt":"why"}"#).unwrap();
        assert_eq!(g.query.as_deref(), Some("why"));
        assert!(inspect(Api::OpenAiChat, b"not json").is_none());
        // The params key ignores only the last user text.
        let a = inspect(
            Api::OpenAiChat,
            br#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"a"}]}"#,
        )
        .unwrap();
        let b2 = inspect(
            Api::OpenAiChat,
            br#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"b"}]}"#,
        )
        .unwrap();
        let c = inspect(
            Api::OpenAiChat,
            br#"{"model":"m","temperature":1,"messages":[{"role":"user","content":"a"}]}"#,
        )
        .unwrap();
        assert_eq!(a.params_key(), b2.params_key());
        assert_ne!(a.params_key(), c.params_key());
        assert_ne!(a.exact_key(), b2.exact_key());
        let mut a = a;
        a.inject("ctx".into());
        assert_eq!(a.body["messages"][0]["content"], "ctx");
    }

    #[test]
    fn frames_split_back() {
        let s = Bytes::from_static(b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
        let f = split_frames(&s, true);
        assert_eq!(f.len(), 3);
        assert_eq!(&f[1][..], b"data: 2\n\n");
        let n = Bytes::from_static(b"{\"a\":1}\n{\"done\":true}\n");
        assert_eq!(split_frames(&n, false).len(), 2);
        assert!(complete_answer(Api::OpenAiChat, true, &s));
        assert!(!complete_answer(
            Api::OllamaChat,
            true,
            b"{\"done\":false}\n"
        ));
    }

    #[test]
    fn replies_are_valid_json_frames() {
        for api in Api::ALL {
            for stream in [false, true] {
                let (_, frames) = assistant_reply(api, "m", "blocked", stream);
                for f in frames {
                    let t = std::str::from_utf8(&f).unwrap();
                    let t = t.strip_prefix("data: ").unwrap_or(t).trim();
                    if t != "[DONE]" {
                        serde_json::from_str::<Value>(t).unwrap();
                    }
                }
            }
        }
    }
}
