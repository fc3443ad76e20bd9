//! Server configuration from flags and environment variables, as the spec names them
//! (`-flag value`, `--flag value` and `-flag=value` are all accepted). Flags of
//! features that do not exist yet are refused at start-up with a clear message rather
//! than silently ignored.

use kektordb_shards::durable::FsyncPolicy;
use thiserror::Error;

use crate::http::HttpLimits;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("unknown flag '{0}' (see --help)")]
    UnknownFlag(String),
    #[error("flag '{0}' needs a value")]
    MissingValue(String),
    #[error("invalid value '{value}' for {flag}: {reason}")]
    InvalidValue {
        flag: String,
        value: String,
        reason: String,
    },
    #[error("{0} is not available yet in this version of kektordb-rs")]
    NotAvailable(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Address to bind, e.g. `0.0.0.0:9091`.
    pub http_addr: String,
    pub auth_token: Option<String>,
    pub shards: usize,
    pub pin: bool,
    /// Body size, timeouts and connection caps of the HTTP front end.
    pub http: HttpLimits,
    /// None: in memory only.
    pub data_dir: Option<String>,
    pub fsync: FsyncPolicy,
    pub skip_corrupt: bool,
    /// `-log-direct`: write logs with direct I/O and pipelined group commit.
    pub log_direct: bool,
    /// `-save "S C"`: snapshot after S seconds if C writes happened.
    pub save: Option<(u64, u64)>,
    /// `-aof-rewrite-percentage P`: snapshot when the log grew by P% (0 disables).
    pub rewrite_percentage: Option<u64>,
    /// `-embedder`: auto (default), local, ollama_api, openai_compatible, none.
    pub embedder: String,
    pub embedder_url: Option<String>,
    pub embedder_model: Option<String>,
    pub embedder_api_key: Option<String>,
    /// Where local models live (`-models-dir`, env `KEKTOR_MODELS_DIR`).
    pub models_dir: String,
    /// `-vectorizers-config FILE`: the RAG pipelines (env KEKTOR_VECTORIZERS_CONFIG).
    pub vectorizers_config: Option<String>,
    /// Whether `-http-addr` was given (in MCP mode the HTTP API runs only then).
    pub http_addr_explicit: bool,
    /// `-mcp` (env KEKTOR_ENABLE_MCP=true): the MCP memory server on stdin/stdout.
    pub mcp: bool,
    /// `-mcp-log-file FILE`: in MCP mode, logs go there instead of stderr.
    pub mcp_log_file: Option<String>,
    /// `-tools all|agent|admin|a,b,c`: the MCP tools offered, resolved to names.
    pub mcp_tools: Vec<String>,
    /// `-enable-proxy` (env KEKTOR_ENABLE_PROXY=true), or `-proxy-config`: the AI
    /// proxy on its own port.
    pub proxy: bool,
    /// `-proxy-config FILE`: proxy.yaml (without it, upstream's defaults).
    pub proxy_config: Option<String>,
    /// `-proxy-port ADDR`: overrides proxy.yaml's `port` (`9092`, `:9092`,
    /// `127.0.0.1:9092`).
    pub proxy_port: Option<String>,
}

pub const USAGE: &str = "usage: kektordb [flags]
  -http-addr ADDR         listen address (env KEKTOR_PORT), default :9091
  -auth-token TOKEN       require 'Authorization: Bearer TOKEN' (env KEKTOR_TOKEN)
  -shards N               shard executors, default one per CPU
  -no-pin                 do not pin shard executors to CPUs
  -http-executors N       executors of HTTP's own, beside the shards' (parse, fan
                          out, merge); 0 serves HTTP on the shard executors;
                          default one per CPU the shards leave free
  -body-bytes-max N       largest request body, default 536870912 (512 MiB)
  -body-bytes-in-flight-max N  request body bytes held at once per executor,
                          default 1073741824 (1 GiB; at least -body-bytes-max)
  -connections-max N      open HTTP connections in all, default 80% of the file
                          descriptors (RLIMIT_NOFILE, raised to its hard limit)
  -http-head-timeout D    a request head must be complete D after its first
                          byte (seconds or Go duration), default 10s
  -http-idle-timeout D    close keep-alive connections idle this long, default 60s
  -http-write-timeout D   close a connection whose response makes no progress
                          this long, default 30s
  -aof-path DIR           data directory for the per-shard logs and snapshots
                          (env KEKTOR_DATA_DIR), default ./kektor_data
  -in-memory              keep no logs: nothing survives a restart
  -fsync POLICY           always (default: acknowledged = on disk), everysec, no
  -skip-corrupt           start even if a log is corrupt in the middle (skips it)
  -log-direct             write logs with direct I/O (glommio DMA) and pipelined group
                          commit: searches are not held up by fsyncs, single writers
                          are slower (see docs/decisions.md)
  -version                print the version
  -save 'S C'             snapshot after S seconds if C writes happened
                          (default '60 1000'; '' disables)
  -aof-rewrite-percentage P  snapshot when the log grew by P% of the last snapshot
                          (default 100; 0 disables)
  -embedder TYPE          server-wide text embedder (env KEKTOR_EMBEDDER): auto
                          (default: local if its model is installed, else none),
                          local, ollama_api, openai_compatible, none
  -embedder-url URL       remote embedder URL (env KEKTOR_EMBEDDER_URL)
  -embedder-model NAME    model name, or the local model's directory
                          (env KEKTOR_EMBEDDER_MODEL)
  -embedder-api-key KEY   Bearer key of an openai_compatible embedder
                          (env KEKTOR_EMBEDDER_API_KEY)
  -models-dir DIR         local models (env KEKTOR_MODELS_DIR), default ./models;
                          deploy/fetch-models.sh installs all-MiniLM-L6-v2 there
  -vectorizers-config F   RAG pipelines: folders watched, chunked, embedded into
                          indexes (env KEKTOR_VECTORIZERS_CONFIG; see README)
  -mcp                    the MCP memory server on stdin/stdout (env
                          KEKTOR_ENABLE_MCP=true); HTTP too only with -http-addr;
                          MCP_EMBEDDER_URL / MCP_EMBEDDER_MODEL pick an Ollama embedder
  -mcp-log-file FILE      in MCP mode, write logs to FILE instead of stderr
  -tools LIST             MCP tools: all (default), agent, admin, or a comma list
                          of profiles and tool names
usage: kektordb mcp-config [flags]
                          print the JSON an MCP client (Claude Code, Cursor) needs
                          to start this server with these flags
  -enable-proxy           the AI proxy: an OpenAI/Ollama-compatible gateway with
                          firewall, semantic cache and RAG (env
                          KEKTOR_ENABLE_PROXY=true; see README, \"AI proxy\")
  -proxy-config FILE      proxy.yaml (enables the proxy; default: upstream's defaults)
  -proxy-port ADDR        the proxy's listen address, overrides proxy.yaml's port
                          (default :9092)";

/// The values `-embedder` takes.
pub const EMBEDDER_TYPES: &[&str] = &["auto", "local", "ollama_api", "openai_compatible", "none"];

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Box<Config>),
    /// `kektordb mcp-config [flags]`: print the MCP client snippet for these flags.
    McpConfig(Box<Config>),
    Help,
    Version,
}

fn normalize_addr(v: &str) -> String {
    if let Some(port) = v.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else if v.chars().all(|c| c.is_ascii_digit()) {
        format!("0.0.0.0:{v}")
    } else {
        v.to_owned()
    }
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Parses arguments (without the program name) and the environment.
pub fn parse(
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, ConfigError> {
    let mut cfg = Config {
        http_addr: normalize_addr(&env("KEKTOR_PORT").unwrap_or_else(|| ":9091".into())),
        auth_token: env("KEKTOR_TOKEN").filter(|t| !t.is_empty()),
        shards: std::thread::available_parallelism().map_or(1, |p| p.get()),
        pin: true,
        http: HttpLimits::default(),
        data_dir: Some(env("KEKTOR_DATA_DIR").unwrap_or_else(|| "kektor_data".into())),
        fsync: FsyncPolicy::Always,
        skip_corrupt: false,
        log_direct: false,
        save: Some((60, 1000)),
        rewrite_percentage: Some(100),
        embedder: env("KEKTOR_EMBEDDER").unwrap_or_else(|| "auto".into()),
        embedder_url: env("KEKTOR_EMBEDDER_URL").filter(|v| !v.is_empty()),
        embedder_model: env("KEKTOR_EMBEDDER_MODEL").filter(|v| !v.is_empty()),
        embedder_api_key: env("KEKTOR_EMBEDDER_API_KEY").filter(|v| !v.is_empty()),
        models_dir: env("KEKTOR_MODELS_DIR").unwrap_or_else(|| "models".into()),
        vectorizers_config: env("KEKTOR_VECTORIZERS_CONFIG").filter(|v| !v.is_empty()),
        http_addr_explicit: false,
        mcp: env("KEKTOR_ENABLE_MCP").is_some_and(|v| truthy(&v)),
        mcp_log_file: None,
        mcp_tools: crate::mcp::select_tools("all").unwrap_or_default(),
        proxy: env("KEKTOR_ENABLE_PROXY").is_some_and(|v| truthy(&v)),
        proxy_config: None,
        proxy_port: None,
    };
    // `kektordb mcp-config [flags]`: the flags describe the server to register.
    let (mcp_config, args) = match args.split_first() {
        Some((first, rest)) if first == "mcp-config" => (true, rest),
        _ => (false, args),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let trimmed = arg.trim_start_matches('-');
        if trimmed.len() == arg.len() {
            return Err(ConfigError::UnknownFlag(arg.clone()));
        }
        let (name, inline) = match trimmed.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (trimmed, None),
        };
        let mut value = |flag: &str| -> Result<String, ConfigError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| ConfigError::MissingValue(flag.into())),
            }
        };
        let number = |flag: &str, v: String| -> Result<usize, ConfigError> {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::InvalidValue {
                    flag: flag.into(),
                    value: v,
                    reason: "expected a positive integer".into(),
                })
        };
        let duration = |flag: &str, v: String| -> Result<std::time::Duration, ConfigError> {
            kektordb_shards::duration::parse_flag(&v)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or(ConfigError::InvalidValue {
                    flag: flag.into(),
                    value: v,
                    reason: "expected a positive duration (seconds, or e.g. 500ms, 10s, 2m)".into(),
                })
        };
        match name {
            "h" | "help" => return Ok(Command::Help),
            "version" => return Ok(Command::Version),
            "http-addr" => {
                cfg.http_addr = normalize_addr(&value(name)?);
                cfg.http_addr_explicit = true;
            }
            "auth-token" => cfg.auth_token = Some(value(name)?).filter(|t| !t.is_empty()),
            "shards" => cfg.shards = number(name, value(name)?)?,
            "no-pin" => cfg.pin = false,
            "http-executors" => {
                let v = value(name)?;
                let max = crate::limits::HTTP_EXECUTORS_MAX;
                cfg.http.executors = Some(v.parse().ok().filter(|n| *n <= max).ok_or(
                    ConfigError::InvalidValue {
                        flag: name.into(),
                        value: v,
                        reason: format!("expected 0 to {max}"),
                    },
                )?);
            }
            "body-bytes-max" => cfg.http.body_bytes_max = number(name, value(name)?)?,
            "body-bytes-in-flight-max" => {
                cfg.http.body_bytes_in_flight_max = number(name, value(name)?)?
            }
            "connections-max" => cfg.http.connections_max = Some(number(name, value(name)?)?),
            "http-head-timeout" => cfg.http.head_timeout = duration(name, value(name)?)?,
            "http-idle-timeout" => cfg.http.idle_timeout = duration(name, value(name)?)?,
            "http-write-timeout" => cfg.http.write_timeout = duration(name, value(name)?)?,
            "aof-path" => cfg.data_dir = Some(value(name)?),
            "in-memory" => cfg.data_dir = None,
            "skip-corrupt" => cfg.skip_corrupt = true,
            "log-direct" => cfg.log_direct = true,
            "fsync" => {
                let v = value(name)?;
                cfg.fsync = FsyncPolicy::parse(&v).ok_or(ConfigError::InvalidValue {
                    flag: name.into(),
                    value: v,
                    reason: "expected always, everysec or no".into(),
                })?;
            }
            "save" => {
                let v = value(name)?;
                let nums: Vec<Option<u64>> = v.split_whitespace().map(|x| x.parse().ok()).collect();
                cfg.save = match nums.as_slice() {
                    [] => None,
                    [Some(secs), Some(changes)] => Some((*secs, *changes)),
                    _ => {
                        return Err(ConfigError::InvalidValue {
                            flag: name.into(),
                            value: v,
                            reason: "expected \"SECONDS CHANGES\" or \"\" to disable".into(),
                        })
                    }
                };
            }
            "aof-rewrite-percentage" => {
                let v = value(name)?;
                let p: u64 = v.parse().map_err(|_| ConfigError::InvalidValue {
                    flag: name.into(),
                    value: v.clone(),
                    reason: "expected a percentage (0 disables)".into(),
                })?;
                cfg.rewrite_percentage = (p > 0).then_some(p);
            }
            "embedder" => {
                let v = value(name)?;
                if !EMBEDDER_TYPES.contains(&v.as_str()) {
                    return Err(ConfigError::InvalidValue {
                        flag: name.into(),
                        value: v,
                        reason: format!("expected one of {}", EMBEDDER_TYPES.join(", ")),
                    });
                }
                cfg.embedder = v;
            }
            "embedder-url" => cfg.embedder_url = Some(value(name)?),
            "embedder-model" => cfg.embedder_model = Some(value(name)?),
            "embedder-api-key" => cfg.embedder_api_key = Some(value(name)?),
            "models-dir" => cfg.models_dir = value(name)?,
            "mcp" => cfg.mcp = true,
            "mcp-log-file" => cfg.mcp_log_file = Some(value(name)?).filter(|v| !v.is_empty()),
            "tools" => {
                let v = value(name)?;
                cfg.mcp_tools =
                    crate::mcp::select_tools(&v).map_err(|unknown| ConfigError::InvalidValue {
                        flag: name.into(),
                        value: v.clone(),
                        reason: format!(
                            "unknown tool or profile {} (profiles: all, agent, admin; tools: {})",
                            unknown.join(", "),
                            crate::mcp::tool_names().join(", ")
                        ),
                    })?;
            }
            "enable-proxy" => cfg.proxy = true,
            "proxy-config" => {
                let v = value(name)?;
                cfg.proxy = cfg.proxy || !v.is_empty();
                cfg.proxy_config = (!v.is_empty()).then_some(v);
            }
            "proxy-port" => {
                let v = value(name)?;
                if v.is_empty() {
                    return Err(ConfigError::InvalidValue {
                        flag: name.into(),
                        value: v,
                        reason: "expected a port or an address".into(),
                    });
                }
                cfg.proxy_port = Some(v);
            }
            "vectorizers-config" => {
                let v = value(name)?;
                cfg.vectorizers_config = (!v.is_empty()).then_some(v);
            }
            _ => return Err(ConfigError::UnknownFlag(arg.clone())),
        }
    }
    if cfg.mcp {
        // upstream's MCP embedder variables: an Ollama server for the MCP process.
        if let Some(url) = env("MCP_EMBEDDER_URL").filter(|v| !v.is_empty()) {
            cfg.embedder_url.get_or_insert(url);
            if cfg.embedder == "auto" {
                cfg.embedder = "ollama_api".into();
            }
        }
        if let Some(model) = env("MCP_EMBEDDER_MODEL").filter(|v| !v.is_empty()) {
            cfg.embedder_model.get_or_insert(model);
        }
    }
    if mcp_config {
        return Ok(Command::McpConfig(Box::new(cfg)));
    }
    Ok(Command::Run(Box::new(cfg)))
}

#[cfg(test)]
mod tests;
