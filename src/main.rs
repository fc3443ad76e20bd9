//! The `kektordb` server: parses flags and environment, starts one shard executor per
//! core and the HTTP API on them, then serves until SIGTERM or SIGINT, when it stops
//! cleanly: no new connections, requests in flight answered, every log flushed and
//! synced, exit 0. A second signal exits at once.

use kektordb::config::{self, Command, Config, USAGE};
use kektordb::edge::{Edge, EdgeOptions};
use kektordb::embed::{EmbedderConfig, Embedders};
use kektordb::{Engine, Options};
use nix::sys::signal::{SigSet, Signal};

fn main() {
    kektordb::malloc_tune::fix_mmap_threshold();
    // Blocked before any thread starts, so every thread inherits the mask and the
    // signals wait for `sigwait` below instead of killing the process mid-write.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    if let Err(e) = signals.thread_block() {
        eprintln!("kektordb: cannot block signals: {e}");
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match config::parse(&args, |k| std::env::var(k).ok()) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return;
        }
        Ok(Command::Version) => {
            println!("kektordb {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Ok(Command::McpConfig(cfg)) => {
            println!("{}", mcp_client_config(&cfg));
            return;
        }
        Err(e) => {
            eprintln!("kektordb: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // MCP mode: stdout carries protocol messages only (fd 1 now points at stderr,
    // which is the log file with -mcp-log-file), set up before anything logs.
    let mcp_out = if cfg.mcp {
        if let Some(path) = &cfg.mcp_log_file {
            if let Err(e) = kektordb::mcp::log_to_file(std::path::Path::new(path)) {
                eprintln!("kektordb: -mcp-log-file {path}: {e}");
                std::process::exit(2);
            }
        }
        match kektordb::mcp::protocol_stdout() {
            Ok(out) => Some(out),
            Err(e) => {
                eprintln!("kektordb: cannot take stdout for MCP: {e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };
    let engine = match Engine::open(options(&cfg)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kektordb: {e}");
            std::process::exit(1);
        }
    };
    for note in engine.recovery().iter().flat_map(|r| &r.notes) {
        eprintln!("kektordb: warning: {note}");
    }
    let edge = match Edge::start(EdgeOptions {
        cpu_threads: std::thread::available_parallelism().map_or(1, |p| p.get()),
        ..EdgeOptions::default()
    }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kektordb: {e}");
            std::process::exit(1);
        }
    };
    let embedders = Embedders::new(
        edge.clone(),
        cfg.models_dir.clone().into(),
        std::thread::available_parallelism().map_or(1, |p| p.get()),
    );
    match embedders.build(&server_embedder(&cfg)) {
        Ok(Some(e)) => {
            eprintln!("kektordb: text embedder {}", e.name());
            engine.set_embedder(Some(e));
        }
        Ok(None) => eprintln!(
            "kektordb: no text embedder (-embedder {}; models in {}): give vectors, or run deploy/fetch-models.sh",
            cfg.embedder, cfg.models_dir
        ),
        Err(e) => {
            eprintln!("kektordb: -embedder {}: {e}", cfg.embedder);
            std::process::exit(1);
        }
    }
    // One key service for every front end (so a revocation is seen by all).
    let keys = match futures_lite::future::block_on(kektordb::auth::Keys::open(&engine)) {
        Ok(k) => std::sync::Arc::new(k),
        Err(e) => {
            eprintln!("kektordb: cannot open the API keys: {e}");
            std::process::exit(1);
        }
    };
    let rag = match &cfg.vectorizers_config {
        None => None,
        Some(path) => match kektordb::rag::config::load(std::path::Path::new(path))
            .and_then(|v| kektordb::rag::Rag::start(&engine, &edge, &embedders, v))
        {
            Ok(r) => {
                eprintln!(
                    "kektordb: {} RAG pipeline(s) from {path}",
                    r.statuses().len()
                );
                Some(std::sync::Arc::new(r))
            }
            Err(e) => {
                eprintln!("kektordb: -vectorizers-config: {e}");
                std::process::exit(2);
            }
        },
    };
    if let Some(out) = mcp_out {
        serve_mcp(&cfg, &engine, rag, keys, out, signals);
        return;
    }
    let proxy = if cfg.proxy {
        Some(start_proxy(&cfg, &engine, &edge, &embedders, &keys))
    } else {
        None
    };
    let server = match kektordb::http::serve(
        &engine,
        &cfg.http_addr,
        cfg.auth_token.clone(),
        cfg.http.clone(),
        rag.clone(),
        keys.clone(),
        proxy.as_ref().map(|p| p.metrics_handle()),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kektordb: {e}");
            std::process::exit(1);
        }
    };
    // Recovery finished in Engine::open; the pipelines and the proxy started above.
    server.set_ready(true);
    eprintln!(
        "kektordb {} listening on http://{} ({} shards{}); {}",
        env!("CARGO_PKG_VERSION"),
        server.addr(),
        engine.shards(),
        if cfg.auth_token.is_some() {
            ", bearer token required"
        } else {
            ""
        },
        storage_line(&cfg, &engine),
    );
    let first = signals.wait().unwrap_or(Signal::SIGTERM);
    server.set_ready(false);
    eprintln!("kektordb: {first}: stopping (answering requests in flight, then syncing the logs)");
    std::thread::spawn(move || {
        let again = signals.wait().unwrap_or(Signal::SIGTERM);
        eprintln!("kektordb: {again} again: exiting now");
        std::process::exit(130);
    });
    if let Some(p) = &proxy {
        p.shutdown();
    }
    server.shutdown();
    if let Some(r) = &rag {
        r.stop();
    }
    engine.close();
    eprintln!("kektordb: stopped cleanly");
}

/// The AI proxy from `-proxy-config` (or upstream's defaults), `-proxy-port`
/// overriding its port; exits on a bad config.
fn start_proxy(
    cfg: &Config,
    engine: &Engine,
    edge: &Edge,
    embedders: &Embedders,
    keys: &std::sync::Arc<kektordb::auth::Keys>,
) -> kektordb::proxy::Proxy {
    use kektordb::proxy::{config as pconfig, Proxy, ProxyConfig};
    let loaded = match &cfg.proxy_config {
        Some(path) => pconfig::load(std::path::Path::new(path)),
        None => Ok(ProxyConfig::default()),
    };
    let mut pcfg = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kektordb: -proxy-config: {e}");
            std::process::exit(2);
        }
    };
    if let Some(port) = &cfg.proxy_port {
        pcfg.addr = pconfig::listen_addr(port);
    }
    let target = pcfg.target_url.clone();
    let admin = cfg
        .auth_token
        .clone()
        .map(|root| kektordb::proxy::handler::AdminAuth {
            root,
            keys: keys.clone(),
        });
    match Proxy::start(engine, edge, embedders, pcfg, admin) {
        Ok(p) => {
            eprintln!(
                "kektordb: AI proxy on http://{} forwarding to {target}",
                p.addr()
            );
            p
        }
        Err(e) => {
            eprintln!("kektordb: AI proxy: {e}");
            std::process::exit(2);
        }
    }
}

/// MCP mode: the MCP server on stdin/stdout (and the HTTP API when `-http-addr` was
/// given), until stdin ends or a signal comes; then a clean stop.
fn serve_mcp(
    cfg: &Config,
    engine: &Engine,
    rag: Option<std::sync::Arc<kektordb::rag::Rag>>,
    keys: std::sync::Arc<kektordb::auth::Keys>,
    out: std::fs::File,
    signals: SigSet,
) {
    let http = if cfg.http_addr_explicit {
        match kektordb::http::serve(
            engine,
            &cfg.http_addr,
            cfg.auth_token.clone(),
            cfg.http.clone(),
            rag.clone(),
            keys.clone(),
            None,
        ) {
            Ok(s) => {
                s.set_ready(true);
                eprintln!("kektordb: HTTP API listening on http://{}", s.addr());
                Some(s)
            }
            Err(e) => {
                eprintln!("kektordb: {e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };
    let options = kektordb::mcp::McpOptions {
        tools: cfg.mcp_tools.clone(),
        ..Default::default()
    };
    let server = kektordb::mcp::Server::new(engine.clone(), &options);
    eprintln!(
        "kektordb {} MCP server on stdio ({} tools, protocol {}; {} shards); {}",
        env!("CARGO_PKG_VERSION"),
        server.tool_names().len(),
        kektordb::mcp::SUPPORTED_VERSIONS.join(", "),
        engine.shards(),
        storage_line(cfg, engine),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let eof = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("mcp-stdio".into())
        .spawn(move || {
            if let Err(e) = server.run(std::io::stdin().lock(), out) {
                eprintln!("kektordb: mcp: {e}");
            }
            let _ = eof.send("stdin closed".into());
        });
    if let Err(e) = spawned {
        eprintln!("kektordb: cannot start the MCP thread: {e}");
        std::process::exit(1);
    }
    std::thread::spawn(move || {
        let first = signals.wait().unwrap_or(Signal::SIGTERM);
        let _ = tx.send(first.to_string());
        let again = signals.wait().unwrap_or(Signal::SIGTERM);
        eprintln!("kektordb: {again} again: exiting now");
        std::process::exit(130);
    });
    let why = rx.recv().unwrap_or_else(|_| "stopping".into());
    eprintln!("kektordb: {why}: stopping (syncing the logs)");
    if let Some(s) = http {
        s.shutdown();
    }
    if let Some(r) = &rag {
        r.stop();
    }
    engine.close();
    eprintln!("kektordb: stopped cleanly");
}

/// `kektordb mcp-config`: the JSON an MCP client needs to start this server with
/// these flags (absolute paths: clients start servers in any directory).
fn mcp_client_config(cfg: &Config) -> String {
    let abs = |p: &str| {
        std::path::absolute(p)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_else(|_| p.to_owned())
    };
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "kektordb".into());
    let mut args: Vec<String> = vec!["--mcp".into()];
    match &cfg.data_dir {
        Some(dir) => args.extend(["-aof-path".into(), abs(dir)]),
        None => args.push("-in-memory".into()),
    }
    if std::path::Path::new(&cfg.models_dir).is_dir() {
        args.extend(["-models-dir".into(), abs(&cfg.models_dir)]);
    }
    if cfg.embedder != "auto" {
        args.extend(["-embedder".into(), cfg.embedder.clone()]);
    }
    for (flag, v) in [
        ("-embedder-url", &cfg.embedder_url),
        ("-embedder-model", &cfg.embedder_model),
    ] {
        if let Some(v) = v {
            args.extend([flag.into(), v.clone()]);
        }
    }
    if cfg.mcp_tools != kektordb::mcp::select_tools("all").unwrap_or_default() {
        args.extend(["-tools".into(), cfg.mcp_tools.join(",")]);
    }
    if let Some(f) = &cfg.mcp_log_file {
        args.extend(["-mcp-log-file".into(), abs(f)]);
    }
    if cfg.http_addr_explicit {
        args.extend(["-http-addr".into(), cfg.http_addr.clone()]);
    }
    let v = kektordb::mcp::client_config(&exe, &args);
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The server-wide embedder the flags describe.
fn server_embedder(cfg: &Config) -> EmbedderConfig {
    EmbedderConfig {
        kind: cfg.embedder.clone(),
        url: cfg.embedder_url.clone(),
        model: cfg.embedder_model.clone(),
        timeout: None,
        api_key: cfg.embedder_api_key.clone(),
    }
}

fn options(cfg: &Config) -> Options {
    Options {
        shards: cfg.shards,
        pin: cfg.pin,
        data_dir: cfg.data_dir.clone().map(Into::into),
        fsync: cfg.fsync,
        skip_corrupt: cfg.skip_corrupt,
        log_direct: cfg.log_direct,
        snapshots: kektordb::engine::SnapshotPolicy {
            save: cfg
                .save
                .map(|(secs, changes)| (std::time::Duration::from_secs(secs), changes)),
            rewrite_percentage: cfg.rewrite_percentage,
        },
        background: true,
    }
}

fn storage_line(cfg: &Config, engine: &Engine) -> String {
    match &cfg.data_dir {
        Some(dir) => {
            let r = engine.recovery();
            let records: usize = r.iter().map(|r| r.records).sum();
            let torn: u64 = r.iter().map(|r| r.truncated_bytes).sum();
            let skipped: usize = r.iter().map(|r| r.skipped.len()).sum();
            let nodes: usize = r.iter().map(|r| r.snapshot_nodes).sum();
            format!(
                "data in {dir} (fsync {:?}; loaded {nodes} nodes from snapshots, replayed {records} records, truncated {torn} torn bytes, skipped {skipped} corrupt regions)",
                cfg.fsync
            )
        }
        None => "in memory only: nothing survives a restart".to_owned(),
    }
}
