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
        Err(e) => {
            eprintln!("kektordb: {e}\n{USAGE}");
            std::process::exit(2);
        }
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
    let server = match kektordb::http::serve(
        &engine,
        &cfg.http_addr,
        cfg.auth_token.clone(),
        cfg.http.clone(),
        rag.clone(),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kektordb: {e}");
            std::process::exit(1);
        }
    };
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
    eprintln!("kektordb: {first}: stopping (answering requests in flight, then syncing the logs)");
    std::thread::spawn(move || {
        let again = signals.wait().unwrap_or(Signal::SIGTERM);
        eprintln!("kektordb: {again} again: exiting now");
        std::process::exit(130);
    });
    server.shutdown();
    if let Some(r) = &rag {
        r.stop();
    }
    engine.close();
    eprintln!("kektordb: stopped cleanly");
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
