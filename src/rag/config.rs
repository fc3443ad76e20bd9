//! `vectorizers.yaml`: upstream's keys, read strictly (an unknown key is an error
//! naming it and its line), with `${VAR}` / `$VAR` expanded from the environment
//! first (an unset variable is an error, not an empty string). Defaults are
//! upstream's, except where its defaults were defects: `schedule` defaults to 60s
//! (upstream skips a pipeline without one), `source.type` must be `filesystem`,
//! patterns match the path relative to `source.path` (and the base name, so `*.md`
//! still works), and an unknown `chunking_strategy` is an error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::chunk::{ChunkConfig, Strategy};
use super::error::RagError;
use crate::embed::EmbedderConfig;
use crate::limits::{RAG_CHUNK_SIZE_MAX, RAG_PIPELINES_MAX};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VectorizersFile {
    #[serde(default)]
    pub vectorizers: Vec<VectorizerYaml>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VectorizerYaml {
    pub name: String,
    pub kektor_index: String,
    #[serde(default)]
    pub schedule: Option<String>,
    pub source: SourceYaml,
    #[serde(default)]
    pub include_patterns: Vec<String>,
    #[serde(default)]
    pub exclude_patterns: Vec<String>,
    #[serde(default)]
    pub document_processor: ProcessorYaml,
    #[serde(default)]
    pub embedder: EmbedderConfig,
    #[serde(default)]
    pub index_config: IndexYaml,
    #[serde(default)]
    pub metadata_template: BTreeMap<String, String>,
    #[serde(default)]
    pub graph_enabled: bool,
    #[serde(default)]
    pub graph_entity_extraction: bool,
    #[serde(default)]
    pub llm: Option<LlmYaml>,
    #[serde(default)]
    pub vision_llm: Option<LlmYaml>,
    /// Ours: watch the folder for changes between scheduled scans (default true).
    #[serde(default)]
    pub watch: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceYaml {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub path: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProcessorYaml {
    #[serde(default)]
    pub chunking_strategy: String,
    #[serde(default)]
    pub chunk_size: usize,
    #[serde(default)]
    pub chunk_overlap: usize,
    #[serde(default)]
    pub custom_separators: Vec<String>,
    #[serde(default)]
    pub parser: Option<ParserYaml>,
    /// Ours: files larger than this many bytes are recorded as failed (default 32 MiB).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParserYaml {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub fallback: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexYaml {
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub precision: String,
    #[serde(default)]
    pub m: usize,
    #[serde(default)]
    pub ef_construction: usize,
    #[serde(default)]
    pub text_language: String,
}

pub use crate::llm::LlmYaml;

/// A vectorizer with every default applied and every value checked.
#[derive(Clone, Debug)]
pub struct Vectorizer {
    pub name: String,
    pub index: String,
    pub schedule: Duration,
    pub root: PathBuf,
    /// `source.path` as written (chunk ids are `<source.path>/<relative path>_<i>`).
    pub root_text: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub chunking: ChunkConfig,
    pub parse_timeout: Duration,
    pub max_file_bytes: u64,
    pub embedder: EmbedderConfig,
    pub index_config: IndexYaml,
    pub metadata_template: BTreeMap<String, String>,
    pub graph: bool,
    /// `graph_entity_extraction`: the chat model that names entities.
    pub entities: Option<LlmYaml>,
    pub watch: bool,
}

pub const DEFAULT_SCHEDULE: Duration = Duration::from_secs(60);
pub const DEFAULT_PARSE_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_MAX_FILE_BYTES: u64 = 32 << 20;

/// Expands `${VAR}` and `$VAR` (`$$` is a literal `$`).
pub fn expand_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, RagError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let line_of = |at: &str| text[..text.len() - at.len()].lines().count().max(1);
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(j) => (&b[..j], &b[j + 1..]),
                None => {
                    return Err(RagError::Config(format!(
                        "line {}: '${{' without a closing '}}'",
                        line_of(after)
                    )))
                }
            }
        } else if let Some(t) = after.strip_prefix('$') {
            out.push('$');
            rest = t;
            continue;
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], &after[n..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        match env(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(RagError::Config(format!(
                    "line {}: environment variable {name} is not set",
                    line_of(after)
                )))
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses and checks a vectorizers file's text (after env expansion).
pub fn parse(text: &str) -> Result<Vec<Vectorizer>, RagError> {
    let file: VectorizersFile = serde_yaml_ng::from_str(text)
        .map_err(|e| RagError::Config(format!("vectorizers config: {e}")))?;
    if file.vectorizers.len() > RAG_PIPELINES_MAX {
        return Err(RagError::Config(format!(
            "{} vectorizers, at most {RAG_PIPELINES_MAX}",
            file.vectorizers.len()
        )));
    }
    let mut out: Vec<Vectorizer> = Vec::new();
    for v in file.vectorizers {
        let checked = resolve(v)?;
        if out.iter().any(|o| o.name == checked.name) {
            return Err(RagError::Config(format!(
                "vectorizer name '{}' is used twice",
                checked.name
            )));
        }
        out.push(checked);
    }
    Ok(out)
}

/// Reads, expands and parses a vectorizers file.
pub fn load(path: &std::path::Path) -> Result<Vec<Vectorizer>, RagError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RagError::Config(format!("cannot read {}: {e}", path.display())))?;
    parse(&expand_env(&text, |k| std::env::var(k).ok())?)
        .map_err(|e| RagError::Config(format!("{}: {e}", path.display())))
}

fn resolve(v: VectorizerYaml) -> Result<Vectorizer, RagError> {
    let bad = |what: String| RagError::Config(format!("vectorizer '{}': {what}", v.name));
    if v.name.trim().is_empty() {
        return Err(RagError::Config("a vectorizer has an empty name".into()));
    }
    if v.kektor_index.trim().is_empty() {
        return Err(bad("kektor_index is empty".into()));
    }
    let schedule = match v.schedule.as_deref().filter(|s| !s.trim().is_empty()) {
        None => DEFAULT_SCHEDULE,
        Some(s) => kektordb_shards::duration::parse_flag(s)
            .ok()
            .filter(|d| *d >= Duration::from_secs(1))
            .ok_or_else(|| bad(format!("schedule '{s}' is not a duration of 1s or more")))?,
    };
    match v.source.kind.as_str() {
        "filesystem" | "" => {}
        other => {
            return Err(bad(format!(
                "source type '{other}' is not supported (filesystem)"
            )))
        }
    }
    if v.source.path.trim().is_empty() {
        return Err(bad("source.path is empty".into()));
    }
    let p = &v.document_processor;
    let strategy = Strategy::parse(&p.chunking_strategy).ok_or_else(|| {
        bad(format!(
            "chunking_strategy '{}' is not one of recursive, markdown, code, fixed",
            p.chunking_strategy
        ))
    })?;
    let chunk_size = if p.chunk_size == 0 { 500 } else { p.chunk_size };
    if chunk_size > RAG_CHUNK_SIZE_MAX {
        return Err(bad(format!(
            "chunk_size {chunk_size} is over the limit of {RAG_CHUNK_SIZE_MAX}"
        )));
    }
    let chunk_overlap = if p.chunk_overlap == 0 && p.chunk_size == 0 {
        50
    } else if p.chunk_overlap == 0 {
        chunk_size / 10
    } else {
        p.chunk_overlap
    };
    if chunk_overlap >= chunk_size {
        return Err(bad(format!(
            "chunk_overlap {chunk_overlap} must be smaller than chunk_size {chunk_size}"
        )));
    }
    let mut parse_timeout = DEFAULT_PARSE_TIMEOUT;
    if let Some(parser) = &p.parser {
        match parser.kind.as_str() {
            "" | "internal" => {}
            other => {
                return Err(bad(format!(
                    "parser type '{other}' is not available (internal)"
                )))
            }
        }
        if let Some(t) = parser.timeout.as_deref().filter(|t| !t.is_empty()) {
            parse_timeout = kektordb_shards::duration::parse_flag(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| bad(format!("parser.timeout '{t}' is not a duration")))?;
        }
    }
    if v.graph_entity_extraction && !v.graph_enabled {
        return Err(bad(
            "graph_entity_extraction needs graph_enabled: true (entities link to the document's nodes)".into(),
        ));
    }
    if v.vision_llm.is_some() {
        return Err(bad("vision_llm is not available in this build".into()));
    }
    for (k, val) in &v.metadata_template {
        for ph in placeholders(val) {
            if !["file_path", "filename", "mod_time"].contains(&ph.as_str()) {
                return Err(bad(format!(
                    "metadata_template.{k}: unknown placeholder {{{{{ph}}}}} (file_path, filename, mod_time)"
                )));
            }
        }
    }
    for pat in v.include_patterns.iter().chain(&v.exclude_patterns) {
        globset::Glob::new(pat).map_err(|e| bad(format!("pattern '{pat}': {e}")))?;
    }
    Ok(Vectorizer {
        index: v.kektor_index.clone(),
        schedule,
        root: PathBuf::from(&v.source.path),
        root_text: v.source.path.trim_end_matches('/').to_owned(),
        include: v.include_patterns.clone(),
        exclude: v.exclude_patterns.clone(),
        chunking: ChunkConfig {
            strategy,
            chunk_size,
            chunk_overlap,
            separators: (!p.custom_separators.is_empty()).then(|| p.custom_separators.clone()),
        },
        parse_timeout,
        max_file_bytes: p.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES),
        embedder: v.embedder.clone(),
        index_config: v.index_config.clone(),
        metadata_template: v.metadata_template.clone(),
        graph: v.graph_enabled,
        entities: v
            .graph_entity_extraction
            .then(|| v.llm.clone().unwrap_or_default()),
        watch: v.watch.unwrap_or(true),
        name: v.name,
    })
}

/// The `{{name}}` placeholders of a template value.
fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                out.push(after[..j].trim().to_owned());
                rest = &after[j + 2..];
            }
            None => break,
        }
    }
    out
}

/// Fills a template value's placeholders.
pub fn fill(template: &str, file_path: &str, filename: &str, mod_time: &str) -> String {
    let mut out = template.to_owned();
    for (k, v) in [
        ("file_path", file_path),
        ("filename", filename),
        ("mod_time", mod_time),
    ] {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
        out = out.replace(&format!("{{{{ {k} }}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    //! Strict keys with lines, env expansion, defaults, and upstream's defects fixed.
    use super::*;

    const ONE: &str = "vectorizers:\n  - name: docs\n    kektor_index: kb\n    source:\n      type: filesystem\n      path: ./docs\n";

    #[test]
    fn defaults_are_upstreams_where_they_were_not_defects() {
        let v = &parse(ONE).unwrap()[0];
        assert_eq!(v.schedule, DEFAULT_SCHEDULE);
        assert_eq!(v.chunking.chunk_size, 500);
        assert_eq!(v.chunking.chunk_overlap, 50);
        assert_eq!(v.chunking.strategy, Strategy::Recursive);
        assert!(!v.graph && v.watch);
        assert_eq!(v.root_text, "./docs");
        let v = &parse(&format!(
            "{ONE}    document_processor:\n      chunk_size: 200\n"
        ))
        .unwrap()[0];
        assert_eq!(v.chunking.chunk_overlap, 20);
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let e = parse(&format!("{ONE}    maintenance_config: {{}}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("maintenance_config") && e.contains("line 7"),
            "{e}"
        );
        let e = parse(&format!("{ONE}    schedule: soon\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("schedule 'soon'"), "{e}");
        let e = parse(&format!(
            "{ONE}    document_processor:\n      chunking_strategy: words\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("words"), "{e}");
        let e = parse(&format!(
            "{ONE}  - name: docs\n    kektor_index: b\n    source: {{path: x}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("used twice"), "{e}");
        let e = parse(&ONE.replace("filesystem", "s3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("s3"), "{e}");
        let e = parse(&format!("{ONE}    graph_entity_extraction: true\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs graph_enabled"), "{e}");
        let v = &parse(&format!(
            "{ONE}    graph_enabled: true\n    graph_entity_extraction: true\n    llm: {{base_url: 'http://x/v1', model: m}}\n"
        ))
        .unwrap()[0];
        assert_eq!(v.entities.as_ref().unwrap().model, "m");
        let e = parse(&format!("{ONE}    vision_llm: {{model: m}}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not available"), "{e}");
    }

    #[test]
    fn env_expansion() {
        let env = |k: &str| (k == "KEY").then(|| "s3cr3t".to_owned());
        assert_eq!(
            expand_env("a: ${KEY} $KEY $$ $", env).unwrap(),
            "a: s3cr3t s3cr3t $ $"
        );
        let e = expand_env("a: 1\nb: ${NOPE}", env).unwrap_err().to_string();
        assert!(e.contains("NOPE") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn templates() {
        assert_eq!(
            fill(
                "{{filename}} @ {{ mod_time }}",
                "/a/b.md",
                "b.md",
                "2026-01-01T00:00:00Z"
            ),
            "b.md @ 2026-01-01T00:00:00Z"
        );
        let e = parse(&format!(
            "{ONE}    metadata_template:\n      x: \"{{{{owner}}}}\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("owner"), "{e}");
    }
}
