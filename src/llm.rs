//! A chat model behind an OpenAI-compatible API (`{base_url}/chat/completions`,
//! the `llm:` blocks of vectorizers.yaml and proxy.yaml with upstream's keys and
//! defaults), called through the edge's HTTP client: entity extraction in the RAG
//! pipeline, query rewriting and HyDe in the proxy. A reply's text is
//! `choices[0].message.content`, else `reasoning_content` (as upstream, for
//! deepseek-r1-style models).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::edge::client::ClientOptions;
use crate::edge::{Edge, HttpClient};

pub const DEFAULT_BASE_URL: &str = "http://localhost:11434/v1";
pub const DEFAULT_MODEL: &str = "qwen3:4b";
pub const DEFAULT_API_KEY: &str = "kektor";

/// An `llm:` block (upstream's keys).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LlmYaml {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub temperature: f32,
    #[serde(default)]
    pub max_tokens: usize,
}

pub struct ChatModel {
    client: HttpClient,
    url: String,
    model: String,
    api_key: String,
    temperature: f32,
    max_tokens: usize,
}

impl ChatModel {
    /// A model from an `llm:` block; `timeout` bounds each call.
    pub fn new(edge: &Edge, llm: &LlmYaml, timeout: Duration) -> Result<ChatModel, String> {
        match llm.provider.as_str() {
            "" | "openai" | "ollama" => {}
            other => {
                return Err(format!(
                    "llm.provider '{other}' is not available (openai, ollama: OpenAI-compatible chat APIs)"
                ))
            }
        }
        let base = if llm.base_url.is_empty() {
            DEFAULT_BASE_URL
        } else {
            llm.base_url.trim_end_matches('/')
        };
        let client = edge
            .http_client(ClientOptions {
                timeout,
                connect_timeout: Duration::from_secs(5),
                ..ClientOptions::default()
            })
            .map_err(|e| e.to_string())?;
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_owned()
            } else {
                s.to_owned()
            }
        };
        Ok(ChatModel {
            client,
            url: format!("{base}/chat/completions"),
            model: or(&llm.model, DEFAULT_MODEL),
            api_key: or(&llm.api_key, DEFAULT_API_KEY),
            temperature: llm.temperature,
            max_tokens: llm.max_tokens,
        })
    }

    /// One non-streaming completion of `system` + `user`; the reply's text.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, String> {
        let mut body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": self.temperature,
            "stream": false,
        });
        if self.max_tokens > 0 {
            body["max_tokens"] = json!(self.max_tokens);
        }
        let answer = self
            .client
            .post_json(&self.url, &body, Some(&self.api_key))
            .await
            .map_err(|e| e.to_string())?;
        let msg = &answer["choices"][0]["message"];
        msg["content"]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| msg["reasoning_content"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| "the answer has no choices[0].message.content".to_owned())
    }
}
