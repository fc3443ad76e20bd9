//! proxy.yaml: upstream's keys and defaults (`pkg/proxy/config.go`), read strictly
//! (an unknown key is an error naming it and its line), with `${VAR}` expansion
//! (upstream passes `${KEY}` through literally; here it is expanded like
//! vectorizers.yaml). Differences from upstream, on purpose:
//! - `embedder_type` empty (the default) means the server's own embedder
//!   (`-embedder`, the built-in model by default) instead of an Ollama call;
//! - `firewall_threshold` and `cache_threshold` are cosine distances (lower is
//!   closer) and are compared as such (upstream compares a similarity, so neither
//!   ever fires);
//! - keys of our own: `block_as_reply`, `upstream_timeout`,
//!   `upstream_connect_timeout`, `max_body_bytes`, `max_upstream_connections`.

use std::time::Duration;

use serde::Deserialize;

use super::error::ProxyError;
use crate::limits::{
    PROXY_BODY_BYTES_MAX, PROXY_CACHE_ITEMS_MAX, PROXY_CONNECT_TIMEOUT, PROXY_RAG_TOP_K_MAX,
    PROXY_UPSTREAM_CONNECTIONS_MAX, PROXY_UPSTREAM_TIMEOUT,
};
use crate::rag::config::LlmYaml;

pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful expert assistant. Answer the question using ONLY the context below. If the context does not contain the answer, say that you don't know. Cite the sources you use as [Source: filename]. Answer in the language of the question.\n\nContext:\n{{context}}\n\nQuestion:\n{{query}}";
pub const DEFAULT_BLOCK_MESSAGE: &str = "This request was blocked by the gateway's content policy.";

/// `rag_graph:` (upstream's adaptive retriever settings; only read, since
/// `rag_use_adaptive` is not available).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RagGraphYaml {
    pub expansion_strategy: String,
    pub expansion_depth: usize,
    pub max_tokens: usize,
    pub relations: Vec<String>,
    pub edge_weights: std::collections::BTreeMap<String, f32>,
    pub semantic_weight: f32,
    pub graph_weight: f32,
    pub density_weight: f32,
}

/// The file as written; every key optional with upstream's default.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyYaml {
    pub port: String,
    pub target_url: String,
    pub asset_base_url: String,
    pub embedder_type: String,
    pub embedder_url: String,
    pub embedder_model: String,
    pub embedder_api_key: String,
    pub embedder_timeout: String,
    pub fast_llm: Option<LlmYaml>,
    pub llm: Option<LlmYaml>,
    pub firewall_enabled: bool,
    pub firewall_deny_list: Vec<String>,
    pub firewall_index: String,
    pub firewall_threshold: f32,
    pub block_message: String,
    pub block_as_reply: bool,
    pub cache_enabled: bool,
    pub cache_index: String,
    pub cache_threshold: f32,
    pub cache_ttl: String,
    pub max_cache_items: usize,
    pub cache_vacuum_interval: String,
    pub cache_delete_threshold: f64,
    pub rag_enabled: bool,
    pub rag_index: String,
    pub rag_top_k: usize,
    pub rag_ef_search: usize,
    pub rag_threshold: f32,
    pub rag_use_hybrid: bool,
    pub rag_hybrid_alpha: f32,
    pub rag_use_graph: bool,
    pub rag_use_hyde: bool,
    pub rag_use_adaptive: bool,
    pub rag_system_prompt: String,
    pub rag_rewriter_prompt: String,
    pub rag_grounded_hyde_prompt: String,
    pub rag_graph: Option<RagGraphYaml>,
    pub upstream_timeout: String,
    pub upstream_connect_timeout: String,
    pub max_body_bytes: usize,
    pub max_upstream_connections: usize,
}

impl Default for ProxyYaml {
    fn default() -> Self {
        ProxyYaml {
            port: ":9092".into(),
            target_url: "http://localhost:11434".into(),
            asset_base_url: String::new(),
            embedder_type: String::new(),
            embedder_url: String::new(),
            embedder_model: String::new(),
            embedder_api_key: String::new(),
            embedder_timeout: "60s".into(),
            fast_llm: None,
            llm: None,
            firewall_enabled: false,
            firewall_deny_list: Vec::new(),
            firewall_index: "prompt_guard".into(),
            firewall_threshold: 0.25,
            block_message: String::new(),
            block_as_reply: false,
            cache_enabled: false,
            cache_index: "semantic_cache".into(),
            cache_threshold: 0.1,
            cache_ttl: "24h".into(),
            max_cache_items: 10_000,
            cache_vacuum_interval: "60s".into(),
            cache_delete_threshold: 0.05,
            rag_enabled: false,
            rag_index: "knowledge_base".into(),
            rag_top_k: 3,
            rag_ef_search: 100,
            rag_threshold: 0.7,
            rag_use_hybrid: false,
            rag_hybrid_alpha: 0.5,
            rag_use_graph: true,
            rag_use_hyde: false,
            rag_use_adaptive: false,
            rag_system_prompt: String::new(),
            rag_rewriter_prompt: String::new(),
            rag_grounded_hyde_prompt: String::new(),
            rag_graph: None,
            upstream_timeout: format!("{}ms", PROXY_UPSTREAM_TIMEOUT.as_millis()),
            upstream_connect_timeout: format!("{}ms", PROXY_CONNECT_TIMEOUT.as_millis()),
            max_body_bytes: PROXY_BODY_BYTES_MAX,
            max_upstream_connections: PROXY_UPSTREAM_CONNECTIONS_MAX,
        }
    }
}

/// The configuration with every default applied and every value checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyConfig {
    /// Address to bind (`:9092` becomes `0.0.0.0:9092`).
    pub addr: String,
    /// Upstream base URL, without a trailing slash.
    pub target_url: String,
    pub asset_base_url: String,
    /// None: the server's embedder; Some: a dedicated one for the firewall and
    /// cache indexes.
    pub embedder: Option<crate::embed::EmbedderConfig>,
    pub firewall_enabled: bool,
    pub deny_list: Vec<String>,
    pub firewall_index: String,
    pub firewall_threshold: f32,
    pub block_message: String,
    pub block_as_reply: bool,
    pub cache_enabled: bool,
    pub cache_index: String,
    pub cache_threshold: f32,
    pub cache_ttl: Duration,
    pub max_cache_items: usize,
    pub cache_vacuum_interval: Duration,
    pub cache_delete_threshold: f64,
    pub rag_enabled: bool,
    pub rag_index: String,
    pub rag_top_k: usize,
    pub rag_ef_search: usize,
    pub rag_threshold: f32,
    pub rag_use_hybrid: bool,
    pub rag_hybrid_alpha: f32,
    pub rag_use_graph: bool,
    pub rag_system_prompt: String,
    /// Query rewriting (CQR) of multi-turn chats: `fast_llm`, else `llm`; None
    /// when neither is configured (the last user message is searched as is).
    pub rewriter: Option<crate::rag::config::LlmYaml>,
    pub rag_rewriter_prompt: String,
    /// Grounded HyDe (`rag_use_hyde`): the `llm` that writes the hypothesis.
    pub hyde: Option<crate::rag::config::LlmYaml>,
    pub rag_grounded_hyde_prompt: String,
    pub upstream_timeout: Duration,
    pub upstream_connect_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_upstream_connections: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        resolve(ProxyYaml::default()).expect("the defaults are valid")
    }
}

fn duration(key: &str, v: &str) -> Result<Duration, ProxyError> {
    kektordb_shards::duration::parse_flag(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ProxyError::Config(format!(
                "{key}: '{v}' is not a positive duration (e.g. 500ms, 60s, 24h)"
            ))
        })
}

/// Normalizes a listen address: `:9092` and `9092` listen on every interface.
pub fn listen_addr(v: &str) -> String {
    if let Some(port) = v.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) {
        format!("0.0.0.0:{v}")
    } else {
        v.to_owned()
    }
}

fn resolve(y: ProxyYaml) -> Result<ProxyConfig, ProxyError> {
    let bad = |m: String| Err(ProxyError::Config(m));
    if y.rag_use_hyde && y.llm.is_none() {
        return bad("rag_use_hyde: grounded HyDe needs an llm: block (the model that writes the hypothetical answer)".into());
    }
    if y.rag_use_adaptive {
        return bad("rag_use_adaptive: the adaptive retriever is not available in this version of kektordb-rs (set it to false)".into());
    }
    let target = y.target_url.trim().trim_end_matches('/').to_owned();
    if !(target.starts_with("http://") || target.starts_with("https://")) {
        return bad(format!(
            "target_url: '{}' is not an http:// or https:// URL",
            y.target_url
        ));
    }
    for (key, v) in [
        ("firewall_threshold", y.firewall_threshold),
        ("cache_threshold", y.cache_threshold),
    ] {
        if !(0.0..=2.0).contains(&v) {
            return bad(format!(
                "{key}: {v} is not a cosine distance (0 = identical, 2 = opposite)"
            ));
        }
    }
    if !(0.0..=1.0).contains(&y.rag_hybrid_alpha) {
        return bad(format!(
            "rag_hybrid_alpha: {} is not between 0 and 1",
            y.rag_hybrid_alpha
        ));
    }
    if y.rag_top_k == 0 || y.rag_top_k > PROXY_RAG_TOP_K_MAX {
        return bad(format!(
            "rag_top_k: {} is not between 1 and {PROXY_RAG_TOP_K_MAX}",
            y.rag_top_k
        ));
    }
    if y.max_cache_items > PROXY_CACHE_ITEMS_MAX {
        return bad(format!(
            "max_cache_items: {} is more than {PROXY_CACHE_ITEMS_MAX}",
            y.max_cache_items
        ));
    }
    if y.max_body_bytes == 0 || y.max_upstream_connections == 0 {
        return bad("max_body_bytes and max_upstream_connections must be positive".into());
    }
    for (key, name) in [
        ("firewall_index", &y.firewall_index),
        ("cache_index", &y.cache_index),
        ("rag_index", &y.rag_index),
    ] {
        if name.trim().is_empty() {
            return bad(format!("{key} is empty"));
        }
    }
    let addr = listen_addr(&y.port);
    let embedder = (!y.embedder_type.trim().is_empty()).then(|| crate::embed::EmbedderConfig {
        kind: y.embedder_type.clone(),
        url: Some(y.embedder_url.clone()).filter(|s| !s.is_empty()),
        model: Some(y.embedder_model.clone()).filter(|s| !s.is_empty()),
        timeout: Some(y.embedder_timeout.clone()).filter(|s| !s.is_empty()),
        api_key: Some(y.embedder_api_key.clone()).filter(|s| !s.is_empty()),
    });
    let port = addr.rsplit(':').next().unwrap_or("9092").to_owned();
    Ok(ProxyConfig {
        asset_base_url: if y.asset_base_url.is_empty() {
            format!("http://localhost:{port}")
        } else {
            y.asset_base_url.trim_end_matches('/').to_owned()
        },
        addr,
        target_url: target,
        embedder,
        firewall_enabled: y.firewall_enabled,
        deny_list: y.firewall_deny_list,
        firewall_index: y.firewall_index,
        firewall_threshold: y.firewall_threshold,
        block_message: if y.block_message.trim().is_empty() {
            DEFAULT_BLOCK_MESSAGE.into()
        } else {
            y.block_message
        },
        block_as_reply: y.block_as_reply,
        cache_enabled: y.cache_enabled,
        cache_index: y.cache_index,
        cache_threshold: y.cache_threshold,
        cache_ttl: duration("cache_ttl", &y.cache_ttl)?,
        max_cache_items: if y.max_cache_items == 0 {
            PROXY_CACHE_ITEMS_MAX
        } else {
            y.max_cache_items
        },
        cache_vacuum_interval: duration("cache_vacuum_interval", &y.cache_vacuum_interval)?,
        cache_delete_threshold: y.cache_delete_threshold,
        rag_enabled: y.rag_enabled,
        rag_index: y.rag_index,
        rag_top_k: y.rag_top_k,
        rag_ef_search: y.rag_ef_search,
        rag_threshold: y.rag_threshold,
        rag_use_hybrid: y.rag_use_hybrid,
        rag_hybrid_alpha: y.rag_hybrid_alpha,
        rag_use_graph: y.rag_use_graph,
        rag_system_prompt: if y.rag_system_prompt.trim().is_empty() {
            DEFAULT_SYSTEM_PROMPT.into()
        } else {
            y.rag_system_prompt
        },
        rewriter: y.fast_llm.clone().or_else(|| y.llm.clone()),
        rag_rewriter_prompt: if y.rag_rewriter_prompt.trim().is_empty() {
            super::refine::DEFAULT_REWRITER_PROMPT.into()
        } else {
            y.rag_rewriter_prompt
        },
        hyde: y.llm.clone().filter(|_| y.rag_use_hyde),
        rag_grounded_hyde_prompt: if y.rag_grounded_hyde_prompt.trim().is_empty() {
            super::refine::DEFAULT_HYDE_PROMPT.into()
        } else {
            y.rag_grounded_hyde_prompt
        },
        upstream_timeout: duration("upstream_timeout", &y.upstream_timeout)?,
        upstream_connect_timeout: duration(
            "upstream_connect_timeout",
            &y.upstream_connect_timeout,
        )?,
        max_body_bytes: y.max_body_bytes,
        max_upstream_connections: y.max_upstream_connections,
    })
}

/// Parses and checks a proxy.yaml's text (after env expansion). An empty file is
/// every default.
pub fn parse(text: &str) -> Result<ProxyConfig, ProxyError> {
    let y: ProxyYaml = if text.trim().is_empty() {
        ProxyYaml::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| ProxyError::Config(e.to_string()))?
    };
    resolve(y)
}

/// Reads, expands (`${VAR}`) and parses a proxy.yaml.
pub fn load(path: &std::path::Path) -> Result<ProxyConfig, ProxyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProxyError::Config(format!("cannot read {}: {e}", path.display())))?;
    let text = crate::rag::config::expand_env(&text, |k| std::env::var(k).ok())
        .map_err(|e| ProxyError::Config(format!("{}: {e}", path.display())))?;
    parse(&text).map_err(|e| match e {
        ProxyError::Config(m) => ProxyError::Config(format!("{}: {m}", path.display())),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    //! Defaults, strictness (unknown key named with its line), env expansion,
    //! refusal of what is not built, value checks.
    use super::*;

    #[test]
    fn defaults_are_upstreams() {
        let c = parse("").unwrap();
        assert_eq!(c.addr, "0.0.0.0:9092");
        assert_eq!(c.target_url, "http://localhost:11434");
        assert_eq!(c.asset_base_url, "http://localhost:9092");
        assert_eq!(
            (c.firewall_index.as_str(), c.firewall_threshold),
            ("prompt_guard", 0.25)
        );
        assert_eq!(
            (c.cache_index.as_str(), c.cache_threshold),
            ("semantic_cache", 0.1)
        );
        assert_eq!(c.cache_ttl, Duration::from_secs(86_400));
        assert_eq!(c.max_cache_items, 10_000);
        assert_eq!(c.cache_vacuum_interval, Duration::from_secs(60));
        assert_eq!((c.rag_index.as_str(), c.rag_top_k), ("knowledge_base", 3));
        assert_eq!((c.rag_threshold, c.rag_hybrid_alpha), (0.7, 0.5));
        assert!(c.rag_use_graph && !c.rag_use_hybrid && !c.cache_enabled && !c.firewall_enabled);
        assert_eq!(c.embedder, None);
        assert_eq!(c.block_message, DEFAULT_BLOCK_MESSAGE);
        assert!(c.rag_system_prompt.contains("{{context}}"));
        assert_eq!(c, ProxyConfig::default());
    }

    #[test]
    fn values_and_embedder() {
        let c = parse(
            "port: \"127.0.0.1:7000\"\ntarget_url: http://h:1/v1/\nembedder_type: local\nmax_cache_items: 0\ncache_ttl: 90m\nfirewall_deny_list: [\"ignore (all )?previous\"]\nrag_graph:\n  expansion_depth: 2\n  edge_weights: {next: 0.9}\nllm:\n  model: m\n",
        )
        .unwrap();
        assert_eq!(c.addr, "127.0.0.1:7000");
        assert_eq!(c.target_url, "http://h:1/v1");
        assert_eq!(c.embedder.as_ref().unwrap().kind, "local");
        assert_eq!(c.max_cache_items, PROXY_CACHE_ITEMS_MAX);
        assert_eq!(c.cache_ttl, Duration::from_secs(5400));
        assert_eq!(c.deny_list, vec!["ignore (all )?previous".to_owned()]);
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let e = parse("cache_enabled: true\n\ncache_tresh: 0.2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cache_tresh") && e.contains("line 3"), "{e}");
        let e = parse("llm:\n  modle: x\n").unwrap_err().to_string();
        assert!(e.contains("modle") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn refusals() {
        for (text, word) in [
            ("rag_use_hyde: true", "needs an llm"),
            ("rag_use_adaptive: true", "not available"),
            ("target_url: localhost:1", "target_url"),
            ("firewall_threshold: 3", "firewall_threshold"),
            ("cache_ttl: forever", "cache_ttl"),
            ("rag_top_k: 0", "rag_top_k"),
            ("cache_index: ''", "cache_index"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(word), "{text}: {e}");
        }
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let start = readme.find("# proxy.yaml for Ollama").expect("the example");
        let block = &readme[start..];
        let block = &block[..block.find("```").expect("its end")];
        let c = parse(block).unwrap();
        assert!(c.firewall_enabled && c.cache_enabled && c.rag_enabled);
        assert_eq!(c.deny_list.len(), 2);
    }

    #[test]
    fn env_is_expanded_on_load() {
        let dir = std::env::temp_dir().join(format!("kektor-proxy-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("proxy.yaml");
        std::fs::write(&p, "target_url: ${PATH_FOR_PROXY_TEST_UNSET_X}\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("PATH_FOR_PROXY_TEST_UNSET_X"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        let expanded =
            crate::rag::config::expand_env("target_url: http://${H}:1", |_| Some("up".into()))
                .unwrap();
        assert_eq!(parse(&expanded).unwrap().target_url, "http://up:1");
    }
}
