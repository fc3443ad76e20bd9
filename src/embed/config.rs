//! Embedder configuration (the `embedder:` block of vectorizers.yaml, upstream's
//! keys: `type`, `url`, `model`, `timeout`, `api_key`; and the server's
//! `-embedder*` flags) and the factory that builds embedders from it. The factory
//! loads each local model once and shares it between the server-wide embedder
//! and every pipeline that names it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use super::error::EmbedError;
use super::local::{LocalModel, DEFAULT_MODEL};
use super::local_embedder::LocalEmbedder;
use super::remote::{Protocol, RemoteEmbedder};
use crate::edge::client::ClientOptions;
use crate::edge::Edge;
use crate::engine::TextEmbedder;
use crate::limits::EMBED_TIMEOUT;

pub const OLLAMA_URL: &str = "http://localhost:11434/api/embeddings";
pub const OLLAMA_MODEL: &str = "nomic-embed-text";
pub const OPENAI_URL: &str = "https://api.openai.com/v1/embeddings";
pub const OPENAI_MODEL: &str = "text-embedding-3-small";

/// An embedder as configured. `type`: `auto` (or empty), `local`, `ollama_api`
/// (`ollama`), `openai_compatible` (`openai`), `none`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmbedderConfig {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    /// Remote: the model name. Local: a directory under the models directory, or a
    /// path (default all-MiniLM-L6-v2).
    #[serde(default)]
    pub model: Option<String>,
    /// A Go duration (`60s`) or seconds.
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
}

/// What kind of embedder a config names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Auto,
    Local,
    Ollama,
    OpenAi,
    None,
}

impl EmbedderConfig {
    pub fn kind(&self) -> Result<Kind, EmbedError> {
        Ok(match self.kind.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Kind::Auto,
            "local" => Kind::Local,
            "ollama_api" | "ollama" => Kind::Ollama,
            "openai_compatible" | "openai" => Kind::OpenAi,
            "none" => Kind::None,
            other => {
                return Err(EmbedError::Config(format!(
                    "unknown embedder type '{other}' (auto, local, ollama_api, openai_compatible, none)"
                )))
            }
        })
    }

    pub fn timeout(&self) -> Result<Duration, EmbedError> {
        match self.timeout.as_deref().filter(|t| !t.trim().is_empty()) {
            None => Ok(EMBED_TIMEOUT),
            Some(t) => kektordb_shards::duration::parse_flag(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    EmbedError::Config(format!(
                        "timeout '{t}' is not a positive duration (e.g. 30s)"
                    ))
                }),
        }
    }
}

/// Builds embedders on one edge, sharing loaded local models.
pub struct Embedders {
    edge: Edge,
    models_dir: PathBuf,
    /// Pool threads one local batch is spread over.
    parts: usize,
    loaded: Mutex<HashMap<PathBuf, Arc<LocalModel>>>,
}

impl Embedders {
    pub fn new(edge: Edge, models_dir: PathBuf, parts: usize) -> Embedders {
        Embedders {
            edge,
            models_dir,
            parts,
            loaded: Mutex::default(),
        }
    }

    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    /// Where a local model named `model` lives.
    fn model_dir(&self, model: Option<&str>) -> PathBuf {
        let m = model
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(DEFAULT_MODEL);
        let p = Path::new(m);
        if p.is_absolute() || m.starts_with('.') {
            p.to_owned()
        } else {
            self.models_dir.join(m)
        }
    }

    fn local_model(&self, dir: &Path) -> Result<Arc<LocalModel>, EmbedError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = loaded.get(dir) {
            return Ok(m.clone());
        }
        let m = Arc::new(LocalModel::load(dir, None)?);
        loaded.insert(dir.to_owned(), m.clone());
        Ok(m)
    }

    /// The embedder `config` describes; `None` for `none`, and for `auto` when no
    /// local model is installed.
    pub fn build(
        &self,
        config: &EmbedderConfig,
    ) -> Result<Option<Arc<dyn TextEmbedder>>, EmbedError> {
        let timeout = config.timeout()?;
        let kind = config.kind()?;
        let remote =
            |protocol, url: &str, model: &str| -> Result<Arc<dyn TextEmbedder>, EmbedError> {
                let client = self.edge.http_client(ClientOptions {
                    timeout,
                    ..ClientOptions::default()
                })?;
                let url = config
                    .url
                    .clone()
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| url.to_owned());
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(EmbedError::Config(format!(
                        "url '{url}' is not an http:// or https:// URL"
                    )));
                }
                let model = config
                    .model
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| model.to_owned());
                let key = config.api_key.clone().filter(|k| !k.is_empty());
                Ok(Arc::new(RemoteEmbedder::new(
                    protocol,
                    self.edge.clone(),
                    client,
                    url,
                    model,
                    key,
                )))
            };
        Ok(match kind {
            Kind::None => None,
            Kind::Auto | Kind::Local => {
                let dir = self.model_dir(config.model.as_deref());
                if kind == Kind::Auto && !dir.join("model.safetensors").exists() {
                    return Ok(None);
                }
                let model = self.local_model(&dir)?;
                Some(Arc::new(LocalEmbedder::new(
                    model,
                    self.edge.clone(),
                    self.parts,
                    timeout,
                )))
            }
            Kind::Ollama => Some(remote(Protocol::Ollama, OLLAMA_URL, OLLAMA_MODEL)?),
            Kind::OpenAi => Some(remote(Protocol::OpenAi, OPENAI_URL, OPENAI_MODEL)?),
        })
    }
}
